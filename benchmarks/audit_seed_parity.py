"""Audit a theme set's seed terms for parity across the six UN languages.

Run from the repository root::

    .venv/bin/python benchmarks/audit_seed_parity.py [--theme-set cwg_internet] [--corpus DIR] [--all]

Scores are comparable across languages only if every language can name each concept in
as many ways as the others: a concept that English covers with five distinct words and
Spanish with one scores Spanish documents lower. For each concept and language the audit
prints:

- ``terms``: seed terms as written;
- ``forms``: distinct forms after tokenisation (the match keys of ``pipeline.tokenize``;
  "pandemic" and "pandemics" fold to one form), the real breadth of the concept;
- ``dead``: terms that leave no word to match once tokenised (all glue words or
  punctuation), or that the matcher does not find in their own text (the term, read as
  a text of that language, does not match its concept);
- ``dup``: terms whose form repeats another term of the same concept (harmless, but
  they inflate ``terms`` without adding reach).

A concept is flagged ``LOW`` in a language whose ``forms`` count is below
``--ratio`` (default 0.6) times the concept's median over the six languages, or which
has a single form where the median is three or more. With ``--corpus DIR`` (a folder with a
``gold.csv``), the audit also counts, per language, how many of the corpus's documents
each concept matches, which shows concepts a language's documents discuss but its seeds
miss; the corpus text is only read, nothing from it is written.

With ``--ru-cases``, every Russian seed term's head noun phrase is inflected into the
six cases, singular and plural, with pymorphy3, and the forms its concept does not match
are listed: Snowball stems some case forms apart ("систем" -> сист, "системы" -> систем),
so a seed written in one case can miss the others; add the missing form to the seeds.

Exit status is 0; the figures are for a person to read (``--all`` lists every concept,
not only the flagged ones).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pipeline.schemas import UN_LANGUAGES
from pipeline.theme_defs import Concept, Matcher, load_theme_set
from pipeline.tokenize import fold_text, match_keys

ROOT = Path(__file__).resolve().parents[1]
LANGS = tuple(UN_LANGUAGES)


def term_form(term: str, lang: str) -> tuple[str, ...]:
    """The matchable form of one seed term (what the matcher compares with texts)."""
    if lang == "zh":
        folded = fold_text(term, "zh")
        return (folded,) if folded.strip() else ()
    return tuple(match_keys(term, lang))


def audit_concept(concept: Concept, matcher: Matcher, ci: int) -> dict[str, dict[str, object]]:
    """Per language: terms, distinct forms, dead terms and duplicates of one concept."""
    out: dict[str, dict[str, object]] = {}
    for lang in LANGS:
        terms = concept.terms.get(lang, ())
        forms: dict[tuple[str, ...], str] = {}
        dead, dup = [], []
        for term in terms:
            form = term_form(term, lang)
            hits = matcher.match(term, list(match_keys(term, lang)), lang) if form else Counter()
            if not form or hits.get(ci, 0) == 0:
                dead.append(term)
                continue
            if form in forms:
                dup.append(f"{term}={forms[form]}")
            else:
                forms[form] = term
        out[lang] = {"terms": len(terms), "forms": len(forms), "dead": dead, "dup": dup}
    return out


def flag(row: dict[str, dict[str, object]], ratio: float) -> dict[str, str]:
    """Languages whose breadth for a concept falls short of the others'."""
    counts = {lang: int(row[lang]["forms"]) for lang in LANGS}  # type: ignore[call-overload]
    med = statistics.median(counts.values())
    flags = {}
    for lang, n in counts.items():
        if n == 0 or n < ratio * med or (n == 1 and med >= 3):
            flags[lang] = "LOW"
        if row[lang]["dead"]:
            flags[lang] = (flags.get(lang, "") + " DEAD").strip()
    return flags


def corpus_doc_hits(corpus: Path, matcher: Matcher) -> tuple[dict[str, Counter[int]], Counter[str]]:
    """Per language: how many documents of ``corpus`` match each concept, and how many
    documents the language has (languages from the corpus's ``gold.csv``)."""
    import tempfile

    import pandas as pd

    from pipeline.config import load_config
    from pipeline.ingest import ingest_corpus
    from pipeline.tokenize import analyze_both, resolve_lang

    cfg = load_config(ROOT / "params.yaml")
    gold = pd.read_csv(corpus / "gold.csv", dtype=str, keep_default_na=False)
    glang = {p: lg.split(";")[0] for p, lg in zip(gold["source_path"], gold["lang"], strict=True)}
    with tempfile.TemporaryDirectory() as tmp:
        tables = ingest_corpus(corpus, cfg, cache_dir=Path(tmp))
    docs = tables["documents"]
    lang_of = {d: glang.get(p, "") for d, p in zip(docs["doc_id"], docs["source_path"], strict=True)}
    per_doc: dict[str, set[int]] = defaultdict(set)
    for d, text in tables["segments"][["doc_id", "text"]].itertuples(index=False):
        lang = resolve_lang(text, lang_of.get(d) or None)
        _, keys = analyze_both(text, lang)
        per_doc[d] |= set(matcher.match(text, keys, lang))
    hits: dict[str, Counter[int]] = defaultdict(Counter)
    n_docs: Counter[str] = Counter()
    for d, lang in lang_of.items():
        if lang in LANGS:
            n_docs[lang] += 1
            hits[lang].update(per_doc.get(d, set()))
    return hits, n_docs


