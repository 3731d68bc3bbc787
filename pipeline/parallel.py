"""The parallel map that every per-document stage uses.

Results come back in input order, so a parallel run gives the same tables as a serial
one. ``fn`` must be a module-level function (it is pickled to the workers).

Backends (``compute.backend``):

- ``local``: a process pool of ``compute.workers`` processes (0 = all cores); one
  worker runs in-process with no pool at all.
- ``dask``: a Dask distributed cluster at ``compute.scheduler`` (e.g.
  ``tcp://10.0.0.5:8786``), or, when that is empty, a local cluster of
  ``compute.workers`` single-threaded worker processes. One client per scheduler
  address is kept for the life of the process, so a stage that maps several times
  does not reconnect (or start a new local cluster) each time.

Work is submitted in a bounded window ahead of the consumer, so a large corpus never
has all its results waiting in memory at once. A worker that dies (killed by the
kernel's OOM killer, a segfault in a native library) raises :class:`WorkerCrashError`
naming the item, instead of hanging or surfacing a backend-specific exception.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from pipeline.config import ComputeConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Set by the CLI when stderr is a terminal; library code never decides this itself.
SHOW_PROGRESS = False

# Tasks in flight per worker: enough to keep every worker busy, few enough that results
# of a large corpus do not pile up in memory.
_WINDOW_PER_WORKER = 4


class WorkerCrashError(RuntimeError):
    """A worker process died while computing an item (out of memory, native crash)."""


def _progress(it: Iterable[R], total: int, desc: str) -> Iterable[R]:
    if not SHOW_PROGRESS:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, desc=desc, unit="doc")


def _apply_chunk(fn: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [fn(item) for item in chunk]


def _chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def map_ordered(
    fn: Callable[[T], R],
    items: list[T],
    *,
    compute: ComputeConfig,
    desc: str = "",
    chunksize: int = 1,
    pool: ProcessPoolExecutor | None = None,
) -> Iterator[R]:
    """Apply ``fn`` to every item, in parallel when there is more than one worker.

    Yields results in the order of ``items``. ``pool``: a pool started ahead by
    :func:`warm_pool` to use (and leave running) instead of a new one.

    Raises:
        WorkerCrashError: a worker process died while computing an item.
        Exception: whatever ``fn`` raised, re-raised in the caller.
    """
    items = list(items)
    if not items:
        return
    chunksize = max(int(chunksize), 1)
    if compute.backend == "dask":
        yield from _progress(_map_dask(fn, items, compute=compute, desc=desc, chunksize=chunksize),
                             len(items), desc)
        return
    workers = min(compute.n_workers, max(len(items), 1))
    # A started pool takes even one item: its workers hold the imports it was warmed with.
    if workers <= 1 and pool is None:
        yield from _progress(map(fn, items), len(items), desc)
        return
    yield from _progress(_map_pool(fn, items, workers=workers, desc=desc, chunksize=chunksize,
                                   warm=pool), len(items), desc)


def _noop() -> None:
    return None


# Niceness of the warm workers after the first (see warm_pool).
_BACKGROUND_NICE = 10


def _warm_start(started: Any, initializer: Callable[[], None]) -> None:
    """A warm worker's start: the first one keeps its priority, the others yield the CPU
    to it and to the parent (``os.nice``) while they run ``initializer``."""
    with started.get_lock():
        rank = started.value
        started.value += 1
    if rank > 0:
        try:
            os.nice(_BACKGROUND_NICE)
        except OSError:  # no such call or not allowed: the worker runs at normal priority
            pass
    initializer()


@contextlib.contextmanager
def warm_pool(compute: ComputeConfig, initializer: Callable[[], None]) -> Iterator[ProcessPoolExecutor | None]:
    """A local process pool started now, its workers running ``initializer`` (heavy
    imports) while this process goes on with other work; ``None`` with one worker or
    the Dask backend. Pass it to :func:`map_ordered` as ``pool``.

    Its workers are forked before the caller builds its large structures, so every
    item they get is pickled to them, as with any pool: ``fn`` must not rely on state
    the caller sets up after this point.

    Every worker but the first runs at a lower priority. With as many workers as cores,
    all of them importing at once would take CPU from this process, whose own work is
    what the pool waits for: on an incremental run the few tasks are ready for the first
    worker, and the others, deferred, take their share whenever this process waits (on a
    full run, from the first task on). The results do not change.
    """
    if compute.backend == "dask" or compute.n_workers <= 1:
        yield None
        return
    ctx = multiprocessing.get_context()
    started = ctx.Value("i", 0)
    pool = ProcessPoolExecutor(max_workers=compute.n_workers, mp_context=ctx, initializer=_warm_start,
                               initargs=(started, initializer))
    pool.submit(_noop)  # the first task starts every worker (fork start method)
    try:
        yield pool
    finally:
        _stop_warm(pool)


def _stop_warm(pool: ProcessPoolExecutor) -> None:
    """Shut a warm pool down without waiting for a worker still running its initializer.

    Every task given to the pool has been collected when the caller's block ends (or is
    not wanted after an error). When it needed no worker (a re-run that found every
    result in its cache), waiting for the warm-up imports made the themes stage on
    1,000 responses take 1.85 s instead of 1.52 s; the workers are stopped instead.
    """
    # ``_processes`` is the executor's own table of its workers (Python 3.14 adds
    # ``terminate_workers`` for this). The executor's manager thread notices them go
    # and joins them; shutdown then waits for that thread only.
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _map_pool(fn: Callable[[T], R], items: list[T], *, workers: int, desc: str,
              chunksize: int, warm: ProcessPoolExecutor | None = None) -> Iterator[R]:
    chunks = _chunks(items, chunksize)
    window = workers * _WINDOW_PER_WORKER
    with contextlib.nullcontext(warm) if warm is not None else ProcessPoolExecutor(max_workers=workers) as pool:
        pending: deque[tuple[int, Future[list[R]]]] = deque()
        nxt = 0
        try:
            while nxt < len(chunks) or pending:
                while nxt < len(chunks) and len(pending) < window:
                    pending.append((nxt, pool.submit(_apply_chunk, fn, chunks[nxt])))
                    nxt += 1
                idx, fut = pending.popleft()
                try:
                    results = fut.result()
                except BrokenProcessPool as exc:
                    # The pool breaks as a whole: the item is the first unfinished one,
                    # not necessarily the one whose worker died.
                    raise WorkerCrashError(_crash_message(desc, idx * chunksize, items, exc,
                                                          exact=False)) from exc
                yield from results
        finally:
            for _, fut in pending:
                fut.cancel()


# --- dask ----------------------------------------------------------------------------------

_CLIENTS: dict[tuple[str, int], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def get_dask_client(compute: ComputeConfig) -> Any:
    """The process-wide Dask client for ``compute`` (created on first use).

    With ``compute.scheduler`` set it connects to that scheduler; otherwise it starts a
    local cluster of ``compute.workers`` single-threaded worker processes.
    """
    from distributed import Client, LocalCluster

    key = (compute.scheduler, 0 if compute.scheduler else compute.n_workers)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is not None and client.status == "running":
            return client
        if compute.scheduler:
            try:
                client = Client(compute.scheduler, timeout="30s", set_as_default=False)
            except OSError as exc:
                raise ConnectionError(
                    f"cannot reach the Dask scheduler at compute.scheduler={compute.scheduler!r} "
                    f"({exc}); start it with `dask scheduler` and check the address and port"
                ) from exc
            if not client.scheduler_info().get("workers"):
                logger.warning("Dask scheduler %s has no workers yet; tasks wait until one joins",
                               compute.scheduler)
        else:
            cluster = LocalCluster(n_workers=compute.n_workers, threads_per_worker=1,
                                   processes=True, dashboard_address=None)
            client = Client(cluster, set_as_default=False)
        _CLIENTS[key] = client
        return client


def close_dask_clients() -> None:
    """Close every client (and local cluster) this process opened."""
    with _CLIENTS_LOCK:
        clients = list(_CLIENTS.values())
        _CLIENTS.clear()
    for client in clients:
        cluster = client.cluster
        try:
            client.close()
            if cluster is not None:
                cluster.close()
        except Exception as exc:  # noqa: BLE001 - shutting down; nothing left to protect
            logger.debug("closing Dask client: %s", exc)


atexit.register(close_dask_clients)


def _map_dask(fn: Callable[[T], R], items: list[T], *, compute: ComputeConfig, desc: str,
              chunksize: int) -> Iterator[R]:
    from distributed import KilledWorker

    client = get_dask_client(compute)
    n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
    window = n_workers * _WINDOW_PER_WORKER
    chunks = _chunks(items, chunksize)
    pending: deque[tuple[int, Any]] = deque()
    nxt = 0
    try:
        while nxt < len(chunks) or pending:
            while nxt < len(chunks) and len(pending) < window:
                pending.append((nxt, client.submit(_apply_chunk, fn, chunks[nxt], pure=False)))
                nxt += 1
            idx, fut = pending.popleft()
            try:
                results = fut.result()
            except KilledWorker as exc:
                # Tasks queued on the dying worker die with it (with retries off, each is
                # a KilledWorker): the first one here is not necessarily the culprit.
                raise WorkerCrashError(_crash_message(desc, idx * chunksize, items, exc,
                                                      exact=False)) from exc
            fut.release()
            yield from results
    finally:
        for _, fut in pending:
            fut.cancel()


def _crash_message(desc: str, first: int, items: list[Any], exc: BaseException, *,
                   exact: bool = True) -> str:
    item = items[first] if first < len(items) else None
    what = repr(item)
    if len(what) > 200:
        what = what[:200] + "..."
    where = f"item {first} ({what})" if exact else f"item {first} ({what}) or one computed beside it"
    return (
        f"{desc or 'parallel map'}: a worker process died while computing {where}; "
        f"it was most likely killed for using too much memory or crashed in a native library "
        f"({type(exc).__name__}: {exc}). Re-run with compute.workers: 1 to see the error in-process, "
        f"or give the machine more memory."
    )


# --- threads of the maths libraries ---------------------------------------------------------


def limit_math_threads() -> int:
    """One BLAS/OpenMP thread per process, unless ``OMP_NUM_THREADS`` says otherwise.

    The pipeline's parallelism is its pool of worker processes (``compute.workers``);
    OpenBLAS threads inside each process on top of it oversubscribe the cores and spin.
    Measured on the 2-core machine, the sub-theme stability fits of one theme of a
    1,000-response corpus took 16.2 s of CPU with OpenBLAS's default threads and 0.7 s
    with one, with identical results. The variables are also set for child processes
    that start a fresh interpreter.

    Returns:
        The thread limit applied.
    """
    from threadpoolctl import threadpool_limits

    limit = set_math_thread_variables()
    threadpool_limits(limits=limit)
    return limit


def set_math_thread_variables() -> int:
    """The environment half of :func:`limit_math_threads`: the variables the maths
    libraries read when they load (the stage server sets them before it imports numpy).

    Returns:
        The thread limit.
    """
    limit = int(os.environ.get("OMP_NUM_THREADS") or 1)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(limit))
    return limit


# --- one job beside the caller ------------------------------------------------------------


def _run_in_child(conn: Any, fn: Callable[..., Any], args: tuple) -> None:
    try:
        conn.send((True, fn(*args)))
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which re-raises it
        try:
            conn.send((False, exc))
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            conn.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        conn.close()


class Aside:
    """``fn(*args)`` computed in a forked child process while the caller goes on.

    The child shares the parent's memory as it was at the fork, so the arguments are
    not copied (a finder over every page would take longer to pickle than to use);
    only the result comes back through a pipe. :meth:`result` re-raises the child's
    exception, and computes in-process when no child could run (``parallel`` false,
    no ``fork`` on this platform, a daemonic process, or a child that died).
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, parallel: bool) -> None:
        self.fn, self.args = fn, args
        self._proc: Any = None
        self._conn: Any = None
        if not parallel:
            return
        try:
            ctx = multiprocessing.get_context("fork")
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_run_in_child, args=(send, fn, args), daemon=True)
            proc.start()
        except (OSError, ValueError, AssertionError) as exc:
            logger.debug("computing %s in-process: %s", getattr(fn, "__name__", fn), exc)
            return
        send.close()
        self._proc, self._conn = proc, recv

    def result(self) -> Any:
        """The value of ``fn(*args)`` (waits for the child)."""
        if self._proc is not None:
            proc, conn, self._proc = self._proc, self._conn, None
            try:
                ok, value = conn.recv()
            except (EOFError, OSError):
                ok, value = None, None  # the child died: compute here instead
            finally:
                conn.close()
                proc.join()
            if ok is True:
                return value
            if ok is False:
                raise value
            logger.warning("a helper process died (exit code %s); computing %s in-process",
                           proc.exitcode, getattr(self.fn, "__name__", self.fn))
        return self.fn(*self.args)

    def cancel(self) -> None:
        """Stop the child if it still runs (its result is not wanted any more)."""
        if self._proc is not None:
            proc, conn, self._proc = self._proc, self._conn, None
            conn.close()
            proc.terminate()
            proc.join()
