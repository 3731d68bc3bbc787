"""What a file really is, from its first bytes rather than its name.

Respondents rename files, and web forms save whatever arrives under the name given.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

# Names of the formats, as the manifest reports them.
KIND_NAMES = {
    "pdf": "PDF",
    "docx": "Word DOCX",
    "txt": "plain text",
    "md": "Markdown",
    "html": "HTML",
    "zip": "ZIP archive",
    "odt": "OpenDocument text",
    "doc": "legacy Word 97-2003 (.doc/OLE)",
    "rtf": "RTF",
    "image": "image",
    "binary": "binary data",
    "empty": "empty file",
}

_TEXT_EXT = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md",
             ".html": "html", ".htm": "html", ".xhtml": "html"}


def sniff(path: Path, head: bytes) -> str:
    """The kind of a file from its magic bytes (and its extension only for text).

    Returns one of the keys of ``KIND_NAMES``. A ZIP is a DOCX when it holds
    ``word/document.xml``, whatever its name.
    """
    if not head:
        return "empty"
    # PDF readers accept the header anywhere in the first KiB.
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(path)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "doc"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*")):
        return "image"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in head[:2048].lower():
        if stripped.startswith(b"<?xml") and b"<html" not in head[:4096].lower():
            return "binary"
        return "html"
    if _looks_binary(head):
        return "binary"
    ext = path.suffix.lower()
    if ext in _TEXT_EXT:
        return _TEXT_EXT[ext]
    if b"<body" in head.lower() or b"<p>" in head.lower():
        return "html"
    return "txt"


def _looks_binary(head: bytes) -> bool:
    # UTF-16/32 text has NULs but starts with a BOM.
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    sample = head[:4096]
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return control > len(sample) * 0.05


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "word/document.xml" in names:
                return "docx"
            if "mimetype" in names:
                mime = zf.read("mimetype")[:100]
                if b"opendocument.text" in mime:
                    return "odt"
    except (zipfile.BadZipFile, OSError, KeyError):
        return "zip"
    return "zip"
