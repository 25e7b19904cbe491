"""What a session is: the Session protocol every suite relies on, the spec a worker opens one from, and the request
checks every session applies."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

from harness.errors import GenerationError
from harness.measure.trace import GenerationTrace
from harness.settings.config import CONTEXT_CAP


@runtime_checkable
class Session(Protocol):
    """A model loaded in this process (``OgaSession``, ``FakeSession``): what a worker serves
    requests from. Suites never hold one; they get a ``runtime.client.WorkerSession``, whose
    requests are measured inside the worker (``generate_measured``, ``generator_memory``,
    ``compare``) so that the suite's own process stays out of the figures."""

    def generate(
        self, prompt: str | Sequence[int], *, max_new_tokens: int, min_new_tokens: int = 0
    ) -> GenerationTrace: ...

    def generate_rewound(self, ids: Sequence[int], new_tokens: int) -> GenerationTrace:
        """Exactly ``new_tokens`` after ``ids`` on one generator kept across calls and rewound
        each time (the soak suite's reuse mode)."""
        ...

    def generate_again(self, ids: Sequence[int], new_tokens: int, repeats: int) -> list[GenerationTrace]:
        """``repeats`` forced requests of ``new_tokens`` after ``ids``; after the first, each may
        decode again from the kept prefill instead of prefilling again (the input-length sweep)."""
        ...

    def generate_batch(self, prompts: Sequence[str], *, max_new_tokens: int) -> list[GenerationTrace]:
        """Greedy answers to ``prompts`` generated together in one batch; the token times time
        the batch (the quality suite's answers, where batching pays: :mod:`harness.measure.batching`)."""
        ...

    def encode(self, text: str) -> list[int]: ...

    def logits(self, ids: Sequence[int]):
        """Logits at every position of ``ids``: float32 [len(ids), vocab]."""
        ...

    def hold_generator(self, ids: Sequence[int], measure: Callable[[], dict]) -> dict:
        """Call ``measure`` while a generator sized to ``max_length`` holds ``ids`` and one new
        token (its KV cache allocated), and return what it returned."""
        ...

    def bare(self, ids: Sequence[int], new_tokens: int) -> dict:
        """Exactly ``new_tokens`` after ``ids`` through :mod:`harness.runtime.bare_loop` on this
        session's model, not through its own code (the overhead suite's yardstick):
        ``ttft_s``, ``decode_s`` (the ``new_tokens - 1`` steps after the first), ``new_tokens``
        and ``tokens``."""
        ...

    def info(self) -> dict: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SessionSpec:
    """How to open a session; sent to the worker process as JSON."""

    model_dir: str
    provider: str = "cpu"
    max_length: int = CONTEXT_CAP
    fake: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SessionSpec:
        return cls(**json.loads(text))


def check_ids(ids: Sequence[int], vocab_size: int) -> None:
    """Reject ids the runtime would mishandle: onnxruntime-genai 0.14.1 silently accepts negative ids."""
    bad = [i for i in ids if not 0 <= int(i) < vocab_size]
    if bad:
        raise GenerationError("invalid_token_id", f"token id {bad[0]} outside the vocabulary [0, {vocab_size})")


def check_text(text: str) -> None:
    """Reject text that is not valid Unicode (lone surrogates, e.g. from undecodable bytes): the
    tokenizer would fail on it with an untyped error, or worse, encode something else."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise GenerationError(
            "invalid_text",
            f"the prompt is not valid Unicode text: {exc.reason} at character {exc.start} ({text[exc.start]!r})",
        ) from None


def prompt_ids(prompt: str | Sequence[int], vocab_size: int) -> list[int]:
    """Token ids given by the caller, checked against the vocabulary."""
    if isinstance(prompt, (bytes, bytearray)):
        raise GenerationError("invalid_request", "the prompt is bytes: decode it to text first")
    ids = [int(i) for i in prompt]
    check_ids(ids, vocab_size)
    return ids


def check_request(prompt_len: int, max_new_tokens: int, min_new_tokens: int, max_length: int) -> None:
    if prompt_len == 0:
        raise GenerationError("empty_prompt", "the prompt has no tokens")
    if max_new_tokens < 1 or min_new_tokens < 0 or min_new_tokens > max_new_tokens:
        raise GenerationError(
            "invalid_request",
            f"need 0 <= min_new_tokens ({min_new_tokens}) <= max_new_tokens ({max_new_tokens}), max >= 1",
        )
    if prompt_len >= max_length:
        raise GenerationError(
            "prompt_too_long", f"prompt of {prompt_len} tokens leaves no room under max_length {max_length}"
        )
