"""Build benchmark corpora of N consultation responses from the sample corpus's files.

Every response is a variant of one or more built sample responses
(``corpora/raw/sample``), so the corpus has the real formats, scripts and layouts, but
no two files are the same and no two texts are trivially identical:

* PDF (about 70 %): pikepdf copies a sample PDF; in most of them the pages of one to
  three other responses of the same language are appended (annexes), a page may be
  dropped or two pages swapped; in each page's content stream a few text lines are
  dropped and pairs of lines of the same font and column swap places (done on whole
  text objects, so no glyph encoding is touched); the document info (title, author,
  dates, subject) is rewritten. About 6.6 pages per PDF, 4.7 per response on average.
* DOCX (about 15 %): python-docx opens a sample DOCX, drops about a tenth of its body
  paragraphs, swaps a few neighbouring ones and a few neighbouring words inside runs,
  and sets new core properties.
* TXT, Markdown, HTML (about 15 %, a third each): written directly, as web forms
  deliver them, from the expected text of any sample response
  (``corpora/sample-src/expected``), with the same paragraph and word variation.

The scanned sample letter is left out (OCR at 2-4 s a page would measure Tesseract,
not the pipeline). Broken files are included at a fixed small share, ``--hard-share``
(default 1 %: exactly ``round(N * share)`` files, spread evenly): truncated PDFs,
empty uploads, HTML pages and ZIP archives named ``.pdf``, and PDFs locked with a
user password, each made from a fresh variant. ``metadata.csv`` gets one web-form row
per file (the source response's row with a shifted date), and ``MANIFEST-benchmark.json``
(a sidecar the pipeline ignores) records how the corpus was made.

Deterministic: the same ``--seed`` and sample files give byte-identical corpora.
Parallel over ``--workers`` processes; 10,000 responses take about a minute or two
on two cores.

Usage::

    .venv/bin/python benchmarks/generate_corpus.py --sizes 100 1000 10000
    .venv/bin/python benchmarks/generate_corpus.py --sizes 1000 --out /tmp/corpus-1000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import html
import io
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf

from pipeline.tables import stable_zip

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "corpora" / "raw" / "sample"
EXPECTED = ROOT / "corpora" / "sample-src" / "expected"
OUT_ROOT = ROOT / "benchmarks" / "out"
MANIFEST = "MANIFEST-benchmark.json"
GENERATOR_VERSION = 4
META_COLUMNS = ["file", "respondent", "organisation", "stakeholder_type", "country", "submitted"]
# Format shares of ordinary responses (hard cases aside).
FORMAT_WEIGHTS = {"pdf": 70, "docx": 15, "txt": 5, "md": 5, "html": 5}
HARD_KINDS = ("truncated", "empty", "html-renamed", "zip-renamed", "locked")
SEED = 7


@dataclass(frozen=True)
class Source:
    """One usable sample response."""

    name: str
    kind: str  # pdf | docx | txt | html
    lang: str  # primary language (gold.csv, else the name's prefix)
    n_pages: int


@dataclass(frozen=True)
class Plan:
    """Everything a worker needs to build response ``index``."""

    index: int
    name_width: int
    seed: int
    hard_share: float
    n_total: int


# --- the sample ----------------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _is_image_only(pdf: pikepdf.Pdf) -> bool:
    for page in pdf.pages:
        res = page.obj.get("/Resources")
        if res is not None and "/Font" in res and len(res["/Font"].keys()):
            return False
    return True


def load_sources(sample: Path = SAMPLE) -> list[Source]:
    """The sample's readable, born-digital responses (no hard cases, no scans)."""
    if not sample.is_dir():
        raise SystemExit(f"sample corpus {sample} not found; build it with `make sample`")
    gold = {r["source_path"]: r.get("lang", "") for r in _read_csv(sample / "gold.csv")}
    sources = []
    for path in sorted(sample.iterdir()):
        name = path.name
        if name.startswith(("xx-", ".")) or "-duplicate" in name or not path.is_file():
            continue
        ext = path.suffix.lower().lstrip(".")
        if ext not in ("pdf", "docx", "txt", "md", "html"):
            continue
        lang = (gold.get(name) or name.split("-")[0]).split(";")[0][:2]
        n_pages = 1
        if ext == "pdf":
            try:
                with pikepdf.open(path) as pdf:
                    if _is_image_only(pdf):
                        continue  # a scan: OCR would dominate the benchmark
                    n_pages = len(pdf.pages)
            except pikepdf.PdfError:
                continue
        sources.append(Source(name, ext, lang, n_pages))
    if not any(s.kind == "pdf" for s in sources):
        raise SystemExit(f"no readable PDF in {sample}; build the sample corpus with `make sample`")
    return sources


