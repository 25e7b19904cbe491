"""The one way the harness caches what it computes: a path named by a hash of what the result
depends on, made once under a file lock (parallel pytest-xdist workers and concurrent runs wait
for one maker), read by everyone after.

    path = folder / f"answers-{key_of(inputs)}.json"
    answers = once(path, make=lambda p: write_json_atomic(p, compute()), load=read_json)

``make`` must leave ``path`` whole or not at all (write a temporary file or folder and rename it);
``ready`` says whether what is there can be used (by default: it exists) and may put a damaged
result aside, so that it is made again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock

T = TypeVar("T")


def key_of(inputs: Any, length: int = 24) -> str:
    """A short sha256 of ``inputs`` as canonical JSON: the same inputs, the same key."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:length]


def once(
    path: Path, make: Callable[[Path], Any], load: Callable[[Path], T], ready: Callable[[Path], bool] = Path.exists
) -> tuple[T, bool]:
    """``load(path)``, after ``make(path)`` if the cache does not hold it ready; also whether it
    was made by this call."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if ready(path):
            return load(path), False
        make(path)
        return load(path), True
