"""Incremental re-runs of the language and entities stages: a second run with one
document added computes that document only, a changed document or param misses, stale
entries are pruned, and the tables equal an uncached run's."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline import entities as entities_mod
from pipeline import language as language_mod
from pipeline.config import ComputeConfig, Config, load_config

ROOT = Path(__file__).resolve().parents[1]
# Five languages and four formats, small files; the last one is "the new response".
FILES = ("en-01-ministry-kenya.pdf", "fr-02-ministere-cote-divoire.docx", "ru-01-mincom-belarus.pdf",
         "es-05-maestra-rural-argentina.html", "ar-02-tra-uae.pdf")


@pytest.fixture(scope="module")
def tables(sample_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    from pipeline.ingest import ingest_corpus

    corpus = tmp_path_factory.mktemp("cache-stages-corpus")
    for name in FILES:
        shutil.copy2(sample_corpus / name, corpus / name)
    out = ingest_corpus(corpus, _cfg(), cache_dir=tmp_path_factory.mktemp("ingest-cache"))
    out["languages"] = language_mod.detect_languages(out["segments"], out["documents"], _cfg())
    assert out["documents"]["doc_id"].nunique() == len(FILES)
    return out


def _cfg(workers: int = 1, **sections: Any) -> Config:
    base = load_config(ROOT / "params.yaml")
    return dataclasses.replace(base, compute=ComputeConfig(workers=workers), **sections)


def _new_doc(tables: dict[str, pd.DataFrame]) -> str:
    docs = tables["documents"]
    return str(docs.loc[docs["source_path"].str.endswith(FILES[-1]), "doc_id"].iloc[0])


def _without(df: pd.DataFrame, doc_id: str) -> pd.DataFrame:
    return df[df["doc_id"] != doc_id].reset_index(drop=True)


class _Counter:
    """Wraps a stage's per-document function and records the documents it computed."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.docs: list[str] = []

    def __call__(self, item: Any, *args: Any, **kw: Any) -> Any:
        self.docs.append(str(item[0]))
        return self.fn(item, *args, **kw)


def _entries(cache_dir: Path) -> int:
    return sum(1 for _ in cache_dir.rglob("*.pkl"))


# --- entities -----------------------------------------------------------------------------


