"""Ingestion speed in pages per second, against ``pdftotext`` on the same PDFs.

Run (from the repository root):

    .venv/bin/python benchmarks/bench_ingest.py [CORPUS ...] [--workers N]

Default corpora: ``corpora/raw/sample`` and the PDFs of ``../shared/corpora/dev``; a
folder of generated PDFs, e.g. ``benchmarks/out/work-1000/pdf-corpus`` (made by
``run.py``), gives the figure on about 4,400 pages. Each corpus is ingested on an
empty cache: all files (when it has other formats too), then its PDFs only, the
figure comparable with pdftotext, which reads PDFs only; OCRed pages are counted
apart because Tesseract takes seconds per page. Ingestion runs in this process
(no interpreter start-up), pdftotext one process per file, ``--workers`` at a time
(``--workers 1``, the default, gives the one-core figure). Both are timed in wall
and CPU seconds (this process and every child it reaped: sandbox children, pool
workers, pdftotext processes).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.config import Config, load_config  # noqa: E402
from pipeline.ingest import ingest_corpus  # noqa: E402


def _pdf_only_copy(corpus: Path, dest: Path) -> list[Path]:
    pdfs = sorted(p for p in corpus.rglob("*.pdf") if p.is_file() and not p.is_symlink())
    for p in pdfs:
        target = dest / p.relative_to(corpus)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, target)
    return pdfs


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def time_ingest(corpus: Path, cfg: Config) -> tuple[float, float, int, int, int]:
    """Wall and CPU seconds, pages read from text, OCRed pages, files, on an empty cache."""
    with tempfile.TemporaryDirectory() as cache:
        cpu = _cpu()
        start = time.perf_counter()
        tables = ingest_corpus(corpus, cfg, cache_dir=Path(cache))
        secs = time.perf_counter() - start
        cpu = _cpu() - cpu
    docs = tables["documents"]
    ocr_pages = int(docs["n_ocr_pages"].sum())
    pages = int(docs["n_pages"].sum()) - ocr_pages
    return secs, cpu, pages, ocr_pages, len(tables["manifest"])


def count_pages(pdfs: list[Path]) -> int:
    """Pages of the PDFs by pdfinfo (unreadable files count 0)."""
    pages = 0
    for p in pdfs:
        out = subprocess.run(["pdfinfo", str(p)], capture_output=True, text=True, check=False)
        for line in out.stdout.splitlines():
            if line.startswith("Pages:"):
                pages += int(line.split()[1])
    return pages


def time_pdftotext(pdfs: list[Path], *, workers: int = 1) -> tuple[float, float]:
    """Wall and CPU seconds for pdftotext over the PDFs, ``workers`` processes at a time."""

    def one(path: Path) -> None:
        subprocess.run(["pdftotext", "-q", str(path), "-"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)

    cpu = _cpu()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, pdfs))
    return time.perf_counter() - start, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="*", type=Path)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    # The sample's hard cases log warnings by design; keep the figures readable.
    logging.basicConfig(level=logging.ERROR)
    corpora = args.corpora or [ROOT / "corpora/raw/sample", ROOT.parent / "shared/corpora/dev"]
    base = load_config(ROOT / "params.yaml")
    cfg = dataclasses.replace(base, compute=dataclasses.replace(base.compute, workers=args.workers))
    print(f"command: .venv/bin/python benchmarks/bench_ingest.py {' '.join(map(str, args.corpora))} "
          f"--workers {args.workers}")
    for corpus in corpora:
        if not corpus.is_dir():
            print(f"{corpus}: missing, skipped")
            continue
        files = [p for p in corpus.rglob("*") if p.is_file() and not p.name.startswith(".")]
        if any(p.suffix.lower() != ".pdf" for p in files):
            secs, cpu, pages, ocr_pages, n = time_ingest(corpus, cfg)
            print(f"{corpus}: all {n} files: {secs:.2f} s ({cpu:.2f} s CPU), {pages} text pages + "
                  f"{ocr_pages} OCR pages, {pages / secs:.0f} pages/s overall")
        with tempfile.TemporaryDirectory() as tmp:
            pdfs = _pdf_only_copy(corpus, Path(tmp))
            if not pdfs:
                continue
            secs, cpu, pages, ocr_pages, n = time_ingest(Path(tmp), cfg)
            with_ocr = secs
            if ocr_pages:
                # OCRed pages dominate the time; report the text-layer rate without them
                # by re-running with OCR off.
                no_ocr = dataclasses.replace(cfg, ingest=dataclasses.replace(cfg.ingest, ocr=False))
                secs, cpu, pages, _, _ = time_ingest(Path(tmp), no_ocr)
            ptt_secs, ptt_cpu = time_pdftotext(sorted(Path(tmp).rglob("*.pdf")), workers=args.workers)
            ptt_pages = count_pages(pdfs)
            ours, theirs = pages / secs, ptt_pages / ptt_secs
            ours_cpu, theirs_cpu = pages / cpu, ptt_pages / ptt_cpu
            print(f"  PDFs only ({len(pdfs)} files, {pages} text pages, {args.workers} worker(s)): "
                  f"textmine {ours:.0f} pages/s, {ours_cpu:.0f} pages per CPU second; pdftotext "
                  f"{theirs:.0f} pages/s, {theirs_cpu:.0f} per CPU second ({ptt_pages} pages); "
                  f"ratio {ours / theirs:.2f} wall, {ours_cpu / theirs_cpu:.2f} CPU"
                  + (f"; with OCR of {ocr_pages} page(s): {with_ocr:.1f} s" if ocr_pages else ""))

if __name__ == "__main__":
    main()
