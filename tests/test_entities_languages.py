"""Gazetteer and citation matching per language: inflected, prefixed and unsegmented
forms, case rules, and words that must not become entities."""

from __future__ import annotations

import pytest

from pipeline.entities import _rule_spans
from pipeline.resolutions import find_citations


def ids(text: str, lang: str | None) -> list[str]:
    spans = _rule_spans(text, lang)
    for s in spans:  # every span indexes the text exactly
        assert 0 <= s["char_start"] < s["char_end"] <= len(text)
    return [s["canonical_id"] for s in spans]


def spans(text: str, lang: str) -> dict[str, str]:
    return {s["canonical_id"]: text[s["char_start"]:s["char_end"]] for s in _rule_spans(text, lang)}


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        # Russian: inflected names matched on lemmas.
        ("ru", "Вклад Российской Федерации в работу Международного союза электросвязи и МСЭ-D.",
         ["country:RUS", "org:ITU", "org:ITU-D"]),
        ("ru", "Делегации Франции и США поддержали развитие широкополосного доступа в Казахстане.",
         ["country:FRA", "country:USA", "tech:broadband", "country:KAZ"]),
        ("ru", "Мы участвуем в Форуме по управлению использованием интернета и в работе Совета МСЭ.",
         ["org:IGF", "org:ITU-Council"]),
        # Arabic: clitics attached to the name, spelling variants of alef and hamza.
        ("ar", "وتعاون مصر والمملكة العربية السعودية مع الاتحاد الدولي للاتصالات وبالاتحاد الدولي للاتصالات",
         ["country:EGY", "country:SAU", "org:ITU", "org:ITU"]),
        ("ar", "ونشر شبكات النطاق العريض وللنفايات الالكترونية ولمنتدى حوكمة الانترنت",
         ["tech:broadband", "tech:e-waste", "org:IGF"]),
        # Chinese: names inside unsegmented text, the longest match winning.
        ("zh", "中国支持国际电联理事会关于多语种域名和电子废物的工作，也支持美国和印度尼西亚的提议。",
         ["country:CHN", "org:ITU-Council", "tech:idn", "tech:e-waste", "country:USA", "country:IDN"]),
        ("zh", "国际电联电信标准化部门和世界卫生组织合作推进5G和物联网。",
         ["org:ITU-T", "org:WHO", "tech:5g", "tech:iot"]),
        # French and Spanish: elision, articles, plurals.
        ("fr", "l'UIT et l’UIT-D soutiennent les points d'échange Internet au Royaume-Uni.",
         ["org:ITU", "org:ITU-D", "tech:ixp", "country:GBR"]),
        ("es", "la UIT y la Unión Europea apoyan la banda ancha y los centros de datos en México.",
         ["org:ITU", "org:EU", "tech:broadband", "tech:data-centre", "country:MEX"]),
        ("en", "The Russian Federation, the UK and Côte d'Ivoire discussed IXPs and data centers with the ITU.",
         ["country:RUS", "country:GBR", "country:CIV", "tech:ixp", "tech:data-centre", "org:ITU"]),
        ("ru", "Поддержка многоязычных доменных имен, центров обработки данных и Интернета вещей в Чаде.",
         ["tech:idn", "tech:data-centre", "tech:iot", "country:TCD"]),
        ("ar", "ودعم أسماء النطاقات المدوّلة والحوسبة السحابية في الأردن وللأردن",
         ["tech:idn", "tech:cloud", "country:JOR", "country:JOR"]),
        ("ar", "والآيكان واليونسكو وللأونكتاد", ["org:ICANN", "org:UNESCO", "org:UNCTAD"]),
        # Full-width forms and stray spaces from PDF extraction of CJK text.
        ("zh", "国际 电联（ＩＴＵ）与中国推动５Ｇ", ["org:ITU", "org:ITU", "country:CHN", "tech:5g"]),
    ],
)
def test_entities_gazetteer_finds_forms(lang: str, text: str, expected: list[str]) -> None:
    assert ids(text, lang) == expected


def test_entities_arabic_span_is_the_whole_token() -> None:
    text = "وبالاتحاد الدولي للاتصالات"
    assert spans(text, "ar")["org:ITU"] == text


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "who knows whether it will work, and it is not clear who pays"),
        ("en", "the un-finished work of china dishes and turkey sandwiches"),
        ("fr", "le réseau et la fibre de le reste, ai-je dit"),
        ("es", "la red y la ley, a la par de lo que dice la gente"),
        ("ru", "того же мнения придерживаются и другие"),
        ("ru", "То есть они оказываются во власти разработчиков."),
        ("zh", "加强执法国际合作，增加纳税人数量，上海地区和沿海地区，内蒙古自治区"),
    ],
)
def test_entities_common_words_are_not_entities(lang: str, text: str) -> None:
    found = [i for i in ids(text, lang) if not i.startswith("tech:")]
    assert found == []


