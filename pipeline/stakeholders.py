"""Stakeholder typing: which of DESIGN.md's eight types wrote a response, from its text.

The cue lexicon is data (``pipeline/data/actors/stakeholder_cues.yaml``): per type, per
language, the words an author uses to present itself ("Ministry of", "Autorité de
régulation", "Университет", "شركة", "以个人身份" ...). A hit counts its group weight times
the weight of the zone it falls in: the organisation field of metadata, the opening of
the text (letterhead, title, first paragraph), the closing (signature), a phrase right
after a self-description ("on behalf of"), or the body. Hits in an enumeration of
stakeholder groups ("governments, civil society, the technical community and academia")
say nothing about the author and are dropped. First-person singular writing adds to
``individual``. The winning type's share of all cue weight is its score, and the text
around its strongest hit is the evidence.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.schemas import STAKEHOLDER_TYPES
from pipeline.textutil import char_script, nfkc, normalize_arabic
from pipeline.yamldata import load_yaml

logger = logging.getLogger(__name__)
# libyaml's safe loader, when built, reads the data files ten times faster than the
# pure-Python one (the same data).

CUES_PATH = Path(__file__).parent / "data" / "actors" / "stakeholder_cues.yaml"

# Letters of Latin and Cyrillic words (for word boundaries); digits count as word chars.
_WORD = r"[^\W_]"
_AR_PREFIX = "(?:[وفبلك]{0,2})"


@dataclass(frozen=True)
class Cue:
    """One compiled cue: its type, weight, language and pattern text (for tests)."""

    stype: str
    weight: float
    lang: str
    source: str
    named: bool = False

    @property
    def case_sensitive(self) -> bool:
        """An acronym written in capitals in the lexicon ("NGO") must be in capitals in
        the text too, so that the surname Ngo is not a non-governmental organisation."""
        return any(ch.isalpha() for ch in self.source) and self.source.isupper()


@dataclass(frozen=True)
class CueSet:
    """The compiled lexicon: every cue and helper phrase in one ``Matcher``.

    ``matcher`` roles: 0 cues (``cues[i]`` for pattern ``i``), then the helper phrases
    (``ROLES``); ``offsets[role]`` is the first pattern index of each role.
    """

    cues: tuple[Cue, ...]
    matcher: Matcher
    offsets: dict[str, int]
    zones: dict[str, Any]
    pronoun_weight: float
    min_singular: int


ROLES = ("cue", "self_description", "self_subject", "self_possessive", "group_names", "singular", "plural")


@dataclass
class TypeResult:
    """The inferred type of one text with its score and evidence."""

    stype: str | None
    score: float
    raw: float
    evidence: str
    scores: dict[str, float] = field(default_factory=dict)
    span: tuple[int, int] | None = None
    zone: str = ""


def fold(text: str) -> str:
    """Case- and Arabic-spelling-folded text of the same length as ``text``.

    Matching runs on this form, so offsets into it are offsets into ``text``: a character
    whose folded form has another length (e.g. "İ", Arabic diacritics) is kept as it is.
    """
    low = text.lower()
    if len(low) != len(text):
        low = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    return low.translate(_arabic_table())


@functools.lru_cache(maxsize=1)
def _arabic_table() -> dict[int, str]:
    table = {}
    for cp in range(0x0600, 0x0700):
        folded = normalize_arabic(chr(cp))
        if len(folded) == 1 and folded != chr(cp):
            table[cp] = folded
    return table


def _script_of(pattern: str) -> str:
    for ch in pattern:
        s = char_script(ch)
        if s:
            return s
    return "Latin"


def compile_pattern(pattern: str) -> tuple[str, str]:
    """Turn one lexicon entry into a regular expression (see the YAML header).

    Returns:
        The expression (for lower-cased, folded text) and the check its start needs:
        ``"word"`` (no letter before it), ``"arabic"`` (no letter before it but up to
        two attached prefix letters) or ``""``. The checks run in Python after the match
        because a look-behind at the start of each alternative would stop the regex
        engine from skipping ahead to the possible first characters, which made matching
        several times slower.
    """
    if pattern.startswith("re:"):
        return pattern[3:], ""
    text = nfkc(pattern).lower()
    script = _script_of(text)
    if script == "Arabic":
        text = normalize_arabic(text)
    parts = []
    for word in text.split():
        stem = word.endswith("*") and len(word) > 1
        core = re.escape(word.rstrip("*"))
        parts.append(core + (rf"{_WORD}*" if stem else ""))
    body = r"\s+".join(parts)
    if script in ("Latin", "Cyrillic", "Greek"):
        left = "word" if re.match(r"\w", text) else ""
        right = f"(?!{_WORD})" if re.search(r"[\w*]$", text) else ""
        return body + right, left
    if script == "Arabic":
        if text.startswith("ال"):
            body = "(?:ال|ل)" + body[2:]
        right = "" if text.endswith("*") else f"(?!{_WORD})"
        return body + right, "arabic"
    return body, ""


_AR_PREFIXES = frozenset("وفبلك")


def _left_ok(text: str, start: int, check: str) -> bool:
    if not check or start == 0 or not text[start - 1].isalnum():
        return True
    if check == "arabic":
        i = start
        while i > 0 and start - i < 2 and text[i - 1] in _AR_PREFIXES:
            i -= 1
            if i == 0 or not text[i - 1].isalnum():
                return True
    return False


_WORD_RUN = re.compile(r"[^\W_]+")


def _anchor(pattern: str) -> tuple[str, str]:
    """How a pattern is looked up: ("word", w), ("stem", w), ("han", literal) or ("regex", "")."""
    if pattern.startswith("re:"):
        return "regex", ""
    text = nfkc(pattern).lower()
    script = _script_of(text)
    if script == "Arabic":
        text = normalize_arabic(text)
    first = text.split()[0] if text.split() else ""
    if script in ("Han", "Kana", "Hangul"):
        return "han", text
    if script == "Arabic" and first.startswith("ال") and len(first) > 2:
        first = first[2:]
    if not re.fullmatch(r"[^\W_]+\*?", first):
        return "regex", ""
    if first.endswith("*"):
        return "stem", first[:-1]
    return "word", first


class Matcher:
    """Finds every pattern of a list in a text; ``finditer`` yields ``(start, end, index
    of the pattern)``, the longest match at each start, in text order.

    One big alternation would be simple but slow (the engine tries every alternative at
    every position); instead each word of the text is looked up by its first word (or
    stem, or Arabic word without attached prefixes and article), Chinese cues are found
    with ``str.find``, and only the candidates are checked with their own expression.
    """

    def __init__(self, patterns: list[str], *, roles: list[int] | None = None) -> None:
        compiled = [compile_pattern(p) for p in patterns]
        # Patterns of different roles (cues, self-description phrases, pronouns ...) share
        # one pass over the words; overlaps are resolved within a role only.
        self.roles = roles or [0] * len(patterns)
        self.checks = [c for _, c in compiled]
        # Each expression is compiled when a text first needs it (see ``_part``): typing
        # one new response then compiles the few dozen it meets, not all thousand.
        self._sources = [rx for rx, _ in compiled]
        self._parts: list[re.Pattern[str] | None] = [None] * len(patterns)
        self.words: dict[str, list[int]] = {}
        self.stems: dict[str, list[int]] = {}
        self.han: list[tuple[str, int]] = []
        self.regexes: list[int] = []
        for i, p in enumerate(patterns):
            kind, key = _anchor(p)
            if kind == "word":
                self.words.setdefault(key, []).append(i)
            elif kind == "stem":
                self.stems.setdefault(key, []).append(i)
            elif kind == "han":
                self.han.append((key, i))
            else:
                self.regexes.append(i)
        for i in self.regexes:  # tried on every text
            self._part(i)
        self.stem_lengths = sorted({len(k) for k in self.stems})
        # Most words start no stem: a set of 2-letter heads rules them out in one lookup.
        self.stem_heads = frozenset(k[:2] for k in self.stems)

    def _part(self, i: int) -> re.Pattern[str]:
        part = self._parts[i]
        if part is None:
            part = self._parts[i] = re.compile(self._sources[i])
        return part

    def _candidates(self, text: str):  # type: ignore[no-untyped-def]
        for m in _WORD_RUN.finditer(text):
            word, start = m.group(), m.start()
            keys = [(word, start)]
            if "\u0600" <= word[0] <= "\u06ff":
                # Arabic: attached prefixes (و ف ب ل ك) and the article.
                for k in range(1, 3):
                    if len(word) > k + 1 and all(ch in _AR_PREFIXES for ch in word[:k]):
                        keys.append((word[k:], start + k))
                for w, st in list(keys):
                    if w.startswith("ال") and len(w) > 3:
                        keys.append((w[2:], st))
                    elif w.startswith("ل") and len(w) > 2:
                        keys.append((w[1:], st))
            for w, st in keys:
                for i in self.words.get(w, ()):
                    yield i, st
                if w[:2] in self.stem_heads:
                    for n in self.stem_lengths:
                        if n <= len(w):
                            for i in self.stems.get(w[:n], ()):
                                yield i, st
        for lit, i in self.han:
            pos = text.find(lit)
            while pos >= 0:
                yield i, pos
                pos = text.find(lit, pos + 1)

    def finditer(self, text: str):  # type: ignore[no-untyped-def]
        """``(start, end, pattern index)`` of the matches, role by role, in text order."""
        for role_matches in self.find_roles(text).values():
            yield from role_matches

    def find_roles(self, text: str) -> dict[int, list[tuple[int, int, int]]]:
        """The matches of each role: the longest at each start, without overlaps."""
        best: dict[tuple[int, int], tuple[int, int]] = {}
        for i, st in self._candidates(text):
            # An Arabic article or prefix may sit before the anchor word.
            for start in (st, st - 1, st - 2, st - 3, st - 4) if self.checks[i] == "arabic" else (st,):
                if start < 0:
                    break
                m = self._part(i).match(text, start)
                if m and m.end() > start and _left_ok(text, start, self.checks[i]):
                    key = (self.roles[i], start)
                    if m.end() - start > best.get(key, (-1, -1))[0]:
                        best[key] = (m.end() - start, i)
                    break
        for i in self.regexes:
            for m in self._part(i).finditer(text):
                key = (self.roles[i], m.start())
                if m.end() > m.start() and _left_ok(text, m.start(), self.checks[i]) \
                        and m.end() - m.start() > best.get(key, (-1, -1))[0]:
                    best[key] = (m.end() - m.start(), i)
        out: dict[int, list[tuple[int, int, int]]] = {}
        last_end: dict[int, int] = {}
        for role, start in sorted(best):
            length, i = best[(role, start)]
            if start < last_end.get(role, -1):
                continue
            last_end[role] = start + length
            out.setdefault(role, []).append((start, start + length, i))
        return out

    def count(self, text: str) -> int:
        return sum(1 for _ in self.finditer(text))

@functools.lru_cache(maxsize=4)
def load_cues(path: Path = CUES_PATH) -> CueSet:
    """Read and compile the cue lexicon.

    Raises:
        ValueError: a type is not one of DESIGN.md's eight, or a pattern does not compile.
    """
    raw = load_yaml(Path(path).read_text(encoding="utf-8"))
    cues: list[Cue] = []
    for stype, groups in raw["types"].items():
        if stype not in STAKEHOLDER_TYPES:
            raise ValueError(f"{path}: unknown stakeholder type {stype!r}; allowed: {STAKEHOLDER_TYPES}")
        for group in groups:
            weight = float(group["w"])
            named = bool(group.get("named", False))
            for lang, entries in group.items():
                if lang in ("w", "named"):
                    continue
                for p in entries or []:
                    # Only a raw expression can fail: every other entry is escaped word by
                    # word. (Compiling all thousand cues here took a tenth of a second on
                    # every run; the matcher compiles each when a text first needs it.)
                    if str(p).startswith("re:"):
                        try:
                            re.compile(compile_pattern(str(p))[0])
                        except re.error as exc:
                            raise ValueError(f"{path}: cue {p!r} ({stype}, {lang}) does not compile: {exc}") from exc
                    cues.append(Cue(stype, weight, lang, str(p), named))

    def phrases(section: Any) -> list[str]:
        return [str(p) for ps in (section or {}).values() for p in ps]

    pron = raw.get("pronouns", {})
    lists = {
        "cue": [c.source for c in cues],
        "self_description": phrases(raw.get("self_description")),
        "self_subject": phrases(raw.get("self_subject")),
        "self_possessive": phrases(raw.get("self_possessive")),
        "group_names": phrases(raw.get("group_names")),
        "singular": phrases(pron.get("singular")),
        "plural": phrases(pron.get("plural")),
    }
    patterns: list[str] = []
    roles: list[int] = []
    offsets: dict[str, int] = {}
    for r, role in enumerate(ROLES):
        offsets[role] = len(patterns)
        patterns.extend(lists[role])
        roles.extend([r] * len(lists[role]))
    return CueSet(
        cues=tuple(cues),
        matcher=Matcher(patterns, roles=roles),
        offsets=offsets,
        zones=dict(raw.get("zones", {})),
        pronoun_weight=float(pron.get("weight", 0.0)),
        min_singular=int(pron.get("min_singular", 3)),
    )


@dataclass(frozen=True)
class _Hit:
    stype: str
    start: int
    end: int
    weight: float
    zone: str
    cue: str
    named: bool


def _zone(pos: int, n: int, head: int, tail: int, selfs: list[tuple[int, int]]) -> str:
    for s, e in selfs:
        if s <= pos <= e:
            return "self"
    if pos < head:
        return "head"
    if pos >= n - tail:
        return "tail"
    return "body"


def _enumerations(names: list[tuple[int, int, int]], *, gap: int = 60) -> list[tuple[int, int]]:
    """Spans where three or more stakeholder-group names follow each other closely."""
    spans: list[tuple[int, int]] = []
    run: list[tuple[int, int]] = []
    for start, end, _ in names:
        if run and start - run[-1][1] > gap:
            if len(run) >= 3:
                spans.append((run[0][0] - 10, run[-1][1] + 10))
            run = []
        run.append((start, end))
    if len(run) >= 3:
        spans.append((run[0][0] - 10, run[-1][1] + 10))
    return spans


def _drop_enumerations(hits: list[_Hit], spans: list[tuple[int, int]], *, window: int = 90) -> list[_Hit]:
    """Drop hits inside a list of stakeholder groups: in a group-name enumeration, or
    with cues of three or more types close together."""
    kept = []
    for h in hits:
        if any(a <= h.start <= b for a, b in spans):
            continue
        near = {o.stype for o in hits if abs(o.start - h.start) <= window}
        if len(near) >= 3:
            continue
        kept.append(h)
    return kept


def _context(text: str, start: int, end: int, *, width: int = 60) -> str:
    a = max(0, start - width)
    b = min(len(text), end + width)
    snippet = " ".join(text[a:b].split())
    return ("…" if a > 0 else "") + snippet + ("…" if b < len(text) else "")


def infer_type(
    text: str,
    *,
    organisation: str | None = None,
    cues: CueSet | None = None,
) -> TypeResult:
    """Infer the stakeholder type of a response from its text (and organisation name).

    Args:
        text: the document text.
        organisation: the organisation field of metadata, when known (weighs most).
        cues: the compiled lexicon (default: the bundled one).

    Returns:
        The best type (None when no cue fired), its share of all cue weight, the raw
        weight, the evidence snippet and the per-type weights.
    """
    cues = cues or load_cues()
    z = cues.zones
    weights = {"head": 3.0, "tail": 2.5, "body": 0.4, "org_name": 6.0, **z.get("weights", {})}
    weights.setdefault("self", weights["head"])
    head_n, tail_n = int(z.get("head_chars", 700)), int(z.get("tail_chars", 450))
    body_cap = int(z.get("body_cap", 3))
    self_window = int(z.get("self_window", 120))

    text = nfkc(text or "")
    folded = fold(text)
    n = len(folded)
    found = cues.matcher.find_roles(folded)

    def role(name: str) -> list[tuple[int, int, int]]:
        return found.get(ROLES.index(name), [])

    selfs = [(e, e + self_window) for _, e, _ in role("self_description")]
    subject_window = int(z.get("subject_window", 70))
    selfs += [(max(0, st - subject_window), st) for st, _, _ in role("self_subject")]
    # "the contribution of ICANN to ..." deep in the body is no self-description: these
    # phrases count near the start (title, opening) and in the signature block only.
    reach = int(z.get("self_reach", 1500))
    selfs = [(st, en) for st, en in selfs if st < reach or st >= n - tail_n]
    poss_window = int(z.get("possessive_window", 25))
    selfs += [(e, e + poss_window) for _, e, _ in role("self_possessive")]

    hits: list[_Hit] = []
    for start, end, idx in role("cue"):
        cue = cues.cues[idx]
        if cue.case_sensitive and not text[start:end].isupper():
            continue
        zone = _zone(start, n, head_n, tail_n, selfs)
        if cue.named and zone != "self":
            continue
        hits.append(_Hit(cue.stype, start, end, cue.weight, zone, cue.source, cue.named))
    hits = _drop_enumerations(hits, _enumerations(role("group_names")))

    scores = dict.fromkeys(STAKEHOLDER_TYPES, 0.0)
    best_hit: dict[str, tuple[float, _Hit | None, str]] = {}
    # A cue repeated in one zone adds less each time: a ministry that names "the
    # regulator" three times in its opening is still a ministry.
    repeats: dict[tuple[str, str, str], int] = {}
    for h in hits:
        key = (h.stype, h.cue, h.zone)
        repeats[key] = repeats.get(key, 0) + 1
        if repeats[key] > body_cap:
            continue
        value = h.weight * weights[h.zone] * (1.0 if repeats[key] == 1 else 0.25)
        scores[h.stype] += value
        if value > best_hit.get(h.stype, (0.0, None, ""))[0]:
            best_hit[h.stype] = (value, h, "")

    if organisation:
        org = fold(nfkc(organisation))
        seen: set[str] = set()
        org_text = nfkc(organisation)
        for start, end, idx in cues.matcher.find_roles(org).get(0, []):
            cue = cues.cues[idx]
            if cue.source in seen or (cue.case_sensitive and not org_text[start:end].isupper()):
                continue
            seen.add(cue.source)
            value = cue.weight * weights["org_name"]
            scores[cue.stype] += value
            if value > best_hit.get(cue.stype, (0.0, None, ""))[0]:
                best_hit[cue.stype] = (value, None, f"organisation: {organisation.strip()}")

    if cues.pronoun_weight > 0:
        sing = len(role("singular"))
        plur = len(role("plural"))
        if sing >= cues.min_singular and sing > plur:
            value = cues.pronoun_weight * sing / (sing + plur)
            scores["individual"] += value
            if value > best_hit.get("individual", (0.0, None, ""))[0]:
                best_hit["individual"] = (value, None, f"first person singular ({sing} 'I' forms vs {plur} 'we' forms)")

    total = sum(scores.values())
    if total <= 0 or max(scores.values()) < float(z.get("min_evidence", 0.0)):
        return TypeResult(None, 0.0, 0.0, "", scores)
    # Ties go to the type listed first in STAKEHOLDER_TYPES (deterministic).
    stype = max(STAKEHOLDER_TYPES, key=lambda t: (scores[t], -STAKEHOLDER_TYPES.index(t)))
    _, hit, note = best_hit[stype]
    if hit is not None:
        evidence = f"[{hit.zone}] " + _context(text, hit.start, hit.end)
        span, zone = (hit.start, hit.end), hit.zone
    else:
        evidence, span, zone = note, None, "org_name" if note.startswith("organisation") else "pronouns"
    return TypeResult(stype, scores[stype] / total, scores[stype], evidence, scores, span, zone)
