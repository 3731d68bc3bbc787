"""Actor resolution: merges across the six languages, acronyms, spellings and entity ids;
stable ids; raw vs distinct totals that reconcile."""

from __future__ import annotations

import random

import pandas as pd
from actors_synth import edit, response, tables

from pipeline.actor_names import normalize_name, resolve_names
from pipeline.actors import resolve_actors, voice_counts
from pipeline.config import Config

ISOC_VARIANTS = [
    ("Internet Society", "en"),
    ("ISOC", "en"),
    ("l'Internet Society", "fr"),
    ("Sociedad de Internet", "es"),
    ("Общество Интернета", "ru"),
    ("国际互联网协会", "zh"),
    ("جمعية الإنترنت", "ar"),
]


def test_actors_merge_isoc_across_six_languages() -> None:
    refs = resolve_names([(name, None) for name, _ in ISOC_VARIANTS])
    assert {r.actor_id for r in refs} == {"actor:isoc"}
    assert all(r.merge_reason.startswith("alias") for r in refs)
    assert {lang for _, lang in ISOC_VARIANTS} == {"en", "fr", "es", "ru", "zh", "ar"}


def test_actors_merge_regional_body_across_languages() -> None:
    names = ["Regional Commonwealth in the field of Communications", "RCC", "Региональное содружество в области связи",
             "РСС", "区域通信联合体", "الكومنولث الإقليمي في مجال الاتصالات", "Comunidad Regional de Comunicaciones"]
    assert {r.actor_id for r in resolve_names([(n, None) for n in names])} == {"actor:rcc"}


def test_actors_chapter_is_not_the_parent_body() -> None:
    refs = resolve_names([("Internet Society", None), ("ISOC Costa Rica Chapter", None), ("ISOC-Yemen", None)])
    assert len({r.actor_id for r in refs}) == 3


def test_actors_merge_by_bracketed_acronym_spelling_and_entity() -> None:
    refs = resolve_names([
        ("Autorité de régulation des postes (ARP)", None),   # defines the acronym
        ("ARP", None),                                       # acronym alone
        ("Autorite de regulation des postes", None),         # lost accents
        ("Asociación Latinoamericana de Redes Comunitarias", None),
        ("Asociacion Latinoamericana de Redes Comunitarais", None),  # typo
        ("Pacific Telecom Forum", None),                     # the entities stage linked it
    ], entity_orgs={normalize_name("Pacific Telecom Forum"): "org:APT"})
    assert refs[0].actor_id == refs[1].actor_id == refs[2].actor_id
    assert "acronym" in refs[1].merge_reason
    assert refs[3].actor_id == refs[4].actor_id and "spelling" in refs[4].merge_reason
    assert refs[5].actor_id == "actor:apt" and refs[5].merge_reason == "entity: org:APT"
    assert refs[0].actor_id != refs[3].actor_id


def test_actors_normalisation_drops_articles_suffixes_and_placeholders() -> None:
    assert normalize_name("The ACME Telecom Ltd.") == normalize_name("acme telecom") == "acme telecom"
    assert normalize_name("ПАО «Ростелеком»") == "ростелеком"
    assert normalize_name("中国电信股份有限公司") == "中国电信"
    refs = resolve_names([("none", "Samuel A."), ("n/a", "Samuel A."), ("-", None)])
    assert refs[0].actor_id == refs[1].actor_id == "actor:person-samuel-a"
    assert refs[2] is None


def test_actors_ids_are_stable_under_reordering() -> None:
    names = [(n, None) for n, _ in ISOC_VARIANTS] + [("Université de Lomé", None), ("Universite de Lome", None),
                                                      ("ARCEP", None), ("Autorité (ARCEP)", None)]
    first = {n: r.actor_id for (n, _), r in zip(names, resolve_names(names), strict=True)}
    shuffled = names[:]
    random.Random(3).shuffle(shuffled)
    second = {n: r.actor_id for (n, _), r in zip(shuffled, resolve_names(shuffled), strict=True)}
    assert first == second


def test_actors_raw_and_distinct_totals_reconcile() -> None:
    rng = random.Random(11)
    letter = response(rng)
    texts, meta = {}, {}
    # A campaign: five near-identical letters from five different people.
    for i in range(5):
        texts[f"camp{i}"] = edit(letter, rng, "signature")
        meta[f"camp{i}"] = {"respondent": f"Person {i}", "stakeholder_type": "individual"}
    # One organisation writing twice (two different texts), once under its acronym.
    texts["org1"], meta["org1"] = response(rng), {"organisation": "Internet Society"}
    texts["org2"], meta["org2"] = response(rng), {"organisation": "ISOC"}
    # Three independent responses.
    for i in range(3):
        texts[f"ind{i}"], meta[f"ind{i}"] = response(rng), {"organisation": f"Organisation number {i} for testing"}
    actors, reuse = resolve_actors(*tables(texts, meta=meta), Config())

    counts = voice_counts(actors)
    assert counts["responses"] == len(texts) == 10
    assert counts["actors"] == 5 + 1 + 3
    assert counts["voices"] == 1 + 1 + 3
    assert counts["near_duplicate_clusters"] == 1
    # Every response is in exactly one voice; the sizes add up to the raw count.
    sizes = actors.groupby("voice_id").size()
    assert int(sizes.sum()) == counts["responses"]
    assert sorted(sizes.tolist()) == [1, 1, 1, 2, 5]
    campaign = actors[actors["doc_id"].str.startswith("camp")]
    assert campaign["reuse_cluster"].nunique() == 1
    assert (campaign["reuse_role"] == "copy").sum() == 4 and (campaign["reuse_role"] == "original").sum() == 1
    dup = reuse[reuse["kind"] == "near_duplicate"]
    assert set(dup["doc_id"]) == set(campaign["doc_id"]) and (dup["seg_id"] == -1).all()
    assert isinstance(actors, pd.DataFrame) and actors["doc_id"].is_unique
