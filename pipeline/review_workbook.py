"""The review workbook: the models' proposals in a spreadsheet, the analyst's decisions back.

``export_workbook`` reads the tables (the reviewed copies when they exist, so a second
round starts from the first one's result) and writes one XLSX with a sheet per kind of
decision: ``responses``, ``quotes`` (segments), ``themes``, ``subthemes``, ``actors``,
plus ``instructions``. Each sheet shows the model's proposal (with its score and evidence)
and empty ``decision_*`` columns. ``import_workbook`` reads the filled workbook, checks
every filled cell, and appends the decisions to the review file (``review.yaml``), keeping
the entries and comments already there. Invalid cells are all collected and reported in
one error, each naming its sheet, row and column.
"""

from __future__ import annotations

import datetime
import io
import logging
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pipeline.config import Config
from pipeline.review import (
    COUNTRY_RE,
    EXCLUDE_GROUNDS,
    LANG_RE,
    Decision,
    ReviewError,
    decision_to_entry,
    load_review,
    parse_decisions,
    validate_entry,
)
from pipeline.schemas import STAKEHOLDER_TYPES
from pipeline.tables import stable_zip, write_bytes, write_text, write_xlsx

logger = logging.getLogger(__name__)

SHEETS = ("instructions", "responses", "quotes", "themes", "subthemes", "actors")
# The themes DESIGN.md names; a response may be moved to any of them even when the model
# gave none of the corpus's responses that theme.
DESIGN_THEMES = ("ott", "connectivity", "covid19", "environment", "sustainable_dev", "idn",
                 "internet_governance", "other")
EVIDENCE_CHARS = 300
QUOTE_CHARS = 1000
_YES = {"yes", "y", "x", "true", "1", "reject", "oui", "sí", "si"}
_NO = {"no", "n", "false", "0", ""}
_THEME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

INSTRUCTIONS = (
    "How to review: one sheet per kind of decision. Leave a decision cell empty to accept the model.",
    "Fill only the columns whose name starts with decision_; do not edit the other columns, "
    "add or delete rows (doc_id, seg_id, theme, subtheme and actor_id identify the rows).",
    "responses: decision_stakeholder_type = one of " + ", ".join(STAKEHOLDER_TYPES) + ".",
    "responses: decision_country = ISO 3166 alpha-3 (KEN, FRA, ...); decision_language = "
    "ISO 639-1 (ar, zh, en, fr, ru, es, ...).",
    "responses: decision_primary_theme = a theme id (see the themes sheet) to move the response.",
    "responses: decision_exclude = " + ", ".join(EXCLUDE_GROUNDS)
    + " to leave the response out of the summaries; decision_reason is then required.",
    "quotes: decision_theme moves a paragraph to another theme; decision_reject_quote = yes "
    "keeps the paragraph out of the draft's quotes.",
    "themes: decision_rename_to = a new id (lower case, digits, _); decision_merge_into = the "
    "theme to merge this one into.",
    "subthemes: decision_label = a better label; decision_merge_into = the sub-theme (same "
    "theme) to merge this one into.",
    "actors: decision_actor_id = the actor this response belongs to (an existing actor_id "
    "merges, a new one splits); decision_actor_name optional.",
    "decision_reason (every sheet) is recorded with the row's decisions.",
    "Then run: textmine review import --workbook THIS_FILE --reviewer \"Your Name\"; the "
    "decisions are appended to the consultation's review.yaml; dvc repro applies them.",
)


# --- export -------------------------------------------------------------------------------


def _str(v: Any) -> str:
    if v is None or (not isinstance(v, str | list | tuple) and pd.isna(v)):
        return ""
    return str(v).strip()


def _trim(text: Any, n: int) -> str:
    t = re.sub(r"\s+", " ", _str(text))
    return t if len(t) <= n else t[: n - 1] + "…"


