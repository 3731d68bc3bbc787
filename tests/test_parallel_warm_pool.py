"""A pool started ahead (``warm_pool``) runs its initializer in the workers, maps in
input order like any pool, takes a single item too, and is no pool at one worker."""

from __future__ import annotations

import os

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
