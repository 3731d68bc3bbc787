"""pipeline.cache.DocCache: hits, misses, invalidation by params/code version, corrupt
entries, pruning, and cached_map computing only the misses."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from pipeline.cache import DocCache, cached_map, content_key, params_digest, rows_key
from pipeline.config import ComputeConfig

CALLS_FILE_ENV = "TEXTMINE_TEST_CACHE_CALLS"


def _square(x: int) -> dict[str, int]:
    # Records each real call in a file so the test sees calls made in worker processes too.
    with open(os.environ[CALLS_FILE_ENV], "a", encoding="ascii") as fh:
        fh.write(f"{x}\n")
    return {"x": x, "sq": x * x}


def _cache(tmp_path: Path, **kw) -> DocCache:
    args = {"stage": "language", "params": {"min_prob": 0.8}, "code_version": "v1"} | kw
    return DocCache(tmp_path / "cache", **args)


def test_cache_roundtrip_and_layout(tmp_path: Path) -> None:
    c = _cache(tmp_path)
    assert c.get("a" * 64) is None
    df = pd.DataFrame({"seg_id": [1, 2], "lang": ["fr", "en"]})
    c.put("a" * 64, df)
    got = c.get("a" * 64)
    assert got.equals(df)
    assert (c.hits, c.misses) == (1, 1)
    path = c.path("a" * 64)
    # folder/<stage>/<hash prefix>/<hash>.pkl
    assert path.parent.parent == tmp_path / "cache" / "language"
    assert path.name.startswith(path.parent.name)
    assert not list(path.parent.glob("*.tmp")), "atomic write left a temporary file"


def test_cache_keyed_by_params_and_code_version(tmp_path: Path) -> None:
    _cache(tmp_path).put("doc1", [1, 2, 3])
    assert _cache(tmp_path).get("doc1") == [1, 2, 3]
    assert _cache(tmp_path, params={"min_prob": 0.9}).get("doc1") is None
    assert _cache(tmp_path, code_version="v2").get("doc1") is None
    assert _cache(tmp_path, stage="entities").get("doc1") is None
    # param order does not matter
    a = params_digest({"a": 1, "b": [1, 2]}, "v")
    assert a == params_digest({"b": [1, 2], "a": 1}, "v")


def test_cache_accepts_config_dataclass(tmp_path: Path) -> None:
    @dataclass(frozen=True)
    class Section:
        min_chars: int = 40

    _cache(tmp_path, params=Section()).put("d", "x")
    assert _cache(tmp_path, params={"min_chars": 40}).get("d") == "x"
    assert _cache(tmp_path, params=Section(min_chars=41)).get("d") is None


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty", "swap"])
def test_cache_corrupt_entry_is_a_miss(tmp_path: Path, damage: str) -> None:
    c = _cache(tmp_path)
    c.put("doc1", {"text": "bonjour " * 100})
    c.put("doc2", {"text": "hello"})
    p = c.path("doc1")
    data = p.read_bytes()
    if damage == "truncate":
        p.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        p.write_bytes(data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:])
    elif damage == "garbage":
        p.write_bytes(b"\x80\x05not a cache entry at all" * 10)
    elif damage == "empty":
        p.write_bytes(b"")
    else:  # another document's (valid) entry copied over this one
        p.write_bytes(c.path("doc2").read_bytes())
    assert c.get("doc1") is None
    assert c.corrupt == 1
    # recomputed and stored again: readable afterwards
    c.put("doc1", {"text": "ok"})
    assert c.get("doc1") == {"text": "ok"}


def test_cache_prune_drops_stale_entries(tmp_path: Path) -> None:
    old = _cache(tmp_path, code_version="v0")
    old.put("keep", 0)
    c = _cache(tmp_path)
    for k in ("keep", "gone1", "gone2"):
        c.put(k, k)
    stale_tmp = c.path("keep").parent / ".x.pkl.123.tmp"
    stale_tmp.write_bytes(b"partial")
    os.utime(stale_tmp, (0, 0))
    removed = c.prune(["keep"])
    assert removed == 4  # two dropped documents, the v0 entry, the old temp file
    assert c.get("keep") == "keep"
    assert c.get("gone1") is None and c.get("gone2") is None
    assert old.get("keep") is None
    assert not stale_tmp.exists()
    assert c.prune(["keep"]) == 0


def test_cache_rejects_bad_keys_and_none(tmp_path: Path) -> None:
    c = _cache(tmp_path)
    with pytest.raises(ValueError, match="non-empty string"):
        c.get("")
    with pytest.raises(ValueError, match="None"):
        c.put("k", None)
    with pytest.raises(ValueError, match="stage"):
        DocCache(tmp_path, stage="../x", params={}, code_version="v")


@pytest.mark.parametrize("workers", [1, 2])
def test_cache_cached_map_computes_only_misses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               workers: int) -> None:
    calls = tmp_path / "calls.txt"
    calls.touch()
    monkeypatch.setenv(CALLS_FILE_ENV, str(calls))
    compute = ComputeConfig(workers=workers)
    items = list(range(10))
    keys = [f"doc{i}" for i in items]
    first = list(cached_map(_square, items, keys=keys, cache=_cache(tmp_path), compute=compute))
    assert first == [{"x": i, "sq": i * i} for i in items]
    assert sorted(int(x) for x in calls.read_text().split()) == items

    calls.write_text("")
    c = _cache(tmp_path)
    c.path("doc3").write_bytes(b"damaged")  # one corrupt entry
    items2 = items + [10]  # one new document
    keys2 = keys + ["doc10"]
    second = list(cached_map(_square, items2, keys=keys2, cache=c, compute=compute))
    assert second == [{"x": i, "sq": i * i} for i in items2]
    assert sorted(int(x) for x in calls.read_text().split()) == [3, 10]
    assert c.hits == 9 and c.corrupt == 1


def test_cache_cached_map_needs_one_key_per_item(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one key per item"):
        list(cached_map(_square, [1, 2], keys=["a"], cache=_cache(tmp_path),
                        compute=ComputeConfig(workers=1)))


def test_cache_cached_map_should_cache_skips_transient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls.txt"
    calls.touch()
    monkeypatch.setenv(CALLS_FILE_ENV, str(calls))
    compute = ComputeConfig(workers=1)

    def run() -> list[dict[str, int]]:
        return list(cached_map(_square, [1, 2, 3], keys=["a", "b", "c"], cache=_cache(tmp_path),
                               compute=compute, should_cache=lambda r: r["x"] != 2))

    assert run() == run()
    # 2 is computed on both runs (never stored); 1 and 3 only once
    assert sorted(int(x) for x in calls.read_text().split()) == [1, 2, 2, 3]


def test_cache_content_key_is_canonical() -> None:
    a = content_key("doc1", [(1, "Bonjour", "fr"), (2, "Hello", "en")])
    assert a == content_key("doc1", [[1, "Bonjour", "fr"], [2, "Hello", "en"]])
    assert a != content_key("doc1", [(1, "Bonjour", "fr"), (2, "Hello!", "en")])
    assert content_key({"b": 1, "a": 2}) == content_key({"a": 2, "b": 1})


def test_cache_rows_key_depends_on_values_only() -> None:
    text = "Bonjour " * 3
    a = rows_key("doc1", [(1, text, "fr"), (2, text, None)])
    # The same values held by other objects (a shared string pickles as a back-reference
    # without the ``fast`` pickler) give the same key.
    assert a == rows_key("doc1", [(1, "Bonjour " * 3, "fr"), (2, "".join(["Bonjour "] * 3), None)])
    assert a != rows_key("doc1", [(1, text, "fr"), (2, text, "fr")])
    assert a != rows_key("doc1", [(1, text, "fr"), ("2", text, None)])
    assert a != rows_key("doc1", [(1, text, "fr")], [(2, text, None)])
