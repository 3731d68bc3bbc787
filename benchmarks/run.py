"""Benchmark the whole pipeline on generated corpora of 100, 1,000 and 10,000 responses.

For each size it

1. builds (or reuses) ``benchmarks/out/corpus-N`` with ``generate_corpus.py``;
2. runs every stage of ``textmine run`` on a working copy, one ``textmine STAGE``
   command after another as ``dvc repro`` runs them: through the stage server
   (:mod:`pipeline.stage_server`), started afresh for each run by its first stage, or
   with ``--stage-server off`` each in a fresh interpreter; and prints each stage's wall time
   and share, documents per second, pages per second for ingestion (``n_pages`` of the
   documents table) and peak memory: the summed PSS of the stage's process tree sampled
   with psutil every 0.2 s (a served stage's tree is the server's child and its
   descendants), and the largest single process from ``getrusage`` or, for a served
   stage, the server's ``wait4`` (workers of a remote Dask cluster are not counted);
3. adds one new response to the corpus and re-runs every stage on the same output
   folder, ``--incremental-rounds`` times (one more response each round), printing each
   round's time and the median round's ratio to the full run (per-document
   stages that keep a cache reuse it; those without one recompute everything, and the
   figures show it). This comes before step 4, whose hard links change the PDFs' inode
   change times, which would make ingestion hash them all again;
4. times ``pdftotext`` (poppler-utils) on the same readable PDFs with the same number of
   parallel processes and prints our ingestion pages/s as a ratio to it: first the whole
   stage's figure (all formats), then the fair one: ``textmine ingest`` on a folder of
   exactly those PDFs (hard links, a fresh output and cache folder) and pdftotext on
   them, back to back, ``--pdf-rounds`` times in alternating order, in wall time and in
   CPU time (``--pdf-only`` runs just this comparison).

Each figure is printed with the command that reproduces it. Results are also written
to ``benchmarks/out/results-N.json``.

Usage::

    .venv/bin/python benchmarks/run.py --sizes 100
    .venv/bin/python benchmarks/run.py                 # 100 1000 10000 (make bench)
    .venv/bin/python benchmarks/run.py --sizes 1000 --workers 2 --params params.yaml
    .venv/bin/python benchmarks/run.py --sizes 1000 --pdf-only   # ingestion vs pdftotext only
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate_corpus  # noqa: E402  (a sibling script, not a package)

PY = sys.executable
# The order of `textmine run` (pipeline.cli.STAGES); read here without importing the stages.
STAGES = ("ingest", "language", "entities", "actors", "themes", "summarize", "report")
# Whether pipeline runs go through the stage server, as `textmine` commands do by default
# (--stage-server). The ingestion-vs-pdftotext comparison always starts a fresh interpreter.
STAGE_SERVER = True
PER_DOCUMENT = {"ingest", "language", "entities"}
CORPUS_STAGES = {"ingest", "themes"}

CHILD = r"""
import json, resource, sys, time
t = time.perf_counter()
from pipeline.launch import import_cli  # as the `textmine` command starts
cli = import_cli()
rc = cli.main(sys.argv[2:])
out = {
    "rc": rc,
    "seconds": time.perf_counter() - t,
    "self_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "children_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
}
with open(sys.argv[1], "w") as fh:
    json.dump(out, fh)
