"""How a run's settings are resolved: for each one, the first of the command line, its
``HARNESS_*`` variable, its ``[tool.harness]`` key (or a former name of any of them) and its
default that is set, parsed, checked, and recorded with where it came from."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.common.files import read_toml
from harness.common.shipped import shipped_set
from harness.errors import HarnessError
from harness.settings.config import CHOSEN_BY_NAME, RunConfig
from harness.settings.former import RENAMED, RETIRED, retired_thresholds
from harness.settings.registry import SETTINGS, SETTINGS_BY_NAME, Setting

PATH_SETTINGS = (
    "reports_dir",
    "cache_dir",
    "dataset",
    "prompt_template",
    "gates_file",
    "baseline",
    "olive_recipe",
    "calibration",
    "foundry_packages",
    "plan",
)
DATA_SETTINGS = ("dataset", "calibration")  # a bare name may also be a folder in datasets/
TABLE_SUBSECTIONS = ("gates",)  # [tool.harness.gates]: release gates (harness.gates.judge)


def resolve(
    cli: Mapping[str, Any],
    environ: Mapping[str, str],
    table: Mapping[str, Any],
    *,
    choices: Mapping[str, tuple[str, ...]],
    table_origin: str = "[tool.harness]",
    rootdir: Path = Path("."),
    invocation_dir: Path = Path("."),
) -> RunConfig:
    """Resolve every setting by precedence and parse it, naming the source of any bad value.

    ``cli`` maps options (a setting's, or a former one of :data:`RENAMED`) to the values given on
    the command line (None = not given); ``choices`` maps each setting of ``CHOSEN_BY_NAME`` to the
    names it accepts; relative paths from the command line or environment are taken from
    ``invocation_dir``, those from ``[tool.harness]`` and the defaults from ``rootdir``. A former
    name that was used leaves a line in the result's ``notices``.
    """
    missing = [name for name in CHOSEN_BY_NAME if name not in choices]
    if missing:
        raise ValueError(f"resolve() needs the names of the {', '.join(missing)} (choices)")
    keys = [*SETTINGS_BY_NAME, *(r.key for r in RENAMED if r.key), *(r.key for r in RETIRED)]
    unknown = sorted(k for k in table if k not in keys and k not in TABLE_SUBSECTIONS)
    if unknown:
        raise HarnessError(
            f"unknown setting {', '.join(map(repr, unknown))} in {table_origin} (known: {', '.join(SETTINGS_BY_NAME)})"
        )
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    notices: list[str] = []
    for setting in SETTINGS:
        raw, origin, base = setting.default, "default", rootdir
        for source, key, label, where in _forms(setting, table_origin):
            given = {"cli": cli, "env": environ, "table": table}[source].get(key)
            if given is None or (source == "env" and given == ""):
                continue
            former = next((r for r in RENAMED if key in (r.option, r.env, r.key)), None)
            if former is not None:
                notices.append(former.notice(label, setting))
            if origin == "default":  # the first found wins: command line, then environment, then the table
                raw, origin, base = given, where, invocation_dir if source != "table" else rootdir
        try:
            value = setting.parse(raw, choices[setting.name]) if setting.name in CHOSEN_BY_NAME else setting.parse(raw)
        except ValueError as exc:
            raise HarnessError(f"invalid value {raw!r} for {origin}: {exc}") from None
        if setting.name in PATH_SETTINGS and value is not None and not value.is_absolute():
            value = _named_data_set(value, base) if setting.name in DATA_SETTINGS else (base / value).resolve()
        values[setting.name] = value
        origins[setting.name] = origin
    thresholds = retired_thresholds(cli, environ, table, table_origin, notices)
    return RunConfig(**values, sources=origins, notices=tuple(notices), gate_thresholds=thresholds)


def _forms(setting: Setting, table_origin: str) -> list[tuple[str, str, str, str]]:
    """Where a setting may be given, in precedence order, its current form before its former one:
    (source, key, the form as a user writes it, the origin named in messages)."""
    former = [r for r in RENAMED if r.new == setting.name]
    forms = []
    for option in [setting.option, *(r.option for r in former if r.option)]:
        forms.append(("cli", option, option, f"option {option}"))
    for env in [setting.env, *(r.env for r in former if r.env)]:
        forms.append(("env", env, env, f"environment variable {env}"))
    for key in [setting.name, *(r.key for r in former if r.key)]:
        forms.append(("table", key, f"{table_origin} key '{key}'", f"{table_origin} key '{key}'"))
    return forms


def _named_data_set(value: Path, base: Path) -> Path:
    """A relative data path, resolved against ``base``; a bare name that is not there but is a
    folder in the project's ``datasets/`` means that folder (``--dataset general_knowledge``)."""
    local = (base / value).resolve()
    return local if local.exists() else (shipped_set(value) or local)


def read_tool_table(pyproject: Path | None) -> tuple[dict[str, Any], str]:
    """Return ``[tool.harness]`` of a pyproject.toml (empty if absent) and a label for errors."""
    if pyproject is None or not pyproject.is_file() or pyproject.suffix != ".toml":
        return {}, "[tool.harness]"
    data = read_toml(pyproject)
    table = data.get("tool", {}).get("harness", {})
    if not isinstance(table, dict):
        raise HarnessError(f"{pyproject}: [tool.harness] must be a table")
    return table, f"[tool.harness] in {pyproject}"
