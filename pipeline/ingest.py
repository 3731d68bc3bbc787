"""Ingestion stage: a consultation folder -> manifest, documents, pages, segments.

Reads the files of ``corpus`` (PDF, DOCX, TXT, Markdown, HTML; the kind is told from
the bytes, not the name) and the optional ``metadata.csv``. Writes:

- ``manifest``: one row per input file whatever happened (status and an actionable
  ``detail``), plus ``format``, ``size_bytes``, ``n_pages`` and ``duplicate_of``;
- ``documents``: one row per readable response (status ok or ocr) with its cleaned
  text (paragraphs separated by a blank line) and validated metadata
  (``metadata_issue`` says what was wrong with its metadata row);
- ``pages``: the cleaned text of each page;
- ``segments``: paragraphs with ``char_start``/``char_end`` offsets into the text.

Each file is parsed in a forked child with ``ingest.timeout_s`` (per file) and
``ingest.memory_mb`` limits (:mod:`pipeline.sandbox`; one long-lived child per worker,
replaced after any failure), files run in parallel with results in sorted path order,
and each file's extraction is cached under ``cache_dir`` keyed by its content hash,
the ingest params, :data:`CODE_VERSION` and a digest of the extraction modules.

Streaming: the CLI calls :func:`ingest_corpus_to`, which writes the documents, pages and
segments as the files are read (cached results too are read one at a time), so the
corpus's texts are never all in memory; :func:`ingest_corpus` returns the same tables
as DataFrames.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import logging
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline import doc_rows
from pipeline.config import Config, IngestConfig
from pipeline.file_hashes import FileHashes, file_sha256
from pipeline.filetype import KIND_NAMES, sniff
from pipeline.metadata import Metadata, read_metadata
from pipeline.parallel import map_ordered
from pipeline.tables import write_bytes
from pipeline.textnorm import Layout, Para, layout_document

logger = logging.getLogger(__name__)

# Bump when a change to extraction or clean-up changes any output: it invalidates the
# per-file cache (so does any edit to the modules in _CODE_FILES).
CODE_VERSION = "ingest-2026.11.28-1"

SIDECAR_NAMES = frozenset({"metadata.csv", "gold.csv", "review.yaml"})
SIDECAR_PREFIXES = ("readme", "manifest")

_DOC_EXTS = {".pdf", ".docx", ".doc", ".odt", ".rtf", ".xlsx", ".pptx", ".zip"}

MANIFEST_COLUMNS = ["source_path", "file_sha256", "consultation", "status", "detail", "doc_id",
                    "format", "size_bytes", "n_pages", "duplicate_of"]
DOCUMENT_COLUMNS = ["doc_id", "consultation", "source_path", "file_sha256", "respondent",
                    "organisation", "stakeholder_type", "country", "submitted", "n_pages",
                    "n_chars", "text", "format", "status", "n_ocr_pages", "metadata_issue"]


@dataclass(frozen=True)
class FileTask:
    """One file to extract in a child process."""

    path: str
    rel: str
    kind: str
    sha256: str
    settings: IngestConfig


def is_sidecar(name: str) -> bool:
    """True for files in a corpus folder that are not responses."""
    low = name.lower()
    return name.startswith(".") or low in SIDECAR_NAMES or low.startswith(SIDECAR_PREFIXES)


def list_corpus(corpus: Path) -> list[tuple[str, Path]]:
    """(relative POSIX path, path) of every candidate response, sorted by relative path.

    Hidden files and folders and sidecar files are skipped; symbolic links are listed
    (their fate is decided later) but never followed into folders.
    """
    found: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(corpus, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if is_sidecar(name):
                continue
            path = Path(root) / name
            found.append((path.relative_to(corpus).as_posix(), path))
    return sorted(found)


def doc_id_for(sha: str) -> str:
    """Stable document id: ``d`` + the first 16 hex digits of the file's SHA-256."""
    return "d" + sha[:16]


# --- the work done in the child process ------------------------------------------------


