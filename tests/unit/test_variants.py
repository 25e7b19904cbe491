from pathlib import Path

from harness.models.sources import ModelSource
from harness.variants.matrix import Variant, plan


def source(heads: int, kv_heads: int) -> ModelSource:
    return ModelSource(kind="hf_folder", name="m", path=Path("."), content_hash="0", architecture="llama",
                       num_attention_heads=heads, num_key_value_heads=kv_heads, context_length=128)


def test_ids_read_like_precision_provider():
    assert Variant("int4", "cpu").id == "int4-cpu"
    assert Variant("int4", "cpu", builder="olive").id == "int4-olive-cpu"


def test_fp16_on_cpu_is_supported_and_only_a_gqa_build_names_a_correction():
    from harness.variants.build import recipe_for

    planned = {p.id: p for p in plan(("fp32", "fp16"), ("cpu",), source(6, 2), available=("cpu",))}
    assert planned["fp32-cpu"].supported and planned["fp16-cpu"].supported
    fp16 = Variant("fp16", "cpu")
    assert recipe_for(fp16, uses_gqa=True)["fp16_cpu_fix"] == {"name": "gqa", "version": 1}
    assert recipe_for(fp16, uses_gqa=True, fp16_cpu_fix="relabel")["fp16_cpu_fix"]["name"] == "relabel"
    assert recipe_for(Variant("fp16", "cpu", "olive"), uses_gqa=True)["fp16_cpu_fix"]["name"] == "relabel"
    assert "fp16_cpu_fix" not in recipe_for(fp16, uses_gqa=False)
    assert "fp16_cpu_fix" not in recipe_for(Variant("fp16", "cuda"), uses_gqa=True)
    assert "fp16_cpu_fix" not in recipe_for(Variant("fp32", "cpu"), uses_gqa=True)


def test_missing_provider_is_kept_with_a_reason_not_dropped():
    planned = plan(("int4",), ("cpu", "cuda"), source(4, 4), available=("cpu",))
    assert [p.id for p in planned] == ["int4-cpu", "int4-cuda"]
    assert not planned[1].supported
    assert "onnxruntime-genai-cuda" in planned[1].reason


def test_auto_providers_means_every_available_one():
    planned = plan(("fp32",), None, source(4, 4), available=("cpu", "cuda"))
    assert [p.id for p in planned] == ["fp32-cpu", "fp32-cuda"]
    assert all(p.supported for p in planned)
