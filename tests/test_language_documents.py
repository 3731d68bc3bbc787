"""Document language from its segments: short and non-linguistic segments, bilingual
responses, quotations; and the table's contract."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from pipeline.config import ComputeConfig, Config, LanguageConfig
from pipeline.language import DETECTORS, detect_languages
from pipeline.schemas import validate

FR = [
    "Notre administration considère que l'accès universel à l'Internet haut débit est une "
    "priorité nationale, en particulier dans les zones rurales et isolées.",
    "Les opérateurs de petite taille et les réseaux communautaires peuvent contribuer à "
    "réduire la fracture numérique lorsque le cadre réglementaire leur laisse une place.",
    "Nous proposons que les fonds de service universel financent aussi les points d'échange "
    "Internet et la formation des techniciens locaux.",
    "Enfin, la coopération régionale entre régulateurs permettrait de partager les "
    "expériences et de réduire le coût des liaisons internationales.",
]
EN = [
    "Our administration considers universal access to broadband Internet a national "
    "priority, in particular in rural and remote areas.",
    "Small operators and community networks can help to close the digital divide when the "
    "regulatory framework leaves room for them.",
    "We propose that universal service funds also finance Internet exchange points and the "
    "training of local technicians.",
    "Finally, regional cooperation between regulators would allow experience to be shared "
    "and the cost of international links to be reduced.",
]
QUOTE = "As the report puts it, \"connectivity is a precondition for everything else\"."


def _tables(docs: dict[str, list[str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [
        {"doc_id": d, "seg_id": i, "page_no": 1, "char_start": 0, "char_end": len(t), "text": t}
        for d, texts in docs.items()
        for i, t in enumerate(texts)
    ]
    segments = pd.DataFrame(rows)
    documents = pd.DataFrame({"doc_id": list(docs), "text": ["\n\n".join(t) for t in docs.values()]})
    return segments, documents


@pytest.fixture(scope="module", params=DETECTORS)
def cfg(request: pytest.FixtureRequest) -> Config:
    return dataclasses.replace(
        Config(), language=LanguageConfig(detector=request.param), compute=ComputeConfig(workers=1)
    )


def _doc(out: pd.DataFrame, doc_id: str) -> pd.Series:
    return out[(out["doc_id"] == doc_id) & out["seg_id"].isna()].iloc[0]


def _seg(out: pd.DataFrame, doc_id: str, seg_id: int) -> pd.Series:
    return out[(out["doc_id"] == doc_id) & (out["seg_id"] == seg_id)].iloc[0]


def test_language_short_and_non_linguistic_segments_do_not_get_a_confident_wrong_language(cfg):
    segments, documents = _tables(
        {"fr": [FR[0], "Page 3", "https://www.itu.int/fr/council/cwg-internet", "12 345 678", "Oui.", FR[1]]}
    )
    out = detect_languages(segments, documents, cfg)
    assert _doc(out, "fr")["lang"] == "fr"
    for seg_id in (1, 4):  # a page footer, a one-word answer: inherit, and say so
        row = _seg(out, "fr", seg_id)
        assert (row["lang"], row["method"]) == ("fr", "inherited")
    for seg_id in (2, 3):  # a bare URL, a number: no language at all
        row = _seg(out, "fr", seg_id)
        assert (row["lang"], row["method"], row["prob"]) == ("und", "non-linguistic", 0.0)


def test_language_bilingual_response_is_mixed_with_both_shares(cfg):
    segments, documents = _tables({"bi": EN + FR})
    doc = _doc(detect_languages(segments, documents, cfg), "bi")
    assert doc["is_mixed"]
    shares = dict(part.split(":") for part in doc["shares"].split(";"))
    assert set(shares) == {"en", "fr"}
    assert all(0.3 < float(v) < 0.7 for v in shares.values())
    assert doc["lang"] in ("en", "fr")


def test_language_french_response_quoting_one_english_sentence_is_not_mixed(cfg):
    segments, documents = _tables({"q": [FR[0], FR[1], QUOTE, FR[2], FR[3]]})
    out = detect_languages(segments, documents, cfg)
    doc = _doc(out, "q")
    assert (doc["lang"], bool(doc["is_mixed"])) == ("fr", False)
    assert _seg(out, "q", 2)["lang"] == "en", "the quotation itself is still English"


def test_language_document_without_segments_or_text_gets_a_row(cfg):
    segments, documents = _tables({"a": [FR[0]]})
    documents = pd.concat(
        [documents, pd.DataFrame({"doc_id": ["empty", "textonly"], "text": ["", EN[0] + " " + EN[1]]})]
    )
    out = detect_languages(segments, documents, cfg)
    assert _doc(out, "empty")["lang"] == "und"
    assert _doc(out, "textonly")["lang"] == "en"
    assert _doc(out, "textonly")["method"] == "document-text"


def test_language_table_meets_its_contract(cfg):
    segments, documents = _tables({"b": EN, "a": FR})
    out = detect_languages(segments, documents, cfg)
    validate("languages", out)
    assert out["doc_id"].tolist() == ["a"] * 5 + ["b"] * 5, "sorted by doc_id, document row first"
    assert str(out["seg_id"].dtype) == "Int64", "integer seg ids stay integers"
    assert set(out["detector"]) == {cfg.language.detector}
    assert out["prob"].between(0, 1).all()
