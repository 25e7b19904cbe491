"""What a variant is: a precision, an execution provider, a builder, a quantization recipe and the
onnxruntime-genai release it is measured under, with the id that names it everywhere (test ids,
results.json, reports)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.variants.recipes import DEFAULT_RECIPE

BUILDER = "genai"  # the default builder: its name is left out of ids


@dataclass(frozen=True)
class Variant:
    precision: str
    provider: str
    builder: str = BUILDER
    runtime: str | None = None  # an onnxruntime-genai version (--runtimes); None: the main environment's
    recipe: str = DEFAULT_RECIPE  # how the genai builder quantizes it (harness.variants.recipes)

    @property
    def id(self) -> str:
        """Test id and report key, e.g. ``int4-cpu`` (``int4-kquant-cpu`` for another recipe,
        ``int4-olive-cpu`` for other builders, ``int4-cpu@0.14.1`` measured under another runtime)."""
        middle = "".join(
            f"-{part}" for part, default in ((self.recipe, DEFAULT_RECIPE), (self.builder, BUILDER)) if part != default
        )
        after = "" if self.runtime is None else f"@{self.runtime}"
        return f"{self.precision}{middle}-{self.provider}{after}"

    def __str__(self) -> str:
        return self.id

    @property
    def build(self) -> Variant:
        """What is built: the runtime a build is measured under is not part of it."""
        return Variant(self.precision, self.provider, self.builder, recipe=self.recipe)

    @property
    def twin(self) -> Variant | None:
        """The same build under the main environment's runtime (None: this is it)."""
        return None if self.runtime is None else self.build