cli.exit_now(rc)  # as the `textmine` command exits under dvc repro
"""
# The `textmine` command itself (pipeline.launch.entry), for a run through the stage server.
LAUNCHER = "import sys; sys.argv[0] = 'textmine'; from pipeline.launch import entry; entry()"


class StageServers:
    """The stage servers of one pipeline run: a private folder of their own, so that the
    run's first stage starts one (as after a long pause under `dvc repro`), and stopped
    with the run. Served stages' CPU time and peak memory come from the servers' log."""

    def __init__(self) -> None:
        # Short: a Unix socket's path is limited to 108 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="tm-srv-"))

    def processes(self) -> list[psutil.Process]:
        """The servers and the commands they serve (forks: the same command line)."""
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            cmd = proc.info.get("cmdline") or []
            if "pipeline.stage_server" in cmd and any(str(self.dir) in part for part in cmd):
                found.append(proc)
        return found

    def served(self) -> list[psutil.Process]:
        """The processes of the commands being served: every process of the servers' tree
        but the servers themselves (those that logged as one)."""
        text = "".join(f.read_text(encoding="utf-8", errors="replace") for f in self.dir.glob("*.log"))
        servers = {int(m) for m in re.findall(r"\[(\d+)\] (?:serving on|successor ready)", text)}
        found: dict[int, psutil.Process] = {}
        for proc in self.processes():
            if proc.pid in servers:
                continue
            found[proc.pid] = proc
            try:
                found.update((p.pid, p) for p in proc.children(recursive=True))
            except psutil.NoSuchProcess:
                continue
        return list(found.values())

    def log_size(self) -> int:
        return sum(f.stat().st_size for f in self.dir.glob("*.log"))

    def ended_since(self, offset: int) -> tuple[float, float]:
        """CPU seconds and the largest peak RSS (KiB) of the commands that ended since the
        log held ``offset`` bytes (one stage at a time: the stage's own command)."""
        cpu, maxrss = 0.0, 0
        text = "".join(f.read_text(encoding="utf-8", errors="replace") for f in sorted(self.dir.glob("*.log")))
        for line in text.encode()[offset:].decode(errors="replace").splitlines():
            if " ended " in line and "cpu" in line:
                fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
                cpu += float(fields.get("cpu", 0))
                maxrss = max(maxrss, int(fields.get("maxrss_kb", 0)))
        return cpu, maxrss

    def stop(self) -> None:
        for proc in self.processes():
            try:
                proc.terminate()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(self.processes(), timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- running one stage ---------------------------------------------------------------------


class TreeMemory:
    """Samples the summed PSS (and the largest RSS) of a process and its descendants."""

    def __init__(self, pid: int, interval: float = 0.2, servers: StageServers | None = None) -> None:
        self.pid = pid
        self.servers = servers
        self.interval = interval
        self.peak_pss = 0
        self.peak_rss_sum = 0
        self.peak_process_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.NoSuchProcess:
                return
            if self.servers is not None:
                procs += self.servers.served()
            pss = rss = 0
            for p in procs:
                try:
                    info = p.memory_full_info()
                    pss += getattr(info, "pss", info.rss)
                    rss += info.rss
                    self.peak_process_rss = max(self.peak_process_rss, info.rss)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_rss_sum = max(self.peak_rss_sum, rss)
            self._stop.wait(self.interval)


def stage_argv(stage: str, *, corpus: Path, out: Path, params: Path) -> list[str]:
    argv = [stage, "--out", str(out), "--params", str(params), "--reports", str(out / "reports")]
    if stage in CORPUS_STAGES:
        argv += ["--corpus", str(corpus)]
    return argv


def run_stage(stage: str, *, corpus: Path, out: Path, params: Path, logs: Path,
              servers: StageServers | None = None) -> dict[str, Any]:
    """Run one stage as a ``textmine`` command (with ``servers``) or in a fresh interpreter;
    return its wall time, exit code and memory."""
    argv = stage_argv(stage, corpus=corpus, out=out, params=params)
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{stage}.log"
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        result_file = Path(tmp.name)
    env = dict(os.environ, PYTHONHASHSEED="0")
    if servers is not None:
        env.update(TEXTMINE_SERVER="1", TEXTMINE_SERVER_DIR=str(servers.dir))
        cmd = [PY, "-c", LAUNCHER, *argv]
        logged = servers.log_size()
    else:
        env["TEXTMINE_SERVER"] = "0"
        cmd = [PY, "-c", CHILD, str(result_file), *argv]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=env)
        with TreeMemory(proc.pid, servers=servers) as mem:
            rc = proc.wait()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds of the stage and every worker it reaped: unlike wall time, barely
    # affected by other jobs on a shared machine.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        child = json.loads(result_file.read_text() or "{}")
    except (OSError, ValueError):
        child = {}
    result_file.unlink(missing_ok=True)
    if servers is not None:
        time.sleep(0.05)  # the server logs the end just after the caller hears of it
        served_cpu, served_rss = servers.ended_since(logged)
        cpu += served_cpu
        child["children_maxrss_kb"] = served_rss
    return {
        "stage": stage,
        "rc": rc,
        "seconds": wall,
        "cpu_seconds": cpu,
        "peak_pss_mb": mem.peak_pss / 2**20,
        "peak_rss_sum_mb": mem.peak_rss_sum / 2**20,
        # getrusage's figure, exact; a stage the launcher ran itself has only the sampled one.
        "max_process_rss_mb": max(child.get("self_maxrss_kb", 0), child.get("children_maxrss_kb", 0),
                                  mem.peak_process_rss // 1024) / 1024,
        "command": "textmine " + " ".join(argv),
        "log": str(log),
    }


def run_pipeline(stages: list[str], *, corpus: Path, out: Path, params: Path, logs: Path,
                 label: str) -> list[dict[str, Any]]:
    servers = StageServers() if STAGE_SERVER else None
    try:
        return _run_stages(stages, corpus=corpus, out=out, params=params, logs=logs, label=label,
                           servers=servers)
    finally:
        if servers is not None:
            servers.stop()


def _run_stages(stages: list[str], *, corpus: Path, out: Path, params: Path, logs: Path,
                label: str, servers: StageServers | None) -> list[dict[str, Any]]:
    results = []
    for stage in stages:
        r = run_stage(stage, corpus=corpus, out=out, params=params, logs=logs, servers=servers)
        status = "ok" if r["rc"] == 0 else f"FAILED (exit {r['rc']}, see {r['log']})"
        print(f"  [{label}] {stage:<10} {r['seconds']:8.1f} s  {status}", flush=True)
        if r["rc"] != 0:
            tail = Path(r["log"]).read_text(encoding="utf-8", errors="replace").splitlines()[-5:]
            for line in tail:
                print(f"      | {line}")
        results.append(r)
    return results


# --- pdftotext yardstick -------------------------------------------------------------------


def time_pdftotext(pdfs: list[Path], *, workers: int) -> float:
    """Wall seconds for ``pdftotext`` over ``pdfs`` with ``workers`` parallel processes."""
    return time_pdftotext_cpu(pdfs, workers=workers)[0]


def time_pdftotext_cpu(pdfs: list[Path], *, workers: int) -> tuple[float, float]:
    """Wall and CPU seconds (all the pdftotext processes) over ``pdfs``."""

    def one(path: Path) -> int:
        return subprocess.run(["pdftotext", "-q", str(path), "-"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, check=False).returncode

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, pdfs))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare_pdf_ingest(pdfs: list[Path], *, work: Path, params: Path, workers: int,
                       rounds: int) -> dict[str, Any]:
    """``textmine ingest`` and ``pdftotext`` on exactly the same PDFs, back to back.

    The PDFs are hard-linked into ``work/pdf-corpus``; each round ingests them into an
    empty ``work/pdf-out`` (so with an empty cache) in a fresh interpreter, and runs
    pdftotext over them with ``workers`` processes; the order alternates between rounds
    so that a change in the machine's load does not favour one side.
    """
    corpus = work / "pdf-corpus"
    out = work / "pdf-out"
    if corpus.exists():
        shutil.rmtree(corpus)
    corpus.mkdir(parents=True)
    for p in pdfs:
        try:
            os.link(p, corpus / p.name)
        except OSError:
            shutil.copy2(p, corpus / p.name)
    linked = sorted(corpus / p.name for p in pdfs)
    rows = []
    ours: dict[str, Any] = {}
    for k in range(rounds):
        def run_ours() -> None:
            nonlocal ours
            if out.exists():
                shutil.rmtree(out)
            ours = run_stage("ingest", corpus=corpus, out=out, params=params, logs=work / "logs-pdf")
        order = ("ours", "pdftotext") if k % 2 == 0 else ("pdftotext", "ours")
        theirs = (0.0, 0.0)
        for side in order:
            if side == "ours":
                run_ours()
            else:
                theirs = time_pdftotext_cpu(linked, workers=workers)
        if ours["rc"] != 0:
            print(f"  textmine ingest FAILED on the PDF folder (see {ours['log']})")
            return {}
        rows.append({"round": k + 1, "order": list(order), "ours_seconds": ours["seconds"],
                     "ours_cpu_seconds": ours["cpu_seconds"], "pdftotext_seconds": theirs[0],
                     "pdftotext_cpu_seconds": theirs[1], "load": os.getloadavg()[0]})
    docs = pd.read_parquet(out / "ingest" / "documents.parquet", columns=["n_pages", "n_ocr_pages"])
    return {
        "corpus": str(corpus),
        "out": str(out),
        "files": len(linked),
        "pages": int(docs["n_pages"].sum()),
        "ocr_pages": int(docs["n_ocr_pages"].sum()),
        "workers": workers,
        "rounds": rows,
        "command": ours["command"],
    }


# --- helpers ---------------------------------------------------------------------------------


def link_tree(src: Path, dst: Path) -> None:
    """A working copy of ``src`` made of hard links (a plain copy across filesystems)."""
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file():
            try:
                os.link(f, dst / f.name)
            except OSError:
                shutil.copy2(f, dst / f.name)


def write_params(src: Path, dst: Path, *, workers: int | None) -> None:
    raw = yaml.safe_load(src.read_text(encoding="utf-8")) or {}
    if workers is not None:
        raw.setdefault("compute", {})["workers"] = workers
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")


def available_stages() -> list[str]:
    pkg = ROOT / "pipeline"
    return [s for s in STAGES if (pkg / f"{s}.py").exists()]


def machine_note() -> str:
    load = os.getloadavg()
    return (f"{platform.node()}: {os.cpu_count()} cores, load average {load[0]:.1f} "
            f"{load[1]:.1f} {load[2]:.1f}, {psutil.virtual_memory().total / 2**30:.1f} GiB RAM")


def _fmt_mb(mb: float) -> str:
    return f"{mb / 1024:.2f} GiB" if mb >= 1024 else f"{mb:.0f} MiB"


# --- one size ------------------------------------------------------------------------------


def bench_size(n: int, args: argparse.Namespace) -> dict[str, Any]:
    out_root: Path = args.out_root
    corpus_src = out_root / f"corpus-{n}"
    work = out_root / f"work-{n}"
    print(f"\n=== {n} responses ===  ({machine_note()})", flush=True)
    t0 = time.perf_counter()
    gen = generate_corpus.generate_corpus(corpus_src, n, seed=args.seed, hard_share=args.hard_share)
    print(f"corpus {corpus_src}: {gen['formats']}, {gen['pdf_pages']} PDF pages "
          f"(ready in {time.perf_counter() - t0:.1f} s)")
    print(f"  reproduce: {gen['command']}")

    corpus = work / "corpus"
    out = work / "out"
    params = work / "params.yaml"
    link_tree(corpus_src, corpus)
    if out.exists():
        shutil.rmtree(out)
    write_params(args.params, params, workers=args.workers)
    stages = available_stages()
    missing = [s for s in STAGES if s not in stages]
    if missing:
        print(f"  stages not built yet (skipped): {', '.join(missing)}")
    if args.pdf_only:
        stages = ["ingest"]  # for the list of readable PDFs

    full = run_pipeline(stages, corpus=corpus, out=out, params=params, logs=work / "logs-full", label="full")

    docs_path = out / "ingest" / "documents.parquet"
    manifest_path = out / "ingest" / "manifest.parquet"
    n_docs = n_pages = 0
    pdfs: list[Path] = []
    pdf_pages = 0
    statuses: dict[str, int] = {}
    if docs_path.exists() and manifest_path.exists():
        docs = pd.read_parquet(docs_path, columns=["doc_id", "n_pages", "source_path"])
        manifest = pd.read_parquet(manifest_path)
        n_docs = len(docs)
        n_pages = int(pd.to_numeric(docs["n_pages"], errors="coerce").fillna(0).sum())
        statuses = manifest["status"].value_counts().sort_index().to_dict()
        readable = manifest[(manifest.get("format") == "pdf") & manifest["status"].isin(["ok", "ocr"])]
        pdfs = [corpus / p for p in readable["source_path"]]
        pdf_pages = int(pd.to_numeric(readable["n_pages"], errors="coerce").fillna(0).sum())

    rounds: list[dict[str, Any]] = []
    if not args.pdf_only:
        # Before the PDF comparison: its hard links to these files change their inodes'
        # change time, and ingestion would hash every PDF again on the re-run, which
        # adding a response under `dvc repro` never does. Each round adds another new
        # response and re-runs on the same output folder: one figure of a few seconds
        # on a shared 2-core machine is noisy, their median much less so.
        for k in range(args.incremental_rounds):
            new_file = generate_corpus.add_response(corpus, n + k, seed=args.seed)
            print(f"  added {new_file.name}; re-running on the same output folder", flush=True)
            stages_run = run_pipeline(stages, corpus=corpus, out=out, params=params,
                                      logs=work / f"logs-incremental-{k + 1}", label=f"incremental {k + 1}")
            rounds.append({"added": new_file.name, "stages": stages_run})
    # The round of median total time stands for the incremental re-run (of two, the slower).
    middle = sorted(rounds, key=lambda r: sum(s["seconds"] for s in r["stages"]))[len(rounds) // 2] \
        if rounds else {"added": None, "stages": []}
    incr = middle["stages"]

    workers = args.workers or os.cpu_count() or 1
    pdf_list = work / "pdfs.txt"
    pdf_list.write_text("".join(f"{p.name}\n" for p in pdfs), encoding="utf-8")
    pdftotext_s = None
    if pdfs and not args.no_pdftotext and not args.pdf_only:
        pdftotext_s = time_pdftotext(pdfs, workers=workers)
    pdf_cmp: dict[str, Any] = {}
    if pdfs and not args.no_pdftotext:
        print(f"  ingestion and pdftotext on the same {len(pdfs)} PDFs, {args.pdf_rounds} round(s)", flush=True)
        pdf_cmp = compare_pdf_ingest(pdfs, work=work, params=params, workers=workers, rounds=args.pdf_rounds)
    if args.pdf_only:
        result = {"n_responses": n, "machine": machine_note(), "workers": workers, "params": str(params),
                  "pdf_comparison": pdf_cmp, "pdf_list": str(pdf_list)}
        report_pdf_comparison(pdf_cmp, n=n, pdf_list=pdf_list)
        (out_root / f"results-{n}-pdf.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        return result

    result = {
        "n_responses": n,
        "machine": machine_note(),
        "workers": workers,
        "params": str(params),
        "corpus": str(corpus),
        "out": str(out),
        "statuses": statuses,
        "n_documents": n_docs,
        "n_pages": n_pages,
        "pdf_files": len(pdfs),
        "pdf_pages": pdf_pages,
        "pdftotext_seconds": pdftotext_s,
        "pdf_list": str(pdf_list),
        "pdf_comparison": pdf_cmp,
        "full": full,
        "incremental": incr,
        "added": middle["added"],
        "incremental_rounds": rounds,
    }
    report(result, args)
    (out_root / f"results-{n}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def report(r: dict[str, Any], args: argparse.Namespace) -> None:
    full, incr = r["full"], r["incremental"]
    total = sum(s["seconds"] for s in full) or 1e-9
    total_incr = sum(s["seconds"] for s in incr)
    n_docs = r["n_documents"] or r["n_responses"]
    print(f"\n--- results, {r['n_responses']} responses ({r['n_documents']} readable documents, "
          f"{r['n_pages']} pages; manifest {r['statuses']}) ---")
    server = ("on (started afresh by each run's first stage)" if STAGE_SERVER
              else "off (a fresh interpreter per stage)")
    print(f"machine: {r['machine']}; compute.workers={r['workers']}; stage server {server}")
    print("NOTE: the machine is shared with other jobs; wall times include their interference.")
    print(f"{'stage':<10} {'wall s':>8} {'share':>6} {'cpu s':>8} {'docs/s':>8} {'peak PSS':>10} "
          f"{'max proc':>10} {'incr. s':>8} {'incr. cpu':>9}")
    incr_by = {s["stage"]: s for s in incr}
    for s in full:
        i = incr_by.get(s["stage"], {})
        flag = "" if s["rc"] == 0 else "  FAILED"
        print(f"{s['stage']:<10} {s['seconds']:8.1f} {100 * s['seconds'] / total:5.1f}% "
              f"{s['cpu_seconds']:8.1f} {n_docs / s['seconds']:8.1f} {_fmt_mb(s['peak_pss_mb']):>10} "
              f"{_fmt_mb(s['max_process_rss_mb']):>10} {i.get('seconds', float('nan')):8.1f} "
              f"{i.get('cpu_seconds', float('nan')):9.1f}{flag}")
    peak = max((s["peak_pss_mb"] for s in full), default=0)
    cpu_full = sum(s["cpu_seconds"] for s in full) or 1e-9
    cpu_incr = sum(s["cpu_seconds"] for s in incr)
    print(f"{'total':<10} {total:8.1f} {100.0:5.1f}% {cpu_full:8.1f} {n_docs / total:8.1f} {_fmt_mb(peak):>10} "
          f"{'':>10} {total_incr:8.1f} {cpu_incr:9.1f}")
    print(f"  reproduce: .venv/bin/python benchmarks/run.py --sizes {r['n_responses']}"
          + (f" --workers {args.workers}" if args.workers else "")
          + ("" if STAGE_SERVER else " --stage-server off"))
    print("  each stage alone (after the ones before it):")
    for s in full:
        print(f"    {s['command']}")
    ingest = next((s for s in full if s["stage"] == "ingest" and s["rc"] == 0), None)
    if ingest and r["n_pages"]:
        ours = r["n_pages"] / ingest["seconds"]
        print(f"\ningestion: {ours:.1f} pages/s, {n_docs / ingest['seconds']:.1f} documents/s "
              f"({r['n_pages']} pages of all formats in {ingest['seconds']:.1f} s, "
              f"{r['workers']} workers, interpreter start-up included)")
        if r["pdftotext_seconds"]:
            theirs = r["pdf_pages"] / r["pdftotext_seconds"]
            print(f"pdftotext: {theirs:.1f} pages/s ({r['pdf_files']} PDFs, {r['pdf_pages']} pages in "
                  f"{r['pdftotext_seconds']:.1f} s, {r['workers']} parallel processes)")
            print(f"ingestion / pdftotext speed ratio: {ours / theirs:.2f}")
            print(f"  reproduce pdftotext: cd {r['corpus']} && time xargs -a {r['pdf_list']} "
                  f"-P {r['workers']} -I{{}} pdftotext -q {{}} - >/dev/null")
        print(f"  reproduce ingestion: {ingest['command']}")
    if r.get("pdf_comparison"):
        report_pdf_comparison(r["pdf_comparison"], n=r["n_responses"], pdf_list=Path(r["pdf_list"]))
    rounds = r.get("incremental_rounds") or []
    if len(rounds) > 1:
        print(f"\nincremental re-runs, each after adding one more response ({len(rounds)} rounds):")
        for k, rnd in enumerate(rounds, 1):
            wall = sum(s["seconds"] for s in rnd["stages"])
            print(f"    round {k}: {wall:5.1f} s = {100 * wall / total:4.1f}% of the full run  ({rnd['added']})")
    print(f"\nincremental re-run{' (the median round)' if len(rounds) > 1 else ''} after adding "
          f"{r['added']}: {total_incr:.1f} s = "
          f"{100 * total_incr / total:.1f}% of the full run ({total:.1f} s); in CPU time "
          f"{cpu_incr:.1f} s = {100 * cpu_incr / cpu_full:.1f}% of {cpu_full:.1f} s")
    for s in incr:
        kind = "per-document" if s["stage"] in PER_DOCUMENT else "corpus-level"
        print(f"    {s['stage']:<10} {s['seconds']:7.1f} s, {s['cpu_seconds']:7.1f} s CPU ({kind})")
    print(f"  reproduce: the same `run.py` command (round k re-runs the stages after "
          f"generate_corpus.add_response(corpus, {r['n_responses']} + k - 1))")


def report_pdf_comparison(c: dict[str, Any], *, n: int, pdf_list: Path) -> None:
    """Print the same-PDFs comparison: every round, then the medians of the ratios."""
    if not c or not c.get("rounds"):
        return
    pages = c["pages"]
    print(f"\ningestion vs pdftotext on the same {c['files']} PDFs ({pages} pages"
          + (f", {c['ocr_pages']} of them OCRed" if c["ocr_pages"] else "")
          + f"), {c['workers']} workers / parallel processes, back to back (interpreter start-up included):")
    print(f"{'round':<6} {'order':<18} {'ours wall':>9} {'ours cpu':>9} {'pdftotext wall':>14} "
          f"{'pdftotext cpu':>13} {'ratio wall':>10} {'ratio cpu':>9} {'load':>5}")
    wall_ratios, cpu_ratios = [], []
    for row in c["rounds"]:
        rw = row["pdftotext_seconds"] / row["ours_seconds"]
        rc = row["pdftotext_cpu_seconds"] / row["ours_cpu_seconds"] if row["ours_cpu_seconds"] else float("nan")
        wall_ratios.append(rw)
        cpu_ratios.append(rc)
        first = "ours first" if row["order"][0] == "ours" else "pdftotext first"
        print(f"{row['round']:<6} {first:<18} {row['ours_seconds']:8.1f}s {row['ours_cpu_seconds']:8.1f}s "
              f"{row['pdftotext_seconds']:13.1f}s {row['pdftotext_cpu_seconds']:12.1f}s {rw:10.2f} {rc:9.2f} "
              f"{row['load']:5.1f}")
    best = min(c["rounds"], key=lambda row: row["ours_seconds"])
    mw, mc = statistics.median(wall_ratios), statistics.median(cpu_ratios)
    print(f"median ratio (our pages/s / pdftotext's): wall {mw:.2f}, CPU {mc:.2f}; "
          f"ours {pages / best['ours_seconds']:.0f} pages/s wall, "
          f"{pages / min(r['ours_cpu_seconds'] for r in c['rounds']):.0f} pages per CPU second "
          f"(best round); pdftotext {pages / min(r['pdftotext_seconds'] for r in c['rounds']):.0f} and "
          f"{pages / min(r['pdftotext_cpu_seconds'] for r in c['rounds']):.0f}")
    print(f"  reproduce ours: rm -rf {c['out']} && /usr/bin/time -f '%e s wall, %U+%S s CPU' "
          f".venv/bin/{c['command']}")
    print(f"  reproduce pdftotext: cd {c['corpus']} && /usr/bin/time -f '%e s wall, %U+%S s CPU' "
          f"xargs -a {pdf_list} -P {c['workers']} -I{{}} pdftotext -q {{}} - >/dev/null")
    print(f"  reproduce both: .venv/bin/python benchmarks/run.py --sizes {n} --pdf-only --workers {c['workers']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000],
                    help="corpus sizes in responses (default: 100 1000 10000)")
    ap.add_argument("--workers", type=int, default=None,
                    help="compute.workers for the run (default: as in --params; 0 = all cores)")
    ap.add_argument("--params", type=Path, default=ROOT / "params.yaml", help="params file to start from")
    ap.add_argument("--out-root", type=Path, default=HERE / "out",
                    help="where corpora, outputs and results go (default benchmarks/out, git-ignored)")
    ap.add_argument("--seed", type=int, default=generate_corpus.SEED)
    ap.add_argument("--hard-share", type=float, default=0.01,
                    help="share of broken files in the corpus (default 0.01)")
    ap.add_argument("--no-pdftotext", action="store_true", help="skip the pdftotext yardstick")
    ap.add_argument("--pdf-rounds", type=int, default=3,
                    help="rounds of the same-PDFs comparison with pdftotext (default 3; the median is printed)")
    ap.add_argument("--incremental-rounds", type=int, default=3,
                    help="incremental re-runs, each after adding one more response (default 3; the median "
                         "round is reported)")
    ap.add_argument("--pdf-only", action="store_true",
                    help="run only ingestion (for the list of PDFs) and the same-PDFs comparison with pdftotext")
    ap.add_argument("--stage", choices=STAGES,
                    help="re-run only this stage on the existing work-N output of each size and print its "
                         "time and peak memory (after a full run.py of that size)")
    ap.add_argument("--stage-server", choices=("on", "off"), default="on",
                    help="run the stages through the stage server, started afresh for each run, as "
                         "`textmine` commands do (default), or each in a fresh interpreter")
    args = ap.parse_args(argv)
    global STAGE_SERVER
    STAGE_SERVER = args.stage_server == "on"
    # The stages run as `make run` runs them: with the package's bytecode written (see
    # the Makefile's `bytecode`), not compiled again by every stage's interpreter.
    compileall.compile_dir(ROOT / "pipeline", quiet=1)
    if args.stage:
        for n in args.sizes:
            work = args.out_root / f"work-{n}"
            r = run_stage(args.stage, corpus=work / "corpus", out=work / "out", params=work / "params.yaml",
                          logs=work / "logs-stage")
            print(f"{n} responses, {args.stage}: exit {r['rc']}, {r['seconds']:.1f} s wall, "
                  f"{r['cpu_seconds']:.1f} s CPU, peak PSS {_fmt_mb(r['peak_pss_mb'])}, summed RSS "
                  f"{_fmt_mb(r['peak_rss_sum_mb'])}, largest process {_fmt_mb(r['max_process_rss_mb'])}")
            print(f"  reproduce: .venv/bin/python benchmarks/run.py --sizes {n} --stage {args.stage}")
        return 0
    if shutil.which("pdftotext") is None and not args.no_pdftotext:
        print("pdftotext not found (Debian package poppler-utils); use --no-pdftotext", file=sys.stderr)
        return 2
    if args.workers is None:
        raw = yaml.safe_load(args.params.read_text(encoding="utf-8")) or {}
        args.workers = int((raw.get("compute") or {}).get("workers") or 0) or None
    for n in args.sizes:
        bench_size(n, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
