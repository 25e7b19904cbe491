"""Build variants in subprocesses, in a content-addressed cache.

The cache key is a hash of the model's content hash, the build recipe and the toolchain versions,
so a new onnxruntime-genai (or onnx, transformers, torch, harness recipe) always rebuilds: a cache
that outlives its toolchain hides broken toolchains (Olive's own cache returned a model built by a
working toolchain to a broken one, seen with olive-ai 0.13.0). Several processes
(pytest-xdist workers) asking for the same variant wait on one file lock; one builds, the others
reuse it. Each build records its seconds, peak memory, size on disk, toolchain and the
quantization found in the built graph (``build.json`` beside the model).

``build.json`` also records the size and sha256 of every file the build made. A cached build is
verified against that record before it is used, once per process
(:func:`harness.variants.build_check.verify`): a file edited,
truncated, added to the record's list or removed since is named, and the build is made again. A
build whose record has no checksums (made by an older harness) is made again too: nothing that
cannot be checked is measured.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.common.cache import key_of, once
from harness.common.clock import now_iso
from harness.errors import BuildError
from harness.models.sources import ModelSource
from harness.variants.build_check import NO_CHECKSUMS, RECORD, manifest, verify
from harness.variants.builder import NO_INPUTS, BuildInputs, Progress, Workspace
from harness.variants.builders import BUILDERS
from harness.variants.graph import quantization_summary
from harness.variants.variant import Variant

RECIPE_VERSION = 4  # bump when the harness changes how it calls a builder


@dataclass(frozen=True)
class BuiltVariant:
    variant_id: str
    path: Path  # folder with model.onnx, genai_config.json and the tokenizer
    cache_key: str
    size_bytes: int  # the whole folder as shipped
    weights_bytes: int  # model.onnx + external data
    build_seconds: float  # wall time of the original build (not of a cache hit)
    peak_rss_bytes: int  # peak resident memory of the builder processes
    toolchain: dict
    recipe: dict
    quantization: dict
    cached: bool  # True when this run reused an earlier build
    correction: dict | None = None  # what the harness changed in the builder's output, and why
    verify_seconds: float | None = None  # checking a cached build's files against build.json (None: just built)
    rebuilt_because: str | None = None  # what was wrong with the cached build this one replaced

    def to_record(self) -> dict:
        record = asdict(self)
        record["path"] = str(self.path)
        return record


def toolchain(builder: str = "genai") -> dict:
    """The versions a build of ``builder`` is made with, and the harness's own recipe version."""
    return {**BUILDERS[builder].toolchain(), "harness_recipe": RECIPE_VERSION}


def recipe_for(variant: Variant, source: ModelSource, inputs: BuildInputs = NO_INPUTS) -> dict:
    """What is built, independent of where: the part of the cache key that is not model or tools
    (:meth:`harness.variants.builder.Builder.recipe`)."""
    return BUILDERS[variant.builder].recipe(variant, source, inputs)


def cache_key(source: ModelSource, recipe: dict, tools: dict) -> str:
    return key_of({"model": source.content_hash, "recipe": recipe, "toolchain": tools})


def build_variant(
    variant: Variant,
    source: ModelSource,
    cache_dir: Path,
    progress: Progress = lambda message: None,
    inputs: BuildInputs = NO_INPUTS,
) -> BuiltVariant:
    """Return the built variant, building it (once, under a lock) if the cache lacks it, and
    verifying a cached one (once per process). A variant measured under another runtime
    (``--runtimes``) is the same build as its twin; a mixed variant is assembled from the FP32
    build by ``inputs.mixed_plan``."""
    variant = variant.build
    tools = toolchain(variant.builder)
    recipe = recipe_for(variant, source, inputs)
    key = cache_key(source, recipe, tools)
    target = Path(cache_dir) / "builds" / f"{source.name}-{variant.id}-{key}"
    rebuilt_because: list[str] = []

    def ready(folder: Path) -> bool:
        if not folder.exists():
            return False
        problem = _check(folder, variant.id)
        if problem is not None:
            rebuilt_because.append(problem)
            progress(f"{problem}; building it again")
        return problem is None

    def make(folder: Path) -> None:
        progress(f"building {variant.id} of {source.name} ...")
        _make(variant, source, recipe, inputs, tools, key, folder, cache_dir, progress)
        _VERIFIED[folder] = None  # made and hashed by this process

    _, made = once(target, make, load=lambda folder: folder, ready=ready)
    built = _load(
        target,
        variant.id,
        cached=not made,
        verify_seconds=_VERIFIED[target],
        rebuilt_because=rebuilt_because[0] if rebuilt_because else None,
    )
    if made:
        progress(f"built {variant.id} in {built.build_seconds:.1f} s ({built.size_bytes / 1e6:.1f} MB)")
    return built


