"""The report stage drafts from the summarize stage's own tables when they are current.

The draft must be the same, byte for byte, as the one drafted from the stage tables,
and a typed copy built from other inputs (an upstream stage re-ran, a param changed)
must not be used.
"""

from __future__ import annotations

import logging
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_fixture import build_tables, write_tables  # noqa: E402

from pipeline.cli import main  # noqa: E402
from pipeline.config import Config  # noqa: E402
from pipeline.quotes import QuoteError  # noqa: E402
from pipeline.report import render_report  # noqa: E402
from pipeline.summarize import summarize  # noqa: E402
from pipeline.tables import read_table, table_path, write_table  # noqa: E402

DRAFTS = ("chair_summary.md", "chair_summary.html", "chair_summary.fr.md", "chair_summary.fr.html")


def _outputs(folder: Path) -> dict[str, bytes]:
    """Every draft and figure; a DOCX by its members (the zip's own bytes may differ)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if not p.is_file() or rel.startswith("tables"):
            continue
        if p.suffix == ".docx":
            with zipfile.ZipFile(p) as z:
                out.update({f"{rel}:{n}": z.read(n) for n in sorted(z.namelist())})
        else:
            out[rel] = p.read_bytes()
    return out


def test_report_from_summaries_is_the_draft_from_the_tables(tmp_path):
    tables, cfg = build_tables(hostile=True), Config()
    render_report(tables, tmp_path / "rebuilt", cfg)
    render_report({"pages": tables["pages"]}, tmp_path / "read", cfg, summaries=summarize(tables, cfg))
    rebuilt, read = _outputs(tmp_path / "rebuilt"), _outputs(tmp_path / "read")
    assert len([k for k in read if k.startswith("figures/")]) == 6
    assert rebuilt.keys() == read.keys()
    assert [k for k in rebuilt if rebuilt[k] != read[k]] == []


def test_report_from_summaries_still_checks_every_quote(tmp_path):
    tables, cfg = build_tables(), Config()
    summaries = summarize(tables, cfg)
    summaries["quotes"].loc[0, "quote"] = "A sentence nobody wrote."
    with pytest.raises(QuoteError):
        render_report({"pages": tables["pages"]}, tmp_path, cfg, summaries=summaries)
    assert not (tmp_path / "chair_summary.md").exists()


def test_report_from_summaries_cli_uses_current_tables_only(tmp_path, caplog):
    out, reports = tmp_path / "out", tmp_path / "reports"
    write_tables(out, build_tables())
    args = ["--out", str(out), "--reports", str(reports)]
    assert main(["summarize", *args]) == 0
    assert (reports / "tables" / "parquet" / "summaries.json").exists()
    with caplog.at_level(logging.INFO, logger="textmine"):
        assert main(["report", *args]) == 0
    assert "rebuilding" not in caplog.text
    assert b"Department of Commerce" in (reports / "chair_summary.md").read_bytes()

    # An upstream table changed after the summaries were written: the draft is rebuilt
    # from the stage tables, not drawn from the stale summaries.
    path = table_path(out, "ingest", "documents")
    docs = read_table(path, name="documents")
    docs.loc[0, "organisation"] = "A Renamed Organisation"
    write_table(path, docs, name="documents")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="textmine"):
        assert main(["report", *args]) == 0
    assert "rebuilding" in caplog.text
    assert b"A Renamed Organisation" in (reports / "chair_summary.md").read_bytes()
    assert b"Department of Commerce" not in (reports / "chair_summary.md").read_bytes()
