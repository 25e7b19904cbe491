"""Fixtures the suites use: settings, model, data, builds, worker sessions and recorders."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.evaluation.prompts import ChatFormatter
from harness.evaluation.records import Example
from harness.gates.judge import Judgement
from harness.gates.spec import Gate, threshold_gate
from harness.measure.environment import describe
from harness.measure.quality import TooLittleText, closeness_chunks
from harness.measure.records import Measurement, Verdict
from harness.models.sources import ModelSource
from harness.plugin.collection import suites_to_run
from harness.plugin.keys import IS_WORKER, PROP_ANSWERS, PROP_GATE, PROP_MEASUREMENT, PROP_VERDICT, STATE
from harness.run.planner import plan_variant, sizes_of
from harness.run.run import Run
from harness.settings import config as cfg
from harness.variants.build import BuiltVariant
from harness.variants.variant import Variant

# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def harness_config(pytestconfig: pytest.Config) -> cfg.RunConfig:
    """The resolved settings of this run."""
    return pytestconfig.stash[STATE].config


@pytest.fixture
def sizes(request: pytest.FixtureRequest, harness_config: cfg.RunConfig):
    """The sizes the requesting suite declares for the run's profile (its ``SIZES``,
    :func:`harness.settings.config.sizes_by_profile`), as far toward the quick profile's as
    ``--budget`` moved them."""
    return sizes_of(request.config.stash[STATE], request.module)


@pytest.fixture(scope="session")
def model_source(pytestconfig: pytest.Config) -> ModelSource:
    """The model under test, with its content hash."""
    return pytestconfig.stash[STATE].source


@pytest.fixture(scope="session")
def domain_examples(pytestconfig: pytest.Config) -> list[Example]:
    """The domain set (``--dataset``, or the model's own), loaded and checked once per run."""
    return pytestconfig.stash[STATE].examples


@pytest.fixture(scope="session")
def format_prompt(pytestconfig: pytest.Config) -> ChatFormatter:
    """Chat messages -> prompt text: the model's chat template, or ``--prompt-template``."""
    return pytestconfig.stash[STATE].formatter


@pytest.fixture(scope="session")
def domain_prompt(format_prompt: ChatFormatter, domain_examples: list[Example]) -> str:
    """The first domain example, formatted: the prompt timed requests use."""
    return format_prompt(list(domain_examples[0].messages))


@pytest.fixture(scope="session")
def quality_examples(pytestconfig: pytest.Config) -> list[Example]:
    """The examples the task-quality suite answers (the profile's ``quality_examples``)."""
    return pytestconfig.stash[STATE].quality_examples


@pytest.fixture(scope="session")
def harness_state(pytestconfig: pytest.Config) -> Run:
    """The run's state: the reference variant, its cached answers and log-probs (quality suites)."""
    return pytestconfig.stash[STATE]


@pytest.fixture
def record_answers(request: pytest.FixtureRequest) -> Callable[[str, list[dict]], None]:
    """Attach per-example answers and scores (harness.measure.quality.answer_all) to this test."""

    def add(variant: str, answers: list[dict]) -> None:
        request.node.user_properties.append((PROP_ANSWERS, {"variant": variant, "answers": answers}))

    return add


@pytest.fixture(scope="session")
def gate_on(pytestconfig: pytest.Config) -> Callable[[str], Gate]:
    """The gate whose threshold and rule a suite's own verdict on a measurement uses: the run's
    gate with a plain number on it, else the built-in one (:func:`harness.gates.spec.threshold_gate`)."""
    state = pytestconfig.stash[STATE]
    return lambda measurement: threshold_gate(state.gates, measurement, state.config.gate_thresholds)


@pytest.fixture
def judge_gate(request: pytest.FixtureRequest) -> Callable[[Gate, Variant], Judgement]:
    """Judge a gate for a variant from this run's measurements; the judgement is recorded."""
    state = request.config.stash[STATE]

    def run(gate: Gate, variant: Variant) -> Judgement:
        if request.config.stash[IS_WORKER]:  # a pytest-xdist worker: the controller holds the results
            request.node.user_properties.append(
                (PROP_GATE, {"deferred": True, "gate": gate.name, "variant": variant.id})
            )
            pytest.skip("under pytest-xdist the gates are judged by the controller at the end of the run")
        judgement = state.judge(gate, variant.id)
        request.node.user_properties.append((PROP_GATE, judgement.to_record(gate)))
        return judgement

    return run


@pytest.fixture(scope="session")
def built_variant(pytestconfig: pytest.Config, variant: Variant) -> BuiltVariant:
    """The variant's build (from the cache, or built now)."""
    return pytestconfig.stash[STATE].build(variant.id)


@pytest.fixture(scope="session")
def harness_session(request: pytest.FixtureRequest, variant: Variant, built_variant: BuiltVariant):
    """The variant's worker session, loaded once and shared by every suite of that variant; when
    it opens, the plan of the variant's suites in this process is printed (harness.run.planner)."""
    state = request.config.stash[STATE]
    session = state.session(variant.id)
    plan_variant(state, variant.id, suites_to_run(request.session, variant.id))
    yield session
    state.close_session(variant.id)


@pytest.fixture
def closeness_text(harness_session, domain_examples: list[Example], format_prompt: ChatFormatter, harness_config):
    """The chunks of domain text closeness is scored on for this variant's session, and their
    length (:func:`harness.measure.quality.closeness_chunks`); the test is skipped, saying why,
    when the text is too short to score."""
    try:
        return closeness_chunks(
            domain_examples,
            format_prompt,
            harness_session.encode,
            harness_session.info()["max_length"],
            harness_config.profile.kld_chunks,
        )
    except TooLittleText as why:
        pytest.skip(str(why))


@pytest.fixture
def record_measurement(request: pytest.FixtureRequest) -> Callable[[Measurement], None]:
    """Attach a measurement (made by a constructor of :mod:`harness.measure.records`) to this test."""

    def add(record: Measurement) -> None:
        request.node.user_properties.append((PROP_MEASUREMENT, _serialized(record, Measurement)))

    return add


def _serialized(record, kind: type) -> dict:
    """The one place a suite's record becomes what results.json holds."""
    if not isinstance(record, kind):
        raise TypeError(f"expected a {kind.__name__} from harness.measure.records, got {type(record).__name__}")
    return record.to_dict()


@pytest.fixture
def record_verdict(request: pytest.FixtureRequest) -> Callable[[Verdict], None]:
    """Attach a verdict (:func:`harness.measure.records.verdict`) to this test."""

    def add(record: Verdict) -> None:
        request.node.user_properties.append((PROP_VERDICT, _serialized(record, Verdict)))

    return add


@pytest.fixture(scope="session")
def machine_bandwidth(pytestconfig: pytest.Config) -> dict:
    """This machine's memory read bandwidth (:mod:`harness.measure.bandwidth`), measured once and cached.

    Only performance tests ask for it, so it is measured while they hold the machine alone."""
    from harness.measure.bandwidth import machine_bandwidth as measure_or_load

    state = pytestconfig.stash[STATE]
    record, cached = measure_or_load(state.config.cache_dir, describe()["machine_fingerprint"])
    if not cached:
        state.progress(
            f"memory read bandwidth of this machine: {record['bytes_per_s'] / 1e9:.1f} GB/s (cached for later runs)"
        )
    return record