def _source_digest(sample: Path, sources: list[Source]) -> str:
    h = hashlib.sha256()
    for s in sources:
        h.update(s.name.encode())
        h.update(hashlib.sha256((sample / s.name).read_bytes()).digest())
        exp = EXPECTED / f"{s.name}.txt"
        if exp.exists():
            h.update(hashlib.sha256(exp.read_bytes()).digest())
    return h.hexdigest()


# --- per-process state (each worker loads the sample once) ------------------------------

_STATE: dict[str, Any] = {}


def _init_worker(sample: str) -> None:
    sample_path = Path(sample)
    sources = load_sources(sample_path)
    _STATE["sample"] = sample_path
    _STATE["sources"] = sources
    _STATE["meta"] = {r["file"]: r for r in _read_csv(sample_path / "metadata.csv")}
    _STATE["pdfs"] = {}
    texts = {}
    for s in sources:
        exp = EXPECTED / f"{s.name}.txt"
        if exp.exists():
            texts[s.name] = exp.read_text(encoding="utf-8")
    _STATE["texts"] = texts


def _pdf(name: str) -> pikepdf.Pdf:
    pdfs = _STATE["pdfs"]
    if name not in pdfs:
        pdfs[name] = pikepdf.open(_STATE["sample"] / name)
    return pdfs[name]


# --- text variation ------------------------------------------------------------------------

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def _swap_words(text: str, rng: random.Random) -> str:
    """Swap two neighbouring words (or, in CJK text, two neighbouring clauses)."""
    if _CJK.search(text):
        parts = re.split(r"(，|、|；)", text)
        clauses = parts[0::2]
        if len(clauses) < 2:
            return text
        i = rng.randrange(len(clauses) - 1)
        clauses[i], clauses[i + 1] = clauses[i + 1], clauses[i]
        seps = parts[1::2] + [""]
        return "".join(c + s for c, s in zip(clauses, seps, strict=False))
    words = text.split(" ")
    idx = [i for i in range(len(words) - 1) if words[i].isalpha() and words[i + 1].isalpha()]
    if not idx:
        return text
    i = rng.choice(idx)
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def _vary_paragraphs(paras: list[str], rng: random.Random) -> list[str]:
    """Drop about a tenth (never the first), swap one or two neighbours, swap words."""
    if len(paras) > 3:
        keep = [paras[0]] + [p for p in paras[1:] if rng.random() > 0.1]
        paras = keep if len(keep) >= 2 else paras
    paras = list(paras)
    for _ in range(rng.randint(1, 2)):
        if len(paras) > 3:
            i = rng.randrange(1, len(paras) - 1)
            paras[i], paras[i + 1] = paras[i + 1], paras[i]
    for _ in range(rng.randint(2, 4)):
        i = rng.randrange(len(paras))
        paras[i] = _swap_words(paras[i], rng)
    return paras


# --- PDF -----------------------------------------------------------------------------------


def _text_objects(ops: list[Any]) -> list[tuple[int, int]]:
    """(start, end) op indexes of each BT..ET text object."""
    spans, start = [], None
    for i, (_, op) in enumerate(ops):
        name = str(op)
        if name == "BT":
            start = i
        elif name == "ET" and start is not None:
            spans.append((start, i))
            start = None
    return spans


def _page_ops(name: str, index: int) -> list[tuple[list[Any], Any]]:
    """The parsed content stream of page ``index`` of sample PDF ``name`` (parsed once)."""
    cache = _STATE.setdefault("ops", {})
    if (name, index) not in cache:
        page = _pdf(name).pages[index]
        cache[(name, index)] = [(list(o.operands), o.operator) for o in pikepdf.parse_content_stream(page)]
    return cache[(name, index)]


