"""Hostile and broken input: every file gets its own row and status, the run completes,
nothing outside the corpus is read (issue: reliability and security)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from adversarial_corpus import build_adversarial_corpus

from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[1]

ingest = pytest.importorskip("pipeline.ingest")


@pytest.fixture(scope="module")
def adversarial_run(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("adversarial")
    corpus = base / "corpus"
    expected = build_adversarial_corpus(corpus, outside=base / "outside")
    cfg = load_config(ROOT / "params.yaml")
    # Tight limits so the hostile files hit them quickly; the same code paths as defaults.
    cfg = dataclasses.replace(
        cfg, ingest=dataclasses.replace(cfg.ingest, timeout_s=30, memory_mb=1024, max_pages=1000)
    )
    start = time.perf_counter()
    tables = ingest.ingest_corpus(corpus, cfg, cache_dir=base / "cache")
    elapsed = time.perf_counter() - start
    return expected, tables, elapsed


def test_ingest_adversarial_every_file_gets_one_row_with_an_expected_status(adversarial_run):
    expected, tables, elapsed = adversarial_run
    manifest = tables["manifest"].set_index("source_path")
    print(f"\nadversarial corpus ingested in {elapsed:.1f} s")
    for name in sorted(expected):
        row = manifest.loc[name]
        print(f"  {row['status']:<11} {name}: {row['detail']}")
    assert sorted(manifest.index) == sorted(expected), "one manifest row per input file"
    for name, allowed in expected.items():
        status = manifest.loc[name, "status"]
        assert status in allowed, f"{name}: got {status}, expected one of {sorted(allowed)}"
        assert len(str(manifest.loc[name, "detail"])) > 10, f"{name}: detail must say what to do"


def test_ingest_adversarial_reads_nothing_outside_the_corpus(adversarial_run):
    _, tables, _ = adversarial_run
    texts = " ".join(tables["documents"]["text"])
    assert "SECRET OUTSIDE" not in texts
    assert "root:" not in texts, "XXE entity must not be resolved"
    respondents = set(tables["documents"]["respondent"].dropna())
    assert "Eve" not in respondents, "a metadata row with ../ must be rejected"


def test_ingest_adversarial_still_reads_the_good_files(adversarial_run):
    _, tables, _ = adversarial_run
    docs = tables["documents"].merge(
        tables["manifest"][["source_path", "doc_id"]], on=["doc_id"], suffixes=("", "_m")
    )
    by_path = dict(zip(docs["source_path"], docs["text"], strict=True))
    assert "Internet exchange points" in by_path["good-response.pdf"]
    assert "扩大互联网连接" in by_path["中文 答复.docx"]
    assert "توسيع الاتصال" in by_path["رد الوزارة.docx"]
    good = tables["documents"].set_index("source_path").loc["good-response.pdf"]
    assert good["respondent"] == "Zoë Müller", "a Windows-1252 metadata.csv is decoded"
    assert good["country"] == "FRA"


def test_ingest_adversarial_bounded_time(adversarial_run):
    _, _, elapsed = adversarial_run
    # 22 hostile files, each bounded by the 30 s limit; a hang would blow far past this.
    assert elapsed < 180
