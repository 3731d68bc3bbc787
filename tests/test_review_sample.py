"""The review on the bundled sample: the template changes nothing, and a review file with
one decision of each kind changes the tables and the Chair's draft as it says."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.cli import REVIEWED_TABLES, load_available
from pipeline.config import load_config
from pipeline.review import KINDS, REVIEWED, Review, apply_review, parse_decisions
from pipeline.tables import read_table, table_path, write_table

ROOT = Path(__file__).resolve().parents[1]
WHO = "by: Ann Analyst, on: 2026-11-27"


def test_review_list_matches_cli() -> None:
    assert tuple(REVIEWED) == tuple(REVIEWED_TABLES)


def test_review_sample_template_changes_nothing(sample_run: Path) -> None:
    decisions = read_table(table_path(sample_run, "review", "decisions"))
    assert decisions.empty
    for name in REVIEWED:
        model_path = table_path(sample_run, {"documents": "ingest", "segments": "ingest",
                                             "languages": "language", "entities": "entities",
                                             "actors": "actors", "themes": "themes",
                                             "subthemes": "themes"}[name], name)
        if not model_path.exists():
            continue
        model, reviewed = read_table(model_path), read_table(table_path(sample_run, "review", name))
        assert (reviewed["decided_by"] == "model").all()
        pd.testing.assert_frame_equal(reviewed.drop(columns=[c for c in ("decided_by", "quote_ok")
                                                             if c in reviewed]), model)


@pytest.fixture(scope="module")
def model_tables(sample_run: Path) -> dict[str, pd.DataFrame]:
    tables = load_available(sample_run, reviewed=False)
    if "themes" not in tables or "actors" not in tables:
        pytest.skip("the themes and actors stages are not built")
    return tables


def _primary(tables: dict[str, pd.DataFrame], file: str) -> str:
    docs, t = tables["documents"], tables["themes"]
    doc_id = docs.loc[docs["source_path"] == file, "doc_id"].iloc[0]
    return str(t[(t["doc_id"] == doc_id) & t["seg_id"].isna() & t["is_primary"]]["theme"].iloc[0])


def _doc(tables: dict[str, pd.DataFrame], file: str) -> str:
    docs = tables["documents"]
    return str(docs.loc[docs["source_path"] == file, "doc_id"].iloc[0])


@pytest.fixture(scope="module")
def review_text(model_tables: dict[str, pd.DataFrame], sample_run: Path) -> str:
    """One decision of each kind, its targets taken from what the models produced."""
    t = model_tables
    themes, subs, actors = t["themes"], t["subthemes"], t["actors"]
    ott_doc = "es-02-regulador-mexico-ott.pdf"
    split_from = _primary(t, ott_doc)
    kenya = "en-01-ministry-kenya.pdf"
    kenya_from = _primary(t, kenya)
    kenya_to = "idn" if kenya_from != "idn" else "ott"
    seg = themes[(themes["doc_id"] == _doc(t, kenya)) & themes["seg_id"].notna()
                 & themes["is_primary"]].iloc[0]
    seg_to = "idn" if seg["theme"] != "idn" else "ott"
    idn_subs = sorted(subs[subs["theme"] == "idn"]["subtheme"])
    env_subs = sorted(subs[subs["theme"] == "environment"]["subtheme"])[:2]
    actor_of = actors.set_index("doc_id")["actor_id"]
    uae, sen = actor_of[_doc(t, "ar-02-tra-uae.pdf")], actor_of[_doc(t, "fr-01-regulateur-senegal.pdf")]
    quotes = pd.read_csv(sample_run / "reports" / "tables" / "quotes.csv", encoding="utf-8-sig")
    q = quotes[quotes["file"] == "ru-01-mincom-belarus.pdf"].iloc[0]
    return "\n".join([
        "decisions:",
        f"- {{kind: rename_theme, theme: sustainable_dev, to: emerging_tech, {WHO}}}",
        f"- {{kind: merge_themes, themes: [covid19, connectivity], into: connectivity, {WHO}}}",
        f"- {{kind: split_theme, theme: {split_from}, into: net_neutrality, documents: [{ott_doc}], {WHO}}}",
        f"- {{kind: rename_subtheme, subtheme: {idn_subs[0]}, label: IDN adoption, {WHO}}}",
        f"- {{kind: merge_subthemes, subthemes: [{', '.join(env_subs)}], {WHO}}}",
        f"- {{kind: move_response, document: {kenya}, to: {kenya_to}, {WHO}}}",
        f"- {{kind: move_segment, document: {kenya}, segment: {int(seg['seg_id'])}, to: {seg_to}, {WHO}}}",
        f"- {{kind: set_language, document: fren-01-bilingual-cameroon.pdf, lang: en, {WHO}}}",
        f"- {{kind: set_stakeholder_type, document: en-03-open-access-alliance.docx, "
        f"stakeholder_type: academia, {WHO}}}",
        f"- {{kind: set_country, document: fr-03-union-africaine-telecoms.pdf, country: KEN, {WHO}}}",
        f"- {{kind: merge_actors, actors: ['{uae}', '{sen}'], into: '{uae}', name: Regulators, {WHO}}}",
        f"- {{kind: split_actor, actor: '{uae}', documents: [fr-01-regulateur-senegal.pdf], "
        f"into: 'actor:artp-senegal', {WHO}}}",
        "- kind: reject_quote",
        f"  document: {q['doc_id']}",
        f"  quote: {yaml.safe_dump(str(q['quote']), allow_unicode=True, width=10**6).splitlines()[0]}",
        "  by: Ann Analyst",
        "  on: 2026-11-27",
        f"- {{kind: exclude_response, document: en-05-phone-bill-complaint.txt, grounds: out_of_scope, "
        f"reason: a complaint about a phone bill, {WHO}}}",
    ]) + "\n"


@pytest.fixture(scope="module")
def reviewed(model_tables: dict[str, pd.DataFrame], review_text: str):
    review = Review(parse_decisions(yaml.safe_load(review_text)))
    assert sorted(d.kind for d in review.decisions) == sorted(KINDS)
    cfg = load_config(ROOT / "params.yaml")
    out, decisions = apply_review(model_tables, review, cfg)
    return out, decisions


def test_review_sample_every_kind_applies(model_tables, reviewed) -> None:
    out, decisions = reviewed
    assert (decisions["status"] == "applied").all(), decisions[["kind", "effect"]].to_string()
    t = out["themes"]
    assert "sustainable_dev" not in set(t["theme"]) and "emerging_tech" in set(t["theme"])
    assert "covid19" not in set(t["theme"]) and "covid19" not in set(out["subthemes"]["theme"])
    ott_id = _doc(model_tables, "es-02-regulador-mexico-ott.pdf")
    assert "net_neutrality" in set(t[t["doc_id"] == ott_id]["theme"])
    kenya = _doc(model_tables, "en-01-ministry-kenya.pdf")
    doc_primary = t[(t["doc_id"] == kenya) & t["seg_id"].isna() & t["is_primary"]]
    assert len(doc_primary) == 1 and doc_primary["decided_by"].iloc[0] == "Ann Analyst"
    assert (out["subthemes"]["label"] == "IDN adoption").sum() == 1
    docs = out["documents"].set_index("source_path")
    assert docs.loc["en-03-open-access-alliance.docx", "stakeholder_type"] == "academia"
    assert docs.loc["fr-03-union-africaine-telecoms.pdf", "country"] == "KEN"
    assert "en-05-phone-bill-complaint.txt" not in docs.index
    lang = out["languages"]
    cam = _doc(model_tables, "fren-01-bilingual-cameroon.pdf")
    assert lang[(lang["doc_id"] == cam) & lang["seg_id"].isna()]["lang"].iloc[0] == "en"
    assert (~out["segments"]["quote_ok"]).sum() >= 1
    actors = out["actors"].set_index("doc_id")
    assert actors.loc[_doc(model_tables, "fr-01-regulateur-senegal.pdf"), "actor_id"] == "actor:artp-senegal"
    assert actors.loc[_doc(model_tables, "ar-02-tra-uae.pdf"), "actor_name"] == "Regulators"
    for name, df in out.items():
        assert "decided_by" in df.columns, name


@pytest.fixture(scope="module")
def draft(model_tables, reviewed):
    """The summaries and the English Chair's draft built from the reviewed tables."""
    from pipeline.report import build_blocks, render_markdown
    from pipeline.summarize import summarize

    out, decisions = reviewed
    summaries = summarize({**model_tables, **out, "decisions": decisions},
                          load_config(ROOT / "params.yaml"))
    return summaries, render_markdown(build_blocks(summaries, "en", {}))


