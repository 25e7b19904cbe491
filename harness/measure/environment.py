"""What machine and software a run measured on (recorded in every results.json)."""

from __future__ import annotations

import hashlib
import os
import platform
import sys

from harness.common.packages import versions_of

PACKAGES = (
    "onnxruntime-genai",
    "onnxruntime",
    "onnx",
    "olive-ai",
    "torch",
    "transformers",
    "tokenizers",
    "numpy",
    "pytest",
    "pytest-benchmark",
    "psutil",
    "pandas",
    "matplotlib",
    "datasets",
    "scipy",
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_versions() -> dict[str, str | None]:
    versions = versions_of(PACKAGES)
    return versions


def describe() -> dict:
    import psutil

    memory = psutil.virtual_memory().total
    cpu = cpu_model()
    logical = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = logical
    machine = {"cpu": cpu, "cores": usable, "memory_bytes": memory, "arch": platform.machine()}
    fingerprint = hashlib.sha256(repr(sorted(machine.items())).encode()).hexdigest()[:16]
    return {
        "cpu_model": cpu,
        "cores_logical": logical,
        "cores_physical": psutil.cpu_count(logical=False),
        "cores_usable": usable,
        "memory_total_bytes": memory,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "packages": package_versions(),
        "machine_fingerprint": fingerprint,
    }
