"""Two runs on the same input give byte-identical tables and the same reports.

Eight files of the sample corpus (six languages; TXT, HTML, DOCX, PDF, an empty upload)
with their metadata are copied into a temporary corpus, and ``textmine run`` (every
stage that exists) runs twice on it into two output folders. The two runs are separate
processes started side by side with different ``PYTHONHASHSEED`` values, so an output
that depends on set or dict-of-set iteration order, on the clock or on the process
shows up here. Compared: every Parquet table byte for byte (on a difference the test
names the first differing row and column), ``reports/tables/*.csv`` and every other
report file byte for byte, and the Markdown/HTML reports after removing lines that hold
a generation timestamp.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FILES = [
    "en-05-phone-bill-complaint.txt",
    "es-05-maestra-rural-argentina.html",
    "fr-02-ministere-cote-divoire.docx",
    "zh-05-individual-covid.docx",
    "ar-01-mcit-egypt.pdf",
    "ru-02-rcc-connectivity.pdf",
    "fren-01-bilingual-cameroon.pdf",
    "xx-empty-upload.pdf",
]
# A line stating when the report was generated: an ISO date with a time of day, or a
# "generated ... <digits>" sentence.
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|(?i:generated|généré|сгенерирован|生成).*\d")
TEXT_REPORTS = {".md", ".html"}

pytestmark = pytest.mark.slow


def _small_corpus(sample: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(sample / name, dest / name)
    with (sample / "metadata.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    with (dest / "metadata.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([rows[0]] + [r for r in rows[1:] if r and r[0] in FILES])


@pytest.fixture(scope="module")
def two_runs(sample_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("determinism")
    corpus = base / "corpus"
    _small_corpus(sample_corpus, corpus)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["compute"]["workers"] = 2
    (base / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8")
    outs = [base / "run1", base / "run2"]
    procs = []
    # Side by side: half the wall time, and both runs see the same code.
    for i, out in enumerate(outs, start=1):
        env = {**os.environ, "PYTHONHASHSEED": str(i)}
        cmd = [sys.executable, "-c", "import sys; from pipeline.cli import main; sys.exit(main(sys.argv[1:]))",
               "run", "--corpus", str(corpus), "--out", str(out), "--params", str(base / "params.yaml")]
        log = (base / f"run{i}.log").open("w")
        procs.append((subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log))
    for i, (proc, log) in enumerate(procs, start=1):
        try:
            code = proc.wait(timeout=600)
        finally:
            log.close()
        assert code == 0, f"run {i} failed:\n" + (base / f"run{i}.log").read_text()[-3000:]
    return outs[0], outs[1]


def _files(out: Path, pattern: str) -> list[Path]:
    return sorted(p.relative_to(out) for p in out.rglob(pattern) if "cache" not in p.relative_to(out).parts)


def _first_difference(a: Path, b: Path) -> str:
    """Where two Parquet tables differ: schema, shape, or the first differing cell."""
    ta, tb = pq.read_table(a), pq.read_table(b)
    if ta.schema != tb.schema:
        return f"schemas differ:\n{ta.schema}\nvs\n{tb.schema}"
    if ta.num_rows != tb.num_rows:
        return f"{ta.num_rows} rows vs {tb.num_rows} rows"
    da, db = ta.to_pandas(), tb.to_pandas()
    for row in range(len(da)):
        for col in da.columns:
            x, y = da[col].iloc[row], db[col].iloc[row]
            if repr(x) != repr(y):
                return f"first difference at row {row}, column {col!r}: {repr(x)[:300]} vs {repr(y)[:300]}"
    return "same values, different bytes (Parquet metadata or encoding settings differ)"


def test_determinism_two_runs_write_the_same_tables(two_runs):
    one, two = two_runs
    tables = _files(one, "*.parquet")
    assert tables, "the run wrote no tables"
    assert tables == _files(two, "*.parquet")
    differ = [f"{rel}: {_first_difference(one / rel, two / rel)}"
              for rel in tables if (one / rel).read_bytes() != (two / rel).read_bytes()]
    assert not differ, "tables differ between two runs:\n" + "\n".join(differ)


def test_determinism_two_runs_write_the_same_csv_tables(two_runs):
    one, two = two_runs
    csvs = _files(one / "reports" / "tables", "*.csv")
    if not csvs:
        pytest.skip("the summarize stage wrote no CSV tables")
    assert csvs == _files(two / "reports" / "tables", "*.csv")
    differ = [str(rel) for rel in csvs
              if (one / "reports" / "tables" / rel).read_bytes() != (two / "reports" / "tables" / rel).read_bytes()]
    assert not differ, f"CSV tables differ between two runs: {differ}"


def _without_timestamps(text: str) -> list[str]:
    return [line for line in text.splitlines() if not TIMESTAMP.search(line)]


def test_determinism_two_runs_write_the_same_reports(two_runs):
    one, two = (out / "reports" for out in two_runs)
    files = [rel for rel in _files(one, "*") if (one / rel).is_file()]
    if not files:
        pytest.skip("no report stage wrote anything")
    assert files == [rel for rel in _files(two, "*") if (two / rel).is_file()]
    differ = []
    for rel in files:
        a, b = (one / rel).read_bytes(), (two / rel).read_bytes()
        if a == b:
            continue
        if rel.suffix in TEXT_REPORTS:
            la, lb = _without_timestamps(a.decode("utf-8")), _without_timestamps(b.decode("utf-8"))
            if la == lb:
                continue
            line = next((i for i, (x, y) in enumerate(zip(la, lb, strict=False)) if x != y), min(len(la), len(lb)))
            differ.append(f"{rel}: line {line + 1}: {la[line][:200] if line < len(la) else '<end>'!r} vs "
                          f"{lb[line][:200] if line < len(lb) else '<end>'!r}")
        else:
            differ.append(f"{rel}: bytes differ")
    assert not differ, "reports differ between two runs:\n" + "\n".join(differ)
