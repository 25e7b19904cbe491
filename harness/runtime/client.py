"""The client side of a worker: WorkerSession starts a variant's worker process, sends it requests, and restarts it
after a crash."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.common.processes import die_with_parent, stop_if_interrupted
from harness.common.toolchains import MAIN, Interpreter
from harness.errors import GenerationError, WorkerCrashed
from harness.measure.trace import GenerationTrace
from harness.runtime.protocol import SessionSpec

MAX_RESTARTS = 3  # fresh workers a variant gets after crashes, before its later requests fail too


class WorkerSession:
    """What suites get: one variant's :class:`~harness.runtime.protocol.Session`, loaded in a
    worker process of its own, with requests measured there and a fresh worker after a crash."""

    def __init__(
        self,
        spec: SessionSpec,
        variant_id: str,
        *,
        timeout: float = 600.0,
        load_timeout: float = 600.0,
        max_restarts: int = MAX_RESTARTS,
        on_restart: Callable[[int, WorkerCrashed], None] = lambda count, crash: None,
        interpreter: Interpreter = MAIN,
    ) -> None:
        """``interpreter``: the toolchain the worker runs in (``--runtimes``); by default this
        process's own environment."""
        self.spec = spec
        self.interpreter = interpreter
        self.variant_id = variant_id
        self.timeout = timeout
        self.load_timeout = load_timeout
        self.max_restarts = max_restarts
        self.restarts = 0  # fresh workers started after a crash
        self._on_restart = on_restart
        self._crash: WorkerCrashed | None = None
        self.after_first_request: dict | None = None  # the worker's memory after its first request
        self._start()

    def _start(self) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+b")
        env = dict(os.environ if self.interpreter.env is None else self.interpreter.env, PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen(
            [*self.interpreter.command, "-m", "harness.runtime.worker", self.spec.to_json()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            preexec_fn=die_with_parent(),
        )
        self._buffer = b""
        ready = self._read(self.load_timeout)
        if not ready.get("ok"):
            error = ready.get("error", {})
            self.close()
            raise GenerationError(error.get("kind", "load_failed"), error.get("message", "load failed"))
        self.ready = ready

    def _restart(self) -> None:
        """After a crash, the next request gets a fresh worker (at most ``max_restarts`` times):
        the crash stays the failure of the request that caused it, and a report shows which
        inputs crash a variant instead of failing everything after the first."""
        crash = self._crash
        self.close()
        self.restarts += 1
        self._on_restart(self.restarts, crash)
        self._crash = None
        self.after_first_request = None
        try:
            self._start()
        except GenerationError:  # could not load again: the next request may try once more
            self._crash = crash
            raise

    @property
    def pid(self) -> int:
        return self._proc.pid

    def generate(self, prompt: str | Sequence[int], *, max_new_tokens: int, min_new_tokens: int = 0) -> GenerationTrace:
        if not isinstance(prompt, str):
            prompt = [int(i) for i in prompt]
        answer = self._call(
            {"op": "generate", "prompt": prompt, "max_new_tokens": max_new_tokens, "min_new_tokens": min_new_tokens}
        )
        if "memory" in answer:
            self.after_first_request = answer["memory"]
        return GenerationTrace.from_dict(answer["trace"])

    def generate_measured(self, ids: Sequence[int], new_tokens: int, *, rewound: bool) -> tuple[GenerationTrace, dict]:
        """One forced-length request and the worker's memory right after it (soak iterations):
        on a fresh generator, or on one generator kept in the worker and rewound each time."""
        if rewound:
            answer = self._call({"op": "generate_rewound", "ids": [int(i) for i in ids], "new_tokens": new_tokens})
            return GenerationTrace.from_dict(answer["trace"]), answer["memory"]
        trace = self.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens)
        return trace, self.memory()

    def generate_again(self, ids: Sequence[int], new_tokens: int, repeats: int) -> list[GenerationTrace]:
        """``repeats`` forced requests after ``ids``, the later ones decoding again from the first
        one's prefill (``OgaSession.generate_again``)."""
        answer = self._call(
            {"op": "generate_again", "ids": [int(i) for i in ids], "new_tokens": new_tokens, "repeats": repeats}
        )
        return [GenerationTrace.from_dict(t) for t in answer["traces"]]

    def generate_batch(self, prompts: Sequence[str], *, max_new_tokens: int) -> list[GenerationTrace]:
        """Greedy answers to ``prompts`` in one batch (``OgaSession.generate_batch``)."""
        answer = self._call({"op": "generate_batch", "prompts": list(prompts), "max_new_tokens": max_new_tokens})
        return [GenerationTrace.from_dict(t) for t in answer["traces"]]

    def exit_report(self) -> str:
        """Close the worker and return what its stderr said (onnxruntime-genai reports leaked
        objects there at exit: "OGA Error: N instances of ... were leaked")."""
        self._stop(timeout=30)
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace")
        self.close()
        return text

    def memory(self) -> dict:
        """The worker's RSS, USS and peak RSS (``VmHWM``), in bytes."""
        return self._call({"op": "memory"})["memory"]

    def encode(self, text: str) -> list[int]:
        return self._call({"op": "encode", "text": text})["ids"]

    def generator_memory(self, ids: Sequence[int]) -> dict:
        """The worker's memory before, while a ``max_length`` generator holds ``ids``, and after."""
        answer = self._call({"op": "generator_memory", "ids": [int(i) for i in ids]})
        return {k: answer[k] for k in ("before", "with_generator", "after")}

    def info(self) -> dict:
        return self._call({"op": "info"})["info"]

    def write_reference(self, chunks: Sequence[Sequence[int]], path: Path) -> dict:
        return self._call({"op": "write_reference", "chunks": [list(map(int, c)) for c in chunks], "path": str(path)})

    def compare(self, chunks: Sequence[Sequence[int]], path: Path) -> dict[str, list]:
        return self._call({"op": "compare", "chunks": [list(map(int, c)) for c in chunks], "path": str(path)})[
            "per_token"
        ]

    def bare(self, ids: Sequence[int], new_tokens: int) -> dict:
        """One request of exactly ``new_tokens`` through :mod:`harness.runtime.bare_loop` on this
        worker's loaded model (the overhead benchmark's yardstick): ttft_s, decode_s, new_tokens, tokens."""
        return self._call({"op": "bare", "ids": [int(i) for i in ids], "new_tokens": new_tokens})

    def _stop(self, timeout: float) -> None:
        """Ask the worker to exit (so the runtime can say what it leaked); kill it if it won't."""
        if self._proc.poll() is None:
            try:
                self._proc.stdin.write(b'{"op": "exit"}\n')
                self._proc.stdin.flush()
                self._proc.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()

    def close(self) -> None:
        self._stop(timeout=10)
        for stream in (self._proc.stdin, self._proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()

    # ---------------------------------------------------------------------------------------
    def _call(self, request: dict) -> dict:
        if self._crash is not None:
            if self.restarts >= self.max_restarts:
                raise self._crash
            self._restart()
        try:
            self._proc.stdin.write((json.dumps(request) + "\n").encode())
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._crashed() from None
        answer = self._read(self.timeout)
        if not answer.get("ok"):
            error = answer.get("error", {})
            raise GenerationError(error.get("kind", "runtime_error"), error.get("message", ""))
        return answer

    def _read(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        stdout = self._proc.stdout
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._proc.kill()
                    self._proc.wait()
                    raise self._crashed(f"no answer within {timeout:.0f} s; killed")
                if not selector.select(remaining):
                    continue
                chunk = os.read(stdout.fileno(), 1 << 16)
                if not chunk:
                    raise self._crashed()
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _crashed(self, note: str = "") -> WorkerCrashed:
        try:
            returncode = self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            returncode = self._proc.wait()
        stop_if_interrupted(returncode)
        self._stderr.seek(0)
        tail = self._stderr.read()[-3000:].decode("utf-8", "replace")
        if note:
            tail = f"{tail}\n[harness] {note}".strip()
        self._crash = WorkerCrashed(self.variant_id, returncode, tail)
        return self._crash
