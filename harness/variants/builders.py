"""The builders, one instance each (:class:`harness.variants.builder.Builder`): the registry the
variant matrix, the build step, the plots and the docs read. A new builder is a class beside its
code and one line here."""

from __future__ import annotations

from harness.variants.builder import BLOCK_SIZE, Builder  # noqa: F401  (BLOCK_SIZE: every builder's block)
from harness.variants.genai import GenaiBuilder
from harness.variants.olive import PRECISIONS as OLIVE_PRECISIONS
from harness.variants.olive import OliveBuilder
from harness.variants.variant import BUILDER

BUILDERS: dict[str, Builder] = {
    b.name: b
    for b in (
        GenaiBuilder(),
        OliveBuilder(
            "olive",
            OLIVE_PRECISIONS,
            "Olive's auto-opt, or --olive-recipe with a ModelBuilder pass (onnxruntime-genai 0.14.1's builder)",
            "//",
        ),
        OliveBuilder(
            "gptq",
            ("int4",),
            "Olive's GPTQ pass, calibrated on --calibration text, then ModelBuilder",
            "xx",
            calibrated=True,
        ),
        OliveBuilder(
            "awq",
            ("int4",),
            "Olive's AWQ pass, calibrated on --calibration text, then ModelBuilder",
            "..",
            calibrated=True,
        ),
    )
}
DEFAULT_BUILDER = BUILDER
CALIBRATED = tuple(name for name, b in BUILDERS.items() if b.calibrated)
