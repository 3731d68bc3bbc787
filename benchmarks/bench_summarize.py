"""How long summaries and the Chair's draft take as a consultation grows.

Two modes.

Synthetic (default): replicates the synthetic test consultation (tests/summary_fixture.py,
7 responses) N times with fresh doc ids, then times ``summarize`` and ``render_report``
(both languages) in-process::

    .venv/bin/python benchmarks/bench_summarize.py --copies 150

Stages (``--work DIR``): on a copy of a finished benchmark run (``DIR`` holds
``corpus/``, ``out/`` and ``params.yaml``, e.g. ``benchmarks/out/work-1000``), times the
``summarize`` and ``report`` stages as ``textmine`` sub-processes, wall and CPU time
(children included): first from a cold quote cache (as in a full run), then after one
response was added and the upstream stages re-ran (the incremental re-run), then once
more with nothing new (the floor). The upstream stages are run but not timed::

    .venv/bin/python benchmarks/bench_summarize.py --work benchmarks/out/work-1000 --add 6100
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from summary_fixture import build_tables  # noqa: E402

from pipeline.config import load_config  # noqa: E402
from pipeline.report import render_report  # noqa: E402
from pipeline.summarize import summarize  # noqa: E402

UPSTREAM = ("ingest", "language", "entities", "actors", "themes")


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


def synthetic(copies: int) -> None:
    cfg = load_config(ROOT / "params.yaml")
    tables = replicate(build_tables(), copies)
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
    print(f"reproduce: .venv/bin/python benchmarks/bench_summarize.py --copies {copies}")


def run_stage(work: Path, stage: str, *, timed: bool = True) -> tuple[float, float]:
    """Run one ``textmine`` stage on ``work``; its wall and CPU seconds (children too)."""
    argv = [stage, "--out", str(work / "out"), "--params", str(work / "params.yaml"),
            "--reports", str(work / "out" / "reports")]
    if stage in ("ingest", "themes"):
        argv += ["--corpus", str(work / "corpus")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline", *argv], cwd=ROOT, capture_output=True,
                          text=True, env=dict(os.environ, PYTHONHASHSEED="0"))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"textmine {stage} failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def stages(source: Path, add: int) -> None:
    import generate_corpus

    with tempfile.TemporaryDirectory(prefix="bench-summarize-") as tmp:
        work = Path(tmp)
        shutil.copytree(source / "corpus", work / "corpus", copy_function=os.link)
        shutil.copytree(source / "out", work / "out", ignore=shutil.ignore_patterns("summarize"))
        shutil.copy(source / "params.yaml", work / "params.yaml")
        rows = []
        for label in ("cold cache (full run)", "incremental (+1 response)", "nothing new (floor)"):
            if label.startswith("incremental"):
                print(f"added {generate_corpus.add_response(work / 'corpus', add).name}; "
                      f"running {', '.join(UPSTREAM)} (not timed) ...", flush=True)
                for stage in UPSTREAM:
                    run_stage(work, stage)
            for stage in ("summarize", "report"):
                wall, cpu = run_stage(work, stage)
                rows.append((label, stage, wall, cpu))
                print(f"{label:28} {stage:10} wall {wall:5.2f} s   cpu {cpu:5.2f} s", flush=True)
    print(f"reproduce: .venv/bin/python benchmarks/bench_summarize.py --work {source} --add {add}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=150, help="synthetic mode: copies of the fixture")
    parser.add_argument("--work", type=Path, help="stages mode: a finished benchmark run to copy")
    parser.add_argument("--add", type=int, default=6100, help="stages mode: number of the response to add")
    args = parser.parse_args()
    if args.work is not None:
        stages(args.work, args.add)
    else:
        synthetic(args.copies)


if __name__ == "__main__":
    main()
