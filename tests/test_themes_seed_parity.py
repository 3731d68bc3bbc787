"""Seed terms reach every language alike: tokenisation folds each language's inflected and
clitic forms onto its seed terms, and no concept is much narrower in one language."""

from __future__ import annotations

import statistics

import pytest

from pipeline.schemas import UN_LANGUAGES
from pipeline.theme_defs import Concept, Matcher, load_theme_set
from pipeline.tokenize import analyze_both, fold_text, match_keys


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.build(load_theme_set("cwg_internet"))


def concepts_in(matcher: Matcher, text: str, lang: str) -> set[str]:
    _, keys = analyze_both(text, lang)
    return {matcher.concepts[ci].key for ci in matcher.match(text, keys, lang)}


def test_arabic_definite_and_construct_forms_fold_together() -> None:
    # The first noun of a construct has no article ("جائحة كوفيد", "شبكات الاتصالات"):
    # it must get the key of the definite form that seed lists mostly give.
    groups = [
        ["الجائحة", "جائحة", "بالجائحة", "والجائحة", "للجائحة", "وجائحة", "فالجائحة"],
        ["الشبكة", "شبكة", "الشبكات", "شبكات", "بالشبكة", "وشبكة", "للشبكات"],
        ["الاتصالات", "اتصالات", "والاتصالات", "للاتصالات"],
        ["الإنترنت", "إنترنت", "انترنت", "الانترنت", "بالإنترنت", "للإنترنت"],
        ["الحوكمة", "حوكمة", "وحوكمة", "بحوكمة"],
        ["المنصات", "منصات", "المنصة", "منصة"],
        ["البيئة", "بيئة", "للبيئة", "البيئية", "بيئية"],
    ]
    for forms in groups:
        keys = {tuple(match_keys(f, "ar")) for f in forms}
        assert len(keys) == 1, (forms, keys)


def test_arabic_ta_marbuta_written_as_ha_folds() -> None:
    assert match_keys("الجائحه", "ar") == match_keys("الجائحة", "ar") == match_keys("جائحة", "ar")


def test_arabic_construct_phrases_match_definite_seeds(matcher: Matcher) -> None:
    assert "covid19/pandemic" in concepts_in(matcher, "أثرت جائحة كوفيد على التعليم", "ar")
    assert "connectivity/infrastructure" in concepts_in(matcher, "تطوير بنية تحتية للاتصالات", "ar")


def test_covid_without_hyphen_matches_in_every_alphabet(matcher: Matcher) -> None:
    for lang, text in [
        ("en", "During COVID19 schools closed."),
        ("fr", "Pendant la Covid19, les écoles ont fermé."),
        ("es", "Durante la COVID19 las escuelas cerraron."),
        ("ru", "Во время COVID19 школы закрылись."),
        ("ar", "خلال كوفيد19 أغلقت المدارس."),
        ("ar", "خلال كوفيد-١٩ أغلقت المدارس."),
    ]:
        assert "covid19/covid" in concepts_in(matcher, text, lang), (lang, text)


def test_inflected_forms_reach_their_concepts(matcher: Matcher) -> None:
    cases = [
        ("ru", "в условиях пандемии и борьбы с коронавирусом", {"covid19/pandemic", "covid19/covid"}),
        ("ru", "применение искусственным интеллектом", {"sustainable_dev/ai"}),
        ("es", "los compromisos climáticos del sector", {"environment/climate"}),
        ("es", "durante las pandemias y cuarentenas", {"covid19/pandemic", "covid19/lockdown"}),
        ("fr", "les changements climatiques et l'adaptation", {"environment/climate", "environment/climate_response"}),
        ("fr", "l'accès à l'Internet dans les zones rurales", {"connectivity/internet_access", "connectivity/rural_remote"}),
    ]
    for lang, text, want in cases:
        assert want <= concepts_in(matcher, text, lang), (lang, text)


