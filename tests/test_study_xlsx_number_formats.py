"""Workbook number formats: a number in a percent format is read as the percent Excel shows.

Excel stores a cell typed as ``28%`` as 0.28 with the number format ``0%``; cartkit's percent columns
(transduction_pct, marrow_blasts_pct, a measurement in unit %) are in percent, so the reader
(study/readers.py ``_read_sheet``) takes such a cell as 28 and names it in a warning. Only number
cells are rescaled, each by its own format; a workbook without a percent style is read without looking
at any cell's format.
"""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from openpyxl.cell.read_only import ReadOnlyCell
from test_study_builders import write_study

from cartkit.study.load import load_study
from cartkit.study.problems import WARNING, group_problems
from cartkit.study.readers import PERCENT_CELL_RULE, _percent_powers, _shown_percent, read_xlsx
from cartkit.study.validate import validate_study


def _format(book, sheet: str, column: str, cells: dict[int, object], fmt: str) -> None:
    """Set the given sheet rows of ``column`` to these values, in number format ``fmt``."""
    wb = openpyxl.load_workbook(book)
    ws = wb[sheet]
    j = [c.value for c in ws[1]].index(column) + 1
    for r, v in cells.items():
        ws.cell(r, j).value = v
        ws.cell(r, j).number_format = fmt
    wb.save(book)


def _percent_warnings(problems, column):
    return [(p.file, p.row, p.value) for p in problems if p.rule == PERCENT_CELL_RULE and p.column == column]


def test_a_percent_formatted_column_loads_as_excel_shows_it_with_one_warning_group(tmp_path):
    folder = write_study(tmp_path, fmt="workbook")
    # transduction_pct typed as 40.2%, 35%, 28.5%, 44%: Excel stores the fractions
    _format(folder / "study.xlsx", "infusions", "transduction_pct",
            {2: 0.402, 3: 0.35, 4: 0.285, 5: 0.44}, "0.0%")
    problems = validate_study(folder)
    assert _percent_warnings(problems, "transduction_pct") == [
        ("study.xlsx[infusions]", 2, 0.402), ("study.xlsx[infusions]", 3, 0.35),
        ("study.xlsx[infusions]", 4, 0.285), ("study.xlsx[infusions]", 5, 0.44)]
    assert all(p.severity == WARNING for p in problems if p.rule == PERCENT_CELL_RULE)
    (group,) = [g for g in group_problems(problems) if g.column == "transduction_pct"]
    assert str(group) == ("warning: study.xlsx, sheet 'infusions', column 'transduction_pct': "
                          f"{PERCENT_CELL_RULE} on 4 rows (2, 3, 4, 5) (values 0.402, 0.35, 0.285, 0.44)")
    study = load_study(folder)
    # exactly: 0.285 * 100 is 28.499999999999996 in floating point
    assert study.infusions["transduction_pct"].to_list() == [40.2, 35.0, 28.5, 44.0]
    assert len([w for w in study.warnings if w.rule == PERCENT_CELL_RULE]) == 4


def test_only_the_percent_formatted_cells_of_a_column_are_rescaled_and_blank_ones_stay_blank(tmp_path):
    folder = write_study(tmp_path, fmt="workbook")
    book = folder / "study.xlsx"
    # measurements value: row 3 (CAR-T %, 2.36 %) typed as 2.36%; rows 2 (0.1 %) and 4 (il6) as numbers
    _format(book, "measurements", "value", {3: 0.0236}, "0.00%")
    # assessments: P1's PET row has no marrow_blasts_pct; its blank cell is percent-formatted all the same
    _format(book, "assessments", "marrow_blasts_pct", {2: None}, "0%")
    problems = validate_study(folder)
    assert _percent_warnings(problems, "value") == [("study.xlsx[measurements]", 3, 0.0236)]
    assert _percent_warnings(problems, "marrow_blasts_pct") == []
    study = load_study(folder)
    assert study.measurements["value"].to_list()[:4] == [0.1, 2.36, 150.5, 95.0]  # hb 9.5 g/dL in g/L
    assert study.assessments["marrow_blasts_pct"].to_list() == [None, 1.5]