def _make(
    variant: Variant,
    source: ModelSource,
    recipe: dict,
    inputs: BuildInputs,
    tools: dict,
    key: str,
    target: Path,
    cache_dir: Path,
    progress: Progress,
) -> None:
    """Build into a temporary folder beside ``target``, record it (build.json), rename it into place."""
    builder = BUILDERS[variant.builder]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".tmp-") as tmp:
        space = Workspace(
            out=Path(tmp) / "out",
            scratch=Path(tmp),
            cache_dir=Path(cache_dir),
            progress=progress,
            build_other=lambda other: build_variant(other, source, cache_dir, progress),
        )
        peak = builder.make(variant, source, recipe, inputs, space)
        correction = builder.correct(space.out / "model.onnx", recipe, variant.id)
        record = {
            "variant_id": variant.id,
            "cache_key": key,
            "build_seconds": round(time.perf_counter() - started, 3),
            "peak_rss_bytes": peak,
            "toolchain": tools,
            "recipe": recipe,
            "quantization": quantization_summary(space.out / "model.onnx"),
            "model": source.to_record(),
            "built_at": now_iso(),
            "correction": correction,
            "files": manifest(space.out),
        }
        (space.out / RECORD).write_text(json.dumps(record, indent=2) + "\n")
        os.replace(space.out, target)


_VERIFIED: dict[Path, float | None] = {}  # build folder -> seconds verifying it took in this process (None: built here)


def _check(target: Path, variant_id: str) -> str | None:
    """None when the cached build is as it was built (verified once per process); otherwise what
    is wrong, the folder having been put aside to be built again. A damaged build that cannot be
    put aside is a BuildError naming the file."""
    if target in _VERIFIED:
        return None
    started = time.perf_counter()
    problem = verify(target)
    if problem is None:
        _VERIFIED[target] = round(time.perf_counter() - started, 3)
        return None
    state = "cannot be verified" if NO_CHECKSUMS in problem else "is damaged"
    aside = target.with_name(f".damaged-{target.name}-{os.getpid()}")
    try:
        os.replace(target, aside)
    except OSError as exc:
        raise BuildError(
            f"the cached build of {variant_id} {state}: {problem}; it cannot be built again here "
            f"({exc.strerror} when moving {target} aside): delete {target}"
        ) from None
    shutil.rmtree(aside, ignore_errors=True)
    return f"the cached build of {variant_id} {state}: {problem}"


def _load(
    target: Path,
    variant_id: str,
    *,
    cached: bool,
    verify_seconds: float | None = None,
    rebuilt_because: str | None = None,
) -> BuiltVariant:
    """A verified (or just made) build, its sizes those of the files its record lists."""
    record = json.loads((target / RECORD).read_text())
    files = record["files"]
    return BuiltVariant(
        variant_id=variant_id,
        path=target,
        cache_key=record["cache_key"],
        size_bytes=sum(f["bytes"] for f in files.values()),
        weights_bytes=sum(f["bytes"] for name, f in files.items() if Path(name).name.startswith("model.onnx")),
        build_seconds=record["build_seconds"],
        peak_rss_bytes=record["peak_rss_bytes"],
        toolchain=record["toolchain"],
        recipe=record["recipe"],
        quantization=record["quantization"],
        cached=cached,
        correction=record.get("correction"),
        verify_seconds=verify_seconds,
        rebuilt_because=rebuilt_because,
    )


def clear(cache_dir: Path) -> None:
    shutil.rmtree(cache_dir / "builds", ignore_errors=True)
