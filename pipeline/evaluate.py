"""Score the stage tables against gold labels (``textmine evaluate``).

Reads whichever tables exist (``manifest``/``documents``, ``segments``, ``languages``,
``themes``, ``entities``, ``actors``) and a gold CSV (``DESIGN.md``, "Gold labels and
evaluation"); returns a JSON-able dict. Pure: no I/O.

What is measured, and how:

* Gold ``source_path`` (relative to the corpus, ``/`` separators) is matched to
  ``manifest.source_path`` (exactly, after normalising separators, or else as the unique
  manifest path ending in ``/<gold path>``) to find the ``doc_id``. A gold file that is
  not in the manifest, or was not turned into a document, is a disagreement, not a crash.
* **Document language.** A single-language gold row is right when the document row's
  ``lang`` equals it. A bilingual gold row (``en;fr``) is right when the predicted main
  language is one of its languages (the analyst then sees the right script and most of
  the text); whether the document was also flagged ``is_mixed`` with both languages in
  its ``shares`` is reported separately as ``doc_lang_mixed_recall``, and single-language
  documents wrongly flagged mixed as ``doc_lang_mixed_false_positives``.
* **Segment language.** Where the gold has rows with a ``seg_id`` (segment gold), those
  are scored. Otherwise each segment of a single-language gold document is expected to
  be in that language when it is substantial: at least ``SEGMENT_MIN_CHARS`` characters
  once URLs are removed and spaces collapsed, at least half of the non-space ones
  letters (tables of figures and bare links are not text).
* **Themes.** A document's predicted themes are its document rows (``seg_id`` null) as
  the themes stage wrote them: that stage decides which themes a document carries and
  writes a row for each, so nothing is re-thresholded here. Per-theme precision, recall
  and F1 over the documents with gold themes; macro-F1 over every theme in gold or
  prediction; the same macro-F1 per gold language (a bilingual document counts in each of
  its languages), with its number of documents (``theme_n_<lang>`` in the summary) so that
  a figure over three documents reads as such. ``theme_language_gap`` is how far the
  lowest UN language's macro-F1 is below the overall one; ``theme_language_gap_chance``
  is the median gap over 200 shuffles of the documents' languages (among documents of
  the same gold themes): a gap no larger than that is what language-blind errors give
  at these numbers of documents, not evidence that a language is worse served.
* **Entities.** When the gold has an ``entities`` column: per document, the set of gold
  canonical ids against the unique ``canonical_id`` of its entity rows, both restricted
  to the gazetteer classes (``country``, ``org``, ``res``, ``sdg``, ``tech``; the class
  is the id's prefix before ``:``). Micro recall and precision overall, per class and per
  gold language. An empty gold cell means the document cites none.
* **Stakeholder type.** When the gold has ``stakeholder_type``: the actors table's type
  (or else the documents table's) against the non-empty gold cells, overall and per type.

``summary`` holds the headline figures as a flat dict of floats (printed by the CLI and
shown by ``dvc metrics show``); ``disagreements`` lists every error as
``{file, field, expected, got}`` so an analyst can look at each one.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.schemas import UN_LANGUAGES

logger = logging.getLogger(__name__)

GAZETTEER_CLASSES = ("country", "org", "res", "sdg", "tech")
SEGMENT_MIN_CHARS = 50


# --- helpers ---------------------------------------------------------------------------------


def _norm_path(path: str) -> str:
    path = str(path).strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def _split(cell: Any) -> list[str]:
    if cell is None or (isinstance(cell, float) and pd.isna(cell)):
        return []
    return [part.strip() for part in str(cell).split(";") if part.strip()]


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _f1(p: float | None, r: float | None) -> float:
    if not p or not r:
        return 0.0
    return 2 * p * r / (p + r)


def _is_null(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _doc_rows(df: pd.DataFrame) -> pd.DataFrame:
    if "seg_id" not in df.columns:
        return df
    return df[df["seg_id"].isna()]


def _seg_rows(df: pd.DataFrame) -> pd.DataFrame:
    if "seg_id" not in df.columns:
        return df.iloc[0:0]
    return df[df["seg_id"].notna()]


def _seg_key(value: Any) -> str:
    """Segment ids compare as text: gold CSV cells are strings, tables may hold ints."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class _Disagreements:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, file: str, field: str, expected: Any, got: Any, **extra: Any) -> None:
        item = {"file": file, "field": field, "expected": _text(expected), "got": _text(got)}
        item.update({k: _text(v) for k, v in extra.items()})
        self.items.append(item)


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str | list | tuple | set) and pd.isna(value)):
        return ""
    if isinstance(value, list | tuple | set):
        return ";".join(sorted(map(str, value)))
    return str(value)


