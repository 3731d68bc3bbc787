"""The golden French paragraph of issue 4: Council and Plenipotentiary resolutions and a
Member State, each linked to the right canonical id with an exact span."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.config import Config, EntitiesConfig
from pipeline.entities import extract_entities
from pipeline.schemas import validate

PARAGRAPH = (
    "Le Sénégal rappelle que les Résolutions 1305 et 1336 (modifiée en 2019) du Conseil "
    "encadrent les travaux du GTC-Internet, et que les résolutions 102, 133 et 140 "
    "(Rév. Dubaï, 2018) de la Conférence de plénipotentiaires confient à l'UIT un rôle "
    "dans les questions de politiques publiques relatives à l'Internet."
)


@pytest.fixture(scope="module")
def entities() -> pd.DataFrame:
    segments = pd.DataFrame({"doc_id": ["d1"], "seg_id": [0], "page_no": [1], "char_start": [0],
                             "char_end": [len(PARAGRAPH)], "text": [PARAGRAPH]})
    languages = pd.DataFrame({"doc_id": ["d1"], "seg_id": [None], "lang": ["fr"], "prob": [1.0],
                              "is_mixed": [False]})
    cfg = Config(entities=EntitiesConfig(use_models=False))
    return validate("entities", extract_entities(segments, languages, cfg))


def test_entities_golden_paragraph_finds_every_resolution(entities: pd.DataFrame) -> None:
    ids = list(entities["canonical_id"])
    for cid in ("res:C-1305", "res:C-1336", "res:PP-102", "res:PP-133", "res:PP-140"):
        assert ids.count(cid) == 1, (cid, ids)


def test_entities_golden_paragraph_finds_member_state_and_orgs(entities: pd.DataFrame) -> None:
    ids = set(entities["canonical_id"])
    assert {"country:SEN", "org:ITU", "org:CWG-Internet", "org:PP"} <= ids


def test_entities_golden_paragraph_spans_are_exact(entities: pd.DataFrame) -> None:
    for row in entities.itertuples():
        assert PARAGRAPH[row.char_start:row.char_end] == row.text
    by_id = dict(zip(entities["canonical_id"], entities["text"], strict=True))
    assert by_id["res:C-1305"] == "Résolutions 1305"
    assert by_id["res:C-1336"] == "1336"
    assert by_id["res:PP-102"] == "résolutions 102"
    assert by_id["res:PP-140"] == "140"
    assert by_id["country:SEN"] == "Sénégal"
    assert by_id["org:ITU"] == "UIT"


def test_entities_golden_paragraph_names_are_english(entities: pd.DataFrame) -> None:
    names = dict(zip(entities["canonical_id"], entities["canonical_name"], strict=True))
    assert names["res:PP-102"] == "Resolution 102 (PP)"
    assert names["res:C-1336"] == "Resolution 1336 (Council)"
    assert names["country:SEN"] == "Senegal"
    assert names["org:ITU"] == "International Telecommunication Union"
    assert set(entities["source"]) == {"gazetteer"}


def test_entities_empty_and_missing_inputs_do_not_crash() -> None:
    cfg = Config(entities=EntitiesConfig(use_models=False))
    empty = pd.DataFrame({c: [] for c in ("doc_id", "seg_id", "page_no", "char_start", "char_end", "text")})
    langs = pd.DataFrame({c: [] for c in ("doc_id", "seg_id", "lang", "prob", "is_mixed")})
    assert validate("entities", extract_entities(empty, langs, cfg)).empty
    # No language row at all, and an empty text: every gazetteer is tried, nothing crashes.
    segments = pd.DataFrame({"doc_id": ["x", "x"], "seg_id": [0, 1], "page_no": [1, 1], "char_start": [0, 0],
                             "char_end": [0, 0], "text": ["", "МСЭ и 国际电联"]})
    out = validate("entities", extract_entities(segments, langs, cfg))
    assert list(out["canonical_id"]) == ["org:ITU", "org:ITU"]
