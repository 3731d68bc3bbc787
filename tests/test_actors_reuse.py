"""Text reuse: edited copies are found, independent responses are not, shared passages
and quotations are told apart, Chinese works on characters, and runs are deterministic."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from actors_synth import edit, paragraph, response, tables

from pipeline.actors import resolve_actors
from pipeline.config import ActorsConfig, Config
from pipeline.reuse import guiding_questions


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    rng = random.Random(5)
    texts = {f"base{i:02d}": response(rng) for i in range(12)}
    for kind in ("swap", "reorder", "signature", "all"):
        texts[f"copy-{kind}"] = edit(texts["base00"], rng, kind)
    return texts


@pytest.fixture(scope="module")
def result(corpus: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return resolve_actors(*tables(corpus), Config())


def test_actors_reuse_finds_each_kind_of_edited_copy(result: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    actors, _ = result
    row = actors.set_index("doc_id")
    cluster = row.at["base00", "reuse_cluster"]
    assert cluster and row.at["base00", "reuse_kind"] == "near_duplicate"
    for kind in ("swap", "reorder", "signature", "all"):
        assert row.at[f"copy-{kind}", "reuse_cluster"] == cluster, kind


def test_actors_reuse_leaves_independent_responses_alone(result: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    actors, reuse = result
    others = actors[actors["doc_id"].str.match(r"base(0[1-9]|1\d)")]
    assert others["reuse_cluster"].isna().all()
    assert set(reuse["doc_id"]) == {"base00", "copy-swap", "copy-reorder", "copy-signature", "copy-all"}
    assert len(actors) == 16, "nothing is dropped"


def test_actors_reuse_shared_passage_and_quotation() -> None:
    rng = random.Random(8)
    campaign = paragraph(rng, sentences=4)
    question = guiding_questions()[0] if guiding_questions() else (
        "What stands in the way of connecting remote and under-served places, and what can governments do?")
    texts = {}
    for i in range(3):
        paras = [paragraph(rng) for _ in range(4)]
        # Each response quotes the consultation's question before answering it ...
        paras.insert(0, f"Question 1: {question} Our answer follows in the next paragraphs below.")
        # ... and two of them carry the same campaign paragraph.
        if i < 2:
            paras.insert(2, campaign)
        texts[f"r{i}"] = "\n\n".join(paras)
    actors, reuse = resolve_actors(*tables(texts), Config(actors=ActorsConfig(min_passage_words=12)))
    kinds = reuse.groupby("reuse_cluster")["kind"].first()
    assert "shared_passage" in set(kinds) and "quotation" in set(kinds)
    psg = reuse[reuse["kind"] == "shared_passage"]
    assert set(psg["doc_id"]) == {"r0", "r1"} and psg["shared_text"].iloc[0].startswith(campaign[:40])
    quote = reuse[reuse["kind"] == "quotation"]
    assert set(quote["doc_id"]) == {"r0", "r1", "r2"}
    row = actors.set_index("doc_id")
    assert row.at["r0", "reuse_kind"] == "shared_passage" and pd.isna(row.at["r2", "reuse_cluster"])
    assert not (reuse["kind"] == "near_duplicate").any()


def test_actors_reuse_resolution_text_is_a_quotation() -> None:
    rng = random.Random(9)
    resolution = ("Recalling Resolution 102 (Rev. Dubai, 2018) of the Plenipotentiary Conference, which "
                  "instructs the Secretary-General to continue the work on international Internet-related "
                  "public policy matters and resolves to explore ways to strengthen cooperation.")
    texts = {f"q{i}": "\n\n".join([paragraph(rng), resolution, paragraph(rng)]) for i in range(3)}
    _, reuse = resolve_actors(*tables(texts), Config(actors=ActorsConfig(min_passage_words=12)))
    assert set(reuse["kind"]) == {"quotation"} and reuse["reason"].iloc[0] == "resolution text"


def test_actors_reuse_chinese_uses_character_shingles() -> None:
    base = ("我们认为，农村地区的宽带建设需要政府、运营商和社区共同参与。普遍服务基金应当用于偏远村庄的基站建设，"
            "同时降低终端设备价格，提高居民的数字技能。学校和卫生院应优先接入网络，为远程教育和远程医疗提供保障。"
            "此外，应鼓励基础设施共享，减少重复建设，并支持小型和社区运营商以较低成本提供服务。")
    copy = base.replace("我们认为", "本人认为").replace("基站建设", "铁塔建设")
    other = ("数据中心的能耗正在快速增长，行业需要采用液冷、余热回收和可再生能源。电子废弃物的回收率仍然偏低，"
             "生产者责任延伸制度有待完善。我们建议制定统一的能效标准，并公开主要企业的碳排放数据。")
    meta = {d: {"lang": "zh"} for d in ("a", "b", "c")}
    actors, _ = resolve_actors(*tables({"a": base, "b": copy, "c": other}, meta=meta), Config())
    row = actors.set_index("doc_id")
    assert row.at["a", "reuse_cluster"] == row.at["b", "reuse_cluster"] is not None
    assert pd.isna(row.at["c", "reuse_cluster"])


def test_actors_reuse_is_deterministic(corpus: dict[str, str], result: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    again = resolve_actors(*tables(corpus), Config())
    pd.testing.assert_frame_equal(result[0], again[0])
    pd.testing.assert_frame_equal(result[1], again[1])
    # Input order does not matter either.
    reordered = dict(sorted(corpus.items(), reverse=True))
    third = resolve_actors(*tables(reordered), Config())
    pd.testing.assert_frame_equal(result[0], third[0])
    pd.testing.assert_frame_equal(result[1], third[1])
