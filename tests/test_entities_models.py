"""The trained NER models: installed packages match the records in models.yaml, and
model spans come out with exact offsets, never overriding the gazetteer."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.config import Config, EntitiesConfig
from pipeline.entities import MODELS, extract_entities

RECORDS = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "pipeline" / "data" / "entities" / "models.yaml").read_text(encoding="utf-8")
)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        pytest.fail(f"model package {name} is not installed (see pipeline/data/entities/MODELS.md)")
    return Path(spec.origin).parent


@pytest.mark.parametrize("package", sorted(RECORDS["spacy"]))
def test_entities_models_spacy_meta_matches_record(package: str) -> None:
    rec = RECORDS["spacy"][package]
    meta_path = _package_dir(package) / rec["meta_path"]
    raw = meta_path.read_bytes()
    meta = json.loads(raw)
    for key, value in rec["meta"].items():
        assert str(meta[key]) == str(value), (package, key)
    assert hashlib.sha256(raw).hexdigest() == rec["meta_sha256"], f"{package} meta.json differs from the pinned model"


def test_entities_models_natasha_files_match_record() -> None:
    root = _package_dir("natasha")
    for rel, digest in RECORDS["natasha"]["files"].items():
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == digest, rel


def test_entities_models_every_used_model_is_recorded() -> None:
    for kind, package in MODELS.values():
        assert package in (RECORDS["spacy"] if kind == "spacy" else {"natasha": 1})


TEXTS = {
    "en": "John Smith met officials of Microsoft in London, and the ITU welcomed France's view.",
    "fr": "Marie Dupont a rencontré à Dakar les représentants de l'UIT et du Sénégal.",
    "ru": "Иван Петров выступил в Москве от имени Международного союза электросвязи и России.",
}


@pytest.fixture(scope="module")
def model_entities() -> pd.DataFrame:
    segments = pd.DataFrame({"doc_id": list(TEXTS), "seg_id": [0, 0, 0], "page_no": [1, 1, 1],
                             "char_start": [0, 0, 0], "char_end": [len(t) for t in TEXTS.values()],
                             "text": list(TEXTS.values())})
    languages = pd.DataFrame({"doc_id": list(TEXTS), "seg_id": [None] * 3, "lang": list(TEXTS),
                              "prob": [1.0] * 3, "is_mixed": [False] * 3})
    from pipeline.config import ComputeConfig

    cfg = Config(compute=ComputeConfig(workers=1), entities=EntitiesConfig(use_models=True))
    return extract_entities(segments, languages, cfg)


@pytest.mark.slow
def test_entities_models_find_persons_and_places(model_entities: pd.DataFrame) -> None:
    model = model_entities[model_entities["source"] == "model"]
    assert set(model["label"]) <= {"PERSON", "ORG", "LOC"}
    assert model["canonical_id"].isna().all()
    persons = set(model.loc[model["label"] == "PERSON", "text"])
    assert {"John Smith", "Иван Петров"} <= persons
    for row in model_entities.itertuples():
        assert TEXTS[row.doc_id][row.char_start:row.char_end] == row.text


@pytest.mark.slow
def test_entities_models_gazetteer_wins_on_overlap(model_entities: pd.DataFrame) -> None:
    gaz = model_entities[model_entities["source"] == "gazetteer"]
    assert {"org:ITU", "country:FRA", "country:SEN", "country:RUS"} <= set(gaz["canonical_id"])
    for doc_id, group in model_entities.groupby("doc_id"):
        spans = sorted(zip(group["char_start"], group["char_end"], strict=True))
        for (_a1, b1), (a2, _b2) in zip(spans, spans[1:], strict=False):
            assert b1 <= a2, f"overlapping spans in {doc_id}"


def test_natasha_loaded_without_similarity_tables_tags_the_same() -> None:
    pytest.importorskip("natasha")
    from natasha import NewsEmbedding, NewsNERTagger
    from navec.pq import PQ

    from pipeline.entities import _load_natasha

    texts = ["Министерство связи и информатизации Республики Беларусь приветствует консультацию МСЭ.",
             "Роскомнадзор и Минцифры России провели встречу в Москве с представителями ICANN и ЮНЕСКО."]
    plain = NewsNERTagger(NewsEmbedding())
    want = [[(s.start, s.stop, s.type) for s in m.spans] for m in plain.map(texts)]
    assert any(want)
    got = _load_natasha()(texts)
    assert [[(a, b) for a, b, _ in spans] for spans in got] == [[(a, b) for a, b, _ in spans] for spans in want]
    assert PQ.precompute is not None and PQ.precompute.__name__ == "precompute"  # restored
