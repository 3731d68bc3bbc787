"""Summary tables for analysts: counts, theme prevalence, sub-themes, entities, quotes.

Reads (from ``tables``): ``manifest``, ``documents``, ``pages``, ``segments`` (required);
``languages``, ``themes``, ``subthemes``, ``entities``, ``actors`` (optional: a missing
one gives empty or "unknown" columns, never a crash).

Writes (via :func:`write_summaries`): ``reports/tables/<name>.csv`` for each table,
``reports/tables/summary.xlsx`` (a sheet per table), ``reports/metrics.json`` and the
typed copy ``reports/tables/parquet/`` that the report stage reads back
(:func:`read_summaries`) instead of picking the quotes again.

Incremental: given a ``cache_dir`` (``<out>/cache/summarize``), what the quote finder
found in each response is kept per response, keyed by its page texts
(:class:`pipeline.quotes.SentenceFinder`); a re-run after one response was added splits
the pages of that response only. The tables are the same with or without the cache.

Counting rule. *Raw* counts every file that was read, exact duplicates included.
*Distinct* counts each response once: a manifest ``duplicate`` is not counted again, and
when a ``reuse_cluster`` is known (``actors`` table, or a column on ``documents``) a
cluster of near-identical responses counts once, through its first member by ``doc_id``.
Every table that partitions the responses (``responses_by_group``; the
``primary_responses`` column of the theme tables) adds up to the distinct total.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import quotes as quotes_module
from pipeline.cache import DocCache, content_key, files_digest, stage_code_version
from pipeline.config import Config
from pipeline.parallel import Aside
from pipeline.quotes import (
    SentenceFinder,
    check_quotes,
    is_complete,
    label_by_lang,
    label_terms,
    normalise_ws,
)
from pipeline.schemas import STAKEHOLDER_TYPES
from pipeline.tables import write_csv, write_json, write_table, write_xlsx

logger = logging.getLogger(__name__)

THEME_ORDER = ("ott", "connectivity", "covid19", "environment", "sustainable_dev", "idn",
               "internet_governance", "other")
READ_STATUSES = ("ok", "ocr")
NO_THEME = "none"
UNKNOWN = "unknown"
# What web forms put in an empty name field; never cite these as a source.
PLACEHOLDERS = {"none", "n/a", "na", "-", "null", "nil", "unknown", "anonymous"}

# Bump when what the quote finder caches per response changes shape.
QUOTE_CACHE_VERSION = "quotes-1"
# The cache entry that holds every response's extract (see :func:`_extracts`), and the
# tags of the quotes' and the extracts' per-response entries.
EXTRACTS_KEY = "extracts-of-every-response"
QUOTES_TAG, EXTRACTS_TAG = "quotes", "extracts"

# The order of sheets in summary.xlsx (and of CSV files an analyst sees first).
TABLE_ORDER = ("about", "responses_by_group", "theme_prevalence", "theme_by_stakeholder",
               "theme_by_region", "subthemes", "top_entities", "responses", "quotes",
               "unreadable", "files", "review_decisions")


# --- the quote cache ------------------------------------------------------------------


def quote_cache(cache_dir: Path, cfg: Config) -> DocCache:
    """The quote finder's per-response cache under ``cache_dir`` (``<out>/cache/summarize``).

    Its entries depend on the quote length limits (also in each response's key) and on
    the code that fills them, :mod:`pipeline.quotes` and this module (the extracts),
    whose digest is part of the code version.
    """
    params = {"min_quote_chars": cfg.summarize.min_quote_chars,
              "max_quote_chars": cfg.summarize.max_quote_chars}
    version = stage_code_version(QUOTE_CACHE_VERSION, Path(quotes_module.__file__), Path(__file__))
    return DocCache(Path(cache_dir).parent, stage=Path(cache_dir).name, params=params,
                    code_version=version)


# --- reference data -------------------------------------------------------------------


@lru_cache(maxsize=1)
def itu_regions() -> dict[str, str]:
    """ISO alpha-3 -> ITU administrative region (A-E), from the package's reference file."""
    ref = Path(__file__).resolve().parent / "data" / "summarize" / "itu_regions.csv"
    with ref.open(encoding="utf-8") as fh:
        df = pd.read_csv(fh, comment="#", dtype=str, keep_default_na=False)
    return dict(zip(df["iso3"], df["itu_region"], strict=True))


def region_of(country: object) -> str:
    """The ITU region of an ISO alpha-3 code, or ``"unknown"`` (never guessed)."""
    if not isinstance(country, str) or not country.strip():
        return UNKNOWN
    return itu_regions().get(country.strip().upper(), UNKNOWN)


# --- helpers ----------------------------------------------------------------------------


def _key(values: pd.Series) -> pd.Series:
    """Join keys as strings; ``3``, ``3.0`` and ``"3"`` are the same segment id."""

    def conv(v: object) -> object:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) or pd.api.types.is_integer_dtype(dtype):
        # Text and integer columns (every key column the stages write): the same result
        # as the element-wise conversion, without a Python call per row.
        na = dtype.na_value if isinstance(dtype, pd.StringDtype) else float("nan")
        text = values.astype("string").to_numpy(dtype=object, na_value=na)
        return pd.Series(text, index=values.index, name=values.name, dtype=object)
    return values.map(conv).astype(object)


def _objects(values: pd.Series) -> list:
    """A column as a list of Python objects (iterating an Arrow-backed column is slow)."""
    return values.to_numpy(dtype=object).tolist()


def _codes(values: list) -> np.ndarray:
    """Sort ranks of values (equal values, equal ranks) for :func:`numpy.lexsort`."""
    return pd.factorize(np.asarray(values, dtype=object), sort=True)[0]


