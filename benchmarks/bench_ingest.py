"""Ingestion speed in pages per second, against ``pdftotext`` on the same PDFs.

Run (from the repository root):

    .venv/bin/python benchmarks/bench_ingest.py [CORPUS ...] [--workers N]

Default corpora: ``corpora/raw/sample`` and the PDFs of ``../shared/corpora/dev``.
Each corpus is ingested twice on an empty cache: all files, then its PDFs only (the
figure comparable with pdftotext, which reads PDFs only); OCRed pages are counted
apart because Tesseract takes seconds per page. ``--workers 1`` (the default) gives
the one-core figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import shutil
import subprocess
import sys
import tempfile
import time
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


def time_ingest(corpus: Path, cfg: Config) -> tuple[float, int, int, int]:
    """Seconds, pages read from text, OCRed pages, files, on an empty cache."""
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        tables = ingest_corpus(corpus, cfg, cache_dir=Path(cache))
        secs = time.perf_counter() - start
    docs = tables["documents"]
    ocr_pages = int(docs["n_ocr_pages"].sum())
    pages = int(docs["n_pages"].sum()) - ocr_pages
    return secs, pages, ocr_pages, len(tables["manifest"])


def time_pdftotext(pdfs: list[Path]) -> tuple[float, int]:
    """Seconds for pdftotext over the PDFs, serially, and their page count (pdfinfo)."""
    pages = 0
    for p in pdfs:
        out = subprocess.run(["pdfinfo", str(p)], capture_output=True, text=True, check=False)
        for line in out.stdout.splitlines():
            if line.startswith("Pages:"):
                pages += int(line.split()[1])
    start = time.perf_counter()
    for p in pdfs:
        subprocess.run(["pdftotext", "-q", str(p), "-"], capture_output=True, check=False)
    return time.perf_counter() - start, pages


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
        secs, pages, ocr_pages, files = time_ingest(corpus, cfg)
        print(f"{corpus}: all {files} files: {secs:.2f} s, {pages} text pages + {ocr_pages} OCR pages, "
              f"{pages / secs:.0f} pages/s overall")
        with tempfile.TemporaryDirectory() as tmp:
            pdfs = _pdf_only_copy(corpus, Path(tmp))
            if not pdfs:
                continue
            secs, pages, ocr_pages, files = time_ingest(Path(tmp), cfg)
            text_secs = secs
            if ocr_pages:
                # OCRed pages dominate the time; report the text-layer rate without them
                # by re-running with OCR off.
                no_ocr = dataclasses.replace(cfg, ingest=dataclasses.replace(cfg.ingest, ocr=False))
                text_secs, pages, _, _ = time_ingest(Path(tmp), no_ocr)
            ptt_secs, ptt_pages = time_pdftotext(pdfs)
            ours = pages / text_secs
            theirs = ptt_pages / ptt_secs
            print(f"  PDFs only ({len(pdfs)} files, {pages} text pages): textmine {ours:.0f} pages/s; "
                  f"pdftotext {theirs:.0f} pages/s ({ptt_pages} pages); ratio {ours / theirs:.2f}"
                  + (f"; with OCR of {ocr_pages} page(s): {secs:.1f} s" if ocr_pages else ""))


if __name__ == "__main__":
    main()
