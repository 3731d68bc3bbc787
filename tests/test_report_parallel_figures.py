"""Figures drawn in a child process are the figures drawn in-process, byte for byte."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_fixture import build_tables  # noqa: E402

from pipeline.config import ComputeConfig, Config, ReportConfig  # noqa: E402
from pipeline.report import render_report  # noqa: E402


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_report_parallel_and_serial_drafts_are_byte_identical(tmp_path):
    tables = build_tables()
    outs = {}
    for workers in (1, 2):
        cfg = Config(compute=ComputeConfig(workers=workers), report=ReportConfig(languages=("en", "fr")))
        outs[workers] = tmp_path / f"w{workers}"
        render_report(tables, outs[workers], cfg)
    serial, parallel = _files(outs[1]), _files(outs[2])
    assert len([n for n in serial if n.startswith("figures/")]) == 6
    assert serial.keys() == parallel.keys()
    for name in serial:
        assert serial[name] == parallel[name], name
    # No private folder of the child is left behind in the reports.
    assert not [p for p in outs[2].rglob("textmine-figures-*")]
