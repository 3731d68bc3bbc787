"""Stakeholder typing from the text alone (metadata removed), on the sample and dev corpora.

Ingests each corpus into a temporary folder (or reads ``--out`` folders that already hold
an ingest run), blanks the metadata columns, types every document with
``pipeline.actors.type_documents`` and prints accuracy against ``gold.csv`` overall, per
type and per folder, and the misses.

Reproduce:
    .venv/bin/python benchmarks/bench_stakeholders.py
    .venv/bin/python benchmarks/bench_stakeholders.py --misses      # list the misses too
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

from pipeline.actors import type_documents  # noqa: E402
from pipeline.cli import main as textmine  # noqa: E402
from pipeline.config import Config  # noqa: E402
from pipeline.tables import read_table, table_path  # noqa: E402


def evaluate(corpus: Path, out: Path, *, misses: bool) -> None:
    if not table_path(out, "ingest", "documents").exists():
        assert textmine(["ingest", "--corpus", str(corpus), "--out", str(out)]) == 0
    docs = read_table(table_path(out, "ingest", "documents"), name="documents")
    gold = pd.read_csv(corpus / "gold.csv", dtype=str, keep_default_na=False)
    if "stakeholder_type" not in gold:
        print(f"{corpus}: gold.csv has no stakeholder_type")
        return
    blank = docs.copy()
    for col in ("respondent", "organisation", "stakeholder_type", "country"):
        blank[col] = None
    typed = type_documents(blank, dict(zip(blank["doc_id"], blank["text"].fillna(""), strict=True)), Config())
    m = typed.merge(docs[["doc_id", "source_path"]], on="doc_id").merge(
        gold[gold["stakeholder_type"] != ""][["source_path", "stakeholder_type"]].rename(
            columns={"stakeholder_type": "gold"}), on="source_path")
    m["ok"] = m["stakeholder_type"] == m["gold"]
    m["folder"] = m["source_path"].map(lambda p: p.split("/")[0] if "/" in p else ".")
    print(f"\n{corpus}: {int(m['ok'].sum())}/{len(m)} = {m['ok'].mean():.3f} (metadata removed)")
    for t, g in m.groupby("gold"):
        print(f"  {t:20s} {int(g['ok'].sum())}/{len(g)}")
    if m["folder"].nunique() > 1:
        print("  per folder: " + ", ".join(f"{f} {int(g['ok'].sum())}/{len(g)}" for f, g in m.groupby("folder")))
    if misses:
        for _, r in m[~m["ok"]].iterrows():
            print(f"  MISS {r['source_path']}: gold {r['gold']}, got {r['stakeholder_type']} "
                  f"({str(r['type_evidence'])[:100]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--misses", action="store_true", help="list the misclassified documents")
    args = parser.parse_args()
    corpora = [ROOT / "corpora" / "raw" / "sample", ROOT.parent / "shared" / "corpora" / "dev"]
    with tempfile.TemporaryDirectory(prefix="bench-types-") as tmp:
        for i, corpus in enumerate(corpora):
            if (corpus / "gold.csv").exists():
                evaluate(corpus, Path(tmp) / str(i), misses=args.misses)
            else:
                print(f"{corpus}: not found, skipped", file=sys.stderr)
    print("\nreproduce: .venv/bin/python benchmarks/bench_stakeholders.py")


if __name__ == "__main__":
    main()
