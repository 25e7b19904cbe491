"""Smoke suite: every variant is built as claimed, loads in its worker, and answers.

Runs with and without ``--benchmark``; timings are the performance suites' job.
"""

from harness.metrics import proportion
from harness.scoring import exact_match
from harness.smoke import graph_mismatches


def test_build_matches_precision(variant, built_variant):
    """The built graph holds the quantization its precision promises (read, not trusted)."""
    precision, provider = variant.split("-")[0], variant.split("-")[-1]
    assert built_variant.weights_bytes > 0
    recipe = built_variant.recipe
    asked = recipe.get("block_size") if recipe.get("mode") == "recipe" else None
    problems = graph_mismatches(precision, built_variant.quantization, provider, asked)
    if asked and problems:
        problems.append(f"the recipe asks its ModelBuilder pass for block size {asked}; the graph was checked, "
                        f"not the request")
    assert not problems, f"{variant}: " + "; ".join(problems)


def test_answers_prompts(variant, harness_session, format_prompt, domain_examples, harness_config,
                        record_measurement):
    """Greedy answers to a few prompts: non-empty, ended cleanly; domain answers scored."""
    examples = domain_examples[:harness_config.profile.smoke_prompts]
    assert examples, "no smoke prompts"
    scored = []
    for example in examples:
        trace = harness_session.generate(format_prompt(list(example.messages)), max_new_tokens=64)
        assert trace.new_tokens > 0, f"{example.id}: no tokens generated"
        assert trace.text.strip(), f"{example.id}: empty answer"
        if example.reference is not None:
            scored.append(exact_match(trace.text, example.reference))
    if scored:
        record_measurement(proportion(variant, "smoke", "smoke_exact_match", scored))
