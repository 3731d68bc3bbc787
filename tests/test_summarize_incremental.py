"""Incremental summaries: the quote finder's per-response cache and the typed tables.

A re-run after one response was added must give the same tables as a run from scratch,
re-splitting only the pages of the new or changed responses; the typed copy of the
tables (``reports/tables/parquet``) must give back exactly the tables written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_fixture import build_tables  # noqa: E402

import pipeline.quotes as quotes  # noqa: E402
from pipeline.config import ComputeConfig, Config  # noqa: E402
from pipeline.summarize import (  # noqa: E402
    quote_cache,
    read_summaries,
    summarize,
    write_summaries,
    write_typed,
)

CFG = Config(compute=ComputeConfig(workers=1))


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
        # assert_frame_equal takes None and NaN for the same: the draft prints them apart.
        for col in a[name].columns:
            if a[name][col].dtype == object:
                left, right = a[name][col].tolist(), b[name][col].tolist()
                assert [type(v) for v in left] == [type(v) for v in right], (name, col)


@pytest.fixture(scope="module")
def fresh() -> dict[str, pd.DataFrame]:
    return summarize(build_tables(), CFG)


def test_summarize_incremental_cached_run_equals_a_fresh_run(fresh, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache" / "summarize"
    first = summarize(build_tables(), CFG, cache_dir=cache_dir)
    _assert_same(first, fresh)
    assert list(cache_dir.rglob("*.pkl")), "the finder cached nothing"

    # Second run: every response comes from the cache, no page is split again.
    calls = []
    real = quotes.page_sentences
    monkeypatch.setattr(quotes, "page_sentences", lambda text: calls.append(text) or real(text))
    second = summarize(build_tables(), CFG, cache_dir=cache_dir)
    _assert_same(second, fresh)
    assert calls == []


def test_summarize_incremental_changed_page_is_looked_up_again(tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache" / "summarize"
    summarize(build_tables(), CFG, cache_dir=cache_dir)
    tables = build_tables()
    pages = tables["pages"].copy()
    changed = pages["doc_id"].iloc[0]
    pages.loc[0, "text"] = pages.loc[0, "text"] + "\n\nA sentence added to this page after the first run."
    tables["pages"] = pages

    split: list[str] = []
    real = quotes.page_sentences
    monkeypatch.setattr(quotes, "page_sentences", lambda text: split.append(text) or real(text))
    cached = summarize(tables, CFG, cache_dir=cache_dir)
    monkeypatch.setattr(quotes, "page_sentences", real)
    _assert_same(cached, summarize(tables, CFG))
    assert split, "the changed response was not looked up again"
    page_docs = dict(zip(pages["text"], pages["doc_id"], strict=False))
    assert {page_docs[t] for t in split} == {changed}


def test_summarize_incremental_cache_depends_on_quote_lengths(tmp_path):
    cache_dir = tmp_path / "cache" / "summarize"
    a = quote_cache(cache_dir, CFG)
    b = quote_cache(cache_dir, Config(summarize=CFG.summarize.__class__(min_quote_chars=60)))
    assert a.address("k") != b.address("k")


def test_summarize_incremental_typed_tables_read_back_exactly(fresh, tmp_path):
    write_summaries(fresh, tmp_path, fingerprint="abc")
    assert (tmp_path / "tables" / "parquet" / "quotes.parquet").exists()
    _assert_same(read_summaries(tmp_path, fingerprint="abc"), fresh)
    # Other inputs, or no typed copy: the caller rebuilds.
    assert read_summaries(tmp_path, fingerprint="other") is None
    assert read_summaries(tmp_path / "nowhere", fingerprint="abc") is None


def test_summarize_incremental_typed_tables_keep_none_and_nan_apart(tmp_path):
    df = pd.DataFrame({"a": pd.Series(["x", None, np.nan, "y"], dtype=object),
                       "n": pd.array([1, None, 3, 4], dtype="Int64"), "f": [0.5, np.nan, 1.0, 2.0]})
    write_typed({"about": df}, tmp_path / "tables" / "parquet", fingerprint="f")
    back = read_summaries(tmp_path, fingerprint="f")["about"]
    _assert_same({"about": back}, {"about": df})
    assert back["a"][1] is None and isinstance(back["a"][2], float)


def test_summarize_incremental_typed_tables_decline_what_they_cannot_restore(tmp_path):
    df = pd.DataFrame({"mixed": pd.Series(["x", 3], dtype=object)})
    write_typed({"about": df}, tmp_path / "tables" / "parquet", fingerprint="f")
    assert read_summaries(tmp_path, fingerprint="f") is None
