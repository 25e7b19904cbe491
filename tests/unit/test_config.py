from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.run.run import SETTING_CHOICES
from harness.settings.config import PROFILES
from harness.settings.resolve import read_tool_table, resolve


def resolve_(cli, *args, **kwargs):
    """``cli`` by setting name, as the options those names give."""
    options = {"--" + name.replace("_", "-"): value for name, value in cli.items()}
    return resolve(options, *args, choices=SETTING_CHOICES, **kwargs)


def test_defaults():
    config = resolve_({}, {}, {}, rootdir=Path("/r"))
    assert config.precisions == ("fp32", "fp16", "int8", "int4")
    assert config.providers is None
    assert config.profile is PROFILES["standard"]
    assert config.reports_dir == Path("/r/reports")
    assert config.sources["profile"] == "default"


def test_precedence_cli_over_env_over_table():
    table = {"profile": "full", "precisions": ["int4"]}
    env = {"HARNESS_PROFILE": "standard"}
    config = resolve_({"profile": "quick"}, env, table)
    assert config.profile.name == "quick"
    assert config.sources["profile"] == "option --profile"
    config = resolve_({}, env, table)
    assert config.profile.name == "standard"
    assert config.sources["profile"] == "environment variable HARNESS_PROFILE"
    config = resolve_({}, {}, table)
    assert config.profile.name == "full" and config.precisions == ("int4",)
    assert config.sources["precisions"] == "[tool.harness] key 'precisions'"


def test_lists_are_normalised():
    config = resolve_({"precisions": " INT4, fp32,int4", "providers": "cpu"}, {}, {})
    assert config.precisions == ("int4", "fp32")
    assert config.providers == ("cpu",)


@pytest.mark.parametrize(
    "cli, env, table, expected",
    [
        ({"precisions": "fp64"}, {}, {}, "invalid value 'fp64' for option --precisions: unknown precision 'fp64'"),
        ({}, {"HARNESS_PROVIDERS": "tpu"}, {}, "for environment variable HARNESS_PROVIDERS: unknown provider 'tpu'"),
        ({}, {}, {"profile": "fast"}, "for [tool.harness] key 'profile': unknown profile"),
        ({}, {}, {"max_length": -3}, "invalid value -3 for [tool.harness] key 'max_length'"),
        ({}, {}, {"colour": "red"}, "unknown setting 'colour' in [tool.harness]"),
        ({"worker_timeout": "soon"}, {}, {}, "option --worker-timeout: expected a number of seconds"),
        ({"answer_batch": "0"}, {}, {}, "option --answer-batch: expected a positive integer"),
        ({}, {"HARNESS_ANSWER_BATCH": "64"}, {}, "HARNESS_ANSWER_BATCH: expected at most 32"),
    ],
)
def test_bad_values_name_their_source(cli, env, table, expected):
    with pytest.raises(HarnessError) as info:
        resolve_(cli, env, table)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_relative_paths_follow_their_source(tmp_path):
    config = resolve_(
        {"cache_dir": "c"}, {}, {"reports_dir": "r"}, rootdir=tmp_path / "root", invocation_dir=tmp_path / "here"
    )
    assert config.cache_dir == (tmp_path / "here" / "c").resolve()
    assert config.reports_dir == (tmp_path / "root" / "r").resolve()


def test_a_bare_data_set_name_means_a_folder_in_datasets_unless_it_exists_here(tmp_path):
    from harness.common.shipped import datasets_root

    DATASETS_DIR = datasets_root()

    config = resolve_(
        {"dataset": "general_knowledge", "calibration": "support_tickets"}, {}, {}, invocation_dir=tmp_path
    )
    assert config.dataset == DATASETS_DIR / "general_knowledge"
    assert config.calibration == DATASETS_DIR / "support_tickets"
    (tmp_path / "general_knowledge").mkdir()  # the user's own folder of that name wins
    assert (
        resolve_({"dataset": "general_knowledge"}, {}, {}, invocation_dir=tmp_path).dataset
        == tmp_path / "general_knowledge"
    )
    assert resolve_({"dataset": "mine.jsonl"}, {}, {}, invocation_dir=tmp_path).dataset == tmp_path / "mine.jsonl"


