"""Problem floods: repeated problems are grouped, the full list goes to a CSV on request (issue 9, item 13)."""

from __future__ import annotations

import csv

import pytest
from test_study_builders import base_tables, write_study
from typer.testing import CliRunner

from cartkit.cli import app
from cartkit.study.load import load_study
from cartkit.study.problems import (
    PROBLEMS_CSV_HEADER,
    Problem,
    StudyError,
    group_problems,
    write_problems_csv,
)
from cartkit.study.validate import validate_study

N_DUPLICATES = 20_000


@pytest.fixture(scope="module")
def flooded(tmp_path_factory):
    """The small study with its measurements repeated until 20,000 rows duplicate earlier ones."""
    tables = base_tables()
    rows = tables["measurements"]
    tables["measurements"] = rows + [dict(rows[i % len(rows)]) for i in range(N_DUPLICATES)]
    return write_study(tmp_path_factory.mktemp("flood"), tables)


def test_duplicates_are_one_group_with_the_count_and_first_rows(flooded):
    problems = validate_study(flooded)
    assert len(problems) == N_DUPLICATES
    (group,) = group_problems(problems)
    assert group.count == N_DUPLICATES
    assert group.rows == [9, 10, 11, 12, 13]  # lines 2-8 are the originals
    assert group.rows_text() == f"9, 10, 11, 12, 13 and {N_DUPLICATES - 5:,} more"
    key = "patient_id, episode, analyte, day, time"
    assert str(group) == (
        f"measurements.csv, column '{key}': e.g. row 9: duplicate key ({key}): same as row 2 "
        f"on {N_DUPLICATES:,} rows (9, 10, 11, 12, 13 and {N_DUPLICATES - 5:,} more) "
        "(values 'P1, 1, car_t_pct_cd3, 0, (empty)', 'P1, 1, car_t_pct_cd3, 7, (empty)', "
        "'P1, 1, il6, 14, (empty)', 'P1, 2, hemoglobin, 14, (empty)', 'P2, 1, anc, 4, (empty)', ...)"
    )


def test_validate_prints_a_short_summary_and_writes_the_full_list(flooded, tmp_path):
    out = tmp_path / "problems.csv"
    result = CliRunner().invoke(app, ["validate", str(flooded), "--problems-csv", str(out)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert len(result.output.splitlines()) < 25, result.output
    assert f"{N_DUPLICATES:,} errors (1 kind(s))" in result.output
    assert f"wrote {N_DUPLICATES:,} problem(s) to {out}" in result.output
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == PROBLEMS_CSV_HEADER
    assert len(rows) == N_DUPLICATES + 1
    assert rows[1][:5] == ["error", "measurements.csv", "", "9", "patient_id, episode, analyte, day, time"]


def test_the_study_error_message_is_grouped(flooded):
    with pytest.raises(StudyError) as info:
        load_study(flooded)
    assert len(info.value.problems) == N_DUPLICATES
    assert len(str(info.value).splitlines()) == 2


def test_groups_keep_files_columns_rules_and_severities_apart():
    problems = [
        Problem("a.csv", 2, "x", "1", "bad"),
        Problem("a.csv", 3, "x", "1", "bad"),
        Problem("a.csv", 4, "y", "1", "bad"),
        Problem("b.csv", 2, "x", "1", "bad"),
        Problem("a.csv", 5, "x", None, "other"),
        Problem("a.csv", 6, "x", None, "bad", "warning"),
        Problem("a.csv", 7, "x", "1", "bad"),
    ]
    groups = group_problems(problems)
    assert [(g.file, g.column, g.rule, g.severity, g.count, g.rows) for g in groups] == [
        ("a.csv", "x", "bad", "error", 3, [2, 3, 7]),
        ("a.csv", "y", "bad", "error", 1, [4]),
        ("b.csv", "x", "bad", "error", 1, [2]),
        ("a.csv", "x", "other", "error", 1, [5]),
        ("a.csv", "x", "bad", "warning", 1, [6]),  # warnings after errors
    ]
    assert groups[0].values == ["1"]
    assert str(groups[-1]) == "warning: a.csv, row 6, column 'x': bad"


def test_the_problems_csv_neutralises_formulas_and_keeps_foreign_files(tmp_path):
    problems = [
        Problem("measurements.csv", 2, "patient_id", '=HYPERLINK("http://x","y")', "unknown patient: not in patients"),
        Problem("measurements.csv", 3, "value", -20.0, "@impossible"),
        Problem("study.xlsx[patients]", 4, "sex", "+1", "unknown sex value", "warning"),
    ]
    out = write_problems_csv(problems, tmp_path / "p.csv")
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[1][5] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert rows[2][5:] == ["-20.0", "'@impossible"]  # numbers are left alone
    assert rows[3][:6] == ["warning", "study.xlsx", "patients", "4", "sex", "+1"]
    write_problems_csv(problems[:1], out)  # a list cartkit wrote is replaced
    assert len(out.read_text().splitlines()) == 2
    thesis = tmp_path / "thesis.csv"
    thesis.write_text("chapter,page\n1,2\n")
    with pytest.raises(FileExistsError):
        write_problems_csv(problems, thesis)
    assert thesis.read_text() == "chapter,page\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv", "thesis.csv"]  # no temporary left


def test_validate_refuses_a_problems_csv_inside_the_study_or_over_a_user_file(tmp_path):
    folder = write_study(tmp_path / "study")
    before = sorted(p.name for p in folder.iterdir())
    result = CliRunner().invoke(app, ["validate", str(folder), "--problems-csv", str(folder / "p.csv")])
    assert result.exit_code == 1 and "inside the study folder" in result.output
    assert sorted(p.name for p in folder.iterdir()) == before
    notes = tmp_path / "notes.csv"
    notes.write_text("mine\n")
    result = CliRunner().invoke(app, ["validate", str(folder), "--problems-csv", str(notes)])
    assert result.exit_code == 1 and "not a problems list written by cartkit" in result.output
    assert notes.read_text() == "mine\n"
