"""Reading and writing the pipeline's files safely.

Every file is written to a temporary file in the same folder and renamed into place,
so a run killed mid-write leaves the previous output intact. Parquet is written with
fixed settings so the same table gives the same bytes. Anything a spreadsheet may open
(CSV, XLSX) is neutralised against formula injection.
"""

from __future__ import annotations

import contextlib
import copy
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
    neutralised first (it then starts with a quote and is stored as a string). Control characters that
    XLSX cannot hold (openpyxl refuses them) are removed from text cells.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    # Write-only: rows stream into the sheet's XML instead of becoming a Cell object each
    # (a third of the time on the summaries of 1,000 responses); the bytes are those of
    # a normal workbook, so widths, filters and panes are set before the first row.
    wb = Workbook(write_only=True)
    for sheet_name, df in sheets.items():
        ws = wb.create_sheet(title=sheet_name[:31])
        safe = neutralise_frame(df)
        last = get_column_letter(max(len(safe.columns), 1))
        ref = f"A1:{last}{len(safe) + 1}" if len(safe.columns) else "A1:A1"
        # The <dimension> a normal sheet writes (readers in read-only mode size the
        # sheet by it); openpyxl's writer takes it from this method when there is one.
        ws.calculate_dimension = lambda ref=ref: ref
        ws.freeze_panes = "A2"
        if len(safe.columns):
            ws.auto_filter.ref = ref  # analysts filter by type, region, theme
        wrap = Alignment(wrap_text=True, vertical="top")
        wrapped: list[int] = []
        for i, col in enumerate(safe.columns, start=1):
            sample = [str(col)] + [str(v) for v in safe[col].head(200).tolist()]
            width = min(max(len(s) for s in sample) + 2, 60)
            ws.column_dimensions[get_column_letter(i)].width = max(width, 8)
            if width >= 60:  # long text (quotes, reasons): wrap instead of running off
                wrapped.append(i - 1)
        header = [WriteOnlyCell(ws, value=str(c)) for c in safe.columns] or [WriteOnlyCell(ws)]
        for cell in header:
            cell.font = Font(bold=True)
        ws.append(header)
        wrap_style = None
        if wrapped:
            first = WriteOnlyCell(ws)
            first.alignment = wrap
            wrap_style = first._style
        # A sheet without columns has no rows to write (a normal sheet skips empty rows).
        for row in safe.itertuples(index=False) if len(safe.columns) else ():
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
            # openpyxl stores a string as a formula only when it starts with "=", which a
            # neutralised cell never does (tests read every cell's type back): no second
            # pass over the cells (a fifth of the summarize stage on 1,000 responses).
            for k in wrapped:
                cell = WriteOnlyCell(ws, value=values[k])
                # Its style ids, as openpyxl's own worksheet copy does: assigning the
                # alignment would hash it into the workbook's styles for every cell.
                cell._style = copy.copy(wrap_style)
                values[k] = cell
            ws.append(values)
    # Fixed document dates and zip member dates: the same tables give the same bytes.
    wb.properties.created = wb.properties.modified = datetime.datetime(2000, 1, 1)
    wb.properties.creator = "textmine"
    buf = io.BytesIO()
    # Stored, not deflated: stable_zip compresses every member once, as it rewrites them.
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
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


# --- streaming: tables too large to hold at once -------------------------------------------

_PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": False,
    "write_statistics": False,
}


def _pandas_columns(schema: pa.Schema) -> list[dict[str, Any]]:
    meta = (schema.metadata or {}).get(b"pandas")
    return json.loads(meta)["columns"] if meta else []


