# The harness's pytest plugin is registered here, and only here (not also as an entry point),
# so `pytest suites/` and `pytest tests/` see the same options and fixtures.
pytest_plugins = ["harness.plugin"]
