"""Small synthetic stage tables for the review tests (three responses, two segments each)."""

from __future__ import annotations

import pandas as pd

from pipeline.schemas import validate

DOCS = ("d_aaa", "d_bbb", "d_ccc")
FILES = ("en-01-ministry.pdf", "fr-02-regulateur.pdf", "es-03-empresa.docx")


def synthetic_tables() -> dict[str, pd.DataFrame]:
    """Every reviewed table, valid against its contract."""
    documents = pd.DataFrame({
        "doc_id": list(DOCS),
        "consultation": ["c2020", "c2020", "c2021"],
        "source_path": list(FILES),
        "file_sha256": ["a" * 64, "b" * 64, "c" * 64],
        "respondent": ["Ann", "Benoit", "Carla"],
        "organisation": ["Ministry of ICT", "ARTP", "Redes SA"],
        "stakeholder_type": ["member_state", "NGO", "private_sector"],
        "country": ["KEN", "SEN", "ESP"],
        "submitted": ["2020-10-01", "2020-11-02", "2021-06-03"],
        "n_pages": [1, 1, 1],
        "n_chars": [200, 200, 200],
        "text": ["x", "y", "z"],
    })
    seg_text = {
        ("d_aaa", 0): "Rural broadband needs universal service funds to reach villages.",
        ("d_aaa", 1): "Please call me about my phone bill, it is far too high this month.",
        ("d_bbb", 0): "Les services OTT doivent contribuer au financement des réseaux.",
        ("d_bbb", 1): "La neutralité du réseau protège les utilisateurs et l'innovation.",
        ("d_ccc", 0): "La fibra óptica reduce el consumo de energía de las redes.",
        ("d_ccc", 1): "Los residuos electrónicos deben reciclarse de forma segura.",
    }
    segments = pd.DataFrame({
        "doc_id": [k[0] for k in seg_text],
        "seg_id": [k[1] for k in seg_text],
        "page_no": [1] * 6,
        "char_start": [0, 100] * 3,
        "char_end": [90, 190] * 3,
        "text": list(seg_text.values()),
    })
    lang_of = {"d_aaa": "en", "d_bbb": "fr", "d_ccc": "es"}
    lrows = []
    for d in DOCS:
        lrows.append({"doc_id": d, "seg_id": None, "lang": lang_of[d], "prob": 0.99, "is_mixed": False})
        for s in (0, 1):
            lrows.append({"doc_id": d, "seg_id": s, "lang": lang_of[d], "prob": 0.9, "is_mixed": False})
    languages = pd.DataFrame(lrows).astype({"seg_id": "Int64"})
    entities = pd.DataFrame({
        "doc_id": ["d_aaa", "d_bbb", "d_ccc"], "seg_id": [0, 0, 0], "char_start": [0, 4, 3],
        "char_end": [5, 7, 8], "text": ["Kenya", "OTT", "fibra"], "label": ["COUNTRY", "TECH", "TECH"],
        "canonical_id": ["country:KEN", "tech:ott", "tech:fibre"],
        "canonical_name": ["Kenya", "OTT", "fibre"], "source": ["gazetteer"] * 3,
    })
    actors = pd.DataFrame({
        "doc_id": list(DOCS), "actor_id": ["actor:ict-ke", "actor:artp", "actor:redes"],
        "actor_name": ["Ministry of ICT", "ARTP", "Redes SA"],
        "stakeholder_type": ["member_state", "regulator", "private_sector"],
        "type_source": ["metadata", "text", "metadata"], "type_score": [1.0, 0.7, 1.0],
        "type_evidence": ["metadata.csv", "cue 'autorité de régulation'", "metadata.csv"],
        "country": ["KEN", "SEN", "ESP"], "reuse_cluster": [None, None, None],
    })
    trow = []

    def add(d: str, s: int | None, theme: str, score: float, primary: bool, sub: str | None) -> None:
        trow.append({"doc_id": d, "seg_id": s, "theme": theme, "score": score, "is_primary": primary,
                     "subtheme": sub, "lang": lang_of[d]})

    add("d_aaa", None, "connectivity", 0.8, True, "connectivity.01")
    add("d_aaa", None, "ott", 0.4, False, None)
    add("d_aaa", 0, "connectivity", 0.9, True, "connectivity.01")
    add("d_aaa", 1, "ott", 0.5, True, "ott.02")
    add("d_bbb", None, "ott", 0.9, True, "ott.01")
    add("d_bbb", 0, "ott", 0.9, True, "ott.01")
    add("d_bbb", 1, "ott", 0.7, True, "ott.02")
    add("d_ccc", None, "environment", 0.85, True, "environment.01")
    add("d_ccc", 0, "environment", 0.8, True, "environment.01")
    add("d_ccc", 1, "environment", 0.8, True, "environment.02")
    themes = pd.DataFrame(trow).astype({"seg_id": "Int64", "subtheme": object})
    subthemes = pd.DataFrame({
        "theme": ["connectivity", "environment", "environment", "ott", "ott"],
        "subtheme": ["connectivity.01", "environment.01", "environment.02", "ott.01", "ott.02"],
        "label": ["broadband, rural", "energy, fibre", "e-waste, recycling", "financing, ott",
                  "neutrality, users"],
        "size": [1, 1, 1, 1, 2],
        "languages": ["en", "es", "es", "fr", "en; fr"],
    })
    tables = {"documents": documents, "segments": segments, "languages": languages,
              "entities": entities, "actors": actors, "themes": themes, "subthemes": subthemes}
    for name, df in tables.items():
        validate(name, df)
    return tables
