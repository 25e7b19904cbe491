"""The report's account of the run's own cost: where its time went, per variant and suite."""

from __future__ import annotations

from datetime import datetime

from harness.common.formatting import fmt
from harness.measure.plan import budget_lines
from harness.report.section import Section
from harness.results.view import RunResults


def _suite(test: str) -> str:
    """``test_latency.py::test_latency`` -> ``latency``."""
    return test.split("::")[0].removeprefix("test_").removesuffix(".py")


def _wall_seconds(run) -> float | None:
    try:
        return (datetime.fromisoformat(run["ended_at"]) - datetime.fromisoformat(run["started_at"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        return None


def timing(results: RunResults) -> Section | None:
    """Seconds per variant and suite (each test's setup, call and teardown), and the builds'."""
    spent = {v.id: v.record.get("seconds") or {} for v in results.variants}
    if not any(spent.values()):
        return None
    suites = list(dict.fromkeys(_suite(t) for tests in spent.values() for t in tests))
    rows, total = [], 0.0
    for variant in results.variants:
        by_suite = {s: 0.0 for s in suites}
        for test, seconds in spent[variant.id].items():
            by_suite[_suite(test)] += seconds
        build = variant.record.get("build_seconds")
        built = "cached" if variant.record.get("cached") else fmt(build)
        planned = (variant.record.get("estimate") or {}).get("seconds") or {}
        rows.append(
            [
                f"`{variant.id}`",
                built,
                *(fmt(by_suite[s]) if by_suite[s] else "—" for s in suites),
                fmt(sum(by_suite.values())),
                f"{fmt(sum(planned.values()))} / {fmt(sum(by_suite.get(s, 0.0) for s in planned))}" if planned else "—",
            ]
        )
        total += sum(by_suite.values())
    wall = _wall_seconds(results.run)
    text = [
        "Wall-clock seconds of each variant's tests, by suite (a test's setup, call and teardown; the first "
        "test that needs a variant's build or worker pays for them, and the reference's answers and log-probs "
        "are paid by the first variant compared with it). Build: seconds this run spent building (cached: "
        "taken from the cache). Planned: the estimate printed when the variant's session opened, for the suites "
        "that make requests, and the seconds those suites took (harness/measure/plan.py: one timed request, "
        "costed linearly in the prompt's length, so long prompts are underestimated; the most requests each "
        "suite may make, so suites that stop once their figures are known take less)."
        + (
            f" The run took {fmt(wall)} s, {fmt(total)} s of them in these tests; the rest went to planning, "
            "collection, the tests of no one variant (gates, the machine's bandwidth) and writing the results."
            if wall
            else ""
        )
    ]
    budget = results.run.get("budget")
    if budget:
        head, *traded = budget_lines(budget, results.run.get("profile", "standard"))
        items = [line.strip().removeprefix("traded: ") for line in traded]
        text.append(f"{head[0].upper()}{head[1:]}." + (f" Traded: {'; '.join(items)}." if items else ""))
    return Section(
        "Where the time went",
        "time",
        text=text,
        header=["variant", "build s", *suites, "total", "planned / took s"],
        rows=rows,
    )
