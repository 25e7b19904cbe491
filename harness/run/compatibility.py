"""Which builder release's graphs load and answer in which runtime release: ``python -m harness compatibility``.

Builder releases: the main environment's onnxruntime-genai (its builder, as every run builds) and
0.14.1's, which the Olive toolchain holds (the builder Olive's ModelBuilder pass runs). Runtime
releases: the main environment's and each ``runtime-X.Y.Z`` toolchain (as ``--runtimes`` runs them).

For each builder release and precision the model is built once with the plain builder (block size
32 under that release's option name; nothing corrected); for each runtime release a worker of
that release loads the graph and answers the model's first domain prompts greedily. A cell says
whether the graph loaded, how many prompts got a non-empty answer, and how many answers are
token for token those of the same graph under the builder's own release. The matrix is measured,
never assumed: ``tests/e2e/test_compatibility.py`` runs it and requires docs/compatibility.md to
hold exactly its table.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.common import toolchains
from harness.common.cache import key_of, once
from harness.common.packages import version_of
from harness.errors import BuildError, GenerationError, HarnessError
from harness.models.sources import ModelSource
from harness.run.run import Run
from harness.runtime.client import WorkerSession
from harness.runtime.protocol import SessionSpec
from harness.variants.builder import BLOCK_SIZE, run_step

FORMAT = 1  # bump when a compatibility build is made differently
PRECISIONS = ("fp32", "int8", "int4")
PROMPTS = 5  # domain prompts each cell answers
NEW_TOKENS = 24
MAX_LENGTH = 512

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuilderRelease:
    """One onnxruntime-genai release's model builder and the names its options go by."""

    version: str
    precisions: tuple[str, ...]  # what its -p offers among PRECISIONS
    block_size_option: str
    toolchain: toolchains.Toolchain | None  # None: the main environment

    def python(self, cache_dir: Path, progress: Progress) -> tuple[str, dict | None]:
        if self.toolchain is None:
            return sys.executable, None
        python = toolchains.prepare(self.toolchain, cache_dir, progress)
        return str(python), toolchains.environment(self.toolchain, cache_dir)


def builder_releases() -> dict[str, BuilderRelease]:
    """The main environment's builder and 0.14.1's (from the Olive toolchain, which pins it)."""
    main = version_of("onnxruntime-genai") or "unknown"
    olive = toolchains.OLIVE.versions()["onnxruntime-genai"]
    return {
        main: BuilderRelease(main, PRECISIONS, "block_size", None),
        olive: BuilderRelease(olive, ("fp32", "int4"), "int4_block_size", toolchains.OLIVE),
    }


def build(
    source: ModelSource,
    release: BuilderRelease,
    precision: str,
    cache_dir: Path,
    progress: Progress = lambda line: None,
) -> Path:
    """The model built by ``release``'s builder at ``precision``, once, in the cache."""
    recipe = {
        "format": FORMAT,
        "model": source.content_hash,
        "builder": release.version,
        "precision": precision,
        "options": {release.block_size_option: BLOCK_SIZE} if precision in ("int4", "int8") else {},
    }
    target = (
        Path(cache_dir) / "compatibility" / f"{source.name}-{precision}-builder{release.version}-{key_of(recipe, 16)}"
    )

    def make(folder: Path) -> None:
        python, env = release.python(cache_dir, progress)
        progress(f"building {precision} of {source.name} with onnxruntime-genai {release.version}'s builder ...")
        with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".tmp-") as tmp:
            out = Path(tmp) / "out"
            command = [
                python,
                "-P",
                "-m",
                "onnxruntime_genai.models.builder",
                "-i",
                str(source.path),
                "-o",
                str(out),
                "-p",
                precision,
                "-e",
                "cpu",
                "-c",
                str(Path(tmp) / "hf-cache"),
            ]
            if recipe["options"]:
                command += ["--extra_options", *[f"{k}={v}" for k, v in recipe["options"].items()]]
            run_step(command, f"{precision} (builder {release.version})", env=env)
            (out / "compatibility.json").write_text(json.dumps(recipe, indent=2) + "\n", encoding="utf-8")
            os.replace(out, folder)

    folder, _ = once(
        target, make, load=lambda folder: folder, ready=lambda folder: (folder / "genai_config.json").is_file()
    )
    return folder


