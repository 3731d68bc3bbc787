"""Stage ``actors``: who said it. Stakeholder types, actor ids, countries and text reuse.

Reads ``documents``, ``segments``, ``languages`` and ``entities``; writes

* ``actors`` (one row per document): ``actor_id``, ``actor_name``, ``merge_reason``,
  ``stakeholder_type`` with ``type_source`` (``metadata`` | ``inferred``),
  ``type_score``, ``type_evidence``, ``type_text`` (what the text alone says) and
  ``type_flag`` (a metadata type the text strongly contradicts: flagged, never
  overwritten), ``country`` with ``country_source``, ``reuse_cluster``, ``reuse_kind``,
  ``reuse_role`` (``original`` | ``copy``), ``n_shared_passages`` and ``voice_id``: one
  id per independent voice (documents of one actor, or of one near-duplicate cluster,
  share it), so that ``nunique(voice_id)`` is the distinct count of voices and
  ``len(actors)`` the raw count;
* ``reuse`` (one row per cluster member): ``reuse_cluster``, ``doc_id``, ``seg_id``
  (``-1`` for a whole document), ``kind`` (``near_duplicate`` | ``shared_passage`` |
  ``quotation``), ``shared_text``, ``similarity``, ``cluster_size`` and ``reason``.

Typing: ``pipeline/stakeholders.py``; names: ``pipeline/actor_names.py``; reuse:
``pipeline/reuse.py``. Nothing is dropped: every document keeps its row.

Incremental re-runs: what depends on one document alone (its inferred type and MinHash
sketches, :class:`DocWork`) is cached per document under ``<out>/cache/actors``, keyed by
everything it is computed from; the exact similarities of the text pairs whose estimates
lie near a threshold are kept under ``<out>/cache/actors-pairs`` (:class:`PairSims`).
Names, countries, candidate pairs and clusters are recomputed on the whole corpus on every
run (vectorised, a fraction of a second for a thousand responses), so a re-run gives the
same tables as a run from scratch by construction.
"""

from __future__ import annotations

import hashlib
import logging
import re
import struct
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import actor_names, reuse, stakeholders
from pipeline.cache import DocCache, cached_map, stage_code_version
from pipeline.config import Config
from pipeline.parallel import map_ordered
from pipeline.schemas import STAKEHOLDER_TYPES

logger = logging.getLogger(__name__)

ACTOR_COLUMNS = (
    "doc_id", "actor_id", "actor_name", "merge_reason", "stakeholder_type", "type_source",
    "type_score", "type_evidence", "type_text", "type_flag", "country", "country_source",
    "reuse_cluster", "reuse_kind", "reuse_role", "n_shared_passages", "voice_id",
)
# The columns of its input tables the stage reads (the CLI reads no others).
INPUT_COLUMNS = {
    "documents": ["doc_id", "source_path", "respondent", "organisation", "stakeholder_type", "country",
                  "submitted", "text"],
    "segments": ["doc_id", "seg_id", "text"],
    "languages": ["doc_id", "seg_id", "lang"],
    "entities": ["doc_id", "seg_id", "text", "canonical_id"],
}
REUSE_COLUMNS = ("reuse_cluster", "doc_id", "seg_id", "kind", "shared_text", "similarity", "cluster_size", "reason")
_ISO3 = re.compile(r"^[A-Z]{3}$")
# MinHash estimates this close to a threshold are checked on the exact shingle sets.
_MARGIN = 0.12
# Bump when a code change alters a document's typing or sketches for the same input. The
# digest of the modules and data below is appended (code_version), so an edit that
# forgets the bump still cannot serve stale cached results.
CODE_VERSION = "actors-2026.11.28-1"
_PACKAGE_DIR = Path(__file__).resolve().parent
_CODE_FILES = (
    _PACKAGE_DIR / "actors.py",
    _PACKAGE_DIR / "stakeholders.py",
    _PACKAGE_DIR / "reuse.py",
    _PACKAGE_DIR / "textutil.py",
    _PACKAGE_DIR / "data" / "actors",
)


