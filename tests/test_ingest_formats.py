"""Ingestion of small generated inputs: file kinds by magic bytes, encodings, DOCX,
metadata validation, duplicates, limits, the sandbox, the cache and parallel runs."""

from __future__ import annotations

import dataclasses
import os
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.ingest import ingest_corpus
from pipeline.metadata import country_to_iso3
from pipeline.sandbox import run_limited

ROOT = Path(__file__).resolve().parents[1]


def _cfg(**ingest):
    cfg = load_config(ROOT / "params.yaml")
    compute = dataclasses.replace(cfg.compute, workers=1)
    return dataclasses.replace(cfg, compute=compute, ingest=dataclasses.replace(cfg.ingest, **ingest))


def _docx(path: Path) -> None:
    import docx

    doc = docx.Document()
    doc.sections[0].header.paragraphs[0].text = "Letterhead of the Ministry"
    doc.add_heading("Response to the consultation", level=1)
    doc.add_paragraph("We support affordable broadband for all.")
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Year", "Users"
    table.cell(1, 0).text, table.cell(1, 1).text = "2020", "45%"
    doc.add_page_break()
    doc.add_paragraph("Second page text.")
    doc.save(path)


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("small")
    corpus = base / "consultation"
    (corpus / "sub").mkdir(parents=True)
    _docx(corpus / "a-response.docx")
    (corpus / "a-response (1).docx").write_bytes((corpus / "a-response.docx").read_bytes())
    _docx(base / "tmp.docx")
    (corpus / "renamed-docx.pdf").write_bytes((base / "tmp.docx").read_bytes() + b"")
    (corpus / "b-latin1.txt").write_bytes("Réponse de l'opérateur.\nDeuxième ligne.\n\nSecond paragraphe.".encode("cp1252"))
    (corpus / "c-utf16.txt").write_bytes("互联网治理，多利益攸关方。".encode("utf-16"))
    (corpus / "d-page.html").write_text(
        "<html><head><title>T</title><style>p{}</style><script>var x=1</script></head>"
        "<body><h1>Heading</h1><p>First <b>para</b> <a href='http://x'>link</a>.</p><p>互联网\n治理</p></body></html>",
        encoding="utf-8")
    (corpus / "e-post.md").write_text(
        "---\ntitle: \"Post title\"\ndate: 2020-01-01\n---\n\n# Heading\n\nSee [the site](https://e.org) "
        "and {{< figure src=\"x.png\" >}} more *text*.\n", encoding="utf-8")
    (corpus / "f-error.pdf").write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>", encoding="utf-8")
    with zipfile.ZipFile(corpus / "g-archive.pdf", "w") as zf:
        zf.writestr("inside.txt", "hello")
    (corpus / "h-empty.txt").write_bytes(b"")
    (corpus / "i-broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n")
    (corpus / "sub" / "nested.txt").write_text("Nested response text.", encoding="utf-8")
    (corpus / ".hidden.txt").write_text("not a response", encoding="utf-8")
    (corpus / "README.md").write_text("not a response", encoding="utf-8")
    (base / "secret.txt").write_text("outside the corpus", encoding="utf-8")
    os.symlink(base / "secret.txt", corpus / "link-out.txt")
    (corpus / "metadata.csv").write_bytes(
        ("file,respondent,organisation,stakeholder_type,country,submitted\n"
         "a-response.docx,Ana,Ministerio,member_state,Argentine,2020-09-14\n"
         "b-latin1.txt,José,Opérateur,Company,Narnia,14/09/2020\n"
         "../secret.txt,X,Y,regulator,FRA,2020-01-01\n"
         "c-utf16.txt,李,中国信通院,academia,中国,\n").encode("cp1252", errors="replace"))
    return corpus