def _vary_page_content(pdf: pikepdf.Pdf, page: pikepdf.Page, rng: random.Random,
                       source_ops: list[tuple[list[Any], Any]]) -> None:
    """Drop a few text lines and swap pairs of lines of the same font size.

    LibreOffice writes each line (or each word of a justified line) as its own BT..ET
    object placed by one absolute ``Td``; the objects that share a baseline form a
    line. Swapping the baselines of two lines swaps their places on the page, and
    removing a line's objects drops it; the glyph codes are never touched, which keeps
    every string valid in its (subset) font. Pages with a ``cm`` or ``Tm`` (where
    ``Td`` is not absolute) only get lines dropped.
    """
    ops = list(source_ops)  # entries are replaced, never mutated: the cache stays intact
    names = [str(op) for _, op in ops]
    spans = _text_objects(ops)
    if len(spans) < 4:
        return
    lines: dict[float, list[tuple[int, int, int, float]]] = {}
    for a, b in spans:
        td = [i for i in range(a, b) if names[i] == "Td"]
        tf = [i for i in range(a, b) if names[i] == "Tf"]
        if len(td) != 1 or len(tf) != 1:
            continue
        y = round(float(ops[td[0]][0][1]), 1)
        lines.setdefault(y, []).append((a, b, td[0], float(ops[tf[0]][0][1])))
    if "cm" not in names and "Tm" not in names:
        by_size: dict[float, list[float]] = {}
        for y, objs in lines.items():
            by_size.setdefault(max(o[3] for o in objs), []).append(y)
        pairs = [ys for ys in by_size.values() if len(ys) >= 2]
        for _ in range(rng.randint(1, 3)):
            if not pairs:
                break
            y1, y2 = rng.sample(rng.choice(pairs), 2)
            for y_from, y_to in ((y1, y2), (y2, y1)):
                for _, _, td, _ in lines[y_from]:
                    x = ops[td][0][0]
                    ops[td] = ([x, y_to], ops[td][1])
            lines[y1], lines[y2] = lines[y2], lines[y1]
    dropped: set[int] = set()
    for objs in lines.values():
        if rng.random() < 0.02:
            for a, b, _, _ in objs:
                dropped.update(range(a, b + 1))
    if dropped:
        ops = [op for j, op in enumerate(ops) if j not in dropped]
    data = pikepdf.unparse_content_stream(ops)
    page.obj.Contents = pdf.make_stream(data)


def _pdf_date(day: dt.date, rng: random.Random) -> str:
    return f"D:{day:%Y%m%d}{rng.randrange(8, 19):02d}{rng.randrange(60):02d}00Z"


