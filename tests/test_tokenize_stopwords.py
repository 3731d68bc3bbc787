"""The project's extra stop words (``pipeline/data/themes/stopwords``): dropped from the
words that count and label, never from seed matching, and not eating content words."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from pipeline.schemas import UN_LANGUAGES
from pipeline.subthemes import label_word
from pipeline.tokenize import (
    _spacy_stop_words,
    analyze,
    extra_stop_words,
    match_keys,
    stop_words,
    tokens,
)


@pytest.mark.parametrize("lang", UN_LANGUAGES)
def test_every_un_language_has_a_stop_list(lang: str) -> None:
    extra = extra_stop_words(lang)
    assert len(extra) >= 30
    assert extra <= stop_words(lang)


@pytest.mark.parametrize(
    ("text", "lang", "gone"),
    [
        # Found labelling sub-themes before these lists existed.
        ("Operators include several platforms", "en", "include"),
        ("القرار بشأن أسماء النطاقات", "ar", "بشأن"),
        ("疫情期间的远程教育", "zh", "期间"),
        ("Los gobiernos deberían invertir en redes", "es", "deberían"),
        ("Les réseaux sont beaucoup plus rapides", "fr", "beaucoup"),
        ("Операторы являются основой сети", "ru", "являются"),
    ],
)
def test_function_words_do_not_count(text: str, lang: str, gone: str) -> None:
    surfaces = [w for _, w in analyze(text, lang)]
    assert surfaces, text
    assert gone not in surfaces
    assert not label_word(gone, lang)


def test_inflections_of_extra_stop_words_drop_by_stem() -> None:
    assert tokens("includes included including", "en") == []


def test_content_words_sharing_a_stem_with_nothing_survive() -> None:
    # Words once close to a stop stem: "providers" (provide), "domaine" (French domain
    # names), "partes interesadas" (stakeholders), "данных" (data).
    assert tokens("content providers", "en") == ["content", "provid"]
    assert tokens("noms de domaine", "fr") == tokens("nom domaine", "fr")
    assert "part" in tokens("partes interesadas", "es")
    assert tokens("операторы связи", "ru") == tokens("оператор связь", "ru")


def test_seed_matching_keeps_stop_words() -> None:
    # A seed phrase may hold a word that is a stop word for counting.
    assert "includ" in match_keys("include", "en")


def test_spacy_lists_are_read_without_importing_spacy() -> None:
    # Importing spacy.lang.<lang> costs 0.5-2 s per process (tokenizer exceptions); the
    # themes stage and every sub-theme worker only need the word lists.
    code = (
        "import sys\n"
        "from pipeline.tokenize import stop_words\n"
        "sizes = [len(stop_words(l)) for l in ('ar', 'en', 'es', 'fr', 'ru', 'zh')]\n"
        "assert 'spacy' not in sys.modules, 'spacy was imported'\n"
        "print(min(sizes))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) > 100


@pytest.mark.parametrize("lang", UN_LANGUAGES)
def test_spacy_list_is_spacys_own(lang: str) -> None:
    mod = importlib.import_module(f"spacy.lang.{lang}.stop_words")
    assert _spacy_stop_words(lang) == frozenset(mod.STOP_WORDS)
