"""Replay every input on which the ingestion fuzzer once crashed (``tests/fuzz_cases``).

``benchmarks/fuzz_ingest.py`` saves each crashing input as ``<sha256>.bin`` with a row
in ``tests/fuzz_cases/README.md`` (its file name in the corpus, a companion case that
must sit beside it, the cause). Each case must now be ingested without an exception and
get exactly one manifest row with a known status and an actionable detail.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.schemas import MANIFEST_STATUSES, validate

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "fuzz_cases"
ROW = re.compile(r"^\|\s*([0-9a-f]{64})\.bin\s*\|\s*([^|]+?)\s*\|\s*(?:([0-9a-f]{64})\.bin)?\s*\|(.*)\|(.*)\|\s*$")
# metadata.csv cases are replayed beside this plain-text response.
RESPONSE = ("response.txt", b"A plain response to the consultation on Internet connectivity.")


def read_cases() -> list[dict[str, str]]:
    readme = CASES / "README.md"
    if not readme.exists():
        return []
    cases = []
    for line in readme.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            cases.append({"sha": m.group(1), "name": m.group(2), "companion": m.group(3) or "",
                          "cause": m.group(4).strip()})
    return cases


CASE_LIST = read_cases()

# Cases whose bug is reported but not fixed yet: strict xfail, so the fix turns them into
# failures to delete from this dict (the case then guards against a regression).
OPEN: dict[str, str] = {}


def _marked(case: dict[str, str]):
    reason = OPEN.get(case["sha"])
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, id=case["sha"][:12], marks=marks)


def test_ingest_fuzz_cases_folder_holds_only_listed_cases():
    assert CASES.is_dir(), "tests/fuzz_cases must exist (benchmarks/fuzz_ingest.py writes there)"
    listed = {c["sha"] for c in CASE_LIST}
    for path in CASES.iterdir():
        if path.name in ("README.md", ".gitkeep"):
            continue
        assert path.suffix == ".bin" and path.stem in listed, f"unexpected file {path.name} in tests/fuzz_cases"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.stem, f"{path.name} was edited"
    for case in CASE_LIST:
        assert (CASES / f"{case['sha']}.bin").exists(), f"README lists a missing case {case['sha']}.bin"
        if case["companion"]:
            assert case["companion"] in listed, f"companion {case['companion']} is not listed"


@pytest.fixture(scope="module")
def fuzz_cfg():
    cfg = load_config(ROOT / "params.yaml")
    return dataclasses.replace(
        cfg,
        compute=dataclasses.replace(cfg.compute, workers=1),
        ingest=dataclasses.replace(cfg.ingest, timeout_s=10, memory_mb=1024, max_pages=50, max_file_mb=20,
                                   ocr_max_pages=1, ocr_dpi=100, ocr_languages="eng"),
    )


@pytest.mark.parametrize("case", [_marked(c) for c in CASE_LIST])
def test_ingest_fuzz_case_gets_one_row_with_a_status(case, fuzz_cfg, tmp_path):
    from pipeline.ingest import ingest_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    by_sha = {c["sha"]: c for c in CASE_LIST}
    placed = [case] + ([by_sha[case["companion"]]] if case["companion"] else [])
    names = []
    for c in placed:
        (corpus / c["name"]).write_bytes((CASES / f"{c['sha']}.bin").read_bytes())
        if c["name"] != "metadata.csv":
            names.append(c["name"])
    if not names:
        (corpus / RESPONSE[0]).write_bytes(RESPONSE[1])
        names.append(RESPONSE[0])

    tables = ingest_corpus(corpus, fuzz_cfg, cache_dir=tmp_path / "cache")

    manifest = tables["manifest"]
    assert sorted(manifest["source_path"]) == sorted(names), "exactly one manifest row per file"
    for row in manifest.itertuples(index=False):
        assert row.status in MANIFEST_STATUSES
        assert isinstance(row.detail, str) and len(row.detail) > 10, "the detail says what to do"
    for name in ("manifest", "documents", "pages", "segments"):
        validate(name, tables[name])
    texts = dict(zip(tables["documents"]["doc_id"], tables["documents"]["text"], strict=True))
    for seg in tables["segments"].itertuples(index=False):
        assert texts[seg.doc_id][seg.char_start:seg.char_end] == seg.text
    if names == [RESPONSE[0]]:
        assert manifest["status"].tolist() == ["ok"], "a broken metadata.csv must not stop the response"
