"""The stemming memo returns what the Snowball stemmer returns, and stays bounded."""

from __future__ import annotations

import pytest

from pipeline import tokenize
from pipeline.tokenize import _memo_stemmer, _stem_ar, _stemmer

WORDS = {
    "en": ["connectivity", "connected", "connecting", "operators", "operator's", "networks"],
    "fr": ["réseaux", "réseau", "opérateurs", "numérique", "numériques", "accès"],
    "es": ["conectividad", "redes", "operadores", "pandemia", "pandemias", "acceso"],
    "ru": ["операторы", "операторов", "сетей", "сеть", "доступа", "пандемии"],
    "ar": ["الاتصالات", "والاتصالات", "للشبكات", "بالشبكة", "الجائحة", "المشغلين"],
}


@pytest.mark.parametrize("lang", sorted(WORDS))
def test_memo_equals_the_stemmer(lang: str) -> None:
    stem = _stemmer(lang)
    memo = _memo_stemmer(lang)
    assert stem is not None and memo is not None
    for word in WORDS[lang] * 2:  # second pass is served from the memo
        want = _stem_ar(word, stem) if lang == "ar" else stem.stemWord(word)
        assert memo(word) == want


def test_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokenize, "_STEM_MEMO_MAX", 3)
    memo = tokenize._MemoStem("en", _stemmer("en"))
    for word in ["alpha", "beta", "gamma", "delta", "epsilon"]:
        memo(word)
    assert len(memo._memo) <= 3
    assert memo("delta") == _stemmer("en").stemWord("delta")