# --- matching gold to documents ----------------------------------------------------------------


def match_gold(gold: pd.DataFrame, tables: dict[str, pd.DataFrame], dis: _Disagreements) -> dict[str, str]:
    """Map each gold ``source_path`` to its ``doc_id``; record the files that have none."""
    source = tables.get("manifest")
    if source is None or "source_path" not in source.columns:
        source = tables.get("documents")
    if source is None or "source_path" not in source.columns:
        for path in gold["source_path"]:
            dis.add(str(path), "document", "ingested", "no manifest or documents table")
        return {}
    status = source["status"] if "status" in source.columns else pd.Series([""] * len(source))
    exact: dict[str, tuple[Any, str]] = {}
    for path, doc_id, st in zip(source["source_path"], source["doc_id"], status, strict=True):
        exact[_norm_path(path)] = (doc_id, "" if _is_null(st) else str(st))
    out: dict[str, str] = {}
    for raw in dict.fromkeys(gold["source_path"]):
        path = _norm_path(raw)
        hit = exact.get(path)
        if hit is None:
            ends = [k for k in exact if k.endswith("/" + path)]
            hit = exact[ends[0]] if len(ends) == 1 else None
        if hit is None:
            dis.add(path, "document", "in manifest", "not in manifest")
            continue
        doc_id, st = hit
        if _is_null(doc_id):
            dis.add(path, "document", "ingested", f"no document (status={st or 'unknown'})")
            continue
        out[path] = str(doc_id)
    return out


# --- languages ----------------------------------------------------------------------------------


def _shares(cell: Any) -> dict[str, float]:
    out = {}
    for part in _split(cell):
        lang, _, share = part.partition(":")
        try:
            out[lang] = float(share)
        except ValueError:
            continue
    return out


def evaluate_doc_languages(
    docs: pd.DataFrame, languages: pd.DataFrame, dis: _Disagreements
) -> dict[str, Any]:
    """Document-language accuracy, overall and per gold language (``docs``: path, doc_id, lang)."""
    doc_rows = _doc_rows(languages).drop_duplicates("doc_id").set_index("doc_id")
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    mixed_hits = mixed_total = false_mixed = single_total = 0
    for path, doc_id, gold_cell in zip(docs["source_path"], docs["doc_id"], docs["lang"], strict=True):
        expected = _split(gold_cell)
        if not expected:
            continue
        key = ";".join(expected)
        per[key][1] += 1
        if doc_id not in doc_rows.index:
            dis.add(path, "lang", key, "no language row")
            continue
        row = doc_rows.loc[doc_id]
        got = str(row["lang"])
        is_mixed = bool(row["is_mixed"]) if "is_mixed" in row.index and not _is_null(row["is_mixed"]) else False
        shares = _shares(row["shares"]) if "shares" in row.index else {}
        if len(expected) > 1:
            mixed_total += 1
            both = is_mixed and all(lang in shares for lang in expected)
            mixed_hits += both
            if not both:
                dis.add(path, "lang_mixed", key, f"{got} (mixed={is_mixed}, shares={row.get('shares', '')})")
        else:
            single_total += 1
            if is_mixed:
                false_mixed += 1
                dis.add(path, "lang_mixed", key, f"mixed: {row.get('shares', '')}")
        if got in expected:
            per[key][0] += 1
        else:
            dis.add(path, "lang", key, got)
    total_ok = sum(v[0] for v in per.values())
    total = sum(v[1] for v in per.values())
    return {
        "accuracy": _ratio(total_ok, total),
        "n": total,
        "per_language": {k: {"accuracy": _ratio(v[0], v[1]), "n": v[1]} for k, v in sorted(per.items())},
        "mixed_recall": _ratio(mixed_hits, mixed_total),
        "n_bilingual": mixed_total,
        "mixed_false_positives": _ratio(false_mixed, single_total),
    }


_URL = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)


