"""The French draft gives the reasons a file could not be read in French.

The English reasons are the sentences the ingestion stage writes into the manifest; the
French ones come from ``pipeline/data/report/strings.yaml``. Broken files are made here
and ingested for real, so a reworded ingestion message shows up as an untranslated one.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pikepdf
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_fixture import build_tables  # noqa: E402

from pipeline.config import ComputeConfig, Config, ReportConfig  # noqa: E402
from pipeline.report import _Text, build_blocks  # noqa: E402
from pipeline.summarize import summarize  # noqa: E402

FR = _Text("fr")


def _pdf_bytes(*, password: str | None = None) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    buf = io.BytesIO()
    pdf.save(buf, encryption=pikepdf.Encryption(user=password, owner=password + "-owner")
             if password else False)
    return buf.getvalue()


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> pd.DataFrame:
    from pipeline.ingest import ingest_corpus

    corpus = tmp_path_factory.mktemp("broken") / "corpus"
    corpus.mkdir()
    files = {
        "empty.pdf": b"",
        "page.pdf": b"<!DOCTYPE html><html><body><p>Error 404: not found</p></body></html>\n" * 3,
        "archive.pdf": _zip_bytes({"a.txt": b"one", "b.txt": b"two"}),
        "truncated.pdf": _pdf_bytes()[:300],
        "locked.pdf": _pdf_bytes(password="secret"),
        "note.docx": b"just some text, not a Word file\n",
        "ok.txt": b"A response that can be read, long enough to be a paragraph of its own.\n",
    }
    for name, data in files.items():
        (corpus / name).write_bytes(data)
    cfg = Config(compute=ComputeConfig(workers=1))
    manifest = ingest_corpus(corpus, cfg, cache_dir=tmp_path_factory.mktemp("cache"))["manifest"]
    return manifest[~manifest["status"].isin(["ok", "ocr", "duplicate"])]


def test_report_french_reasons_translate_every_ingestion_message(ingested):
    assert len(ingested) == 6, ingested[["source_path", "status", "detail"]].to_string()
    for row in ingested.itertuples():
        french = FR.reason(row.detail)
        assert not french.startswith("Message d'origine"), (row.source_path, row.detail)
        assert french.startswith(("Le ", "L'", "La ")), french
        assert not {"respondent", "file", "which", "ask"} & set(french.replace(";", " ").split()), french


def test_report_french_reasons_keep_the_variable_parts():
    detail = ("PDF is damaged or truncated and cannot be read (Failed to load document "
              "(PDFium: Data format error).); ask the respondent to send the file again.")
    assert FR.reason(detail) == ("Le PDF est endommagé ou tronqué et ne peut pas être lu (Failed to load "
                                 "document (PDFium: Data format error).) ; demander au répondant de "
                                 "renvoyer le fichier.")
    zipped = ("file is named .pdf but is really ZIP archive, which is not read; unpack it and put "
              "the documents it holds into the corpus folder.")
    assert FR.reason(zipped) == ("Le fichier porte l'extension .pdf mais son contenu est de type archive "
                                 "ZIP, qui n'est pas lu ; le décompresser et placer les documents qu'il "
                                 "contient dans le dossier du corpus.")
    slow = ("reading the file took longer than ingest.timeout_s=120 s and was stopped; check the "
            "file by hand or raise the limit.")
    assert "ingest.timeout_s=120 s" in FR.reason(slow)


def test_report_french_reasons_show_an_unknown_message_in_english():
    assert FR.reason("Something new went wrong.") == (
        "Message d'origine (en anglais) : Something new went wrong.")
    assert _Text("en").reason("Something new went wrong.") == "Something new went wrong."


def test_report_french_draft_lists_reasons_in_french_and_english_draft_verbatim():
    tables = build_tables()
    manifest = tables["manifest"].copy()
    detail = "PDF is protected by a user password; ask the respondent for an unprotected copy."
    manifest.loc[manifest["source_path"] == "locked.pdf", "detail"] = detail
    summaries = summarize({**tables, "manifest": manifest},
                          Config(report=ReportConfig(languages=("en", "fr"))))

    def unread_rows(lang: str) -> dict[str, str]:
        blocks = build_blocks(summaries, lang, {})
        table = next(b for b in blocks if b["kind"] == "table" and len(b["header"]) == 3
                     and b["rows"] and b["rows"][0][0] in set(manifest["source_path"]))
        return {row[0]: row[2] for row in table["rows"]}

    assert unread_rows("en")["locked.pdf"] == detail
    assert unread_rows("fr")["locked.pdf"] == (
        "Le PDF est protégé par un mot de passe ; demander au répondant une copie non protégée.")
