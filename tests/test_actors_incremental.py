"""Incremental re-runs of the actors stage: with its caches (per-document sketches and the
exact similarities of pairs), adding, changing or removing responses gives exactly the
tables of a run from scratch, and a re-run recomputes only what changed. The vectorised
reuse search (candidate pairs, bucket dedup, components, LSH parameters) is checked
against straightforward reference implementations."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from actors_synth import edit, paragraph, response, swap_words, tables

from pipeline import actors as actors_mod
from pipeline import reuse
from pipeline.config import ComputeConfig, Config
from pipeline.tables import write_table

NEW = "camp045x"  # sorts into the middle of the campaign, so rows after it shift


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    """Independent responses, edited copies of one (a near-duplicate cluster), and a
    campaign of 90 responses that share one paragraph (75 copies of it: more than
    ``max_bucket``, so its buckets are linked as chains) and otherwise differ."""
    rng = random.Random(11)
    texts = {f"base{i:02d}": response(rng) for i in range(10)}
    for kind in ("swap", "reorder", "signature", "all"):
        texts[f"copy-{kind}"] = edit(texts["base00"], rng, kind)
    # Heavier edits: similarities near the near-duplicate threshold, which are checked
    # on the exact shingle sets (and so come from the pair store on a re-run).
    for rate in (0.08, 0.12, 0.16, 0.2, 0.24):
        texts[f"near{rate:.2f}"] = swap_words(texts["base01"], rng, rate=rate)
    shared = paragraph(rng, sentences=4)
    for i in range(90):
        own = [paragraph(rng, sentences=3) for _ in range(2)]
        # Some members edit the shared paragraph a little (near the passage threshold).
        mine = swap_words(shared, rng, rate=0.04 + 0.01 * (i % 5)) if i % 6 == 0 else shared
        texts[f"camp{i:03d}"] = "\n\n".join([own[0], mine, own[1], "Yours faithfully, the campaign"])
    texts[NEW] = "\n\n".join([paragraph(rng), swap_words(shared, rng, rate=0.06),
                               texts["base03"].split("\n\n")[1], "Signed, a newcomer"])
    return texts


def _cfg() -> Config:
    # One worker: documents are computed in this process, where the spy sees them.
    return dataclasses.replace(Config(), compute=ComputeConfig(workers=1))


class _Spy:
    """Counts the documents the stage computes and the exact similarities it computes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.docs: list[str] = []
        self.exact = 0
        work_one, jaccard = actors_mod._work_one, reuse.jaccard

        def counting_work(item: Any) -> Any:
            self.docs.append(item[0])
            return work_one(item)

        def counting_jaccard(a: np.ndarray, b: np.ndarray) -> float:
            self.exact += 1
            return jaccard(a, b)

        monkeypatch.setattr(actors_mod, "_work_one", counting_work)
        monkeypatch.setattr(reuse, "jaccard", counting_jaccard)


def _run(texts: dict[str, str], cache: Path | None, monkeypatch: pytest.MonkeyPatch
         ) -> tuple[tuple[pd.DataFrame, pd.DataFrame], _Spy]:
    with monkeypatch.context() as m:
        spy = _Spy(m)
        out = actors_mod.resolve_actors(*tables(texts), _cfg(), cache_dir=cache)
    return out, spy


def _assert_same(got: tuple[pd.DataFrame, pd.DataFrame], want: tuple[pd.DataFrame, pd.DataFrame],
                 tmp_path: Path) -> None:
    for name, g, w in zip(("actors", "reuse"), got, want, strict=True):
        pd.testing.assert_frame_equal(g, w)
        # Byte-identical tables, as the stage writes them.
        write_table(tmp_path / f"got-{name}.parquet", g)
        write_table(tmp_path / f"want-{name}.parquet", w)
        assert (tmp_path / f"got-{name}.parquet").read_bytes() == (tmp_path / f"want-{name}.parquet").read_bytes()


