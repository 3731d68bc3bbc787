"""Rebuild the bundled sample corpus ``corpora/raw/sample/`` from its sources.

Reads every ``corpora/sample-src/responses/*.yaml`` (one consultation response each, format
in ``corpora/sample-src/README.md``) and ``corpora/sample-src/hard_cases.yaml``, then:

* writes each response the way a respondent makes it: a Word document (python-docx: A4,
  letterhead header, "Page N / M" footer with real fields, headings, tables, real
  footnotes, script-specific fonts and language, right-to-left paragraphs for Arabic),
  converted to PDF by LibreOffice headless when the output name ends in ``.pdf``;
  ``.txt``/``.html`` outputs are written directly as web forms deliver them;
* turns ``layout: scan`` responses into image-only PDFs and ``encrypt:`` responses into
  password-protected PDFs, and derives the other hard cases (truncated, empty, renamed
  HTML/ZIP, duplicate) listed in ``hard_cases.yaml``;
* writes ``metadata.csv`` (web-form metadata, messy on purpose), ``gold.csv`` (gold
  labels) and ``corpora/sample-src/expected/<file>.txt`` (the text a perfect extractor
  returns, for character-error-rate tests).

Usage: ``.venv/bin/python corpora/sample-src/build.py`` (or ``make sample``). Needs
LibreOffice (``soffice``) and poppler (``pdftoppm``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pikepdf
import yaml
from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt, RGBColor
from PIL import Image, ImageFilter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESPONSES_DIR = HERE / "responses"
HARD_CASES = HERE / "hard_cases.yaml"
EXPECTED_DIR = HERE / "expected"
OUT_DIR = ROOT / "corpora" / "raw" / "sample"
SEED = 20201214

# ----------------------------------------------------------------------------------------
# Closed vocabularies (SAMPLE_FORMAT.md / DESIGN.md)
# ----------------------------------------------------------------------------------------
STAKEHOLDER_TYPES = (
    "member_state", "regulator", "private_sector", "civil_society", "academia",
    "technical_community", "intergovernmental", "individual",
)
THEMES = (
    "ott", "connectivity", "covid19", "environment", "sustainable_dev", "idn",
    "internet_governance", "other",
)
LANGS = ("ar", "zh", "en", "fr", "ru", "es")
ORGS = (
    "ITU", "ITU-T", "ITU-R", "ITU-D", "TSB", "BR", "BDT", "ITU-Council", "PP",
    "CWG-Internet", "IGF", "WSIS", "ICANN", "IETF", "ISOC", "W3C", "IEEE", "UN", "UNESCO",
    "UNDP", "UNEP", "UNCTAD", "WHO", "OECD", "GSMA", "World-Bank", "EU", "APT", "CITEL",
    "CEPT", "ATU", "RCC", "LAS", "AU", "ASEAN", "BEREC",
)
TECH = (
    "ott", "5g", "imt", "ixp", "ipv6", "idn", "dns", "broadband", "fibre", "satellite",
    "wifi", "cloud", "ai", "iot", "blockchain", "e-waste", "data-centre", "digital-payments",
)
NAMED_DOCS = ("Tunis-Agenda", "Geneva-Plan-of-Action", "Geneva-Declaration", "VPoA")
ENTITY_RE = re.compile(
    r"^(?:country:[A-Z]{3}"
    r"|org:(?:" + "|".join(re.escape(o) for o in ORGS) + r")"
    r"|res:(?:(?:PP|C|WTDC|WTSA)-\d{1,4}|UNGA-\d{1,3}/\d{1,4}|"
    + "|".join(NAMED_DOCS) + r")"
    r"|sdg:(?:1[0-7]|[1-9])(?:\.[0-9a-z]{1,2})?"
    r"|tech:(?:" + "|".join(re.escape(t) for t in TECH) + r"))$"
)
LAYOUTS = ("plain", "two-column", "scan")
METADATA_MODES = ("ok", "missing", "wrong-country", "bad-type")
ENCRYPT_MODES = ("none", "owner", "user")
OUTPUT_EXTS = (".pdf", ".docx", ".txt", ".html")
REQUIRED = (
    "file", "layout", "lang", "themes", "stakeholder_type", "respondent", "organisation",
    "country", "submitted", "metadata", "entities", "letterhead", "title", "body",
)
OPTIONAL = ("footnotes", "encrypt")

# What a web form's free-text "role" box receives when people do not pick from the list.
BAD_TYPE_LABELS = {
    "member_state": "Government", "regulator": "Regulatory authority",
    "private_sector": "Company", "civil_society": "NGO", "academia": "University",
    "technical_community": "Technical", "intergovernmental": "International organization",
    "individual": "Citizen",
}
# "wrong-country": the respondent typed a region instead of a country.
WRONG_COUNTRY = "Worldwide"

# Fonts per script (fc-list on Debian with fonts-noto-core, fonts-noto-cjk).
LATIN_SERIF = "Noto Serif"
LATIN_SANS = "Noto Sans"
ARABIC_FONT = "Noto Naskh Arabic"
CJK_SERIF = "Noto Serif CJK SC"
CJK_SANS = "Noto Sans CJK SC"
LANG_TAGS = {
    "en": "en-GB", "fr": "fr-FR", "es": "es-ES", "ru": "ru-RU", "ar": "ar-SA", "zh": "zh-CN",
}

FOOTNOTE_RE = re.compile(r"\[\^(\w+)\]")
INLINE_RE = re.compile(r"(\*\*[^*]+\*\*|\*[^*\s][^*]*\*|\[\^\w+\])")
SOFT_HYPHEN = "\u00ad"
VOWELS = set("aeiouyàâäéèêëîïôöùûüáíóúñœæаеёиоуыэюяії")


class SourceError(ValueError):
    """A source file is invalid; the message names the file and the field."""


@dataclass
class Response:
    """One response, as read from its YAML source."""

    stem: str
    path: Path
    file: str
    layout: str
    lang: str
    themes: list[str]
    stakeholder_type: str
    respondent: str
    organisation: str
    country: str
    submitted: str
    metadata: str
    entities: list[str]
    letterhead: str
    title: str
    body: str
    footnotes: dict[str, str] = field(default_factory=dict)
    encrypt: str = "none"

    @property
    def primary_lang(self) -> str:
        return self.lang.split(";")[0]

    @property
    def ext(self) -> str:
        return Path(self.file).suffix.lower()


# ----------------------------------------------------------------------------------------
# Reading and validating the sources
# ----------------------------------------------------------------------------------------
def _fail(path: Path, fld: str, msg: str) -> None:
    raise SourceError(f"{path.name}: field '{fld}': {msg}")


def load_response(path: Path) -> Response:
    """Read and validate one response YAML.

    Raises:
        SourceError: naming the file and the field that is wrong.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SourceError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SourceError(f"{path.name}: expected a mapping of fields at the top level")
    for key in REQUIRED:
        if key not in data or data[key] in (None, ""):
            _fail(path, key, "is required")
    for key in data:
        if key not in REQUIRED + OPTIONAL:
            _fail(path, key, f"unknown field; allowed: {', '.join(REQUIRED + OPTIONAL)}")
    f = str(data["file"])
    if "/" in f or Path(f).suffix.lower() not in OUTPUT_EXTS:
        _fail(path, "file", f"must be a bare file name ending in one of {OUTPUT_EXTS}")
    if data["layout"] not in LAYOUTS:
        _fail(path, "layout", f"{data['layout']!r} not in {LAYOUTS}")
    if data["layout"] != "plain" and Path(f).suffix.lower() not in (".pdf", ".docx"):
        _fail(path, "layout", "two-column/scan need a .pdf or .docx output")
    if data["layout"] == "scan" and Path(f).suffix.lower() != ".pdf":
        _fail(path, "layout", "scan needs a .pdf output")
    lang = str(data["lang"])
    if not all(part in LANGS for part in lang.split(";")):
        _fail(path, "lang", f"{lang!r}: each part must be one of {LANGS}, ';'-separated")
    themes = data["themes"]
    if not isinstance(themes, list) or not themes or any(t not in THEMES for t in themes):
        _fail(path, "themes", f"{themes!r}: a non-empty list of {THEMES}")
    if data["stakeholder_type"] not in STAKEHOLDER_TYPES:
        _fail(path, "stakeholder_type", f"{data['stakeholder_type']!r} not in {STAKEHOLDER_TYPES}")
    if not re.fullmatch(r"[A-Z]{3}", str(data["country"])):
        _fail(path, "country", f"{data['country']!r} is not an ISO 3166 alpha-3 code")
    submitted = data["submitted"]
    if isinstance(submitted, dt.date):
        submitted = submitted.isoformat()
    try:
        dt.date.fromisoformat(str(submitted))
    except ValueError:
        _fail(path, "submitted", f"{submitted!r} is not a YYYY-MM-DD date")
    if data["metadata"] not in METADATA_MODES:
        _fail(path, "metadata", f"{data['metadata']!r} not in {METADATA_MODES}")
    entities = data["entities"]
    if not isinstance(entities, list):
        _fail(path, "entities", "must be a list")
    bad = [e for e in entities if not ENTITY_RE.match(str(e))]
    if bad:
        _fail(path, "entities", f"malformed or unknown ids: {bad}")
    if len(set(entities)) != len(entities):
        _fail(path, "entities", "has duplicates")
    footnotes = data.get("footnotes") or {}
    if not isinstance(footnotes, dict):
        _fail(path, "footnotes", "must be a mapping number -> text")
    footnotes = {str(k): str(v).strip() for k, v in footnotes.items()}
    body = str(data["body"])
    markers = FOOTNOTE_RE.findall(body)
    if sorted(set(markers)) != sorted(footnotes) or len(markers) != len(set(markers)):
        _fail(path, "footnotes", f"markers in body {markers} do not match keys {list(footnotes)}")
    encrypt = str(data.get("encrypt", "none"))
    if encrypt not in ENCRYPT_MODES:
        _fail(path, "encrypt", f"{encrypt!r} not in {ENCRYPT_MODES}")
    if encrypt != "none" and Path(f).suffix.lower() != ".pdf":
        _fail(path, "encrypt", "only .pdf outputs can be encrypted")
    return Response(
        stem=path.stem, path=path, file=f, layout=data["layout"], lang=lang,
        themes=[str(t) for t in themes], stakeholder_type=data["stakeholder_type"],
        respondent=str(data["respondent"]).strip(),
        organisation=str(data["organisation"]).strip(),
        country=str(data["country"]), submitted=str(submitted), metadata=data["metadata"],
        entities=[str(e) for e in entities], letterhead=str(data["letterhead"]).strip(),
        title=str(data["title"]).strip(), body=body, footnotes=footnotes, encrypt=encrypt,
    )


