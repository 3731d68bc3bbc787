"""Fuzz the ingestion entry point with mutated files; save every crash as a test case.

Run (from the repository root):

    .venv/bin/python benchmarks/fuzz_ingest.py --iterations 200 [--seed 0] [--timeout 10]

Hypothesis draws each input: a seed file (small files of ``corpora/raw/sample``, the
same PDFs rewritten with uncompressed streams so that mutations hit text operators,
and files from ``tests/adversarial_corpus.py``'s generators), one to four byte-level
mutations (bit flips, byte overwrites, truncation, splicing in a range of another seed,
duplicating or repeating a range, deleting a range, inserting PDF/XML/CSV tokens) or,
for DOCX seeds, mutations of one zip member re-zipped, a file name (Arabic, Chinese,
spaces, the wrong extension) and, one time in five, a mutated ``metadata.csv`` naming
it. The file is written into a fresh corpus folder and
``pipeline.ingest.ingest_corpus(folder, cfg, cache_dir=...)`` runs with tight limits
(``ingest.timeout_s`` 10 s, 1 GB, 50 pages, one OCR page in English).

A crash is an exception out of ``ingest_corpus``, a missing or doubled manifest row, a
status outside ``schemas.MANIFEST_STATUSES`` or an empty ``detail``, a table that breaks
its contract, a segment whose offsets do not point at its text, or a run that outlasts
its limits. Each crashing input is saved as ``tests/fuzz_cases/<sha256>.bin`` with a
line in ``tests/fuzz_cases/README.md``; ``tests/test_ingest_fuzz_cases.py`` replays
them all.

Why hypothesis and not atheris: atheris installs from PyPI, but its coverage feedback
cannot see the parsers, which run in a sandboxed child process
(:mod:`pipeline.sandbox`); blind, it is a random mutator like this one, with an extra
35 MB dependency and a process it takes over. Hypothesis is already a test dependency
and a ``--seed`` makes a run repeatable.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import hashlib
import io
import logging
import re
import resource
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pipeline.config import Config, load_config  # noqa: E402
from pipeline.schemas import MANIFEST_STATUSES, validate  # noqa: E402

SAMPLE = ROOT / "corpora" / "raw" / "sample"
CASES = ROOT / "tests" / "fuzz_cases"
README_HEAD = """# Fuzzing cases for ingestion

Inputs on which `benchmarks/fuzz_ingest.py` once made `ingest_corpus` crash (an
exception, a missing manifest row, an unknown status, a broken contract).
`tests/test_ingest_fuzz_cases.py` re-runs every case listed here: each file must get
exactly one manifest row with a known status and an actionable detail.

A case named `metadata.csv` is the corpus's metadata file, replayed beside a plain-text
response; `companion` names a second case that must sit in the same corpus folder.
Cases are shrunk by delta debugging before they are saved, and a bug already listed
(same exception leaving the same pipeline function) is not saved again.

