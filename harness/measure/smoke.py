"""What the smoke suite asks of every variant: it was built as claimed, it loads, it answers."""

from __future__ import annotations

from collections.abc import Sequence

from harness.evaluation.records import Example
from harness.variants.builder import BLOCK_SIZE
from harness.variants.mixed import EMBED as MIXED_EMBED
from harness.variants.mixed import PRECISION as MIXED
from harness.variants.recipes import DEFAULT_RECIPE, RECIPES

# The quantization each precision must show in its graph (harness.variants.graph.quantization_summary).
EXPECTED_GRAPH = {
    "fp32": {"matmul_nbits": 0, "weight_dtype": "float32"},
    "fp16": {"matmul_nbits": 0, "weight_dtype": "float16"},
    "int8": {"bits": [8], "block_sizes": [BLOCK_SIZE]},
    "int4": {"bits": [4], "block_sizes": [BLOCK_SIZE]},
}


def graph_mismatches(
    precision: str,
    quantization: dict,
    provider: str = "cpu",
    block_size: int | None = None,
    recipe: str = DEFAULT_RECIPE,
    plan: dict | None = None,
) -> list[str]:
    """Differences between what a precision (and its quantization recipe, or a mixed variant's
    plan) promises and what its graph holds (empty = fine); ``block_size`` is the one the build
    asked for, when it asked (an Olive recipe).

    On CPU a quantized MatMul must also compute in int8 (accuracy level 4): with float compute
    the CPU kernel is several times slower, and the variant would be measured at its worst.
    """
    if precision == MIXED:
        return plan_mismatches(plan or {}, quantization, provider)
    expected = EXPECTED_GRAPH[precision]
    problems = []
    if "matmul_nbits" in expected and quantization["matmul_nbits"] != expected["matmul_nbits"]:
        problems.append(f"{quantization['matmul_nbits']} MatMulNBits nodes, expected none")
    if "weight_dtype" in expected and expected["weight_dtype"] not in quantization["weight_dtypes"]:
        problems.append(f"weights are {quantization['weight_dtypes']}, expected {expected['weight_dtype']}")
    if "bits" in expected:
        if quantization["matmul_nbits"] == 0:
            problems.append("no MatMulNBits nodes: nothing was quantized")
        bits = RECIPES[recipe].expected_bits.get(precision, expected["bits"])
        if quantization["bits"] != bits:
            problems.append(f"bits {quantization['bits']}, expected {bits}")
        blocks = [block_size] if block_size else expected["block_sizes"]
        if quantization["block_sizes"] != blocks:
            problems.append(f"block sizes {quantization['block_sizes']}, expected {blocks}")
        levels = quantization.get("accuracy_levels")
        if provider == "cpu" and quantization["matmul_nbits"] and levels != [4]:
            problems.append(f"accuracy levels {levels}, expected [4] (int8 compute) on cpu")
    if quantization.get("float_matmul") and "bits" in expected:
        problems.append(f"{quantization['float_matmul']} MatMul nodes left in float")
    if RECIPES[recipe].quantized_embedding and not quantization.get("gather_quantized"):
        problems.append("the token embedding is not block-quantized (no GatherBlockQuantized node)")
    return problems


def plan_mismatches(plan: dict, quantization: dict, provider: str = "cpu") -> list[str]:
    """What a mixed variant's graph must show for its plan: exactly the plan's integer widths, the
    embedding block-quantized when the plan says 4 bits, no float MatMul unless a group stays in
    float, block 32 and int8 compute on CPU."""
    problems = []
    widths = sorted({bits for bits in plan.values() if bits != 32})
    if quantization["bits"] != widths:
        problems.append(f"bits {quantization['bits']}, the plan has {widths}")
    embedded = bool(quantization.get("gather_quantized"))
    if embedded != (plan.get(MIXED_EMBED) == 4):
        problems.append(
            f"the embedding is {'' if embedded else 'not '}block-quantized, the plan has it at "
            f"{plan.get(MIXED_EMBED)} bits"
        )
    floats = [g for g, bits in plan.items() if bits == 32 and g != MIXED_EMBED]
    if quantization.get("float_matmul") and not floats:
        problems.append(f"{quantization['float_matmul']} MatMul nodes left in float, the plan has none")
    if quantization["matmul_nbits"] and quantization["block_sizes"] != [BLOCK_SIZE]:
        problems.append(f"block sizes {quantization['block_sizes']}, expected [{BLOCK_SIZE}]")
    if provider == "cpu" and quantization["matmul_nbits"] and quantization.get("accuracy_levels") != [4]:
        problems.append(f"accuracy levels {quantization.get('accuracy_levels')}, expected [4] (int8 compute) on cpu")
    return problems


def domain_texts(examples: Sequence[Example]) -> list[str]:
    """Real text of the model's domain (the user turns of its examples), for length sweeps."""
    return [m["content"] for e in examples for m in e.messages if m.get("role") == "user"]
