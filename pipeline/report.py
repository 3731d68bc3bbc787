"""The Chair's draft: ``reports/chair_summary[.<lang>].{md,docx,html}`` and ``figures/``.

Drafts from the summary tables: the summarize stage's own typed copy
(``reports/tables/parquet``) when it was built from the current stage tables and params
(the CLI checks its fingerprint), else rebuilt from the stage tables with
:func:`pipeline.summarize.summarize`; either way the draft and ``reports/tables`` agree. Writes one file per format and report language: English is
``chair_summary.md|docx|html`` and every other language ``chair_summary.<lang>.*``,
because a Chair's report is issued, edited and translated as one document per language.
Quotes stay in the language of the response, tagged with it.

Before anything is written every quote is checked to be verbatim in the page it cites
(:func:`pipeline.quotes.check_quotes`); a failure stops the stage.
"""

from __future__ import annotations

import base64
import html
import logging
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
from babel import Locale
from babel.numbers import format_percent

from pipeline.config import Config
from pipeline.parallel import Aside
from pipeline.quotes import check_quotes, label_by_lang
from pipeline.summarize import (
    NO_THEME,
    excluded_responses,
    figure_tables,
    summarize,
    theme_order,
)
from pipeline.tables import write_bytes, write_text
from pipeline.yamldata import load_yaml

logger = logging.getLogger(__name__)

Block = dict[str, Any]


@lru_cache(maxsize=1)
def report_strings() -> dict[str, dict[str, Any]]:
    """The report's wording per language (``pipeline/data/report/strings.yaml``)."""
    ref = Path(__file__).resolve().parent / "data" / "report" / "strings.yaml"
    # The C loader when PyYAML has it: the same safe subset, many times faster.
    return load_yaml(ref.read_text(encoding="utf-8"))


def output_name(lang: str, ext: str) -> str:
    """``chair_summary.<ext>`` for English, ``chair_summary.<lang>.<ext>`` otherwise."""
    return f"chair_summary.{ext}" if lang == "en" else f"chair_summary.{lang}.{ext}"


def language_name(code: str, lang: str, *, capitalise: bool = True) -> str:
    """A language code's name in the report language (``ar`` -> ``Arabic``/``arabe``)."""
    try:
        name = Locale.parse(lang).languages.get(code)
    except (ValueError, TypeError):
        name = None
    if not name:
        return code
    return name[0].upper() + name[1:] if capitalise else name


@lru_cache(maxsize=8)
def _reason_rules(lang: str) -> tuple[tuple[re.Pattern, str], ...]:
    """The compiled ``reasons`` of one report language (none for English)."""
    return tuple((re.compile(rule["pattern"]), str(rule["text"]))
                 for rule in report_strings()[lang].get("reasons", ()))


class _Text:
    """Wording helpers for one report language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.s = report_strings()[lang]

    def __call__(self, key: str, **fields: Any) -> str:
        return str(self.s[key]).format(**fields)

    def n(self, key: str, count: int, **fields: Any) -> str:
        """The ``<key>_one`` wording when ``count`` is singular in this language."""
        singular = count == 1 or (self.lang == "fr" and count == 0)
        return self(f"{key}_one" if singular and f"{key}_one" in self.s else key, **fields)

    def pct(self, share: float) -> str:
        return format_percent(share, locale=self.lang)

    def stype(self, t: str) -> str:
        return self.s["stakeholder_types"].get(t, t)

    def region(self, r: str) -> str:
        return self.s["regions"].get(r, r)

    def theme(self, t: str) -> str:
        return self.s["themes"].get(t, t)

    def langname(self, code: str) -> str:
        """A language's name to head a table row (capitalised)."""
        return self.s["unknown"] if code in ("unknown", "und", "") else language_name(code, self.lang)

    def langword(self, code: str) -> str:
        """A language's name inside a sentence (French writes "russe", English "Russian")."""
        if code in ("unknown", "und", ""):
            return self.s["unknown"]
        return language_name(code, self.lang, capitalise=self.lang == "en")

    def reason(self, detail: Any) -> Any:
        """Why a file could not be read (the manifest's English ``detail``) in this
        language, through the ``reasons`` of ``strings.yaml``; English keeps it as is."""
        rules = _reason_rules(self.lang)
        if not rules or not isinstance(detail, str):
            return detail
        text = " ".join(detail.split())
        for regex, template in rules:
            match = regex.fullmatch(text)
            if match:
                return template.format(**{k: self._reason_field(k, v or "")
                                          for k, v in match.groupdict().items()})
        return self("reason_untranslated", detail=text)

    def _reason_field(self, key: str, value: str) -> str:
        if key == "kind":
            return self.s.get("kinds", {}).get(value, value)
        if key == "advice":
            return self.s.get("advice", {}).get(value, value)
        return value


