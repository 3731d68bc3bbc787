"""Actor names: normalise respondent and organisation names and merge their variants.

Two responses belong to one actor when their organisation names, once normalised (case,
accents, punctuation, leading articles, legal-form suffixes), are equal, or are linked
by one of these, recorded in ``merge_reason``:

``alias``     both are variants of one known actor (``pipeline/data/actors/aliases.yaml``,
              six languages: "Internet Society", "ISOC", "Общество Интернета");
``entity``    the name is a mention that the entities stage linked to an ``org:`` id;
``acronym``   one is the other's acronym, or the other writes it in brackets
              ("Общество Интернета (ISOC)");
``spelling``  the names differ by a few characters (typos, lost accents).

Without an organisation the respondent (a person) is the actor. The id is stable:
``actor:<alias key>``, ``actor:<org id>``, or ``actor:`` + a hash of the canonical key.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.textutil import nfkc, normalize_arabic
from pipeline.yamldata import load_yaml

ALIASES_PATH = Path(__file__).parent / "data" / "actors" / "aliases.yaml"
# libyaml's safe loader, when built, reads the data files ten times faster than the
# pure-Python one (the same data).

_LEADING_ARTICLES = re.compile(r"^(?:the|l|la|le|les|el|los|las|die|der|das|il|lo)\s+")
_LEGAL_SUFFIXES = re.compile(
    r"(?:\s+(?:s a de c v|s a s|s a u|s a|s r l|s l|inc|incorporated|ltd|limited|llc|plc|corp|gmbh|ag|sa|sas|sarl|sl|srl|ltda|"
    r"bv|nv|co|pty|pte|kk|ab|oy|as|spa|пао|оао|зао|ао|ооо|нао|гк))+$"
)
_LEGAL_PREFIXES = re.compile(r"^(?:пао|оао|зао|ао|ооо|нао|شركه)\s+")
_ZH_SUFFIXES = re.compile(r"(?:股份有限公司|有限责任公司|有限公司)$")
_BRACKETED = re.compile(r"[(\[（]\s*([^()\[\]（）]{1,40}?)\s*[)\]）]")
_STOP_FOR_ACRONYM = frozenset(
    "of the and for in on de des du la le les et pour en el los las y del por a d l "
    "für und der die das".split()
)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def normalize_name(name: str | None) -> str:
    """The matching key of an organisation or person name ('' for an empty name).

    Examples:
        >>> normalize_name("l'Internet Society")
        'internet society'
        >>> normalize_name("ACME Telecom S.A.")
        'acme telecom'
    """
    if not name or not isinstance(name, str):
        return ""
    return _normalize(name)


# The same names recur in every response's metadata, in the entities and in the alias
# file, and the stage re-reads them on every run.
@functools.lru_cache(maxsize=1 << 16)
def _normalize(name: str) -> str:
    text = nfkc(name).casefold()
    text = _BRACKETED.sub(" ", text)
    text = normalize_arabic(_strip_accents(text))
    text = text.replace("ё", "е")
    text = re.sub(r"['’`´]", " ", text)
    text = re.sub(r"[^\w]+", " ", text, flags=re.UNICODE)
    text = " ".join(text.split())
    text = _LEADING_ARTICLES.sub("", text)
    text = _LEGAL_PREFIXES.sub("", text)
    text = _LEGAL_SUFFIXES.sub("", text)
    text = _ZH_SUFFIXES.sub("", text).strip()
    return text


def bracketed_acronyms(name: str | None) -> list[str]:
    """Acronyms written in brackets after a name: 'Internet Society (ISOC)' -> ['isoc']."""
    if not name:
        return []
    out = []
    for inner in _BRACKETED.findall(nfkc(name)):
        inner = inner.strip()
        if re.fullmatch(r"[A-ZА-ЯЁ][A-ZА-ЯЁ0-9&.\-]{1,11}", inner):
            out.append(normalize_name(inner))
    return out


def acronym_of(key: str) -> str:
    """Initials of a normalised name's significant words ('internet society' -> 'is')."""
    words = [w for w in key.split() if w not in _STOP_FOR_ACRONYM]
    return "".join(w[0] for w in words) if len(words) >= 2 else ""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def stable_id(key: str, *, prefix: str = "") -> str:
    """``actor:<slug>`` for short ASCII keys, else ``actor:<prefix>h<sha1[:12]>``."""
    slug = _slug(key)
    if slug and key.isascii() and len(slug) <= 48:
        return f"actor:{prefix}{slug}"
    return f"actor:{prefix}h{hashlib.sha1(key.encode('utf-8')).hexdigest()[:12]}"


