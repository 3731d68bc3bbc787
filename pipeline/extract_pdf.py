"""PDF text extraction: positioned lines per page, right-to-left pages, OCR.

PDFium (pypdfium2, which pdfplumber itself is built on) gives the text layer at about
50 times pdfplumber's speed, with each line's extent from the boxes of its first and
last characters: what header, footer, footnote, column and paragraph detection need.

Right-to-left pages (Arabic) are rebuilt from glyph positions, because PDFium's own bidi
pass scrambles vowel marks and brackets: the glyphs of a line are put in visual order,
reversed, and the left-to-right runs inside turned back (a small part of the Unicode
bidi algorithm, :func:`logical_rtl`). Glyphs come from PDFium; pdfplumber, whose
character model is slower but exact, is used where it earns its cost: right-to-left
pages with drawn shapes that are not a simple ruled grid (its table finder).

Scanned pages (almost no text, an image) are rendered by PDFium and read by Tesseract.
"""

from __future__ import annotations

import functools
import logging
import operator
import os
import re
import unicodedata
from ctypes import CFUNCTYPE, byref, c_double, c_float, c_int, c_uint, c_void_p, cast
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.textnorm import BREAK, Line, PageLines, clean_chars, is_cjk, is_rtl_text, join_lines

logger = logging.getLogger(__name__)


