"""The Chair's draft: files per language, escaping, quotes, figures, reproducibility."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from docx import Document

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_fixture import HOSTILE_SCRIPT, build_tables  # noqa: E402

import pipeline.report as report  # noqa: E402
from pipeline.config import Config, ReportConfig  # noqa: E402
from pipeline.quotes import QuoteError  # noqa: E402
from pipeline.summarize import summarize  # noqa: E402

CFG = Config()
EN_ONLY = Config(report=ReportConfig(languages=("en",)))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    report.render_report(build_tables(hostile=True), out, CFG)
    return out


def test_report_writes_every_format_in_english_and_french(rendered):
    for name in ("chair_summary.md", "chair_summary.html", "chair_summary.docx",
                 "chair_summary.fr.md", "chair_summary.fr.html", "chair_summary.fr.docx"):
        assert (rendered / name).stat().st_size > 1000, name
    assert len(list((rendered / "figures").glob("*.en.png"))) == 3
    assert len(list((rendered / "figures").glob("*.fr.png"))) == 3
    assert "Summary of the consultation on expanding Internet connectivity" in (
        rendered / "chair_summary.md").read_text()
    assert "Résumé de la consultation sur le développement de la connectivité" in (
        rendered / "chair_summary.fr.md").read_text()


def test_report_html_escapes_submitted_text_and_embeds_figures(rendered):
    page = (rendered / "chair_summary.html").read_text()
    assert not re.search(r"<script", page, re.I)
    assert "<img src=x" not in page
    assert html.escape(HOSTILE_SCRIPT) in page
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 3
    assert "http://" not in page.replace("http://evil.example", "")  # nothing remote to load
    md = (rendered / "chair_summary.md").read_text()
    assert "<script" not in md and "<img" not in md


def test_report_quotes_appear_with_language_tag_and_source(rendered):
    summaries = summarize(build_tables(hostile=True), CFG)
    page = (rendered / "chair_summary.html").read_text()
    for q in summaries["quotes"].itertuples():
        assert html.escape(q.quote) in page
        assert f"{html.escape(q.file)}, p. {q.page_no}" in page
    doc = Document(str(rendered / "chair_summary.fr.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    for q in summaries["quotes"].itertuples():
        assert q.quote in text
    assert "[ar] «" in text and "Fichiers qui n'ont pas pu être lus" in text
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert sum(h.startswith("Résumé de la consultation sur") for h in headings) == 4


def test_report_is_byte_identical_across_runs(rendered, tmp_path):
    report.render_report(build_tables(hostile=True), tmp_path, CFG)
    for path in sorted(rendered.rglob("*.*")):
        if path.suffix in (".md", ".html", ".docx", ".png"):
            twin = tmp_path / path.relative_to(rendered)
            assert path.read_bytes() == twin.read_bytes(), path.name


def test_report_without_themes_or_entities_says_so(tmp_path):
    tables = {k: v for k, v in build_tables().items() if k not in ("themes", "subthemes", "entities")}
    report.render_report(tables, tmp_path, EN_ONLY)
    md = (tmp_path / "chair_summary.md").read_text()
    assert "Theme analysis is not available" in md
    assert "Summary of the consultation on no identified theme" in md
    assert md.count("> [") >= 6  # still one quote per stakeholder type


def test_report_stops_on_a_quote_that_is_not_verbatim(tmp_path, monkeypatch):
    real = report.summarize

    def tampered(tables: dict[str, pd.DataFrame], cfg: Config, **kw: object) -> dict[str, pd.DataFrame]:
        out = real(tables, cfg, **kw)
        out["quotes"].loc[0, "quote"] = "A sentence nobody wrote."
        return out

    monkeypatch.setattr(report, "summarize", tampered)
    with pytest.raises(QuoteError):
        report.render_report(build_tables(), tmp_path, EN_ONLY)
    assert not (tmp_path / "chair_summary.md").exists()
