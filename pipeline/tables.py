"""Reading and writing the pipeline's files safely.

Every file is written to a temporary file in the same folder and renamed into place,
so a run killed mid-write leaves the previous output intact. Parquet is written with
fixed settings so the same table gives the same bytes. Anything a spreadsheet may open
(CSV, XLSX) is neutralised against formula injection.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.schemas import validate

# A cell that starts with one of these is read as a formula by Excel, LibreOffice or
# Google Sheets (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _read_umask() -> int:
    # os.umask() can only be read by setting it, which races with other threads.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    # mkstemp creates 0600; outputs are shared files, so use the usual umask-based mode.
    os.chmod(tmp, 0o666 & ~_UMASK)
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


def read_table(
    path: Path, *, name: str | None = None, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Read a Parquet table and validate it when ``name`` is a contract table.

    Args:
        path: the Parquet file.
        name: the contract table it holds (validated when given).
        columns: read only these columns (a stage that needs the ids of the documents
            need not hold their texts); the contract is checked on them.
    """
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist; run the stage that writes it first (see `textmine --help`)"
        )
    df = pq.read_table(path, columns=list(columns) if columns is not None else None).to_pandas()
    if name is not None:
        validate(name, df, only=columns)
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
    # CRLF rows (RFC 4180): a cell holding a bare CR or LF is then always quoted, so a
    # line break inside submitted text cannot start a new row with a live formula.
    neutralise_frame(df).to_csv(buf, index=False, lineterminator="\r\n")
    write_bytes(path, ("\ufeff" + buf.getvalue()).encode("utf-8"))


def write_xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    """Write one workbook, a sheet per table: header frozen, widths set, no formulas.

    openpyxl treats any string starting with ``=`` as a formula, so every text cell is
    neutralised first and then stored explicitly as a string. Control characters that
    XLSX cannot hold (openpyxl refuses them) are removed from text cells.
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
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
            values: list[Any] = []
            for v in row:
                if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
                    values.append(None)
                elif isinstance(v, (list, tuple, set)):
                    values.append(str(neutralise_cell("; ".join(map(str, v)))))
                elif hasattr(v, "item"):
                    values.append(v.item())
                else:
                    values.append(v)
            values = [neutralise_cell(ILLEGAL_CHARACTERS_RE.sub("", v)) if isinstance(v, str) else v
                      for v in values]
            ws.append(values)
        for cell_row in ws.iter_rows(min_row=2):
            for cell in cell_row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        ws.freeze_panes = "A2"
        if len(safe.columns):
            ws.auto_filter.ref = ws.dimensions  # analysts filter by type, region, theme
        wrap = Alignment(wrap_text=True, vertical="top")
        for i, col in enumerate(safe.columns, start=1):
            sample = [str(col)] + [str(v) for v in safe[col].head(200).tolist()]
            width = min(max(len(s) for s in sample) + 2, 60)
            letter = get_column_letter(i)
            ws.column_dimensions[letter].width = max(width, 8)
            if width >= 60:  # long text (quotes, reasons): wrap instead of running off
                for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                    cell.alignment = wrap
    # Fixed document dates and zip member dates: the same tables give the same bytes.
    wb.properties.created = wb.properties.modified = datetime.datetime(2000, 1, 1)
    wb.properties.creator = "textmine"
    buf = io.BytesIO()
    wb.save(buf)
    write_bytes(path, stable_zip(buf.getvalue()))


def stable_zip(data: bytes) -> bytes:
    """Rewrite a zip (XLSX, DOCX) with fixed member dates and modes, same order and content."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            blob = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps "modified" with the clock on save; pin it.
                blob = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>2000-01-01T00:00:00Z\g<2>", blob)
            dst.writestr(fixed, blob)
    return out.getvalue()
