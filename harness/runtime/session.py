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

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from harness.errors import GenerationError
from harness.measure.trace import GenerationTrace
from harness.runtime import bare_loop
from harness.runtime.fake import FakeSession
from harness.runtime.protocol import Session, SessionSpec, check_request, check_text, prompt_ids


def open_session(spec: SessionSpec) -> Session:
    return FakeSession(spec) if spec.fake else OgaSession(spec)


class OgaSession:
    """A model loaded with onnxruntime-genai on one execution provider."""

    _PROVIDERS: ClassVar[dict[str, str]] = {"cuda": "cuda", "dml": "dml", "webgpu": "WebGPU"}

    def __init__(self, spec: SessionSpec) -> None:
        import onnxruntime_genai as og

        self._og = og
        self.spec = spec
        # onnxruntime-genai reports objects still alive at process exit ("OGA Error: N instances
        # of ... were leaked") only while its logging is enabled; the soak's runtime_leak_report
        # reads that report. Enabling it prints nothing else unless a log option is also set.
        og.set_log_options(enabled=True)
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

    def generate(self, prompt: str | Sequence[int], *, max_new_tokens: int, min_new_tokens: int = 0) -> GenerationTrace:
        tokenize_s = 0.0
        if isinstance(prompt, str):
            check_text(prompt)
            started = time.perf_counter()
            ids = list(self.tokenizer.encode(prompt)) if prompt else []
            tokenize_s = time.perf_counter() - started
        else:
            ids = prompt_ids(prompt, self.vocab_size)
        check_request(len(ids), max_new_tokens, min_new_tokens, self.max_length)
        started = time.perf_counter()
        generator = self._generator(len(ids) + min_new_tokens)
        setup_s = time.perf_counter() - started
        try:
            return self._run(generator, ids, min(self.max_length, len(ids) + max_new_tokens), tokenize_s, setup_s)
        finally:
            del generator

    def generate_batch(self, prompts: Sequence[str], *, max_new_tokens: int) -> list[GenerationTrace]:
        """Greedy answers to ``prompts`` in one static batch (``batch_size`` in the search options;
        the tokenizer pads the shorter prompts on the right). Each trace holds its prompt's own
        tokens up to and including its end token; its token times are the batch's steps, so they
        time the batch, not the request."""
        ids = [self.encode(prompt) for prompt in prompts]
        for one in ids:
            check_request(len(one), max_new_tokens, 0, self.max_length)
        batch = self.tokenizer.encode_batch(list(prompts))
        padded = int(batch.shape()[1])
        if padded + max_new_tokens > self.max_length:  # a padded row would run out of room sooner than alone
            raise GenerationError(
                "prompt_too_long",
                f"a batch padded to {padded} tokens leaves fewer than {max_new_tokens} new tokens under "
                f"max_length {self.max_length}",
            )
        params = self._og.GeneratorParams(self.model)
        limit = padded + max_new_tokens
        params.set_search_options(batch_size=len(prompts), max_length=limit, do_sample=False)
        generator = self._og.Generator(self.model, params)
        times: list[float] = []
        clock = time.perf_counter
        try:
            t0 = clock()
            generator.append_tokens(batch)
            while len(times) < max_new_tokens and not generator.is_done():
                generator.generate_next_token()
                times.append(clock() - t0)
            rows = [[int(t) for t in generator.get_sequence(i)][padded:] for i in range(len(prompts))]
        except RuntimeError as exc:
            raise GenerationError(_classify_runtime_error(str(exc)), str(exc)) from None
        finally:
            del generator
        # a row that ended goes on with padding: keep it up to its end token
        ends = [next((k + 1 for k, t in enumerate(row) if t in self._eos), len(row)) for row in rows]
        return [self._trace(len(one), row[:end], times) for one, row, end in zip(ids, rows, ends)]

    def encode(self, text: str) -> list[int]:
        check_text(text)
        return [int(t) for t in self.tokenizer.encode(text)]

    def logits(self, ids: Sequence[int]):
        """The logits at every position of ``ids`` (one prefill on a fresh generator): a float32
        array [len(ids), vocab]."""
        import numpy as np

        ids = prompt_ids(ids, self.vocab_size)
        check_request(len(ids), 1, 0, self.max_length)
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
        ids = prompt_ids(ids, self.vocab_size)
        check_request(len(ids), new_tokens, new_tokens, self.max_length)
        if self._kept is None:
            self._kept = self._generator(len(ids) + new_tokens)
        else:
            self._kept.rewind_to(0)
        return self._run(self._kept, ids, len(ids) + new_tokens, 0.0)

    def generate_again(self, ids: Sequence[int], new_tokens: int, repeats: int) -> list[GenerationTrace]:
        """``repeats`` forced requests of ``new_tokens`` after ``ids`` on one generator: the first
        prefills ``ids``; each next one rewinds to the last prompt token, appends it again and
        decodes the same greedy tokens, so decoding at a long context is measured again without
        paying its prefill again. Where the model cannot rewind, each is a fresh request."""
        ids = prompt_ids(ids, self.vocab_size)
        check_request(len(ids), new_tokens, new_tokens, self.max_length)
        limit = len(ids) + new_tokens
        generator = self._generator(limit)
        try:
            traces = [self._run(generator, ids, limit, 0.0)]
            while len(traces) < repeats:
                try:
                    generator.rewind_to(len(ids) - 1)
                except RuntimeError:  # no rewinding for this model: fresh requests instead
                    traces.append(self.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens))
                    continue
                traces.append(self._run(generator, ids, limit, 0.0, appended=len(ids) - 1))
            return traces
        finally:
            del generator

    def hold_generator(self, ids: Sequence[int], measure: Callable[[], dict]) -> dict:
        ids = prompt_ids(ids, self.vocab_size)
        check_request(len(ids), 1, 0, self.max_length)
        generator = self._generator(0)
        try:
            generator.append_tokens(ids)
            generator.generate_next_token()
            return measure()
        finally:
            del generator

    def bare(self, ids: Sequence[int], new_tokens: int) -> dict:
        ids = prompt_ids(ids, self.vocab_size)
        check_request(len(ids), new_tokens, new_tokens, self.max_length)
        return bare_loop.run(self.model, ids, new_tokens, self.max_length)

    def _generator(self, min_length: int):
        """A greedy generator sized to this session's max_length (the KV cache is allocated to it)."""
        params = self._og.GeneratorParams(self.model)
        params.set_search_options(max_length=self.max_length, min_length=min_length, do_sample=False)
        return self._og.Generator(self.model, params)

    def _run(
        self, generator, ids: list[int], limit: int, tokenize_s: float, setup_s: float = 0.0, appended: int = 0
    ) -> GenerationTrace:
        """Prefill ``ids`` (past the first ``appended``, already in the generator) and decode until
        ``limit`` tokens in all or an end token, timing each token from t0 (just before the
        prefill) to when it is available."""
        times: list[float] = []
        clock = time.perf_counter
        try:
            t0 = clock()
            generator.append_tokens(ids[appended:])
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
        return self._trace(len(ids), sequence[len(ids) :], times, tokenize_s, setup_s)

    def _trace(
        self, prompt_tokens: int, new: list[int], times: list[float], tokenize_s: float = 0.0, setup_s: float = 0.0
    ) -> GenerationTrace:
        """The trace of one answer: the tokens generated after its prompt and the time of each step."""
        eos = self._eos
        new = new[: len(times)]
        if len(new) < len(times) and eos and not (new and new[-1] in eos):
            # The runtime stepped once more than the sequence shows: it stopped on an end token
            # and left it out of the sequence. Keep it, so tokens and token_times agree.
            new = [*new, min(eos)]
        visible = [t for t in new if t not in eos]
        # An answer that ends at once has nothing to decode, and onnxruntime-genai 0.14.1's
        # Tokenizer.decode([]) kills the process (SIGFPE): an empty answer is '' without asking it.
        return GenerationTrace(
            prompt_tokens=prompt_tokens,
            tokens=tuple(new),
            text=self.tokenizer.decode(visible) if visible else "",
            token_times=tuple(times[: len(new)]),
            tokenize_s=tokenize_s,
            finish_reason="eos" if new and new[-1] in eos else "length",
            setup_s=setup_s,
        )

    def _eos_ids(self) -> set[int]:
        try:
            return {int(i) for i in self.tokenizer.eos_token_ids}
        except Exception:  # older runtimes expose it differently
            return set()

    def info(self) -> dict:
        return {
            "kind": "onnxruntime-genai",
            "model_dir": self.spec.model_dir,
            "provider": self.spec.provider,
            "max_length": self.max_length,
            "context_length": self.context_length,
            "vocab_size": self.vocab_size,
            "load_s": self.load_s,
        }

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
