"""Summary tables: totals reconcile, quotes are verbatim, every voice is represented."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_fixture import build_tables  # noqa: E402

from pipeline.config import Config  # noqa: E402
from pipeline.quotes import QuoteError, check_quotes, normalise_ws, split_sentences  # noqa: E402
from pipeline.summarize import itu_regions, metrics, summarize  # noqa: E402

CFG = Config()
N_DISTINCT = 7  # 7 responses read, plus one exact duplicate file


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return build_tables()


@pytest.fixture(scope="module")
def summaries(tables) -> dict[str, pd.DataFrame]:
    return summarize(tables, CFG)


def test_summarize_totals_reconcile_with_distinct_responses(summaries):
    about = dict(zip(summaries["about"]["item"], summaries["about"]["value"], strict=True))
    assert int(about["responses_distinct"]) == N_DISTINCT
    assert int(about["responses_raw"]) == N_DISTINCT + 1
    by_group = summaries["responses_by_group"]
    assert by_group["responses_distinct"].sum() == N_DISTINCT
    assert by_group["responses_raw"].sum() == N_DISTINCT + 1
    for name, by in (("theme_prevalence", None), ("theme_by_stakeholder", "stakeholder_type"),
                     ("theme_by_region", "itu_region")):
        table = summaries[name]
        assert table["primary_responses"].sum() == N_DISTINCT, name
        groups = table.drop_duplicates(by)["group_responses"] if by else table["group_responses"].iloc[:1]
        assert groups.sum() == N_DISTINCT, name
    assert summaries["responses"]["counted_in_distinct"].sum() == N_DISTINCT
    m = metrics(summaries)
    assert m["responses_distinct"] == N_DISTINCT
    assert sum(m["responses_by_stakeholder_type"].values()) == N_DISTINCT
    assert sum(m["responses_by_itu_region"].values()) == N_DISTINCT


def test_summarize_counts_a_reuse_cluster_once(tables):
    actors = pd.DataFrame({
        "doc_id": tables["documents"]["doc_id"],
        "actor_id": [f"actor:{i}" for i in range(len(tables["documents"]))],
        "actor_name": "x", "stakeholder_type": tables["documents"]["stakeholder_type"],
        "type_source": "metadata", "type_score": 1.0, "type_evidence": "",
        "country": tables["documents"]["country"],
        "reuse_cluster": ["c1", "c1", "p9", None, None, "p9", "c1"],
        "reuse_kind": ["near_duplicate", "near_duplicate", "shared_passage", None, None,
                       "shared_passage", "near_duplicate"],
        "voice_id": ["v1", "v1", "v2", "v3", "v4", "v5", "v1"],
    })
    out = summarize({**tables, "actors": actors}, CFG)
    # The near-duplicate cluster c1 (3 responses) counts once; the shared passage p9 does not
    # merge its two responses.
    assert out["responses_by_group"]["responses_distinct"].sum() == N_DISTINCT - 2
    assert out["theme_prevalence"]["primary_responses"].sum() == N_DISTINCT - 2
    for by in ("stakeholder_type", "itu_region"):
        table = out[f"theme_by_{'stakeholder' if by == 'stakeholder_type' else 'region'}"]
        assert table.drop_duplicates(by)["group_responses"].sum() == N_DISTINCT - 2
    about = out["about"].set_index("item")["value"]
    assert "near-identical responses" in about["distinct_rule"]
    assert about["distinct_voices"] == "5"
    assert out["responses"]["counted_in_distinct"].sum() == N_DISTINCT - 2


def test_summarize_quotes_are_verbatim_in_their_cited_page(summaries, tables):
    quotes = summaries["quotes"]
    assert len(quotes) >= 8
    pages = tables["pages"].set_index(["doc_id", "page_no"])["text"]
    for q in quotes.itertuples():
        assert normalise_ws(q.quote) in normalise_ws(pages[(q.doc_id, q.page_no)])
    extracts = summaries["responses"]
    assert (extracts["extract"] != "").all()
    check_quotes(quotes, tables["pages"])


def test_summarize_every_stakeholder_type_that_addressed_a_theme_is_quoted(summaries, tables):
    docs = tables["documents"].set_index("doc_id")
    themes = tables["themes"]
    doc_level = themes[themes["seg_id"].isna()]
    quotes = summaries["quotes"]
    for theme, group in doc_level.groupby("theme"):
        addressed = set(docs.loc[group["doc_id"], "stakeholder_type"])
        quoted = set(quotes[quotes["theme"] == theme]["stakeholder_type"])
        assert addressed <= quoted, (theme, addressed - quoted)


def test_summarize_check_quotes_fails_on_a_quote_not_in_its_page(summaries, tables):
    pages = tables["pages"].copy()
    first = summaries["quotes"].iloc[0]
    mask = (pages["doc_id"] == first["doc_id"]) & (pages["page_no"] == first["page_no"])
    pages.loc[mask, "text"] = pages.loc[mask, "text"].str.replace(first["quote"][:20], "PARAPHRASED")
    with pytest.raises(QuoteError, match="not verbatim"):
        check_quotes(summaries["quotes"], pages)


def test_summarize_survives_missing_optional_tables(tables):
    core = {k: tables[k] for k in ("manifest", "documents", "pages", "segments")}
    out = summarize(core, CFG)
    assert out["responses_by_group"]["responses_distinct"].sum() == N_DISTINCT
    assert out["top_entities"].empty and out["subthemes"].empty
    assert set(out["responses_by_group"]["lang"]) == {"unknown"}
    assert out["theme_prevalence"]["theme"].tolist() == ["none"]
    no_entities = summarize({k: v for k, v in tables.items() if k != "entities"}, CFG)
    assert len(no_entities["quotes"]) == len(summarize(tables, CFG)["quotes"])


def test_summarize_unreadable_lists_every_failed_file(summaries):
    unread = summaries["unreadable"]
    assert sorted(unread["status"]) == ["corrupt", "empty", "encrypted"]
    assert unread["detail"].str.len().min() > 10
    assert len(summaries["files"]) == 11


def test_summarize_itu_regions_cover_member_states():
    regions = itu_regions()
    assert len(regions) == 193
    expected = {"USA": "A", "FRA": "B", "TUR": "B", "CYP": "B", "RUS": "C", "EST": "C",
                "KAZ": "C", "EGY": "D", "MAR": "D", "SAU": "E", "CHN": "E", "AUS": "E"}
    assert {k: regions[k] for k in expected} == expected
    assert set(regions.values()) == set("ABCDE")


def test_summarize_sentence_split_keeps_exact_substrings():
    text = "First point here. Second one!\n数据中心的能耗不断上升。电子废物需要回收。 هل هذا سؤال؟ نعم."
    parts = split_sentences(text)
    assert all(p in text for p in parts)
    assert "数据中心的能耗不断上升。" in parts and "هل هذا سؤال؟" in parts
