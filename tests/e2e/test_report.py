"""The report of real runs: results.csv, plots, report.md and a self-contained report.html that a
real headless browser renders; the recommendation; `report`, `compare` and `merge` on real runs."""

import copy
import json
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from suites_run import REPO, run_suites

from harness.report.plots import PLOTS, pareto_front
from harness.ship.recommend import recommend

# every plot but the search's, which needs --search (tests/e2e/test_search.py checks it)
MAIN_JOB_PLOTS = [name for name in PLOTS if name != "search"]

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def main_run(main_job):
    """The README's main job on the embedded model (tests/e2e/conftest.py): every suite, every
    plot. Its latest run's folder and pytest's output."""
    reports, stdout = main_job
    return reports / "latest", stdout


@pytest.fixture(scope="module")
def second_run(tmp_path_factory, build_cache):
    reports = tmp_path_factory.mktemp("second") / "reports"
    result = run_suites(
        "--profile",
        "quick",
        "--precisions",
        "fp32,int4",
        "-k",
        "quality or latency or gate",
        "--benchmark",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return reports / "latest"


def harness_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "harness", *map(str, args)], capture_output=True, text=True, cwd=REPO, timeout=300
    )


def test_a_run_writes_csv_plots_markdown_and_html(main_run):
    run_dir, stdout = main_run
    results = json.loads((run_dir / "results.json").read_text())
    table = pd.read_csv(run_dir / "results.csv")
    assert len(table) == len(results["measurements"])
    assert {"variant", "metric", "value", "ci_low", "ci_high", "n", "machine"} <= set(table.columns)
    for name in MAIN_JOB_PLOTS:  # every plot the main job has data for
        assert (run_dir / f"{name}.png").stat().st_size > 10_000, name
    markdown = (run_dir / "report.md").read_text()
    assert "## Recommendation" in markdown and "Ship **int" in markdown
    assert "| int4-cpu | passed | 1.32 |" in markdown  # the measured precision table
    # the terminal ends with the short table, the recommendation and where the report is
    assert re.search(r"int4-cpu +passed +1\.32 +0\.3 ", stdout)
    assert f"report:  {run_dir.resolve()}" in stdout or "report.html" in stdout
    assert "Ship int4-cpu on cpu" in stdout
    # each variant's plan was printed before its suites ran, kept in its record, and set in the
    # report beside what those suites took
    for variant in results["variants"]:
        plan = variant["estimate"]
        assert {"latency", "input_length", "soak", "robustness", "quality", "smoke"} <= set(plan["seconds"])
        assert all(seconds > 0 for seconds in plan["seconds"].values()) and plan["cost"]["decode_ms_per_token"] > 0
        assert f"plan {variant['id']}: about " in stdout
    assert "planned / took s" in markdown


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not on PATH (chromium or chromium-browser): "
    "tools/run-tests installs it where it may; else sudo apt-get install chromium",
)
def test_the_html_report_renders_in_a_headless_browser(main_run, tmp_path):
    run_dir, _ = main_run
    html = run_dir / "report.html"
    assert "http://" not in html.read_text() and "https://" not in html.read_text()  # nothing to fetch
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", f"file://{html.resolve()}"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    body = re.search(r"<body([^>]*)>", dom).group(1)
    attributes = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body))
    assert attributes.get("images") == attributes.get("images-rendered") == str(len(MAIN_JOB_PLOTS)), attributes
    assert "errors" not in attributes  # no script error
    assert re.search(r'id="recommendation-text">\s*<p>Ship <strong>int\d-cpu</strong>', dom)
    for name in MAIN_JOB_PLOTS:
        assert f'id="plot-{name}"' in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            f"file://{html.resolve()}",
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.stat().st_size > 50_000  # a page with content, not a blank one