| case | name | companion | cause | found by |
|---|---|---|---|---|
"""

NAMES = ["response", "رد الوزارة", "中文 答复", "name with spaces", "Ответ-министерства", "respuesta (1)"]
EXTS = [".pdf", ".docx", ".txt", ".md", ".html"]
TOKENS = [b"\x00", b"\xff\xfe", b"%%EOF", b"endobj", b"<<", b">>", b"stream\n", b"endstream",
          b"/Length 999999999", b"(", b")", b"\\", b"-99999999999", b"0 0 R", b"xref", b"trailer",
          b"<w:p>", b"</w:t>", b"<!DOCTYPE x [<!ENTITY a \"aaaa\">]>", b"&a;", b"\"", b",", b"\r", b"\n",
          b"\xe2\x80\xae", b"\xef\xbb\xbf", b"\xd8\xa7", b"=HYPERLINK(\"x\")"]
MAX_BYTES = 1 << 20
STATUS_SET = set(MANIFEST_STATUSES)


# --- seeds ----------------------------------------------------------------------------------


def _uncompressed(pdf: bytes) -> bytes | None:
    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            buf = io.BytesIO()
            doc.save(buf, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.generalized,
                     object_stream_mode=pikepdf.ObjectStreamMode.disable, deterministic_id=True)
            return buf.getvalue()
    except Exception:  # noqa: BLE001 - a seed that pikepdf cannot rewrite is used as it is
        return None


def load_seeds() -> list[tuple[str, bytes]]:
    """(name, bytes) of the seed files, small enough that an iteration takes a second."""
    import adversarial_corpus as adv

    seeds: list[tuple[str, bytes]] = []
    if SAMPLE.is_dir():
        files = sorted((p for p in SAMPLE.iterdir() if p.is_file() and p.suffix in EXTS
                        and not p.name.lower().startswith(("readme", "metadata", "gold"))),
                       key=lambda p: (p.stat().st_size, p.name))
        by_ext: dict[str, list[Path]] = collections.defaultdict(list)
        for p in files:
            by_ext[p.suffix].append(p)
        # The two smallest of each kind, and the odd ones (encrypted, truncated, renamed).
        chosen = {p for group in by_ext.values() for p in group[:2]}
        chosen |= {p for p in files if p.name.startswith(("xx-", "fr-05"))}
        for p in sorted(chosen):
            data = p.read_bytes()
            seeds.append((p.name, data))
            if p.suffix == ".pdf" and data.startswith(b"%PDF") and len(seeds) < 40:
                flat = _uncompressed(data)
                if flat is not None and flat != data:
                    seeds.append((p.stem + "-flat.pdf", flat))
    text = adv._wrap_lines(adv.GOOD_TEXT)
    seeds += [
        ("adv-text.pdf", adv._text_pdf(text, n_pages=2)),
        ("adv-broken-xref.pdf", adv._broken_xref_pdf(adv._text_pdf(text))),
        ("adv-javascript.pdf", adv._active_content_pdf()),
        ("adv-no-tounicode.pdf", adv._no_tounicode_pdf()),
        ("adv-nested.pdf", adv._nested_pdf(400)),
        ("adv-arabic.docx", adv._docx_bytes("رد على المشاورة المفتوحة بشأن توسيع الاتصال بالإنترنت.")),
        ("adv-chinese.docx", adv._docx_bytes("关于扩大互联网连接的公开磋商的答复。")),
        ("adv-xxe.docx", adv._docx_xxe()),
        ("adv-text.txt", adv.GOOD_TEXT.encode("utf-8")),
    ]
    return seeds


def metadata_seed(name: str) -> bytes:
    return (
        "file,respondent,organisation,stakeholder_type,country,submitted\n"
        f"{name},Zoë Müller,\"Société, générale\",private_sector,FRA,2021-03-04\n"
        "../x.txt,Eve,Evil,individual,USA,2021-01-01\n"
    ).encode()


# --- mutations -------------------------------------------------------------------------------


def mutate_bytes(data: bytes, draw, seeds: list[tuple[str, bytes]]) -> tuple[bytes, list[str]]:
    """Apply one to four byte-level mutations drawn by hypothesis; return bytes and a log."""
    buf = bytearray(data)
    log: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "overwrite", "truncate", "splice", "duplicate", "repeat",
                                   "delete", "token"]))
        n = len(buf)
        pos = draw(st.integers(0, max(n - 1, 0)))
        if op == "flip" and n:
            for _ in range(draw(st.integers(1, 8))):
                i = draw(st.integers(0, n - 1))
                buf[i] ^= 1 << draw(st.integers(0, 7))
            log.append(f"flip@{pos}")
        elif op == "overwrite" and n:
            chunk = draw(st.binary(min_size=1, max_size=16))
            buf[pos:pos + len(chunk)] = chunk
            log.append(f"overwrite@{pos}+{len(chunk)}")
        elif op == "truncate":
            del buf[pos:]
            log.append(f"truncate@{pos}")
        elif op == "splice":
            _, other = draw(st.sampled_from(seeds))
            if other:
                a = draw(st.integers(0, len(other) - 1))
                b = draw(st.integers(a, min(len(other), a + 4096)))
                buf[pos:pos] = other[a:b]
                log.append(f"splice@{pos}+{b - a}")
        elif op in ("duplicate", "repeat") and n:
            end = draw(st.integers(pos, min(n, pos + 2048)))
            times = 1 if op == "duplicate" else draw(st.integers(2, 1000))
            piece = bytes(buf[pos:end]) * times
            at = draw(st.integers(0, n))
            buf[at:at] = piece[: MAX_BYTES - n]
            log.append(f"{op}[{pos}:{end}]x{times}@{at}")
        elif op == "delete" and n:
            end = draw(st.integers(pos, min(n, pos + 4096)))
            del buf[pos:end]
            log.append(f"delete[{pos}:{end}]")
        elif op == "token":
            token = draw(st.sampled_from(TOKENS))
            buf[pos:pos] = token
            log.append(f"token@{pos}")
    return bytes(buf[:MAX_BYTES]), log


def mutate_zip_member(data: bytes, draw, seeds: list[tuple[str, bytes]]) -> tuple[bytes, list[str]] | None:
    """Mutate the content of one member of a zip (DOCX) and zip it again (valid CRCs)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as src:
            infos = src.infolist()
            members = [(i.filename, src.read(i.filename)) for i in infos]
    except Exception:  # noqa: BLE001 - not a readable zip: fall back to byte mutations
        return None
    if not members:
        return None
    names = [m for m, _ in members]
    target = draw(st.sampled_from(sorted(names, key=lambda m: (m != "word/document.xml", m))))
    out = io.BytesIO()
    log: list[str] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, blob in members:
            if name == target:
                blob, log = mutate_bytes(blob, draw, seeds)
            dst.writestr(name, blob)
    return out.getvalue(), [f"zip:{target}:" + ",".join(log)]


