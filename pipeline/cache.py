"""A per-document result cache that the per-document stages share.

Incremental runs depend on it: when one response is added to a corpus of a thousand,
a per-document stage finds the other 999 results here and computes one. An entry is
addressed by the document's key (its file SHA-256 or its ``doc_id``) combined with a
digest of the stage's params and the stage's code version, so changing a knob or the
code makes every old entry unreachable (and :meth:`DocCache.prune` drops it later).

Layout: ``<folder>/<stage>/<h[:2]>/<h>.pkl`` with ``h`` the SHA-256 of (key, params
digest, code version). Each file holds a small header (magic, full address, payload
checksum) and a zlib-compressed pickle. Files are written atomically
(:func:`pipeline.tables.atomic_path`), so a killed run leaves either the old entry or
the new one; an entry that is truncated, damaged or written by another cache format is
ignored (``get`` returns ``None``) and the caller recomputes it.

Where: ``<out>/cache/<stage>`` (``DocCache(out / "cache", stage=...)``), beside the
stage tables but not inside ``<out>/<stage>/``: DVC deletes a stage's declared outs
before it re-runs the stage, which would empty the cache exactly when it is needed.
Only the pipeline writes there, and pickles are read from there only; do not point the
cache at a folder others can write to.

Keys: a file-level stage (ingestion) keys by the file's SHA-256; a stage that reads
other stages' tables keys by :func:`content_key` of the exact work item it sends to a
worker (``doc_id`` plus the segment texts and languages it reads), because a
``doc_id`` alone does not change when an upstream stage changes its output.
Workers never touch it: the process that drives a stage reads and writes entries, and
the workers (local or on a Dask cluster) only compute, so remote workers need no access
to the cache folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import pickle
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pipeline.config import ComputeConfig
from pipeline.parallel import map_ordered
from pipeline.tables import atomic_path

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Bump when the entry layout changes; old entries then fail the magic check.
_MAGIC = b"TMDC1\n"
_SUFFIX = ".pkl"
# Temporary files younger than this may belong to a writer that is still running.
_STALE_TMP_S = 600.0


def params_digest(params: Mapping[str, Any] | Any, code_version: str) -> str:
    """A stable digest of a stage's params and code version.

    Args:
        params: a mapping (or a dataclass, e.g. the stage's config section) of the
            knobs that change the stage's per-document output. Values must be
            JSON-serialisable or have a stable ``str``.
        code_version: the stage's code version string.
    """
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        params = dataclasses.asdict(params)
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping or a dataclass, got {type(params).__name__}")
    blob = json.dumps({"params": params, "code_version": code_version},
                      sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def content_key(*parts: Any) -> str:
    """A SHA-256 key for a work item (``doc_id``, segment texts, languages, ...).

    Parts are serialised as canonical JSON (tuples as lists; values without a JSON form
    by ``str``), so equal items give equal keys in every process and on every machine.
    """
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def rows_key(*parts: Any) -> str:
    """A SHA-256 key of plain values (str, int, float, bool, None, tuples and lists of
    them), as exact as :func:`content_key` and several times faster on the texts of a
    corpus: pickled, not written as JSON. The caller passes Python values, not numpy
    scalars (which pickle differently).

    Pickled without the memo (``fast``), equal values give equal bytes whichever objects
    hold them: the memo writes an object met twice as a back-reference, which would make
    the key depend on object identity.
    """
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=5)
    pickler.fast = True
    pickler.dump(parts)
    return hashlib.sha256(buf.getbuffer()).hexdigest()


class DocCache:
    """One small file per document under ``folder/<stage>/``.

    Args:
        folder: the cache root (e.g. ``<out>/cache``).
        stage: the stage name; its entries live in ``folder/<stage>/``.
        params: the stage params that change its per-document output (a mapping or a
            config dataclass).
        code_version: the stage's code version; bump it when the output changes.

    Attributes:
        hits: ``get`` calls that found a valid entry.
        misses: ``get`` calls that did not (absent, stale or corrupt).
        corrupt: entries found damaged (counted in ``misses`` too).
    """

    def __init__(self, folder: Path | str, *, stage: str, params: Mapping[str, Any] | Any,
                 code_version: str) -> None:
        if not stage or "/" in stage or stage.startswith("."):
            raise ValueError(f"stage must be a plain folder name, got {stage!r}")
        self.folder = Path(folder)
        self.stage = stage
        self.code_version = code_version
        self.digest = params_digest(params, code_version)
        self.hits = 0
        self.misses = 0
        self.corrupt = 0

    @property
    def root(self) -> Path:
        """The folder holding this stage's entries."""
        return self.folder / self.stage

    def address(self, key: str) -> str:
        """The hex name of ``key``'s entry under the current params and code version."""
        if not isinstance(key, str) or not key:
            raise ValueError(f"cache key must be a non-empty string (a sha256 or doc_id), got {key!r}")
        return hashlib.sha256(f"{self.stage}\0{key}\0{self.digest}".encode()).hexdigest()

    def path(self, key: str) -> Path:
        """The file that holds (or would hold) ``key``'s entry."""
        h = self.address(key)
        return self.root / h[:2] / f"{h}{_SUFFIX}"

    def get(self, key: str) -> Any | None:
        """Return the cached object for ``key``, or ``None`` when absent or unreadable."""
        # The address once, and the file opened by its name: a stage looks up every
        # document of the corpus here on every run.
        address = self.address(key)
        path = os.path.join(self.folder, self.stage, address[:2], address + _SUFFIX)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            self.misses += 1
            return None
        except OSError as exc:
            logger.warning("cache entry %s unreadable (%s); recomputing", path, exc)
            self.misses += 1
            return None
        obj = self._decode(data, address)
        if obj is _INVALID:
            logger.warning("cache entry %s is damaged; ignoring it and recomputing", path)
            self.corrupt += 1
            self.misses += 1
            return None
        self.hits += 1
        return obj

    def put(self, key: str, obj: Any) -> None:
        """Store ``obj`` (picklable; ``None`` is not allowed) as ``key``'s entry, atomically."""
        if obj is None:
            raise ValueError("DocCache cannot store None: get() returns None for a miss")
        address = self.address(key)
        payload = zlib.compress(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), 1)
        header = _MAGIC + address.encode("ascii") + hashlib.sha256(payload).digest()
        path = self.path(key)
        with atomic_path(path) as tmp:
            tmp.write_bytes(header + payload)

    def prune(self, keep_keys: Iterable[str]) -> int:
        """Delete every entry except those of ``keep_keys`` under the current params.

        Entries of other params or code versions, of documents no longer in the corpus,
        and temporary files left by killed runs are removed.

        Returns:
            The number of files removed.
        """
        keep = {self.address(k) + _SUFFIX for k in keep_keys}
        removed = 0
        if not self.root.is_dir():
            return 0
        now = time.time()
        # Names, not Path objects: every run lists the whole cache here.
        for sub in sorted(os.scandir(self.root), key=lambda e: e.name):
            if not sub.is_dir():
                continue
            for f in sorted(os.scandir(sub.path), key=lambda e: e.name):
                if f.name in keep:
                    continue
                if f.name.endswith(".tmp"):
                    try:
                        if now - f.stat().st_mtime < _STALE_TMP_S:
                            continue
                    except FileNotFoundError:
                        continue
                try:
                    os.unlink(f.path)
                    removed += 1
                except FileNotFoundError:
                    pass
                except IsADirectoryError:
                    logger.warning("unexpected folder %s in the cache; left in place", f.path)
            try:
                os.rmdir(sub.path)  # only succeeds when now empty
            except OSError:
                pass
        if removed:
            logger.info("cache %s: pruned %d stale entr%s", self.stage, removed,
                        "y" if removed == 1 else "ies")
        return removed

    @staticmethod
    def _decode(data: bytes, address: str) -> Any:
        head = len(_MAGIC) + 64 + 32
        if len(data) < head or not data.startswith(_MAGIC):
            return _INVALID
        if data[len(_MAGIC):len(_MAGIC) + 64] != address.encode("ascii"):
            return _INVALID
        payload = data[head:]
        if hashlib.sha256(payload).digest() != data[len(_MAGIC) + 64:head]:
            return _INVALID
        try:
            return pickle.loads(zlib.decompress(payload))
        except Exception:  # noqa: BLE001 - a checksum-valid payload that still fails to load
            return _INVALID