def extract_file(task: FileTask) -> dict[str, Any]:
    """Extract one file into pages of paragraphs (runs inside the sandboxed child).

    Returns a plain dict: status, detail, n_pages, n_ocr_pages, pages (per page a list
    of ``[text, open_end]``), notes.
    """
    from pipeline.extract_pdf import ExtractionError

    path = Path(task.path)
    try:
        if task.kind == "pdf":
            return _extract_pdf(path, task.settings)
        if task.kind == "docx":
            return _extract_docx(path, task.settings)
        return _extract_text(path, task.kind)
    except ExtractionError as exc:
        return {"status": exc.status, "detail": exc.detail, "n_pages": None, "pages": [], "notes": []}


def _result(pages: list[list[Para]], *, n_pages: int, n_ocr: int = 0, notes: list[str] | None = None,
            kind: str) -> dict[str, Any]:
    notes = notes or []
    n_chars = sum(len(p.text) for page in pages for p in page)
    if n_chars == 0:
        if notes:
            detail = f"{KIND_NAMES[kind]} has no text layer ({'; '.join(notes)}); enable OCR or ask for a text copy."
        elif kind == "pdf":
            detail = "PDF has no text and no scanned images; ask the respondent to send the file again."
        else:
            detail = f"{KIND_NAMES[kind]} file contains no text; ask the respondent to send the response again."
        return {"status": "empty", "detail": detail, "n_pages": n_pages, "pages": [], "notes": notes}
    if n_ocr:
        status = "ocr"
        detail = f"{n_ocr} of {n_pages} page(s) had no text layer and were read by OCR (Tesseract); check quotes against the original."
    else:
        status = "ok"
        detail = f"{KIND_NAMES[kind]} read, {n_pages} page(s)."
    if notes:
        detail += " Note: " + "; ".join(notes) + "."
    return {
        "status": status,
        "detail": detail,
        "n_pages": n_pages,
        "n_ocr_pages": n_ocr,
        "pages": [[[p.text, p.open_end, p.is_note] for p in page] for page in pages],
        "notes": notes,
    }


def _extract_pdf(path: Path, s: IngestConfig) -> dict[str, Any]:
    from pipeline.extract_pdf import OcrSettings, extract_pdf
    from pipeline.textnorm import (
        Hyphenation,
        order_columns,
        page_paragraphs,
        remove_running_lines,
        split_footnotes,
    )

    ocr = OcrSettings(s.ocr, s.ocr_languages, s.ocr_dpi, s.ocr_max_pages, s.min_chars_per_page)
    res = extract_pdf(path, ocr=ocr, max_pages=s.max_pages)
    pages = [order_columns(split_footnotes(p)) for p in remove_running_lines(res.pages)]
    hyph = Hyphenation.from_texts([ln.text for p in pages for ln in p.lines] + [n for p in pages for n in p.footnotes])
    paras = [page_paragraphs(p, hyph=hyph) for p in pages]
    return _result(paras, n_pages=len(pages), n_ocr=res.n_ocr_pages, notes=res.notes, kind="pdf")


def _extract_docx(path: Path, s: IngestConfig) -> dict[str, Any]:
    from pipeline.extract_docx import extract_docx

    res = extract_docx(path, max_bytes=s.memory_mb * 1024 * 1024)
    pages = [[Para(t) for t in page] for page in res.pages]
    pages[-1].extend(Para(t, is_note=True) for t in res.footnotes)
    return _result(pages, n_pages=res.n_pages, kind="docx")


def _extract_text(path: Path, kind: str) -> dict[str, Any]:
    from pipeline.extract_web import extract_text_file

    paras = extract_text_file(path.read_bytes(), kind=kind)
    return _result([[Para(t) for t in paras]], n_pages=1, kind=kind)


