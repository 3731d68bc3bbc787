"""Following actors and themes across consultations (pure pandas, plus one figure).

Reads tables that hold several consultations (the ``consultation`` column of
``documents``; concatenate the tables of several corpora to get them): ``documents``,
optionally ``actors`` (for ``actor_id``) and ``themes`` (document rows). Theme ids are
shared by every consultation analysed with the same theme set, which is what makes the
shares comparable.

- :func:`actor_participation`: who responded to which consultation (one row per actor,
  one count column per consultation, in date order).
- :func:`theme_shares_by_consultation`: per consultation, the share of distinct responses
  whose primary theme is each theme, with the consultation's dates.
- :func:`plot_theme_shares`: a matplotlib figure of those shares over time.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

NO_THEME = "none"


def _text(v: object) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v).strip()


def organisation_key(name: object) -> str:
    """A loose key for an organisation name when no ``actor_id`` exists (case, accents,
    punctuation and spacing ignored)."""
    text = unicodedata.normalize("NFKD", _text(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[\W_]+", " ", text).strip()


def _responses(documents: pd.DataFrame, actors: pd.DataFrame | None) -> pd.DataFrame:
    docs = documents.copy()
    docs["doc_id"] = docs["doc_id"].astype(str)
    docs["submitted"] = pd.to_datetime(docs["submitted"], errors="coerce")
    if actors is not None and len(actors) and "actor_id" in actors.columns:
        a = actors.assign(doc_id=actors["doc_id"].astype(str)).drop_duplicates("doc_id").set_index("doc_id")
        docs["actor"] = docs["doc_id"].map(a["actor_id"]).map(_text)
        docs["actor_name"] = docs["doc_id"].map(a["actor_name"]).map(_text) if "actor_name" in a else ""
        if "stakeholder_type" in a.columns:
            docs["stakeholder_type"] = docs["doc_id"].map(a["stakeholder_type"]).fillna(docs["stakeholder_type"])
    else:
        docs["actor"] = ""
        docs["actor_name"] = ""
    # No actor id (no actors table, or a response it could not resolve): the organisation,
    # else the respondent, else the response itself.
    fallback = docs["organisation"].map(organisation_key)
    fallback = fallback.where(fallback != "", docs["respondent"].map(organisation_key))
    fallback = ("org:" + fallback).where(fallback != "", "doc:" + docs["doc_id"])
    docs["actor"] = docs["actor"].where(docs["actor"] != "", fallback)
    name = docs["organisation"].map(_text)
    name = name.where(name != "", docs["respondent"].map(_text))
    docs["actor_name"] = docs["actor_name"].where(docs["actor_name"] != "", name)
    return docs


def combine_runs(runs: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Stack the ``documents``, ``actors`` and ``themes`` tables of several runs (one per
    consultation; each row keeps its ``consultation``) for the functions below.

    ``doc_id`` derives from file content, so the same file in two consultations keeps
    one id; its rows are kept once per consultation through ``documents.consultation``.
    """
    out: dict[str, pd.DataFrame] = {}
    for name in ("documents", "actors", "themes"):
        parts = [r[name] for r in runs if name in r and r[name] is not None]
        if parts:
            out[name] = pd.concat(parts, ignore_index=True)
    if "documents" in out:
        out["documents"] = out["documents"].drop_duplicates(["doc_id", "consultation"])
    return out


def consultation_order(documents: pd.DataFrame) -> list[str]:
    """Consultations by their median submission date (undated last, then by name)."""
    dates = pd.to_datetime(documents["submitted"], errors="coerce")
    med = dates.groupby(documents["consultation"].astype(str)).median()
    return sorted(med.index, key=lambda c: (pd.isna(med[c]), med[c] if pd.notna(med[c]) else 0, c))


def actor_participation(documents: pd.DataFrame, actors: pd.DataFrame | None = None) -> pd.DataFrame:
    """Which actor responded to which consultation.

    Args:
        documents: the ``documents`` table of one or more consultations.
        actors: the ``actors`` table, if any; its ``actor_id`` identifies an actor across
            consultations. Without it the organisation name (normalised) does.

    Returns:
        One row per actor: ``actor``, ``actor_name``, ``stakeholder_type``,
        ``n_consultations``, ``consultations`` (``;``-joined, in date order), then one
        column per consultation with that actor's number of responses. Sorted by
        ``n_consultations`` (most first), then ``actor``.
    """
    docs = _responses(documents, actors)
    order = consultation_order(docs)
    counts = (docs.groupby(["actor", docs["consultation"].astype(str)]).size()
              .unstack(fill_value=0).reindex(columns=order, fill_value=0))
    first = docs.sort_values(["actor", "doc_id"]).drop_duplicates("actor").set_index("actor")
    out = pd.DataFrame({
        "actor": counts.index,
        "actor_name": first.reindex(counts.index)["actor_name"].to_numpy(),
        "stakeholder_type": first.reindex(counts.index)["stakeholder_type"].map(_text).to_numpy(),
        "n_consultations": (counts > 0).sum(axis=1).to_numpy(),
        "consultations": ["; ".join(c for c in order if counts.loc[a, c] > 0) for a in counts.index],
    })
    for c in order:
        out[c] = counts[c].to_numpy().astype(int)
    return out.sort_values(["n_consultations", "actor"], ascending=[False, True]).reset_index(drop=True)


