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
import sys
import time
from pathlib import Path

from harness.errors import GenerationError
from harness.measure.closeness import compare, write_reference
from harness.runtime.protocol import SessionSpec

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
        used = [
            p.usedGpuMemory or 0
            for i in range(pynvml.nvmlDeviceGetCount())
            for p in pynvml.nvmlDeviceGetComputeRunningProcesses(pynvml.nvmlDeviceGetHandleByIndex(i))
            if p.pid == os.getpid()
        ]
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
    memory = {"rss_bytes": int(full.rss), "uss_bytes": int(full.uss), "peak_rss_bytes": _peak_rss_bytes()}
    if _DEVICE_MEMORY:
        device = _device_bytes()
        if device is not None:
            memory["device_bytes"] = device
    return memory


# ---------------------------------------------------------------------------------------------
# The requests a worker answers: op -> handler(session, request, served) -> the reply's fields


def _generate(session, request: dict, served: dict) -> dict:
    trace = session.generate(
        request["prompt"], max_new_tokens=request["max_new_tokens"], min_new_tokens=request.get("min_new_tokens", 0)
    )
    answer = {"trace": trace.to_dict()}
    if served.get("generated") is None:  # what generating at all adds to the loaded model's RSS
        answer["memory"] = served["generated"] = _memory()
    return answer


def _generate_rewound(session, request: dict, served: dict) -> dict:
    trace = session.generate_rewound(request["ids"], request["new_tokens"])
    return {"trace": trace.to_dict(), "memory": _memory()}


def _generate_again(session, request: dict, served: dict) -> dict:
    traces = session.generate_again(request["ids"], request["new_tokens"], request["repeats"])
    return {"traces": [t.to_dict() for t in traces]}


def _generate_batch(session, request: dict, served: dict) -> dict:
    traces = session.generate_batch(request["prompts"], max_new_tokens=request["max_new_tokens"])
    return {"traces": [t.to_dict() for t in traces]}


def _generator_memory(session, request: dict, served: dict) -> dict:
    before = _memory()
    held = session.hold_generator(request["ids"], _memory)
    return {"before": before, "with_generator": held, "after": _memory()}


def _write_reference(session, request: dict, served: dict) -> dict:  # closeness: this variant is the reference
    return write_reference(session.logits, request["chunks"], Path(request["path"]))


def _compare(session, request: dict, served: dict) -> dict:  # closeness: per-token figures against the reference
    return {"per_token": compare(session.logits, request["chunks"], Path(request["path"]))}


def _bare(session, request: dict, served: dict) -> dict:  # overhead: the yardstick, on the session's own model
    return session.bare(request["ids"], request["new_tokens"])


HANDLERS = {
    "generate": _generate,
    "generate_rewound": _generate_rewound,
    "generate_again": _generate_again,
    "generate_batch": _generate_batch,
    "memory": lambda session, request, served: {"memory": _memory()},
    "encode": lambda session, request, served: {"ids": session.encode(request["text"])},
    "generator_memory": _generator_memory,
    "write_reference": _write_reference,
    "compare": _compare,
    "bare": _bare,
    "info": lambda session, request, served: {"info": session.info()},
}


def _runtime_versions() -> dict:
    """The runtime this worker runs, as its own interpreter sees it."""
    from importlib import metadata

    return {package: metadata.version(package) for package in ("onnxruntime-genai", "onnxruntime")}


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
    reply(
        {
            "ok": True,
            "ready": True,
            "load_s": load_s,
            "runtime": _runtime_versions(),
            "rss_before_load_bytes": before["rss_bytes"],
            "rss_after_load_bytes": after["rss_bytes"],
            "info": session.info(),
            "pid": os.getpid(),
        }
    )
    served: dict = {}  # what the handlers remember between requests
    for line in sys.stdin:
        request = json.loads(line)
        op = request.get("op")
        if op == "exit":
            reply({"ok": True})
            break
        handler = HANDLERS.get(op)
        try:
            if handler is None:
                reply({"ok": False, "error": {"kind": "bad_request", "message": f"unknown op {op!r}"}})
                continue
            reply({"ok": True, **handler(session, request, served)})
        except GenerationError as exc:
            reply({"ok": False, "error": {"kind": exc.kind, "message": exc.message}})
        except Exception as exc:  # any other refusal is typed as a runtime error
            reply({"ok": False, "error": {"kind": "runtime_error", "message": f"{type(exc).__name__}: {exc}"}})
    session.close()
    return 0


# --------------------------------------------------------------------------------------------
# Client side


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m harness.runtime.worker '<SessionSpec JSON>'", file=sys.stderr)
        return 2
    return serve(SessionSpec.from_json(argv[0]))


if __name__ == "__main__":
    sys.exit(main())
