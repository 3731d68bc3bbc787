"""Stakeholder typing: from the text in the six languages, metadata kept and flagged, and
accuracy on the sample corpus with its metadata removed (printed per type)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from actors_synth import tables

from pipeline.actors import resolve_actors, type_documents
from pipeline.config import Config
from pipeline.stakeholders import infer_type
from pipeline.tables import read_table, table_path

BODY = "\n\n" + ("Connectivity in rural areas depends on investment, spectrum and skills. " * 8)

CASES = [
    # (language, expected type, opening written as a respondent would)
    ("en", "member_state", "Ministry of Digital Affairs, Republic of Atlantis\n\nThe Ministry of Digital Affairs "
                           "welcomes the opportunity to contribute to the open consultation."),
    ("en", "academia", "Department of Computer Science, University of Northfield\n\nWe are a research group at "
                       "the University of Northfield working on rural networks."),
    ("en", "individual", "I submit these comments in my personal capacity, as a retired engineer and an "
                         "Internet user in a small town."),
    ("fr", "regulator", "Autorité de régulation des télécommunications et des postes\n\nL'Autorité remercie le "
                        "Groupe de travail pour cette consultation."),
    ("fr", "civil_society", "Association Citoyens du Numérique\n\nNotre association à but non lucratif défend "
                            "les droits numériques des usagers depuis 2009."),
    ("es", "private_sector", "Telecomunicaciones del Sur S.A.\n\nTelecomunicaciones del Sur S.A., empresa "
                             "operadora de servicios móviles, presenta sus comentarios."),
    ("es", "individual", "Escribo a título personal, como maestra de una escuela rural, sobre la conexión "
                         "de mis alumnos."),
    ("ru", "member_state", "Министерство связи и информатизации\n\nМинистерство связи и информатизации "
                           "Республики выражает признательность за возможность участвовать в консультации."),
    ("ru", "technical_community", "Координационный центр доменов\n\nКоординационный центр доменов, "
                                  "администратор национального домена верхнего уровня, представляет свой вклад."),
    ("ru", "individual", "Я, как частное лицо и пользователь сети, хочу высказать своё личное мнение о "
                         "доступе к интернету в моём посёлке."),
    ("zh", "member_state", "工业和信息化部\n\n中华人民共和国工业和信息化部感谢工作组开展本次公开磋商，现提出以下意见。"),
    ("zh", "academia", "某某邮电大学信息与通信工程学院\n\n我们是大学的研究团队，长期从事绿色网络研究。"),
    ("zh", "private_sector", "某某电信股份有限公司\n\n本公司作为电信运营商，就网络平台政策提出意见。"),
    ("ar", "member_state", "وزارة الاقتصاد الرقمي\n\nتتقدم وزارة الاقتصاد الرقمي بالشكر إلى فريق العمل على "
                           "إتاحة هذه المشاورة."),
    ("ar", "regulator", "هيئة تنظيم الاتصالات\n\nترحب هيئة تنظيم الاتصالات بهذه المشاورة المفتوحة."),
    ("ar", "academia", "كلية الهندسة، جامعة الشرق\n\nنحن فريق بحثي في جامعة الشرق نعمل على كفاءة الطاقة."),
    ("fr", "intergovernmental", "Organisation régionale des télécommunications\n\nEn tant qu'organisation "
                                "intergouvernementale, nous parlons au nom de nos administrations membres."),
]


@pytest.mark.parametrize(("lang", "expected", "opening"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_actors_typing_from_text_in_six_languages(lang: str, expected: str, opening: str) -> None:
    result = infer_type(opening + BODY)
    assert result.stype == expected, (lang, result.scores, result.evidence)
    assert result.evidence, "the deciding span must be reported"
    assert 0 < result.score <= 1


def test_actors_typing_ignores_lists_of_stakeholder_groups() -> None:
    text = ("All stakeholders, governments, the private sector, civil society, the technical "
            "community and academia, must take part.") + BODY
    assert infer_type(text).stype is None


def test_actors_metadata_type_is_kept_and_flagged_on_disagreement() -> None:
    ministry = "Ministry of Digital Affairs of the Republic of Atlantis\n\nThe Ministry welcomes the consultation." + BODY
    docs, segs, langs, ents = tables(
        {"a": ministry, "b": ministry.replace("Atlantis", "Utopia"), "c": ministry.replace("Atlantis", "Oz")},
        meta={"a": {"stakeholder_type": "academia"},          # contradicted by the text
              "b": {"stakeholder_type": "member_state"},      # agrees
              "c": {"stakeholder_type": "ngo"}},              # invalid: inferred instead
    )
    actors, _ = resolve_actors(docs, segs, langs, ents, Config())
    row = actors.set_index("doc_id")
    assert row.at["a", "stakeholder_type"] == "academia" and row.at["a", "type_source"] == "metadata"
    assert bool(row.at["a", "type_flag"]) and row.at["a", "type_text"] == "member_state"
    assert not bool(row.at["b", "type_flag"])
    assert row.at["c", "type_source"] == "inferred" and row.at["c", "stakeholder_type"] == "member_state"


def test_actors_typing_accuracy_on_sample_without_metadata(sample_run: Path, sample_corpus: Path) -> None:
    """Types inferred from the text alone vs gold, per type (target: at least 95%)."""
    documents = read_table(table_path(sample_run, "ingest", "documents"), name="documents")
    gold = pd.read_csv(sample_corpus / "gold.csv", dtype=str, keep_default_na=False)
    blank = documents.copy()
    for col in ("respondent", "organisation", "stakeholder_type", "country"):
        blank[col] = None
    texts = dict(zip(blank["doc_id"], blank["text"].fillna(""), strict=True))
    typed = type_documents(blank, texts, Config())
    merged = typed.merge(documents[["doc_id", "source_path"]], on="doc_id").merge(
        gold[gold["stakeholder_type"] != ""][["source_path", "stakeholder_type"]].rename(
            columns={"stakeholder_type": "gold"}), on="source_path")
    ok, total = Counter(), Counter()
    for _, r in merged.iterrows():
        total[r["gold"]] += 1
        ok[r["gold"]] += int(r["stakeholder_type"] == r["gold"])
    acc = sum(ok.values()) / max(sum(total.values()), 1)
    print(f"\nstakeholder type accuracy, sample without metadata: {acc:.3f} ({sum(ok.values())}/{sum(total.values())})")
    for t in sorted(total):
        print(f"  {t:20s} {ok[t]}/{total[t]}")
    for _, r in merged[merged["stakeholder_type"] != merged["gold"]].iterrows():
        print(f"  MISS {r['source_path']}: gold {r['gold']}, got {r['stakeholder_type']} ({r['type_evidence'][:90]})")
    assert sum(total.values()) >= 10
    assert acc >= 0.95



def test_cue_lexicon_reports_a_raw_expression_that_does_not_compile(tmp_path: Path) -> None:
    from pipeline.stakeholders import CUES_PATH, load_cues

    text = CUES_PATH.read_text(encoding="utf-8")
    # A plain entry full of regex syntax is escaped and loads; a broken raw one names itself.
    good = tmp_path / "good.yaml"
    good.write_text(text.replace('"国务院办公厅"', '"国务院办公厅", "(ministry) [of* x"'), encoding="utf-8")
    assert any(c.source == "(ministry) [of* x" for c in load_cues(good).cues)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace('"国务院办公厅"', '"re:ministry (of"'), encoding="utf-8")
    with pytest.raises(ValueError, match=r"re:ministry \(of.*does not compile"):
        load_cues(bad)
