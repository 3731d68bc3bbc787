"""The entity gazetteer: multilingual phrase patterns matched with exact offsets.

Patterns come from the data files in ``pipeline/data/entities/`` (``countries.tsv``,
``orgs.yaml``, ``tech.yaml``, ``documents.yaml``). A spaCy ``PhraseMatcher`` or
``EntityRuler`` on a blank pipeline matches whole tokens as written, which misses three
things these consultations need, so matching works on *keys* computed per token while
offsets stay those of the original text:

- Chinese has no spaces: every Han character is its own token, so "国际电联" is found
  inside "国际电联理事会的工作"; the longest match wins.
- Arabic attaches clitics (و، ف، ب، ل، ك، ال، وال، بال، لل): a token's candidate keys
  are its spelling-normalised form (``normalize_arabic``) with and without those
  prefixes, and the reported span is the whole written token.
- Russian inflects: Cyrillic tokens are keyed by their pymorphy3 lemmas, so
  "Международного союза электросвязи" matches "Международный союз электросвязи".

Latin tokens are lower-cased and accent-folded and also tried without a plural -s/-es.
Acronyms are matched case-sensitively ("WHO" but not "who"), and a name written with a
capital (a country, an organisation) must be written with a capital in the text ("China",
not "china"; "Того", not "того").
"""

from __future__ import annotations

import csv
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline.textutil import HAN_CHARS, normalize_arabic
from pipeline.yamldata import load_yaml

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data" / "entities"
LANGS = ("ar", "zh", "en", "fr", "ru", "es")
LABELS = {"country": "COUNTRY", "org": "ORG", "tech": "TECH", "res": "RESOLUTION", "sdg": "SDG"}