def _preload(kind: str) -> None:
    """Import the extractor's libraries in this worker once, so every forked child
    inherits them instead of importing them again (100+ ms per file otherwise)."""
    from pipeline.textnorm import compat_table

    compat_table()
    if kind == "pdf":
        import pypdfium2  # noqa: F401

        import pipeline.extract_pdf  # noqa: F401
    elif kind == "docx":
        import docx  # noqa: F401

        import pipeline.extract_docx  # noqa: F401
    else:
        import bs4  # noqa: F401
        import charset_normalizer  # noqa: F401

        import pipeline.extract_web  # noqa: F401


def run_task(task: FileTask) -> dict[str, Any]:
    """Extract one file in this process's sandbox child; a hang or blow-up becomes a status."""
    from pipeline.sandbox import sandbox_for

    _preload(task.kind)
    s = task.settings
    out = sandbox_for(s.memory_mb).call(extract_file, task, timeout_s=s.timeout_s)
    if out.kind == "ok":
        return out.value
    if out.kind == "timeout":
        status, detail = "timeout", (
            f"reading the file took longer than ingest.timeout_s={s.timeout_s:g} s and was stopped; "
            "check the file by hand or raise the limit."
        )
    elif out.kind == "memory":
        status, detail = "too_large", (
            f"reading the file needed more than ingest.memory_mb={s.memory_mb} MB ({out.message}) and was stopped; "
            "check the file by hand or raise the limit."
        )
    else:
        status, detail = "corrupt", (
            f"the {KIND_NAMES.get(task.kind, task.kind)} reader failed on this file ({out.message}); "
            "ask the respondent to send it again."
        )
    return {"status": status, "detail": detail, "n_pages": None, "pages": [], "notes": [], "transient": True}


def run_batch(tasks: list[FileTask]) -> list[dict[str, Any]]:
    """Extract a batch of files, one after the other, each under its own limits.

    The files go to one long-lived sandboxed child per worker process
    (:class:`pipeline.sandbox.Sandbox`): forking a child per file cost as much as
    reading a short PDF. Each file still has its own time limit, and a file that
    fails in any way gets a fresh child for the next one.
    """
    for kind in sorted({t.kind for t in tasks}):
        # Imported here, before the child is forked, so that a replacement child
        # inherits them too.
        _preload(kind)
    return [run_task(task) for task in tasks]


def make_batches(tasks: list[FileTask], *, max_files: int = 8, max_bytes: int = 4_000_000) -> list[list[FileTask]]:
    """Consecutive tasks grouped into batches of small files (large files stay alone)."""
    batches: list[list[FileTask]] = []
    size = 0
    for task in tasks:
        fsize = Path(task.path).stat().st_size
        if batches and len(batches[-1]) < max_files and size + fsize <= max_bytes and fsize < max_bytes // 4:
            batches[-1].append(task)
            size += fsize
        else:
            batches.append([task])
            size = fsize
    return batches


# --- cache -------------------------------------------------------------------------------


# The modules whose code decides a file's extracted paragraphs: an edit to any of them
# makes the old cache entries unreachable even when nobody bumps CODE_VERSION.
_HERE = Path(__file__).resolve().parent
_CODE_FILES = tuple(_HERE / f"{m}.py" for m in (
    "ingest", "extract_pdf", "extract_docx", "extract_web", "textnorm", "textutil", "filetype", "sandbox",
    "doc_rows"))


def _settings_digest(s: IngestConfig) -> str:
    from pipeline.cache import stage_code_version

    blob = json.dumps(dataclasses.asdict(s), sort_keys=True) + stage_code_version(CODE_VERSION, *_CODE_FILES)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _cache_file(cache_dir: Path, sha: str, kind: str, digest: str) -> Path:
    return cache_dir / sha[:2] / f"{sha}-{kind}-{digest}.json.gz"


def _rows_file(cache_file: Path) -> Path:
    """Where the document's laid-out rows (:mod:`pipeline.doc_rows`) are kept, beside
    its extraction entry and under the same address."""
    return cache_file.with_name(cache_file.name.removesuffix(".json.gz") + ".rows")


def _cache_get(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, ValueError, EOFError):
        return None


