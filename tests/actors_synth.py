"""Synthetic responses and edited copies, for the actors tests and the reuse benchmark.

Texts are random sentences over a fixed vocabulary (seeded), so two independent texts
share almost no word pairs, while an edited copy keeps most of its source's.
"""

from __future__ import annotations

import random

_VOCAB = (
    "access affordable backbone broadband capacity citizens coverage data deployment digital "
    "economy education energy fibre framework funding governance infrastructure innovation "
    "investment licensing local market mobile network operators policy price private public "
    "regional regulation rural satellite security services skills spectrum standards "
    "sustainable telecommunication traffic training universal users wireless community "
    "exchange cooperation consumer content development emergency environment health platform "
    "privacy resilience schools transparency trust women youth agriculture cloud devices "
    "efficiency emissions experience farmers hospitals incentives literacy measures outages "
    "partnership planning programme research rights sharing small towers villages workforce"
).split()
_GLUE = "the of and to in for with on by that this our we should can must will are is a".split()
_NAMES = ("Amina Diallo", "Carlos Ruiz", "Mei Lin", "Olga Petrova", "John Smith", "Fatima Zahra",
          "Pierre Martin", "Ana Costa", "Kofi Mensah", "Lena Schmidt")


def sentence(rng: random.Random, *, words: int = 14) -> str:
    out = []
    for i in range(words):
        out.append(rng.choice(_GLUE) if i % 3 == 1 else rng.choice(_VOCAB))
    return out[0].capitalize() + " " + " ".join(out[1:]) + "."


def paragraph(rng: random.Random, *, sentences: int = 4) -> str:
    return " ".join(sentence(rng, words=rng.randint(10, 18)) for _ in range(sentences))


def response(rng: random.Random, *, paragraphs: int = 6, signer: str | None = None) -> str:
    """A synthetic response: paragraphs separated by blank lines, then a signature."""
    body = [paragraph(rng, sentences=rng.randint(3, 5)) for _ in range(paragraphs)]
    body.append(f"Yours faithfully, {signer or rng.choice(_NAMES)}")
    return "\n\n".join(body)


def swap_words(text: str, rng: random.Random, *, rate: float = 0.05) -> str:
    """Replace about ``rate`` of the words by other words (light edits)."""
    words = text.split(" ")
    for i in range(len(words)):
        if rng.random() < rate:
            words[i] = rng.choice(_VOCAB)
    return " ".join(words)


def reorder_paragraphs(text: str, rng: random.Random) -> str:
    paras = text.split("\n\n")
    body, sig = paras[:-1], paras[-1:]
    rng.shuffle(body)
    return "\n\n".join(body + sig)


def change_signature(text: str, rng: random.Random) -> str:
    paras = text.split("\n\n")
    name = rng.choice(_NAMES)
    return "\n\n".join(paras[:-1] + [f"Submitted by {name}, on behalf of the Coalition for {rng.choice(_VOCAB)}"])


def edit(text: str, rng: random.Random, kind: str) -> str:
    """One kind of edit: ``swap``, ``reorder``, ``signature`` or ``all`` of them."""
    if kind == "swap":
        return swap_words(text, rng)
    if kind == "reorder":
        return reorder_paragraphs(text, rng)
    if kind == "signature":
        return change_signature(text, rng)
    if kind == "all":
        return change_signature(reorder_paragraphs(swap_words(text, rng, rate=0.03), rng), rng)
    raise ValueError(f"unknown edit {kind!r}; allowed: swap, reorder, signature, all")


def tables(texts: dict[str, str], *, meta: dict[str, dict[str, str | None]] | None = None):  # type: ignore[no-untyped-def]
    """documents, segments, languages and entities tables for ``{doc_id: text}``."""
    import pandas as pd

    meta = meta or {}
    docs, segs = [], []
    for d, text in texts.items():
        m = meta.get(d, {})
        docs.append({"doc_id": d, "consultation": "synthetic", "source_path": f"{d}.txt", "file_sha256": d,
                     "respondent": m.get("respondent"), "organisation": m.get("organisation"),
                     "stakeholder_type": m.get("stakeholder_type"), "country": m.get("country"),
                     "submitted": m.get("submitted"), "n_pages": 1, "n_chars": len(text), "text": text})
        pos = 0
        for i, para in enumerate(text.split("\n\n")):
            start = text.index(para, pos)
            segs.append({"doc_id": d, "seg_id": i, "page_no": 1, "char_start": start,
                         "char_end": start + len(para), "text": para})
            pos = start + len(para)
    documents = pd.DataFrame(docs)
    segments = pd.DataFrame(segs)
    languages = pd.DataFrame({"doc_id": list(texts), "seg_id": pd.array([None] * len(texts), dtype="Int64"),
                              "lang": [meta.get(d, {}).get("lang") or "en" for d in texts],
                              "prob": 1.0, "is_mixed": False})
    entities = pd.DataFrame(columns=["doc_id", "seg_id", "char_start", "char_end", "text", "label",
                                     "canonical_id", "canonical_name", "source"])
    return documents, segments, languages, entities
