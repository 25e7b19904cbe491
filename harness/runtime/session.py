"""Sessions: one loaded model that turns a prompt into a :class:`GenerationTrace`.

``Session`` is the protocol every suite talks to. :class:`OgaSession` is the real one (the only
place that imports ``onnxruntime_genai``); :class:`FakeSession` is deterministic and instant, for
testing everything above a session. Suites never hold an ``OgaSession`` directly: the plugin runs
it inside a worker process (:mod:`harness.runtime.worker`) so that a crashing variant cannot take the run
down with it.

Timing follows the metric definitions in README.md: ``t0`` is taken just before
``append_tokens(prompt)`` (the prefill), and token k's time is taken after the k-th
``generate_next_token()`` and ``is_done()``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

from harness.errors import GenerationError


@dataclass(frozen=True)
class GenerationTrace:
    """One request, as measured. Times are seconds from ``t0`` (just before the prefill)."""

    prompt_tokens: int
    tokens: tuple[int, ...]  # generated token ids
    text: str  # the generated tokens decoded
    token_times: tuple[float, ...]  # when each generated token was available
    tokenize_s: float  # encoding the prompt text (0 when ids were given)
    finish_reason: str  # "eos" | "length"

    @property
    def new_tokens(self) -> int:
        return len(self.tokens)

    @property
    def ttft_s(self) -> float:
        return self.token_times[0]

    @property
    def e2e_s(self) -> float:
        return self.token_times[-1]

    @property
    def decode_s(self) -> float:
        return self.token_times[-1] - self.token_times[0]

    @property
    def tpot_s(self) -> float | None:
        """Time per output token after the first; None with fewer than two tokens."""
        return self.decode_s / (self.new_tokens - 1) if self.new_tokens > 1 else None

    @property
    def decode_tps(self) -> float | None:
        return (self.new_tokens - 1) / self.decode_s if self.new_tokens > 1 and self.decode_s > 0 else None

    @property
    def prefill_tps(self) -> float:
        return self.prompt_tokens / self.ttft_s if self.ttft_s > 0 else float("inf")

    @property
    def itl_s(self) -> list[float]:
        """Gaps between consecutive tokens."""
        return [b - a for a, b in zip(self.token_times, self.token_times[1:])]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GenerationTrace":
        return cls(
            prompt_tokens=int(data["prompt_tokens"]),
            tokens=tuple(int(t) for t in data["tokens"]),
            text=str(data["text"]),
            token_times=tuple(float(t) for t in data["token_times"]),
            tokenize_s=float(data["tokenize_s"]),
            finish_reason=str(data["finish_reason"]),
        )


@runtime_checkable
class Session(Protocol):
    """What suites need from a loaded model."""

    def generate(self, prompt: str | Sequence[int], *, max_new_tokens: int,
                 min_new_tokens: int = 0) -> GenerationTrace: ...

    def encode(self, text: str) -> list[int]: ...

    def logits(self, ids: Sequence[int]):
        """Logits at every position of ``ids``: float32 [len(ids), vocab]."""
        ...

    def hold_generator(self, ids: Sequence[int], measure: Callable[[], dict]) -> dict:
        """Call ``measure`` while a generator sized to ``max_length`` holds ``ids`` and one new
        token (its KV cache allocated), and return what it returned."""
        ...

    def info(self) -> dict: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SessionSpec:
    """How to open a session; sent to the worker process as JSON."""

    model_dir: str
    provider: str = "cpu"
    max_length: int = 2048
    fake: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "SessionSpec":
        return cls(**json.loads(text))


def open_session(spec: SessionSpec) -> Session:
    return FakeSession(spec) if spec.fake else OgaSession(spec)


def _check_ids(ids: Sequence[int], vocab_size: int) -> None:
    """Reject ids the runtime would mishandle: onnxruntime-genai 0.14.1 silently accepts negative ids."""
    bad = [i for i in ids if not 0 <= int(i) < vocab_size]
    if bad:
        raise GenerationError("invalid_token_id",
                              f"token id {bad[0]} outside the vocabulary [0, {vocab_size})")


def _check_text(text: str) -> None:
    """Reject text that is not valid Unicode (lone surrogates, e.g. from undecodable bytes): the
    tokenizer would fail on it with an untyped error, or worse, encode something else."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise GenerationError("invalid_text", f"the prompt is not valid Unicode text: "
                              f"{exc.reason} at character {exc.start} ({text[exc.start]!r})") from None