@dataclass(frozen=True)
class Alias:
    key: str
    name: str
    org_id: str | None


@functools.lru_cache(maxsize=4)
def load_placeholders(path: Path = ALIASES_PATH) -> frozenset[str]:
    """Normalised values that stand for 'no organisation' ("none", "n/a", "нет" ...)."""
    raw = load_yaml(Path(path).read_text(encoding="utf-8")) or {}
    return frozenset(normalize_name(str(p)) or str(p) for p in raw.get("placeholders") or [])


def is_placeholder(name: str | None, *, path: Path = ALIASES_PATH) -> bool:
    """Whether a name field holds no name ('none', '-', 'n/a', empty)."""
    if not name or not str(name).strip():
        return True
    return (normalize_name(name) or str(name).strip()) in load_placeholders(path)


@functools.lru_cache(maxsize=4)
def load_aliases(path: Path = ALIASES_PATH) -> tuple[dict[str, Alias], dict[str, Alias]]:
    """Normalised variant -> alias, and org id -> alias, from the alias file."""
    raw = load_yaml(Path(path).read_text(encoding="utf-8")) or {}
    by_variant: dict[str, Alias] = {}
    by_org: dict[str, Alias] = {}
    for key, entry in (raw.get("actors") or {}).items():
        alias = Alias(str(key), str(entry["name"]), entry.get("org_id"))
        for variant in [entry["name"], *entry.get("variants", [])]:
            norm = normalize_name(str(variant))
            if norm:
                by_variant.setdefault(norm, alias)
        if alias.org_id:
            by_org[alias.org_id] = alias
    return by_variant, by_org


@dataclass(frozen=True)
class ActorRef:
    """The resolved actor of one response."""

    actor_id: str
    actor_name: str
    merge_reason: str


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The smaller key wins, so the root (and the id) does not depend on order.
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