def theme_shares_by_consultation(documents: pd.DataFrame, themes: pd.DataFrame | None,
                                 actors: pd.DataFrame | None = None) -> pd.DataFrame:
    """Share of each consultation's distinct responses by primary theme.

    A response counts once; responses sharing an ``actors.reuse_cluster`` (a campaign)
    count once together, through the first by ``doc_id``. A response with no theme row
    counts under ``none``.

    Returns:
        ``consultation, start, end, midpoint, theme, responses, share, total``, sorted by
        midpoint then theme. ``start``/``end``/``midpoint`` are dates (``NaT`` if undated).
    """
    docs = documents.copy()
    docs["doc_id"] = docs["doc_id"].astype(str)
    docs["consultation"] = docs["consultation"].astype(str)
    docs["submitted"] = pd.to_datetime(docs["submitted"], errors="coerce")
    voice = "doc:" + docs["doc_id"]
    if actors is not None and "reuse_cluster" in actors.columns:
        a = actors.assign(doc_id=actors["doc_id"].astype(str)).drop_duplicates("doc_id").set_index("doc_id")
        cluster = docs["doc_id"].map(a["reuse_cluster"]).map(_text)
        voice = ("cluster:" + cluster).where(cluster != "", voice)
    docs["voice"] = docs["consultation"] + "|" + voice
    docs = docs.sort_values("doc_id", kind="stable").drop_duplicates("voice")
    primary = pd.Series(dtype=object)
    if themes is not None and len(themes):
        t = themes[themes["seg_id"].isna() & themes["is_primary"].astype(bool)]
        primary = t.assign(doc_id=t["doc_id"].astype(str)).drop_duplicates("doc_id").set_index("doc_id")["theme"]
    docs["theme"] = docs["doc_id"].map(primary).map(_text).replace("", NO_THEME)
    span = docs.groupby("consultation")["submitted"].agg(start="min", end="max", midpoint="median")
    totals = docs.groupby("consultation").size()
    counts = docs.groupby(["consultation", "theme"]).size().rename("responses").reset_index()
    counts["total"] = counts["consultation"].map(totals).astype(int)
    counts["share"] = (counts["responses"] / counts["total"]).round(4)
    counts = counts.join(span, on="consultation")
    order = {c: i for i, c in enumerate(consultation_order(documents))}
    counts["_o"] = counts["consultation"].map(order)
    counts = counts.sort_values(["_o", "theme"]).drop(columns="_o")
    return counts[["consultation", "start", "end", "midpoint", "theme", "responses", "share",
                   "total"]].reset_index(drop=True)


def plot_theme_shares(shares: pd.DataFrame, *, title: str = "Theme shares of responses by consultation"):
    """A stacked bar per consultation (in date order) of its responses' primary themes.

    Args:
        shares: the output of :func:`theme_shares_by_consultation`.
        title: the figure title.

    Returns:
        A matplotlib ``Figure`` (Agg backend); the caller saves and closes it, e.g. with
        ``fig.savefig(path, metadata={"Software": None})``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = list(dict.fromkeys(shares["consultation"]))
    pivot = (shares.pivot_table(index="consultation", columns="theme", values="share",
                                aggfunc="sum", fill_value=0.0).reindex(order))
    mid = shares.drop_duplicates("consultation").set_index("consultation")["midpoint"]
    labels = [f"{c}\n{mid[c]:%Y-%m}" if pd.notna(mid.get(c)) else c for c in order]
    # Okabe-Ito palette (colour-blind safe), cycled.
    palette = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
               "#000000", "#999999")
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(order) + 2.5), 3.6))
    bottom = pd.Series(0.0, index=pivot.index)
    for i, theme in enumerate(pivot.columns):
        ax.bar(range(len(order)), pivot[theme], bottom=bottom, label=theme,
               color=palette[i % len(palette)], width=0.6)
        bottom += pivot[theme]
    ax.set_xticks(range(len(order)), labels)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of distinct responses (primary theme)")
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
