"""The two INT8 routes side by side, in one run on one machine: ``python -m harness int8-routes``.

FP32, the builder's ``-p int8`` and onnxruntime's ``MatMulNBitsQuantizer`` on the FP32 build
(:mod:`harness.variants.int8`: 8 bits, block 32, symmetric, accuracy level 4 as the builder sets
on CPU), measured with :mod:`harness.run.side_by_side`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from harness.run import side_by_side
from harness.run.run import Run
from harness.variants.builder import BLOCK_SIZE
from harness.variants.int8 import quantize_folder
from harness.variants.variant import Variant


def compare_routes(model: str, cache_dir: Path, *, rounds: int = 5, progress: Callable[[str], None] = print) -> dict:
    run = Run.for_model(model, cache_dir, progress)
    fp32 = run.build_variant(Variant("fp32", "cpu"))
    builder = run.build_variant(Variant("int8", "cpu"))
    quantized = Path(cache_dir) / "int8-routes" / f"{fp32.path.name}-quantizer"
    if not (quantized / "model.onnx").is_file():
        progress(f"quantizing {fp32.path.name} with MatMulNBitsQuantizer (8 bits, block {BLOCK_SIZE}) ...")
        shutil.rmtree(quantized, ignore_errors=True)
        quantize_folder(fp32.path, quantized, bits=8, block_size=BLOCK_SIZE, symmetric=True, accuracy_level=4)
    return side_by_side.measure(
        run,
        {"fp32": fp32.path, "int8 (builder -p int8)": builder.path, "int8 (MatMulNBitsQuantizer)": quantized},
        rounds=rounds,
    )


def render_routes(result: dict) -> str:
    def graph(row: dict) -> str:
        g = row["graph"]
        if not g["matmul_nbits"]:
            return f"{g['float_matmul']} float MatMul"
        return (
            f"{g['matmul_nbits']} MatMulNBits (bits {g['bits']}, block {g['block_sizes']}, accuracy level "
            f"{g['accuracy_levels']}), {g['float_matmul']} float MatMul"
        )

    return side_by_side.render(result, "INT8 routes", {"graph": graph})
