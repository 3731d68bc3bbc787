"""Text clean-up shared by the ingestion extractors: characters, lines, paragraphs.

The PDF extractor hands over positioned lines per page; this module removes running
headers, footers and page numbers, puts two-column pages in reading order, joins
hyphenated line ends, rebuilds paragraphs across line and page breaks, and lays the
paragraphs out as one document text with segment offsets. Plain-text sources (TXT,
Markdown, HTML, OCR output) go through :func:`paragraphs_from_plain`.

Everything here is pure and deterministic (no I/O), so it can be property-tested.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# --- characters -----------------------------------------------------------------------

# Control and format characters that carry no text: soft hyphen, zero-width spaces and
# joiners outside Arabic/Indic shaping, BOM, and the C0/C1 controls except tab/newline.
# pdfium reports a hyphen it found at a line end as U+0002; it is handled before this.
_DROP = dict.fromkeys(
    [0x00AD, 0x200B, 0x2060, 0xFEFF, 0x180E]
    + [c for c in range(0x00, 0x20) if c not in (0x09, 0x0A)]
    + list(range(0x7F, 0xA0))
)
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
# Bidi controls: the text is stored in logical order already, these only steer display.
_BIDI = [0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
# Both deletions in one table, and a search that tells whether it has anything to do
# (most lines have nothing to drop; a search is ten times cheaper than a translate).
_DROP_ALL = {**_DROP, **dict.fromkeys(_BIDI)}
_DROPPABLE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_DROP_ALL)) + "]")
# What _SPACES would change: a space other than U+0020, or two in a row.
_SPACES_TO_FOLD = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]|  ")


@functools.cache
def compat_table() -> dict[int, str]:
    """NFKC for letters only: ligatures, presentation forms, full-width Latin letters.

    Punctuation, digits and symbols keep their form: NFKC would turn Chinese full-width
    commas into ASCII ones, "…" into "..." and "½" into "1⁄2", which is not what the
    respondent wrote.

    Built on first use (30-100 ms): a re-run that takes every file from the cache
    never needs it. Ingestion builds it before it forks its workers and extraction
    children (:func:`pipeline.ingest._preload`), so they inherit it.
    """
    table: dict[int, str] = {}
    for cp in range(0xA0, 0x30000):
        ch = chr(cp)
        if not unicodedata.decomposition(ch).startswith("<"):
            continue
        presentation = 0xFB00 <= cp <= 0xFDFF or 0xFE70 <= cp <= 0xFEFF
        if presentation or unicodedata.category(ch).startswith("L"):
            table[cp] = unicodedata.normalize("NFKC", ch)
    return table


def clean_chars(text: str) -> str:
    """Normalise one piece of extracted text without changing its words.

    Letters are compatibility-normalised (ligatures such as ``ﬁ``, full-width Latin,
    Arabic presentation forms to their base letters), then composed (NFC); soft
    hyphens, zero-width and control characters are dropped and runs of spaces become
    one space. Newlines are kept.
    """
    # Drop invisible characters first: a soft hyphen between a letter and its combining
    # accent would otherwise keep NFC from composing them (and a second pass would).
    # Each step runs only where it changes something (this runs on every extracted line):
    if _DROPPABLE.search(text):
        text = text.translate(_DROP_ALL)
    if not text.isascii():  # no ASCII character has a compatibility or NFC mapping
        # A text already in NFKC holds no character that has a compatibility
        # decomposition (NFKC never recomposes one), so the table would change nothing.
        if not unicodedata.is_normalized("NFKC", text):
            text = text.translate(compat_table())
        text = unicodedata.normalize("NFC", text)
    return _SPACES.sub(" ", text) if _SPACES_TO_FOLD.search(text) else text


def is_cjk(ch: str) -> bool:
    """True for Han, kana, hangul and CJK punctuation: scripts written without spaces."""
    cp = ord(ch)
    return (
        0x2E80 <= cp <= 0x9FFF
        or 0xAC00 <= cp <= 0xD7AF
        or 0xF900 <= cp <= 0xFAFF
        or 0xFF00 <= cp <= 0xFF60
        or 0x20000 <= cp <= 0x2FA1F
    )


_RTL_CHARS = re.compile("[\u0590-\u08ff\ufb1d-\ufefc]")
_LETTERS = re.compile(r"[^\W\d_]")


def is_rtl_text(text: str) -> bool:
    """True when most letters are Arabic or Hebrew (the line reads right to left)."""
    rtl = len(_RTL_CHARS.findall(text))
    if not rtl:
        return False
    # More than half of all characters: more than half of the letters too, uncounted.
    return rtl * 2 > len(text) or rtl * 2 > len(_LETTERS.findall(text))


TERMINAL = tuple(".!?…:;。！？；：؟؛»\"”)」』")


def ends_sentence(text: str) -> bool:
    """True when ``text`` ends with sentence-final punctuation (in any of the scripts)."""
    text = text.rstrip()
    return bool(text) and text.endswith(TERMINAL)


# --- joining lines ----------------------------------------------------------------------

# Where PDFium saw a hyphen at a line end (it reports U+0002, or joins the two lines and
# leaves U+FFFE); a private-use character until the hyphen question is settled.
BREAK = "\ue000"
_HYPHENS = "-\u2010\u2011" + BREAK
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_SPLIT_WORD = re.compile("[^\\W\\d_]*" + BREAK + "[^\\W\\d_]*")
_FIRST_WORD = re.compile(r"^\s*[^\W\d_]+")
_LAST_WORD = re.compile(r"[^\W\d_]+[" + _HYPHENS + r"]$")
_HYPHEN_ENDS = tuple(_HYPHENS)


@dataclass(frozen=True)
class Hyphenation:
    """What a document's own words say about hyphens at line ends.

    A line-end hyphen between a stem and a lower-case tail is dropped (hyphenation,
    ``commu-`` + ``nication``) unless the document shows the compound elsewhere with its
    hyphen (``cross-border``), or the stem is one letter (``e-waste``), or both halves are
    words the document uses on their own and the joined form is not (``low-earth``).
    """

    hyphenated: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> Hyphenation:
        kept: list[str] = []
        after_hyphen = False
        for text in texts:
            # The halves of a word split at a line end are not words of their own.
            if BREAK in text:
                text = _SPLIT_WORD.sub(" ", text)
            if after_hyphen:
                text = _FIRST_WORD.sub(" ", text, count=1)
            stripped = text.rstrip()
            after_hyphen = stripped.endswith(_HYPHEN_ENDS)
            if after_hyphen:
                text = _LAST_WORD.sub(" ", stripped, count=1)
            kept.append(text)
        # One search over all lines (no word runs over the newline between them).
        found = {w.lower() for w in _WORD.findall("\n".join(kept))}
        hyphenated = {w for w in found if "-" in w}
        words = found - hyphenated
        for w in hyphenated:
            words.update(w.split("-"))
        return cls(frozenset(hyphenated), frozenset(words))

    def keep(self, stem: str, tail: str) -> bool:
        """True when ``stem`` + ``-`` + ``tail`` is a real compound."""
        s, t = stem.lower(), tail.lower()
        if f"{s}-{t}" in self.hyphenated or len(s) == 1:
            return True
        if s + t in self.words:
            return False
        return len(t) > 2 and s in self.words and t in self.words


_NO_HYPHENATION = Hyphenation()
_STEM = re.compile(r"([^\W\d_]+)$")
_TAIL = re.compile(r"^([^\W\d_]+)")


def _join_at_hyphen(left: str, right: str, hyph: Hyphenation) -> str:
    """Join ``left`` (its hyphen already removed) and ``right`` at a line-end hyphen."""
    stem = _STEM.search(left)
    tail = _TAIL.match(right)
    # Only a lower-case continuation is a word broken by hyphenation; before a capital,
    # digit or caseless letter ("ITU-" + "D", "COVID-" + "19") the hyphen is real, even
    # where PDFium marked it as soft.
    if stem and tail and right[0].islower() and not hyph.keep(stem.group(1), tail.group(1)):
        return left + right
    return left + "-" + right


def resolve_breaks(text: str, hyph: Hyphenation = _NO_HYPHENATION) -> str:
    """Settle hyphen markers PDFium left inside a line (it joined the two halves)."""
    while BREAK in text:
        i = text.index(BREAK)
        text = _join_at_hyphen(text[:i], text[i + 1:].lstrip(), hyph)
    return text


def join_lines(prev: str, nxt: str, *, hyph: Hyphenation = _NO_HYPHENATION) -> str:
    """Join two consecutive lines of one paragraph.

    A line ending in letter + hyphen followed by a lower-case letter is a word broken by
    hyphenation: the hyphen goes (``commu-`` + ``nication``), unless ``hyph`` says the
    compound is real (``e-waste``, ``cross-border``); an upper-case continuation keeps
    it (``ITU-`` + ``D``). Lines of Chinese or Japanese join without a space.
    """
    prev = prev.rstrip()
    nxt = nxt.lstrip()
    if not prev:
        return nxt
    if not nxt:
        return prev
    if prev[-1] in _HYPHENS and len(prev) > 1 and prev[-2].isalpha():
        return _join_at_hyphen(prev[:-1], nxt, hyph)
    if is_cjk(prev[-1]) and is_cjk(nxt[0]):
        return prev + nxt
    return prev + " " + nxt


# --- positioned lines (PDF) -------------------------------------------------------------


@dataclass
class Line:
    """One text line of a PDF page, in PDF points with the origin at the bottom left."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float = 0.0  # font size in points (0 when unknown)

    @property
    def height(self) -> float:
        return max(self.top - self.bottom, 0.1)


