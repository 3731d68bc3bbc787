"""The Chair's draft as a Word document (python-docx), written atomically and reproducibly.

Word is what the secretariat edits, so the draft uses Word's own styles (Title,
Heading 1-3, Quote, List Bullet, Table Grid) that an editor can restyle in one place.
Quotes carry their language (spell-checking, fonts) and Arabic ones run right to left.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from pipeline.tables import stable_zip, write_bytes

RTL_LANGS = {"ar", "fa", "he", "ur"}
# BCP 47 tags Word knows, so it spell-checks and picks fonts for the right script.
WORD_LANG = {"ar": "ar-SA", "zh": "zh-CN", "en": "en-GB", "fr": "fr-FR", "ru": "ru-RU", "es": "es-ES"}


def _set_lang(run: Any, lang: str) -> None:
    rpr = run._r.get_or_add_rPr()
    el = OxmlElement("w:lang")
    tag = WORD_LANG.get(lang, lang)
    el.set(qn("w:val"), tag)
    el.set(qn("w:eastAsia"), tag if lang == "zh" else "zh-CN")
    el.set(qn("w:bidi"), tag if lang in RTL_LANGS else "ar-SA")
    rpr.append(el)
    if lang in RTL_LANGS:
        rtl = OxmlElement("w:rtl")
        rpr.append(rtl)


def _set_rtl(paragraph: Any) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    ppr.append(OxmlElement("w:bidi"))
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _clean(text: Any) -> str:
    """Drop control characters XML 1.0 forbids (python-docx would raise on them)."""
    return "".join(ch for ch in str(text) if ch in "\t\n" or ord(ch) >= 0x20)


def _table(doc: Any, header: list[Any], rows: list[list[Any]]) -> None:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    # A wide first (label) column, narrow numeric ones; a reason column gets the rest.
    widths = [Cm(6.5)] + [Cm(3.0)] * (len(header) - 1)
    if len(header) == 3:
        widths = [Cm(4.5), Cm(3.0), Cm(9.0)]
    table.autofit = False
    numeric = len(header) == 4  # the count tables: label, then counts and shares
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(_clean(text))
        run.bold = True
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width  # the grid LibreOffice reads
    for row_cells in [table.rows[0].cells]:
        for cell, width in zip(row_cells, widths, strict=True):
            cell.width = width
    for i, row in enumerate(rows):
        cells = table.add_row().cells
        for cell, width in zip(cells, widths, strict=True):
            cell.width = width
        last = i == len(rows) - 1 and len(header) == 4
        for j, (cell, value) in enumerate(zip(cells, row, strict=True)):
            cell.text = ""
            para = cell.paragraphs[0]
            run = para.add_run(_clean(value))
            if isinstance(value, int) or (numeric and j > 0):
                para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if last and isinstance(row[0], str) and len(rows) > 1:
                run.bold = True
    doc.add_paragraph()


class _Paragraphs:
    """Adds styled paragraphs, looking each style up once.

    python-docx resolves a style name on every assignment by scanning the whole styles
    part for the default style; a long draft has thousands of styled paragraphs. The
    XML written is the same as ``doc.add_paragraph(text, style=name)``.
    """

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self._ids: dict[str, str | None] = {}

    def add(self, text: str = "", style: str | None = None) -> Any:
        para = self.doc.add_paragraph(text)
        if style is not None:
            if style not in self._ids:
                self._ids[style] = self.doc.part.get_style_id(style, WD_STYLE_TYPE.PARAGRAPH)
            para._p.style = self._ids[style]
        return para

    def heading(self, text: str, level: int) -> Any:
        return self.add(text, "Title" if level == 0 else f"Heading {level}")


def render_docx(blocks: list[dict[str, Any]], path: Path, *, lang: str) -> None:
    """Write ``blocks`` (see :func:`pipeline.report.build_blocks`) as a DOCX at ``path``."""
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)  # A4, as ITU documents
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.2))
    normal = doc.styles["Normal"]
    normal.font.name = "DejaVu Sans"
    normal.font.size = Pt(10)
    # Word picks the font by script: name one for Chinese and one for Arabic, or
    # LibreOffice/Word substitute a Latin font's missing glyphs badly.
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), "Noto Sans CJK SC")
    fonts.set(qn("w:cs"), "Noto Sans Arabic")
    props = doc.core_properties
    title = next((b["text"] for b in blocks if b["kind"] == "h"), "")
    props.title, props.author, props.language = _clean(title), "textmine", WORD_LANG.get(lang, lang)
    props.revision = 1
    props.created = props.modified = dt.datetime(2000, 1, 1)
    props.last_modified_by = "textmine"

    paras = _Paragraphs(doc)
    for b in blocks:
        kind = b["kind"]
        if kind == "h":
            level = 0 if b["level"] == 1 else b["level"] - 1
            paras.heading(_clean(b["text"]), level=min(level, 3))
        elif kind == "p":
            para = doc.add_paragraph()
            run = para.add_run(_clean(b["text"]))
            if b.get("style") == "notice":
                run.italic = True
                run.font.color.rgb = RGBColor(0x66, 0x4D, 0x00)
        elif kind == "list":
            for item in b["items"]:
                paras.add(_clean(item), style="List Bullet")
        elif kind == "table":
            _table(doc, b["header"], b["rows"])
        elif kind == "figure":
            doc.add_picture(str(b["path"]), width=Cm(16))
            cap = paras.add(_clean(b["caption"]), style="Caption")
            cap.alignment = WD_ALIGN_PARAGRAPH.LEFT
        elif kind == "quote":
            para = paras.add(style="Quote")
            tag = para.add_run(f"[{b['lang']}] ")
            tag.font.size = Pt(8)
            run = para.add_run("«" + _clean(b["text"]) + "»")
            _set_lang(run, str(b["lang"]))
            if b["lang"] in RTL_LANGS or b["lang"] in ("zh", "ja", "ko"):
                # The Quote style is italic; Arabic and Chinese have no italics, only a
                # synthetic slant that hurts legibility.
                run.italic = False
                rpr = run._r.get_or_add_rPr()
                for name in ("w:i", "w:iCs"):
                    off = OxmlElement(name)
                    off.set(qn("w:val"), "0")
                    rpr.append(off)
            if b["lang"] in RTL_LANGS:
                _set_rtl(para)
            src = doc.add_paragraph()
            src.paragraph_format.left_indent = Cm(1)
            src_run = src.add_run("— " + _clean(b["source"]))
            src_run.font.size = Pt(8.5)
            src_run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
    buf = io.BytesIO()
    doc.save(buf)
    write_bytes(path, stable_zip(buf.getvalue()))

