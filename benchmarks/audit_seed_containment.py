"""Audit a theme set's seed terms for matches inside longer, different words.

Run from the repository root::

    .venv/bin/python benchmarks/audit_seed_containment.py [--out DIR ...] [--corpus DIR ...]
        [--theme-set cwg_internet] [--stem-langs ar] [--min-hits 3] [--share 0.5] [--all]

Chinese seed terms are matched on the character string (``Matcher.match``: one regular
expression of all the Chinese terms, longest first, over the folded text), so a short
term also fires inside any longer word that contains it: ``联网`` (to network) matched
every ``互联网`` (Internet) and ``物联网`` (IoT). For each Chinese seed term the audit
finds the matches the pipeline makes in the texts and segments those texts with the
pipeline's jieba (``pipeline.tokenize``):

- ``whole``: the match starts and ends on word boundaries (one word, or several whole
  words: ``互联网|治理``);
- ``inside``: the match is part of one longer word (``联网`` in ``物联网``);
- ``across``: the match straddles a word boundary and meets one at its start or end
  (``经营许可`` in ``经营|许可证``); a match meeting neither (``人权`` in ``个人|权益``) the
  pipeline does not make.

A term is flagged when ``inside + across`` is at least ``--share`` (default 0.5) of its
at least ``--min-hits`` (default 3) matches; the words around its fragment matches are
listed, most frequent first. jieba's segmentation is not always right and a containing
word may mean the same thing (``宽带`` in ``宽带网``): the flags are for a person to judge.
``dict`` gives the same share over jieba's dictionary, independent of the texts: the
frequency of the longer dictionary words that contain the term, against the term's own.

Words of the other languages are matched whole, by their match keys (Snowball stems;
Arabic with its article and clitics stripped and its spelling folded), so a seed cannot
fire inside a longer word there; but a stem can stand for words other than the seed's.
For the languages of ``--stem-langs`` (default ``ar``) the audit lists, per seed term,
the words as written in the texts that its matches cover: ``as seed`` when they are the
seed's own words (article, clitics, diacritics and spelling folded), ``other`` when the
key is shared by a different written form; a term is flagged when ``other`` reaches
``--share``. Inflections of the seed are ``other`` too, so read the listed forms.

Texts: ``--out DIR`` reads a pipeline output folder (``DIR/ingest/segments.parquet`` and
``DIR/language/languages.parquet``, as ``textmine ingest`` and ``textmine language``
write them; default ``corpora/interim`` when no ``--corpus`` is given either);
``--corpus DIR`` ingests a corpus folder into a temporary folder and takes each
document's language from its ``gold.csv``. Paragraph languages are resolved as the
themes stage resolves them. Nothing is written. Exit status is 0.
"""

from __future__ import annotations

import argparse
import bisect
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.theme_defs import Matcher, load_theme_set
from pipeline.themes import _KNOWN_LANGS, _languages
from pipeline.tokenize import (
    _AR_ARTICLE,
    _analyze_all,
    _jieba,
    fold_text,
    resolve_lang,
    zh_word_bounds,
)

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Tally:
    """Matches of one seed term in the texts."""

    hits: Counter[str] = field(default_factory=Counter)  # kind -> matches
    around: Counter[str] = field(default_factory=Counter)  # containing words of fragments
    docs: set[str] = field(default_factory=set)

    @property
    def n(self) -> int:
        return sum(self.hits.values())

    def share(self, *kinds: str) -> float:
        return sum(self.hits[k] for k in kinds) / self.n if self.n else 0.0


# ---------------------------------------------------------------- texts


def texts_from_out(out: Path) -> Iterator[tuple[str, str, str]]:
    """(doc_id, text, resolved language) of every segment of a pipeline output folder."""
    segments = pd.read_parquet(out / "ingest" / "segments.parquet")
    lang_path = out / "language" / "languages.parquet"
    languages = pd.read_parquet(lang_path) if lang_path.is_file() else pd.DataFrame()
    yield from _resolved(segments, *_languages(languages))


