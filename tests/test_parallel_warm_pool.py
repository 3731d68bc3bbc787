"""A pool started ahead (``warm_pool``) runs its initializer in the workers, maps in
input order like any pool, takes a single item too, and is no pool at one worker. Its
first worker keeps this process's priority and the others run below it. Leaving it
does not wait for workers still in their initializer."""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

from pipeline.config import ComputeConfig
from pipeline.parallel import map_ordered, warm_pool

_WARMED = False


def _warm() -> None:
    global _WARMED
    _WARMED = True


def _where(x: int) -> tuple[int, int, bool]:
    return x * x, os.getpid(), _WARMED


def test_warm_pool_workers_are_initialised_and_keep_order():
    compute = ComputeConfig(workers=2)
    with warm_pool(compute, _warm) as pool:
        assert pool is not None
        many = list(map_ordered(_where, list(range(20)), compute=compute, pool=pool))
        one = list(map_ordered(_where, [7], compute=compute, pool=pool))
    assert [r[0] for r in many] == [x * x for x in range(20)]
    # Every item ran in a warmed worker, not here (this process never ran _warm).
    assert not _WARMED
    assert all(r[2] and r[1] != os.getpid() for r in many + one)


def test_warm_pool_is_none_with_one_worker():
    compute = ComputeConfig(workers=1)
    with warm_pool(compute, _warm) as pool:
        assert pool is None
        assert list(map_ordered(_where, [3], compute=compute, pool=pool)) == [(9, os.getpid(), False)]


def _note_priority(folder: str) -> None:
    Path(folder, str(os.getpid())).write_text(str(os.nice(0)))


def test_warm_pool_defers_every_worker_but_the_first(tmp_path):
    compute = ComputeConfig(workers=3)
    with warm_pool(compute, functools.partial(_note_priority, str(tmp_path))) as pool:
        assert pool is not None
        deadline = time.monotonic() + 30
        while len(list(tmp_path.iterdir())) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        # The results are those of any pool.
        assert list(map_ordered(_where, [2, 3], compute=compute, pool=pool))[0][0] == 4
    here = os.nice(0)
    niceness = sorted(int(f.read_text()) for f in tmp_path.iterdir())
    assert niceness == [here, min(here + 10, 19), min(here + 10, 19)]


def _slow_warm() -> None:
    time.sleep(30)


def test_leaving_an_unused_warm_pool_does_not_wait_for_its_initializer():
    compute = ComputeConfig(workers=2)
    started = time.monotonic()
    with warm_pool(compute, _slow_warm) as pool:
        assert pool is not None
        workers = list(pool._processes.values())  # noqa: SLF001 - what the test checks
    assert time.monotonic() - started < 10
    assert workers and not any(w.is_alive() for w in workers)
