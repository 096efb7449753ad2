"""Review: a percentage typed into a workbook as Excel shows it ("28%") is read as the fraction 0.28.

Excel stores a cell entered as ``28%`` as the number 0.28 with the number format ``0%``; the cell shows
28%. cartkit's percent columns (marrow_blasts_pct, mrd_pct, transduction_pct, cd19_pct, ...) are in
percent (schema: "marrow blasts %"), and the workbook reader (study/readers.py ``_read_sheet``, openpyxl
``values_only``) drops the number format, so the value loads as 0.28 % with no problem reported. For
B-ALL that moves a marrow across the CR threshold: P8's day-14 marrow of the seed has 28% blasts (NR by
NCCN: CR needs blasts < 5%, b_all.toml); the same marrow entered as 28% in the workbook loads as 0.28 and
``validate`` reports nothing. Expected (the project rule "bad input: a clear located problem, never a
silent change"): either the value Excel shows (28) or a located problem on that cell. Fixed: the
reader takes a percent-formatted number cell as Excel shows it (28) and names the cell in a warning.
"""

from __future__ import annotations

import openpyxl

from cartkit.interop.convert import convert_study
from cartkit.study.load import load_study
from cartkit.study.problems import WARNING
from cartkit.study.validate import validate_study

SEED = __import__("pathlib").Path(__file__).resolve().parents[1] / "examples" / "seed-study"


def _workbook_with_percent_cell(tmp_path):
    out = convert_study(SEED, tmp_path / "wb", "xlsx")
    book = out / "study.xlsx"
    wb = openpyxl.load_workbook(book)
    ws = wb["assessments"]
    col = {c.value: c.column for c in ws[1]}
    target = None
    for row in ws.iter_rows(min_row=2):
        cells = {name: row[j - 1] for name, j in col.items()}
        if (cells["patient_id"].value, cells["episode"].value, cells["day"].value) == ("P8", 1, 14):
            target = cells["marrow_blasts_pct"]
    assert target is not None and target.value == 28  # the seed's value, in percent
    target.value = 0.28  # what Excel stores when "28%" is typed
    target.number_format = "0%"
    wb.save(book)
    return out, target.row


def test_percent_formatted_cell_is_read_as_shown_and_reported(tmp_path):
    folder, sheet_row = _workbook_with_percent_cell(tmp_path)
    problems = validate_study(folder)
    located = [p for p in problems if p.column == "marrow_blasts_pct"]
    # the rescaling is said, at the cell, as a warning (the study still loads)
    assert [(p.file, p.row, p.value, p.severity) for p in located] == [
        ("study.xlsx[assessments]", sheet_row, 0.28, WARNING)]
    assert "percent" in located[0].rule
    study = load_study(folder)
    blasts = study.assessments.filter(
        (study.assessments["patient_id"] == "P8") & (study.assessments["episode"] == 1)
        & (study.assessments["day"] == 14))["marrow_blasts_pct"].to_list()
    assert blasts == [28.0], f"sheet row {sheet_row}: Excel shows 28%, cartkit loaded {blasts}"
    assert [str(w) for w in study.warnings if w.column == "marrow_blasts_pct"] == [str(located[0])]