def _seg_int(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").fillna(-1).astype("int64")


def _doc_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    docs = tables.get("documents")
    if docs is None:
        raise ReviewError("the review workbook needs the documents table; run the ingest stage first")
    out = docs[["doc_id", "source_path", "organisation", "respondent", "stakeholder_type",
                "country"]].copy()
    out["doc_id"] = out["doc_id"].astype(str)
    out["type_source"], out["type_score"], out["type_evidence"] = "metadata", None, ""
    actors = tables.get("actors")
    if actors is not None and len(actors):
        a = actors.assign(doc_id=actors["doc_id"].astype(str)).drop_duplicates("doc_id").set_index("doc_id")
        for col in ("stakeholder_type", "country", "type_source", "type_score", "type_evidence"):
            if col in a.columns:
                better = out["doc_id"].map(a[col])
                out[col] = better.where(better.notna(), out[col])
    return out.sort_values("doc_id", kind="stable").reset_index(drop=True)


def responses_sheet(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per response: the model's proposal, its evidence, empty decision cells."""
    d = _doc_frame(tables)
    lang = tables.get("languages")
    if lang is not None and len(lang):
        rows = lang[lang["seg_id"].isna()].assign(doc_id=lambda x: x["doc_id"].astype(str))
        rows = rows.drop_duplicates("doc_id").set_index("doc_id")
        d["language"], d["language_prob"] = d["doc_id"].map(rows["lang"]), d["doc_id"].map(rows["prob"])
    else:
        d["language"], d["language_prob"] = "", None
    d["primary_theme"], d["theme_score"], d["theme_evidence"] = "", None, ""
    themes, segs = tables.get("themes"), tables.get("segments")
    if themes is not None and len(themes):
        t = themes.assign(doc_id=themes["doc_id"].astype(str))
        prim = t[t["seg_id"].isna() & t["is_primary"].astype(bool)].drop_duplicates("doc_id").set_index("doc_id")
        d["primary_theme"] = d["doc_id"].map(prim["theme"]).fillna("")
        d["theme_score"] = d["doc_id"].map(prim["score"])
        if segs is not None:
            st = t[t["seg_id"].notna()].assign(seg_id=lambda x: _seg_int(x["seg_id"]))
            text = segs.assign(doc_id=segs["doc_id"].astype(str), seg_id=_seg_int(segs["seg_id"]))
            st = st.merge(text[["doc_id", "seg_id", "text"]], on=["doc_id", "seg_id"])
            st = st[st["theme"] == st["doc_id"].map(prim["theme"])]
            best = st.sort_values(["doc_id", "score", "seg_id"], ascending=[True, False, True],
                                  kind="stable").drop_duplicates("doc_id").set_index("doc_id")
            evidence = best["seg_id"].astype(str).radd("segment ") + ": " + best["text"].map(
                lambda x: _trim(x, EVIDENCE_CHARS))
            d["theme_evidence"] = d["doc_id"].map(evidence).fillna("")
    out = pd.DataFrame({
        "doc_id": d["doc_id"], "file": d["source_path"].map(lambda p: Path(_str(p)).name),
        "organisation": d["organisation"], "respondent": d["respondent"],
        "stakeholder_type": d["stakeholder_type"], "type_source": d["type_source"],
        "type_score": d["type_score"], "type_evidence": d["type_evidence"].map(lambda x: _trim(x, 200)),
        "country": d["country"], "language": d["language"], "language_prob": d["language_prob"],
        "primary_theme": d["primary_theme"], "theme_score": d["theme_score"],
        "theme_evidence": d["theme_evidence"],
    })
    return _with_decisions(out, ("stakeholder_type", "country", "language", "primary_theme",
                                 "exclude", "reason"))


def quotes_sheet(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per themed paragraph: its primary theme, sub-theme and text."""
    cols = ["doc_id", "file", "seg_id", "theme", "subtheme", "score", "text"]
    themes, segs, docs = tables.get("themes"), tables.get("segments"), tables.get("documents")
    if themes is None or segs is None or docs is None or not len(themes):
        return _with_decisions(pd.DataFrame(columns=cols), ("theme", "reject_quote", "reason"))
    t = themes[themes["seg_id"].notna() & themes["is_primary"].astype(bool)]
    t = t.assign(doc_id=t["doc_id"].astype(str), seg_id=_seg_int(t["seg_id"]))
    s = segs.assign(doc_id=segs["doc_id"].astype(str), seg_id=_seg_int(segs["seg_id"]))
    if "quote_ok" in s.columns:
        s = s[s["quote_ok"].astype(bool)]
    m = t.merge(s[["doc_id", "seg_id", "text"]], on=["doc_id", "seg_id"], how="inner")
    files = docs.assign(doc_id=docs["doc_id"].astype(str)).set_index("doc_id")["source_path"]
    m["file"] = m["doc_id"].map(files).map(lambda p: Path(_str(p)).name)
    m["text"] = m["text"].map(lambda x: _trim(x, QUOTE_CHARS))
    m = m.sort_values(["doc_id", "seg_id"], kind="stable")
    return _with_decisions(m[cols].reset_index(drop=True), ("theme", "reject_quote", "reason"))


def themes_sheet(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    cols = ["theme", "responses", "segments", "mean_score"]
    themes = tables.get("themes")
    if themes is None or not len(themes):
        return _with_decisions(pd.DataFrame(columns=cols), ("rename_to", "merge_into", "reason"))
    t = themes.copy()
    doc = t[t["seg_id"].isna() & t["is_primary"].astype(bool)]
    seg = t[t["seg_id"].notna()]
    names = sorted(set(t["theme"].astype(str)))
    out = pd.DataFrame({
        "theme": names,
        "responses": [int((doc["theme"] == n).sum()) for n in names],
        "segments": [int((seg["theme"] == n).sum()) for n in names],
        "mean_score": [round(float(pd.to_numeric(t.loc[t["theme"] == n, "score"]).mean()), 4)
                       for n in names],
    })
    return _with_decisions(out, ("rename_to", "merge_into", "reason"))


def subthemes_sheet(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    cols = ["theme", "subtheme", "label", "size", "languages"]
    subs = tables.get("subthemes")
    if subs is None or not len(subs):
        return _with_decisions(pd.DataFrame(columns=cols), ("label", "merge_into", "reason"))
    s = subs[cols].copy()
    s["languages"] = s["languages"].map(
        lambda v: "; ".join(map(str, v.tolist() if hasattr(v, "tolist") else v))
        if not isinstance(v, str) and v is not None else _str(v))
    return _with_decisions(s.sort_values(["theme", "subtheme"]).reset_index(drop=True),
                           ("label", "merge_into", "reason"))


def actors_sheet(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    cols = ["doc_id", "file", "actor_id", "actor_name", "stakeholder_type", "country", "reuse_cluster"]
    actors, docs = tables.get("actors"), tables.get("documents")
    if actors is None or docs is None or not len(actors):
        return _with_decisions(pd.DataFrame(columns=cols), ("actor_id", "actor_name", "reason"))
    a = actors.assign(doc_id=actors["doc_id"].astype(str))
    files = docs.assign(doc_id=docs["doc_id"].astype(str)).set_index("doc_id")["source_path"]
    a["file"] = a["doc_id"].map(files).map(lambda p: Path(_str(p)).name)
    a = a.sort_values(["actor_id", "doc_id"], kind="stable")
    return _with_decisions(a[cols].reset_index(drop=True), ("actor_id", "actor_name", "reason"))


def _with_decisions(df: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    df = df.copy()
    for n in names:
        df[f"decision_{n}"] = None
    return df


def export_workbook(tables: dict[str, pd.DataFrame], path: Path, cfg: Config) -> None:
    """Write the review workbook (XLSX, header frozen, no formulas) to ``path``."""
    del cfg
    sheets = {
        "instructions": pd.DataFrame({"how to review": list(INSTRUCTIONS)}),
        "responses": responses_sheet(tables),
        "quotes": quotes_sheet(tables),
        "themes": themes_sheet(tables),
        "subthemes": subthemes_sheet(tables),
        "actors": actors_sheet(tables),
    }
    write_xlsx(Path(path), sheets)
    _add_choices(Path(path), sheets)


def _add_choices(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    """Drop-down lists on the decision columns with closed vocabularies (typing is still
    allowed; import checks every value either way)."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    themes = sorted(set(DESIGN_THEMES) | set(sheets["themes"]["theme"].astype(str)))
    choices = {
        ("responses", "decision_stakeholder_type"): STAKEHOLDER_TYPES,
        ("responses", "decision_primary_theme"): themes,
        ("responses", "decision_exclude"): EXCLUDE_GROUNDS,
        ("quotes", "decision_theme"): themes,
        ("quotes", "decision_reject_quote"): ("yes", "no"),
        ("themes", "decision_merge_into"): sorted(set(sheets["themes"]["theme"].astype(str))),
    }
    wb = load_workbook(path)
    for (sheet, col), values in choices.items():
        df = sheets[sheet]
        listed = ",".join(values)
        # Excel caps an inline list at 255 characters; longer lists stay free text.
        if col not in df.columns or not len(df) or not values or len(listed) > 250:
            continue
        letter = get_column_letter(list(df.columns).index(col) + 1)
        dv = DataValidation(type="list", formula1=f'"{listed}"', allow_blank=True,
                            showErrorMessage=False)
        dv.add(f"{letter}2:{letter}{len(df) + 1}")
        wb[sheet].add_data_validation(dv)
    wb.properties.created = wb.properties.modified = datetime.datetime(2000, 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    write_bytes(path, stable_zip(buf.getvalue()))


# --- import -------------------------------------------------------------------------------


class _Cells:
    """Reads one sheet's rows as dicts and collects errors naming sheet, row and column."""

    def __init__(self, ws: Any, errors: list[str]) -> None:
        from openpyxl.utils import get_column_letter

        self.name = ws.title
        self.errors = errors
        rows = list(ws.iter_rows(values_only=True))
        self.header = [_str(h) for h in (rows[0] if rows else [])]
        self.letter = {h: get_column_letter(i + 1) for i, h in enumerate(self.header)}
        self.rows = [(i + 2, dict(zip(self.header, r, strict=False))) for i, r in enumerate(rows[1:])
                     if any(v is not None and _str(v) for v in r)]

    def error(self, row: int, col: str, message: str) -> None:
        where = f"{self.letter.get(col, '?')} ({col})"
        self.errors.append(f"sheet '{self.name}', row {row}, column {where}: {message}")

    def value(self, row: int, data: dict[str, Any], col: str) -> str:
        v = data.get(col)
        text = _str(v)
        if text.startswith("="):
            self.error(row, col, f"formulas are not accepted; type the value itself (got {text!r})")
            return ""
        return text


def _choice(cells: _Cells, row: int, col: str, value: str, allowed: tuple[str, ...] | set[str]) -> str | None:
    v = value.strip().lower().replace(" ", "_").replace("-", "_")
    if v in allowed:
        return v
    cells.error(row, col, f"{value!r} is not allowed; allowed values: {', '.join(sorted(allowed))}")
    return None


def read_workbook(path: Path, *, reviewer: str, on: str) -> list[dict[str, Any]]:
    """The decisions a filled workbook asks for, as review-file entries (validated).

    Raises:
        ReviewError: listing every invalid cell (sheet, row, column, allowed values).
    """
    from openpyxl import load_workbook

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"review workbook {path} not found; write one with `textmine review export`")
    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises several types for a file that is not XLSX
        raise ReviewError(f"{path} is not a readable XLSX workbook: {exc}") from exc
    errors: list[str] = []
    sheets = {name: _Cells(wb[name], errors) for name in SHEETS[1:] if name in wb.sheetnames}
    wb.close()
    if "responses" not in sheets:
        raise ReviewError(f"{path} has no 'responses' sheet; is it a review workbook from "
                          "`textmine review export`?")
    base = {"by": reviewer, "on": on}
    entries: list[dict[str, Any]] = []
    known_themes = set(DESIGN_THEMES)
    themes_entries = _themes_entries(sheets.get("themes"), base, known_themes)
    entries += _responses_entries(sheets["responses"], base, known_themes)
    if "quotes" in sheets:
        entries += _quotes_entries(sheets["quotes"], base, known_themes)
    if "actors" in sheets:
        entries += _actors_entries(sheets["actors"], base)
    if "subthemes" in sheets:
        entries += _subthemes_entries(sheets["subthemes"], base)
    # Renames and merges of themes last: the moves above name the model's theme ids.
    # Exclusions after everything, so no other decision on the same response goes stale.
    entries += themes_entries
    entries = ([e for e in entries if e["kind"] != "exclude_response"]
               + [e for e in entries if e["kind"] == "exclude_response"])
    _name_files(entries, sheets["responses"])
    if errors:
        raise ReviewError(f"{len(errors)} invalid cell(s) in {path}:\n  " + "\n  ".join(errors))
    problems = []
    for i, entry in enumerate(entries, start=1):
        problems += [f"decision {i} ({entry['kind']}): {p}" for p in validate_entry(entry, i)[0]]
    if problems:
        raise ReviewError(f"{path} gives decisions that cannot be recorded:\n  " + "\n  ".join(problems))
    return entries


def _name_files(entries: list[dict[str, Any]], responses: _Cells) -> None:
    """Name responses by file (what an analyst reads in a diff) where the name is unique."""
    files: dict[str, list[str]] = defaultdict(list)
    for r, d in responses.rows:
        files[responses.value(r, d, "file")].append(responses.value(r, d, "doc_id"))
    by_doc = {ids[0]: f for f, ids in files.items() if f and len(ids) == 1}
    for e in entries:
        if "document" in e:
            e["document"] = by_doc.get(e["document"], e["document"])
        if "documents" in e:
            e["documents"] = [by_doc.get(x, x) for x in e["documents"]]


def _reason(cells: _Cells, row: int, data: dict[str, Any]) -> dict[str, str]:
    r = cells.value(row, data, "decision_reason")
    return {"reason": r} if r else {}


def _responses_entries(cells: _Cells, base: dict[str, Any], themes: set[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row, data in cells.rows:
        doc = cells.value(row, data, "doc_id")
        v = {c: cells.value(row, data, f"decision_{c}") for c in
             ("stakeholder_type", "country", "language", "primary_theme", "exclude")}
        if not any(v.values()):
            continue
        if not doc:
            cells.error(row, "doc_id", "the response's doc_id is empty; do not edit that column")
            continue
        reason = _reason(cells, row, data)
        if v["stakeholder_type"]:
            st = _choice(cells, row, "decision_stakeholder_type", v["stakeholder_type"], set(STAKEHOLDER_TYPES))
            if st and st != cells.value(row, data, "stakeholder_type"):
                out.append({"kind": "set_stakeholder_type", "document": doc, "stakeholder_type": st,
                            **base, **reason})
        if v["country"]:
            c = v["country"].strip().upper()
            if not COUNTRY_RE.fullmatch(c):
                cells.error(row, "decision_country", f"{v['country']!r} is not an ISO 3166 alpha-3 "
                            "code (three letters, e.g. KEN)")
            elif c != cells.value(row, data, "country"):
                out.append({"kind": "set_country", "document": doc, "country": c, **base, **reason})
        if v["language"]:
            lang = v["language"].strip().lower()
            if not LANG_RE.fullmatch(lang):
                cells.error(row, "decision_language", f"{v['language']!r} is not an ISO 639-1 code "
                            "(two letters: ar, zh, en, fr, ru, es, ...)")
            elif lang != cells.value(row, data, "language"):
                out.append({"kind": "set_language", "document": doc, "lang": lang, **base, **reason})
        if v["primary_theme"]:
            theme = _theme(cells, row, "decision_primary_theme", v["primary_theme"], themes)
            model = cells.value(row, data, "primary_theme")
            if theme and theme != model:
                entry = {"kind": "move_response", "document": doc, "to": theme}
                if model:
                    entry["from"] = model
                out.append({**entry, **base, **reason})
        if v["exclude"]:
            grounds = _choice(cells, row, "decision_exclude", v["exclude"], set(EXCLUDE_GROUNDS))
            if grounds and not reason:
                cells.error(row, "decision_reason", "a reason is required to exclude a response")
            elif grounds:
                out.append({"kind": "exclude_response", "document": doc, "grounds": grounds,
                            **base, **reason})
    return out


def _theme(cells: _Cells, row: int, col: str, value: str, themes: set[str]) -> str | None:
    v = value.strip()
    if v in themes:
        return v
    cells.error(row, col, f"{value!r} is not a theme; allowed: {', '.join(sorted(themes))}")
    return None


def _quotes_entries(cells: _Cells, base: dict[str, Any], themes: set[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row, data in cells.rows:
        to = cells.value(row, data, "decision_theme")
        reject = cells.value(row, data, "decision_reject_quote")
        if not to and not reject:
            continue
        doc, seg = cells.value(row, data, "doc_id"), data.get("seg_id")
        try:
            seg_id = int(str(seg).strip())
        except ValueError:
            cells.error(row, "seg_id", f"{seg!r} is not a segment number; do not edit that column")
            continue
        reason = _reason(cells, row, data)
        if to:
            theme = _theme(cells, row, "decision_theme", to, themes)
            model = cells.value(row, data, "theme")
            if theme and theme != model:
                out.append({"kind": "move_segment", "document": doc, "segment": seg_id, "to": theme,
                            **({"from": model} if model else {}), **base, **reason})
        if reject:
            low = reject.strip().lower()
            if low in _YES:
                out.append({"kind": "reject_quote", "document": doc, "segment": seg_id, **base, **reason})
            elif low not in _NO:
                cells.error(row, "decision_reject_quote", f"{reject!r} is not yes or no "
                            "(write yes to keep this paragraph out of the quotes)")
    return out


def _themes_entries(cells: _Cells | None, base: dict[str, Any], themes: set[str]) -> list[dict[str, Any]]:
    """Theme renames and merges; also adds the sheet's themes and new ids to ``themes``."""
    if cells is None:
        return []
    existing = {cells.value(r, d, "theme") for r, d in cells.rows} - {""}
    themes |= existing
    out: list[dict[str, Any]] = []
    merges: dict[str, list[tuple[int, str, dict[str, str]]]] = defaultdict(list)
    for row, data in cells.rows:
        theme = cells.value(row, data, "theme")
        rename = cells.value(row, data, "decision_rename_to")
        into = cells.value(row, data, "decision_merge_into")
        reason = _reason(cells, row, data)
        if rename and into:
            cells.error(row, "decision_merge_into", "fill either decision_rename_to or "
                        "decision_merge_into, not both")
            continue
        if rename:
            if not _THEME_RE.fullmatch(rename):
                cells.error(row, "decision_rename_to", f"{rename!r} is not a theme id (lower case "
                            "letters, digits and _, starting with a letter)")
            elif rename != theme:
                themes.add(rename)
                out.append({"kind": "rename_theme", "theme": theme, "to": rename, **base, **reason})
        if into:
            if into not in existing:
                cells.error(row, "decision_merge_into", f"{into!r} is not a theme of this sheet; "
                            f"allowed: {', '.join(sorted(existing))}")
            elif into != theme:
                merges[into].append((row, theme, reason))
    for into in sorted(merges):
        items = merges[into]
        reasons = "; ".join(dict.fromkeys(r["reason"] for _, _, r in items if r))
        out.append({"kind": "merge_themes", "themes": [t for _, t, _ in items] + [into], "into": into,
                    **base, **({"reason": reasons} if reasons else {})})
    return out


def _subthemes_entries(cells: _Cells, base: dict[str, Any]) -> list[dict[str, Any]]:
    theme_of = {cells.value(r, d, "subtheme"): cells.value(r, d, "theme") for r, d in cells.rows}
    out: list[dict[str, Any]] = []
    merges: dict[str, list[tuple[str, dict[str, str]]]] = defaultdict(list)
    for row, data in cells.rows:
        sub = cells.value(row, data, "subtheme")
        label = cells.value(row, data, "decision_label")
        into = cells.value(row, data, "decision_merge_into")
        reason = _reason(cells, row, data)
        if label and label != cells.value(row, data, "label"):
            out.append({"kind": "rename_subtheme", "subtheme": sub, "label": label, **base, **reason})
        if into and into != sub:
            if into not in theme_of:
                cells.error(row, "decision_merge_into", f"{into!r} is not a sub-theme of this sheet "
                            f"(e.g. {next(iter(sorted(theme_of)), 'connectivity.01')})")
            elif theme_of[into] != theme_of.get(sub):
                cells.error(row, "decision_merge_into", f"{into!r} belongs to theme {theme_of[into]}, "
                            f"not {theme_of.get(sub)}; merge sub-themes of the same theme only")
            else:
                merges[into].append((sub, reason))
    for into in sorted(merges):
        items = merges[into]
        reasons = "; ".join(dict.fromkeys(r["reason"] for _, r in items if r))
        out.append({"kind": "merge_subthemes", "subthemes": [into] + [s for s, _ in items],
                    "into": into, **base, **({"reason": reasons} if reasons else {})})
    return out


def _actors_entries(cells: _Cells, base: dict[str, Any]) -> list[dict[str, Any]]:
    members: dict[str, set[str]] = defaultdict(set)
    for r, d in cells.rows:
        members[cells.value(r, d, "actor_id")].add(cells.value(r, d, "doc_id"))
    moves: dict[tuple[str, str], list[str]] = defaultdict(list)
    names: dict[tuple[str, str], str] = {}
    reasons: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row, data in cells.rows:
        new = cells.value(row, data, "decision_actor_id")
        name = cells.value(row, data, "decision_actor_name")
        old = cells.value(row, data, "actor_id")
        if name and not new:
            new = old  # a new name for the same actor
        if not new or (new == old and not name):
            continue
        key = (old, new)
        moves[key].append(cells.value(row, data, "doc_id"))
        if name:
            names[key] = name
        why = _reason(cells, row, data).get("reason")
        if why:
            reasons[key].append(why)
    out: list[dict[str, Any]] = []
    for (old, new), docs in sorted(moves.items()):
        extra: dict[str, Any] = {}
        if (old, new) in names:
            extra["name"] = names[(old, new)]
        why = "; ".join(dict.fromkeys(reasons[(old, new)]))
        if why:
            extra["reason"] = why
        whole = set(docs) == members[old]
        if whole and new in members and new != old:
            out.append({"kind": "merge_actors", "actors": [old, new], "into": new, **extra, **base})
        else:
            out.append({"kind": "split_actor", "actor": old, "documents": sorted(docs), "into": new,
                        **extra, **base})
    return out


def append_decisions(review_path: Path, entries: list[dict[str, Any]]) -> None:
    """Append entries to the review file, keeping its existing text (and comments).

    The entries are added as YAML text at the end of the file when its decisions list is
    the last thing in it (the template's layout); otherwise the file is rewritten from
    its parsed content, which loses comments (logged).
    """
    review_path = Path(review_path)
    before = load_review(review_path).decisions if review_path.exists() else ()
    text = review_path.read_text(encoding="utf-8") if review_path.exists() else ""
    # Match the indentation of the entries already there (two spaces by default).
    indents = re.findall(r"^( *)- kind:", text, flags=re.MULTILINE)
    indent = indents[-1] if indents else "  "
    block = _dump(entries)
    block = "".join(indent + line if line.strip() else line for line in block.splitlines(True))
    stamp = f"{indent}# imported from the review workbook on {datetime.date.today().isoformat()}\n"
    if not re.search(r"^decisions:", text, flags=re.MULTILINE):
        text = text + ("" if not text or text.endswith("\n") else "\n") + "decisions:\n"
    candidate = text + ("" if text.endswith("\n") else "\n") + stamp + block
    try:
        after = parse_decisions(yaml.safe_load(candidate), source=str(review_path))
    except (yaml.YAMLError, ReviewError):
        after = ()
    if len(after) != len(before) + len(entries):
        logger.warning("%s: could not append to its decisions list as text; rewriting the file "
                       "(its comments are lost)", review_path)
        merged = [decision_to_entry(d) for d in before] + entries
        candidate = "decisions:\n" + "".join("  " + line if line.strip() else line
                                             for line in _dump(merged).splitlines(True))
    write_text(review_path, candidate)


class _Dumper(yaml.SafeDumper):
    """Block mappings, flow lists (``actors: [a, b]``), like the template."""


_Dumper.add_representer(
    list, lambda d, data: d.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True))


def _dump(entries: list[dict[str, Any]]) -> str:
    """YAML for entries as an analyst would type them: ``on: 2026-11-27``, short lists inline."""
    items = []
    for entry in entries:
        lines = yaml.dump(entry, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                          width=100).splitlines(True)
        items.append("- " + lines[0] + "".join("  " + line for line in lines[1:]))
    text = "".join(items)
    # PyYAML quotes the key `on` (a YAML 1.1 boolean) and the date; load_review reads both
    # forms, and the unquoted one is what the template shows.
    return re.sub(r"^(\s*)'on': '(\d{4}-\d{2}-\d{2})'$", r"\1on: \2", text, flags=re.MULTILINE)


def import_workbook(path: Path, review_path: Path, *, reviewer: str | None,
                    on: str | None = None) -> int:
    """Read a filled review workbook and append its decisions to ``review_path``.

    Args:
        path: the workbook written by :func:`export_workbook` and filled by the analyst.
        review_path: the consultation's ``review.yaml`` (created when missing).
        reviewer: the analyst's name, recorded as ``by`` on every decision.
        on: the date recorded (default: today), ``YYYY-MM-DD``.

    Returns:
        The number of decisions appended.

    Raises:
        ReviewError: no reviewer, or invalid cells (all listed, by sheet, row and column).
    """
    if not reviewer or not reviewer.strip():
        raise ReviewError("give the analyst's name: textmine review import --reviewer \"Your Name\"")
    on = on or datetime.date.today().isoformat()
    entries = read_workbook(path, reviewer=reviewer.strip(), on=on)
    if not entries:
        logger.info("%s holds no decisions; %s unchanged", path, review_path)
        return 0
    append_decisions(review_path, entries)
    logger.info("appended %d decision(s) to %s", len(entries), review_path)
    return len(entries)


__all__ = ["Decision", "export_workbook", "import_workbook", "read_workbook", "append_decisions"]