# --- the document as blocks -----------------------------------------------------------------


def build_blocks(summaries: dict[str, pd.DataFrame], lang: str,
                 figure_paths: dict[str, Path], *, prepared: _ThemeData | None = None) -> list[Block]:
    """The draft in one language as a list of blocks every renderer understands.

    ``prepared``: the summaries' rows by theme (:class:`_ThemeData`), when the caller
    builds the draft in several languages from the same summaries.

    Block kinds: ``h`` (level, text), ``p`` (text, style), ``list`` (items), ``table``
    (header, rows), ``figure`` (key, path, caption), ``quote`` (text, lang, source).
    """
    t = _Text(lang)
    about = dict(zip(summaries["about"]["item"], summaries["about"]["value"], strict=True))
    responses = summaries["responses"]
    distinct = responses[responses["counted_in_distinct"]]
    n_distinct = len(distinct)
    rule = t("distinct_rule_cluster" if "reuse_cluster" in responses.columns else "distinct_rule_dup")
    blocks: list[Block] = [
        {"kind": "h", "level": 1, "text": t("title", consultation=about.get("consultations", ""))},
        {"kind": "p", "style": "notice", "text": t("draft_notice")},
        {"kind": "p", "text": t("intro", files=about["files"], raw=about["responses_raw"],
                                distinct=n_distinct, distinct_rule=rule,
                                unread=about["files_not_read"], unread_heading=t("unread_heading"))},
    ]
    if "distinct_voices" in about or "distinct_actors" in about:
        voices = about.get("distinct_voices", about.get("distinct_actors"))
        blocks.append({"kind": "p", "text": t("actors_sentence", actors=voices)})

    # Who responded: three small tables and the figures.
    blocks.append({"kind": "h", "level": 2, "text": t("overview")})
    by_group = summaries["responses_by_group"]
    for key, col, heading, name in (
        ("stakeholder_type", "col_type", "by_type", t.stype),
        ("itu_region", "col_region", "by_region", t.region),
        ("lang", "col_language", "by_language", t.langname),
    ):
        agg = (by_group.groupby(key)[["responses_distinct", "responses_raw"]].sum()
               .sort_values(["responses_distinct", "responses_raw"], ascending=False))
        rows = [[name(k), int(r.responses_distinct), t.pct(r.responses_distinct / n_distinct)
                 if n_distinct else "-", int(r.responses_raw)] for k, r in agg.iterrows()]
        rows.append([t("total"), int(agg["responses_distinct"].sum()), t.pct(1) if n_distinct else "-",
                     int(agg["responses_raw"].sum())])
        blocks.append({"kind": "h", "level": 3, "text": t(heading)})
        blocks.append({"kind": "table", "header": [t(col), t("col_distinct"), t("col_share"),
                                                    t("col_raw")], "rows": rows})
    n_fig = 0
    for key, caption in (("type_region", "fig_type_region"), ("theme_shares", "fig_theme_shares"),
                         ("languages", "fig_languages")):
        if key in figure_paths:
            n_fig += 1
            blocks.append({"kind": "figure", "key": key, "path": figure_paths[key],
                           "caption": t(caption, n=n_fig)})

    # One section per theme.
    prevalence = summaries["theme_prevalence"]
    themes_present = about.get("table_themes") == "present"
    if not themes_present:
        blocks.append({"kind": "p", "text": t("no_themes")})
    theme_ids = [th for th in theme_order(prevalence["theme"]) if th != NO_THEME]
    if not themes_present or not theme_ids:
        theme_ids = [NO_THEME] if len(summaries["quotes"]) else []
    data = _ThemeData(summaries) if prepared is None else prepared
    for theme in theme_ids:
        blocks += _theme_blocks(data, theme, t, n_distinct)

    # What could not be read.
    unread = summaries["unreadable"]
    blocks.append({"kind": "h", "level": 2, "text": t("unread_heading")})
    if unread.empty:
        blocks.append({"kind": "p", "text": t("unread_none")})
    else:
        blocks.append({"kind": "p", "text": t("unread_intro")})
        blocks.append({"kind": "table", "header": [t("col_file"), t("col_status"), t("col_reason")],
                       "rows": [[r.source_path, t.s["statuses"].get(r.status, r.status), t.reason(r.detail)]
                                for r in unread.itertuples()]})
    blocks += _review_blocks(summaries.get("review_decisions"), t)
    blocks.append({"kind": "h", "level": 2, "text": t("method_heading")})
    blocks.append({"kind": "p", "text": t("method", distinct_rule=rule)})
    return blocks