_INVALID = object()


def cached_map(
    fn: Callable[[T], R],
    items: list[T],
    *,
    keys: list[str],
    cache: DocCache,
    compute: ComputeConfig,
    desc: str = "",
    chunksize: int = 1,
    should_cache: Callable[[R], bool] | None = None,
    pool: Any = None,
) -> Iterator[R]:
    """``map_ordered`` that takes results from ``cache`` and computes only the misses.

    Yields ``fn(item)`` for every item in input order. Misses run through
    :func:`pipeline.parallel.map_ordered` (local pool or Dask); their results are
    written to the cache by this (driving) process as they arrive. ``fn`` must not
    return ``None``.

    Args:
        fn: a module-level function (it is pickled to the workers).
        items: the per-document work items.
        keys: one cache key per item (file SHA-256 or ``doc_id``).
        cache: the stage's :class:`DocCache`.
        compute: the ``compute`` config section.
        desc: progress-bar label.
        chunksize: items per task sent to a worker.
        should_cache: when given, only results for which it returns True are stored
            (e.g. not a timeout, which may pass on the next run).
        pool: a pool from :func:`pipeline.parallel.warm_pool` for the misses.
    """
    if len(keys) != len(items):
        raise ValueError(f"cached_map needs one key per item: {len(keys)} keys for {len(items)} items")
    found: dict[int, R] = {}
    todo: list[int] = []
    for i, key in enumerate(keys):
        hit = cache.get(key)
        if hit is None:
            todo.append(i)
        else:
            found[i] = hit
    logger.info("%s: %d to compute, %d from cache", desc or cache.stage, len(todo), len(found))
    computed = map_ordered(fn, [items[i] for i in todo], compute=compute, desc=desc, chunksize=chunksize,
                           pool=pool)
    nxt = 0
    for i in range(len(items)):
        if i in found:
            yield found.pop(i)
            continue
        result = next(computed)
        if todo[nxt] != i:  # pragma: no cover - guards the bookkeeping above
            raise RuntimeError("cached_map lost its place in the work list")
        nxt += 1
        if result is None:
            raise ValueError(f"{desc or cache.stage}: fn returned None for key {keys[i]!r}; "
                             "cached functions must return a value")
        if should_cache is None or should_cache(result):
            cache.put(keys[i], result)
        yield result


