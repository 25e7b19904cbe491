"""The results collector: test reports (and the properties they carry) into results.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import BuildError, GenerationError, HarnessError, WorkerCrashed
from harness.measure.environment import describe
from harness.plugin.keys import (
    PROP_ANSWERS,
    PROP_GATE,
    PROP_MEASUREMENT,
    PROP_UPDATE,
    PROP_VARIANT,
    PROP_VERDICT,
    PROP_WINDOW,
    STATE,
)
from harness.results.store import ResultsStore, new_run_dir, point_latest
from harness.settings import config as cfg
from harness.settings.registry import SETTINGS

# ---------------------------------------------------------------------------------------------
# Reports: concise failures for crashes and build errors; variant news travels with the report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    state = item.config.stash[STATE]
    variant_id = dict(item.user_properties).get(PROP_VARIANT)
    if variant_id is None:
        return report
    if call.excinfo is not None:
        error = call.excinfo.value
        if isinstance(error, WorkerCrashed):
            state.note(variant_id, status="crashed", error=str(error))
            report.longrepr = str(error)
        elif isinstance(error, BuildError):
            report.longrepr = str(error)
        elif isinstance(error, HarnessError):  # a user's file or setting, named in one line
            report.longrepr = f"{variant_id}: {error}"
        elif isinstance(error, GenerationError):
            report.longrepr = f"{variant_id}: the runtime refused a request: {error}"
    if variant_id in state.pending:
        report.user_properties.append((PROP_UPDATE, {"id": variant_id, **state.pending.pop(variant_id)}))
    return report


def _plain(value: Any) -> Any:
    if isinstance(value, cfg.Profile):
        return value.name
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


class ResultsCollector:
    """Turns test reports into ``results.json``; lives only in the process that owns the run.

    The run folder is made on the first report of a variant test, so runs that test no variant
    (the harness's own tests) write nothing.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.state = config.stash[STATE]
        self.deferred_gates: list[tuple[str, str]] = []
        self.write_error: str | None = None  # the last results.json rewrite that failed, said once
        self.report_error: str | None = None  # why the report could not be written

    def ensure_store(self) -> ResultsStore:
        state = self.state
        if state.store is None:
            state.plan()
            if state.setup_error is not None:
                raise HarnessError(state.setup_error)
            try:
                run_dir = new_run_dir(state.config.reports_dir)
            except HarnessError as exc:
                state.setup_error = str(exc)
                raise
            settings = {
                s.name: {
                    "value": _plain(getattr(state.config, s.name)),
                    "source": state.config.sources.get(s.name, "default"),
                }
                for s in SETTINGS
            }
            state.store = ResultsStore(
                run_dir,
                run={
                    "started_at": state.started_at,
                    "command": ["pytest", *self.config.invocation_params.args],
                    "profile": state.config.profile.name,
                    "settings": settings,
                },
                environment=describe(),
                model=state.source.to_record() if state.source else None,
                evaluation={
                    "datasets": [state.eval_set.to_record(used=len(state.quality_examples))] if state.eval_set else [],
                    "prompt_format": state.formatter.to_record(list(state.examples[0].messages))
                    if state.formatter and state.examples
                    else None,
                    "reference_precision": state.config.reference,
                    "gates": {
                        "origin": state.gates_origin,
                        "definitions": [g.to_record() for g in state.gates],
                        "baseline": state.baseline.run_id if state.baseline else None,
                        "results": [],
                    },
                },
            )
            if state.store.save_error is not None:  # nothing can be kept: stop before any work
                state.setup_error = state.store.save_error
                raise HarnessError(state.store.save_error)
            for planned in state.planned:
                variant = planned.variant
                state.store.add_variant(
                    {
                        "id": planned.id,
                        "precision": variant.precision,
                        "provider": variant.provider,
                        "builder": variant.builder,
                        "quantization_recipe": variant.recipe,
                        **({"twin": variant.twin.id} if variant.twin else {}),  # the same build, main runtime
                        "status": "unsupported" if not planned.supported else "pending",
                        "reason": planned.reason,
                    }
                )
            point_latest(run_dir)
        return state.store

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        try:
            self._collect(report)
        finally:
            if self.state.store is not None:
                self._say_write_error(self.state.store)

    def _collect(self, report: pytest.TestReport) -> None:
        props = report.user_properties
        for key, value in props:
            if key == PROP_GATE and report.when == "call":
                self._gate(value)
        variant_id = next((v for k, v in props if k == PROP_VARIANT), None)
        if variant_id is None:
            return
        try:
            store = self.ensure_store()
        except HarnessError:
            return
        for key, value in props:
            if key == PROP_ANSWERS and report.when == "call":
                store.add_answers(value["variant"], value["answers"])
            elif key == PROP_UPDATE:
                store.update_variant(value["id"], **{k: v for k, v in value.items() if k != "id"})
            elif key == PROP_MEASUREMENT and report.when == "call":
                store.add_measurement(value)
            elif key == PROP_VERDICT and report.when == "call":
                store.add_verdict(value)
            elif key == PROP_WINDOW and report.when == "call":
                store.data["run"].setdefault("lock_windows", []).append(value)
        test = report.nodeid.split("[")[0].split("/")[-1]
        store.add_seconds(variant_id, test, report.duration)
        if report.when != "call" and report.passed:
            return  # setup and teardown news only matter when they did not pass
        message = ""
        if report.failed and report.longrepr:
            crash = getattr(report.longrepr, "reprcrash", None)
            lines = [line for line in str(report.longrepr).splitlines() if line.strip()]
            message = crash.message if crash is not None else (lines[0] if lines else "")
        entry = store.variant(variant_id)
        if entry is not None and entry.get("status") == "unsupported" and report.skipped:
            entry["tests"][test] = "skipped"
            store.save()
        else:
            store.record_test(variant_id, test, report.outcome, message)

    def _say_write_error(self, store: ResultsStore) -> None:
        """One progress line when rewriting results.json starts failing (a full disk): what is
        measured stays in memory and is written at the next rewrite that succeeds."""
        if store.save_error is not None and self.write_error is None:
            self.state.progress(
                f"{store.save_error}; the file keeps its last complete version, and what is "
                f"measured meanwhile is kept in memory and written when the disk takes it"
            )
        self.write_error = store.save_error

    def _gate(self, value: dict) -> None:
        try:
            store = self.ensure_store()
        except HarnessError:
            return
        if value.get("deferred"):
            self.deferred_gates.append((value["gate"], value["variant"]))
        else:
            store.add_gate_result(value)

    def _judge_deferred(self, session: pytest.Session) -> None:
        """Under pytest-xdist the workers leave the gates to this process, which holds every
        measurement: judge them now, record them, and fail the run when one fails."""
        gates = {g.name: g for g in self.state.gates}
        failed = False
        for name, variant_id in self.deferred_gates:
            judgement = self.state.judge(gates[name], variant_id)
            self.state.store.add_gate_result(judgement.to_record(gates[name]))
            failed |= judgement.status == "failed"
        if failed and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        store = self.state.store
        if store is None:
            return
        if self.deferred_gates:
            self._judge_deferred(session)
            exitstatus = session.exitstatus
        interrupted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
        store.finish(complete=not interrupted, exit_status=int(exitstatus))
        self.write_error = store.save_error
        if self.write_error is None:
            try:
                from harness.report.render import write_report  # pandas and matplotlib: only to write one

                write_report(store.run_dir, store.data)
            except HarnessError as exc:
                self.report_error = str(exc)
        if (self.write_error or self.report_error) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a run whose results are not all on disk cannot pass
