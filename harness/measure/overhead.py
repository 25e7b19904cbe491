"""Does the harness disturb what it measures? Its session against a bare onnxruntime-genai loop.

The same variant, the same token ids and the same forced number of new tokens go alternately to
the variant's worker and to :mod:`harness.runtime.bare_loop` (its own process, so neither shares a
Python interpreter with pytest). A pair is one request on each side, back to back; pairs alternate
their order (harness first, then bare first) so that a drift of the machine does not favour one
side. Per pair: harness ÷ bare for decode tokens/s and for TTFT.

A shared machine's speed changes from one second to the next: on the 2-core AMD EPYC this project
is developed on, two identical bare loops measured against each other spread 6 % (standard
deviation of the pair ratio) on SmolLM2-135M, more on requests shorter than a tenth of a second,
which is more than the 2 % the decode target is about. A median of a few pairs therefore decides
nothing; the verdicts use the median ratio's 95 % interval (distribution-free, from order
statistics: a bootstrap of a median from a few heavy-tailed pairs covers less) and say one of
three things: the target is shown to hold (the whole interval meets it), shown to be missed (the
whole interval misses it), or not resolved on this machine with this many pairs.
Pairs are measured in blocks of ``LOOK_EVERY`` until both verdicts are resolved or the profile's
``overhead_pairs`` are spent. Stopping at the first decisive look makes a wrong verdict somewhat
likelier than the 5 % of a single look; the looks are few (every ten pairs) to keep it close.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

from harness.common.toolchains import MAIN, Interpreter
from harness.errors import HarnessError
from harness.measure.records import Verdict, verdict
from harness.measure.statistics import median_interval

# Targets: decode throughput at least 98 % of the bare loop's; TTFT within 3 % of it.
DECODE_MIN_RATIO = 0.98
TTFT_MAX_DEVIATION = 0.03
LOOK_EVERY = 10  # pairs between two looks at the intervals
MET, MISSED, UNRESOLVED = "met", "missed", "unresolved"
# Pause before each request: onnxruntime's thread pools spin for a while after finishing work,
# and the other process's spinning threads would otherwise share the cores with the request.
SETTLE_S = 0.05


class BareLoop:
    """Client of a ``python -m harness.runtime.bare_loop`` process."""

    def __init__(self, model_dir: Path, max_length: int, interpreter: Interpreter = MAIN) -> None:
        """``interpreter``: the same toolchain as the variant's worker (``--runtimes``)."""
        self._stderr = tempfile.TemporaryFile(mode="w+")  # a pipe could fill up and block it
        self._proc = subprocess.Popen(
            [*interpreter.command, "-m", "harness.runtime.bare_loop", str(model_dir), str(max_length)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=interpreter.env)
        if not json.loads(self._readline()).get("ready"):
            raise HarnessError("the bare onnxruntime-genai loop did not start")

    def _readline(self) -> str:
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait()
            self._stderr.seek(0)
            raise HarnessError(f"the bare onnxruntime-genai loop died: {self._stderr.read()[-500:]}")
        return line

    def run(self, ids: Sequence[int], new_tokens: int) -> dict:
        """One request; returns ttft_s, decode_s and new_tokens as the bare loop timed them."""
        self._proc.stdin.write(json.dumps({"ids": list(ids), "new_tokens": new_tokens}) + "\n")
        self._proc.stdin.flush()
        return json.loads(self._readline())

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc.stdout.close()
        self._stderr.close()


def alternate(harness: Callable[[], tuple[float, float]], bare: Callable[[], tuple[float, float]],
              pairs: int) -> list[dict]:
    """Run ``pairs`` alternating pairs; each callable returns (ttft seconds, decode tokens/s)."""
    results = []
    for index in range(pairs):
        order = (("harness", harness), ("bare", bare)) if index % 2 == 0 else (("bare", bare), ("harness", harness))
        pair = {"first": order[0][0]}
        for side, run in order:
            time.sleep(SETTLE_S)
            pair[f"{side}_ttft_s"], pair[f"{side}_decode_tps"] = run()
        pair["decode_ratio"] = pair["harness_decode_tps"] / pair["bare_decode_tps"]
        pair["ttft_ratio"] = pair["harness_ttft_s"] / pair["bare_ttft_s"]
        results.append(pair)
    return results


def measure(harness: Callable[[], tuple[float, float]], bare: Callable[[], tuple[float, float]],
            max_pairs: int, look_every: int = LOOK_EVERY) -> list[dict]:
    """Alternating pairs in blocks of ``look_every`` until both verdicts are resolved or
    ``max_pairs`` are measured."""
    pairs: list[dict] = []
    while len(pairs) < max_pairs:
        pairs += alternate(harness, bare, min(look_every, max_pairs - len(pairs)))
        if all(outcome != UNRESOLVED for outcome in (decode_outcome(pairs)[0], ttft_outcome(pairs)[0])):
            break
    return pairs


def _interval(pairs: Sequence[dict], key: str) -> tuple[float, float, float]:
    ratios = [p[key] for p in pairs]
    low, high = median_interval(ratios)
    return statistics.median(ratios), low, high


def decode_outcome(pairs: Sequence[dict]) -> tuple[str, float, float, float]:
    """(outcome, median, low, high) of harness ÷ bare decode tokens/s against ≥ DECODE_MIN_RATIO."""
    median, low, high = _interval(pairs, "decode_ratio")
    outcome = MET if low >= DECODE_MIN_RATIO else MISSED if high < DECODE_MIN_RATIO else UNRESOLVED
    return outcome, median, low, high


def ttft_outcome(pairs: Sequence[dict]) -> tuple[str, float, float, float]:
    """(outcome, median, low, high) of harness ÷ bare TTFT against 1 ± TTFT_MAX_DEVIATION."""
    median, low, high = _interval(pairs, "ttft_ratio")
    floor, ceiling = 1 - TTFT_MAX_DEVIATION, 1 + TTFT_MAX_DEVIATION
    outcome = (MET if floor <= low and high <= ceiling
               else MISSED if high < floor or low > ceiling else UNRESOLVED)
    return outcome, median, low, high


_SAID = {MET: "shown to meet the target", MISSED: "shown to miss the target",
         UNRESOLVED: "not resolved: the interval reaches both sides of the target; this machine's "
                     "pair-to-pair spread needs more pairs (profile setting overhead_pairs)"}


def verdicts(variant: str, pairs: Sequence[dict]) -> list[Verdict]:
    """The two overhead verdicts: each passes only when its 95 % interval shows the target met."""
    return [_verdict(variant, pairs, "overhead_decode_ratio", "decode tokens/s", decode_outcome(pairs),
                     DECODE_MIN_RATIO, f"≥ {DECODE_MIN_RATIO}"),
            _verdict(variant, pairs, "overhead_ttft_ratio", "TTFT", ttft_outcome(pairs),
                     TTFT_MAX_DEVIATION, f"within ±{TTFT_MAX_DEVIATION:.0%}")]


def _verdict(variant: str, pairs: Sequence[dict], name: str, figure: str, found: tuple, threshold: float,
             target: str) -> Verdict:
    outcome, median, low, high = found
    return verdict(variant, "overhead", name, outcome == MET, value=median, threshold=threshold,
                   outcome=outcome, ci95=[low, high], pairs=len(pairs),
                   message=f"harness {figure} = {median:.3f} × the bare loop's (median of {len(pairs)} pairs, "
                           f"95 % interval [{low:.3f}, {high:.3f}]; target {target}): {_SAID[outcome]}")