def resolve_names(
    names: Sequence[tuple[str | None, str | None]],
    *,
    entity_orgs: Mapping[str, str] | None = None,
    spelling_ratio: float = 0.92,
    aliases_path: Path = ALIASES_PATH,
) -> list[ActorRef | None]:
    """Resolve (organisation, respondent) pairs to actors.

    Args:
        names: one (organisation, respondent) pair per response; either may be empty.
        entity_orgs: normalised mention text -> ``org:`` id, from the entities table.
        spelling_ratio: difflib ratio at or above which two names are one (typos).
        aliases_path: the alias file.

    Returns:
        One ``ActorRef`` per pair, or None when both names are empty.
    """
    by_variant, by_org = load_aliases(aliases_path)
    entity_orgs = dict(entity_orgs or {})
    keys: list[str | None] = []
    display: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: dict[str, str] = {}
    uf = _UnionFind()
    for org, person in names:
        key: str | None
        if is_placeholder(org, path=aliases_path):
            org = None
        if is_placeholder(person, path=aliases_path):
            person = None
        okey = normalize_name(org)
        if okey:
            key = "org:" + okey
            display[key][" ".join(str(org).split())] += 1
            for acr in bracketed_acronyms(org):
                if acr and acr != okey:
                    uf.union(key, "org:" + acr)
                    reasons.setdefault(key, f"acronym: {acr.upper()} in brackets")
        else:
            pkey = normalize_name(person)
            key = "person:" + pkey if pkey else None
            if key:
                display[key][" ".join(str(person).split())] += 1
        keys.append(key)
        if key:
            uf.find(key)

    org_keys = sorted(k for k in uf.parent if k.startswith("org:"))
    # Anchor keys: alias entries and entity org ids give the group its id.
    anchor: dict[str, tuple[str, str, str]] = {}
    for k in org_keys:
        norm = k[4:]
        if norm in by_variant:
            alias = by_variant[norm]
            anchor[k] = (f"actor:{alias.key}", alias.name, f"alias: {alias.key}")
        elif norm in entity_orgs:
            oid = entity_orgs[norm]
            linked = by_org.get(oid)
            if linked is not None:
                anchor[k] = (f"actor:{linked.key}", linked.name, f"entity: {oid}")
            else:
                anchor[k] = (stable_id(oid.split(":", 1)[-1]), oid.split(":", 1)[-1], f"entity: {oid}")
    # Keys anchored to the same actor are one group.
    by_anchor: dict[str, list[str]] = defaultdict(list)
    for k, (aid, _, _) in anchor.items():
        by_anchor[aid].append(k)
    for members in by_anchor.values():
        for m in members[1:]:
            uf.union(members[0], m)

    # Acronyms: a short key equal to the initials of a longer one.
    initials: dict[str, list[str]] = defaultdict(list)
    for k in org_keys:
        acr = acronym_of(k[4:])
        if len(acr) >= 2:
            initials[acr].append(k)
    for k in org_keys:
        norm = k[4:]
        if " " not in norm and norm in initials and len(initials[norm]) == 1:
            uf.union(k, initials[norm][0])
            reasons.setdefault(k, f"acronym: {norm.upper()} = initials of '{initials[norm][0][4:]}'")

    # Spelling variants of organisation names (typos, lost accents), compared within
    # blocks of the same first letter. Short names and people are left alone: "Richard
    # Hill" and "Richard Hall" are two people, "Lab 1" and "Lab 2" two labs.
    blocks: dict[str, list[str]] = defaultdict(list)
    for k in org_keys:
        if len(k) >= 4 + 12:
            blocks[k[4]].append(k)
    for block in blocks.values():
        for i, first in enumerate(block):
            for second in block[i + 1:]:
                if uf.find(first) == uf.find(second) or re.findall(r"\d+", first) != re.findall(r"\d+", second):
                    continue
                sm = difflib.SequenceMatcher(None, first, second, autojunk=False)
                if sm.real_quick_ratio() >= spelling_ratio and sm.quick_ratio() >= spelling_ratio \
                        and sm.ratio() >= spelling_ratio:
                    uf.union(first, second)
                    reasons.setdefault(second, f"spelling: '{second[4:]}' ~ '{first[4:]}'")

    groups: dict[str, list[str]] = defaultdict(list)
    for k in uf.parent:
        groups[uf.find(k)].append(k)
    resolved: dict[str, tuple[str, str]] = {}
    for members in groups.values():
        anchored = sorted(anchor[m] for m in members if m in anchor)
        if anchored:
            aid, aname, _ = anchored[0]
        else:
            counts: Counter[str] = Counter()
            for m in members:
                counts.update(display.get(m, Counter()))
            # The longest spelled-out key names the group (not an acronym).
            canon = max(members, key=lambda m: (len(m), m))
            prefix = "person-" if canon.startswith("person:") else ""
            aid = stable_id(canon.split(":", 1)[1], prefix=prefix)
            aname = counts.most_common(1)[0][0] if counts else canon.split(":", 1)[1]
        for m in members:
            resolved[m] = (aid, aname)

    out: list[ActorRef | None] = []
    for key in keys:
        if key is None:
            out.append(None)
            continue
        aid, aname = resolved[key]
        if key in anchor:
            reason = anchor[key][2]
        elif key in reasons:
            reason = reasons[key]
        elif len(groups[uf.find(key)]) > 1:
            reason = "merged: " + next(
                (reasons[m] for m in sorted(groups[uf.find(key)]) if m in reasons),
                next((anchor[m][2] for m in sorted(groups[uf.find(key)]) if m in anchor), "group"),
            )
        else:
            reason = "name: organisation" if key.startswith("org:") else "name: respondent"
        out.append(ActorRef(aid, aname, reason))
    return out
