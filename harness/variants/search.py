"""The search for the smallest mix of bit widths that passes the run's closeness gates (``--search``).

It tunes on **search text** only: the calibration set (``--calibration``, or the model's own
default), never the evaluation set that later judges the chosen mix like any other variant.

Method (each step a candidate: a plan assembled by :class:`harness.variants.mixed.Bank`, loaded in a
worker, its next-token distributions compared with FP32's on the search text):

1. **Start**: every group at INT8 (the embedding, which has no INT8 form, in float). If it fails a
   closeness gate, the groups that need float are found first (**promotion**): each group alone
   in float on top of the start is probed, and groups go to float in order of KLD gained per MB
   added, each step verified, until the mix passes; promoted groups stay in float. A mix that
   would grow past FP16's size (half of FP32's) is not a mix worth shipping: the search then ends
   with one line naming the smallest KLD it reached.
2. **Sensitivity**: for each group, the start with that group alone at INT4; its cost is how much
   the KLD rose, per byte the group saves. These probes only rank the groups, so they are scored
   on the first half of the search text's chunks (``rank``), against the start scored the same way.
3. **Greedy demotion**: groups in order of that cost, cheapest first; each is moved to INT4 on top
   of what was accepted so far, and the candidate is kept only if every closeness gate still
   passes on the whole search text (verified, not predicted). A rejected group stays at INT8.
   After ``PATIENCE`` rejections in a row the search stops: the groups left cost more per byte
   than the ones that just failed.

``budget`` bounds the candidates measured (the profile's ``search_candidates``); when it runs out,
the best passing plan so far is the answer. Every candidate is kept with its size and figures, so
the report can draw the size–KLD plane, its Pareto front and the chosen point, and say why the
next smaller candidate was not taken.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from harness.variants.mixed import EMBED, plan_summary, uniform

Measure = Callable[[dict], dict]  # plan -> {metric: value} on the search text
Progress = Callable[[str], None]
PATIENCE = 6  # greedy demotion stops after this many rejected groups in a row


class SearchFailed(Exception):
    """No candidate passes the closeness gates; the message is one line."""


class Threshold(Protocol):
    """What the search must keep: ``metric op k`` on the search text (a run's closeness gate)."""

    metric: str
    op: str
    k: float


OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


def misses(figures: dict, gates: Sequence[Threshold]) -> list[str]:
    """The gates a candidate's figures miss, as ``kld_mean 0.12 > 0.1`` lines (empty: it passes)."""
    found = []
    for gate in gates:
        value = figures.get(gate.metric)
        if value is None or not OPERATORS[gate.op](value, gate.k):
            found.append(f"{gate.metric} {value if value is None else format(value, '.4g')} not {gate.op} {gate.k:g}")
    return found


@dataclass
class Candidate:
    step: str  # start | sensitivity | promote | demote
    group: str | None  # the group this step moved (to float when promoting, else to INT4)
    plan: dict
    size_bytes: int
    figures: dict
    missed: list[str]
    accepted: bool = False
    verified: bool = True  # scored on the whole search text (False: a sensitivity probe on part of it)

    @property
    def passes(self) -> bool:
        return not self.missed

    def to_record(self) -> dict:
        return {
            "step": self.step,
            "group": self.group,
            "plan": dict(self.plan),
            "size_bytes": self.size_bytes,
            "figures": self.figures,
            "missed": self.missed,
            "passes": self.passes,
            "accepted": self.accepted,
            "verified": self.verified,
        }


@dataclass
class SearchResult:
    plan: dict
    candidates: list[Candidate] = field(default_factory=list)
    gates: list[str] = field(default_factory=list)
    sensitivity: dict = field(default_factory=dict)  # group -> KLD rise per MB saved at INT4
    promotion: dict = field(default_factory=dict)  # group -> KLD change per MB added in float (negative: gained)
    budget: int = 0
    exhausted: bool = False
    stopped: bool = False  # PATIENCE rejections in a row ended the demotion

    def chosen(self) -> Candidate:
        return min((c for c in self.candidates if c.accepted), key=lambda c: c.size_bytes)

    def pareto(self) -> list[Candidate]:
        """Verified candidates no other is both smaller than and closer than (by kld_mean)."""
        front = []
        verified = (c for c in self.candidates if c.verified)
        for c in sorted(verified, key=lambda c: (c.size_bytes, c.figures.get("kld_mean", 0.0))):
            if not front or c.figures.get("kld_mean", 0.0) < front[-1].figures.get("kld_mean", 0.0):
                front.append(c)
        return front

    def next_smaller(self) -> Candidate | None:
        """The smallest measured candidate below the chosen one that missed a gate: why not it."""
        chosen = self.chosen()
        smaller = [c for c in self.candidates if c.verified and c.size_bytes < chosen.size_bytes and not c.passes]
        return max(smaller, key=lambda c: c.size_bytes) if smaller else None

    def to_record(self) -> dict:
        chosen = self.chosen()
        nxt = self.next_smaller()
        return {
            "plan": self.plan,
            "gates": self.gates,
            "budget": self.budget,
            "exhausted": self.exhausted,
            "stopped": self.stopped,
            "sensitivity": self.sensitivity,
            "promotion": self.promotion,
            "chosen": self.candidates.index(chosen),
            "next_smaller": None if nxt is None else self.candidates.index(nxt),
            "pareto": [self.candidates.index(c) for c in self.pareto()],
            "candidates": [c.to_record() for c in self.candidates],
        }


def search(
    groups,
    size_of: Callable[[dict], int],
    measure: Measure,
    gates: Sequence[Threshold],
    budget: int,
    progress: Progress = lambda line: None,
    rank: Measure | None = None,
) -> SearchResult:
    """The smallest plan found whose figures pass ``gates`` (see the module's docstring). ``rank``
    scores the sensitivity probes (default: ``measure``)."""
    if not gates:
        raise SearchFailed(
            "--search needs a closeness gate to meet (kld_mean, top1_agreement, ...): "
            "none of the run's gates is an absolute threshold on one"
        )
    result = SearchResult(plan={}, gates=[f"{g.metric} {g.op} {g.k:g}" for g in gates], budget=budget)
    measured: dict[tuple, Candidate] = {}  # (verified, plan) measured once is not measured again

    def spent() -> bool:
        return len(measured) >= budget

    def candidate(step: str, group: str | None, plan: dict, verified: bool = True) -> Candidate:
        key = (verified, tuple(sorted(plan.items())))
        again = key in measured
        if not again:
            figures = (measure if verified or rank is None else rank)(plan)
            measured[key] = Candidate(
                step, group, dict(plan), size_of(plan), figures, misses(figures, gates), verified=verified
            )
            result.candidates.append(measured[key])
        made = measured[key]
        said = (
            " (part of the text: ranks only)"
            if not verified
            else ", passes"
            if made.passes
            else f", misses {'; '.join(made.missed)}"
        )
        progress(
            f"search {len(measured)}/{budget} {step}{' ' + group if group else ''}: "
            f"{made.size_bytes / 1e6:.2f} MB, kld_mean {made.figures.get('kld_mean', float('nan')):.4g}"
            f"{said}{' (measured before)' if again else ''}"
        )
        return made

    def probes(base: Candidate, movable, bits: int) -> dict:
        """Each group of ``movable`` alone at ``bits`` on top of ``base``: the KLD change per MB moved."""
        reference = base if rank is None else candidate("sensitivity", None, base.plan, verified=False)
        rates = {}
        for group in movable:
            if spent():
                result.exhausted = True
                break
            alone = candidate("sensitivity", group, {**base.plan, group: bits}, verified=rank is None)
            moved = max(abs(base.size_bytes - alone.size_bytes), 1)
            rates[group] = (alone.figures.get("kld_mean", 0.0) - reference.figures.get("kld_mean", 0.0)) / (moved / 1e6)
        return rates

    start = current = candidate("start", None, uniform(groups, 8))
    if not start.passes:  # promotion: the groups that need float, most KLD gained per MB first
        limit = size_of(uniform(groups, 32)) / 2  # FP16's size
        gains = probes(start, [g for g in groups if start.plan[g] != 32], 32)
        result.promotion = gains
        for group in sorted(gains, key=lambda g: (gains[g], g)):
            plan = {**current.plan, group: 32}
            if size_of(plan) > limit or spent():
                break
            current = candidate("promote", group, plan)
            if current.passes:
                break
        if not current.passes:
            closest = min(
                (c for c in result.candidates if c.verified and (c is start or c.size_bytes <= limit)),
                key=lambda c: c.figures.get("kld_mean", 0.0),
            )
            raise SearchFailed(
                f"no mix passes the closeness gates on the search text: every group at INT8 reached kld_mean "
                f"{start.figures.get('kld_mean', float('nan')):.4g} ({'; '.join(start.missed)}); the closest, with "
                "groups in float up to FP16's size, reached kld_mean "
                f"{closest.figures.get('kld_mean', float('nan')):.4g}"
            )
    current.accepted = True
    promoted = {g for g in groups if current.plan[g] == 32 != start.plan[g]}
    costs = {
        g: max(rate, 0.0)
        for g, rate in probes(current, [g for g in groups if current.plan[g] != 4 and g not in promoted], 4).items()
    }
    result.sensitivity = costs
    misses_in_a_row = 0
    for group in sorted(costs, key=lambda g: (costs[g], g)):
        plan = {**current.plan, group: 4}
        if misses_in_a_row >= PATIENCE:
            result.stopped = True
            break
        if spent() and (True, tuple(sorted(plan.items()))) not in measured:
            result.exhausted = True
            break
        trial = candidate("demote", group, plan)
        trial.accepted = trial.passes
        current = trial if trial.passes else current
        misses_in_a_row = 0 if trial.passes else misses_in_a_row + 1
    result.plan = result.chosen().plan
    return result


def describe_choice(record: dict) -> str:
    """A paragraph: why this mix, and not the next smaller one the search measured."""
    candidates = record["candidates"]
    chosen = candidates[record["chosen"]]
    plan = chosen["plan"]
    kld = chosen["figures"].get("kld_mean")
    text = (
        f"The search measured {len(candidates)} candidates (budget {record['budget']}) against "
        f"{', '.join(record['gates'])} on the search text. It chose {chosen['size_bytes'] / 1e6:.2f} MB of "
        f"grouped weights with kld_mean {kld:.4g}: {plan_summary(plan)}."
    )
    promoted = [g for g, bits in plan.items() if bits == 32 != candidates[0]["plan"][g]]  # the start's float stays
    if promoted:
        start = candidates[0]
        text += (
            f" Every group at INT8 missed {'; '.join(start['missed'])}, so {', '.join(promoted)} went to float "
            "first, the groups that gained the most KLD per MB."
        )
    nxt = candidates[record["next_smaller"]] if record.get("next_smaller") is not None else None
    if nxt is not None:
        text += (
            f" The next smaller candidate it measured ({nxt['size_bytes'] / 1e6:.2f} MB, "
            f"{nxt['group']} also at INT4) missed {'; '.join(nxt['missed'])}."
        )
    elif all(b == 4 for g, b in plan.items() if g != EMBED or b != 32):
        text += " Every group that has an INT4 form is at INT4: nothing smaller was left to try."
    if record.get("exhausted"):
        text += " The candidate budget ran out before every group was tried; a larger profile may find a smaller mix."
    if record.get("stopped"):
        text += (
            f" It stopped after {PATIENCE} groups in a row missed a gate: the groups left cost more KLD per MB "
            "than those."
        )
    return text
