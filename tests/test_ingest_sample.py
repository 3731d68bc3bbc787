"""Ingestion of the bundled sample corpus: one row per file, hard cases, text quality.

The character error rate (CER) of each extracted text against the text a perfect
extractor returns (``corpora/sample-src/expected/<file>.txt``), whitespace normalised,
is printed per language; born-digital files must stay below 2% per language, the
scanned (OCRed) letter below 10%.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
from ingest_helpers import levenshtein, squash

from pipeline.config import load_config
from pipeline.schemas import validate

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = ROOT / "corpora" / "sample-src" / "expected"

HARD_CASES = {
    "xx-broken-truncated.pdf": "corrupt",
    "xx-empty-upload.pdf": "empty",
    "xx-html-page-renamed.pdf": "unsupported",
    "xx-locked-user-password.pdf": "encrypted",
    "xx-zip-archive-renamed.pdf": "unsupported",
    "en-04-scanned-letter.pdf": "ocr",
    "fr-05-association-owner-password.pdf": "ok",
}


@pytest.fixture(scope="module")
def sample_tables(sample_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    from pipeline.ingest import ingest_corpus

    cfg = load_config(ROOT / "params.yaml")
    return ingest_corpus(sample_corpus, cfg, cache_dir=tmp_path_factory.mktemp("ingest-cache"))


def test_ingest_sample_every_file_one_row(sample_corpus: Path, sample_tables):
    manifest = sample_tables["manifest"]
    files = sorted(
        p.name for p in sample_corpus.iterdir()
        if p.is_file() and p.name not in ("metadata.csv", "gold.csv", "review.yaml")
        and not p.name.startswith((".", "README"))
    )
    assert sorted(manifest["source_path"]) == files
    for name, table in sample_tables.items():
        validate(name, table)
    assert manifest["detail"].map(lambda d: isinstance(d, str) and len(d) > 15).all()


def test_ingest_sample_hard_cases_get_their_own_status(sample_tables):
    manifest = sample_tables["manifest"].set_index("source_path")
    for name, status in HARD_CASES.items():
        if name in manifest.index:
            assert manifest.loc[name, "status"] == status, (name, manifest.loc[name, "detail"])
    assert "user password" in manifest.loc["xx-locked-user-password.pdf", "detail"]
    assert "HTML" in manifest.loc["xx-html-page-renamed.pdf", "detail"]
    assert "ZIP" in manifest.loc["xx-zip-archive-renamed.pdf", "detail"]
    dups = manifest[manifest["status"] == "duplicate"]
    assert len(dups) >= 1
    for _name, row in dups.iterrows():
        first = row["duplicate_of"]
        assert manifest.loc[first, "status"] == "ok" and first in row["detail"]
        assert manifest.loc[first, "doc_id"] == row["doc_id"]
    docs = sample_tables["documents"]
    assert not docs["doc_id"].duplicated().any()
    assert set(docs["source_path"]) == set(manifest.index[manifest["status"].isin(["ok", "ocr"])])


def test_ingest_sample_segments_point_into_the_text(sample_tables):
    docs = sample_tables["documents"].set_index("doc_id")
    segs = sample_tables["segments"]
    assert len(segs) > 0
    for row in segs.itertuples():
        text = docs.loc[row.doc_id, "text"]
        assert text[row.char_start:row.char_end] == row.text
        assert row.text.strip() == row.text and row.text
    for doc_id, group in segs.groupby("doc_id"):
        assert list(group["seg_id"]) == list(range(len(group)))
        assert docs.loc[doc_id, "text"] == "\n\n".join(group["text"])


def test_ingest_sample_character_error_rate_per_language(sample_tables):
    docs = sample_tables["documents"].set_index("source_path")
    edits: dict[str, int] = defaultdict(int)
    chars: dict[str, int] = defaultdict(int)
    ocr_cer = None
    checked = 0
    for expected in sorted(EXPECTED.glob("*.txt")):
        source = expected.name[: -len(".txt")]
        if source not in docs.index:
            continue
        want = squash(expected.read_text(encoding="utf-8"))
        got = squash(docs.loc[source, "text"])
        dist = levenshtein(want, got)
        checked += 1
        if docs.loc[source, "status"] == "ocr":
            ocr_cer = dist / max(len(want), 1)
            print(f"\nOCR {source}: CER {ocr_cer:.2%}")
            continue
        lang = source.split("-")[0][:2] if not source.startswith("fren") else "fr"
        edits[lang] += dist
        chars[lang] += len(want)
    assert checked >= 20
    print("\nborn-digital CER per language:")
    for lang in sorted(chars):
        cer = edits[lang] / chars[lang]
        print(f"  {lang}: {cer:.3%} over {chars[lang]} chars")
    for lang in sorted(chars):
        assert edits[lang] / chars[lang] < 0.02, f"{lang}: CER {edits[lang] / chars[lang]:.2%}"
    assert ocr_cer is not None and ocr_cer < 0.10


def test_ingest_sample_metadata_joined_and_validated(sample_tables):
    docs = sample_tables["documents"]
    with_country = docs["country"].dropna()
    assert len(with_country) > 10 and with_country.str.fullmatch(r"[A-Z]{3}").all()
    types = docs["stakeholder_type"].dropna()
    from pipeline.schemas import STAKEHOLDER_TYPES

    assert types.isin(STAKEHOLDER_TYPES).all()
    # The sample's metadata.csv is messy on purpose: those problems are reported.
    assert docs["metadata_issue"].notna().sum() >= 2


def test_ingest_sample_arabic_readers_agree(sample_corpus: Path):
    """Both right-to-left readers (PDFium glyphs, pdfplumber's fallback) give the words
    of the source text in logical order."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    from pipeline.extract_pdf import _rtl_lines, rtl_page_lines

    path = sample_corpus / "ar-02-tra-uae.pdf"
    want = set((EXPECTED / "ar-02-tra-uae.pdf.txt").read_text(encoding="utf-8").split())
    doc = pdfium.PdfDocument(str(path))
    try:
        fast = " ".join(ln.text for ln in _rtl_lines(path, 0, doc[0], pdfium_c)).split()
    finally:
        doc.close()
    slow = " ".join(ln.text for ln in rtl_page_lines(path, 0)).split()
    for words in (fast, slow):
        assert len(words) > 100
        assert sum(w in want for w in words) / len(words) > 0.95