def build_pdf(plan: Plan, rng: random.Random, src: Source, meta: dict[str, str]) -> tuple[bytes, int]:
    """A PDF variant of ``src`` (maybe with an annex of same-language responses)."""
    sources = _STATE["sources"]
    parts = [src]
    # Annexes bring a PDF to about 7 pages on average, and the corpus to about 5 pages per
    # response (the "1,000 responses, about 5,000 pages").
    if rng.random() < 0.85:
        peers = [s for s in sources if s.kind == "pdf" and s.lang == src.lang and s.name != src.name]
        if peers:
            parts += rng.sample(peers, min(len(peers), rng.choice((1, 2, 2, 3))))
    seq = [(part.name, i) for part in parts for i in range(len(_pdf(part.name).pages))]
    if len(seq) > 2 and rng.random() < 0.25:
        del seq[rng.randrange(1, len(seq))]
    if len(seq) > 2 and rng.random() < 0.2:
        i = rng.randrange(1, len(seq) - 1)
        seq[i], seq[i + 1] = seq[i + 1], seq[i]
    out = pikepdf.new()
    for name, i in seq:
        out.pages.append(_pdf(name).pages[i])
    for page, (name, i) in zip(out.pages, seq, strict=True):
        _vary_page_content(out, page, rng, _page_ops(name, i))
    day = _date(meta, rng)
    out.docinfo["/Title"] = f"{meta.get('organisation') or 'Contribution'} - {src.name.rsplit('.', 1)[0]}"
    out.docinfo["/Author"] = meta.get("respondent", "")
    out.docinfo["/Subject"] = f"Consultation response {plan.index}"
    out.docinfo["/Creator"] = "Writer"
    out.docinfo["/Producer"] = "LibreOffice 7.4"
    out.docinfo["/CreationDate"] = _pdf_date(day, rng)
    out.docinfo["/ModDate"] = out.docinfo["/CreationDate"]
    buf = io.BytesIO()
    out.save(buf, deterministic_id=True, compress_streams=True,
             object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return buf.getvalue(), len(out.pages)


# --- DOCX ----------------------------------------------------------------------------------


def build_docx(plan: Plan, rng: random.Random, src: Source, meta: dict[str, str]) -> bytes:
    """A DOCX variant: paragraphs dropped and swapped, words swapped, new properties."""
    from docx import Document

    doc = Document(str(_STATE["sample"] / src.name))
    body = [p for p in doc.paragraphs
            if len(p.text) > 40 and not (p.style.name or "").lower().startswith(("heading", "title"))]
    for p in body[1:]:
        if rng.random() < 0.1:
            p._element.getparent().remove(p._element)
    body = [p for p in body if p._element.getparent() is not None]
    for _ in range(rng.randint(1, 2)):
        if len(body) > 3:
            i = rng.randrange(1, len(body) - 1)
            a, b = body[i], body[i + 1]
            if a._element.getnext() is b._element:
                b._element.addnext(a._element)  # move a after b
                body[i], body[i + 1] = b, a
    runs = [r for p in body for r in p.runs if r.text.count(" ") >= 2 or _CJK.search(r.text)]
    for _ in range(rng.randint(2, 5)):
        if runs:
            r = rng.choice(runs)
            r.text = _swap_words(r.text, rng)
    props = doc.core_properties
    day = _date(meta, rng)
    props.author = meta.get("respondent", "")
    props.title = f"{meta.get('organisation') or 'Contribution'} - {src.name.rsplit('.', 1)[0]}"
    props.subject = f"Consultation response {plan.index}"
    props.created = props.modified = dt.datetime(day.year, day.month, day.day, 9, 0, 0)
    props.revision = 1 + plan.index % 7
    buf = io.BytesIO()
    doc.save(buf)
    return stable_zip(buf.getvalue())


# --- web forms -----------------------------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def build_web(plan: Plan, rng: random.Random, src: Source, kind: str) -> bytes:
    """A TXT, Markdown or HTML web-form response from a sample response's text."""
    paras = _vary_paragraphs(_paragraphs(_STATE["texts"][src.name]), rng)
    if kind == "txt":
        return ("\n\n".join(paras) + "\n").encode("utf-8")
    if kind == "md":
        lines = [f"# {paras[0]}"]
        for p in paras[1:]:
            short = len(p) < 90 and not p.endswith((".", "。", ":", ";"))
            lines.append(f"## {p}" if short else p)
        return ("\n\n".join(lines) + "\n").encode("utf-8")
    dirs = ' dir="rtl"' if src.lang == "ar" else ""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paras[1:])
    page = (
        f'<!DOCTYPE html>\n<html lang="{src.lang}"{dirs}>\n<head><meta charset="utf-8">'
        f"<title>{html.escape(paras[0][:120])}</title></head>\n<body>\n"
        f'<div class="submission" id="response-{plan.index}">\n<h1>{html.escape(paras[0])}</h1>\n'
        f"{body}\n</div>\n</body>\n</html>\n"
    )
    return page.encode("utf-8")


# --- one response --------------------------------------------------------------------------


def _date(meta: dict[str, str], rng: random.Random) -> dt.date:
    try:
        base = dt.date.fromisoformat(meta.get("submitted", "")[:10])
    except ValueError:
        base = dt.date(2021, 1, 15)
    return base + dt.timedelta(days=rng.randint(-20, 20))


def _is_hard(index: int, share: float) -> int | None:
    """The hard-case number of ``index`` (None for an ordinary response).

    Exactly ``round(n * share)`` of the first ``n`` indexes are hard, spread evenly.
    """
    if share <= 0:
        return None
    before, upto = round(index * share), round((index + 1) * share)
    return before if upto > before else None


