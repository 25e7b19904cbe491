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


def tree_sha256(path: Path, skip_suffixes: tuple[str, ...] = ()) -> str:
    """sha256 of a file, or of a folder: the relative path and bytes of every regular file, in name
    order. Hidden files (any part of the path starting with '.') and files ending in
    ``skip_suffixes`` are left out, so an editor's swap file or a README edit does not change it."""
    if not path.is_dir():
        return file_sha256(path)
    digest = hashlib.sha256()
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
        and not p.name.endswith(skip_suffixes)
    )
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        update_from_file(digest, file)
        digest.update(b"\0")
    return digest.hexdigest()
