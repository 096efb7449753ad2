"""Dates flagged where they are: implausible dates, dates after the data cut-off, follow-up events
before their infusion; workbook problems name the sheet; the AE-term rule says how to add a term
(issue 9, item 14)."""

from __future__ import annotations

import datetime as dt

import pytest
from test_study_builders import base_tables, write_study

from cartkit.study.coerce import EARLIEST_PLAUSIBLE_DATE
from cartkit.study.load import load_study
from cartkit.study.problems import Problem
from cartkit.study.validate import validate_study
from cartkit.study.vocabulary import AE_TERMS

TODAY = dt.date(2026, 1, 15)
IMPLAUSIBLE = "implausible date: a CAR-T study record is dated between 1990-01-01 and today (2026-01-15)"


def _mutated(mutate):
    tables = base_tables()
    mutate(tables)
    return tables


def check(tmp_path, mutate, fmt="csv"):
    return validate_study(write_study(tmp_path, _mutated(mutate), fmt=fmt), today=TODAY)


@pytest.mark.parametrize("fmt", ["csv", "workbook"])
@pytest.mark.parametrize("date", ["1900-01-01", "2999-12-31", "1989-12-31"])
def test_an_implausible_infusion_date_is_one_problem_on_the_infusion_row(tmp_path, fmt, date):
    problems = check(tmp_path, lambda t: t["infusions"][0].update(infusion_date=date), fmt=fmt)
    file = "infusions.csv" if fmt == "csv" else "study.xlsx[infusions]"
    assert problems == [Problem(file, 2, "infusion_date", date, IMPLAUSIBLE)]


def test_the_plausible_window_ends_today_and_starts_in_1990(tmp_path):
    assert EARLIEST_PLAUSIBLE_DATE == dt.date(1990, 1, 1)
    ok = check(tmp_path / "a", lambda t: t["infusions"][0].update(infusion_date="1990-01-01"))
    assert not [p for p in ok if p.rule.startswith("implausible")]
    problems = check(tmp_path / "b", lambda t: t["events"][0].update(date="2026-01-16"))
    assert Problem("events.csv", 2, "date", "2026-01-16", IMPLAUSIBLE) in problems


def test_an_implausible_measurement_date_is_flagged_once_where_it_is(tmp_path):
    problems = check(tmp_path, lambda t: t["measurements"][2].update(date="1900-01-01"))
    assert problems == [Problem("measurements.csv", 4, "date", "1900-01-01", IMPLAUSIBLE)]


def test_a_date_after_the_data_cutoff_is_flagged_wherever_it_is(tmp_path):
    def mutate(t):
        t["measurements"][2].update(date="2020-09-10")  # a date written
        t["measurements"][3].update(day=500)  # P1 episode 2 infused 2019-05-02: day 500 is 2020-09-13
        t["adverse_events"][0].update(onset_day=700)  # P1 episode 1 infused 2019-01-10 + 700 days
        t["support"][0].update(day=None, date="2021-01-01")

    problems = check(tmp_path, mutate)
    assert problems == [
        Problem("measurements.csv", 4, "date", "2020-09-10", "after the data cut-off 2020-08-31"),
        Problem("measurements.csv", 5, "day", 500,
                "day 500 of episode 2 is 2020-09-13, after the data cut-off 2020-08-31"),
        Problem("support.csv", 2, "date", "2021-01-01", "after the data cut-off 2020-08-31"),
        Problem("adverse_events.csv", 2, "onset_day", 700,
                "onset day 700 of episode 1 is 2020-12-10, after the data cut-off 2020-08-31"),
    ]


def test_an_infusion_after_the_data_cutoff_is_flagged_on_its_row(tmp_path):
    problems = check(tmp_path, lambda t: t["infusions"][1].update(infusion_date="2020-09-30"))
    assert Problem("infusions.csv", 3, "infusion_date", "2020-09-30", "after the data cut-off 2020-08-31") in problems


def test_follow_up_events_before_their_infusion_are_warnings(tmp_path):
    def mutate(t):
        t["events"][1].update(day=-5)  # P2 relapse counted from episode 2 (infused 2019-06-15)
        t["events"].append({"patient_id": "P1", "kind": "progression", "date": "2018-12-01"})

    folder = write_study(tmp_path, _mutated(mutate))
    problems = validate_study(folder, today=TODAY)
    assert problems == [
        Problem("events.csv", 5, "date", "2018-12-01",
                "progression before the patient's first infusion (2019-01-10): no endpoint counts it; "
                "follow-up events start at an infusion", "warning"),
        Problem("events.csv", 3, "day", -5,
                "relapse on day -5, before the infusion of episode 2 (2019-06-15) it is counted from; the "
                "survival analysis places it by its date, in the follow-up of the episode before", "warning"),
    ]
    study = load_study(folder)
    assert len(study.warnings) == 2


def test_workbook_problems_name_the_sheet_and_the_sheet_row(tmp_path):
    import openpyxl

    tables = base_tables()
    tables["patients"][1]["sex"] = "x"
    folder = write_study(tmp_path, tables, fmt="xlsx")
    wb = openpyxl.load_workbook(folder / "patients.xlsx")
    wb["patients"].title = "Sheet1"
    wb.save(folder / "patients.xlsx")
    (p,) = validate_study(folder)
    assert (p.file, p.row) == ("patients.xlsx[Sheet1]", 3)
    assert str(p).startswith("patients.xlsx, sheet 'Sheet1', row 3, column 'sex': unknown sex value")


def test_the_ae_term_rule_lists_every_term_and_says_how_to_add_one(tmp_path):
    problems = check(tmp_path, lambda t: t["adverse_events"][0].update(term="hiccups"))
    (p,) = [p for p in problems if p.column == "term"]
    assert "..." not in p.rule
    listed = p.rule.split("allowed: ", 1)[1].split(". To use another term")[0].split(", ")
    assert set(AE_TERMS) | {"hypogammaglobulinemia"} == set(listed)
    assert 'add it to the [plan] of study.toml: extra_ae_terms = ["your term"]' in p.rule


def test_an_event_day_out_of_range_is_one_error_not_also_a_warning(tmp_path):
    # P2's relapse counted from episode 2 (infused 2019-06-15), dated 2019-03-01: day -106
    problems = check(tmp_path, lambda t: t["events"][1].update(day=None, date="2019-03-01"))
    assert [(p.row, p.column, p.severity, p.rule.split(";")[0]) for p in problems] == [
        (3, "date", "error", "day out of range: must be between -60 and 36500"),
    ]


def test_an_extra_text_column_named_date_is_not_read_as_a_date(tmp_path, copy_seed):
    """A table whose schema has no date keeps an extra 'DATE' column as text; the death-order and
    cut-off rules must not compare it with dates (hypothesis found an internal error here)."""
    import csv

    study = tmp_path / "study"
    copy_seed(study)
    path = study / "adverse_events.csv"
    rows = list(csv.reader(path.open(newline="")))
    rows[0].append("DATE")
    for row in rows[1:]:
        row.append("not a date")
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    problems = validate_study(study)
    assert [p for p in problems if p.severity == "error"] == []
    assert not any("internal error" in p.rule for p in problems)