def _cache_put(path: Path, result: dict[str, Any]) -> None:
    data = json.dumps(result, ensure_ascii=False, sort_keys=True).encode("utf-8")
    # mtime=0 keeps the bytes identical across runs. Level 1: this runs in the driver
    # for every file, and level 9 took as long as extracting a page of text while
    # saving little space on this kind of data.
    write_bytes(path, gzip.compress(data, compresslevel=1, mtime=0))


# --- the stage -----------------------------------------------------------------------------


def _consultation_name(corpus: Path, cfg: Config) -> str:
    try:
        same = corpus.resolve() == Path(cfg.base.corpus).resolve()
    except OSError:
        same = False
    return cfg.base.consultation if same else corpus.resolve().name


def _pre_status(rel: str, path: Path, corpus_root: Path, s: IngestConfig, *,
                hashes: FileHashes | None = None) -> tuple[dict[str, Any], str | None]:
    """Hash (through ``hashes`` when given) and sniff one file; return its manifest row
    and, if readable, its kind."""
    row: dict[str, Any] = {"source_path": rel, "file_sha256": None, "status": None, "detail": None,
                           "format": None, "size_bytes": None, "n_pages": None, "duplicate_of": None}
    if path.is_symlink():
        target = os.readlink(path)
        try:
            inside = path.resolve().is_relative_to(corpus_root)
        except OSError:
            inside = False
        if not inside or not path.resolve().is_file():
            row["file_sha256"] = hashlib.sha256(f"symlink:{target}".encode()).hexdigest()
            row.update(status="unsupported", format="symlink", detail=(
                f"symbolic link to {target!r}, outside the corpus folder or dangling; it was not followed. "
                "Copy the file into the folder if it is a response."))
            return row, None
    try:
        st = path.stat()
        size = st.st_size
        with open(path, "rb") as fh:
            head = fh.read(8192)
        row["file_sha256"] = hashes.sha256(path, st) if hashes is not None else file_sha256(path)
    except OSError as exc:
        row["file_sha256"] = hashlib.sha256(f"unreadable:{rel}".encode()).hexdigest()
        row.update(status="corrupt", detail=f"file cannot be read ({exc.strerror}); check its permissions.")
        return row, None
    row["size_bytes"] = size
    kind = sniff(path, head)
    row["format"] = kind
    ext = path.suffix.lower()
    if kind == "empty":
        row.update(status="empty", detail="file is empty (0 bytes); ask the respondent to upload the response again.")
        return row, None
    if size > s.max_file_mb * 1024 * 1024:
        row.update(status="too_large", detail=(
            f"file is {size / 1e6:.0f} MB, over ingest.max_file_mb={s.max_file_mb:g}; "
            "it was not parsed. Split it or raise the limit."))
        return row, None
    if kind in ("pdf", "docx"):
        return row, kind
    if kind in ("txt", "md", "html"):
        if ext in _DOC_EXTS and kind == "txt":
            row.update(status="corrupt", detail=(
                f"file is named {ext} but holds no {ext[1:].upper()} data, only {size} byte(s) of text; "
                "the upload is probably broken. Ask the respondent to send the file again."))
            return row, None
        if ext in _DOC_EXTS:
            row.update(status="unsupported", detail=(
                f"file is named {ext} but is really {KIND_NAMES[kind]}"
                f"{' (a web page, e.g. a download error page)' if kind == 'html' else ''}; "
                "ask the respondent for the actual document."))
            return row, None
        return row, kind
    what = KIND_NAMES.get(kind, kind)
    advice = {
        "zip": "unpack it and put the documents it holds into the corpus folder",
        "odt": "save it as DOCX or PDF",
        "doc": "save it as DOCX or PDF",
        "rtf": "save it as DOCX or PDF",
        "image": "put it into a PDF so that it is OCRed",
    }.get(kind, "ask the respondent for PDF, DOCX or plain text")
    named = f"named {ext} but is really" if ext in _DOC_EXTS else "a file of type"
    row.update(status="unsupported", detail=f"file is {named} {what}, which is not read; {advice}.")
    return row, None


