"""Shared fixtures: the bundled sample corpus, the shared dev corpus, and one pipeline run
over the sample that every stage's tests can read instead of re-running the stages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "corpora" / "raw" / "sample"
DEV = ROOT.parent / "shared" / "corpora" / "dev"

# `textmine` commands run by the tests start in a fresh interpreter, as they always did:
# no stage server outlives the tests (tests/test_stage_server.py starts its own).
os.environ["TEXTMINE_SERVER"] = "0"


@pytest.fixture(scope="session")
def sample_corpus() -> Path:
    if not (SAMPLE / "gold.csv").exists():
        pytest.skip("corpora/raw/sample is not built (make sample)")
    return SAMPLE


@pytest.fixture(scope="session")
def dev_corpus() -> Path:
    if not (DEV / "gold.csv").exists():
        pytest.skip("../shared/corpora/dev is not beside the checkout")
    return DEV


@pytest.fixture(scope="session")
def sample_run(sample_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run every stage once on the sample corpus; return the output folder.

    Tables are under ``OUT/<stage>/``, reports under ``OUT/reports``.
    """
    from pipeline.cli import main

    out = tmp_path_factory.mktemp("sample-run")
    code = main(["run", "--corpus", str(sample_corpus), "--out", str(out),
                 "--params", str(ROOT / "params.yaml")])
    assert code == 0, "textmine run failed on the sample corpus"
    return out