@pytest.fixture(scope="module")
def small_tables(small_corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    return ingest_corpus(small_corpus, _cfg(), cache_dir=tmp_path_factory.mktemp("cache"))


def test_ingest_formats_statuses_by_magic_bytes(small_tables):
    m = small_tables["manifest"].set_index("source_path")
    assert list(m.index) == sorted(m.index)
    assert ".hidden.txt" not in m.index and "README.md" not in m.index and "metadata.csv" not in m.index
    assert m.loc["renamed-docx.pdf", "format"] == "docx"
    assert m.loc["f-error.pdf", "status"] == "unsupported" and "HTML" in m.loc["f-error.pdf", "detail"]
    assert m.loc["g-archive.pdf", "status"] == "unsupported" and "ZIP" in m.loc["g-archive.pdf", "detail"]
    assert m.loc["h-empty.txt", "status"] == "empty"
    assert m.loc["i-broken.pdf", "status"] == "corrupt"
    assert m.loc["link-out.txt", "status"] == "unsupported" and "outside" in m.loc["link-out.txt", "detail"]
    assert m.loc["sub/nested.txt", "status"] == "ok"
    # Identical DOCX files: "a-response (1).docx" copies "a-response.docx" (stem order).
    assert m.loc["a-response (1).docx", "status"] == "duplicate"
    assert m.loc["a-response (1).docx", "duplicate_of"] == "a-response.docx"
    assert m.loc["renamed-docx.pdf", "status"] in ("ok", "duplicate")


def test_ingest_formats_texts(small_tables):
    docs = small_tables["documents"].set_index("source_path")
    docx_text = docs.loc["a-response.docx", "text"]
    assert "Letterhead" not in docx_text
    assert "Response to the consultation\n\nWe support affordable broadband for all." in docx_text
    assert "Year Users\n\n2020 45%" in docx_text
    pages = small_tables["pages"]
    doc_id = docs.loc["a-response.docx", "doc_id"]
    assert list(pages[pages["doc_id"] == doc_id]["page_no"]) == [1, 2]
    assert docs.loc["b-latin1.txt", "text"] == "Réponse de l'opérateur. Deuxième ligne.\n\nSecond paragraphe."
    assert docs.loc["c-utf16.txt", "text"] == "互联网治理，多利益攸关方。"
    html = docs.loc["d-page.html", "text"]
    assert "var x" not in html and "p{}" not in html and "http" not in html
    assert "Heading\n\nFirst para link." in html and "互联网治理" in html
    md = docs.loc["e-post.md", "text"]
    assert md.startswith("Post title\n\nHeading")
    assert "https" not in md and "figure" not in md and "*" not in md and "the site" in md


def test_ingest_formats_metadata_validated_not_guessed(small_tables):
    docs = small_tables["documents"].set_index("source_path")
    a = docs.loc["a-response.docx"]
    assert (a["country"], a["stakeholder_type"], a["submitted"]) == ("ARG", "member_state", "2020-09-14")
    b = docs.loc["b-latin1.txt"]
    assert b["respondent"] == "José" and pd.isna(b["country"]) and pd.isna(b["stakeholder_type"])
    assert "Narnia" in b["metadata_issue"] and "Company" in b["metadata_issue"]
    assert docs.loc["sub/nested.txt", "metadata_issue"] == "no row in metadata.csv"
    assert country_to_iso3("中国") == "CHN" and country_to_iso3("Франция") == "FRA"
    assert country_to_iso3("السعودية") == "SAU" and country_to_iso3("gb") == "GBR"


def test_ingest_formats_limits(small_corpus: Path, tmp_path: Path):
    tables = ingest_corpus(small_corpus, _cfg(max_file_mb=0.000001), cache_dir=tmp_path)
    m = tables["manifest"].set_index("source_path")
    assert m.loc["a-response.docx", "status"] == "too_large"
    assert "max_file_mb" in m.loc["a-response.docx", "detail"]


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def _allocate(mb: int) -> int:
    return len(bytearray(mb * 1024 * 1024))


def test_ingest_formats_sandbox_stops_hangs_and_memory_hogs():
    assert run_limited(_sleep, 0.01, timeout_s=10, memory_mb=512).value == "done"
    start = time.perf_counter()
    assert run_limited(_sleep, 30, timeout_s=1, memory_mb=512).kind == "timeout"
    assert time.perf_counter() - start < 10
    assert run_limited(_allocate, 2048, timeout_s=30, memory_mb=256).kind == "memory"


def test_ingest_formats_cache_and_parallel_runs_are_identical(small_corpus: Path, small_tables, tmp_path: Path):
    cfg2 = dataclasses.replace(_cfg(), compute=dataclasses.replace(_cfg().compute, workers=2))
    first = ingest_corpus(small_corpus, cfg2, cache_dir=tmp_path)
    assert any(tmp_path.rglob("*.json.gz")), "one small cache file per document"
    again = ingest_corpus(small_corpus, cfg2, cache_dir=tmp_path)
    for name, table in small_tables.items():
        assert first[name].equals(table), name
        assert again[name].equals(table), name


def test_ingest_formats_docx_external_entities_are_not_expanded(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _docx(tmp_path / "plain.docx")
    with zipfile.ZipFile(tmp_path / "plain.docx") as src, zipfile.ZipFile(corpus / "xxe.docx", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/document.xml":
                end = data.index(b"?>") + 2
                dtd = f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret}">]>'.encode()
                data = data[:end] + dtd + data[end:].replace(b"We support", b"&xxe; We support")
            dst.writestr(info, data)
    tables = ingest_corpus(corpus, _cfg(), cache_dir=tmp_path / "cache")
    assert tables["manifest"]["status"].tolist() == ["ok"]
    assert "TOP-SECRET" not in tables["documents"]["text"].iloc[0]
    assert "We support affordable broadband" in tables["documents"]["text"].iloc[0]


def test_ingest_formats_repeated_metadata_problems_are_summed_up(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture):
    import logging

    from pipeline.metadata import read_metadata

    rows = ["file,respondent,organisation,stakeholder_type,country,submitted"]
    rows += [f"r{i:02d}.txt,,,NGO,{'Atlantis' if i % 3 == 0 else 'Kenya'},{'soon' if i >= 25 else ''}"
             for i in range(30)]
    (tmp_path / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="pipeline.metadata"):
        meta = read_metadata(tmp_path)
    # Every row keeps its own problems, with its hint; the log names the first ten, then
    # sums up by kind (the value, not the hint).
    assert sum(len(m.issues) for m in meta.rows.values()) == 45
    assert meta.rows["r29.txt"].issues[-1] == "unreadable submitted date 'soon' (use YYYY-MM-DD)"
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 11
    assert messages[0].startswith("metadata.csv line 2 (r00.txt): unknown stakeholder_type 'NGO'")
    assert "35 more row problems" in messages[-1]
    assert "unknown stakeholder_type 'NGO': 23 rows" in messages[-1]
    assert "unknown country 'Atlantis': 7 rows (lines 11, 14" in messages[-1]
    assert "unreadable submitted date 'soon': 5 rows (lines 27, 28" in messages[-1]
