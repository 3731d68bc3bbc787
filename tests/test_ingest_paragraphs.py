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
    import pypdfium2.raw as pdfium_c

    from pipeline.extract_pdf import _page_lines, open_pdf

    # PDFium's lines, before a ruled table's row (one Line on purpose, however many
    # lines its cells wrap over) takes the place of its pieces.
    pdfs = sorted(p for p in SAMPLE.glob("[a-z][a-z]-0*.pdf") if not p.name.startswith("ar-"))
    if not pdfs:
        pytest.skip("no sample PDFs")
    tall = []
    for path in pdfs:
        doc = open_pdf(path)
        for page in doc:
            textpage = page.get_textpage()
            # A line that PDFium joined over a soft hyphen spanned several text lines:
            # its box was several times its font size high.
            tall += [(path.name, ln.text[:40]) for ln in _page_lines(textpage, pdfium_c)
                     if ln.size > 0 and ln.height > 1.6 * ln.size]
            textpage.close()
            page.close()
        doc.close()
    assert tall == []


@pytest.mark.parametrize(("name", "rows"), [
    ("en-02-northwind-telecom.pdf", ["Area Operators OTT providers",
                                     "Emergency calls Mandatory, location data Mostly voluntary",
                                     "Consumer redress Regulator and ombudsman Platform procedures"]),
    # In the left column of a two-column page; a cell hyphenated before a capital.
    ("fr-01-regulateur-senegal.pdf", ["Abonnements Internet mobile (millions) 7,9 13,1",
                                      "Part de la population couverte par l'IMT-Advanced (%) 21 68"]),
])
def test_ingest_paragraphs_ruled_table_row_is_one_paragraph(name: str, rows: list[str]):
    # PDFium reads a table line by line across the row: a cell that wraps came out in
    # pieces interleaved with its neighbours' ("Mandatory," | "Mostly" | "location data"
    # | "voluntary"), each a paragraph of its own.
    paras = _pdf_paragraphs(name)
    for row in rows:
        assert row in paras
    assert not [p for p in paras if p in {"Mandatory,", "Mostly", "location data", "(millions)", "mobile"}]


def test_ingest_paragraphs_two_column_page_keeps_paragraphs_whole():
    # Regression: a column line was measured against the width of the whole text block,
    # so every line of a two-column page looked like a paragraph's short last line and
    # became a segment of its own (fr-01 had 131 one-line segments), and a table inside a
    # column hid the gutter (the column check counted lines, not text).
    paras = _pdf_paragraphs("fr-01-regulateur-senegal.pdf")
    hit = [p for p in paras if p.startswith("Pour y remédier, l'Autorité a mis en place trois leviers.")]
    assert len(hit) == 1
    assert "assorties d'un calendrier" in hit[0] and hit[0].endswith("établissements scolaires.")
    # A paragraph that ends the left column goes on at the head of the right one.
    assert any("Programme d'action de Vienne en faveur des pays en développement sans littoral." in p
               for p in paras)
    # The page with a small table in its left column is still read as two columns.
    assert any(p.startswith("L'Autorité invite le Groupe de travail à recenser")
               and "objectif de développement durable 9" in p for p in paras)
    assert not [p for p in paras if p in {"pement sans littoral.", "ment et la connexion des établissements"}]


def test_page_paragraphs_column_widths_sizes_and_column_break():
    from pipeline.textnorm import Line, PageLines, page_paragraphs

    def col(x0: float, texts: list[str], top: float, size: float = 11.0, last_short: bool = True) -> list[Line]:
        out = []
        for i, t in enumerate(texts):
            short = last_short and i == len(texts) - 1
            out.append(Line(t, x0, x0 + (90 if short else 220), top - 16 * i, top - 16 * i - 11, size))
        return out

    left = col(60, ["Heading in large type"], 760, size=14, last_short=False) + col(
        60, [f"left paragraph line {i}" for i in range(8)], 740, last_short=False)
    right = col(310, [f"right line {i}" for i in range(6)], 760)
    paras = [p.text for p in page_paragraphs(PageLines(left + right, 595, 842))]
    # The heading is set apart by its type size; the left paragraph runs on into the
    # right column (its last line is full); every column line is a full line.
    assert paras[0] == "Heading in large type"
    assert len(paras) == 2
    assert paras[1].startswith("left paragraph line 0") and paras[1].endswith("right line 5")


def test_grid_rows_are_cut_by_rules_not_by_underlines():
    from pipeline.extract_pdf import _grid_rows

    def hline(x0: float, x1: float, y: float) -> tuple[float, float, float, float]:
        return (x0, y - 0.4, x1, y + 0.4)

    def vline(x: float, y0: float, y1: float) -> tuple[float, float, float, float]:
        return (x - 0.4, y0, x + 0.4, y1)

    height = 842.0
    # A box around a paragraph whose links are underlined (a dev submission's call-out):
    # one row, not a row between every two underlines.
    box = [hline(56, 540, 770), hline(56, 540, 494), vline(58, 494, 770), vline(538, 494, 770),
           hline(166, 462, 700), hline(163, 276, 650), hline(195, 403, 600)]
    rows = _grid_rows(box, height)
    assert len(rows) == 1 and len(rows[0].cells) == 1
    # A table of three columns, two rows; a rule under the header's first two cells only
    # (a merged cell) still cuts the row there.
    table = [hline(50, 500, 400), hline(50, 500, 300), hline(50, 350, 350),
             *(vline(x, 300, 400) for x in (50, 200, 350, 500))]
    rows = _grid_rows(table, height)
    assert [len(r.cells) for r in rows] == [3, 3]