def _page(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _present(tables: dict[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    df = tables.get(name)
    return df if df is not None and len(df.columns) else None


def theme_order(themes: Iterable[str]) -> list[str]:
    """Themes in DESIGN.md order, then any other theme alphabetically."""
    seen = set(themes)
    return [t for t in THEME_ORDER if t in seen] + sorted(seen - set(THEME_ORDER))


def _text(v: object) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def cited_as(row: pd.Series | dict) -> str:
    """Who to name in a citation: the organisation, else the respondent, else the name
    the actors stage found in the text, else nobody (the citation gives the file alone)."""
    for col in ("organisation", "respondent", "actor_name"):
        value = _text(row.get(col)).strip()
        if value and value.lower() not in PLACEHOLDERS:
            return value
    return ""


# --- the responses frame ----------------------------------------------------------------


def response_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per document with everything the counts need.

    Columns added to ``documents``: ``stakeholder_type`` (validated, else ``unknown``),
    ``itu_region``, ``lang``, ``n_files`` (this file plus its exact duplicates),
    ``voice`` (reuse cluster or doc_id) and ``is_distinct``.
    """
    docs = tables["documents"].copy()
    docs["doc_id"] = _key(docs["doc_id"])
    actors = _present(tables, "actors")
    if actors is not None:
        a = actors.copy()
        a["doc_id"] = _key(a["doc_id"])
        a = a.drop_duplicates("doc_id").set_index("doc_id")
        for col in ("actor_id", "actor_name", "voice_id", "reuse_cluster", "reuse_kind",
                    "type_source", "type_flag"):
            if col in a.columns:
                docs[col] = docs["doc_id"].map(a[col])
        # The actors stage validates metadata types and infers missing ones: prefer it.
        for col in ("stakeholder_type", "country"):
            if col in a.columns:
                better = docs["doc_id"].map(a[col])
                docs[col] = better.where(better.notna() & (better.astype(str) != ""), docs[col])
    stype = docs["stakeholder_type"].astype(object)
    docs["stakeholder_type"] = stype.where(stype.isin(STAKEHOLDER_TYPES), UNKNOWN)
    docs["country"] = docs["country"].map(lambda c: _text(c).strip().upper())
    docs["itu_region"] = docs["country"].map(region_of)
    docs["lang"] = _doc_languages(docs, _present(tables, "languages"))

    manifest = tables["manifest"]
    dups = manifest[manifest["status"] == "duplicate"]
    dup_of = _duplicate_targets(dups, docs)
    counts = dup_of.value_counts()
    docs["n_files"] = 1 + docs["doc_id"].map(counts).fillna(0).astype(int)
    listed = dups.assign(_target=dup_of.values).groupby("_target")["source_path"].agg(
        lambda s: "; ".join(sorted(map(str, s))))
    docs["duplicate_files"] = docs["doc_id"].map(listed).fillna("")

    if "reuse_cluster" in docs.columns:
        cluster = _key(docs["reuse_cluster"])
        if "reuse_kind" in docs.columns:
            # Only near-identical responses are one voice; sharing a passage (a quoted
            # resolution, a common paragraph) does not make two responses one.
            cluster = cluster.where(docs["reuse_kind"].astype(object) == "near_duplicate")
        docs["voice"] = cluster.where(cluster.notna() & (cluster != ""), "doc:" + docs["doc_id"])
    else:
        docs["voice"] = "doc:" + docs["doc_id"]
    docs = docs.sort_values("doc_id", kind="stable").reset_index(drop=True)
    docs["is_distinct"] = ~docs["voice"].duplicated()
    return docs


def _doc_languages(docs: pd.DataFrame, languages: pd.DataFrame | None) -> pd.Series:
    if languages is None or languages.empty:
        return pd.Series(UNKNOWN, index=docs.index, dtype=object)
    lang = languages.copy()
    lang["doc_id"] = _key(lang["doc_id"])
    doc_rows = lang[lang["seg_id"].isna()].drop_duplicates("doc_id").set_index("doc_id")["lang"]
    # The segments' most frequent language, the first alphabetically on ties.
    seg_rows = lang[lang["seg_id"].notna() & lang["lang"].notna()]
    seg_mode = _group_mode(seg_rows, ["doc_id"], "lang").set_index("doc_id")["lang"]
    out = docs["doc_id"].map(doc_rows)
    out = out.where(out.notna(), docs["doc_id"].map(seg_mode))
    return out.map(lambda v: _text(v) or UNKNOWN)


def _duplicate_targets(dups: pd.DataFrame, docs: pd.DataFrame) -> pd.Series:
    """The doc_id each duplicate file repeats: by doc_id, else by content hash."""
    known = set(docs["doc_id"])
    by_sha = dict(zip(docs["file_sha256"].astype(str), docs["doc_id"], strict=True))
    targets = []
    for doc_id, sha in zip(_key(dups["doc_id"]), dups["file_sha256"].astype(str), strict=True):
        targets.append(doc_id if doc_id in known else by_sha.get(sha, UNKNOWN))
    return pd.Series(targets, index=dups.index, dtype=object)


# --- themes -------------------------------------------------------------------------------


def doc_themes(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Document-level themes: ``doc_id, theme, score, is_primary`` (one primary per doc).

    Uses the theme stage's document rows; a document that only has segment rows gets
    the themes of its segments, the primary being the one with most segments.
    """
    themes = _present(tables, "themes")
    cols = ["doc_id", "theme", "score", "is_primary"]
    if themes is None or themes.empty:
        return pd.DataFrame({"doc_id": pd.Series(dtype=object), "theme": pd.Series(dtype=object),
                             "score": pd.Series(dtype=float), "is_primary": pd.Series(dtype=bool)})
    t = themes.copy()
    t["doc_id"] = _key(t["doc_id"])
    doc_rows = t[t["seg_id"].isna()][cols]
    seg_rows = t[t["seg_id"].notna() & ~t["doc_id"].isin(doc_rows["doc_id"])]
    if len(seg_rows):
        derived = (seg_rows.groupby(["doc_id", "theme"])
                   .agg(score=("score", "max"), n=("seg_id", "size")).reset_index())
        derived["is_primary"] = False
        top = derived.sort_values(["doc_id", "n", "score", "theme"],
                                  ascending=[True, False, False, True]).drop_duplicates("doc_id")
        derived.loc[top.index, "is_primary"] = True
        doc_rows = pd.concat([doc_rows, derived[cols]], ignore_index=True)
    doc_rows = doc_rows.drop_duplicates(["doc_id", "theme"]).copy()
    doc_rows["score"] = pd.to_numeric(doc_rows["score"], errors="coerce").fillna(0.0)
    doc_rows["is_primary"] = doc_rows["is_primary"].fillna(False).astype(bool)
    # Exactly one primary per document: the flagged one with the best score, else the best.
    ranked = doc_rows.sort_values(["doc_id", "is_primary", "score", "theme"],
                                  ascending=[True, False, False, True])
    primary_idx = ranked.drop_duplicates("doc_id").index
    doc_rows["is_primary"] = doc_rows.index.isin(primary_idx)
    return doc_rows.sort_values(["doc_id", "theme"]).reset_index(drop=True)


def segment_themes(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Segment-level theme rows joined to their segment text and page."""
    themes = _present(tables, "themes")
    cols = ["doc_id", "seg_id", "theme", "score", "subtheme", "page_no", "text"]
    if themes is None or themes.empty:
        return pd.DataFrame(columns=cols)
    t = themes[themes["seg_id"].notna()].copy()
    t["doc_id"], t["seg_id"] = _key(t["doc_id"]), _key(t["seg_id"])
    segs = tables["segments"][["doc_id", "seg_id", "page_no", "text"]].copy()
    segs["doc_id"], segs["seg_id"] = _key(segs["doc_id"]), _key(segs["seg_id"])
    merged = t.merge(segs, on=["doc_id", "seg_id"], how="inner")
    merged["subtheme"] = _key(merged["subtheme"]) if "subtheme" in merged else None
    return merged[cols]


def _prevalence(frame: pd.DataFrame, dt: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """Responses carrying each theme (any, primary) per group, over distinct responses."""
    distinct = frame[frame["is_distinct"]]
    group_cols = [by] if by else []
    sizes = (distinct.groupby(group_cols).size() if by else pd.Series({None: len(distinct)}))
    themed = dt.merge(distinct[["doc_id", "n_files"] + group_cols], on="doc_id")
    rows = []
    keys = sorted(sizes.index, key=str) if by else [None]
    for key in keys:
        part = themed[themed[by] == key] if by else themed
        group_docs = distinct[distinct[by] == key] if by else distinct
        total = int(sizes[key])
        for theme in theme_order(part["theme"].unique()):
            sel = part[part["theme"] == theme]
            rows.append({
                **({by: key} if by else {}),
                "theme": theme,
                "responses": int(sel["doc_id"].nunique()),
                "share": round(sel["doc_id"].nunique() / total, 4) if total else 0.0,
                "primary_responses": int(sel[sel["is_primary"]]["doc_id"].nunique()),
                "responses_raw": int(sel.drop_duplicates("doc_id")["n_files"].sum()),
                "group_responses": total,
            })
        unthemed = group_docs[~group_docs["doc_id"].isin(part["doc_id"])]
        if len(unthemed):
            rows.append({
                **({by: key} if by else {}),
                "theme": NO_THEME,
                "responses": len(unthemed),
                "share": round(len(unthemed) / total, 4) if total else 0.0,
                "primary_responses": len(unthemed),
                "responses_raw": int(unthemed["n_files"].sum()),
                "group_responses": total,
            })
    cols = ([by] if by else []) + ["theme", "responses", "share", "primary_responses",
                                   "responses_raw", "group_responses"]
    return pd.DataFrame(rows, columns=cols)


# --- quotes -------------------------------------------------------------------------------


def rejected_quotes(segments: pd.DataFrame) -> dict[str, list[str]]:
    """Paragraph texts the analyst marked unsuitable as quotes (review ``quote_ok``), by doc."""
    if "quote_ok" not in segments.columns:
        return {}
    bad = segments[segments["quote_ok"].astype("boolean").eq(False).fillna(False)]
    return {str(d): g["text"].astype(str).tolist() for d, g in bad.groupby("doc_id")}


def select_quotes(frame: pd.DataFrame, dt: pd.DataFrame, st: pd.DataFrame,
                  subthemes: pd.DataFrame | None, pages: pd.DataFrame, cfg: Config,
                  *, rejected: dict[str, list[str]] | None = None,
                  finder: SentenceFinder | None = None) -> pd.DataFrame:
    """Pick the draft's quotes: the points of each sub-theme, then one voice per type.

    For each theme: up to ``summarize.quotes_per_subtheme`` sentences per sub-theme (the
    best-scoring segments, one per response, spreading over stakeholder types), then a
    sentence for every stakeholder type that addressed the theme and has none yet. Each
    sentence is verbatim in the page it cites (only whitespace is normalised).
    ``finder`` is a :class:`SentenceFinder` over ``pages`` already built by the caller.
    """
    if finder is None:
        finder = SentenceFinder(pages, min_chars=cfg.summarize.min_quote_chars,
                                max_chars=cfg.summarize.max_quote_chars, rejected=rejected)
    s = cfg.summarize
    # Plain dicts and lists: a pandas filter or row lookup per theme, sub-theme or quote
    # costs more than the quote (the segment texts are Arrow-backed, and taking them is
    # the dearest part), so the texts are read one by one, only where a pass looks.
    cited_cols = [c for c in ("stakeholder_type", "lang", "source_path", "organisation",
                              "respondent", "actor_name") if c in frame.columns]
    records = dict(zip(_objects(frame["doc_id"]), frame[cited_cols].to_dict("records"), strict=True))
    distinct_of = dict(zip(_objects(frame["doc_id"]), _objects(frame["is_distinct"]), strict=True))
    stype_of = {d: r["stakeholder_type"] for d, r in records.items()}
    labels: dict[tuple[str, str], list[str]] = {}
    representative: dict[tuple[str, str], int] = {}  # (doc_id, seg_id) -> rank in its sub-theme
    if subthemes is not None and len(subthemes):
        for row in subthemes.to_dict("records"):
            key = (str(row["theme"]), _text(row["subtheme"]))
            labels[key] = label_terms(_text(row.get("label")))
            # The themes stage may name its most typical paragraphs ("doc:seg;doc:seg").
            for rank, ref in enumerate(_text(row.get("representative_segments")).split(";")):
                doc, _, seg = ref.strip().rpartition(":")
                if doc:
                    representative.setdefault((doc, seg), rank)
    rows: list[dict] = []

    memo: dict[tuple, tuple[str, int] | None] = {}

    def quote_from(doc_id: str, text: str, page_no: object, terms: list[str]) -> tuple[str, int] | None:
        key = (doc_id, text, page_no, tuple(terms))
        if key not in memo:
            memo[key] = finder.for_segment(doc_id, _text(text), terms=terms,
                                           page_hint=_page(page_no))
        return memo[key]

    def add(theme: str, subtheme: str, doc_id: str, sentence: str, page: int, role: str) -> None:
        d = records[doc_id]
        rows.append({
            "theme": theme, "subtheme": subtheme, "role": role,
            "stakeholder_type": d["stakeholder_type"], "lang": d["lang"],
            "quote": normalise_ws(sentence),
            "cited_as": cited_as({**d, "doc_id": doc_id}),
            "file": Path(_text(d["source_path"])).name, "source_path": d["source_path"],
            "page_no": int(page), "doc_id": doc_id,
        })

    # The candidate paragraphs of every theme, as row positions of ``st``.
    st_doc, st_page = _objects(st["doc_id"]), _objects(st["page_no"])
    st_text = st["text"].array
    doc_codes, doc_names = pd.factorize(np.asarray(st_doc, dtype=object), sort=True)
    seg_codes, seg_names = pd.factorize(st["seg_id"].to_numpy(dtype=object), sort=True)
    theme_codes, theme_names = pd.factorize(st["theme"].to_numpy(dtype=object))
    sub_codes, sub_names = pd.factorize(st["subtheme"].to_numpy(dtype=object))
    rep_rank = np.full(len(st_doc), 99, dtype=int)
    if representative:
        rep_docs = {d for d, _ in representative}
        for i in np.flatnonzero(np.isin(doc_codes, [c for c, d in enumerate(doc_names) if d in rep_docs])):
            rep_rank[i] = representative.get((st_doc[i], seg_names[seg_codes[i]]), 99)
    # One stable sort of every candidate, then split by theme (each theme's rows keep
    # that order): distinct responses first, the themes stage's typical paragraphs, the
    # best scores (a missing one last), then doc and segment ids.
    ranked = np.lexsort((
        seg_codes, doc_codes,
        -pd.to_numeric(st["score"], errors="coerce").to_numpy(dtype=float, na_value=np.nan),
        rep_rank,
        np.array([not distinct_of.get(d, False) for d in doc_names], dtype=bool)[doc_codes]
        if len(doc_names) else np.zeros(0, dtype=bool),
    ))
    by_theme = ranked[np.argsort(theme_codes[ranked], kind="stable")]
    bounds = np.searchsorted(theme_codes[by_theme], np.arange(len(theme_names) + 1))
    rows_of = {theme_names[k]: by_theme[bounds[k]:bounds[k + 1]] for k in range(len(theme_names))}
    docs_of_theme: dict[str, set[str]] = {}
    for d, th in zip(_objects(dt["doc_id"]), _objects(dt["theme"]), strict=True):
        docs_of_theme.setdefault(th, set()).add(d)
    frame_rows = list(zip(_objects(frame["doc_id"]), _objects(frame["stakeholder_type"]),
                          _objects(frame["is_distinct"]), strict=True))
    doc_code_of = {d: c for c, d in enumerate(doc_names)}

    for theme in theme_order(dt["theme"].unique()):
        used_docs: set[str] = set()
        used_sentences: set[str] = set()
        covered: set[str] = set()
        cand = rows_of.get(theme, np.zeros(0, dtype=np.intp))
        # Each sub-theme's rows in that order, as lists built once: the passes below walk
        # each pool up to four times, and a filter per group would be quadratic.
        subs = sub_codes[cand]
        in_sub = cand[subs >= 0][np.argsort(subs[subs >= 0], kind="stable")]
        cuts = np.flatnonzero(np.diff(sub_codes[in_sub])) + 1
        pools = {sub_names[sub_codes[rows[0]]]: rows.tolist() for rows in
                 (in_sub[a:b] for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(in_sub)], strict=True))
                 if len(rows)} if len(in_sub) else {}
        for sub in sorted(pools, key=lambda k: (-len(pools[k]), str(k))):
            terms = labels.get((theme, str(sub)), [])
            picked = 0
            used_docs = set()  # one quote per response within a sub-theme
            pool = pools[sub]
            # Passes: whole sentences from stakeholder types not yet quoted first, then
            # whole sentences from any type, then fragments (headings, list items).
            for fresh_type_only, whole_only in ((True, True), (False, True), (True, False),
                                                (False, False)):
                for i in pool:
                    if picked >= s.quotes_per_subtheme:
                        break
                    doc_id, page_no = st_doc[i], st_page[i]
                    stype = stype_of.get(doc_id, np.nan)
                    if doc_id in used_docs or (fresh_type_only and stype in covered):
                        continue
                    found = quote_from(doc_id, st_text[i], page_no, terms)
                    if found and whole_only and not is_complete(found[0]):
                        continue
                    if found and found[0] not in used_sentences:
                        used_sentences.add(found[0])
                        add(theme, str(sub), doc_id, *found, role="point")
                        used_docs.add(doc_id)
                        covered.add(stype)
                        picked += 1
        theme_docs = docs_of_theme.get(theme, set())
        addressed = [r for r in frame_rows if r[0] in theme_docs]
        for stype in sorted({r[1] for r in addressed} - covered):
            # Distinct responses first, then by doc_id (unique in the frame).
            docs = sorted((r for r in addressed if r[1] == stype), key=lambda r: (not r[2], r[0]))
            found_any = False
            for doc_id, _, _ in docs:
                found = None
                for i in cand[doc_codes[cand] == doc_code_of[doc_id]].tolist() if doc_id in doc_code_of else ():
                    found = quote_from(doc_id, st_text[i], st_page[i], [])
                    if found:
                        break
                # No theme-scored paragraph gave a sentence: the response's own pages.
                found = found or finder.in_document(doc_id)
                if found:
                    add(theme, "", doc_id, *found, role="voice")
                    found_any = True
                if found_any:
                    break
            if not found_any:
                logger.warning("theme %s: no verbatim sentence found for stakeholder type %s",
                               theme, stype)
    cols = ["theme", "subtheme", "role", "stakeholder_type", "lang", "quote", "cited_as", "file",
            "source_path", "page_no", "doc_id"]
    return pd.DataFrame(rows, columns=cols)


def _beside_quotes(frame: pd.DataFrame, dt: pd.DataFrame, st: pd.DataFrame, finder: SentenceFinder,
                   tables: dict[str, pd.DataFrame], pages: pd.DataFrame) -> pd.DataFrame:
    """The extracts, each checked to be verbatim in its page (for a second core, while
    the parent picks the quotes); the cache's index of extracts is updated from here.

    Only that index is cached for the extracts, one entry for all responses: a response
    whose paragraphs to try changed (a few in a hundred after a re-fit of the themes) is
    looked up again, which costs less than reading and writing a cache entry for every
    response.
    """
    cache = finder.cache
    own = finder.sibling(EXTRACTS_TAG)
    own.cache = None
    known = cache.get(EXTRACTS_KEY) if cache is not None else None
    picked, index = _extracts(frame, dt, st, own, tables["segments"], known=known)
    done = picked[picked["extract"] != ""]
    check_quotes(done.rename(columns={"extract": "quote", "extract_page": "page_no"}), pages,
                 index=own.index(done["doc_id"]))
    if cache is not None and index != known:
        cache.put(EXTRACTS_KEY, index)
    return picked


def _extracts(frame: pd.DataFrame, dt: pd.DataFrame, st: pd.DataFrame,
              finder: SentenceFinder, segments: pd.DataFrame,
              known: dict[str, tuple] | None = None) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """One verbatim sentence per response: from its best primary-theme paragraphs, else
    from its first paragraphs; a complete sentence is preferred to a fragment.

    ``known``: an earlier run's extracts by doc_id as ``(response key, digest of the
    paragraphs tried, extract)``; one whose response and paragraphs are unchanged is
    taken as is. Returns the extracts and the same index for this run.
    """
    known = known or {}
    index: dict[str, tuple] = {}
    primary = dict(zip(*(dt.loc[dt["is_primary"], c] for c in ("doc_id", "theme")), strict=True))
    # Plain lists per response, built in one pass (a DataFrame filter per response is
    # quadratic in the corpus size).
    by_doc: dict[str, list[int]] = {}
    seg_text, seg_page = segments["text"].array, _objects(segments["page_no"])
    for i, doc_id in enumerate(_objects(_key(segments["doc_id"]))):
        rows = by_doc.setdefault(doc_id, [])
        if len(rows) < 20:  # a response's first paragraphs are all that is tried
            rows.append(i)
    # Rows as positions, texts read only where tried (taking every Arrow-backed text
    # costs more than the look-ups); by score (a missing one last), then segment id.
    st_doc, st_theme, st_seg, st_page = (_objects(st[c]) for c in ("doc_id", "theme", "seg_id", "page_no"))
    st_text = st["text"].array
    ranked = np.lexsort((_codes(st_seg), -pd.to_numeric(st["score"], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)))
    best: dict[str, list[int]] = {}
    for i in ranked.tolist():
        best.setdefault(st_doc[i], []).append(i)
    out = []
    for doc_id in frame["doc_id"]:
        tries = []
        if doc_id in best:
            g = best[doc_id]
            if doc_id in primary:
                g = [i for i in g if st_theme[i] == primary[doc_id]]
            tries += [(st_text[i], st_page[i]) for i in g[:5]]
        if doc_id in by_doc:
            tries += [(seg_text[i], seg_page[i]) for i in by_doc[doc_id]]
        tries = [(_text(text), _page(page_no)) for text, page_no in tries]
        # The same paragraphs tried in the same order give the same extract: kept with
        # the response's look-ups, so a re-run does not rank its sentences again.
        digest = hashlib.sha256(repr(tries).encode("utf-8", "surrogatepass")).hexdigest()
        doc_key = finder.doc_key(doc_id)
        hit = known.get(doc_id)
        if hit is not None and hit[0] == doc_key and hit[1] == digest:
            found = hit[2]
        else:
            found = finder.memoised(doc_id, ("extract", digest), partial(_extract, finder, doc_id, tries))
        index[doc_id] = (doc_key, digest, found)
        out.append({"doc_id": doc_id, "extract": found[0] if found else "",
                    "extract_page": found[1] if found else None})
    return pd.DataFrame(out, columns=["doc_id", "extract", "extract_page"]), index


def _extract(finder: SentenceFinder, doc_id: str, tries: list[tuple[str, int | None]]) -> tuple[str, int] | None:
    """The first complete sentence the paragraphs give, else the first fragment, else
    the response's first quotable sentence."""
    found = None
    for text, page_no in tries:
        hit = finder.for_segment(doc_id, text, page_hint=page_no)
        if hit and is_complete(hit[0]):
            return hit
        found = found or hit
    return found or finder.in_document(doc_id)


# --- entities -----------------------------------------------------------------------------


def _top_entities(tables: dict[str, pd.DataFrame], frame: pd.DataFrame, dt: pd.DataFrame,
                  st: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    cols = ["theme", "stakeholder_type", "rank", "canonical_id", "canonical_name", "label",
            "mentions", "responses"]
    ents = _present(tables, "entities")
    if ents is None or ents.empty:
        return pd.DataFrame(columns=cols)
    e = ents[ents["canonical_id"].notna() & (ents["canonical_id"].astype(str) != "")].copy()
    e["doc_id"], e["seg_id"] = _key(e["doc_id"]), _key(e["seg_id"])
    # A mention belongs to its paragraph's themes, else to its response's primary theme.
    seg_theme = st[["doc_id", "seg_id", "theme"]].drop_duplicates()
    with_seg = e.merge(seg_theme, on=["doc_id", "seg_id"], how="inner")
    rest = e[~e.set_index(["doc_id", "seg_id"]).index.isin(
        seg_theme.set_index(["doc_id", "seg_id"]).index)]
    primary = dt[dt["is_primary"]][["doc_id", "theme"]]
    rest = rest.merge(primary, on="doc_id", how="left")
    rest["theme"] = rest["theme"].fillna(NO_THEME)
    e = pd.concat([with_seg, rest], ignore_index=True)
    e["stakeholder_type"] = e["doc_id"].map(frame.set_index("doc_id")["stakeholder_type"]).fillna(
        UNKNOWN)
    e = pd.concat([e, e.assign(stakeholder_type="all")], ignore_index=True)
    keys = ["theme", "stakeholder_type", "canonical_id"]
    agg = (e.groupby(keys).agg(mentions=("doc_id", "size"), responses=("doc_id", "nunique"))
           .reset_index())
    names = _group_mode(e[e["canonical_name"].notna()], keys, "canonical_name")
    agg["canonical_name"] = _lookup(agg, keys, names).fillna("")
    agg["label"] = _lookup(agg, keys, _group_mode(e, keys, "label"))
    agg = agg.sort_values(["theme", "stakeholder_type", "responses", "mentions", "canonical_id"],
                          ascending=[True, True, False, False, True])
    agg["rank"] = agg.groupby(["theme", "stakeholder_type"]).cumcount() + 1
    agg = agg[agg["rank"] <= cfg.summarize.top_entities]
    order = {t: i for i, t in enumerate(theme_order(agg["theme"].unique()))}
    agg = agg.sort_values(["theme", "stakeholder_type", "rank"],
                          key=lambda s: s.map(order) if s.name == "theme" else s)
    return agg[cols].reset_index(drop=True)


def _group_mode(df: pd.DataFrame, keys: list[str], col: str) -> pd.DataFrame:
    """The most frequent value of ``col`` (as text) per group, the smallest on ties.

    The same as ``groupby(keys)[col].agg(lambda s: s.astype(str).mode().min())``, in one
    pass instead of a Python call per group.
    """
    values = df[keys].assign(**{col: df[col].astype(str)})
    counts = values.groupby(keys + [col], sort=False).size().reset_index(name="n_")
    top = counts.sort_values(["n_", col], ascending=[False, True], kind="stable")
    return top.drop_duplicates(keys)[keys + [col]]


def _lookup(frame: pd.DataFrame, keys: list[str], values: pd.DataFrame) -> pd.Series:
    """``values``' last column aligned to the rows of ``frame`` by ``keys`` (NaN if absent)."""
    col = values.columns[-1]
    return frame[keys].merge(values, on=keys, how="left")[col].set_axis(frame.index)


# --- the public function -----------------------------------------------------------------


def summarize(tables: dict[str, pd.DataFrame], cfg: Config, *,
              extracts: bool = True, cache_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """Build every summary table from the stage tables.

    Args:
        tables: contract tables by name; ``manifest``, ``documents``, ``pages`` and
            ``segments`` are required, the others optional.
        cfg: the pipeline configuration (reads ``summarize``; with more than one
            ``compute.workers``, the extracts are picked in a forked child process while
            this one picks the quotes).
        extracts: pick the one-sentence ``extract`` of every response (column of
            ``responses``); without, the column is empty. The Chair's draft does not
            print extracts, so the report stage skips this, the costliest search.
        cache_dir: when given, the folder of the quote finder's per-response cache (e.g.
            ``<out>/cache/summarize``): the sentences found around each looked-up
            paragraph are kept per response (see :class:`pipeline.quotes.SentenceFinder`),
            so a re-run re-splits only the pages of new or changed responses. The
            tables are the same with or without it.

    Returns:
        Tables by name, in :data:`TABLE_ORDER`.

    Raises:
        FileNotFoundError: a required table is missing.
        pipeline.quotes.QuoteError: a selected quote is not verbatim in its page.
    """
    for name in ("manifest", "documents", "pages", "segments"):
        if name not in tables:
            raise FileNotFoundError(f"summarize needs the {name!r} table; run the ingest stage first")
    frame = response_frame(tables)
    pages = tables["pages"].assign(doc_id=lambda d: _key(d["doc_id"]))
    dt = doc_themes(tables)
    dt = dt[dt["doc_id"].isin(frame["doc_id"])]
    st = segment_themes(tables)
    subthemes = _present(tables, "subthemes")

    by_group = _by_group(frame)

    # Without themes the draft still quotes every stakeholder type, under "no theme".
    quote_themes = dt if len(dt) else frame[["doc_id"]].assign(theme=NO_THEME, score=0.0,
                                                               is_primary=True)
    rejected = rejected_quotes(tables["segments"])
    # One finder for the quotes, the extracts and both verbatim checks: it normalises and
    # splits a response's pages once, when first needed, or not at all when the cache
    # holds what an earlier run found in them.
    finder = SentenceFinder(pages, min_chars=cfg.summarize.min_quote_chars,
                            max_chars=cfg.summarize.max_quote_chars, rejected=rejected,
                            cache=quote_cache(cache_dir, cfg) if cache_dir is not None else None,
                            tag=QUOTES_TAG)
    # The extracts do not depend on the quotes: a second core picks them meanwhile.
    aside = (Aside(_beside_quotes, frame, dt, st, finder, tables, pages,
                   parallel=cfg.compute.n_workers > 1) if extracts else None)
    try:
        quotes = select_quotes(frame, quote_themes, st, subthemes, pages, cfg, rejected=rejected,
                               finder=finder)
        check_quotes(quotes, pages, index=finder.index(quotes["doc_id"]))
        # Every table but ``responses`` is built while the child picks the extracts
        # (instead of after waiting for it, with the second core idle).
        out = _other_tables(tables, frame, dt, st, subthemes, quotes, by_group, cfg)
    except BaseException:
        if aside is not None:
            aside.cancel()
        raise

    themes_of = (dt.sort_values(["doc_id", "is_primary", "score"], ascending=[True, False, False])
                 .groupby("doc_id")["theme"].agg(list))
    if aside is not None:
        # This process would wait for the child here: load the workbook writer now, so
        # that write_summaries' child (forked from this process) starts writing at once.
        import openpyxl  # noqa: F401
        picked = aside.result().set_index("doc_id")
    else:
        picked = pd.DataFrame({"extract": "", "extract_page": None}, index=frame["doc_id"])
    responses = pd.DataFrame({
        "doc_id": frame["doc_id"],
        "consultation": frame["consultation"],
        "file": frame["source_path"],
        "respondent": frame["respondent"],
        "organisation": frame["organisation"],
        "stakeholder_type": frame["stakeholder_type"],
        "country": frame["country"],
        "itu_region": frame["itu_region"],
        "lang": frame["lang"],
        "pages": frame["n_pages"],
        "primary_theme": frame["doc_id"].map(lambda d: themes_of[d][0] if d in themes_of else NO_THEME),
        "other_themes": frame["doc_id"].map(
            lambda d: "; ".join(themes_of[d][1:]) if d in themes_of else ""),
        "extract": frame["doc_id"].map(picked["extract"]),
        "extract_page": frame["doc_id"].map(picked["extract_page"]).astype("Int64"),
        "counted_in_distinct": frame["is_distinct"],
        "duplicate_files": frame["duplicate_files"],
    })
    for col in ("actor_id", "voice_id", "reuse_cluster", "reuse_kind", "type_source", "type_flag"):
        if col in frame.columns:
            responses[col] = frame[col]
    if finder.cache is not None:
        written = finder.save()
        if extracts:
            # Every response was looked up: entries of responses gone or changed go.
            keys = [finder.doc_key(d) for d in frame["doc_id"]]
            finder.cache.prune([f"{k}:{QUOTES_TAG}" for k in keys] + [EXTRACTS_KEY])
        logger.info("quote cache: %d response(s) looked up anew for the quotes", written)
    out["responses"] = responses
    return {k: out[k].reset_index(drop=True) for k in TABLE_ORDER}


def _other_tables(tables: dict[str, pd.DataFrame], frame: pd.DataFrame, dt: pd.DataFrame,
                  st: pd.DataFrame, subthemes: pd.DataFrame | None, quotes: pd.DataFrame,
                  by_group: pd.DataFrame, cfg: Config) -> dict[str, pd.DataFrame]:
    """Every summary table but ``responses`` (the only one that needs the extracts)."""
    subs = _subtheme_table(subthemes, st, frame, dt, quotes, cfg)
    top_entities = _top_entities(tables, frame, dt, st, cfg)
    manifest = tables["manifest"]
    unreadable = manifest[~manifest["status"].isin(READ_STATUSES + ("duplicate",))][
        ["source_path", "status", "detail", "consultation"]].sort_values("source_path")
    files = manifest[["source_path", "status", "detail", "doc_id"]].copy()
    files["counted_as"] = files["status"].map(
        lambda s: "response" if s in READ_STATUSES else
        "duplicate (counted once)" if s == "duplicate" else "not read")
    decisions = tables.get("decisions")
    if decisions is None:
        decisions = pd.DataFrame(columns=["index", "kind", "target", "value", "by", "on", "reason",
                                          "status", "effect"])
    # A response the analyst excluded is gone from the reviewed tables but not from the
    # manifest: say why it is not counted.
    files.loc[files["source_path"].isin(excluded_files(decisions, manifest)),
              "counted_as"] = "excluded by the analyst"
    files = files.sort_values("source_path")

    return {
        "about": _about(frame, manifest, tables),
        "responses_by_group": by_group,
        "theme_prevalence": _prevalence(frame, dt, None),
        "theme_by_stakeholder": _prevalence(frame, dt, "stakeholder_type"),
        "theme_by_region": _prevalence(frame, dt, "itu_region"),
        "subthemes": subs,
        "top_entities": top_entities,
        "quotes": quotes,
        "unreadable": unreadable.reset_index(drop=True),
        "files": files.reset_index(drop=True),
        "review_decisions": decisions.reset_index(drop=True),
    }


def _by_group(frame: pd.DataFrame) -> pd.DataFrame:
    """Raw and distinct responses per consultation, stakeholder type, region and language."""
    by_group = (frame.groupby(["consultation", "stakeholder_type", "itu_region", "lang"], dropna=False)
                .agg(responses_raw=("n_files", "sum"), responses_distinct=("is_distinct", "sum"))
                .reset_index())
    by_group["responses_distinct"] = by_group["responses_distinct"].astype(int)
    return by_group


def figure_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The part of :func:`summarize`'s output the report's figures draw, computed alone.

    ``responses_by_group`` and ``theme_by_stakeholder`` as in :func:`summarize`, and
    ``responses`` with only its ``counted_in_distinct`` and ``lang`` columns. A small
    fraction of the work, so the report can start drawing before the quotes are picked.
    """
    frame = response_frame(tables)
    dt = doc_themes(tables)
    dt = dt[dt["doc_id"].isin(frame["doc_id"])]
    return {
        "responses_by_group": _by_group(frame),
        "theme_by_stakeholder": _prevalence(frame, dt, "stakeholder_type"),
        "responses": pd.DataFrame({"counted_in_distinct": frame["is_distinct"], "lang": frame["lang"]}),
    }


def excluded_responses(decisions: pd.DataFrame | None) -> pd.DataFrame:
    """The analyst's ``exclude_response`` decisions that the review stage applied.

    The one place that reads exclusions from the review stage's ``decisions`` table, for
    the ``files`` table here and the draft's list of excluded responses. A stale
    decision (its response is gone) excludes nothing and is not listed.
    """
    if decisions is None or not {"kind", "status", "target"} <= set(decisions.columns):
        return pd.DataFrame(columns=["index", "kind", "target", "value", "by", "on", "reason",
                                     "status", "effect"])
    return decisions[(decisions["kind"] == "exclude_response") & (decisions["status"] == "applied")]


def excluded_files(decisions: pd.DataFrame | None, manifest: pd.DataFrame) -> set[str]:
    """Source paths of the responses excluded by the analyst (named by file or doc_id)."""
    targets = set(excluded_responses(decisions)["target"].astype(str))
    if not targets:
        return set()
    hit = manifest["source_path"].astype(str).isin(targets) | manifest["doc_id"].astype(str).isin(targets)
    return set(manifest.loc[hit, "source_path"].astype(str))


def _subtheme_table(subthemes: pd.DataFrame | None, st: pd.DataFrame, frame: pd.DataFrame,
                    dt: pd.DataFrame, quotes: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """One row per sub-theme: its terms, size, quotes, and the responses that raise it.

    ``responses`` counts a response only if it counts for the theme too (a distinct
    response whose document-level themes include it, as in ``theme_prevalence``) and
    has a paragraph in the sub-theme, so a sub-theme never has more responses than its
    theme; ``stakeholder_types`` are those responses' types. ``size`` stays the number
    of paragraphs the themes stage put in the sub-theme.
    """
    n = cfg.summarize.quotes_per_subtheme
    quote_cols = [c for i in range(1, n + 1) for c in (f"quote_{i}", f"source_{i}")]
    cols = ["theme", "subtheme", "label", "terms", "size", "responses", "languages",
            "stakeholder_types"] + quote_cols
    if subthemes is None or subthemes.empty:
        return pd.DataFrame(columns=cols)
    stype_of = frame.set_index("doc_id")["stakeholder_type"]
    # Group once: filtering the segment and quote tables per sub-theme is quadratic.
    counted = dt[["theme", "doc_id"]].merge(frame.loc[frame["is_distinct"], ["doc_id"]], on="doc_id")
    members = st[st["subtheme"].notna()].merge(counted.drop_duplicates(), on=["theme", "doc_id"])
    docs_of = {k: g.unique() for k, g in members.groupby(["theme", "subtheme"], sort=False)["doc_id"]}
    quotes_of = {k: g for k, g in quotes.groupby(["theme", "subtheme"], sort=False)}
    no_docs = members["doc_id"].iloc[:0].unique()
    rows = []
    order = {t: i for i, t in enumerate(theme_order(subthemes["theme"].astype(str).unique()))}
    subs = subthemes.assign(o_=subthemes["theme"].map(order), k_=_key(subthemes["subtheme"]))
    for sub in subs.sort_values(["o_", "size", "k_"], ascending=[True, False, True]).itertuples():
        docs = docs_of.get((sub.theme, sub.k_), no_docs)
        langs = sub.languages
        if isinstance(langs, list | tuple) or hasattr(langs, "tolist"):
            langs = "; ".join(map(str, list(langs)))
        row = {
            "theme": sub.theme, "subtheme": sub.k_, "label": _text(sub.label),
            "terms": _terms(sub._asdict()), "size": sub.size,
            "responses": len(docs), "languages": _text(langs),
            "stakeholder_types": "; ".join(sorted(set(stype_of.reindex(docs).dropna()))),
        }
        q = quotes_of.get((sub.theme, sub.k_), quotes.iloc[:0])
        for i, qrow in enumerate(q.head(n).itertuples(), start=1):
            row[f"quote_{i}"] = f"[{qrow.lang}] {qrow.quote}"
            row[f"source_{i}"] = ", ".join(x for x in (qrow.cited_as, qrow.file, f"p. {qrow.page_no}") if x)
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def _terms(sub: dict) -> str:
    """A sub-theme's top terms as ``"en: a, b | fr: c, d"`` (``label_terms`` JSON if given)."""
    by_lang: dict[str, list[str]] = {}
    raw = _text(sub.get("label_terms"))
    if raw:
        try:
            parsed = json.loads(raw)
            if isinstance(parsed, dict):
                by_lang = {str(k): [str(t) for t in v] for k, v in parsed.items()
                           if isinstance(v, list)}
        except ValueError:
            by_lang = {}
    if not by_lang:
        by_lang = label_by_lang(_text(sub.get("label")))
    return " | ".join(f"{lang}: {', '.join(terms)}" if lang else ", ".join(terms)
                      for lang, terms in by_lang.items() if terms)


def _about(frame: pd.DataFrame, manifest: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    has_clusters = "reuse_cluster" in frame.columns
    rule = ("exact duplicate files are counted once"
            + ("; each cluster of near-identical responses (campaign or form letters) is "
               "counted once" if has_clusters else "; no reuse clusters were available"))
    items = [
        # From the manifest too: a consultation whose every file failed still has a name.
        ("consultations", "; ".join(sorted(set(frame["consultation"].astype(str))
                                           | set(manifest["consultation"].dropna().astype(str))))),
        ("files", len(manifest)),
        ("responses_raw", int(frame["n_files"].sum())),
        ("responses_distinct", int(frame["is_distinct"].sum())),
        ("distinct_rule", rule),
        ("files_not_read", int((~manifest["status"].isin(READ_STATUSES + ("duplicate",))).sum())),
    ]
    if "actor_id" in frame.columns:
        items.append(("distinct_actors", int(frame["actor_id"].nunique())))
    if "voice_id" in frame.columns:
        # One voice per actor or near-duplicate campaign (actors stage): the count of
        # independent voices, lower than distinct responses when one actor wrote twice.
        items.append(("distinct_voices", int(frame["voice_id"].nunique())))
    for name in ("languages", "entities", "themes", "subthemes", "actors"):
        items.append((f"table_{name}", "present" if _present(tables, name) is not None else "absent"))
    return pd.DataFrame(items, columns=["item", "value"]).astype({"value": str})


# --- writing ------------------------------------------------------------------------------


def metrics(summaries: dict[str, pd.DataFrame]) -> dict:
    """Headline counts for ``dvc metrics show`` (flat enough to diff between runs)."""
    about = dict(zip(summaries["about"]["item"], summaries["about"]["value"], strict=True))
    resp = summaries["responses"]
    distinct = resp[resp["counted_in_distinct"]]
    prev = summaries["theme_prevalence"]
    files = summaries["files"]
    return {
        "files": int(len(files)),
        "responses_raw": int(about["responses_raw"]),
        "responses_distinct": int(about["responses_distinct"]),
        "files_by_status": {k: int(v) for k, v in sorted(files["status"].value_counts().items())},
        "responses_by_stakeholder_type": _counts(distinct["stakeholder_type"]),
        "responses_by_itu_region": _counts(distinct["itu_region"]),
        "responses_by_language": _counts(distinct["lang"]),
        "theme_responses": {r.theme: int(r.responses) for r in prev.itertuples()},
        "theme_shares": {r.theme: float(r.share) for r in prev.itertuples()},
        "subthemes": int(len(summaries["subthemes"])),
        "quotes": int(len(summaries["quotes"])),
    }


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(series.value_counts().items())}


def write_summaries(summaries: dict[str, pd.DataFrame], reports_dir: Path, *,
                    fingerprint: str | None = None, parallel: bool = False) -> None:
    """Write ``tables/<name>.csv``, ``tables/summary.xlsx`` and ``metrics.json``.

    With a ``fingerprint`` (:func:`summary_fingerprint` of the inputs), also the typed
    tables ``tables/parquet/<name>.parquet`` and ``tables/parquet/summaries.json``, from
    which :func:`read_summaries` gives the report stage these very tables. With
    ``parallel``, a forked child writes the workbook (cell by cell, the slowest file)
    while this process writes the others.
    """
    reports_dir = Path(reports_dir)
    workbook = Aside(write_xlsx, reports_dir / "tables" / "summary.xlsx", summaries, parallel=parallel)
    try:
        for name, df in summaries.items():
            write_csv(reports_dir / "tables" / f"{name}.csv", df)
        if fingerprint is not None:
            write_typed(summaries, reports_dir / "tables" / PARQUET_DIR, fingerprint=fingerprint)
        write_json(reports_dir / "metrics.json", metrics(summaries))
    except BaseException:
        workbook.cancel()
        raise
    workbook.result()
    logger.info("wrote %d summary tables to %s", len(summaries), reports_dir / "tables")


# --- the typed copy the report stage reads -------------------------------------------------

# reports/tables/parquet: the summary tables as Parquet, with what restores them exactly.
PARQUET_DIR = "parquet"
_TYPED_INDEX = "summaries.json"
_TYPED_FORMAT = 1


def summary_fingerprint(inputs: Iterable[Path], cfg: Config) -> str:
    """A digest of everything the summary tables depend on.

    The bytes of the input tables (``inputs``: the Parquet files the stage reads; an
    absent one counts as absent), the ``summarize`` params, this module's and
    :mod:`pipeline.quotes`' code and reference data, and the pandas and pyarrow versions.
    """
    import pyarrow

    here = Path(__file__).resolve().parent
    code = files_digest(Path(__file__), Path(quotes_module.__file__), here / "data" / "summarize")
    return content_key(_TYPED_FORMAT, files_digest(*inputs), dataclasses.asdict(cfg.summarize), code,
                       pd.__version__, pyarrow.__version__)


def write_typed(summaries: dict[str, pd.DataFrame], folder: Path, *, fingerprint: str) -> None:
    """Write the tables as Parquet plus an index that restores their exact columns.

    Parquet keeps numbers, booleans and nullable integers, but reads a text column back
    as pandas' string type with one kind of missing value: the index records each text
    column's missing cells that were NaN rather than None. A column holding anything but
    text and missing values cannot be restored: then no index is written, and
    :func:`read_summaries` declines.
    """
    folder = Path(folder)
    # The index goes first and comes back last: tables half rewritten are never read.
    (folder / _TYPED_INDEX).unlink(missing_ok=True)
    index: dict[str, Any] = {"fingerprint": fingerprint, "format": _TYPED_FORMAT, "tables": {}}
    for name, df in summaries.items():
        columns = {}
        for col in df.columns:
            spec: dict[str, Any] = {"dtype": str(df[col].dtype)}
            if df[col].dtype == object:
                values = df[col].tolist()
                spec["nan_rows"] = [i for i, v in enumerate(values) if isinstance(v, float) and v != v]
                spec["exact"] = all(v is None or isinstance(v, str) or (isinstance(v, float) and v != v)
                                    for v in values)
                if not spec["exact"]:
                    logger.info("summary table %s, column %s holds more than text: no typed copy "
                                "(the report stage rebuilds the summaries)", name, col)
                    return
            columns[str(col)] = spec
        index["tables"][name] = {"columns": columns, "order": [str(c) for c in df.columns]}
        write_table(folder / f"{name}.parquet", df)
    write_json(folder / _TYPED_INDEX, index)


def read_summaries(reports_dir: Path, *, fingerprint: str) -> dict[str, pd.DataFrame] | None:
    """The tables :func:`write_summaries` wrote, if they were built from the same inputs.

    Returns:
        Tables by name, equal (values, types, missing markers) to those written; None
        when they are absent, from other inputs (``fingerprint`` differs), unreadable or
        not exactly restorable, and the caller rebuilds them with :func:`summarize`.
    """
    import pyarrow.parquet as pq

    folder = Path(reports_dir) / "tables" / PARQUET_DIR
    try:
        index = json.loads((folder / _TYPED_INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(index, dict) or index.get("fingerprint") != fingerprint
            or index.get("format") != _TYPED_FORMAT):
        return None
    out = {}
    try:
        for name, spec in index["tables"].items():
            table = pq.read_table(folder / f"{name}.parquet")
            df = table.to_pandas()
            if [str(c) for c in df.columns] != spec["order"]:
                return None
            for col, cs in spec["columns"].items():
                if cs["dtype"] == "object":
                    if not cs["exact"]:
                        return None
                    values = table.column(col).to_pylist()
                    for i in cs["nan_rows"]:
                        values[i] = float("nan")
                    df[col] = pd.Series(values, index=df.index, dtype=object)
                elif str(df[col].dtype) != cs["dtype"]:
                    df[col] = df[col].astype(cs["dtype"])
            out[name] = df
    except (OSError, KeyError, ValueError, TypeError) as exc:
        logger.warning("could not read the summary tables in %s (%s); rebuilding them", folder, exc)
        return None
    return out
