"""Reuse benchmark: edited copies injected into the sample corpus, and a 10,000-response run.

Part 1 copies ``corpora/raw/sample`` to a temporary folder and injects, for a dozen of
its responses in all six languages, edited copies of the extracted PDF/DOCX text:
word swaps (TXT), reordered paragraphs (DOCX), a changed signature (DOCX), the same text
in another format (TXT), and all three edits together (DOCX). It runs ``textmine ingest``
and ``textmine language`` on that folder, then the actors stage, and prints pair-level
precision and recall of the near-duplicate clusters (target: at least 0.95 each).

Part 2 times the whole actors stage (typing, names, reuse) on 10,000 synthetic responses
with 5% edited copies among them (target: under 2 minutes), and prints its precision and
recall too. Then, unless ``--skip-incremental``, the incremental re-run: the stage runs
with its cache (``<tmp>/cache/actors`` and ``actors-pairs``) on all responses but one,
then again with that one added; it prints the re-run's time against the uncached run's
and checks that both give identical tables.

Reproduce:
    .venv/bin/python benchmarks/bench_reuse.py            # all parts
    .venv/bin/python benchmarks/bench_reuse.py --n 2000   # a smaller synthetic run
    .venv/bin/python benchmarks/bench_reuse.py --skip-sample --n 1000   # synthetic and incremental only
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import actors_synth  # noqa: E402

from pipeline.actors import resolve_actors  # noqa: E402
from pipeline.cli import main as textmine  # noqa: E402
from pipeline.config import Config, load_config  # noqa: E402
from pipeline.tables import read_table, table_path  # noqa: E402

EMPTY_ENTITIES = pd.DataFrame(columns=["doc_id", "seg_id", "char_start", "char_end", "text", "label",
                                       "canonical_id", "canonical_name", "source"])
_HAN = re.compile(r"[\u4e00-\u9fff]")


def swap_words(text: str, rng: random.Random, *, rate: float = 0.05) -> str:
    """Replace about ``rate`` of the words (Han characters for Chinese) by others from the text."""
    if len(_HAN.findall(text)) > len(text) / 3:
        chars = list(text)
        han = [i for i, ch in enumerate(chars) if _HAN.match(ch)]
        for i in han:
            if rng.random() < rate:
                chars[i] = chars[rng.choice(han)]
        return "".join(chars)
    tokens = re.split(r"(\s+)", text)
    words = [t for t in tokens if t.strip()]
    return "".join(rng.choice(words) if t.strip() and rng.random() < rate else t for t in tokens)


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def reorder(text: str, rng: random.Random) -> str:
    paras = paragraphs(text)
    body, tail = paras[:-1], paras[-1:]
    rng.shuffle(body)
    return "\n\n".join(body + tail)


def change_signature(text: str, rng: random.Random) -> str:
    paras = paragraphs(text)
    return "\n\n".join(paras[:-1] + [f"{rng.choice(['A. Moreau', 'K. Osei', 'L. Chen', 'R. Haddad'])}, "
                                     f"{rng.choice(['Director', 'Secretary', 'Coordinator'])}"])


def write_docx(path: Path, text: str) -> None:
    import docx

    doc = docx.Document()
    for para in paragraphs(text):
        doc.add_paragraph(para)
    doc.save(str(path))


def inject(src: Path, dst: Path, texts: dict[str, str], rng: random.Random, *, n_sources: int
           ) -> dict[str, str]:
    """Copy the corpus and add edited copies; returns copy file name -> source file name."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("gold.csv", "metadata.csv"))
    by_lang: dict[str, list[str]] = {}
    for name in sorted(texts):
        by_lang.setdefault(name.split("-")[0], []).append(name)
    picks = [n for group in itertools.zip_longest(*by_lang.values()) for n in group if n][:n_sources]
    truth = {}
    for k, name in enumerate(picks):
        text = texts[name]
        stem = f"zz-copy{k:02d}"
        variants = {
            f"{stem}-swap.txt": swap_words(text, rng),
            f"{stem}-reorder.docx": reorder(text, rng),
            f"{stem}-signature.docx": change_signature(text, rng),
            f"{stem}-format.txt": text,
            f"{stem}-all.docx": change_signature(reorder(swap_words(text, rng, rate=0.03), rng), rng),
        }
        for fname, body in variants.items():
            if fname.endswith(".docx"):
                write_docx(dst / fname, body)
            else:
                (dst / fname).write_text(body, encoding="utf-8")
            truth[fname] = name
    return truth


