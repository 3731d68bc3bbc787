"""The review file: every kind of decision applied to synthetic tables, stale decisions
reported, validation messages, and a byte-identical re-run."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
import yaml
from review_fixture import synthetic_tables

from pipeline.config import Config
from pipeline.review import (
    DECISION_COLUMNS,
    KINDS,
    REVIEWED,
    Review,
    ReviewError,
    apply_review,
    load_review,
    parse_decisions,
)
from pipeline.schemas import validate
from pipeline.tables import table_path, write_table

ROOT = Path(__file__).resolve().parents[1]
BY = "by: Ann Analyst\n  on: 2026-11-27"


def _review(text: str) -> Review:
    return Review(parse_decisions(yaml.safe_load(text)))


def _apply(text: str) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    return apply_review(synthetic_tables(), _review(text), Config())


def _one(text: str) -> tuple[dict[str, pd.DataFrame], pd.Series]:
    out, decisions = _apply("decisions:\n- " + text.strip().replace("\n", "\n  ") + f"\n  {BY}\n")
    assert len(decisions) == 1
    return out, decisions.iloc[0]


def _themes(out: dict[str, pd.DataFrame], doc: str, seg: int | None = None) -> pd.DataFrame:
    t = out["themes"]
    unit = t["seg_id"].isna() if seg is None else t["seg_id"] == seg
    return t[(t["doc_id"] == doc) & unit.fillna(False)]


def test_review_no_decisions_marks_every_row_model() -> None:
    out, decisions = apply_review(synthetic_tables(), Review(), Config())
    assert set(out) == set(REVIEWED)
    assert decisions.empty and list(decisions.columns) == list(DECISION_COLUMNS)
    for name, df in out.items():
        validate(name, df)
        assert (df["decided_by"] == "model").all(), name
    assert out["segments"]["quote_ok"].all()


def test_review_rename_theme() -> None:
    out, d = _one("kind: rename_theme\ntheme: ott\nto: platforms")
    assert d["status"] == "applied" and "renamed theme ott to platforms" in d["effect"]
    assert "ott" not in set(out["themes"]["theme"]) and "ott" not in set(out["subthemes"]["theme"])
    renamed = out["themes"][out["themes"]["theme"] == "platforms"]
    assert len(renamed) == 5 and (renamed["decided_by"] == "Ann Analyst").all()
    assert (out["themes"][out["themes"]["theme"] != "platforms"]["decided_by"] == "model").all()


def test_review_merge_themes_collapses_shared_rows() -> None:
    out, d = _one("kind: merge_themes\nthemes: [ott, connectivity]\ninto: connectivity")
    assert d["status"] == "applied"
    doc_rows = _themes(out, "d_aaa")
    # d_aaa carried both themes: one row now, primary, best score kept.
    assert list(doc_rows["theme"]) == ["connectivity"]
    assert bool(doc_rows["is_primary"].iloc[0]) and doc_rows["score"].iloc[0] == 0.8
    assert set(out["subthemes"]["theme"]) == {"connectivity", "environment"}
    validate("themes", out["themes"])


def test_review_split_theme_moves_named_documents_and_segments() -> None:
    out, d = _one("kind: split_theme\ntheme: ott\ninto: net_neutrality\n"
                  "segments: [{document: fr-02-regulateur.pdf, segment: 1}]")
    assert "1 segment" in d["effect"], d["effect"]
    row = _themes(out, "d_bbb", 1)
    assert list(row["theme"]) == ["net_neutrality"] and row["subtheme"].isna().all()
    assert list(_themes(out, "d_bbb", 0)["theme"]) == ["ott"]
    out, d = _one("kind: split_theme\ntheme: ott\ninto: net_neutrality\ndocuments: [d_bbb]")
    assert set(out["themes"][out["themes"]["doc_id"] == "d_bbb"]["theme"]) == {"net_neutrality"}


def test_review_rename_and_merge_subthemes() -> None:
    out, d = _one("kind: rename_subtheme\nsubtheme: ott.01\nlabel: who pays for networks")
    row = out["subthemes"][out["subthemes"]["subtheme"] == "ott.01"].iloc[0]
    assert row["label"] == "who pays for networks" and row["decided_by"] == "Ann Analyst"
    assert "financing, ott" in d["effect"]
    out, d = _one("kind: merge_subthemes\nsubthemes: [environment.01, environment.02]\n"
                  "label: energy and e-waste")
    subs = out["subthemes"]
    assert "environment.02" not in set(subs["subtheme"])
    merged = subs[subs["subtheme"] == "environment.01"].iloc[0]
    assert merged["size"] == 2 and merged["label"] == "energy and e-waste"
    assert set(out["themes"]["subtheme"].dropna()) & {"environment.02"} == set()


def test_review_move_response_changes_primary_theme() -> None:
    out, d = _one("kind: move_response\ndocument: es-03-empresa.docx\nfrom: environment\nto: connectivity")
    assert d["effect"] == "moved 1 response (es-03-empresa.docx) from environment to connectivity"
    rows = _themes(out, "d_ccc")
    assert list(rows["theme"]) == ["connectivity"] and rows["is_primary"].all()
    assert (rows["decided_by"] == "Ann Analyst").all() and rows["score"].isna().all()
    # The segment rows are the model's evidence; a response move leaves them.
    assert set(out["themes"][(out["themes"]["doc_id"] == "d_ccc")
                             & out["themes"]["seg_id"].notna()]["theme"]) == {"environment"}
    validate("themes", out["themes"])


def test_review_move_segment() -> None:
    out, d = _one("kind: move_segment\ndocument: d_aaa\nsegment: 1\nfrom: ott\nto: other")
    assert d["status"] == "applied"
    rows = _themes(out, "d_aaa", 1)
    assert list(rows["theme"]) == ["other"] and bool(rows["is_primary"].iloc[0])


def test_review_set_language_document_and_segment() -> None:
    out, d = _one("kind: set_language\ndocument: en-01-ministry.pdf\nsegment: 1\nlang: fr")
    lang = out["languages"]
    row = lang[(lang["doc_id"] == "d_aaa") & (lang["seg_id"] == 1)].iloc[0]
    assert row["lang"] == "fr" and row["decided_by"] == "Ann Analyst"
    assert lang[(lang["doc_id"] == "d_aaa") & lang["seg_id"].isna()]["lang"].iloc[0] == "en"
    out, d = _one("kind: set_language\ndoc_id: d_ccc\nlang: pt")
    assert out["languages"][(out["languages"]["doc_id"] == "d_ccc")
                            & out["languages"]["seg_id"].isna()]["lang"].iloc[0] == "pt"


def test_review_set_stakeholder_type_and_country_reach_documents_and_actors() -> None:
    out, d = _one("kind: set_stakeholder_type\nfile: fr-02-regulateur.pdf\nstakeholder_type: civil_society")
    assert "NGO" in d["effect"] and "civil_society" in d["effect"]
    for name in ("documents", "actors"):
        row = out[name][out[name]["doc_id"] == "d_bbb"].iloc[0]
        assert row["stakeholder_type"] == "civil_society" and row["decided_by"] == "Ann Analyst"
    assert out["actors"][out["actors"]["doc_id"] == "d_bbb"]["type_source"].iloc[0] == "review"
    out, d = _one("kind: set_country\ndocument: d_ccc\ncountry: URY")
    assert out["documents"].set_index("doc_id").loc["d_ccc", "country"] == "URY"
    assert out["actors"].set_index("doc_id").loc["d_ccc", "country"] == "URY"


def test_review_merge_and_split_actors() -> None:
    out, d = _one("kind: merge_actors\nactors: [actor:artp, actor:redes]\ninto: actor:artp\nname: ARTP group")
    a = out["actors"].set_index("doc_id")
    assert a.loc["d_ccc", "actor_id"] == "actor:artp" and a.loc["d_ccc", "actor_name"] == "ARTP group"
    assert "2 responses" in d["effect"]
    out, d = _one("kind: split_actor\nactor: actor:ict-ke\ndocuments: [en-01-ministry.pdf]\n"
                  "into: actor:ict-kenya")
    assert out["actors"].set_index("doc_id").loc["d_aaa", "actor_id"] == "actor:ict-kenya"


def test_review_reject_quote_by_segment_and_by_text() -> None:
    out, _ = _one("kind: reject_quote\ndocument: d_aaa\nsegment: 1")
    s = out["segments"].set_index(["doc_id", "seg_id"])
    assert not s.loc[("d_aaa", 1), "quote_ok"] and s.loc[("d_aaa", 0), "quote_ok"]
    out, d = _one("kind: reject_quote\ndocument: fr-02-regulateur.pdf\n"
                  "quote: \"La neutralité   du réseau protège\"")
    s = out["segments"].set_index(["doc_id", "seg_id"])
    assert not s.loc[("d_bbb", 1), "quote_ok"] and d["status"] == "applied"


def test_review_exclude_response_removes_it_everywhere() -> None:
    out, d = _one("kind: exclude_response\ndocument: en-01-ministry.pdf\ngrounds: out_of_scope\n"
                  "reason: a complaint about a phone bill")
    assert d["reason"] == "a complaint about a phone bill"
    assert "excluded 1 response (en-01-ministry.pdf, out_of_scope)" in d["effect"]
    for name in ("documents", "segments", "languages", "entities", "actors", "themes"):
        assert "d_aaa" not in set(out[name]["doc_id"]), name
    assert len(out["documents"]) == 2


def test_review_stale_decisions_are_reported_not_dropped(caplog: pytest.LogCaptureFixture) -> None:
    text = f"""