def texts_from_corpus(corpus: Path) -> Iterator[tuple[str, str, str]]:
    """The same for a corpus folder, ingested as the themes benchmark does; languages
    from its gold.csv."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_themes import load_corpus  # a sibling script, not a package

    from pipeline.config import load_config

    segments, docs, gold = load_corpus(corpus, load_config(ROOT / "params.yaml"))
    glang = dict(zip(gold["source_path"], gold["lang"], strict=True))
    doc_lang = {
        str(d): glang.get(p, "").split(";")[0]
        for d, p in zip(docs["doc_id"], docs["source_path"], strict=True)
    }
    yield from _resolved(segments, {}, doc_lang)


def _resolved(
    segments: pd.DataFrame, seg_lang: dict[tuple[str, int], str], doc_lang: dict[str, str]
) -> Iterator[tuple[str, str, str]]:
    for doc_id, seg_id, text in zip(
        segments["doc_id"].astype(str).tolist(),
        segments["seg_id"].tolist(),
        segments["text"].tolist(),
        strict=True,
    ):
        if not isinstance(text, str) or not text:
            continue
        lang = seg_lang.get((doc_id, int(seg_id))) or doc_lang.get(doc_id)
        yield doc_id, text, resolve_lang(text, lang if lang in _KNOWN_LANGS else None)


# ---------------------------------------------------------------- Chinese


def zh_spans(matcher: Matcher, text: str) -> Iterator[tuple[str, str, str]]:
    """(matched term, kind, surrounding words) for each Chinese seed match in ``text``."""
    folded = fold_text(text, "zh")
    matches = list(matcher.zh_matches(folded))
    if not matches:
        return
    bounds = zh_word_bounds(folded)  # the pipeline's own cut, as the matcher checks it
    starts, ends = bounds[:-1], bounds[1:]
    for mo in matches:
        s, e = mo.span()
        first = bisect.bisect_right(starts, s) - 1  # the word the match starts in
        last = bisect.bisect_left(ends, e)  # the word it ends in
        around = folded[starts[first] : ends[last]].strip()
        if starts[first] == s and ends[last] == e:
            kind = "whole"
        elif first == last:
            kind = "inside"
        else:
            kind = "across"
        yield mo.group(0), kind, around


def zh_dictionary_share(terms: set[str]) -> dict[str, tuple[float, list[tuple[str, int]]]]:
    """Per term: share of jieba's dictionary frequency held by longer words containing it,
    and the commonest of those words."""
    freq = _jieba().FREQ
    longer: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for word, f in freq.items():
        if f <= 0 or len(word) < 3:
            continue
        subs = {word[i:j] for i in range(len(word)) for j in range(i + 2, len(word) + 1)}
        for t in subs & terms:
            if t != word:
                longer[t].append((word, f))
    out = {}
    for t in terms:
        words = sorted(longer.get(t, []), key=lambda x: -x[1])
        total = sum(f for _, f in words)
        own = freq.get(t, 0)
        out[t] = (total / (total + own) if total + own else 0.0, words[:5])
    return out


# ---------------------------------------------------------------- stemmed languages


def _bare(word: str, lang: str) -> str:
    """A written word with the parts that do not make it another word folded away."""
    word = fold_text(word, lang)
    if lang == "ar":
        word = _AR_ARTICLE.sub("", word)
    return word


_AR_PROCLITIC = ("و", "ف", "ب", "ل", "ك", "وب", "ول", "وك", "فب", "فل")


def same_words(written: str, seed: str, lang: str) -> bool:
    """Whether ``written`` is ``seed`` (both ``_bare``), word for word; in Arabic a word may
    also carry a conjunction or preposition the article rule leaves ("وحوكمة")."""
    ws, ss = written.split(), seed.split()
    if len(ws) != len(ss):
        return False
    for w, s in zip(ws, ss, strict=True):
        if w == s:
            continue
        if lang == "ar" and any(w == p + s for p in _AR_PROCLITIC):
            continue
        return False
    return True


def stem_hits(
    matcher: Matcher, text: str, lang: str
) -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(match key, words as written) of each seed match in ``text``: the walk of
    ``Matcher.match`` over the match keys, keeping the written words."""
    index = matcher.token_index.get(lang)
    if not index:
        return
    full = [(k, w) for k, w, _, glue in _analyze_all(text, lang) if not glue]
    keys = [k for k, _ in full]
    i, n = 0, len(keys)
    while i < n:
        hit = next(
            (key for key, _ in index.get(keys[i], ()) if tuple(keys[i : i + len(key)]) == key),
            None,
        )
        if hit is None:
            i += 1
            continue
        yield hit, tuple(w for _, w in full[i : i + len(hit)])
        i += len(hit)