def pair_scores(clusters: dict[str, str | None], groups: dict[str, str]) -> tuple[float, float, int, int]:
    """Pair-level precision and recall of predicted clusters against true groups."""
    def pairs(assign: dict[str, str | None]) -> set[tuple[str, str]]:
        by: dict[str, list[str]] = {}
        for doc, c in assign.items():
            if c:
                by.setdefault(c, []).append(doc)
        return {tuple(sorted(p)) for members in by.values() for p in itertools.combinations(members, 2)}

    pred, true = pairs(clusters), pairs(dict(groups))
    tp = len(pred & true)
    return (tp / len(pred) if pred else 1.0), (tp / len(true) if true else 1.0), len(pred), len(true)


def bench_sample(params: Path, *, n_sources: int, seed: int) -> None:
    sample = ROOT / "corpora" / "raw" / "sample"
    with tempfile.TemporaryDirectory(prefix="bench-reuse-") as tmp:
        tmp_path = Path(tmp)
        base_out = tmp_path / "base"
        assert textmine(["ingest", "--corpus", str(sample), "--out", str(base_out), "--params", str(params)]) == 0
        docs = read_table(table_path(base_out, "ingest", "documents"), name="documents")
        texts = {sp: t for sp, t in zip(docs["source_path"], docs["text"], strict=True)
                 if isinstance(t, str) and len(t) > 500 and not sp.startswith("xx-")}
        corpus = tmp_path / "corpus"
        truth = inject(sample, corpus, texts, random.Random(seed), n_sources=n_sources)
        out = tmp_path / "out"
        start = time.perf_counter()
        for stage in ("ingest", "language"):
            args = [stage, "--out", str(out), "--params", str(params)]
            assert textmine(args + (["--corpus", str(corpus)] if stage == "ingest" else [])) == 0
        t = {n: read_table(table_path(out, "ingest", n), name=n) for n in ("documents", "segments")}
        langs = read_table(table_path(out, "language", "languages"), name="languages")
        cfg = load_config(params)
        t0 = time.perf_counter()
        actors, reuse = resolve_actors(t["documents"], t["segments"], langs, EMPTY_ENTITIES, cfg)
        actors_s = time.perf_counter() - t0
        path_of = dict(zip(t["documents"]["doc_id"], t["documents"]["source_path"], strict=True))
        clusters = {path_of[d]: c if k == "near_duplicate" else None
                    for d, c, k in zip(actors["doc_id"], actors["reuse_cluster"], actors["reuse_kind"], strict=True)}
        groups = {p: truth.get(p, p) for p in clusters}
        p, r, n_pred, n_true = pair_scores(clusters, groups)
        kinds = {k: sum(1 for f in truth if f.split("-")[-1].split(".")[0] == k) for k in
                 ("swap", "reorder", "signature", "format", "all")}
        found = {k: sum(1 for f, s in truth.items() if f.split("-")[-1].split(".")[0] == k and f in clusters
                        and clusters[f] and clusters[f] == clusters.get(s)) for k in kinds}
        psg = reuse[reuse["kind"] == "shared_passage"]["reuse_cluster"].nunique()
        print(f"sample + {len(truth)} injected copies of {len(set(truth.values()))} responses "
              f"({len(actors)} documents; ingest+language+actors {time.perf_counter() - start:.1f} s, "
              f"actors {actors_s:.1f} s)")
        print(f"  near-duplicate pairs: precision {p:.3f}, recall {r:.3f} ({n_pred} predicted, {n_true} true)")
        print("  copies found per edit: " + ", ".join(f"{k} {found[k]}/{kinds[k]}" for k in kinds))
        print(f"  shared-passage clusters (outside near-duplicates): {psg}")


