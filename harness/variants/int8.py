"""The other INT8 route: an FP32 build quantized by onnxruntime's own ``MatMulNBitsQuantizer``.

The int8 variants are built by onnxruntime-genai 0.18.0's ``-p int8``. Before the main
environment moved to 0.18.0, its 0.14.1 builder had no ``-p int8`` and the harness made INT8 this
way: every MatMul becomes MatMulNBits with 8-bit weights in blocks along K. ``compare_routes``
(``python -m harness int8-routes``) measures the two routes side by side on one machine; the
builder guide (docs/guides/builders.md) gives the figures and why the builder's route is the one used.

    python -m harness.variants.int8 SRC_DIR DST_DIR [--bits 8] [--block-size 32] [--asymmetric] [--accuracy-level 4]

DST_DIR receives a copy of SRC_DIR's other files (genai_config.json, tokenizer) and the quantized
``model.onnx`` with its weights in ``model.onnx.data``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Callable


def quantize_folder(src: Path, dst: Path, *, bits: int, block_size: int, symmetric: bool,
                    accuracy_level: int = 0) -> None:
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    dst.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        if item.name.startswith("model.onnx") or item.name == "build.json":
            continue
        if item.is_file():
            shutil.copy2(item, dst / item.name)
    model = onnx.load(str(src / "model.onnx"), load_external_data=True)
    config = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=symmetric, bits=bits,
                                          accuracy_level=accuracy_level)
    quantizer = MatMulNBitsQuantizer(model, algo_config=config)
    quantizer.process()
    quantizer.model.save_model_to_file(str(dst / "model.onnx"), use_external_data_format=True)
    # the quantizer names the external data file after the model; genai reads it from there
    data_files = sorted(p.name for p in dst.glob("model.onnx*"))
    print(f"quantized {src} -> {dst} ({bits}-bit, block {block_size}): {', '.join(data_files)}")


def compare_routes(model: str, cache_dir: Path, *, rounds: int = 5, progress: Callable[[str], None] = print) -> dict:
    """FP32, the builder's ``-p int8`` and the quantizer route (8 bits, block 32, symmetric,
    accuracy level 4 as the builder sets on CPU) of one model, measured side by side."""
    from harness.models.sources import resolve_model
    from harness.variants import side_by_side
    from harness.variants.build import build_variant
    from harness.variants.builders import BLOCK_SIZE
    from harness.variants.matrix import Variant

    source = resolve_model(model, "option --model", cache_dir, progress)
    fp32 = build_variant(Variant("fp32", "cpu"), source, cache_dir, progress)
    builder = build_variant(Variant("int8", "cpu"), source, cache_dir, progress)
    quantized = Path(cache_dir) / "int8-routes" / f"{fp32.path.name}-quantizer"
    if not (quantized / "model.onnx").is_file():
        progress(f"quantizing {fp32.path.name} with MatMulNBitsQuantizer (8 bits, block {BLOCK_SIZE}) ...")
        shutil.rmtree(quantized, ignore_errors=True)
        quantize_folder(fp32.path, quantized, bits=8, block_size=BLOCK_SIZE, symmetric=True, accuracy_level=4)
    return side_by_side.measure(source, {"fp32": fp32.path, "int8 (builder -p int8)": builder.path,
                                         "int8 (MatMulNBitsQuantizer)": quantized}, rounds=rounds, progress=progress)


def render_routes(result: dict) -> str:
    from harness.variants import side_by_side

    def graph(row: dict) -> str:
        g = row["graph"]
        if not g["matmul_nbits"]:
            return f"{g['float_matmul']} float MatMul"
        return (f"{g['matmul_nbits']} MatMulNBits (bits {g['bits']}, block {g['block_sizes']}, accuracy level "
                f"{g['accuracy_levels']}), {g['float_matmul']} float MatMul")

    return side_by_side.render(result, "INT8 routes", {"graph": graph})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.variants.int8", description=__doc__.split("\n")[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--bits", type=int, default=8, choices=(4, 8))
    parser.add_argument("--block-size", type=int, default=32)
    parser.add_argument("--asymmetric", action="store_true")
    parser.add_argument("--accuracy-level", type=int, default=0, choices=(0, 1, 2, 3, 4),
                        help="MatMulNBits compute type: 0 = as the input, 4 = int8 (fast on CPU)")
    args = parser.parse_args(argv)
    quantize_folder(args.src, args.dst, bits=args.bits, block_size=args.block_size,
                    symmetric=not args.asymmetric, accuracy_level=args.accuracy_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
