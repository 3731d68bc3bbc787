"""The themes stage: theme scores per document and segment, and sub-themes inside themes.

Reads ``segments``, ``languages`` and ``documents``; writes ``themes`` and
``subthemes`` (see ``DESIGN.md``).

Theme assignment translates nothing and favours no language. Each theme file gives seed
concepts with their words in the six UN languages; a segment's words are tokenised for
its own language (``pipeline.tokenize``) and matched against that language's seeds.
Evidence for a theme is the weighted count of its concepts, TF-IDF style within the
language (sublinear counts; concepts that occur in every document of a language count
less). Scores are each theme's share of the evidence, so a paragraph and its
translation, which name the same concepts, get the same scores in any language. A
document with too little seed evidence for its length is ``other``. A document's
second themes are those with a large share of its evidence, or with paragraphs of
their own (``themes.focus_*``): a topic given whole paragraphs is addressed even when
the main topic's broader lexicon holds most of the matches.

Sub-themes: NMF over the concept and word features of each theme's segments, the number
chosen by resampling stability (``pipeline.subthemes``). With
``themes.theme_set: discover`` there is no theme file: the same clustering runs over the
whole corpus to make themes, then inside each of them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import chain, islice, repeat, starmap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.cache import (
    DocCache,
    cached_map,
    content_key,
    package_versions,
    rows_key,
    stage_code_version,
)
from pipeline.config import Config, ThemesConfig
from pipeline.memory import release_free_memory
from pipeline.parallel import map_ordered, warm_pool
from pipeline.subthemes import (
    Partition,
    build_features,
    cluster,
    content_sample,
    label_word,
    preload_models,
    sample_rate,
    stability_curve,
    top_terms,
)
from pipeline.theme_defs import (
    DISCOVER,
    FALLBACK_THEME,
    Matcher,
    ThemeDef,
    concept_idf,
    load_theme_set,
)
from pipeline.tokenize import analyze_both, resolve_lang

logger = logging.getLogger(__name__)

_KNOWN_LANGS = {"ar", "zh", "en", "fr", "ru", "es", "pt", "de", "it", "nl"}
_CHUNK = 25  # documents per worker task
_LABEL_LIFT = 1.25  # a label word is this much commoner in its sub-theme than elsewhere
# Bump when a code change alters a segment's analysis for the same input (or the form of
# the cached entries). The digest of the modules and data below is appended
# (code_version), so an edit that forgets the bump still cannot serve stale cached analyses.
CODE_VERSION = "themes-2026.11.28-1"
_PACKAGE_DIR = Path(__file__).resolve().parent
_CODE_FILES = (
    _PACKAGE_DIR / "themes.py",
    _PACKAGE_DIR / "tokenize.py",
    _PACKAGE_DIR / "theme_defs.py",
    _PACKAGE_DIR / "textutil.py",
    _PACKAGE_DIR / "data" / "themes",
)
# Installed packages whose version changes tokens (segmentation, lemmas, stems).
_TOKENIZER_PACKAGES = ("jieba", "pymorphy3", "pymorphy3-dicts-ru", "snowballstemmer")


_Row = tuple[str, int, str, "str | None"]  # doc_id, seg_id, text, language


class _Seg:
    """One segment's analysis: its tokens (match keys), their written forms and the seed
    concepts it names.

    Keys and forms are held as two joined strings and split when read: a large corpus
    has hundreds of thousands of segments, and lists of word objects would hold gigabytes
    where the joined text takes about the size of the text itself. Pickles (the
    per-document cache, the workers' results) are as compact. ``surfaces`` (key ->
    Counter of written forms, for labels) is built when asked for. ``concepts`` is a
    plain dict (concept -> count, in match order): a Counter per segment made reading
    a large cache several times slower.
    """

    __slots__ = ("doc_id", "seg_id", "lang", "concepts", "n_keys", "_keys", "_forms")

    def __init__(
        self,
        doc_id: str,
        seg_id: int,
        lang: str,
        keys: list[str],
        forms: list[str],
        concepts: dict[int, int],
    ) -> None:
        self.doc_id = doc_id
        self.seg_id = seg_id
        self.lang = lang
        self.concepts: dict[int, int] = dict(concepts)
        self.n_keys = len(keys)
        self._keys: str | list[str] = _join(keys)
        self._forms: str | list[str] = _join(forms)

    @property
    def keys(self) -> list[str]:
        return _split(self._keys, self.n_keys)

    @property
    def surfaces(self) -> dict[str, Counter[str]]:
        surf: dict[str, Counter[str]] = defaultdict(Counter)
        for k, f in zip(self.keys, _split(self._forms, self.n_keys), strict=True):
            surf[k][f] += 1
        return dict(surf)

    def forms_of(self, wanted: Collection[str]) -> Iterator[tuple[str, str]]:
        """(key, written form) of every occurrence of a key in ``wanted``, in text order."""
        if isinstance(self._keys, str) and not any(key in self._keys for key in wanted):
            return  # a substring test on the joined keys rules most segments out
        for k, f in zip(self.keys, _split(self._forms, self.n_keys), strict=True):
            if k in wanted:
                yield k, f

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.doc_id, self.seg_id, self.lang, self.n_keys, self._keys, self._forms,
                tuple(self.concepts.items()))

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.doc_id, self.seg_id, self.lang, self.n_keys, self._keys, self._forms, concepts = state
        self.concepts = dict(concepts)

    @classmethod
    def from_state(cls, state: tuple[Any, ...]) -> _Seg:
        """The segment of a ``__getstate__`` tuple."""
        seg = cls.__new__(cls)
        seg.__setstate__(state)
        return seg


@contextlib.contextmanager
def _gc_frozen() -> Iterator[None]:
    """Keep every object alive now out of the cyclic GC (``gc.freeze``) until the block
    ends; objects a caller froze before stay frozen."""
    frozen_before = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large acyclic structure is built."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _join(words: list[str]) -> str | list[str]:
    joined = _SEP.join(words)
    # A word holding the separator itself (never seen) keeps the list.
    return joined if joined.count(_SEP) == max(len(words) - 1, 0) else list(words)


def _split(joined: str | list[str], n: int) -> list[str]:
    if isinstance(joined, list):
        return list(joined)
    return joined.split(_SEP) if n else []


_SEP = "\x1f"  # ASCII unit separator: never inside a token


def _analyze_chunk(
    item: tuple[list[_Row], Matcher | None],
) -> list[_Seg]:
    rows, matcher = item
    out = []
    for doc_id, seg_id, text, lang in rows:
        lang_r = resolve_lang(text, lang)
        pairs, mkeys = analyze_both(text, lang_r)
        concepts = matcher.match(text, mkeys, lang_r) if matcher is not None else Counter()
        out.append(
            _Seg(doc_id, seg_id, lang_r, [k for k, _ in pairs], [f for _, f in pairs], concepts)
        )
    return out


class _Column(Sequence[Any]):
    """``[getattr(s, attr) for s in segs]`` without building the list (read per index)."""

    def __init__(self, segs: Sequence[_Seg], attr: str) -> None:
        self._segs = segs
        self._attr = attr

    def __len__(self) -> int:
        return len(self._segs)

    def __getitem__(self, i: Any) -> Any:
        return getattr(self._segs[i], self._attr)


def _languages(languages: pd.DataFrame) -> tuple[dict[tuple[str, int], str], dict[str, str]]:
    seg_lang: dict[tuple[str, int], str] = {}
    doc_lang: dict[str, str] = {}
    if languages is None or languages.empty:
        return seg_lang, doc_lang
    # Plain Python lists: iterating the Arrow-backed columns row by row is slow.
    seg_ids = languages["seg_id"].astype("Int64").tolist()
    for doc_id, seg_id, lang in zip(
        languages["doc_id"].astype(str).tolist(), seg_ids, languages["lang"].tolist(), strict=True
    ):
        if not isinstance(lang, str) or not lang:
            continue
        lang = lang.split(";")[0].split("-")[0].lower()
        if seg_id is pd.NA:
            doc_lang[doc_id] = lang
        else:
            seg_lang[(doc_id, int(seg_id))] = lang
    return seg_lang, doc_lang


def analyze_segments(
    segments: pd.DataFrame,
    languages: pd.DataFrame,
    matcher: Matcher | None,
    cfg: Config,
    *,
    cache_dir: Path | None = None,
    langs: tuple[dict[tuple[str, int], str], dict[str, str]] | None = None,
) -> list[_Seg]:
    """Tokenise and seed-match every segment, in parallel by document, in input order.

    Args:
        segments: the ``segments`` table.
        languages: the ``languages`` table.
        matcher: the theme set's seed matcher (``None`` in discovery mode).
        cfg: the pipeline configuration (``compute``).
        cache_dir: when given, the folder of this stage's per-document cache (e.g.
            ``<out>/cache/themes``): a document whose segment texts and languages, theme
            set and analysis code are unchanged is not tokenised again. The result is the
            same with or without it.
        langs: ``_languages(languages)`` when the caller has it already.
    """
    seg_lang, doc_lang = langs if langs is not None else _languages(languages)
    segs = segments.sort_values(["doc_id", "seg_id"], kind="stable")
    docs: dict[str, list[_Row]] = {}
    # Plain Python lists: itertuples over the Arrow-backed columns is four times slower.
    for doc_id, seg_id, text in zip(
        segs["doc_id"].tolist(), segs["seg_id"].tolist(), segs["text"].tolist(), strict=True
    ):
        doc_id, seg_id = str(doc_id), int(seg_id)
        lang = seg_lang.get((doc_id, seg_id)) or doc_lang.get(doc_id)
        docs.setdefault(doc_id, []).append(
            (
                doc_id,
                seg_id,
                text if isinstance(text, str) else "",
                lang if lang in _KNOWN_LANGS else None,
            )
        )
    doc_ids = list(docs)
    found: dict[str, list[_Seg]] = {}
    cache = keys = None
    if cache_dir is not None:
        cache = DocCache(
            cache_dir.parent,
            stage=cache_dir.name,
            params=cache_params(matcher),
            code_version=code_version(),
        )
        keys = {d: rows_key(d, [r[1:] for r in docs[d]]) for d in doc_ids}
        # Entries hold the segments' state tuples: unpickling plain tuples and building
        # the segments here is about twice as fast as unpickling the objects. The cyclic
        # GC is paused meanwhile: its full passes over the growing heap (nothing here is
        # garbage) cost a fifth of a second on 1,000 responses.
        with _gc_paused():
            for d in doc_ids:
                hit = cache.get(keys[d])
                if hit is not None:
                    found[d] = [_Seg.from_state(st) for st in hit]
    todo = [d for d in doc_ids if d not in found]
    logger.info("themes: %d documents to analyse, %d from cache", len(todo), len(found))
    # Chunks of whole documents keep a document's segments in one task and send the
    # matcher once per chunk rather than once per document.
    chunks = [todo[i : i + _CHUNK] for i in range(0, len(todo), _CHUNK)]
    items = [([r for d in chunk for r in docs[d]], matcher) for chunk in chunks]
    for chunk, part in zip(
        chunks, map_ordered(_analyze_chunk, items, compute=cfg.compute, desc="themes"), strict=True
    ):
        at = 0
        for d in chunk:
            n = len(docs[d])
            found[d] = part[at : at + n]
            at += n
            if cache is not None and keys is not None:
                cache.put(keys[d], [s.__getstate__() for s in found[d]])
    if cache is not None and keys is not None:
        cache.prune(keys.values())
    return [s for d in doc_ids for s in found[d]]


def build_matcher(defs: list[ThemeDef], *, cache_dir: Path | None = None) -> Matcher:
    """The theme set's seed matcher, kept beside the analysis cache when given one:
    tokenising thousands of seed terms with the lemmatisers costs seconds per run."""
    if cache_dir is None:
        return Matcher.build(defs)
    cache = DocCache(
        cache_dir.parent,
        stage=f"{cache_dir.name}-matcher",
        params={"packages": package_versions(*_TOKENIZER_PACKAGES)},
        code_version=code_version(),
    )
    key = content_key([dataclasses.asdict(t) for t in defs])
    matcher = cache.get(key)
    if not isinstance(matcher, Matcher):
        matcher = Matcher.build(defs)
        cache.put(key, matcher)
        cache.prune([key])
    return matcher


def _theme_subthemes(
    item: tuple[str, list[tuple[Any, ...]], list[str] | None, Config, dict[int, float] | None],
) -> tuple[list[dict[str, Any]], dict[tuple[str, int, str], str], dict[int, float] | None]:
    theme, states, concept_names, cfg, curve = item
    theme_segs = [_Seg.from_state(st) for st in states]
    curves = {theme: curve} if curve is not None else {}
    rows, seg_sub = _subthemes_all(
        theme_segs, {theme: list(range(len(theme_segs)))}, concept_names, cfg, curves=curves
    )
    return rows, seg_sub, curves.get(theme)


def subthemes_by_theme(
    segs: Sequence[_Seg],
    by_theme: dict[str, list[int]],
    concept_names: list[str] | None,
    cfg: Config,
    *,
    cache_dir: Path | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> tuple[list[dict[str, Any]], dict[tuple[str, int, str], str]]:
    """Sub-themes of every theme: one theme per task, in parallel, as ``_subthemes_all``
    (in ``pool`` when given: workers started ahead by :func:`pipeline.parallel.warm_pool`).

    With ``cache_dir``, each theme's result is kept under a key made of its segments'
    analyses, the themes knobs and the seed: adding a response refits only the themes
    its paragraphs fall in (a theme's sub-themes depend on its segments alone). The
    stability curve of a theme of more than ``themes.stability_max_rows`` segments (the
    costly part: tens of NMF fits) is kept too, under a key made of its content sample's
    analyses (``_stability_rows``): when the new response hashes outside that sample,
    the refit is the final fit on all segments and the labels. Tables are the same with
    or without the cache.
    """
    tcfg = cfg.themes
    themes = [
        t
        for t in sorted(by_theme)
        if by_theme[t] and (t != FALLBACK_THEME or tcfg.cluster_other)
    ]
    # A theme's segments go to its task as state tuples (a worker unpickles those twice
    # as fast as segment objects); the same tuples make its cache keys.
    states = {t: [segs[i].__getstate__() for i in by_theme[t]] for t in themes}
    if cache_dir is None:
        items = [(t, states[t], concept_names, cfg, None) for t in themes]
        return _merge_subthemes(
            map_ordered(_theme_subthemes, items, compute=cfg.compute, desc="sub-themes", pool=pool)
        )
    params = {"themes": dataclasses.asdict(tcfg), "seed": cfg.base.seed, "concepts": concept_names}
    version = code_version(_PACKAGE_DIR / "subthemes.py")
    cache = DocCache(cache_dir.parent, stage=f"{cache_dir.name}-subthemes", params=params,
                     code_version=version)
    curve_cache = DocCache(cache_dir.parent, stage=f"{cache_dir.name}-stability", params=params,
                           code_version=version)
    curve_keys: dict[str, str] = {}
    for t in themes:
        if len(by_theme[t]) > tcfg.stability_max_rows:
            rows = _stability_rows(segs, by_theme[t], max_rows=tcfg.stability_max_rows)
            curve_keys[t] = rows_key("stability", t, [segs[i].__getstate__() for i in rows])
    known = {t: curve_cache.get(k) for t, k in curve_keys.items()}
    # Longest first: a theme whose stability curve is to be measured (tens of NMF fits)
    # goes to the workers before those that only refit, larger themes before smaller,
    # so the last task to finish is a short one. Results come back in theme order.
    order = sorted(range(len(themes)), reverse=True,
                   key=lambda j: (known.get(themes[j]) is None, len(by_theme[themes[j]])))
    items = [(themes[j], states[themes[j]], concept_names, cfg, known.get(themes[j])) for j in order]
    keys = [rows_key(themes[j], states[themes[j]]) for j in order]
    del states
    longest_first = cached_map(
        _theme_subthemes, items, keys=keys, cache=cache, compute=cfg.compute, desc="sub-themes",
        pool=pool,
    )
    by_order = dict(zip(order, longest_first, strict=True))
    computed = [by_order[j] for j in range(len(themes))]
    for t, (_rows, _sub, curve) in zip(themes, computed, strict=True):
        if t in curve_keys and curve is not None and known.get(t) is None:
            curve_cache.put(curve_keys[t], curve)
    cache.prune(keys)
    curve_cache.prune(curve_keys.values())
    return _merge_subthemes(computed)


def _merge_subthemes(
    results: Iterable[tuple[list[dict[str, Any]], dict[tuple[str, int, str], str], Any]],
) -> tuple[list[dict[str, Any]], dict[tuple[str, int, str], str]]:
    rows: list[dict[str, Any]] = []
    seg_sub: dict[tuple[str, int, str], str] = {}
    for theme_rows, theme_sub, _curve in results:
        rows.extend(theme_rows)
        seg_sub.update(theme_sub)
    return rows, seg_sub


def code_version(*extra: Path) -> str:
    """:data:`CODE_VERSION` plus a digest of the modules and data the analysis uses (and
    of ``extra`` files)."""
    return stage_code_version(CODE_VERSION, *_CODE_FILES, *extra)


def cache_params(matcher: Matcher | None) -> dict[str, Any]:
    """What, besides a document's segments, changes its analysis: the seed concepts
    (the theme files, wherever they were read from) and the tokenisers' packages."""
    concepts = (
        None
        if matcher is None
        else content_key([dataclasses.asdict(c) for c in matcher.concepts])
    )
    return {"concepts": concepts, "packages": package_versions(*_TOKENIZER_PACKAGES)}


def _evidence(
    unit: np.ndarray,
    concept: np.ndarray,
    count: np.ndarray,
    weight: np.ndarray,
    concept_theme: np.ndarray,
    n_units: int,
    n_themes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit (segment or document) and theme, the weighted sublinear evidence and how
    many distinct concepts back it; and per unit its seed matches.

    The entries (``unit``, ``concept``, ``count``, ``weight`` of the concept) hold each
    unit's distinct concepts in the order they were matched. ``bincount`` adds in input
    order, so each sum is the same, to the last bit, as one unit's loop over its counts;
    ``math.log`` (not ``np.log``, which may differ in the last bit) makes the sublinear
    counts.
    """
    values, at = np.unique(count, return_inverse=True)
    sublinear = np.array([1.0 + math.log(v) for v in values.tolist()], dtype=float)[at]
    cell = unit * n_themes + concept_theme[concept]
    size = n_units * n_themes
    ev = np.bincount(cell, weights=weight * sublinear, minlength=size).reshape(n_units, n_themes)
    distinct = np.bincount(cell, minlength=size).reshape(n_units, n_themes)
    hits = np.bincount(unit, weights=count, minlength=n_units).astype(np.int64)
    return ev, distinct, hits


def _segment_rows(
    ev: np.ndarray, distinct: np.ndarray, hits: np.ndarray, tcfg: ThemesConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``_score_rows(..., document=False)`` of every segment at once (86,000 calls cost
    a second on 1,000 responses).

    Returns:
        ``(weak, primary, share, keep)`` per segment: a weak segment gets the one
        ``FALLBACK_THEME`` row; the others one row per theme ``keep`` marks (their
        primary theme among them), scored by ``share``.
    """
    n, n_themes = ev.shape
    weak = np.ones(n, dtype=bool)
    primary = np.zeros(n, dtype=np.int64)
    share = np.zeros((n, n_themes))
    keep = np.zeros((n, n_themes), dtype=bool)
    if not n or not n_themes:
        return weak, primary, share, keep
    total = ev.sum(axis=1)  # each row's own pairwise sum, as ev.sum() of that row
    scored = total > 0
    weak = ~scored | (hits < tcfg.min_hits)
    primary = ev.argmax(axis=1)
    np.divide(ev, total[:, None], out=share, where=scored[:, None])
    rows = np.arange(n)
    floor = np.maximum(tcfg.secondary_min_score, tcfg.secondary_ratio * share[rows, primary])
    keep = (share >= floor[:, None]) & (distinct >= 1)
    keep[rows, primary] = True
    keep[weak] = False
    return weak, primary, share, keep


def _score_rows(
    ev: np.ndarray,
    distinct: np.ndarray,
    hits: int,
    n_tokens: int,
    theme_ids: list[str],
    tcfg: ThemesConfig,
    *,
    document: bool,
    focused: np.ndarray | None = None,
    unscale: np.ndarray | None = None,
) -> list[tuple[str, float, bool, int]]:
    """(theme, score, is_primary, n_concepts) rows for one unit (document or segment).

    ``focused`` (documents only) counts, per theme, the document's segments that are
    *about* it: they name at least ``focus_concepts`` distinct seed concepts of it (a
    paragraph may discuss two themes at once). Counting paragraphs rather than pooled
    matches lets a section on a second topic, or one half of a bilingual document,
    count however broad the main theme's lexicon. ``unscale`` undoes the lexicon-size
    calibration so that ``min_evidence`` keeps counting seed matches.
    """
    total = float(ev.sum())
    primary = int(np.argmax(ev)) if total > 0 else -1
    raw_primary = ev[primary] * (unscale[primary] if unscale is not None else 1.0)
    weak = (
        primary < 0
        or hits < tcfg.min_hits
        or (document and hits / max(n_tokens, 1) < tcfg.min_density)
        # One sentence names its topic once; a longer text that mentions a theme only in
        # passing is not about it.
        or (document and n_tokens >= tcfg.short_doc_words and raw_primary < tcfg.min_evidence)
    )
    if weak:
        return [(FALLBACK_THEME, 1.0, True, 0)]
    share = ev / total
    floor = max(tcfg.secondary_min_score, tcfg.secondary_ratio * float(share[primary]))
    need = tcfg.min_secondary_concepts if document else 1
    n_focused = float(focused.sum()) if focused is not None else 0.0
    rows = []
    for i, s in enumerate(share):
        # A second theme is kept on either kind of evidence: a large share of the
        # document's seed evidence, or paragraphs of its own. Gold second themes often
        # hold only 0.2-0.3 of the evidence (the primary topic's broad lexicon swamps
        # them) yet fill whole paragraphs; passing mentions never do.
        by_share = s >= floor and distinct[i] >= need
        # ``min_score`` bounds both rules: every row written clears it, so readers that
        # filter on it (``textmine evaluate``) see exactly the themes decided here.
        by_focus = (
            focused is not None
            and tcfg.focus_min_segments > 0
            and s >= tcfg.min_score
            and distinct[i] >= need
            and focused[i] >= tcfg.focus_min_segments
            and focused[i] >= tcfg.focus_share * n_focused
        )
        if i == primary or by_share or by_focus:
            rows.append((theme_ids[i], round(float(s), 6), i == primary, int(distinct[i])))
    return rows


@dataclasses.dataclass
class Analysed:
    """A corpus's segments analysed for a theme set (:func:`analyse_corpus`)."""

    segs: list[_Seg]
    doc_lang: dict[str, str]
    defs: list[ThemeDef]
    matcher: Matcher | None


def analyse_corpus(
    segments: pd.DataFrame,
    languages: pd.DataFrame,
    cfg: Config,
    *,
    corpus: Path,
    cache_dir: Path | None = None,
) -> Analysed:
    """Load the theme set and analyse every segment (the per-document half of
    :func:`fit_themes`). The tables are not kept: a caller that drops its own references
    to them frees their memory before :func:`fit_analysed` forks its workers."""
    discover = cfg.themes.theme_set == DISCOVER
    defs: list[ThemeDef] = (
        []
        if discover
        else load_theme_set(cfg.themes.theme_set, corpus=corpus, min_terms=cfg.themes.min_seed_terms)
    )
    matcher = None if discover else build_matcher(defs, cache_dir=cache_dir)
    seg_lang, doc_lang = _languages(languages)
    segs = analyze_segments(segments, languages, matcher, cfg, cache_dir=cache_dir,
                            langs=(seg_lang, doc_lang))
    return Analysed(segs, doc_lang, defs, matcher)


def fit_analysed(
    analysed: Analysed,
    documents: pd.DataFrame,
    cfg: Config,
    *,
    cache_dir: Path | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score the analysed segments and documents and find sub-themes (the corpus-level
    half of :func:`fit_themes`). ``pool``: the sub-theme workers, from
    :func:`subtheme_pool` (started here when not given)."""
    # The tables and the analysis's scratch are garbage by now: hand their pages back to
    # the system (on 10,000 responses, 0.6 GiB of peak memory).
    release_free_memory()
    segs, doc_lang, defs, matcher = analysed.segs, analysed.doc_lang, analysed.defs, analysed.matcher
    # What is alive now (the segments, the tables, the modules) lives to the end: frozen,
    # it is skipped by the cyclic GC's full passes, which otherwise walk it again and
    # again while the rows, features and results are built (half a second on 1,000
    # responses).
    with _gc_frozen():
        if matcher is None:
            return _discover(segs, documents, doc_lang, cfg)
        with contextlib.nullcontext(pool) if pool is not None else subtheme_pool(cfg) as pool:
            return _score_themes(segs, documents, doc_lang, defs, matcher, cfg,
                                 cache_dir=cache_dir, pool=pool)


def subtheme_pool(cfg: Config) -> contextlib.AbstractContextManager[ProcessPoolExecutor | None]:
    """The sub-theme workers, started now so that they import scikit-learn (a second)
    while this process reads and scores the segments, which never needs it: start them
    before reading the tables (they then hold none of their pages) and pass them to
    :func:`fit_analysed`. None in discovery mode (this process clusters) or with one
    worker."""
    if cfg.themes.theme_set == DISCOVER:
        return contextlib.nullcontext(None)
    return warm_pool(cfg.compute, preload_models)


def fit_themes(
    segments: pd.DataFrame,
    languages: pd.DataFrame,
    documents: pd.DataFrame,
    cfg: Config,
    *,
    corpus: Path,
    cache_dir: Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score documents and segments against the theme set and find sub-themes.

    Args:
        segments: the ``segments`` table.
        languages: the ``languages`` table (segment rows, and document rows as fallback).
        documents: the ``documents`` table (every document gets a row, even without text).
        cfg: the pipeline configuration (``themes`` and ``base.seed``).
        corpus: the corpus folder; its ``themes/`` folder overrides the package theme sets.
        cache_dir: the per-document analysis cache (see :func:`analyze_segments`).

    Returns:
        ``(themes, subthemes)`` tables.
    """
    analysed = analyse_corpus(segments, languages, cfg, corpus=corpus, cache_dir=cache_dir)
    return fit_analysed(analysed, documents, cfg, cache_dir=cache_dir)


def _score_themes(
    segs: list[_Seg],
    documents: pd.DataFrame,
    doc_lang: dict[str, str],
    defs: list[ThemeDef],
    matcher: Matcher,
    cfg: Config,
    *,
    cache_dir: Path | None,
    pool: ProcessPoolExecutor | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``fit_themes`` with a theme set, once the segments are analysed (``pool``: the
    workers for the sub-themes, see :func:`subthemes_by_theme`)."""
    tcfg = cfg.themes
    theme_ids = [t.id for t in defs]
    tindex = {t: i for i, t in enumerate(theme_ids)}
    concept_theme = [tindex[c.theme] for c in matcher.concepts]
    # A theme with many seed concepts catches more passing mentions: scale its evidence.
    n_conc = Counter(concept_theme)
    size_scale = np.array(
        [n_conc[concept_theme[i]] ** -tcfg.size_power for i in range(len(concept_theme))]
    )
    base_w = np.array([c.weight for c in matcher.concepts]) * size_scale
    # Per theme, the factor that turns calibrated evidence back into seed-match units.
    unscale = np.array([n_conc[t] ** tcfg.size_power for t in range(len(theme_ids))], dtype=float)

    # Every segment's concept counts as flat entries (segment, concept, count), each
    # segment's in its own match order: the order its evidence has always been summed in.
    n_segs, n_themes, n_concepts = len(segs), len(theme_ids), len(concept_theme)
    by_doc: dict[str, list[int]] = defaultdict(list)  # doc -> positions in segs
    for i, s in enumerate(segs):
        by_doc[s.doc_id].append(i)
    doc_pos = {d: j for j, d in enumerate(by_doc)}
    lens = np.fromiter((len(s.concepts) for s in segs), dtype=np.int64, count=n_segs)
    n_entries = int(lens.sum())
    e_seg = np.repeat(np.arange(n_segs, dtype=np.int64), lens)
    e_con = np.fromiter(
        chain.from_iterable(s.concepts for s in segs), dtype=np.int64, count=n_entries
    )
    e_cnt = np.fromiter(
        chain.from_iterable(s.concepts.values() for s in segs), dtype=np.int64, count=n_entries
    )
    seg_doc = np.fromiter((doc_pos[s.doc_id] for s in segs), dtype=np.int64, count=n_segs)
    # A document's counts (its segments' summed), in order of first match.
    uniq, first, inv = np.unique(seg_doc[e_seg] * n_concepts + e_con, return_index=True,
                                 return_inverse=True)
    first_order = np.argsort(first, kind="stable")
    d_key = uniq[first_order]
    d_doc, d_con = d_key // n_concepts, d_key % n_concepts
    d_cnt = np.bincount(inv, weights=e_cnt, minlength=len(uniq))[first_order].astype(np.int64)
    doc_language = {
        d: doc_lang.get(d) or Counter(segs[i].lang for i in pos).most_common(1)[0][0]
        for d, pos in by_doc.items()
    }
    # Concept weights within each language: a concept present in every document of the
    # language says little about any one of them.
    weights_by_lang: dict[str, np.ndarray] = {}
    for lang in sorted(set(doc_language.values())):
        in_lang = np.array([doc_language[d] == lang for d in by_doc], dtype=bool)
        df_ids, df_n = np.unique(d_con[in_lang[d_doc]], return_counts=True)
        idf = concept_idf(Counter(dict(zip(df_ids.tolist(), df_n.tolist(), strict=True))),
                          int(in_lang.sum()))
        w = base_w.copy()
        for ci, v in idf.items():
            w[ci] *= v**tcfg.idf_power
        weights_by_lang[lang] = w
    # One weight row per language, the unweighted one last (languages without documents).
    wrow = {lang: r for r, lang in enumerate(weights_by_lang)}
    wmat = np.vstack([*weights_by_lang.values(), base_w])
    theme_of = np.array(concept_theme, dtype=np.int64)
    seg_w = np.fromiter((wrow.get(s.lang, len(wrow)) for s in segs), dtype=np.int64, count=n_segs)
    seg_ev, seg_dist, seg_hits = _evidence(
        e_seg, e_con, e_cnt, wmat[seg_w[e_seg], e_con], theme_of, n_segs, n_themes
    )
    doc_lang_of = [doc_language.get(d) or doc_lang.get(d) or "" for d in by_doc]
    doc_w = np.array([wrow.get(lang, len(wrow)) for lang in doc_lang_of], dtype=np.int64)
    doc_ev, doc_dist, doc_hits = _evidence(
        d_doc, d_con, d_cnt, wmat[doc_w[d_doc], d_con], theme_of, len(by_doc), n_themes
    )
    n_keys = np.fromiter((s.n_keys for s in segs), dtype=np.int64, count=n_segs)
    doc_tok = np.bincount(seg_doc, weights=n_keys, minlength=len(by_doc)).astype(np.int64)
    # Per document, how many of its segments are about each theme (``focused`` of _score_rows).
    doc_focus = np.zeros((len(by_doc), n_themes))
    np.add.at(doc_focus, seg_doc, (seg_dist >= tcfg.focus_concepts).astype(float))

    cols: dict[str, list[Any]] = {c: [] for c in _COLUMNS}
    seg_order: list[int] = []  # segments in the order their documents are written
    for d in sorted(set(documents["doc_id"].astype(str)) | set(by_doc)):
        j = doc_pos.get(d)
        if j is None:
            lang = doc_lang.get(d) or ""
            unit = (np.zeros(n_themes), np.zeros(n_themes, dtype=np.int64), 0, 0)
            focused = np.zeros(n_themes)
        else:
            lang = doc_lang_of[j]
            unit = (doc_ev[j], doc_dist[j], int(doc_hits[j]), int(doc_tok[j]))
            focused = doc_focus[j]
            seg_order.extend(by_doc[d])
        for theme, score, prim, nc in _score_rows(
            *unit, theme_ids, tcfg, document=True, focused=focused, unscale=unscale
        ):
            for col, val in zip(_COLUMNS, (d, None, theme, score, prim, nc, lang), strict=True):
                cols[col].append(val)
    # Segment rows, all at once, in the same order.
    order = np.array(seg_order, dtype=np.int64)
    weak, primary, share, keep = _segment_rows(seg_ev, seg_dist, seg_hits, tcfg)
    kept_at, kept_theme = np.nonzero(keep[order])
    weak_at = np.flatnonzero(weak[order])
    at = np.concatenate([kept_at, weak_at])
    by_at = np.argsort(at, kind="stable")  # a weak segment's one row goes in its place
    pos = order[at[by_at]]
    tix = np.concatenate([kept_theme, np.full(len(weak_at), -1, dtype=np.int64)])[by_at]
    fallback = tix < 0
    names = np.array([*theme_ids, FALLBACK_THEME], dtype=object)
    cols["doc_id"] += [segs[i].doc_id for i in pos.tolist()]
    cols["seg_id"] += [segs[i].seg_id for i in pos.tolist()]
    cols["theme"] += names[tix].tolist()
    cols["score"] += [
        round(v, 6) for v in np.where(fallback, 1.0, share[pos, tix]).tolist()
    ]
    cols["is_primary"] += (fallback | (tix == primary[pos])).tolist()
    cols["n_concepts"] += np.where(fallback, 0, seg_dist[pos, tix]).tolist()
    cols["lang"] += [segs[i].lang for i in pos.tolist()]
    seg_primary: dict[str, list[int]] = defaultdict(list)  # theme -> indices into segs
    prim_name = names[np.where(weak, -1, primary)].tolist()
    for i in seg_order:
        seg_primary[prim_name[i]].append(i)
    themes = _frame(cols)
    del cols, by_doc  # a large corpus's rows: freed before the workers start
    concept_names = [c.key for c in matcher.concepts]
    sub_rows, seg_sub = subthemes_by_theme(segs, seg_primary, concept_names, cfg, cache_dir=cache_dir,
                                           pool=pool)
    themes = _attach_subthemes(themes, seg_sub)
    return themes, _subframe(sub_rows)


_COLUMNS = ("doc_id", "seg_id", "theme", "score", "is_primary", "n_concepts", "lang")


def _frame(rows: list[dict[str, Any]] | dict[str, list[Any]]) -> pd.DataFrame:
    """The ``themes`` table from row dicts or from columns."""
    df = pd.DataFrame(rows, columns=list(_COLUMNS))
    df["seg_id"] = df["seg_id"].astype("Int64")
    df["n_concepts"] = df["n_concepts"].fillna(0).astype("int64")
    df["score"] = df["score"].astype(float)
    df["is_primary"] = df["is_primary"].astype(bool)
    return df


def _subframe(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = [
        "theme",
        "subtheme",
        "label",
        "size",
        "languages",
        "label_terms",
        "representative_segments",
        "stability",
        "k",
        "criterion",
    ]
    df = pd.DataFrame(rows, columns=cols)
    df["size"] = df["size"].astype("int64")
    df["k"] = df["k"].astype("int64")
    df["stability"] = df["stability"].astype(float)
    return df.sort_values(["theme", "subtheme"], kind="stable").reset_index(drop=True)


def _attach_subthemes(
    themes: pd.DataFrame, seg_sub: dict[tuple[str, int, str], str]
) -> pd.DataFrame:
    doc_ids, seg_ids, theme_ids = (themes[c].tolist() for c in ("doc_id", "seg_id", "theme"))
    sub = [
        seg_sub.get((d, int(s), t)) if not pd.isna(s) else None
        for d, s, t in zip(doc_ids, seg_ids, theme_ids, strict=True)
    ]
    themes = themes.assign(subtheme=pd.Series(sub, dtype="object"))
    # A document's row for a theme names the sub-theme most of its segments fall in.
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for (d, _s, t), st in seg_sub.items():
        counts[(d, t)][st] += 1
    doc_rows = themes["seg_id"].isna()
    themes.loc[doc_rows, "subtheme"] = [
        (
            min(counts[(d, t)].items(), key=lambda kv: (-kv[1], kv[0]))[0]
            if counts.get((d, t))
            else None
        )
        for d, t in zip(
            themes.loc[doc_rows, "doc_id"].tolist(), themes.loc[doc_rows, "theme"].tolist(), strict=True
        )
    ]
    themes = themes[
        ["doc_id", "seg_id", "theme", "score", "is_primary", "subtheme", "n_concepts", "lang"]
    ]
    return themes.sort_values(
        ["doc_id", "seg_id", "theme"], na_position="first", kind="stable"
    ).reset_index(drop=True)


def _features(
    segs: Sequence[_Seg], idx: list[int], concept_names: list[str] | None, tcfg: ThemesConfig
) -> tuple[Any, list[str]]:
    toks = [[f"{segs[i].lang}:{k}" for k in segs[i].keys] for i in idx]
    concepts = (
        # Each concept as often as it was matched (what Counter.elements gave).
        [sorted(map(concept_names.__getitem__, _elements(segs[i].concepts))) for i in idx]
        if concept_names
        else None
    )
    x, names, _ = build_features(
        toks, concepts, concept_weight=tcfg.concept_weight if concept_names else 0.0
    )
    return x, names


def _elements(counts: dict[int, int]) -> Iterator[int]:
    """Each key of ``counts`` as many times as its count, as ``Counter.elements``."""
    return chain.from_iterable(starmap(repeat, counts.items()))


def _stability_rows(segs: Sequence[_Seg], idx: list[int], *, max_rows: int) -> list[int]:
    """The segments (of ``idx``) whose stability curve chooses the theme's k: all of them
    up to ``max_rows``, else ``pipeline.subthemes.content_sample`` of their documents (by a
    hash of the ``doc_id``, independent of the seed)."""
    rows = content_sample([segs[i].doc_id for i in idx], max_rows=max_rows)
    return [idx[r] for r in rows]


def _sample_curve(
    segs: Sequence[_Seg],
    rows: list[int],
    concept_names: list[str] | None,
    cfg: Config,
    *,
    max_k: int,
) -> dict[int, float]:
    """The stability curve measured on ``rows`` alone, with features built from those
    rows only: the curve depends on nothing but their analyses, the knobs and the seed,
    which is what lets ``subthemes_by_theme`` keep it under that key."""
    x = _features(segs, rows, concept_names, cfg.themes)[0]
    return stability_curve(x, max_k=max_k, **_curve_knobs(cfg))


def _curve_knobs(cfg: Config) -> dict[str, Any]:
    """The knobs a stability curve is measured with (``stability_curve``, ``cluster``)."""
    tcfg = cfg.themes
    return {
        "seed": cfg.base.seed,
        "min_size": tcfg.min_subtheme_size,
        "runs": tcfg.stability_runs,
        "sample": tcfg.stability_sample,
        "max_rows": tcfg.stability_max_rows,
    }


def _cluster_segments(
    segs: Sequence[_Seg],
    idx: list[int],
    concept_names: list[str] | None,
    cfg: Config,
    *,
    max_k: int,
    curve: dict[int, float] | None = None,
) -> tuple[Partition, list[str]]:
    """Partition ``idx``: k from ``curve`` (measured on the content sample when not given
    and ``idx`` is larger than ``themes.stability_max_rows``, else on all of ``idx``), the
    final NMF on all of ``idx``. Returns the partition and its feature names."""
    tcfg = cfg.themes
    x, names = _features(segs, idx, concept_names, tcfg)
    if curve is None and len(idx) > tcfg.stability_max_rows:
        rows = _stability_rows(segs, idx, max_rows=tcfg.stability_max_rows)
        curve = _sample_curve(segs, rows, concept_names, cfg, max_k=max_k)
    part = cluster(
        x,
        max_k=max_k,
        min_stability=tcfg.min_stability,
        tolerance=tcfg.stability_tolerance,
        by_k=curve,
        **_curve_knobs(cfg),
    )
    return part, names


class _LabelIndex:
    """What labelling a partition's sub-themes counts, counted once per segment.

    Per (sub-theme, language): in how many segments each key appears; per language the
    same over the whole theme (a key's count in the rest of the theme is the difference);
    and the written forms of a key, read only from the segments that hold it (segments
    keep their words as joined strings: building every segment's forms would hold the
    theme's whole vocabulary in memory). Counting the rest of the theme afresh for every
    sub-theme cost k passes over the theme's segments.
    """

    def __init__(self, segs: Sequence[_Seg], idx: list[int], labels: np.ndarray,
                 names: list[str]) -> None:
        self.segs = segs
        self.df: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
        self.lang_df: dict[str, Counter[str]] = defaultdict(Counter)
        for i, lab in zip(idx, labels.tolist(), strict=True):
            keys = set(segs[i].keys)
            self.df[(lab, segs[i].lang)].update(keys)
            self.lang_df[segs[i].lang].update(keys)
        # Per language, the feature columns (of the partition's ``names``) that are its
        # words, and the words: found once, not once per sub-theme and language (a scan
        # of every feature name each time was most of the labelling).
        found: dict[str, tuple[list[int], list[str]]] = defaultdict(lambda: ([], []))
        for j, name in enumerate(names):
            lang, sep, key = name.partition(":")
            if sep:
                found[lang][0].append(j)
                found[lang][1].append(key)
        self.columns = {lg: (np.array(c, dtype=np.int64), k) for lg, (c, k) in found.items()}

    def forms(self, rows: list[int], keys: list[str]) -> dict[str, Counter[str]]:
        """How often each written form of each of ``keys`` occurs in ``rows``: one pass
        over the rows for all the keys (a pass per key was most of the labelling)."""
        out: dict[str, Counter[str]] = {key: Counter() for key in keys}
        wanted = frozenset(keys)
        for i in rows:
            for key, form in self.segs[i].forms_of(wanted):
                out[key][form] += 1
        return out


def _nmf_terms(
    index: _LabelIndex,
    cluster_no: int,
    lang: str,
    rows: list[int],
    n_others: int,
    loadings: np.ndarray,
    n_terms: int,
) -> list[str]:
    """The words of ``lang`` that weigh most in a sub-theme's NMF component, as written.

    A word must also be commoner in the sub-theme's segments (``rows``) than in the
    theme's ``n_others`` other segments of the same language: words every sub-theme
    shares (the consultation's own name, boilerplate) say nothing about this one.
    "Commoner" means by a quarter at least (``_LABEL_LIFT``): a word spread evenly is not
    a label.
    """
    inside = index.df.get((cluster_no, lang), Counter())
    everywhere = index.lang_df.get(lang, Counter())
    n_in = max(len(rows), 1)
    cols, keys = index.columns.get(lang, (np.empty(0, dtype=np.int64), []))
    weights = loadings[cols]
    ranked = sorted((-float(weights[p]), keys[p]) for p in np.flatnonzero(weights > 0).tolist())

    def lifted(key: str) -> bool:
        n_key = inside.get(key, 0)
        return bool(n_key) and not (
            n_others and n_key / n_in <= _LABEL_LIFT * (everywhere[key] - n_key) / n_others
        )

    candidates = (key for _, key in ranked if lifted(key))
    out: list[str] = []
    # Candidates are read in batches: most labels are settled by the first few, and
    # their forms are counted in one pass over the rows.
    while len(out) < n_terms and (batch := list(islice(candidates, 2 * n_terms))):
        forms = index.forms(rows, batch)
        for key in batch:
            word = min(forms[key].items(), key=lambda kv: (-kv[1], kv[0]))[0]
            if label_word(word, lang) and word not in out:
                out.append(word)
            if len(out) >= n_terms:
                break
    return out


def _describe(
    segs: Sequence[_Seg],
    idx: list[int],
    part: Partition,
    cluster_no: int,
    n_terms: int,
    n_rep: int,
    *,
    index: _LabelIndex,
) -> dict[str, Any]:
    """Label, size, languages and representative segments of sub-theme ``cluster_no``.

    ``index`` is the partition's :class:`_LabelIndex`, built once for all of its
    sub-themes.
    """
    labels = part.labels.tolist()
    members = [i for i, lab in zip(idx, labels, strict=True) if lab == cluster_no]
    langs = Counter(segs[i].lang for i in members)
    ordered = sorted(langs, key=lambda lg: (-langs[lg], lg))
    label_terms: dict[str, list[str]] = {}
    tokens = _Column(segs, "keys")
    surfaces = _Column(segs, "surfaces")
    for lang in ordered:
        rows_in = [i for i in members if segs[i].lang == lang]
        rows_out = [
            i
            for i, lab in zip(idx, labels, strict=True)
            if lab != cluster_no and segs[i].lang == lang
        ]
        terms: list[str] = []
        if part.components is not None and part.k > 1:
            terms = _nmf_terms(
                index,
                cluster_no,
                lang,
                rows_in,
                len(rows_out),
                part.components[cluster_no],
                n_terms,
            )
        if len(terms) < n_terms:
            # Small or single clusters: words that set these segments apart.
            extra = top_terms(
                np.array(rows_in), np.array(rows_out), tokens, surfaces, lang, n_terms=n_terms  # type: ignore[arg-type]
            )
            terms += [t for t in extra if t not in terms][: n_terms - len(terms)]
        if terms:
            label_terms[lang] = terms
    weight = {
        i: float(w)
        for i, w, lab in zip(idx, part.weights, labels, strict=True)
        if lab == cluster_no
    }
    reps = sorted(members, key=lambda i: (-round(weight[i], 9), segs[i].doc_id, segs[i].seg_id))[
        :n_rep
    ]
    label = " | ".join(f"{lg}: {', '.join(ts)}" for lg, ts in label_terms.items())
    return {
        "label": label,
        "size": len(members),
        "languages": ";".join(ordered),
        "label_terms": json.dumps(label_terms, ensure_ascii=False, sort_keys=True),
        "representative_segments": ";".join(f"{segs[i].doc_id}:{segs[i].seg_id}" for i in reps),
    }


def _subthemes_all(
    segs: Sequence[_Seg],
    by_theme: dict[str, list[int]],
    concept_names: list[str] | None,
    cfg: Config,
    *,
    curves: dict[str, dict[int, float]] | None = None,
) -> tuple[list[dict[str, Any]], dict[tuple[str, int, str], str]]:
    """Sub-themes of each theme in ``by_theme``.

    ``curves`` (theme -> stability curve on its content sample, see ``_stability_rows``)
    is read for the themes it holds, and receives the sample curves measured here.
    """
    tcfg = cfg.themes
    max_rows = tcfg.stability_max_rows
    rows: list[dict[str, Any]] = []
    seg_sub: dict[tuple[str, int, str], str] = {}
    for theme in sorted(by_theme):
        idx = by_theme[theme]
        if not idx or (theme == FALLBACK_THEME and not tcfg.cluster_other):
            continue
        part, names = _cluster_segments(
            segs, idx, concept_names, cfg, max_k=tcfg.max_subthemes,
            curve=curves.get(theme) if curves is not None else None,
        )
        measured_on = ""
        if len(idx) > max_rows:
            # The curve _cluster_segments measured on the content sample (or was given);
            # {1: 1.0} is no curve: the theme was too small to split.
            if curves is not None and 1 not in part.stability_by_k:
                curves[theme] = part.stability_by_k
            n_sample = len(_stability_rows(segs, idx, max_rows=max_rows))
            rate = sample_rate(len(idx), max_rows)
            measured_on = (
                f"; curve measured on {n_sample} of the {len(idx)} segments: the whole "
                f"documents whose id hashes below {rate:.3f} (the same sample for "
                "every seed)"
            )
        index = _LabelIndex(segs, idx, part.labels, names)
        for c in range(part.k):
            sub_id = f"{theme}.{c + 1:02d}"
            desc = _describe(
                segs, idx, part, c, tcfg.label_terms, tcfg.representatives, index=index
            )
            rows.append(
                {
                    "theme": theme,
                    "subtheme": sub_id,
                    **desc,
                    "stability": round(part.stability, 6),
                    "k": part.k,
                    "criterion": "resampled NMF stability (mean ARI against the full fit); "
                    + f"{part.reason}; by k: "
                    + json.dumps({str(k): round(v, 3) for k, v in part.stability_by_k.items()})
                    + measured_on,
                }
            )
        for i, lab in zip(idx, part.labels, strict=True):
            seg_sub[(segs[i].doc_id, segs[i].seg_id, theme)] = f"{theme}.{lab + 1:02d}"
    return rows, seg_sub


def _discover(
    segs: list[_Seg], documents: pd.DataFrame, doc_lang: dict[str, str], cfg: Config
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Discovery mode: corpus-wide clusters become themes, labelled by their top words."""
    tcfg = cfg.themes
    idx = [i for i, s in enumerate(segs) if s.n_keys]
    part, names = _cluster_segments(segs, idx, None, cfg, max_k=tcfg.discover_max_themes)
    topic_of = {i: f"topic_{lab + 1:02d}" for i, lab in zip(idx, part.labels, strict=True)}
    rows: list[dict[str, Any]] = []
    by_theme: dict[str, list[int]] = defaultdict(list)
    by_doc: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(segs):
        by_doc[s.doc_id].append(i)
    for d in sorted(set(documents["doc_id"].astype(str)) | set(by_doc)):
        members = by_doc.get(d, [])
        size: Counter[str] = Counter()
        for i in members:
            size[topic_of.get(i, FALLBACK_THEME)] += max(segs[i].n_keys, 1)
        lang = doc_lang.get(d) or (
            Counter(segs[i].lang for i in members).most_common(1)[0][0] if members else ""
        )
        total = sum(size.values())
        if not total:
            rows.append(
                {
                    "doc_id": d,
                    "seg_id": None,
                    "theme": FALLBACK_THEME,
                    "score": 1.0,
                    "is_primary": True,
                    "lang": lang,
                }
            )
        else:
            primary = min(size.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            for t in sorted(size):
                share = size[t] / total
                if share >= tcfg.secondary_min_score or t == primary:
                    rows.append(
                        {
                            "doc_id": d,
                            "seg_id": None,
                            "theme": t,
                            "score": round(share, 6),
                            "is_primary": t == primary,
                            "lang": lang,
                        }
                    )
        for i in members:
            t = topic_of.get(i, FALLBACK_THEME)
            rows.append(
                {
                    "doc_id": d,
                    "seg_id": segs[i].seg_id,
                    "theme": t,
                    "score": 1.0,
                    "is_primary": True,
                    "lang": segs[i].lang,
                }
            )
            by_theme[t].append(i)
    themes = _frame(rows)
    sub_rows, seg_sub = _subthemes_all(segs, by_theme, None, cfg)
    # Each discovered theme's own label goes with its sub-themes.
    theme_label = {}
    index = _LabelIndex(segs, idx, part.labels, names)
    for c in range(part.k):
        theme_label[f"topic_{c + 1:02d}"] = _describe(
            segs, idx, part, c, tcfg.label_terms, 0, index=index
        )["label"]
    for r in sub_rows:
        r["criterion"] = f"discovered theme: {theme_label.get(r['theme'], '')}; " + r["criterion"]
    return _attach_subthemes(themes, seg_sub), _subframe(sub_rows)
