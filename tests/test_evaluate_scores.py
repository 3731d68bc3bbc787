"""The evaluation harness on small tables whose scores are worked out by hand."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipeline.config import Config
from pipeline.evaluate import chance_language_gaps, evaluate, language_gap


def _manifest(paths_ids: dict[str, str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_path": list(paths_ids),
            "file_sha256": ["0"] * len(paths_ids),
            "consultation": ["t"] * len(paths_ids),
            "status": ["ok" if v else "corrupt" for v in paths_ids.values()],
            "detail": [""] * len(paths_ids),
            "doc_id": list(paths_ids.values()),
        }
    )


def _languages(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["doc_id", "seg_id", "lang", "prob", "is_mixed", "shares"]).astype(
        {"seg_id": "Int64"}
    )


@pytest.fixture()
def tables() -> dict[str, pd.DataFrame]:
    manifest = _manifest({"a/en.txt": "d1", "a/fr.pdf": "d2", "b/bi.txt": "d3", "b/zh.md": "d4",
                          "broken.pdf": None})
    languages = _languages(
        [
            ("d1", None, "en", 0.99, False, "en:1.0"),
            ("d1", 0, "en", 0.99, False, None),
            ("d1", 1, "en", 0.99, False, None),
            ("d2", None, "fr", 0.95, True, "fr:0.7;en:0.3"),  # right language, wrongly mixed
            ("d2", 0, "fr", 0.99, False, None),
            ("d2", 1, "es", 0.60, False, None),
            ("d3", None, "fr", 0.55, True, "fr:0.55;en:0.45"),
            ("d4", None, "ja", 0.90, False, "ja:1.0"),
        ]
    )
    segments = pd.DataFrame(
        {
            "doc_id": ["d1", "d1", "d2", "d2"],
            "seg_id": [0, 1, 0, 1],
            "page_no": [1] * 4,
            "char_start": [0] * 4,
            "char_end": [1] * 4,
            "text": [
                "A paragraph of English running text that is long enough.",
                "Page 2",  # too short to be scored
                "Un paragraphe de texte français courant, assez long pour compter.",
                "Un autre paragraphe français, que le modèle a pris pour de l'espagnol.",
            ],
        }
    )
    themes = pd.DataFrame(
        {
            "doc_id": ["d1", "d1", "d2", "d3", "d4", "d1"],
            "seg_id": pd.array([None, None, None, None, None, 0], dtype="Int64"),
            "theme": ["ott", "connectivity", "connectivity", "idn", "ott", "environment"],
            "score": [0.9, 0.1, 0.8, 0.7, 0.6, 0.99],
            "is_primary": [True, False, True, True, True, True],
            "subtheme": [""] * 6,
        }
    )
    entities = pd.DataFrame(
        {
            "doc_id": ["d1", "d1", "d1", "d2", "d2"],
            "seg_id": [0, 0, 1, 0, 0],
            "char_start": [0, 5, 0, 0, 9],
            "canonical_id": ["org:ITU", "org:ITU", "country:FRA", "res:PP-102", "person:Jean"],
        }
    )
    documents = pd.DataFrame(
        {"doc_id": ["d1", "d2", "d3", "d4"],
         "stakeholder_type": ["member_state", "civil_society", "academia", ""]}
    )
    return {"manifest": manifest, "languages": languages, "segments": segments, "themes": themes,
            "entities": entities, "documents": documents}


@pytest.fixture()
def gold() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_path": ["a/en.txt", "a/fr.pdf", "b/bi.txt", "b/zh.md", "broken.pdf", "gone.docx"],
            "lang": ["en", "fr", "en;fr", "zh", "en", "es"],
            "themes": ["ott", "connectivity;environment", "idn", "ott", "other", "other"],
            "stakeholder_type": ["member_state", "regulator", "academia", "", "", ""],
            "entities": ["org:ITU;country:FRA;sdg:9", "res:PP-102", "", "", "", ""],
        }
    )


def test_evaluate_document_language_accuracy_and_bilingual_rule(tables, gold):
    result = evaluate(tables, gold, Config())
    lang = result["languages"]
    # d1 en ok, d2 fr ok, d3 bilingual with main fr ok, d4 ja for zh wrong: 3 of 4.
    assert lang["accuracy"] == 0.75
    assert lang["per_language"]["zh"] == {"accuracy": 0.0, "n": 1}
    assert lang["per_language"]["en;fr"] == {"accuracy": 1.0, "n": 1}
    assert lang["mixed_recall"] == 1.0
    assert lang["mixed_false_positives"] == pytest.approx(1 / 3, abs=1e-4)
    assert result["summary"]["doc_lang_accuracy"] == 0.75
    assert result["summary"]["doc_lang_accuracy_en_fr"] == 1.0


def test_evaluate_files_missing_from_the_manifest_are_disagreements_not_crashes(tables, gold):
    result = evaluate(tables, gold, Config())
    got = {(d["file"], d["field"]): d["got"] for d in result["disagreements"]}
    assert got[("gone.docx", "document")] == "not in manifest"
    assert got[("broken.pdf", "document")] == "no document (status=corrupt)"
    assert got[("b/zh.md", "lang")] == "ja"
    assert result["summary"]["n_matched_documents"] == 4.0
    assert result["summary"]["n_gold_documents"] == 6.0


def test_evaluate_segment_language_implied_by_single_language_documents(tables, gold):
    seg = evaluate(tables, gold, Config())["segment_languages"]
    # Three substantial segments (the footer is too short), one wrong (es for fr).
    assert seg["n"] == 3
    assert seg["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert seg["per_language"]["fr"] == {"accuracy": 0.5, "n": 2}


def test_evaluate_segment_gold_rows_are_scored_when_present(tables, gold):
    seg_gold = pd.DataFrame({"source_path": ["a/fr.pdf", "a/fr.pdf"], "seg_id": ["0", "1"],
                             "lang": ["fr", "es"], "themes": ["", ""]})
    with_segs = pd.concat([gold.assign(seg_id=""), seg_gold], ignore_index=True)
    result = evaluate(tables, with_segs, Config())
    assert result["segment_languages"]["source"] == "gold segments"
    assert result["segment_languages"]["accuracy"] == 1.0
    assert result["languages"]["accuracy"] == 0.75, "segment rows do not count as documents"


def test_evaluate_theme_scores(tables, gold):
    themes = evaluate(tables, gold, Config())["themes"]
    # Predicted: every document row the stage wrote (segment rows ignored):
    # d1 {ott, connectivity}, d2 {connectivity}, d3 {idn}, d4 {ott}. Gold: d1 {ott},
    # d2 {connectivity, environment}, d3 {idn}, d4 {ott}.
    # ott 1.0, idn 1.0, connectivity 2/3 (d1 is a false positive), environment 0.
    assert themes["per_theme"]["ott"]["f1"] == 1.0
    assert themes["per_theme"]["connectivity"]["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert themes["per_theme"]["environment"] == {"precision": None, "recall": 0.0, "f1": 0.0, "support": 1}
    assert themes["macro_f1"] == pytest.approx((1 + 1 + 2 / 3 + 0) / 4, abs=1e-4)
    # The bilingual d3 (en;fr, idn right) counts in English and in French, not in a
    # pseudo-language "en;fr" of one document.
    assert themes["per_language"]["fr"] == {"macro_f1": pytest.approx(2 / 3, abs=1e-4), "n": 2}
    assert themes["per_language"]["en"] == {"macro_f1": pytest.approx(2 / 3, abs=1e-4), "n": 2}
    assert "en;fr" not in themes["per_language"]


def _twelve(wrong: set[int]) -> tuple[list[set[str]], list[set[str]], list[set[str]]]:
    """Twelve documents, six in English then six in French, gold idn and ott in turn;
    the documents in ``wrong`` are given the other of the two."""
    gold = [{"ott"} if i % 2 else {"idn"} for i in range(12)]
    pred = [({"idn"} if i % 2 else {"ott"}) if i in wrong else g for i, g in enumerate(gold)]
    return gold, pred, [{"en"} if i < 6 else {"fr"} for i in range(12)]


def test_language_gap_against_chance():
    # All three errors in French: French is the lowest language, well below the overall
    # figure, and shuffling the languages (which spreads the errors) gives a smaller gap.
    one_language = _twelve({6, 7, 8})
    lowest, gap = language_gap(*one_language)
    assert lowest == "fr" and gap > 0.2
    chance = chance_language_gaps(*one_language, runs=200, seed=1)
    assert len(chance) == 200 and sorted(chance)[100] < gap / 2
    # Four errors, two in each language: no gap, and shuffles give one.
    spread = _twelve({0, 1, 6, 7})
    assert language_gap(*spread)[1] == 0.0
    assert sorted(chance_language_gaps(*spread, runs=200, seed=1))[100] > 0.0
    # The same seed, the same shuffles.
    assert chance == chance_language_gaps(*one_language, runs=200, seed=1)


def test_evaluate_summary_has_the_language_gap(tables, gold):
    summary = evaluate(tables, gold, Config())["summary"]
    # Per language: en and fr 2/3, zh 1.0; overall 2/3 (test_evaluate_theme_scores).
    assert summary["theme_language_gap"] == pytest.approx(0.0, abs=1e-4)
    assert "theme_language_gap_chance" in summary


def test_evaluate_theme_rows_are_not_rethresholded(tables, gold):
    # Regression: evaluate used to drop written rows below themes.min_score; the stage's
    # decision stands whatever the threshold in the configuration says.
    from pipeline.config import ThemesConfig

    strict = Config(themes=ThemesConfig(min_score=0.95))
    result = evaluate(tables, gold, strict)
    assert result["themes"]["per_theme"]["connectivity"]["precision"] == 0.5
    assert result["summary"]["theme_n_en"] == 2.0
    assert result["summary"]["theme_n_fr"] == 2.0


def test_evaluate_entity_recall_and_precision_per_class(tables, gold):
    result = evaluate(tables, gold, Config())
    ent = result["entities"]
    assert result["summary"]["entity_recall_sdg"] == 0.0
    assert result["summary"]["entity_precision_en"] == 1.0
    # Gold: d1 {org:ITU, country:FRA, sdg:9}, d2 {res:PP-102}; found: d1 {org:ITU, country:FRA},
    # d2 {res:PP-102} (person:Jean is not a gazetteer class). tp 3, fn 1, fp 0.
    assert (ent["recall"], ent["precision"]) == (0.75, 1.0)
    assert ent["per_class"]["sdg"]["recall"] == 0.0
    assert ent["per_class"]["org"] == {"recall": 1.0, "precision": 1.0, "n_gold": 1, "n_found": 1}
    assert ent["per_language"]["fr"]["recall"] == 1.0


def test_evaluate_stakeholder_type_accuracy(tables, gold):
    st = evaluate(tables, gold, Config())["stakeholder_types"]
    assert st["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert st["per_type"]["regulator"] == {"accuracy": 0.0, "n": 1}


def test_evaluate_summary_is_flat_floats_and_the_result_is_json(tables, gold):
    result = evaluate(tables, gold, Config())
    assert all(isinstance(v, float) for v in result["summary"].values())
    json.dumps(result)  # the CLI writes it as JSON


def test_evaluate_matches_paths_with_other_separators_and_prefixes(tables, gold):
    tables["manifest"]["source_path"] = [
        "corpus\\a\\en.txt", "corpus/a/fr.pdf", "corpus/b/bi.txt", "corpus/b/zh.md", "broken.pdf"
    ]
    result = evaluate(tables, gold, Config())
    assert result["summary"]["n_matched_documents"] == 4.0


def test_evaluate_with_only_a_manifest_and_languages_skips_the_rest(tables, gold):
    result = evaluate({"manifest": tables["manifest"], "languages": tables["languages"]},
                      gold[["source_path", "lang", "themes"]], Config())
    assert "themes" not in result and "entities" not in result and "stakeholder_types" not in result
    assert "segment_languages" not in result
    assert result["summary"]["doc_lang_accuracy"] == 0.75
