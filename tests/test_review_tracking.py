"""Tracking across consultations: who responded to which, theme shares over time."""

from __future__ import annotations

import io

import pandas as pd
from review_fixture import synthetic_tables

from pipeline.tracking import (
    actor_participation,
    combine_runs,
    consultation_order,
    organisation_key,
    plot_theme_shares,
    theme_shares_by_consultation,
)


def _two_rounds() -> dict[str, pd.DataFrame]:
    """The synthetic tables plus the ministry answering the 2021 round as well."""
    t = synthetic_tables()
    docs, actors, themes = t["documents"], t["actors"], t["themes"]
    extra = docs[docs["doc_id"] == "d_aaa"].assign(
        doc_id="d_ddd", consultation="c2021", source_path="en-09-ministry-2021.pdf",
        submitted="2021-07-01", organisation="Ministry of I.C.T.")
    t["documents"] = pd.concat([docs, extra], ignore_index=True)
    t["actors"] = pd.concat([actors, actors[actors["doc_id"] == "d_aaa"].assign(doc_id="d_ddd")],
                            ignore_index=True)
    t["themes"] = pd.concat([themes, themes[(themes["doc_id"] == "d_ccc") & themes["seg_id"].isna()]
                             .assign(doc_id="d_ddd")], ignore_index=True)
    return t


def test_review_tracking_actor_participation_by_actor_id() -> None:
    t = _two_rounds()
    table = actor_participation(t["documents"], t["actors"])
    assert consultation_order(t["documents"]) == ["c2020", "c2021"]
    top = table.iloc[0]
    assert top["actor"] == "actor:ict-ke" and top["n_consultations"] == 2
    assert top["consultations"] == "c2020; c2021" and top["c2020"] == 1 and top["c2021"] == 1
    assert table["n_consultations"].tolist() == [2, 1, 1]


def test_review_tracking_falls_back_to_normalised_organisation() -> None:
    t = _two_rounds()
    assert organisation_key("Ministry of I.C.T.") != organisation_key("Ministry of ICT")
    assert organisation_key("Régulateur  ARTP") == organisation_key("regulateur artp")
    table = actor_participation(t["documents"])
    assert table["actor"].str.startswith("org:").all() and len(table) == 4


def test_review_tracking_theme_shares_and_figure() -> None:
    t = _two_rounds()
    shares = theme_shares_by_consultation(t["documents"], t["themes"], t["actors"])
    c21 = shares[shares["consultation"] == "c2021"].set_index("theme")
    assert c21.loc["environment", "responses"] == 2 and c21.loc["environment", "share"] == 1.0
    c20 = shares[shares["consultation"] == "c2020"].set_index("theme")
    assert c20["share"].sum() == 1.0 and set(c20.index) == {"connectivity", "ott"}
    assert shares["consultation"].tolist()[0] == "c2020"
    assert str(c21["start"].iloc[0].date()) == "2021-06-03"
    fig = plot_theme_shares(shares)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue().startswith(b"\x89PNG") and len(fig.axes[0].patches) == 2 * 3


def test_review_tracking_combines_runs() -> None:
    t = synthetic_tables()
    first = {k: v[v["doc_id"] != "d_ccc"] for k, v in t.items() if k in ("documents", "actors", "themes")}
    second = {k: v[v["doc_id"] == "d_ccc"] for k, v in t.items() if k in ("documents", "actors", "themes")}
    both = combine_runs([first, second])
    assert sorted(both["documents"]["doc_id"]) == ["d_aaa", "d_bbb", "d_ccc"]
    table = actor_participation(both["documents"], both["actors"])
    assert list(table.columns[-2:]) == ["c2020", "c2021"]
