"""Installed package versions, read from their metadata (None for a package that is not installed)."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata


def version_of(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def versions_of(packages: Iterable[str]) -> dict[str, str | None]:
    return {package: version_of(package) for package in packages}