class ExtractionError(Exception):
    """A file cannot be read; ``status`` and ``detail`` go to the manifest."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class PdfResult:
    pages: list[PageLines]
    n_ocr_pages: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OcrSettings:
    enabled: bool
    languages: str
    dpi: int
    max_pages: int
    min_chars_per_page: int


def open_pdf(path: Path):  # noqa: ANN201 - pypdfium2 type
    """Open a PDF with PDFium, turning its failures into manifest statuses."""
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        msg = str(exc).lower()
        if "password" in msg:
            raise ExtractionError(
                "encrypted",
                "PDF is protected by a user password; ask the respondent for an unprotected copy.",
            ) from exc
        if "security" in msg:
            raise ExtractionError(
                "encrypted",
                "PDF uses an encryption scheme that cannot be opened; ask the respondent for an unprotected copy.",
            ) from exc
        raise ExtractionError(
            "corrupt",
            f"PDF is damaged or truncated and cannot be read ({exc}); ask the respondent to send the file again.",
        ) from exc


def extract_pdf(path: Path, *, ocr: OcrSettings, max_pages: int) -> PdfResult:
    """Read every page of a PDF as positioned lines; OCR pages that have no text layer.

    Raises:
        ExtractionError: encrypted, corrupt, too many pages.
    """
    import pypdfium2.raw as pdfium_c

    doc = open_pdf(path)
    try:
        n = len(doc)
        if n > max_pages:
            raise ExtractionError(
                "too_large",
                f"PDF has {n} pages, more than ingest.max_pages={max_pages}; split the file or raise the limit.",
            )
        if n == 0:
            raise ExtractionError("empty", "PDF has no pages; ask the respondent to send the file again.")
        result = PdfResult(pages=[])
        ocr_done = 0
        for i in range(n):
            page = doc[i]
            try:
                width, height = page.get_size()
                textpage = page.get_textpage()
                try:
                    spans: list[range] = []
                    raw = textpage.get_text_range()
                    lines = _page_lines(textpage, pdfium_c, raw=raw, spans=spans)
                    if lines and is_rtl_text(" ".join(ln.text for ln in lines)):
                        lines = _rtl_lines(path, i, page, pdfium_c, textpage=textpage) or lines
                    elif lines:
                        lines = _with_ruled_tables(lines, spans, raw, page, textpage, pdfium_c)
                finally:
                    textpage.close()
                n_chars = sum(len(ln.text.strip()) for ln in lines)
                if n_chars < ocr.min_chars_per_page and _has_image(page, pdfium_c):
                    if ocr.enabled and ocr_done < ocr.max_pages:
                        text = ocr_page(page, dpi=ocr.dpi, languages=ocr.languages)
                        ocr_done += 1
                        result.pages.append(PageLines([], width, height, ocr_text=text))
                        continue
                    if ocr.enabled:
                        result.notes.append(f"page {i + 1} not OCRed (ingest.ocr_max_pages={ocr.max_pages})")
                    else:
                        result.notes.append(f"page {i + 1} is an image and OCR is off (ingest.ocr)")
                result.pages.append(PageLines(lines, width, height))
            finally:
                page.close()
        result.n_ocr_pages = ocr_done
        return result
    finally:
        doc.close()


def _has_image(page, pdfium_c) -> bool:  # noqa: ANN001
    return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))


_MARKER = re.compile(r"(?<=[^\s\d])\d{1,3}")
_CJK_SPACE = re.compile(r"(?<=[\u2e80-\u9fff\uff00-\uff60]) | (?=[\u2e80-\u9fff\uff00-\uff60])")


def _page_lines(textpage, pdfium_c, *, raw: str | None = None,  # noqa: ANN001
                spans: list[range] | None = None) -> list[Line]:
    """Lines of a page in PDFium's reading order, each with the box of its end characters.

    PDFium separates the lines it finds with CR LF, and the text's index i is the
    character index i, so two character boxes per line give the line's extent. Two
    repairs need the characters themselves: footnote markers (digits set in a smaller
    superscript font) are dropped, and the spaces PDFium invents between Chinese and
    Latin runs (it sees a font change as a word gap) are removed. ``raw``: the page's
    text, when the caller has read it; ``spans``, when given, receives each returned
    line's character indices.
    """
    if raw is None:
        raw = textpage.get_text_range()
    n_chars = textpage.count_chars()
    tp = textpage.raw
    # The raw PDFium calls with reused out-parameters: pypdfium2's helpers allocate four
    # ctypes doubles per call, which costs more than the call itself on every line.
    fns = _text_functions(pdfium_c)
    page = cast(tp, c_void_p)
    charbox = _charbox_reader(tp, pdfium_c)
    lines: list[Line] = []
    pos = 0
    for whole in raw.split("\r\n"):
        start = pos
        pos = start + len(whole) + 2
        if n_chars <= 0:
            continue
        # PDFium joins a line that ends in a soft hyphen to the next one and leaves
        # U+FFFE where the hyphen was: cut there again, so that every Line is one
        # visual line (a joined one spans several, and its height and vertical gap
        # then read as a paragraph break).
        for part in whole.split("\ufffe"):
            end = start + len(part)
            hyphen = end < pos - 2  # the piece ended at a U+FFFE
            if part.strip():
                line = _line_of(part + ("\ufffe" if hyphen else ""), start, n_chars, fns, page, charbox)
                if line is not None and line.text:
                    lines.append(line)
                    if spans is not None:
                        spans.append(range(start, min(end + (1 if hyphen else 0), n_chars)))
            start = end + 1
    return lines


def _line_of(part: str, start: int, n_chars: int, fns: _TextFunctions, page: c_void_p,
             charbox) -> Line | None:  # noqa: ANN001
    """The Line of text ``part``, which starts at character ``start`` of the page: its
    box from its first and last printed characters, its font size, its repairs."""
    font_size = fns.font_size
    body = part.rstrip("\ufffe")
    first = start + (len(body) - len(body.lstrip()))
    last = min(start + len(body.rstrip()) - 1, n_chars - 1)
    if first > last:
        return None
    b1 = charbox(first)
    b2 = charbox(last)
    # The median of three characters: a leading footnote number or a trailing
    # superscript must not set the size of the line.
    size = sorted((font_size(page, first), font_size(page, (first + last) // 2), font_size(page, last)))[1]
    drop: set[int] = set()
    if _HAS_DIGIT.search(part):
        for m in _MARKER.finditer(part):
            idx = start + m.start()
            if idx < n_chars and font_size(page, idx) < 0.8 * size:
                drop.update(range(m.start(), m.end()))
    if " " in part:
        for m in _CJK_SPACE.finditer(part):
            idx = start + m.start()
            if 0 < idx < n_chars - 1 and fns.is_generated(page, idx) == 1:
                # A narrow gap is a font change; a wide one separates table cells.
                gap = charbox(idx + 1)[0] - charbox(idx - 1)[2]
                if abs(gap) < 0.6 * size:
                    drop.add(m.start())
    if drop:
        part = "".join(ch for i, ch in enumerate(part) if i not in drop)
    # PDFium marks a hyphen it found at a line end with U+0002 (or U+FFFE where it
    # joined the lines, cut above); keep that as a break marker.
    text = part.replace("\x02", BREAK).replace("\ufffe", BREAK)
    return Line(clean_chars(text).strip(), min(b1[0], b2[0]), max(b1[2], b2[2]),
                max(b1[3], b2[3]), min(b1[1], b2[1]), size)


_HAS_DIGIT = re.compile(r"\d")


class _TextFunctions:
    """PDFium's per-character text functions, called without ctypes argument checks.

    pypdfium2 declares ``argtypes``, so every call converts and checks its arguments:
    half the cost of a call that runs for every glyph of a page. These are the same C
    functions with only the return type declared; they must be called with a
    ``c_void_p`` text page, Python ints and ``byref`` out-parameters, as below.
    """

    def __init__(self, pdfium_c) -> None:  # noqa: ANN001
        def bare(fn, restype):  # noqa: ANN001, ANN202
            f = CFUNCTYPE(restype)(cast(fn, c_void_p).value)
            f.argtypes = None
            return f

        self.unicode = bare(pdfium_c.FPDFText_GetUnicode, c_uint)
        self.is_generated = bare(pdfium_c.FPDFText_IsGenerated, c_int)
        self.font_size = bare(pdfium_c.FPDFText_GetFontSize, c_double)
        self.char_box = bare(pdfium_c.FPDFText_GetCharBox, c_int)
        self.loose_box = bare(pdfium_c.FPDFText_GetLooseCharBox, c_int)


_TEXT_FUNCTIONS: _TextFunctions | None = None


def _text_functions(pdfium_c) -> _TextFunctions:  # noqa: ANN001
    global _TEXT_FUNCTIONS
    if _TEXT_FUNCTIONS is None:
        _TEXT_FUNCTIONS = _TextFunctions(pdfium_c)
    return _TEXT_FUNCTIONS


def _charbox_reader(tp, pdfium_c):  # noqa: ANN001, ANN202
    """``charbox(i) -> (left, bottom, right, top)`` of character i, as
    ``PdfTextPage.get_charbox`` returns it, with one set of out-parameters."""
    from pypdfium2 import PdfiumError

    get_box = _text_functions(pdfium_c).char_box
    page = cast(tp, c_void_p)
    left, right, bottom, top = c_double(), c_double(), c_double(), c_double()
    refs = (byref(left), byref(right), byref(bottom), byref(top))  # yes, l r b t

    def charbox(index: int) -> tuple[float, float, float, float]:
        if not get_box(page, index, *refs):
            raise PdfiumError("Failed to get charbox.")
        return left.value, bottom.value, right.value, top.value

    return charbox


# --- right-to-left pages ------------------------------------------------------------------

_CID = re.compile(r"\(cid:\d+\)")


@functools.lru_cache(maxsize=4096)
def _unit_class(unit: str) -> str:
    """Bidi class of a unit (its first character's; a cell gap is right-to-left)."""
    return "R" if unit == CELL_GAP else unicodedata.bidirectional(unit[0]) if unit else "WS"


def _bidi_kinds(units: list[str], *, after_arabic: bool = True) -> list[str]:
    """Resolved direction (``L`` or ``R``) of each unit of an RTL line in logical order.

    The parts of the Unicode bidi algorithm that matter for reading text back: numbers
    after Latin text belong to it (W7), separators and terminators inside numbers join
    them (W4, W5), and neutral characters are left-to-right only between two
    left-to-right neighbours (N1); everything else takes the paragraph's direction.
    """
    raw = [_unit_class(u) for u in units]
    n = len(raw)
    # A line is a piece of an Arabic paragraph, so its start follows Arabic text (a
    # table cell is a paragraph of its own).
    # The rules below only rewrite numbers and what sits next to them; most lines have
    # none, and the passes are skipped (with the same result).
    if "EN" in raw:
        last_strong = "AL" if after_arabic else "R"
        for i in range(n):  # W2: a number after Arabic letters is an Arabic number
            if raw[i] in ("L", "R", "AL"):
                last_strong = raw[i]
            elif raw[i] == "EN" and last_strong == "AL":
                raw[i] = "AN"
    has_en = "EN" in raw
    if has_en or "AN" in raw:
        for i in range(1, n - 1):  # W4: 1,000 and 1.5 stay one number
            if raw[i - 1] == raw[i + 1] == "EN" and raw[i] in ("CS", "ES"):
                raw[i] = "EN"
            elif raw[i - 1] == raw[i + 1] == "AN" and raw[i] == "CS":
                raw[i] = "AN"
        has_en = "EN" in raw
    if has_en:
        for i in range(n):  # W5: %, currency signs next to a number join it
            if raw[i] == "ET" and ((i > 0 and raw[i - 1] == "EN") or (i + 1 < n and raw[i + 1] == "EN")):
                raw[i] = "EN"
        last_strong = "R"
        for i in range(n):  # W7
            if raw[i] in ("L", "R", "AL"):
                last_strong = raw[i]
            elif raw[i] == "EN" and last_strong == "L":
                raw[i] = "L"
    # The visual order hides whether "ITU 2030" was one left-to-right run or a number
    # then a word; inside a run the units are still reversed here, so a number whose
    # next strong neighbour is Latin belongs to that Latin run (the common case:
    # "SDG 9", "Windows 10").
    if "EN" in raw or "AN" in raw:
        next_strong = "R"
        for i in range(n - 1, -1, -1):
            if raw[i] in ("L", "R", "AL"):
                next_strong = raw[i]
            elif raw[i] in ("EN", "AN") and next_strong == "L":
                raw[i] = "L"
    strong = ["L" if k == "L" else "R" if k in ("R", "AL", "EN", "AN") else None for k in raw]
    out = list(strong)
    i = 0
    while i < n:
        if strong[i] is None:
            j = i
            while j < n and strong[j] is None:
                j += 1
            before = strong[i - 1] if i > 0 else "R"
            after = strong[j] if j < n else "R"
            fill = "L" if before == after == "L" else "R"
            for k in range(i, j):
                out[k] = fill
            i = j
        else:
            i += 1
    # Numbers are laid out left to right even inside right-to-left text.
    return ["L" if raw[k] in ("L", "EN", "AN") else out[k] for k in range(n)]  # type: ignore[misc]


def logical_rtl(units: list[str], *, after_arabic: bool = True) -> str:
    """Logical order of a right-to-left line given as glyph texts in visual order.

    The glyphs are reversed (a ligature such as lam-alef stays one unit, so its letters
    keep their order), then the left-to-right runs inside the line (Latin words,
    numbers) are turned back, per :func:`_bidi_kinds`. Vowel marks arrive attached
    to their letter by :func:`_visual_units`.
    """
    seq = units[::-1]
    kinds = _bidi_kinds(seq, after_arabic=after_arabic)
    out: list[str] = []
    i, n = 0, len(seq)
    while i < n:
        if kinds[i] == "L":
            j = i
            while j < n and kinds[j] == "L":
                j += 1
            out.extend(seq[i:j][::-1])
            i = j
        else:
            out.append(seq[i])
            i += 1
    return "".join(out).replace(CELL_GAP, " ")


CELL_GAP = "\u2003"  # an em space stands for a gap between table cells


class Glyph:
    """One glyph of a right-to-left page, in pdfplumber's top-down coordinates.

    A small slotted record instead of pdfplumber's dicts: a page has a couple of
    thousand glyphs and every step below looks at each of them several times.
    ``size`` is 0.0 when unknown; ``plain`` is the text without pdfplumber's
    ``(cid:N)`` placeholders.
    """

    __slots__ = ("text", "x0", "x1", "top", "bottom", "size", "mid", "centre", "combining", "plain")

    def __init__(self, text: str, x0: float, x1: float, top: float, bottom: float, size: float,
                 combining: bool | None = None, plain: str | None = None) -> None:
        self.text = text
        self.x0 = x0
        self.x1 = x1
        self.top = top
        self.bottom = bottom
        self.size = size
        self.mid = (top + bottom) / 2
        self.centre = (x0 + x1) / 2
        # ``combining`` and ``plain`` depend on the text alone; a caller that makes many
        # glyphs of the same text passes them in.
        self.combining = (bool(text) and unicodedata.combining(text[0]) != 0) if combining is None else combining
        self.plain = (_CID.sub("", text) if "(cid:" in text else text) if plain is None else plain

    @classmethod
    def from_dict(cls, c: dict) -> Glyph:
        """A glyph from a pdfplumber character dict."""
        return cls(c.get("text") or "", float(c["x0"]), float(c["x1"]), float(c["top"]), float(c["bottom"]),
                   float(c.get("size") or 0))


def _visual_units(chars: list[Glyph], *, drop_superscripts: bool, infer_spaces: bool = True) -> list[str]:
    """Glyph texts of one line left to right, with a space where the gap is a word gap.

    A gap of several em is a gap between table cells (:data:`CELL_GAP`). Superscript
    digits (footnote markers) are dropped from body lines.
    """
    body = sorted([c.size for c in chars])
    size = body[len(body) // 2] or 10.0
    units: list[str] = []
    right_edge: float | None = None
    marks = [c for c in chars if c.combining]
    # By centre: the zero-width half of a split ligature sorts inside its glyph.
    bases = sorted([c for c in chars if not c.combining], key=_by_centre) if marks else sorted(chars, key=_by_centre)
    # A vowel mark belongs to the letter under its centre; in visual order it goes just
    # before that letter, so that reversing puts it right after it.
    on: dict[int, str] = {}
    if marks:
        letters = [k for k, c in enumerate(bases) if c.plain.strip()]
        for m in marks:
            if not letters:
                break
            mc = m.centre
            k = min(letters, key=lambda k: 0 if bases[k].x0 <= mc <= bases[k].x1 else abs(bases[k].centre - mc))
            on[k] = on.get(k, "") + m.text
    small = 0.8 * size
    cell_gap = 2.5 * size
    word_gap = 0.2 * size
    for k, ch in enumerate(bases):
        text = ch.plain
        x1 = ch.x1
        if not text:
            # A kashida or other unmapped glyph still fills the gap.
            edge = right_edge or 0.0
            right_edge = x1 if x1 > edge else edge
            continue
        marked = k in on
        if marked:
            text = text + on[k] if not _glyph_is_rtl(text) else on[k] + text
        if drop_superscripts and text.isdigit() and (ch.size or size) < small:
            continue
        if right_edge is not None and units and not text.isspace() and not units[-1].isspace():
            gap = ch.x0 - right_edge
            if gap > cell_gap:
                units.append(CELL_GAP)
            elif gap > word_gap and infer_spaces:
                units.append(" ")
        if marked and _glyph_is_rtl(text):
            # Emit the letter and its marks as separate units so reversal puts
            # the marks after the letter.
            units.extend(text)
        else:
            units.append(text)
        edge = right_edge or 0.0
        right_edge = x1 if x1 > edge else edge
    return units


# A glyph's text (with its marks) is one of a few hundred strings per font.
_glyph_is_rtl = functools.lru_cache(maxsize=4096)(is_rtl_text)


_by_centre = operator.attrgetter("centre")
_by_mid = operator.attrgetter("mid")


def _rtl_lines(path: Path, index: int, page, pdfium_c, *, textpage=None) -> list[Line]:  # noqa: ANN001
    """A right-to-left page's lines from PDFium's glyphs (fast), or from pdfplumber's
    when the page has drawn shapes that are no simple ruled grid (pdfplumber's table
    finder reads them). ``textpage``: the page's open text page, if the caller has one."""
    height = float(page.get_size()[1])
    bounds = _path_bounds(page, pdfium_c)
    rows = _grid_rows(bounds, height) if len(bounds) >= 4 else []
    if len(bounds) >= 4 and not rows:
        return rtl_page_lines(path, index)  # drawn shapes that are no simple grid
    if textpage is None:
        own = page.get_textpage()
        try:
            chars = _pdfium_chars(own, pdfium_c, height)
        finally:
            own.close()
    else:
        chars = _pdfium_chars(textpage, pdfium_c, height)
    sizes = sorted([c.size for c in chars if not c.text.isspace()])
    if not sizes:
        return []
    typical = sizes[len(sizes) // 2]
    lines: list[Line] = []
    if rows:
        grid = _Grid(rows)
        inside = _inside_any(chars, [r.bbox for r in rows])
        lines.extend(_table_rows(grid, [c for c, i in zip(chars, inside, strict=True) if i], height, typical))
        chars = [c for c, i in zip(chars, inside, strict=True) if not i]
    lines.extend(_band_lines(chars, height, typical))
    for ln in lines:
        ln.text = _balance_brackets(ln.text)
    lines.sort(key=lambda ln: -ln.top)
    return lines


def _with_ruled_tables(lines: list[Line], spans: list[range], raw: str, page, textpage,  # noqa: ANN001
                       pdfium_c) -> list[Line]:
    """A left-to-right page's lines with each row of a ruled table as one line.

    PDFium reads a table line by line across the row, so a cell whose text wraps comes
    out in pieces interleaved with its neighbours' ("Emergency calls | Mandatory, |
    Mostly", then "location data | voluntary"), and each piece became a paragraph of
    its own. Rows of ruled tables (drawn grids) are read cell by cell instead, left to
    right, each cell's lines joined, as on right-to-left pages; the row's line takes the
    place of its first piece, so the page's reading order (its columns) is kept. Pages
    without drawn strokes cost one pass over their objects. ``spans``: each line's
    character indices, ``raw`` the page's text (both as :func:`_page_lines` read them).
    """
    height = float(page.get_size()[1])
    bounds = _path_bounds(page, pdfium_c)
    # A row of one cell is a box around text, which PDFium reads in order already.
    rows = [r for r in (_grid_rows(bounds, height) if len(bounds) >= 4 else []) if len(r.cells) >= 2]
    if not rows:
        return lines
    row_of: list[int | None] = []
    for ln in lines:
        mid = height - (ln.top + ln.bottom) / 2  # top-down, as the rows' boxes
        row_of.append(next((k for k, r in enumerate(rows) if r.bbox[0] - 1 <= ln.x0 and ln.x1 <= r.bbox[2] + 1
                            and r.bbox[1] - 1 <= mid <= r.bbox[3] + 1), None))
    if all(k is None for k in row_of):
        return lines
    typical = sorted(ln.size for ln in lines)[len(lines) // 2]
    row_lines = _ltr_rows(rows, [(span, k) for span, k in zip(spans, row_of, strict=True) if k is not None],
                          raw, textpage, pdfium_c, height, typical)
    out: list[Line] = []
    placed: set[int] = set()
    for ln, k in zip(lines, row_of, strict=True):
        if k is None:
            out.append(ln)
        elif k not in placed:
            placed.add(k)
            row = row_lines[k]
            if row is not None:
                out.append(row)
    return out


def _ltr_rows(rows: list[_Row], pieces: list[tuple[range, int]], raw: str, textpage,  # noqa: ANN001
              pdfium_c, height: float, typical: float) -> list[Line | None]:
    """One line per row (``None`` for a row without text) from the pieces of text
    PDFium read inside it: each character goes to the cell under its centre (a space
    to its predecessor's), each cell's pieces are joined as the lines of a paragraph,
    and the cells follow each other left to right. PDFium's own characters and spaces
    are kept: left-to-right text needs no reordering, and this costs a box per
    character where reading glyphs (:func:`_table_rows`) costs four calls and a sort."""
    tp = cast(textpage.raw, c_void_p)
    fns = _text_functions(pdfium_c)
    charbox = _charbox_reader(textpage.raw, pdfium_c)
    # per row: per cell (sorted by x0): the text of each piece, in PDFium's order
    cells = [sorted(r.cells, key=lambda c: c[0]) for r in rows]
    texts: list[list[list[str]]] = [[[] for _ in cs] for cs in cells]
    for span, k in pieces:
        current: dict[int, list[str]] = {}
        cell = None
        for i in span:
            ch = raw[i] if i < len(raw) else ""
            if ch in ("\r", "\n", ""):
                continue
            if ch in ("\x02", "\ufffe") or ch.isspace():
                # A hyphen mark or a space (perhaps one PDFium invented, without a box)
                # belongs with the character before it; PDFium's spaces between Chinese
                # and other text go, as in _line_of.
                if cell is not None and not (ch == " " and fns.is_generated(tp, i) == 1 and (
                        is_cjk(raw[i - 1]) or (i + 1 < len(raw) and is_cjk(raw[i + 1])))):
                    current[cell].append(ch if ch.isspace() else BREAK)
                continue
            left, _bottom, right, _top = charbox(i)
            centre = (left + right) / 2
            cell = next((j for j, c in enumerate(cells[k]) if c[0] - 1 <= centre <= c[2] + 1), cell)
            if cell is not None:
                current.setdefault(cell, []).append(ch)
        for j, chars in current.items():
            texts[k][j].append("".join(chars))
    out: list[Line | None] = []
    for r, row in enumerate(rows):
        parts = []
        for pieces_of_cell in texts[r]:
            text = ""
            for piece in pieces_of_cell:
                text = join_lines(text, piece)
            if text.strip():
                parts.append(clean_chars(text).strip())
        if parts:
            first = cells[r][0]
            # Narrowed to its first cell, the row reads as a short line: a paragraph of its own.
            out.append(Line(" ".join(parts), first[0], first[2], height - row.bbox[1], height - row.bbox[3], typical))
        else:
            out.append(None)
    return out


def _path_bounds(page, pdfium_c) -> list[tuple[float, float, float, float]]:  # noqa: ANN001
    """Bounds (left, bottom, right, top) of the page's path objects, and of those one
    Form XObject deep: ``page.get_objects(filter=[PATH], max_depth=2)`` without a
    Python wrapper per object (a ruled page has hundreds of strokes)."""
    from pypdfium2 import PdfiumError

    path_type = pdfium_c.FPDF_PAGEOBJ_PATH
    form_type = pdfium_c.FPDF_PAGEOBJ_FORM
    get_type = pdfium_c.FPDFPageObj_GetType
    get_bounds = pdfium_c.FPDFPageObj_GetBounds
    left, bottom, right, top = c_float(), c_float(), c_float(), c_float()
    out: list[tuple[float, float, float, float]] = []

    def walk(count, get, parent, descend: bool) -> None:  # noqa: ANN001
        n = count(parent)
        if n < 0:
            raise PdfiumError("Failed to get number of pageobjects.")
        for i in range(n):
            obj = get(parent, i)
            if not obj:
                raise PdfiumError("Failed to get pageobject.")
            kind = get_type(obj)
            if kind == path_type:
                if not get_bounds(obj, left, bottom, right, top):
                    raise PdfiumError("Failed to locate pageobject.")
                out.append((left.value, bottom.value, right.value, top.value))
            elif kind == form_type and descend:
                walk(pdfium_c.FPDFFormObj_CountObjects, pdfium_c.FPDFFormObj_GetObject, obj, False)

    walk(pdfium_c.FPDFPage_CountObjects, pdfium_c.FPDFPage_GetObject, page.raw, True)
    return out


@dataclass
class _Row:
    cells: list[tuple[float, float, float, float]]  # x0, top, x1, bottom (top-down)
    bbox: tuple[float, float, float, float]


@dataclass
class _Grid:
    rows: list[_Row]


def _inside_any(chars: list[Glyph], boxes: list[tuple[float, float, float, float]]) -> list[bool]:
    """Per glyph: its box lies within one of ``boxes`` (x0, top, x1, bottom), with a
    point of slack, by its horizontal extent and its vertical centre."""
    import numpy as np

    if not chars:
        return []
    x0 = np.fromiter((c.x0 for c in chars), float, len(chars))
    x1 = np.fromiter((c.x1 for c in chars), float, len(chars))
    mid = np.fromiter((c.mid for c in chars), float, len(chars))
    hit = np.zeros(len(chars), bool)
    for bx0, btop, bx1, bbottom in boxes:
        hit |= (bx0 - 1 <= x0) & (x1 <= bx1 + 1) & (btop - 1 <= mid) & (mid <= bbottom + 1)
    return hit.tolist()


def _grid_rows(bounds: list[tuple[float, float, float, float]], height: float) -> list[_Row]:
    """Rows of ruled tables from the page's thin horizontal and vertical strokes.

    Between two consecutive horizontal rules, the vertical rules that span the gap
    cut the row into cells. Coordinates come back top-down, as pdfplumber's.
    """
    horizontal = [(x0, x1, (b + t) / 2) for x0, b, x1, t in bounds if t - b < 2.5 and x1 - x0 > 20]
    vertical = [((x0 + x1) / 2, b, t) for x0, b, x1, t in bounds if x1 - x0 < 2.5 and t - b > 5]
    if len(horizontal) < 2 or len(vertical) < 2:
        return []
    # A rule between rows spans at least one cell, from one vertical rule to another; a
    # shorter stroke is an underline (a link in a boxed paragraph), not a row's edge.
    edges = sorted({round(x) for x, _, _ in vertical})
    horizontal = [(x0, x1, y) for x0, x1, y in horizontal
                  if sum(1 for e in edges if x0 - 2 <= e <= x1 + 2) >= 2]
    if len(horizontal) < 2:
        return []
    ys = sorted({round(y) for _, _, y in horizontal})
    rows = []
    for low, high in zip(ys, ys[1:], strict=False):
        xs = sorted({round(x) for x, b, t in vertical if b <= low + 1.5 and t >= high - 1.5})
        if len(xs) < 2:
            continue
        top, bottom = height - high, height - low
        cells = [(float(a), top, float(z), bottom) for a, z in zip(xs, xs[1:], strict=False) if z - a > 3]
        if cells:
            rows.append(_Row(cells, (float(xs[0]), top, float(xs[-1]), bottom)))
    rows.sort(key=lambda r: r.bbox[1])
    return rows


_PAIRS = {"(": ")", "[": "]", "{": "}", "«": "»"}
_CLOSERS = {v: k for k, v in _PAIRS.items()}


def _balance_brackets(text: str) -> str:
    """Undo PDFium's mirroring of brackets in right-to-left text.

    PDFium reports some brackets of Arabic lines mirrored. Left to right, a closing
    bracket with nothing open before it (while the line closes one later) was an
    opening one; right to left, an opening bracket with nothing closed after it (while
    one was opened earlier) was a closing one.
    """
    out = list(text)
    for opener, closer in _PAIRS.items():
        if opener not in text and closer not in text:
            continue
        depth = 0
        for i, ch in enumerate(out):
            if ch == opener:
                depth += 1
            elif ch == closer:
                if depth == 0 and (closer in out[i + 1:] or opener in out[i + 1:]):
                    out[i] = opener
                    depth += 1
                elif depth:
                    depth -= 1
        depth = 0
        for i in range(len(out) - 1, -1, -1):
            ch = out[i]
            if ch == closer:
                depth += 1
            elif ch == opener:
                if depth == 0 and opener in out[:i]:
                    out[i] = closer
                    depth += 1
                elif depth:
                    depth -= 1
    return "".join(out)


def _pdfium_chars(textpage, pdfium_c, height: float) -> list[Glyph]:  # noqa: ANN001
    """Glyphs of a page in pdfplumber's top-down coordinates, with loose boxes.

    Loose boxes span the font's descent, so the glyphs of a line share their bottom
    (tops vary with the letters); spaces PDFium invented are left out (word gaps are
    measured instead, as for pdfplumber's glyphs).
    """
    from pypdfium2 import PdfiumError

    tp = cast(textpage.raw, c_void_p)
    # The bare calls with one reused rectangle: this loop runs for every glyph of every
    # Arabic page, and pypdfium2's get_charbox allocates a rectangle per call.
    fns = _text_functions(pdfium_c)
    get_unicode, is_generated, loose_box, font_size = fns.unicode, fns.is_generated, fns.loose_box, fns.font_size
    rect = pdfium_c.FS_RECTF()
    rect_ref = byref(rect)
    chars = []
    kinds: dict[int, tuple[str, bool, str]] = {}  # code -> text, combining, plain
    for i in range(textpage.count_chars()):
        code = get_unicode(tp, i)
        # PDFium generates spaces, CR and LF only (no other character is marked
        # generated), so the call is needed for spaces alone.
        if code == 10 or code == 13 or (code == 32 and is_generated(tp, i) == 1):
            continue
        if not loose_box(tp, i, rect_ref):
            raise PdfiumError("Failed to get charbox.")
        left, right = rect.left, rect.right
        if code == 32 and right - left < 0.5:
            continue  # a zero-width "space" PDFium places inside justified Arabic words
        # U+0002 here is a glyph without a Unicode value (a kashida stretching a
        # justified word): it fills the gap but is no text, like pdfplumber's "(cid:N)".
        kind = kinds.get(code)
        if kind is None:
            text = "(cid:2)" if code == 2 else chr(code)
            g = Glyph(text, 0.0, 0.0, 0.0, 0.0, 0.0)
            kind = kinds[code] = (text, g.combining, g.plain)
        chars.append(Glyph(kind[0], left, right, height - rect.top, height - rect.bottom, font_size(tp, i),
                           kind[1], kind[2]))
    return chars


def rtl_page_lines(path: Path, page_index: int) -> list[Line]:
    """Lines of a right-to-left page from pdfplumber's glyphs, put in logical order.

    PDFium's own bidi pass scrambles Arabic vowel marks and brackets; pdfplumber keeps
    each glyph's position, so the visual order can be reversed exactly. It is slower,
    so only pages whose text is mostly Arabic or Hebrew come here. Ruled tables are
    read cell by cell (pdfplumber's table finder earns its cost here: cells wrap over
    several lines, and reading the page line by line would interleave them).
    """
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        page = pdf.pages[page_index]
        height = float(page.height)
        chars = [Glyph.from_dict(c) for c in page.chars if c.get("text")]
        try:
            tables = [t for t in page.find_tables() if len(t.rows) > 1]
        except Exception:  # noqa: BLE001 - a table finder failure only costs the table layout
            tables = []
    if not chars:
        return []
    sizes = sorted([c.size for c in chars])
    typical = sizes[len(sizes) // 2]
    lines: list[Line] = []
    for table in tables:
        x0, top, x1, bottom = table.bbox
        inside = [x0 - 1 <= c.x0 and c.x1 <= x1 + 1 and top - 1 <= c.top and c.bottom <= bottom + 1
                  for c in chars]
        if not any(inside):
            continue
        lines.extend(_table_rows(table, [c for c, i in zip(chars, inside, strict=True) if i], height, typical))
        chars = [c for c, i in zip(chars, inside, strict=True) if not i]
    lines.extend(_band_lines(chars, height, typical))
    lines.sort(key=lambda ln: -ln.top)
    return [ln for ln in lines if ln.text]


def _band_lines(chars: list[Glyph], height: float, typical: float, *, in_cell: bool = False,
                infer_spaces: bool = True) -> list[Line]:
    """Group glyphs into lines by their tops and read each line in logical order.

    Vowel marks and superscripts, which sit off the line, join the line that has a
    glyph under them (or else the nearest).
    """
    floor = 0.6 * typical
    is_main = [not c.combining and c.size >= floor for c in chars]
    # Each band: [top, bottom, glyphs]. A glyph whose vertical centre falls inside the
    # current line's box joins it; glyph boxes of one line differ (ascenders,
    # descenders) but their centres stay inside.
    bands: list[list] = []
    for c in sorted([c for c, m in zip(chars, is_main, strict=True) if m], key=_by_mid):
        if bands and c.mid <= bands[-1][1]:
            bands[-1][2].append(c)
        else:
            bands.append([c.top, c.bottom, [c]])
    if bands and not all(is_main):
        for c, m in zip(chars, is_main, strict=True):
            if not m:
                _attach_mark(c, bands)
    lines = []
    body_floor = 0.88 * typical
    for top, bottom, band in bands:
        band_sizes = sorted([c.size for c in band])
        is_body = band_sizes[len(band_sizes) // 2] >= body_floor
        units = _visual_units(band, drop_superscripts=is_body, infer_spaces=infer_spaces)
        text = "".join(units).replace(CELL_GAP, " ")
        if not text.strip():
            continue
        if is_rtl_text(text):
            text = logical_rtl(units, after_arabic=not in_cell)
        size_list = sorted([c.size for c in band if not c.combining and c.size >= floor]) or band_sizes
        x0 = min([c.x0 for c in band])
        x1 = max([c.x1 for c in band])
        lines.append(Line(clean_chars(text).strip(), x0, x1, height - top, height - bottom,
                          size_list[len(size_list) // 2]))
    return [ln for ln in lines if ln.text]


def _attach_mark(c: Glyph, bands: list[list]) -> None:
    """Put a vowel mark or superscript into the nearest band that has a glyph under it
    (or else into the nearest band); the first such band on a tie."""
    mid = c.mid
    xc = c.centre

    def distance(b: list) -> float:
        top, bottom = b[0], b[1]
        return 0 if top <= mid <= bottom else min(abs(mid - top), abs(mid - bottom))

    # Nearest first (band order on ties): the first band with a glyph under the mark is
    # the nearest of those, as a scan of all of them would find.
    order = sorted(range(len(bands)), key=lambda i: (distance(bands[i]), i))
    for i in order:
        if any(o.x0 <= xc <= o.x1 for o in bands[i][2]):
            bands[i][2].append(c)
            return
    bands[order[0]][2].append(c)


def _table_rows(table, chars: list[Glyph], height: float, typical: float) -> list[Line]:  # noqa: ANN001
    """One line per table row: its cells right to left, each cell's lines joined."""
    import numpy as np

    n = len(chars)
    x0s = np.fromiter((c.x0 for c in chars), float, n)
    x1s = np.fromiter((c.x1 for c in chars), float, n)
    tops = np.fromiter((c.top for c in chars), float, n)
    bottoms = np.fromiter((c.bottom for c in chars), float, n)
    rows: list[Line] = []
    for row in table.rows:
        cells = [c for c in row.cells if c is not None]
        texts = []
        for cx0, ctop, cx1, cbottom in sorted(cells, key=lambda c: -c[0]):
            hit = (cx0 - 1 <= x0s) & (x1s <= cx1 + 1) & (ctop - 1 <= tops) & (bottoms <= cbottom + 1)
            inner = [chars[i] for i in np.flatnonzero(hit).tolist()]
            text = ""
            for ln in _band_lines(inner, height, typical, in_cell=True):
                text = join_lines(text, ln.text)
            if text:
                texts.append(text)
        if texts and cells:
            _x0, rtop, _x1, rbottom = row.bbox
            # The row's box is narrowed to its first cell so that it reads as a short
            # line: one paragraph per row.
            first = max(cells, key=lambda c: c[0])
            rows.append(Line(" ".join(texts), first[0], first[2], height - rtop, height - rbottom, typical))
    return rows


# --- OCR ------------------------------------------------------------------------------------

# Tesseract packs per script, tried after a first pass with the Latin packs when the
# first pass's output says the page is in another script.
_SCRIPT_PACKS = {"Arabic": "ara", "Cyrillic": "rus", "Han": "chi_sim"}
_LATIN_PACKS = ("eng", "fra", "spa")


def ocr_page(page, *, dpi: int, languages: str) -> str:  # noqa: ANN001
    """OCR one page image with Tesseract: a fast Latin pass, then the script's own pack.

    Running all six packs at once is slow and less accurate than the right one, so a
    first pass with the configured Latin packs guesses the script; a page that looks
    Arabic, Cyrillic or Chinese is read again with that pack only.
    """
    import pytesseract

    from pipeline.textutil import script_counts

    # Tesseract's OpenMP threads fight over the cores that the other workers use:
    # one thread per page is 2-3 times faster on a busy machine (this runs in the
    # file's own child process, so the setting goes with it).
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    image = page.render(scale=dpi / 72).to_pil()
    allowed = languages.split("+")
    latin = "+".join(p for p in _LATIN_PACKS if p in allowed) or allowed[0]
    text = pytesseract.image_to_string(image, lang=latin)
    counts = script_counts(text)
    pack = None
    letters = sum(counts.values())
    if letters:
        script, n = counts.most_common(1)[0]
        # Tesseract's Latin models turn Arabic, Cyrillic and Han into garbage Latin
        # letters mixed with odd symbols; few real words mean the script is wrong.
        if script in _SCRIPT_PACKS:
            pack = _SCRIPT_PACKS[script]
        elif _looks_garbled(text):
            pack = _guess_pack(image, allowed, pytesseract)
    elif text.strip() == "" or _looks_garbled(text):
        pack = _guess_pack(image, allowed, pytesseract)
    if pack and pack in allowed:
        text = pytesseract.image_to_string(image, lang=pack)
    return text


def _looks_garbled(text: str) -> bool:
    words = text.split()
    if not words:
        return True
    good = sum(1 for w in words if w.isalpha() and len(w) > 1)
    return good / len(words) < 0.5


def _guess_pack(image, allowed: list[str], pytesseract) -> str | None:  # noqa: ANN001
    """Ask Tesseract's script detector (OSD) which script the page is in."""
    try:
        osd = pytesseract.image_to_osd(image, output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractError:
        return None
    script = str(osd.get("script", ""))
    pack = {"Arabic": "ara", "Cyrillic": "rus", "Han": "chi_sim", "HanS": "chi_sim"}.get(script)
    return pack if pack in allowed else None
