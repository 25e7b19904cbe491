"""FP16 on the CPU provider: the one correction the harness makes to a builder's output.

Why it is needed. For a model with grouped-query attention (fewer key/value heads than attention
heads) the onnxruntime-genai model builder (0.14.1 to 0.18.0) picks GroupQueryAttention only for
``(cpu, float32)``; an fp16 CPU build gets MultiHeadAttention behind a ``repeat_kv`` subgraph
(``make_repeat_kv`` in the builder's ``builders/base.py``). That subgraph labels the tensors that
follow the concatenation with the past key/values with the symbolic length ``sequence_length``,
although they hold ``total_sequence_length`` positions. CPU MultiHeadAttention has only a float32
kernel, so onnxruntime inserts fp16->fp32 Casts whose outputs inherit the wrong labels, and its
allocation planner, which treats equal labels as equal sizes, reuses a buffer sized for the new
tokens. The prefill works (the past is empty); the first decode step fails with "Shape mismatch
attempting to re-use buffer" (onnxruntime-genai issue #2009, closed upstream as "FP16 on CPU is
not officially supported").

The corrections (``--fp16-cpu-fix``); each makes fp16 decode on CPU work, with FP32's greedy tokens
on tiny models and a KL divergence from FP32 near 1e-5 on SmolLM2-135M:

- ``gqa`` (default): build with GroupQueryAttention for ``(cpu, float16)`` too (the builder's
  attention choice widened by one pair, in the builder's own process); onnxruntime's CPU
  GroupQueryAttention has an fp16 kernel. If a builder no longer takes the widening, the build
  fails naming ``--fp16-cpu-fix relabel``.
- ``relabel``: after the stock build, the wrong labels in ``model.onnx``'s
  ``value_info`` are set to ``total_sequence_length``; nodes and weights are the builder's own.
  It needs nothing of the builder's internals, so it is what any other builder's fp16 CPU output
  gets (olive-ai 0.13.0's ModelBuilder pass refuses fp16 for cpu, so ``fp16-olive-cpu`` is
  unsupported today; see :mod:`harness.variants.matrix`).

The measured comparison is in docs/guides/builders.md (``python -m harness fp16-fixes`` reproduces it). The build
record states which correction was made, what it changed and why (``correction``), and its
version is part of the build's cache key.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.settings.config import FP16_CPU_FIXES as FIXES  # noqa: F401  (the settings' list of names)

DEFAULT_FIX = "gqa"  # measured faster than relabel at the same closeness (docs/guides/builders.md, FP16 on the CPU
#                     provider)
VERSION = 1  # bump when a correction changes: cached builds made with the old one are rebuilt

_WRONG, _RIGHT = "sequence_length", "total_sequence_length"
_ATTENTION = {"MultiHeadAttention", "Attention", "GroupQueryAttention"}

WHY = (
    "onnxruntime-genai's builder labels the key/value tensors after the past concatenation of "
    "its fp16 CPU repeat_kv subgraph with sequence_length instead of total_sequence_length, and "
    "onnxruntime's CPU allocation planner reuses a too-small buffer at the first decode step "
    "('Shape mismatch attempting to re-use buffer')"
)


def needed(precision: str, provider: str, uses_gqa: bool) -> bool:
    """Whether a build is corrected: fp16 for the CPU provider of a model with GQA."""
    return precision == "fp16" and provider == "cpu" and uses_gqa


def applied(fix: str, builder: str) -> str:
    """The correction a builder's fp16 CPU build really gets: ``gqa`` patches the genai builder's
    own process, so any other builder's output is relabelled."""
    return fix if builder == "genai" else "relabel"


def recipe_entry(fix: str, builder: str) -> dict:
    """What goes into the build recipe (and so into its cache key)."""
    return {"name": applied(fix, builder), "version": VERSION}


def statement(name: str, changed: int) -> str:
    """One sentence a user can check against the graph: what was changed and why."""
    if name == "gqa":
        what = (
            f"built with GroupQueryAttention (the builder's choice for cpu float32) instead of "
            f"MultiHeadAttention with repeat_kv; {changed} GroupQueryAttention nodes"
        )
    elif changed:
        what = (
            f"relabelled {changed} symbolic dimensions in model.onnx value_info from "
            f"'{_WRONG}' to '{_RIGHT}' (nodes and weights unchanged)"
        )
    else:
        what = "nothing: no value_info label after a past-key/value concatenation was wrong"
    return f"harness correction '{name}' v{VERSION}: {what}; because {WHY}"


def relabel(model_path: Path) -> int:
    """Correct the labels in place; return how many dimensions were changed.

    Every tensor reachable from a Concat that takes a ``past_key_values.*`` graph input, up to
    (not through) the attention node, holds the whole sequence: its ``sequence_length`` labels
    become ``total_sequence_length``. External data is neither loaded nor rewritten.
    """
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    graph = model.graph
    past = {i.name for i in graph.input if i.name.startswith("past_key_values")}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    stack = [out for node in graph.node if node.op_type == "Concat" and past & set(node.input) for out in node.output]
    whole: set[str] = set()
    while stack:
        name = stack.pop()
        if name in whole:
            continue
        whole.add(name)
        for node in consumers.get(name, []):
            if node.op_type not in _ATTENTION:
                stack.extend(node.output)
    changed = 0
    for info in graph.value_info:
        if info.name in whole:
            for dim in info.type.tensor_type.shape.dim:
                if dim.dim_param == _WRONG:
                    dim.dim_param = _RIGHT
                    changed += 1
    if changed:
        onnx.save(model, str(model_path))
    return changed


def count_ops(model_path: Path, op_type: str) -> int:
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    return sum(1 for node in graph.node if node.op_type == op_type)


def correct(model_path: Path, name: str) -> dict:
    """Apply ``relabel`` (or record what the ``gqa`` build did) and return the build record's
    ``correction`` entry."""
    changed = relabel(model_path) if name == "relabel" else count_ops(model_path, "GroupQueryAttention")
    return {"name": name, "version": VERSION, "changed": changed, "statement": statement(name, changed)}


def gqa_builder_command(builder_args: list[str]) -> list[str]:
    """The genai builder, run through :func:`_build_with_gqa` in its own process."""
    return [sys.executable, "-m", "harness.variants.fp16_cpu", "gqa-build", *builder_args]


def _build_with_gqa(builder_args: list[str]) -> None:
    import importlib
    import runpy

    import onnx_ir as ir
    import onnxruntime_genai.models  # noqa: F401  (puts the builder's own folder on sys.path)

    # the module the builder script itself imports, found only once the import above has run
    base = importlib.import_module("builders.base")

    stock = base.Model.is_gqa_supported

    def widened(self) -> bool:
        return stock(self) or (self.ep, self.io_dtype) == ("cpu", ir.DataType.FLOAT16)

    base.Model.is_gqa_supported = widened
    sys.argv = ["builder", *builder_args]
    runpy.run_module("onnxruntime_genai.models.builder", run_name="__main__")


if __name__ == "__main__":
    if sys.argv[1:2] != ["gqa-build"]:
        print("usage: python -m harness.variants.fp16_cpu gqa-build BUILDER_ARGS...", file=sys.stderr)
        sys.exit(2)
    _build_with_gqa(sys.argv[2:])
