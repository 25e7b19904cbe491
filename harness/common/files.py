"""Files written atomically (a reader sees the old file or the new one, never half of either) and
configuration files read with one-line errors."""

from __future__ import annotations

import json
import math
import os
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from harness.errors import HarnessError


def _umask_mode() -> int:
    """The mode a new file gets under this process's umask (0666 less the umask), as ``open``
    would give it; ``mkstemp`` alone makes 0600 files that other users cannot read."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, flush it to disk, then rename it over
    ``path``; the file gets the mode the umask gives new files. On any error the temporary file
    is removed and ``path`` is left as it was; an error of the file system (a full disk, a
    read-only folder) is a HarnessError naming ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise HarnessError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), _umask_mode())
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise HarnessError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def usable_folder(path: Path, what: str, origin: str) -> None:
    """Make sure ``path`` is a folder this process can create files in (made if missing), or say
    in one line why not, naming what it is for and where its value came from (``origin``)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except (FileExistsError, NotADirectoryError):
        raise HarnessError(f"the {what} {path} ({origin}) is a file, not a folder") from None
    except OSError as exc:
        raise HarnessError(f"the {what} {path} ({origin}) cannot be used: {exc.strerror}") from None


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda fh: fh.write(text.encode("utf-8")))


def json_safe(value: Any) -> Any:
    """NaN and infinities become None (strict JSON has no such numbers); containers recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_json_atomic(path: Path, data: Any, *, indent: int | None = 2) -> None:
    """Strict JSON (non-finite numbers as null), written atomically."""
    text = json.dumps(json_safe(data), indent=indent, allow_nan=False, default=str)
    write_text_atomic(path, text + "\n")


def read_toml(path: Path, what: str = "file", option: str | None = None) -> dict[str, Any]:
    """A TOML file as a dict; a missing file or bad TOML ends in one line naming what the file is,
    the file, and the option that named it."""
    where = f" (option {option})" if option else ""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HarnessError(f"cannot read {what} {path}{where}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise HarnessError(f"{path}: invalid TOML: {exc}") from None
