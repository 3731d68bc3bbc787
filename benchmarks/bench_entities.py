"""Benchmark of the entities stage: words per second per language, and the gold figures.

Reproduce (from the repository root):

    .venv/bin/python benchmarks/bench_entities.py            # ingests the sample first
    .venv/bin/python benchmarks/bench_entities.py --out DIR  # reuse DIR/ingest, DIR/language

Words are the gazetteer's tokens (a Chinese character counts as one word). "rules" is
the gazetteer plus the citation parser; "full" adds the statistical NER where a model
exists (en, fr, ru), models loaded before timing. Gold figures: per document, gold ids
(``entities`` column of gold.csv) against the unique linked ids found, restricted to the
gazetteer classes (country, org, res, sdg, tech), per language and per class.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.config import ComputeConfig, Config, EntitiesConfig, load_config  # noqa: E402
from pipeline.entities import _extract_doc, extract_entities, model_for, segment_languages  # noqa: E402
from pipeline.gazetteer import LANGS, tokenize  # noqa: E402

CLASSES = ("country", "org", "res", "sdg", "tech")


def prepare(out: Path | None, corpus: Path, cfg: Config) -> dict[str, pd.DataFrame]:
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="bench-entities-"))
    if not (out / "language" / "languages.parquet").exists():
        from pipeline.cli import main

        for stage in ("ingest", "language"):
            args = [stage, "--out", str(out), "--params", str(ROOT / "params.yaml")]
            if stage == "ingest":
                args += ["--corpus", str(corpus)]
            if main(args) != 0:
                raise SystemExit(f"textmine {stage} failed")
    return {
        "segments": pd.read_parquet(out / "ingest" / "segments.parquet"),
        "documents": pd.read_parquet(out / "ingest" / "documents.parquet"),
        "languages": pd.read_parquet(out / "language" / "languages.parquet"),
    }


def speed(tables: dict[str, pd.DataFrame]) -> None:
    seg = tables["segments"].copy()
    seg["lang"] = segment_languages(seg, tables["languages"])
    seg["lang"] = seg["lang"].fillna("und")
    print("\nwords/s per language (one process)")
    print(f"{'lang':6}{'segments':>10}{'words':>10}{'rules w/s':>12}{'full w/s':>12}")
    for lang in [*LANGS, "und"]:
        part = seg[seg["lang"] == lang]
        if part.empty:
            continue
        texts = part["text"].fillna("").tolist()
        words = sum(len(tokenize(t)) for t in texts)
        segs = [(i, t, None if lang == "und" else lang) for i, t in enumerate(texts)]
        rates = []
        for use_models in (False, True):
            if use_models and model_for(lang) is None:
                rates.append(float("nan"))
                continue
            _extract_doc(("warm", segs[:3], use_models))
            t0 = time.perf_counter()
            _extract_doc(("bench", segs, use_models))
            rates.append(words / (time.perf_counter() - t0))
        print(f"{lang:6}{len(part):>10}{words:>10}{rates[0]:>12,.0f}{rates[1]:>12,.0f}")


def gold_figures(tables: dict[str, pd.DataFrame], gold: pd.DataFrame, cfg: Config) -> None:
    ents = extract_entities(tables["segments"], tables["languages"], cfg)
    merged = tables["segments"].merge(ents, on=["doc_id", "seg_id"], suffixes=("_seg", ""))
    for seg_text, a, b, text in zip(merged["text_seg"], merged["char_start"], merged["char_end"], merged["text"], strict=True):
        assert seg_text[a:b] == text, "inexact span"
    docs = tables["documents"][["doc_id", "source_path"]]
    found = ents.dropna(subset=["canonical_id"]).groupby("doc_id")["canonical_id"].agg(set).to_dict()
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    missed, spurious = [], []
    for g in gold.itertuples():
        if not g.entities or g.source_path not in set(docs["source_path"]):
            continue
        doc_id = docs.loc[docs["source_path"] == g.source_path, "doc_id"].iloc[0]
        gold_ids = {i for i in g.entities.split(";") if i.split(":")[0] in CLASSES}
        got = {i for i in found.get(doc_id, set()) if i.split(":")[0] in CLASSES}
        for cid in gold_ids | got:
            k = 0 if cid in gold_ids and cid in got else (1 if cid in got else 2)
            for key in ((g.lang, cid.split(":")[0]), (g.lang, "ALL"), ("ALL", cid.split(":")[0]), ("ALL", "ALL")):
                counts[key][k] += 1
            (spurious if k == 1 else missed if k == 2 else []).append((g.source_path, cid))
    print("\ngold figures (gazetteer classes): recall / precision (tp, fp, fn)")
    langs = sorted({k[0] for k in counts} - {"ALL"}) + ["ALL"]
    print(f"{'':8}" + "".join(f"{c:>24}" for c in (*CLASSES, "ALL")))
    for lang in langs:
        cells = []
        for c in (*CLASSES, "ALL"):
            tp, fp, fn = counts.get((lang, c), [0, 0, 0])
            r = tp / (tp + fn) if tp + fn else float("nan")
            p = tp / (tp + fp) if tp + fp else float("nan")
            cells.append(f"{r:.3f}/{p:.3f} ({tp},{fp},{fn})" if tp + fp + fn else "-")
        print(f"{lang:8}" + "".join(f"{x:>24}" for x in cells))
    for path, cid in missed:
        print("  missed  ", path, cid)
    for path, cid in spurious:
        print("  spurious", path, cid)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="folder holding ingest/ and language/ tables")
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpora" / "raw" / "sample")
    ap.add_argument("--no-models", action="store_true", help="gold figures without model NER")
    args = ap.parse_args()
    cfg = load_config(ROOT / "params.yaml")
    cfg = Config(base=cfg.base, compute=ComputeConfig(workers=1), ingest=cfg.ingest, language=cfg.language,
                 entities=EntitiesConfig(use_models=not args.no_models))
    tables = prepare(args.out, args.corpus, cfg)
    print(f"reproduce: .venv/bin/python benchmarks/bench_entities.py --corpus {args.corpus}"
          + (f" --out {args.out}" if args.out else ""))
    speed(tables)
    gold = args.corpus / "gold.csv"
    if gold.exists():
        gold_figures(tables, pd.read_csv(gold, dtype=str, keep_default_na=False), cfg)


if __name__ == "__main__":
    main()