def _substantial(text: Any) -> bool:
    """Running text long enough to have a language: URLs do not count towards it."""
    if not isinstance(text, str):
        return False
    rest = " ".join(_URL.sub(" ", text).split())
    chars = [c for c in rest if not c.isspace()]
    return len(rest) >= SEGMENT_MIN_CHARS and sum(c.isalpha() for c in chars) * 2 >= len(chars)


def evaluate_segment_languages(
    docs: pd.DataFrame,
    gold: pd.DataFrame,
    path_to_doc: dict[str, str],
    tables: dict[str, pd.DataFrame],
    dis: _Disagreements,
) -> dict[str, Any] | None:
    """Segment-language accuracy from segment gold rows, or implied by single-language docs."""
    languages = tables.get("languages")
    if languages is None:
        return None
    seg_langs = _seg_rows(languages)
    pred = {(str(d), _seg_key(s)): str(lang) for d, s, lang in
            zip(seg_langs["doc_id"], seg_langs["seg_id"], seg_langs["lang"], strict=True)}
    expected: list[tuple[str, str, str, str]] = []  # path, doc_id, seg key, lang
    if "seg_id" in gold.columns and (gold["seg_id"].astype(str).str.strip() != "").any():
        source = "gold segments"
        rows = gold[gold["seg_id"].astype(str).str.strip() != ""]
        for path, seg, cell in zip(rows["source_path"], rows["seg_id"], rows["lang"], strict=True):
            doc_id = path_to_doc.get(_norm_path(path))
            langs = _split(cell)
            if doc_id is not None and len(langs) == 1:
                expected.append((_norm_path(path), doc_id, _seg_key(seg), langs[0]))
    else:
        segments = tables.get("segments")
        if segments is None:
            return None
        source = f"single-language documents, segments of >= {SEGMENT_MIN_CHARS} characters"
        doc_lang = {d: _split(lang) for d, lang in zip(docs["doc_id"], docs["lang"], strict=True)}
        doc_path = dict(zip(docs["doc_id"], docs["source_path"], strict=True))
        wanted = {d for d, langs in doc_lang.items() if len(langs) == 1}
        segs = segments[segments["doc_id"].astype(str).isin(wanted)]
        for d, s, text in zip(segs["doc_id"], segs["seg_id"], segs["text"], strict=True):
            if _substantial(text):
                expected.append((doc_path[str(d)], str(d), _seg_key(s), doc_lang[str(d)][0]))
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, doc_id, seg, lang in expected:
        got = pred.get((doc_id, seg), "")
        per[lang][1] += 1
        if got == lang:
            per[lang][0] += 1
        else:
            dis.add(path, "segment_lang", lang, got or "no language row", seg_id=seg)
    total = sum(v[1] for v in per.values())
    return {
        "source": source,
        "accuracy": _ratio(sum(v[0] for v in per.values()), total),
        "n": total,
        "per_language": {k: {"accuracy": _ratio(v[0], v[1]), "n": v[1]} for k, v in sorted(per.items())},
    }


# --- themes -------------------------------------------------------------------------------------


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    return {
        "precision": None if p is None else round(p, 4),
        "recall": None if r is None else round(r, 4),
        "f1": round(_f1(p, r), 4),
        "support": tp + fn,
    }


def macro_f1(gold_sets: list[set[str]], pred_sets: list[set[str]]) -> tuple[float | None, dict[str, Any]]:
    """Macro-F1 over the labels present in gold or predictions, and each label's figures
    (None for no documents)."""
    labels = sorted(set().union(*gold_sets, *pred_sets)) if gold_sets else []
    per = {}
    for label in labels:
        tp = sum(label in g and label in p for g, p in zip(gold_sets, pred_sets, strict=True))
        fp = sum(label not in g and label in p for g, p in zip(gold_sets, pred_sets, strict=True))
        fn = sum(label in g and label not in p for g, p in zip(gold_sets, pred_sets, strict=True))
        per[label] = _prf(tp, fp, fn)
    if not per:
        return None, per
    return round(sum(v["f1"] for v in per.values()) / len(per), 4), per


def predicted_themes(themes: pd.DataFrame) -> dict[str, set[str]]:
    """Per document, the themes its document rows carry, as the themes stage wrote them.

    Every document row is a decided theme (primary or secondary); scores are kept for
    readers that rank them, not re-thresholded.
    """
    rows = _doc_rows(themes)
    if "theme" not in rows.columns:
        return {}
    out: dict[str, set[str]] = defaultdict(set)
    for doc_id, theme in zip(rows["doc_id"], rows["theme"], strict=True):
        if not _is_null(theme):
            out[str(doc_id)].add(str(theme))
    return out


