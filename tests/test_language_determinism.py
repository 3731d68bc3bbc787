"""Two runs give byte-identical languages.parquet, whatever the order of the input and
the number of worker processes (langdetect is random unless seeded for every text)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import BaseConfig, ComputeConfig, Config, LanguageConfig
from pipeline.language import DETECTORS, Settings, classify_text, detect_languages
from pipeline.tables import write_table

# Short texts are where an unseeded langdetect changes its mind from run to run.
TEXTS = [
    "Acceso a internet",
    "accès à l'Internet",
    "Internet access",
    "acesso à internet",
    "Zugang zum Internet",
    "il diritto di accesso",
    "servicio universal y banda ancha en zonas rurales",
    "le service universel et le haut débit dans les zones rurales",
    "universal service and broadband in rural areas of the country",
    "доступ к сети",
    "互联网接入",
    "الوصول إلى الإنترنت",
]


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    for d in range(6):
        for i, text in enumerate(TEXTS[d:] + TEXTS[:d]):
            rows.append({"doc_id": f"d{d}", "seg_id": i, "page_no": 1, "char_start": 0,
                         "char_end": len(text), "text": text})
    segments = pd.DataFrame(rows)
    documents = pd.DataFrame({"doc_id": [f"d{d}" for d in range(6)], "text": [""] * 6})
    return segments, documents


@pytest.mark.parametrize("detector", DETECTORS)
def test_language_two_runs_give_byte_identical_parquet(tmp_path: Path, detector: str):
    segments, documents = _tables()
    serial = dataclasses.replace(
        Config(), language=LanguageConfig(detector=detector), compute=ComputeConfig(workers=1)
    )
    pooled = dataclasses.replace(serial, compute=ComputeConfig(workers=2))
    shuffled = segments.sample(frac=1.0, random_state=7)
    write_table(tmp_path / "one.parquet", detect_languages(segments, documents, serial), name="languages")
    write_table(tmp_path / "two.parquet", detect_languages(shuffled, documents, pooled), name="languages")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()


def test_language_langdetect_answer_does_not_depend_on_what_ran_before():
    cfg = dataclasses.replace(Config(), language=LanguageConfig(detector="langdetect"))
    settings = Settings.from_config(cfg)
    first = [classify_text(t, settings) for t in TEXTS]
    again = [classify_text(t, settings) for t in reversed(TEXTS)][::-1]
    assert [(g.lang, g.model_lang, g.model_prob) for g in first] == [
        (g.lang, g.model_lang, g.model_prob) for g in again
    ]


def test_language_seed_comes_from_base_seed():
    cfg = dataclasses.replace(
        Config(), base=BaseConfig(seed=7), language=LanguageConfig(detector="langdetect")
    )
    assert Settings.from_config(cfg).seed == 7
