"""--runtimes: one build measured under two onnxruntime-genai releases, the older one in a toolchain
the harness prepares, each variant record naming the runtime its worker reported."""

import pytest
from suites_run import load, run_suites

pytestmark = pytest.mark.slow


def test_one_build_under_two_runtimes(tmp_path, build_cache):
    reports = tmp_path / "reports"
    result = run_suites(
        "--precisions",
        "int4",
        "--runtimes",
        "0.18.0,0.14.1",
        "--profile",
        "quick",
        "-k",
        "smoke or runtimes or closeness",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    results = load(reports)
    variants = {v["id"]: v for v in results["variants"]}
    assert list(variants) == ["int4-cpu", "int4-cpu@0.14.1"]
    assert variants["int4-cpu"]["runtime"] == {"onnxruntime-genai": "0.18.0", "onnxruntime": "1.31.0"}
    assert variants["int4-cpu@0.14.1"]["runtime"] == {"onnxruntime-genai": "0.14.1", "onnxruntime": "1.31.0"}
    assert variants["int4-cpu@0.14.1"]["twin"] == "int4-cpu"
    assert variants["int4-cpu@0.14.1"]["cache_key"] == variants["int4-cpu"]["cache_key"]  # one build
    runtime = {m["name"]: m for m in results["measurements"] if m["suite"] == "runtimes"}
    assert set(runtime) >= {"runtime_kld_mean", "runtime_top1_agreement"}
    assert runtime["runtime_kld_mean"]["variant"] == "int4-cpu@0.14.1"
    assert runtime["runtime_kld_mean"]["reference"] == "int4-cpu"
    assert 0 <= runtime["runtime_top1_agreement"]["value"] <= 1
    report = (reports / "latest" / "report.md").read_text()
    assert "## Runtimes" in report and "`int4-cpu@0.14.1` (onnxruntime-genai 0.14.1) against `int4-cpu`" in report
    # each runtime's reference is its own fp32 build: the KLD against it is recorded for both
    kld = {m["variant"]: m for m in results["measurements"] if m["name"] == "kld_mean"}
    assert kld["int4-cpu"]["reference"] == "fp32-cpu" and kld["int4-cpu@0.14.1"]["reference"] == "fp32-cpu@0.14.1"
