"""Toolchains: pinned package sets that run in virtual environments of their own.

The main environment holds the runtime that ships (onnxruntime-genai 0.18.0, the version
Foundry Local runs) and its builder. Two kinds of work need other versions, and get a toolchain:

- ``olive``: olive-ai 0.13.0 (the newest) builds only with onnxruntime-genai 0.14.1, so the
  ``olive``, ``gptq`` and ``awq`` builders run in a toolchain with those pins;
- ``runtime-X.Y.Z``: ``--runtimes`` measures a build under another onnxruntime-genai release;
  its workers run in a toolchain holding that release, onnxruntime, numpy and psutil, and import
  the harness itself through a folder that holds nothing but a link to the harness package.

A toolchain is a virtual environment under ``<cache>/toolchains/<name>-<key>/``; the key hashes the
pins and the Python version, so a change of either prepares a new one beside the old. It never
sees the main environment's packages (no system site packages, no user site, no inherited
``PYTHONPATH``). It is prepared once, under a file lock (parallel workers wait for one
preparation), with one progress line, and is marked ready only when pip finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.common.cache import once
from harness.common.clock import now_iso
from harness.common.processes import die_with_parent, stop_if_interrupted
from harness.errors import HarnessError

FORMAT = 1  # bump when the way a toolchain is laid out changes
ONNXRUNTIME = "onnxruntime==1.31.0"  # what onnxruntime-genai 0.18.0 needs and Foundry Local's SDK pins
OLIVE_PINS = (
    "olive-ai==0.13.0",
    "onnxruntime-genai==0.14.1",
    ONNXRUNTIME,
    "onnx==1.23.2",
    "torch==2.13.0",
    "transformers==5.24.0",
    "tokenizers==0.23.3",
    "safetensors==0.8.0",
    "numpy==2.4.6",
    "requests==2.34.2",  # olive-ai imports it without declaring it
    "datasets==5.2.0",  # the gptq/awq recipes read their calibration file through it
    "psutil==7.2.2",
)
RUNTIME_PINS = (ONNXRUNTIME, "numpy==2.4.6", "psutil==7.2.2")  # beside onnxruntime-genai==VERSION
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Toolchain:
    name: str
    pins: tuple[str, ...]
    imports_harness: bool = False  # its processes run harness modules (runtime workers)

    @property
    def key(self) -> str:
        blob = json.dumps(
            {"pins": sorted(self.pins), "python": f"{sys.version_info[0]}.{sys.version_info[1]}", "format": FORMAT}
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def versions(self) -> dict[str, str]:
        """Package -> pinned version, as build records and results name them."""
        return dict(pin.split("==", 1) for pin in self.pins)

    def folder(self, cache_dir: Path) -> Path:
        return Path(cache_dir).resolve() / "toolchains" / f"{self.name}-{self.key}"

    def python(self, cache_dir: Path) -> Path:
        return self.folder(cache_dir) / "bin" / "python"

    def prepare_command(self, cache_dir: Path) -> str:
        return f"python -m harness toolchain {self.name} --cache-dir {cache_dir}"


OLIVE = Toolchain("olive", OLIVE_PINS)


def runtime(version: str) -> Toolchain:
    """The toolchain whose workers run onnxruntime-genai ``version``."""
    if not _VERSION.match(version):
        raise HarnessError(f"option --runtimes: {version!r} is not an onnxruntime-genai version (like 0.14.1)")
    return Toolchain(f"runtime-{version}", (f"onnxruntime-genai=={version}", *RUNTIME_PINS), imports_harness=True)


def named(name: str) -> Toolchain:
    """``olive`` or ``runtime-X.Y.Z`` (the ``python -m harness toolchain`` argument)."""
    if name == OLIVE.name:
        return OLIVE
    if name.startswith("runtime-"):
        return runtime(name.removeprefix("runtime-"))
    raise HarnessError(f"unknown toolchain {name!r}: give 'olive' or 'runtime-VERSION' (e.g. runtime-0.14.1)")


def prepare(toolchain: Toolchain, cache_dir: Path, progress: Progress = lambda message: None) -> Path:
    """The toolchain's Python, preparing the toolchain first if the cache lacks it (once, under a
    lock). A pip that cannot get a pin raises HarnessError: one line naming the package and the
    command that prepares the toolchain."""

    def make(folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)  # a preparation that was interrupted
        progress(f"preparing toolchain {toolchain.name} ({', '.join(toolchain.pins)}) in {folder}, once ...")
        base = getattr(sys, "_base_executable", sys.executable)
        _pip(toolchain, cache_dir, [base, "-m", "venv", str(folder)], "create its environment")
        _pip(
            toolchain,
            cache_dir,
            [
                str(toolchain.python(cache_dir)),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *toolchain.pins,
            ],
            "install its packages",
        )
        record = {
            "name": toolchain.name,
            "key": toolchain.key,
            "pins": list(toolchain.pins),
            "python": sys.version.split()[0],
            "prepared_at": now_iso(),
        }
        (folder / "toolchain.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        progress(f"prepared toolchain {toolchain.name}")

    once(
        toolchain.folder(cache_dir),
        make,
        load=lambda folder: folder,
        ready=lambda folder: (folder / "toolchain.json").is_file(),
    )
    return toolchain.python(cache_dir)


def environment(toolchain: Toolchain, cache_dir: Path, extra: dict | None = None) -> dict:
    """The environment a toolchain's process runs in: nothing of the main environment's packages."""
    env = _clean_environment()
    env["VIRTUAL_ENV"] = str(toolchain.folder(cache_dir))
    if toolchain.imports_harness:
        env["PYTHONPATH"] = str(_harness_only(cache_dir))
    env.update(extra or {})
    return env


def _harness_only(cache_dir: Path) -> Path:
    """A folder holding only a link to this harness package, so that a toolchain's Python imports
    the harness (pure Python, numpy) without seeing anything else installed beside it."""
    package = Path(__file__).resolve().parents[1]
    folder = (
        Path(cache_dir).resolve()
        / "toolchains"
        / "harness-path"
        / hashlib.sha256(str(package).encode()).hexdigest()[:12]
    )
    link = folder / "harness"
    if not link.is_symlink():
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".harness-{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(package, target_is_directory=True)
        os.replace(temporary, link)
    return folder


def _clean_environment() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _pip(toolchain: Toolchain, cache_dir: Path, command: list[str], step: str) -> None:
    result = subprocess.run(
        command, capture_output=True, text=True, env=_clean_environment(), preexec_fn=die_with_parent()
    )
    stop_if_interrupted(result.returncode)
    if result.returncode == 0:
        return
    shutil.rmtree(toolchain.folder(cache_dir), ignore_errors=True)
    output = result.stdout + result.stderr
    missing = re.findall(r"No matching distribution found for (\S+)", output)
    offered = re.findall(r"requirement (\S+?)==(\S+) \(from versions: ([^)]*)\)", output)
    if offered and offered[-1][2].strip() != "none":
        package, version, listed = offered[-1]
        raise HarnessError(
            f"toolchain {toolchain.name}: {package} {version} does not exist on the package index "
            f"(nearest releases it has: {', '.join(nearest(version, listed.split(', ')))})"
        )
    if missing:
        why = f"pip found no {missing[-1]} (no package index or wheel folder reachable?)"
    else:
        lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith("WARNING")]
        why = f"{lines[-1] if lines else 'no output'} (exit status {result.returncode})"
    raise HarnessError(
        f"toolchain {toolchain.name} could not {step}: {why}; point pip at an index or a wheel "
        f"folder (PIP_INDEX_URL, PIP_FIND_LINKS) and run: {toolchain.prepare_command(cache_dir)}"
    )


def nearest(version: str, available: list[str], count: int = 4) -> list[str]:
    """The releases among ``available`` closest to ``version`` in version order (final releases
    only, unless ``version`` is a pre-release), oldest first."""
    from packaging.version import InvalidVersion, Version

    def parsed(text: str):
        try:
            return Version(text.strip())
        except InvalidVersion:
            return None

    wanted = parsed(version)
    releases = sorted(
        v
        for v in map(parsed, available)
        if v is not None and (not v.is_prerelease or (wanted and wanted.is_prerelease))
    )
    if wanted is None or not releases:
        return [str(v) for v in releases[-count:]]
    below, above = [v for v in releases if v < wanted], [v for v in releases if v > wanted]
    after = above[: max(count // 2, count - len(below))]
    before = below[max(0, len(below) - (count - len(after))) :]
    return [str(v) for v in before + after]


@dataclass(frozen=True)
class Interpreter:
    """How to start a Python process of one runtime: the start of its command line and its
    environment (None: this process's own)."""

    command: tuple[str, ...]
    env: dict | None = None


MAIN = Interpreter((sys.executable,))


def interpreter(version: str | None, cache_dir: Path, progress: Progress = lambda message: None) -> Interpreter:
    """Where a worker of onnxruntime-genai ``version`` runs (None: the main environment), preparing
    its toolchain first if needed. ``-P``: its harness comes from the link folder, not from the
    working directory."""
    if version is None:
        return MAIN
    chain = runtime(version)
    python = prepare(chain, cache_dir, progress)
    return Interpreter((str(python), "-P"), environment(chain, cache_dir))
