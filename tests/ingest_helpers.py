"""Shared helpers of the ingestion tests: a character error rate without extra packages."""

from __future__ import annotations

import numpy as np


def levenshtein(a: str, b: str) -> int:
    """Edit distance, one NumPy row per character of ``a`` (fast enough for pages)."""
    if not a:
        return len(b)
    if not b:
        return len(a)
    codes = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    ramp = np.arange(len(b) + 1, dtype=np.int64)
    prev = ramp.copy()
    cand = np.empty(len(b) + 1, dtype=np.int64)
    for i, ch in enumerate(a, start=1):
        cost = (codes != ord(ch)).astype(np.int64)
        cand[0] = i
        np.minimum(prev[1:] + 1, prev[:-1] + cost, out=cand[1:])
        # Insertions chain along the row: row[j] = min_k<=j (cand[k] + j - k).
        prev = np.minimum.accumulate(cand - ramp) + ramp
    return int(prev[-1])


def squash(text: str) -> str:
    """Whitespace normalised: the CER compares words, not line breaks."""
    return " ".join(text.split())
