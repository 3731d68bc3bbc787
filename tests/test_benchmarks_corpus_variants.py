"""benchmarks/generate_corpus.py: deterministic, no two files alike, the asked share of
broken files, one metadata row per file."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gen():
    if not (ROOT / "corpora" / "raw" / "sample" / "metadata.csv").exists():
        pytest.skip("corpora/raw/sample is not built (make sample)")
    spec = importlib.util.spec_from_file_location("generate_corpus", ROOT / "benchmarks" / "generate_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["generate_corpus"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _hashes(folder: Path) -> dict[str, str]:
    # MANIFEST-benchmark.json records the folder and the time taken: not compared
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if not p.name.startswith("MANIFEST")}


def test_benchmarks_corpus_variants_deterministic_and_distinct(gen, tmp_path: Path) -> None:
    n = 16
    summary = gen.generate_corpus(tmp_path / "a", n, seed=3, hard_share=0.125, workers=1)
    gen.generate_corpus(tmp_path / "b", n, seed=3, hard_share=0.125, workers=1)
    a, b = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert a == b, "same seed, different corpus"
    responses = {k: v for k, v in a.items() if k.startswith("r")}
    assert len(responses) == n
    hard = [k for k in responses if "-xx-" in k]
    assert len(hard) == 2  # round(16 * 0.125)
    # no two files alike (empty uploads aside), and PDFs differ from their sample source
    ordinary = [v for k, v in responses.items() if "-xx-" not in k]
    assert len(set(ordinary)) == len(ordinary)
    sample_hashes = set(_hashes(ROOT / "corpora" / "raw" / "sample").values())
    assert not sample_hashes & set(ordinary)
    with open(tmp_path / "a" / "metadata.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["file"] for r in rows) == sorted(responses)
    assert summary["n_files"] == n and sum(summary["formats"].values()) == n
    # adding one response: a new file and a new metadata row, not a copy of an old one
    new = gen.add_response(tmp_path / "a", n, seed=3)
    assert new.exists() and hashlib.sha256(new.read_bytes()).hexdigest() not in ordinary
    with open(tmp_path / "a" / "metadata.csv", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == n + 1
