"""The stability sample of a large theme: drawn by content (whole documents, by a hash of
their id, no seed), so its curve can be kept between runs without changing the tables."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from themes_helpers import serial, tables, with_seed, with_themes

from pipeline import themes as themes_mod
from pipeline.config import Config
from pipeline.subthemes import content_sample, document_hash, sample_rate, small_theme_runs

# Two points inside the connectivity topic (written for this test), in two languages.
POINTS = {
    "remote": {
        "en": [
            "Low earth orbit satellites can bring broadband to remote villages.",
            "Rural schools in mountain areas still lack any internet access.",
            "Satellite terminals and community hotspots connect isolated communities.",
            "The last mile to remote areas is too expensive for fibre.",
        ],
        "fr": [
            "Les satellites en orbite basse peuvent apporter le haut débit aux villages isolés.",
            "Les écoles rurales des zones de montagne n'ont toujours aucun accès à internet.",
            "Les terminaux satellitaires et les points d'accès communautaires relient les communautés isolées.",
            "Le dernier kilomètre vers les zones reculées coûte trop cher pour la fibre.",
        ],
    },
    "spectrum": {
        "en": [
            "The regulator should assign spectrum in the 700 MHz band at reasonable prices.",
            "Licensing fees for telecom operators should reflect the cost of serving poor areas.",
            "Universal service fund contributions must be spent transparently.",
            "Spectrum auctions should carry coverage obligations for broadband licensees.",
        ],
        "fr": [
            "Le régulateur devrait attribuer le spectre de la bande 700 MHz à des prix raisonnables.",
            "Les redevances de licence des opérateurs devraient refléter le coût de desserte des zones pauvres.",
            "Les contributions au fonds de service universel doivent être dépensées en toute transparence.",
            "Les enchères de spectre devraient imposer des obligations de couverture du haut débit.",
        ],
    },
}
MAX_ROWS = 40


def _doc_ids(n: int, *, below: float | None = None, above: float | None = None) -> list[str]:
    """``n`` document ids whose hash is below (or at least) the given rate."""
    out = []
    for i in itertools.count():
        d = f"resp-{i:04d}"
        h = document_hash(d)
        if (below is None or h < below) and (above is None or h >= above):
            out.append(d)
        if len(out) == n:
            return out
    raise AssertionError("unreachable")


def _docs(ids: list[str]) -> list[tuple[str, str, list[str]]]:
    """One response per id: paragraphs of one point in one language, cycling through
    points, languages and sentence pairs (by the id's number) so that responses differ."""
    combos = [
        (point, lang, pair)
        for point, by_lang in POINTS.items()
        for lang, sentences in by_lang.items()
        for pair in itertools.combinations(sentences, 2)
    ]
    docs = []
    for d in ids:
        n = int(d.split("-")[1])  # a response's text follows its id, not its position
        point, lang, pair = combos[(7 * n) % len(combos)]
        other = combos[(7 * n + 1) % len(combos)]
        paras = [" ".join(pair)]
        if other[0] == point and other[1] == lang:
            paras.append(" ".join(other[2]))
        paras.append(" ".join(reversed(pair)))
        docs.append((d, lang, paras))
    return docs


def _cfg() -> Config:
    return with_themes(serial(Config()), max_subthemes=4, stability_runs=3,
                       stability_max_rows=MAX_ROWS)


# --- the sample itself ---------------------------------------------------------------------


def test_subthemes_sample_rate_steps_by_quarter_octaves() -> None:
    assert sample_rate(1500, 1500) == 1.0
    assert sample_rate(1501, 1500) == 2**-0.25
    assert sample_rate(1783, 1500) == 2**-0.25  # 1783 x 0.841 = 1499.3
    assert sample_rate(1784, 1500) == 2**-0.5
    assert sample_rate(3000, 1500) == 0.5
    assert sample_rate(3001, 1500) == 2**-1.25
    assert sample_rate(10506, 1500) == 0.125  # 1313 expected rows; 2 ** -2.75 would give 1562


def test_subthemes_sample_small_theme_is_all_rows() -> None:
    ids = [f"d{i // 3}" for i in range(30)]
    assert content_sample(ids, max_rows=30) == list(range(30))


def test_subthemes_sample_takes_whole_documents_below_the_rate() -> None:
    ids = [f"doc-{i // 4}" for i in range(2000)]  # 500 documents of 4 segments
    rows = content_sample(ids, max_rows=700)
    rate = sample_rate(2000, 700)
    assert rate == 2**-1.75  # 595 rows expected
    picked = {ids[r] for r in rows}
    assert 0 < len(rows) <= 700 and rows == sorted(rows)
    assert picked == {d for d in set(ids) if document_hash(d) < rate}
    assert all(sum(1 for r in rows if ids[r] == d) == 4 for d in picked)


def test_subthemes_sample_changes_only_when_the_new_document_hashes_in() -> None:
    ids = [f"doc-{i // 4}" for i in range(2000)]
    before = {(ids[r], r % 4) for r in content_sample(ids, max_rows=700)}
    rate = sample_rate(2004, 700)
    out, inside = _doc_ids(1, above=rate)[0], _doc_ids(1, below=rate)[0]
    # Documents come sorted by id in a theme; the new one lands in the middle.
    for new, changed in ((out, False), (inside, True)):
        grown = sorted(ids + [new] * 4)
        after = {(grown[r], r - grown.index(grown[r])) for r in content_sample(grown, max_rows=700)}
        assert (after != before) is changed
        assert before <= after and {d for d, _ in after - before} <= {new}


def test_subthemes_sample_overshoot_is_cut_in_hash_order() -> None:
    low = _doc_ids(30, below=0.5)
    high = _doc_ids(30, above=0.5)
    ids = sorted([d for d in low for _ in range(3)] + [d for d in high for _ in range(2)])
    # 150 rows: rate 1/2 keeps the 90 rows of ``low``, more than 75.
    assert sample_rate(150, 75) == 0.5
    rows = content_sample(ids, max_rows=75)
    assert len(rows) == 75
    kept = [ids[r] for r in rows]
    assert set(kept) <= set(low)
    ranked = sorted(low, key=document_hash)
    assert set(ranked[:25]) == set(kept)


# --- the stage: the curve is kept and the tables do not change --------------------------


def _fit(ids: list[str], cfg: Config, cache_dir: Path | None,
         monkeypatch: pytest.MonkeyPatch) -> tuple[pd.DataFrame, pd.DataFrame, list[int]]:
    """Themes tables and the sizes of the rows each stability curve was measured on."""
    measured: list[int] = []
    real = themes_mod.stability_curve

    def counting(x: Any, **kw: Any) -> dict[int, float]:
        measured.append(x.shape[0])
        return real(x, **kw)

    monkeypatch.setattr(themes_mod, "stability_curve", counting)
    segments, languages, documents = tables(_docs(ids))
    out = themes_mod.fit_themes(segments, languages, documents, cfg, corpus=Path("."),
                                cache_dir=cache_dir)
    monkeypatch.undo()
    return out[0], out[1], measured


@pytest.fixture(scope="module")
def corpus_ids() -> dict[str, Any]:
    rate = 0.125  # sample_rate of the ~290 connectivity segments with MAX_ROWS = 40
    base = sorted(_doc_ids(12, below=rate) + _doc_ids(90, above=rate))
    return {"base": base, "outside": _doc_ids(91, above=rate)[-1],
            "inside": _doc_ids(13, below=rate)[-1], "rate": rate}


def test_subthemes_sample_curve_kept_between_runs_gives_the_same_tables(
        corpus_ids: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, cache_dir = _cfg(), tmp_path / "cache" / "themes"
    base = corpus_ids["base"]
    themes, subs, measured = _fit(base, cfg, cache_dir, monkeypatch)
    conn = subs[subs["theme"] == "connectivity"]
    n_conn = int(conn["size"].sum())
    assert sample_rate(n_conn, MAX_ROWS) == corpus_ids["rate"], n_conn
    assert measured and max(measured) <= MAX_ROWS  # the curve saw the sample, not the theme
    assert "the same sample for every seed" in conn["criterion"].iloc[0]
    assert any((tmp_path / "cache" / "themes-stability").rglob("*.pkl"))

    # A response that hashes outside the sample: the theme is refitted, its curve is not.
    grown = sorted(base + [corpus_ids["outside"]])
    cached_t, cached_s, measured = _fit(grown, cfg, cache_dir, monkeypatch)
    assert measured == []
    plain_t, plain_s, measured = _fit(grown, cfg, None, monkeypatch)
    assert measured
    assert int(plain_s.loc[plain_s["theme"] == "connectivity", "size"].sum()) > n_conn
    pd.testing.assert_frame_equal(cached_t, plain_t)
    pd.testing.assert_frame_equal(cached_s, plain_s)

    # One that hashes inside it: the curve is measured again, on the new sample.
    grown = sorted(base + [corpus_ids["inside"]])
    cached_t, cached_s, measured = _fit(grown, cfg, cache_dir, monkeypatch)
    assert len(measured) == 1
    plain_t, plain_s, _ = _fit(grown, cfg, None, monkeypatch)
    pd.testing.assert_frame_equal(cached_t, plain_t)
    pd.testing.assert_frame_equal(cached_s, plain_s)


def test_subthemes_sample_same_seed_same_tables_and_seed_free_sample(
        corpus_ids: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _cfg()
    a = _fit(corpus_ids["base"], cfg, None, monkeypatch)
    b = _fit(corpus_ids["base"], cfg, None, monkeypatch)
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    # Another seed measures its curve on the very same rows.
    c = _fit(corpus_ids["base"], with_seed(cfg, 7), None, monkeypatch)
    assert c[2] == a[2]
    crit = c[1].loc[c[1]["theme"] == "connectivity", "criterion"].iloc[0]
    assert crit.split("; curve measured on ")[1] == (
        a[1].loc[a[1]["theme"] == "connectivity", "criterion"].iloc[0].split("; curve measured on ")[1]
    )


def test_subthemes_small_themes_get_more_resampled_fits():
    # From half of max_rows up, the configured runs; below, in proportion, capped at 5x.
    assert small_theme_runs(10, 750, 1500) == 10
    assert small_theme_runs(10, 5000, 1500) == 10
    assert small_theme_runs(10, 375, 1500) == 20
    assert small_theme_runs(10, 94, 1500) == 50
    assert small_theme_runs(10, 0, 1500) == 10
    sizes = range(1, 800)
    runs = [small_theme_runs(10, n, 1500) for n in sizes]
    assert all(a >= b for a, b in zip(runs, runs[1:], strict=False))  # never more runs for a larger theme
