"""Build variants in subprocesses, in a content-addressed cache.

The cache key is a hash of the model's content hash, the build recipe and the toolchain versions,
so a new onnxruntime-genai (or onnx, transformers, torch, harness recipe) always rebuilds: a cache
that outlives its toolchain hides broken toolchains (Olive's own cache returned a model built by a
working toolchain to a broken one, seen with olive-ai 0.13.0). Several processes
(pytest-xdist workers) asking for the same variant wait on one file lock; one builds, the others
reuse it. Each build records its seconds, peak memory, size on disk, toolchain and the
quantization found in the built graph (``build.json`` beside the model).

``build.json`` also records the size and sha256 of every file the build made. A cached build is
verified against that record before it is used, once per process (:func:`verify`): a file edited,
truncated, added to the record's list or removed since is named, and the build is made again. A
build whose record has no checksums (made by an older harness) is made again too: nothing that
cannot be checked is measured.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

from filelock import FileLock

from harness.common import toolchains
from harness.common.clock import now_iso
from harness.common.packages import versions_of
from harness.common.processes import die_with_parent
from harness.errors import BuildError
from harness.models.sources import ModelSource
from harness.variants import fp16_cpu, mixed
from harness.variants import olive as olive_build
from harness.variants.build_check import NO_CHECKSUMS, RECORD, manifest, verify
from harness.variants.builders import BLOCK_SIZE, BUILDERS
from harness.variants.graph import quantization_summary
from harness.variants.matrix import Variant
from harness.variants.recipes import DEFAULT_RECIPE, RECIPES

RECIPE_VERSION = 4  # bump when the harness changes how it calls a builder
TOOLCHAIN_PACKAGES = ("onnxruntime-genai", "onnxruntime", "onnx", "onnx-ir", "transformers", "torch")

Progress = Callable[[str], None]


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
    """The versions a build of ``builder`` is made with: the main environment's builder, or the
    pins of the Olive toolchain (``olive``, ``gptq``, ``awq``)."""
    if BUILDERS[builder].olive:
        versions = {"toolchain": toolchains.OLIVE.name, **toolchains.OLIVE.versions()}
    else:
        versions = versions_of(TOOLCHAIN_PACKAGES)
    versions["harness_recipe"] = RECIPE_VERSION
    return versions


def recipe_for(variant: Variant, olive_recipe: dict | None = None, calibration: list[str] | None = None,
               *, uses_gqa: bool = False, fp16_cpu_fix: str = fp16_cpu.DEFAULT_FIX,
               mixed_plan: dict | None = None) -> dict:
    """What is built, independent of where: the part of the cache key that is not model or tools.
    ``olive_recipe`` is the user's ``--recipe`` (olive builder); ``calibration`` the texts that
    GPTQ/AWQ calibrate on (their hash is part of the key). An fp16 CPU build of a model with
    grouped-query attention names its correction (:mod:`harness.variants.fp16_cpu`) and its version."""
    if variant.precision == mixed.PRECISION:  # the FP32 build, quantized group by group (harness.variants.mixed)
        if not mixed_plan:
            raise BuildError(f"{variant.id} needs a plan (--plan FILE, or --search to find one)", "")
        return {"builder": variant.builder, "precision": variant.precision, "provider": variant.provider,
                "block_size": BLOCK_SIZE, "plan": dict(mixed_plan), "mixed_format": mixed.PLAN_FORMAT}
    recipe = _recipe(variant, olive_recipe, calibration)
    if fp16_cpu.needed(variant.precision, variant.provider, uses_gqa):
        recipe["fp16_cpu_fix"] = fp16_cpu.recipe_entry(fp16_cpu_fix, variant.builder)
    return recipe


def _recipe(variant: Variant, olive_recipe: dict | None, calibration: list[str] | None) -> dict:
    if BUILDERS[variant.builder].calibrated:
        return {"builder": variant.builder, "mode": "calibrated", "precision": variant.precision,
                "provider": variant.provider, "block_size": BLOCK_SIZE,
                "samples": olive_build.CALIBRATION_SAMPLES, "max_tokens": olive_build.CALIBRATION_MAX_TOKENS,
                "calibration_sha256": hashlib.sha256(json.dumps(calibration or []).encode()).hexdigest(),
                "calibration_texts": len(calibration or [])}
    if variant.builder == "olive":
        return {"builder": "olive", "mode": "recipe" if olive_recipe is not None else "auto-opt",
                "precision": variant.precision, "provider": variant.provider, "olive_recipe": olive_recipe,
                "block_size": olive_build.requested_block_size(olive_recipe) or BLOCK_SIZE}
    options = {}
    if variant.precision in ("int4", "int8"):
        # onnxruntime-genai 0.18.0's names (0.14.1 took int4_block_size); the built graph's
        # MatMulNBits attributes are read back into build.json, not trusted from these flags
        options = {"block_size": BLOCK_SIZE, **RECIPES[variant.recipe].options}
    built = {"builder": variant.builder, "precision": variant.precision,
             "provider": variant.provider, "extra_options": options}
    if variant.recipe != DEFAULT_RECIPE:  # the default's key stays as it was before recipes: its builds are kept
        built["quantization_recipe"] = variant.recipe
    return built


def cache_key(source: ModelSource, recipe: dict, tools: dict) -> str:
    blob = json.dumps({"model": source.content_hash, "recipe": recipe, "toolchain": tools},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def build_variant(variant: Variant, source: ModelSource, cache_dir: Path,
                  progress: Progress = lambda message: None, olive_recipe: dict | None = None,
                  calibration: list[str] | None = None,
                  fp16_cpu_fix: str = fp16_cpu.DEFAULT_FIX, mixed_plan: dict | None = None) -> BuiltVariant:
    """Return the built variant, building it (once, under a lock) if the cache lacks it. A variant
    measured under another runtime (``--runtimes``) is the same build as its twin; a mixed variant
    is assembled from the FP32 build by ``mixed_plan``."""
    variant = variant.build
    tools = toolchain(variant.builder)
    recipe = recipe_for(variant, olive_recipe, calibration, uses_gqa=source.uses_gqa, fp16_cpu_fix=fp16_cpu_fix,
                        mixed_plan=mixed_plan)
    key = cache_key(source, recipe, tools)
    target = cache_dir / "builds" / f"{source.name}-{variant.id}-{key}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        rebuilt_because = None
        if target.exists():
            cached = _cached(target, variant.id)
            if isinstance(cached, BuiltVariant):
                return cached
            rebuilt_because = cached
            progress(f"{cached}; building it again")
        progress(f"building {variant.id} of {source.name} ...")
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".tmp-") as tmp:
            staging = Path(tmp) / "out"
            if BUILDERS[variant.builder].olive:
                work = Path(tmp) / "olive"  # Olive's working folder and cache: new for every build
                work.mkdir()
                calibrated = BUILDERS[variant.builder].calibrated
                if calibrated and not calibration:
                    raise BuildError(f"{variant.id} needs calibration data: give --calibration PATH", "")
                python = toolchains.prepare(toolchains.OLIVE, cache_dir, progress)
                command = olive_build.command(python, variant.precision, variant.provider, source.path, staging, work,
                                              None if calibrated else olive_recipe, calibration,
                                              variant.builder if calibrated else None)
                peak = run_step(command, variant.id, cwd=work,
                            env=toolchains.environment(toolchains.OLIVE, cache_dir))
                if not (staging / "model.onnx").is_file():  # Olive can exit 0 having produced nothing
                    raise BuildError(f"build of {variant.id}: Olive exited without a model in {staging}",
                                     _olive_log_tail(work))
            elif variant.precision == mixed.PRECISION:
                fp32 = build_variant(Variant("fp32", variant.provider, variant.builder), source, cache_dir, progress)
                plan_file = Path(tmp) / "plan.json"
                mixed.write_plan(plan_file, recipe["plan"], source.to_record())
                peak = run_step([sys.executable, "-m", "harness.variants.mixed", str(fp32.path), str(plan_file),
                                 str(staging)], variant.id)
            else:
                peak = run_step(_builder_command(variant, source, staging, Path(tmp) / "hf-cache", recipe),
                                variant.id)
            correction = _correct(staging / "model.onnx", recipe, variant.id)
            seconds = time.perf_counter() - started
            record = {
                "variant_id": variant.id, "cache_key": key, "build_seconds": round(seconds, 3),
                "peak_rss_bytes": peak, "toolchain": tools, "recipe": recipe,
                "quantization": quantization_summary(staging / "model.onnx"),
                "model": source.to_record(), "built_at": now_iso(),
                "correction": correction,
                "files": manifest(staging),
            }
            (staging / "build.json").write_text(json.dumps(record, indent=2) + "\n")
            os.replace(staging, target)
        _VERIFIED[target] = None  # made and hashed by this process
        built = replace(_load(target, variant.id, cached=False), rebuilt_because=rebuilt_because)
        progress(f"built {variant.id} in {seconds:.1f} s ({built.size_bytes / 1e6:.1f} MB)")
        return built


def _builder_command(variant: Variant, source: ModelSource, out: Path, hf_cache: Path,
                     recipe: dict) -> list[str]:
    args = ["-i", str(source.path), "-o", str(out), "-p", variant.precision, "-e", variant.provider,
            "-c", str(hf_cache)]
    extra = recipe["extra_options"]
    if extra:
        args += ["--extra_options", *[f"{k}={v}" for k, v in extra.items()]]
    if recipe.get("fp16_cpu_fix", {}).get("name") == "gqa":
        return fp16_cpu.gqa_builder_command(args)
    return [sys.executable, "-m", "onnxruntime_genai.models.builder", *args]


def _correct(model: Path, recipe: dict, variant_id: str) -> dict | None:
    """The recipe's fp16 CPU correction, applied and stated (None when the build needs none)."""
    fix = recipe.get("fp16_cpu_fix")
    if fix is None:
        return None
    correction = fp16_cpu.correct(model, fix["name"])
    if fix["name"] == "gqa" and not correction["changed"]:
        raise BuildError(f"build of {variant_id}: the 'gqa' fp16 CPU correction left no GroupQueryAttention "
                         "node: this onnxruntime-genai builder no longer takes it; use --fp16-cpu-fix relabel")
    return correction


