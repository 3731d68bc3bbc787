"""Ingestion of the real documents in ../shared/corpora/dev: a row for every file and
text in the script of each document's gold language (Arabic in logical order)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.textutil import script_counts

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = {"ar": "Arabic", "zh": "Han", "ru": "Cyrillic"}
# Frequent Arabic words: reversed (visual-order) text would not contain them.
ARABIC_WORDS = ("في", "من", "على", "التي")

pytestmark = pytest.mark.dev


@pytest.fixture(scope="module")
def dev_tables(dev_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    from pipeline.ingest import ingest_corpus

    cfg = load_config(ROOT / "params.yaml")
    return ingest_corpus(dev_corpus, cfg, cache_dir=tmp_path_factory.mktemp("dev-cache"))


def test_ingest_dev_every_file_gets_a_row(dev_corpus: Path, dev_tables):
    gold = pd.read_csv(dev_corpus / "gold.csv", dtype=str, keep_default_na=False)
    manifest = dev_tables["manifest"]
    assert set(gold["source_path"]) <= set(manifest["source_path"])
    assert not manifest["source_path"].isin(["gold.csv", "metadata.csv", "README.md", "MANIFEST.jsonl"]).any()
    ok = manifest[manifest["status"].isin(["ok", "ocr"])]
    assert len(ok) == len(gold), manifest[~manifest["status"].isin(["ok", "ocr"])][["source_path", "detail"]]


def test_ingest_dev_text_is_in_the_gold_language_script(dev_corpus: Path, dev_tables):
    gold = pd.read_csv(dev_corpus / "gold.csv", dtype=str, keep_default_na=False)
    docs = dev_tables["documents"].merge(gold, on="source_path")
    bad = []
    for row in docs.itertuples():
        want = SCRIPT.get(row.lang.split(";")[0], "Latin")
        counts = script_counts(row.text)
        share = counts[want] / max(sum(counts.values()), 1)
        if share < 0.6:
            bad.append((row.source_path, round(share, 2)))
    assert not bad, bad
    arabic_pdfs = docs[(docs["lang"] == "ar") & docs["source_path"].str.endswith(".pdf")]
    assert len(arabic_pdfs) >= 2
    for row in arabic_pdfs.itertuples():
        words = set(row.text.split())
        assert sum(w in words for w in ARABIC_WORDS) >= 2, f"{row.source_path} reads reversed: {row.text[:80]}"
