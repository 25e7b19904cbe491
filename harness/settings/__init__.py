"""Settings: every option once (name, parser, default, help), resolved from the command line, HARNESS_* and
[tool.harness] into one RunConfig."""
