"""What a run will cost, estimated before the work: pure arithmetic over timed requests.

A variant's :class:`RequestCost` comes from one request timed on it (after one to warm it): the
seconds its prefill took per prompt token and its decode per new token. Each suite that makes
requests says, next to its sizes, what it will ask for at most (``planned_seconds(sizes, shape,
cost)`` in the suite's file); the plan is the sum. The cost is linear in the prompt's length, so
long prompts, whose attention grows faster than that, are underestimated; samplers that stop
once their figures are known make the estimate an upper bound elsewhere. The report sets the
estimate beside the seconds each suite took.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.common.formatting import fmt
from harness.measure.trace import GenerationTrace


@dataclass(frozen=True)
class RequestCost:
    """Seconds one request costs on a variant: its prefill per prompt token, its decode per new token."""

    prefill_s_per_token: float
    decode_s_per_token: float

    @classmethod
    def of(cls, trace: GenerationTrace) -> RequestCost:
        """From one timed request (at least one prompt token and two new ones)."""
        decode = trace.tpot_s if trace.tpot_s is not None else trace.ttft_s
        return cls(trace.ttft_s / max(trace.prompt_tokens, 1), decode)

    def seconds(self, prompt_tokens: float, new_tokens: float, count: float = 1) -> float:
        """``count`` requests of ``prompt_tokens`` prompt tokens and ``new_tokens`` new ones."""
        return count * (prompt_tokens * self.prefill_s_per_token + new_tokens * self.decode_s_per_token)

    def to_record(self) -> dict:
        return {
            "prefill_ms_per_token": self.prefill_s_per_token * 1e3,
            "decode_ms_per_token": self.decode_s_per_token * 1e3,
        }


@dataclass(frozen=True)
class Shape:
    """What a suite's plan may depend on besides its sizes."""

    max_length: int  # the session's: prompt and new tokens together
    prompt_tokens: int  # the domain prompt the timed suites send
    profile: Any  # the run's Profile (repetitions, warm-ups, new tokens, examples, chunks)
    answer_tokens: int  # most tokens per answer in the task-quality suite
    examples: int  # evaluation examples the task-quality suite answers


def plan_line(variant_id: str, estimates: Mapping[str, float], cost: RequestCost) -> str:
    """One line for the run's progress: the variant's estimated seconds per suite, longest first."""
    total = sum(estimates.values())
    parts = ", ".join(
        f"{suite} {fmt(seconds)} s" for suite, seconds in sorted(estimates.items(), key=lambda kv: -kv[1])
    )
    return (
        f"plan {variant_id}: about {_duration(total)} in the suites that make requests ({parts}); from one "
        f"request: prefill {cost.prefill_s_per_token * 1e3:.2g} ms/token, decode {cost.decode_s_per_token * 1e3:.2g} "
        "ms/token"
    )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


# what a budget never moves: a name, the tokens a measured request generates (they define the
# figure, not its precision) and the search's own sizes
KEPT = ("name", "new_tokens", "search_candidates", "search_chunks")


def toward(current: Mapping[str, Any], quick: Mapping[str, Any], share: float, keep: tuple[str, ...] = KEPT) -> dict:
    """Sizes ``share`` of the way from the quick profile's to ``current`` (1: unchanged, 0: quick's):
    numbers are interpolated (counts rounded, never below one); a missing bound (None) becomes
    quick's, since a budget bounds time; anything else (a sweep's points) stays until the share
    falls below one half. ``keep`` names sizes that define what is measured and never move."""
    fitted = {}
    for name, value in current.items():
        low = quick.get(name, value)
        if share >= 1 or name in keep:
            fitted[name] = value
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not isinstance(low, (int, float)):
            fitted[name] = low if value is None or share < 0.5 else value
        elif isinstance(value, int) and isinstance(low, int):
            fitted[name] = max(1, round(low + share * (value - low)))
        else:
            fitted[name] = low + share * (value - low)
    return fitted


def budget_lines(record: Mapping[str, Any], profile: str) -> list[str]:
    """What the budget did, for the run's progress and its report."""
    minutes, share = record["minutes"], record["share"]
    head = (
        f"budget {fmt(float(minutes))} min: the plan at the {profile} profile's sizes is about "
        f"{record['planned_seconds'] / 60:.1f} min for {record['variants']} variant(s) (each costed like the first)"
    )
    if not record["changed"]:
        return [head + "; it fits, nothing traded"]
    lines = [
        head + f"; every size moved to {share:.0%} of the way from the quick profile's to the {profile} profile's "
        f"(about {record['fitted_seconds'] / 60:.1f} min)"
        + (
            "; the quick profile's sizes are the least the harness runs, and still exceed the budget"
            if share == 0
            else ""
        )
    ]
    by_place: dict[str, list[str]] = {}
    for key, (before, after) in record["changed"].items():
        place, size = key.split(".", 1)
        by_place.setdefault(place, []).append(f"{size} {fmt(before)} -> {fmt(after)}")
    for place, sizes in by_place.items():
        what = "every timed figure and the quality samples" if place == "profile" else f"the {place} suite's figures"
        lines.append(f"  traded: {place}: {', '.join(sizes)}: {what} carry wider intervals")
    return lines
