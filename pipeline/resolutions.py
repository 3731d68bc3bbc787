"""Citations of resolutions and of the SDGs, parsed from text in the six UN languages.

"Resolution 102 (Rev. Dubai, 2018)", "Résolution 1336 (modifiée en 2019) du Conseil",
"résolutions 102, 133 et 140 (Rév. Dubaï, 2018) de la Conférence de plénipotentiaires",
"резолюция 133", "第133号决议", "القرار 133", "A/RES/70/1", "SDG 9.c", "ЦУР 4",
"الهدف 9 من أهداف التنمية المستدامة". A list of numbers gives one citation per number,
each with its own span (the first one spans "Resolution 102", the others the number).

Which body adopted a resolution: an explicit body named next to the citation wins ("du
Conseil", "of WTDC", "理事会第…号决议"); then the conference named in "(Rev. City, Year)";
then a number with a slash is a UN General Assembly resolution, a number of 1000 or more
a Council resolution, and anything else a Plenipotentiary resolution.

The words and bodies per language are data: ``pipeline/data/entities/citations.yaml``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.yamldata import load_yaml

DATA = Path(__file__).resolve().parent / "data" / "entities" / "citations.yaml"
LANGS = ("ar", "zh", "en", "fr", "ru", "es")
BODY_NAMES = {
    "PP": "PP",
    "C": "Council",
    "WTDC": "WTDC",
    "WTSA": "WTSA",
    "UNGA": "UNGA",
}
_DIGIT = "0-9\u0660-\u0669\u06f0-\u06f9"
_NUM = rf"[{_DIGIT}]{{1,4}}(?:/[{_DIGIT}]{{1,3}})?"
_SDG_NUM = rf"[{_DIGIT}]{{1,2}}(?:\.(?:[{_DIGIT}]{{1,2}}|[a-zа-я])(?![\w]))?"
_STOP = re.compile(r"[.;:!?。；：！？\n0-9\u0660-\u0669]|,|،|，")
_CYR_TARGET = str.maketrans({"а": "a", "в": "b", "с": "c", "б": "b"})


@dataclass(frozen=True)
class Citation:
    """One cited resolution, document or SDG with its span."""

    start: int
    end: int
    canonical_id: str
    canonical_name: str
    label: str


def _ascii_digits(s: str) -> str:
    return "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in s)


def _compile(pattern: str) -> re.Pattern[str]:
    # Acronyms ("PP", "WTDC", "ВКРЭ") are case-sensitive so "pp." (pages) is not PP.
    letters = [c for c in re.sub(r"\\[a-zA-Z]", "", pattern) if c.isalpha()]
    acronym = letters and not any(c.islower() for c in letters) and len(letters) >= 2
    return re.compile(pattern, 0 if acronym else re.IGNORECASE)


def _joiner(word: str) -> str:
    if not word.isalpha():
        return re.escape(word)
    # Latin and Cyrillic joiners are whole words; Arabic "و" attaches to the number.
    return rf"\b{word}\b" if not re.match(r"[\u0600-\u06ff]", word) else word


def _alt(patterns: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in sorted(patterns, key=len, reverse=True))


@dataclass(frozen=True)
class _LangRules:
    resolution: re.Pattern[str]
    keyword: re.Pattern[str]
    a_res: re.Pattern[str]
    bodies: tuple[tuple[str, re.Pattern[str]], ...]
    joiner: str
    sdg_strong: re.Pattern[str]
    sdg_weak_then_strong: re.Pattern[str]
    sdg_bare: re.Pattern[str]


@lru_cache(maxsize=1)
def _data() -> dict:  # type: ignore[type-arg]
    return load_yaml(DATA.read_text(encoding="utf-8"))


@lru_cache(maxsize=8)
def _rules(lang: str) -> _LangRules:
    d = _data()
    kw = _alt(d["resolution_words"][lang])
    numw = d["number_words"].get(lang) or []
    numw_re = rf"(?:(?:{_alt(numw)})\s*)?" if numw else ""
    joiners = d["joiners"][lang]
    join = rf"\s*(?:{_alt([_joiner(j) for j in joiners])})\s*"
    # Years in a list are not resolution numbers ("Resolution 102 and 2018" is not two).
    item = rf"(?!(?:19|20)\d\d\b){_NUM}"
    # "Res. 217A (III)" is no resolution of ours: a number glued to letters is not taken
    # (except in Chinese, where "号" follows the number).
    tail = rf"(?![{_DIGIT}/])" if lang == "zh" else r"(?![\w/])"
    nums = rf"(?P<nums>{_NUM}(?:{join}{item})*){tail}"
    if lang == "zh":
        resolution = re.compile(rf"第\s*{nums}\s*号\s*(?P<kw>{kw})")
    else:
        # ``mid`` allows a body between the word and the number ("قرار المجلس 1336",
        # "Resolution No. 102"); a mid without a body is rejected in code.
        resolution = re.compile(
            rf"(?P<kw>\b{kw})(?P<mid>\s+[^\d\n.;:]{{1,45}}?)??\s*{numw_re}{nums}", re.IGNORECASE
        )
        if lang == "ar":
            resolution = re.compile(
                rf"(?P<kw>(?<![\w]){kw})(?P<mid>\s+[^\d\n.;:]{{1,45}}?)??\s*{numw_re}{nums}"
            )
    bodies = tuple(
        (body, _compile(_alt(per_lang[lang]))) for body, per_lang in d["bodies"].items() if per_lang.get(lang)
    )
    strong = _alt(d["sdg_names"][lang])
    weak = _alt(d["sdg_goal_words"][lang])
    sjoin = join
    snums = rf"(?P<nums>{_SDG_NUM}(?:{sjoin}{_SDG_NUM})*)"
    if lang == "zh":
        # PDF extraction of CJK text sometimes spaces out digits ("目标1 3").
        znum = rf"(?P<nums>[{_DIGIT}](?: ?[{_DIGIT}])?(?![{_DIGIT}]))"
        sdg_strong = re.compile(rf"(?P<kw>{strong})\s*(?:第\s*)?{znum}")
    else:
        lead = r"(?<![\w])" if lang == "ar" else r"\b"
        # "SDG target 9.c"; not in Arabic, where a goal word after the name starts a
        # new phrase ("… أهداف التنمية المستدامة وبالهدف 12").
        between = "" if lang == "ar" else rf"(?:(?:{weak})\s*)?"
        sdg_strong = re.compile(
            rf"(?P<kw>{lead}(?:{strong}))\s*{between}(?:n[°o]\s*)?{snums}(?![\w])", re.IGNORECASE
        )
    lead = r"(?<![\w])" if lang in ("ar", "zh") else r"\b"
    sdg_weak = re.compile(
        rf"(?P<kw>{lead}(?:{weak}))\s*(?:第\s*)?{snums}(?![\w])(?P<link>[^.;\n]{{0,30}}?)(?:{strong})",
        re.IGNORECASE,
    )
    sdg_bare = re.compile(rf"(?P<kw>{lead}(?:{weak}))\s*(?:第\s*)?{snums}(?![\w])", re.IGNORECASE)
    a_res = re.compile(rf"\bA/RES/(?P<nums>[{_DIGIT}]{{1,3}}/[{_DIGIT}]{{1,4}})")
    keyword = re.compile(kw, re.IGNORECASE)
    return _LangRules(resolution, keyword, a_res, bodies, join, sdg_strong, sdg_weak, sdg_bare)


def _body_in(text: str, rules: _LangRules) -> str | None:
    """The body named first in ``text``; at one position the longer name wins
    ("Security Council" over "Council")."""
    best: tuple[int, int, str] | None = None
    for body, rx in rules.bodies:
        m = rx.search(text)
        if m and (best is None or (m.start(), -(m.end() - m.start())) < best[:2]):
            best = (m.start(), -(m.end() - m.start()), body)
    return best[2] if best else None


def _after_window(text: str, pos: int, rules: _LangRules) -> tuple[str, str]:
    """(parenthetical notes, following words up to punctuation, a number or the next
    citation) after a citation."""
    rest = text[pos:pos + 160]
    notes = ""
    while True:
        m = re.match(r"\s*[(（]([^()（）]{0,80})[)）]", rest)
        if not m:
            break
        notes += " " + m.group(1)
        rest = rest[m.end():]
    stop = _STOP.search(rest)
    window = rest[: stop.start()] if stop else rest
    nxt = rules.keyword.search(window)
    window = window[: nxt.start()] if nxt else window
    return notes, window[:70]


def _conference_body(notes: str) -> str | None:
    years = re.findall(rf"(?<![{_DIGIT}])((?:19|20)[0-9]{{2}})(?![{_DIGIT}])", _ascii_digits(notes))
    table = _data()["conference_years"]
    for y in years:
        options = table.get(int(y))
        if not options:
            continue
        if len(options) == 1:
            return next(iter(options))
        for body, cities in options.items():
            if any(c.lower() in notes.lower() for c in cities):
                return body
    return None


def _body_for(number: str, explicit: str | None, notes: str) -> str:
    if "/" in number:
        return "UNGA"
    if explicit:
        return explicit
    conf = _conference_body(notes)
    if conf and not (conf != "C" and int(number) >= 1000):
        return conf
    return "C" if int(number) >= 1000 else "PP"


def _resolution_id(body: str, number: str) -> tuple[str, str]:
    if body == "UNGA":
        return f"res:UNGA-{number}", f"UNGA Resolution {number}"
    return f"res:{body}-{number}", f"Resolution {number} ({BODY_NAMES[body]})"


def find_resolutions(text: str, lang: str) -> list[Citation]:
    """Every resolution cited in ``text`` (one per number of a list)."""
    rules = _rules(lang if lang in LANGS else "en")
    out: list[Citation] = []
    prev_end = 0
    for m in rules.resolution.finditer(text):
        mid = m.groupdict().get("mid")
        mid_body = _body_in(mid, rules) if mid and mid.strip() else None
        if mid and mid.strip() and not mid_body:
            continue
        notes, window = _after_window(text, m.end(), rules)
        after_body = None
        wb = _body_in(window, rules) if lang != "zh" else None
        if wb:
            # The body must follow closely ("… of the Plenipotentiary Conference").
            for body, rx in rules.bodies:
                if body == wb and (hit := rx.search(window)) and hit.start() <= 25:
                    after_body = wb
        # Only English and Chinese put the body first ("Council Resolution 1336",
        # "理事会第1336号决议"); never look back past the previous citation.
        before = text[max(prev_end, m.start() - 40):m.start()] if lang in ("en", "zh") else ""
        prev_end = m.end()
        before_body = None
        closest: tuple[int, int] | None = None
        for body, rx in rules.bodies:
            for hit in rx.finditer(before):
                rank = (hit.end(), hit.end() - hit.start())  # nearest, then longest
                if len(before) - hit.end() <= 14 and (closest is None or rank > closest):
                    before_body, closest = body, rank
        explicit = mid_body or after_body or before_body
        if explicit == "OTHER":
            continue  # another organisation's resolution (Security Council, UNESCO, ...)
        nums_start = m.start("nums")
        numbers = list(re.finditer(_NUM, m.group("nums")))
        for k, nm in enumerate(numbers):
            raw = nm.group()
            number = _ascii_digits(raw)
            body = _body_for(number, explicit, notes)
            cid, cname = _resolution_id(body, number)
            s, e = nums_start + nm.start(), nums_start + nm.end()
            if lang == "zh" and len(numbers) == 1:
                s, e = m.start(), m.end()
            elif k == 0 and lang != "zh" and not mid_body:
                # With a body between word and number ("قرار مؤتمر المندوبين المفوضين
                # رقم 102") the span is the number, leaving the body to the gazetteer.
                s = m.start()
            out.append(Citation(s, e, cid, cname, "RESOLUTION"))
    for m in rules.a_res.finditer(text):
        number = _ascii_digits(m.group("nums"))
        cid, cname = _resolution_id("UNGA", number)
        out.append(Citation(m.start(), m.end(), cid, cname, "RESOLUTION"))
    return out


def find_sdgs(text: str, lang: str, *, bare_goals: bool = False) -> list[Citation]:
    """Every SDG goal or target named in ``text`` ("SDG 9", "sdg:9.c").

    ``bare_goals`` also takes "Goal 13" / "الهدف 13" without the SDGs named next to it:
    the caller sets it for a document that names the SDGs elsewhere.
    """
    rules = _rules(lang if lang in LANGS else "en")
    out: list[Citation] = []
    finders = [rules.sdg_strong, rules.sdg_weak_then_strong] + ([rules.sdg_bare] if bare_goals else [])
    for rx in finders:
        for m in rx.finditer(text):
            nums_start = m.start("nums")
            num_rx = r"[0-9\u0660-\u0669\u06f0-\u06f9] ?[0-9\u0660-\u0669\u06f0-\u06f9]|" + _SDG_NUM if lang == "zh" else _SDG_NUM
            for k, nm in enumerate(re.finditer(num_rx, m.group("nums"))):
                raw = _ascii_digits(nm.group().replace(" ", "")).lower().translate(_CYR_TARGET)
                goal = int(raw.split(".")[0])
                if not 1 <= goal <= 17:
                    continue
                s = m.start() if k == 0 else nums_start + nm.start()
                out.append(Citation(s, nums_start + nm.end(), f"sdg:{raw}", f"SDG {raw}", "SDG"))
    return out


def find_citations(text: str, lang: str | None, *, bare_goals: bool = False) -> list[Citation]:
    """Resolutions and SDGs in ``text``; for an unknown language, every language's rules.

    ``bare_goals``: see ``find_sdgs``.
    """
    langs = (lang,) if lang in LANGS else LANGS
    found: list[Citation] = []
    for lg in langs:
        found += find_resolutions(text, lg) + find_sdgs(text, lg, bare_goals=bare_goals)
    # Overlaps (the same citation seen twice, or by two languages' rules): longest wins.
    chosen: list[Citation] = []
    for c in sorted(found, key=lambda c: (-(c.end - c.start), c.start, c.canonical_id)):
        if all(c.end <= o.start or c.start >= o.end for o in chosen):
            chosen.append(c)
    return sorted(chosen, key=lambda c: c.start)
