"""Smoke suite: every variant is built as claimed, loads in its worker, and answers.

Runs with and without ``--benchmark``; timings are the performance suites' job.
"""

from harness.evaluation.matching import exact_match
from harness.measure.records import proportion, verdict
from harness.measure.smoke import graph_mismatches
from harness.settings.config import sizes_by_profile
from harness.variants.recipes import DEFAULT_RECIPE

# domain prompts answered per variant
SIZES = sizes_by_profile(quick={"prompts": 3}, standard={"prompts": 10}, full={"prompts": 50})


def planned_seconds(sizes, shape, cost):
    """At most: each prompt answered to 64 tokens (harness.measure.plan)."""
    return cost.seconds(shape.prompt_tokens, 64, sizes.prompts)


def test_build_matches_precision(variant, built_variant, record_verdict):
    """The built graph holds the quantization its precision and quantization recipe promise (read,
    not trusted). What a user's Olive recipe asked for beyond that is a verdict: a toolchain that
    ignores the request still made a valid variant, but the report must say it is not what the
    recipe describes."""
    precision, provider = variant.precision, variant.provider
    assert built_variant.weights_bytes > 0
    problems = graph_mismatches(
        precision,
        built_variant.quantization,
        provider,
        recipe=built_variant.recipe.get("quantization_recipe", DEFAULT_RECIPE),
        plan=built_variant.recipe.get("plan"),
    )
    assert not problems, f"{variant}: " + "; ".join(problems)
    recipe = built_variant.recipe
    if recipe.get("mode") == "recipe" and precision == "int4":
        asked = recipe.get("block_size")
        differences = graph_mismatches(precision, built_variant.quantization, provider, asked)
        record_verdict(
            verdict(
                variant.id,
                "smoke",
                "recipe_honoured",
                not differences,
                message=(
                    f"the recipe asks its ModelBuilder pass for block size {asked} and the graph "
                    "has "
                    f"{built_variant.quantization['block_sizes']}"
                )
                + ("" if not differences else ": the toolchain did not pass the request on"),
            )
        )


def test_answers_prompts(variant, harness_session, format_prompt, domain_examples, sizes, record_measurement):
    """Greedy answers to a few prompts: non-empty, ended cleanly; domain answers scored."""
    examples = domain_examples[: sizes.prompts]
    assert examples, "no smoke prompts"
    scored = []
    for example in examples:
        trace = harness_session.generate(format_prompt(list(example.messages)), max_new_tokens=64)
        assert trace.new_tokens > 0, f"{example.id}: no tokens generated"
        assert trace.text.strip(), f"{example.id}: empty answer"
        if example.reference is not None:
            scored.append(exact_match(trace.text, example.reference))
    if scored:
        record_measurement(proportion(variant.id, "smoke", "smoke_exact_match", scored))
