"""results.json: atomic, incremental, never overwriting a run; the report re-renders from it."""

import json
import subprocess
import sys

import pytest

from harness.errors import HarnessError
from harness.measure.environment import describe
from harness.report.render import render_markdown
from harness.results.store import ResultsStore, load_results, new_run_dir, point_latest


def make_store(tmp_path):
    run_dir = new_run_dir(tmp_path / "reports")
    store = ResultsStore(
        run_dir,
        run={"started_at": "t", "command": ["pytest"], "profile": "quick", "settings": {}},
        environment=describe(),
        model={"name": "m", "kind": "embedded", "path": "m", "content_hash": "0" * 64},
        evaluation={
            "datasets": [],
            "prompt_format": None,
            "reference_precision": "fp32",
            "gates": {"origin": None, "definitions": [], "baseline": None, "results": []},
        },
    )
    store.add_variant({"id": "int4-cpu", "precision": "int4", "provider": "cpu", "builder": "genai"})
    store.add_variant(
        {
            "id": "fp16-cpu",
            "precision": "fp16",
            "provider": "cpu",
            "builder": "genai",
            "status": "unsupported",
            "reason": "no",
        }
    )
    return store


def test_every_change_is_on_disk_and_incomplete_until_finished(tmp_path):
    store = make_store(tmp_path)
    store.record_test("int4-cpu", "test_smoke.py::test_answers_prompts", "passed")
    on_disk = json.loads(store.path.read_text())
    assert on_disk["run"]["complete"] is False
    assert on_disk["variants"][0]["status"] == "passed"
    store.record_test("int4-cpu", "test_smoke.py::test_generation_timing", "failed", "boom")
    store.finish(complete=True, exit_status=1)
    on_disk = load_results(store.run_dir)
    assert on_disk["run"]["complete"] is True
    assert on_disk["variants"][0]["status"] == "failed" and on_disk["variants"][0]["error"] == "boom"
    assert on_disk["variants"][1]["status"] == "unsupported"
    assert not list(store.run_dir.glob(".*tmp"))  # no temporary files left behind


def test_runs_never_share_a_folder_and_latest_follows(tmp_path):
    first = new_run_dir(tmp_path)
    second = new_run_dir(tmp_path)
    assert first != second
    point_latest(first)
    point_latest(second)
    assert (tmp_path / "latest").resolve() == second.resolve()


def test_report_renders_and_re_renders_from_the_command_line(tmp_path):
    store = make_store(tmp_path)
    store.finish(complete=True, exit_status=0)
    text = render_markdown(store.data)
    assert "| `int4-cpu` | not_run |" in text and "| `fp16-cpu` | unsupported |" in text
    result = subprocess.run(
        [sys.executable, "-m", "harness", "report", str(store.run_dir)], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert (store.run_dir / "report.md").read_text() == text


def test_a_corrupt_results_file_is_named(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{"schema_version": 1,\n "run": ')
    with pytest.raises(HarnessError, match=r"results.json: corrupt JSON at line 2"):
        load_results(path)
    result = subprocess.run([sys.executable, "-m", "harness", "report", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_undefined_statistics_are_written_as_null(tmp_path):
    from harness.results.store import write_json_atomic

    path = tmp_path / "r.json"
    write_json_atomic(path, {"cv": float("nan"), "nested": [{"x": float("inf")}, 1.5]})
    assert json.loads(path.read_text()) == {"cv": None, "nested": [{"x": None}, 1.5]}


def test_merge_refuses_a_run_given_twice(tmp_path):
    from harness.results.merge import merge

    store = make_store(tmp_path)
    run = load_results(store.run_dir)
    with pytest.raises(HarnessError) as info:
        merge([run, load_results(store.run_dir)])
    assert str(info.value) == f"run {run['run']['id']} is given twice (runs 1 and 2): merge each run once"


def test_a_merged_run_is_a_results_file_of_its_own_schema(tmp_path):
    """``merge`` writes what ``report`` reads back: every field the schema requires, the machine in each id."""
    from harness.results.merge import merge
    from harness.results.schema import problems

    first, second = make_store(tmp_path), make_store(tmp_path)
    for store in (first, second):
        store.finish(complete=True, exit_status=0)
    merged = merge([load_results(first.run_dir), load_results(second.run_dir)])
    assert problems(merged) == []
    assert {v["id"].partition("@")[0] for v in merged["variants"]} == {"int4-cpu", "fp16-cpu"}
    assert len(merged["variants"]) == 4 and all("@" in v["id"] for v in merged["variants"])


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_files_written_atomically_get_the_umasks_mode(tmp_path, umask, mode):
    """A temporary file is made 0600; what replaces results.json must be readable as any new file
    of this user is (a CI uploader or a teammate on a shared machine reads the run)."""
    import os

    from harness.common.files import write_text_atomic

    old = os.umask(umask)
    try:
        write_text_atomic(tmp_path / "report.md", "text")
        store = make_store(tmp_path)
    finally:
        os.umask(old)
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == mode
    assert store.path.stat().st_mode & 0o777 == mode


def test_a_results_file_that_cannot_be_rewritten_keeps_its_last_version(tmp_path):
    """The file system refuses the rewrite (here a file size limit: EFBIG, as a full disk gives
    ENOSPC, and for root too): the last complete results.json stays, no temporary file is left,
    the error names the file, and the next rewrite that succeeds clears it."""
    import resource
    import signal

    store = make_store(tmp_path)
    before = store.path.read_text()
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before), limits[1]))
    try:
        store.add_measurement({"variant": "int4-cpu", "name": "x", "value": 1.0, "padding": "x" * 1000})
        error = store.save_error
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    assert error == f"cannot write {store.path}: File too large"
    assert store.path.read_text() == before and not list(store.run_dir.glob(".*tmp"))
    store.save()
    assert store.save_error is None and json.loads(store.path.read_text())["measurements"][0]["name"] == "x"


def test_a_results_file_out_of_its_schema_is_refused_in_one_line(tmp_path):
    store = make_store(tmp_path)
    store.finish(complete=True, exit_status=0)
    del store.data["verdicts"]
    store.save()
    result = subprocess.run(
        [sys.executable, "-m", "harness", "report", str(store.run_dir)], capture_output=True, text=True
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(store.path) in lines[0] and "'verdicts' is a required property" in lines[0]
    assert not (store.run_dir / "report.html").exists()