def build_response(plan: Plan) -> dict[str, Any]:
    """Build response ``plan.index``; return its file name, bytes and metadata row."""
    rng = random.Random(f"{plan.seed}:{plan.index}")
    sources: list[Source] = _STATE["sources"]
    metas: dict[str, dict[str, str]] = _STATE["meta"]
    hard = _is_hard(plan.index, plan.hard_share)
    if hard is not None:
        fmt = "hard:" + HARD_KINDS[hard % len(HARD_KINDS)]
    else:
        fmt = rng.choices(list(FORMAT_WEIGHTS), weights=list(FORMAT_WEIGHTS.values()))[0]
    if fmt in ("txt", "md", "html") and not _STATE["texts"]:
        fmt = "pdf"
    pool = {
        "pdf": [s for s in sources if s.kind == "pdf"],
        "docx": [s for s in sources if s.kind == "docx"] or [s for s in sources if s.kind == "pdf"],
    }
    web_pool = [s for s in sources if s.name in _STATE["texts"]]
    n_pages = 1
    if fmt in ("txt", "md", "html"):
        src = rng.choice(web_pool)
        data, ext = build_web(plan, rng, src, fmt), fmt
    elif fmt == "docx":
        src = rng.choice(pool["docx"])
        if src.kind == "docx":
            data, ext = build_docx(plan, rng, src, metas.get(src.name, {})), "docx"
        else:
            (data, n_pages), ext, fmt = build_pdf(plan, rng, src, metas.get(src.name, {})), "pdf", "pdf"
    elif fmt == "pdf":
        src = rng.choice(pool["pdf"])
        (data, n_pages), ext = build_pdf(plan, rng, src, metas.get(src.name, {})), "pdf"
    else:
        src = rng.choice(pool["pdf"])
        meta = metas.get(src.name, {})
        kind = fmt.split(":", 1)[1]
        ext = "pdf"
        if kind == "empty":
            data = b""
        elif kind == "html-renamed":
            data = build_web(plan, rng, rng.choice(web_pool), "html") if web_pool else b"<html></html>"
        elif kind == "zip-renamed":
            docx_src = [s for s in sources if s.kind == "docx"]
            inner = build_docx(plan, rng, rng.choice(docx_src), meta) if docx_src else b"PK"
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
                z.writestr(zipfile.ZipInfo("contribution.docx", date_time=(1980, 1, 1, 0, 0, 0)), inner)
            data = buf.getvalue()
        else:
            pdf_bytes, n_pages = build_pdf(plan, rng, src, meta)
            if kind == "truncated":
                data = pdf_bytes[: int(len(pdf_bytes) * rng.uniform(0.3, 0.6))]
            else:  # locked with a user password
                with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
                    buf = io.BytesIO()
                    # RC4 and a fixed ID: AES would draw random IVs and break determinism.
                    pdf.save(buf, static_id=True, encryption=pikepdf.Encryption(
                        user=f"user{plan.index}", owner="owner", R=4, aes=False, metadata=False))
                    data = buf.getvalue()
    stem = re.sub(r"\.[a-z]+$", "", src.name)
    prefix = "xx-" if fmt.startswith("hard:") else ""
    name = f"r{plan.index:0{plan.name_width}d}-{prefix}{stem}.{ext}"
    meta = dict(metas.get(src.name, {}))
    row = {c: meta.get(c, "") for c in META_COLUMNS}
    row["file"] = name
    if row["submitted"]:
        row["submitted"] = _date(meta, rng).isoformat()
    return {"name": name, "data": data, "row": row, "format": fmt, "source": src.name,
            "lang": src.lang, "pdf_pages": n_pages if ext == "pdf" and not fmt.startswith("hard:") else 0}


# --- corpus --------------------------------------------------------------------------------


