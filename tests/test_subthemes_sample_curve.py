"""A large theme's stability curve is measured on a seeded sample of whole documents and
kept between runs: adding a response outside the sample refits without re-measuring it,
and the result equals a run from scratch."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline import themes as themes_mod
from pipeline.config import ComputeConfig, load_config
from pipeline.themes import _Seg, _stability_rows, subthemes_by_theme

ROOT = Path(__file__).resolve().parents[1]
TOPICS = [
    ["fibre", "backbone", "rural", "tower", "spectrum", "satellite"],
    ["privacy", "data", "consent", "breach", "encryption", "tracking"],
    ["school", "teacher", "remote", "learning", "pupil", "lesson"],
]


def _doc(doc_id: str, rng: random.Random, n: int = 4) -> list[_Seg]:
    segs = []
    for seg_id in range(n):
        topic = TOPICS[rng.randrange(len(TOPICS))]
        keys = [rng.choice(topic) for _ in range(8)] + [f"w{rng.randrange(40)}"]
        segs.append(_Seg(doc_id, seg_id, "en", keys, keys, Counter()))
    return segs


def _cfg(max_rows: int) -> Any:
    base = load_config(ROOT / "params.yaml")
    themes = dataclasses.replace(base.themes, stability_max_rows=max_rows, stability_runs=3,
                                 max_subthemes=4, min_subtheme_size=3)
    return dataclasses.replace(base, compute=ComputeConfig(workers=1), themes=themes)


def _run(segs: list[_Seg], cfg: Any, cache_dir: Path | None) -> pd.DataFrame:
    rows, seg_sub = subthemes_by_theme(segs, {"ott": list(range(len(segs)))}, None, cfg,
                                       cache_dir=cache_dir)
    df = pd.DataFrame(rows)
    df["members"] = str(sorted(seg_sub.items()))
    return df


def test_stability_rows_are_whole_documents_drawn_by_id() -> None:
    rng = random.Random(1)
    segs = [s for d in range(30) for s in _doc(f"d{d:02d}", rng)]
    rows = _stability_rows(segs, range(len(segs)), max_rows=40, seed=42)
    assert len(rows) == 40
    docs = Counter(segs[i].doc_id for i in rows)
    assert sum(1 for n in docs.values() if n < 4) <= 1  # at most the last document is cut
    # The draw follows the documents' ids, not their positions.
    shuffled = segs[4:] + segs[:4]
    again = _stability_rows(shuffled, range(len(shuffled)), max_rows=40, seed=42)
    key = lambda ss, rr: sorted((ss[i].doc_id, ss[i].seg_id) for i in rr)  # noqa: E731
    assert key(shuffled, again) == key(segs, rows)
    other_seed = _stability_rows(segs, range(len(segs)), max_rows=40, seed=43)
    assert key(segs, other_seed) != key(segs, rows)
    assert _stability_rows(segs, range(10), max_rows=40, seed=42) == list(range(10))


@pytest.mark.parametrize("drawn", [False, True])
def test_new_response_refits_without_remeasuring_unless_drawn(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, drawn: bool) -> None:
    cfg = _cfg(max_rows=40)
    rng = random.Random(7)
    old = [s for d in range(30) for s in _doc(f"d{d:02d}", rng)]
    sample_docs = {old[i].doc_id for i in _stability_rows(old, range(len(old)), max_rows=40, seed=42)}
    # A new document id that the seeded draw puts inside (or outside) the sample.
    for n in range(1000):
        new = _doc(f"new{n}", random.Random(n))
        grown = old + new
        got = {grown[i].doc_id for i in _stability_rows(grown, range(len(grown)), max_rows=40, seed=42)}
        if (f"new{n}" in got) == drawn:
            break
    else:  # pragma: no cover
        pytest.fail("no suitable document id")
    assert (got - {f"new{n}"}) <= sample_docs

    calls: list[int] = []
    real = themes_mod.stability_curve
    monkeypatch.setattr(themes_mod, "stability_curve",
                        lambda x, **kw: calls.append(x.shape[0]) or real(x, **kw))
    cache_dir = tmp_path / "cache" / "themes"
    _run(old, cfg, cache_dir)
    assert calls == [40]
    incremental = _run(grown, cfg, cache_dir)
    assert len(calls) == (2 if drawn else 1)
    scratch = _run(grown, cfg, None)
    pd.testing.assert_frame_equal(incremental, scratch)
    assert "seeded sample of 40" in scratch["criterion"].iloc[0]
