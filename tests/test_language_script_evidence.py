"""Script evidence beats the model: Han without kana is Chinese, Arabic script is Arabic
unless Persian/Urdu letters prove otherwise, Cyrillic is Russian unless Ukrainian letters
do; whatever the detector."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.config import Config, LanguageConfig
from pipeline.language import DETECTORS, Settings, classify_text, clean_for_detection


@pytest.fixture(scope="module", params=DETECTORS)
def settings(request: pytest.FixtureRequest) -> Settings:
    cfg = dataclasses.replace(Config(), language=LanguageConfig(detector=request.param))
    return Settings.from_config(cfg)


# Han-only strings; several read as Japanese (kanji compounds) or Korean to the models.
HAN_WITHOUT_KANA = [
    "情報通信研究機構",
    "東京大学",
    "電気通信事業法",
    "電氣通信",
    "国际电联",
    "总部设在日内瓦",
    "中国政府高度重视互联网的发展，积极推动宽带网络建设和普遍服务。",
    "各國應共同努力，縮小數位落差。",
]


@pytest.mark.parametrize("text", HAN_WITHOUT_KANA)
def test_language_chinese_without_kana_is_never_korean_or_japanese(settings, text):
    guess = classify_text(text, settings)
    assert guess.lang == "zh"
    if guess.model_lang not in (None, "zh"):
        assert guess.method == "script-override", "a disagreement must be recorded"


def test_language_script_override_is_recorded_with_the_models_answer():
    # langdetect calls these kanji compounds Korean; the row must say so.
    cfg = dataclasses.replace(Config(), language=LanguageConfig(detector="langdetect"))
    guess = classify_text("電気通信事業法", Settings.from_config(cfg))
    assert (guess.lang, guess.method, guess.model_lang) == ("zh", "script-override", "ko")


def test_language_kana_makes_japanese_possible(settings):
    guess = classify_text("インターネットの普及は、地方の経済にとって重要な課題である。", settings)
    assert guess.lang == "ja"


ARABIC = [
    "الإنترنت",
    "ما هي الرقابة على الإنترنت؟",
    "تمنع العديد من الحكومات والشركات والمدارس مستخدمي الإنترنت من الوصول إلى معلومات معينة.",
    # Persian words, but no letter that only Persian writes: not enough evidence.
    "دولت جمهوری اسلامی",
]


@pytest.mark.parametrize("text", ARABIC)
def test_language_arabic_script_is_never_persian_or_urdu_without_their_letters(settings, text):
    guess = classify_text(text, settings)
    assert guess.lang == "ar"


def test_language_persian_and_urdu_letters_are_evidence(settings):
    persian = classify_text("پیشنهاد گسترش اینترنت در روستاها برای همه شهروندان", settings)
    urdu = classify_text(
        "انٹرنیٹ تک رسائی ہر شہری کا حق ہے اور حکومت کو دیہی علاقوں میں براڈ بینڈ پہنچانا چاہیے", settings
    )
    assert (persian.lang, urdu.lang) == ("fa", "ur")


def test_language_cyrillic_is_russian_unless_ukrainian_letters_show(settings):
    assert classify_text("Доступ к интернету должен быть у всех граждан страны.", settings).lang == "ru"
    # Bulgarian has no letter of its own: without evidence Cyrillic stays Russian.
    bg = classify_text("Държавата трябва да осигури достъп до интернет за всички граждани", settings)
    assert bg.lang == "ru"
    uk = classify_text("Інтернет має бути доступним для всіх громадян України", settings)
    assert uk.lang == "uk"


def test_language_latin_text_stays_among_the_candidates(settings):
    # Catalan is not a candidate: the answer is the closest candidate, never "ca".
    guess = classify_text("La xarxa d'internet ha de ser accessible per a tothom al país.", settings)
    assert guess.lang in settings.candidates


def test_language_cleaning_drops_links_enumerators_and_markup():
    text = '(d) To endeavour {target="_blank"} see https://www.itu.int/x and mail a@b.org 2019'
    assert clean_for_detection(text) == "To endeavour see and mail"
