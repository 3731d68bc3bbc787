"""release_free_memory hands the freed pages of the C heap back to the system."""

from __future__ import annotations

import sys

import psutil
import pytest

from pipeline.memory import _malloc_trim, release_free_memory


@pytest.mark.skipif(not sys.platform.startswith("linux") or _malloc_trim() is None,
                    reason="needs glibc's malloc_trim")
def test_freed_heap_pages_go_back_to_the_system() -> None:
    proc = psutil.Process()
    # 8 KB strings come from the malloc heap (not mmap); keeping every 16th pins the heap
    # top, so free() alone cannot shrink it.
    blocks = [("x" * 8000) + str(i) for i in range(20_000)]
    kept = blocks[::16]
    del blocks
    before = proc.memory_info().rss
    release_free_memory()
    after = proc.memory_info().rss
    assert before - after > 80 * 2**20, (before >> 20, after >> 20)
    assert len(kept) == 1250


def test_release_is_harmless_with_arrow_loaded() -> None:
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"x": list(range(1000))})
    release_free_memory()
    assert table.column("x").to_pylist()[-1] == 999