def _about(df: pd.DataFrame) -> dict[str, str]:
    return dict(zip(df["item"].astype(str), df["value"].astype(str), strict=True))


def test_review_sample_chair_draft_follows_the_decisions(sample_run: Path, draft) -> None:
    after, md = draft
    before = pd.read_csv(sample_run / "reports" / "tables" / "about.csv", encoding="utf-8-sig")
    n_before = int(_about(before)["responses_distinct"])
    assert int(_about(after["about"])["responses_distinct"]) == n_before - 1, \
        "the excluded response is not counted"
    resp = after["responses"].set_index("file")
    assert "en-05-phone-bill-complaint.txt" not in resp.index
    assert resp.loc["en-03-open-access-alliance.docx", "stakeholder_type"] == "academia"
    assert resp.loc["es-02-regulador-mexico-ott.pdf", "primary_theme"] == "net_neutrality"
    prevalence = set(after["theme_prevalence"]["theme"])
    assert {"emerging_tech", "net_neutrality"} <= prevalence and not {"covid19", "sustainable_dev"} & prevalence
    md = md.replace("\\_", "_")  # Markdown escapes underscores
    assert "consultation on emerging_tech" in md and "consultation on net_neutrality" in md
    # The excluded response is counted nowhere, but the draft says it was excluded and why.
    counted, _, review_section = md.partition("## Decisions of the analyst")
    assert "en-05-phone-bill-complaint.txt" not in counted
    assert "en-05-phone-bill-complaint.txt" in review_section
    files = after["files"].set_index("source_path")
    assert files.loc["en-05-phone-bill-complaint.txt", "counted_as"] == "excluded by the analyst"


