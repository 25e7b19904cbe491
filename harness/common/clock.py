"""Timestamps, in one format each: ISO 8601 with the offset for records, a compact one for ids."""

from __future__ import annotations

import time


def now_iso() -> str:
    """Local time with its UTC offset, e.g. ``2026-12-02T09:30:00+0000``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def compact_stamp() -> str:
    """``20261202-093000``: sorts by time, safe in a file name."""
    return time.strftime("%Y%m%d-%H%M%S")
