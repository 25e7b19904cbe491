"""Options and configuration: one pytest option per setting, resolved into the run (:class:`harness.run.run.Run`)."""

from __future__ import annotations

import os
from contextlib import nullcontext

import pytest

from harness.errors import HarnessError
from harness.plugin.collector import ResultsCollector
from harness.plugin.keys import IS_WORKER, STATE
from harness.run.run import SETTING_CHOICES, Run
from harness.settings import config as cfg
from harness.settings.registry import SETTINGS, read_tool_table, resolve

# ---------------------------------------------------------------------------------------------
# Options and configuration


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "precision trade-off harness (settings: CLI > HARNESS_* env > [tool.harness])")
    for setting in SETTINGS:
        help_text = f"{setting.help} (default: {setting.default}; env {setting.env})"
        if setting.metavar is None:
            group.addoption(setting.option, action="store_const", const=True, default=None,
                            dest=f"harness_{setting.name}", help=help_text)
        else:
            group.addoption(setting.option, action="store", default=None, metavar=setting.metavar,
                            dest=f"harness_{setting.name}", help=help_text)


def _resolve_config(config: pytest.Config) -> tuple[cfg.RunConfig, tuple[dict, str]]:
    cli = {s.name: config.getoption(f"harness_{s.name}") for s in SETTINGS}
    pyproject = config.rootpath / "pyproject.toml"
    table, origin = read_tool_table(pyproject)
    return resolve(cli, os.environ, table, choices=SETTING_CHOICES, table_origin=origin, rootdir=config.rootpath,
                   invocation_dir=config.invocation_params.dir), (table, origin)


MARKERS = (
    "harness_perf: a performance measurement; runs only with --benchmark and holds the machine alone",
    "harness_gate: a release gate; runs after every suite (suites/test_gates.py)",
)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:  # the suites' markers, wherever they run (no pyproject.toml of ours needed)
        config.addinivalue_line("markers", marker)
    try:
        run_config, tool_table = _resolve_config(config)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
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