def _prompt_ids(prompt: str | Sequence[int], vocab_size: int) -> list[int]:
    """Token ids given by the caller, checked against the vocabulary."""
    if isinstance(prompt, (bytes, bytearray)):
        raise GenerationError("invalid_request", "the prompt is bytes: decode it to text first")
    ids = [int(i) for i in prompt]
    _check_ids(ids, vocab_size)
    return ids


def _check_request(prompt_len: int, max_new_tokens: int, min_new_tokens: int, max_length: int) -> None:
    if prompt_len == 0:
        raise GenerationError("empty_prompt", "the prompt has no tokens")
    if max_new_tokens < 1 or min_new_tokens < 0 or min_new_tokens > max_new_tokens:
        raise GenerationError("invalid_request",
                              f"need 0 <= min_new_tokens ({min_new_tokens}) <= max_new_tokens ({max_new_tokens}), max >= 1")
    if prompt_len >= max_length:
        raise GenerationError("prompt_too_long",
                              f"prompt of {prompt_len} tokens leaves no room under max_length {max_length}")


class OgaSession:
    """A model loaded with onnxruntime-genai on one execution provider."""

    _PROVIDERS = {"cuda": "cuda", "dml": "dml", "webgpu": "WebGPU"}

    def __init__(self, spec: SessionSpec) -> None:
        import onnxruntime_genai as og

        self._og = og
        self.spec = spec
        started = time.perf_counter()
        config = og.Config(spec.model_dir)
        config.clear_providers()
        if spec.provider != "cpu":
            config.append_provider(self._PROVIDERS.get(spec.provider, spec.provider))
        self.model = og.Model(config)
        self.tokenizer = og.Tokenizer(self.model)
        self.load_s = time.perf_counter() - started
        self._eos = self._eos_ids()
        self._kept = None  # the generator generate_rewound keeps
        genai_config = json.loads((Path(spec.model_dir) / "genai_config.json").read_text())
        model_config = genai_config["model"]
        self.vocab_size = int(model_config["vocab_size"])
        self.context_length = int(model_config.get("context_length", spec.max_length))
        self.max_length = min(spec.max_length, self.context_length)

    def generate(self, prompt: str | Sequence[int], *, max_new_tokens: int,
                 min_new_tokens: int = 0) -> GenerationTrace:
        tokenize_s = 0.0
        if isinstance(prompt, str):
            _check_text(prompt)
            started = time.perf_counter()
            ids = list(self.tokenizer.encode(prompt)) if prompt else []
            tokenize_s = time.perf_counter() - started
        else:
            ids = _prompt_ids(prompt, self.vocab_size)
        _check_request(len(ids), max_new_tokens, min_new_tokens, self.max_length)
        generator = self._generator(len(ids) + min_new_tokens)
        try:
            return self._run(generator, ids, min(self.max_length, len(ids) + max_new_tokens), tokenize_s)
        finally:
            del generator

    def encode(self, text: str) -> list[int]:
        _check_text(text)
        return [int(t) for t in self.tokenizer.encode(text)]

    def logits(self, ids: Sequence[int]):
        """The logits at every position of ``ids`` (one prefill on a fresh generator): a float32
        array [len(ids), vocab]."""
        import numpy as np

        ids = _prompt_ids(ids, self.vocab_size)
        _check_request(len(ids), 1, 0, self.max_length)
        generator = self._generator(0)
        try:
            generator.append_tokens(ids)
            return np.array(generator.get_output("logits"), dtype=np.float32).reshape(len(ids), -1)
        except RuntimeError as exc:
            raise GenerationError(_classify_runtime_error(str(exc)), str(exc)) from None
        finally:
            del generator

    def generate_rewound(self, ids: Sequence[int], new_tokens: int) -> GenerationTrace:
        """Generate exactly ``new_tokens`` after ``ids`` on one generator kept across calls and
        rewound to the start each time (the soak suite's reuse mode)."""
        ids = _prompt_ids(ids, self.vocab_size)
        _check_request(len(ids), new_tokens, new_tokens, self.max_length)
        if self._kept is None:
            self._kept = self._generator(len(ids) + new_tokens)
        else:
            self._kept.rewind_to(0)
        return self._run(self._kept, ids, len(ids) + new_tokens, 0.0)

    def hold_generator(self, ids: Sequence[int], measure: Callable[[], dict]) -> dict:
        ids = _prompt_ids(ids, self.vocab_size)
        _check_request(len(ids), 1, 0, self.max_length)
        generator = self._generator(0)
        try:
            generator.append_tokens(ids)
            generator.generate_next_token()
            return measure()
        finally:
            del generator

    def _generator(self, min_length: int):
        """A greedy generator sized to this session's max_length (the KV cache is allocated to it)."""
        params = self._og.GeneratorParams(self.model)
        params.set_search_options(max_length=self.max_length, min_length=min_length, do_sample=False)
        return self._og.Generator(self.model, params)

    def _run(self, generator, ids: list[int], limit: int, tokenize_s: float) -> GenerationTrace:
        """Prefill ``ids`` and decode until ``limit`` tokens in all or an end token, timing each
        token from t0 (just before the prefill) to when it is available."""
        times: list[float] = []
        clock = time.perf_counter
        try:
            t0 = clock()
            generator.append_tokens(ids)
            count = len(ids)
            while count < limit:
                generator.generate_next_token()
                done = generator.is_done()
                times.append(clock() - t0)
                count += 1
                if done:
                    break
        except RuntimeError as exc:  # the runtime's own refusal: typed, never a crash
            raise GenerationError(_classify_runtime_error(str(exc)), str(exc)) from None
        sequence = [int(t) for t in generator.get_sequence(0)]
        new = sequence[len(ids):len(ids) + len(times)]
        eos = self._eos
        visible = [t for t in new if t not in eos]
        if len(new) < len(times) and eos:
            # The runtime stepped once more than the sequence shows: it stopped on an end token
            # and left it out of the sequence. Keep it, so tokens and token_times agree.
            new.append(min(eos))
        finish = "eos" if new and new[-1] in eos else "length"
        # An answer that ends at once has nothing to decode, and onnxruntime-genai 0.14.1's
        # Tokenizer.decode([]) kills the process (SIGFPE): an empty answer is '' without asking it.
        text = self.tokenizer.decode(visible) if visible else ""
        return GenerationTrace(
            prompt_tokens=len(ids), tokens=tuple(new), text=text,
            token_times=tuple(times), tokenize_s=tokenize_s, finish_reason=finish)

    def _eos_ids(self) -> set[int]:
        try:
            return {int(i) for i in self.tokenizer.eos_token_ids}
        except Exception:  # older runtimes expose it differently
            return set()

    def info(self) -> dict:
        return {"kind": "onnxruntime-genai", "model_dir": self.spec.model_dir,
                "provider": self.spec.provider, "max_length": self.max_length,
                "context_length": self.context_length, "vocab_size": self.vocab_size,
                "load_s": self.load_s}

    def close(self) -> None:
        self._kept = None
        self.tokenizer = None
        self.model = None


