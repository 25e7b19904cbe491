"""How an answer is compared with what a check expects: normalised text, JSON values, the first
number, ROUGE-L and JSON Schema conformance. Pure functions, no state."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from typing import Any

NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def normalise(text: str) -> str:
    """Text as exact match compares it: Unicode NFKC, case-folded, runs of white space as one
    space, no surrounding white space and no final full stop."""
    text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return text[:-1].rstrip() if text.endswith(".") else text


def parse_json(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text.strip())
    except (json.JSONDecodeError, ValueError):
        return False, None


def exact_match(answer: str, reference: str) -> bool:
    """Equal as JSON values when the reference is a JSON object or array (key order and spacing
    do not matter), otherwise equal after :func:`normalise`."""
    ok_ref, ref_value = parse_json(reference)
    if ok_ref and isinstance(ref_value, (dict, list)):
        ok, value = parse_json(answer)
        return ok and value == ref_value
    return normalise(answer) == normalise(reference)


def first_number(text: str) -> float | None:
    """The first number written in ``text`` (a sign counts unless it joins a word: ORD-123 is 123)."""
    match = NUMBER.search(text)
    return float(match.group()) if match else None


@lru_cache(maxsize=1)
def _rouge():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"])


def rouge_l(answer: str, reference: str) -> float:
    return float(_rouge().score(reference, answer)["rougeL"].fmeasure)


def schema_conforms(answer: str, schema: dict) -> bool:
    from jsonschema.validators import validator_for

    ok, value = parse_json(answer)
    return ok and validator_for(schema)(schema).is_valid(value)
