"""The rows a per-document stage wrote on its last run, kept in one Arrow file.

On a re-run of 1,000 responses with one added, the language and entities stages found
999 results in their per-document cache (:mod:`pipeline.cache`), one file each, and
built their table from them row by row: a fifth of a second in each stage. This store
keeps the rows the stage wrote, each tagged with its document's cache key, in
``<cache>/<stage>/rows.arrow``; the next run takes the rows of every document whose key
is unchanged with one read and one ``take``, and looks up only the others in the
per-document cache.

The file is valid for the params digest it was written under (the stage's params and
code version, as the per-document entries'); under another, or damaged, it is ignored.
It never replaces the per-document entries, which stay complete: it only saves reading
them one by one. Like them, it is written by the pipeline into its own cache folder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from types import TracebackType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.tables import atomic_path, write_text

logger = logging.getLogger(__name__)

# The column that tags each row with its document's cache key (dropped from the table
# the stage writes).
KEY_COLUMN = "__cache_key"
_FILE = "rows.arrow"
_META = b"textmine.row_store"
_FORMAT = 1


class RowStore:
    """The rows of the last run of one stage, by document cache key.

    Args:
        folder: the stage's per-document cache folder (``DocCache.root``).
        digest: the per-document cache's params digest (``DocCache.digest``).
        schema: the Arrow schema of the stage's rows, without the key column; a file of
            another schema is ignored.
    """

    def __init__(self, folder: Path, *, digest: str, schema: pa.Schema) -> None:
        self.path = Path(folder) / _FILE
        self.digest = digest
        self.schema = schema.append(pa.field(KEY_COLUMN, pa.string()))
        self._table: pa.Table | None = None
        self._spans: dict[str, tuple[int, int]] = {}
        self._empty: set[str] = set()
        self._load()

    def _load(self) -> None:
        try:
            with pa.memory_map(str(self.path)) as source:
                table = pa.ipc.open_file(source).read_all()
        except FileNotFoundError:
            return
        except (OSError, pa.ArrowException) as exc:
            logger.warning("row store %s is unreadable (%s); using the per-document cache", self.path, exc)
            return
        try:
            meta = json.loads((table.schema.metadata or {}).get(_META, b"{}"))
        except ValueError:
            meta = {}
        if meta.get("format") != _FORMAT or meta.get("digest") != self.digest:
            return  # other params or code: its keys would never match anyway
        empty: list[str] = []
        try:
            side = json.loads(_sidecar(self.path).read_text(encoding="utf-8"))
            if side.get("token") == meta.get("token"):
                empty = list(side.get("empty", []))
        except (OSError, ValueError, AttributeError):
            pass  # documents without rows are then looked up in the per-document cache
        if not table.schema.remove_metadata().equals(self.schema):
            logger.warning("row store %s holds other columns; using the per-document cache", self.path)
            return
        spans = _runs(table.column(KEY_COLUMN))
        if spans is None:
            logger.warning("row store %s is not grouped by document; using the per-document cache", self.path)
            return
        self._table, self._spans, self._empty = table, spans, set(empty)

    def take(self, keys: Sequence[str]) -> tuple[pa.Table | None, set[str]]:
        """The stored rows of those ``keys`` it holds (documents in the order of ``keys``,
        each one's rows in stored order, key column included), and the keys it holds
        (with those of documents that had no rows)."""
        held = {k for k in keys if k in self._spans or k in self._empty}
        spans = [self._spans[k] for k in keys if k in self._spans]
        if self._table is None or not spans:
            return None, held
        index = np.concatenate([np.arange(a, b) for a, b in spans])
        return self._table.take(pa.array(index)), held

    def writer(self) -> RowStoreWriter:
        """A writer of this run's rows, batch by batch; the file is replaced when the
        writer closes without an error (the old one stays otherwise)."""
        return RowStoreWriter(self)


class RowStoreWriter:
    """Streams a run's rows into the store a batch at a time (nothing is held).

    The keys of documents with no rows are only known at the end: they go into a small
    JSON file beside the rows, tied to them by a token written in both.
    """

    def __init__(self, store: RowStore) -> None:
        self.store = store
        self._token = secrets.token_hex(8)
        # Over all batches: a document's rows and its key may come in different writes.
        self._keys: set[str] = set()
        self._with_rows: set[str] = set()
        self._left_out: set[str] = set()
        self._stack = contextlib.ExitStack()
        self._writer: pa.ipc.RecordBatchFileWriter | None = None

    def __enter__(self) -> RowStoreWriter:
        meta = {"format": _FORMAT, "digest": self.store.digest, "token": self._token}
        schema = self.store.schema.with_metadata({_META: json.dumps(meta).encode()})
        tmp = self._stack.enter_context(atomic_path(self.store.path))
        sink = self._stack.enter_context(pa.OSFile(str(tmp), "wb"))
        # lz4: a tenth of the size for a few milliseconds; the file is read whole.
        self._writer = self._stack.enter_context(
            pa.ipc.new_file(sink, schema, options=pa.ipc.IpcWriteOptions(compression="lz4")))
        return self

    def write(self, table: pa.Table, keys: Iterable[str], *, leave_out: Collection[str] = ()) -> None:
        """Add a batch: ``table`` (the store's schema, key column included) holds the
        rows of the documents ``keys``, except those of ``leave_out`` (results the next
        run must compute again), which are not kept."""
        assert self._writer is not None, "use the writer as a context manager"
        table = table.cast(self.store.schema)
        if leave_out:
            gone = pc.is_in(table.column(KEY_COLUMN), value_set=pa.array(sorted(leave_out), pa.string()))
            table = table.filter(pc.invert(gone))
        self._keys.update(keys)
        self._with_rows.update(pc.unique(table.column(KEY_COLUMN)).to_pylist())
        self._left_out.update(leave_out)
        self._writer.write_table(table)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # The rows are renamed into place first: a sidecar of another token is ignored.
        self._stack.__exit__(exc_type, exc, tb)
        if exc_type is None:
            empty = self._keys - self._with_rows - self._left_out
            write_text(_sidecar(self.store.path), json.dumps({"token": self._token, "empty": sorted(empty)}))


def in_order(stored: pa.Table | None, new: pa.Table, keys: Sequence[str]) -> pa.Table:
    """The rows of ``stored`` (from :meth:`RowStore.take`) and ``new`` (the store's schema,
    key column included) together, documents in the order of ``keys`` (as an uncached
    run gives them), each one's rows in their order."""
    if stored is None:
        return new
    both = pa.concat_tables([stored, new.cast(stored.schema)])
    spans = _runs(both.column(KEY_COLUMN))
    if spans is None:
        raise ValueError("a document's rows are both stored and new")
    index = [np.arange(*spans[k]) for k in keys if k in spans]
    return both.take(pa.array(np.concatenate(index) if index else [], pa.int64()))


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".empty.json")


def _runs(keys: pa.ChunkedArray) -> dict[str, tuple[int, int]] | None:
    """``key -> (start, stop)`` of each run of equal keys; None when a key has two runs."""
    if len(keys) == 0:
        return {}
    encoded = pc.dictionary_encode(keys.combine_chunks())
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    stops = np.append(starts[1:], len(codes))
    names = encoded.dictionary.to_pylist()
    spans = {names[codes[a]]: (int(a), int(b)) for a, b in zip(starts, stops, strict=True)}
    return spans if len(spans) == len(starts) else None
