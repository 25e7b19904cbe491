# The harness's pytest plugin registers itself through its pytest11 entry point (pyproject.toml),
# installed with the package (also by `pip install -e .`): it must not be registered here again.
