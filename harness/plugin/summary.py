"""The end of a run: close every worker, then the terminal summary of results and gates."""

from __future__ import annotations

import pytest

from harness.plugin.keys import STATE
from harness.results.view import NOT_APPLICABLE, OUTCOMES, RunResults


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash.get(STATE, None)
    if run is not None:
        run.close()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or state.store is None:
        if state is not None and state.setup_error:
            terminalreporter.write_line(f"[harness] no results written: {state.setup_error}", red=True)
        return
    terminalreporter.section("precision harness")
    results = RunResults.from_dict(state.store.data)
    from harness.report.render import summary_lines  # pandas and matplotlib: only at the end of a run

    for line in summary_lines(results):
        terminalreporter.write_line(line)
    for variant in results.variants:
        why = variant.reason or variant.record.get("error")
        if variant.status in ("unsupported", "build_failed", "crashed") and why:
            terminalreporter.write_line(f"{variant.id}: {why.splitlines()[0]}")
    missed = [v for v in results.verdicts if not v.passed]
    if missed:
        terminalreporter.write_line(f"verdicts missed ({len(missed)} of {len(results.verdicts)}):", yellow=True)
        for verdict in missed:
            terminalreporter.write_line(f"  {verdict.variant:<12} {verdict.name}: {verdict.message}")
    gates = results.gate_results
    if gates:
        counts = {status: sum(1 for g in gates if g.outcome == status) for status in OUTCOMES}
        failed = counts["failed"] > 0
        not_judged = sum(1 for g in gates if g.unjudged)
        terminalreporter.write_line(
            f"gates ({results.gates_origin.get('origin')}): {counts['passed']} passed, {counts['failed']} failed"
            + (f" ({not_judged} could not be judged)" if not_judged else "")
            + f", {counts[NOT_APPLICABLE]} not applicable",
            red=failed,
            green=not failed,
        )
        for gate in gates:
            if gate.status == "failed":
                terminalreporter.write_line(f"  FAILED {gate.message}", red=True)
    collector = config.pluginmanager.get_plugin("harness-results")
    if collector is not None and collector.write_error:
        terminalreporter.write_line(
            f"[harness] {collector.write_error}: {state.store.path} holds the last complete "
            f"version, without what was measured after it; no report was written",
            red=True,
        )
        return
    terminalreporter.write_line(f"results: {state.store.path}")
    if collector is not None and collector.report_error:
        terminalreporter.write_line(
            f"[harness] {collector.report_error}: the report is incomplete; results.json holds "
            f"every measurement: once there is room, run python -m harness report "
            f"{state.store.run_dir}",
            red=True,
        )
        return
    terminalreporter.write_line(f"report:  {state.store.run_dir / 'report.html'} (and report.md, results.csv, plots)")