def test_russian_case_forms_that_snowball_splits_still_match(matcher: Matcher) -> None:
    # Snowball stems "потенциала" -> потенциа but "потенциалу" -> потенциал, and "систем"
    # (genitive plural) -> сист: the seeds list those case forms (audit: --ru-cases).
    cases = [
        ("ru", "по институциональному потенциалу и институциональным потенциалом", "sustainable_dev/capacity_institutions"),
        ("ru", "нагрузка на систему здравоохранения", "covid19/public_health"),
        ("ru", "укрепление систем здравоохранения", "covid19/public_health"),
        ("ru", "создание национальных доменов", "idn/tld"),
        ("ru", "гендерный разрыв сохраняется", "sustainable_dev/inclusion_gender"),
    ]
    for lang, text, want in cases:
        assert want in concepts_in(matcher, text, lang), text


def test_everyday_spanish_close_is_not_a_shutdown(matcher: Matcher) -> None:
    # "cierre" is also the imperative "close" (cierre la ventana); only the phrases count.
    assert "connectivity/shutdowns" not in concepts_in(matcher, "Cierre todas las ventanas.", "es")
    assert "connectivity/shutdowns" in concepts_in(matcher, "Los cierres de internet afectan a todos.", "es")


def _forms(terms: tuple[str, ...], lang: str) -> set[tuple[str, ...]]:
    if lang == "zh":
        return {(fold_text(t, "zh"),) for t in terms}
    return {tuple(match_keys(t, lang)) for t in terms} - {()}


def test_chinese_seed_bridging_two_words_is_not_matched(matcher: Matcher) -> None:
    # 人权 (human rights) read across 个人|权益 (personal interests), 资费 (tariffs) across
    # 工资|费用 (wage costs): fragments of two words, neither boundary met.
    assert "internet_governance/rights_security" not in concepts_in(matcher, "保护个人权益", "zh")
    assert "connectivity/affordability" not in concepts_in(matcher, "工资费用上涨", "zh")
    # Seeds that are a word, sit inside one, or meet a word boundary at one end still match.
    for text, concept in [("尊重人权", "internet_governance/rights_security"),
                          ("降低资费", "connectivity/affordability"),
                          ("防止污染环境", "environment/environment"),
                          ("申请经营许可证", "connectivity/operators_licensing"),
                          ("网络流量管理应当透明", "ott/net_neutrality"),
                          ("始终保持社交距离", "covid19/lockdown")]:
        assert concept in concepts_in(matcher, text, "zh"), text


def test_chinese_shorter_seed_at_a_rejected_start_still_matches() -> None:
    # jieba cuts 个人|权益: 人权 bridges the two words; the shorter 人 at the same place
    # sits inside 个人 and is the match there.
    terms = {"rights": ("人权",), "person": ("人",)}
    m = Matcher([Concept("t", name, 1.0, {"zh": zh}) for name, zh in terms.items()],
                zh_terms=[(zh[0], i) for i, zh in enumerate(terms.values())])
    assert {m.concepts[ci].name for ci in m.match("个人权益", [], "zh")} == {"person"}


def test_no_concept_is_much_narrower_in_one_language(matcher: Matcher) -> None:
    # What benchmarks/audit_seed_parity.py flags: a language with under 0.6 times the
    # concept's median number of distinct forms scores its documents lower.
    narrow = []
    for concept in matcher.concepts:
        counts = {lang: len(_forms(concept.terms.get(lang, ()), lang)) for lang in UN_LANGUAGES}
        med = statistics.median(counts.values())
        narrow += [(concept.key, lang, n, med) for lang, n in counts.items() if n < 0.6 * med or n == 0]
    assert narrow == []


def test_every_seed_term_matches_its_own_concept(matcher: Matcher) -> None:
    dead = []
    for ci, concept in enumerate(matcher.concepts):
        for lang, terms in concept.terms.items():
            for term in terms:
                _, keys = analyze_both(term, lang)
                if matcher.match(term, keys, lang).get(ci, 0) == 0:
                    dead.append((concept.key, lang, term))
    assert dead == []