def test_report_re_renders_a_run_from_its_results(main_run, tmp_path):
    run_dir, _ = main_run
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    shutil.copy(run_dir / "results.json", copy_dir / "results.json")
    result = harness_cli("report", copy_dir)
    assert result.returncode == 0, result.stderr
    assert (copy_dir / "report.md").read_text() == (run_dir / "report.md").read_text()
    assert {p.name for p in copy_dir.iterdir()} >= {"report.html", "results.csv", *(f"{n}.png" for n in MAIN_JOB_PLOTS)}
    speed = harness_cli("report", copy_dir, "--objective", "speed")
    assert speed.returncode == 0 and "by decode speed" in (copy_dir / "report.md").read_text()
    missing = harness_cli("report", tmp_path / "nowhere")
    assert missing.returncode == 2 and missing.stderr.startswith("error: no results.json at")


def test_report_reads_a_run_of_schema_version_1(main_run, tmp_path):
    """A results.json of schema_version 1 (before the evaluation sections: datasets, prompt
    format, reference precision, answers) still renders, with the same precision table and
    recommendation; a version the harness does not know is refused in one line."""
    run_dir, _ = main_run
    results = json.loads((run_dir / "results.json").read_text())
    old = {k: v for k, v in results.items() if k not in ("datasets", "prompt_format", "reference_precision", "answers")}
    old["schema_version"] = 1
    folder = tmp_path / "v1"
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(old))
    result = harness_cli("report", folder)
    assert result.returncode == 0, result.stderr
    markdown = (folder / "report.md").read_text()
    now = (run_dir / "report.md").read_text()

    def section(text, title):
        return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]

    assert section(markdown, "Recommendation") == section(now, "Recommendation")
    assert "| int4-cpu | passed | 1.32 |" in markdown
    assert "**Evaluation set**" in now and "**Evaluation set**" not in markdown  # the section it lacks
    (folder / "results.json").write_text(json.dumps({**old, "schema_version": 99}))
    refused = harness_cli("report", folder)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"error: {folder / 'results.json'}: schema_version 99 is not supported (readable: 1, 2)"
    )


def test_compare_says_what_changed_and_refuses_performance_across_machines(main_run, second_run, tmp_path):
    run_dir, _ = main_run
    result = harness_cli("compare", run_dir, second_run)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| `int4-cpu` |")]
    assert any("| exact_match |" in r and "Fisher p=" in r for r in rows)
    assert any("| decode_tps |" in r and "Mann-Whitney p=" in r for r in rows)
    verdicts = ("| within noise |", "| **changed** |", "| significant, below minimum effect |", "| no interval |")
    assert all(sum(v in r for v in verdicts) == 1 for r in rows), rows
    assert all("Holm p=" in r for r in rows if "| no interval |" not in r)  # each tested figure, corrected
    assert re.search(r"^\d+ of \d+ figures tested, Holm–Bonferroni corrected", result.stdout, re.M)
    # the same quality on the same tickets: greedy answers do not change between runs
    assert any("| exact_match |" in r and "within noise" in r for r in rows)
    other = json.loads((second_run / "results.json").read_text())
    other["environment"]["machine_fingerprint"] = "another-machine"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "results.json").write_text(json.dumps(other))
    result = harness_cli("compare", run_dir, tmp_path / "other")
    decode = next(r for r in result.stdout.splitlines() if r.startswith("| `int4-cpu` | decode_tps |"))
    assert "not compared" in decode and "different machines" in decode
    quality = next(r for r in result.stdout.splitlines() if r.startswith("| `int4-cpu` | exact_match |"))
    assert "Fisher" in quality  # quality compares across machines


