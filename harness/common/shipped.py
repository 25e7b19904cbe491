"""The data sets that ship with the harness: the repository's ``datasets/`` folder in a checkout
(``pip install -e .``), or its copy installed as the package data ``harness.data`` (``pip install .``).
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError

_CHECKOUT = Path(__file__).resolve().parents[2] / "datasets"
INSTALLED = "harness.data"  # the package the installed copy lives in (pyproject.toml maps datasets/ to it)


def datasets_root() -> Path:
    """The folder of the shipped data sets; one line when neither copy is there."""
    if _CHECKOUT.is_dir() and (_CHECKOUT.parent / "pyproject.toml").is_file():
        return _CHECKOUT
    from importlib.resources import files

    try:
        return Path(str(files(INSTALLED)))
    except ModuleNotFoundError:
        raise HarnessError("the shipped data sets are missing from this installation (neither a checkout's "
                           "datasets/ folder nor the package data harness.data): reinstall it, or give "
                           "--dataset PATH") from None


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
