"""Run function calls in a forked child with a wall-clock and an address-space limit.

Every submitted file is untrusted: a parser may hang, allocate without bound or crash
on it. The child gets its own process group (so a Tesseract it started dies with it),
``RLIMIT_AS`` of its current size plus the budget, and is killed at the deadline. The
caller always gets an answer.

:func:`run_limited` forks a child for one call. :class:`Sandbox` keeps one child and
sends it call after call, each with its own deadline: forking a process with the
parsers loaded, and warming its caches, costs as much as reading a few pages, so a
child per file would double the cost of short files. A child that failed in any way
(timeout, memory, an exception) is killed and the next call gets a fresh one, and so
is a child that grew (its address space, which eats into the budget of the next
file) or that served many calls.
"""

from __future__ import annotations

import atexit
import faulthandler
import gc
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


def _call(fn: Callable[[Any], Any], arg: Any) -> Outcome:
    """``fn(arg)`` in a sandboxed child, every failure turned into an :class:`Outcome`."""
    try:
        return Outcome("ok", fn(arg))
    except MemoryError:
        return Outcome("memory", message="out of memory")
    except BaseException as exc:  # noqa: BLE001 - report every failure to the parent
        return Outcome("crash", message=f"{type(exc).__name__}: {exc}")


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
            # Objects inherited from the parent are never garbage here: keep the
            # collector off them, or its first full pass writes to every page of the
            # parent's heap and copies it all (tens of milliseconds per child).
            gc.freeze()
            # A native abort at the memory limit is the expected way for a hostile file to
            # end; pytest's faulthandler would dump every thread's stack for it.
            faulthandler.disable()
            limit = _vm_size() + memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            result = _call(fn, arg)
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


# --- a reusable child --------------------------------------------------------------------

_MIB = 1024 * 1024
_HEADER = 8  # bytes of the length prefix of every message


def _vm_size_of(pid: int) -> int:
    """Virtual memory size of process ``pid`` in bytes (0 when unknown)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _serve(task_fd: int, result_fd: int, memory_mb: int) -> None:
    """The child's loop: read ``(fn, arg)``, answer with an :class:`Outcome`, until EOF."""
    os.setpgid(0, 0)
    faulthandler.disable()  # see run_limited
    # Objects inherited from the parent are never garbage here: keep the collector off
    # them, or its first full pass writes to every page of the parent's heap.
    gc.freeze()
    limit = _vm_size() + memory_mb * _MIB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with os.fdopen(task_fd, "rb") as inp:
        while True:
            header = inp.read(_HEADER)
            if len(header) < _HEADER:
                return  # the parent closed the pipe (or died)
            fn, arg = pickle.loads(inp.read(int.from_bytes(header, "little")))
            result = _call(fn, arg)
            try:
                data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001 - an unpicklable result is the callee's failure
                data = pickle.dumps(Outcome("crash", message=f"result cannot be returned ({exc})"))
            _write_all(result_fd, len(data).to_bytes(_HEADER, "little") + data)


