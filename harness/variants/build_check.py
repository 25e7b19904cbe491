"""A build checked against its record: ``build.json`` lists the size and sha256 of every file
the build made (:func:`manifest`, written when it is built), and :func:`verify` names the first
file that no longer matches (edited, truncated, removed) before a cached build is used.

Hashing reads every byte once: on this project's 2-core machine sha256 runs at about the speed
given in docs/guides/builders.md ("A verified cache"), so a 2 GB build costs seconds, paid once
per process per build.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.common.hashing import file_sha256

RECORD = "build.json"
NO_CHECKSUMS = "records no checksums"


def manifest(folder: Path) -> dict[str, dict]:
    """Size and sha256 of every file in a build folder but its record, by relative path."""
    return {
        path.relative_to(folder).as_posix(): {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != RECORD
    }


def verify(target: Path) -> str | None:
    """What is wrong with a build folder against its ``build.json`` (one phrase naming the file),
    or None when every file is as it was built."""
    record_path = target / RECORD
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{record_path} is missing"
    except (ValueError, UnicodeDecodeError) as exc:
        return f"{record_path} is not valid JSON ({exc})"
    except OSError as exc:
        return f"{record_path} cannot be read ({exc.strerror})"
    files = record.get("files") if isinstance(record, dict) else None
    if not isinstance(files, dict) or not files:
        return f"{record_path} {NO_CHECKSUMS} (the build was made by an older harness)"
    for name, expected in files.items():
        path = target / name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return f"{path} is missing"
        if size != expected.get("bytes"):
            return f"{path} has {size:,} bytes, {expected.get('bytes'):,} when it was built"
        try:
            digest = file_sha256(path)
        except OSError as exc:
            return f"{path} cannot be read ({exc.strerror})"
        if digest != expected.get("sha256"):
            return f"{path} does not hold the bytes it was built with (sha256 differs)"
    return None
