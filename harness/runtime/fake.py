"""FakeSession: a deterministic session without a model, for the harness's own unit tests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from harness.measure.trace import GenerationTrace
from harness.runtime.protocol import SessionSpec, check_ids, check_request, check_text, prompt_ids


class FakeSession:
    """Deterministic stand-in: same prompt, same tokens and the same synthetic timings.

    Token ids derive from a hash of the prompt; timings follow a fixed model (prefill 0.1 ms per
    prompt token, 2 ms per decode step), so statistics and reports can be checked exactly.
    """

    VOCAB = 256
    EOS = 0
    PREFILL_S_PER_TOKEN = 1e-4
    DECODE_S = 2e-3

    def __init__(self, spec: SessionSpec | None = None) -> None:
        self.spec = spec or SessionSpec(model_dir="fake", fake=True)
        self.max_length = self.spec.max_length

    def generate(self, prompt: str | Sequence[int], *, max_new_tokens: int, min_new_tokens: int = 0) -> GenerationTrace:
        if isinstance(prompt, str):
            ids = self.encode(prompt)
        else:
            ids = prompt_ids(prompt, self.VOCAB)
        check_request(len(ids), max_new_tokens, min_new_tokens, self.max_length)
        seed = hashlib.sha256(bytes(i % 256 for i in ids)).digest()
        limit = min(max_new_tokens, self.max_length - len(ids))
        # the fake "wants" to stop after a prompt-dependent length, unless min_new_tokens forces more
        natural = 4 + seed[0] % 12
        count = max(min(natural, limit), min(min_new_tokens, limit))
        tokens = [1 + (seed[k % len(seed)] + k) % (self.VOCAB - 1) for k in range(count)]
        if count == natural and count < limit:
            tokens[-1] = self.EOS
        ttft = len(ids) * self.PREFILL_S_PER_TOKEN
        times = tuple(ttft + k * self.DECODE_S for k in range(count))
        return GenerationTrace(
            prompt_tokens=len(ids),
            tokens=tuple(tokens),
            text="".join(chr(97 + t % 26) for t in tokens),
            token_times=times,
            tokenize_s=0.0,
            finish_reason="eos" if tokens and tokens[-1] == self.EOS else "length",
        )

    def encode(self, text: str) -> list[int]:
        check_text(text)
        return list(text.encode("utf-8"))

    def logits(self, ids: Sequence[int]):
        """Deterministic logits: position k favours the token that follows it in ``ids``."""
        import numpy as np

        ids = prompt_ids(ids, self.VOCAB)
        rng = np.random.default_rng(len(ids))
        out = rng.normal(0.0, 1.0, size=(len(ids), self.VOCAB)).astype(np.float32)
        for k, token in enumerate(ids[1:]):
            out[k, token] += 4.0
        return out

    def generate_batch(self, prompts: Sequence[str], *, max_new_tokens: int) -> list[GenerationTrace]:
        return [self.generate(prompt, max_new_tokens=max_new_tokens) for prompt in prompts]

    def generate_rewound(self, ids: Sequence[int], new_tokens: int) -> GenerationTrace:
        return self.generate(list(ids), max_new_tokens=new_tokens, min_new_tokens=new_tokens)

    def generate_again(self, ids: Sequence[int], new_tokens: int, repeats: int) -> list[GenerationTrace]:
        return [self.generate_rewound(ids, new_tokens) for _ in range(repeats)]

    def hold_generator(self, ids: Sequence[int], measure: Callable[[], dict]) -> dict:
        check_ids(ids, self.VOCAB)
        check_request(len(ids), 1, 0, self.max_length)
        return measure()

    def bare(self, ids: Sequence[int], new_tokens: int) -> dict:
        """The fake's timing model, without its bookkeeping: what the harness's trace shows."""
        trace = self.generate(list(ids), max_new_tokens=new_tokens, min_new_tokens=new_tokens)
        return {
            "ttft_s": trace.ttft_s,
            "decode_s": (new_tokens - 1) * self.DECODE_S,
            "new_tokens": new_tokens,
            "tokens": list(trace.tokens),
        }

    def info(self) -> dict:
        return {
            "kind": "fake",
            "max_length": self.max_length,
            "context_length": self.max_length,
            "vocab_size": self.VOCAB,
            "load_s": 0.0,
        }

    def close(self) -> None:
        pass
