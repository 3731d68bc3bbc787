"""The written summaries: named sheets, no formulas from submitted text, stable bytes."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from openpyxl import load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_fixture import build_tables  # noqa: E402

from pipeline.config import Config  # noqa: E402
from pipeline.summarize import TABLE_ORDER, summarize, write_summaries  # noqa: E402


def test_summarize_xlsx_and_csv_hold_no_formulas(tmp_path):
    summaries = summarize(build_tables(hostile=True), Config())
    write_summaries(summaries, tmp_path)
    wb = load_workbook(tmp_path / "tables" / "summary.xlsx")
    assert wb.sheetnames == list(TABLE_ORDER)
    texts = []
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    assert any("HYPERLINK" in t for t in texts) and any("@SUM" in t for t in texts)
    assert not any(t.startswith(("=", "+", "-", "@", "\t", "\r")) for t in texts)
    for name in TABLE_ORDER:
        with open(tmp_path / "tables" / f"{name}.csv", encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in row), name
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["responses_distinct"] == 7


def test_summarize_theme_prevalence_csv_feeds_dvc_plots(tmp_path):
    write_summaries(summarize(build_tables(), Config()), tmp_path)
    with open(tmp_path / "tables" / "theme_prevalence.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert {"theme", "share"} <= set(rows[0])
    assert all(0 <= float(r["share"]) <= 1 for r in rows)


def test_summarize_outputs_are_byte_identical_across_runs(tmp_path):
    for run in ("a", "b"):
        write_summaries(summarize(build_tables(), Config()), tmp_path / run)
    for path in sorted((tmp_path / "a").rglob("*.*")):
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert path.read_bytes() == twin.read_bytes(), path.name