def per_language_macro_f1(
    gold_sets: list[set[str]], pred_sets: list[set[str]], doc_langs: list[set[str]]
) -> dict[str, dict[str, Any]]:
    """``macro_f1`` and the number of documents per language. A bilingual document (gold
    ``en;fr``) addresses its themes in each of its languages: it counts in each, not in
    a pseudo-language of its own."""
    per_lang = {}
    for lang in sorted(set().union(*doc_langs)):
        mask = [lang in ls for ls in doc_langs]
        lang_gold = [s for s, m in zip(gold_sets, mask, strict=True) if m]
        lang_pred = [s for s, m in zip(pred_sets, mask, strict=True) if m]
        per_lang[lang] = {"macro_f1": macro_f1(lang_gold, lang_pred)[0], "n": len(lang_gold)}
    return per_lang


def language_gap(
    gold_sets: list[set[str]], pred_sets: list[set[str]], doc_langs: list[set[str]]
) -> tuple[str, float] | None:
    """The UN language with the lowest theme macro-F1, and how far it is below the overall
    figure (None without a UN language)."""
    overall = macro_f1(gold_sets, pred_sets)[0]
    per = {
        lang: v["macro_f1"]
        for lang, v in per_language_macro_f1(gold_sets, pred_sets, doc_langs).items()
        if lang in UN_LANGUAGES and v["macro_f1"] is not None
    }
    if overall is None or not per:
        return None
    worst = min(per, key=per.__getitem__)
    return worst, round(overall - per[worst], 4)


def chance_language_gaps(
    gold_sets: list[set[str]],
    pred_sets: list[set[str]],
    doc_langs: list[set[str]],
    *,
    runs: int,
    seed: int,
) -> list[float]:
    """``language_gap`` with the documents' languages shuffled ``runs`` times: the gap that
    language-blind errors give at these numbers of documents per language.

    A document swaps its language only with documents of the same gold themes, so each
    language keeps its mix of topics and its number of documents. With five documents
    a language one document moves a language's macro-F1 by about 0.1, and the lowest of
    six is well below the overall figure even when no language is worse served.
    """
    rng = np.random.default_rng(seed)
    strata: dict[frozenset[str], list[int]] = defaultdict(list)
    for i, g in enumerate(gold_sets):
        strata[frozenset(g)].append(i)
    gaps = []
    for _ in range(runs):
        langs = list(doc_langs)
        for idx in strata.values():
            for to, frm in zip(idx, rng.permutation(idx).tolist(), strict=True):
                langs[to] = doc_langs[frm]
        gap = language_gap(gold_sets, pred_sets, langs)
        if gap is not None:
            gaps.append(gap[1])
    return gaps


# Shuffles behind ``theme_language_gap_chance`` (its median was the same to four places
# with 1,000, and over three seeds, on the sample and dev gold).
CHANCE_RUNS = 200


def evaluate_themes(
    docs: pd.DataFrame, themes: pd.DataFrame, dis: _Disagreements, *, seed: int = 0
) -> dict[str, Any]:
    pred = predicted_themes(themes)
    scored = docs[docs["themes"].map(lambda c: bool(_split(c)))]
    gold_sets = [set(_split(c)) for c in scored["themes"]]
    pred_sets = [pred.get(d, set()) for d in scored["doc_id"]]
    for path, g, p in zip(scored["source_path"], gold_sets, pred_sets, strict=True):
        if g != p:
            dis.add(path, "themes", sorted(g), sorted(p))
    macro, per_theme = macro_f1(gold_sets, pred_sets)
    doc_langs = [set(_split(c)) for c in scored["lang"]]
    out = {"macro_f1": macro, "n": len(gold_sets), "per_theme": per_theme,
           "per_language": per_language_macro_f1(gold_sets, pred_sets, doc_langs)}
    gap = language_gap(gold_sets, pred_sets, doc_langs)
    if gap is not None:
        chance = chance_language_gaps(gold_sets, pred_sets, doc_langs, runs=CHANCE_RUNS, seed=seed)
        out["language_gap"] = {"lowest": gap[0], "gap": gap[1],
                               "chance_median": round(float(np.median(chance)), 4)}
    return out


