"""Small tables for the themes tests: documents, segments and languages built from text."""

from __future__ import annotations

import dataclasses

import pandas as pd

from pipeline.config import Config


def tables(
    docs: list[tuple[str, str, list[str]]],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(segments, languages, documents) from (doc_id, lang, paragraphs) triples."""
    seg_rows, lang_rows, doc_rows = [], [], []
    for doc_id, lang, paras in docs:
        pos = 0
        for i, text in enumerate(paras):
            seg_rows.append(
                {
                    "doc_id": doc_id,
                    "seg_id": i,
                    "page_no": 1,
                    "char_start": pos,
                    "char_end": pos + len(text),
                    "text": text,
                }
            )
            lang_rows.append(
                {"doc_id": doc_id, "seg_id": i, "lang": lang, "prob": 1.0, "is_mixed": False}
            )
            pos += len(text) + 2
        lang_rows.append(
            {"doc_id": doc_id, "seg_id": None, "lang": lang, "prob": 1.0, "is_mixed": False}
        )
        doc_rows.append(
            {"doc_id": doc_id, "source_path": f"{doc_id}.txt", "text": "\n\n".join(paras)}
        )
    languages = pd.DataFrame(lang_rows)
    languages["seg_id"] = languages["seg_id"].astype("Int64")
    return pd.DataFrame(seg_rows), languages, pd.DataFrame(doc_rows)


def with_themes(cfg: Config, **changes: object) -> Config:
    """``cfg`` with some ``themes`` settings changed."""
    return dataclasses.replace(cfg, themes=dataclasses.replace(cfg.themes, **changes))


def with_seed(cfg: Config, seed: int) -> Config:
    return dataclasses.replace(cfg, base=dataclasses.replace(cfg.base, seed=seed))


def serial(cfg: Config) -> Config:
    """One worker: tests stay light on a shared machine."""
    return dataclasses.replace(cfg, compute=dataclasses.replace(cfg.compute, workers=1))
