"""The plan printed before a variant's work: one request timed on its session, and each suite's
own account of what it will ask (:mod:`harness.measure.plan`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.errors import GenerationError, WorkerCrashed
from harness.measure.plan import RequestCost, Shape, plan_line, toward
from harness.run.run import Run
from harness.settings.config import PROFILES


def sizes_of(run: Run, module: Any):
    """A suite's own sizes (its ``SIZES``) for the run's profile, moved toward the quick profile's
    as far as a budget asked (``run.size_share``); None for a suite without sizes."""
    sizes = getattr(module, "SIZES", None)
    if sizes is None:
        return None
    own = sizes[run.config.profile.name]
    if run.size_share >= 1:
        return own
    return type(own)(**toward(vars(own), vars(sizes[PROFILES["quick"].name]), run.size_share))


def _domain_ids(run: Run, session) -> list[int]:
    return session.encode(run.formatter(list(run.examples[0].messages)))


def request_cost(run: Run, session) -> RequestCost:
    """One request of the domain prompt and the profile's new tokens, timed after one to warm."""
    ids = _domain_ids(run, session)
    n = max(run.config.profile.new_tokens, 2)
    session.generate(ids, max_new_tokens=n, min_new_tokens=n)
    return RequestCost.of(session.generate(ids, max_new_tokens=n, min_new_tokens=n))


def shape_of(run: Run, session, profile) -> Shape:
    """What the suites' plans depend on besides their sizes, under ``profile``."""
    limit = profile.quality_examples
    return Shape(
        max_length=session.info()["max_length"],
        prompt_tokens=len(_domain_ids(run, session)),
        profile=profile,
        answer_tokens=run.config.answer_tokens,
        examples=min(limit, len(run.examples)) if limit else len(run.examples),
    )


def plan_variant(run: Run, variant_id: str, suites: Mapping[str, Any]) -> dict | None:
    """Time one request on the variant's session (after one to warm it), estimate the seconds of
    each of ``suites`` (suite name -> its module: ``planned_seconds`` and, where it has them, its
    ``SIZES``), print the plan and note it for the variant's record. None when no suite plans, or
    when the timed request fails (the worker is restarted for the suites, as after any fault)."""
    planning = {name: module for name, module in suites.items() if hasattr(module, "planned_seconds")}
    if not planning:
        return None
    session = run.session(variant_id)
    profile = run.config.profile
    try:
        cost = request_cost(run, session)
    except (GenerationError, WorkerCrashed) as exc:  # the plan is advice: the suites meet the fault themselves
        run.progress(f"plan {variant_id}: not estimated: {exc}")
        return None
    shape = shape_of(run, session, profile)
    estimates = {
        name: float(module.planned_seconds(sizes_of(run, module), shape, cost))
        for name, module in sorted(planning.items())
    }
    run.progress(plan_line(variant_id, estimates, cost))
    plan = {"seconds": estimates, "cost": cost.to_record()}
    run.note(variant_id, estimate=plan)
    return plan
