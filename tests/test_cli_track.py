"""`textmine track`: who responded to which consultation, and theme shares over time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from pipeline.cli import main
from pipeline.tables import read_table, table_path, write_table


def test_cli_track_follows_actors_across_two_consultations(sample_run: Path, tmp_path: Path):
    # A second consultation: the same respondents answering again a year later.
    second = tmp_path / "second"
    shutil.copytree(sample_run, second, ignore=shutil.ignore_patterns("reports", "cache"))
    for stage in ("ingest", "review"):  # the model's table and the reviewed copy
        path = table_path(second, stage, "documents")
        if path.exists():
            docs = read_table(path, name="documents")
            docs["consultation"] = "environment-2021"
            docs["submitted"] = "2021-11-01"
            write_table(path, docs, name="documents")

    reports = tmp_path / "reports"
    assert main(["track", str(sample_run), str(second), "--reports", str(reports)]) == 0
    participation = pd.read_csv(reports / "tables" / "actor_participation.csv", encoding="utf-8-sig")
    assert {"sample", "environment-2021"} <= set(participation.columns)
    assert len(participation) >= 25, "one row per actor"
    shares = pd.read_csv(reports / "tables" / "theme_shares_by_consultation.csv", encoding="utf-8-sig")
    assert set(shares["consultation"]) == {"sample", "environment-2021"}
    assert (reports / "figures" / "theme_shares_by_consultation.png").stat().st_size > 1000
