"""The Session protocol: the fake, the worker process around it, and crash handling."""

import os
import signal

import pytest

from harness.errors import GenerationError, WorkerCrashed
from harness.runtime.client import WorkerSession
from harness.runtime.fake import FakeSession
from harness.runtime.protocol import Session, SessionSpec

FAKE = SessionSpec(model_dir="fake", fake=True, max_length=64)


def test_fake_is_deterministic_and_honours_forced_length():
    session = FakeSession(FAKE)
    assert isinstance(session, Session)
    first = session.generate("hello", max_new_tokens=40)
    assert first == session.generate("hello", max_new_tokens=40)
    forced = session.generate("hello", max_new_tokens=30, min_new_tokens=30)
    assert forced.new_tokens == 30 and forced.finish_reason == "length"
    assert forced.ttft_s == pytest.approx(5 * FakeSession.PREFILL_S_PER_TOKEN)
    assert forced.tpot_s == pytest.approx(FakeSession.DECODE_S)
    assert forced.decode_tps == pytest.approx(1 / FakeSession.DECODE_S)
    assert len(forced.itl_s) == 29


@pytest.mark.parametrize(
    "prompt, kwargs, kind",
    [
        ("", {}, "empty_prompt"),
        ([1, -5, 3], {}, "invalid_token_id"),
        ([1, 256], {}, "invalid_token_id"),
        ("x" * 64, {}, "prompt_too_long"),
        ("hi", {"max_new_tokens": 0}, "invalid_request"),
        ("a \ud800 b", {}, "invalid_text"),
        (b"raw bytes", {}, "invalid_request"),
    ],
)
def test_bad_requests_are_typed_errors(prompt, kwargs, kind):
    with pytest.raises(GenerationError) as info:
        FakeSession(FAKE).generate(prompt, **{"max_new_tokens": 8, **kwargs})
    assert info.value.kind == kind


def test_worker_serves_the_same_answers_as_in_process():
    worker = WorkerSession(FAKE, "fake-cpu", timeout=30)
    try:
        assert worker.generate("hello", max_new_tokens=12) == FakeSession(FAKE).generate("hello", max_new_tokens=12)
        with pytest.raises(GenerationError) as info:
            worker.generate([-1], max_new_tokens=4)
        assert info.value.kind == "invalid_token_id"
        with pytest.raises(GenerationError) as info:  # a lone surrogate survives the JSON protocol
            worker.generate("order \udcff", max_new_tokens=4)
        assert info.value.kind == "invalid_text" and "character 6" in info.value.message
        assert worker.generate("again", max_new_tokens=4).new_tokens > 0  # still serving
        memory = worker.memory()
        # A high-water mark is at least the RSS read just before it (1 MiB of slack for the
        # kernel's per-thread counter batching), and a fake model's worker stays far below 1 GiB.
        assert 0 < memory["rss_bytes"] - 2**20 <= memory["peak_rss_bytes"] < 2**30
    finally:
        worker.close()


def test_a_killed_worker_fails_its_request_and_the_next_gets_a_fresh_one():
    restarts = []
    worker = WorkerSession(
        FAKE,
        "int4-cpu",
        timeout=30,
        max_restarts=2,
        on_restart=lambda count, crash: restarts.append((count, crash.returncode)),
    )
    try:
        expected = FakeSession(FAKE).generate("hello", max_new_tokens=4)
        for round_ in (1, 2):
            first_pid = worker.pid
            os.kill(first_pid, signal.SIGKILL)
            with pytest.raises(WorkerCrashed) as info:  # the request that met the crash fails with it
                worker.generate("hello", max_new_tokens=4)
            assert "worker for variant int4-cpu died (killed by signal SIGKILL)" in str(info.value)
            assert worker.generate("hello", max_new_tokens=4) == expected  # the next: a fresh worker
            assert worker.pid != first_pid and worker.restarts == round_
        assert restarts == [(1, -signal.SIGKILL), (2, -signal.SIGKILL)]
        os.kill(worker.pid, signal.SIGKILL)  # restarts used up: this and every later request fail
        for _ in range(2):
            with pytest.raises(WorkerCrashed):
                worker.generate("hello", max_new_tokens=4)
        assert worker.restarts == 2
    finally:
        worker.close()


def test_a_load_failure_is_a_clear_error(tmp_path):
    with pytest.raises(GenerationError) as info:
        WorkerSession(SessionSpec(model_dir=str(tmp_path)), "fp32-cpu", timeout=30)
    assert info.value.kind == "load_failed"


def test_a_workers_peak_memory_is_its_own_not_its_parents():
    """ru_maxrss would report this process's 400 MB as the worker's peak (Linux keeps the high-
    water mark across fork and exec); the worker reports its own."""
    ballast = bytearray(400 * 2**20)
    for offset in range(0, len(ballast), 4096):
        ballast[offset] = 1
    session = WorkerSession(SessionSpec(model_dir="fake", fake=True), "fake", timeout=60)
    try:
        peak = session.memory()["peak_rss_bytes"]
    finally:
        session.close()
    assert 0 < peak < 200 * 2**20, f"worker peak {peak / 2**20:.0f} MiB: the parent's ballast leaked in"
    del ballast


def test_the_worker_asks_of_a_session_only_what_the_protocol_promises():
    """Every ``session.<name>`` the worker uses is a member of the Session protocol, and both
    in-process sessions provide every member (a method added to one side only fails here)."""
    import ast
    import inspect

    from harness.runtime import worker
    from harness.runtime.session import OgaSession

    promised = {name for name in vars(Session) if not name.startswith("_")}
    tree = ast.parse(inspect.getsource(worker))
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "session"
    }
    assert used and used <= promised, sorted(used - promised)
    for cls in (OgaSession, FakeSession):
        assert promised <= set(dir(cls)), (cls.__name__, sorted(promised - set(dir(cls))))