decisions:
- kind: rename_theme
  theme: environment
  to: climate
  {BY}
- kind: move_response
  document: es-03-empresa.docx
  from: environment
  to: connectivity
  {BY}
- kind: merge_themes
  themes: [environment]
  into: ott
  {BY}
- kind: exclude_response
  document: d_aaa
  grounds: withdrawn
  reason: the ministry withdrew it
  {BY}
- kind: set_country
  document: en-01-ministry.pdf
  country: TZA
  {BY}
- kind: set_stakeholder_type
  document: gone-from-the-corpus.pdf
  stakeholder_type: academia
  {BY}
"""
    with caplog.at_level(logging.WARNING, logger="pipeline.review"):
        out, decisions = _apply(text)
    assert list(decisions["status"]) == ["applied", "stale", "stale", "applied", "stale", "stale"]
    # Entries 2 and 3 name a theme that entry 1 renamed.
    assert "is now under climate, not environment" in decisions["effect"].iloc[1]
    assert "none of the themes environment" in decisions["effect"].iloc[2]
    assert "excluded by decision 4" in decisions["effect"].iloc[4]
    assert "not in the corpus any more" in decisions["effect"].iloc[5]
    assert sum("no longer applies" in r.getMessage() for r in caplog.records) == 4
    assert list(decisions["index"]) == [1, 2, 3, 4, 5, 6]


def test_review_unchanged_rerun_is_byte_identical(tmp_path: Path) -> None:
    who = "by: Ann, on: 2026-11-27"
    review = f"""