def _write_metadata(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=META_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def generate_corpus(out: Path, n: int, *, seed: int = SEED, hard_share: float = 0.01,
                    workers: int = 0, sample: Path = SAMPLE, force: bool = False) -> dict[str, Any]:
    """Write a corpus of ``n`` responses to ``out`` (reused when already made alike).

    Returns:
        The generation summary also written to ``out/MANIFEST-benchmark.json``.
    """
    sources = load_sources(sample)
    settings = {"n": n, "seed": seed, "hard_share": hard_share, "version": GENERATOR_VERSION,
                "sources": _source_digest(sample, sources)}
    man_path = out / MANIFEST
    if out.exists() and not force and man_path.exists():
        old = json.loads(man_path.read_text(encoding="utf-8"))
        if old.get("settings") == settings:
            return old
    if out.exists():
        if any(out.iterdir()) and not man_path.exists():
            raise SystemExit(f"{out} exists and is not a generated benchmark corpus; choose another --out")
        shutil.rmtree(out)
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    width = max(5, len(str(n)))
    plans = [Plan(i, width, seed, hard_share, n) for i in range(n)]
    t0 = time.perf_counter()
    rows, formats, langs = [], {}, {}
    pdf_pages = 0
    for res in _map(plans, workers=workers, sample=sample):
        (tmp / res["name"]).write_bytes(res["data"])
        rows.append(res["row"])
        formats[res["format"]] = formats.get(res["format"], 0) + 1
        langs[res["lang"]] = langs.get(res["lang"], 0) + 1
        pdf_pages += res["pdf_pages"]
    _write_metadata(tmp / "metadata.csv", rows)
    summary = {
        "settings": settings,
        "n_files": n,
        "formats": dict(sorted(formats.items())),
        "languages": dict(sorted(langs.items())),
        "pdf_pages": pdf_pages,
        "seconds": round(time.perf_counter() - t0, 1),
        "command": f".venv/bin/python benchmarks/generate_corpus.py --sizes {n} --seed {seed} "
                   f"--hard-share {hard_share} --out {out}",
    }
    (tmp / MANIFEST).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.rename(out)
    return summary


def add_response(corpus: Path, index: int, *, seed: int = SEED, sample: Path = SAMPLE) -> Path:
    """Add one new ordinary response (number ``index``) to ``corpus`` and its metadata.csv."""
    _init_worker(str(sample))
    width = max(5, len(str(index)))
    res = build_response(Plan(index, width, seed, 0.0, index + 1))
    path = corpus / res["name"]
    path.write_bytes(res["data"])
    meta = corpus / "metadata.csv"
    rows = _read_csv(meta)
    rows.append(res["row"])
    meta.unlink(missing_ok=True)  # it may be a hard link into the pristine corpus
    _write_metadata(meta, rows)
    return path


def _map(plans: list[Plan], *, workers: int, sample: Path):
    workers = workers or (os.cpu_count() or 1)
    if workers <= 1 or len(plans) < 50:
        _init_worker(str(sample))
        yield from map(build_response, plans)
        return
    ctx = mp.get_context("fork")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(str(sample),)) as pool:
        yield from pool.imap(build_response, plans, chunksize=16)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000],
                    help="corpus sizes (responses) to build (default: 100 1000 10000)")
    ap.add_argument("--out", type=Path, default=None,
                    help="output folder (only with one size; default benchmarks/out/corpus-N)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--hard-share", type=float, default=0.01,
                    help="share of broken files (truncated, empty, renamed, locked); default 0.01")
    ap.add_argument("--workers", type=int, default=0, help="processes (0 = all cores)")
    ap.add_argument("--force", action="store_true", help="rebuild even if an identical corpus exists")
    args = ap.parse_args(argv)
    if args.out and len(args.sizes) != 1:
        ap.error("--out needs exactly one --sizes value")
    if not 0 <= args.hard_share < 1:
        ap.error("--hard-share must be in [0, 1)")
    for n in args.sizes:
        if n < 1:
            ap.error("sizes must be positive")
        out = args.out or OUT_ROOT / f"corpus-{n}"
        s = generate_corpus(out, n, seed=args.seed, hard_share=args.hard_share,
                            workers=args.workers, force=args.force)
        print(f"{out}: {s['n_files']} files in {s['seconds']} s; formats {s['formats']}; "
              f"{s['pdf_pages']} PDF pages; languages {s['languages']}")
        print(f"  reproduce: {s['command']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
