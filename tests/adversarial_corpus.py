"""Build the adversarial corpus: hostile and broken inputs that real inboxes receive.

Nothing is downloaded: every file is made here, deterministically, with pikepdf,
python-docx and the standard library. ``build_adversarial_corpus(dest)`` returns, for
each file, the manifest statuses that count as a correct, specific answer.

Run it by hand to look at the files: ``.venv/bin/python tests/adversarial_corpus.py DIR``.
"""

from __future__ import annotations

import io
import random
import sys
import zipfile
import zlib
from pathlib import Path

import pikepdf
from docx import Document

GOOD_TEXT = (
    "Response to the open consultation on expanding Internet connectivity. "
    "Community networks and Internet exchange points lower the cost of access in "
    "remote and under-served areas."
)


def _text_pdf(lines: list[str], *, n_pages: int = 1) -> bytes:
    """A small born-digital PDF with real text in a standard Type 1 font."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica,
            Encoding=pikepdf.Name.WinAnsiEncoding,
        )
    )
    for page_no in range(n_pages):
        ops = ["BT /F1 11 Tf 72 760 Td 14 TL"]
        for line in lines + [f"Page {page_no + 1}"]:
            safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({safe}) Tj T*")
        ops.append("ET")
        page = pdf.add_blank_page(page_size=(595, 842))
        page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.Contents = pdf.make_stream("\n".join(ops).encode("latin-1"))
    buf = io.BytesIO()
    pdf.save(buf, deterministic_id=True)
    return buf.getvalue()


def _wrap_lines(text: str, width: int = 80) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if len(cur) + len(w) + 1 > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return lines + [cur]


def _bomb_stream_bytes(expanded_mb: int) -> bytes:
    """A Flate stream that inflates to ``expanded_mb`` MiB of zeros from a few MiB.

    After a full flush the deflate state resets, so the same compressed chunk can be
    repeated: the first chunk carries the zlib header, the rest are identical. The stream
    has no final block, as a truncated upload would not.
    """
    comp = zlib.compressobj(9)
    zeros = b"\0" * (1 << 20)
    first = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    repeat = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    return first + repeat * (expanded_mb - 1)


def _bomb_pdf(expanded_mb: int) -> bytes:
    pdf = pikepdf.Pdf.open(io.BytesIO(_text_pdf(_wrap_lines(GOOD_TEXT))))
    page = pdf.pages[0]
    data = _bomb_stream_bytes(expanded_mb)
    stream = pikepdf.Stream(pdf, data)
    stream.Filter = pikepdf.Name.FlateDecode
    page.obj.Contents = pikepdf.Array([page.obj.Contents, stream])
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False, deterministic_id=True)
    return buf.getvalue()


def _huge_image_pdf(megabytes: int) -> bytes:
    """One page whose only content is an image of ``megabytes`` MB of raw RGB data."""
    side = int((megabytes * 1_000_000 / 3) ** 0.5)
    raw_len = side * side * 3
    comp = zlib.compressobj(1)
    step = 1 << 22
    parts = [comp.compress(b"\xff" * min(step, raw_len - i)) for i in range(0, raw_len, step)]
    data = b"".join(parts) + comp.flush()
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    image = pikepdf.Stream(pdf, data)
    image.Type = pikepdf.Name.XObject
    image.Subtype = pikepdf.Name.Image
    image.Width = side
    image.Height = side
    image.ColorSpace = pikepdf.Name.DeviceRGB
    image.BitsPerComponent = 8
    image.Filter = pikepdf.Name.FlateDecode
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False, deterministic_id=True)
    return buf.getvalue()


def _nested_pdf(depth: int) -> bytes:
    """A PDF whose page carries an object nested ``depth`` arrays deep (parsers recurse)."""
    base = _text_pdf(_wrap_lines(GOOD_TEXT))
    nested = b"[" * depth + b"]" * depth
    marker = b"/Type /Page"
    return base.replace(marker, marker + b" /Deep " + nested, 1)


def _active_content_pdf() -> bytes:
    pdf = pikepdf.Pdf.open(io.BytesIO(_text_pdf(_wrap_lines(GOOD_TEXT))))
    js = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('pwned');"))
    launch = pikepdf.Dictionary(
        S=pikepdf.Name.Launch, F=pikepdf.String("/bin/sh"), Win=pikepdf.Dictionary(F=pikepdf.String("cmd.exe"))
    )
    pdf.Root.OpenAction = pdf.make_indirect(js)
    pdf.pages[0].obj.AA = pikepdf.Dictionary(O=pdf.make_indirect(launch))
    buf = io.BytesIO()
    pdf.save(buf, deterministic_id=True)
    return buf.getvalue()


def _no_tounicode_pdf() -> bytes:
    """Text drawn with a font whose custom encoding maps codes to unrelated glyph names and
    has no ToUnicode map: the codes extract as the wrong letters."""
    pdf = pikepdf.Pdf.open(io.BytesIO(_text_pdf(_wrap_lines(GOOD_TEXT))))
    font = pdf.pages[0].Resources.Font.F1
    diffs = [65]
    shifted = "bcdefghijklmnopqrstuvwxyza"
    diffs += [pikepdf.Name("/" + ch) for ch in shifted.upper()]
    diffs += [97] + [pikepdf.Name("/" + ch) for ch in shifted]
    font.Encoding = pikepdf.Dictionary(Type=pikepdf.Name.Encoding, Differences=pikepdf.Array(diffs))
    buf = io.BytesIO()
    pdf.save(buf, deterministic_id=True)
    return buf.getvalue()


def _broken_xref_pdf(source: bytes) -> bytes:
    """Every xref offset shifted: readers must fall back to scanning the file."""
    start = source.rfind(b"\nxref")  # the table itself, not the "startxref" pointer
    if start < 0:
        return source
    start += 1
    head, tail = source[:start], source[start:]
    out = bytearray()
    for line in tail.split(b"\n"):
        parts = line.split(b" ")
        if len(parts) >= 3 and parts[0].isdigit() and len(parts[0]) == 10 and parts[2].startswith(b"n"):
            parts[0] = b"%010d" % (int(parts[0]) + 7)
        out += b" ".join(parts) + b"\n"
    return head + bytes(out[:-1])


def _docx_bytes(text: str) -> bytes:
    doc = Document()
    for para in text.split("\n\n"):
        doc.add_paragraph(para)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _docx_zip_bomb(expanded_mb: int) -> bytes:
    """A DOCX whose document.xml is padded to ``expanded_mb`` MiB of whitespace."""
    good = zipfile.ZipFile(io.BytesIO(_docx_bytes(GOOD_TEXT)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for info in good.infolist():
            data = good.read(info.filename)
            if info.filename == "word/document.xml":
                # Streamed in 1 MiB pieces so building the bomb does not need its memory.
                head, tail = data.split(b"<w:body>", 1)
                with z.open(info.filename, "w", force_zip64=True) as member:
                    member.write(head + b"<w:body>")
                    for _ in range(expanded_mb):
                        member.write(b" " * (1 << 20))
                    member.write(tail)
                continue
            z.writestr(info.filename, data)
    return out.getvalue()


def _docx_xxe() -> bytes:
    good = zipfile.ZipFile(io.BytesIO(_docx_bytes("XXE probe: &xxe; end.")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in good.infolist():
            data = good.read(info.filename)
            if info.filename == "word/document.xml":
                decl_end = data.index(b"?>") + 2
                dtd = b'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                data = data[:decl_end] + dtd + data[decl_end:].replace(b"&amp;xxe;", b"&xxe;")
            z.writestr(info.filename, data)
    return out.getvalue()


# What a correct ingestion says of each file: the allowed statuses. "ok" where a reader
# should get the real text; the failure statuses where it must refuse with a reason.
def build_adversarial_corpus(dest: Path, *, seed: int = 7, outside: Path | None = None) -> dict[str, set[str]]:
    """Write the adversarial corpus into ``dest``; return {relative path: allowed statuses}."""
    rng = random.Random(seed)
    dest.mkdir(parents=True, exist_ok=True)
    expected: dict[str, set[str]] = {}

    def put(name: str, data: bytes, allowed: set[str]) -> None:
        (dest / name).write_bytes(data)
        expected[name] = allowed

    good_pdf = _text_pdf(_wrap_lines(" ".join([GOOD_TEXT] * 3)), n_pages=3)
    put("good-response.pdf", good_pdf, {"ok"})
    for i in range(3):
        cut = rng.randint(len(good_pdf) // 5, len(good_pdf) * 9 // 10)
        put(f"truncated-{i}.pdf", good_pdf[:cut], {"corrupt", "ok"})
    put("broken-xref.pdf", _broken_xref_pdf(good_pdf), {"ok", "corrupt"})
    put("decompression-bomb.pdf", _bomb_pdf(3000), {"too_large", "timeout", "corrupt", "ok"})
    put("five-thousand-pages.pdf", _text_pdf(["A page of a very long annex."], n_pages=5000), {"too_large"})
    put("huge-image-page.pdf", _huge_image_pdf(200), {"too_large", "timeout", "empty", "ocr"})
    put("deeply-nested.pdf", _nested_pdf(200_000), {"corrupt", "ok"})
    put("javascript-launch.pdf", _active_content_pdf(), {"ok"})
    put("no-tounicode.pdf", _no_tounicode_pdf(), {"ok", "ocr", "empty"})
    put("zero-bytes.pdf", b"", {"empty"})
    put("one-byte.pdf", b"%", {"corrupt", "empty"})
    put("one-byte.docx", b"P", {"corrupt", "empty"})
    put("zip-bomb.docx", _docx_zip_bomb(1200), {"too_large"})
    put("xxe.docx", _docx_xxe(), {"ok", "corrupt"})
    put("رد الوزارة.docx", _docx_bytes("رد على المشاورة المفتوحة بشأن توسيع الاتصال بالإنترنت."), {"ok"})
    put("中文 答复.docx", _docx_bytes("关于扩大互联网连接的公开磋商的答复。"), {"ok"})
    put("name with spaces.txt", GOOD_TEXT.encode("utf-8"), {"ok"})
    if outside is not None:
        outside.mkdir(parents=True, exist_ok=True)
        secret = outside / "secret.txt"
        secret.write_text("SECRET OUTSIDE THE CORPUS")
        (dest / "link-outside.txt").symlink_to(secret)
        expected["link-outside.txt"] = {"unsupported"}
    # metadata.csv: Windows-1252, an extra column, a missing column, a ../ path.
    meta = (
        "file,respondent,organisation,stakeholder_type,country,extra\r\n"
        "good-response.pdf,Zoë Müller,Société générale des télécoms,private_sector,FRA,x\r\n"
        "../outside/secret.txt,Eve,Evil,individual,USA,y\r\n"
        "name with spaces.txt,José Núñez,Universidad,academia,España,z\r\n"
    )
    (dest / "metadata.csv").write_bytes(meta.encode("cp1252"))
    return expected


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/adversarial")
    for name, allowed in build_adversarial_corpus(target, outside=target.parent / "outside").items():
        print(f"{name}: {sorted(allowed)}")
