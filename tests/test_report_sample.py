"""The summaries and the Chair's draft of the bundled sample's full pipeline run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.quotes import check_quotes
from pipeline.tables import read_table, table_path


@pytest.fixture(scope="module")
def run(sample_run: Path) -> Path:
    return sample_run


@pytest.mark.slow
def test_report_sample_run_writes_every_output(run):
    reports = run / "reports"
    for name in ("chair_summary.md", "chair_summary.docx", "chair_summary.html",
                 "chair_summary.fr.md", "chair_summary.fr.docx", "chair_summary.fr.html",
                 "metrics.json", "tables/summary.xlsx", "tables/theme_prevalence.csv",
                 "tables/unreadable.csv"):
        assert (reports / name).exists(), name
    assert len(list((reports / "figures").glob("*.png"))) == 6


@pytest.mark.slow
def test_report_sample_totals_reconcile_and_quotes_are_verbatim(run):
    reports = run / "reports"
    metrics = json.loads((reports / "metrics.json").read_text())
    distinct = metrics["responses_distinct"]
    by_group = pd.read_csv(reports / "tables" / "responses_by_group.csv", encoding="utf-8-sig")
    assert by_group["responses_distinct"].sum() == distinct
    prevalence = pd.read_csv(reports / "tables" / "theme_prevalence.csv", encoding="utf-8-sig")
    assert prevalence["primary_responses"].sum() == distinct
    manifest = read_table(table_path(run, "ingest", "manifest"))
    unread = pd.read_csv(reports / "tables" / "unreadable.csv", encoding="utf-8-sig")
    assert len(unread) == (~manifest["status"].isin(["ok", "ocr", "duplicate"])).sum()
    quotes = pd.read_csv(reports / "tables" / "quotes.csv", encoding="utf-8-sig",
                         dtype={"doc_id": str})
    quotes["quote"] = quotes["quote"].str.replace(r"^'(?=[=+\-@\t\r])", "", regex=True)
    pages = read_table(table_path(run, "ingest", "pages"))
    check_quotes(quotes, pages)  # raises on any quote not verbatim in its page
    md = (reports / "chair_summary.md").read_text()
    assert md.count("> [") == len(quotes)


@pytest.mark.slow
def test_report_sample_every_type_that_addressed_a_theme_is_quoted(run):
    reports = run / "reports"
    responses = pd.read_csv(reports / "tables" / "responses.csv", encoding="utf-8-sig")
    quotes = pd.read_csv(reports / "tables" / "quotes.csv", encoding="utf-8-sig")
    for theme in set(responses["primary_theme"]) - {"none"}:
        has = (responses["primary_theme"] == theme) | responses["other_themes"].fillna("").map(
            lambda s, t=theme: t in s.split("; "))
        addressed = set(responses[has]["stakeholder_type"])
        quoted = set(quotes[quotes["theme"] == theme]["stakeholder_type"])
        assert addressed <= quoted, (theme, addressed - quoted)
