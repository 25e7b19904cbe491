"""Foundry Local packages: every variant as a folder Foundry Local picks up, checked.

The package is written to ``--foundry-packages DIR`` (or a temporary folder) and must hold the
model, ``genai_config.json``, the tokenizer with its chat template, and an
``inference_model.json`` in the tutorial's format whose PromptTemplate renders the domain prompts
exactly as the model's chat template does. Runs with and without ``--benchmark``.
"""

import json

import pytest

from harness.evaluation.prompts import PromptTemplate, chat_template, render_chat
from harness.measure.records import verdict
from harness.settings.config import sizes_by_profile
from harness.ship.foundry import package_name, prompt_template, write_package

# domain prompts each package answers through Foundry Local (and the harness's session, to compare)
SIZES = sizes_by_profile(quick={"answers": 5}, standard={"answers": 10}, full={"answers": 20})


def planned_seconds(sizes, shape, cost):
    """At most, on the harness's session's cost: through Foundry Local a warm-up, each answer and
    each answer's first token; then each answer on the harness's session (harness.measure.plan).
    Registering and loading the package in Foundry Local is not counted."""
    return cost.seconds(shape.prompt_tokens, 64, 2 * sizes.answers + 1) + cost.seconds(
        shape.prompt_tokens, 1, sizes.answers
    )


@pytest.fixture(scope="session")
def foundry_dir(harness_config, tmp_path_factory):
    return harness_config.foundry_packages or tmp_path_factory.mktemp("foundry-packages")


CHECKED_PROMPTS = 20  # domain prompts each package's PromptTemplate is checked on


@pytest.fixture(scope="session")
def foundry_package(variant, built_variant, model_source, foundry_dir, domain_examples):
    name = package_name(model_source.name, variant.precision, variant.builder, variant.provider, variant.recipe)
    return write_package(
        built_variant.path,
        foundry_dir,
        name,
        f"{model_source.name} {variant}, built and checked by the precision harness",
        [list(e.messages) for e in domain_examples],
    )


def test_foundry_package(variant, foundry_package, domain_examples, record_verdict):
    meta = json.loads((foundry_package / "inference_model.json").read_text())
    assert meta["Name"] == foundry_package.name and meta["Version"]
    assert set(meta["PromptTemplate"]) >= {"assistant", "prompt"} and meta["ModelConfig"]["max_length"] > 0
    for required in ("model.onnx", "genai_config.json", "tokenizer_config.json"):
        assert (foundry_package / required).is_file(), f"{variant}: the package lacks {required}"
    tokenizer_config = json.loads((foundry_package / "tokenizer_config.json").read_text())
    assert tokenizer_config.get("chat_template"), (
        f"{variant}: Foundry Local needs the chat template in tokenizer_config.json"
    )
    template = PromptTemplate(**meta["PromptTemplate"])
    own = chat_template(foundry_package)
    derived = prompt_template(foundry_package, [list(e.messages) for e in domain_examples])
    checked = domain_examples[:CHECKED_PROMPTS]
    expressible = [e for e in checked if derived.expresses(list(e.messages))]
    differing = [e.id for e in expressible if template.render(list(e.messages)) != render_chat(list(e.messages), own)]
    record_verdict(
        verdict(
            variant.id,
            "foundry",
            "prompt_template_matches_chat_template",
            not differing,
            message=f"{foundry_package.name}: PromptTemplate renders "
            + (
                f"{len(expressible)} of the first {len(checked)} domain prompts as the chat template does"
                if not differing
                else f"{len(differing)} of {len(expressible)} domain prompts differently ({differing[0]}, ...)"
            ),
        )
    )
    if len(expressible) < len(checked):  # a limit of the format, said as such: not the package's fault
        record_verdict(
            verdict(
                variant.id,
                "foundry",
                "prompt_template_expresses_chat_template",
                False,
                message=f"{foundry_package.name}: {len(checked) - len(expressible)} of {len(checked)} "
                f"domain prompts are chats its PromptTemplate cannot render as the chat "
                f"template does: {derived.limits()}",
            )
        )
    assert not differing, f"{variant}: the PromptTemplate renders {differing[0]} differently from the chat template"


@pytest.fixture(scope="session")
def foundry_local(tmp_path_factory):
    """Foundry Local's SDK, in process and offline: its catalog points at a dead loopback address
    and its data, cache and logs live in a temporary folder. One manager per process (it is a
    singleton), closed at the end."""
    sdk = pytest.importorskip(
        "foundry_local_sdk", reason="foundry-local-sdk is not installed (pip install -e '.[foundry]')"
    )
    home = tmp_path_factory.mktemp("foundry-local")
    for name in ("data", "cache", "logs"):
        (home / name).mkdir()
    config = sdk.Configuration(
        app_name="precision-harness",
        app_data_dir=str(home / "data"),
        model_cache_dir=str(home / "cache"),
        logs_dir=str(home / "logs"),
        log_level=sdk.LogLevel.WARNING,
        disable_nonessential_telemetry=True,
        catalog_urls=[("http://127.0.0.1:9/asset-gallery/v1.0/models", None)],
    )
    try:
        sdk.FoundryLocalManager.initialize(config)
    except Exception as exc:  # the native library cannot share this environment
        pytest.skip(f"foundry-local-sdk cannot start here: {type(exc).__name__}: {exc}")
    manager = sdk.FoundryLocalManager.instance
    yield sdk, manager.get_catalog(sdk.CatalogType.LOCAL)
    manager.close()


