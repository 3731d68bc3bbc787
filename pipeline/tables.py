"""Reading and writing the pipeline's files safely.

Every file is written to a temporary file in the same folder and renamed into place,
so a run killed mid-write leaves the previous output intact. Parquet is written with
fixed settings so the same table gives the same bytes. Anything a spreadsheet may open
(CSV, XLSX) is neutralised against formula injection.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.schemas import validate

# A cell that starts with one of these is read as a formula by Excel, LibreOffice or
# Google Sheets (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def table_path(out: Path, stage: str, name: str) -> Path:
    """Where table ``name`` of ``stage`` lives under the output folder ``out``."""
    return out / stage / f"{name}.parquet"


def write_table(path: Path, df: pd.DataFrame, *, name: str | None = None) -> None:
    """Validate (when ``name`` is a contract table) and write ``df`` as Parquet, atomically."""
    if name is not None:
        validate(name, df)
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    with atomic_path(path) as tmp:
        # Fixed codec, no dictionary guessing by size, one row group: stable bytes.
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            compression_level=3,
            use_dictionary=False,
            row_group_size=max(len(df), 1),
            write_statistics=False,
        )


def read_table(path: Path, *, name: str | None = None) -> pd.DataFrame:
    """Read a Parquet table and validate it when ``name`` is a contract table."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist; run the stage that writes it first (see `textmine --help`)"
        )
    df = pq.read_table(path).to_pandas()
    if name is not None:
        validate(name, df)
    return df


def neutralise_cell(value: Any) -> Any:
    """Make a text cell inert in a spreadsheet by prefixing a quote to formula starters."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_cell)
    out.columns = [str(neutralise_cell(str(c))) for c in out.columns]
    return out


def write_csv(path: Path, df: pd.DataFrame) -> None:
    """Write a CSV (UTF-8 with BOM so Excel reads the six scripts) with no live formulas."""
    buf = io.StringIO()
    neutralise_frame(df).to_csv(buf, index=False, lineterminator="\n")
    write_bytes(path, ("\ufeff" + buf.getvalue()).encode("utf-8"))


def write_xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    """Write one workbook, a sheet per table: header frozen, widths set, no formulas.

    openpyxl treats any string starting with ``=`` as a formula, so every text cell is
    neutralised first and then stored explicitly as a string.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for sheet_name, df in sheets.items():
        ws = wb.create_sheet(title=sheet_name[:31])
        safe = neutralise_frame(df)
        ws.append([str(c) for c in safe.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in safe.itertuples(index=False):
            values = []
            for v in row:
                if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
                    values.append(None)
                elif isinstance(v, (list, tuple, set)):
                    values.append(str(neutralise_cell("; ".join(map(str, v)))))
                elif hasattr(v, "item"):
                    values.append(v.item())
                else:
                    values.append(v)
            ws.append(values)
        for cell_row in ws.iter_rows(min_row=2):
            for cell in cell_row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        ws.freeze_panes = "A2"
        for i, col in enumerate(safe.columns, start=1):
            sample = [str(col)] + [str(v) for v in safe[col].head(200).tolist()]
            width = min(max(len(s) for s in sample) + 2, 60)
            ws.column_dimensions[get_column_letter(i)].width = max(width, 8)
    with atomic_path(path) as tmp:
        wb.save(tmp)
