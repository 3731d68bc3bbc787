"""Run one function call in a forked child with a wall-clock and an address-space limit.

Every submitted file is untrusted: a parser may hang, allocate without bound or crash
on it. The child gets its own process group (so a Tesseract it started dies with it),
``RLIMIT_AS`` of its current size plus the budget, and is killed at the deadline. The
caller always gets an answer.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import resource
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """How the child ended: ``ok`` (value set), ``timeout``, ``memory``, ``crash``."""

    kind: str
    value: Any = None
    message: str = ""


def _vm_size() -> int:
    """Current virtual memory size of this process in bytes (0 when unknown)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_limited(fn: Callable[[Any], Any], arg: Any, *, timeout_s: float, memory_mb: int) -> Outcome:
    """Call ``fn(arg)`` in a child process and return its outcome.

    The memory budget is added to the address space the child inherits at fork (the
    interpreter and its libraries are already mapped), so ``memory_mb`` is what
    parsing the file may allocate.
    """
    if not hasattr(os, "fork"):  # pragma: no cover - not POSIX: no isolation available
        try:
            return Outcome("ok", fn(arg))
        except MemoryError:
            return Outcome("memory", message="out of memory")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(read_fd)
            os.setpgid(0, 0)
            # A native abort at the memory limit is the expected way for a hostile file to
            # end; pytest's faulthandler would dump every thread's stack for it.
            faulthandler.disable()
            limit = _vm_size() + memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            try:
                result = Outcome("ok", fn(arg))
            except MemoryError:
                result = Outcome("memory", message="out of memory")
            except BaseException as exc:  # noqa: BLE001 - report every failure to the parent
                result = Outcome("crash", message=f"{type(exc).__name__}: {exc}")
            data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as fh:
                fh.write(data)
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    deadline = time.monotonic() + timeout_s
    chunks: list[bytes] = []
    timed_out = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if not ready:
                timed_out = True
                break
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
    if timed_out:
        _kill_group(pid)
        os.waitpid(pid, 0)
        return Outcome("timeout", message=f"no result within {timeout_s:g} s")
    _, status = os.waitpid(pid, 0)
    _kill_group(pid)  # helpers (e.g. tesseract) left behind by the child
    if chunks:
        try:
            return pickle.loads(b"".join(chunks))
        except Exception as exc:  # noqa: BLE001 - a truncated pickle means the child died mid-write
            return Outcome("crash", message=f"child result unreadable ({exc})")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return Outcome("memory" if sig in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT) else "crash",
                       message=f"killed by signal {signal.Signals(sig).name}")
    return Outcome("crash", message=f"exited with status {os.WEXITSTATUS(status)} without a result")


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
