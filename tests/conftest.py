"""Shared fixtures for the harness's own tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tiny_models

from tiny_models import make_tiny_model

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
# A hung test fails with its name after this long (pytest-timeout), instead of eating CI's 90
# minutes. The longest test took 205 s (tests/e2e/test_olive_build.py, 2-core Xeon, beside another
# job): 600 s is about three times that. HARNESS_TEST_TIMEOUT overrides it; a test may set its own
# limit with @pytest.mark.timeout(SECONDS).
TEST_TIMEOUT_S = float(os.environ.get("HARNESS_TEST_TIMEOUT", 600))


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.is_relative_to(TESTS) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


@pytest.fixture(scope="session", autouse=True)
def _children_are_not_xdist_workers():
    """Under pytest-xdist (tools/run-tests runs two processes) this process is a worker, and its
    PYTEST_XDIST_* variables would make the pytest runs the tests start believe they are workers
    too (pytest-benchmark then turns itself off): the children get an environment without them."""
    saved = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("PYTEST_XDIST_")}
    yield
    os.environ.update(saved)


@pytest.fixture(scope="session")
def build_cache() -> Path:
    """The repository's build cache, shared with `pytest suites/` so builds are made once."""
    return Path(os.environ.get("HARNESS_CACHE_DIR", REPO / ".harness-cache")).resolve()


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-qwen2", "qwen2")


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-llama", "llama")
