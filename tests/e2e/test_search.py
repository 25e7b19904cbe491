"""--search and --plan end to end on the embedded model: the search tunes on the calibration text
(the training tickets), finds a real mix for a gate it can meet, ends in one line for a gate it
cannot, writes its plan, and --plan rebuilds exactly that mix; bad plan files are one line."""

import json

import pytest
from suites_run import assert_one_line_error, load, run_suites

pytestmark = pytest.mark.slow
TIGHT = '[gates]\nclose = "kld_mean <= 0.01"\nsame_top = "top1_agreement >= 0.9"\n'


def _run(tmp_path, build_cache, name, gates, *extra):
    (tmp_path / f"{name}.toml").write_text(gates)
    reports = tmp_path / name
    result = run_suites(
        "--precisions",
        "fp32,int4",
        "--recipes",
        "default",
        "--profile",
        "quick",
        "-k",
        "smoke or quality or gates",
        "--gates-file",
        str(tmp_path / f"{name}.toml"),
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
        *extra,
    )
    return result, reports


@pytest.fixture(scope="module")
def searched(tmp_path_factory, build_cache):
    tmp_path = tmp_path_factory.mktemp("search")
    result, reports = _run(tmp_path, build_cache, "search", TIGHT, "--search")
    # the story the search is for: plain INT4 misses the tight gate, the mix passes it
    failed = [g for g in load(reports)["gates"]["results"] if g["status"] == "failed"]
    assert result.returncode == 1 and [(g["gate"], g["variant"]) for g in failed] == [("close", "int4-cpu")], (
        result.stdout[-3000:]
    )
    return tmp_path, reports, load(reports), result.stdout


def test_a_search_run_measures_every_recipe_unless_recipes_are_named(tmp_path):
    ids = {}
    for name, extra in (("auto", ()), ("named", ("--recipes", "default"))):
        result = run_suites(
            "--search",
            "--precisions",
            "fp32,int4",
            "--collect-only",
            "-q",
            "-k",
            "smoke",
            "--reports-dir",
            str(tmp_path / name),
            *extra,
        )
        assert result.returncode == 0, result.stdout[-2000:]
        ids[name] = {
            variant
            for variant in (
                "int4-cpu",
                "int4-kquant-cpu",
                "int4-kquant_head8-cpu",
                "int4-mixed-cpu",
                "int4-embed-cpu",
                "mixed-cpu",
            )
            if f"[{variant}]" in result.stdout
        }
    assert ids["auto"] == {
        "int4-cpu",
        "int4-kquant-cpu",
        "int4-kquant_head8-cpu",
        "int4-mixed-cpu",
        "int4-embed-cpu",
        "mixed-cpu",
    }
    assert ids["named"] == {"int4-cpu", "mixed-cpu"}


def test_a_gate_the_search_can_meet_gives_a_real_mix_judged_like_any_variant(searched):
    _, reports, results, stdout = searched
    variants = {v["id"]: v for v in results["variants"]}
    assert list(variants) == ["fp32-cpu", "int4-cpu", "mixed-cpu"]  # after the fixed variants
    mixed = variants["mixed-cpu"]
    assert "Ship mixed-cpu on cpu" in stdout  # the recommendation considers it like any other
    assert mixed["status"] == "passed" and mixed["precision"] == "mixed"
    plan, search = mixed["plan"], mixed["search"]
    assert set(plan.values()) == {4, 8, 32}, plan  # kld_mean <= 0.01 keeps some groups at INT8 and float
    chosen = search["candidates"][search["chosen"]]
    assert chosen["figures"]["kld_mean"] <= 0.01 and chosen["passes"] and chosen["plan"] == plan
    nxt = search["candidates"][search["next_smaller"]]
    assert nxt["size_bytes"] < chosen["size_bytes"] and nxt["missed"]
    assert len(search["candidates"]) <= 16  # the quick profile's budget
    # tuned on the calibration text, never the evaluation set
    assert "train.jsonl" in stdout and "(never the evaluation set)" in stdout
    # the graph holds what the plan says, and the variant is measured and gated on the evaluation set
    assert mixed["quantization"]["bits"] == [4, 8]
    assert mixed["quantization"]["gather_quantized"] == (1 if plan["embed"] == 4 else 0)
    kld = {m["variant"]: m for m in results["measurements"] if m["name"] == "kld_mean"}
    assert kld["mixed-cpu"]["reference"] == "fp32-cpu"
    assert {g["gate"] for g in results["gates"]["results"] if g["variant"] == "mixed-cpu"} >= {"close", "same_top"}
    # the artifacts: the plan file and the search's section and plot
    written = json.loads((reports / "latest" / "plan-mixed-cpu.json").read_text())
    assert written["groups"] == plan and written["search"]["chosen"] == search["chosen"]
    report = (reports / "latest" / "report.md").read_text()
    assert "## Mixed-precision search" in report and "search.png" in report
    assert (reports / "latest" / "search.png").stat().st_size > 10_000


