"""The builders: one record per way of making a variant, read by the settings, the variant matrix,
the build step, the plots and the docs (no builder code is imported here)."""

from __future__ import annotations

from dataclasses import dataclass

BLOCK_SIZE = 32  # INT4 and INT8 weights: one scale per 32 weights, the builder's default for int4


@dataclass(frozen=True)
class Builder:
    name: str
    precisions: tuple[str, ...]  # what it can make; other precisions are unsupported variants
    description: str
    olive: bool = False  # runs through Olive (harness.variants.olive) in a subprocess
    calibrated: bool = False  # needs calibration text; its variants exist only for its precisions
    hatch: str | None = None  # how its bars are hatched in the plots (None: plain)


BUILDERS: dict[str, Builder] = {b.name: b for b in (
    Builder("genai", ("fp32", "fp16", "int8", "int4"),
            "onnxruntime-genai's model builder (the main environment's release); int8 is its own -p int8"),
    Builder("olive", ("fp32", "fp16", "int4"),
            "Olive's auto-opt, or --recipe with a ModelBuilder pass (onnxruntime-genai 0.14.1's builder)",
            olive=True, hatch="//"),
    Builder("gptq", ("int4",), "Olive's GPTQ pass, calibrated on --calibration text, then ModelBuilder",
            olive=True, calibrated=True, hatch="xx"),
    Builder("awq", ("int4",), "Olive's AWQ pass, calibrated on --calibration text, then ModelBuilder",
            olive=True, calibrated=True, hatch=".."),
)}
DEFAULT_BUILDER = "genai"
CALIBRATED = tuple(name for name, b in BUILDERS.items() if b.calibrated)