@dataclass
class _Plan:
    """What ingestion decided before reading any file: manifest rows and extraction tasks."""

    consultation: str
    meta: Metadata
    rows: list[dict[str, Any]]
    tasks: list[FileTask]


# The file hash index, in the ingest cache folder.
_HASH_INDEX = "file-hashes.json"


def _plan(corpus: Path, cfg: Config, *, cache_dir: Path | None = None) -> _Plan:
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise FileNotFoundError(f"corpus folder {corpus} does not exist")
    s = cfg.ingest
    consultation = _consultation_name(corpus, cfg)
    root = corpus.resolve()
    entries = list_corpus(corpus)
    meta = read_metadata(corpus, cache_dir=cache_dir)

    rows: list[dict[str, Any]] = []
    tasks: list[FileTask] = []
    first_copy: dict[str, str] = {}
    # Unchanged files keep their hash from the last run (pipeline.file_hashes).
    hashes = FileHashes(cache_dir / _HASH_INDEX if cache_dir is not None else None)
    checked = {rel: _pre_status(rel, path, root, s, hashes=hashes) for rel, path in entries}
    hashes.save()
    # Of identical files the first copy is the first by path without extension, so that
    # "report.pdf" comes before "report (1).pdf" and "report-copy.pdf" (plain path
    # order puts "report-copy.pdf" first, as "-" sorts before ".").
    for rel in sorted(checked, key=lambda r: (str(PurePosixPath(r).with_suffix("")), r)):
        row, kind = checked[rel]
        if row["status"] is None and kind is not None:
            first_copy.setdefault(row["file_sha256"], rel)
    for rel, _path in entries:
        row, kind = checked[rel]
        sha = row["file_sha256"]
        row["doc_id"] = doc_id_for(sha)
        row["consultation"] = consultation
        if row["status"] is None and kind is not None and first_copy.get(sha) != rel:
            row.update(status="duplicate", detail=(
                f"exact duplicate of {first_copy[sha]} (same content); counted once, kept in the manifest."),
                duplicate_of=first_copy[sha])
        elif row["status"] is None and kind is not None:
            tasks.append(FileTask(str(_path), rel, kind, sha, s))
        rows.append(row)
    return _Plan(consultation, meta, rows, tasks)


def ingest_corpus(corpus: Path, cfg: Config, *, cache_dir: Path) -> dict[str, pd.DataFrame]:
    """Read every file of a consultation folder into the four ingestion tables.

    Holds every text in memory; :func:`ingest_corpus_to` writes the same tables
    document by document instead.

    Args:
        corpus: the consultation folder.
        cfg: the pipeline config (``ingest``, ``compute``, ``base`` sections).
        cache_dir: where per-file extraction results are cached.

    Returns:
        ``{"manifest", "documents", "pages", "segments"}`` DataFrames.

    Raises:
        FileNotFoundError: ``corpus`` is not a folder.
    """
    plan = _plan(corpus, cfg, cache_dir=cache_dir)
    results = dict(_iter_results(plan.tasks, cfg, cache_dir=cache_dir))
    return build_tables(plan.rows, results, plan.meta, consultation=plan.consultation)


# Documents per batch of rows written by ingest_corpus_to: a few thousand pages and
# segments, a few MB of text.
_WRITE_BATCH_DOCS = 100