def seed_surfaces(matcher: Matcher, lang: str) -> dict[tuple[str, ...], dict[str, set[str]]]:
    """Per match key of ``lang``: its seed terms, each with its words as written (folded)."""
    out: dict[tuple[str, ...], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for concept in matcher.concepts:
        for term in concept.terms.get(lang, ()):
            full = [(k, w) for k, w, _, glue in _analyze_all(term, lang) if not glue]
            key = tuple(k for k, _ in full)
            if key:
                out[key][term].add(" ".join(_bare(w, lang) for _, w in full))
    return out


# ---------------------------------------------------------------- report


def concepts_of(matcher: Matcher, lang: str) -> dict[str, list[str]]:
    """Seed term -> the concepts (theme/name) it seeds, in ``lang``."""
    out: dict[str, list[str]] = defaultdict(list)
    for c in matcher.concepts:
        for term in c.terms.get(lang, ()):
            key = fold_text(term, lang) if lang == "zh" else term
            if c.key not in out[key]:
                out[key].append(c.key)
    return out


def _top(counter: Counter[str], k: int = 6) -> str:
    return ", ".join(f"{w} {n}" for w, n in counter.most_common(k))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--theme-set", default="cwg_internet")
    ap.add_argument(
        "--out", type=Path, action="append", default=[], help="a pipeline output folder"
    )
    ap.add_argument(
        "--corpus", type=Path, action="append", default=[], help="a corpus folder with gold.csv"
    )
    ap.add_argument(
        "--stem-langs",
        nargs="*",
        default=["ar"],
        help="token languages to check for stem collisions",
    )
    ap.add_argument("--min-hits", type=int, default=3)
    ap.add_argument("--share", type=float, default=0.5)
    ap.add_argument(
        "--all", action="store_true", help="list every matched term, not only flagged ones"
    )
    args = ap.parse_args(argv)
    if not args.out and not args.corpus:
        args.out = [ROOT / "corpora" / "interim"]
    matcher = Matcher.build(load_theme_set(args.theme_set, min_terms=0))
    zh_concepts = concepts_of(matcher, "zh")
    zh: dict[str, Tally] = defaultdict(Tally)
    zh_raw: Counter[str] = Counter()  # occurrences of the term, matched or not
    stem: dict[str, dict[tuple[str, ...], Tally]] = {
        lg: defaultdict(Tally) for lg in args.stem_langs
    }
    n_seg: Counter[str] = Counter()
    sources = [texts_from_out(o) for o in args.out] + [texts_from_corpus(c) for c in args.corpus]
    zh_terms = {t for t, _ in matcher.zh_terms}
    for source in sources:
        for doc_id, text, lang in source:
            n_seg[lang] += 1
            if lang == "zh":
                folded = fold_text(text, "zh")
                for t in zh_terms:
                    if t in folded:
                        zh_raw[t] += folded.count(t)
                for term, kind, around in zh_spans(matcher, text):
                    tally = zh[term]
                    tally.hits[kind] += 1
                    tally.docs.add(doc_id)
                    if kind != "whole":
                        tally.around[around] += 1
            elif lang in stem:
                for key, words in stem_hits(matcher, text, lang):
                    tally = stem[lang][key]
                    written = " ".join(_bare(w, lang) for w in words)
                    tally.hits[written] += 1
                    tally.docs.add(doc_id)
    print("segments read per language: " + ", ".join(f"{lg} {n}" for lg, n in n_seg.most_common()))

    # Chinese
    dict_share = zh_dictionary_share(zh_terms)
    rows = []
    for term, tally in zh.items():
        frag = tally.share("inside", "across")
        flagged = tally.n >= args.min_hits and frag >= args.share
        if flagged or args.all:
            rows.append((not flagged, -frag, -tally.n, term, tally, flagged))
    rows.sort(key=lambda r: r[:4])
    print(
        f"\nzh seed terms, matches the pipeline makes: whole words / inside a longer word / across "
        f"a word boundary (flagged: fragments >= {args.share:.0%} of >= {args.min_hits} matches)"
    )
    print(
        f"{'term':<14}{'concept':<36}{'match':>6}{'whole':>6}{'in':>5}{'across':>7}{'frag':>6}{'dict':>6}  docs"
    )
    for _, _, _, term, tally, flagged in rows:
        share, _ = dict_share.get(term, (0.0, []))
        print(
            f"{('* ' if flagged else '  ') + term:<14}{','.join(zh_concepts[term])[:35]:<36}{tally.n:>6}"
            f"{tally.hits['whole']:>6}{tally.hits['inside']:>5}{tally.hits['across']:>7}"
            f"{tally.share('inside', 'across'):>6.0%}{share:>6.0%}  {len(tally.docs)}"
        )
        if tally.around:
            print(f"      in: {_top(tally.around)}")
        if share >= args.share:
            print("      dict: " + ", ".join(w for w, _ in dict_share[term][1]))
    shadowed = {t: zh_raw[t] - zh[t].n for t in zh_raw if zh_raw[t] > zh[t].n}
    if shadowed:
        print(
            "  occurrences inside a longer seed's match (counted for that seed): "
            + ", ".join(f"{t} {n}" for t, n in sorted(shadowed.items(), key=lambda x: -x[1])[:12])
        )
    risky = sorted(
        ((s, t, w) for t, (s, w) in dict_share.items() if s >= args.share and t not in zh),
        reverse=True,
    )
    if risky:
        print("  terms without matches here whose dictionary share is high: ")
        for s, t, w in risky[:12]:
            print(f"    {t} {s:.0%}: " + ", ".join(x for x, _ in w))

    # Stemmed languages
    for lang in args.stem_langs:
        seeds = seed_surfaces(matcher, lang)
        concepts = concepts_of(matcher, lang)
        print(
            f"\n{lang} seed terms: matches as written like the seed / in another form sharing its "
            f"key (flagged: other >= {args.share:.0%} of >= {args.min_hits} matches)"
        )
        print(f"{'term':<34}{'concept':<36}{'match':>6}{'seed':>6}{'other':>6}  docs")
        out_rows = []
        for key, tally in stem[lang].items():
            own = {s for forms in seeds.get(key, {}).values() for s in forms}
            other = Counter(
                {
                    w: n
                    for w, n in tally.hits.items()
                    if not any(same_words(w, s, lang) for s in own)
                }
            )
            n_other = sum(other.values())
            flagged = tally.n >= args.min_hits and n_other / tally.n >= args.share
            if flagged or args.all:
                terms = sorted(seeds.get(key, {}))
                out_rows.append((not flagged, -n_other / tally.n, terms, tally, other, flagged))
        out_rows.sort(key=lambda r: r[:2])
        for _, _, terms, tally, other, flagged in out_rows:
            names = ",".join(sorted({c for t in terms for c in concepts[t]}))
            label = ("* " if flagged else "  ") + " = ".join(terms)
            print(
                f"{label[:33]:<34}{names[:35]:<36}{tally.n:>6}"
                f"{tally.n - sum(other.values()):>6}{sum(other.values()):>6}  {len(tally.docs)}"
            )
            if other:
                print(f"      as: {_top(other)}")
    print(
        "\nreproduce: .venv/bin/python benchmarks/audit_seed_containment.py "
        + " ".join(str(a) for a in (argv if argv is not None else sys.argv[1:]))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
