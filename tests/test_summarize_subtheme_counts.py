"""A sub-theme never counts more responses than its theme (regression: the 1,000-response
benchmark corpus printed "raised in 462 responses" under a theme of 5 distinct ones)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_fixture import build_tables  # noqa: E402

from pipeline.config import Config  # noqa: E402
from pipeline.summarize import summarize  # noqa: E402

CFG = Config()


def _with_cluster(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    docs = tables["documents"]
    actors = pd.DataFrame({
        "doc_id": docs["doc_id"], "actor_id": [f"actor:{i}" for i in range(len(docs))],
        "actor_name": "x", "stakeholder_type": docs["stakeholder_type"], "type_source": "metadata",
        "type_score": 1.0, "type_evidence": "", "country": docs["country"],
        # d00, d01 and d06 are one near-identical campaign: one voice.
        "reuse_cluster": ["c1", "c1", None, None, None, None, "c1"],
        "reuse_kind": ["near_duplicate", "near_duplicate", None, None, None, None, "near_duplicate"],
    })
    return {**tables, "actors": actors}


@pytest.mark.parametrize("clustered", [False, True])
def test_summarize_subtheme_responses_never_exceed_the_theme(clustered):
    tables = build_tables()
    out = summarize(_with_cluster(tables) if clustered else tables, CFG)
    prevalence = out["theme_prevalence"].set_index("theme")["responses"]
    subs = out["subthemes"]
    assert len(subs)
    for row in subs.itertuples():
        assert row.responses <= prevalence[row.theme], (row.subtheme, row.responses)


def test_summarize_subtheme_counts_distinct_responses_with_the_theme():
    tables = _with_cluster(build_tables())
    out = summarize(tables, CFG)
    resp = out["responses"]
    distinct = set(resp.loc[resp["counted_in_distinct"], "doc_id"])
    themes = tables["themes"]
    for row in out["subthemes"].itertuples():
        # Sub-theme ids are per theme ("0", "1", ... under each theme).
        in_sub = themes[(themes["theme"] == row.theme) & (themes["subtheme"] == row.subtheme)
                        & themes["seg_id"].notna()]["doc_id"]
        with_theme = set(out["responses"].loc[
            (resp["primary_theme"] == row.theme)
            | resp["other_themes"].str.split("; ").map(lambda ts, t=row.theme: t in ts), "doc_id"])
        expected = set(in_sub) & distinct & with_theme
        assert row.responses == len(expected), row.subtheme
        types = set(resp.set_index("doc_id").loc[sorted(expected), "stakeholder_type"])
        assert row.stakeholder_types == "; ".join(sorted(types))
    # The campaign's copies are not counted again in any sub-theme.
    assert not ({"d01", "d06"} & distinct)
