"""The long-lived sandbox child (``pipeline.sandbox.Sandbox``): calls reuse one child,
and every way a call can fail (a hang, a memory blow-up, a crash, an exception) still
gives an answer, a fresh child for the next call, and no process left behind."""

from __future__ import annotations

import os
import signal
import time

import pytest

from pipeline import sandbox
from pipeline.sandbox import Sandbox, sandbox_for

_HOARD: list[bytearray] = []


def _pid(_: object) -> int:
    return os.getpid()


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def _allocate(mb: int) -> int:
    return len(bytearray(mb * 1024 * 1024))


def _hoard(mb: int) -> int:
    # Memory the child keeps after the call: its address space grows.
    _HOARD.append(bytearray(mb * 1024 * 1024))
    return os.getpid()


def _raise(message: str) -> None:
    raise ValueError(message)


def _die(sig: int) -> None:
    os.kill(os.getpid(), sig)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def box():
    b = Sandbox(memory_mb=256)
    yield b
    b.close()


def test_sandbox_reuse_calls_share_one_child(box: Sandbox):
    pids = {box.call(_pid, None, timeout_s=10).value for _ in range(5)}
    assert len(pids) == 1 and os.getpid() not in pids
    assert box.call(_sleep, 0.01, timeout_s=10).value == "done"


def test_sandbox_reuse_timeout_is_per_call_and_the_next_call_gets_a_fresh_child(box: Sandbox):
    first = box.call(_pid, None, timeout_s=10).value
    start = time.perf_counter()
    out = box.call(_sleep, 30, timeout_s=1)
    assert out.kind == "timeout" and time.perf_counter() - start < 10
    assert _gone(first), "the hung child is killed and reaped"
    second = box.call(_pid, None, timeout_s=10).value
    assert second != first


@pytest.mark.parametrize(("fn", "arg", "kind"), [
    (_allocate, 2048, "memory"),  # over the 256 MB budget
    (_raise, "bad input", "crash"),
    (_die, signal.SIGSEGV, "memory"),  # a native crash at the memory limit looks like this
    (_die, signal.SIGTERM, "crash"),
])
def test_sandbox_reuse_failures_become_outcomes_and_the_child_is_replaced(box: Sandbox, fn, arg, kind):
    first = box.call(_pid, None, timeout_s=10).value
    out = box.call(fn, arg, timeout_s=30)
    assert out.kind == kind, out
    assert out.message
    assert _gone(first)
    assert box.call(_sleep, 0, timeout_s=10).value == "done"
    assert box.call(_pid, None, timeout_s=10).value != first


def test_sandbox_reuse_budget_holds_for_every_call(box: Sandbox):
    # The same 200 MB allocation fits the budget call after call: nothing accumulates.
    for _ in range(4):
        assert box.call(_allocate, 200, timeout_s=30).kind == "ok"


def test_sandbox_reuse_grown_or_old_child_is_replaced():
    grown = Sandbox(memory_mb=1024, max_growth_mb=64)
    try:
        first = grown.call(_hoard, 128, timeout_s=30).value
        assert grown.call(_pid, None, timeout_s=10).value != first, "a child that grew is replaced"
    finally:
        grown.close()
    old = Sandbox(memory_mb=256, max_calls=3)
    try:
        pids = [old.call(_pid, None, timeout_s=10).value for _ in range(7)]
        assert len(set(pids)) == 3 and pids[:3] == [pids[0]] * 3
    finally:
        old.close()


def test_sandbox_reuse_close_leaves_no_process(box: Sandbox):
    pid = box.call(_pid, None, timeout_s=10).value
    box.close()
    assert box.pid is None and _gone(pid)
    box.close()  # closing twice is harmless


def test_sandbox_reuse_forked_process_does_not_inherit_the_sandbox():
    parent_box = sandbox_for(128)
    parent_child = parent_box.call(_pid, None, timeout_s=10).value
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked process
        ok = 0
        try:
            fresh = sandbox_for(128)
            ok = int(fresh is not parent_box and fresh.call(_pid, None, timeout_s=10).value != parent_child)
            sandbox.close_sandboxes()
        finally:
            os.write(write_fd, bytes([ok]))
            os._exit(0)
    os.close(write_fd)
    answer = os.read(read_fd, 1)
    os.close(read_fd)
    os.waitpid(pid, 0)
    assert answer == b"\x01", "a forked process starts its own sandbox child"
    assert parent_box.call(_pid, None, timeout_s=10).value == parent_child, "the parent's child is untouched"
    sandbox.close_sandboxes()
    assert _gone(parent_child)
