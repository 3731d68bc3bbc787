"""One text in several languages gets the same themes: the dev corpus's translation groups
(``sdg/9.1.ar.txt`` ... ``sdg/9.1.zh.txt``, ``umbrella/ar/x`` and ``umbrella/es/x``),
ingested and scored as the pipeline does, with each document's language from gold.

This is the language-fairness check the per-language macro-F1 cannot make at five
documents a language: there, one document moves a language's figure by about 0.1
(``benchmarks/bench_themes.py`` prints the gap that chance alone gives).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
from themes_helpers import serial

from pipeline.config import load_config
from pipeline.themes import fit_themes

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.dev


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_themes", ROOT / "benchmarks" / "bench_themes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def groups(bench, dev_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    from pipeline.ingest import ingest_corpus

    cfg = serial(load_config(ROOT / "params.yaml"))
    gold = pd.read_csv(dev_corpus / "gold.csv", dtype=str, keep_default_na=False)
    tables = ingest_corpus(dev_corpus, cfg, cache_dir=tmp_path_factory.mktemp("dev-cache"))
    segments, documents = tables["segments"], tables["documents"]
    langs = bench.doc_languages(documents, gold)
    themes, _ = fit_themes(segments, langs, documents, cfg, corpus=dev_corpus)
    return bench.translation_agreement(themes, documents)


def test_translation_key_takes_out_the_language_code(bench) -> None:
    assert bench.translation_key("sdg/9.1.fr.txt") == bench.translation_key("sdg/9.1.zh.pdf") == "sdg/9.1"
    assert bench.translation_key("umbrella/ar/x.pdf") == bench.translation_key("umbrella/es/x.md")
    assert bench.translation_key("netmundial/001.txt") is None
    assert bench.translation_key("ooni_zh/pages.zh-CN.md") is None


def test_translations_get_the_same_primary_theme(groups) -> None:
    assert len(groups) >= 10
    differ = [(g["group"], g["primary"]) for g in groups if not g["same_primary"]]
    assert not differ, differ


def test_translations_mostly_get_the_same_theme_set(groups) -> None:
    # A second theme may be near its threshold in one language: at most one group in ten.
    same = sum(g["same_themes"] for g in groups)
    assert same >= 0.9 * len(groups), [(g["group"], g["themes"]) for g in groups if not g["same_themes"]]
