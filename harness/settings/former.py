"""Settings under their former names: renamed settings (their former option, variable or key),
and threshold settings that became release gates' thresholds. Each former form works for one
release, and each use adds a one-line notice to the run's configuration."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.settings.parsers import parse_non_negative, parse_share


@dataclass(frozen=True)
class Renamed:
    """The forms a setting had before it was renamed: each still works for one release, with a
    one-line notice naming what replaces it."""

    new: str  # the setting's name now
    option: str | None = None  # its former option, variable and [tool.harness] key (None: unchanged)
    env: str | None = None
    key: str | None = None

    def notice(self, used: str, setting: Any) -> str:
        """The line said when ``used`` (a former form) was given for ``setting`` (its Setting now)."""
        now = {self.option: setting.option, self.env: setting.env}.get(used, f"the key '{setting.name}'")
        return f"{used} is deprecated and will be removed in the next release: use {now}"


@dataclass(frozen=True)
class Retired:
    """A threshold setting that became a release gate's threshold: its option, variable and key
    still work for one release, setting that gate's threshold, each use with a one-line notice."""

    option: str
    env: str
    key: str
    metavar: str
    gate: str  # the built-in gate whose threshold it sets (harness.gates.spec.DEFAULT_GATES)
    parse: Callable[[Any], float]

    def notice(self, used: str) -> str:
        return (
            f"{used} is deprecated and will be removed in the next release: it sets the threshold of the gate "
            f"'{self.gate}', which a gates file or [tool.harness.gates] sets from now on (docs/guides/gates.md)"
        )


RENAMED: tuple[Renamed, ...] = (
    Renamed("builders", option="--builder"),
    Renamed("gates_file", option="--gates"),
    Renamed("olive_recipe", option="--recipe", env="HARNESS_RECIPE", key="recipe"),
)
RETIRED: tuple[Retired, ...] = (
    Retired(
        "--length-consistency",
        "HARNESS_LENGTH_CONSISTENCY",
        "length_consistency",
        "SHARE",
        "steady_decode_across_lengths",
        parse_share,
    ),
    Retired(
        "--leak-threshold", "HARNESS_LEAK_THRESHOLD_KIB", "leak_threshold_kib", "KIB", "no_leak", parse_non_negative
    ),
)


def retired_thresholds(
    cli: Mapping[str, Any], environ: Mapping[str, str], table: Mapping[str, Any], table_origin: str, notices: list[str]
) -> dict[str, float]:
    """The gate thresholds the settings of :data:`RETIRED` were given (command line > environment >
    table), a notice added for each form used."""
    thresholds = {}
    for retired in RETIRED:
        key = f"{table_origin} key '{retired.key}'"
        given = [
            (raw, form, where)
            for raw, form, where in (
                (cli.get(retired.option), retired.option, f"option {retired.option}"),
                (environ.get(retired.env) or None, retired.env, f"environment variable {retired.env}"),
                (table.get(retired.key), key, key),
            )
            if raw is not None
        ]
        notices += [retired.notice(form) for _, form, _ in given]
        if given:
            raw, _, where = given[0]
            try:
                thresholds[retired.gate] = retired.parse(raw)
            except ValueError as exc:
                raise HarnessError(f"invalid value {raw!r} for {where}: {exc}") from None
    return thresholds