def _clean(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = " ".join(str(value).split())
    return text or None


def _doc_langs(languages: pd.DataFrame) -> dict[str, str]:
    if languages is None or languages.empty or "lang" not in languages:
        return {}
    rows = languages[languages["seg_id"].isna()]
    return {str(d): str(lang) for d, lang in zip(rows["doc_id"], rows["lang"], strict=False) if _clean(lang)}


def _doc_texts(documents: pd.DataFrame, segments: pd.DataFrame) -> dict[str, str]:
    texts = {str(d): (t if isinstance(t, str) else "")
             for d, t in zip(documents["doc_id"].tolist(), documents["text"].tolist(), strict=False)}
    missing = {d for d, t in texts.items() if not t}
    if missing and segments is not None and not segments.empty:
        # Only documents without a text are rebuilt from their paragraphs.
        segs = segments[segments["doc_id"].astype(str).isin(missing)]
        joined = segs.sort_values(["doc_id", "seg_id"]).groupby("doc_id")["text"].apply(
            lambda s: "\n\n".join(x for x in s if isinstance(x, str)))
        for d, t in joined.items():
            if not texts.get(str(d)):
                texts[str(d)] = t
    return texts


def _type_one(args: tuple[str, str | None]) -> stakeholders.TypeResult:
    text, organisation = args
    try:
        return stakeholders.infer_type(text, organisation=organisation)
    except Exception as exc:  # one odd text must not stop the stage; its row says why
        logger.warning("stakeholder typing failed on a document (%s); it gets the fallback type", exc)
        return stakeholders.TypeResult(None, 0.0, 0.0, f"typing failed: {exc}")


# --- per-document work (typing and MinHash sketches), cached -------------------------------


@dataclass
class DocWork:
    """What the stage computes from one document alone: its inferred type, the MinHash
    sketch of its whole text, the word count of each of its paragraphs (in ``seg_id``
    order) and the sketches of those paragraphs that have at least ``min_passage_words``
    words (the only ones compared; in the same order)."""

    typed: stakeholders.TypeResult
    doc_count: int
    doc_sig: np.ndarray
    seg_counts: np.ndarray
    seg_sigs: np.ndarray


# (text, organisation for typing, language, paragraph texts, num_perm, seed, min_passage_words)
WorkItem = tuple[str, str | None, str | None, list[str], int, int, int]


def _work_one(item: WorkItem) -> DocWork:
    text, organisation, lang, seg_texts, num_perm, seed, min_words = item
    typed = _type_one((text, organisation))
    perms = reuse.Permutations.make(num_perm, seed)
    count, hashes = reuse.passage_features(text, lang=lang)
    feats = [reuse.passage_features(t, lang=lang) for t in seg_texts]
    seg_counts = np.array([n for n, _ in feats], dtype=np.int64)
    # Paragraphs too short to compare are counted but not sketched: most paragraphs are
    # headings and short lines, and their signatures would be most of the cache.
    sigs = reuse.signatures([hashes] + [h for n, h in feats if n >= min_words], perms)
    # MinHash values are 32-bit: stored as such, signatures take half the memory (and cache).
    return DocWork(typed, int(count), sigs[0].astype(np.uint32), seg_counts, sigs[1:].astype(np.uint32))


def code_version() -> str:
    """:data:`CODE_VERSION` plus a digest of the stage's modules and data files."""
    return stage_code_version(CODE_VERSION, *_CODE_FILES)


def _typing_organisations(documents: pd.DataFrame) -> tuple[list[str | None], list[str | None]]:
    """Valid metadata types, and the organisation each document's typing may use."""
    meta_types = [_clean(t) for t in documents.get("stakeholder_type", pd.Series([None] * len(documents)))]
    meta_types = [t if t in STAKEHOLDER_TYPES else None for t in meta_types]
    orgs = [_clean(o) for o in documents.get("organisation", pd.Series([None] * len(documents)))]
    # The organisation name helps only where it has to decide (no valid metadata type);
    # where metadata has a type, the text alone is compared with it.
    return meta_types, [None if mt else org for mt, org in zip(meta_types, orgs, strict=True)]


@dataclass
class Paragraphs:
    """The paragraphs that are sketched and compared, as parallel lists: the segments of
    the stage's documents that have a text, in document and segment order. Sketching and
    the shared-passage search both read them from here, so their rows line up."""

    doc_ids: list[str]
    seg_ids: list[int]
    texts: list[str]

    def by_document(self) -> dict[str, list[str]]:
        """``doc_id`` -> its paragraph texts, in order."""
        out: dict[str, list[str]] = defaultdict(list)
        for d, t in zip(self.doc_ids, self.texts, strict=True):
            out[d].append(t)
        return out


def _paragraphs(segments: pd.DataFrame | None, doc_ids: set[str]) -> Paragraphs:
    if segments is None or segments.empty:
        return Paragraphs([], [], [])
    doc_col = segments["doc_id"].astype(str)
    if isinstance(segments["text"].dtype, pd.StringDtype):
        has_text = segments["text"].notna().to_numpy(dtype=bool)  # a string column holds text or nothing
    else:
        has_text = segments["text"].map(lambda t: isinstance(t, str)).to_numpy(dtype=bool)
    keep = has_text & doc_col.isin(doc_ids).to_numpy(dtype=bool)
    # Sorted as row numbers, then gathered into lists: sorting the frame would copy every
    # paragraph's text.
    codes, _ = pd.factorize(doc_col, sort=True)
    order = np.lexsort((segments["seg_id"].to_numpy(dtype=np.int64), codes))
    rows = order[keep[order]].tolist()
    docs, segs, texts = doc_col.tolist(), segments["seg_id"].tolist(), segments["text"].tolist()
    return Paragraphs([docs[k] for k in rows], [int(segs[k]) for k in rows], [texts[k] for k in rows])


def work_key(doc_id: str, text: str, organisation: str | None, lang: str | None, paragraphs: Sequence[str]) -> str:
    """The cache key of a document's work: a SHA-256 of everything :func:`_work_one`
    reads that the params do not cover.

    Each part is length-prefixed, so no two different items give the same bytes. Like
    :func:`pipeline.cache.content_key`, but it hashes the UTF-8 texts directly instead
    of a JSON dump of them: twice as fast, and every document's key is made on every run.
    """
    head = [None if x is None else x.encode("utf-8", "surrogatepass") for x in (doc_id, text, organisation, lang)]
    body = [t.encode("utf-8", "surrogatepass") for t in paragraphs]
    lengths = [-1 if b is None else len(b) for b in head] + [len(body)] + [len(b) for b in body]
    digest = hashlib.sha256(struct.pack(f"<{len(lengths)}q", *lengths))
    for b in head:
        if b:
            digest.update(b)
    digest.update(b"".join(body))
    return digest.hexdigest()


def _cache_params(cfg: Config) -> dict[str, int]:
    a = cfg.actors
    return {"num_perm": a.num_perm, "seed": cfg.base.seed, "min_passage_words": a.min_passage_words}


def document_work(documents: pd.DataFrame, segments: pd.DataFrame | None, texts: dict[str, str],
                  langs: dict[str, str], cfg: Config, *, cache_dir: Path | None = None) -> dict[str, DocWork]:
    """Type and sketch every document in parallel, reading unchanged ones from the cache.

    Args:
        documents: the ``documents`` table.
        segments: the ``segments`` table (paragraphs to sketch for shared passages).
        texts: each document's text.
        langs: each document's language.
        cfg: the configuration (``actors.num_perm``, ``actors.min_passage_words``,
            ``base.seed``, ``compute``).
        cache_dir: when given, the folder of the per-document cache (e.g.
            ``<out>/cache/actors``). The result is the same with or without it.

    Returns:
        ``doc_id`` -> :class:`DocWork`.
    """
    doc_ids = [str(d) for d in documents["doc_id"]]
    paras = _paragraphs(segments, set(doc_ids))
    return _document_work(documents, paras.by_document(), texts, langs, cfg, cache_dir=cache_dir)[0]


def _document_work(documents: pd.DataFrame, paragraphs: dict[str, list[str]], texts: dict[str, str],
                   langs: dict[str, str], cfg: Config, *, cache_dir: Path | None, compute: bool = True
                   ) -> tuple[dict[str, DocWork], dict[str, str]]:
    """:func:`document_work` on the paragraph lists; also returns each document's content
    key (what its work depends on), which names its texts in the pair cache. With
    ``compute=False`` only the keys are made (the work is empty)."""
    a = cfg.actors
    doc_ids = [str(d) for d in documents["doc_id"]]
    _, typing_org = _typing_organisations(documents)
    items: list[WorkItem] = [(texts.get(d, ""), org, langs.get(d), paragraphs.get(d, []), a.num_perm, cfg.base.seed,
                              a.min_passage_words)
                             for d, org in zip(doc_ids, typing_org, strict=True)]
    keys = [work_key(d, *item[:4]) for d, item in zip(doc_ids, items, strict=True)]
    if not compute:
        return {}, dict(zip(doc_ids, keys, strict=True))
    chunk = max(1, len(items) // 64)
    results: Iterator[DocWork]
    if cache_dir is None:
        results = map_ordered(_work_one, items, compute=cfg.compute, desc="actors", chunksize=chunk)
        return dict(zip(doc_ids, results, strict=True)), dict(zip(doc_ids, keys, strict=True))
    cache = DocCache(cache_dir.parent, stage=cache_dir.name, params=_cache_params(cfg), code_version=code_version())
    results = cached_map(_work_one, items, keys=keys, cache=cache, compute=cfg.compute, desc="actors",
                         chunksize=chunk)
    out = dict(zip(doc_ids, results, strict=True))
    cache.prune(keys)
    return out, dict(zip(doc_ids, keys, strict=True))


# --- stakeholder types --------------------------------------------------------------------


def type_documents(documents: pd.DataFrame, texts: dict[str, str], cfg: Config, *,
                   inferred: Sequence[stakeholders.TypeResult] | None = None) -> pd.DataFrame:
    """Stakeholder type per document: metadata when valid, else inferred; with flags.

    ``inferred`` (one per document, in order) is the text-only typing when already
    computed (:func:`document_work`); without it the texts are typed here.
    """
    a = cfg.actors
    doc_ids = [str(d) for d in documents["doc_id"]]
    meta_types, typing_org = _typing_organisations(documents)
    if inferred is None:
        jobs = [(texts.get(d, ""), org) for d, org in zip(doc_ids, typing_org, strict=True)]
        results = list(map_ordered(_type_one, jobs, compute=cfg.compute, desc="stakeholder types",
                                   chunksize=max(1, len(jobs) // 64)))
    else:
        results = list(inferred)

    confident = Counter(mt for mt in meta_types if mt)
    confident.update(r.stype for r, mt in zip(results, meta_types, strict=True)
                     if not mt and r.stype and r.score >= 0.6)
    fallback = a.fallback_type or (max(sorted(confident), key=lambda t: confident[t]) if confident else "civil_society")

    rows = []
    for d, mt, r in zip(doc_ids, meta_types, results, strict=True):
        flag = False
        if mt:
            stype, source, score, evidence = mt, "metadata", 1.0, "metadata.csv"
            if r.stype and r.stype != mt and r.score >= a.flag_min_share \
                    and r.scores.get(mt, 0.0) <= a.flag_max_ratio * r.raw:
                flag = True
                evidence = f"metadata.csv; the text says {r.stype}: {r.evidence}"
        elif r.stype:
            stype, source, score, evidence = r.stype, "inferred", round(r.score, 4), r.evidence
        else:
            stype, source, score = fallback, "inferred", 0.0
            evidence = f"no cue in the text; the corpus's most frequent type ({fallback}) is assumed" \
                if not a.fallback_type else f"no cue in the text; actors.fallback_type={fallback}"
            if r.evidence:
                evidence = f"{r.evidence}; {evidence}"
        rows.append({"doc_id": d, "stakeholder_type": stype, "type_source": source, "type_score": score,
                     "type_evidence": evidence, "type_text": r.stype, "type_flag": flag,
                     "_span": r.span, "_zone": r.zone})
    return pd.DataFrame(rows)


# --- names and countries ------------------------------------------------------------------

_NAME_CONNECTORS = frozenset(
    "of and for the on de des du la le d l et y del el los las pour en für und der die das".split()
)


def guess_name(text: str, span: tuple[int, int] | None) -> str | None:
    """A best-effort organisation name around a typing cue (when metadata has none).

    Latin script: the capitalised words (and connectors) around the cue; other scripts:
    from the cue to the next punctuation, at most eight words (Chinese: the run of Han
    characters that ends with the cue).
    """
    if span is None or not text:
        return None
    start, end = span
    if any("\u4e00" <= ch <= "\u9fff" for ch in text[start:end]):
        left = start
        while left > 0 and start - left < 16 and "\u4e00" <= text[left - 1] <= "\u9fff" \
                and text[left - 1] not in "的在于和与对向关":
            left -= 1
        return text[left:end].strip() or None
    if re.match(r"[A-Za-zÀ-ÿ]", text[start:end] or " "):
        tokens = list(re.finditer(r"[\w'’&.\-]+|,", text))
        idx = next((i for i, t in enumerate(tokens) if t.start() <= start < t.end() or t.start() >= start), None)
        if idx is None:
            return None

        def ok(tok: str) -> bool:
            return tok[:1].isupper() or tok.lower() in _NAME_CONNECTORS or tok.isupper()

        lo = idx
        while lo > 0 and tokens[lo - 1].group() != "," and tokens[lo - 1].group()[:1].isupper() \
                and tokens[lo - 1].group().lower() not in ("the", "la", "le", "el", "les", "los", "las"):
            lo -= 1
        hi = idx
        while hi + 1 < len(tokens) and tokens[hi + 1].end() - tokens[lo].start() < 140:
            nxt = tokens[hi + 1].group()
            if nxt == "," and hi + 2 < len(tokens) and tokens[hi + 2].group()[:1].isupper():
                hi += 1
                continue
            if nxt != "," and ok(nxt) and "\n" not in text[tokens[hi].end():tokens[hi + 1].start()]:
                hi += 1
                continue
            break
        while hi > idx and tokens[hi].group().lower() in _NAME_CONNECTORS | {","}:
            hi -= 1
        name = text[tokens[lo].start():max(tokens[hi].end(), end)]
        return " ".join(name.split()).strip(" ,") or None
    stop = re.search(r"[.,;:()\[\]«»\"“”\n،؛。，；：（）]", text[end:end + 120])
    tail = text[end:end + (stop.start() if stop else 120)]
    words = (text[start:end] + tail).split()[:8]
    return " ".join(words) or None


def _entity_orgs(entities: pd.DataFrame) -> dict[str, str]:
    """Normalised mention text -> org id, from the entities table (most frequent id)."""
    if entities is None or entities.empty:
        return {}
    orgs = entities[entities["canonical_id"].astype(str).str.startswith("org:")]
    mentions = [str(t) for t in orgs["text"].tolist()]
    # The same few names recur thousands of times: each is normalised once.
    norm = {t: actor_names.normalize_name(t) for t in set(mentions)}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for text, cid in zip(mentions, orgs["canonical_id"].tolist(), strict=False):
        key = norm[text]
        if key:
            counts[key][str(cid)] += 1
    return {k: max(sorted(c), key=lambda x: c[x]) for k, c in counts.items()}


def countries(documents: pd.DataFrame, segments: pd.DataFrame, entities: pd.DataFrame
              ) -> tuple[list[str | None], list[str | None]]:
    """Country per document: metadata, else the letterhead/signature, else a dominant one."""
    meta = [_clean(c) for c in documents.get("country", pd.Series([None] * len(documents)))]
    by_doc: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if entities is not None and not entities.empty and segments is not None and not segments.empty:
        ents = entities[entities["canonical_id"].astype(str).str.startswith("country:")]
        if len(ents):
            order = segments[["doc_id", "seg_id"]].sort_values(["doc_id", "seg_id"])
            order["rank"] = order.groupby("doc_id").cumcount()
            order["n"] = order.groupby("doc_id")["seg_id"].transform("size")
            ents = ents.merge(order, on=["doc_id", "seg_id"], how="left")
            for d, cid, rank, n in zip(ents["doc_id"], ents["canonical_id"], ents["rank"], ents["n"], strict=False):
                edge = pd.notna(rank) and (rank < 3 or rank >= n - 3)
                by_doc[str(d)].append((str(cid).split(":", 1)[1], "edge" if edge else "body"))
    out: list[str | None] = []
    source: list[str | None] = []
    for d, m in zip(documents["doc_id"], meta, strict=True):
        if m and _ISO3.match(m):
            out.append(m)
            source.append("metadata")
            continue
        mentions = by_doc.get(str(d), [])
        edge = Counter(c for c, z in mentions if z == "edge")
        allc = Counter(c for c, _ in mentions)
        if edge:
            out.append(max(sorted(edge), key=lambda c: (edge[c], allc[c])))
            source.append("text: letterhead/signature")
        elif allc and allc.most_common(1)[0][1] >= 3 and allc.most_common(1)[0][1] >= 0.5 * sum(allc.values()):
            out.append(allc.most_common(1)[0][0])
            source.append("text: dominant country")
        else:
            out.append(None)
            source.append(None)
    return out, source


# --- reuse ---------------------------------------------------------------------------------

_PAIRS_KEY = "pairs"


class PairSims:
    """Exact Jaccard similarities of text pairs, by the texts' identities, kept between runs.

    The pairs whose MinHash estimate is near a threshold need their exact similarity,
    which means shingling both texts (whole responses, at the document level): most of a
    re-run's reuse time when every pair is checked again. A similarity depends on the two
    texts and their languages only, so it is stored under their identities (the
    document's content key, and the paragraph's position for a paragraph), in one cache
    entry beside the stage's per-document cache (``<out>/cache/actors-pairs``). A re-run
    shingles only the texts of pairs it has not seen. After a run the entry holds exactly
    the pairs that run checked, so it does not grow from run to run.

    Args:
        cache_dir: the stage's cache folder (``<out>/cache/actors``), or ``None``: nothing
            is stored and every similarity is computed.

    Attributes:
        computed: similarities computed (not found in the store) in this run.
    """

    def __init__(self, cache_dir: Path | None) -> None:
        self._cache = None if cache_dir is None else DocCache(
            cache_dir.parent, stage=f"{cache_dir.name}-pairs", params={}, code_version=code_version())
        known = self._cache.get(_PAIRS_KEY) if self._cache is not None else None
        self._known: dict[tuple[str, str], float] = known if isinstance(known, dict) else {}
        self._used: dict[tuple[str, str], float] = {}
        self.computed = 0

    def exact(self, names: Sequence[str], texts: Sequence[str], langs: Sequence[str | None]
              ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """An ``exact`` for :func:`pipeline.reuse.confirm_arrays` over rows called ``names``."""
        compute = reuse.exact_by_hashes(texts, langs)

        def exact(i: np.ndarray, j: np.ndarray) -> np.ndarray:
            out = np.empty(len(i), dtype=np.float64)
            pairs = [(names[a], names[b]) if names[a] <= names[b] else (names[b], names[a])
                     for a, b in zip(i.tolist(), j.tolist(), strict=True)]
            missing = []
            for k, pair in enumerate(pairs):
                sim = self._known.get(pair)
                if sim is None:
                    missing.append(k)
                else:
                    out[k] = sim
            if missing:
                m = np.array(missing, dtype=np.int64)
                out[m] = compute(i[m], j[m])
                self.computed += len(missing)
            self._used.update(zip(pairs, out.tolist(), strict=True))
            return out

        return exact

    def save(self) -> None:
        """Store the similarities this run used (only when they differ from the stored ones)."""
        if self._cache is None:
            return
        if self.computed or self._used.keys() != self._known.keys():
            self._cache.put(_PAIRS_KEY, self._used)
        self._cache.prune([_PAIRS_KEY])


def detect_reuse(documents: pd.DataFrame, segments: pd.DataFrame, texts: dict[str, str],
                 langs: dict[str, str], cfg: Config, *, work: dict[str, DocWork] | None = None,
                 cache_dir: Path | None = None) -> pd.DataFrame:
    """Near-duplicate documents and shared passages, as rows of the ``reuse`` table.

    Args:
        documents: the ``documents`` table.
        segments: the ``segments`` table.
        texts: each document's text.
        langs: each document's language.
        cfg: the configuration (``actors`` section, ``base.seed``).
        work: the documents' sketches when already computed (:func:`document_work`, on
            the same tables and configuration).
        cache_dir: the stage's cache folder: sketches (when ``work`` is not given) and
            exact pair similarities are read from and written beside it. The table is
            the same with or without it.
    """
    doc_ids = [str(d) for d in documents["doc_id"]]
    paras = _paragraphs(segments, set(doc_ids))
    lists = paras.by_document()
    computed, keys = _document_work(documents, lists, texts, langs, cfg,
                                    cache_dir=cache_dir if work is None else None, compute=work is None)
    sims = PairSims(cache_dir)
    out = _detect_reuse(documents, paras, texts, langs, cfg, work=work or computed, keys=keys, sims=sims)
    sims.save()
    return out


def _detect_reuse(documents: pd.DataFrame, paras: Paragraphs, texts: dict[str, str], langs: dict[str, str],
                  cfg: Config, *, work: dict[str, DocWork], keys: dict[str, str], sims: PairSims) -> pd.DataFrame:
    a = cfg.actors
    doc_ids = sorted(str(d) for d in documents["doc_id"])
    order = _doc_order(documents)
    rows: list[dict[str, object]] = []

    doc_sigs = (np.vstack([work[d].doc_sig for d in doc_ids]) if doc_ids
                else np.zeros((0, a.num_perm), dtype=np.uint32))
    i, j, est = reuse.candidate_arrays(doc_sigs, threshold=a.reuse_threshold, margin=_MARGIN)
    exact = sims.exact([f"d:{keys[d]}" for d in doc_ids], [texts.get(d, "") for d in doc_ids],
                       [langs.get(d) for d in doc_ids])
    i, j, sim = reuse.confirm_arrays(i, j, est, threshold=a.reuse_threshold, margin=_MARGIN, exact=exact)
    pair_sim = dict(zip(zip(i.tolist(), j.tolist(), strict=True), sim.tolist(), strict=True))
    dup_of: dict[str, str] = {}
    for group in reuse.groups_of(reuse.components(len(doc_ids), i, j)):
        members = group.tolist()
        ids = [doc_ids[m] for m in members]
        cid = reuse.cluster_id("dup", ids)
        original = min(ids, key=order.__getitem__)
        oi = members[ids.index(original)]
        lead = _first_paragraph(texts.get(original, ""))
        for m in members:
            d = doc_ids[m]
            dup_of[d] = cid
            s = 1.0 if m == oi else pair_sim.get((min(m, oi), max(m, oi)),
                                                 float(np.mean(doc_sigs[m] == doc_sigs[oi])))
            rows.append({"reuse_cluster": cid, "doc_id": d, "seg_id": -1, "kind": "near_duplicate",
                         "shared_text": lead, "similarity": round(s, 4), "cluster_size": len(ids),
                         "reason": "original" if d == original else f"copy of {original}"})

    rows.extend(_shared_passages(paras, langs, dup_of, order, cfg, work=work, keys=keys, sims=sims))
    reuse_df = pd.DataFrame(rows, columns=list(REUSE_COLUMNS))
    reuse_df["seg_id"] = reuse_df["seg_id"].astype("int64")
    return reuse_df.sort_values(["reuse_cluster", "doc_id", "seg_id"]).reset_index(drop=True)


def _doc_order(documents: pd.DataFrame) -> dict[str, tuple[str, str, str]]:
    """Who came first: earliest submission date, then source path, then doc id."""
    sub = documents.get("submitted", pd.Series([None] * len(documents)))
    src = documents.get("source_path", pd.Series([None] * len(documents)))
    return {str(d): (_clean(s) or "9999", _clean(p) or "", str(d))
            for d, s, p in zip(documents["doc_id"], sub, src, strict=True)}


def _first_paragraph(text: str, *, limit: int = 300) -> str:
    for para in re.split(r"\n\s*\n", text or ""):
        para = " ".join(para.split())
        if len(para) >= 40:
            return para[:limit]
    return " ".join((text or "").split())[:limit]


def _shared_passages(paras: Paragraphs, langs: dict[str, str], dup_of: dict[str, str],
                     order: dict[str, tuple[str, str, str]], cfg: Config, *,
                     work: dict[str, DocWork], keys: dict[str, str], sims: PairSims) -> list[dict[str, object]]:
    a = cfg.actors
    # The same paragraphs in the same order as document_work sketched them; only those
    # of at least min_passage_words words have a sketch.
    all_docs = paras.doc_ids
    docs_in_order = list(dict.fromkeys(all_docs))
    counts = (np.concatenate([work[d].seg_counts for d in docs_in_order]) if docs_in_order
              else np.zeros(0, dtype=np.int64))
    if len(counts) != len(all_docs):
        raise RuntimeError("actors: the paragraph sketches do not line up with the paragraphs; "
                           "delete the actors cache folder and run the stage again")
    kept = np.flatnonzero(counts >= a.min_passage_words).tolist()
    if len(kept) < 2:
        return []
    sigs = np.vstack([work[d].seg_sigs for d in docs_in_order])
    if len(sigs) != len(kept):
        raise RuntimeError("actors: cached paragraph sketches were made with another min_passage_words; "
                           "delete the actors cache folder and run the stage again")
    # A paragraph's identity (for the pair cache): its document's content key and its
    # position among that document's paragraphs.
    position: list[int] = []
    for k, d in enumerate(all_docs):
        position.append(position[-1] + 1 if k and all_docs[k - 1] == d else 0)
    all_segs, all_texts = paras.seg_ids, paras.texts
    docs = [all_docs[k] for k in kept]
    seg_ids = [all_segs[k] for k in kept]
    seg_texts = [all_texts[k] for k in kept]
    names = [f"p:{keys[all_docs[k]]}:{position[k]}" for k in kept]
    # A near-duplicate cluster counts as one document here: its shared paragraphs are
    # already the cluster itself.
    groups = [dup_of.get(d, d) for d in docs]
    i, j, est = reuse.candidate_arrays(sigs, threshold=a.passage_threshold, groups=groups, margin=_MARGIN)
    exact = sims.exact(names, seg_texts, [langs.get(d) for d in docs])
    i, j, sim = reuse.confirm_arrays(i, j, est, threshold=a.passage_threshold, margin=_MARGIN, exact=exact)
    best = np.zeros(len(docs), dtype=np.float64)
    np.maximum.at(best, i, sim)
    np.maximum.at(best, j, sim)
    questions: list[np.ndarray] | None = None
    rows: list[dict[str, object]] = []
    for group in reuse.groups_of(reuse.components(len(docs), i, j)):
        members = group.tolist()
        voices = {groups[m] for m in members}
        if len(voices) < 2:
            continue
        if questions is None:
            questions = [reuse.shingle_hashes(q) for q in reuse.guiding_questions()]
        member_keys = [f"{docs[m]}#{seg_ids[m]}" for m in members]
        first = min(members, key=lambda m: (order.get(docs[m], ("", "", "")), seg_ids[m]))
        shared = " ".join(str(seg_texts[first]).split())
        why = reuse.is_quotation(shared, questions=questions, min_containment=a.quote_containment)
        kind = "quotation" if why else "shared_passage"
        cid = reuse.cluster_id("quote" if why else "psg", member_keys)
        for m in members:
            rows.append({"reuse_cluster": cid, "doc_id": docs[m], "seg_id": seg_ids[m],
                         "kind": kind, "shared_text": shared[:600], "similarity": round(float(best[m]), 4),
                         "cluster_size": len(voices), "reason": why or f"paragraph shared by {len(voices)} responses"})
    return rows


# --- the stage -----------------------------------------------------------------------------


def _voices(actor_ids: Sequence[str], dup_clusters: Sequence[str | None]) -> list[str]:
    """One id per independent voice: same actor or same near-duplicate cluster."""
    n = len(actor_ids)
    uf = reuse.UnionFind(n)
    first: dict[str, int] = {}
    for i, (aid, cl) in enumerate(zip(actor_ids, dup_clusters, strict=True)):
        for key in (f"a:{aid}", f"c:{cl}" if cl else None):
            if key is None:
                continue
            if key in first:
                uf.union(first[key], i)
            else:
                first[key] = i
    roots: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        roots[uf.find(i)].append(i)
    out = [""] * n
    for members in roots.values():
        ids = sorted({actor_ids[m] for m in members})
        # One actor: the voice is the actor; several (a campaign): a stable hash of them.
        vid = "voice:" + ids[0].split(":", 1)[-1] if len(ids) == 1 else \
            reuse.cluster_id("voice", ids).replace("reuse:", "")
        for m in members:
            out[m] = vid
    return out


def resolve_actors(
    documents: pd.DataFrame,
    segments: pd.DataFrame,
    languages: pd.DataFrame,
    entities: pd.DataFrame,
    cfg: Config,
    *,
    cache_dir: Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type, name and place every response, and find reused text.

    Args:
        documents: the ingest ``documents`` table (metadata columns may be null).
        segments: the ingest ``segments`` table (paragraphs).
        languages: the ``languages`` table (document rows have a null ``seg_id``).
        entities: the ``entities`` table (``org:`` and ``country:`` ids are used).
        cfg: the configuration (``actors`` section and ``base.seed``).
        cache_dir: the per-document cache of typing and sketches (e.g.
            ``<out>/cache/actors``; exact pair similarities go beside it, to
            ``<out>/cache/actors-pairs``); the result is the same with or without it.

    Returns:
        The ``actors`` table (one row per document) and the ``reuse`` table.
    """
    if not documents["doc_id"].is_monotonic_increasing:  # sorting copies every text: only when needed
        documents = documents.sort_values("doc_id")
    documents = documents.reset_index(drop=True)
    if documents.empty:
        return (pd.DataFrame(columns=list(ACTOR_COLUMNS)), pd.DataFrame(columns=list(REUSE_COLUMNS)))
    t0 = time.perf_counter()
    texts = _doc_texts(documents, segments)
    langs = _doc_langs(languages)

    paras = _paragraphs(segments, {str(d) for d in documents["doc_id"]})
    work, keys = _document_work(documents, paras.by_document(), texts, langs, cfg, cache_dir=cache_dir)
    typed = type_documents(documents, texts, cfg, inferred=[work[str(d)].typed for d in documents["doc_id"]])
    t_type = time.perf_counter()

    orgs = [_clean(o) for o in documents.get("organisation", pd.Series([None] * len(documents)))]
    people = [_clean(p) for p in documents.get("respondent", pd.Series([None] * len(documents)))]
    guessed: list[bool] = []
    pairs: list[tuple[str | None, str | None]] = []
    for d, org, person, span, zone, stype in zip(documents["doc_id"], orgs, people, typed["_span"], typed["_zone"],
                                                 typed["stakeholder_type"], strict=True):
        if stype == "individual" and person and not actor_names.is_placeholder(person):
            # Someone writing in a personal capacity is the actor, not their employer.
            pairs.append((None, person))
            guessed.append(False)
            continue
        if org or person:
            pairs.append((org, person))
            guessed.append(False)
            continue
        name = guess_name(texts.get(str(d), ""), span) if zone in ("head", "self") else None
        pairs.append((name, None))
        guessed.append(bool(name))
    refs = actor_names.resolve_names(pairs, entity_orgs=_entity_orgs(entities), spelling_ratio=cfg.actors.spelling_ratio)

    actor_id: list[str] = []
    actor_name: list[str | None] = []
    reasons: list[str] = []
    for d, ref, g in zip(documents["doc_id"], refs, guessed, strict=True):
        if ref is None:
            actor_id.append(f"actor:doc-{d}")
            actor_name.append(None)
            reasons.append("unresolved: no organisation or respondent in metadata, no name found in the text")
        else:
            actor_id.append(ref.actor_id)
            actor_name.append(ref.actor_name)
            reasons.append(("text (name guessed from the letterhead or self-description); " if g else "") + ref.merge_reason)

    country, country_source = countries(documents, segments, entities)
    t_names = time.perf_counter()
    sims = PairSims(cache_dir)
    reuse_df = _detect_reuse(documents, paras, texts, langs, cfg, work=work, keys=keys, sims=sims)
    sims.save()
    logger.info("actors timings: types and sketches %.1f s, names and countries %.1f s, reuse %.1f s",
                t_type - t0, t_names - t_type, time.perf_counter() - t_names)

    dup = reuse_df[reuse_df["kind"] == "near_duplicate"]
    dup_cluster = dict(zip(dup["doc_id"], dup["reuse_cluster"], strict=True))
    dup_role = {d: ("original" if r == "original" else "copy") for d, r in zip(dup["doc_id"], dup["reason"], strict=True)}
    psg = reuse_df[reuse_df["kind"] == "shared_passage"]
    n_psg = psg.groupby("doc_id")["reuse_cluster"].nunique().to_dict()
    # A document outside any near-duplicate cluster shows its largest shared-passage cluster.
    psg_best = {}
    if len(psg):
        ranked = psg.drop_duplicates(["doc_id", "reuse_cluster"]).sort_values(
            ["doc_id", "cluster_size", "reuse_cluster"], ascending=[True, False, True])
        psg_best = ranked.groupby("doc_id")["reuse_cluster"].first().to_dict()

    doc_ids = [str(d) for d in documents["doc_id"]]
    clusters = [dup_cluster.get(d) or psg_best.get(d) for d in doc_ids]
    actors = pd.DataFrame({
        "doc_id": doc_ids,
        "actor_id": actor_id,
        "actor_name": actor_name,
        "merge_reason": reasons,
        "stakeholder_type": typed["stakeholder_type"],
        "type_source": typed["type_source"],
        "type_score": typed["type_score"].astype(float),
        "type_evidence": typed["type_evidence"],
        "type_text": typed["type_text"],
        "type_flag": typed["type_flag"].astype(bool),
        "country": country,
        "country_source": country_source,
        "reuse_cluster": clusters,
        "reuse_kind": ["near_duplicate" if d in dup_cluster else ("shared_passage" if d in psg_best else None)
                       for d in doc_ids],
        "reuse_role": [dup_role.get(d) for d in doc_ids],
        "n_shared_passages": [int(n_psg.get(d, 0)) for d in doc_ids],
        "voice_id": _voices(actor_id, [dup_cluster.get(d) for d in doc_ids]),
    })
    n_flag = int(actors["type_flag"].sum())
    logger.info("actors: %d responses, %d actors, %d voices; %d near-duplicate clusters, %d shared passages; "
                "%d metadata types flagged", len(actors), actors["actor_id"].nunique(), actors["voice_id"].nunique(),
                dup["reuse_cluster"].nunique(), psg["reuse_cluster"].nunique(), n_flag)
    return actors, reuse_df


def voice_counts(actors: pd.DataFrame) -> dict[str, int]:
    """Raw and distinct totals: responses, actors, voices and near-duplicate clusters."""
    return {
        "responses": int(len(actors)),
        "actors": int(actors["actor_id"].nunique()),
        "voices": int(actors["voice_id"].nunique()),
        "near_duplicate_clusters": int(actors.loc[actors["reuse_kind"] == "near_duplicate", "reuse_cluster"].nunique()),
    }
