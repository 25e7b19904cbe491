"""The search run on real candidates (``--search``, ``--plan``): the options checked before any
work, the search text cut into chunks, every candidate assembled by a :class:`Bank`, loaded in a
worker and compared with FP32's log-probs, and the result cached; and the plan a run's mixed
variant is built from. The method itself is :mod:`harness.variants.search`."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.common.cache import key_of, once
from harness.common.clock import now_iso
from harness.common.files import write_json_atomic
from harness.errors import HarnessError, read_json
from harness.evaluation.datasets import load_examples
from harness.gates.spec import CLOSENESS_METRICS, Gate
from harness.measure.closeness import summarize
from harness.measure.quality import TooLittleText, closeness_chunks
from harness.run.reference import reference_logprobs
from harness.runtime.client import WorkerSession
from harness.runtime.protocol import SessionSpec
from harness.variants.mixed import Bank, check_plan, model_groups, read_plan
from harness.variants.search import Measure, Progress, SearchFailed, search

if TYPE_CHECKING:
    from harness.run.run import Run

# Part of a cached search's key: bump it whenever the method changes what a search finds or says,
# so that a cached plan or failure of an older method is never served (3: float promotion).
METHOD_VERSION = 3


def mixed_settings(search_on: bool, plan_file, source, calibration) -> dict | None:
    """``--search`` and ``--plan`` checked before any work: one of them, a plan that fits the model,
    a calibration set to search on. Returns the given plan (None when searching or neither)."""
    if search_on and plan_file is not None:
        raise HarnessError("--search finds a plan and --plan gives one: use one of them")
    if search_on and calibration is None:
        raise HarnessError(
            f"--search tunes on calibration text, never on the evaluation set, and {source.name} "
            "has no calibration set of its own: give --calibration PATH"
        )
    if plan_file is None:
        return None
    plan = read_plan(plan_file)
    check_plan(plan, model_groups(source.path), f"{plan_file} (option --plan)")
    return plan


@dataclass(frozen=True)
class SearchText:
    """What a search is tuned on, and against: the calibration set's conversations (``examples``,
    read from ``calibration``), how they become a prompt (``format_prompt``) and token ids
    (``encode``), and ``reference_of(chunks)``, which writes the FP32 log-probs of those chunks and
    returns the file."""

    examples: Sequence[Any]
    calibration: Path
    format_prompt: Callable
    encode: Callable[[str], list[int]]
    reference_of: Callable[[list], Path]


def find_plan(
    fp32,
    text: SearchText,
    gates: list[Gate],
    profile,
    max_length: int,
    cache_dir: Path,
    progress: Progress = lambda line: None,
) -> dict:
    """Run :func:`search` on the model's FP32 build (``fp32``, a BuiltVariant) with real candidates:
    the search text is ``text``'s conversations in the profile's closeness chunks; each plan is
    assembled, loaded in a worker and compared with the FP32 log-probs ``text.reference_of(chunks)``
    writes (the sensitivity probes on the first half of the chunks, against their own reference).
    The result (:meth:`SearchResult.to_record`) is kept in the cache, keyed on the build, the search
    text, the gates and the budget: a second process or run with the same inputs reads it instead
    of searching again. Raises :class:`SearchFailed`."""
    try:
        chunks, _ = closeness_chunks(text.examples, text.format_prompt, text.encode, max_length, profile.search_chunks)
    except TooLittleText as why:
        raise SearchFailed(
            f"the calibration set {text.calibration}: {str(why).replace('evaluation set', 'text')}"
        ) from None
    probe_chunks = chunks[: max(1, len(chunks) // 2)]
    budget = profile.search_candidates
    progress(
        f"search: {budget} candidates at most, on {len(chunks)} chunks of {Path(text.calibration).name} "
        "(never the evaluation set)"
    )
    key = {
        "build": fp32.path.name,
        "toolchain": fp32.toolchain,
        "max_length": max_length,
        "budget": budget,
        "gates": [f"{g.metric} {g.op} {g.k:g}" for g in gates],
        "format": METHOD_VERSION,
        "chunks": key_of(chunks, 64),
    }
    path = Path(cache_dir) / "searches" / f"{key_of(key)}.json"

    def run_search(target: Path) -> None:
        started = time.perf_counter()
        reference, probe_reference = text.reference_of(chunks), text.reference_of(probe_chunks)  # only when searching
        progress(f"search: quantizing every group of {fp32.path.name} at 4 and 8 bits ...")
        bank = Bank(fp32.path)
        with tempfile.TemporaryDirectory(prefix="harness-search-") as tmp:

            def scored_on(scored: list, against: Path) -> Measure:
                def measure(plan: dict) -> dict:
                    folder = bank.assemble(plan, Path(tmp) / "candidate")
                    session = WorkerSession(
                        SessionSpec(str(folder), max_length=max_length), "mixed-search", timeout=600, max_restarts=0
                    )
                    try:
                        per = session.compare(scored, against)
                    finally:
                        session.close()
                    return {name: record["value"] for name, record in summarize(per).items()}

                return measure

            try:
                result = search(
                    list(bank.groups),
                    bank.size,
                    scored_on(chunks, reference),
                    gates,
                    budget,
                    progress,
                    rank=scored_on(probe_chunks, probe_reference),
                )
            except SearchFailed as exc:  # kept too: the same inputs fail the same way
                write_json_atomic(target, {"failed": str(exc), "made_at": now_iso()})
                return
        record = {
            **result.to_record(),
            "seconds": round(time.perf_counter() - started, 1),
            "made_at": now_iso(),
            "search_text_tokens": sum(len(c) for c in chunks),
            "chunks": len(chunks),
            "probe_chunks": len(probe_chunks),
            "groups": list(bank.groups),
        }
        write_json_atomic(target, record)
        chosen = record["candidates"][record["chosen"]]
        progress(
            f"search: chose {chosen['size_bytes'] / 1e6:.2f} MB of grouped weights after "
            f"{len(record['candidates'])} candidates in {record['seconds']:.0f} s"
        )

    record, made = once(path, run_search, load=lambda target: read_json(target, "cached search"))
    if not made:
        progress(
            f"search: the same search (model build, search text, gates, budget) ran on {record['made_at']}: "
            f"reusing its plan"
        )
    if record.get("failed"):
        raise SearchFailed(record["failed"])
    return record


def closeness_gates(gates: list[Gate], provider: str) -> list[Gate]:
    """The run's gates the search must pass: absolute thresholds on a closeness metric that apply
    to a mixed variant of ``provider``."""
    return [
        g
        for g in gates
        if g.metric in CLOSENESS_METRICS
        and g.form == "absolute"
        and g.applies_to({"precision": "mixed", "provider": provider})
    ]


def mixed_plan(run: Run, variant_id: str) -> dict:
    """The plan of a run's mixed variant: ``--plan``'s, or the one ``--search`` finds on the
    calibration text against the reference on the same provider; noted on its record."""
    if run.given_plan is not None:
        run.note(variant_id, plan=run.given_plan, plan_file=str(run.config.plan))
        return run.given_plan
    reference = run.reference_for(variant_id)
    if reference is None:
        raise SearchFailed(f"no {run.config.reference} reference runs here to search against")
    text = SearchText(
        load_examples(run.calibration_path).examples,
        run.calibration_path,
        run.formatter,
        run.session(reference).encode,
        lambda chunks: reference_logprobs(run, reference, chunks)[0],
    )
    record = find_plan(
        run.build(reference),
        text,
        closeness_gates(run.gates, run.planned_variant(variant_id).variant.provider),
        run.config.profile,
        run.max_length,
        run.config.cache_dir,
        run.progress,
    )
    run.note(variant_id, plan=record["plan"], search=record)
    return record["plan"]