def test_review_sample_rejected_quote_leaves_the_draft(draft, review_text) -> None:
    after, md = draft
    rejected = yaml.safe_load(review_text)["decisions"][12]["quote"]
    assert rejected not in set(after["quotes"]["quote"])
    assert rejected not in md


def test_review_sample_rerun_is_byte_identical(model_tables, review_text, tmp_path: Path) -> None:
    cfg = load_config(ROOT / "params.yaml")
    blobs = []
    for run in ("a", "b"):
        out, decisions = apply_review(model_tables, Review(parse_decisions(yaml.safe_load(review_text))), cfg)
        for name, df in out.items():
            write_table(table_path(tmp_path / run, "review", name), df, name=name)
        write_table(table_path(tmp_path / run, "review", "decisions"), decisions)
        blobs.append({p.name: p.read_bytes() for p in sorted((tmp_path / run / "review").iterdir())})
    assert blobs[0] == blobs[1]


def test_review_sample_cli_stage_and_rerun(sample_run: Path, review_text: str, tmp_path: Path) -> None:
    """`textmine review` then `textmine summarize` with a review file; twice, same bytes."""
    import shutil

    from pipeline.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "review.yaml").write_text(review_text, encoding="utf-8")
    out = tmp_path / "out"
    for stage in ("ingest", "language", "entities", "actors", "themes"):
        if (sample_run / stage).exists():
            shutil.copytree(sample_run / stage, out / stage, ignore=shutil.ignore_patterns("cache"))
    snapshots = []
    for run in ("a", "b"):
        params = ["--params", str(ROOT / "params.yaml")]
        assert main(["review", "--out", str(out), "--corpus", str(corpus), *params]) == 0
        assert main(["summarize", "--out", str(out), "--reports", str(tmp_path / run), *params]) == 0
        files = sorted((out / "review").glob("*.parquet")) + sorted((tmp_path / run / "tables").glob("*.csv"))
        snapshots.append({p.name: p.read_bytes() for p in files})
    assert snapshots[0] == snapshots[1]
    decisions = read_table(table_path(out, "review", "decisions"))
    assert len(decisions) == len(KINDS) and (decisions["status"] == "applied").all()
    responses = pd.read_csv(tmp_path / "a" / "tables" / "responses.csv", encoding="utf-8-sig")
    assert "en-05-phone-bill-complaint.txt" not in set(responses["file"])
    assert main(["review", "--out", str(out), "--corpus", str(tmp_path / "no-such-corpus"),
                 "--params", str(ROOT / "params.yaml")]) == 0
    assert read_table(table_path(out, "review", "decisions")).empty