def _ask(sdk, model, messages, max_tokens):
    """One stateless request (a fresh ChatSession keeps no history): (answer, seconds, tokens
    generated as Foundry Local counts them)."""
    import time

    with sdk.ChatSession(model) as session:
        session.set_options(
            sdk.RequestOptions(search=sdk.SearchOptions(temperature=0.0, do_sample=False, max_output_tokens=max_tokens))
        )
        request = sdk.Request()
        for message in messages:
            request.add_item(getattr(sdk.MessageItem, message["role"])(message["content"]))
        with request:
            started = time.perf_counter()
            with session.process_request(request) as response:
                seconds = time.perf_counter() - started
                text = "".join(
                    part.text
                    for item in response
                    if isinstance(item, sdk.MessageItem)
                    for part in item.parts
                    if isinstance(part, sdk.TextItem)
                )
                tokens = response.get_usage().completion_tokens
    return text, seconds, tokens


def test_foundry_local_answers(
    variant,
    foundry_package,
    foundry_local,
    harness_session,
    harness_state,
    domain_examples,
    format_prompt,
    harness_config,
    sizes,
    record_measurement,
    record_verdict,
):
    """Register the package in Foundry Local's local catalog, load it, send the domain prompts
    through its chat session, and compare answers and latency with the harness's own session,
    both on the same onnxruntime-genai release. The latency is split into what comes before the
    first token and what each later token costs, on both sides (docs/guides/foundry-local.md)."""
    from importlib import metadata
    from statistics import median

    from harness.evaluation.scoring import PROPORTIONS, score
    from harness.measure.records import measurement, proportion

    foundry_runtime = metadata.version("onnxruntime-genai-core")
    runtime = harness_state.runtime_of(variant.id)
    if runtime != foundry_runtime:
        pytest.skip(
            f"Foundry Local runs onnxruntime-genai-core {foundry_runtime} and this variant is measured under "
            f"{runtime}: it is compared with Foundry Local on the same release as its twin"
        )
    sdk, catalog = foundry_local
    model_id = f"{foundry_package.name}:1"
    if catalog.get_model_variant(model_id) is not None:  # left by an earlier, interrupted run
        catalog.unregister_model(model_id)
    with sdk.ModelInfoBuilder() as info:
        info.set_string_property("task", "chat-completion")
        model = catalog.register_model(str(foundry_package), model_id, info)
    model.load()
    examples = domain_examples[: sizes.answers]
    tokens = min(harness_config.answer_tokens, 64)
    try:
        _ask(sdk, model, list(examples[0].messages), tokens)  # warm-up, as the harness's session had its own
        answers = [_ask(sdk, model, list(e.messages), tokens) for e in examples]
        first = [_ask(sdk, model, list(e.messages), 1) for e in examples]  # up to the first token only
    finally:
        model.unload()
        catalog.unregister_model(model_id)
    direct = [harness_session.generate(format_prompt(list(e.messages)), max_new_tokens=tokens) for e in examples]
    same = [a.strip() == d.text.strip() for (a, _, _), d in zip(answers, direct)]
    record_measurement(
        proportion(variant.id, "foundry", "foundry_same_answer", same, example_ids=[e.id for e in examples])
    )
    scores = [score(e, a) for e, (a, _, _) in zip(examples, answers)]
    for check in PROPORTIONS:  # the answers' accuracy and format, as the task-quality suite scores them
        outcomes = [s[check] for s in scores if check in s]
        if outcomes:
            record_measurement(proportion(variant.id, "foundry", f"foundry_{check}", outcomes))
    ms = 1e3
    runtimes = {"foundry_runtime": foundry_runtime, "harness_runtime": runtime}
    figures = {
        "foundry_e2e_ms": [s * ms for _, s, _ in answers],
        "foundry_first_token_ms": [s * ms for _, s, _ in first],
        # each prompt's later tokens: its whole answer less its one-token request, per token
        "foundry_per_token_ms": [(s - f) * ms / (n - 1) for (_, s, n), (_, f, _) in zip(answers, first) if n > 1],
        "harness_e2e_ms": [d.e2e_s * ms for d in direct],
        "harness_first_token_ms": [(d.tokenize_s + d.setup_s + d.ttft_s) * ms for d in direct],
        "harness_per_token_ms": [d.tpot_s * ms for d in direct if d.tpot_s is not None],
    }
    # what the harness's first token is made of (medians, ms): tokenizing, creating the generator, the prefill
    parts = {part: median(getattr(d, f"{part}_s") * ms for d in direct) for part in ("tokenize", "setup", "ttft")}
    for name, values in figures.items():
        if values:
            extra = {"parts_ms": parts} if name == "harness_first_token_ms" else {}
            record_measurement(
                measurement(variant.id, "foundry", name, "ms", values, higher_is_better=False, **runtimes, **extra)
            )
    record_verdict(
        verdict(
            variant.id,
            "foundry",
            "foundry_local_answers_like_the_harness",
            all(same),
            message=f"{sum(same)} of {len(same)} answers through Foundry Local "
            f"(onnxruntime-genai-core {foundry_runtime}) equal the harness session's "
            f"(onnxruntime-genai {runtime})",
        )
    )
    assert all(a.strip() for a, _, _ in answers), f"{variant}: Foundry Local gave an empty answer"
