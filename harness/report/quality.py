"""The report's quality sections: task quality per check with McNemar against the reference, and
closeness of each variant's next-token distributions to the reference's."""

from __future__ import annotations

from harness.common.formatting import fmt, with_interval
from harness.evaluation.scoring import TASK_METRICS
from harness.report.section import Section
from harness.results.view import RunResults

CLOSENESS_COLUMNS = (
    ("KLD mean", "kld_mean"),
    ("KLD p99", "kld_mean:p99"),
    ("KLD max", "kld_mean:max"),
    ("top-1 agreement", "top1_agreement"),
    ("Δp RMS", "delta_p_rms"),
    ("PPL ratio", "ppl_ratio"),
)


def quality(results: RunResults) -> list[Section]:
    measured = results.of(suite="quality")
    variants = [v.id for v in results.variants if any(m.variant == v.id for m in measured)]

    def find(vid: str, name: str):
        found = results.find(vid, name)
        return found if found is not None and found.suite == "quality" else None

    sections = []
    task = [n for n in TASK_METRICS if any(find(v, n) for v in variants)]
    if task:
        rows = []
        for vid in variants:
            cells = [f"`{vid}`"]
            for name in task:
                m = find(vid, name)
                if m is None:
                    cells.append("—")
                    continue
                text = with_interval(m.value, m.interval)
                if m.extra.get("paired"):
                    text += f" p={m.extra['paired']['p_value']:.2g}"
                cells.append(text)
            rows.append(cells)
        sections.append(
            Section(
                "Task quality",
                "task-quality",
                text=[
                    "Share of examples passing each check [Wilson 95 %]; *p*: exact McNemar test against the reference "
                    "on the same examples (small *p*: the difference is real). ROUGE-L: mean F1 [bootstrap 95 %]."
                ],
                header=["variant"] + task,
                rows=rows,
            )
        )
        answered = _answering(results, variants)
        if answered:
            sections[-1].text.append(answered)
    close = [v for v in variants if find(v, "kld_mean")]
    if close:
        rows = []
        for vid in close:
            cells = [f"`{vid}`"]
            for _, key in CLOSENESS_COLUMNS:
                name, _, stat = key.partition(":")
                m = find(vid, name)
                if m is None:
                    cells.append("—")
                elif stat:
                    cells.append(fmt(m.stats.get(stat)))
                else:
                    unc = m.stats.get("uncertainty")
                    cells.append(fmt(m.value) + (f" ± {fmt(unc)}" if unc else ""))
            rows.append(cells + [str(find(vid, "kld_mean").stats.get("n"))])
        reference = find(close[0], "kld_mean").extra.get("reference")
        sections.append(
            Section(
                "Closeness to the reference",
                "closeness",
                text=[
                    f"Against `{reference}` on the same tokens of domain text, as llama-perplexity --kl-divergence "
                    "computes it (docs/guides/evaluation-data.md, *Quality suites*): value ± one standard error."
                ],
                header=["variant"] + [c[0] for c in CLOSENESS_COLUMNS] + ["tokens"],
                rows=rows,
            )
        )
    return sections


def _answering(results: RunResults, variants: list[str]) -> str:
    """How each variant answered (harness.measure.batching): in batches only where a trial found
    them faster and every trial answer the same as one at a time."""
    said = [
        f"`{v.id}`: {v.record['answering']['reason']}"
        for v in results.variants
        if v.id in variants and v.record.get("answering")
    ]
    if not said:
        return ""
    return (
        "How the answers were generated (a batch is kept only where a trial on the shortest prompts was faster and "
        "gave the same answers token for token): " + "; ".join(said) + "."
    )
