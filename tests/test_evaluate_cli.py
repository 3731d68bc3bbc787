"""``textmine language`` then ``textmine evaluate`` on tables written to a folder: the
report is JSON with a flat summary, printed, and the languages table is byte-stable."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipeline.cli import main
from pipeline.tables import table_path, write_table

TEXTS = {
    "resp/fr.txt": ("d1", "fr", [
        "Nous estimons que le service universel doit financer l'accès au haut débit dans les zones rurales.",
        "Page 2",
    ]),
    "resp/es.txt": ("d2", "es", [
        "Consideramos que el servicio universal debe financiar el acceso a la banda ancha en las zonas rurales.",
    ]),
    "resp/zh.txt": ("d3", "zh", ["我们认为普遍服务基金应当用于资助农村地区的宽带接入和本地技术人员的培训。"]),
}


def _write_ingest(out: Path) -> None:
    manifest, documents, segments = [], [], []
    for path, (doc_id, _, paras) in TEXTS.items():
        manifest.append({"source_path": path, "file_sha256": doc_id, "consultation": "t",
                         "status": "ok", "detail": "", "doc_id": doc_id})
        text = "\n\n".join(paras)
        documents.append({"doc_id": doc_id, "consultation": "t", "source_path": path,
                          "file_sha256": doc_id, "respondent": "", "organisation": "",
                          "stakeholder_type": "", "country": "", "submitted": "", "n_pages": 1,
                          "n_chars": len(text), "text": text})
        for i, p in enumerate(paras):
            segments.append({"doc_id": doc_id, "seg_id": i, "page_no": 1, "char_start": 0,
                             "char_end": len(p), "text": p})
    for name, rows in (("manifest", manifest), ("documents", documents), ("segments", segments)):
        write_table(table_path(out, "ingest", name), pd.DataFrame(rows), name=name)


def test_evaluate_cli_runs_language_then_writes_the_report(tmp_path, capsys):
    out = tmp_path / "out"
    _write_ingest(out)
    params = tmp_path / "params.yaml"
    params.write_text("base:\n  seed: 42\ncompute:\n  workers: 1\n", encoding="utf-8")
    gold = tmp_path / "gold.csv"
    rows = [f"{p},{lang},other" for p, (_, lang, _) in TEXTS.items()] + ["resp/missing.pdf,en,other"]
    gold.write_text("source_path,lang,themes\n" + "\n".join(rows) + "\n", encoding="utf-8")

    assert main(["language", "--out", str(out), "--params", str(params)]) == 0
    first = table_path(out, "language", "languages").read_bytes()
    assert main(["language", "--out", str(out), "--params", str(params)]) == 0
    assert table_path(out, "language", "languages").read_bytes() == first

    metrics = tmp_path / "evaluation.json"
    code = main(["evaluate", "--out", str(out), "--gold", str(gold), "--metrics", str(metrics),
                 "--params", str(params)])
    assert code == 0
    report = json.loads(metrics.read_text(encoding="utf-8"))
    assert report["summary"]["doc_lang_accuracy"] == 1.0
    assert report["summary"]["n_matched_documents"] == 3.0
    assert report["disagreements"] == [
        {"file": "resp/missing.pdf", "field": "document", "expected": "in manifest", "got": "not in manifest"}
    ]
    assert "doc_lang_accuracy: 1.0" in capsys.readouterr().out
