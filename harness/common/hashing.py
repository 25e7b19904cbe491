"""sha256 of files, read in 1 MiB pieces (model weights do not go into memory whole)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def update_from_file(digest, path: Path) -> None:
    """Feed ``path``'s bytes to ``digest``."""
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    update_from_file(digest, path)
    return digest.hexdigest()