def _review_blocks(decisions: pd.DataFrame | None, t: _Text) -> list[Block]:
    """What the analyst changed, and which responses were excluded with which reason."""
    if decisions is None or decisions.empty:
        return []
    applied = int((decisions["status"] == "applied").sum())
    blocks: list[Block] = [
        {"kind": "h", "level": 2, "text": t("review_heading")},
        {"kind": "p", "text": t("review_intro", applied=applied, stale=len(decisions) - applied)},
    ]
    excluded = excluded_responses(decisions)
    if len(excluded):
        blocks.append({"kind": "p", "text": t("review_excluded")})
        blocks.append({"kind": "table", "header": [t("col_file"), t("col_reason"), t("col_excluded_by")],
                       "rows": [[str(r.target), str(r.reason), str(r.by)] for r in excluded.itertuples()]})
    return blocks


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _sort_key(*values: Any) -> tuple:
    """A row's sort key as pandas orders it: missing values last, ties kept in order."""
    return tuple(x for v in values for x in ((True, "") if _missing(v) else (False, v)))


class _ThemeData:
    """The summary rows every theme section reads, as plain rows grouped by theme.

    Built once for all report languages: filtering the (Arrow-backed) summary tables
    per theme and language cost more than writing the draft.
    """

    def __init__(self, summaries: dict[str, pd.DataFrame]) -> None:
        responses = summaries["responses"]
        distinct = responses[responses["counted_in_distinct"]]
        self.distinct = list(distinct[["primary_theme", "other_themes", "stakeholder_type", "itu_region",
                                       "lang"]].itertuples(index=False))
        self.prevalence: dict[Any, Any] = {}
        for row in summaries["theme_prevalence"].itertuples(index=False):
            self.prevalence.setdefault(row.theme, row)
        self.quotes: dict[Any, list[Any]] = {}
        for q in summaries["quotes"].itertuples():
            self.quotes.setdefault(q.theme, []).append(q)
        self.subthemes: dict[Any, list[Any]] = {}
        for sub in summaries["subthemes"].itertuples():
            self.subthemes.setdefault(sub.theme, []).append(sub)
        self.entities: dict[Any, list[Any]] = {}
        for e in summaries["top_entities"].itertuples():
            if e.stakeholder_type == "all" and len(self.entities.setdefault(e.theme, [])) < 5:
                self.entities[e.theme].append(e)


