"""The report's charts (matplotlib, Agg backend): PNG files with no timestamps.

Each function takes a summary table and the labels of one report language and writes one
PNG; the same table always gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import matplotlib
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pipeline.tables import write_bytes

REGION_ORDER = ("A", "B", "C", "D", "E", "unknown")
# Colour-blind-safe palette (Okabe-Ito), one colour per ITU region.
REGION_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#999999")
DPI = 150

# Figures are made without pyplot (no GUI state, and a third of matplotlib's import
# time); saving a PNG renders with Agg whatever the session's backend.
matplotlib.rcParams.update({
    "font.family": ["DejaVu Sans", "Noto Sans"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "textmine",
})


def _save(fig: Figure, path: Path) -> None:
    buf = io.BytesIO()
    # No "Software"/date metadata: identical input gives an identical file.
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    write_bytes(path, buf.getvalue())


def _empty(path: Path, message: str) -> None:
    fig = Figure(figsize=(6, 1.2))
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    _save(fig, path)


def responses_by_type_region(by_group: pd.DataFrame, path: Path, *,
                             types: Mapping[str, str], regions: Mapping[str, str],
                             axis_label: str) -> None:
    """Horizontal stacked bars: distinct responses per stakeholder type, split by region."""
    if by_group.empty or by_group["responses_distinct"].sum() == 0:
        _empty(path, "-")
        return
    pivot = by_group.pivot_table(index="stakeholder_type", columns="itu_region",
                                 values="responses_distinct", aggfunc="sum", fill_value=0)
    pivot = pivot.loc[pivot.sum(axis=1).sort_values().index]
    cols = [r for r in REGION_ORDER if r in pivot.columns]
    fig = Figure(figsize=(7, 0.45 * len(pivot) + 1.6), layout="constrained")
    ax = fig.subplots()
    left = pd.Series(0, index=pivot.index)
    for region in cols:
        colour = REGION_COLOURS[REGION_ORDER.index(region)]
        ax.barh([types.get(t, t) for t in pivot.index], pivot[region], left=left,
                color=colour, label=regions.get(region, region))
        left = left + pivot[region]
    ax.set_xlabel(axis_label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    # Below the axes, so it never hides a bar.
    fig.legend(frameon=False, loc="outside lower center", ncol=3, fontsize=8)
    _save(fig, path)


def theme_shares_by_type(by_type: pd.DataFrame, path: Path, *, types: Mapping[str, str],
                         themes: Mapping[str, str], theme_ids: list[str]) -> None:
    """Heat map: share of each stakeholder type's responses that address each theme."""
    if by_type.empty:
        _empty(path, "-")
        return
    pivot = by_type.pivot_table(index="stakeholder_type", columns="theme", values="share",
                                aggfunc="sum", fill_value=0.0)
    pivot = pivot[[t for t in theme_ids if t in pivot.columns]]
    sizes = by_type.groupby("stakeholder_type")["group_responses"].max()
    # Same width as the other figures, so all print at one scale in the report.
    fig = Figure(figsize=(7, 0.38 * len(pivot) + 1.8), layout="constrained")
    ax = fig.subplots()
    ax.imshow(pivot.values, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(pivot.columns)), [themes.get(t, t) for t in pivot.columns],
                  rotation=30, ha="right")
    # The group size beside each type: 100% of one response is not 100% of forty.
    ax.set_yticks(range(len(pivot.index)),
                  [f"{types.get(t, t)} (n = {int(sizes.get(t, 0))})" for t in pivot.index])
    for (i, j), value in pd.DataFrame(pivot.values).stack().items():
        if value == 0:
            continue  # empty cells read faster than a grid of "0%"
        ax.text(j, i, f"{value:.0%}", ha="center", va="center",
                color="white" if value > 0.6 else "black", fontsize=7.5)
    ax.spines[:].set_visible(False)
    _save(fig, path)


def responses_by_language(counts: pd.Series, path: Path, *, names: Mapping[str, str],
                          axis_label: str) -> None:
    """Bars: distinct responses per language."""
    if counts.empty:
        _empty(path, "-")
        return
    counts = counts.sort_values(kind="stable")
    fig = Figure(figsize=(7, 0.4 * len(counts) + 1.2))
    ax = fig.subplots()
    ax.barh([names.get(k, k) for k in counts.index], counts.values, color="#0072B2")
    ax.set_xlabel(axis_label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _save(fig, path)
