"""Every evaluation prompt must fit the session with room for its answer, checked with the model's
own tokenizer before any build (harness.evaluation.lengths)."""

import pytest

from harness.errors import HarnessError
from harness.evaluation.lengths import check_lengths, token_counter
from harness.evaluation.prompts import ChatFormatter
from harness.evaluation.records import Example
from harness.models.embedded import MODEL_DIR


def _example(i, text):
    return Example(id=f"r{i}", messages=({"role": "user", "content": text},), where=f"set.jsonl:{i}")


def test_the_count_is_the_formatted_prompts_tokens():
    count, formatter = token_counter(MODEL_DIR), ChatFormatter(MODEL_DIR)
    examples = [_example(1, "short"), _example(2, "a longer prompt " * 4)]
    longest = check_lengths(examples, formatter, count, max_length=1024, answer_tokens=128)
    assert longest == count(formatter([{"role": "user", "content": "a longer prompt " * 4}])) > count("short")


def test_a_record_too_long_for_the_session_is_named_with_its_line_and_lengths():
    count, formatter = token_counter(MODEL_DIR), ChatFormatter(MODEL_DIR)
    huge = _example(7, "word " * 2000)
    tokens = count(formatter(list(huge.messages)))
    with pytest.raises(HarnessError) as info:
        check_lengths([_example(1, "fine"), huge, _example(9, "word " * 5000)], formatter, count, 1024, 128)
    assert str(info.value) == (
        f"set.jsonl:7: record 'r7' is {tokens:,} tokens once formatted, which leaves 0 of the "
        f"128 tokens its answer may take (--answer-tokens) under max_length 1,024 "
        f"(--max-length): shorten the record or raise --max-length"
    )


def test_a_prompt_that_leaves_too_little_room_for_the_answer_is_refused_too():
    count, formatter = token_counter(MODEL_DIR), ChatFormatter(MODEL_DIR)
    example = _example(3, "tell me")
    tokens = count(formatter(list(example.messages)))
    assert check_lengths([example], formatter, count, max_length=tokens + 128, answer_tokens=128) == tokens
    with pytest.raises(HarnessError, match=r"leaves 127 of the 128 tokens"):
        check_lengths([example], formatter, count, max_length=tokens + 127, answer_tokens=128)
