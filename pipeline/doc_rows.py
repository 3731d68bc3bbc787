"""One document's page and segment rows as Arrow tables, kept between ingestion runs.

The ingest cache holds what the extractors read from a file; every run used to lay each
document out again and turn its pages and paragraphs into Python rows and then into a
frame, which on a re-run of a thousand responses cost more than reading them. This
module keeps the result, the rows of the ``pages`` and ``segments`` tables, as Arrow
tables beside the extraction entry: a re-run concatenates them as they are, without a
Python object per row.

An entry holds the rows and the extraction's status fields, addressed like the
extraction entry (file hash, kind, settings and code digest; this module is part of that
digest), so a stale entry is never read. Entries are pickles written by the pipeline
into its own cache folder, as the other caches (``pipeline.cache``); an unreadable one
is ignored and the document is laid out again.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.tables import write_bytes

logger = logging.getLogger(__name__)

PAGE_COLUMNS = ["doc_id", "page_no", "text"]
SEGMENT_COLUMNS = ["doc_id", "seg_id", "page_no", "char_start", "char_end", "text"]
# The Arrow types pandas gives these columns (its ``str`` dtype is large_string).
PAGES_SCHEMA = pa.schema([("doc_id", pa.large_string()), ("page_no", pa.int64()), ("text", pa.large_string())])
SEGMENTS_SCHEMA = pa.schema([("doc_id", pa.large_string()), ("seg_id", pa.int64()), ("page_no", pa.int64()),
                             ("char_start", pa.int64()), ("char_end", pa.int64()), ("text", pa.large_string())])

_FORMAT = 1
# The extraction fields an entry carries, so that a hit needs nothing else.
STATUS_FIELDS = ("status", "detail", "n_pages", "n_ocr_pages")


@dataclass
class DocRows:
    """A laid-out document: its text, its number of laid-out pages, and its rows."""

    text: str
    n_layout_pages: int
    pages: pa.Table
    segments: pa.Table


def from_layout(doc_id: str, text: str, page_texts: list[str],
                spans: list[tuple[int, int, int]]) -> DocRows:
    """The rows of a document laid out as ``text`` (``spans``: page, start, end of each
    segment) with ``page_texts`` one per page."""
    n = len(spans)
    pages = pa.table([pa.array([doc_id] * len(page_texts), pa.large_string()),
                      pa.array(range(1, len(page_texts) + 1), pa.int64()),
                      pa.array(page_texts, pa.large_string())], schema=PAGES_SCHEMA)
    segments = pa.table([pa.array([doc_id] * n, pa.large_string()),
                         pa.array(range(n), pa.int64()),
                         pa.array([s[0] for s in spans], pa.int64()),
                         pa.array([s[1] for s in spans], pa.int64()),
                         pa.array([s[2] for s in spans], pa.int64()),
                         pa.array([text[s[1]:s[2]] for s in spans], pa.large_string())],
                        schema=SEGMENTS_SCHEMA)
    return DocRows(text, len(page_texts), pages, segments)


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _table(data: bytes, schema: pa.Schema) -> pa.Table:
    table = pa.ipc.open_stream(data).read_all()
    if not table.schema.equals(schema):
        raise ValueError(f"rows of schema {table.schema}, expected {schema}")
    return table


def write(path: Path, rows: DocRows, status: dict[str, Any]) -> None:
    """Keep ``rows`` and the extraction's ``status`` fields at ``path``."""
    entry = {"format": _FORMAT, "text": rows.text, "n_layout_pages": rows.n_layout_pages,
             "pages": _ipc(rows.pages), "segments": _ipc(rows.segments),
             **{k: status.get(k) for k in STATUS_FIELDS}}
    write_bytes(path, pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))


def read(path: Path) -> tuple[DocRows, dict[str, Any]] | None:
    """The rows and status fields kept at ``path``; None when absent or unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        entry = pickle.loads(data)
        if not isinstance(entry, dict) or entry.get("format") != _FORMAT:
            return None
        rows = DocRows(str(entry["text"]), int(entry["n_layout_pages"]),
                       _table(entry["pages"], PAGES_SCHEMA), _table(entry["segments"], SEGMENTS_SCHEMA))
        return rows, {k: entry.get(k) for k in STATUS_FIELDS}
    except Exception as exc:  # noqa: BLE001 - a damaged entry is recomputed, whatever broke
        logger.warning("ingest rows cache entry %s is unreadable (%s); laying the document out again",
                       path, exc)
        return None


def concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    """The rows of several documents, in order."""
    return pa.concat_tables(tables) if tables else schema.empty_table()
