"""The pytest plugin: options, collection, fixtures, the machine lock around measurements, and the results collector.

Registered once, by the repository's root ``conftest.py`` (not also as an entry point).

How results flow: every test that takes the ``variant`` argument carries its variant id in its
``user_properties``; builds, loads, crashes and measurements are attached to the test reports as
further ``user_properties`` (:mod:`harness.plugin.keys`). The process that owns the terminal (the
xdist controller, or the only process) turns those reports into ``results.json``
(:mod:`harness.plugin.collector`), so a run with or without pytest-xdist writes the same file, and
a crash in a worker loses nothing already reported.
"""

pytest_plugins = ["harness.plugin.options", "harness.plugin.collection", "harness.plugin.fixtures",
                  "harness.plugin.machine", "harness.plugin.collector", "harness.plugin.summary"]
