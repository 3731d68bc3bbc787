"""How long summaries and the Chair's draft take as a consultation grows.

Replicates the synthetic test consultation (tests/summary_fixture.py, 7 responses) N times
with fresh doc ids, then times ``summarize`` and ``render_report`` (both languages).

    .venv/bin/python benchmarks/bench_summarize.py --copies 150
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from summary_fixture import build_tables  # noqa: E402

from pipeline.config import load_config  # noqa: E402
from pipeline.report import render_report  # noqa: E402
from pipeline.summarize import summarize  # noqa: E402


def replicate(tables: dict[str, pd.DataFrame], copies: int) -> dict[str, pd.DataFrame]:
    out: dict[str, list[pd.DataFrame]] = {name: [] for name in tables}
    for i in range(copies):
        for name, df in tables.items():
            part = df.copy()
            if "doc_id" in part.columns:
                part["doc_id"] = part["doc_id"].map(lambda d, i=i: None if d is None else f"{d}-{i}")
            if name in ("manifest", "documents"):
                part["source_path"] = part["source_path"].map(lambda p, i=i: f"{i:04d}/{p}")
                part["file_sha256"] = part["file_sha256"].map(lambda h, i=i: f"{i:04d}{h[4:]}")
            if name == "subthemes" and i:
                continue  # sub-themes are per theme, not per copy
            out[name].append(part)
    return {name: pd.concat(parts, ignore_index=True) for name, parts in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=150)
    args = parser.parse_args()
    cfg = load_config(ROOT / "params.yaml")
    tables = replicate(build_tables(), args.copies)
    n_docs, n_segs = len(tables["documents"]), len(tables["segments"])
    start = time.perf_counter()
    summaries = summarize(tables, cfg)
    t_sum = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        render_report(tables, Path(tmp), cfg)
        t_rep = time.perf_counter() - start
    print(f"responses={n_docs} segments={n_segs} quotes={len(summaries['quotes'])}")
    print(f"summarize: {t_sum:.1f} s   render_report (en+fr, includes summarize): {t_rep:.1f} s")
    print(f"reproduce: .venv/bin/python benchmarks/bench_summarize.py --copies {args.copies}")


if __name__ == "__main__":
    main()
