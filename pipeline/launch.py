"""The ``textmine`` command's entry point: :mod:`pipeline.cli`, imported for a short-lived process.

Every stage is a fresh process, and on an incremental run starting is a good part of a
stage's time: importing pandas, numpy and pyarrow (about 0.4 s) builds some hundred
thousand objects, none of them garbage, and the cyclic garbage collector walks them
again and again while they are made. Importing with the collector paused, then freezing
what the import built (``gc.freeze``: later full passes skip it), saves 0.03-0.1 s a
stage. Kept out of :mod:`pipeline.cli` itself, whose import is what it speeds up.

Better still is not to import at all: when a stage server (:mod:`pipeline.stage_server`)
built from this very code, interpreter and environment is running, the command is sent
to it and runs in a fork of it, with pandas and the later stages' libraries already
imported; the first stage command that finds none starts one in the background and
runs itself meanwhile. ``TEXTMINE_SERVER=0`` turns this off.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import signal
import socket
import sys
from pathlib import Path
from types import ModuleType
from typing import NoReturn

# The commands `dvc repro` runs one after another (pipeline.cli.STAGES): the ones worth
# starting a server for. Any command is served when a server is up.
SERVED = ("ingest", "language", "entities", "actors", "themes", "review", "summarize", "report")
# Set by the shell or by DVC (DVC_STAGE: the stage's name), different from one command to
# the next and read by no import. Served commands still get them.
_VOLATILE_ENV = frozenset({"_", "PWD", "OLDPWD", "SHLVL"})
_VOLATILE_PREFIX = "DVC_"
_KEY_FORMAT = 1


def import_cli() -> ModuleType:
    """:mod:`pipeline.cli`, imported with the garbage collector paused, then frozen."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        from pipeline import cli
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    return cli


def run_command(argv: list[str]) -> NoReturn:
    """Run ``textmine ARGV`` in this process and exit with its code."""
    import_cli()
    from pipeline.cli import exit_now, main  # imported by now

    exit_now(main(argv))


def entry() -> NoReturn:
    """The ``textmine`` command: in a stage server when one is up, else here."""
    argv = sys.argv[1:]
    code = served(argv)
    if code is None:
        run_command(argv)
    if code < 0:  # the command died of a signal: so does this process
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code if code >= 0 else 128 - code)


# --- the stage server's client ----------------------------------------------------------------


def server_wanted() -> bool:
    """Whether commands may go to a stage server (Linux, and not ``TEXTMINE_SERVER=0``)."""
    return (sys.platform.startswith("linux") and hasattr(socket, "send_fds")
            and os.environ.get("TEXTMINE_SERVER", "1").lower() not in ("0", "no", "off", "false"))


def server_key() -> str:
    """A digest of what a server's imports depend on: this package's source files, the
    interpreter and its import path (and the installed packages' folders), the user, the
    environment and the resource limits. A server serves only callers of its own key."""
    import resource

    h = hashlib.sha256()
    env = sorted((k, v) for k, v in os.environ.items()
                 if k not in _VOLATILE_ENV and not k.startswith(_VOLATILE_PREFIX))
    limits = [resource.getrlimit(r) for r in (resource.RLIMIT_AS, resource.RLIMIT_DATA,
                                              resource.RLIMIT_NOFILE, resource.RLIMIT_STACK)]
    h.update(repr((_KEY_FORMAT, sys.executable, sys.version, tuple(sys.flags), sys.path, os.getuid(),
                   env, limits)).encode())
    package = os.path.dirname(os.path.abspath(__file__))
    for root, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "data"))
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(root, name))
                h.update(f"{os.path.relpath(os.path.join(root, name), package)}:{st.st_mtime_ns}:{st.st_size}\n".encode())
    for entry_path in sys.path:
        try:
            h.update(f"{entry_path}:{os.stat(entry_path or '.').st_mtime_ns}\n".encode())
        except OSError:
            continue
    return h.hexdigest()[:20]


def server_dir() -> Path | None:
    """The private folder of this user's server sockets (``TEXTMINE_SERVER_DIR``, else
    ``$XDG_RUNTIME_DIR/textmine``, else ``/tmp/textmine-<uid>``); None if it is not
    private (someone else could connect or plant a socket)."""
    base = os.environ.get("TEXTMINE_SERVER_DIR")
    if not base:
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        base = (os.path.join(runtime, "textmine") if runtime
                else os.path.join(os.environ.get("TMPDIR") or "/tmp", f"textmine-{os.getuid()}"))
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        st = os.stat(base)
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return Path(base)


def served(argv: list[str]) -> int | None:
    """Run ``textmine ARGV`` in a stage server and return its exit code (negative: the
    signal that ended it); None when no server took the command (run it here).

    Starts a server for the next commands when none answers and this is a stage."""
    if not server_wanted():
        return None
    folder = server_dir()
    if folder is None:
        return None
    path = folder / f"{server_key()}.sock"
    if len(str(path)) > 100:  # a Unix socket's path is limited to 108 bytes
        return None
    from pipeline.stage_server import EXIT, LENGTH, PID, fd_open, recv_exact

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(5.0)  # a live server answers at once, or after one request (2 s at most)
        sock.connect(str(path))
        if sock.recv(1) != b"R":
            raise ConnectionError("no answer")
    except OSError:
        sock.close()
        if argv and argv[0] in SERVED:
            # Its imports take the other core while this command runs here: ready for
            # the next one (measured: starting it as this command exits is slower).
            start_server(path)
        return None
    fds = [fd for fd in (0, 1, 2) if fd_open(fd)]
    try:
        umask = os.umask(0)
        os.umask(umask)
        body = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ),
                           "umask": umask, "fds": fds}).encode()
        sock.settimeout(None)
        socket.send_fds(sock, [LENGTH.pack(len(body))], fds)
        sock.sendall(body)
        started = recv_exact(sock, 1 + PID.size)
    except OSError:
        sock.close()
        return None
    if not started:  # the server declined the request before forking: nothing ran
        return None
    (pid,) = PID.unpack(started[1:])

    def pass_on(sig: int, _frame: object) -> None:
        try:
            os.kill(pid, sig)
        except OSError:  # it has just ended
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, pass_on)
    ended = recv_exact(sock, 1 + EXIT.size)
    if not ended:
        print("textmine: the stage server stopped before the command ended", file=sys.stderr)
        return 1
    status, _cpu, _maxrss = EXIT.unpack(ended[1:])
    return os.waitstatus_to_exitcode(status)


def start_server(path: Path) -> None:
    """Start a stage server on ``path``, detached (its own session, no terminal, its log
    beside the socket), and return at once."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        # Appended to: a server still running on this key keeps its log (the new one
        # truncates it once it holds the key's lock).
        log = os.open(path.with_suffix(".log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(log, 2)
        os.closerange(3, 1 << 16)
        os.chdir("/")
        # -P: nothing from the caller's folder shadows an installed module.
        os.execv(sys.executable, [sys.executable, "-P", "-m", "pipeline.stage_server", str(path)])
    finally:
        os._exit(1)