def test_the_written_plan_rebuilds_the_same_mix_without_searching(searched, build_cache):
    tmp_path, reports, results, _ = searched
    plan_file = reports / "latest" / "plan-mixed-cpu.json"
    result, again = _run(tmp_path, build_cache, "replan", TIGHT, "--plan", str(plan_file))
    assert result.returncode == 1 and "FAILED gate 'close' (kld_mean <= 0.01): int4-cpu" in result.stdout
    assert "search 1/" not in result.stdout  # no candidate was measured
    rebuilt = {v["id"]: v for v in load(again)["variants"]}["mixed-cpu"]
    first = {v["id"]: v for v in results["variants"]}["mixed-cpu"]
    assert rebuilt["plan"] == first["plan"] and "search" not in rebuilt
    assert rebuilt["size_bytes"] == first["size_bytes"] and rebuilt["cache_key"] == first["cache_key"]

    def kld(results):
        return next(
            m["value"] for m in results["measurements"] if m["variant"] == "mixed-cpu" and m["name"] == "kld_mean"
        )

    assert kld(load(again)) == kld(results)


def test_a_gate_no_mix_can_meet_ends_in_one_line_naming_the_smallest_kld(tmp_path, build_cache):
    result, reports = _run(tmp_path, build_cache, "impossible", '[gates]\nclose = "kld_mean <= 0.00001"\n', "--search")
    assert result.returncode == 1  # the mixed variant fails; the others were measured and kept
    variants = {v["id"]: v for v in load(reports)["variants"]}
    assert variants["int4-cpu"]["status"] != "build_failed" and variants["mixed-cpu"]["status"] == "build_failed"
    lines = [line for line in result.stdout.splitlines() if "no mix passes the closeness gates" in line]
    assert lines, result.stdout[-3000:]
    assert "every group at INT8 reached kld_mean 0.0" in lines[0]
    assert "the closest, with groups in float up to FP16's size, reached kld_mean 0.0" in lines[0]
    assert "kld_mean 0.000" in variants["mixed-cpu"]["error"] and "\n" not in variants["mixed-cpu"]["error"].strip()
    assert "Traceback" not in result.stdout


@pytest.mark.parametrize(
    "content, says",
    [
        ("{not json", "PATH: corrupt JSON at line 1"),
        ('{"format": 1, "groups": {"embed": 4}}', "PATH (option --plan): no width for group 'layers.0'"),
        (
            '{"format": 1, "groups": {"embed": 4, "layers.0": 4, "layers.1": 4, "layers.2": 4, "layers.3": 4, '
            '"layers.9": 8, "lm_head": 4}}',
            "PATH (option --plan): group 'layers.9' is not in this model (it has embed, layers.0–3, lm_head)",
        ),
        (
            '{"format": 1, "groups": {"embed": 8, "layers.0": 4, "layers.1": 4, "layers.2": 4, '
            '"layers.3": 4, "lm_head": 4}}',
            "group 'embed' at 8 bits (allowed: 4, 32)",
        ),
        ('{"groups": []}', "PATH: not a plan file"),
    ],
)
def test_a_malformed_plan_file_is_one_line(tmp_path, content, says):
    plan = tmp_path / "plan.json"
    plan.write_text(content)
    result = run_suites("--plan", str(plan), "-k", "smoke", "--reports-dir", str(tmp_path / "r"))
    assert_one_line_error(result, says.replace("PATH", str(plan)))


def test_search_and_plan_together_or_without_calibration_text_are_one_line(tmp_path, tiny_llama):
    plan = tmp_path / "plan.json"
    plan.write_text("{}")
    assert_one_line_error(
        run_suites("--search", "--plan", str(plan), "-k", "smoke", "--reports-dir", str(tmp_path)),
        "--search finds a plan and --plan gives one: use one of them",
    )
    assert_one_line_error(
        run_suites("--search", "--model", str(tiny_llama), "-k", "smoke", "--reports-dir", str(tmp_path)),
        "--search tunes on calibration text, never on the evaluation set, and tiny-llama has no "
        "calibration set of its own: give --calibration PATH",
    )
