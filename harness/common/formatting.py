"""Figures as text, one way everywhere (reports, the terminal, compare, the recommendation): three
significant digits, thousands with separators, a dash for what is missing."""

from __future__ import annotations

import math


def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def with_interval(value, interval, digits: int = 3) -> str:
    text = fmt(value, digits)
    if value is not None and interval and None not in interval and interval[0] != interval[1]:
        text += f" [{fmt(interval[0], digits)}, {fmt(interval[1], digits)}]"
    return text


def with_uncertainty(value, uncertainty, digits: int = 3) -> str:
    text = fmt(value, digits)
    if value is not None and uncertainty:
        text += f" ± {fmt(uncertainty, 2)}"
    return text
