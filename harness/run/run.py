"""One run in one process: the model, the evaluation set, the variant matrix, and the builds,
worker sessions and reference results made for it, each made once and remembered (failures too).

The pytest plugin (:mod:`harness.plugin`) keeps one :class:`Run` per pytest process and adapts it
to tests; the commands of ``python -m harness`` make their own. Nothing here knows pytest.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.common import toolchains
from harness.common.clock import now_iso
from harness.common.files import usable_folder
from harness.common.packages import version_of
from harness.errors import BuildError, HarnessError
from harness.evaluation.datasets import EvalSet, load_examples
from harness.evaluation.lengths import check_lengths, token_counter
from harness.evaluation.model_sets import calibration_path, calibration_texts, default_dataset
from harness.evaluation.prompts import ChatFormatter
from harness.evaluation.records import Example
from harness.gates.judge import Judgement, judge, strict
from harness.gates.spec import Gate, load_gates
from harness.models.sources import ModelSource, resolve_model
from harness.results.store import ResultsStore
from harness.results.view import RunResults, read
from harness.run.search import mixed_plan, mixed_settings
from harness.runtime.client import MAX_RESTARTS, WorkerSession
from harness.runtime.protocol import SessionSpec
from harness.settings import config as cfg
from harness.variants import recipes
from harness.variants.build import BuiltVariant, build_variant
from harness.variants.builder import NO_INPUTS, BuildInputs
from harness.variants.builders import BUILDERS
from harness.variants.matrix import PlannedVariant, plan
from harness.variants.mixed import PRECISION as MIXED
from harness.variants.olive import CALIBRATION_SAMPLES, read_recipe
from harness.variants.recipes import RECIPES
from harness.variants.search import SearchFailed
from harness.variants.variant import Variant

# the names the settings accept for the builders and the quantization recipes (harness.settings.resolve.resolve)
SETTING_CHOICES = {"builders": tuple(BUILDERS), "recipes": tuple(RECIPES)}


@dataclass
class Run:
    """What one run plans, builds and opens, each once per process."""

    config: cfg.RunConfig
    started_at: str = field(default_factory=now_iso)
    source: ModelSource | None = None
    examples: list[Example] = field(default_factory=list)  # the domain set every suite draws on
    eval_set: EvalSet | None = None
    formatter: ChatFormatter | None = None
    gates: list[Gate] = field(default_factory=list)
    gates_origin: str = ""
    tool_table: tuple[dict, str] = ({}, "[tool.harness]")  # [tool.harness] and where it was read
    baseline: RunResults | None = None
    planned: list[PlannedVariant] = field(default_factory=list)
    extra_planned: dict[str, PlannedVariant] = field(default_factory=dict)  # references not in the matrix
    olive_recipe: dict | None = None  # --olive-recipe, read and checked
    given_plan: dict | None = None  # --plan, read and checked against the model's groups
    builds: dict[str, BuiltVariant | BaseException] = field(default_factory=dict)
    sessions: dict[str, WorkerSession | BaseException] = field(default_factory=dict)
    pending: dict[str, dict] = field(default_factory=dict)  # variant id -> fields to report
    store: ResultsStore | None = None
    setup_error: str | None = None
    size_share: float = 1.0  # --budget: how far the suites' sizes stay from the quick profile's (harness.run.budget)
    progress: Callable[[str], None] = lambda message: None

    @classmethod
    def for_model(cls, model: str, cache_dir: Path, progress: Callable[[str], None]) -> Run:
        """A planned run of the defaults for one model, as the side-by-side commands use it (the
        model, its own data set and prompt format); a user error is raised."""
        config = cfg.RunConfig(
            model=model,
            cache_dir=Path(cache_dir),
            sources={"model": "option --model", "cache_dir": "option --cache-dir"},
        )
        run = cls(config, progress=progress)
        run.plan()
        if run.setup_error is not None:
            raise HarnessError(run.setup_error)
        return run

    def build_variant(self, variant: Variant, inputs: BuildInputs = NO_INPUTS) -> BuiltVariant:
        """A build of this run's model that need not be in the matrix (another correction, another route)."""
        return build_variant(variant, self.source, self.config.cache_dir, self.progress, inputs)

    @property
    def max_length(self) -> int:
        assert self.source is not None
        return self.config.max_length or min(self.source.context_length, cfg.CONTEXT_CAP)

    def plan(self) -> None:
        """Resolve the model, the data and the matrix once, checking everything a user gave
        before any work. A user error is remembered in ``setup_error`` (the caller decides how to
        stop), not raised."""
        if self.source is not None or self.setup_error is not None:
            return
        config = self.config
        try:
            usable_folder(config.cache_dir, "cache folder", config.sources.get("cache_dir", "default"))
            self.source = resolve_model(
                config.model, config.sources.get("model", "option --model"), config.cache_dir, self.progress
            )
            self.eval_set = load_examples(config.dataset or default_dataset(self.source))
            self.examples = self.eval_set.examples
            self.formatter = ChatFormatter(self.source.path, config.prompt_template)
            # every record formatted and counted: a broken template or a prompt too long stops here
            check_lengths(
                self.examples, self.formatter, token_counter(self.source.path), self.max_length, config.answer_tokens
            )
            if self.formatter.differs_from_chat_template(list(self.examples[0].messages)):
                self.progress(
                    f"note: the prompt template {config.prompt_template} formats prompts "
                    f"differently from the model's own chat template"
                )
            self.gates, self.gates_origin = load_gates(config.gates_file, *self.tool_table, config.gate_thresholds)
            if config.baseline is not None:
                try:
                    self.baseline = read(config.baseline)
                except HarnessError as exc:
                    raise HarnessError(f"{exc} (option --baseline)") from None
            if config.olive_recipe is not None:
                if "olive" not in config.builders:
                    raise HarnessError("--olive-recipe is run by the olive builder: add olive to --builders")
                self.olive_recipe = read_recipe(config.olive_recipe)
            self.given_plan = mixed_settings(config.search, config.plan, self.source, self.calibration_path)
            self.planned = plan(
                config.precisions,
                config.providers,
                self.source,
                builders=config.builders,
                runtimes=self.runtimes,
                recipes=recipes.chosen(config.recipes, config.search),
                mixed=config.search or config.plan is not None,
            )
        except HarnessError as exc:
            self.setup_error = str(exc)

    @functools.cached_property
    def runtimes(self) -> tuple[str | None, ...]:
        """``--runtimes`` as the matrix's axis: None for the main environment's version."""
        main = version_of("onnxruntime-genai")
        return tuple(dict.fromkeys(None if v == main else v for v in self.config.runtimes)) or (None,)

    def note(self, variant_id: str, **fields: Any) -> None:
        """Fields for a variant's record in results.json, handed to whoever records them."""
        self.pending.setdefault(variant_id, {}).update(fields)

    def planned_variant(self, variant_id: str) -> PlannedVariant:
        return next((p for p in self.planned if p.id == variant_id), None) or self.extra_planned[variant_id]

    @property
    def calibration_path(self) -> Path | None:
        """The run's calibration set (:mod:`harness.evaluation.model_sets`); None: there is none."""
        return calibration_path(self.config.calibration, self.source)

    @functools.cached_property
    def calibration_texts(self) -> list[str] | None:
        """What GPTQ/AWQ calibrate on (None when there is no calibration set)."""
        path = self.calibration_path
        return None if path is None else calibration_texts(path, self.formatter, CALIBRATION_SAMPLES)

    @property
    def quality_examples(self) -> list[Example]:
        limit = self.config.profile.quality_examples
        return self.examples[:limit] if limit else list(self.examples)

    def reference_for(self, variant_id: str) -> str | None:
        """The variant ``variant_id`` is compared with: the reference precision on the same
        provider, else on cpu; planned (and built when asked) even if not in the matrix."""
        variant = self.planned_variant(variant_id).variant
        for candidate in dict.fromkeys((variant.provider, "cpu")):
            rid = Variant(self.config.reference, candidate, runtime=variant.runtime).id  # under the same runtime
            if rid not in {p.id for p in self.planned} and rid not in self.extra_planned:
                self.extra_planned[rid] = plan(
                    (self.config.reference,), (candidate,), self.source, runtimes=(variant.runtime,)
                )[0]
            if self.planned_variant(rid).supported:
                return rid
        return None

    def twin_of(self, variant_id: str) -> str | None:
        """The same build under the main environment's runtime (planned if not in the matrix);
        None for a variant that runs there itself, or whose twin cannot run."""
        twin = self.planned_variant(variant_id).variant.twin
        if twin is None:
            return None
        if twin.id not in {p.id for p in self.planned} and twin.id not in self.extra_planned:
            self.extra_planned[twin.id] = plan(
                (twin.precision,), (twin.provider,), self.source, builders=(twin.builder,), recipes=(twin.recipe,)
            )[0]
        return twin.id if self.planned_variant(twin.id).supported else None

    def runtime_of(self, variant_id: str) -> str:
        """The onnxruntime-genai version ``variant_id`` is measured under."""
        return self.planned_variant(variant_id).variant.runtime or version_of("onnxruntime-genai")

    def judge(self, gate: Gate, variant_id: str) -> Judgement:
        """Judge ``gate`` for a variant from this run's measurements (``--strict-gates`` applied)."""
        results = RunResults.from_dict(self.store.data if self.store is not None else {})
        try:
            judgement = judge(
                gate,
                results.variant(variant_id) or {"id": variant_id},
                results,
                reference=self.reference_for(variant_id),
                baseline=self.baseline,
                allow_foreign_baseline=self.config.allow_foreign_baseline,
                benchmark=self.config.benchmark,
            )
        except HarnessError as exc:
            return Judgement(gate.name, variant_id, "failed", f"gate '{gate.name}': {exc}")
        return strict(judgement) if self.config.strict_gates else judgement

    # -- builds and sessions, each done once per process and remembered (failures too) -------
    def build(self, variant_id: str) -> BuiltVariant:
        if variant_id not in self.builds:
            variant = self.planned_variant(variant_id).variant
            try:
                inputs = BuildInputs(
                    olive_recipe=self.olive_recipe,
                    fp16_cpu_fix=self.config.fp16_cpu_fix,
                    calibration=tuple(self.calibration_texts or ()) if BUILDERS[variant.builder].calibrated else None,
                    mixed_plan=mixed_plan(self, variant_id) if variant.precision == MIXED else None,
                )
                built = build_variant(variant, self.source, self.config.cache_dir, self.progress, inputs)
            except SearchFailed as exc:
                exc = BuildError(f"{variant_id}: {exc}", "")
                self.builds[variant_id] = exc
                self.note(variant_id, status="build_failed", error=exc.args[0])
            except BuildError as exc:
                self.builds[variant_id] = exc
                self.note(variant_id, status="build_failed", error=f"{exc.args[0]}\n{exc.output_tail}")
            else:
                self.builds[variant_id] = built
                record = built.to_record()
                del record["variant_id"]
                record["build_peak_rss_bytes"] = record.pop("peak_rss_bytes")
                self.note(variant_id, **record)
        result = self.builds[variant_id]
        if isinstance(result, BaseException):
            raise result
        return result

    def session(self, variant_id: str) -> WorkerSession:
        if variant_id not in self.sessions:
            built = self.build(variant_id)
            variant = self.planned_variant(variant_id).variant
            spec = SessionSpec(model_dir=str(built.path), provider=variant.provider, max_length=self.max_length)

            def restarted(count: int, crash: BaseException) -> None:
                self.progress(
                    f"{variant_id}: {crash.summary()}; fresh worker {count} of {MAX_RESTARTS} for its next test"
                )
                self.note(variant_id, worker_restarts=count)

            try:
                interpreter = toolchains.interpreter(variant.runtime, self.config.cache_dir, self.progress)
                session = WorkerSession(
                    spec, variant_id, timeout=self.config.worker_timeout, on_restart=restarted, interpreter=interpreter
                )
            except BaseException as exc:
                self.sessions[variant_id] = exc
                raise
            self.sessions[variant_id] = session
            self.note(
                variant_id,
                runtime=session.ready["runtime"],
                load_s=session.ready["load_s"],
                rss_before_load_bytes=session.ready["rss_before_load_bytes"],
                rss_after_load_bytes=session.ready["rss_after_load_bytes"],
                max_length=self.max_length,
            )
        result = self.sessions[variant_id]
        if isinstance(result, BaseException):
            raise result
        return result

    def close_session(self, variant_id: str) -> None:
        """Close a variant's worker; a later need (the reference, asked for by another variant) opens a new one."""
        session = self.sessions.get(variant_id)
        if isinstance(session, WorkerSession):
            session.close()
            del self.sessions[variant_id]

    def close(self) -> None:
        for variant_id in list(self.sessions):
            self.close_session(variant_id)