# --- entities -----------------------------------------------------------------------------------


def _entity_class(canonical_id: str) -> str:
    return canonical_id.split(":", 1)[0] if ":" in canonical_id else ""


def _gazetteer_only(ids: Iterable[str]) -> set[str]:
    return {i for i in ids if _entity_class(i) in GAZETTEER_CLASSES}


def evaluate_entities(docs: pd.DataFrame, entities: pd.DataFrame, dis: _Disagreements) -> dict[str, Any]:
    found: dict[str, set[str]] = defaultdict(set)
    if "canonical_id" in entities.columns:
        for doc_id, cid in zip(entities["doc_id"], entities["canonical_id"], strict=True):
            if not _is_null(cid):
                found[str(doc_id)].add(str(cid))
    counts: dict[str, dict[str, list[int]]] = {"class": defaultdict(lambda: [0, 0, 0]),
                                               "language": defaultdict(lambda: [0, 0, 0])}
    total = [0, 0, 0]  # tp, fp, fn
    for path, doc_id, lang, cell in zip(
        docs["source_path"], docs["doc_id"], docs["lang"], docs["entities"], strict=True
    ):
        gold_ids = _gazetteer_only(_split(cell))
        got = _gazetteer_only(found.get(doc_id, set()))
        for cid in sorted(gold_ids | got):
            idx = 0 if cid in gold_ids and cid in got else (1 if cid in got else 2)
            total[idx] += 1
            counts["class"][_entity_class(cid)][idx] += 1
            counts["language"][lang][idx] += 1
            if idx == 2:
                dis.add(path, "entity", cid, "", kind="missed")
            elif idx == 1:
                dis.add(path, "entity", "", cid, kind="spurious")

    def figures(tp: int, fp: int, fn: int) -> dict[str, Any]:
        return {"recall": _ratio(tp, tp + fn), "precision": _ratio(tp, tp + fp), "n_gold": tp + fn, "n_found": tp + fp}

    return {
        **figures(*total),
        "per_class": {k: figures(*v) for k, v in sorted(counts["class"].items())},
        "per_language": {k: figures(*v) for k, v in sorted(counts["language"].items())},
    }


# --- stakeholder types --------------------------------------------------------------------------


def evaluate_stakeholders(docs: pd.DataFrame, predicted: dict[str, str], dis: _Disagreements) -> dict[str, Any]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, doc_id, gold_type in zip(docs["source_path"], docs["doc_id"], docs["stakeholder_type"], strict=True):
        gold_type = "" if _is_null(gold_type) else str(gold_type).strip()
        if not gold_type:
            continue
        got = predicted.get(doc_id, "")
        per[gold_type][1] += 1
        if got == gold_type:
            per[gold_type][0] += 1
        else:
            dis.add(path, "stakeholder_type", gold_type, got)
    total = sum(v[1] for v in per.values())
    return {
        "accuracy": _ratio(sum(v[0] for v in per.values()), total),
        "n": total,
        "per_type": {k: {"accuracy": _ratio(v[0], v[1]), "n": v[1]} for k, v in sorted(per.items())},
    }


def _predicted_types(tables: dict[str, pd.DataFrame]) -> dict[str, str] | None:
    for name in ("actors", "documents"):
        df = tables.get(name)
        if df is not None and "stakeholder_type" in df.columns:
            return {
                str(d): ("" if _is_null(t) else str(t))
                for d, t in zip(df["doc_id"], df["stakeholder_type"], strict=True)
            }
    return None


# --- the harness --------------------------------------------------------------------------------