def test_entities_unknown_language_tries_every_gazetteer() -> None:
    assert set(ids("МСЭ, 国际电联 and الاتحاد الدولي للاتصالات", None)) == {"org:ITU"}


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "Resolution 102 (Rev. Dubai, 2018) and Resolutions 1305 and 1336 of Council",
         ["res:PP-102", "res:C-1305", "res:C-1336"]),
        ("en", "Resolution 37 (Rev. Buenos Aires, 2017) of WTDC and WTSA Resolution 69",
         ["res:WTDC-37", "res:WTSA-69"]),
        ("en", "A/RES/70/1 and resolution 70/1 of the General Assembly", ["res:UNGA-70/1", "res:UNGA-70/1"]),
        ("fr", "Résolution 1336 (modifiée en 2019) du Conseil", ["res:C-1336"]),
        ("fr", "la résolution 37 de la CMDT et la résolution 133", ["res:WTDC-37", "res:PP-133"]),
        ("es", "la Resolución 101 (Rev. Dubái, 2018) y la Resolución 64 de la AMNT",
         ["res:PP-101", "res:WTSA-64"]),
        ("ru", "резолюция 133 и Резолюции 102 (Пересм. Пусан, 2014 г.), резолюция 1336 Совета",
         ["res:PP-133", "res:PP-102", "res:C-1336"]),
        ("zh", "第133号决议（2018年，迪拜，修订版）以及理事会第1305、1336号决议",
         ["res:PP-133", "res:C-1305", "res:C-1336"]),
        ("ar", "القرار 133 وبالقرار 102 (المراجَع في بوسان، 2014) وقرار المجلس 1336",
         ["res:PP-133", "res:PP-102", "res:C-1336"]),
        ("en", "SDG 9, SDG target 9.c and SDGs 4 and 5", ["sdg:9", "sdg:9.c", "sdg:4", "sdg:5"]),
        ("fr", "l'ODD 9 et l'objectif 4 des ODD", ["sdg:9", "sdg:4"]),
        ("ru", "ЦУР 9 и цель 13 ЦУР", ["sdg:9", "sdg:13"]),
        ("zh", "可持续发展目标9和可持续发展目标13", ["sdg:9", "sdg:13"]),
        ("ar", "الهدف 9 من أهداف التنمية المستدامة", ["sdg:9"]),
        ("es", "el ODS 4 y la meta 9.c de los Objetivos de Desarrollo Sostenible", ["sdg:4", "sdg:9.c"]),
    ],
)
def test_entities_citations_get_the_right_body(lang: str, text: str, expected: list[str]) -> None:
    found = find_citations(text, lang)
    assert [c.canonical_id for c in found] == expected
    for c in found:
        assert text[c.start:c.end].strip() == text[c.start:c.end] != ""


def test_entities_citation_lists_give_one_span_per_number() -> None:
    text = "résolutions 102, 133 et 140 (Rév. Dubaï, 2018) de la Conférence de plénipotentiaires"
    got = [(text[c.start:c.end], c.canonical_id) for c in find_citations(text, "fr")]
    assert got == [("résolutions 102", "res:PP-102"), ("133", "res:PP-133"), ("140", "res:PP-140")]


def test_entities_years_and_pages_are_not_citations() -> None:
    assert find_citations("see pp. 12 and Resolution 102 (2018) and 2019", "en")[0].canonical_id == "res:PP-102"
    assert [c.canonical_id for c in find_citations("in 2018 the goal of 9 operators", "en")] == []


def test_entities_other_bodies_resolutions_are_not_ours() -> None:
    text = ("G.A. Res. 217A (III); Resolution 36 adopted by the General Conference; resolution 1373 "
            "of the Security Council; Council Resolution 1336")
    assert [c.canonical_id for c in find_citations(text, "en")] == ["res:C-1336"]


def test_entities_arabic_body_between_word_and_number_keeps_both() -> None:
    text = "القرار ١٣٣ وقرار مؤتمر المندوبين المفوضين رقم 102"
    assert ids(text, "ar") == ["res:PP-133", "org:PP", "res:PP-102"]


def test_entities_names_cut_by_a_segment_break_are_found() -> None:
    import pandas as pd

    from pipeline.config import Config, EntitiesConfig
    from pipeline.entities import extract_entities

    texts = ["comme le rappelle le Programme d'action", "de Vienne en faveur des pays sans littoral.",
             "в соответствии с Резолюцией", "102 (Пересм. Пусан, 2014 г.), должен"]
    segments = pd.DataFrame({"doc_id": ["a", "a", "b", "b"], "seg_id": [0, 1, 0, 1], "page_no": [1] * 4,
                             "char_start": [0] * 4, "char_end": [0] * 4, "text": texts})
    languages = pd.DataFrame({"doc_id": ["a", "b"], "seg_id": [None, None], "lang": ["fr", "ru"],
                              "prob": [1.0, 1.0], "is_mixed": [False, False]})
    ents = extract_entities(segments, languages, Config(entities=EntitiesConfig(use_models=False)))
    got = {(r.doc_id, r.seg_id, r.text, r.canonical_id) for r in ents.itertuples()}
    assert ("a", 0, "Programme d'action", "res:VPoA") in got
    assert ("b", 0, "Резолюцией", "res:PP-102") in got
