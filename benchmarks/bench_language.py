"""Benchmark the language detectors on the real labelled text of ``../shared/corpora/dev``.

For each detector (langdetect seeded, lingua high-accuracy, fastText lid.176 small):

* accuracy on snippets of 20, 50, 100 and 500 characters cut from the dev documents'
  paragraphs, per language, both for the raw model (its best answer among the languages
  it is asked about) and for the stage's decision (script evidence + candidates);
* throughput in segments per second on the 100-character snippets (stage decision,
  detector already loaded), and the detector's load time.

Run from the repository root::

    .venv/bin/python benchmarks/bench_language.py [--dev DIR] [--per-lang 300] [--detectors langdetect,lingua,fasttext] [--stage]

Only the ``.txt``, ``.md``, ``.docx`` and ``.html`` files are read (no ingest needed), so the measurement does
not depend on PDF extraction; the documents' gold language comes from ``gold.csv``.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

from pipeline.config import Config, LanguageConfig
from pipeline.language import (
    Settings,
    classify_text,
    clean_for_detection,
    folded_distribution,
    get_backend,
    load_script_rules,
    model_languages,
)
from pipeline.schemas import UN_LANGUAGES
from pipeline.textutil import dominant_script

DEFAULT_DEV = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "dev"
LENGTHS = (20, 50, 100, 500)

_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_SHORTCODE = re.compile(r"\{\{[<%].*?[>%]\}\}", re.DOTALL)
_HTML = re.compile(r"<[^>]+>")
_MD_MARK = re.compile(r"^[#>*\-\s|]+", re.MULTILINE)
_ATTRS = re.compile(r"\{[^{}]*\}")
SUFFIXES = (".txt", ".md", ".docx", ".html")


def read_plain(path: Path) -> str:
    """The text of a dev file, paragraphs separated by blank lines, furniture removed.

    ``.txt``/``.md`` are read directly, ``.docx`` with python-docx and ``.html`` with
    BeautifulSoup; PDFs are left out (Arabic PDFs need ingest's visual-order repair).
    """
    if path.suffix == ".docx":
        import docx

        return "\n\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    if path.suffix == ".html":
        from bs4 import BeautifulSoup

        raw = path.read_bytes()
        soup = BeautifulSoup(raw, "lxml")
        return "\n\n".join(p.get_text(" ") for p in soup.find_all("p"))
    text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    if path.suffix == ".md":
        text = _FRONT_MATTER.sub("", text)
        text = _SHORTCODE.sub(" ", text)
        text = _ATTRS.sub(" ", text)
        text = _HTML.sub(" ", text)
        text = _MD_MARK.sub("", text)
    return text


def dev_documents(dev: Path) -> list[tuple[str, str, list[str]]]:
    """``(source_path, gold lang, paragraphs)`` for every txt/md file listed in gold."""
    gold = pd.read_csv(dev / "gold.csv", dtype=str, keep_default_na=False)
    docs = []
    for source_path, lang in sorted(zip(gold["source_path"], gold["lang"], strict=True)):
        path = dev / source_path
        if path.suffix not in SUFFIXES or not path.exists():
            continue
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", read_plain(path)) if p.strip()]
        docs.append((source_path, lang, paragraphs))
    return docs


def snippets(
    docs: list[tuple[str, str, list[str]]], length: int, *, per_lang: int, seed: int
) -> list[tuple[str, str]]:
    """``(gold lang, text)`` windows of ``length`` characters, sampled evenly per language.

    Windows start at a word start and are cut from one paragraph (joined lines), so a
    snippet is real running text of a single-language document.
    """
    pool: dict[str, list[str]] = defaultdict(list)
    rules = load_script_rules()
    for _, lang, paragraphs in docs:
        if lang not in UN_LANGUAGES:
            continue
        for para in paragraphs:
            flat = " ".join(para.split())
            clean = clean_for_detection(flat)
            if len(clean) < length:
                continue
            # One window every length/2 characters, moved to the next word start in
            # scripts that space words.
            for pos in range(0, len(clean) - length + 1, max(1, length // 2)):
                if pos and " " in clean[pos - 1 : pos + 15]:
                    nxt = clean.find(" ", pos - 1) + 1
                    pos = nxt if nxt + length <= len(clean) else pos
                window = clean[pos : pos + length]
                # Label noise, not detector error: an English phrase inside a Chinese
                # document is not a sample of Chinese. Drop windows whose letters are
                # mostly in another script than the document language's.
                if dominant_script(window) != rules.script_of(lang):
                    continue
                pool[lang].append(window)
    rng = random.Random(seed)
    out = []
    for lang in sorted(pool):
        items = sorted(set(pool[lang]))
        rng.shuffle(items)
        out.extend((lang, t) for t in items[:per_lang])
    return out


def measure(detector: str, sets: dict[int, list[tuple[str, str]]], seed: int) -> dict:
    cfg = dataclasses.replace(Config(), language=LanguageConfig(detector=detector))
    settings = Settings.from_config(cfg)
    asked = model_languages(settings.candidates, load_script_rules())
    t0 = time.perf_counter()
    backend = get_backend(detector, asked, seed)
    backend.distribution("warm up the detector")
    load_s = time.perf_counter() - t0
    result: dict = {"load_s": load_s, "acc": {}, "raw": {}, "per_lang": {}}
    for length, items in sets.items():
        ok = Counter()
        raw_ok = Counter()
        n = Counter()
        start = time.perf_counter()
        for lang, text in items:
            guess = classify_text(text, settings)
            n[lang] += 1
            ok[lang] += guess.lang == lang
        elapsed = time.perf_counter() - start
        for lang, text in items:
            dist = folded_distribution(backend, text, frozenset(asked))
            raw_ok[lang] += bool(dist) and dist[0][0] == lang
        result["acc"][length] = sum(ok.values()) / max(sum(n.values()), 1)
        result["raw"][length] = sum(raw_ok.values()) / max(sum(n.values()), 1)
        result["per_lang"][length] = {lang: ok[lang] / n[lang] for lang in sorted(n)}
        if length == 100:
            result["per_s"] = len(items) / elapsed
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--per-lang", type=int, default=150, help="snippets per language and length")
    parser.add_argument("--detectors", default="langdetect,lingua,fasttext")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--stage", action="store_true",
                        help="also time ingest and the whole language stage on the dev corpus")
    args = parser.parse_args(argv)
    if not (args.dev / "gold.csv").exists():
        print(f"no dev corpus at {args.dev} (needs gold.csv)", file=sys.stderr)
        return 1
    docs = dev_documents(args.dev)
    sets = {n: snippets(docs, n, per_lang=args.per_lang, seed=args.seed) for n in LENGTHS}
    counts = {n: Counter(lang for lang, _ in items) for n, items in sets.items()}
    print(f"dev corpus: {args.dev} ({len(docs)} txt/md/docx/html documents)")
    for n in LENGTHS:
        print(f"  {n:>3}-char snippets: {len(sets[n])} ({', '.join(f'{k}={v}' for k, v in sorted(counts[n].items()))})")
    print()
    header = f"{'detector':<11} {'load s':>7} {'seg/s@100':>10} " + " ".join(
        f"{'acc@' + str(n):>8} {'raw@' + str(n):>8}" for n in LENGTHS
    )
    print(header)
    results = {}
    for det in args.detectors.split(","):
        r = measure(det.strip(), sets, args.seed)
        results[det] = r
        print(
            f"{det:<11} {r['load_s']:7.2f} {r.get('per_s', 0):10.0f} "
            + " ".join(f"{r['acc'][n]:8.1%} {r['raw'][n]:8.1%}" for n in LENGTHS)
        )
    print("\nstage accuracy per language (acc = script evidence + candidates; raw = model alone)")
    for det, r in results.items():
        for n in LENGTHS:
            per = r["per_lang"][n]
            print(f"  {det:<11} @{n:>3}: " + "  ".join(f"{k} {v:6.1%}" for k, v in per.items()))
    if args.stage:
        print()
        stage_share(args.dev, args.detectors.split(","))
    print(
        "\nreproduce: .venv/bin/python benchmarks/bench_language.py "
        f"--dev {args.dev} --per-lang {args.per_lang} --detectors {args.detectors} --seed {args.seed}"
        + (" --stage" if args.stage else "")
    )
    return 0


def stage_share(dev: Path, detectors: list[str]) -> None:
    """Time ingest (cold cache) and the language stage on the whole dev corpus, serially."""
    import tempfile

    from pipeline.config import ComputeConfig
    from pipeline.ingest import ingest_corpus
    from pipeline.language import detect_languages

    cfg = dataclasses.replace(Config(), compute=ComputeConfig(workers=1))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        tables = ingest_corpus(dev, cfg, cache_dir=Path(tmp))
        ingest_s = time.perf_counter() - start
    n = len(tables["segments"])
    print(f"whole-corpus stage time (1 worker): ingest {ingest_s:.1f} s for {len(tables['documents'])} documents")
    for det in detectors:
        run_cfg = dataclasses.replace(cfg, language=LanguageConfig(detector=det.strip()))
        start = time.perf_counter()
        detect_languages(tables["segments"], tables["documents"], run_cfg)
        secs = time.perf_counter() - start
        print(f"  language[{det}] {secs:.1f} s for {n} segments ({n / secs:.0f} segments/s, "
              f"model load included), {secs / (secs + ingest_s):.0%} of ingest+language")


if __name__ == "__main__":
    raise SystemExit(main())
