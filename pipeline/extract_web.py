"""Web-form responses: plain text, Markdown and HTML, in whatever encoding they arrive.

Each becomes one page of paragraphs. Markup goes (Markdown front matter, shortcodes,
link targets, emphasis marks; HTML scripts, styles and tags), the words stay.
"""

from __future__ import annotations

import re

from pipeline.extract_pdf import ExtractionError
from pipeline.textnorm import is_cjk, paragraphs_from_plain

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode text of unknown encoding: BOM, then UTF-8, then charset-normalizer's guess.

    Returns:
        The text (BOM removed) and the encoding used.

    Raises:
        ExtractionError: the bytes are not text in any encoding (status ``unsupported``).
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(enc, errors="replace"), enc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ExtractionError(
            "unsupported",
            "file is neither text in a known encoding nor a supported document format; "
            "ask the respondent for PDF, DOCX or plain text.",
        )
    # On short texts the detector cannot tell Windows-1252 from its Central European
    # and ISO neighbours (they differ in a few letters); web forms and Windows editors
    # overwhelmingly produce cp1252, so it wins whenever the bytes are valid cp1252.
    if _single_byte_latin(best.encoding):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return str(best), best.encoding


def _single_byte_latin(encoding: str) -> bool:
    enc = encoding.lower().replace("-", "_")
    return enc.startswith(("cp125", "windows_125", "iso8859", "latin", "mac_")) and enc not in (
        "cp1251", "windows_1251", "cp1253", "cp1255", "cp1256", "iso8859_5", "iso8859_6", "iso8859_7", "iso8859_8")


# --- Markdown -----------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A(?:---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*\n|\+\+\+[ \t]*\n.*?\n\+\+\+[ \t]*\n)", re.S)
_TITLE = re.compile(r"^title:\s*[\"']?(.*?)[\"']?\s*$", re.M)
_SHORTCODE = re.compile(r"\{\{[<%].*?[%>]\}\}", re.S)
_LIQUID = re.compile(r"\{%.*?%\}", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\s*(?:\([^)]*\)|\[[^\]]*\])")
_REF_DEF = re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.M)
_AUTOLINK = re.compile(r"<(https?://[^>]+)>")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*(.*?)\s*#*\s*$", re.M)
_SETEXT = re.compile(r"^\s*(=+|-+)\s*$", re.M)
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.M)
_QUOTE = re.compile(r"^\s*>\s?", re.M)
_EMPH = re.compile(r"(\*{1,3}|_{2,3})(\S(?:.*?\S)?)\1")
_CODE_FENCE = re.compile(r"^\s*(```|~~~).*$", re.M)
_INLINE_CODE = re.compile(r"`([^`]*)`")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$", re.M)
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_HRULE = re.compile(r"^\s*(?:\*\s*){3,}$|^\s*(?:_\s*){3,}$", re.M)


def markdown_to_text(md: str) -> str:
    """Plain text of a Markdown document: the title from front matter, then the body.

    Headings, list items and table rows become their own paragraphs; link targets,
    images, shortcodes, emphasis marks and inline HTML are dropped.
    """
    md = md.replace("\r\n", "\n").replace("\r", "\n")
    title = ""
    m = _FRONT_MATTER.match(md)
    if m:
        t = _TITLE.search(m.group(0))
        title = t.group(1).strip() if t else ""
        md = md[m.end():]
    md = _SHORTCODE.sub("", md)
    md = _LIQUID.sub("", md)
    md = _REF_DEF.sub("", md)
    md = _IMAGE.sub("", md)
    md = _LINK.sub(r"\1", md)
    md = _AUTOLINK.sub("", md)
    md = _CODE_FENCE.sub("", md)
    md = _INLINE_CODE.sub(r"\1", md)
    md = _TABLE_RULE.sub("", md)
    md = _HRULE.sub("", md)
    md = _HTML_TAG.sub("", md)
    # Headings, list items and table rows stand alone: surround them with blank lines.
    md = _HEADING.sub(lambda h: "\n" + h.group(1) + "\n", md)
    md = _SETEXT.sub("\n", md)
    md = _LIST.sub("\n", md)
    md = _QUOTE.sub("", md)
    md = re.sub(r"^\s*\|(.*)\|\s*$", lambda r: "\n" + " ".join(
        c.strip() for c in r.group(1).split("|") if c.strip()) + "\n", md, flags=re.M)
    for _ in range(2):
        md = _EMPH.sub(r"\2", md)
    return (title + "\n\n" + md) if title else md


# --- HTML -----------------------------------------------------------------------------------

_BLOCK_TAGS = (
    "p", "div", "section", "article", "header", "footer", "main", "aside", "nav",
    "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "tr", "table", "blockquote",
    "pre", "title", "br", "hr", "ul", "ol", "dl", "form", "fieldset", "address", "figcaption",
)


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, block elements as paragraphs.

    Scripts, styles, templates and comments are dropped; whitespace inside a block is
    collapsed the way a browser does (no space is added between Chinese characters).
    """
    from bs4 import BeautifulSoup, Comment

    soup = BeautifulSoup(html, "lxml")
    title_tag = soup.find("title")
    title = _collapse(title_tag.get_text(" ")) if title_tag is not None else ""
    for tag in soup(["script", "style", "noscript", "template", "iframe", "object", "svg", "head", "title"]):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for tag in soup.find_all(["td", "th"]):
        tag.insert_after(" ")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    raw = soup.get_text()
    paras = []
    for block in re.split(r"\n\s*\n", raw):
        text = _collapse(block)
        if text:
            paras.append(text)
    # The page title usually repeats the first heading; keep it only when it does not.
    if title and not any(title in p for p in paras[:3]):
        paras.insert(0, title)
    return "\n\n".join(paras)


def _collapse(block: str) -> str:
    words = block.split()
    if not words:
        return ""
    out = words[0]
    for w in words[1:]:
        out += w if is_cjk(out[-1]) and is_cjk(w[0]) else " " + w
    return out


def extract_text_file(data: bytes, *, kind: str) -> list[str]:
    """Paragraphs of a TXT, Markdown or HTML response.

    Raises:
        ExtractionError: undecodable bytes.
    """
    text, _enc = decode_bytes(data)
    if kind == "html":
        text = html_to_text(text)
    elif kind == "md":
        text = markdown_to_text(text)
    return paragraphs_from_plain(text)