def _merge_schemas(current: pa.Schema, new: pa.Schema, path: Path) -> pa.Schema:
    """``current`` with the types (and pandas column metadata) that ``new`` knows better.

    A column that is null in every row of a batch has Arrow type ``null`` and pandas type
    ``empty``; a later batch that holds values for it fixes its real type, exactly as
    writing all the rows at once would have.
    """
    if current.names != new.names:
        raise ValueError(f"{path}: a batch has columns {new.names}, the table {current.names}")
    fields = []
    for old, fresh in zip(current, new, strict=True):
        if old.type == fresh.type or pa.types.is_null(fresh.type):
            fields.append(old)
        elif pa.types.is_null(old.type):
            fields.append(fresh)
        else:
            raise ValueError(f"{path}: column {old.name!r} is {old.type} in one batch and {fresh.type} in another")
    meta = dict(current.metadata or {})
    old_cols, new_cols = _pandas_columns(current), _pandas_columns(new)
    if old_cols and len(old_cols) == len(new_cols):
        cols = [n if o.get("pandas_type") == "empty" and n.get("pandas_type") != "empty" else o
                for o, n in zip(old_cols, new_cols, strict=True)]
        pandas_meta = json.loads(meta[b"pandas"])
        pandas_meta["columns"] = cols
        meta[b"pandas"] = json.dumps(pandas_meta).encode("utf-8")
    return pa.schema(fields, metadata=meta)


class TableWriter:
    """Write a Parquet table batch by batch, so that its rows are never all in memory.

    Each :meth:`write` adds one row group; the file appears (atomically, like
    :func:`write_table`) only when :meth:`close` succeeds, and an exception inside a
    ``with`` block leaves the previous file in place. The table read back with
    :func:`read_table` equals the one :func:`write_table` would have written from all
    the batches concatenated: same rows, order, dtypes and contract checks. The bytes
    differ (a row group per batch instead of one), and are stable for the same batches.

    Args:
        path: the Parquet file to write.
        name: the contract table (each batch is validated; the key must be unique over
            all batches).
        split_key: a key column whose values never recur in a later batch (e.g.
            ``doc_id`` when batches hold whole documents): uniqueness across batches is
            then checked on it alone, without keeping every key.
    """

    def __init__(self, path: Path, *, name: str | None = None, split_key: str | None = None) -> None:
        self.path = Path(path)
        self.name = name
        self.split_key = split_key
        self.rows = 0
        self._stack = contextlib.ExitStack()
        self._tmp: Path | None = None
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._seen: set[Any] = set()
        self._closed = False

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._closed:
            self.close()

    def write(self, df: pd.DataFrame) -> None:
        """Validate and append ``df`` (empty frames are skipped)."""
        if self._closed:
            raise ValueError(f"{self.path}: the writer is closed")
        if not len(df):
            return
        if self.name is not None:
            validate(self.name, df)
            self._check_across(df)
        table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
        if self._writer is None:
            self._tmp = self._stack.enter_context(atomic_path(self.path))
            self._open(table.schema)
        else:
            assert self._schema is not None
            if not table.schema.equals(self._schema, check_metadata=True):
                merged = _merge_schemas(self._schema, table.schema, self.path)
                if not merged.equals(self._schema, check_metadata=True):
                    self._rewrite(merged)
                table = table.cast(self._schema)
        assert self._writer is not None
        self._writer.write_table(table, row_group_size=len(table))
        self.rows += len(table)

    def close(self, *, empty: pd.DataFrame | None = None) -> int:
        """Finish the file; with no rows written, write ``empty`` (the empty table with
        its dtypes) instead. Returns the number of rows."""
        if self._closed:
            return self.rows
        self._closed = True
        if self._writer is None:
            self._stack.close()
            if empty is None:
                raise ValueError(f"{self.path}: no rows were written and no empty table was given")
            write_table(self.path, empty, name=self.name)
            return 0
        self._writer.close()
        self._writer = None
        self._stack.close()  # renames the temporary file into place
        return self.rows

    def abort(self) -> None:
        """Drop what was written; the previous file (if any) stays."""
        self._closed = True
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def _open(self, schema: pa.Schema) -> None:
        assert self._tmp is not None
        self._schema = schema
        self._writer = pq.ParquetWriter(self._tmp, schema, **_PARQUET_OPTIONS)

    def _rewrite(self, schema: pa.Schema) -> None:
        # A column null so far got its real type: copy the row groups written so far
        # under the new schema (one at a time), then go on.
        assert self._writer is not None and self._tmp is not None
        self._writer.close()
        old = self._tmp.with_name(self._tmp.name + ".old")
        os.replace(self._tmp, old)
        try:
            self._open(schema)
            src = pq.ParquetFile(old)
            for i in range(src.num_row_groups):
                group = src.read_row_group(i).cast(schema)
                self._writer.write_table(group, row_group_size=len(group))
        finally:
            old.unlink(missing_ok=True)

    def _check_across(self, df: pd.DataFrame) -> None:
        from pipeline.schemas import SCHEMAS, SchemaError

        if self.split_key is not None:
            values = set(df[self.split_key].tolist())
            again = values & self._seen
            if again:
                raise SchemaError(f"table {self.name!r}: {self.split_key} {sorted(again)[:3]} "
                                  "appear in more than one batch")
            self._seen |= values
            return
        key = list(SCHEMAS[self.name].key) if self.name in SCHEMAS else []
        if not key:
            return
        tuples = set(df[key].itertuples(index=False, name=None))
        again = tuples & self._seen
        if again:
            raise SchemaError(f"table {self.name!r} has duplicate keys across batches, e.g. {sorted(again, key=str)[:3]}")
        self._seen |= tuples


