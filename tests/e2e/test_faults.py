"""Faults and hostile input, end to end through `pytest suites/` as a user meets them: nothing
damaged is measured or shipped, no recommendation without its gates, every fault one line
(docs/guides/bad-input.md)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest
from suites_run import REPO, assert_one_line_error, load, run_suites

pytestmark = pytest.mark.slow


def _build_folder(cache, results, variant_id):
    entry = next(v for v in results["variants"] if v["id"] == variant_id)
    return cache / "builds" / os.path.basename(entry["path"]), entry


def test_a_cached_build_damaged_in_place_is_built_again_and_measured(tiny_qwen2, tmp_path, build_cache):
    """Same size, other bytes: nothing but the checksum tells. The next run names the file, builds
    the variant again, and measures (and sizes) the new, verified build. (Truncated files, old
    records and a build that cannot be put aside: tests/e2e/test_build.py.)"""
    cache = tmp_path / "cache"
    reports = tmp_path / "reports"
    args = (
        "--model",
        str(tiny_qwen2),
        "--precisions",
        "int4",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(cache),
        "-k",
        "smoke",
    )
    first = run_suites(*args)
    assert first.returncode == 0, first.stdout[-2000:]
    folder, built = _build_folder(cache, load(reports), "int4-cpu")
    data = folder / "model.onnx.data"
    size = data.stat().st_size
    data.write_bytes(bytes(b ^ 0xFF for b in data.read_bytes()))  # every byte other, the size the same
    second = run_suites(*args)
    assert second.returncode == 0, second.stdout[-2000:]
    line = (
        f"[harness] the cached build of int4-cpu is damaged: {data} does not hold the bytes it was built with "
        f"(sha256 differs); building it again"
    )
    assert line in second.stdout and "Traceback" not in second.stdout
    rebuilt = next(v for v in load(reports)["variants"] if v["id"] == "int4-cpu")
    assert rebuilt["cached"] is False and rebuilt["rebuilt_because"] in line
    assert rebuilt["size_bytes"] == built["size_bytes"] and data.stat().st_size == size
    assert rebuilt["status"] == "passed"


def test_a_run_whose_gates_were_not_judged_recommends_nothing(tmp_path, build_cache):
    result = run_suites(
        "--profile",
        "quick",
        "--precisions",
        "fp32,int4",
        "-k",
        "smoke",
        "--reports-dir",
        str(tmp_path / "reports"),
        "--cache-dir",
        str(build_cache),
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "Ship" not in result.stdout
    assert (
        "No recommendation on cpu: a recommendation needs every release gate judged, and fp32-cpu, int4-cpu "
        "were not judged on task_accuracy_kept, answer_format, close_to_reference"
    ) in result.stdout
    report = (tmp_path / "reports" / "latest" / "report.md").read_text()
    assert "No recommendation on cpu" in report and "Ship **" not in report


FILL = '''
import os, pytest

@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    """Fill the disk of FILL_DIR once the test FILL_AT has run."""
    if item.name.startswith(os.environ["FILL_AT"]) and not os.path.exists(os.environ["FILL_DIR"] + "/filler"):
        with open(os.environ["FILL_DIR"] + "/filler", "wb") as fh:
            try:
                while True:
                    fh.write(b"\\0" * 65536)
                    fh.flush()
            except OSError:
                pass
'''


def _in_a_small_file_system(tmp_path, script: str, options: str = "size=4m") -> subprocess.CompletedProcess:
    """Run ``script`` (sh) with a fresh tmpfs mounted at tmp_path/fs (in a mount namespace of its
    own; the user is mapped to root there). Skips where this system lets no one do that."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1): a small file system cannot be mounted for this test")
    (tmp_path / "fs").mkdir()
    probe = subprocess.run(
        [unshare, "--mount", "--map-root-user", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {tmp_path / 'fs'}"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"a tmpfs cannot be mounted in a user and mount namespace here: {probe.stderr.strip()}")
    return subprocess.run(
        [
            unshare,
            "--mount",
            "--map-root-user",
            "sh",
            "-c",
            f"mount -t tmpfs -o {options} tmpfs {tmp_path / 'fs'} && {script}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "250"},
    )


def test_a_full_disk_ends_in_one_line_and_keeps_the_last_complete_results(tmp_path, build_cache):
    """The disk fills after the smoke test: the rewrites of results.json fail, the last complete
    version stays, the run says so in one line and fails (exit status 1), nothing is a traceback,
    and no temporary file is left."""
    (tmp_path / "fill_disk.py").write_text(FILL)
    fs, copy = tmp_path / "fs", tmp_path / "copy"
    command = " ".join(
        [
            sys.executable,
            "-m",
            "pytest",
            str(REPO / "suites"),
            "-p",
            "no:cacheprovider",
            "-p",
            "fill_disk",
            "--profile",
            "quick",
            "--precisions",
            "int4",
            "-k",
            "'smoke or gate'",
            "--reports-dir",
            f"{fs}/reports",
            "--cache-dir",
            str(build_cache),
        ]
    )
    result = _in_a_small_file_system(
        tmp_path,
        f"FILL_AT=test_answers_prompts FILL_DIR={fs} PYTHONPATH={tmp_path} "
        f"{command}; status=$?; cp -r {fs}/reports {copy}; exit $status",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "Traceback" not in output and "INTERNALERROR" not in output
    [run] = [p for p in copy.iterdir() if p.name != "latest"]
    lines = [line for line in output.splitlines() if "No space left on device" in line]
    assert lines[0].startswith(
        f"[harness] cannot write {fs}/reports/{run.name}/results.json: No space left on device; "
        "the file keeps its last complete version"
    )
    assert lines[-1].endswith(
        "holds the last complete version, without what was measured after it; no report was written"
    )
    kept = json.loads((run / "results.json").read_text())  # complete JSON, as of before the disk filled
    assert kept["run"]["complete"] is False
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]


LIMIT_AT_END = '''
import glob, os, resource, signal, pytest

@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    """From here on no file may grow beyond results.json's size and a margin: the report's files
    are refused by the kernel (EFBIG), as a disk that fills at the end would refuse them."""
    [path] = glob.glob(os.environ["REPORTS"] + "/2*/results.json")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path) + 2048, resource.RLIM_INFINITY))
'''


def test_a_report_the_file_system_refuses_is_one_line_and_can_be_rendered_later(tmp_path, build_cache):
    (tmp_path / "limit_at_end.py").write_text(LIMIT_AT_END)
    reports = tmp_path / "reports"
    result = run_suites(
        "--profile",
        "quick",
        "--precisions",
        "int4",
        "-k",
        "smoke or quality or gate",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
        "-p",
        "limit_at_end",
        env={"PYTHONPATH": str(tmp_path), "REPORTS": str(reports)},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "Traceback" not in output and "INTERNALERROR" not in output
    run = (reports / "latest").resolve()
    [line] = [line for line in output.splitlines() if "File too large" in line]
    assert line.startswith(f"[harness] cannot write {run}/") and line.endswith(
        f"the report is incomplete; results.json holds every measurement: once there is room, run python -m "
        f"harness report {run}"
    )
    assert load(reports)["run"]["complete"] is True
    again = subprocess.run(
        [sys.executable, "-m", "harness", "report", str(run)], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert again.returncode == 0 and (run / "report.html").is_file(), again.stderr


def test_a_read_only_cache_folder_is_one_line_before_any_work(tmp_path):
    fs = tmp_path / "fs"
    command = " ".join(
        [
            sys.executable,
            "-m",
            "pytest",
            str(REPO / "suites"),
            "-p",
            "no:cacheprovider",
            "--precisions",
            "int4",
            "--reports-dir",
            str(tmp_path / "reports"),
            "--cache-dir",
            f"{fs}/cache",
        ]
    )
    result = _in_a_small_file_system(tmp_path, command, options="size=64k,ro")
    assert_one_line_error(
        result, f"ERROR: the cache folder {fs}/cache (option --cache-dir) cannot be used: Read-only file system"
    )
    assert not (tmp_path / "reports").exists()


def _model_with_template(tiny_model, tmp_path, template):
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    config = json.loads((model / "tokenizer_config.json").read_text())
    config.pop("chat_template")
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    (model / "chat_template.jinja").write_text(template)  # where transformers 5 saves it
    return model


@pytest.mark.parametrize(
    "template",
    ["{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ cycler.__init__.__globals__.os.popen('id').read() }}"],
    ids=["attribute", "globals"],
)
def test_an_unsafe_chat_template_stops_the_run_before_any_build(template, tiny_qwen2, tmp_path):
    model = _model_with_template(tiny_qwen2, tmp_path, template)
    cache = tmp_path / "cache"
    result = run_suites("--model", str(model), "--cache-dir", str(cache), "--reports-dir", str(tmp_path / "reports"))
    assert_one_line_error(
        result,
        f"ERROR: {model / 'chat_template.jinja'}: the chat template tried something unsafe "
        f"and the sandbox stopped it (no code ran)",
    )
    assert not (cache / "builds").exists()


DEFAULT_SYSTEM = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def test_a_chat_template_with_a_default_system_message_ships_to_foundry(tiny_qwen2, tmp_path, build_cache):
    """SmolLM2's kind of template. Tested with the smoke set (4 of 5 prompts without a system
    message), the package's PromptTemplate carries the default message and renders those as the
    chat template does; tested with chats that mostly bring their own, it leaves it out. Either
    way the chats the format cannot express are a verdict of their own, not a failed variant."""
    model = _model_with_template(tiny_qwen2, tmp_path, DEFAULT_SYSTEM)
    mostly_system = tmp_path / "mostly-system.jsonl"
    mostly_system.write_text(
        '{"id": "u", "prompt": "What is the capital of France?"}\n'
        '{"id": "s1", "system": "Be brief.", "prompt": "List three colours."}\n'
        '{"id": "s2", "system": "Be brief.", "prompt": "How many days are in a week?"}\n'
    )
    default = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM<|im_end|>\n"
    for dataset, carries_default, odd in (("smoke", True, "1 of 5"), (str(mostly_system), False, "1 of 3")):
        reports, packages = tmp_path / f"reports-{carries_default}", tmp_path / f"packages-{carries_default}"
        result = run_suites(
            "--model",
            str(model),
            "--precisions",
            "int4",
            "--dataset",
            dataset,
            "-k",
            "foundry_package",
            "--reports-dir",
            str(reports),
            "--cache-dir",
            str(build_cache),
            "--foundry-packages",
            str(packages),
        )
        assert result.returncode == 0, result.stdout[-2000:]
        verdicts = {v["name"]: v for v in load(reports)["verdicts"]}
        assert verdicts["prompt_template_matches_chat_template"]["passed"]
        limit = verdicts["prompt_template_expresses_chat_template"]
        assert not limit["passed"] and (
            f"{odd} domain prompts are chats its PromptTemplate cannot render" in limit["message"]
        )
        [package] = packages.iterdir()
        prompt = json.loads((package / "inference_model.json").read_text())["PromptTemplate"]["prompt"]
        assert prompt.startswith(default) == carries_default


def test_kill_9_of_the_harness_while_it_builds_leaves_no_builder(tmp_path):
    cache = tmp_path / "cache"
    harness = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            str(REPO / "suites"),
            "-p",
            "no:cacheprovider",
            "--precisions",
            "fp32",
            "-k",
            "smoke",
            "--cache-dir",
            str(cache),
            "--reports-dir",
            str(tmp_path / "reports"),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def builders():
        return [
            p.pid
            for p in psutil.process_iter(["cmdline"])
            if "onnxruntime_genai.models.builder" in (p.info["cmdline"] or [])
            and str(cache) in " ".join(p.info["cmdline"])
        ]

    deadline = time.monotonic() + 120
    while not builders() and time.monotonic() < deadline and harness.poll() is None:
        time.sleep(0.05)
    assert builders(), "the builder never started"
    os.kill(harness.pid, signal.SIGKILL)
    harness.wait()
    deadline = time.monotonic() + 2  # the kernel kills it at once; left alone it builds for seconds more
    while builders() and time.monotonic() < deadline:
        time.sleep(0.05)
    left = builders()
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "the builder outlived the harness"
