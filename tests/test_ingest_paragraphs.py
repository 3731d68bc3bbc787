"""Paragraphs of PDF pages: lines that PDFium joined at a soft hyphen."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import IngestConfig
from pipeline.ingest import FileTask, extract_file

SAMPLE = Path(__file__).resolve().parents[1] / "corpora" / "raw" / "sample"


def _pdf_paragraphs(name: str) -> list[str]:
    path = SAMPLE / name
    if not path.exists():
        pytest.skip(f"{name} not in the sample corpus")
    res = extract_file(FileTask(str(path), name, "pdf", "", IngestConfig(ocr=False)))
    assert res["status"] == "ok", res["detail"]
    return [p[0] for page in res["pages"] for p in page]


def test_ingest_paragraphs_soft_hyphen_joins_do_not_break_a_paragraph():
    # PDFium joins "educa-" + "ción" into one text line spanning two visual lines; its
    # height made the next line look like a new block, cutting the paragraph in two.
    paras = _pdf_paragraphs("es-01-ministerio-colombia.pdf")
    hit = [p for p in paras if p.startswith("Cuando se declaró la emergencia sanitaria")]
    assert len(hit) == 1
    assert "redes colombianas aumentó" in hit[0]
    assert "educación remota" in hit[0]
    assert "asignación temporal de espectro adicional a los operadores." in hit[0]


def test_ingest_paragraphs_every_pdf_line_is_one_visual_line():
    from pipeline.extract_pdf import OcrSettings, extract_pdf

    # Arabic pages are read glyph by glyph, and a table row there is one Line on purpose.
    pdfs = sorted(p for p in SAMPLE.glob("[a-z][a-z]-0*.pdf") if not p.name.startswith("ar-"))
    if not pdfs:
        pytest.skip("no sample PDFs")
    tall = []
    for path in pdfs:
        res = extract_pdf(path, ocr=OcrSettings(False, "eng", 300, 0, 25), max_pages=50)
        # A line that PDFium joined over a soft hyphen spanned several text lines: its
        # box was several times its font size high.
        tall += [(path.name, ln.text[:40]) for page in res.pages for ln in page.lines
                 if ln.size > 0 and ln.height > 1.6 * ln.size]
    assert tall == []