def load_responses(directory: Path = RESPONSES_DIR) -> list[Response]:
    """Read every response YAML, collecting all errors before failing."""
    responses, errors = [], []
    for path in sorted(directory.glob("*.yaml")):
        try:
            responses.append(load_response(path))
        except SourceError as exc:
            errors.append(str(exc))
    names = [r.file for r in responses]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        errors.append(f"output file names used twice: {dupes}")
    if errors:
        raise SourceError("invalid sources:\n  " + "\n  ".join(errors))
    return responses


# ----------------------------------------------------------------------------------------
# Body model: blocks and inline spans
# ----------------------------------------------------------------------------------------
@dataclass
class Block:
    """One block of the body: a paragraph, a heading, a table or a bullet list."""

    kind: str  # para | heading | table | bullets
    text: str = ""
    level: int = 1
    rows: list[list[str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)


def parse_body(body: str) -> list[Block]:
    """Split the body into blocks at blank lines (see the README for the syntax)."""
    blocks = []
    for raw in re.split(r"\n\s*\n", body.strip()):
        lines = [ln.strip() for ln in raw.strip().splitlines() if ln.strip()]
        if not lines:
            continue
        if lines[0].startswith("#"):
            m = re.match(r"^(#+)\s+(.*)$", lines[0])
            if m and len(lines) == 1:
                blocks.append(Block("heading", m.group(2).strip(), level=min(len(m.group(1)) - 1, 2) or 1))
                continue
        if all(ln.startswith("|") for ln in lines):
            rows = []
            for ln in lines:
                cells = [c.strip() for c in ln.strip().strip("|").split("|")]
                if all(re.fullmatch(r":?-{2,}:?", c) for c in cells):
                    continue  # markdown separator row
                rows.append(cells)
            width = max(len(r) for r in rows)
            rows = [r + [""] * (width - len(r)) for r in rows]
            blocks.append(Block("table", rows=rows))
            continue
        if all(re.match(r"^[-•]\s+", ln) for ln in lines):
            blocks.append(Block("bullets", items=[re.sub(r"^[-•]\s+", "", ln) for ln in lines]))
            continue
        blocks.append(Block("para", " ".join(lines)))
    return blocks


def inline_spans(text: str) -> list[tuple[str, str]]:
    """Split text into (kind, text) spans: plain, bold, italic, fn (footnote marker)."""
    spans = []
    for piece in INLINE_RE.split(text):
        if not piece:
            continue
        if piece.startswith("[^"):
            spans.append(("fn", piece[2:-1]))
        elif piece.startswith("**") and piece.endswith("**") and len(piece) > 4:
            spans.append(("bold", piece[2:-2]))
        elif piece.startswith("*") and piece.endswith("*") and len(piece) > 2:
            spans.append(("italic", piece[1:-1]))
        else:
            spans.append(("plain", piece))
    return spans


def plain(text: str) -> str:
    """Inline markup and footnote markers removed: what the reader sees as words."""
    return "".join(t for k, t in inline_spans(text) if k != "fn")


def expected_text(resp: Response) -> str:
    """The text a perfect extractor returns: one paragraph per block, blank-line separated.

    Title, body blocks (headings and paragraphs without markup; one paragraph per table row
    with its cells joined by spaces; one per bullet item), then footnote texts in order.
    No letterhead, no page numbers, no footnote markers.
    """
    paras = [resp.title]
    for b in parse_body(resp.body):
        if b.kind in ("para", "heading"):
            paras.append(plain(b.text))
        elif b.kind == "table":
            paras.extend(" ".join(plain(c) for c in row if c) for row in b.rows)
        else:
            paras.extend(plain(i) for i in b.items)
    for key in footnote_order(resp):
        paras.append(resp.footnotes[key])
    paras = [unicodedata.normalize("NFC", re.sub(r"\s+", " ", p).strip()) for p in paras]
    return "\n\n".join(p for p in paras if p) + "\n"


def footnote_order(resp: Response) -> list[str]:
    """Footnote keys in the order their markers appear in the body."""
    return FOOTNOTE_RE.findall(resp.body)


# ----------------------------------------------------------------------------------------
# Soft hyphens: LibreOffice has no hyphenation dictionary here, so long words carry
# discretionary hyphens and lines really end in "-" where a word is split.
# ----------------------------------------------------------------------------------------
ONSETS = {"tr", "pr", "br", "cr", "gr", "dr", "fr", "pl", "bl", "cl", "gl", "fl", "ch", "th",
          "sh", "ph", "gn", "qu", "ст", "пр", "тр", "бр", "гр", "кр"}


def _hyphenate_word(word: str) -> str:
    """Cut a word between syllables: V-CV, VC-CV, and VCC-CV (keeping onsets like "tr")."""
    if len(word) < 9 or not word.isalpha() or not word[1:].islower():
        return word
    low = word.lower()
    cuts: list[int] = []
    i = 0
    while i < len(low):
        if low[i] in VOWELS:
            j = i + 1
            while j < len(low) and low[j] not in VOWELS:
                j += 1
            n = j - i - 1  # consonants between this vowel group and the next
            if j < len(low) and n >= 1:
                cluster = low[i + 1 : j]
                if n == 1:
                    cut = i + 1
                elif cluster[-2:] in ONSETS:
                    cut = j - 2
                elif n == 2:
                    cut = i + 2
                else:
                    cut = j - 1
                if cut >= 3 and len(low) - cut >= 3 and (not cuts or cut - cuts[-1] >= 2):
                    cuts.append(cut)
            i = j
        else:
            i += 1
    if not cuts:
        return word
    pieces, prev = [], 0
    for c in cuts:
        pieces.append(word[prev:c])
        prev = c
    pieces.append(word[prev:])
    return SOFT_HYPHEN.join(pieces)


def hyphenate(text: str) -> str:
    """Insert soft hyphens into long Latin and Cyrillic words."""
    return re.sub(r"[^\W\d_]{9,}", lambda m: _hyphenate_word(m.group(0)), text)


# ----------------------------------------------------------------------------------------
# DOCX writing
# ----------------------------------------------------------------------------------------
def _fonts_for(lang: str, *, heading: bool = False) -> dict[str, str]:
    latin = LATIN_SANS if heading else LATIN_SERIF
    return {
        "ascii": latin, "hAnsi": latin, "cs": ARABIC_FONT,
        "eastAsia": CJK_SANS if heading else CJK_SERIF,
    }


def _set_rpr_fonts(rpr, fonts: dict[str, str], lang: str | None = None) -> None:
    for old in rpr.findall(qn("w:rFonts")):
        rpr.remove(old)
    rfonts = parse_xml(
        f'<w:rFonts {nsdecls("w")} '
        + " ".join(f'w:{k}="{v}"' for k, v in fonts.items())
        + "/>"
    )
    rpr.insert(0, rfonts)
    if lang:
        for old in rpr.findall(qn("w:lang")):
            rpr.remove(old)
        rpr.append(parse_xml(
            f'<w:lang {nsdecls("w")} w:val="{LANG_TAGS.get(lang, "en-GB")}" '
            f'w:eastAsia="zh-CN" w:bidi="ar-SA"/>'
        ))


def _style_document(doc, lang: str) -> None:
    styles = doc.styles
    # docDefaults carry theme fonts that would override explicit ones; replace them.
    rpr_default = styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_rpr_fonts(rpr_default, _fonts_for(lang), lang)
    normal = styles["Normal"]
    _set_rpr_fonts(normal.element.get_or_add_rPr(), _fonts_for(lang), lang)
    normal.font.size = Pt(11)
    normal.font.complex_script = True if lang == "ar" else None
    rpr = normal.element.get_or_add_rPr()
    if lang in ("ar", "zh"):
        # complex-script / CJK sizes are separate properties in OOXML
        rpr.append(parse_xml(f'<w:szCs {nsdecls("w")} w:val="{26 if lang == "ar" else 22}"/>'))
    pf = normal.paragraph_format
    pf.space_after = Pt(6)
    pf.line_spacing = 1.15
    for name, size in (("Title", 16), ("Heading 1", 13), ("Heading 2", 11.5)):
        st = styles[name]
        _set_rpr_fonts(st.element.get_or_add_rPr(), _fonts_for(lang, heading=True), lang)
        st.font.size = Pt(size)
        st.font.bold = True
        st.font.color.rgb = RGBColor(0x1F, 0x2A, 0x44)
        st.paragraph_format.space_before = Pt(12 if name != "Title" else 0)
        st.paragraph_format.space_after = Pt(6)
        # the template's Title has a bottom border and expanded spacing; drop them
        ppr = st.element.get_or_add_pPr()
        for tag in ("w:pBdr", "w:contextualSpacing"):
            for el in ppr.findall(qn(tag)):
                ppr.remove(el)
        srpr = st.element.get_or_add_rPr()
        for tag in ("w:spacing", "w:kern"):
            for el in srpr.findall(qn(tag)):
                srpr.remove(el)
        if lang == "ar":
            srpr.append(parse_xml(f'<w:bCs {nsdecls("w")}/>'))
            srpr.append(parse_xml(f'<w:szCs {nsdecls("w")} w:val="{int(size * 2 + 4)}"/>'))


def _rtl_paragraph(par) -> None:
    ppr = par._p.get_or_add_pPr()
    ppr.insert(0, parse_xml(f'<w:bidi {nsdecls("w")}/>'))


def _add_run(par, text: str, *, lang: str, bold: bool = False, italic: bool = False,
             superscript: bool = False):
    run = par.add_run(text)
    if bold:
        run.bold = True
    if italic:
        run.italic = True
    if superscript:
        run.font.superscript = True
    if lang == "ar" and re.search(r"[\u0600-\u06FF]", text):
        rpr = run._r.get_or_add_rPr()
        rpr.append(parse_xml(f'<w:rtl {nsdecls("w")}/>'))
        if bold:
            rpr.append(parse_xml(f'<w:bCs {nsdecls("w")}/>'))
    return run


class FootnoteWriter:
    """Real Word footnotes: a ``footnotes.xml`` part and ``w:footnoteReference`` runs."""

    def __init__(self, doc, lang: str) -> None:
        self.doc = doc
        self.lang = lang
        self.next_id = 1
        self.root = parse_xml(
            f'<w:footnotes {nsdecls("w")}>'
            '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0" '
            'w:line="240" w:lineRule="auto"/></w:pPr><w:r><w:separator/></w:r></w:p></w:footnote>'
            '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing '
            'w:after="0" w:line="240" w:lineRule="auto"/></w:pPr><w:r><w:continuationSeparator/>'
            "</w:r></w:p></w:footnote></w:footnotes>"
        )

    def reference(self, par, text: str) -> None:
        """Append a footnote reference to ``par`` and the footnote ``text``."""
        fid = self.next_id
        self.next_id += 1
        run = par.add_run()
        rpr = run._r.get_or_add_rPr()
        rpr.append(parse_xml(f'<w:vertAlign {nsdecls("w")} w:val="superscript"/>'))
        run._r.append(parse_xml(f'<w:footnoteReference {nsdecls("w")} w:id="{fid}"/>'))
        bidi = '<w:bidi/>' if self.lang == "ar" else ""
        rtl = '<w:rtl/>' if self.lang == "ar" else ""
        fn = parse_xml(
            f'<w:footnote {nsdecls("w")} w:id="{fid}"><w:p><w:pPr>{bidi}<w:spacing w:after="0"/>'
            f'<w:jc w:val="both"/></w:pPr>'
            '<w:r><w:rPr><w:vertAlign w:val="superscript"/><w:sz w:val="18"/></w:rPr>'
            "<w:footnoteRef/></w:r>"
            '<w:r><w:rPr><w:sz w:val="18"/></w:rPr><w:t xml:space="preserve"> </w:t></w:r>'
            f'<w:r><w:rPr>{rtl}<w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr>'
            f'<w:t xml:space="preserve">{_xml_escape(text)}</w:t></w:r></w:p></w:footnote>'
        )
        self.root.append(fn)

    def attach(self) -> None:
        """Add the footnotes part to the package (only if a footnote was written)."""
        if self.next_id == 1:
            return
        from lxml import etree

        blob = etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", standalone=True)
        part = Part(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, blob, self.doc.part.package)
        self.doc.part.relate_to(part, RT.FOOTNOTES)


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _add_field(par, instr: str, placeholder: str) -> None:
    for xml in (
        '<w:r {ns}><w:fldChar w:fldCharType="begin"/></w:r>',
        f'<w:r {{ns}}><w:instrText xml:space="preserve"> {instr} </w:instrText></w:r>',
        '<w:r {ns}><w:fldChar w:fldCharType="separate"/></w:r>',
        f'<w:r {{ns}}><w:t>{placeholder}</w:t></w:r>',
        '<w:r {ns}><w:fldChar w:fldCharType="end"/></w:r>',
    ):
        par._p.append(parse_xml(xml.format(ns=nsdecls("w"))))


def _header_footer(section, resp: Response) -> None:
    header = section.header
    hp = header.paragraphs[0]
    hp.text = ""
    if resp.primary_lang == "ar":
        _rtl_paragraph(hp)
    hp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _add_run(hp, resp.letterhead, lang=resp.primary_lang, bold=True)
    hp.runs[0].font.size = Pt(10)
    hp.runs[0].font.color.rgb = RGBColor(0x1F, 0x2A, 0x44)
    ppr = hp._p.get_or_add_pPr()
    ppr.append(parse_xml(
        f'<w:pBdr {nsdecls("w")}><w:bottom w:val="single" w:sz="6" w:space="4" '
        'w:color="1F2A44"/></w:pBdr>'
    ))
    fp = section.footer.paragraphs[0]
    fp.text = ""
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    r = fp.add_run("Page ")
    r.font.size = Pt(9)
    _add_field(fp, "PAGE", "1")
    r = fp.add_run(" / ")
    r.font.size = Pt(9)
    _add_field(fp, "NUMPAGES", "1")


def _page_setup(section, lang: str) -> None:
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(22)
    section.top_margin, section.bottom_margin = Mm(25), Mm(22)
    section.header_distance = section.footer_distance = Mm(10)
    if lang == "ar":
        section._sectPr.append(parse_xml(f'<w:bidi {nsdecls("w")}/>'))


def _set_columns(section, num: int) -> None:
    sect = section._sectPr
    for old in sect.findall(qn("w:cols")):
        sect.remove(old)
    cols = parse_xml(f'<w:cols {nsdecls("w")} w:num="{num}" w:space="567"/>')
    # schema order: cols comes after pgMar/paperSrc/pgBorders/lnNumType/pgNumType
    anchor = None
    for tag in ("w:pgNumType", "w:lnNumType", "w:pgBorders", "w:paperSrc", "w:pgMar", "w:pgSz"):
        anchor = sect.find(qn(tag))
        if anchor is not None:
            break
    if anchor is not None:
        anchor.addnext(cols)
    else:
        sect.append(cols)


def _block_width(b: Block) -> float:
    """Rough width of a block in Latin-character equivalents (CJK glyphs are twice as wide)."""
    text = b.text or " ".join(b.items) or " ".join(" ".join(r) for r in b.rows)
    cjk = sum(1 for ch in text if "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
    width = len(text) + cjk * 1.1
    if b.kind == "table":
        width += 160 * len(b.rows)  # row padding and wrapped cells
    elif b.kind == "heading":
        width += 160  # spacing before and after
    else:
        width += 90 * max(1, len(b.items))  # paragraph spacing and ragged last lines
    return width


def _column_break_index(blocks: list[Block], *, title: str) -> int:
    """Where the two-column section starts: page 1 holds the opening, as much as fits.

    A page of 11 pt Noto Serif holds about 2,600 Latin characters; stop well before that,
    at a heading if one comes after the first third of the page.
    """
    budget, used = 2300.0, len(title) * 1.6 + 150
    for i, b in enumerate(blocks):
        width = _block_width(b)
        if i > 0 and (used + width > budget or (b.kind == "heading" and used > 1500)):
            return i
        used += width
    return max(1, len(blocks) // 3)


def _set_table_width(table, width: int, *, even: bool = False) -> None:
    ncols = len(table.columns)
    first = int(width * 0.46) if ncols > 2 and not even else width // ncols
    rest = (width - first) // max(ncols - 1, 1) if ncols > 1 else width
    widths = [first] + [rest] * (ncols - 1) if ncols > 1 else [width]
    table.autofit = False
    for col, w in zip(table.columns, widths, strict=True):
        col.width = w
        for cell in col.cells:
            cell.width = w
    tblpr = table._tbl.tblPr
    for old in tblpr.findall(qn("w:tblW")):
        tblpr.remove(old)
    tblpr.append(parse_xml(f'<w:tblW {nsdecls("w")} w:w="{int(width / 635)}" w:type="dxa"/>'))


def build_docx(resp: Response, dest: Path, *, soft_hyphens: bool) -> None:
    """Write ``resp`` as a Word document at ``dest``."""
    lang = resp.primary_lang
    doc = Document()
    _style_document(doc, lang)
    section = doc.sections[0]
    _page_setup(section, lang)
    _header_footer(section, resp)
    props = doc.core_properties
    props.title = resp.title
    props.author = resp.respondent
    props.language = LANG_TAGS.get(lang, "en-GB")
    props.created = props.modified = dt.datetime.fromisoformat(resp.submitted + "T09:00:00")
    props.revision = 1
    props.last_modified_by = resp.respondent
    fnw = FootnoteWriter(doc, lang)
    hy = hyphenate if (soft_hyphens and lang in ("en", "fr", "es", "ru")) else (lambda s: s)
    align = WD_ALIGN_PARAGRAPH.JUSTIFY

    def fill(par, text: str) -> None:
        for kind, piece in inline_spans(text):
            if kind == "fn":
                fnw.reference(par, resp.footnotes[piece])
            else:
                _add_run(par, hy(piece), lang=lang, bold=kind == "bold", italic=kind == "italic")

    def new_par(style: str | None = None):
        par = doc.add_paragraph(style=style)
        if lang == "ar":
            _rtl_paragraph(par)
        return par

    title = new_par("Title")
    fill(title, resp.title)
    blocks = parse_body(resp.body)
    break_at = _column_break_index(blocks, title=resp.title) if resp.layout == "two-column" else -1
    for i, b in enumerate(blocks):
        if i == break_at:
            new_sec = doc.add_section(WD_SECTION.NEW_PAGE)
            _set_columns(new_sec, 2)
        if b.kind == "heading":
            fill(new_par(f"Heading {b.level}"), b.text)
        elif b.kind == "para":
            par = new_par()
            par.alignment = align
            fill(par, b.text)
        elif b.kind == "bullets":
            for item in b.items:
                par = new_par("List Bullet")
                par.alignment = align
                fill(par, item)
        else:
            table = doc.add_table(rows=len(b.rows), cols=len(b.rows[0]))
            table.style = "Table Grid"
            # a table must fit its column: 166 mm text width, or 78 mm in two columns
            in_columns = 0 <= break_at <= i
            _set_table_width(table, Mm(78) if in_columns else Mm(166), even=in_columns)
            if lang == "ar":
                table._tbl.tblPr.append(parse_xml(f'<w:bidiVisual {nsdecls("w")}/>'))
            for r, row in enumerate(b.rows):
                for c, cell_text in enumerate(row):
                    cell = table.cell(r, c)
                    par = cell.paragraphs[0]
                    if lang == "ar":
                        _rtl_paragraph(par)
                    for kind, piece in inline_spans(cell_text):
                        if kind != "fn":
                            run = _add_run(par, piece, lang=lang, bold=(r == 0 or kind == "bold"))
                            run.font.size = Pt(8.5 if in_columns else 10)
            doc.add_paragraph().paragraph_format.space_after = Pt(2)
    fnw.attach()
    doc.save(str(dest))


# ----------------------------------------------------------------------------------------
# Other outputs
# ----------------------------------------------------------------------------------------
def build_html(resp: Response) -> str:
    """A web-form response saved as HTML, with styles and scripts a reader must drop."""
    esc = _xml_escape
    parts = [f"<h1>{esc(resp.title)}</h1>"]
    for b in parse_body(resp.body):
        if b.kind == "heading":
            parts.append(f"<h2>{esc(plain(b.text))}</h2>")
        elif b.kind == "para":
            parts.append(f"<p>{esc(plain(b.text))}</p>")
        elif b.kind == "bullets":
            parts.append("<ul>" + "".join(f"<li>{esc(plain(i))}</li>" for i in b.items) + "</ul>")
        else:
            parts.append("<table>" + "".join(
                "<tr>" + "".join(f"<td>{esc(plain(c))}</td>" for c in row) + "</tr>"
                for row in b.rows) + "</table>")
    for key in footnote_order(resp):
        parts.append(f'<p class="note">{esc(resp.footnotes[key])}</p>')
    dir_attr = ' dir="rtl"' if resp.primary_lang == "ar" else ""
    return (
        f'<!DOCTYPE html>\n<html lang="{resp.primary_lang}"{dir_attr}>\n<head>\n'
        '<meta charset="utf-8">\n'
        f"<title>{esc(resp.title)}</title>\n"
        "<style>body{font-family:sans-serif;max-width:48em;margin:auto} .note{font-size:small}"
        "</style>\n<script>window.dataLayer=window.dataLayer||[];"
        "function track(){dataLayer.push(arguments)}track('form','submitted');</script>\n"
        "</head>\n<body>\n<main>\n" + "\n".join(parts) + "\n</main>\n</body>\n</html>\n"
    )


def soffice_convert(docx_paths: list[Path], outdir: Path, profile: Path) -> None:
    """Convert DOCX files to PDF with one LibreOffice call."""
    if not docx_paths:
        return
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        sys.exit("build.py: LibreOffice (soffice) is required to rebuild the sample corpus")
    cmd = [
        soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
        "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(outdir),
        *[str(p) for p in docx_paths],
    ]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=900)
    missing = [p.name for p in docx_paths if not (outdir / (p.stem + ".pdf")).exists()]
    if missing:
        sys.exit(f"build.py: LibreOffice did not convert {missing}")


def scan_pdf(pdf: Path, dest: Path, *, seed: int, tmp: Path, date: str) -> int:
    """Rasterise ``pdf`` at 200 dpi and wrap noisy, slightly rotated pages in a PDF."""
    prefix = tmp / f"scan-{pdf.stem}"
    subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", str(pdf), str(prefix)], check=True)
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    pages = []
    for png in sorted(tmp.glob(f"scan-{pdf.stem}*.png")):
        img = Image.open(png).convert("L")
        img = img.rotate(rng.uniform(-0.9, 0.9), resample=Image.Resampling.BICUBIC,
                         expand=False, fillcolor=255)
        img = img.filter(ImageFilter.GaussianBlur(0.6))
        arr = np.asarray(img, dtype=np.float32)
        arr = arr * 0.92 + 12 + nrng.normal(0, 9, arr.shape)  # grey paper, sensor noise
        specks = nrng.random(arr.shape) < 0.0004
        arr[specks] = 40
        pages.append(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L"))
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", resolution=200.0, save_all=True, append_images=pages[1:],
                  title="Scan", producer="ScanSnap Manager",
                  creationDate=dt.datetime.fromisoformat(date + "T08:30:00").timetuple(),
                  modDate=dt.datetime.fromisoformat(date + "T08:30:00").timetuple())
    dest.write_bytes(buf.getvalue())
    return len(pages)


def encrypt_pdf(src: Path, dest: Path, *, user: str) -> None:
    """Protect ``src`` with an owner password (and a user password when ``user``)."""
    with pikepdf.open(src) as pdf:
        perms = pikepdf.Permissions(extract=False, modify_other=False, modify_annotation=False)
        pdf.save(dest, encryption=pikepdf.Encryption(owner="cwg-owner-2020", user=user,
                                                     R=6, allow=perms))


def normalise_zip(src: Path, dest: Path) -> None:
    """Copy a DOCX with fixed member timestamps, so rebuilding gives the same bytes."""
    with zipfile.ZipFile(src) as zin:
        members = {info.filename: zin.read(info) for info in zin.infolist()}
    deterministic_zip(dest, members)


def deterministic_zip(dest: Path, members: dict[str, bytes]) -> None:
    """A ZIP whose bytes do not depend on the build time."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 9, 30, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)


# ----------------------------------------------------------------------------------------
# Metadata and gold
# ----------------------------------------------------------------------------------------
def metadata_row(file: str, m: dict, mode: str) -> dict | None:
    if mode == "missing":
        return None
    row = {k: m[k] for k in ("respondent", "organisation", "stakeholder_type", "country", "submitted")}
    row["file"] = file
    if mode == "wrong-country":
        row["country"] = WRONG_COUNTRY
    elif mode == "bad-type":
        row["stakeholder_type"] = BAD_TYPE_LABELS[m["stakeholder_type"]]
    return row


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for row in sorted(rows, key=lambda r: r[columns[0]]):
            w.writerow({c: row.get(c, "") for c in columns})


def load_hard_cases(path: Path, responses: dict[str, Response]) -> list[dict]:
    cases = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    kinds = ("user-password", "truncated", "empty", "html-renamed", "zip-renamed", "duplicate")
    for i, case in enumerate(cases):
        where = f"{path.name}: case {i + 1} ({case.get('file', '?')})"
        if case.get("kind") not in kinds:
            raise SourceError(f"{where}: field 'kind' must be one of {kinds}")
        if case["kind"] in ("user-password", "truncated", "duplicate", "zip-renamed"):
            if case.get("from") not in responses:
                raise SourceError(f"{where}: field 'from' must name a response stem")
        if "meta" not in case and case.get("from") in responses:
            src = responses[case["from"]]
            case["meta"] = {"respondent": src.respondent, "organisation": src.organisation,
                            "stakeholder_type": src.stakeholder_type, "country": src.country,
                            "submitted": case.get("submitted", src.submitted)}
        meta = case.get("meta") or {}
        need = ("respondent", "organisation", "stakeholder_type", "country", "submitted")
        missing = [k for k in need if k not in meta]
        if missing:
            raise SourceError(f"{where}: field 'meta' lacks {missing}")
        meta["submitted"] = str(meta["submitted"])
    return cases


# ----------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------
def build(out_dir: Path = OUT_DIR, *, expected_dir: Path = EXPECTED_DIR,
          responses_dir: Path = RESPONSES_DIR) -> None:
    """Rebuild the whole sample corpus into ``out_dir``."""
    responses = load_responses(responses_dir)
    by_stem = {r.stem: r for r in responses}
    cases = load_hard_cases(HARD_CASES, by_stem)
    out_dir.mkdir(parents=True, exist_ok=True)
    expected_dir.mkdir(parents=True, exist_ok=True)
    # The analyst's review.yaml and the READMEs are not built from sources: keep them.
    for old in list(out_dir.iterdir()) + list(expected_dir.iterdir()):
        if old.is_file() and not old.name.startswith("README") and old.name != "review.yaml":
            old.unlink()

    with tempfile.TemporaryDirectory(prefix="sample-build-") as tmpname:
        tmp = Path(tmpname)
        docx_dir, pdf_dir = tmp / "docx", tmp / "pdf"
        docx_dir.mkdir()
        pdf_dir.mkdir()
        to_convert: list[Path] = []
        built: dict[str, Path] = {}  # stem -> built file (before hard-case transforms)
        for r in responses:
            if r.ext in (".pdf", ".docx"):
                src = docx_dir / f"{r.stem}.docx"
                build_docx(r, src, soft_hyphens=r.ext == ".pdf")
                if r.ext == ".pdf":
                    to_convert.append(src)
                built[r.stem] = src
            elif r.ext == ".txt":
                (out_dir / r.file).write_text(expected_text(r), encoding="utf-8")
                built[r.stem] = out_dir / r.file
            else:
                (out_dir / r.file).write_text(build_html(r), encoding="utf-8")
                built[r.stem] = out_dir / r.file
        print(f"build.py: converting {len(to_convert)} documents with LibreOffice ...", flush=True)
        soffice_convert(to_convert, pdf_dir, tmp / "lo-profile")
        for r in responses:
            if r.ext == ".pdf":
                built[r.stem] = pdf_dir / f"{r.stem}.pdf"
        for r in responses:
            dest = out_dir / r.file
            if r.ext == ".docx":
                normalise_zip(built[r.stem], dest)
            elif r.ext == ".pdf":
                if r.layout == "scan":
                    n = scan_pdf(built[r.stem], dest, seed=SEED + zlib.crc32(r.stem.encode()),
                                 tmp=tmp, date=r.submitted)
                    print(f"build.py: scanned {r.file} ({n} pages)")
                elif r.encrypt != "none":
                    encrypt_pdf(built[r.stem], dest, user="respondent-2020" if r.encrypt == "user" else "")
                else:
                    shutil.copyfile(built[r.stem], dest)
        for case in cases:
            dest = out_dir / case["file"]
            kind = case["kind"]
            if kind == "user-password":
                encrypt_pdf(built[case["from"]], dest, user="respondent-2020")
            elif kind == "truncated":
                data = built[case["from"]].read_bytes()
                dest.write_bytes(data[: int(len(data) * float(case.get("fraction", 0.4)))])
            elif kind == "empty":
                dest.write_bytes(b"")
            elif kind == "html-renamed":
                dest.write_text(case["content"], encoding="utf-8")
            elif kind == "zip-renamed":
                src = out_dir / by_stem[case["from"]].file  # the file as delivered
                members = {case.get("member", src.name): src.read_bytes()}
                for name, text in (case.get("extra") or {}).items():
                    members[name] = str(text).encode("utf-8")
                deterministic_zip(dest, members)
            elif kind == "duplicate":
                shutil.copyfile(out_dir / by_stem[case["from"]].file, dest)

    meta_rows, gold_rows = [], []
    for r in responses:
        m = {"respondent": r.respondent, "organisation": r.organisation,
             "stakeholder_type": r.stakeholder_type, "country": r.country,
             "submitted": r.submitted}
        row = metadata_row(r.file, m, r.metadata)
        if row:
            meta_rows.append(row)
        if r.encrypt == "user":
            continue
        gold_rows.append({
            "source_path": r.file, "lang": r.lang, "themes": ";".join(r.themes),
            "stakeholder_type": r.stakeholder_type, "entities": ";".join(r.entities),
        })
        (expected_dir / f"{r.file}.txt").write_text(expected_text(r), encoding="utf-8")
    for case in cases:
        row = metadata_row(case["file"], case["meta"], case.get("metadata", "ok"))
        if row:
            meta_rows.append(row)
    write_csv(out_dir / "metadata.csv",
              ["file", "respondent", "organisation", "stakeholder_type", "country", "submitted"],
              meta_rows)
    write_csv(out_dir / "gold.csv",
              ["source_path", "lang", "themes", "stakeholder_type", "entities"], gold_rows)
    n_files = sum(1 for p in out_dir.iterdir()
                  if p.name not in ("metadata.csv", "gold.csv", "review.yaml")
                  and not p.name.startswith("README"))
    print(f"build.py: wrote {n_files} files, {len(gold_rows)} gold rows, "
          f"{len(meta_rows)} metadata rows to {out_dir}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only validate the sources")
    parser.add_argument("--responses", type=Path, default=RESPONSES_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--expected", type=Path, default=EXPECTED_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.check:
            rs = load_responses(args.responses)
            load_hard_cases(HARD_CASES, {r.stem: r for r in rs})
            print(f"build.py: {len(rs)} responses are valid")
        else:
            build(args.out, expected_dir=args.expected, responses_dir=args.responses)
    except SourceError as exc:
        print(f"build.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
