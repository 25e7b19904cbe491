"""The embedded default model, for real: its shape, its chat template, and its answers."""

import json

import pytest

from harness.errors import GenerationError
from harness.evaluation.datasets import load_examples
from harness.evaluation.matching import exact_match
from harness.evaluation.prompts import chat_template, render_chat
from harness.models.embedded import ANSWER_SCHEMA, DATA_DIR, MODEL_DIR
from harness.models.sources import resolve_model
from harness.runtime.client import WorkerSession
from harness.runtime.protocol import SessionSpec
from harness.variants.build import build_variant
from harness.variants.matrix import Variant


def test_small_llama_with_grouped_query_attention():
    config = json.loads((MODEL_DIR / "config.json").read_text())
    assert config["model_type"] == "llama"
    assert config["num_key_value_heads"] < config["num_attention_heads"]
    size = sum(p.stat().st_size for p in MODEL_DIR.iterdir() if p.is_file())
    assert size <= 10 * 2**20


def test_chat_template_is_chatml():
    text = render_chat([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}], chat_template(MODEL_DIR))
    assert text == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"


def test_dataset_splits_are_disjoint_and_answers_follow_the_schema():
    import jsonschema

    train = [json.loads(line) for line in (DATA_DIR / "train.jsonl").read_text().splitlines()]
    heldout = [json.loads(line) for line in (DATA_DIR / "heldout.jsonl").read_text().splitlines()]
    assert len(heldout) == 300 and len(train) >= 2000
    train_texts = {r["messages"][-1]["content"] for r in train}
    assert not train_texts & {r["messages"][-1]["content"] for r in heldout}
    for record in heldout:
        jsonschema.validate(json.loads(record["reference"]), ANSWER_SCHEMA)


@pytest.mark.slow
def test_fp32_build_answers_held_out_tickets(build_cache):
    source = resolve_model("embedded")
    built = build_variant(Variant("fp32", "cpu"), source, build_cache)
    examples = load_examples(DATA_DIR / "heldout.jsonl").examples[:40]
    template = chat_template(MODEL_DIR)
    session = WorkerSession(SessionSpec(model_dir=str(built.path), max_length=512), "fp32-cpu", timeout=120)
    try:
        answers = [session.generate(render_chat(list(e.messages), template), max_new_tokens=40) for e in examples]
    finally:
        session.close()
    correct = sum(exact_match(a.text, e.reference) for a, e in zip(answers, examples))
    assert all(a.finish_reason == "eos" for a in answers)
    assert all(len(a.tokens) == len(a.token_times) for a in answers), "a step without its token"
    assert correct / len(examples) >= 0.9, f"{correct}/{len(examples)} held-out tickets answered exactly"


def test_the_overhead_yardstick_does_the_harness_sessions_work_on_the_same_model(build_cache):
    """The bare loop runs in the variant's worker on its loaded model: the same greedy tokens as
    the harness's session for the same ids, exactly the forced count, timed; bad ids are refused
    with a typed error before anything runs."""
    built = build_variant(Variant("fp32", "cpu"), resolve_model("embedded"), build_cache)
    session = WorkerSession(SessionSpec(model_dir=str(built.path), max_length=512), "fp32-cpu", timeout=120)
    try:
        ids = session.encode("My invoice shows a charge twice this month.")
        trace = session.generate(ids, max_new_tokens=24, min_new_tokens=24)
        bare = session.bare(ids, 24)
        with pytest.raises(GenerationError) as refused:
            session.bare([10**7], 4)
        assert session.bare(ids, 24)["tokens"] == bare["tokens"]  # the worker still serves
    finally:
        session.close()
    assert bare["new_tokens"] == 24 and bare["tokens"] == list(trace.tokens)
    assert bare["ttft_s"] > 0 and bare["decode_s"] > 0
    assert refused.value.kind == "invalid_token_id"


def test_decoding_again_from_a_kept_prefill_gives_the_fresh_requests_tokens(build_cache):
    """The input-length sweep's decode repetitions: after the first request, each one rewinds the
    generator to the prompt's last token and decodes again; the tokens are those of a fresh
    request, every time, and each later request's first token comes without the prefill's cost."""
    built = build_variant(Variant("fp32", "cpu"), resolve_model("embedded"), build_cache)
    session = WorkerSession(SessionSpec(model_dir=str(built.path), max_length=1024), "fp32-cpu", timeout=120)
    try:
        ids = (session.encode("My invoice shows a charge twice this month. ") * 80)[:900]
        fresh = session.generate(ids, max_new_tokens=12, min_new_tokens=12)
        first, *again = session.generate_again(ids, 12, 4)
    finally:
        session.close()
    assert len(again) == 3 and all(t.tokens == fresh.tokens == first.tokens for t in again)
    assert all(t.prompt_tokens == 900 and t.new_tokens == 12 for t in [first, *again])
    assert max(t.ttft_s for t in again) < first.ttft_s / 3  # one token appended, not 900 prefilled


def test_a_batch_gives_each_prompt_its_answer_alone_and_is_refused_where_padding_leaves_no_room(build_cache):
    """The quality suite's batches (harness.measure.batching): rows of different lengths, padded,
    answer token for token what each prompt answers alone, end tokens included; a batch whose
    padded length leaves its rows less room than alone is refused, not cut short."""
    built = build_variant(Variant("int4", "cpu"), resolve_model("embedded"), build_cache)
    session = WorkerSession(SessionSpec(model_dir=str(built.path), max_length=256), "int4-cpu", timeout=120)
    examples = load_examples(DATA_DIR / "heldout.jsonl").examples[:6]
    prompts = [render_chat(list(e.messages), chat_template(MODEL_DIR)) for e in examples]
    try:
        alone = [session.generate(p, max_new_tokens=64) for p in prompts]
        together = session.generate_batch(prompts, max_new_tokens=64)
        lengths = {len(session.encode(p)) for p in prompts}
        with pytest.raises(GenerationError, match=r"a batch padded to .* leaves fewer than 200 new tokens"):
            session.generate_batch(prompts, max_new_tokens=200)
    finally:
        session.close()
    assert len(lengths) > 1  # the batch was padded
    assert [t.tokens for t in together] == [t.tokens for t in alone]
    assert [t.text for t in together] == [t.text for t in alone]
    assert [t.finish_reason for t in together] == [t.finish_reason for t in alone]
    assert [t.prompt_tokens for t in together] == [t.prompt_tokens for t in alone]