def test_tool_table_is_read_and_bad_toml_is_named(tmp_path):
    good = tmp_path / "pyproject.toml"
    good.write_text('[tool.harness]\nprofile = "quick"\n')
    table, origin = read_tool_table(good)
    assert table == {"profile": "quick"} and str(good) in origin
    good.write_text("[tool.harness\n")
    with pytest.raises(HarnessError, match="invalid TOML"):
        read_tool_table(good)


def test_every_setting_follows_one_naming_rule_and_former_names_still_work_with_a_notice(tmp_path):
    from harness.settings.former import RENAMED
    from harness.settings.registry import SETTINGS

    for setting in SETTINGS:  # the option, variable and key are the name's
        assert setting.option == "--" + setting.name.replace("_", "-")
        assert setting.env == f"HARNESS_{setting.name.upper()}"
    recipe = tmp_path / "recipe.json"
    config = resolve(
        {"--builder": "genai,olive", "--gates": str(tmp_path / "g.toml")},
        {"HARNESS_LEAK_THRESHOLD_KIB": "32"},
        {"recipe": str(recipe)},
        choices=SETTING_CHOICES,
        rootdir=tmp_path,
        invocation_dir=tmp_path,
    )
    assert config.builders == ("genai", "olive") and config.gates_file == tmp_path / "g.toml"
    assert config.gate_thresholds == {"no_leak": 32.0} and config.olive_recipe == recipe
    assert config.sources["builders"] == "option --builder"
    assert set(config.notices) == {
        "--builder is deprecated and will be removed in the next release: use --builders",
        "--gates is deprecated and will be removed in the next release: use --gates-file",
        "HARNESS_LEAK_THRESHOLD_KIB is deprecated and will be removed in the next release: it sets the threshold "
        "of the gate 'no_leak', which a gates file or [tool.harness.gates] sets from now on (docs/guides/gates.md)",
        "[tool.harness] key 'recipe' is deprecated and will be removed in the next release: use the key 'olive_recipe'",
    }
    # a retired threshold setting: the command line first, a bad value named where it came from
    config = resolve(
        {"--length-consistency": "0.7"}, {"HARNESS_LENGTH_CONSISTENCY": "0.2"}, {}, choices=SETTING_CHOICES
    )
    assert config.gate_thresholds == {"steady_decode_across_lengths": 0.7} and len(config.notices) == 2
    with pytest.raises(HarnessError, match=r"invalid value 'lots' for .* key 'leak_threshold_kib': expected"):
        resolve({}, {}, {"leak_threshold_kib": "lots"}, choices=SETTING_CHOICES)
    assert {r.new for r in RENAMED} <= {s.name for s in SETTINGS}
    # the current form wins over a former one given in the same place, and the former one is still said
    config = resolve({"--builders": "genai", "--builder": "olive"}, {}, {}, choices=SETTING_CHOICES)
    assert config.builders == ("genai",) and len(config.notices) == 1
    # a bad value under a former name names that name
    with pytest.raises(HarnessError, match="for option --builder: unknown builder 'optimum'"):
        resolve({"--builder": "optimum"}, {}, {}, choices=SETTING_CHOICES)
    assert resolve_({}, {}, {}).notices == ()


def test_a_suites_sizes_name_every_profile_with_the_same_sizes():
    from harness.settings.config import sizes_by_profile

    sizes = sizes_by_profile(quick={"n": 1}, standard={"n": 2}, full={"n": 3})
    assert [sizes[p].n for p in ("quick", "standard", "full")] == [1, 2, 3]
    with pytest.raises(ValueError, match="expected \\['full', 'quick', 'standard'\\]"):
        sizes_by_profile(quick={"n": 1}, standard={"n": 2})
    with pytest.raises(ValueError, match="every profile needs the same sizes"):
        sizes_by_profile(quick={"n": 1}, standard={"n": 2}, full={"m": 3})
