"""The analyst's review: decisions kept in a plain file, applied after the models.

Reads ``corpora/raw/<consultation>/review.yaml`` (a missing file, or one holding only
comments, means "no decisions") and the model tables ``documents``, ``segments``,
``languages``, ``entities``, ``actors``, ``themes``, ``subthemes``. Writes reviewed copies
of those tables (``<out>/review/<table>.parquet``, each with a ``decided_by`` column) and
``<out>/review/decisions.parquet`` (one row per decision, with its status and effect).

The file is YAML: a mapping with one key, ``decisions``, holding a list. Each decision
names its ``kind``, its target (a response by ``document``: its ``doc_id`` or its file
name, whichever the analyst has), the new value, and ``by`` (the analyst), ``on`` (a
date) and ``reason``::

    decisions:
      - kind: set_stakeholder_type
        document: es-02-regulador-mexico-ott.pdf
        stakeholder_type: regulator
        by: A. Analyst
        on: 2026-11-27
        reason: the metadata says "Regulatory authority"

See :data:`KINDS` for the fields of each kind and ``corpora/raw/sample/review.yaml`` for
a commented example of every kind.

Decisions apply in file order, so a later entry sees the effect of an earlier one (a
theme renamed by entry 2 has its new name for entry 5). A decision whose target is gone
(the response was removed from the corpus, the theme renamed) is *stale*: it is logged
and listed with ``status = stale``, never dropped silently.

Excluded responses (``exclude_response``) are *removed* from every reviewed table, so the
summaries need no change to leave them out of every count; the ``decisions`` table
lists each one with its grounds and file. Rejected quotes keep their segment but set
``segments.quote_ok = False``; quote pickers must skip such segments.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pipeline.config import Config, ConfigError
from pipeline.schemas import STAKEHOLDER_TYPES

logger = logging.getLogger(__name__)

MODEL = "model"
STATUSES = ("applied", "stale")
EXCLUDE_GROUNDS = ("out_of_scope", "withdrawn", "duplicate", "not_a_response", "other")
# Tables a review may change (the same list as ``cli.REVIEWED_TABLES``; a stage may not
# import the CLI).
REVIEWED = ("documents", "segments", "languages", "actors", "themes", "subthemes", "entities")
DECISION_COLUMNS = ("index", "kind", "target", "value", "by", "on", "reason", "status", "effect")

_THEME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# The forms a decision's language and country must take (the review file and the
# workbook import check the same rules): ISO 639-1 lower case, ISO 3166 alpha-3 capitals.
LANG_RE = re.compile(r"[a-z]{2}")
COUNTRY_RE = re.compile(r"[A-Z]{3}")
_WS = re.compile(r"\s+")

# kind -> (required fields, optional fields). Every kind also takes by, on (required)
# and reason (required for exclude_response). ``document`` may be written ``doc_id`` or
# ``file``.
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "rename_theme": (("theme", "to"), ()),
    "merge_themes": (("themes", "into"), ()),
    "split_theme": (("theme", "into"), ("documents", "segments")),
    "rename_subtheme": (("subtheme", "label"), ()),
    "merge_subthemes": (("subthemes",), ("into", "label")),
    "move_response": (("document", "to"), ("from",)),
    "move_segment": (("document", "segment", "to"), ("from", "subtheme")),
    "set_language": (("document", "lang"), ("segment",)),
    "set_stakeholder_type": (("document", "stakeholder_type"), ()),
    "set_country": (("document", "country"), ()),
    "merge_actors": (("actors",), ("into", "name")),
    "split_actor": (("actor", "documents", "into"), ("name",)),
    "reject_quote": (("document",), ("segment", "quote")),
    "exclude_response": (("document", "grounds", "reason"), ()),
}
COMMON_FIELDS = ("kind", "by", "on", "reason")
DOCUMENT_ALIASES = ("doc_id", "file")


class ReviewError(ConfigError):
    """The review file (or workbook) holds an entry that cannot be understood.

    A :class:`ConfigError` (an input the analyst wrote is wrong), so the CLI prints the
    message and exits with status 1 instead of a traceback.
    """


@dataclass(frozen=True)
class Decision:
    """One analyst decision: its 1-based position in the file, kind, fields and author."""

    index: int
    kind: str
    fields: dict[str, Any]
    by: str
    on: str
    reason: str = ""

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)


@dataclass(frozen=True)
class Review:
    """Every decision of one review file, in file order."""

    decisions: tuple[Decision, ...] = ()
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.decisions)


@dataclass
class _Outcome:
    status: str
    effect: str
    changed: dict[str, int] = field(default_factory=dict)


# --- reading and validating -------------------------------------------------------------


def load_review(path: Path) -> Review:
    """Read and validate a review file; a missing or comment-only file has no decisions.

    Raises:
        ReviewError: the file is not YAML, or entries are invalid (every problem is
            listed, each naming the entry number, the field and the allowed values).
    """
    path = Path(path)
    if not path.exists():
        logger.info("no review file at %s: the model's tables are used as they are", path)
        return Review((), path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ReviewError(f"{path} is not valid YAML: {exc}") from exc
    return Review(parse_decisions(raw, source=str(path)), path)


def parse_decisions(raw: Any, *, source: str = "review file") -> tuple[Decision, ...]:
    """Validate the loaded YAML (``{decisions: [...]}``, a bare list, or nothing).

    Raises:
        ReviewError: listing every invalid entry.
    """
    if raw is None:
        return ()
    if isinstance(raw, dict):
        unknown = set(raw) - {"decisions"}
        if unknown:
            raise ReviewError(f"{source}: unknown top-level key(s) {sorted(unknown)}; "
                              "the file holds one key, 'decisions', with a list of entries")
        raw = raw.get("decisions") or []
    if not isinstance(raw, list):
        raise ReviewError(f"{source}: 'decisions' must be a list of entries, each starting '- kind:'")
    errors: list[str] = []
    out = []
    for i, entry in enumerate(raw, start=1):
        problems, decision = validate_entry(entry, i)
        errors += [f"{source}: entry {i}: {p}" for p in problems]
        if decision is not None:
            out.append(decision)
    if errors:
        raise ReviewError(f"{len(errors)} problem(s) in the review decisions:\n  " + "\n  ".join(errors))
    return tuple(out)


def _as_date(value: Any) -> str | None:
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
        return ""
    return str(value).strip()


def validate_entry(entry: Any, index: int) -> tuple[list[str], Decision | None]:
    """Check one entry; return the problems (messages) and the decision when valid."""
    if not isinstance(entry, dict):
        return [f"must be a mapping (kind: ..., by: ..., on: ...), got {entry!r}"], None
    kind = entry.get("kind")
    if kind not in KINDS:
        return [f"field 'kind' must be one of {', '.join(KINDS)}; got {kind!r}"], None
    required, optional = KINDS[kind]
    fields = dict(entry)
    if True in fields and "on" not in fields:
        # YAML 1.1 (PyYAML) reads an unquoted key `on` as the boolean true.
        fields["on"] = fields.pop(True)
    problems: list[str] = []
    aliases = [a for a in DOCUMENT_ALIASES if a in fields]
    if aliases:
        if "document" in fields or len(aliases) > 1:
            problems.append(f"({kind}) give the response once, as 'document' (a doc_id or a file name)")
        fields["document"] = fields.pop(aliases[0])
        for a in aliases[1:]:
            fields.pop(a)
    allowed = set(required) | set(optional) | set(COMMON_FIELDS)
    for key in sorted(set(fields) - allowed, key=str):
        problems.append(f"({kind}) unknown field {key!r}; allowed fields: "
                        f"{', '.join(sorted(allowed - {'kind'}))}")
    for key in required:
        if key not in fields or fields[key] is None or fields[key] == "" or fields[key] == []:
            problems.append(f"({kind}) field {key!r} is required")
    by = _text(fields.get("by"))
    if not by:
        problems.append(f"({kind}) field 'by' is required: the analyst's name")
    on = _as_date(fields.get("on"))
    if on is None:
        problems.append(f"({kind}) field 'on' must be a date YYYY-MM-DD; got {fields.get('on')!r}")
    problems += _check_values(kind, fields)
    if problems:
        return problems, None
    values = {k: v for k, v in fields.items() if k not in COMMON_FIELDS}
    return [], Decision(index, kind, _normalise(kind, values), by, on or "", _text(fields.get("reason")))


def _check_values(kind: str, f: dict[str, Any]) -> list[str]:
    p: list[str] = []

    def theme(name: str) -> None:
        v = f.get(name)
        if v is not None and not (isinstance(v, str) and _THEME_RE.match(v)):
            p.append(f"({kind}) field {name!r} must be a theme id (lower case letters, digits, "
                     f"underscores, e.g. connectivity); got {v!r}")

    def str_list(name: str, minimum: int) -> None:
        v = f.get(name)
        if v is None:
            return
        if not isinstance(v, list) or len(v) < minimum or not all(_text(x) for x in v):
            p.append(f"({kind}) field {name!r} must be a list of at least {minimum} name(s); got {v!r}")

    def seg(name: str) -> None:
        v = f.get(name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            p.append(f"({kind}) field {name!r} must be a segment number (seg_id, 0 or more); got {v!r}")

    for name in ("theme", "to", "into", "from"):
        if kind in ("merge_subthemes", "merge_actors", "split_actor") and name == "into":
            continue
        theme(name)
    if kind == "merge_themes":
        str_list("themes", 1)
        for t in f.get("themes") or []:
            if not (isinstance(t, str) and _THEME_RE.match(t)):
                p.append(f"({kind}) field 'themes' holds {t!r}, not a theme id")
    if kind == "merge_subthemes":
        str_list("subthemes", 2)
    if kind == "merge_actors":
        str_list("actors", 2)
    if kind == "split_actor":
        str_list("documents", 1)
    if kind == "split_theme":
        if not f.get("documents") and not f.get("segments"):
            p.append(f"({kind}) give 'documents' (a list) and/or 'segments' (a list of "
                     "{document: ..., segment: N}) to move into the new theme")
        str_list("documents", 1)
        segs = f.get("segments")
        if segs is not None and (not isinstance(segs, list) or not all(
                isinstance(s, dict) and _text(s.get("document") or s.get("doc_id") or s.get("file"))
                and isinstance(s.get("segment"), int) and not isinstance(s.get("segment"), bool)
                for s in segs)):
            p.append(f"({kind}) field 'segments' must be a list of {{document: <doc_id or file>, "
                     f"segment: <seg_id>}}; got {segs!r}")
    seg("segment")
    if kind == "set_language" and f.get("lang") is not None and not (
            isinstance(f["lang"], str) and LANG_RE.fullmatch(f["lang"])):
        p.append(f"({kind}) field 'lang' must be an ISO 639-1 code in lower case "
                 f"(ar, zh, en, fr, ru, es, ...); got {f['lang']!r}")
    if kind == "set_stakeholder_type" and f.get("stakeholder_type") is not None and \
            f["stakeholder_type"] not in STAKEHOLDER_TYPES:
        p.append(f"({kind}) field 'stakeholder_type' must be one of {', '.join(STAKEHOLDER_TYPES)}; "
                 f"got {f['stakeholder_type']!r}")
    if kind == "set_country" and f.get("country") is not None and not (
            isinstance(f["country"], str) and COUNTRY_RE.fullmatch(f["country"])):
        p.append(f"({kind}) field 'country' must be an ISO 3166 alpha-3 code in capitals "
                 f"(e.g. KEN); got {f['country']!r}")
    if kind == "exclude_response" and f.get("grounds") is not None and \
            f["grounds"] not in EXCLUDE_GROUNDS:
        p.append(f"({kind}) field 'grounds' must be one of {', '.join(EXCLUDE_GROUNDS)}; "
                 f"got {f['grounds']!r}")
    if kind == "reject_quote" and f.get("segment") is None and not _text(f.get("quote")):
        p.append(f"({kind}) give 'segment' (its seg_id) or 'quote' (the quoted text)")
    for name in ("document", "subtheme", "label", "actor", "name", "quote"):
        if name in f and f[name] is not None and not isinstance(f[name], str | int):
            p.append(f"({kind}) field {name!r} must be text; got {f[name]!r}")
    return p


def _normalise(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for name in ("document", "subtheme", "actor", "into", "label", "name", "quote"):
        if name in out and out[name] is not None:
            out[name] = str(out[name]).strip()
    for name in ("documents", "subthemes", "actors", "themes"):
        if name in out and out[name] is not None:
            out[name] = [str(x).strip() for x in out[name]]
    if kind == "split_theme" and out.get("segments"):
        out["segments"] = [
            {"document": str(s.get("document") or s.get("doc_id") or s.get("file")).strip(),
             "segment": int(s["segment"])} for s in out["segments"]]
    return out


def decision_to_entry(decision: Decision) -> dict[str, Any]:
    """The YAML mapping of a decision (kind first, then its fields, then by/on/reason)."""
    entry: dict[str, Any] = {"kind": decision.kind, **decision.fields, "by": decision.by,
                             "on": decision.on}
    if decision.reason:
        entry["reason"] = decision.reason
    return entry


# --- applying -----------------------------------------------------------------------------


def apply_review(
    tables: dict[str, pd.DataFrame], review: Review, cfg: Config
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Apply the analyst's decisions to copies of the reviewed tables.

    Args:
        tables: the model's tables by name (any subset; only :data:`REVIEWED` ones are
            copied and returned).
        review: the decisions, from :func:`load_review`.
        cfg: the pipeline configuration (unused today; kept for the stage signature).

    Returns:
        The reviewed tables (each with ``decided_by``; ``segments`` also with
        ``quote_ok``) and the ``decisions`` table (:data:`DECISION_COLUMNS`).
    """
    del cfg
    state = _State({name: _prepare(name, tables[name]) for name in REVIEWED if name in tables},
                   manifest=tables.get("manifest"))
    rows = []
    for d in review.decisions:
        try:
            outcome = APPLY[d.kind](state, d)
        except _Stale as exc:
            outcome = _Outcome("stale", str(exc))
        if outcome.status == "stale":
            logger.warning("review decision %d (%s) no longer applies: %s", d.index, d.kind,
                           outcome.effect)
        rows.append({
            "index": d.index, "kind": d.kind, "target": _target(d), "value": _value(d),
            "by": d.by, "on": d.on, "reason": d.reason, "status": outcome.status,
            "effect": outcome.effect,
        })
    decisions = pd.DataFrame(rows, columns=list(DECISION_COLUMNS)).astype(
        {"index": "int64", **{c: object for c in DECISION_COLUMNS if c != "index"}})
    out = {name: df.reset_index(drop=True) for name, df in state.tables.items()}
    return out, decisions


