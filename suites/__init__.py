"""The suites users run: ``pytest suites/ [--benchmark]`` in a checkout, ``pytest --pyargs harness.suites
[--benchmark]`` from anywhere once the harness is installed (the package ``harness.suites`` is this folder)."""