_RU_CASES = [(c, n) for n in ("sing", "plur") for c in ("nomn", "gent", "datv", "accs", "ablt", "loct")]


def _inflect_ru(words: list[str], case: str, number: str, morph: Any) -> str | None:
    """The phrase with its head noun phrase (agreeing adjectives and the first noun) in
    ``case`` and ``number``; complements keep their case. None if a word is unknown."""
    out: list[str] = []
    done = False
    for w in words:
        parse = morph.parse(w)[0]
        if not done and parse.tag.POS in ("NOUN", "ADJF", "PRTF") and w.isalpha():
            form = parse.inflect({case, number}) if parse.is_known else None
            if form is None:
                return None
            out.append(form.word)
            done = parse.tag.POS == "NOUN"
        else:
            out.append(w)
            done = True
    return " ".join(out)


def ru_case_gaps(matcher: Matcher) -> list[tuple[str, str, list[str]]]:
    """(concept, seed term, case forms of it that the concept does not match), Russian."""
    import pymorphy3

    morph = pymorphy3.MorphAnalyzer()
    gaps = []
    for ci, concept in enumerate(matcher.concepts):
        for term in concept.terms.get("ru", ()):
            missing = []
            for case, number in _RU_CASES:
                form = _inflect_ru(term.split(), case, number, morph)
                if form is None or form in missing:
                    continue
                if matcher.match(form, match_keys(form, "ru"), "ru").get(ci, 0) == 0:
                    missing.append(form)
            if missing:
                gaps.append((concept.key, term, missing))
    return gaps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--theme-set", default="cwg_internet")
    ap.add_argument("--corpus", type=Path, help="a corpus folder with gold.csv: documents matched per concept")
    ap.add_argument("--ratio", type=float, default=0.6)
    ap.add_argument("--all", action="store_true", help="list every concept, not only flagged ones")
    ap.add_argument("--ru-cases", action="store_true", help="list Russian case forms the seeds miss")
    args = ap.parse_args(argv)
    defs = load_theme_set(args.theme_set, min_terms=0)
    matcher = Matcher.build(defs)
    hits = n_docs = None
    if args.corpus is not None:
        hits, n_docs = corpus_doc_hits(args.corpus, matcher)
    header = "concept".ljust(44) + "".join(f"{lg:>9}" for lg in LANGS)
    print("forms per concept and language (terms in brackets); LOW = narrower than the others")
    print(header)
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    n_flagged = 0
    for ci, concept in enumerate(matcher.concepts):
        row = audit_concept(concept, matcher, ci)
        flags = flag(row, args.ratio)
        for lang in LANGS:
            totals[lang]["terms"] += int(row[lang]["terms"])  # type: ignore[call-overload]
            totals[lang]["forms"] += int(row[lang]["forms"])  # type: ignore[call-overload]
            totals[lang]["low"] += "LOW" in flags.get(lang, "")
            totals[lang]["dead"] += len(row[lang]["dead"])  # type: ignore[arg-type]
        if not flags and not args.all:
            continue
        n_flagged += bool(flags)
        cells = "".join(
            f"{str(row[lg]['forms']) + '(' + str(row[lg]['terms']) + ')' + ('!' if lg in flags else ''):>9}"
            for lg in LANGS
        )
        print(f"{concept.key[:43]:<44}{cells}")
        for lang, what in flags.items():
            dead = row[lang]["dead"]
            print(f"    {lang} {what}" + (f": dead {dead}" if dead else ""))
        if hits is not None and n_docs is not None:
            print(
                "    documents matched: "
                + ", ".join(f"{lg} {hits[lg][ci]}/{n_docs[lg]}" for lg in LANGS if n_docs[lg])
            )
    print("\nper language: terms, distinct forms, concepts flagged LOW, dead terms")
    for lang in LANGS:
        t = totals[lang]
        print(f"  {lang}: {t['terms']} terms, {t['forms']} forms, {t['low']} LOW, {t['dead']} dead")
    print(f"{n_flagged} of {len(matcher.concepts)} concepts flagged")
    if args.ru_cases:
        gaps = ru_case_gaps(matcher)
        print(f"\nRussian seed terms with case forms their concept misses: {len(gaps)}")
        for key, term, missing in gaps:
            print(f"  {key}: {term!r} misses {missing[:4]}{' ...' if len(missing) > 4 else ''}")
    print(
        "\nreproduce: .venv/bin/python benchmarks/audit_seed_parity.py "
        + " ".join(a for a in (argv if argv is not None else sys.argv[1:]))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
