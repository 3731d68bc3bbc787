"""The frame: params validation, table contracts, atomic and stable writes, formula safety."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline.config import ConfigError, load_config
from pipeline.schemas import SchemaError, validate
from pipeline.tables import read_table, write_csv, write_table, write_xlsx

ROOT = Path(__file__).resolve().parents[1]


def test_config_reads_the_project_params():
    cfg = load_config(ROOT / "params.yaml")
    assert cfg.base.seed == 42
    assert cfg.compute.n_workers >= 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ingest:\n  timeout: 5\n", "unknown key(s) ['timeout'] in params section 'ingest'"),
        ("nosuch: {}\n", "unknown params section(s) ['nosuch']"),
        ("compute:\n  backend: spark\n", "compute.backend must be one of local, dask"),
        ("ingest:\n  timeout_s: fast\n", "ingest.timeout_s must be a number"),
        ("ingest:\n  ocr: 1\n", "ingest.ocr must be true or false"),
    ],
)
def test_config_rejects_bad_params_with_a_message_naming_the_key(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value)


def test_schemas_reject_missing_columns_and_duplicate_keys():
    with pytest.raises(SchemaError, match="lacks required columns"):
        validate("pages", pd.DataFrame({"doc_id": ["a"], "page_no": [1]}))
    dup = pd.DataFrame({"doc_id": ["a", "a"], "page_no": [1, 1], "text": ["x", "y"]})
    with pytest.raises(SchemaError, match="duplicate keys"):
        validate("pages", dup)
    bad = pd.DataFrame(
        {"source_path": ["a"], "file_sha256": ["0"], "consultation": ["c"], "status": ["lost"],
         "detail": ["?"], "doc_id": [None]}
    )
    with pytest.raises(SchemaError, match="unknown statuses"):
        validate("manifest", bad)


def test_write_table_is_byte_stable_and_round_trips(tmp_path):
    df = pd.DataFrame({"doc_id": ["b", "a"], "page_no": [2, 1], "text": ["مرحبا", "你好"]})
    write_table(tmp_path / "one.parquet", df, name="pages")
    write_table(tmp_path / "two.parquet", df, name="pages")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()
    back = read_table(tmp_path / "one.parquet", name="pages")
    assert back["text"].tolist() == ["مرحبا", "你好"]
    assert not list(tmp_path.glob(".*.tmp")), "temporary files must not be left behind"


def test_read_table_reads_only_the_columns_asked_and_checks_them(tmp_path):
    df = pd.DataFrame({"doc_id": ["b", "a"], "page_no": [2, 1], "text": ["long", "texts"]})
    write_table(tmp_path / "p.parquet", df, name="pages")
    ids = read_table(tmp_path / "p.parquet", name="pages", columns=["doc_id", "page_no"])
    assert list(ids.columns) == ["doc_id", "page_no"]
    # The key is still checked on what was read.
    write_table(tmp_path / "d.parquet", pd.concat([df, df]), name=None)
    with pytest.raises(SchemaError, match="duplicate keys"):
        read_table(tmp_path / "d.parquet", name="pages", columns=["doc_id", "page_no"])
    with pytest.raises(SchemaError, match="nulls in key column"):
        validate("pages", pd.DataFrame({"doc_id": [None]}), only=["doc_id"])


def test_csv_and_xlsx_hold_no_formulas(tmp_path):
    df = pd.DataFrame(
        {"text": ['=HYPERLINK("http://x","y")', "@SUM(A1:A2)", "+1", "-2", "\tx", "plain"],
         "n": [1, 2, 3, 4, 5, 6]}
    )
    write_csv(tmp_path / "t.csv", df)
    with open(tmp_path / "t.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert all(not r["text"].startswith(("=", "+", "-", "@", "\t")) for r in rows)
    write_xlsx(tmp_path / "t.xlsx", {"responses": df})
    ws = load_workbook(tmp_path / "t.xlsx")["responses"]
    cells = [c for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert ws.freeze_panes == "A2"
    assert ws.cell(row=2, column=1).value == "'" + '=HYPERLINK("http://x","y")'