def ingest_corpus_to(corpus: Path, cfg: Config, *, out: Path, cache_dir: Path) -> pd.DataFrame:
    """:func:`ingest_corpus`, writing the tables as the files are read.

    Each document's pages and segments are written (in batches of
    :data:`_WRITE_BATCH_DOCS` documents) as soon as its file is read, so the texts of
    the corpus are never all in memory: only the manifest and one batch are. The
    tables are those :func:`ingest_corpus` returns, row for row and dtype for dtype,
    written to ``out/ingest/<table>.parquet``; a failure leaves the previous tables.

    Returns:
        The manifest (also written).
    """
    from pipeline.tables import TableWriter, table_path, write_table

    plan = _plan(corpus, cfg, cache_dir=cache_dir)
    _log_metadata_problems(plan.rows, plan.meta)
    writers = {name: TableWriter(table_path(out, "ingest", name), name=name, split_key="doc_id")
               for name in ("documents", "pages", "segments")}
    batch: tuple[list[dict[str, Any]], list[pa.Table], list[pa.Table]] = ([], [], [])
    results = _iter_results(plan.tasks, cfg, cache_dir=cache_dir, rows=True)
    try:
        pending = next(results, None)
        for row in plan.rows:
            res = None
            if pending is not None and pending[0] == row["source_path"]:
                res = pending[1]
                pending = next(results, None)
            made = _document_tables(row, res, plan.meta, consultation=plan.consultation)
            if made is None:
                continue
            batch[0].append(made[0])
            batch[1].append(made[1].pages)
            batch[2].append(made[1].segments)
            if len(batch[0]) >= _WRITE_BATCH_DOCS:
                _write_batch(writers, batch)
                batch = ([], [], [])
        if pending is not None:  # pragma: no cover - guards the bookkeeping above
            raise RuntimeError(f"ingest lost its place at {pending[0]}")
        _write_batch(writers, batch)
        for name, writer in writers.items():
            empty = _frames([], [], [])[["documents", "pages", "segments"].index(name)]
            writer.close(empty=empty)
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    finally:
        results.close()  # now, not when collected (perhaps while the interpreter exits)
    manifest = _manifest_frame(plan.rows)
    write_table(table_path(out, "ingest", "manifest"), manifest, name="manifest")
    return manifest


def _write_batch(writers: dict[str, Any],
                 batch: tuple[list[dict[str, Any]], list[pa.Table], list[pa.Table]]) -> None:
    """Write a batch of documents: their rows, and their pages' and segments' tables
    (:mod:`pipeline.doc_rows`), concatenated as Arrow data: the frames hold the
    same values and dtypes as :func:`_frames` of the same rows."""
    if not batch[0]:
        return
    writers["documents"].write(_columns_frame(batch[0], DOCUMENT_COLUMNS, ("n_pages", "n_chars", "n_ocr_pages")))
    writers["pages"].write(doc_rows.concat(batch[1], doc_rows.PAGES_SCHEMA).to_pandas())
    writers["segments"].write(doc_rows.concat(batch[2], doc_rows.SEGMENTS_SCHEMA).to_pandas())


