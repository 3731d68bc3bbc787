"""Handing freed memory back to the operating system.

Python frees objects, but the allocators underneath keep the pages: glibc's heap holds
freed large blocks (every string over 512 bytes is one) and Arrow's pool holds the
buffers of dropped tables. A stage that is about to fork workers, or to build its
largest structure, calls :func:`release_free_memory` after dropping its inputs so that
the pages count neither in its own peak nor, copied or shared, in its workers'.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        return libc.malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


def release_free_memory() -> None:
    """Return the free pages of the C heap and of Arrow's memory pool to the system.

    Cheap when little is free; nothing is freed that is in use, so it never changes a
    result.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    pa = sys.modules.get("pyarrow")  # only when the tables were read through Arrow
    if pa is not None:
        pa.default_memory_pool().release_unused()