def _patients_book(path, rows, formats):
    """A patients sheet as a clinician types it; ``formats``: (sheet row, column) -> number format."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "patients"
    for row in rows:
        ws.append(row)
    for (r, c), fmt in formats.items():
        ws.cell(r, c).number_format = fmt
    wb.save(path)
    return path


def test_only_number_cells_are_rescaled_not_text_dates_booleans_or_other_formats(tmp_path):
    header = ["patient_id", "age", "marrow_blasts_pct", "dose_level", "note", "enrolled", "eligible"]
    book = _patients_book(tmp_path / "patients.xlsx", [
        header,
        ["P1", 54, 0.28, "DL2", 28, dt.datetime(2019, 1, 3), True],
        ["P2", 23, "28%", 0.5, 28, dt.datetime(2019, 2, 4), False],
        ["P3", 31, -0.05, None, 0.5, None, None],
    ], {
        (2, 3): "0%", (3, 3): "0%", (4, 3): "0%",  # blasts: a fraction, text typed with its sign, a negative
        (2, 4): "0%", (3, 4): "0%",  # a text column: text stays text, a number is rescaled like any other
        (2, 5): '0" %"', (3, 5): "0\\%", (4, 5): "0.0;-0.0%",  # a quoted or escaped %, a negative-only %
        (2, 7): "0%",  # a boolean in a percent style; the dates keep their date format
    })
    raw, problems = read_xlsx(book, "patients", "patients.xlsx")
    got = raw.frame.drop("__row__").rows()
    assert got == [
        ("P1", "54", "28", "DL2", "28", "2019-01-03", "true"),
        ("P2", "23", "28%", "50", "28", "2019-02-04", "false"),
        ("P3", "31", "-5", None, "0.5", None, None),
    ]
    assert [(p.file, p.row, p.column, p.value, p.severity) for p in problems] == [
        ("patients.xlsx[patients]", 2, "marrow_blasts_pct", 0.28, WARNING),
        ("patients.xlsx[patients]", 3, "dose_level", 0.5, WARNING),
        ("patients.xlsx[patients]", 4, "marrow_blasts_pct", -0.05, WARNING),
    ]


def test_a_duplicate_columns_percent_cells_are_not_reported_as_read(tmp_path):
    book = _patients_book(tmp_path / "patients.xlsx", [
        ["patient_id", "marrow_blasts_pct", "Marrow_Blasts_Pct"],
        ["P1", 28, 0.28],
    ], {(2, 3): "0%"})
    raw, problems = read_xlsx(book, "patients", "patients.xlsx")
    assert raw.frame["marrow_blasts_pct"].to_list() == ["28"]
    assert [p.rule for p in problems] == ["column given twice (first as 'marrow_blasts_pct'); only the first is read"]


@pytest.mark.parametrize(("fmt", "powers"), [
    ("General", (0, 0, 0)), ("0", (0, 0, 0)), ("0.00", (0, 0, 0)), ("mm/dd/yyyy", (0, 0, 0)),
    ("0%", (1, 1, 1)), ("0.00%", (1, 1, 1)), ("#,##0.0%", (1, 1, 1)), ("[Red]0%", (1, 1, 1)),
    ("0%;[Red]-0%", (1, 1, 1)), ('0%;-0%;"nil"', (1, 1, 0)), ("0;-0%", (0, 1, 0)),
    ('0" %"', (0, 0, 0)), ("0\\%", (0, 0, 0)), ("0_%", (0, 0, 0)), ("0*%", (0, 0, 0)),
    ('"%"0', (0, 0, 0)), ("[$%-409]0", (0, 0, 0)), ("0%%", (2, 2, 2)),
])
def test_percent_powers_of_excel_number_formats(fmt, powers):
    assert _percent_powers(fmt) == powers


@pytest.mark.parametrize(("value", "shown"), [
    (0.28, "28"), (0.285, "28.5"), (0.0236, "2.36"), (0.1, "10"), (1, "100"), (12, "1200"),
    (-0.05, "-5"), (0.00001, "0.001"), (0.123456789012345, "12.3456789012345"), (0.2849, "28.49"),
])
def test_shown_percent_is_the_stored_number_times_100_in_decimal(value, shown):
    assert _shown_percent(value, (1, 1, 1)) == shown


def test_shown_percent_leaves_zero_and_unscaled_sections_alone():
    assert _shown_percent(0, (1, 1, 1)) is None
    assert _shown_percent(0.0, (1, 1, 1)) is None
    assert _shown_percent(0.5, (0, 1, 0)) is None
    assert _shown_percent(-0.5, (0, 1, 0)) == "-50"


def test_cell_formats_are_read_only_for_number_cells_and_only_in_a_workbook_with_a_percent_style(
        tmp_path, monkeypatch):
    reads = []
    real = ReadOnlyCell.number_format
    monkeypatch.setattr(ReadOnlyCell, "number_format", property(lambda c: reads.append(c.value) or real.fget(c)))
    rows = [["patient_id", "age", "sex", "weight_kg"], ["P1", 54, "male", 70.5], ["P2", 23, "F", None]]
    plain = _patients_book(tmp_path / "plain.xlsx", rows, {})
    raw, problems = read_xlsx(plain, "patients", "plain.xlsx")
    assert (reads, problems) == ([], [])
    assert raw.frame["weight_kg"].to_list() == ["70.5", None]
    styled = _patients_book(tmp_path / "styled.xlsx", rows, {(3, 4): "0%"})  # a blank cell in a percent style
    raw, problems = read_xlsx(styled, "patients", "styled.xlsx")
    assert sorted(reads) == [23, 54, 70.5]  # the number cells, once each; not the text, blank or header cells
    assert problems == []
    assert raw.frame["weight_kg"].to_list() == ["70.5", None]