def test_actors_incremental_rerun_equals_a_run_from_scratch(
        corpus: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache" / "actors"
    before = {d: t for d, t in corpus.items() if d != NEW}
    _, spy = _run(before, cache, monkeypatch)
    assert len(spy.docs) == len(before) and spy.exact > 0

    # One response added: only it is typed and sketched, and only pairs with it are
    # checked exactly; the tables equal those of a run without any cache.
    got, spy = _run(corpus, cache, monkeypatch)
    assert spy.docs == [corpus[NEW]]
    scratch, scratch_spy = _run(corpus, None, monkeypatch)
    assert spy.exact < scratch_spy.exact
    _assert_same(got, scratch, tmp_path)
    reuse_df = scratch[1]
    assert (reuse_df["kind"] == "near_duplicate").any()
    campaign = reuse_df[reuse_df["doc_id"].str.startswith("camp") & (reuse_df["kind"] == "shared_passage")]
    # The chained bucket still joins all exact copies (and the lightly edited ones).
    assert campaign["doc_id"].nunique() >= 80 and NEW in set(campaign["doc_id"])
    assert NEW in set(reuse_df["doc_id"])

    # Nothing new: nothing computed, not even an exact similarity.
    again, spy = _run(corpus, cache, monkeypatch)
    assert spy.docs == [] and spy.exact == 0
    _assert_same(again, scratch, tmp_path)

    # One response edited and one withdrawn.
    changed = {d: t for d, t in corpus.items() if d != "camp010"}
    changed["copy-swap"] = edit(corpus["base00"], random.Random(3), "all")
    got, spy = _run(changed, cache, monkeypatch)
    assert spy.docs == [changed["copy-swap"]]
    _assert_same(got, _run(changed, None, monkeypatch)[0], tmp_path)
    # The pair store holds only this run's pairs; the per-document cache this run's documents.
    assert sum(1 for _ in cache.rglob("*.pkl")) == len(changed)
    assert sum(1 for _ in (tmp_path / "cache" / "actors-pairs").rglob("*.pkl")) == 1


def test_actors_incremental_damaged_pair_store_is_recomputed(
        corpus: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache" / "actors"
    first, _ = _run(corpus, cache, monkeypatch)
    for f in (tmp_path / "cache" / "actors-pairs").rglob("*.pkl"):
        f.write_bytes(f.read_bytes()[:-7] + b"garbage")
    got, spy = _run(corpus, cache, monkeypatch)
    assert spy.docs == [] and spy.exact > 0
    _assert_same(got, first, tmp_path)


def test_actors_incremental_paragraph_order_and_text_dtype_do_not_matter(
        corpus: dict[str, str], tmp_path: Path) -> None:
    documents, segments, languages, entities = tables(corpus)
    want = actors_mod.resolve_actors(documents, segments, languages, entities, _cfg())
    shuffled = segments.sample(frac=1.0, random_state=4).reset_index(drop=True)
    shuffled["text"] = shuffled["text"].astype(object)
    docs = documents.sample(frac=1.0, random_state=5).reset_index(drop=True)
    got = actors_mod.resolve_actors(docs, shuffled, languages, entities, _cfg())
    _assert_same(got, want, tmp_path)


# --- the vectorised reuse search against reference implementations -------------------------


def _reference_candidates(sigs: np.ndarray, *, threshold: float, margin: float, max_bucket: int,
                          groups: list[str] | None) -> list[tuple[int, int, float]]:
    """Banding the plain way: one dict of buckets per band, keyed by the band's values."""
    n, k = sigs.shape
    bands, rows = reuse.lsh_params(max(0.1, threshold * 0.7), k)
    valid = [not np.all(sigs[r] == reuse._MAX32) for r in range(n)]
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        buckets: dict[bytes, list[int]] = {}
        for r in range(n):
            if valid[r]:
                buckets.setdefault(sigs[r, band * rows:(band + 1) * rows].tobytes(), []).append(r)
        for members in buckets.values():
            if len(members) <= max_bucket:
                pairs.update((a, b) for x, a in enumerate(members) for b in members[x + 1:])
            else:
                pairs.update(zip(members[:-1], members[1:], strict=True))
    out = []
    for i, j in sorted(pairs):
        if groups is not None and groups[i] == groups[j]:
            continue
        est = float(np.mean(sigs[i] == sigs[j]))
        if est >= threshold - margin:
            out.append((i, j, est))
    return out


def _planted_signatures(seed: int) -> tuple[np.ndarray, list[str]]:
    """Random signatures with planted copies: a big bucket (90 equal rows), small clusters
    of light variants, empty rows (all-max) and unrelated rows."""
    rng = np.random.default_rng(seed)
    k = 32
    base = rng.integers(0, 2**32 - 1, size=(40, k), dtype=np.uint64)
    rows = [base[0]] * 90
    for c in range(1, 20):
        for _ in range(int(rng.integers(2, 8))):
            row = base[c].copy()
            flip = rng.random(k) < rng.uniform(0.0, 0.5)
            row[flip] = rng.integers(0, 2**32 - 1, size=int(flip.sum()), dtype=np.uint64)
            rows.append(row)
    rows += [np.full(k, reuse._MAX32, dtype=np.uint64)] * 3
    rows += list(rng.integers(0, 2**32 - 1, size=(60, k), dtype=np.uint64))
    order = rng.permutation(len(rows))
    sigs = np.array(rows, dtype=np.uint64)[order]
    groups = [f"g{int(x)}" for x in rng.integers(0, 50, size=len(rows))]
    return sigs, groups


@pytest.mark.parametrize(("threshold", "max_bucket", "use_groups"),
                         [(0.7, 64, False), (0.5, 64, True), (0.7, 3, False), (0.3, 8, True)])
def test_reuse_candidate_arrays_match_plain_banding(threshold: float, max_bucket: int, use_groups: bool) -> None:
    sigs, groups = _planted_signatures(7)
    g = groups if use_groups else None
    want = _reference_candidates(sigs, threshold=threshold, margin=0.12, max_bucket=max_bucket, groups=g)
    got = reuse.candidate_pairs(sigs, threshold=threshold, margin=0.12, max_bucket=max_bucket, groups=g)
    assert len(want) > 100 and got == want


def test_reuse_repeated_bucket_check_survives_fingerprint_collisions(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every fingerprint equal, only the member-by-member check tells buckets apart."""
    sigs, _ = _planted_signatures(8)
    want = reuse.candidate_pairs(sigs, threshold=0.5, margin=0.12, max_bucket=5)
    monkeypatch.setattr(reuse, "_row_tags", lambda n: np.zeros(n, dtype=np.int64))
    assert reuse.candidate_pairs(sigs, threshold=0.5, margin=0.12, max_bucket=5) == want


def test_reuse_components_match_union_find() -> None:
    rng = np.random.default_rng(3)
    for n, m in ((1, 0), (50, 0), (200, 150), (500, 2000), (300, 60)):
        i = rng.integers(0, n, size=m)
        j = rng.integers(0, n, size=m)
        uf = reuse.UnionFind(n)
        for a, b in zip(i.tolist(), j.tolist(), strict=True):
            uf.union(a, b)
        got = [g.tolist() for g in reuse.groups_of(reuse.components(n, i, j))]
        assert got == uf.groups()


def test_reuse_confirm_arrays_checks_only_pairs_near_the_threshold() -> None:
    i, j = np.array([0, 0, 1, 2]), np.array([1, 2, 3, 3])
    est = np.array([0.95, 0.75, 0.65, 0.40])
    asked: list[tuple[int, int]] = []

    def exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        asked.extend(zip(a.tolist(), b.tolist(), strict=True))
        return np.array([0.69, 0.72, 0.10])[: len(a)]

    ki, kj, sim = reuse.confirm_arrays(i, j, est, threshold=0.7, margin=0.12, exact=exact)
    assert asked == [(0, 2), (1, 3), (2, 3)]
    assert list(zip(ki.tolist(), kj.tolist(), sim.tolist(), strict=True)) == [(0, 1, 0.95), (1, 3, 0.72)]


def test_reuse_lsh_params_match_datasketch() -> None:
    from datasketch.lsh import _optimal_param

    for num_perm in (32, 64, 128):
        for threshold in [round(0.1 + 0.04 * s, 2) for s in range(21)] + [0.35, 0.7 * 0.7]:
            assert reuse.lsh_params(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5), \
                (threshold, num_perm)
