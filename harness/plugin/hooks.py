"""The pytest plugin: options, the variant matrix as parameters, shared sessions, results.

Registered once, by the repository's root ``conftest.py`` (not also as an entry point).

How results flow: every test that takes the ``variant`` argument carries its variant id in its
``user_properties``; builds, loads, crashes and measurements are attached to the test reports as
further ``user_properties``. The process that owns the terminal (the xdist controller, or the
only process) turns those reports into ``results.json``, so a run with or without
pytest-xdist writes the same file, and a crash in a worker loses nothing already reported.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from harness.settings import config as cfg
from harness.variants.build import BuiltVariant
from harness.evaluation.datasets import Example
from harness.measure.environment import describe
from harness.errors import BuildError, GenerationError, HarnessError, WorkerCrashed
from harness.measure.machine_lock import exclusive, shared
from harness.gates.judge import NOT_APPLICABLE, OUTCOMES, Gate, Judgement, judge, outcome_of, strict, unjudged
from harness.evaluation.prompts import ChatFormatter
from harness.report.render import summary_lines, write_report
from harness.results.store import ResultsStore, new_run_dir, point_latest
from harness.models.sources import ModelSource
from harness.plugin.state import HarnessState

PROP_VARIANT = "harness.variant"
PROP_UPDATE = "harness.variant_update"
PROP_MEASUREMENT = "harness.measurement"
PROP_VERDICT = "harness.verdict"
PROP_WINDOW = "harness.window"  # when a test's call held the machine lock, and how
PROP_ANSWERS = "harness.answers"  # per-example answers and scores of the task-quality suite
PROP_GATE = "harness.gate"  # a gate's judgement (or, under xdist, the gate left to the controller)


STATE = pytest.StashKey[HarnessState]()


# ---------------------------------------------------------------------------------------------
# Options and configuration


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "precision trade-off harness (settings: CLI > HARNESS_* env > [tool.harness])")
    for setting in cfg.SETTINGS:
        help_text = f"{setting.help} (default: {setting.default}; env {setting.env})"
        if setting.metavar is None:
            group.addoption(setting.option, action="store_const", const=True, default=None,
                            dest=f"harness_{setting.name}", help=help_text)
        else:
            group.addoption(setting.option, action="store", default=None, metavar=setting.metavar,
                            dest=f"harness_{setting.name}", help=help_text)


def _resolve_config(config: pytest.Config) -> tuple[cfg.RunConfig, tuple[dict, str]]:
    cli = {s.name: config.getoption(f"harness_{s.name}") for s in cfg.SETTINGS}
    pyproject = config.rootpath / "pyproject.toml"
    table, origin = cfg.read_tool_table(pyproject)
    return cfg.resolve(cli, os.environ, table, table_origin=origin, rootdir=config.rootpath,
                       invocation_dir=config.invocation_params.dir), (table, origin)


def pytest_configure(config: pytest.Config) -> None:
    try:
        run_config, tool_table = _resolve_config(config)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    state = HarnessState(config=run_config, is_worker=hasattr(config, "workerinput"), tool_table=tool_table)
    if not state.is_worker:
        def progress(message: str) -> None:
            # looked up when used: the terminal reporter may register after this plugin configures;
            # output capturing is lifted for the line, or it would be kept for failure reports only
            reporter = config.pluginmanager.get_plugin("terminalreporter")
            capture = config.pluginmanager.get_plugin("capturemanager")
            if reporter is None:
                return
            with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
                reporter.write_line(f"[harness] {message}")
        state.progress = progress
    config.stash[STATE] = state
    if not state.is_worker:
        config.pluginmanager.register(ResultsCollector(config), "harness-results")


# ---------------------------------------------------------------------------------------------
# Collection: the matrix as a session-scoped parameter, skips with reasons


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "gate_case" in metafunc.fixturenames:
        _parametrize_gates(metafunc)
    if "variant" not in metafunc.fixturenames:
        return
    state = metafunc.config.stash[STATE]
    state.ensure_plan()
    params = []
    for planned in state.planned:
        marks = []
        if not planned.supported and not state.config.force_unsupported:
            marks.append(pytest.mark.skip(reason=f"unsupported: {planned.reason}"))
        params.append(pytest.param(planned.id, id=planned.id, marks=marks))
    metafunc.parametrize("variant", params, scope="session")


def _parametrize_gates(metafunc: pytest.Metafunc) -> None:
    """One test per gate and variant it applies to, e.g. ``test_gate[close_to_reference-int4-cpu]``."""
    state = metafunc.config.stash[STATE]
    state.ensure_plan()
    params = []
    for gate in state.gates:
        for planned in state.planned:
            variant = {"precision": planned.variant.precision, "provider": planned.variant.provider}
            if not gate.applies_to(variant):
                continue
            marks = []
            if not planned.supported and not state.config.force_unsupported:
                marks.append(pytest.mark.skip(reason=f"unsupported: {planned.reason}"))
            params.append(pytest.param((gate, planned.id), id=f"{gate.name}-{planned.id}", marks=marks))
    metafunc.parametrize("gate_case", params)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash[STATE]
    if state.setup_error is not None:
        raise pytest.UsageError(state.setup_error)
    # gates judge what the suites measured: they run last, in collection order otherwise
    items.sort(key=lambda item: item.get_closest_marker("harness_gate") is not None)
    skip_perf = pytest.mark.skip(reason="performance suite: run with --benchmark")
    variant_tests = False
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "variant" in callspec.params:
            item.user_properties.append((PROP_VARIANT, callspec.params["variant"]))
            variant_tests = True
        if item.get_closest_marker("harness_perf") and not state.config.benchmark:
            item.add_marker(skip_perf)
        if item.get_closest_marker("harness_gate"):
            variant_tests = True
    collector = config.pluginmanager.get_plugin("harness-results")
    if variant_tests and collector is not None and not config.option.collectonly:
        try:  # make the run folder now: a bad --reports-dir stops the run before any work
            collector.ensure_store()
        except HarnessError as exc:
            raise pytest.UsageError(str(exc)) from None


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def harness_config(pytestconfig: pytest.Config) -> cfg.RunConfig:
    """The resolved settings of this run."""
    return pytestconfig.stash[STATE].config


@pytest.fixture(scope="session")
def model_source(pytestconfig: pytest.Config) -> ModelSource:
    """The model under test, with its content hash."""
    return pytestconfig.stash[STATE].source


@pytest.fixture(scope="session")
def domain_examples(pytestconfig: pytest.Config) -> list[Example]:
    """The domain set (``--dataset``, or the model's own), loaded and checked once per run."""
    return pytestconfig.stash[STATE].examples


@pytest.fixture(scope="session")
def format_prompt(pytestconfig: pytest.Config) -> ChatFormatter:
    """Chat messages -> prompt text: the model's chat template, or ``--prompt-template``."""
    return pytestconfig.stash[STATE].formatter


@pytest.fixture(scope="session")
def domain_prompt(format_prompt: ChatFormatter, domain_examples: list[Example]) -> str:
    """The first domain example, formatted: the prompt timed requests use."""
    return format_prompt(list(domain_examples[0].messages))


@pytest.fixture(scope="session")
def quality_examples(pytestconfig: pytest.Config) -> list[Example]:
    """The examples the task-quality suite answers (the profile's ``quality_examples``)."""
    return pytestconfig.stash[STATE].quality_examples


@pytest.fixture(scope="session")
def harness_state(pytestconfig: pytest.Config) -> "HarnessState":
    """The run's state: the reference variant, its cached answers and log-probs (quality suites)."""
    return pytestconfig.stash[STATE]


@pytest.fixture
def record_answers(request: pytest.FixtureRequest) -> Callable[[str, list[dict]], None]:
    """Attach per-example answers and scores (harness.measure.quality.answer_all) to this test."""
    def add(variant: str, answers: list[dict]) -> None:
        request.node.user_properties.append((PROP_ANSWERS, {"variant": variant, "answers": answers}))
    return add


@pytest.fixture
def judge_gate(request: pytest.FixtureRequest) -> Callable[[Gate, str], Judgement]:
    """Judge a gate for a variant from this run's measurements; the judgement is recorded."""
    state = request.config.stash[STATE]

    def run(gate: Gate, variant_id: str) -> Judgement:
        if state.is_worker:  # a pytest-xdist worker: the controller holds the results
            request.node.user_properties.append((PROP_GATE, {"deferred": True, "gate": gate.name,
                                                             "variant": variant_id}))
            pytest.skip("under pytest-xdist the gates are judged by the controller at the end of the run")
        judgement = _judge(state, gate, variant_id)
        request.node.user_properties.append((PROP_GATE, judgement.to_record(gate)))
        return judgement
    return run


def _judge(state: "HarnessState", gate: Gate, variant_id: str) -> Judgement:
    data = state.store.data if state.store is not None else {"measurements": [], "variants": []}
    variant = next((v for v in data["variants"] if v["id"] == variant_id), {"id": variant_id})
    try:
        judgement = judge(gate, variant, data, reference=state.reference_for(variant_id), baseline=state.baseline,
                          allow_foreign_baseline=state.config.allow_foreign_baseline,
                          benchmark=state.config.benchmark)
    except HarnessError as exc:
        return Judgement(gate.name, variant_id, "failed", f"gate '{gate.name}': {exc}")
    return strict(judgement) if state.config.strict_gates else judgement


@pytest.fixture(scope="session")
def built_variant(pytestconfig: pytest.Config, variant: str) -> BuiltVariant:
    """The variant's build (from the cache, or built now)."""
    return pytestconfig.stash[STATE].build(variant)


@pytest.fixture(scope="session")
def harness_session(pytestconfig: pytest.Config, variant: str, built_variant: BuiltVariant):
    """The variant's worker session, loaded once and shared by every suite of that variant."""
    state = pytestconfig.stash[STATE]
    yield state.session(variant)
    state.close_session(variant)


@pytest.fixture
def record_measurement(request: pytest.FixtureRequest) -> Callable[[dict], None]:
    """Attach a measurement record (see :func:`harness.measure.records.measurement`) to this test."""
    def add(record: dict) -> None:
        request.node.user_properties.append((PROP_MEASUREMENT, record))
    return add


@pytest.fixture
def record_verdict(request: pytest.FixtureRequest) -> Callable[[dict], None]:
    """Attach a verdict record (variant, suite, name, passed, message, ...) to this test."""
    def add(record: dict) -> None:
        request.node.user_properties.append((PROP_VERDICT, record))
    return add


@pytest.fixture(scope="session")
def machine_bandwidth(pytestconfig: pytest.Config) -> dict:
    """This machine's memory read bandwidth (:mod:`harness.measure.bandwidth`), measured once and cached.

    Only performance tests ask for it, so it is measured while they hold the machine alone."""
    from harness.measure.bandwidth import machine_bandwidth as measure_or_load

    state = pytestconfig.stash[STATE]
    record, cached = measure_or_load(state.config.cache_dir, describe()["machine_fingerprint"])
    if not cached:
        state.progress(f"memory read bandwidth of this machine: {record['bytes_per_s'] / 1e9:.1f} GB/s "
                       f"(cached for later runs)")
    return record


# ---------------------------------------------------------------------------------------------
# Measurements alone: performance tests hold the machine exclusively, other variant work shares it


def _machine_lock(item: pytest.Item):
    state = item.config.stash[STATE]
    if PROP_VARIANT not in dict(item.user_properties):
        return None
    perf = item.get_closest_marker("harness_perf") is not None

    def waiting(_: float) -> None:
        what = "a measurement" if perf else "work"
        state.progress(f"{item.nodeid}: {what} waits until other workers' "
                       f"{'work' if perf else 'measurements'} finish")
    return (exclusive if perf else shared)(state.config.cache_dir, waiting)


@contextmanager
def _holding_machine(item: pytest.Item, record_window: bool) -> Iterator[None]:
    lock = _machine_lock(item)
    if lock is None:
        yield
        return
    with lock:
        started = time.time()
        try:
            yield
        finally:
            if record_window:
                item.user_properties.append((PROP_WINDOW, {
                    "test": item.nodeid, "pid": os.getpid(), "start": started, "end": time.time(),
                    "mode": "exclusive" if item.get_closest_marker("harness_perf") else "shared"}))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    with _holding_machine(item, record_window=False):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    with _holding_machine(item, record_window=True):
        return (yield)


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

    def ensure_store(self) -> ResultsStore:
        state = self.state
        if state.store is None:
            state.ensure_plan()
            if state.setup_error is not None:
                raise HarnessError(state.setup_error)
            try:
                run_dir = new_run_dir(state.config.reports_dir)
            except HarnessError as exc:
                state.setup_error = str(exc)
                raise
            settings = {s.name: {"value": _plain(getattr(state.config, s.name)),
                                 "source": state.config.sources.get(s.name, "default")}
                        for s in cfg.SETTINGS}
            state.store = ResultsStore(
                run_dir,
                run={"started_at": state.started_at,
                     "command": ["pytest", *self.config.invocation_params.args],
                     "profile": state.config.profile.name, "settings": settings},
                environment=describe(),
                model=state.source.to_record() if state.source else None,
                evaluation={
                    "datasets": [state.eval_set.to_record(used=len(state.quality_examples))] if state.eval_set else [],
                    "prompt_format": state.formatter.to_record(list(state.examples[0].messages))
                    if state.formatter and state.examples else None,
                    "reference_precision": state.config.reference,
                    "gates": {"origin": state.gates_origin, "definitions": [g.to_record() for g in state.gates],
                              "baseline": state.baseline["run"]["id"] if state.baseline else None,
                              "results": []},
                },
            )
            for planned in state.planned:
                variant = planned.variant
                state.store.add_variant({
                    "id": planned.id, "precision": variant.precision, "provider": variant.provider,
                    "builder": variant.builder,
                    "status": "unsupported" if not planned.supported else "pending",
                    "reason": planned.reason,
                })
            point_latest(run_dir)
        return state.store

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
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
        if report.when != "call" and report.passed:
            return  # setup and teardown news only matter when they did not pass
        test = report.nodeid.split("[")[0].split("/")[-1]
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
            judgement = _judge(self.state, gates[name], variant_id)
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
        for entry in store.data["variants"]:
            if entry.get("status") == "pending":
                entry["status"] = "not_run"
        interrupted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
        store.finish(complete=not interrupted, exit_status=int(exitstatus))
        write_report(store.run_dir, store.data)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is not None:
        for variant_id in list(state.sessions):
            state.close_session(variant_id)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or state.store is None:
        if state is not None and state.setup_error:
            terminalreporter.write_line(f"[harness] no results written: {state.setup_error}", red=True)
        return
    terminalreporter.section("precision harness")
    for line in summary_lines(state.store.data):
        terminalreporter.write_line(line)
    for entry in state.store.data["variants"]:
        if entry.get("status") in ("unsupported", "build_failed", "crashed") and (entry.get("reason") or entry.get("error")):
            terminalreporter.write_line(f"{entry['id']}: {(entry.get('reason') or entry.get('error')).splitlines()[0]}")
    missed = [v for v in state.store.data["verdicts"] if not v.get("passed")]
    if missed:
        terminalreporter.write_line(f"verdicts missed ({len(missed)} of {len(state.store.data['verdicts'])}):",
                                    yellow=True)
        for verdict in missed:
            terminalreporter.write_line(f"  {verdict['variant']:<12} {verdict['name']}: {verdict.get('message', '')}")
    gates = state.store.data.get("gates", {}).get("results", [])
    if gates:
        counts = {status: sum(1 for g in gates if outcome_of(g) == status) for status in OUTCOMES}
        failed = counts["failed"] > 0
        not_judged = sum(1 for g in gates if unjudged(g))
        terminalreporter.write_line(
            f"gates ({state.store.data['gates'].get('origin')}): {counts['passed']} passed, {counts['failed']} failed"
            + (f" ({not_judged} could not be judged)" if not_judged else "")
            + f", {counts[NOT_APPLICABLE]} not applicable", red=failed, green=not failed)
        for gate in gates:
            if gate["status"] == "failed":
                terminalreporter.write_line(f"  FAILED {gate['message']}", red=True)
    terminalreporter.write_line(f"results: {state.store.path}")
    terminalreporter.write_line(f"report:  {state.store.run_dir / 'report.html'} (and report.md, results.csv, plots)")
