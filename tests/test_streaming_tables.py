"""Streaming tables: ingestion, language and entities write their tables batch by batch
(and read their inputs a batch of whole documents at a time) with exactly the content
the in-memory functions return: same rows, order and dtypes, serial or parallel. The
batch writer and reader in ``pipeline.tables`` keep the contracts across batches."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import entities as entities_mod
from pipeline import ingest as ingest_mod
from pipeline import language as language_mod
from pipeline.config import ComputeConfig, Config, load_config
from pipeline.schemas import SchemaError
from pipeline.tables import (
    NotGroupedError,
    TableWriter,
    is_grouped,
    iter_table_groups,
    read_table,
    table_path,
    write_table,
)

ROOT = Path(__file__).resolve().parents[1]
# Four languages, three formats, small files, and a broken one (a manifest-only row).
FILES = ("en-01-ministry-kenya.pdf", "fr-02-ministere-cote-divoire.docx", "ru-01-mincom-belarus.pdf",
         "es-05-maestra-rural-argentina.html", "zh-03-china-telecom-ott.pdf", "xx-broken-truncated.pdf")
INGEST_TABLES = ("manifest", "documents", "pages", "segments")


def _cfg(workers: int = 1, **sections: Any) -> Config:
    base = load_config(ROOT / "params.yaml")
    return dataclasses.replace(base, compute=ComputeConfig(workers=workers), **sections)


def _assert_same(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    assert list(got.dtypes) == list(want.dtypes), f"{what}: dtypes differ"
    pd.testing.assert_frame_equal(got, want, obj=what)


@pytest.fixture(scope="module")
def corpus(sample_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("streaming-corpus")
    for name in FILES:
        if (sample_corpus / name).is_file():
            shutil.copy2(sample_corpus / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def in_memory(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    cfg = _cfg()
    tables = ingest_mod.ingest_corpus(corpus, cfg, cache_dir=tmp_path_factory.mktemp("mem-cache"))
    tables["languages"] = language_mod.detect_languages(tables["segments"], tables["documents"], cfg)
    tables["entities"] = entities_mod.extract_entities(tables["segments"], tables["languages"], cfg)
    assert len(tables["documents"]) >= 4 and len(tables["entities"]) > 10
    # What the stages wrote before they streamed: each table written at once, read back.
    folder = tmp_path_factory.mktemp("mem-tables")
    for name, df in tables.items():
        write_table(folder / f"{name}.parquet", df, name=name)
    return {name: read_table(folder / f"{name}.parquet", name=name) for name in tables}


def _stream(corpus: Path, out: Path, cfg: Config, monkeypatch: pytest.MonkeyPatch) -> dict[str, pd.DataFrame]:
    # Tiny batches: every table is written in several row groups, and documents are
    # read in several batches.
    monkeypatch.setattr(ingest_mod, "_WRITE_BATCH_DOCS", 2)
    monkeypatch.setattr(language_mod, "_READ_BATCH_ROWS", 40)
    monkeypatch.setattr(entities_mod, "_READ_BATCH_ROWS", 40)
    ingest_mod.ingest_corpus_to(corpus, cfg, out=out, cache_dir=out / "cache" / "ingest")
    segs = table_path(out, "ingest", "segments")
    language_mod.detect_languages_to(segs, table_path(out, "ingest", "documents"),
                                     table_path(out, "language", "languages"), cfg,
                                     cache_dir=out / "cache" / "language")
    entities_mod.extract_entities_to(segs, table_path(out, "language", "languages"),
                                     table_path(out, "entities", "entities"), cfg,
                                     cache_dir=out / "cache" / "entities")
    stage = {"languages": "language", "entities": "entities"}
    return {t: read_table(table_path(out, stage.get(t, "ingest"), t), name=t)
            for t in (*INGEST_TABLES, "languages", "entities")}


@pytest.mark.parametrize("workers", [1, 2])
def test_streaming_tables_stages_equal_in_memory(corpus: Path, in_memory: dict[str, pd.DataFrame],
                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 workers: int) -> None:
    got = _stream(corpus, tmp_path / "out", _cfg(workers), monkeypatch)
    assert pq.ParquetFile(table_path(tmp_path / "out", "ingest", "segments")).num_row_groups > 1
    assert pq.ParquetFile(table_path(tmp_path / "out", "entities", "entities")).num_row_groups > 1
    for name, want in in_memory.items():
        _assert_same(got[name], want, f"workers={workers}: {name}")
    # Re-run from the caches: the same tables again, from the kept rows (no layout).
    monkeypatch.setattr(ingest_mod, "layout_document", _no_layout)
    again = _stream(corpus, tmp_path / "out", _cfg(workers), monkeypatch)
    for name, want in in_memory.items():
        _assert_same(again[name], want, f"cached re-run: {name}")


def _no_layout(*args: object) -> None:
    raise AssertionError("a document was laid out again although its rows were kept")


def test_streaming_tables_damaged_rows_are_laid_out_again(corpus: Path, in_memory: dict[str, pd.DataFrame],
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "out"
    _stream(corpus, out, _cfg(), monkeypatch)
    kept = sorted((out / "cache" / "ingest").rglob("*.rows"))
    assert len(kept) == len(in_memory["documents"])
    kept[0].write_bytes(b"not a pickle")
    kept[1].write_bytes(kept[1].read_bytes()[:50])
    again = _stream(corpus, out, _cfg(), monkeypatch)
    for name, want in in_memory.items():
        _assert_same(again[name], want, f"re-run with damaged rows: {name}")
    assert sum("rows cache entry" in r.getMessage() for r in caplog.records) == 2


def test_streaming_tables_language_document_without_segments(in_memory: dict[str, pd.DataFrame],
                                                              tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # A document whose segments are missing is classified on its text, in doc_id order.
    docs = in_memory["documents"][["doc_id", "text"]]
    alone = str(docs["doc_id"].iloc[0])
    segs = in_memory["segments"][in_memory["segments"]["doc_id"] != alone].reset_index(drop=True)
    write_table(tmp_path / "segments.parquet", segs, name="segments")
    write_table(tmp_path / "documents.parquet", docs)
    monkeypatch.setattr(language_mod, "_READ_BATCH_ROWS", 30)
    cfg = _cfg()
    n = language_mod.detect_languages_to(tmp_path / "segments.parquet", tmp_path / "documents.parquet",
                                         tmp_path / "languages.parquet", cfg)
    want = read_table_from(language_mod.detect_languages(segs, docs, cfg), tmp_path)
    got = read_table(tmp_path / "languages.parquet", name="languages")
    assert n == len(want)
    assert got.loc[got["doc_id"] == alone, "method"].tolist() == ["document-text"]
    _assert_same(got, want, "languages")


def test_streaming_tables_ungrouped_segments_fall_back(in_memory: dict[str, pd.DataFrame],
                                                       tmp_path: Path) -> None:
    # Segments in an order where a document's rows are split: read at once, same result.
    segs = in_memory["segments"].sort_values(["seg_id", "doc_id"], kind="mergesort").reset_index(drop=True)
    assert not is_grouped(pa.array(segs["doc_id"].tolist()))
    write_table(tmp_path / "segments.parquet", segs, name="segments")
    cfg = _cfg()
    write_table(tmp_path / "languages.parquet", in_memory["languages"], name="languages")
    entities_mod.extract_entities_to(tmp_path / "segments.parquet", tmp_path / "languages.parquet",
                                     tmp_path / "entities.parquet", cfg)
    want = read_table_from(entities_mod.extract_entities(segs, in_memory["languages"], cfg), tmp_path)
    _assert_same(read_table(tmp_path / "entities.parquet", name="entities"), want, "entities")
    with pytest.raises(NotGroupedError):
        list(iter_table_groups(tmp_path / "segments.parquet", key="doc_id", batch_rows=10))


# --- the batch writer and reader --------------------------------------------------------------


def _batch(doc: str, n: int, *, respondent: str | None) -> pd.DataFrame:
    return pd.DataFrame({
        "doc_id": [doc] * n,
        "seg_id": list(range(n)),
        "page_no": pd.array([1] * n, dtype="Int64"),
        "char_start": [0] * n,
        "char_end": [3] * n,
        "text": ["abc"] * n,
        "respondent": [respondent] * n,
    })


def test_streaming_tables_writer_matches_write_table(tmp_path: Path) -> None:
    # The first batch has a column with no value at all (Arrow type null): a later batch
    # that has values gives it its real type, as writing everything at once would.
    batches = [_batch("d1", 3, respondent=None), _batch("d2", 2, respondent="Ministry"),
               _batch("d3", 1, respondent=None)]
    with TableWriter(tmp_path / "s.parquet", name="segments", split_key="doc_id") as w:
        for b in batches:
            w.write(b)
    write_table(tmp_path / "all.parquet", pd.concat(batches, ignore_index=True), name="segments")
    got, want = read_table(tmp_path / "s.parquet"), read_table(tmp_path / "all.parquet")
    _assert_same(got, want, "segments")
    assert pq.ParquetFile(tmp_path / "s.parquet").num_row_groups == 3
    # All-null everywhere stays as write_table leaves it too.
    with TableWriter(tmp_path / "n.parquet") as w:
        w.write(_batch("d1", 2, respondent=None))
        w.write(_batch("d2", 2, respondent=None))
    write_table(tmp_path / "n-all.parquet", pd.concat([_batch("d1", 2, respondent=None),
                                                       _batch("d2", 2, respondent=None)], ignore_index=True))
    _assert_same(read_table(tmp_path / "n.parquet"), read_table(tmp_path / "n-all.parquet"), "all null")


def test_streaming_tables_writer_keeps_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    write_table(path, _batch("old", 1, respondent=None), name="segments")
    with pytest.raises(SchemaError, match="more than one batch"):
        with TableWriter(path, name="segments", split_key="doc_id") as w:
            w.write(_batch("d1", 2, respondent=None))
            w.write(_batch("d1", 1, respondent=None))
    # The failed write left the previous table, and no temporary file.
    assert read_table(path)["doc_id"].tolist() == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.parquet"]
    with pytest.raises(SchemaError, match="duplicate keys across batches"):
        with TableWriter(tmp_path / "k.parquet", name="segments") as w:
            w.write(_batch("d1", 2, respondent=None))
            w.write(_batch("d1", 1, respondent=None))
    with pytest.raises(SchemaError, match="lacks required columns"):
        with TableWriter(tmp_path / "c.parquet", name="segments") as w:
            w.write(_batch("d1", 2, respondent=None).drop(columns=["text"]))
    # Nothing written: the empty table given is written instead.
    empty = _batch("d1", 0, respondent=None)
    with TableWriter(tmp_path / "e.parquet", name="segments") as w:
        w.close(empty=empty)
    _assert_same(read_table(tmp_path / "e.parquet"), read_table_from(empty, tmp_path), "empty")


def read_table_from(df: pd.DataFrame, folder: Path) -> pd.DataFrame:
    write_table(folder / "ref.parquet", df)
    return read_table(folder / "ref.parquet")


def test_streaming_tables_groups_are_whole(tmp_path: Path) -> None:
    df = pd.concat([_batch(f"d{i}", 1 + i % 5, respondent=None) for i in range(30)], ignore_index=True)
    write_table(tmp_path / "s.parquet", df, name="segments")
    parts = list(iter_table_groups(tmp_path / "s.parquet", key="doc_id", name="segments", batch_rows=7))
    assert len(parts) > 3
    seen: set[str] = set()
    for part in parts:
        docs = set(part["doc_id"])
        assert not docs & seen, "a document was split across batches"
        seen |= docs
    _assert_same(pd.concat(parts, ignore_index=True), read_table(tmp_path / "s.parquet"), "groups")
