"""Collection: the variant matrix (and gate x variant) as parameters, skips with their reasons."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from harness.errors import GenerationError, HarnessError, WorkerCrashed
from harness.measure.machine_lock import exclusive
from harness.plugin.keys import PROP_VARIANT, STATE
from harness.run.budget import fit_to_budget
from harness.settings.registry import SETTINGS_BY_NAME

# ---------------------------------------------------------------------------------------------
# Collection: the matrix as a session-scoped parameter, skips with reasons


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "gate_case" in metafunc.fixturenames:
        _parametrize_gates(metafunc)
    if "variant" not in metafunc.fixturenames:
        return
    state = metafunc.config.stash[STATE]
    state.plan()
    params = []
    for planned in state.planned:
        marks = []
        if not planned.supported and not state.config.force_unsupported:
            marks.append(pytest.mark.skip(reason=f"unsupported: {planned.reason}"))
        params.append(pytest.param(planned.variant, id=planned.id, marks=marks))
    metafunc.parametrize("variant", params, scope="session")  # a Variant; its id is the test id


def _parametrize_gates(metafunc: pytest.Metafunc) -> None:
    """One test per gate and variant it applies to, e.g. ``test_gate[close_to_reference-int4-cpu]``."""
    state = metafunc.config.stash[STATE]
    state.plan()
    params = []
    for gate in state.gates:
        for planned in state.planned:
            variant = {"precision": planned.variant.precision, "provider": planned.variant.provider}
            if not gate.applies_to(variant):
                continue
            marks = []
            if not planned.supported and not state.config.force_unsupported:
                marks.append(pytest.mark.skip(reason=f"unsupported: {planned.reason}"))
            params.append(pytest.param((gate, planned.variant), id=f"{gate.name}-{planned.id}", marks=marks))
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
            item.user_properties.append((PROP_VARIANT, callspec.params["variant"].id))
            variant_tests = True
        if item.get_closest_marker("harness_perf") and not state.config.benchmark:
            item.add_marker(skip_perf)
        opt_in = item.get_closest_marker("harness_opt_in")
        if opt_in is not None and not _opted_in(state.config, *opt_in.args, **opt_in.kwargs):
            profiles = " or ".join(f"--profile {p}" for p in opt_in.kwargs.get("profiles", ()))
            item.add_marker(
                pytest.mark.skip(
                    reason=f"runs with {SETTINGS_BY_NAME[opt_in.args[0]].option}"
                    + (f" or {profiles}" if profiles else "")
                )
            )
        if item.get_closest_marker("harness_gate"):
            variant_tests = True
    collector = config.pluginmanager.get_plugin("harness-results")
    if variant_tests and collector is not None and not config.option.collectonly:
        try:  # make the run folder now: a bad --reports-dir stops the run before any work
            collector.ensure_store()
        except HarnessError as exc:
            raise pytest.UsageError(str(exc)) from None


def _opted_in(config, setting: str, profiles: tuple[str, ...] = ()) -> bool:
    """Whether a suite marked ``harness_opt_in(setting, profiles=...)`` runs: its flag is on, or
    the run's profile is one of those."""
    return bool(getattr(config, setting)) or config.profile.name in profiles


def suites_to_run(session: pytest.Session, variant_id: str) -> dict:
    """Suite name (``test_soak.py`` -> ``soak``) -> module, for the variant's tests in the run
    that no mark skips."""
    return {
        item.path.stem.removeprefix("test_"): item.module
        for item in session.items
        if dict(item.user_properties).get(PROP_VARIANT) == variant_id
        and item.get_closest_marker("skip") is None
        and hasattr(item, "module")
    }


def pytest_collection_finish(session: pytest.Session) -> None:
    """``--budget``: fit the run before its first test (harness.run.budget)."""
    state = session.config.stash[STATE]
    if state.config.budget is None or session.config.option.collectonly or state.store is None:
        return
    variant_ids = list(
        dict.fromkeys(
            dict(item.user_properties)[PROP_VARIANT]
            for item in session.items
            if PROP_VARIANT in dict(item.user_properties) and item.get_closest_marker("skip") is None
        )
    )
    if not variant_ids:
        return
    elapsed = time.time() - datetime.fromisoformat(state.started_at).timestamp()
    try:
        with exclusive(state.config.cache_dir):  # a build and a timed request: alone on the machine
            record = fit_to_budget(state, variant_ids, lambda v: suites_to_run(session, v), elapsed)
    except (HarnessError, GenerationError, WorkerCrashed) as exc:
        state.progress(f"budget: not applied: {exc}")
        return
    state.store.data["run"]["budget"] = record
