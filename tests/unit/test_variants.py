from pathlib import Path

from harness.models.sources import ModelSource
from harness.variants.matrix import Variant, plan


def source(heads: int, kv_heads: int) -> ModelSource:
    return ModelSource(
        kind="hf_folder",
        name="m",
        path=Path("."),
        content_hash="0",
        architecture="llama",
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        context_length=128,
    )


def test_ids_read_like_precision_provider():
    assert Variant("int4", "cpu").id == "int4-cpu"
    assert Variant("int4", "cpu", builder="olive").id == "int4-olive-cpu"


def test_fp16_on_cpu_is_supported_and_only_a_gqa_build_names_a_correction():
    from types import SimpleNamespace

    from harness.variants.build import recipe_for
    from harness.variants.builder import BuildInputs

    planned = {p.id: p for p in plan(("fp32", "fp16"), ("cpu",), source(6, 2), available=("cpu",))}
    assert planned["fp32-cpu"].supported and planned["fp16-cpu"].supported
    fp16 = Variant("fp16", "cpu")
    assert recipe_for(fp16, SimpleNamespace(uses_gqa=True))["fp16_cpu_fix"] == {"name": "gqa", "version": 1}
    assert (
        recipe_for(fp16, SimpleNamespace(uses_gqa=True), BuildInputs(fp16_cpu_fix="relabel"))["fp16_cpu_fix"]["name"]
        == "relabel"
    )
    assert (
        recipe_for(Variant("fp16", "cpu", "olive"), SimpleNamespace(uses_gqa=True))["fp16_cpu_fix"]["name"] == "relabel"
    )
    assert "fp16_cpu_fix" not in recipe_for(fp16, SimpleNamespace(uses_gqa=False))
    assert "fp16_cpu_fix" not in recipe_for(Variant("fp16", "cuda"), SimpleNamespace(uses_gqa=True))
    assert "fp16_cpu_fix" not in recipe_for(Variant("fp32", "cpu"), SimpleNamespace(uses_gqa=True))


def test_missing_provider_is_kept_with_a_reason_not_dropped():
    planned = plan(("int4",), ("cpu", "cuda"), source(4, 4), available=("cpu",))
    assert [p.id for p in planned] == ["int4-cpu", "int4-cuda"]
    assert not planned[1].supported
    assert "onnxruntime-genai-cuda" in planned[1].reason


def test_auto_providers_means_every_available_one():
    planned = plan(("fp32",), None, source(4, 4), available=("cpu", "cuda"))
    assert [p.id for p in planned] == ["fp32-cpu", "fp32-cuda"]
    assert all(p.supported for p in planned)


def test_a_recipe_is_a_variant_of_the_precisions_it_quantizes_and_of_the_genai_builder_only():
    planned = plan(
        ("fp32", "int8", "int4"),
        ("cpu",),
        source(4, 4),
        available=("cpu",),
        builders=("genai", "olive"),
        recipes=("default", "kquant", "embed"),
    )
    ids = [p.id for p in planned]
    assert ids == [
        "fp32-cpu",
        "int8-cpu",
        "int4-cpu",
        "int4-kquant-cpu",
        "int4-embed-cpu",
        "fp32-olive-cpu",
        "int8-olive-cpu",
        "int4-olive-cpu",
    ]
    assert Variant("int4", "cpu", recipe="kquant_head8", runtime="0.14.1").id == "int4-kquant_head8-cpu@0.14.1"
    assert Variant("int4", "cpu", recipe="mixed", runtime="0.14.1").build.id == "int4-mixed-cpu"


def test_a_recipe_changes_the_build_key_and_the_default_keeps_the_old_one():
    from types import SimpleNamespace

    from harness.variants.build import recipe_for

    default = recipe_for(Variant("int4", "cpu"), SimpleNamespace(uses_gqa=False))
    assert default == {"builder": "genai", "precision": "int4", "provider": "cpu", "extra_options": {"block_size": 32}}
    mixed = recipe_for(Variant("int4", "cpu", recipe="mixed"), SimpleNamespace(uses_gqa=False))
    assert mixed["quantization_recipe"] == "mixed"
    assert mixed["extra_options"] == {"block_size": 32, "matmul_mixed_precision": "last_matmul:int8,mixed_layers:int8"}


def test_the_graph_check_holds_a_recipe_to_its_promise():
    from harness.measure.smoke import graph_mismatches

    int4 = {
        "matmul_nbits": 10,
        "float_matmul": 0,
        "bits": [4],
        "block_sizes": [32],
        "accuracy_levels": [4],
        "weight_dtypes": {"uint8": 10},
        "gather_quantized": 0,
    }
    assert graph_mismatches("int4", int4) == []
    assert graph_mismatches("int4", int4, recipe="mixed") == ["bits [4], expected [4, 8]"]
    assert graph_mismatches("int4", {**int4, "bits": [4, 8]}, recipe="mixed") == []
    assert graph_mismatches("int4", int4, recipe="embed") == [
        "the token embedding is not block-quantized (no GatherBlockQuantized node)"
    ]
    assert graph_mismatches("int4", {**int4, "gather_quantized": 1}, recipe="embed") == []


def test_an_unknown_recipe_is_one_line_naming_the_choices():
    import pytest

    from harness.settings.parsers import parse_recipes
    from harness.variants.recipes import RECIPES

    assert parse_recipes("default,mixed,mixed", tuple(RECIPES)) == ("default", "mixed")
    with pytest.raises(
        ValueError, match=r"^unknown recipe 'q4_k_m' \(choose from default, kquant, kquant_head8, mixed, embed\)$"
    ):
        parse_recipes("default,q4_k_m", tuple(RECIPES))
