"""The machine's memory read bandwidth, measured once per machine and cached.

Decode on a CPU reads every weight once per token, so decode tokens/s × bytes read per token ÷
this bandwidth says how close a variant runs to the physical limit (bandwidth efficiency).

Method: sum a float32 array far larger than any CPU cache (256 MiB), split across one thread per
usable core (NumPy releases the GIL in reductions), best of several passes. The result is stored
in ``<cache>/machine/bandwidth-<machine fingerprint>.json`` with how it was measured, so every run
on the same machine divides by the same number.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from harness.common.clock import now_iso
from harness.common.files import write_json_atomic

ARRAY_BYTES = 256 * 2**20
PASSES = 7
METHOD = "numpy float32 sum, one thread per usable core, best of passes"


def measure(array_bytes: int = ARRAY_BYTES, passes: int = PASSES, threads: int | None = None) -> dict:
    """Measure read bandwidth now (bytes/s), with every pass kept."""
    import numpy as np

    threads = threads or len(os.sched_getaffinity(0))
    data = np.ones(array_bytes // 4, dtype=np.float32)
    parts = np.array_split(data, threads)
    np.add.reduce(data)  # touch every page once before timing
    samples = []
    for _ in range(passes):
        workers = [threading.Thread(target=np.add.reduce, args=(part,)) for part in parts]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        samples.append(data.nbytes / (time.perf_counter() - started))
    return {
        "bytes_per_s": max(samples),
        "samples_bytes_per_s": samples,
        "array_bytes": data.nbytes,
        "threads": threads,
        "method": METHOD,
        "measured_at": now_iso(),
    }


def machine_bandwidth(cache_dir: Path, fingerprint: str) -> tuple[dict, bool]:
    """The cached measurement for this machine, measuring it first if there is none.

    Returns the record and whether it came from the cache. The caller holds the measurement lock.
    """
    path = Path(cache_dir) / "machine" / f"bandwidth-{fingerprint}.json"
    try:
        record = json.loads(path.read_text())
        if record.get("method") == METHOD and record.get("bytes_per_s", 0) > 0:
            return record, True
    except (OSError, ValueError):
        pass
    record = dict(measure(), fingerprint=fingerprint)
    write_json_atomic(path, record)
    return record, False
