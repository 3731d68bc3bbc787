"""The review workbook: export, fill in with openpyxl, import into review.yaml; invalid
cells are all reported by sheet, row and column."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from review_fixture import synthetic_tables

from pipeline.config import Config
from pipeline.review import ReviewError, apply_review, export_workbook, import_workbook, load_review

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "corpora" / "raw" / "sample" / "review.yaml"


@pytest.fixture()
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "review.xlsx"
    export_workbook(synthetic_tables(), path, Config())
    return path


def _fill(path: Path, cells: dict[str, dict[tuple[str, str], object]], target: Path) -> None:
    """cells: sheet -> {(row key, column name): value}; the row key is the first column."""
    wb = load_workbook(path)
    for sheet, values in cells.items():
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        for (key, col), value in values.items():
            row = next(r for r in range(2, ws.max_row + 1)
                       if str(ws.cell(r, 1).value) == key or
                       f"{ws.cell(r, 1).value}#{ws.cell(r, 3).value}" == key)
            ws.cell(row, header.index(col) + 1, value)
    wb.save(target)


def test_review_workbook_layout(workbook: Path) -> None:
    wb = load_workbook(workbook)
    assert wb.sheetnames == ["instructions", "responses", "quotes", "themes", "subthemes", "actors"]
    for ws in wb:
        assert ws.freeze_panes == "A2"
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"formula in {ws.title}!{cell.coordinate}"
    header = [c.value for c in wb["responses"][1]]
    for col in ("doc_id", "file", "stakeholder_type", "type_score", "type_evidence", "country",
                "language", "primary_theme", "theme_score", "theme_evidence",
                "decision_stakeholder_type", "decision_exclude", "decision_reason"):
        assert col in header
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in wb["responses"].iter_rows(min_row=2, values_only=True)}
    assert rows["d_bbb"]["primary_theme"] == "ott" and rows["d_bbb"]["stakeholder_type"] == "regulator"
    assert rows["d_bbb"]["theme_evidence"].startswith("segment 0: Les services OTT")
    assert all(v is None for r in rows.values() for k, v in r.items() if k.startswith("decision_"))


def test_review_workbook_round_trip(workbook: Path, tmp_path: Path) -> None:
    filled = tmp_path / "filled.xlsx"
    _fill(workbook, {
        "responses": {("d_bbb", "decision_stakeholder_type"): "civil society",
                      ("d_ccc", "decision_country"): "ury",
                      ("d_ccc", "decision_primary_theme"): "connectivity",
                      ("d_aaa", "decision_exclude"): "out of scope",
                      ("d_aaa", "decision_reason"): "a complaint about a phone bill"},
        "quotes": {("d_bbb#1", "decision_reject_quote"): "yes",
                   ("d_bbb#0", "decision_theme"): "connectivity"},
        "themes": {("environment", "decision_rename_to"): "climate"},
        "subthemes": {("ott", "decision_label"): "who pays for networks"},
        "actors": {("d_ccc", "decision_actor_id"): "actor:artp"},
    }, filled)
    review = tmp_path / "review.yaml"
    shutil.copy(TEMPLATE, review)
    n = import_workbook(filled, review, reviewer="Ann Analyst", on="2026-11-27")
    text = review.read_text(encoding="utf-8")
    assert text.startswith(TEMPLATE.read_text(encoding="utf-8")), "the template's comments are kept"
    decisions = load_review(review).decisions
    assert n == len(decisions) == 9
    kinds = [d.kind for d in decisions]
    assert kinds[-1] == "exclude_response" and kinds[-2] == "rename_theme"
    assert {"set_stakeholder_type", "set_country", "move_response", "reject_quote", "move_segment",
            "rename_subtheme", "merge_actors"} <= set(kinds)
    assert all(d.by == "Ann Analyst" and d.on == "2026-11-27" for d in decisions)
    by_kind = {d.kind: d for d in decisions}
    assert by_kind["set_country"].fields == {"document": "es-03-empresa.docx", "country": "URY"}
    assert by_kind["exclude_response"].reason == "a complaint about a phone bill"
    assert by_kind["move_response"].fields["from"] == "environment"
    # The imported file applies cleanly to the tables it was exported from.
    out, table = apply_review(synthetic_tables(), load_review(review), Config())
    assert (table["status"] == "applied").all(), table[["kind", "effect"]].to_string()
    assert "climate" in set(out["themes"]["theme"])
    # A second import appends after the first, keeping it.
    assert import_workbook(filled, review, reviewer="Bo", on="2026-11-28") == 9
    assert len(load_review(review)) == 18


def test_review_workbook_invalid_cells_are_all_named(workbook: Path, tmp_path: Path) -> None:
    filled = tmp_path / "bad.xlsx"
    _fill(workbook, {
        "responses": {("d_bbb", "decision_stakeholder_type"): "NGO",
                      ("d_ccc", "decision_country"): "Spain",
                      ("d_aaa", "decision_exclude"): "out of scope",
                      ("d_aaa", "decision_language"): "english"},
        "quotes": {("d_bbb#1", "decision_reject_quote"): "maybe"},
        "themes": {("ott", "decision_rename_to"): "Platforms & OTT"},
    }, filled)
    review = tmp_path / "review.yaml"
    with pytest.raises(ReviewError) as err:
        import_workbook(filled, review, reviewer="Ann", on="2026-11-27")
    msg = str(err.value)
    assert "6 invalid cell(s)" in msg
    assert "sheet 'responses', row 3, column O (decision_stakeholder_type): 'NGO' is not allowed; " \
           "allowed values: academia, civil_society" in msg
    assert "sheet 'responses', row 4, column P (decision_country): 'Spain'" in msg
    assert "sheet 'responses', row 2, column Q (decision_language): 'english'" in msg
    assert "sheet 'responses', row 2, column T (decision_reason): a reason is required" in msg
    assert "sheet 'quotes', row 5, column I (decision_reject_quote): 'maybe' is not yes or no" in msg
    assert "sheet 'themes', row 4, column E (decision_rename_to): 'Platforms & OTT'" in msg
    assert not review.exists(), "nothing is written when a cell is invalid"


def test_review_workbook_needs_a_reviewer(workbook: Path, tmp_path: Path) -> None:
    with pytest.raises(ReviewError, match="--reviewer"):
        import_workbook(workbook, tmp_path / "review.yaml", reviewer=None)
    assert import_workbook(workbook, tmp_path / "review.yaml", reviewer="Ann") == 0
