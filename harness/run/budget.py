"""``--budget MINUTES``: fit the run to a time limit before the work, and say what it traded.

After the first variant is built and one request timed on it (:mod:`harness.run.planner`), the
plan at the run's sizes and at the quick profile's gives the cost of every size between them; the
share of the way from quick's to the run's sizes that fits the minutes left, divided among the
variants (each taken to cost what the first does), applies to every suite of every variant, so
their figures stay comparable. Sizes never go below the quick profile's; a budget the quick
profile cannot meet runs at quick's sizes and says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from harness.measure.plan import budget_lines, toward
from harness.run.planner import request_cost, shape_of
from harness.run.run import Run
from harness.settings.config import PROFILES


def _estimate(suites: Mapping[str, Any], profile, share: float, shape, cost) -> dict[str, float]:
    quick = PROFILES["quick"]
    estimates = {}
    for name, module in suites.items():
        sizes = getattr(module, "SIZES", None)
        sized = None
        if sizes is not None:
            own = sizes[profile.name]
            sized = type(own)(**toward(vars(own), vars(sizes[quick.name]), share))
        estimates[name] = float(module.planned_seconds(sized, shape, cost))
    return estimates


def fit_to_budget(run: Run, variant_ids: list[str], suites_of: Callable[[str], dict], elapsed_s: float) -> dict:
    """Choose the share of the way from quick's sizes to the run's that fits ``run.config.budget``
    minutes, apply it to ``run`` (its profile, and ``run.size_share`` for the suites' own sizes),
    print what it traded and return the record for results.json (``run.budget``)."""
    minutes = run.config.budget
    profile, quick = run.config.profile, PROFILES["quick"]
    first = variant_ids[0]
    suites = {n: m for n, m in suites_of(first).items() if hasattr(m, "planned_seconds")}
    session = run.session(first)
    cost = request_cost(run, session)

    def planned(share: float) -> float:
        fitted = _profile_toward(profile, quick, share)
        return sum(_estimate(suites, fitted, share, shape_of(run, session, fitted), cost).values())

    now, cheapest = planned(1.0), planned(0.0)
    per_variant = max(minutes * 60 - elapsed_s, 0.0) / len(variant_ids)
    if now <= per_variant:
        share = 1.0
    elif now > cheapest:
        share = max(0.0, min(1.0, (per_variant - cheapest) / (now - cheapest)))
    else:
        share = 0.0
    fitted_profile = _profile_toward(profile, quick, share)
    changed = _changes(profile, fitted_profile, suites, share)
    run.config = dataclasses.replace(run.config, profile=fitted_profile)
    run.size_share = share
    record = {
        "minutes": minutes,
        "share": share,
        "variants": len(variant_ids),
        "planned_seconds": now * len(variant_ids),
        "fitted_seconds": planned(share) * len(variant_ids),
        "elapsed_seconds": elapsed_s,
        "changed": changed,
    }
    for line in budget_lines(record, profile.name):
        run.progress(line)
    return record


def _profile_toward(profile, quick, share: float):
    if profile.name == quick.name:
        return profile
    return dataclasses.replace(profile, **toward(dataclasses.asdict(profile), dataclasses.asdict(quick), share))


def _changes(profile, fitted, suites: Mapping[str, Any], share: float) -> dict[str, list]:
    """``where.size`` -> [before, after] for every size the budget moved."""
    changes = {
        f"profile.{k}": [v, getattr(fitted, k)]
        for k, v in dataclasses.asdict(profile).items()
        if getattr(fitted, k) != v
    }
    for name, module in sorted(suites.items()):
        sizes = getattr(module, "SIZES", None)
        if sizes is None:
            continue
        before = vars(sizes[profile.name])
        after = toward(before, vars(sizes[PROFILES["quick"].name]), share)
        changes.update({f"{name}.{k}": [_plain(v), _plain(after[k])] for k, v in before.items() if after[k] != v})
    return changes


def _plain(value):
    return list(value) if isinstance(value, tuple) else value
