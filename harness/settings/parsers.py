"""How each setting's raw value (command-line text, an environment variable or a TOML value)
becomes a typed one: one small ``parse_*`` function per kind, raising ``ValueError`` with a short
reason that the resolver turns into one line naming where the value came from."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.settings.config import FP16_CPU_FIXES, OBJECTIVES, PRECISIONS, PROFILES, PROVIDERS, Profile


def _split_list(raw: Any) -> list[str]:
    if isinstance(raw, (list, tuple)):
        items = [str(x) for x in raw]
    else:
        items = str(raw).split(",")
    items = [x.strip().lower() for x in items if x.strip()]
    if not items:
        raise ValueError("empty list")
    return items


def _parse_choices(raw: Any, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    items = _split_list(raw)
    bad = [x for x in items if x not in allowed]
    if bad:
        raise ValueError(f"unknown {what} {', '.join(map(repr, bad))} (choose from {', '.join(allowed)})")
    return tuple(dict.fromkeys(items))  # keep order, drop repeats


def parse_precisions(raw: Any) -> tuple[str, ...]:
    return _parse_choices(raw, PRECISIONS, "precision")


def parse_providers(raw: Any) -> tuple[str, ...] | None:
    if str(raw).strip().lower() in ("auto", "all", ""):
        return None
    return _parse_choices(raw, PROVIDERS, "provider")


def _parse_one(raw: Any, allowed: tuple[str, ...], what: str) -> str:
    items = _parse_choices(raw, allowed, what)
    if len(items) != 1:
        raise ValueError(f"expected one {what}")
    return items[0]


def parse_reference(raw: Any) -> str:
    return _parse_one(raw, PRECISIONS, "precision")


def parse_builders(raw: Any, names: tuple[str, ...]) -> tuple[str, ...]:
    return _parse_choices(raw, names, "builder")


def parse_recipes(raw: Any, names: tuple[str, ...]) -> tuple[str, ...] | None:
    """None for 'auto' (harness.variants.recipes.chosen decides)."""
    if str(raw).strip().lower() == "auto":
        return None
    return _parse_choices(raw, names, "recipe")


def parse_runtimes(raw: Any) -> tuple[str, ...]:
    """onnxruntime-genai versions, e.g. ``0.18.0,0.14.1``; ``main``: the main environment's only."""
    items = _split_list(raw)
    if items == ["main"]:
        return ()
    bad = [x for x in items if not re.fullmatch(r"\d+\.\d+\.\d+", x)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not an onnxruntime-genai version (like 0.14.1)")
    return tuple(dict.fromkeys(items))


def parse_objective(raw: Any) -> str:
    return _parse_one(raw, OBJECTIVES, "objective")


def parse_fp16_cpu_fix(raw: Any) -> str:
    return _parse_one(raw, FP16_CPU_FIXES, "fp16 cpu correction")


def parse_profile(raw: Any) -> Profile:
    name = str(raw).strip().lower()
    if name not in PROFILES:
        raise ValueError(f"unknown profile (choose from {', '.join(PROFILES)})")
    return PROFILES[name]


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def parse_positive_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("expected a positive integer")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError("expected a positive integer") from None
    if value <= 0:
        raise ValueError("expected a positive integer")
    return value


MAX_ANSWER_BATCH = 32  # each row of a batch holds a KV cache of max_length tokens


def parse_answer_batch(raw: Any) -> int:
    value = parse_positive_int(raw)
    if value > MAX_ANSWER_BATCH:
        raise ValueError(f"expected at most {MAX_ANSWER_BATCH} (each prompt of a batch holds a KV cache of its own)")
    return value


def parse_optional_int(raw: Any) -> int | None:
    if str(raw).strip().lower() in ("auto", ""):
        return None
    return parse_positive_int(raw)


def _parse_number(raw: Any, accept: Callable[[float], bool], expected: str) -> float:
    """A float that ``accept`` allows; otherwise ValueError("expected <expected>")."""
    if isinstance(raw, bool):
        raise ValueError(f"expected {expected}")
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ValueError(f"expected {expected}") from None
    if not accept(value):  # also refuses NaN
        raise ValueError(f"expected {expected}")
    return value


def parse_seconds(raw: Any) -> float:
    return _parse_number(raw, lambda v: v > 0, "a number of seconds > 0")


def parse_optional_minutes(raw: Any) -> float | None:
    if str(raw).strip().lower() in ("none", ""):
        return None
    return _parse_number(raw, lambda v: v > 0, "a number of minutes > 0, or none")


def parse_share(raw: Any) -> float:
    return _parse_number(raw, lambda v: 0 <= v <= 1, "a number between 0 and 1")


def parse_non_negative(raw: Any) -> float:
    return _parse_number(raw, lambda v: v >= 0, "a number >= 0")


def parse_model(raw: Any) -> str:
    text = str(raw).strip()
    if not text:
        raise ValueError("empty model")
    return text


def parse_optional_path(raw: Any) -> Path | None:
    if str(raw).strip().lower() in ("auto", "none", ""):
        return None
    return parse_path(raw)


def parse_path(raw: Any) -> Path:
    text = str(raw).strip()
    if not text:
        raise ValueError("empty path")
    return Path(text).expanduser()
