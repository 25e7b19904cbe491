"""One worker process per variant, and the client that talks to it.

The worker loads the model once (:func:`harness.runtime.session.open_session`) and answers JSON-line
requests on a private copy of stdout (fd 1 itself is pointed at stderr, so that anything the
native runtime prints cannot corrupt the protocol). Timings are taken inside the worker, so the
pipe adds nothing to what is measured.

If the worker dies (segfault, abort, out of memory, killed) the client raises
:class:`~harness.errors.WorkerCrashed` with the exit signal and the tail of the worker's stderr
for that request; the next request starts a fresh worker, up to :data:`MAX_RESTARTS` times, after
which every later request of that variant fails with the last crash.

    python -m harness.runtime.worker '<SessionSpec JSON>'
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

from harness.errors import GenerationError, WorkerCrashed
from harness.runtime.session import GenerationTrace, SessionSpec

# --------------------------------------------------------------------------------------------
# Worker side


_DEVICE_MEMORY = False  # set when the worker serves the cuda provider


def _device_bytes() -> int | None:
    """GPU memory this process holds, from NVML (``nvidia-ml-py``); None when unknown."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        used = [p.usedGpuMemory or 0
                for i in range(pynvml.nvmlDeviceGetCount())
                for p in pynvml.nvmlDeviceGetComputeRunningProcesses(pynvml.nvmlDeviceGetHandleByIndex(i))
                if p.pid == os.getpid()]
    except pynvml.NVMLError:
        return None
    return int(sum(used)) if used else None


def _peak_rss_bytes() -> int:
    """This process's own high-water RSS: ``VmHWM``, which starts anew at exec. ``ru_maxrss``
    does not: Linux carries the parent's high-water mark across fork and exec, so a worker
    started by a large pytest process would report the parent's size as its peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _memory() -> dict:
    import psutil

    process = psutil.Process()
    full = process.memory_full_info()
    memory = {"rss_bytes": int(full.rss), "uss_bytes": int(full.uss),
              "peak_rss_bytes": _peak_rss_bytes()}
    if _DEVICE_MEMORY:
        device = _device_bytes()
        if device is not None:
            memory["device_bytes"] = device
    return memory


def serve(spec: SessionSpec) -> int:
    global _DEVICE_MEMORY
    _DEVICE_MEMORY = spec.provider == "cuda"
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # native prints go to stderr
    sys.stdout = sys.stderr

    def reply(payload: dict) -> None:
        protocol.write(json.dumps(payload) + "\n")
        protocol.flush()

    from harness.runtime.session import open_session

    before = _memory()
    started = time.perf_counter()
    try:
        session = open_session(spec)
    except Exception as exc:  # load failures are answers, not crashes
        reply({"ok": False, "error": {"kind": "load_failed", "message": f"{type(exc).__name__}: {exc}"}})
        return 3
    load_s = time.perf_counter() - started
    after = _memory()
    reply({"ok": True, "ready": True, "load_s": load_s,
           "rss_before_load_bytes": before["rss_bytes"], "rss_after_load_bytes": after["rss_bytes"],
           "info": session.info(), "pid": os.getpid()})
    first_request = True
    for line in sys.stdin:
        request = json.loads(line)
        op = request.get("op")
        try:
            if op == "generate":
                trace = session.generate(request["prompt"], max_new_tokens=request["max_new_tokens"],
                                         min_new_tokens=request.get("min_new_tokens", 0))
                answer = {"ok": True, "trace": trace.to_dict()}
                if first_request:  # what generating at all adds to the loaded model's RSS
                    answer["memory"], first_request = _memory(), False
                reply(answer)
            elif op == "generate_rewound":
                trace = session.generate_rewound(request["ids"], request["new_tokens"])
                reply({"ok": True, "trace": trace.to_dict(), "memory": _memory()})
            elif op == "memory":
                reply({"ok": True, "memory": _memory()})
            elif op == "encode":
                reply({"ok": True, "ids": session.encode(request["text"])})
            elif op == "generator_memory":
                before = _memory()
                held = session.hold_generator(request["ids"], _memory)
                reply({"ok": True, "before": before, "with_generator": held, "after": _memory()})
            elif op == "write_reference":  # closeness: this variant is the reference
                from harness.measure.closeness import write_reference

                reply({"ok": True, **write_reference(session.logits, request["chunks"], Path(request["path"]))})
            elif op == "compare":  # closeness: per-token figures against the stored reference
                from harness.measure.closeness import compare

                reply({"ok": True, "per_token": compare(session.logits, request["chunks"], Path(request["path"]))})
            elif op == "info":
                reply({"ok": True, "info": session.info()})
            elif op == "exit":
                reply({"ok": True})
                break
            else:
                reply({"ok": False, "error": {"kind": "bad_request", "message": f"unknown op {op!r}"}})
        except GenerationError as exc:
            reply({"ok": False, "error": {"kind": exc.kind, "message": exc.message}})
        except Exception as exc:  # any other refusal is typed as a runtime error
            reply({"ok": False, "error": {"kind": "runtime_error", "message": f"{type(exc).__name__}: {exc}"}})
    session.close()
    return 0


# --------------------------------------------------------------------------------------------
# Client side

MAX_RESTARTS = 3  # fresh workers a variant gets after crashes, before its later requests fail too


class WorkerSession:
    """A :class:`~harness.runtime.session.Session` served by a worker process."""

    def __init__(self, spec: SessionSpec, variant_id: str, *, timeout: float = 600.0,
                 load_timeout: float = 600.0, max_restarts: int = MAX_RESTARTS,
                 on_restart: Callable[[int, WorkerCrashed], None] = lambda count, crash: None) -> None:
        self.spec = spec
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
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "harness.runtime.worker", self.spec.to_json()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env)
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

    def generate(self, prompt: str | Sequence[int], *, max_new_tokens: int,
                 min_new_tokens: int = 0) -> GenerationTrace:
        if not isinstance(prompt, str):
            prompt = [int(i) for i in prompt]
        answer = self._call({"op": "generate", "prompt": prompt, "max_new_tokens": max_new_tokens,
                             "min_new_tokens": min_new_tokens})
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
        return self._call({"op": "write_reference", "chunks": [list(map(int, c)) for c in chunks],
                           "path": str(path)})

    def compare(self, chunks: Sequence[Sequence[int]], path: Path) -> dict[str, list]:
        return self._call({"op": "compare", "chunks": [list(map(int, c)) for c in chunks],
                           "path": str(path)})["per_token"]

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
        self._stderr.seek(0)
        tail = self._stderr.read()[-3000:].decode("utf-8", "replace")
        if note:
            tail = f"{tail}\n[harness] {note}".strip()
        self._crash = WorkerCrashed(self.variant_id, returncode, tail)
        return self._crash


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m harness.runtime.worker '<SessionSpec JSON>'", file=sys.stderr)
        return 2
    return serve(SessionSpec.from_json(argv[0]))


if __name__ == "__main__":
    sys.exit(main())