def _prepare(name: str, df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    if "decided_by" not in df.columns:
        df["decided_by"] = MODEL
    df["decided_by"] = df["decided_by"].astype(object)
    if name == "segments" and "quote_ok" not in df.columns:
        df["quote_ok"] = True
    return df


class _Stale(Exception):
    """The decision's target is gone; the message says what is missing."""


class _State:
    """The tables being reviewed, and the look-ups decisions need."""

    def __init__(self, tables: dict[str, pd.DataFrame], *, manifest: pd.DataFrame | None = None) -> None:
        self.tables = tables
        self.manifest = manifest
        self.excluded: dict[str, int] = {}  # doc_id -> decision index that excluded it
        self.excluded_files: dict[str, int] = {}  # file name -> decision index

    def has(self, name: str) -> bool:
        return name in self.tables

    def need(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            raise _Stale(f"there is no {name} table to change")
        return self.tables[name]

    def doc_id(self, ref: str) -> str:
        """Resolve a doc_id or a file name (relative path or base name) to a doc_id."""
        ref = str(ref).strip()
        if ref in self.excluded:
            raise _Stale(f"response {ref} was excluded by decision {self.excluded[ref]}")
        docs = self.tables.get("documents")
        if docs is None:
            ids = set().union(*(set(df["doc_id"].astype(str)) for df in self.tables.values()
                                if "doc_id" in df.columns)) if self.tables else set()
            if ref in ids:
                return ref
            raise _Stale(f"response {ref!r} is not in the tables")
        ids = docs["doc_id"].astype(str)
        if (ids == ref).any():
            return ref
        paths = docs["source_path"].astype(str)
        for candidates in (paths, paths.map(lambda p: Path(p).name)):
            hit = ids[candidates == ref]
            if len(hit) == 1:
                return str(hit.iloc[0])
            if len(hit) > 1:
                raise _Stale(f"file name {ref!r} matches {len(hit)} responses; give the doc_id")
        for name in (ref, Path(ref).name):
            if name in self.excluded_files:
                raise _Stale(f"response {ref} was excluded by decision {self.excluded_files[name]}")
        if self.manifest is not None and len(self.manifest):
            paths = self.manifest["source_path"].astype(str)
            hit = self.manifest[(paths == ref) | (paths.map(lambda p: Path(p).name) == ref)]
            if len(hit):
                row = hit.iloc[0]
                raise _Stale(f"file {ref} was not read as a response (status {row['status']}: "
                             f"{_text(row['detail'])})")
        raise _Stale(f"response {ref!r} is not in the corpus any more (no such doc_id or file)")

    def file_of(self, doc_id: str) -> str:
        docs = self.tables.get("documents")
        if docs is not None:
            hit = docs.loc[docs["doc_id"].astype(str) == doc_id, "source_path"]
            if len(hit):
                return Path(str(hit.iloc[0])).name
        return doc_id

    def mark(self, name: str, mask: pd.Series, by: str, **values: Any) -> int:
        df = self.tables[name]
        for col, value in values.items():
            # A text value going into a numeric (or all-null) column needs an object column.
            if col in df.columns and isinstance(value, str) and not pd.api.types.is_string_dtype(df[col]):
                df[col] = df[col].astype(object)
            df.loc[mask, col] = value
        df.loc[mask, "decided_by"] = by
        return int(mask.sum())


def _seg_key(series: pd.Series) -> pd.Series:
    """seg_id as an int with -1 for the document row (seg_id null)."""
    return pd.to_numeric(series, errors="coerce").fillna(-1).astype("int64")


def _themes_of(state: _State) -> list[str]:
    t = state.tables.get("themes")
    return sorted(set(t["theme"].astype(str))) if t is not None else []


def _retheme(state: _State, mask: pd.Series, new_theme: str, by: str, *,
             drop_subtheme: bool = False) -> int:
    """Give the rows under ``mask`` a new theme; merge rows that then share a key."""
    t = state.tables["themes"]
    t.loc[mask, "theme"] = new_theme
    t.loc[mask, "decided_by"] = by
    if drop_subtheme:
        t["subtheme"] = t["subtheme"].astype(object)
        t.loc[mask, "subtheme"] = None
    key = pd.DataFrame({"d": t["doc_id"].astype(str), "s": _seg_key(t["seg_id"]), "t": t["theme"]})
    dup = key.duplicated(keep=False)
    if dup.any():
        drop = []
        for _, grp in key[dup].groupby(["d", "s", "t"], sort=False):
            idx = list(grp.index)
            rows = t.loc[idx]
            keep = idx[0]
            primary_first = rows.sort_values("is_primary", ascending=False, kind="stable")
            sub = primary_first["subtheme"].dropna()
            t.loc[keep, "score"] = pd.to_numeric(rows["score"], errors="coerce").max()
            t.loc[keep, "is_primary"] = bool(rows["is_primary"].any())
            t.loc[keep, "subtheme"] = sub.iloc[0] if len(sub) else None
            t.loc[keep, "decided_by"] = by
            drop += idx[1:]
        state.tables["themes"] = t.drop(index=drop)
    return int(mask.sum())


def _sort_themes(t: pd.DataFrame) -> pd.DataFrame:
    t = t.assign(_s=_seg_key(t["seg_id"]))
    return t.sort_values(["doc_id", "_s", "theme"], kind="stable").drop(columns="_s")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# --- one function per kind ----------------------------------------------------------------


def _rename_theme(state: _State, d: Decision) -> _Outcome:
    old, new = d.get("theme"), d.get("to")
    t = state.need("themes")
    mask = t["theme"] == old
    if not mask.any():
        raise _Stale(f"theme {old!r} is not in the themes table (themes now: {', '.join(_themes_of(state))})")
    n = _retheme(state, mask, new, d.by)
    n_sub = 0
    if state.has("subthemes"):
        s = state.tables["subthemes"]
        n_sub = state.mark("subthemes", s["theme"] == old, d.by, theme=new)
    return _Outcome("applied", f"renamed theme {old} to {new} ({_plural(n, 'theme row')}, "
                               f"{_plural(n_sub, 'sub-theme')})")


def _merge_themes(state: _State, d: Decision) -> _Outcome:
    sources, into = d.get("themes"), d.get("into")
    t = state.need("themes")
    present = [s for s in sources if (t["theme"] == s).any()]
    missing = [s for s in sources if s not in present]
    if not present:
        raise _Stale(f"none of the themes {', '.join(sources)} is in the themes table")
    mask = t["theme"].isin([s for s in present if s != into])
    docs_before = t[mask & t["seg_id"].isna()]["doc_id"].nunique()
    n = _retheme(state, mask, into, d.by)
    if state.has("subthemes"):
        s = state.tables["subthemes"]
        state.mark("subthemes", s["theme"].isin(present) & (s["theme"] != into), d.by, theme=into)
    effect = (f"merged themes {', '.join(present)} into {into} ({_plural(n, 'theme row')}, "
              f"{_plural(docs_before, 'response')})")
    if missing:
        effect += f"; not found (skipped): {', '.join(missing)}"
    return _Outcome("applied", effect)


def _split_theme(state: _State, d: Decision) -> _Outcome:
    theme, into = d.get("theme"), d.get("into")
    t = state.need("themes")
    if not (t["theme"] == theme).any():
        raise _Stale(f"theme {theme!r} is not in the themes table (themes now: {', '.join(_themes_of(state))})")
    docs, notes = [], []
    for ref in d.get("documents") or []:
        try:
            docs.append(state.doc_id(ref))
        except _Stale as exc:
            notes.append(str(exc))
    seg_keys = []
    for item in d.get("segments") or []:
        try:
            seg_keys.append((state.doc_id(item["document"]), int(item["segment"])))
        except _Stale as exc:
            notes.append(str(exc))
    ids = t["doc_id"].astype(str)
    segk = _seg_key(t["seg_id"])
    mask = (t["theme"] == theme) & ids.isin(docs)
    for doc_id, seg in seg_keys:
        mask |= (t["theme"] == theme) & (ids == doc_id) & (segk == seg)
    if not mask.any():
        raise _Stale(f"none of the named responses or segments carries theme {theme!r}"
                     + (f" ({'; '.join(notes)})" if notes else ""))
    n_docs = int((mask & t["seg_id"].isna()).sum())
    n_segs = int((mask & t["seg_id"].notna()).sum())
    _retheme(state, mask, into, d.by, drop_subtheme=True)
    effect = (f"split {_plural(n_docs, 'response')} and {_plural(n_segs, 'segment')} "
              f"from {theme} into {into}")
    if notes:
        effect += "; skipped: " + "; ".join(notes)
    return _Outcome("applied", effect)


def _rename_subtheme(state: _State, d: Decision) -> _Outcome:
    s = state.need("subthemes")
    mask = s["subtheme"].astype(str) == d.get("subtheme")
    if not mask.any():
        raise _Stale(f"sub-theme {d.get('subtheme')!r} is not in the subthemes table")
    old = str(s.loc[mask, "label"].iloc[0])
    state.mark("subthemes", mask, d.by, label=d.get("label"))
    return _Outcome("applied", f"relabelled sub-theme {d.get('subtheme')} from "
                               f"\"{old}\" to \"{d.get('label')}\"")


def _merge_subthemes(state: _State, d: Decision) -> _Outcome:
    s = state.need("subthemes")
    names = d.get("subthemes")
    into = d.get("into") or names[0]
    ids = s["subtheme"].astype(str)
    present = [n for n in names if (ids == n).any()]
    if not present:
        raise _Stale(f"none of the sub-themes {', '.join(names)} is in the subthemes table")
    themes_of = set(s.loc[ids.isin(present), "theme"].astype(str))
    if len(themes_of) > 1:
        raise _Stale(f"sub-themes {', '.join(present)} belong to different themes "
                     f"({', '.join(sorted(themes_of))}); merge the themes first")
    rows = s[ids.isin(present)]
    keep_idx = rows.index[ids[rows.index] == into]
    keep = keep_idx[0] if len(keep_idx) else rows.index[0]
    langs = sorted({str(x) for v in rows["languages"] for x in _as_list(v)})
    s.loc[keep, "subtheme"] = into
    s.loc[keep, "size"] = int(pd.to_numeric(rows["size"], errors="coerce").fillna(0).sum())
    s.at[keep, "languages"] = _like(rows["languages"].iloc[0], langs)
    if d.get("label"):
        s.loc[keep, "label"] = d.get("label")
    s.loc[keep, "decided_by"] = d.by
    state.tables["subthemes"] = s.drop(index=[i for i in rows.index if i != keep])
    n = 0
    if state.has("themes"):
        t = state.tables["themes"]
        n = state.mark("themes", t["subtheme"].astype(str).isin(present) & t["subtheme"].notna(),
                       d.by, subtheme=into)
    missing = [x for x in names if x not in present]
    effect = f"merged sub-themes {', '.join(present)} into {into} ({_plural(n, 'theme row')})"
    if missing:
        effect += f"; not found (skipped): {', '.join(missing)}"
    return _Outcome("applied", effect)


def _as_list(value: Any) -> list[Any]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, str):
        return [x.strip() for x in re.split(r"[;,]", value) if x.strip()]
    if hasattr(value, "tolist"):
        return list(value.tolist())
    return list(value)


def _like(example: Any, values: list[str]) -> Any:
    """Store a merged list the way the column already stores lists (text or list)."""
    if isinstance(example, str):
        return "; ".join(values) if ";" in example or "," not in example else ", ".join(values)
    return values


def _move(state: _State, d: Decision, doc_id: str, seg: int | None) -> tuple[str, str]:
    """Make ``to`` the primary theme of one unit; drop the old primary. Returns (old, new)."""
    t = state.need("themes")
    unit = (t["doc_id"].astype(str) == doc_id) & (_seg_key(t["seg_id"]) == (-1 if seg is None else seg))
    what = f"response {state.file_of(doc_id)}" + ("" if seg is None else f" segment {seg}")
    if not unit.any():
        raise _Stale(f"{what} has no theme rows")
    primary = t[unit & t["is_primary"].astype(bool)]
    old = str(primary["theme"].iloc[0]) if len(primary) else ""
    src = d.get("from")
    if src and old != src:
        if old == d.get("to"):
            return old, old
        raise _Stale(f"{what} is now under {old or 'no primary theme'}, not {src}")
    to = d.get("to")
    if old == to:
        return old, to
    if len(primary):
        t = t.drop(index=primary.index)
        unit = unit.drop(index=primary.index)
    target = unit & (t["theme"] == to)
    if target.any():
        t.loc[target, "is_primary"] = True
        t.loc[target, "decided_by"] = d.by
        if d.get("subtheme") is not None:
            t["subtheme"] = t["subtheme"].astype(object)
            t.loc[target, "subtheme"] = d.get("subtheme")
    else:
        template = primary.iloc[0] if len(primary) else t[unit].iloc[0]
        row: dict[str, Any] = {c: None for c in t.columns}
        row.update({"doc_id": template["doc_id"], "seg_id": template["seg_id"], "theme": to,
                    "score": float("nan"), "is_primary": True, "subtheme": d.get("subtheme"),
                    "decided_by": d.by})
        if "lang" in t.columns:
            row["lang"] = template["lang"]
        new = pd.DataFrame([row], columns=t.columns).astype(t.dtypes.to_dict(), errors="ignore")
        t = _sort_themes(pd.concat([t, new], ignore_index=True))
    state.tables["themes"] = t
    return old, to


def _move_response(state: _State, d: Decision) -> _Outcome:
    doc_id = state.doc_id(d.get("document"))
    old, new = _move(state, d, doc_id, None)
    file = state.file_of(doc_id)
    if old == new:
        return _Outcome("applied", f"no change: response {file} already has primary theme {new}")
    return _Outcome("applied", f"moved 1 response ({file}) from {old or 'no theme'} to {new}")


def _move_segment(state: _State, d: Decision) -> _Outcome:
    doc_id = state.doc_id(d.get("document"))
    seg = int(d.get("segment"))
    sub = d.get("subtheme")
    if sub is not None and state.has("subthemes"):
        s = state.tables["subthemes"]
        hit = s[s["subtheme"].astype(str) == sub]
        if not len(hit) or str(hit["theme"].iloc[0]) != d.get("to"):
            raise _Stale(f"sub-theme {sub!r} is not a sub-theme of {d.get('to')}")
    old, new = _move(state, d, doc_id, seg)
    file = state.file_of(doc_id)
    if old == new:
        return _Outcome("applied", f"no change: segment {seg} of {file} is already under {new}")
    return _Outcome("applied", f"moved segment {seg} of {file} from {old or 'no theme'} to {new}"
                               + (f" (sub-theme {sub})" if sub else ""))


def _set_language(state: _State, d: Decision) -> _Outcome:
    doc_id = state.doc_id(d.get("document"))
    lang_t = state.need("languages")
    seg = d.get("segment")
    mask = (lang_t["doc_id"].astype(str) == doc_id) & (_seg_key(lang_t["seg_id"]) == (-1 if seg is None else seg))
    what = f"{'response' if seg is None else f'segment {seg} of'} {state.file_of(doc_id)}"
    if not mask.any():
        raise _Stale(f"{what} has no language row")
    old = str(lang_t.loc[mask, "lang"].iloc[0])
    if old == d.get("lang"):
        return _Outcome("applied", f"no change: the language of {what} is already {old}")
    values: dict[str, Any] = {"lang": d.get("lang"), "prob": 1.0}
    if "method" in lang_t.columns:
        values["method"] = "review"
    state.mark("languages", mask, d.by, **values)
    return _Outcome("applied", f"set the language of {what} from {old} to {d.get('lang')}")


def _set_doc_field(state: _State, d: Decision, col: str, label: str) -> _Outcome:
    doc_id = state.doc_id(d.get("document"))
    value = d.get(col)
    olds: list[str] = []
    changed = 0
    if state.has("documents"):
        docs = state.tables["documents"]
        mask = docs["doc_id"].astype(str) == doc_id
        if mask.any():
            olds.append(_text(docs.loc[mask, col].iloc[0]) or "unknown")
        changed += state.mark("documents", mask, d.by, **{col: value})
    if state.has("actors"):
        a = state.tables["actors"]
        mask = a["doc_id"].astype(str) == doc_id
        if mask.any():
            # The actors stage may have corrected the metadata: name both when they differ.
            inferred = _text(a.loc[mask, col].iloc[0]) or "unknown"
            if inferred not in olds:
                olds.append(f"{inferred} (actors stage)")
            extra: dict[str, Any] = {}
            if col == "stakeholder_type" and "type_source" in a.columns:
                extra = {"type_source": "review"}
            changed += state.mark("actors", mask, d.by, **{col: value}, **extra)
    if not changed:
        raise _Stale(f"response {state.file_of(doc_id)} has no documents or actors row")
    return _Outcome("applied", f"set the {label} of {state.file_of(doc_id)} from "
                               f"{' / '.join(olds) or 'unknown'} to {value}")


def _set_stakeholder_type(state: _State, d: Decision) -> _Outcome:
    return _set_doc_field(state, d, "stakeholder_type", "stakeholder type")


def _set_country(state: _State, d: Decision) -> _Outcome:
    return _set_doc_field(state, d, "country", "country")


def _merge_actors(state: _State, d: Decision) -> _Outcome:
    a = state.need("actors")
    names = d.get("actors")
    into = d.get("into") or names[0]
    ids = a["actor_id"].astype(str)
    present = [n for n in names if (ids == n).any()]
    if not present:
        raise _Stale(f"none of the actors {', '.join(names)} is in the actors table")
    name = d.get("name")
    if not name:
        own = a.loc[ids == into, "actor_name"]
        name = str(own.iloc[0]) if len(own) else str(a.loc[ids == present[0], "actor_name"].iloc[0])
    n = state.mark("actors", ids.isin(present), d.by, actor_id=into, actor_name=name)
    missing = [x for x in names if x not in present]
    effect = f"merged actors {', '.join(present)} into {into} ({_plural(n, 'response')})"
    if missing:
        effect += f"; not found (skipped): {', '.join(missing)}"
    return _Outcome("applied", effect)


def _split_actor(state: _State, d: Decision) -> _Outcome:
    a = state.need("actors")
    actor, into = d.get("actor"), d.get("into")
    if not (a["actor_id"].astype(str) == actor).any():
        raise _Stale(f"actor {actor!r} is not in the actors table")
    docs, notes = [], []
    for ref in d.get("documents"):
        try:
            docs.append(state.doc_id(ref))
        except _Stale as exc:
            notes.append(str(exc))
    mask = (a["actor_id"].astype(str) == actor) & a["doc_id"].astype(str).isin(docs)
    if not mask.any():
        raise _Stale(f"none of the named responses belongs to actor {actor}"
                     + (f" ({'; '.join(notes)})" if notes else ""))
    name = d.get("name") or str(a.loc[mask, "actor_name"].iloc[0])
    n = state.mark("actors", mask, d.by, actor_id=into, actor_name=name)
    effect = f"split {_plural(n, 'response')} from actor {actor} into {into}"
    if notes:
        effect += "; skipped: " + "; ".join(notes)
    return _Outcome("applied", effect)


def normalise_ws(text: str) -> str:
    return _WS.sub(" ", text or "").strip()


def _holds_part_of(segment: str, quote: str, *, edge: int = 40) -> bool:
    """Whether a segment holds the quote, or part of it when the quoted sentence runs over
    a paragraph or page break (its start, its end, or the whole segment)."""
    if not segment or not quote:
        return False
    if quote in segment or (len(segment) >= edge and segment in quote):
        return True
    return len(quote) > edge and (quote[:edge] in segment or quote[-edge:] in segment)


def _reject_quote(state: _State, d: Decision) -> _Outcome:
    doc_id = state.doc_id(d.get("document"))
    s = state.need("segments")
    in_doc = s["doc_id"].astype(str) == doc_id
    if d.get("segment") is not None:
        mask = in_doc & (_seg_key(s["seg_id"]) == int(d.get("segment")))
        what = f"segment {d.get('segment')}"
    else:
        needle = normalise_ws(d.get("quote"))
        mask = in_doc & s["text"].map(lambda x: _holds_part_of(normalise_ws(str(x)), needle))
        what = f"the segment quoting \"{needle[:60]}\""
    if not mask.any():
        raise _Stale(f"{what} is not in {state.file_of(doc_id)} any more")
    segs = ", ".join(str(x) for x in s.loc[mask, "seg_id"])
    state.mark("segments", mask, d.by, quote_ok=False)
    return _Outcome("applied", f"marked segment {segs} of {state.file_of(doc_id)} unsuitable to quote")


def _exclude_response(state: _State, d: Decision) -> _Outcome:
    doc_id = state.doc_id(d.get("document"))
    file = state.file_of(doc_id)
    removed = []
    for name in ("documents", "segments", "languages", "entities", "actors", "themes"):
        if name in state.tables:
            df = state.tables[name]
            mask = df["doc_id"].astype(str) == doc_id
            if mask.any():
                state.tables[name] = df[~mask]
                removed.append(f"{int(mask.sum())} {name}")
    if not removed:
        raise _Stale(f"response {doc_id} has no rows to exclude")
    state.excluded[doc_id] = d.index
    state.excluded_files[file] = d.index
    return _Outcome("applied", f"excluded 1 response ({file}, {d.get('grounds')}); removed "
                               + ", ".join(removed) + " rows")


APPLY: dict[str, Callable[[_State, Decision], _Outcome]] = {
    "rename_theme": _rename_theme,
    "merge_themes": _merge_themes,
    "split_theme": _split_theme,
    "rename_subtheme": _rename_subtheme,
    "merge_subthemes": _merge_subthemes,
    "move_response": _move_response,
    "move_segment": _move_segment,
    "set_language": _set_language,
    "set_stakeholder_type": _set_stakeholder_type,
    "set_country": _set_country,
    "merge_actors": _merge_actors,
    "split_actor": _split_actor,
    "reject_quote": _reject_quote,
    "exclude_response": _exclude_response,
}


def _target(d: Decision) -> str:
    f = d.fields
    if "document" in f:
        return str(f["document"]) + (f" segment {f['segment']}" if f.get("segment") is not None else "")
    for name in ("theme", "themes", "subtheme", "subthemes", "actor", "actors"):
        if name in f:
            v = f[name]
            return ", ".join(v) if isinstance(v, list) else str(v)
    return ""


def _value(d: Decision) -> str:
    f = d.fields
    for name in ("to", "into", "label", "lang", "stakeholder_type", "country", "grounds"):
        if f.get(name):
            return str(f[name])
    if d.kind == "reject_quote":
        return "quote_ok = false"
    return ""


# --- the workbook (see pipeline/review_workbook.py) --------------------------------------


def export_workbook(tables: dict[str, pd.DataFrame], path: Path, cfg: Config) -> None:
    """Write the review workbook; see :func:`pipeline.review_workbook.export_workbook`."""
    from pipeline.review_workbook import export_workbook as _export

    _export(tables, path, cfg)


def import_workbook(path: Path, review_path: Path, *, reviewer: str | None,
                    on: str | None = None) -> int:
    """Append a filled workbook's decisions to the review file; returns how many.

    See :func:`pipeline.review_workbook.import_workbook`.
    """
    from pipeline.review_workbook import import_workbook as _import

    return _import(path, review_path, reviewer=reviewer, on=on)