@dataclass
class PageLines:
    """The lines of one page in reading order, with the page's size."""

    lines: list[Line]
    width: float
    height: float
    ocr_text: str | None = None  # set when the page was OCRed instead
    footnotes: list[str] = field(default_factory=list)


_DIGITS = re.compile(r"\d+")
_PAGE_NO = re.compile(
    r"^\s*(?:[-–—]?\s*\d{1,4}\s*[-–—]?|(?:page|p\.|página|pág\.|стр\.|страница|الصفحة|صفحة|第)?\s*"
    r"\d{1,4}\s*(?:/|of|de|sur|из|من|页)\s*\d{1,4}\s*页?|[ivxlcdm]{1,6})\s*$",
    re.IGNORECASE,
)


def _line_key(text: str) -> str:
    return _DIGITS.sub("#", " ".join(text.lower().split()))


def remove_running_lines(pages: list[PageLines], *, band: int = 3) -> list[PageLines]:
    """Drop repeated headers/footers and page numbers.

    A line among the first or last ``band`` lines of a page (by position) is running
    text when the same text, digits folded, sits near the same height on at least half
    of the pages (and at least two). A line that is only a page number ("3", "- 3 -",
    "3 / 12", "Page 3 of 12") at the top or bottom of a page goes too, even in a
    one-page document.
    """
    text_pages = [p for p in pages if p.lines]
    counts: Counter[tuple[str, str, int]] = Counter()
    for page in text_pages:
        for where, line in _edge_lines(page, band):
            counts[(where, _line_key(line.text), round(_rel_y(page, line) * 20))] += 1
    need = max(2, (len(text_pages) + 1) // 2)
    single = len(text_pages) == 1
    out = []
    for page in pages:
        if not page.lines:
            out.append(page)
            continue
        drop: set[int] = set()
        for where, line in _edge_lines(page, band):
            y = round(_rel_y(page, line) * 20)
            key = _line_key(line.text)
            seen = sum(counts[(where, key, yy)] for yy in (y - 1, y, y + 1))
            # A one-page document repeats nothing; its letterhead is what sits in the
            # top margin band.
            in_header = single and where == "top" and _rel_y(page, line) > 0.94
            if (not single and seen >= need) or _PAGE_NO.match(line.text) or in_header:
                drop.add(id(line))
        kept = [ln for ln in page.lines if id(ln) not in drop]
        out.append(PageLines(kept, page.width, page.height, page.ocr_text, page.footnotes))
    return out


def _rel_y(page: PageLines, line: Line) -> float:
    return line.top / page.height if page.height else 0.0


def _edge_lines(page: PageLines, band: int) -> list[tuple[str, Line]]:
    by_y = sorted(page.lines, key=lambda ln: -ln.top)
    top = [("top", ln) for ln in by_y[:band]]
    bottom = [("bottom", ln) for ln in by_y[-band:]] if len(by_y) > band else []
    return top + bottom


def order_columns(page: PageLines) -> PageLines:
    """Put a two-column page in reading order: left column, then right column.

    The gutter is a vertical band of the page that no line crosses while many lines
    sit wholly on each side of it. Lines spanning the gutter (titles, full-width
    paragraphs) split the page into bands read top to bottom; inside a band the left
    column is read before the right one. Pages without a gutter keep their order.
    """
    lines = page.lines
    if len(lines) < 6 or page.width <= 0:
        return page
    gutter = _find_gutter(lines, page.width)
    if gutter is None:
        return page
    g0, g1 = gutter
    ordered: list[Line] = []
    left: list[Line] = []
    right: list[Line] = []

    def flush() -> None:
        # Top to bottom; lines on one level (a table's cells) left to right.
        ordered.extend(sorted(left, key=lambda ln: (-round(ln.top), ln.x0)))
        ordered.extend(sorted(right, key=lambda ln: (-round(ln.top), ln.x0)))
        left.clear()
        right.clear()

    for line in sorted(lines, key=lambda ln: (-round(ln.top), ln.x0)):
        if line.x1 <= g1 and line.x0 < g0:
            left.append(line)
        elif line.x0 >= g0 and line.x1 > g1:
            right.append(line)
        else:
            flush()
            ordered.append(line)
    flush()
    return PageLines(ordered, page.width, page.height, page.ocr_text, page.footnotes)


def _find_gutter(lines: list[Line], width: float) -> tuple[float, float] | None:
    step = width / 100
    # How many lines cover each hundredth of the width: +1 where a line starts, -1
    # after it ends, summed from the left.
    delta = [0] * 101
    for ln in lines:
        lo, hi = max(int(ln.x0 / step), 0), min(int(ln.x1 / step) + 1, 100)
        if lo < hi:
            delta[lo] += 1
            delta[hi] -= 1
    cover = list(itertools.accumulate(delta[:100]))
    # Search the middle of the page for an uncovered band at least 1% wide.
    best = None
    i = 30
    while i < 70:
        if cover[i] == 0:
            j = i
            while j < 70 and cover[j] == 0:
                j += 1
            if best is None or (j - i) > (best[1] - best[0]):
                best = (i, j)
            i = j
        i += 1
    if best is None:
        return None
    g0, g1 = best[0] * step, best[1] * step
    left = [ln for ln in lines if ln.x1 <= g0 + step and ln.x0 < g0]
    right = [ln for ln in lines if ln.x0 >= g1 - step]
    if len(left) < 3 or len(right) < 3:
        return None
    # Columns of running text hold most of their text in full lines; a table's cells
    # mostly do not, and a table is read row by row, as PDFium already does. Counted in
    # characters, so that a small table inside a column does not hide the column.
    for side in (left, right):
        x0 = min(ln.x0 for ln in side)
        x1 = max(ln.x1 for ln in side)
        full = sum(len(ln.text) for ln in side if ln.x1 - ln.x0 >= 0.8 * (x1 - x0))
        if full < 0.5 * sum(len(ln.text) for ln in side):
            return None
    return g0, g1


# --- paragraphs ---------------------------------------------------------------------------


@dataclass
class Para:
    """A paragraph of one page.

    ``open_end`` when its last line runs to the margin (it may go on over the page
    break); ``is_note`` for a footnote, which the document text puts after the body.
    """

    text: str
    open_end: bool = False
    is_note: bool = False


_NOTE_NUMBER = re.compile(r"^\s*(\d{1,3})[.)]?\s*")


def split_footnotes(page: PageLines) -> PageLines:
    """Move the footnotes at the foot of a page out of its lines.

    Footnotes are the lowest lines of the page set in a clearly smaller font than the
    body, the first of them starting with its number. Each footnote loses its number.
    """
    lines = page.lines
    sized = [ln for ln in lines if ln.size > 0]
    if len(sized) < 4:
        return page
    weights = sorted((ln.size, len(ln.text)) for ln in sized)
    half, acc, body_size = sum(w for _, w in weights) / 2, 0, weights[-1][0]
    for size, w in weights:
        acc += w
        if acc >= half:
            body_size = size
            break
    by_y = sorted(lines, key=lambda ln: ln.top)  # lowest first
    block: list[Line] = []
    for ln in by_y:
        # A footnote's number may sit on its own line (a raised glyph set apart).
        if 0 < ln.size < 0.88 * body_size or (block and _NOTE_NUMBER.fullmatch(ln.text)):
            block.append(ln)
        else:
            break
    block.sort(key=lambda ln: -ln.top)
    while block and not _NOTE_NUMBER.match(block[0].text):
        block.pop(0)
    if not block:
        return page
    notes: list[str] = []
    for ln in block:
        m = _NOTE_NUMBER.match(ln.text)
        if m or not notes:
            notes.append(ln.text[m.end():] if m else ln.text)
        else:
            notes[-1] = join_lines(notes[-1], ln.text)
    gone = {id(ln) for ln in block}
    kept = [ln for ln in lines if id(ln) not in gone]
    return PageLines(kept, page.width, page.height, page.ocr_text, page.footnotes + notes)


_BULLET = re.compile("^[\u2022\u25cf\u25aa\u25a0\u25e6\u2023\u2043\u2219\u00b7\uf0b7\uf0a7\uf0d8\uf076\uf0fc\u27a2\u2713\u2714\u25ba]" r"\s*")


def strip_bullet(text: str) -> str:
    """A list item's text without its bullet glyph (symbol fonts give private-use ones)."""
    return _BULLET.sub("", text, count=1)


def page_paragraphs(page: PageLines, *, hyph: Hyphenation = _NO_HYPHENATION) -> list[Para]:
    """Group the lines of one page into paragraphs, then its footnotes.

    A new paragraph starts after a vertical gap clearly wider than the page's usual line
    pitch, after a line that stops well short of the column's margin (the end of a
    paragraph, a heading, a table cell), at a line that moves up the page (a new column
    or block), or at a bulleted line.
    """
    if page.ocr_text is not None:
        return [Para(p) for p in paragraphs_from_plain(page.ocr_text, hyph=hyph)]
    lines = [ln for ln in page.lines if ln.text.strip()]
    notes = [Para(resolve_breaks(n, hyph).strip(), is_note=True) for n in page.footnotes]
    if not lines:
        return notes
    pitches = [
        a.bottom - b.bottom
        for a, b in zip(lines, lines[1:], strict=False)
        if 0 < a.bottom - b.bottom < 3 * a.height
    ]
    pitch = sorted(pitches)[len(pitches) // 2] if pitches else lines[0].height * 1.2
    column_of = _columns(lines, page.width)

    paras: list[Para] = []
    cur: list[str] = []

    def close(open_end: bool) -> None:
        if cur:
            text = cur[0]
            for nxt in cur[1:]:
                text = join_lines(text, nxt, hyph=hyph)
            text = strip_bullet(resolve_breaks(text, hyph).rstrip(BREAK)).strip()
            if text:
                paras.append(Para(text, open_end))
            cur.clear()

    prev: Line | None = None
    prev_short = False
    prev_col = -1
    for line in lines:
        col, width = column_of(line)
        if prev is not None:
            gap = prev.bottom - line.bottom
            # A paragraph that fills the foot of the left column goes on at the head
            # of the right one.
            next_column = col == 1 and prev_col == 0 and not prev_short
            new_block = (gap < -0.5 * line.height and not next_column) or gap > 1.45 * pitch
            # A change of type size is a heading, a caption or a table, not running text.
            resized = prev.size > 0 and line.size > 0 and abs(prev.size - line.size) > 0.15 * max(prev.size, line.size)
            if new_block or resized or prev_short or _BULLET.match(line.text):
                close(False)
        cur.append(line.text)
        # A line shorter than 85% of its column ends a paragraph (or is a heading, a
        # table cell, a centred or right-aligned line).
        prev_short = (line.x1 - line.x0) < 0.85 * width
        prev, prev_col = line, col
    close(not prev_short)
    return paras + notes


def _columns(lines: list[Line], page_width: float) -> Callable[[Line], tuple[int, float]]:
    """Per line, its column (0 left, 1 right, -1 the whole text block) and that column's
    width. On a two-column page (the gutter ``order_columns`` reads by) a full line of
    a column is as wide as the column, not the page: measured against the page, every
    column line would look like a paragraph's short last line."""
    left = min(ln.x0 for ln in lines)
    right = max(ln.x1 for ln in lines)
    full = max(right - left, 1.0)
    gutter = _find_gutter(lines, page_width) if len(lines) >= 6 and page_width > 0 else None
    if gutter is None:
        return lambda _line: (-1, full)
    g0, g1 = gutter
    in_left = [ln for ln in lines if ln.x1 <= g1 and ln.x0 < g0]
    in_right = [ln for ln in lines if ln.x0 >= g0 and ln.x1 > g1]
    left_w = max(max(ln.x1 for ln in in_left) - left, 1.0) if in_left else full
    right_w = max(right - min(ln.x0 for ln in in_right), 1.0) if in_right else full

    def column(line: Line) -> tuple[int, float]:
        if line.x1 <= g1 and line.x0 < g0:
            return 0, left_w
        if line.x0 >= g0 and line.x1 > g1:
            return 1, right_w
        return -1, full

    return column


_PLAIN_BREAK = re.compile(r"\n[ \t]*\n+")


def paragraphs_from_plain(text: str, *, hyph: Hyphenation | None = None) -> list[str]:
    """Paragraphs of plain text: blocks separated by blank lines, lines joined.

    Used for TXT, Markdown and HTML renderings and for OCR output.
    """
    text = clean_chars(text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks = _PLAIN_BREAK.split(text)
    if hyph is None:
        hyph = Hyphenation.from_texts(text.split("\n"))
    out = []
    for block in blocks:
        lines = [ln.strip() for ln in block.split("\n") if ln.strip()]
        if not lines:
            continue
        para = lines[0]
        for nxt in lines[1:]:
            para = join_lines(para, nxt, hyph=hyph)
        para = para.strip()
        if para:
            out.append(para)
    return out


def merge_pages(pages: list[list[Para]]) -> list[tuple[int, str]]:
    """Body paragraphs with those that run over a page break joined: (page_no, text).

    The last paragraph of a page continues on the next page when it does not end a
    sentence and either its last line runs to the margin or the next page's first
    paragraph starts in lower case. Footnotes are left out (see :func:`layout_document`).
    """
    out: list[tuple[int, str]] = []
    carry: Para | None = None
    for page_no, page in enumerate(pages, start=1):
        body = [p for p in page if not p.is_note]
        for i, para in enumerate(body):
            if (
                i == 0
                and carry is not None
                and out
                and not ends_sentence(carry.text)
                and (carry.open_end or para.text[:1].islower())
            ):
                start, text = out[-1]
                out[-1] = (start, join_lines(text, para.text))
            else:
                out.append((page_no, para.text))
        if body:
            carry = body[-1]
    return out


# --- document layout ----------------------------------------------------------------------


@dataclass
class Layout:
    """A document's text, its paragraphs as (page_no, char_start, char_end), page texts."""

    text: str
    segments: list[tuple[int, int, int]]
    page_texts: list[str]


def layout_document(pages: list[list[Para]]) -> Layout:
    """Lay paragraphs out as one text, paragraphs separated by a blank line.

    Body paragraphs come first (joined across page breaks), then the footnotes in page
    order, each with the page it sits on. ``text[start:end]`` of every segment is
    exactly the paragraph's text.
    """
    merged = merge_pages(pages)
    merged += [(no, p.text) for no, page in enumerate(pages, start=1) for p in page if p.is_note]
    parts: list[str] = []
    segments: list[tuple[int, int, int]] = []
    pos = 0
    for page_no, para in merged:
        if not para:
            continue
        if parts:
            pos += 2
        segments.append((page_no, pos, pos + len(para)))
        parts.append(para)
        pos += len(para)
    page_texts = ["\n\n".join(p.text for p in page if p.text) for page in pages]
    return Layout("\n\n".join(parts), segments, page_texts)