def stage_code_version(label: str, *paths: Path) -> str:
    """A stage's code version for :class:`DocCache`: its hand-bumped ``label`` plus a
    digest of ``paths`` (the modules and data its cached results depend on), so an edit
    that forgets the bump still cannot serve stale entries."""
    return f"{label}+{files_digest(*paths)[:16]}"


def files_digest(*paths: Path) -> str:
    """A SHA-256 over the names and bytes of files (folders: every file inside them).

    A stage folds this into its code version so that editing its reference data or its
    modules makes the old entries unreachable, even when nobody bumps the constant.
    """
    h = hashlib.sha256()
    files: list[tuple[str, Path]] = []
    for p in paths:
        if p.is_dir():
            files.extend((f.relative_to(p).as_posix(), f) for f in sorted(p.rglob("*")) if f.is_file())
        else:
            files.append((p.name, p))
    for name, f in files:
        if name.endswith((".pyc", ".tmp")) or "__pycache__" in f.parts:
            continue
        try:
            data = f.read_bytes()
        except FileNotFoundError:
            data = b"<absent>"
        h.update(name.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def package_versions(*names: str) -> dict[str, str]:
    """Installed versions of the packages (models, detectors) a stage's output depends on;
    ``"absent"`` for one that is not installed, since the stage then runs without it."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out
