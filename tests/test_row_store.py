"""The row store (``pipeline.row_store``): the rows a stage wrote on its last run, by
document key. It gives back exactly what was saved, in the order asked; it is ignored
under other params, when damaged, or when its rows are not grouped by document; and the
language and entities stages, re-run with one document added, take the others from it
and write the tables an uncached run writes."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from pipeline import entities as entities_mod
from pipeline import language as language_mod
from pipeline.config import ComputeConfig, Config, load_config
from pipeline.ingest import ingest_corpus_to
from pipeline.row_store import KEY_COLUMN, RowStore, in_order
from pipeline.tables import read_table, table_path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = pa.schema([("doc_id", pa.string()), ("n", pa.int64())])


def _rows(doc: str, n: int, key: str) -> pa.Table:
    return pa.table({"doc_id": [doc] * n, "n": list(range(n)), KEY_COLUMN: [key] * n})


def _save(store: RowStore, parts: list[pa.Table], keys: list[str], **kw: Any) -> None:
    with store.writer() as writer:
        for part in parts:
            writer.write(part, (), **kw)
        writer.write(_rows("", 0, ""), keys, **kw)


def test_row_store_gives_back_the_saved_rows_in_the_order_asked(tmp_path: Path) -> None:
    store = RowStore(tmp_path, digest="d1", schema=SCHEMA)
    assert store.take(["ka"]) == (None, set())
    _save(store, [_rows("a", 2, "ka"), _rows("b", 3, "kb")], ["ka", "kb", "kc"])  # kc: no rows
    again = RowStore(tmp_path, digest="d1", schema=SCHEMA)
    table, held = again.take(["kb", "kx", "kc", "ka"])
    assert held == {"ka", "kb", "kc"}
    assert table is not None
    assert table.column("doc_id").to_pylist() == ["b", "b", "b", "a", "a"]
    assert table.column("n").to_pylist() == [0, 1, 2, 0, 1]
    # The documents without rows, across the writer's batches: kc only.
    assert json.loads((tmp_path / "rows.empty.json").read_text())["empty"] == ["kc"]
    # Stored and new rows together, documents in the order asked.
    new = _rows("c", 1, "kc2")
    both = in_order(table, new, ["ka", "kc2", "kb"])
    assert both.column(KEY_COLUMN).to_pylist() == ["ka", "ka", "kc2", "kb", "kb", "kb"]
    # Results left out (to be computed again) are neither rows nor "no rows".
    _save(RowStore(tmp_path, digest="d1", schema=SCHEMA), [_rows("a", 1, "ka"), _rows("b", 2, "kb")],
          ["ka", "kb", "kc"], leave_out={"kb", "kc"})
    table, held = RowStore(tmp_path, digest="d1", schema=SCHEMA).take(["ka", "kb", "kc"])
    assert held == {"ka"} and table is not None and table.num_rows == 1


def test_row_store_other_params_damage_or_ungrouped_rows_are_ignored(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _save(RowStore(tmp_path, digest="d1", schema=SCHEMA), [_rows("a", 2, "ka")], ["ka"])
    assert RowStore(tmp_path, digest="d2", schema=SCHEMA).take(["ka"]) == (None, set())
    other = pa.schema([("doc_id", pa.string())])
    assert RowStore(tmp_path, digest="d1", schema=other).take(["ka"]) == (None, set())
    # A key in two runs of rows: the file was not written by save (which keeps documents whole).
    _save(RowStore(tmp_path, digest="d1", schema=SCHEMA),
          [_rows("a", 1, "ka"), _rows("b", 1, "kb"), _rows("a", 1, "ka")], ["ka", "kb"])
    assert RowStore(tmp_path, digest="d1", schema=SCHEMA).take(["ka"]) == (None, set())
    path = tmp_path / "rows.arrow"
    path.write_bytes(path.read_bytes()[:100])
    assert RowStore(tmp_path, digest="d1", schema=SCHEMA).take(["ka"]) == (None, set())
    assert sum("row store" in r.getMessage() for r in caplog.records) == 3


def test_row_store_writer_replaces_the_file_only_on_success(tmp_path: Path) -> None:
    _save(RowStore(tmp_path, digest="d1", schema=SCHEMA), [_rows("a", 2, "ka")], ["ka", "kz"])
    with pytest.raises(RuntimeError), RowStore(tmp_path, digest="d1", schema=SCHEMA).writer() as writer:
        writer.write(_rows("b", 1, "kb"), ["kb"])
        raise RuntimeError("the stage failed")
    table, held = RowStore(tmp_path, digest="d1", schema=SCHEMA).take(["ka", "kb", "kz"])
    assert held == {"ka", "kz"} and table is not None and table.num_rows == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    # The list of documents without rows belongs to one file of rows: another's is ignored.
    sidecar = tmp_path / "rows.empty.json"
    kept = sidecar.read_text()
    _save(RowStore(tmp_path, digest="d1", schema=SCHEMA), [_rows("a", 2, "ka")], ["ka", "ky"])
    sidecar.write_text(kept)
    assert RowStore(tmp_path, digest="d1", schema=SCHEMA).take(["ka", "ky", "kz"])[1] == {"ka"}


# --- the stages -------------------------------------------------------------------------------

FILES = ("en-01-ministry-kenya.pdf", "fr-02-ministere-cote-divoire.docx", "ru-01-mincom-belarus.pdf",
         "es-05-maestra-rural-argentina.html", "zh-03-china-telecom-ott.pdf")


def _cfg() -> Config:
    return dataclasses.replace(load_config(ROOT / "params.yaml"), compute=ComputeConfig(workers=1))


class _Counter:
    def __init__(self, fn: Any) -> None:
        self.fn, self.docs = fn, []

    def __call__(self, item: Any, *args: Any, **kw: Any) -> Any:
        self.docs.append(str(item[0]))
        return self.fn(item, *args, **kw)


def _run(corpus: Path, out: Path, monkeypatch: pytest.MonkeyPatch, *,
         same: bool = True) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Ingest, language and entities; the tables and the documents language computed
    (entities computed the same ones unless ``same`` is false)."""
    cfg = _cfg()
    ingest_corpus_to(corpus, cfg, out=out, cache_dir=out / "cache" / "ingest")
    seen = _Counter(language_mod.detect_document), _Counter(entities_mod._extract_doc_checked)
    monkeypatch.setattr(language_mod, "detect_document", seen[0])
    monkeypatch.setattr(entities_mod, "_extract_doc_checked", seen[1])
    segs, langs = table_path(out, "ingest", "segments"), table_path(out, "language", "languages")
    language_mod.detect_languages_to(segs, table_path(out, "ingest", "documents"), langs, cfg,
                                     cache_dir=out / "cache" / "language")
    entities_mod.extract_entities_to(segs, langs, table_path(out, "entities", "entities"), cfg,
                                     cache_dir=out / "cache" / "entities")
    monkeypatch.undo()
    if same:
        assert sorted(seen[0].docs) == sorted(seen[1].docs), "the same documents are new to both stages"
    tables = {"languages": read_table(langs, name="languages"),
              "entities": read_table(table_path(out, "entities", "entities"), name="entities")}
    return tables, seen[0].docs if same else seen[1].docs


