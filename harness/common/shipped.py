"""The data sets that ship with the harness: the repository's ``datasets/`` folder in a checkout
(``pip install -e .``), or its copy installed as the package data ``harness.data``, the folder
``harness/data`` of an installation (``pip install .``).
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError

_CHECKOUT = Path(__file__).resolve().parents[2] / "datasets"
_INSTALLED = Path(__file__).resolve().parents[1] / "data"  # harness/data: pyproject.toml installs datasets/ there


def datasets_root() -> Path:
    """The folder of the shipped data sets; one line when neither copy is there."""
    if _CHECKOUT.is_dir() and (_CHECKOUT.parent / "pyproject.toml").is_file():
        return _CHECKOUT
    if _INSTALLED.is_dir():
        return _INSTALLED
    raise HarnessError(
        "the shipped data sets are missing from this installation (neither a checkout's "
        "datasets/ folder nor the package data harness.data): reinstall it, or give "
        "--dataset PATH"
    )


def shipped_set(name: Path | str) -> Path | None:
    """The folder of the shipped data sets that a bare name means (``general_knowledge``), if any."""
    name = Path(name)
    if len(name.parts) != 1:
        return None
    try:
        folder = datasets_root() / name
    except HarnessError:
        return None
    return folder if folder.is_dir() else None
