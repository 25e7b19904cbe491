"""The plan printed before a variant's work: one request timed on its session, and each suite's
own account of what it will ask (:mod:`harness.measure.plan`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.measure.plan import RequestCost, Shape, plan_line
from harness.run.run import Run


def plan_variant(run: Run, variant_id: str, suites: Mapping[str, Any]) -> dict | None:
    """Time one request on the variant's session (after one to warm it), estimate the seconds of
    each of ``suites`` (suite name -> its module: ``planned_seconds`` and, where it has them, its
    ``SIZES``), print the plan and note it for the variant's record. None when no suite plans."""
    planning = {name: module for name, module in suites.items() if hasattr(module, "planned_seconds")}
    if not planning:
        return None
    session = run.session(variant_id)
    profile = run.config.profile
    ids = session.encode(run.formatter(list(run.examples[0].messages)))
    n = max(profile.new_tokens, 2)
    session.generate(ids, max_new_tokens=n, min_new_tokens=n)  # warms the session
    cost = RequestCost.of(session.generate(ids, max_new_tokens=n, min_new_tokens=n))
    shape = Shape(
        max_length=session.info()["max_length"],
        prompt_tokens=len(ids),
        profile=profile,
        answer_tokens=run.config.answer_tokens,
        examples=len(run.quality_examples),
    )
    estimates = {
        name: float(module.planned_seconds(getattr(module, "SIZES", {}).get(profile.name), shape, cost))
        for name, module in sorted(planning.items())
    }
    run.progress(plan_line(variant_id, estimates, cost))
    plan = {"seconds": estimates, "cost": cost.to_record()}
    run.note(variant_id, plan=plan)
    return plan