def bench_synthetic(n: int, *, seed: int, dup_share: float = 0.05, incremental: bool = True) -> None:
    rng = random.Random(seed)
    n_copies = int(n * dup_share)
    texts: dict[str, str] = {}
    groups: dict[str, str] = {}
    for i in range(n - n_copies):
        d = f"s{i:06d}"
        texts[d] = actors_synth.response(rng, paragraphs=rng.randint(4, 12))
        groups[d] = d
    sources = sorted(texts)
    for j in range(n_copies):
        src = rng.choice(sources[: max(1, n_copies // 3)])  # campaigns: several copies per source
        d = f"c{j:06d}"
        texts[d] = actors_synth.edit(texts[src], rng, rng.choice(["swap", "reorder", "signature", "all"]))
        groups[d] = src
    docs, segs, langs, ents = actors_synth.tables(texts)
    cfg = Config()
    start = time.perf_counter()
    actors, reuse = resolve_actors(docs, segs, langs, ents, cfg)
    secs = time.perf_counter() - start
    clusters = {d: c if k == "near_duplicate" else None
                for d, c, k in zip(actors["doc_id"], actors["reuse_cluster"], actors["reuse_kind"], strict=True)}
    p, r, n_pred, n_true = pair_scores(clusters, groups)
    words = sum(len(t.split()) for t in texts.values())
    print(f"synthetic: {n} responses ({n_copies} edited copies, {words / n:.0f} words each, {len(segs)} paragraphs): "
          f"actors stage {secs:.1f} s (target < 120 s)")
    print(f"  near-duplicate pairs: precision {p:.3f}, recall {r:.3f} ({n_pred} predicted, {n_true} true)")
    if incremental:
        bench_incremental(texts, (actors, reuse), secs, cfg)


def bench_incremental(texts: dict[str, str], scratch: tuple[pd.DataFrame, pd.DataFrame], scratch_s: float,
                      cfg: Config) -> None:
    """The stage with its caches, on all responses but one, then with that one added."""
    last = sorted(texts)[len(texts) // 2]  # sorts into the middle: the rows after it shift
    before = {d: t for d, t in texts.items() if d != last}
    with tempfile.TemporaryDirectory(prefix="bench-reuse-incr-") as tmp:
        cache = Path(tmp) / "cache" / "actors"
        resolve_actors(*actors_synth.tables(before), cfg, cache_dir=cache)
        tables = actors_synth.tables(texts)
        wall, cpu = time.perf_counter(), time.process_time()
        got = resolve_actors(*tables, cfg, cache_dir=cache)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    same = all(g.equals(w) for g, w in zip(got, scratch, strict=True))
    print(f"  incremental re-run (one response added, cached): {wall:.2f} s wall, {cpu:.2f} s CPU, "
          f"{wall / scratch_s:.1%} of the uncached run; tables {'identical' if same else 'DIFFERENT'}")


def main() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="synthetic responses (default 10000)")
    parser.add_argument("--sources", type=int, default=12, help="sample responses to copy (default 12)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--skip-sample", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--skip-incremental", action="store_true", help="no cached re-run after the synthetic run")
    args = parser.parse_args()
    if not args.skip_sample:
        bench_sample(args.params, n_sources=args.sources, seed=args.seed)
    if not args.skip_synthetic:
        bench_synthetic(args.n, seed=args.seed, incremental=not args.skip_incremental)
    flags = [f"--n {args.n}"] if args.n != 10_000 else []
    flags += [f"--{f.replace('_', '-')}" for f in ("skip_sample", "skip_synthetic", "skip_incremental") if getattr(args, f)]
    print("reproduce: .venv/bin/python benchmarks/bench_reuse.py" + "".join(f" {f}" for f in flags))


if __name__ == "__main__":
    main()
