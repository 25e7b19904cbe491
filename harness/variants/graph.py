"""Read what a built ONNX graph really is, instead of trusting the flags that made it.

Builder options change names between releases and unknown ones are silently ignored (from
onnxruntime-genai 0.16 on, ``int4_block_size`` and ``int4_accuracy_level`` are ignored without a word),
so every build records the quantization found in its graph: how many MatMuls are quantized, with
which bit widths and block sizes, and the element types of the float weights.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

_DTYPE_NAMES = {1: "float32", 10: "float16", 16: "bfloat16", 2: "uint8", 3: "int8", 21: "uint4", 22: "int4"}


def quantization_summary(model_path: Path) -> dict:
    """Op counts and quantization attributes of ``model.onnx`` (external data is not loaded)."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    graph = model.graph
    ops = Counter(node.op_type for node in graph.node)
    bits: Counter = Counter()
    block_sizes: Counter = Counter()
    accuracy_levels: Counter = Counter()
    for node in graph.node:
        if node.op_type in ("MatMulNBits", "GatherBlockQuantized"):
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            bits[int(attrs.get("bits", 4))] += 1
            block_sizes[int(attrs.get("block_size", 0))] += 1
            if node.op_type == "MatMulNBits":
                accuracy_levels[int(attrs.get("accuracy_level", 0))] += 1
    float_types = Counter(
        _DTYPE_NAMES.get(init.data_type, str(init.data_type)) for init in graph.initializer if len(init.dims) >= 2
    )
    return {
        "matmul_nbits": ops.get("MatMulNBits", 0),
        "gather_quantized": ops.get("GatherBlockQuantized", 0),  # a block-quantized embedding lookup
        "float_matmul": ops.get("MatMul", 0),
        "bits": sorted(bits),
        "block_sizes": sorted(block_sizes),
        "accuracy_levels": sorted(accuracy_levels),
        "weight_dtypes": dict(sorted(float_types.items())),
        "io_dtype": _DTYPE_NAMES.get(graph.output[0].type.tensor_type.elem_type, "unknown")
        if graph.output
        else "unknown",
        **weight_traffic(graph),
    }


def _initializer_bytes(init) -> int:
    """Stored size of one initializer, inline or in external data (read from its record)."""
    import onnx

    for entry in init.external_data:
        if entry.key == "length":
            return int(entry.value)
    if init.raw_data:
        return len(init.raw_data)
    count = 1
    for dim in init.dims:
        count *= dim
    itemsize = onnx.helper.tensor_dtype_to_np_dtype(init.data_type).itemsize
    return count * itemsize


def weight_traffic(graph) -> dict:
    """Bytes of weights stored, and bytes read to decode one token.

    Decoding one token reads every weight once, except lookup tables (the embedding, consumed by
    Gather-like nodes), of which it reads one row.
    """
    sizes = {init.name: (_initializer_bytes(init), list(init.dims)) for init in graph.initializer}
    lookup = {node.input[0] for node in graph.node if node.op_type in ("Gather", "GatherBlockQuantized") and node.input}
    stored = sum(size for size, _ in sizes.values())
    read = 0
    for name, (size, dims) in sizes.items():
        if name in lookup and dims and dims[0] > 0:
            read += size // dims[0]
        else:
            read += size
    return {"weight_bytes_stored": stored, "weight_bytes_read_per_token": read}