def _run_entities(monkeypatch: pytest.MonkeyPatch, segments: pd.DataFrame, languages: pd.DataFrame,
                  cfg: Config, cache_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    counter = _Counter(entities_mod._extract_doc_checked)
    # One worker runs in-process, so the counter sees every computed document.
    monkeypatch.setattr(entities_mod, "_extract_doc_checked", counter)
    df = entities_mod.extract_entities(segments, languages, cfg, cache_dir=cache_dir)
    monkeypatch.undo()
    return df, counter.docs


def test_cache_stages_entities_computes_only_the_new_document(
        tables: dict[str, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, cache_dir = _cfg(), tmp_path / "cache" / "entities"
    new = _new_doc(tables)
    segs, langs = tables["segments"], tables["languages"]

    first, computed = _run_entities(monkeypatch, _without(segs, new), _without(langs, new), cfg, cache_dir)
    assert len(computed) == len(FILES) - 1 and new not in computed
    assert _entries(cache_dir) == len(FILES) - 1

    second, computed = _run_entities(monkeypatch, segs, langs, cfg, cache_dir)
    assert computed == [new]
    uncached = entities_mod.extract_entities(segs, langs, cfg)
    assert len(uncached) > 20 and (uncached["doc_id"] == new).any()
    pd.testing.assert_frame_equal(second, uncached)
    pd.testing.assert_frame_equal(first, entities_mod.extract_entities(_without(segs, new),
                                                                        _without(langs, new), cfg))

    # Nothing changed: nothing computed, same table.
    again, computed = _run_entities(monkeypatch, segs, langs, cfg, cache_dir)
    assert computed == []
    pd.testing.assert_frame_equal(again, uncached)

    # An upstream change to one document (a segment's language) misses for that document only.
    seg_rows = langs.index[langs["seg_id"].notna() & (langs["doc_id"] != new)]
    changed = langs.copy()
    changed.loc[seg_rows[0], "lang"] = "zh" if changed.loc[seg_rows[0], "lang"] != "zh" else "en"
    _, computed = _run_entities(monkeypatch, segs, changed, cfg, cache_dir)
    assert computed == [str(changed.loc[seg_rows[0], "doc_id"])]
    # ... and the stale entry of the old version of that document was pruned.
    assert _entries(cache_dir) == len(FILES)


def test_cache_stages_entities_param_change_invalidates(
        tables: dict[str, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "entities"
    segs, langs = tables["segments"], tables["languages"]
    off = _cfg(entities=dataclasses.replace(_cfg().entities, use_models=False))
    _run_entities(monkeypatch, segs, langs, off, cache_dir)
    _, computed = _run_entities(monkeypatch, segs, langs, off, cache_dir)
    assert computed == []
    monkeypatch.setattr(entities_mod, "CODE_VERSION", entities_mod.CODE_VERSION + "-bumped")
    counter = _Counter(entities_mod._extract_doc_checked)
    monkeypatch.setattr(entities_mod, "_extract_doc_checked", counter)
    entities_mod.extract_entities(segs, langs, off, cache_dir=cache_dir)
    monkeypatch.undo()
    assert len(counter.docs) == len(FILES), "a new code version must miss"
    on, computed = _run_entities(monkeypatch, segs, langs, _cfg(), cache_dir)
    assert len(computed) == len(FILES), "use_models changed: every document recomputed"
    assert _entries(cache_dir) == len(FILES), "entries of the old params were not pruned"
    pd.testing.assert_frame_equal(on, entities_mod.extract_entities(segs, langs, _cfg()))


def test_cache_stages_entities_parallel_matches(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    segs, langs = tables["segments"], tables["languages"]
    new = _new_doc(tables)
    cfg2 = _cfg(workers=2, entities=dataclasses.replace(_cfg().entities, use_models=False))
    cache_dir = tmp_path / "entities"
    entities_mod.extract_entities(_without(segs, new), _without(langs, new), cfg2, cache_dir=cache_dir)
    got = entities_mod.extract_entities(segs, langs, cfg2, cache_dir=cache_dir)
    pd.testing.assert_frame_equal(got, entities_mod.extract_entities(segs, langs, _cfg(entities=cfg2.entities)))


# --- language -----------------------------------------------------------------------------


def _run_language(monkeypatch: pytest.MonkeyPatch, segments: pd.DataFrame, documents: pd.DataFrame,
                  cfg: Config, cache_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    counter = _Counter(language_mod.detect_document)
    monkeypatch.setattr(language_mod, "detect_document", counter)
    df = language_mod.detect_languages(segments, documents, cfg, cache_dir=cache_dir)
    monkeypatch.undo()
    return df, counter.docs


def test_cache_stages_language_computes_only_the_new_document(
        tables: dict[str, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, cache_dir = _cfg(), tmp_path / "cache" / "language"
    new = _new_doc(tables)
    segs, docs = tables["segments"], tables["documents"]

    first, computed = _run_language(monkeypatch, _without(segs, new), _without(docs, new), cfg, cache_dir)
    assert sorted(computed) == sorted(d for d in docs["doc_id"] if d != new)
    second, computed = _run_language(monkeypatch, segs, docs, cfg, cache_dir)
    assert computed == [new]
    uncached = language_mod.detect_languages(segs, docs, cfg)
    pd.testing.assert_frame_equal(second, uncached)
    pd.testing.assert_frame_equal(second, tables["languages"])
    pd.testing.assert_frame_equal(first, language_mod.detect_languages(_without(segs, new),
                                                                        _without(docs, new), cfg))

    # One segment's text edited: that document only.
    edited = segs.copy()
    row = edited.index[edited["doc_id"] != new][0]
    edited.loc[row, "text"] = str(edited.loc[row, "text"]) + " (edited)"
    _, computed = _run_language(monkeypatch, edited, docs, cfg, cache_dir)
    assert computed == [str(edited.loc[row, "doc_id"])]

    # A document removed from the corpus: its entry and the edited document's old one go.
    _run_language(monkeypatch, _without(edited, new), _without(docs, new), cfg, cache_dir)
    assert _entries(cache_dir) == len(FILES) - 1


def test_cache_stages_language_param_change_invalidates(
        tables: dict[str, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "language"
    segs, docs = tables["segments"], tables["documents"]
    _run_language(monkeypatch, segs, docs, _cfg(), cache_dir)
    stricter = _cfg(language=dataclasses.replace(_cfg().language, min_prob=0.95))
    got, computed = _run_language(monkeypatch, segs, docs, stricter, cache_dir)
    assert len(computed) == len(FILES)
    pd.testing.assert_frame_equal(got, language_mod.detect_languages(segs, docs, stricter))
    seeded = _cfg(base=dataclasses.replace(_cfg().base, seed=_cfg().base.seed + 1))
    _, computed = _run_language(monkeypatch, segs, docs, seeded, cache_dir)
    assert len(computed) == len(FILES), "base.seed changed: every document recomputed"
    assert _entries(cache_dir) == len(FILES)


# --- themes (the per-document analysis; scoring and sub-themes stay corpus-level) ---------


def _run_themes(monkeypatch: pytest.MonkeyPatch, tables: dict[str, pd.DataFrame], drop: str | None,
                cfg: Config, cache_dir: Path | None) -> tuple[tuple[pd.DataFrame, pd.DataFrame], list[str]]:
    from pipeline import themes as themes_mod

    computed: list[str] = []
    real = themes_mod._analyze_chunk

    def counting(item: Any) -> Any:
        computed.extend(dict.fromkeys(r[0] for r in item[0]))
        return real(item)

    monkeypatch.setattr(themes_mod, "_analyze_chunk", counting)
    t = {k: (_without(v, drop) if drop else v) for k, v in tables.items()}
    out = themes_mod.fit_themes(t["segments"], t["languages"], t["documents"], cfg,
                                corpus=ROOT / "corpora" / "raw" / "sample", cache_dir=cache_dir)
    monkeypatch.undo()
    return out, computed


def test_cache_stages_themes_analyses_only_the_new_document(
        tables: dict[str, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, cache_dir = _cfg(), tmp_path / "cache" / "themes"
    new = _new_doc(tables)
    (first_t, first_s), computed = _run_themes(monkeypatch, tables, new, cfg, cache_dir)
    assert len(computed) == len(FILES) - 1 and new not in computed
    (second_t, second_s), computed = _run_themes(monkeypatch, tables, None, cfg, cache_dir)
    assert computed == [new]
    (plain_t, plain_s), computed = _run_themes(monkeypatch, tables, None, cfg, None)
    assert len(computed) == len(FILES)
    assert (plain_t["doc_id"] == new).any() and plain_t["theme"].nunique() > 1
    pd.testing.assert_frame_equal(second_t, plain_t)
    pd.testing.assert_frame_equal(second_s, plain_s)
    # The seed matcher is cached too, and a second run reads everything from the cache.
    assert any((tmp_path / "cache" / "themes-matcher").rglob("*.pkl"))
    (again_t, _), computed = _run_themes(monkeypatch, tables, None, cfg, cache_dir)
    assert computed == []
    pd.testing.assert_frame_equal(again_t, plain_t)
    assert _entries(cache_dir) == len(FILES)


def test_cache_stages_themes_segment_pickles_round_trip() -> None:
    import pickle
    from collections import Counter

    from pipeline.themes import _Seg

    seg = _Seg("d1", 3, "fr", ["réseau", "accès", "réseau"], ["réseaux", "accès", "Réseau"],
               Counter({4: 2, 9: 1}))
    back = pickle.loads(pickle.dumps(seg))
    assert (back.doc_id, back.seg_id, back.lang, back.keys) == ("d1", 3, "fr", seg.keys)
    assert back.surfaces == {"réseau": Counter({"réseaux": 1, "Réseau": 1}), "accès": Counter({"accès": 1})}
    assert back.concepts == Counter({4: 2, 9: 1})
    # A token that holds the separator falls back to plain lists; no segment has no tokens.
    odd = _Seg("d2", 0, "en", ["a\x1fb"], ["a\x1fb"], Counter())
    assert pickle.loads(pickle.dumps(odd)).keys == ["a\x1fb"]
    empty = pickle.loads(pickle.dumps(_Seg("d3", 0, "zh", [], [], Counter())))
    assert empty.keys == [] and empty.surfaces == {}


# --- actors (typing and MinHash sketches per document; names and reuse stay corpus-level) --


def test_cache_stages_actors_computes_only_the_new_document(
        tables: dict[str, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import actors as actors_mod
    from pipeline import entities as ent

    cfg, cache_dir = _cfg(), tmp_path / "cache" / "actors"
    new = _new_doc(tables)
    entities = ent.extract_entities(tables["segments"], tables["languages"], cfg)
    computed: list[str] = []
    real = actors_mod._work_one

    def counting(item: Any) -> Any:
        computed.append(item[0][:40])
        return real(item)

    def run(drop: str | None, cache: Path | None) -> tuple[pd.DataFrame, pd.DataFrame]:
        computed.clear()
        monkeypatch.setattr(actors_mod, "_work_one", counting)
        t = {k: (_without(v, drop) if drop else v) for k, v in {**tables, "entities": entities}.items()}
        out = actors_mod.resolve_actors(t["documents"], t["segments"], t["languages"], t["entities"], cfg,
                                        cache_dir=cache)
        monkeypatch.undo()
        return out

    run(new, cache_dir)
    assert len(computed) == len(FILES) - 1
    second = run(None, cache_dir)
    assert len(computed) == 1
    plain = run(None, None)
    assert len(computed) == len(FILES)
    assert new in set(plain[0]["doc_id"])
    for got, want in zip(second, plain, strict=True):
        pd.testing.assert_frame_equal(got, want)
    run(None, cache_dir)
    assert computed == [] and _entries(cache_dir) == len(FILES)


def test_cache_stages_themes_per_theme_tasks_match_one_pass(
        tables: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch) -> None:
    """Sub-themes fitted one theme per task (on that theme's segments only, as cached)
    equal those of one pass over all segments."""
    from pipeline import themes as themes_mod

    cfg = _cfg(workers=2)
    corpus = ROOT / "corpora" / "raw" / "sample"
    args = (tables["segments"], tables["languages"], tables["documents"], cfg)
    per_theme = themes_mod.fit_themes(*args, corpus=corpus)
    monkeypatch.setattr(themes_mod, "subthemes_by_theme",
                        lambda segs, by_theme, names, c, cache_dir=None, pool=None:
                        themes_mod._subthemes_all(segs, by_theme, names, c))
    one_pass = themes_mod.fit_themes(*args, corpus=corpus)
    assert per_theme[1]["theme"].nunique() >= 2
    for got, want in zip(per_theme, one_pass, strict=True):
        pd.testing.assert_frame_equal(got, want)
