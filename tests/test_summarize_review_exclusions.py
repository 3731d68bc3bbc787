"""Exclusions by the analyst: one helper reads them, for the files table and the draft."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_fixture import build_tables  # noqa: E402

from pipeline.config import Config, ReportConfig  # noqa: E402
from pipeline.report import build_blocks  # noqa: E402
from pipeline.summarize import excluded_files, excluded_responses, summarize  # noqa: E402

CFG = Config(report=ReportConfig(languages=("en",)))


def _decisions() -> pd.DataFrame:
    rows = [
        # by file name, applied
        (1, "exclude_response", "locked.pdf", "out_of_scope", "A. Analyst", "2026-11-27",
         "not an answer", "applied", "excluded 1 response"),
        # by doc_id, applied
        (2, "exclude_response", "d02", "withdrawn", "B. Analyst", "2026-11-27", "withdrawn",
         "applied", "excluded 1 response"),
        # stale: its response is gone, so it excludes nothing
        (3, "exclude_response", "gone.pdf", "withdrawn", "A. Analyst", "2026-11-27", "gone",
         "stale", "no such response"),
        # another kind of decision on a file
        (4, "reject_quote", "broken.docx", "quote_ok = false", "A. Analyst", "2026-11-27", "",
         "applied", "marked"),
    ]
    return pd.DataFrame(rows, columns=["index", "kind", "target", "value", "by", "on", "reason",
                                       "status", "effect"])


def test_summarize_excluded_responses_keeps_applied_exclusions_only():
    out = excluded_responses(_decisions())
    assert list(out["target"]) == ["locked.pdf", "d02"]
    assert excluded_responses(None).empty
    assert excluded_responses(pd.DataFrame()).empty


def test_summarize_excluded_files_resolve_file_names_and_doc_ids():
    tables = build_tables()
    manifest = tables["manifest"]
    d02_path = manifest.loc[manifest["doc_id"] == "d02", "source_path"].iloc[0]
    assert excluded_files(_decisions(), manifest) == {"locked.pdf", d02_path}
    assert excluded_files(None, manifest) == set()


def test_summarize_and_report_name_the_same_excluded_responses():
    tables = build_tables()
    summaries = summarize({**tables, "decisions": _decisions()}, CFG)
    files = summaries["files"].set_index("source_path")["counted_as"]
    marked = set(files[files == "excluded by the analyst"].index)
    assert marked == excluded_files(_decisions(), tables["manifest"])
    blocks = build_blocks(summaries, "en", {})
    tables_in_draft = [b for b in blocks if b["kind"] == "table" and len(b["header"]) == 3
                       and b["header"][2] == "Decided by"]
    assert len(tables_in_draft) == 1
    assert [row[0] for row in tables_in_draft[0]["rows"]] == ["locked.pdf", "d02"]