def _counts(values: list[Any], name: Any) -> str:
    """``name(value) (count)`` by count, then by value; missing values are not counted."""
    counts: dict[Any, int] = {}
    for v in values:
        if not _missing(v):
            counts[v] = counts.get(v, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return ", ".join(f"{name(k)} ({v})" for k, v in ordered)


def _theme_blocks(data: _ThemeData, theme: str, t: _Text, n_distinct: int) -> list[Block]:
    quotes = data.quotes.get(theme, [])
    if theme == NO_THEME:
        who = data.distinct
    else:
        who = [r for r in data.distinct
               if r.primary_theme == theme or theme in str(r.other_themes).split("; ")]
    blocks: list[Block] = [{"kind": "h", "level": 2, "text": t("theme_section", theme=t.theme(theme))}]
    if theme in data.prevalence:
        row = data.prevalence[theme]
        n, primary = int(row.responses), int(row.primary_responses)
        text = t.n("theme_counts", n, n=n, distinct=n_distinct, share=t.pct(float(row.share)))
        if primary:
            text += " " + t.n("theme_primary", primary, primary=primary)
        blocks.append({"kind": "p", "text": text})
    blocks.append({"kind": "list", "items": [
        t("theme_who", types=_counts([r.stakeholder_type for r in who], t.stype)),
        t("theme_regions", regions=_counts([r.itu_region for r in who], t.region)),
        t("theme_languages", languages=_counts([r.lang for r in who], t.langword)),
    ]})
    subs = data.subthemes.get(theme, [])
    points = [q for q in quotes if q.role == "point"]
    points_of: dict[str, list[Any]] = {}
    for q in points:
        if not _missing(q.subtheme):
            points_of.setdefault(str(q.subtheme), []).append(q)
    if subs:
        blocks.append({"kind": "h", "level": 3, "text": t("main_points")})
        for n, sub in enumerate(subs, start=1):
            by_lang = label_by_lang(sub.terms or sub.label)
            # Head the sub-theme with its terms in the report's language where it has some.
            heading_terms = (by_lang.get(t.lang) or by_lang.get("en") or by_lang.get("")
                             or next(iter(by_lang.values()), []))
            label = ", ".join(heading_terms[:4]) if heading_terms else str(sub.subtheme)
            terms = [f"{k}: {', '.join(v[:6])}" if k else ", ".join(v[:6]) for k, v in by_lang.items()]
            types = ", ".join(t.stype(x) for x in str(sub.stakeholder_types).split("; ") if x)
            langs = ", ".join(t.langword(x) for x in
                              sorted(set(filter(None, str(sub.languages).replace(",", ";").split(";")))))
            blocks.append({"kind": "h", "level": 4, "text": t("subtheme_heading", n=n, label=label)})
            if int(sub.responses):
                counts = t.n("subtheme_counts", int(sub.responses), n=int(sub.responses), types=types,
                             languages=langs)
            else:
                counts = t("subtheme_counts_none", languages=langs)
            blocks.append({"kind": "p", "text": counts})
            if len(by_lang) > 1 or len(heading_terms) > 4:
                blocks.append({"kind": "p", "text": t("subtheme_terms", terms="; ".join(terms))})
            for q in points_of.get(str(sub.subtheme), []):
                blocks.append(_quote_block(q, t))
    elif theme != NO_THEME:
        blocks.append({"kind": "p", "text": t("no_subthemes")})
    voices = [q for q in quotes if q.role == "voice"]
    if not subs and points:
        voices = quotes  # no sub-theme table: every quote speaks for its type
    if voices:
        blocks.append({"kind": "h", "level": 3, "text": t("other_voices")})
        for q in sorted(voices, key=lambda q: _sort_key(q.stakeholder_type, q.doc_id)):
            blocks.append(_quote_block(q, t, with_type=True))
    quoted = {q.stakeholder_type for q in quotes}
    for stype in sorted({r.stakeholder_type for r in who} - quoted):
        blocks.append({"kind": "p", "text": t("no_quote", type=t.stype(stype))})
    ents = data.entities.get(theme, [])
    if ents:
        sep = " : " if t.lang == "fr" else ": "  # French puts a space before the colon
        blocks.append({"kind": "p", "text": t("entities_heading") + sep + "; ".join(
            t.n("entities_line", int(e.responses), name=e.canonical_name or e.canonical_id,
                responses=int(e.responses))
            for e in ents)})
    return blocks


def _quote_block(q: Any, t: _Text, *, with_type: bool = False) -> Block:
    named = isinstance(q.cited_as, str) and q.cited_as.strip()
    source = (t("quote_source", cited_as=q.cited_as, file=q.file, page=q.page_no) if named
              else t("quote_source_unnamed", file=q.file, page=q.page_no))
    if with_type:
        sep = " : " if t.lang == "fr" else ": "
        source = f"{t.stype(q.stakeholder_type)}{sep}{source}"
    return {"kind": "quote", "text": q.quote, "lang": q.lang, "source": source}


# --- Markdown ----------------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    """Submitted text in Markdown: inert HTML, no accidental emphasis, links or tables."""
    text = html.escape(str(text), quote=False)
    for ch in ("\\", "`", "*", "_", "[", "]", "|", "#"):
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


def render_markdown(blocks: list[Block], *, figure_dir: str = "figures") -> str:
    out: list[str] = []
    for b in blocks:
        kind = b["kind"]
        if kind == "h":
            out.append("#" * b["level"] + " " + _md_escape(b["text"]))
        elif kind == "p":
            text = _md_escape(b["text"])
            out.append(f"*{text}*" if b.get("style") == "notice" else text)
        elif kind == "list":
            out.append("\n".join(f"- {_md_escape(i)}" for i in b["items"]))
        elif kind == "table":
            rows = [b["header"], *b["rows"]]
            lines = ["| " + " | ".join(_md_escape(str(c)) for c in r) + " |" for r in rows]
            lines.insert(1, "|" + "---|" * len(b["header"]))
            out.append("\n".join(lines))
        elif kind == "figure":
            out.append(f"![{_md_escape(b['caption'])}]({figure_dir}/{Path(b['path']).name})\n\n"
                       f"*{_md_escape(b['caption'])}*")
        elif kind == "quote":
            out.append(f"> [{b['lang']}] «{_md_escape(b['text'])}»  \n> — {_md_escape(b['source'])}")
    return "\n\n".join(out) + "\n"


# --- HTML ----------------------------------------------------------------------------------------

_CSS = """
body{font-family:"DejaVu Sans","Noto Sans",Arial,sans-serif;max-width:52rem;margin:2rem auto;
padding:0 1rem;color:#1a1a1a;line-height:1.5;font-size:15px}
h1{font-size:1.6rem;border-bottom:3px solid #0072B2;padding-bottom:.3rem}
h2{font-size:1.3rem;margin-top:2.2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem}
h3{font-size:1.1rem;margin-top:1.4rem}h4{font-size:1rem;margin:1.1rem 0 .3rem}
.notice{background:#fff8e1;border-left:4px solid #E69F00;padding:.5rem .8rem;font-size:.9rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#eef4fa}td.num{text-align:right}tr.total td{font-weight:bold}
figure{margin:1.2rem 0}figure img{max-width:100%;height:auto}
figcaption{font-size:.85rem;color:#444}
blockquote{margin:.5rem 0 .8rem;padding:.3rem .9rem;border-left:4px solid #0072B2;background:#f6f9fc}
blockquote p{margin:.1rem 0}.src{font-size:.85rem;color:#555}
nav{font-size:.9rem;border:1px solid #ddd;padding:.2rem 1rem;margin:1rem 0}
nav ul{margin:.4rem 0;padding-left:1.2rem}a{color:#0062a0}
.lang{font-size:.75rem;background:#0072B2;color:#fff;border-radius:3px;padding:0 .3rem;margin-right:.4rem}
"""


def render_html(blocks: list[Block], *, lang: str) -> str:
    """A self-contained page: CSS inline, figures as data URIs, every text escaped.

    The Content-Security-Policy forbids scripts and remote loads outright, a second
    barrier behind the escaping in case a submitted text ever slipped through.
    """
    e = html.escape
    title = next((b["text"] for b in blocks if b["kind"] == "h"), "")
    out = [
        "<!DOCTYPE html>", f'<html lang="{e(lang)}">', "<head>", '<meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
    ]
    # A contents list of the sections (in-page links work offline, under the CSP).
    sections = [b["text"] for b in blocks if b["kind"] == "h" and b["level"] == 2]
    toc = ("<nav><ul>" + "".join(f'<li><a href="#s{i}">{e(t)}</a></li>'
                                 for i, t in enumerate(sections, start=1)) + "</ul></nav>")
    n_section = 0
    for b in blocks:
        kind = b["kind"]
        if kind == "h" and b["level"] == 2:
            if n_section == 0:
                out.append(toc)
            n_section += 1
            out.append(f'<h2 id="s{n_section}">{e(b["text"])}</h2>')
        elif kind == "h":
            out.append(f"<h{b['level']}>{e(b['text'])}</h{b['level']}>")
        elif kind == "p":
            cls = ' class="notice"' if b.get("style") == "notice" else ""
            out.append(f"<p{cls}>{e(b['text'])}</p>")
        elif kind == "list":
            out.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b["items"]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th>{e(str(h))}</th>" for h in b["header"])
            body = []
            for i, row in enumerate(b["rows"]):
                is_total = isinstance(row[0], str) and i == len(b["rows"]) - 1 and len(row) == 4
                numeric = len(b["header"]) == 4  # the count tables: label, counts, shares
                cells = "".join(
                    f'<td class="num">{e(str(c))}</td>' if isinstance(c, int) or (numeric and j > 0)
                    else f"<td>{e(str(c))}</td>" for j, c in enumerate(row))
                body.append(f'<tr class="total">{cells}</tr>' if is_total else f"<tr>{cells}</tr>")
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
        elif kind == "figure":
            data = base64.b64encode(Path(b["path"]).read_bytes()).decode("ascii")
            out.append(f'<figure><img src="data:image/png;base64,{data}" alt="{e(b["caption"])}">'
                       f"<figcaption>{e(b['caption'])}</figcaption></figure>")
        elif kind == "quote":
            q_lang = e(str(b["lang"]))
            q_dir = "rtl" if b["lang"] in ("ar", "fa", "he", "ur") else "auto"
            out.append(f'<blockquote><p><span class="lang">{q_lang}</span>'
                       f'<span lang="{q_lang}" dir="{q_dir}">«{e(b["text"])}»</span></p>'
                       f"<p class=\"src\">— {e(b['source'])}</p></blockquote>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


# --- the stage ------------------------------------------------------------------------------------


def figure_paths(fig_dir: Path, lang: str) -> dict[str, Path]:
    """Where :func:`make_figures` writes each figure of ``lang``, by key."""
    return {key: fig_dir / f"{name}.{lang}.png" for key, name in (
        ("type_region", "responses_by_type_region"), ("theme_shares", "theme_shares_by_type"),
        ("languages", "responses_by_language"))}


def make_figures(summaries: dict[str, pd.DataFrame], fig_dir: Path, lang: str) -> dict[str, Path]:
    """Draw the three figures with the labels of ``lang``; return their paths by key."""
    from pipeline import figures  # matplotlib: imported where a figure is drawn

    t = _Text(lang)
    paths = figure_paths(fig_dir, lang)
    figures.responses_by_type_region(
        summaries["responses_by_group"], paths["type_region"],
        types=t.s["stakeholder_types"], regions=t.s["regions"], axis_label=t("axis_responses"))
    by_type = summaries["theme_by_stakeholder"]
    figures.theme_shares_by_type(
        by_type[by_type["theme"] != NO_THEME], paths["theme_shares"], types=t.s["stakeholder_types"],
        themes=t.s["themes_short"], theme_ids=theme_order(by_type["theme"]))
    resp = summaries["responses"]
    counts = resp[resp["counted_in_distinct"]]["lang"].value_counts()
    figures.responses_by_language(counts, paths["languages"],
                                  names={k: t.langname(k) for k in counts.index},
                                  axis_label=t("axis_responses"))
    return paths


def _draw_all(tables: dict[str, pd.DataFrame], langs: list[str], folder: str) -> dict[str, dict[str, str]]:
    """Draw every language's figures into ``folder``; their file names by language and key."""
    return {lang: {key: path.name for key, path in make_figures(tables, Path(folder), lang).items()}
            for lang in langs}


class _Figures:
    """Draws the figures in a child process while the parent picks the quotes.

    The figures need only three small summary tables (:func:`figure_tables`), a
    fraction of the summaries' work, so a forked child draws them (importing matplotlib
    on the way) into a private folder while the parent runs :func:`summarize`.
    :meth:`paths` checks that the child drew exactly the tables the summaries hold
    before copying the files into place, so nothing is written before the quotes are
    checked and a figure never disagrees with the tables; otherwise the parent draws
    them itself, as it does with one worker (``compute.workers: 1``) or one core.
    """

    def __init__(self, tables: dict[str, pd.DataFrame], langs: list[str], *, parallel: bool) -> None:
        self.langs = langs
        self.inputs: dict[str, pd.DataFrame] | None = None
        self.aside: Aside | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        if parallel and langs:
            self.inputs = figure_tables(tables)
            self._tmp = tempfile.TemporaryDirectory(prefix="textmine-figures-")
            self.aside = Aside(_draw_all, self.inputs, langs, self._tmp.name, parallel=True)

    def paths(self, summaries: dict[str, pd.DataFrame], fig_dir: Path) -> dict[str, dict[str, Path]]:
        """Every language's figure paths under ``fig_dir``, the files written."""
        if self.aside is not None and self._tmp is not None and self._drew(summaries):
            names = self.aside.result()
            drawn = Path(self._tmp.name)
            out = {}
            for lang in self.langs:
                out[lang] = {key: fig_dir / name for key, name in names[lang].items()}
                for name in names[lang].values():
                    write_bytes(fig_dir / name, (drawn / name).read_bytes())
            return out
        return {lang: make_figures(summaries, fig_dir, lang) for lang in self.langs}

    def _drew(self, summaries: dict[str, pd.DataFrame]) -> bool:
        """Whether the child's tables are the summaries' (always, unless the code drifts)."""
        return self.inputs is not None and all(
            name in summaries and set(df.columns) <= set(summaries[name].columns)
            and df.equals(summaries[name][list(df.columns)]) for name, df in self.inputs.items())

    def __enter__(self) -> _Figures:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.aside is not None:
            self.aside.cancel()  # the draft failed before the figures were collected
        if self._tmp is not None:
            self._tmp.cleanup()


def render_report(tables: dict[str, pd.DataFrame], reports_dir: Path, cfg: Config, *,
                  summaries: dict[str, pd.DataFrame] | None = None) -> None:
    """Write the Chair's draft in every ``report.languages`` language, and its figures.

    Args:
        tables: the stage tables; only ``pages`` (to check the quotes) when ``summaries``
            are given.
        reports_dir: where the drafts and ``figures/`` go.
        cfg: the pipeline configuration (reads ``report``, ``summarize``, ``compute``).
        summaries: the summary tables of these very stage tables, as the summarize stage
            wrote them (:func:`pipeline.summarize.read_summaries`); without, they are
            rebuilt from ``tables`` with :func:`pipeline.summarize.summarize`.

    Raises:
        pipeline.quotes.QuoteError: a quote is not verbatim in the page it cites.
    """
    reports_dir = Path(reports_dir)
    langs = list(cfg.report.languages)
    parallel = cfg.compute.n_workers > 1
    if summaries is None:
        with _Figures(tables, langs, parallel=parallel) as drawing:
            # The draft prints no per-response extracts: skip picking them (the summarize
            # stage writes them to reports/tables).
            summaries = summarize(tables, cfg, extracts=False)
            check_quotes(summaries["quotes"], tables["pages"].assign(doc_id=lambda d: d["doc_id"].astype(str)))
            paths = drawing.paths(summaries, reports_dir / "figures")
        _write_drafts(summaries, reports_dir, langs, paths)
        return
    # Quotes first: nothing is written unless every quote is verbatim in its page.
    check_quotes(summaries["quotes"], tables["pages"].assign(doc_id=lambda d: d["doc_id"].astype(str)))
    data = _ThemeData(summaries)
    # One process per language: drawing the figures is most of the work, and a forked
    # child draws and writes the second language's while this process does the first.
    # matplotlib and python-docx are imported first, once, for both.
    from pipeline import figures, report_docx  # noqa: F401
    others = [Aside(_draft_language, summaries, data, lang, reports_dir, parallel=parallel)
              for lang in langs[1:]] if parallel else []
    try:
        for lang in langs[:1] if parallel else langs:
            _draft_language(summaries, data, lang, reports_dir)
    except BaseException:
        for aside in others:
            aside.cancel()
        raise
    for aside in others:
        aside.result()


def _draft_language(summaries: dict[str, pd.DataFrame], data: _ThemeData, lang: str,
                    reports_dir: Path) -> None:
    """Draw one language's figures, then write its Markdown, HTML and DOCX."""
    paths = make_figures(summaries, reports_dir / "figures", lang)
    _write_drafts(summaries, reports_dir, [lang], {lang: paths},
                  blocks={lang: build_blocks(summaries, lang, paths, prepared=data)})


def _write_drafts(summaries: dict[str, pd.DataFrame], reports_dir: Path, langs: list[str],
                  paths: dict[str, dict[str, Path]], *, blocks: dict[str, list[Block]] | None = None) -> None:
    """Write every language's Markdown, HTML and DOCX (the figures are in place)."""
    from pipeline.report_docx import render_docx

    data = _ThemeData(summaries) if blocks is None else None
    for lang in langs:
        lang_blocks = (blocks[lang] if blocks is not None
                       else build_blocks(summaries, lang, paths[lang], prepared=data))
        write_text(reports_dir / output_name(lang, "md"), render_markdown(lang_blocks))
        write_text(reports_dir / output_name(lang, "html"), render_html(lang_blocks, lang=lang))
        render_docx(lang_blocks, reports_dir / output_name(lang, "docx"), lang=lang)
        logger.info("wrote the %s draft to %s", lang, reports_dir)
