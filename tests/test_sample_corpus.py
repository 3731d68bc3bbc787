"""The bundled sample corpus is complete, consistent with its sources, and as hard as promised.

``corpora/raw/sample`` is built by ``corpora/sample-src/build.py`` from the YAML sources;
these tests check the committed build without rebuilding it (no LibreOffice needed).
"""

from __future__ import annotations

import csv
import importlib.util
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pdfplumber
import pikepdf
import pytest

from pipeline.schemas import STAKEHOLDER_TYPES, UN_LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpora" / "raw" / "sample"
SRC = ROOT / "corpora" / "sample-src"
TOPICAL_THEMES = {
    "ott", "connectivity", "covid19", "environment", "sustainable_dev", "idn",
    "internet_governance",
}
GOLD_COLUMNS = ["source_path", "lang", "themes", "stakeholder_type", "entities"]
METADATA_COLUMNS = ["file", "respondent", "organisation", "stakeholder_type", "country", "submitted"]


@pytest.fixture(scope="module")
def build():
    """The corpus builder, imported from its path (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("sample_build", SRC / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["sample_build"] = module
    spec.loader.exec_module(module)
    return module


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def gold() -> list[dict[str, str]]:
    columns, rows = _read_csv(CORPUS / "gold.csv")
    assert columns == GOLD_COLUMNS
    return rows


def test_sample_corpus_csv_columns_and_files_exist(gold):
    columns, meta = _read_csv(CORPUS / "metadata.csv")
    assert columns == METADATA_COLUMNS
    for row in gold:
        assert (CORPUS / row["source_path"]).is_file(), row["source_path"]
        assert (SRC / "expected" / f"{row['source_path']}.txt").is_file(), row["source_path"]
    for row in meta:
        assert (CORPUS / row["file"]).is_file(), row["file"]
    # real forms are messy: some rows missing, some with unknown types or countries
    responses = {p.name for p in CORPUS.iterdir() if not p.name.startswith("README")}
    responses -= {"gold.csv", "metadata.csv"}
    assert len(meta) < len(responses)
    assert any(r["stakeholder_type"] not in STAKEHOLDER_TYPES for r in meta)


def test_sample_corpus_coverage(gold):
    assert len(gold) >= 30
    per_lang = Counter(lang for row in gold for lang in row["lang"].split(";"))
    for lang in UN_LANGUAGES:
        assert per_lang[lang] >= 4, f"only {per_lang[lang]} responses in {lang}"
    assert {row["stakeholder_type"] for row in gold} == set(STAKEHOLDER_TYPES)
    themes = {t for row in gold for t in row["themes"].split(";")}
    assert TOPICAL_THEMES <= themes
    assert "other" in themes
    assert any(";" in row["lang"] for row in gold), "no bilingual response"
    assert sum(";" in row["themes"] for row in gold) >= 5, "too few multi-theme responses"


def test_sample_corpus_entity_ids_well_formed(gold, build):
    for row in gold:
        ids = [e for e in row["entities"].split(";") if e]
        assert ids, f"{row['source_path']} has no gold entities"
        bad = [e for e in ids if not build.ENTITY_RE.match(e)]
        assert not bad, f"{row['source_path']}: malformed entity ids {bad}"
        assert len(ids) == len(set(ids))


def test_sample_corpus_is_up_to_date_with_sources(gold, build):
    """gold.csv and the expected texts are what build.py derives from the YAML now."""
    responses = build.load_responses(SRC / "responses")
    readable = {r.file: r for r in responses if r.encrypt != "user"}
    assert {row["source_path"] for row in gold} == set(readable)
    for row in gold:
        r = readable[row["source_path"]]
        assert row["lang"] == r.lang and row["themes"] == ";".join(r.themes)
        assert row["entities"] == ";".join(r.entities)
        expected = (SRC / "expected" / f"{r.file}.txt").read_text(encoding="utf-8")
        assert expected == build.expected_text(r), f"{r.file}: rebuild with `make sample`"
        assert "\u00ad" not in expected


def test_sample_corpus_hard_cases(build):
    cases = {c["kind"]: c for c in build.load_hard_cases(SRC / "hard_cases.yaml", {
        r.stem: r for r in build.load_responses(SRC / "responses")})}
    assert (CORPUS / cases["empty"]["file"]).stat().st_size == 0
    assert (CORPUS / cases["html-renamed"]["file"]).read_bytes().lstrip().startswith(b"<!DOCTYPE")
    assert zipfile.is_zipfile(CORPUS / cases["zip-renamed"]["file"])
    truncated = (CORPUS / cases["truncated"]["file"]).read_bytes()
    assert truncated.startswith(b"%PDF") and b"%%EOF" not in truncated[-64:]
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(CORPUS / cases["user-password"]["file"])
    dup = cases["duplicate"]
    src = next(r for r in build.load_responses(SRC / "responses") if r.stem == dup["from"])
    assert (CORPUS / dup["file"]).read_bytes() == (CORPUS / src.file).read_bytes()


def test_sample_corpus_pdfs_look_like_real_ones(gold):
    files = {row["source_path"] for row in gold}
    owner = next(f for f in files if "owner-password" in f)
    with pikepdf.open(CORPUS / owner) as pdf:
        assert pdf.is_encrypted
    with pdfplumber.open(CORPUS / owner) as pdf:
        assert len(pdf.pages[0].extract_text() or "") > 200  # owner password only: readable
    scan = next(f for f in files if "scanned" in f)
    with pdfplumber.open(CORPUS / scan) as pdf:
        assert not any(p.chars for p in pdf.pages) and pdf.pages[0].images
    with pdfplumber.open(CORPUS / "en-01-ministry-kenya.pdf") as pdf:
        assert len(pdf.pages) >= 3
        chars = [c["text"] for p in pdf.pages for c in p.chars]
        lines = [ln for p in pdf.pages for ln in (p.extract_text() or "").splitlines()]
    assert any(c in ("fi", "fl", "ffi", "\ufb01", "\ufb02") for c in chars), "no ligatures"
    assert sum(ln.endswith(("-", "\u00ad")) for ln in lines) >= 3, "no hyphenated line ends"
    assert "Page 1 / 3" in lines and "Page 3 / 3" in lines  # real PAGE / NUMPAGES fields


def test_sample_build_rejects_bad_source_naming_file_and_field(build, tmp_path):
    good = (SRC / "responses" / "en-05-phone-bill-complaint.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "en-99-bad.yaml"
    bad.write_text(good.replace("stakeholder_type: individual", "stakeholder_type: ngo"),
                   encoding="utf-8")
    with pytest.raises(build.SourceError, match=r"en-99-bad\.yaml: field 'stakeholder_type'"):
        build.load_response(bad)
    bad.write_text(good.replace("entities: [org:ITU,", "entities: [org:UIT,"), encoding="utf-8")
    with pytest.raises(build.SourceError, match=r"field 'entities'.*org:UIT"):
        build.load_response(bad)
