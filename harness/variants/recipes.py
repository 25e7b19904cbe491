"""Quantization recipes: the ways the genai builder can quantize a variant (``--recipes``), one record
each, read by the settings, the variant matrix, the build step, the smoke suite and the docs.

A recipe is a set of the builder's own options (onnxruntime-genai 0.18.0's names) on top of the
harness's block size. ``default`` is what every INT8 and INT4 variant was before recipes existed
(round to nearest, block 32, every MatMul at the precision's width); the others are kept apart in
the variant id (``int4-kquant-cpu``). What a recipe promises is checked in the built graph
(``expected_bits``, ``quantized_embedding``), never taken from the flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_RECIPE = "default"


@dataclass(frozen=True)
class Recipe:
    name: str  # the variant id's part: int4-<name>-cpu
    precisions: tuple[str, ...]  # the precisions it makes; for others there is no such variant
    options: dict = field(default_factory=dict)  # the builder's --extra_options beside block_size
    description: str = ""
    expected_bits: dict = field(default_factory=dict)  # precision -> the MatMulNBits widths its graph holds
    quantized_embedding: bool = False  # its graph must hold the token embedding block-quantized


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            DEFAULT_RECIPE,
            ("fp32", "fp16", "int8", "int4"),
            {},
            "the builder's defaults: round to nearest (RTN), every MatMul at the precision's width",
        ),
        Recipe(
            "kquant",
            ("int4",),
            {"algo_config": "k_quant"},
            "the builder's k-quant algorithm for every MatMul (algo_config=k_quant)",
            {"int4": [4]},
        ),
        Recipe(
            "kquant_head8",
            ("int4",),
            {"algo_config": "k_quant", "matmul_mixed_precision": "last_matmul:int8"},
            "k-quant, with the output head (the last MatMul) at INT8 (matmul_mixed_precision=last_matmul:int8)",
            {"int4": [4, 8]},
        ),
        Recipe(
            "mixed",
            ("int4",),
            {"matmul_mixed_precision": "last_matmul:int8,mixed_layers:int8"},
            "llama.cpp's Q4_K_M-style rule: the output head, the first and last eighth of the layers and every "
            "third layer's qkv/v/down projections at INT8, the rest at INT4 "
            "(matmul_mixed_precision=last_matmul:int8,mixed_layers:int8)",
            {"int4": [4, 8]},
        ),
        # INT4 only: asked the same at -p int8, the 0.18.0 builder leaves the embedding in float (the
        # graph check caught it: an int8-embed build had no GatherBlockQuantized and int8's size)
        Recipe(
            "embed",
            ("int4",),
            {"op_types_to_quantize": "MatMul/Gather"},
            "every MatMul and the token embedding block-quantized at INT4 (a GatherBlockQuantized; "
            "op_types_to_quantize=MatMul/Gather)",
            quantized_embedding=True,
        ),
    )
}
DEFAULT_RECIPES = (DEFAULT_RECIPE,)


def chosen(recipes: tuple[str, ...] | None, search: bool) -> tuple[str, ...]:
    """The recipes a run builds: the ones asked for, or for ``--recipes auto`` the default alone,
    and with ``--search`` every recipe: the fixed points between INT8 and INT4 that the searched
    mix is to be compared with."""
    if recipes is not None:
        return recipes
    return tuple(RECIPES) if search else DEFAULT_RECIPES


def applies(recipe: str, precision: str, builder_takes_recipes: bool) -> bool:
    """Whether (precision, recipe) is a variant: recipes other than the default are the genai
    builder's options, for the precisions they quantize."""
    if recipe == DEFAULT_RECIPE:
        return True
    return builder_takes_recipes and precision in RECIPES[recipe].precisions
