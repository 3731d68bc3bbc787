"""A small synthetic consultation (8 files, six languages) as the stage tables.

Used by the summarize, report and notebook tests so they run without the upstream
stages. Texts are written for these tests. ``hostile=True`` makes two responses open
with spreadsheet formulas and carry HTML that would run script if it were not escaped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.schemas import validate
from pipeline.tables import table_path, write_table

HOSTILE_SCRIPT = "<script>document.title='pwned'</script>"
HOSTILE_IMG = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"

# (file, respondent, organisation, type, country, lang, pages: [[paragraph, ...], ...],
#  themes: {theme: score} with the primary first, subtheme per paragraph index)
RESPONSES = [
    ("us-state.pdf", "Jane Roe", "Department of Commerce", "member_state", "USA", "en", [
        ["Rural broadband remains the main gap in our country. Satellite and fixed wireless "
         "links can reach remote homes at a lower cost than fibre.",
         "Universal service funds should support community networks where operators do not "
         "invest. Spectrum for these networks must be affordable."],
        ["Platforms that offer messaging services raise questions about data protection. "
         "Consumers deserve the same privacy rules whichever service they use."],
    ], {"connectivity": 0.8, "ott": 0.4}),
    ("sn-regulateur.docx", "Awa Diop", "Autorité de régulation des télécommunications",
     "regulator", "SEN", "fr", [
        ["Les zones rurales restent mal desservies par le haut débit. Le partage des "
         "infrastructures entre opérateurs réduit le coût du déploiement.",
         "Les services OTT doivent respecter les règles de protection des consommateurs. "
         "Une coopération entre opérateurs et plateformes est souhaitable."],
    ], {"connectivity": 0.7, "ott": 0.6}),
    ("ar-sociedad.txt", "Lucía Pérez", "Asociación por los Derechos Digitales", "civil_society",
     "ARG", "es", [
        ["Las redes comunitarias conectan a pueblos que los operadores comerciales ignoran. "
         "El Estado debe reservar espectro para estas redes sin fines de lucro.",
         "La pandemia mostró que la conectividad es un servicio esencial para la educación."],
    ], {"connectivity": 0.9, "covid19": 0.5}),
    ("eg-ministry.pdf", "هشام علي", "وزارة الاتصالات", "member_state", "EGY", "ar", [
        ["تواجه المناطق الريفية تحديات كبيرة في الحصول على خدمات النطاق العريض بأسعار معقولة. "
         "وتعمل الوزارة على مد شبكات الألياف الضوئية إلى القرى.",
         "ساعدت الخدمات الرقمية على استمرار التعليم والعمل خلال جائحة كوفيد-19 في جميع المحافظات."],
    ], {"connectivity": 0.75, "covid19": 0.45}),
    ("cn-company.pdf", "王伟", "华通信息技术有限公司", "private_sector", "CHN", "zh", [
        ["数据中心的能耗不断上升，企业应当使用可再生能源来降低碳排放。",
         "电子废物的回收利用需要政府和企业共同努力，建立完善的回收体系。"],
    ], {"environment": 0.85}),
    ("ru-university.pdf", "Иван Петров", "Московский университет связи", "academia", "RUS",
     "ru", [
        ["Центры обработки данных потребляют всё больше электроэнергии, поэтому нужны "
         "новые стандарты энергоэффективности.",
         "Во время пандемии университеты перевели обучение в онлайн, и это потребовало "
         "надёжного доступа к сети."],
    ], {"environment": 0.7, "covid19": 0.6}),
    ("tech-community.html", "Sam Lee", "Open Networks Forum", "technical_community", "CHE",
     "en", [
        ["Internet exchange points keep local traffic local and lower transit costs for "
         "small operators in developing regions.",
         "Energy use of networks can fall when old equipment is replaced with efficient "
         "hardware and when traffic stays local."],
    ], {"connectivity": 0.6, "environment": 0.5}),
]

SUBTHEMES = {  # (theme, subtheme) -> label; paragraphs are assigned below
    ("connectivity", "0"): "rural, broadband, fibre, satellite",
    ("connectivity", "1"): "community networks, spectrum, universal service",
    ("ott", "0"): "privacy, consumers, platforms",
    ("covid19", "0"): "pandemic, education, online",
    ("environment", "0"): "energy, data centres, efficiency",
    ("environment", "1"): "e-waste, recycling",
}

# Paragraph -> (theme, subtheme), by (file, page index, paragraph index).
ASSIGN = {
    ("us-state.pdf", 0, 0): ("connectivity", "0"),
    ("us-state.pdf", 0, 1): ("connectivity", "1"),
    ("us-state.pdf", 1, 0): ("ott", "0"),
    ("sn-regulateur.docx", 0, 0): ("connectivity", "0"),
    ("sn-regulateur.docx", 0, 1): ("ott", "0"),
    ("ar-sociedad.txt", 0, 0): ("connectivity", "1"),
    ("ar-sociedad.txt", 0, 1): ("covid19", "0"),
    ("eg-ministry.pdf", 0, 0): ("connectivity", "0"),
    ("eg-ministry.pdf", 0, 1): ("covid19", "0"),
    ("cn-company.pdf", 0, 0): ("environment", "0"),
    ("cn-company.pdf", 0, 1): ("environment", "1"),
    ("ru-university.pdf", 0, 0): ("environment", "0"),
    ("ru-university.pdf", 0, 1): ("covid19", "0"),
    ("tech-community.html", 0, 0): ("connectivity", "0"),
    ("tech-community.html", 0, 1): ("environment", "0"),
}


def build_tables(*, hostile: bool = False, consultation: str = "synthetic") -> dict[str, pd.DataFrame]:
    """The contract tables of the synthetic consultation, validated."""
    responses = [list(r) for r in RESPONSES]
    if hostile:
        responses[0][6] = [list(p) for p in responses[0][6]]
        responses[0][6][0][0] = ('=HYPERLINK("http://evil.example","click") '
                                 + responses[0][6][0][0] + " " + HOSTILE_SCRIPT)
        responses[6][2] = "@SUM(A1:A9) Open Networks Forum " + HOSTILE_IMG
        responses[6][6] = [list(p) for p in responses[6][6]]
        responses[6][6][0][0] = (HOSTILE_SCRIPT + " " + HOSTILE_IMG + " Internet exchange "
                                 "points keep local traffic local and lower transit costs for "
                                 "small operators in developing regions.")
    manifest, documents, pages, segments, languages, themes, entities = [], [], [], [], [], [], []
    for i, (file, resp, org, stype, country, lang, doc_pages, doc_theme) in enumerate(responses):
        doc_id = f"d{i:02d}"
        sha = f"{i:064x}"
        page_texts = ["\n\n".join(paras) for paras in doc_pages]
        text = "\n\n".join(page_texts)
        manifest.append({"source_path": file, "file_sha256": sha, "consultation": consultation,
                         "status": "ok", "detail": "read", "doc_id": doc_id})
        documents.append({"doc_id": doc_id, "consultation": consultation, "source_path": file,
                          "file_sha256": sha, "respondent": resp, "organisation": org,
                          "stakeholder_type": stype, "country": country,
                          "submitted": "2020-10-01", "n_pages": len(doc_pages),
                          "n_chars": len(text), "text": text})
        languages.append({"doc_id": doc_id, "seg_id": None, "lang": lang, "prob": 0.99,
                          "is_mixed": False})
        for t_i, (theme, score) in enumerate(doc_theme.items()):
            themes.append({"doc_id": doc_id, "seg_id": None, "theme": theme, "score": score,
                           "is_primary": t_i == 0, "subtheme": None})
        offset, seg_id = 0, 0
        for p_i, paras in enumerate(doc_pages):
            pages.append({"doc_id": doc_id, "page_no": p_i + 1, "text": page_texts[p_i]})
            for q_i, para in enumerate(paras):
                start = text.index(para, offset)
                offset = start + len(para)
                segments.append({"doc_id": doc_id, "seg_id": seg_id, "page_no": p_i + 1,
                                 "char_start": start, "char_end": offset, "text": para})
                languages.append({"doc_id": doc_id, "seg_id": seg_id, "lang": lang,
                                  "prob": 0.95, "is_mixed": False})
                theme, sub = ASSIGN[(file, p_i, q_i)]
                themes.append({"doc_id": doc_id, "seg_id": seg_id, "theme": theme,
                               "score": doc_theme[theme] - 0.01 * q_i, "is_primary": False,
                               "subtheme": sub})
                seg_id += 1
    # An exact duplicate of the first response, and three files that could not be read.
    manifest.append({"source_path": "copies/us-state (1).pdf", "file_sha256": f"{0:064x}",
                     "consultation": consultation, "status": "duplicate",
                     "detail": "exact duplicate of us-state.pdf; counted once", "doc_id": "d00"})
    for path, status, detail in [
        ("locked.pdf", "encrypted", "The PDF is password-protected; ask the sender for an "
                                    "unprotected copy."),
        ("broken.docx", "corrupt", "The DOCX is not a valid zip archive; ask for the file again."),
        ("empty.txt", "empty", "The file holds no text."),
    ]:
        manifest.append({"source_path": path, "file_sha256": "f" * 64, "consultation": consultation,
                         "status": status, "detail": detail, "doc_id": None})
    entity_specs = [("d00", 0, "fibre", "TECH", "tech:fibre", "fibre"),
                    ("d00", 0, "Satellite", "TECH", "tech:satellite", "satellite"),
                    ("d01", 1, "OTT", "TECH", "tech:ott", "OTT"),
                    ("d03", 0, "الألياف الضوئية", "TECH", "tech:fibre", "fibre"),
                    ("d04", 1, "电子废物", "TECH", "tech:e-waste", "e-waste"),
                    ("d06", 0, "Internet exchange points", "TECH", "tech:ixp", "IXP")]
    segs = pd.DataFrame(segments)
    for doc_id, seg_id, surface, label, cid, cname in entity_specs:
        seg = segs[(segs["doc_id"] == doc_id) & (segs["seg_id"] == seg_id)].iloc[0]
        pos = seg["text"].find(surface)
        assert pos >= 0, (doc_id, seg_id, surface)
        entities.append({"doc_id": doc_id, "seg_id": seg_id, "char_start": seg["char_start"] + pos,
                         "char_end": seg["char_start"] + pos + len(surface), "text": surface,
                         "label": label, "canonical_id": cid, "canonical_name": cname,
                         "source": "gazetteer"})
    themes_df = pd.DataFrame(themes)
    themes_df["seg_id"] = themes_df["seg_id"].astype("Int64")
    lang_df = pd.DataFrame(languages)
    lang_df["seg_id"] = lang_df["seg_id"].astype("Int64")
    seg_theme = themes_df[themes_df["seg_id"].notna()]
    subthemes = []
    for (theme, sub), label in SUBTHEMES.items():
        members = seg_theme[(seg_theme["theme"] == theme) & (seg_theme["subtheme"] == sub)]
        langs = sorted(lang_df[lang_df["seg_id"].isna() & lang_df["doc_id"].isin(members["doc_id"])]["lang"])
        subthemes.append({"theme": theme, "subtheme": sub, "label": label, "size": len(members),
                          "languages": ";".join(langs)})
    tables = {
        "manifest": pd.DataFrame(manifest),
        "documents": pd.DataFrame(documents),
        "pages": pd.DataFrame(pages),
        "segments": segs,
        "languages": lang_df,
        "entities": pd.DataFrame(entities),
        "themes": themes_df,
        "subthemes": pd.DataFrame(subthemes),
    }
    for name, df in tables.items():
        validate(name, df)
    return tables


STAGE_OF = {"manifest": "ingest", "documents": "ingest", "pages": "ingest", "segments": "ingest",
            "languages": "language", "entities": "entities", "themes": "themes",
            "subthemes": "themes"}


def write_tables(out: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Write the tables where the stages would (``OUT/<stage>/<name>.parquet``)."""
    for name, df in tables.items():
        write_table(table_path(out, STAGE_OF[name], name), df, name=name)
