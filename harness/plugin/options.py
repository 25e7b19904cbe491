"""Options and configuration: one pytest option per setting, resolved into the run (:class:`harness.run.run.Run`)."""

from __future__ import annotations

import argparse
import os
from contextlib import nullcontext

import pytest

from harness.errors import HarnessError
from harness.plugin.collector import ResultsCollector
from harness.plugin.keys import IS_WORKER, STATE
from harness.run.run import SETTING_CHOICES, Run
from harness.settings import config as cfg
from harness.settings.former import RENAMED, RETIRED
from harness.settings.registry import SETTINGS, SETTINGS_BY_NAME
from harness.settings.resolve import read_tool_table, resolve

# ---------------------------------------------------------------------------------------------
# Options and configuration


def _dest(option: str) -> str:
    return "harness_" + option.lstrip("-").replace("-", "_")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "precision trade-off harness (settings: CLI > HARNESS_* env > [tool.harness])")
    advanced = parser.getgroup("harness advanced", "precision trade-off harness: workarounds and debugging aids")
    for setting in SETTINGS:
        # argparse formats help with %: a literal one ("95 %") is doubled
        help_text = f"{setting.help} (default: {setting.default}; env {setting.env})".replace("%", "%%")
        _add(advanced if setting.advanced else group, setting.option, setting.metavar, help_text)
    for former in RENAMED:  # kept for one release, out of --help
        if former.option:
            _add(group, former.option, SETTINGS_BY_NAME[former.new].metavar, argparse.SUPPRESS)
    for retired in RETIRED:
        _add(group, retired.option, retired.metavar, argparse.SUPPRESS)


def _add(group: pytest.OptionGroup, option: str, metavar: str | None, help_text: str) -> None:
    if metavar is None:
        group.addoption(option, action="store_const", const=True, default=None, dest=_dest(option), help=help_text)
    else:
        group.addoption(option, action="store", default=None, metavar=metavar, dest=_dest(option), help=help_text)


def _resolve_config(config: pytest.Config) -> tuple[cfg.RunConfig, tuple[dict, str]]:
    options = [*(s.option for s in SETTINGS), *(r.option for r in RENAMED if r.option), *(r.option for r in RETIRED)]
    cli = {option: config.getoption(_dest(option)) for option in options}
    pyproject = config.rootpath / "pyproject.toml"
    table, origin = read_tool_table(pyproject)
    return resolve(
        cli,
        os.environ,
        table,
        choices=SETTING_CHOICES,
        table_origin=origin,
        rootdir=config.rootpath,
        invocation_dir=config.invocation_params.dir,
    ), (table, origin)


MARKERS = (
    "harness_perf: a performance measurement; runs only with --benchmark and holds the machine alone",
    "harness_gate: a release gate; runs after every suite (suites/test_gates.py)",
    "harness_opt_in(setting, profiles=()): runs only with that flag setting or in those profiles",
)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:  # the suites' markers, wherever they run (no pyproject.toml of ours needed)
        config.addinivalue_line("markers", marker)
    try:
        run_config, tool_table = _resolve_config(config)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    if run_config.budget is not None and getattr(config.option, "numprocesses", None):
        raise pytest.UsageError(
            "--budget fits one process's run to the minutes given; it does not divide them among "
            "pytest-xdist workers: drop -n"
        )
    run = Run(config=run_config, tool_table=tool_table)
    config.stash[IS_WORKER] = hasattr(config, "workerinput")
    if not config.stash[IS_WORKER]:

        def progress(message: str) -> None:
            # looked up when used: the terminal reporter may register after this plugin configures;
            # output capturing is lifted for the line, or it would be kept for failure reports only
            reporter = config.pluginmanager.get_plugin("terminalreporter")
            capture = config.pluginmanager.get_plugin("capturemanager")
            if reporter is None:
                return
            with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
                reporter.write_line(f"[harness] {message}")

        run.progress = progress
    config.stash[STATE] = run
    if not config.stash[IS_WORKER]:
        config.pluginmanager.register(ResultsCollector(config), "harness-results")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not session.config.stash[IS_WORKER]:
        run = session.config.stash[STATE]
        for notice in run.config.notices:  # former setting names, one line each
            run.progress(notice)