def answer(
    folder: Path,
    runtime: str,
    main_runtime: str,
    prompts: list[str],
    cache_dir: Path,
    progress: Progress = lambda line: None,
) -> dict:
    """Load ``folder`` in a worker of onnxruntime-genai ``runtime`` and answer ``prompts`` greedily:
    ``{"loaded", "answers" (token ids per prompt), "error"}``."""
    interpreter = toolchains.interpreter(None if runtime == main_runtime else runtime, cache_dir, progress)
    try:
        session = WorkerSession(
            SessionSpec(str(folder), max_length=MAX_LENGTH),
            f"{folder.name}@{runtime}",
            timeout=300,
            load_timeout=300,
            max_restarts=0,
            interpreter=interpreter,
        )
    except GenerationError as exc:
        return {"loaded": False, "answers": [], "error": f"does not load: {_one_line(exc)}"}
    try:
        answers = [list(session.generate(p, max_new_tokens=NEW_TOKENS).tokens) for p in prompts]
        reported = session.ready.get("runtime", {}).get("onnxruntime-genai")
        if reported not in (None, runtime):
            raise HarnessError(f"a worker meant for onnxruntime-genai {runtime} ran {reported}")
        return {"loaded": True, "answers": answers, "error": None}
    except GenerationError as exc:
        return {"loaded": True, "answers": [], "error": f"loads, then fails: {_one_line(exc)}"}
    finally:
        session.close()


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:200] + ("..." if len(text) > 200 else "")


def measure(
    model: str, cache_dir: Path, runtimes: tuple[str, ...] = ("0.18.0", "0.14.1"), progress: Progress = print
) -> dict:
    """Every builder release x precision x runtime release, as cells of a matrix."""
    run = Run.for_model(model, cache_dir, progress)
    source = run.source
    prompts = [run.formatter(list(e.messages)) for e in run.examples[:PROMPTS]]
    main_runtime = version_of("onnxruntime-genai") or "unknown"
    cells = []
    for release in builder_releases().values():
        for precision in PRECISIONS:
            if precision not in release.precisions:
                cells.append(
                    {
                        "builder": release.version,
                        "precision": precision,
                        "runtime": None,
                        "status": "not offered",
                        "note": f"the {release.version} builder has no -p {precision}",
                    }
                )
                continue
            started = time.perf_counter()
            try:
                folder = build(source, release, precision, cache_dir, progress)
            except BuildError as exc:
                cells.append(
                    {
                        "builder": release.version,
                        "precision": precision,
                        "runtime": None,
                        "status": "build fails",
                        "note": _one_line(exc),
                    }
                )
                continue
            found = {
                runtime: answer(folder, runtime, main_runtime, prompts, cache_dir, progress) for runtime in runtimes
            }
            native = found.get(release.version, {}).get("answers")
            for runtime, result in found.items():
                answered = sum(1 for a in result["answers"] if a)
                same = sum(a == b for a, b in zip(result["answers"], native)) if native and result["answers"] else None
                cells.append(
                    {
                        "builder": release.version,
                        "precision": precision,
                        "runtime": runtime,
                        "status": "answers" if result["loaded"] and not result["error"] else "fails",
                        "answered": answered,
                        "prompts": len(prompts),
                        "same_as_builders_runtime": same if runtime != release.version else None,
                        "note": result["error"],
                    }
                )
            progress(f"{precision} by builder {release.version}: {time.perf_counter() - started:.0f} s")
    return {
        "model": source.name,
        "runtimes": list(runtimes),
        "main_runtime": main_runtime,
        "prompts": len(prompts),
        "new_tokens": NEW_TOKENS,
        "cells": cells,
    }


def render(result: dict) -> str:
    """The matrix as a Markdown table: a row per builder release and precision, a column per runtime."""
    runtimes = result["runtimes"]
    lines = [
        f"| builder release | precision | {' | '.join(f'runtime {r}' for r in runtimes)} |",
        "| --- | --- |" + " --- |" * len(runtimes),
    ]
    rows: dict[tuple, dict] = {}
    for cell in result["cells"]:
        rows.setdefault((cell["builder"], cell["precision"]), {})[cell["runtime"]] = cell
    for (builder, precision), cells in rows.items():
        if None in cells:  # not built: one note across the row
            note = f"{cells[None]['status']}: {cells[None]['note']}"
            lines.append(f"| {builder} | {precision} | " + " | ".join([note] + ["—"] * (len(runtimes) - 1)) + " |")
            continue
        lines.append(f"| {builder} | {precision} | " + " | ".join(_cell(cells[r], builder) for r in runtimes) + " |")
    return "\n".join(lines) + "\n"


def _cell(cell: dict, builder: str) -> str:
    if cell["status"] != "answers":
        return cell["note"]
    text = f"answers {cell['answered']} of {cell['prompts']}"
    if cell["same_as_builders_runtime"] is not None:
        text += f"; {cell['same_as_builders_runtime']} of {cell['prompts']} token for token as under {builder}"
    return text
