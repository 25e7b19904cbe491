"""Builds measured side by side, in one run on one machine (``python -m harness fp16-fixes``,
``python -m harness int8-routes``).

Opens a worker for each model folder and measures them the way the suites do, alternating between
them each round so that drift on a shared machine touches all alike:

- TTFT and decode tokens/s: forced-length greedy requests on the model's first domain prompt
  (median over the rounds, after one warm-up each);
- peak RSS: each worker's own high-water mark (``VmHWM``) after the rounds;
- KLD and top-1 agreement against the reference (the first folder) over the same chunks of the
  model's domain text (:mod:`harness.measure.closeness`, as the quality suite computes them);
- how many of the timed prompt's greedy tokens equal the reference's before the first difference;
- size on disk and what the graph holds (:func:`harness.variants.graph.quantization_summary`).
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.measure.closeness import chunks_of, summarize
from harness.measure.environment import describe
from harness.measure.quality import KLD_CONTEXT, token_stream
from harness.run.run import Run
from harness.runtime.client import WorkerSession
from harness.runtime.protocol import SessionSpec
from harness.variants.graph import quantization_summary


def measure(
    run: Run,
    folders: dict[str, Path],
    *,
    rounds: int = 5,
    new_tokens: int = 64,
    chunks: int = 8,
    max_length: int = 1024,
) -> dict:
    """``folders``: label -> built model folder of ``run``'s model; the first is the reference."""
    names = list(folders)
    source, examples, formatter, progress = run.source, run.examples, run.formatter, run.progress
    sessions = {name: WorkerSession(SessionSpec(str(folders[name]), max_length=max_length), name) for name in names}
    try:
        reference = sessions[names[0]]
        prompt_ids = reference.encode(formatter(list(examples[0].messages)))
        stream: list[int] = []
        for example in examples:
            stream += token_stream([example], formatter, reference.encode)
            if len(stream) >= KLD_CONTEXT * chunks:
                break
        scored = chunks_of(stream, KLD_CONTEXT, chunks)
        timings: dict[str, list] = {name: [] for name in names}
        tokens: dict[str, tuple] = {}
        for round_ in range(rounds + 1):  # round 0 is the warm-up
            progress(f"timing round {round_} of {rounds}")
            for name in names:
                trace = sessions[name].generate(prompt_ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens)
                tokens[name] = trace.tokens
                if round_:
                    timings[name].append((trace.ttft_s, trace.decode_tps))
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "reference.npz"
            progress(f"reference logits over {len(scored)} chunks of {KLD_CONTEXT} tokens")
            reference.write_reference(scored, path)
            for name in names:
                closeness = summarize(sessions[name].compare(scored, path)) if name != names[0] else None
                graph = quantization_summary(folders[name] / "model.onnx")
                rows.append(
                    {
                        "variant": name,
                        "size_bytes": sum(
                            p.stat().st_size for p in folders[name].iterdir() if p.is_file() and p.name != "build.json"
                        ),
                        "weight_dtypes": graph["weight_dtypes"],
                        "graph": graph,
                        "ttft_ms": 1000 * statistics.median(t for t, _ in timings[name]),
                        "decode_tps": statistics.median(d for _, d in timings[name]),
                        "peak_rss_bytes": sessions[name].memory()["peak_rss_bytes"],
                        "kld_mean": closeness and closeness["kld_mean"]["value"],
                        "kld_uncertainty": closeness and closeness["kld_mean"]["uncertainty"],
                        "top1_agreement": closeness and closeness["top1_agreement"]["value"],
                        "scored_tokens": closeness and closeness["kld_mean"]["n"],
                        "same_greedy_prefix": _common_prefix(tokens[name], tokens[names[0]]),
                    }
                )
    finally:
        for session in sessions.values():
            session.close()
    settings = {
        "model": source.name,
        "rounds": rounds,
        "new_tokens": new_tokens,
        "prompt_tokens": len(prompt_ids),
        "chunks": len(scored),
        "n_ctx": KLD_CONTEXT,
        "max_length": max_length,
    }
    return {"settings": settings, "machine": describe(), "rows": rows}


def render(result: dict, title: str, extra: dict[str, Callable[[dict], str]] | None = None) -> str:
    """The rows as a Markdown table; ``extra``: column title -> cell of a row, after the variant."""
    machine = result["machine"]
    s = result["settings"]
    extra = extra or {}
    base = result["rows"][0]
    lines = [
        f"{title} on {s['model']}: {machine['cpu_model']}, {machine['cores_usable']} cores; "
        f"{s['rounds']} rounds of {s['prompt_tokens']}-token prompt + {s['new_tokens']} tokens, "
        f"closeness over {s['chunks']} x {s['n_ctx']} tokens",
        "",
        f"| variant | {''.join(f'{t} | ' for t in extra)}size MB | decode tok/s (× {base['variant']}) | TTFT ms | "
        f"peak RSS MB | KLD vs {base['variant']} | top-1 | greedy tokens as {base['variant']}'s |",
        "| --- | " + "--- | " * len(extra) + "--- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["rows"]:
        kld = "—" if row["kld_mean"] is None else f"{row['kld_mean']:.2g} ± {row['kld_uncertainty']:.1g}"
        top1 = "—" if row["top1_agreement"] is None else f"{row['top1_agreement']:.4f}"
        cells = "".join(f"{cell(row)} | " for cell in extra.values())
        lines.append(
            f"| {row['variant']} | {cells}{row['size_bytes'] / 1e6:.0f} | {row['decode_tps']:.1f} "
            f"({row['decode_tps'] / base['decode_tps']:.2f}) | {row['ttft_ms']:.1f} | "
            f"{row['peak_rss_bytes'] / 2**20:.0f} | {kld} | {top1} | "
            f"{row['same_greedy_prefix']} of {s['new_tokens']} |"
        )
    return "\n".join(lines) + "\n"


def _common_prefix(a: tuple, b: tuple) -> int:
    count = 0
    for x, y in zip(a, b):
        if x != y:
            break
        count += 1
    return count
