"""Mixed-precision builds: a bit width per part of the model, from its FP32 build.

A **plan** assigns each **group** of weights a width: 4 or 8 (MatMulNBits, or GatherBlockQuantized
for the embedding, block 32, symmetric, int8 compute on CPU as the builder sets them) or 32 (left in
float). The groups of a decoder-only model built by onnxruntime-genai's builder:

- ``embed``: the token embedding lookup (a Gather); 4 or 32 only, because onnxruntime's quantizer
  leaves a Gather in float at 8 bits. A checkpoint that ties its embedding to its output head
  (SmolLM2) looks the embedding up through a Transpose of the head's matrix; the mix stores the
  table as a weight of its own, so that embedding and head can take different widths;
- ``layers.N``: every MatMul of decoder layer N (attention and MLP projections);
- ``lm_head``: the output head.

:class:`Bank` quantizes every group once at each width (onnxruntime's ``MatMulNBitsQuantizer``,
the quantizer behind the builder's own INT4 and INT8), so that a plan is assembled from those
nodes and weights in seconds instead of quantizing again: the search (:mod:`harness.variants.search`)
assembles dozens. The graph an assembled plan makes is read back by the smoke suite like any build.

A plan file (JSON, ``--plan``) holds the groups and widths, the model it was made for and, when a
search made it, what the search measured; one naming a group the model lacks is refused in one line.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.common.files import write_text_atomic
from harness.errors import HarnessError, read_json
from harness.variants.builder import BLOCK_SIZE

PRECISION = "mixed"  # the precision of a mixed variant: its id is mixed-<provider>
WIDTHS = (4, 8, 32)
EMBED_WIDTHS = (4, 32)
PLAN_FORMAT = 1
_LAYER = re.compile(r"^/model/layers\.(\d+)/")
EMBED, HEAD = "embed", "lm_head"


def load_graph(fp32_dir: Path):
    """The FP32 build's graph with its weights, the tied embedding (if any) stored as a table of its own."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(Path(fp32_dir) / "model.onnx"), load_external_data=True)
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    for node in list(graph.node):
        if node.op_type != "Gather" or node.input[0] in weights:
            continue
        source = producers.get(node.input[0])
        if source is not None and source.op_type == "Transpose" and source.input[0] in weights:
            table = numpy_helper.to_array(weights[source.input[0]]).T
            name = "model.embed_tokens.weight"
            graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(table), name))
            node.input[0] = name
            if not any(source.output[0] in n.input for n in graph.node if n is not node):
                graph.node.remove(source)
    return model


def groups_of(model) -> dict[str, list[str]]:
    """Group -> the names of the nodes whose weights it holds (see the module's docstring)."""
    weights = {i.name for i in model.graph.initializer}
    found: dict[str, list[str]] = {}
    for node in model.graph.node:
        if node.op_type == "Gather" and node.input and node.input[0] in weights:
            found.setdefault(EMBED, []).append(node.name)
        elif node.op_type == "MatMul" and any(i in weights for i in node.input):
            layer = _LAYER.match(node.name)
            group = f"layers.{layer.group(1)}" if layer else HEAD if node.name.startswith("/lm_head/") else None
            if group is None:
                raise HarnessError(f"a weight MatMul {node.name!r} belongs to no group (embed, layers.N, lm_head)")
            found.setdefault(group, []).append(node.name)
    return dict(sorted(found.items(), key=lambda item: _order(item[0])))


def _order(group: str) -> tuple:
    return (0, 0) if group == EMBED else (2, 0) if group == HEAD else (1, int(group.split(".")[1]))


@dataclass
class _Quantized:
    node: object  # the NodeProto that replaces the float node
    weights: list  # the TensorProtos it reads