def evaluate(tables: dict[str, pd.DataFrame], gold: pd.DataFrame, cfg: Config) -> dict[str, Any]:
    """Score the stage tables against a gold CSV.

    Args:
        tables: the contract tables that exist (``manifest``, ``documents``, ``segments``,
            ``languages``, ``themes``, ``entities``, ``actors``; any may be missing).
        gold: the gold CSV read as strings (``source_path``, ``lang``, ``themes`` and
            optionally ``stakeholder_type``, ``entities``, ``seg_id``).
        cfg: the pipeline configuration.

    Returns:
        ``{"summary": {...flat floats...}, "languages": ..., "segment_languages": ...,
        "themes": ..., "entities": ..., "stakeholder_types": ..., "disagreements": [...]}``;
        a section is absent when its table or gold column is.

    Raises:
        ValueError: the gold table has no ``source_path`` column.
    """
    if "source_path" not in gold.columns:
        raise ValueError(f"gold file needs a source_path column; it has {list(gold.columns)}")
    gold = gold.fillna("").astype(str)
    dis = _Disagreements()
    path_to_doc = match_gold(gold, tables, dis)
    doc_gold = gold
    if "seg_id" in gold.columns:
        doc_gold = gold[gold["seg_id"].str.strip() == ""]
    doc_gold = doc_gold.assign(source_path=doc_gold["source_path"].map(_norm_path))
    doc_gold = doc_gold.drop_duplicates("source_path")
    docs = doc_gold[doc_gold["source_path"].isin(path_to_doc)].copy()
    docs["doc_id"] = docs["source_path"].map(path_to_doc)
    if "lang" not in docs.columns:
        docs["lang"] = ""
    result: dict[str, Any] = {}
    summary: dict[str, float] = {
        "n_gold_documents": float(len(doc_gold)),
        "n_matched_documents": float(len(docs)),
    }

    languages = tables.get("languages")
    if languages is not None:
        lang_res = evaluate_doc_languages(docs, languages, dis)
        result["languages"] = lang_res
        _put(summary, "doc_lang_accuracy", lang_res["accuracy"])
        for lang, v in lang_res["per_language"].items():
            _put(summary, f"doc_lang_accuracy_{lang.replace(';', '_')}", v["accuracy"])
        _put(summary, "doc_lang_mixed_recall", lang_res["mixed_recall"])
        _put(summary, "doc_lang_mixed_false_positives", lang_res["mixed_false_positives"])
        seg_res = evaluate_segment_languages(docs, gold, path_to_doc, tables, dis)
        if seg_res is not None:
            result["segment_languages"] = seg_res
            _put(summary, "seg_lang_accuracy", seg_res["accuracy"])
            for lang, v in seg_res["per_language"].items():
                _put(summary, f"seg_lang_accuracy_{lang}", v["accuracy"])

    themes = tables.get("themes")
    if themes is not None and "themes" in docs.columns:
        theme_res = evaluate_themes(docs, themes, dis, seed=cfg.base.seed)
        result["themes"] = theme_res
        _put(summary, "theme_macro_f1", theme_res["macro_f1"])
        for lang, v in theme_res["per_language"].items():
            _put(summary, f"theme_macro_f1_{lang.replace(';', '_')}", v["macro_f1"])
            _put(summary, f"theme_n_{lang.replace(';', '_')}", v["n"])
        for theme, v in theme_res["per_theme"].items():
            _put(summary, f"theme_f1_{theme}", v["f1"])
        if "language_gap" in theme_res:
            _put(summary, "theme_language_gap", theme_res["language_gap"]["gap"])
            _put(summary, "theme_language_gap_chance", theme_res["language_gap"]["chance_median"])

    entities = tables.get("entities")
    if entities is not None and "entities" in docs.columns:
        ent_res = evaluate_entities(docs, entities, dis)
        result["entities"] = ent_res
        _put(summary, "entity_recall", ent_res["recall"])
        _put(summary, "entity_precision", ent_res["precision"])
        for group in ("per_class", "per_language"):
            for key, v in ent_res[group].items():
                key = key.replace(";", "_")
                _put(summary, f"entity_recall_{key}", v["recall"])
                _put(summary, f"entity_precision_{key}", v["precision"])

    predicted_types = _predicted_types(tables)
    if predicted_types is not None and "stakeholder_type" in docs.columns:
        st_res = evaluate_stakeholders(docs, predicted_types, dis)
        if st_res["n"]:
            result["stakeholder_types"] = st_res
            _put(summary, "stakeholder_type_accuracy", st_res["accuracy"])

    summary["n_disagreements"] = float(len(dis.items))
    result["summary"] = summary
    result["disagreements"] = dis.items
    logger.info("evaluated %d of %d gold documents; %d disagreements", len(docs), len(doc_gold), len(dis.items))
    return result


def _put(summary: dict[str, float], key: str, value: float | None) -> None:
    # dvc metrics show and the CLI print floats; an undefined figure is left out, not NaN.
    if value is not None:
        summary[key] = float(value)
