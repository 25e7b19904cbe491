"""The pytest plugin: options, collection, fixtures, the machine lock around measurements, and the results collector.

Registered once, by its pytest11 entry point (``pyproject.toml``): wherever the harness is
installed, ``pytest suites/`` in a checkout and ``pytest --pyargs harness.suites`` anywhere see it.
It registers its own markers, so suites run the same without this repository's ``pyproject.toml``.

How results flow: every test that takes the ``variant`` argument carries its variant id in its
``user_properties``; builds, loads, crashes and measurements are attached to the test reports as
further ``user_properties`` (:mod:`harness.plugin.keys`). The process that owns the terminal (the
xdist controller, or the only process) turns those reports into ``results.json``
(:mod:`harness.plugin.collector`), so a run with or without pytest-xdist writes the same file, and
a crash in a worker loses nothing already reported.
"""

# the collector first: options imports it, and pytest rewrites a plugin module only if it loads it first
pytest_plugins = [
    "harness.plugin.collector",
    "harness.plugin.options",
    "harness.plugin.collection",
    "harness.plugin.fixtures",
    "harness.plugin.machine",
    "harness.plugin.summary",
]