def _iter_results(tasks: list[FileTask], cfg: Config, *, cache_dir: Path,
                  rows: bool = False) -> Generator[tuple[str, dict[str, Any]], None, None]:
    """``(relative path, extraction result)`` for every task, in task order.

    Cached results are read when their turn comes (not all first), the rest are
    extracted in parallel and cached as they arrive: only a window of results is in
    memory at a time. With ``rows``, a file whose laid-out rows are kept
    (:mod:`pipeline.doc_rows`) gives its status fields and, under :data:`_ROWS`, those
    rows instead of its pages; any other cacheable result names, under
    :data:`_ROWS_FILE`, where its rows are to be kept.
    """
    digest = _settings_digest(cfg.ingest)
    cache_paths = {task.rel: _cache_file(cache_dir, task.sha256, task.kind, digest) for task in tasks}
    todo = [task for task in tasks if not cache_paths[task.rel].exists()]
    logger.info("ingest: %d file(s) to extract, %d from cache", len(todo), len(tasks) - len(todo))
    # Small batches keep every worker busy on a small corpus, and the round trips to
    # the pool few on a large one.
    per_worker = max(1, len(todo) // max(cfg.compute.n_workers * 4, 1))
    batches = make_batches(todo, max_files=min(8, per_worker))
    for kind in sorted({t.kind for t in todo}):
        # Imported once here, so that forked pool workers inherit the libraries.
        _preload(kind)
    done = map_ordered(run_batch, batches, compute=cfg.compute, desc="ingest")
    computed: Iterator[tuple[FileTask, dict[str, Any]]] = (
        pair for batch, batch_results in zip(batches, done, strict=True)
        for pair in zip(batch, batch_results, strict=True))
    todo_set = {task.rel for task in todo}
    try:
        for task in tasks:
            if task.rel in todo_set:
                done_task, res = next(computed)
                if done_task.rel != task.rel:  # pragma: no cover - guards the bookkeeping
                    raise RuntimeError(f"ingest lost its place at {task.rel}")
                if not res.get("transient"):
                    _cache_put(cache_paths[task.rel], res)
                    if rows:
                        res[_ROWS_FILE] = _rows_file(cache_paths[task.rel])
                yield task.rel, res
                continue
            if rows:
                kept = doc_rows.read(_rows_file(cache_paths[task.rel]))
                if kept is not None:
                    yield task.rel, {**kept[1], _ROWS: kept[0]}
                    continue
            cached = _cache_get(cache_paths[task.rel])
            if cached is None:
                # Damaged or removed since it was listed: extract it here, alone.
                logger.warning("ingest: cache entry %s unreadable; extracting %s again",
                               cache_paths[task.rel], task.rel)
                cached = run_batch([task])[0]
                if not cached.get("transient"):
                    _cache_put(cache_paths[task.rel], cached)
            if rows and not cached.get("transient"):
                cached[_ROWS_FILE] = _rows_file(cache_paths[task.rel])
            yield task.rel, cached
    finally:
        # With one worker the files ran in this process's sandbox; its child has
        # nothing left to do (pool workers' children end with their workers).
        from pipeline.sandbox import close_sandboxes

        close_sandboxes()


def _log_metadata_problems(rows: list[dict[str, Any]], meta: Metadata) -> None:
    for problem in meta.problems:
        logger.warning("%s", problem)
    known = {r["source_path"] for r in rows}
    for rel in sorted(set(meta.rows) - known):
        logger.warning("metadata.csv names %s, which is not a response file in the corpus", rel)


# Keys _iter_results(rows=True) adds to a result: the document's kept rows, or the file
# to keep them in.
_ROWS = "_doc_rows"
_ROWS_FILE = "_doc_rows_file"


def _readable(row: dict[str, Any], res: dict[str, Any] | None) -> bool:
    """Update the manifest ``row`` from its result; whether the file was read."""
    if res is not None:
        row["status"] = res["status"]
        row["detail"] = res["detail"]
        row["n_pages"] = res.get("n_pages")
    if row["status"] not in ("ok", "ocr"):
        logger.warning("%s: %s - %s", row["source_path"], row["status"], row["detail"])
        return False
    return res is not None


def _layout(res: dict[str, Any]) -> Layout:
    return layout_document([[Para(t, bool(o), bool(n)) for t, o, n in page] for page in res["pages"]])


def _document_tables(row: dict[str, Any], res: dict[str, Any] | None, meta: Metadata, *,
                     consultation: str) -> tuple[dict[str, Any], doc_rows.DocRows] | None:
    """:func:`_document_rows` with the pages and segments as Arrow tables: the kept ones
    when ``res`` holds them (:func:`_iter_results` with ``rows``), else laid out now and
    kept for the next run."""
    if not _readable(row, res):
        return None
    assert res is not None
    rows = res.get(_ROWS)
    if not isinstance(rows, doc_rows.DocRows):
        layout = _layout(res)
        rows = doc_rows.from_layout(row["doc_id"], layout.text, layout.page_texts, layout.segments)
        if res.get(_ROWS_FILE) is not None:
            doc_rows.write(res[_ROWS_FILE], rows, res)
    return _document(row, res, meta, consultation=consultation, text=rows.text,
                     n_layout_pages=rows.n_layout_pages), rows


def _document_rows(row: dict[str, Any], res: dict[str, Any] | None, meta: Metadata, *,
                   consultation: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]] | None:
    """Update the manifest ``row`` from its result; the document, page and segment rows
    of a readable file (None for one that is not)."""
    if not _readable(row, res):
        return None
    assert res is not None
    layout = _layout(res)
    document = _document(row, res, meta, consultation=consultation, text=layout.text,
                         n_layout_pages=len(layout.page_texts))
    doc_id = row["doc_id"]
    pages = [{"doc_id": doc_id, "page_no": page_no, "text": text}
             for page_no, text in enumerate(layout.page_texts, start=1)]
    segments = [{"doc_id": doc_id, "seg_id": seg_id, "page_no": page_no,
                 "char_start": start, "char_end": end, "text": layout.text[start:end]}
                for seg_id, (page_no, start, end) in enumerate(layout.segments)]
    return document, pages, segments