def run_step(command: list[str], variant_id: str, cwd: Path | None = None, env: dict | None = None) -> int:
    """Run one builder step; return its peak RSS in bytes; raise BuildError with its output tail."""
    env = dict(os.environ if env is None else env, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_DATASETS_OFFLINE="1")
    # with a working folder, the output stays there (build.log) for a later look
    with (open(cwd / "build.log", "w+") if cwd is not None else tempfile.TemporaryFile(mode="w+")) as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                preexec_fn=die_with_parent())
        _, status, usage = os.wait4(proc.pid, 0)  # per-child rusage: its own peak memory
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            log.seek(0)
            tail = log.read()[-4000:]
            raise BuildError(f"build of {variant_id} failed (exit status {proc.returncode}): "
                             f"{' '.join(command[1:5])} ...", tail)
    return int(usage.ru_maxrss) * 1024  # Linux reports KiB


def _olive_log_tail(work: Path) -> str:
    log = work / "build.log"
    return log.read_text(errors="replace")[-4000:] if log.is_file() else "(Olive left no log)"


_VERIFIED: dict[Path, float | None] = {}  # build folder -> seconds verifying it took in this process (None: built here)


def _cached(target: Path, variant_id: str) -> BuiltVariant | str:
    """The cached build, verified (once per process); or, when it failed verification, what was
    wrong, the folder having been put aside to be built again. A damaged build that cannot be put
    aside is a BuildError naming the file."""
    if target in _VERIFIED:
        return _load(target, variant_id, cached=True, verify_seconds=_VERIFIED[target])
    started = time.perf_counter()
    problem = verify(target)
    if problem is None:
        _VERIFIED[target] = round(time.perf_counter() - started, 3)
        return _load(target, variant_id, cached=True, verify_seconds=_VERIFIED[target])
    state = "cannot be verified" if NO_CHECKSUMS in problem else "is damaged"
    aside = target.with_name(f".damaged-{target.name}-{os.getpid()}")
    try:
        os.replace(target, aside)
    except OSError as exc:
        raise BuildError(f"the cached build of {variant_id} {state}: {problem}; it cannot be built again here "
                         f"({exc.strerror} when moving {target} aside): delete {target}") from None
    shutil.rmtree(aside, ignore_errors=True)
    return f"the cached build of {variant_id} {state}: {problem}"


def _load(target: Path, variant_id: str, *, cached: bool, verify_seconds: float | None = None) -> BuiltVariant:
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
    )


def clear(cache_dir: Path) -> None:
    shutil.rmtree(cache_dir / "builds", ignore_errors=True)