class Sandbox:
    """One forked child that runs calls one at a time under the limits of :func:`run_limited`.

    Each call has its own wall-clock limit; the child has ``RLIMIT_AS`` of its size at
    fork plus ``memory_mb``. The child is replaced after any failed call, after
    ``max_calls`` calls, and when its address space has grown by more than
    ``max_growth_mb`` (so every call keeps nearly all of its budget). Use one sandbox
    per process; a forked process gets none of its parent's (:func:`sandbox_for`).
    """

    def __init__(self, *, memory_mb: int, max_calls: int = 200, max_growth_mb: int | None = None) -> None:
        self.memory_mb = memory_mb
        self.max_calls = max_calls
        self.max_growth = (memory_mb // 8 if max_growth_mb is None else max_growth_mb) * _MIB
        self.owner = os.getpid()
        self._pid: int | None = None
        self._to_child = -1
        self._from_child = -1
        self._calls = 0
        self._start_vm = 0

    @property
    def pid(self) -> int | None:
        """The child's process id, ``None`` while no child runs."""
        return self._pid

    def _start(self) -> None:
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                os.close(task_w)
                os.close(result_r)
                _serve(task_r, result_w, self.memory_mb)
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        os.close(task_r)
        os.close(result_w)
        try:
            os.setpgid(pid, pid)  # also here, so that a kill right after the fork reaches it
        except OSError:
            pass
        self._pid, self._to_child, self._from_child = pid, task_w, result_r
        self._calls = 0
        self._start_vm = _vm_size()

    def _close_pipes(self) -> None:
        for fd in (self._to_child, self._from_child):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        # -1, not the old numbers: the system reuses them for other files.
        self._to_child = self._from_child = -1

    def close(self) -> None:
        """Stop the child (if any) and everything it started."""
        if self._pid is None:
            return
        self._close_pipes()
        _kill_group(self._pid)
        try:
            os.waitpid(self._pid, 0)
        except ChildProcessError:
            pass
        self._pid = None

    def call(self, fn: Callable[[Any], Any], arg: Any, *, timeout_s: float) -> Outcome:
        """Run ``fn(arg)`` in the child within ``timeout_s`` seconds; never raises for
        what the call does (a hang, a crash, a memory blow-up become the outcome)."""
        if os.getpid() != self.owner:
            raise RuntimeError("a Sandbox belongs to the process that created it")
        if not hasattr(os, "fork"):  # pragma: no cover - not POSIX: no isolation available
            return run_limited(fn, arg, timeout_s=timeout_s, memory_mb=self.memory_mb)
        if self._pid is not None and (self._calls >= self.max_calls
                                      or _vm_size_of(self._pid) - self._start_vm > self.max_growth):
            self.close()
        payload = pickle.dumps((fn, arg), protocol=pickle.HIGHEST_PROTOCOL)
        for attempt in (1, 2):
            if self._pid is None:
                self._start()
            try:
                _write_all(self._to_child, len(payload).to_bytes(_HEADER, "little") + payload)
                break
            except BrokenPipeError:
                # The idle child is gone (killed from outside): start another, once.
                self.close()
                if attempt == 2:
                    return Outcome("crash", message="the sandbox process could not be started")
        self._calls += 1
        outcome = self._receive(timeout_s)
        if outcome.kind != "ok":
            self.close()
        return outcome

    def _receive(self, timeout_s: float) -> Outcome:
        deadline = time.monotonic() + timeout_s
        buf = bytearray()
        need = _HEADER
        have_header = False
        while True:
            remaining = deadline - time.monotonic()
            ready = select.select([self._from_child], [], [], remaining)[0] if remaining > 0 else []
            if not ready:
                return Outcome("timeout", message=f"no result within {timeout_s:g} s")
            chunk = os.read(self._from_child, max(need - len(buf), 1 << 16))
            if not chunk:
                return self._died()
            buf += chunk
            if not have_header and len(buf) >= _HEADER:
                need = _HEADER + int.from_bytes(buf[:_HEADER], "little")
                have_header = True
            if have_header and len(buf) >= need:
                try:
                    return pickle.loads(bytes(buf[_HEADER:need]))
                except Exception as exc:  # noqa: BLE001 - a damaged answer is a failed call
                    return Outcome("crash", message=f"child result unreadable ({exc})")

    def _died(self) -> Outcome:
        """The child closed its end mid-call: reap it and say how it ended."""
        assert self._pid is not None
        _, status = os.waitpid(self._pid, 0)
        _kill_group(self._pid)
        self._close_pipes()
        self._pid = None
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            return Outcome("memory" if sig in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT) else "crash",
                           message=f"killed by signal {signal.Signals(sig).name}")
        return Outcome("crash", message=f"exited with status {os.WEXITSTATUS(status)} without a result")


_SANDBOXES: dict[int, Sandbox] = {}


def sandbox_for(memory_mb: int) -> Sandbox:
    """This process's sandbox for a memory budget (created on first use).

    Its child is stopped and reaped when this process exits (a pool worker too, whose
    exit skips ``atexit``), so that the child's CPU time is counted with its parent's.
    """
    box = _SANDBOXES.get(memory_mb)
    if box is None:
        if not _SANDBOXES:
            import multiprocessing.util

            multiprocessing.util.Finalize(None, close_sandboxes, exitpriority=10)
        box = _SANDBOXES[memory_mb] = Sandbox(memory_mb=memory_mb)
    return box


def close_sandboxes() -> None:
    """Stop the children of this process's sandboxes."""
    while _SANDBOXES:
        _, box = _SANDBOXES.popitem()
        box.close()


def _forget_inherited() -> None:
    # A forked process (a pool worker, a sandbox child) must not use or kill its
    # parent's children; it only lets go of the pipes it inherited.
    for box in _SANDBOXES.values():
        box._close_pipes()
        box._pid = None
    _SANDBOXES.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited)
atexit.register(close_sandboxes)