def _document(row: dict[str, Any], res: dict[str, Any], meta: Metadata, *, consultation: str,
              text: str, n_layout_pages: int) -> dict[str, Any]:
    """A readable file's row of the documents table (its text laid out as ``text``)."""
    m = meta.rows.get(row["source_path"])
    issue = None
    if m is not None and m.issues:
        issue = "; ".join(m.issues)
    elif m is None and meta.present:
        issue = "no row in metadata.csv"
    return {
        "doc_id": row["doc_id"],
        "consultation": consultation,
        "source_path": row["source_path"],
        "file_sha256": row["file_sha256"],
        "respondent": m.respondent if m else None,
        "organisation": m.organisation if m else None,
        "stakeholder_type": m.stakeholder_type if m else None,
        "country": m.country if m else None,
        "submitted": m.submitted if m else None,
        "n_pages": int(res.get("n_pages") or n_layout_pages),
        "n_chars": len(text),
        "text": text,
        "format": row["format"],
        "status": row["status"],
        "n_ocr_pages": int(res.get("n_ocr_pages") or 0),
        "metadata_issue": issue,
    }


def build_tables(rows: list[dict[str, Any]], results: dict[str, dict[str, Any]], meta: Metadata, *,
                 consultation: str) -> dict[str, pd.DataFrame]:
    """Assemble the four tables from manifest rows, extraction results and metadata."""
    documents: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    segments: list[dict[str, Any]] = []
    _log_metadata_problems(rows, meta)
    for row in rows:
        made = _document_rows(row, results.get(row["source_path"]), meta, consultation=consultation)
        if made is None:
            continue
        documents.append(made[0])
        pages.extend(made[1])
        segments.extend(made[2])
    docs, pages_df, segs = _frames(documents, pages, segments)
    return {"manifest": _manifest_frame(rows), "documents": docs, "pages": pages_df, "segments": segs}


def _manifest_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    manifest["size_bytes"] = manifest["size_bytes"].astype("Int64")
    manifest["n_pages"] = manifest["n_pages"].astype("Int64")
    return manifest


def _frames(documents: list[dict[str, Any]], pages: list[dict[str, Any]],
            segments: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The documents, pages and segments frames of these rows, with the tables' dtypes."""
    docs = _columns_frame(documents, DOCUMENT_COLUMNS, ("n_pages", "n_chars", "n_ocr_pages"))
    pages_df = _columns_frame(pages, ["doc_id", "page_no", "text"], ("page_no",))
    segs = _columns_frame(segments, ["doc_id", "seg_id", "page_no", "char_start", "char_end", "text"],
                          ("seg_id", "page_no", "char_start", "char_end"))
    return docs, pages_df, segs


def _columns_frame(rows: list[dict[str, Any]], columns: list[str], ints: tuple[str, ...]) -> pd.DataFrame:
    # Built column by column when there are rows: pandas takes longer to build a frame
    # from a list of dicts, and this runs for every row of the corpus on every run. The
    # columns infer the same dtypes either way, except with no rows (object, not float).
    if rows:
        df = pd.DataFrame({c: [r[c] for r in rows] for c in columns}, columns=columns)
    else:
        df = pd.DataFrame(rows, columns=columns)
    for col in ints:
        df[col] = df[col].astype("int64")
    return df
