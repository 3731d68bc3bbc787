"""Theme definitions as data: loading, validation and seed-term matching.

A theme set is a folder of YAML files, one per theme (see
``pipeline/data/themes/cwg_internet/``). Each file names the theme, describes it, lists
the consultation's guiding questions and gives seed terms grouped by concept, each
concept in the six UN languages. Matching is language-aware: seed terms are tokenised
exactly as texts are (``pipeline.tokenize``), so inflected forms fold together;
Chinese is matched on the normalised character string, since word segmentation of a
short seed term and of running text may differ; a match that bridges two of the text's
words at neither boundary (人权 in 个人|权益) is not taken (``Matcher.zh_matches``).
"""

from __future__ import annotations

import logging
import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.schemas import UN_LANGUAGES
from pipeline.textutil import HAN
from pipeline.tokenize import fold_text, match_keys, zh_word_bounds
from pipeline.yamldata import load_yaml

logger = logging.getLogger(__name__)

FALLBACK_THEME = "other"
DISCOVER = "discover"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class ThemeFileError(ValueError):
    """A theme file is missing, unreadable or breaks the theme-file format."""


@dataclass(frozen=True)
class Concept:
    """One idea of a theme, with its words and phrases per language."""

    theme: str
    name: str
    weight: float
    terms: dict[str, tuple[str, ...]]

    @property
    def key(self) -> str:
        return f"{self.theme}/{self.name}"


@dataclass(frozen=True)
class ThemeDef:
    """One theme: id, name, description, guiding questions, seed concepts."""

    id: str
    name: str
    description: str
    questions: tuple[str, ...]
    concepts: tuple[Concept, ...]
    source: str = ""


def _fail(path: Path, msg: str) -> ThemeFileError:
    return ThemeFileError(f"theme file {path}: {msg}")