# --- one run ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    name: str
    data: bytes
    metadata: bytes | None
    found_by: str


def check_run(case: Case, cfg: Config, work: Path) -> tuple[str | None, str | None, float]:
    """Ingest one case; return (crash cause or None, status, seconds)."""
    from pipeline.ingest import ingest_corpus

    if work.exists():
        shutil.rmtree(work)
    corpus = work / "corpus"
    corpus.mkdir(parents=True)
    (corpus / case.name).write_bytes(case.data)
    if case.metadata is not None:
        (corpus / "metadata.csv").write_bytes(case.metadata)
    start = time.perf_counter()
    try:
        tables = ingest_corpus(corpus, cfg, cache_dir=work / "cache")
    except Exception as exc:  # noqa: BLE001 - that is the crash we look for
        return f"{type(exc).__name__} at {_where(exc)}: {str(exc)[:200]}", None, time.perf_counter() - start
    secs = time.perf_counter() - start
    return check_tables(tables, [case.name], cfg, secs), _status_of(tables, case.name), secs


def _where(exc: BaseException) -> str:
    """The innermost pipeline frame of a traceback, and the innermost frame if elsewhere."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/pipeline/" in f.filename]
    spots = [ours[-1]] if ours else []
    if frames and (not ours or frames[-1] is not ours[-1]):
        spots.append(frames[-1])
    return " in ".join(f"{Path(f.filename).name}:{f.lineno} ({f.name})" for f in reversed(spots))


def signature(cause: str) -> str:
    """What makes two crashes the same bug: the exception and the pipeline function it left."""
    head = cause.split(": ", 1)[0]
    if " at " not in head:
        return re.sub(r"\d+", "#", cause[:60])
    return head.split(" at ")[0] + " " + re.findall(r"\((\w+)\)", head)[-1]


def _status_of(tables, name: str) -> str | None:
    rows = tables["manifest"][tables["manifest"]["source_path"] == name]
    if len(rows) != 1:
        return None
    status, detail = str(rows["status"].iloc[0]), str(rows["detail"].iloc[0])
    # An exception inside the sandboxed reader is reported as corrupt, which is right for
    # the run, but an unexpected exception type may be a reader bug worth a look.
    m = _READER_FAILED.search(detail)
    if m:
        contained[m.group(1)] += 1
        contained_example.setdefault(m.group(1), detail[:220])
    return status


_READER_FAILED = re.compile(r"reader failed on this file \((\w+)")
contained: collections.Counter[str] = collections.Counter()
contained_example: dict[str, str] = {}


def check_tables(tables, names: list[str], cfg: Config, secs: float) -> str | None:
    """The crash conditions on the tables of a completed run (None when all is well)."""
    manifest = tables["manifest"]
    for name in names:
        rows = manifest[manifest["source_path"] == name]
        if len(rows) != 1:
            return f"{len(rows)} manifest rows for {name!r} (expected exactly one)"
        status, detail = rows["status"].iloc[0], rows["detail"].iloc[0]
        if status not in STATUS_SET:
            return f"status {status!r} is not one of {sorted(STATUS_SET)}"
        if not isinstance(detail, str) or len(detail.strip()) < 10:
            return f"status {status} with no actionable detail ({detail!r})"
    for table in ("manifest", "documents", "pages", "segments"):
        try:
            validate(table, tables[table])
        except Exception as exc:  # noqa: BLE001 - a contract violation is a crash
            return f"{table} breaks its contract: {type(exc).__name__}: {str(exc)[:200]}"
    texts = dict(zip(tables["documents"]["doc_id"], tables["documents"]["text"], strict=True))
    for seg in tables["segments"].itertuples(index=False):
        if texts.get(seg.doc_id, "")[seg.char_start:seg.char_end] != seg.text:
            return f"segment {seg.doc_id}/{seg.seg_id} offsets do not point at its text"
    # The sandbox stops a file at timeout_s; a run far beyond it means a limit leaked.
    if secs > 3 * cfg.ingest.timeout_s + 20:
        return f"ingest took {secs:.0f} s, beyond ingest.timeout_s={cfg.ingest.timeout_s:g}"
    return None


RESPONSE = ("response.txt", b"A plain response to the consultation on Internet connectivity.")


def minimise(data: bytes, crashes, *, budget: int = 150) -> bytes:
    """Delta debugging (complements only): drop chunks while the same crash remains.

    A small case is cheap to keep in the repository and shows the bug at a glance.
    """
    n = 2
    while len(data) > 1 and budget > 0:
        size = -(-len(data) // n)
        for start in range(0, len(data), size):
            if budget <= 0:
                break
            candidate = data[:start] + data[start + size:]
            budget -= 1
            if candidate and crashes(candidate):
                data = candidate
                n = max(n - 1, 2)
                break
        else:
            if size == 1:
                break
            n = min(n * 2, len(data))
    return data


def known_signatures() -> set[str]:
    """Signatures of the cases already saved (a known bug is not saved again)."""
    readme = CASES / "README.md"
    if not readme.exists():
        return set()
    rows = [line.split("|") for line in readme.read_text(encoding="utf-8").splitlines()]
    return {signature(r[4].strip()) for r in rows if len(r) > 5 and r[1].strip().endswith(".bin")}


def save_case(case: Case, cause: str, cfg: Config, work: Path) -> list[str]:
    """Save the crashing input(s), attributed by re-running each part alone."""
    CASES.mkdir(parents=True, exist_ok=True)
    readme = CASES / "README.md"
    if not readme.exists():
        readme.write_text(README_HEAD, encoding="utf-8")
    parts: list[tuple[str, bytes]] = [(case.name, case.data)]
    if case.metadata is not None:
        # Which part crashes alone: the file with no metadata, or the metadata beside a
        # plain response; save both, linked, only when neither does alone.
        alone, _, _ = check_run(Case(case.name, case.data, None, case.found_by), cfg, work)
        meta_alone, _, _ = check_run(Case(RESPONSE[0], RESPONSE[1], case.metadata, ""), cfg, work)
        if alone is not None:
            parts = [(case.name, case.data)]
        elif meta_alone is not None:
            parts = [("metadata.csv", case.metadata)]
        else:
            parts = [(case.name, case.data), ("metadata.csv", case.metadata)]
    if len(parts) == 1:
        name, data = parts[0]
        if name == "metadata.csv":
            def crashes(b: bytes) -> bool:
                got, _, _ = check_run(Case(RESPONSE[0], RESPONSE[1], b, ""), cfg, work)
                return got is not None and signature(got) == signature(cause)
        else:
            def crashes(b: bytes) -> bool:
                got, _, _ = check_run(Case(name, b, None, ""), cfg, work)
                return got is not None and signature(got) == signature(cause)
        parts = [(name, minimise(data, crashes))]
    shas = [hashlib.sha256(data).hexdigest() for _, data in parts]
    lines = []
    for i, ((name, data), sha) in enumerate(zip(parts, shas, strict=True)):
        path = CASES / f"{sha}.bin"
        if path.exists():
            continue
        path.write_bytes(data)
        companion = f"{shas[1 - i]}.bin" if len(parts) == 2 else ""
        clean = cause.replace("|", "/").replace("\n", " ")
        lines.append(f"| {sha}.bin | {name} | {companion} | {clean} | {case.found_by} |\n")
    with readme.open("a", encoding="utf-8") as fh:
        fh.writelines(lines)
    return [f"tests/fuzz_cases/{sha}.bin" for sha in shas]


def fuzz_config(params: Path, *, timeout_s: float) -> Config:
    cfg = load_config(params)
    return dataclasses.replace(
        cfg,
        compute=dataclasses.replace(cfg.compute, workers=1),
        ingest=dataclasses.replace(cfg.ingest, timeout_s=timeout_s, memory_mb=1024, max_pages=50,
                                   max_file_mb=20, ocr_max_pages=1, ocr_dpi=100, ocr_languages="eng"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=200, help="inputs to try (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    parser.add_argument("--timeout", type=float, default=10.0, help="ingest.timeout_s per file (default 10)")
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--no-save", action="store_true", help="report crashes without saving them")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # ingest warns about every broken file

    cfg = fuzz_config(args.params, timeout_s=args.timeout)
    seeds = load_seeds()
    statuses: collections.Counter[str] = collections.Counter()
    crashes: list[tuple[str, str, list[str]]] = []
    times: list[float] = []
    root = Path(tempfile.mkdtemp(prefix="fuzz-ingest-"))
    print(f"{len(seeds)} seed files; {args.iterations} iterations; ingest.timeout_s={args.timeout:g}", flush=True)

    @settings(max_examples=args.iterations, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @hypothesis_seed(args.seed)
    @given(st.data())
    def one(data) -> None:
        draw = data.draw
        seed_name, seed_bytes = draw(st.sampled_from(seeds))
        mutated = None
        if seed_bytes.startswith(b"PK") and draw(st.booleans()):
            mutated = mutate_zip_member(seed_bytes, draw, seeds)
        if mutated is None:
            mutated = mutate_bytes(seed_bytes, draw, seeds)
        blob, log = mutated
        ext = Path(seed_name).suffix if draw(st.integers(0, 4)) else draw(st.sampled_from(EXTS))
        name = draw(st.sampled_from(NAMES)) + ext
        meta = None
        if draw(st.integers(0, 4)) == 0:
            meta, mlog = mutate_bytes(metadata_seed(name), draw, seeds)
            log.append("metadata:" + ",".join(mlog))
        found_by = f"seed={args.seed} iter={len(times)} from {seed_name}: {' '.join(log)}"[:300]
        case = Case(name, blob, meta, found_by)
        cause, status, secs = check_run(case, cfg, root / "run")
        times.append(secs)
        statuses[status or "crash"] += 1
        if cause is not None:
            # Hypothesis explores around an input that did something new, so one bug
            # shows up several times in a row: save the first input per signature.
            seen = {signature(c) for c, _, _ in crashes} | known_signatures()
            first = signature(cause) not in seen
            saved = save_case(case, cause, cfg, root / "attribute") if first and not args.no_save else []
            crashes.append((cause, found_by, saved))
            print(f"CRASH {cause}\n  input: {found_by}\n  saved: {', '.join(saved) or '-'}", flush=True)

    start = time.perf_counter()
    try:
        one()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    elapsed = time.perf_counter() - start
    peak_child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    print(f"iterations: {len(times)}")
    print(f"crashes:    {len(crashes)} ({len({signature(c) for c, _, _ in crashes})} distinct)")
    print(f"time:       {elapsed:.1f} s total, {elapsed / max(len(times), 1):.2f} s per input, "
          f"slowest {max(times, default=0):.1f} s")
    print(f"peak RSS of a file worker: {peak_child_mb:.0f} MB")
    print("statuses:   " + ", ".join(f"{k}={v}" for k, v in sorted(statuses.items())))
    if contained:
        print("exceptions contained by the sandbox (status corrupt; reader bugs or broken files):")
        for exc, n in contained.most_common():
            print(f"  {n:4d} x {exc}: {contained_example[exc]}")
    for cause, found_by, saved in crashes:
        print(f"  - {cause} [{found_by}] -> {', '.join(saved) or 'not saved'}")
    print(f"reproduce:  .venv/bin/python benchmarks/fuzz_ingest.py --iterations {args.iterations} "
          f"--seed {args.seed} --timeout {args.timeout:g}")
    if crashes:
        print("replay saved cases: .venv/bin/pytest -q tests/test_ingest_fuzz_cases.py")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