def test_row_store_stages_rerun_with_a_document_added_equal_an_uncached_run(
        sample_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in FILES:
        shutil.copy2(sample_corpus / name, corpus / name)
    want, _ = _run(corpus, tmp_path / "uncached", monkeypatch)
    docs = sorted(want["languages"]["doc_id"].unique())
    # The added document sorts in the middle: the stored rows come before and after it.
    middle = docs[len(docs) // 2]
    source = read_table(table_path(tmp_path / "uncached", "ingest", "documents"), name="documents")
    added = str(source.loc[source["doc_id"] == middle, "source_path"].iloc[0])
    held_back = tmp_path / added
    shutil.move(corpus / added, held_back)
    out = tmp_path / "out"
    _, computed = _run(corpus, out, monkeypatch)
    assert len(computed) == len(FILES) - 1
    shutil.move(held_back, corpus / added)
    for entry in (out / "cache" / stage for stage in ("language", "entities")):
        assert (entry / "rows.arrow").is_file()
    # Without the per-document entries of the others, only the store can give their rows.
    for stage in ("language", "entities"):
        for pkl in (out / "cache" / stage).rglob("*.pkl"):
            pkl.unlink()
    got, computed = _run(corpus, out, monkeypatch)
    assert computed == [middle]
    for name in want:
        assert list(got[name].dtypes) == list(want[name].dtypes), name
        pd.testing.assert_frame_equal(got[name], want[name], obj=name)


def test_row_store_incomplete_entities_are_computed_again(sample_corpus: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in FILES[:2]:
        shutil.copy2(sample_corpus / name, corpus / name)
    real = entities_mod._extract_doc_checked
    monkeypatch.setattr(entities_mod, "_extract_doc_checked", lambda item: (real(item)[0], False))
    _run(corpus, tmp_path / "out", monkeypatch)  # as if every document hit the time limit
    _, computed = _run(corpus, tmp_path / "out", monkeypatch, same=False)
    assert len(computed) == 2, "results cut by the time limit are not kept"
    _, computed = _run(corpus, tmp_path / "out", monkeypatch, same=False)
    assert computed == []