def _classify_runtime_error(message: str) -> str:
    text = message.lower()
    if "exceeds max length" in text or "max_length" in text:
        return "prompt_too_long"
    if "input_ids is empty" in text:
        return "empty_prompt"
    if "out of bounds" in text or "indices" in text:
        return "invalid_token_id"
    return "runtime_error"


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

    def generate(self, prompt: str | Sequence[int], *, max_new_tokens: int,
                 min_new_tokens: int = 0) -> GenerationTrace:
        if isinstance(prompt, str):
            ids = self.encode(prompt)
        else:
            ids = _prompt_ids(prompt, self.VOCAB)
        _check_request(len(ids), max_new_tokens, min_new_tokens, self.max_length)
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
            prompt_tokens=len(ids), tokens=tuple(tokens),
            text="".join(chr(97 + t % 26) for t in tokens), token_times=times, tokenize_s=0.0,
            finish_reason="eos" if tokens and tokens[-1] == self.EOS else "length")

    def encode(self, text: str) -> list[int]:
        _check_text(text)
        return list(text.encode("utf-8"))

    def logits(self, ids: Sequence[int]):
        """Deterministic logits: position k favours the token that follows it in ``ids``."""
        import numpy as np

        ids = _prompt_ids(ids, self.VOCAB)
        rng = np.random.default_rng(len(ids))
        out = rng.normal(0.0, 1.0, size=(len(ids), self.VOCAB)).astype(np.float32)
        for k, token in enumerate(ids[1:]):
            out[k, token] += 4.0
        return out

    def generate_rewound(self, ids: Sequence[int], new_tokens: int) -> GenerationTrace:
        return self.generate(list(ids), max_new_tokens=new_tokens, min_new_tokens=new_tokens)

    def hold_generator(self, ids: Sequence[int], measure: Callable[[], dict]) -> dict:
        _check_ids(ids, self.VOCAB)
        _check_request(len(ids), 1, 0, self.max_length)
        return measure()

    def info(self) -> dict:
        return {"kind": "fake", "max_length": self.max_length, "context_length": self.max_length,
                "vocab_size": self.VOCAB, "load_s": 0.0}

    def close(self) -> None:
        pass
