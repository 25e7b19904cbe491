"""The pytest plugin: options, collection, fixtures, the machine lock and the results collector."""

pytest_plugins = ["harness.plugin.hooks"]
