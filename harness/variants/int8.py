"""The other INT8 route: an FP32 build quantized by onnxruntime's own ``MatMulNBitsQuantizer``.

The int8 variants are built by onnxruntime-genai 0.18.0's ``-p int8``. Before the main
environment moved to 0.18.0, its 0.14.1 builder had no ``-p int8`` and the harness made INT8 this
way: every MatMul becomes MatMulNBits with 8-bit weights in blocks along K.
:mod:`harness.run.int8_routes` (``python -m harness int8-routes``) measures the two routes side by
side on one machine; the builder guide (docs/guides/builders.md) gives the figures and why the
builder's route is the one used.

    python -m harness.variants.int8 SRC_DIR DST_DIR [--bits 8] [--block-size 32] [--asymmetric] [--accuracy-level 4]

DST_DIR receives a copy of SRC_DIR's other files (genai_config.json, tokenizer) and the quantized
``model.onnx`` with its weights in ``model.onnx.data``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def quantize_folder(
    src: Path, dst: Path, *, bits: int, block_size: int, symmetric: bool, accuracy_level: int = 0
) -> None:
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    dst.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        if item.name.startswith("model.onnx") or item.name == "build.json":
            continue
        if item.is_file():
            shutil.copy2(item, dst / item.name)
    model = onnx.load(str(src / "model.onnx"), load_external_data=True)
    config = DefaultWeightOnlyQuantConfig(
        block_size=block_size, is_symmetric=symmetric, bits=bits, accuracy_level=accuracy_level
    )
    quantizer = MatMulNBitsQuantizer(model, algo_config=config)
    quantizer.process()
    quantizer.model.save_model_to_file(str(dst / "model.onnx"), use_external_data_format=True)
    # the quantizer names the external data file after the model; genai reads it from there
    data_files = sorted(p.name for p in dst.glob("model.onnx*"))
    print(f"quantized {src} -> {dst} ({bits}-bit, block {block_size}): {', '.join(data_files)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.variants.int8", description=__doc__.split("\n")[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--bits", type=int, default=8, choices=(4, 8))
    parser.add_argument("--block-size", type=int, default=32)
    parser.add_argument("--asymmetric", action="store_true")
    parser.add_argument(
        "--accuracy-level",
        type=int,
        default=0,
        choices=(0, 1, 2, 3, 4),
        help="MatMulNBits compute type: 0 = as the input, 4 = int8 (fast on CPU)",
    )
    args = parser.parse_args(argv)
    quantize_folder(
        args.src,
        args.dst,
        bits=args.bits,
        block_size=args.block_size,
        symmetric=not args.asymmetric,
        accuracy_level=args.accuracy_level,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
