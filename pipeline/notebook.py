"""Helpers for the analyst notebooks: find and read the pipeline's outputs.

The notebooks read only what the pipeline wrote (stage tables under ``corpora/interim``,
summary tables under ``reports/tables``); the logic they need lives here or in the
stage modules, so a cell is never copied between notebooks.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from pipeline.tables import FORMULA_PREFIXES


def project_root(start: Path | None = None) -> Path:
    """The nearest folder holding ``dvc.yaml`` (notebooks run from ``notebooks/``)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").exists():
            return folder
    return here


def output_dirs() -> tuple[Path, Path]:
    """``(stage tables, reports)`` folders: ``$TEXTMINE_OUT`` and ``$TEXTMINE_REPORTS``, else
    the project's ``corpora/interim`` and ``reports``."""
    root = project_root()
    out = Path(os.environ.get("TEXTMINE_OUT") or root / "corpora" / "interim")
    reports = Path(os.environ.get("TEXTMINE_REPORTS") or root / "reports")
    return out, reports


def load_tables(out: Path | None = None) -> dict[str, pd.DataFrame]:
    """Every stage table that exists under ``out``, validated against its contract."""
    from pipeline.cli import load_available

    return load_available(out or output_dirs()[0])


def read_summary(name: str, reports: Path | None = None) -> pd.DataFrame:
    """A summary table from ``reports/tables/<name>.csv``, with the quote that guarded a
    formula-like cell in spreadsheets taken off again."""
    path = (reports or output_dirs()[1]) / "tables" / f"{name}.csv"
    df = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].map(_unguard)
    return df


def _unguard(value: object) -> object:
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value
