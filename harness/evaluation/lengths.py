"""Every evaluation prompt fits the session, checked before any build.

Each record is formatted as the suites format it (the chat template or ``--prompt-template``)
and tokenized with the model's own tokenizer; a record whose prompt leaves less room under
``max_length`` than its answer may take (``--answer-tokens``) stops the run with one line naming
the record's file and line, its length and the limits. Formatting every record here also finds a
chat template that refuses or breaks on the data before anything is built.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.errors import HarnessError
from harness.evaluation.records import Example


def token_counter(model_dir: Path) -> Callable[[str], int]:
    """Tokens of a text as the model's tokenizer counts them, special tokens included."""
    model_dir = Path(model_dir)
    if (model_dir / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        return lambda text: len(tokenizer.encode(text, add_special_tokens=True).ids)
    from transformers import AutoTokenizer  # a SentencePiece tokenizer.model only

    slow = AutoTokenizer.from_pretrained(str(model_dir))
    return lambda text: len(slow(text)["input_ids"])


def check_lengths(
    examples: list[Example],
    format_prompt: Callable[[list[dict]], str],
    count: Callable[[str], int],
    max_length: int,
    answer_tokens: int,
) -> int:
    """The longest formatted prompt in tokens; a HarnessError for the first record that does not
    fit with room for its answer."""
    longest = 0
    for example in examples:
        tokens = count(format_prompt(list(example.messages)))
        longest = max(longest, tokens)
        if tokens + answer_tokens > max_length:
            room = max(0, max_length - tokens)
            raise HarnessError(
                f"{example.where or example.id}: record {example.id!r} is {tokens:,} tokens once formatted, which "
                f"leaves {room:,} of the {answer_tokens} tokens its answer may take (--answer-tokens) under "
                f"max_length {max_length:,} (--max-length): shorten the record or raise --max-length"
            )
    return longest