def _str_list(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _fail(path, f"{where} must be a non-empty list of strings, got {value!r}")
    out = []
    for item in value:
        if isinstance(item, int | float) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise _fail(path, f"{where} holds {item!r}; every entry must be a non-empty string")
        out.append(item.strip())
    return tuple(out)


def parse_theme_file(path: Path, *, min_terms: int = 20) -> ThemeDef:
    """Read and validate one theme file.

    Args:
        path: the YAML file; its stem must equal its ``id``.
        min_terms: fewest seed terms each of the six languages must have.

    Raises:
        ThemeFileError: with a message naming the file, the field and what is allowed.
    """
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise _fail(path, f"is not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise _fail(path, "must hold a mapping with keys id, name, description, questions, seeds")
    missing = [k for k in ("id", "name", "description", "questions", "seeds") if k not in raw]
    if missing:
        raise _fail(path, f"lacks required key(s) {missing}")
    unknown = sorted(set(raw) - {"id", "name", "description", "questions", "seeds"})
    if unknown:
        raise _fail(
            path, f"has unknown key(s) {unknown}; allowed: id, name, description, questions, seeds"
        )
    tid = raw["id"]
    if not isinstance(tid, str) or not _ID.match(tid):
        raise _fail(path, f"id must be lower-case letters, digits and underscores, got {tid!r}")
    if tid in (FALLBACK_THEME, DISCOVER):
        raise _fail(path, f"id {tid!r} is reserved (the fallback theme and discovery mode)")
    if tid != path.stem:
        raise _fail(path, f"id {tid!r} must equal the file name {path.stem!r}")
    for key in ("name", "description"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise _fail(path, f"{key} must be a non-empty string")
    questions = _str_list(path, "questions", raw["questions"])
    seeds = raw["seeds"]
    if not isinstance(seeds, list) or not seeds:
        raise _fail(path, "seeds must be a non-empty list of concepts")
    concepts: list[Concept] = []
    names: set[str] = set()
    for i, entry in enumerate(seeds):
        where = f"seeds[{i}]"
        if not isinstance(entry, dict) or "concept" not in entry:
            raise _fail(path, f"{where} must be a mapping with a 'concept' name and language lists")
        name = entry["concept"]
        if not isinstance(name, str) or not _ID.match(name):
            raise _fail(path, f"{where}.concept must be a lower-case identifier, got {name!r}")
        if name in names:
            raise _fail(path, f"concept {name!r} appears twice")
        names.add(name)
        weight = entry.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 10:
            raise _fail(path, f"{where}.weight must be a number in (0, 10], got {weight!r}")
        bad = sorted(set(entry) - {"concept", "weight", *UN_LANGUAGES})
        if bad:
            raise _fail(
                path,
                f"{where} ({name}) has unknown key(s) {bad}; languages are {', '.join(UN_LANGUAGES)}",
            )
        terms = {
            lang: _str_list(path, f"{where} ({name}).{lang}", entry[lang])
            for lang in UN_LANGUAGES
            if lang in entry
        }
        if not terms:
            raise _fail(path, f"{where} ({name}) gives no terms in any language")
        concepts.append(Concept(tid, name, float(weight), terms))
    for lang in UN_LANGUAGES:
        n = sum(len(c.terms.get(lang, ())) for c in concepts)
        if n < min_terms:
            raise _fail(
                path,
                f"has {n} seed term(s) in {lang!r}; each of {', '.join(UN_LANGUAGES)} needs at least {min_terms}",
            )
    return ThemeDef(
        tid, raw["name"].strip(), raw["description"].strip(), questions, tuple(concepts), str(path)
    )


def theme_set_dir(theme_set: str, *, corpus: Path | None) -> Path:
    """Where the theme files of ``theme_set`` live.

    A corpus folder's ``themes/<theme_set>/`` (or a ``themes/`` folder holding YAML
    files directly) wins over the package's ``pipeline/data/themes/<theme_set>/``.

    Raises:
        ThemeFileError: no such theme set anywhere.
    """
    candidates: list[Path] = []
    if corpus is not None:
        local = Path(corpus) / "themes"
        candidates += [local / theme_set, local]
    pkg = Path(__file__).resolve().parent / "data" / "themes" / theme_set
    candidates.append(pkg)
    for cand in candidates:
        if cand.is_dir() and any(cand.glob("*.yaml")):
            return cand
    where = ", ".join(str(c) for c in candidates)
    raise ThemeFileError(
        f"theme set {theme_set!r} not found (looked in {where}); write one YAML file per theme "
        f"there, or set themes.theme_set to 'discover'"
    )


def load_theme_set(
    theme_set: str, *, corpus: Path | None = None, min_terms: int = 20
) -> list[ThemeDef]:
    """All themes of a theme set, sorted by id, validated."""
    folder = theme_set_dir(theme_set, corpus=corpus)
    themes = [parse_theme_file(p, min_terms=min_terms) for p in sorted(folder.glob("*.yaml"))]
    logger.info("theme set %s: %d themes from %s", theme_set, len(themes), folder)
    return themes


@dataclass
class Matcher:
    """Seed-term matcher for every language of a theme set (picklable for workers)."""

    concepts: list[Concept]
    # lang -> first key -> [(key tuple, concept index)], longest first
    token_index: dict[str, dict[str, list[tuple[tuple[str, ...], int]]]] = field(
        default_factory=dict
    )
    # lang -> [(folded substring pattern, concept index)] for scripts without spaces
    zh_terms: list[tuple[str, int]] = field(default_factory=list)
    _zh_re: re.Pattern[str] | None = None
    _zh_map: dict[str, tuple[int, ...]] | None = None

    @classmethod
    def build(cls, themes: list[ThemeDef]) -> Matcher:
        concepts = [c for t in themes for c in t.concepts]
        m = cls(concepts)
        for ci, concept in enumerate(concepts):
            for lang, terms in concept.terms.items():
                for term in terms:
                    if lang == "zh":
                        m.zh_terms.append((fold_text(term, "zh"), ci))
                        continue
                    key = tuple(match_keys(term, lang))
                    if not key:
                        logger.warning(
                            "seed term %r (%s, %s) has no words to match; ignored",
                            term,
                            lang,
                            concept.key,
                        )
                        continue
                    m.token_index.setdefault(lang, {}).setdefault(key[0], []).append((key, ci))
        for index in m.token_index.values():
            for first, entries in index.items():
                index[first] = sorted(set(entries), key=lambda e: (-len(e[0]), e[0], e[1]))
        return m

    def _zh_lookup(self) -> dict[str, tuple[int, ...]]:
        if self._zh_map is None:
            table: dict[str, list[int]] = {}
            for t, ci in self.zh_terms:
                if ci not in table.setdefault(t, []):
                    table[t].append(ci)
            self._zh_map = {t: tuple(v) for t, v in table.items()}
        return self._zh_map

    def _zh_pattern(self) -> re.Pattern[str]:
        if self._zh_re is None:
            terms = sorted({t for t, _ in self.zh_terms}, key=lambda t: (-len(t), t))
            parts = []
            for t in terms:
                esc = re.escape(t)
                # Latin acronyms inside Chinese text must not match inside longer words.
                parts.append(esc if HAN.search(t) else rf"(?<![a-z0-9]){esc}(?![a-z0-9])")
            self._zh_re = re.compile("|".join(parts)) if parts else re.compile(r"(?!x)x")
        return self._zh_re

    def zh_matches(self, folded: str) -> Iterator[re.Match[str]]:
        """The Chinese seed terms found in ``folded`` (a ``fold_text``), left to right,
        longest first, never overlapping; none that bridges two words (``_splits_words``)."""
        pattern = self._zh_pattern()
        bounds: list[int] | None = None
        pos = 0
        while (mo := pattern.search(folded, pos)) is not None:
            start = mo.start()
            if start and HAN.match(folded, start - 1) and HAN.match(folded, start):
                bounds = bounds or zh_word_bounds(folded)
                # The longest term here that does not bridge two words, if any (terms
                # are tried longest first; ``endpos`` rules the longer ones out).
                while mo is not None and _splits_words(bounds, start, mo.end()):
                    mo = pattern.match(folded, start, mo.end() - 1)
                if mo is None:
                    pos = start + 1
                    continue
            yield mo
            pos = mo.end()

    def match(self, text: str, keys: list[str], lang: str) -> Counter[int]:
        """Concept counts in one text: longest matches first, never overlapping."""
        found: Counter[int] = Counter()
        if lang == "zh":
            lookup = self._zh_lookup()
            for mo in self.zh_matches(fold_text(text, "zh")):
                for ci in lookup[mo.group(0)]:
                    found[ci] += 1
            return found
        index = self.token_index.get(lang)
        if not index:
            return found
        i, n = 0, len(keys)
        while i < n:
            step = 1
            hit: tuple[str, ...] | None = None
            for key, ci in index.get(keys[i], ()):
                if hit is None and tuple(keys[i : i + len(key)]) == key:
                    hit = key
                if hit is not None and key == hit:
                    # The same words may seed concepts of several themes: count each.
                    found[ci] += 1
            if hit is not None:
                step = len(hit)
            i += step
        return found


def _splits_words(bounds: list[int], start: int, end: int) -> bool:
    """Whether ``start:end`` bridges two words (``bounds``: ``zh_word_bounds``) without
    meeting a boundary at either end: "人权" (human rights) in 个人|权益 (personal
    interests), "资费" (tariffs) in 工资|费用 (wage costs). A seed inside one word (环境 in
    污染环境), or starting or ending where a word does (流量管理 in 网络流量|管理, 经营许可
    in 经营|许可证: jieba joins modifiers to their heads), is matched."""
    i = bisect_right(bounds, start) - 1
    if bounds[i] == start or i + 1 >= len(bounds) or end <= bounds[i + 1]:
        return False
    j = bisect_right(bounds, end) - 1
    return bounds[j] != end


def concept_idf(df: Counter[int], n_docs: int) -> dict[int, float]:
    """Smoothed inverse document frequency of concepts within one language."""
    return {ci: math.log((1 + n_docs) / (1 + d)) + 1.0 for ci, d in df.items()}