decisions:
- {{kind: rename_theme, theme: ott, to: platforms, {who}}}
- {{kind: set_country, document: d_ccc, country: URY, {who}}}
- {{kind: reject_quote, document: d_bbb, segment: 0, {who}}}
- {{kind: move_segment, document: d_aaa, segment: 1, to: other, {who}}}
- {{kind: exclude_response, document: d_aaa, grounds: withdrawn, reason: withdrawn, {who}}}
"""
    blobs = []
    for run in ("a", "b"):
        out, decisions = _apply(review)
        folder = tmp_path / run
        for name, df in out.items():
            write_table(table_path(folder, "review", name), df, name=name)
        write_table(table_path(folder, "review", "decisions"), decisions)
        blobs.append({p.name: p.read_bytes() for p in sorted((folder / "review").iterdir())})
    assert blobs[0] == blobs[1] and len(blobs[0]) == len(REVIEWED) + 1


def test_review_validation_names_entry_field_and_allowed_values() -> None:
    bad = """
decisions:
- kind: set_stakeholder_type
  document: a.pdf
  stakeholder_type: NGO
  by: Ann
  on: 2026-11-27
- kind: exclude_response
  document: a.pdf
  grounds: spam
  by: Ann
  on: yesterday
- kind: rename_them
  by: Ann
- kind: set_country
  document: a.pdf
  country: Kenya
  colour: blue
  on: 2026-11-27
"""
    with pytest.raises(ReviewError) as err:
        parse_decisions(yaml.safe_load(bad), source="review.yaml")
    msg = str(err.value)
    assert "entry 1: (set_stakeholder_type) field 'stakeholder_type' must be one of member_state" in msg
    assert "got 'NGO'" in msg
    assert "entry 2: (exclude_response) field 'grounds' must be one of out_of_scope, withdrawn" in msg
    assert "entry 2: (exclude_response) field 'reason' is required" in msg
    assert "entry 2: (exclude_response) field 'on' must be a date YYYY-MM-DD" in msg
    assert "entry 3: field 'kind' must be one of rename_theme" in msg
    assert "entry 4: (set_country) unknown field 'colour'" in msg
    assert "entry 4: (set_country) field 'by' is required" in msg
    assert "entry 4: (set_country) field 'country' must be an ISO 3166 alpha-3" in msg


def test_review_missing_file_and_sample_template_have_no_decisions(tmp_path: Path) -> None:
    assert len(load_review(tmp_path / "review.yaml")) == 0
    template = ROOT / "corpora" / "raw" / "sample" / "review.yaml"
    assert len(load_review(template)) == 0
    # Every example in the template is a valid decision once uncommented, one per kind.
    lines = template.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# decisions:"))
    body = "\n".join(line[2:] for line in lines[start:] if line.startswith("# "))
    examples = parse_decisions(yaml.safe_load(body))
    assert sorted(d.kind for d in examples) == sorted(KINDS)