_MARKS = "\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640"
# A token is one Han character, or a run of word characters and combining marks (so an
# Arabic word with harakat stays one token).
_TOKEN = re.compile(rf"[{HAN_CHARS}]|(?:(?![{HAN_CHARS}])[\w{_MARKS}])+")
_SOFT_GAP = re.compile(r"[\s\-\u2010\u2011\u2012\u2013\u00ad]*")
_APOS = str.maketrans({"\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_AR_LETTER = re.compile(r"[\u0600-\u06ff]")
_CYR_LETTER = re.compile(r"[\u0400-\u04ff]")
# Arabic clitic stacks, longest first; what is left must keep at least two letters.
_AR_PREFIXES = ("وبال", "وكال", "وال", "فال", "بال", "كال", "ولل", "فلل", "لل", "ال",
                "وب", "ول", "فب", "فل", "و", "ف", "ب", "ل", "ك")
_AR_ARTICLES = ("ال", "لل")


@dataclass(frozen=True)
class Token:
    """One token of a text: its span, its written form and the keys it may match as."""

    start: int
    end: int
    surface: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Pattern:
    """One written form of one entity."""

    canonical_id: str
    text: str
    keys: tuple[str, ...]
    surfaces: tuple[str, ...]
    gaps: tuple[str, ...]
    case_sensitive: bool
    capitalised: bool


@dataclass(frozen=True)
class Match:
    """A gazetteer hit: character span into the text and the entity it names."""

    start: int
    end: int
    canonical_id: str
    pattern: str


# --- token keys -----------------------------------------------------------------------


def _fold(word: str) -> str:
    """Lower-case and drop combining accents ("Télécommunications" -> "telecommunications")."""
    # NFKC first: full-width forms in CJK text ("ＩＴＵ", "５Ｇ") fold to ASCII.
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", word).lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_morph_lock = threading.Lock()
_morph = None


def _morph_analyzer():  # type: ignore[no-untyped-def]
    global _morph
    if _morph is None:
        with _morph_lock:
            if _morph is None:
                import pymorphy3

                _morph = pymorphy3.MorphAnalyzer()
    return _morph


@lru_cache(maxsize=200_000)
def _ru_lemmas(word: str) -> tuple[str, ...]:
    """Lemmas of a Cyrillic word, most likely first, folded (ё -> е)."""
    lower = word.lower()
    seen: list[str] = []
    for parse in _morph_analyzer().parse(lower):
        lemma = _fold(parse.normal_form)
        if lemma not in seen:
            seen.append(lemma)
    folded = _fold(lower)
    if folded not in seen:
        seen.append(folded)
    return tuple(seen)


@lru_cache(maxsize=20_000)
def _ru_proper_lemma(word: str) -> str:
    """The lemma of a capitalised pattern word, preferring its place-name reading: "Того"
    is the country, not the pronoun "тот" (which would match "То есть")."""
    for parse in _morph_analyzer().parse(word.lower()):
        if "Geox" in parse.tag or "Orgn" in parse.tag:
            return _fold(parse.normal_form)
    return _ru_lemmas(word)[0]


def _ar_pattern_key(word: str) -> str:
    n = normalize_arabic(word)
    for art in _AR_ARTICLES:
        if n.startswith(art) and len(n) - len(art) >= 2:
            return n[len(art):]
    return n


@lru_cache(maxsize=200_000)
def _ar_text_keys(word: str) -> tuple[str, ...]:
    n = normalize_arabic(word)
    keys = [n]
    for pre in _AR_PREFIXES:
        if n.startswith(pre) and len(n) - len(pre) >= 2 and n[len(pre):] not in keys:
            keys.append(n[len(pre):])
    return tuple(keys)


@lru_cache(maxsize=200_000)
def _latin_text_keys(word: str) -> tuple[str, ...]:
    f = _fold(word)
    keys = [f]
    if len(f) > 3 and f.endswith("s"):
        keys.append(f[:-1])
        if len(f) > 4 and f.endswith("es"):
            keys.append(f[:-2])
    return tuple(keys)


def text_keys(word: str) -> tuple[str, ...]:
    """Every key a token of running text may match as."""
    if _AR_LETTER.search(word):
        return _ar_text_keys(word)
    if _CYR_LETTER.search(word):
        return _ru_lemmas(word)
    return _latin_text_keys(word)


def pattern_key(word: str) -> str:
    """The one key a token of a pattern is stored under."""
    if _AR_LETTER.search(word):
        return _ar_pattern_key(word)
    if _CYR_LETTER.search(word):
        return _ru_proper_lemma(word) if word[:1].isupper() else _ru_lemmas(word)[0]
    return _fold(word)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens with exact offsets and their matching keys."""
    return [Token(m.start(), m.end(), m.group(), text_keys(m.group())) for m in _TOKEN.finditer(text)]


def _gap_class(gap: str) -> str:
    """'' for a soft gap (spaces, hyphens or nothing), else the gap's normalised form."""
    if _SOFT_GAP.fullmatch(gap):
        return ""
    return re.sub(r"\s+", " ", gap.translate(_APOS)).strip()


# --- patterns and the trie ------------------------------------------------------------


def make_pattern(canonical_id: str, text: str, *, case_sensitive: bool) -> Pattern | None:
    """Turn one written form into a ``Pattern`` (None when it has no token)."""
    toks = list(_TOKEN.finditer(text))
    if not toks:
        return None
    gaps = tuple(_gap_class(text[a.end():b.start()]) for a, b in zip(toks, toks[1:], strict=False))
    first = toks[0].group()
    return Pattern(
        canonical_id=canonical_id,
        text=text,
        keys=tuple(pattern_key(t.group()) for t in toks),
        surfaces=tuple(t.group() for t in toks),
        gaps=gaps,
        case_sensitive=case_sensitive,
        capitalised=first[:1].isupper(),
    )


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    patterns: list[Pattern] = field(default_factory=list)


class Gazetteer:
    """A token trie over the patterns of one language (or of all, for unknown text).

    ``exclusions``: strings inside which a match is not a mention (see exclusions.yaml).
    """

    def __init__(self, patterns: Iterable[Pattern], *, exclusions: Iterable[str] = ()) -> None:
        self.root = _Node()
        self.size = 0
        excl = sorted(set(exclusions), key=len, reverse=True)
        self.exclusions = re.compile("|".join(map(re.escape, excl))) if excl else None
        for p in patterns:
            node = self.root
            for key in p.keys:
                node = node.children.setdefault(key, _Node())
            if p not in node.patterns:
                node.patterns.append(p)
                self.size += 1

    def _candidates(self, tokens: list[Token], i: int) -> Iterator[tuple[int, Pattern]]:
        """(index of the last token, pattern) for every pattern starting at token ``i``."""
        stack: list[tuple[_Node, int]] = [(self.root, i)]
        while stack:
            node, j = stack.pop()
            if j >= len(tokens):
                continue
            for key in tokens[j].keys:
                child = node.children.get(key)
                if child is None:
                    continue
                for p in child.patterns:
                    yield j, p
                if child.children:
                    stack.append((child, j + 1))

    @staticmethod
    def _accept(text: str, tokens: list[Token], i: int, j: int, p: Pattern) -> bool:
        span = tokens[i:j + 1]
        if len(span) != len(p.keys):
            return False
        for k in range(1, len(span)):
            if _gap_class(text[span[k - 1].end:span[k].start]) != p.gaps[k - 1]:
                return False
        if p.case_sensitive:
            for tok, surf in zip(span, p.surfaces, strict=True):
                if surf.lower() == surf.upper():
                    continue  # an uncased script (Arabic "اليونسكو"): keys decided already
                written = tok.surface if tok.surface.isascii() else unicodedata.normalize("NFKC", tok.surface)
                if written != surf and written != surf + "s":
                    return False
        elif p.capitalised and not span[0].surface[:1].isupper():
            return False
        return True

    def find(self, text: str, tokens: list[Token] | None = None) -> list[Match]:
        """Non-overlapping matches in ``text``; the longest wins, then the leftmost."""
        tokens = tokenize(text) if tokens is None else tokens
        found: list[Match] = []
        for i in range(len(tokens)):
            for j, p in self._candidates(tokens, i):
                if self._accept(text, tokens, i, j, p):
                    found.append(Match(tokens[i].start, tokens[j].end, p.canonical_id, p.text))
        if self.exclusions is not None and found:
            zones = [(m.start(), m.end()) for m in self.exclusions.finditer(text)]
            found = [m for m in found if not any(a <= m.start and m.end <= b for a, b in zones)]
        return select_longest(found)


def select_longest(matches: list[Match]) -> list[Match]:
    """Keep the longest of overlapping matches (ties: the leftmost, then the id)."""
    chosen: list[Match] = []
    taken: list[tuple[int, int]] = []
    for m in sorted(matches, key=lambda m: (-(m.end - m.start), m.start, m.canonical_id)):
        if all(m.end <= a or m.start >= b for a, b in taken):
            chosen.append(m)
            taken.append((m.start, m.end))
    return sorted(chosen, key=lambda m: m.start)


# --- loading the data files -----------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One canonical entity and its written forms per language."""

    canonical_id: str
    name: str
    names: dict[str, tuple[str, ...]]
    acronyms: dict[str, tuple[str, ...]]


def _read_yaml_entries(path: Path) -> list[Entry]:
    raw = load_yaml(path.read_text(encoding="utf-8")) or {}
    entries = []
    for cid, spec in raw.items():
        names = {k: tuple(str(x) for x in v) for k, v in (spec.get("names") or {}).items()}
        acr = {k: tuple(str(x) for x in v) for k, v in (spec.get("acronyms") or {}).items()}
        entries.append(Entry(cid, spec["name"], names, acr))
    return entries


def _read_countries(path: Path) -> list[Entry]:
    names: dict[str, dict[str, list[str]]] = {}
    english: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            cid, lang, name = row["canonical_id"], row["lang"], row["name"]
            forms = names.setdefault(cid, {}).setdefault(lang, [])
            if name not in forms:
                forms.append(name)
            if lang == "en" and row["source"] == "cldr":
                english[cid] = name
    entries = []
    for cid, per_lang in names.items():
        # Short all-capital forms ("USA", "США", "UK") behave as acronyms.
        acr = {lang: tuple(n for n in ns if _is_acronym(n)) for lang, ns in per_lang.items()}
        nam = {lang: tuple(n for n in ns if not _is_acronym(n)) for lang, ns in per_lang.items()}
        entries.append(Entry(cid, english.get(cid, cid), nam, acr))
    return entries


def _is_acronym(name: str) -> bool:
    letters = [c for c in name if c.isalpha()]
    return 0 < len(letters) <= 5 and all(c.isupper() for c in letters) and " " not in name


@lru_cache(maxsize=1)
def load_entries(data_dir: Path = DATA_DIR) -> tuple[Entry, ...]:
    """Every gazetteer entry from the data files."""
    entries = _read_countries(data_dir / "countries.tsv")
    for fname in ("orgs.yaml", "tech.yaml", "documents.yaml"):
        entries += _read_yaml_entries(data_dir / fname)
    ids = [e.canonical_id for e in entries]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"gazetteer ids defined twice in {data_dir}: {sorted(dup)}")
    return tuple(entries)


@lru_cache(maxsize=1)
def canonical_names() -> dict[str, str]:
    """English display name of every gazetteer id."""
    return {e.canonical_id: e.name for e in load_entries()}


def patterns_for(lang: str) -> list[Pattern]:
    """The patterns of one language ("und": of all six)."""
    langs = LANGS if lang not in LANGS else (lang,)
    out: list[Pattern] = []
    for e in load_entries():
        for lg in langs:
            for text in e.names.get(lg, ()):
                p = make_pattern(e.canonical_id, text, case_sensitive=False)
                if p:
                    out.append(p)
            for text in e.acronyms.get(lg, ()) + e.acronyms.get("all", ()):
                p = make_pattern(e.canonical_id, text, case_sensitive=True)
                if p:
                    out.append(p)
    return out


def exclusions_for(lang: str) -> list[str]:
    """The exclusion strings of one language ("und": of all)."""
    raw = load_yaml((DATA_DIR / "exclusions.yaml").read_text(encoding="utf-8")) or {}
    langs = LANGS if lang not in LANGS else (lang,)
    return [str(x) for lg in langs for x in raw.get(lg) or []]


_cache_lock = threading.Lock()
_gazetteers: dict[str, Gazetteer] = {}


def gazetteer_for(lang: str | None) -> Gazetteer:
    """The language's gazetteer, built once per process ("und" and unknown: all languages)."""
    key = lang if lang in LANGS else "und"
    if key not in _gazetteers:
        with _cache_lock:
            if key not in _gazetteers:
                _gazetteers[key] = Gazetteer(patterns_for(key), exclusions=exclusions_for(key))
                logger.debug("built gazetteer %s with %d patterns", key, _gazetteers[key].size)
    return _gazetteers[key]


def label_of(canonical_id: str) -> str:
    """The entity label of a canonical id by its prefix (COUNTRY, ORG, TECH, ...)."""
    return LABELS.get(canonical_id.split(":", 1)[0], "MISC")


def warm_up(langs: set[str | None]) -> None:
    """Build the gazetteers of ``langs`` (and Russian's morphology) in this process now.

    A process that forks workers calls it first, so that every worker inherits them
    instead of building them again.
    """
    canonical_names()
    for lang in sorted({lang if lang in LANGS else "und" for lang in langs}):
        gazetteer_for(lang)
    if "ru" in langs:
        _morph_analyzer()
