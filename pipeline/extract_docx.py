"""DOCX text extraction with python-docx, guarded against zip bombs and XML entities.

The body is read in document order: paragraphs and the cells of tables (row by row,
each cell once even when merged). Headers and footers are running text and are left
out; footnotes, when the file has them, follow the body. A DOCX has no fixed pages: it
is one page unless the author put explicit page breaks in, and then each break starts
a new page (``n_pages`` still comes from ``docProps/app.xml``, Word's own count, when
present).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.extract_pdf import ExtractionError
from pipeline.textnorm import clean_chars

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# A DOCX member inflating beyond this ratio, or the whole archive beyond the limit,
# is treated as a decompression bomb before anything is parsed.
_MAX_RATIO = 200


@dataclass
class DocxResult:
    pages: list[list[str]]  # paragraphs per page
    n_pages: int
    footnotes: list[str]


def check_zip(path: Path, *, max_bytes: int) -> None:
    """Refuse archives whose members would inflate past ``max_bytes`` or by a bomb ratio."""
    try:
        with zipfile.ZipFile(path) as zf:
            total = 0
            for info in zf.infolist():
                total += info.file_size
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > 10_000_000 and ratio > _MAX_RATIO:
                    raise ExtractionError(
                        "too_large",
                        f"DOCX member {info.filename!r} inflates {ratio:.0f}-fold (a zip bomb); "
                        "ask the respondent for a normal copy.",
                    )
            if total > max_bytes:
                raise ExtractionError(
                    "too_large",
                    f"DOCX unpacks to {total / 1e6:.0f} MB, more than the ingest.memory_mb budget allows; "
                    "ask for a smaller file or raise the limit.",
                )
    except zipfile.BadZipFile as exc:
        raise ExtractionError(
            "corrupt", f"DOCX archive is damaged ({exc}); ask the respondent to send the file again."
        ) from exc


def _safe_parser():  # noqa: ANN202
    from lxml import etree

    # No entity expansion, no network, no DTD loading: a hostile DOCX cannot read
    # local files (XXE) or blow up memory (billion laughs).
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def extract_docx(path: Path, *, max_bytes: int) -> DocxResult:
    """Paragraphs of a DOCX, split into pages at explicit page breaks.

    Raises:
        ExtractionError: corrupt archive, zip bomb, or an XML DOCTYPE (entity tricks).
    """
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    check_zip(path, max_bytes=max_bytes)
    # python-docx parses with resolve_entities=False (checked in the tests), so a
    # DOCTYPE with external or nested entities (XXE, billion laughs) is inert: the
    # references stay unexpanded and nothing outside the file is read.
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise ExtractionError(
            "corrupt",
            f"file looks like a DOCX but Word's document part is missing or broken ({exc}); "
            "ask the respondent to save it again.",
        ) from exc
    except Exception as exc:  # lxml and zip errors of damaged parts
        raise ExtractionError(
            "corrupt", f"DOCX cannot be parsed ({type(exc).__name__}: {exc}); ask for the file again."
        ) from exc

    pages: list[list[str]] = [[]]
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag
        if tag == f"{_W}p":
            text, breaks = _paragraph_text(child)
            for _ in range(breaks if pages[-1] or text else 0):
                pages.append([])
            if text:
                pages[-1].append(text)
        elif tag == f"{_W}tbl":
            pages[-1].extend(_table_paragraphs(child))
    pages = [p for p in pages if p] or [[]]
    n_pages = _app_pages(path) or len(pages)
    return DocxResult(pages=pages, n_pages=n_pages, footnotes=_footnotes(path))


def _paragraph_text(p) -> tuple[str, int]:  # noqa: ANN001
    """Text of a ``w:p`` (runs, tabs, line breaks) and the number of page breaks in it."""
    parts: list[str] = []
    breaks = 0
    for el in p.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr"):
        if el.tag == f"{_W}t":
            # Text nodes only: an unexpanded entity reference (a hostile DOCTYPE) is a
            # child node, and the text after it is that node's tail.
            parts.append("".join(el.xpath("text()")) if len(el) else (el.text or ""))
        elif el.tag == f"{_W}tab":
            parts.append(" ")
        elif el.tag == f"{_W}br" and el.get(f"{_W}type") == "page":
            breaks += 1
        elif el.tag in (f"{_W}br", f"{_W}cr"):
            parts.append(" ")
    # Paragraph-level page break before.
    ppr = p.find(f"{_W}pPr")
    if ppr is not None and ppr.find(f"{_W}pageBreakBefore") is not None:
        breaks += 1
    return " ".join(clean_chars("".join(parts)).split()), breaks


def _table_paragraphs(tbl) -> list[str]:  # noqa: ANN001
    """One paragraph per table row: its cells' texts in order, each merged cell once."""
    rows = []
    for tr in tbl.iter(f"{_W}tr"):
        cells: list[str] = []
        for tc in tr.iterchildren(f"{_W}tc"):
            texts = [_paragraph_text(p)[0] for p in tc.iterchildren(f"{_W}p")]
            cell = " ".join(t for t in texts if t)
            if cell and (not cells or cells[-1] != cell):
                cells.append(cell)
        if cells:
            rows.append(" ".join(cells))
    return rows


def _footnotes(path: Path) -> list[str]:
    from lxml import etree

    with zipfile.ZipFile(path) as zf:
        if "word/footnotes.xml" not in zf.namelist():
            return []
        data = zf.read("word/footnotes.xml")
    try:
        root = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError:
        return []
    out = []
    for fn in root.iterchildren(f"{_W}footnote"):
        if fn.get(f"{_W}type") in ("separator", "continuationSeparator", "continuationNotice"):
            continue
        texts = [_paragraph_text(p)[0] for p in fn.iter(f"{_W}p")]
        text = " ".join(t for t in texts if t).strip()
        if text:
            out.append(text)
    return out


_PAGES = re.compile(rb"<(?:\w+:)?Pages>\s*(\d+)\s*</(?:\w+:)?Pages>")


def _app_pages(path: Path) -> int | None:
    with zipfile.ZipFile(path) as zf:
        if "docProps/app.xml" not in zf.namelist():
            return None
        info = zf.getinfo("docProps/app.xml")
        if info.file_size > 1_000_000:
            return None
        m = _PAGES.search(zf.read(info))
    if m:
        n = int(m.group(1))
        return n if n > 0 else None
    return None