def iter_table_batches(path: Path, *, name: str | None = None, columns: Sequence[str] | None = None,
                       batch_rows: int = 20_000) -> Iterator[pd.DataFrame]:
    """Read a Parquet table ``batch_rows`` rows at a time (only ``columns``), each batch
    as :func:`read_table` would give those rows, checked against the contract."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist; run the stage that writes it first (see `textmine --help`)"
        )
    pf = pq.ParquetFile(path)
    cols = list(columns) if columns is not None else None
    schema = pf.schema_arrow
    if cols is not None:
        schema = pa.schema([schema.field(c) for c in cols], metadata=schema.metadata)
    for batch in pf.iter_batches(batch_size=batch_rows, columns=cols):
        df = pa.Table.from_batches([batch], schema=schema).to_pandas()
        if name is not None:
            validate(name, df, only=cols)
        yield df


def read_column(path: Path, column: str) -> pa.ChunkedArray:
    """One column of a Parquet table as Arrow (compact: no Python objects per row)."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist; run the stage that writes it first (see `textmine --help`)"
        )
    return pq.read_table(path, columns=[column]).column(column)


class NotGroupedError(ValueError):
    """The rows of one group are not contiguous in the table (streaming needs them so)."""


def is_grouped(values: pa.ChunkedArray | pa.Array) -> bool:
    """True when equal values are contiguous (each value forms one run)."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if len(arr) < 2:
        return True
    import pyarrow.compute as pc

    runs = 1 + pc.sum(pc.not_equal(arr.slice(1), arr.slice(0, len(arr) - 1))).as_py()
    return runs == pc.count_distinct(arr).as_py()


def iter_table_groups(path: Path, *, key: str, name: str | None = None, columns: Sequence[str] | None = None,
                      batch_rows: int = 20_000) -> Iterator[pd.DataFrame]:
    """Read a table in batches of about ``batch_rows`` rows that each hold whole groups
    of ``key`` (e.g. every segment of a document), in table order.

    Raises:
        NotGroupedError: a group's rows are not contiguous (check with
            :func:`is_grouped` first to fall back before anything is read).
    """
    carry: pd.DataFrame | None = None
    held: pd.DataFrame | None = None  # complete groups, yielded once more rows follow
    done: set[Any] = set()
    for df in iter_table_batches(path, name=name, columns=columns, batch_rows=batch_rows):
        if carry is not None and len(carry):
            df = pd.concat([carry, df], ignore_index=True)
        keys = df[key]
        last = keys.iloc[-1]
        tail = keys.eq(last).to_numpy()
        # The last group may go on in the next batch; everything before it is complete.
        first_tail = len(df) - int(tail[::-1].argmin()) if not tail.all() else 0
        ready, carry = df.iloc[:first_tail], df.iloc[first_tail:]
        if len(ready):
            values = set(ready[key].unique().tolist())
            if values & done or last in values:
                raise NotGroupedError(f"{path}: rows of one {key} are not contiguous")
            done |= values
            if held is not None:
                yield held
            held = ready.reset_index(drop=True)
    if carry is not None and len(carry):
        if carry[key].iloc[-1] in done:
            raise NotGroupedError(f"{path}: rows of one {key} are not contiguous")
        # The last group joins the batch before it rather than making a batch alone.
        held = carry if held is None else pd.concat([held, carry], ignore_index=True)
    if held is not None:
        yield held.reset_index(drop=True)
