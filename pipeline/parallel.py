"""The parallel map that every per-document stage uses.

Results come back in input order, so a parallel run gives the same tables as a serial
one. ``fn`` must be a module-level function (it is pickled to the workers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from pipeline.config import ComputeConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Set by the CLI when stderr is a terminal; library code never decides this itself.
SHOW_PROGRESS = False


def _progress(it: Iterable[R], total: int, desc: str) -> Iterable[R]:
    if not SHOW_PROGRESS:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, desc=desc, unit="doc")


def map_ordered(
    fn: Callable[[T], R],
    items: list[T],
    *,
    compute: ComputeConfig,
    desc: str = "",
    chunksize: int = 1,
) -> Iterator[R]:
    """Apply ``fn`` to every item, in parallel when there is more than one worker.

    Yields results in the order of ``items``.
    """
    workers = min(compute.n_workers, max(len(items), 1))
    if compute.backend == "dask":
        from distributed import Client

        client = Client(compute.scheduler) if compute.scheduler else Client(processes=True)
        try:
            futures = client.map(fn, items, pure=False)
            for fut in _progress(futures, len(items), desc):
                yield fut.result()
        finally:
            client.close()
        return
    if workers <= 1:
        yield from _progress(map(fn, items), len(items), desc)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from _progress(pool.map(fn, items, chunksize=chunksize), len(items), desc)
