"""User-facing errors.

A :class:`HarnessError` is a mistake the user can fix (a bad option, a missing folder, a corrupt
file). Its message is one line that names where the bad value came from; the pytest plugin and
the command line print it without a traceback and exit non-zero.
"""

from __future__ import annotations


class HarnessError(Exception):
    """A problem with the user's input, reported as one clear line."""


def read_json(path, what: str, option: str | None = None):
    """A user's JSON file, or a HarnessError naming it: ``cannot read <what> PATH (option X):
    reason`` when it cannot be opened, ``PATH: corrupt JSON at line N: reason`` when it does not
    parse."""
    import json
    from pathlib import Path

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        where = f" (option {option})" if option else ""
        raise HarnessError(f"cannot read {what} {path}{where}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path}: corrupt JSON at line {exc.lineno}: {exc.msg}") from None


class UnsupportedVariant(HarnessError):
    """A precision/provider combination that cannot run here (reported as skipped)."""


class BuildError(Exception):
    """A builder subprocess failed; carries the tail of its output."""

    def __init__(self, message: str, output_tail: str = "") -> None:
        super().__init__(message)
        self.output_tail = output_tail

    def __str__(self) -> str:  # pragma: no cover - formatting only
        base = super().__str__()
        return f"{base}\n--- builder output (tail) ---\n{self.output_tail}" if self.output_tail else base


class WorkerCrashed(Exception):
    """The worker process that serves a variant died (segfault, abort, out of memory, killed)."""

    def __init__(self, variant_id: str, returncode: int | None, stderr_tail: str) -> None:
        self.variant_id = variant_id
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        super().__init__(self.summary())

    def summary(self) -> str:
        how = _describe_exit(self.returncode)
        return f"worker for variant {self.variant_id} died ({how})"

    def __str__(self) -> str:
        tail = self.stderr_tail.strip()
        return f"{self.summary()}\n--- worker stderr (tail) ---\n{tail}" if tail else self.summary()


class GenerationError(Exception):
    """The runtime refused a request (bad token ids, prompt too long, ...): a typed, clear error."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


def _describe_exit(returncode: int | None) -> str:
    import signal

    if returncode is None:
        return "no exit status"
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"