class Bank:
    """Every group's nodes quantized once at 4 and at 8 bits; :meth:`assemble` builds any plan from them."""

    def __init__(self, fp32_dir: Path) -> None:
        self.fp32_dir = Path(fp32_dir)
        self.base = load_graph(fp32_dir)
        self._shell = copy.deepcopy(self.base)  # the model without nodes and weights: what assemble fills
        self._shell.graph.ClearField("node")
        self._shell.graph.ClearField("initializer")
        self.groups = groups_of(self.base)
        self.quantized = {bits: self._quantize(bits) for bits in (4, 8)}
        self.bytes = {bits: {g: self._group_bytes(g, bits) for g in self.groups} for bits in WIDTHS}

    def _quantize(self, bits: int) -> dict[str, _Quantized]:
        from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

        model = copy.deepcopy(self.base)
        op_types = ("MatMul", "Gather") if bits in EMBED_WIDTHS else ("MatMul",)
        config = DefaultWeightOnlyQuantConfig(
            block_size=BLOCK_SIZE, is_symmetric=True, bits=bits, accuracy_level=4, op_types_to_quantize=op_types
        )
        import numpy as np

        quantizer = MatMulNBitsQuantizer(model, algo_config=config)
        with np.errstate(invalid="ignore", divide="ignore"):  # an all-zero block has scale 0: the quantizer maps it
            # to 0
            quantizer.process()
        quantized = quantizer.model.model.graph
        weights = {i.name: i for i in quantized.initializer}
        float_names = {i.name for i in self.base.graph.initializer}
        by_output = {node.output[0]: node.name for node in self.base.graph.node}
        found = {}
        for node in quantized.node:
            if node.op_type in ("MatMulNBits", "GatherBlockQuantized"):
                original = by_output[node.output[0]]
                found[original] = _Quantized(
                    node, [weights[i] for i in node.input if i in weights and i not in float_names]
                )
        return found

    def _group_bytes(self, group: str, bits: int) -> int:
        """Bytes the group's weights take at ``bits`` (32: float)."""
        if bits == 32:
            weights = {i.name: i for i in self.base.graph.initializer}
            nodes = {n.name: n for n in self.base.graph.node}
            return sum(
                _tensor_bytes(weights[i]) for name in self.groups[group] for i in nodes[name].input if i in weights
            )
        if group == EMBED and bits not in EMBED_WIDTHS:
            return self._group_bytes(group, 32)
        return sum(_tensor_bytes(t) for name in self.groups[group] for t in self.quantized[bits][name].weights)

    def size(self, plan: dict[str, int]) -> int:
        """Bytes of the grouped weights under ``plan`` (the rest of the graph is the same for every plan)."""
        return sum(self.bytes[bits][group] for group, bits in plan.items())

    def assemble(self, plan: dict[str, int], out_dir: Path) -> Path:
        """Write the model of ``plan`` to ``out_dir`` (with the FP32 build's other files)."""
        import onnx

        check_plan(plan, self.groups, "plan")
        replace = {
            name: self.quantized[bits][name]
            for group, bits in plan.items()
            if bits != 32
            for name in self.groups[group]
        }
        nodes = [replace[node.name].node if node.name in replace else node for node in self.base.graph.node]
        weights = [w for q in replace.values() for w in q.weights]
        used = {i for node in nodes for i in node.input}
        model = copy.copy(self._shell)  # copies the small shell, not the base's weights
        model.graph.node.extend(nodes)
        model.graph.initializer.extend([i for i in self.base.graph.initializer if i.name in used] + weights)
        out_dir = Path(out_dir)
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir(parents=True)
        for item in self.fp32_dir.iterdir():
            if item.is_file() and not item.name.startswith("model.onnx") and item.name != "build.json":
                shutil.copy2(item, out_dir / item.name)
        onnx.save_model(
            model,
            str(out_dir / "model.onnx"),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location="model.onnx.data",
            size_threshold=1024,
        )
        return out_dir


def _tensor_bytes(tensor) -> int:
    """Bytes a weight takes as stored (4-bit types pack two values a byte)."""
    from onnx import TensorProto, helper

    if tensor.raw_data:
        return len(tensor.raw_data)
    count = 1
    for dim in tensor.dims:
        count *= dim
    if tensor.data_type in (TensorProto.INT4, TensorProto.UINT4):
        return (count + 1) // 2
    return count * helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize


def model_groups(model_dir: Path) -> list[str]:
    """The groups a model's builds have, from its Hugging Face ``config.json`` (known before any
    build) or a build's ``genai_config.json``."""
    folder = Path(model_dir)
    if (folder / "config.json").is_file():
        layers = json.loads((folder / "config.json").read_text(encoding="utf-8"))["num_hidden_layers"]
    else:
        layers = json.loads((folder / "genai_config.json").read_text(encoding="utf-8"))["model"]["decoder"][
            "num_hidden_layers"
        ]
    return [EMBED, *(f"layers.{i}" for i in range(int(layers))), HEAD]


def check_plan(plan: dict[str, int], groups, where: str) -> None:
    """A plan for this model: every group named, known, at a width it can take; else one line."""
    unknown = [g for g in plan if g not in groups]
    if unknown:
        raise HarnessError(f"{where}: group {unknown[0]!r} is not in this model (it has {describe(groups)})")
    missing = [g for g in groups if g not in plan]
    if missing:
        raise HarnessError(f"{where}: no width for group {missing[0]!r} (every group needs one: {describe(groups)})")
    for group, bits in plan.items():
        allowed = EMBED_WIDTHS if group == EMBED else WIDTHS
        if bits not in allowed:
            raise HarnessError(f"{where}: group {group!r} at {bits} bits (allowed: {', '.join(map(str, allowed))})")


def describe(groups) -> str:
    names = list(groups)
    layers = [g for g in names if g.startswith("layers.")]
    parts = [g for g in names if not g.startswith("layers.")]
    if layers:
        parts.insert(1 if EMBED in parts else 0, f"{layers[0]}–{layers[-1].split('.')[1]}")
    return ", ".join(parts)


def plan_summary(plan: dict[str, int]) -> str:
    """``12 groups at INT4, 20 at INT8 (...)``: how many groups take each width (named when few)."""
    at = {bits: [g for g, b in plan.items() if b == bits] for bits in WIDTHS}
    return ", ".join(
        f"{len(groups)} groups at {'float' if bits == 32 else f'INT{bits}'}"
        + (f" ({', '.join(groups)})" if 0 < len(groups) <= 6 else "")
        for bits, groups in at.items()
        if groups
    )


def uniform(groups, bits: int) -> dict[str, int]:
    """Every group at ``bits`` (the embedding at the nearest width it can take, never below ``bits``)."""
    return {g: (bits if g != EMBED or bits in EMBED_WIDTHS else 32) for g in groups}


# -- plan files -------------------------------------------------------------------------------


def write_plan(path: Path, plan: dict[str, int], model: dict, search: dict | None = None) -> None:
    record = {"format": PLAN_FORMAT, "model": model, "block_size": BLOCK_SIZE, "groups": plan}
    if search is not None:
        record["search"] = search
    write_text_atomic(Path(path), json.dumps(record, indent=2) + "\n")


def read_plan(path: Path) -> dict[str, int]:
    """The groups and widths of a plan file; one line for a file that is not a plan."""
    data = read_json(path, "plan file", "--plan")
    where = f"{path}"
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT or not isinstance(data.get("groups"), dict):
        raise HarnessError(
            f'{where}: not a plan file (expected {{"format": {PLAN_FORMAT}, "groups": '
            "{GROUP: BITS, ...}}, as --search writes) (option --plan)"
        )
    plan = {}
    for group, bits in data["groups"].items():
        if not isinstance(bits, int) or isinstance(bits, bool):
            raise HarnessError(f"{where}: group {group!r} has width {bits!r}, not a number of bits (option --plan)")
        plan[str(group)] = bits
    return plan


def main(argv: list[str]) -> int:
    """``python -m harness.variants.mixed FP32_DIR PLAN_FILE OUT_DIR``: the build step of a mixed
    variant (a subprocess of :func:`harness.variants.build.build_variant`)."""
    fp32_dir, plan_file, out_dir = (Path(a) for a in argv)
    bank = Bank(fp32_dir)
    plan = read_plan(plan_file)
    if list(bank.groups) != model_groups(fp32_dir):
        raise SystemExit(
            f"the graph's groups ({describe(bank.groups)}) are not the config's ({describe(model_groups(fp32_dir))})"
        )
    bank.assemble(plan, out_dir)
    print(f"assembled {describe(bank.groups)} from {plan_file}: {bank.size(plan) / 1e6:.2f} MB of grouped weights")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