def test_merge_keeps_each_machine_apart(main_run, second_run, tmp_path):
    run_dir, _ = main_run
    other = json.loads((second_run / "results.json").read_text())
    other["environment"]["machine_fingerprint"] = "bbbbbbbbbbbbbbbb"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "results.json").write_text(json.dumps(other))
    out = tmp_path / "merged"
    result = harness_cli("merge", run_dir, tmp_path / "b", "--out", out)
    assert result.returncode == 0, result.stderr
    merged = json.loads((out / "results.json").read_text())
    labels = [m["label"] for m in merged["machines"]]
    assert len(labels) == 2 and labels[1] == "bbbbbb"
    ids = {v["id"] for v in merged["variants"]}
    assert {f"int4-cpu@{labels[0]}", "int4-cpu@bbbbbb"} <= ids
    assert all(m["variant"].endswith("@" + m["machine"]) for m in merged["measurements"])
    advice = recommend(merged)
    assert {a["machine"] for a in advice} == set(labels)  # one recommendation per machine
    assert (out / "report.html").is_file() and "of machine bbbbbb" in (out / "report.md").read_text()
    twice = harness_cli("merge", run_dir, tmp_path / "b", run_dir, "--out", tmp_path / "twice")
    run_id = json.loads((run_dir / "results.json").read_text())["run"]["id"]
    assert twice.returncode == 2 and not (tmp_path / "twice").exists()
    assert twice.stderr == f"error: run {run_id} is given twice (runs 1 and 3): merge each run once\n"
    other["model"]["content_hash"] = "f" * 64  # another model
    (tmp_path / "b" / "results.json").write_text(json.dumps(other))
    refused = harness_cli("merge", run_dir, tmp_path / "b", "--out", tmp_path / "again")
    assert refused.returncode == 2 and "different models" in refused.stderr
    compared = harness_cli("compare", run_dir, tmp_path / "b")  # compared, and said in the first line
    assert compared.returncode == 0, compared.stderr
    assert compared.stdout.splitlines()[0].endswith(
        f"runs of different models, support-tickets "
        f"({merged['model']['content_hash'][:12]}) in {run_id} and "
        f"support-tickets ({'f' * 12}) in {other['run']['id']}"
    )


def test_every_file_of_a_run_has_the_mode_the_umask_gives(main_run):
    """results.json and the reports are written atomically (through a 0600 temporary file) and
    must still be readable as the PNG and CSV files are: by a CI uploader, by a teammate."""
    import os

    run_dir, _ = main_run
    umask = os.umask(0)
    os.umask(umask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in run_dir.resolve().iterdir() if p.is_file()}
    assert {"results.json", "report.md", "report.html", "results.csv"} <= set(modes)
    assert set(modes.values()) == {0o666 & ~umask}, modes


def test_pareto_front():
    points = [(1.3, 0.98, "int4"), (1.8, 0.98, "int8"), (4.4, 0.99, "fp32"), (2.0, 0.90, "bad")]
    assert pareto_front(points) == ["int4", "fp32"]
    assert pareto_front([(10.0, 0.9, "slow"), (20.0, 0.9, "fast")], lower_x=False) == ["fast"]


def test_recommendation_skips_a_variant_that_failed_a_gate(main_run):
    run_dir, _ = main_run
    results = json.loads((run_dir / "results.json").read_text())
    failed = copy.deepcopy(results)
    failed["gates"]["results"].append({"gate": "strict", "variant": "int4-cpu", "status": "failed", "message": "x"})
    advice = recommend(failed)[0]
    assert advice["choice"] == "int8-cpu" and "int4-cpu (failed 1 gate(s))" in advice["text"]
    assert "Runner-up: fp16-cpu" in advice["text"]  # 2.25 MB: next by size after INT8's 1.78
    assert recommend(results, "speed")[0]["objective_used"] == "speed"


def test_inline_markup_of_report_paragraphs():
    from harness.report.render import _inline

    text = _inline("share [Wilson]; *p*: McNemar (small *p*: real). **Ship** `int4-cpu` <b> 2*3*4")
    assert text == (
        "share [Wilson]; <em>p</em>: McNemar (small <em>p</em>: real). <strong>Ship</strong> "
        "<code>int4-cpu</code> &lt;b&gt; 2*3*4"
    )


def test_package_writes_a_foundry_folder_per_built_variant(main_run, tmp_path):
    run_dir, _ = main_run
    result = harness_cli("package", "--foundry", tmp_path / "models", run_dir)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [
        "support-tickets-fp16",
        "support-tickets-fp32",
        "support-tickets-int4",
        "support-tickets-int8",
    ]
    meta = json.loads((tmp_path / "models" / "support-tickets-int4" / "inference_model.json").read_text())
    assert meta["Name"] == "support-tickets-int4" and "prompt" in meta["PromptTemplate"]
