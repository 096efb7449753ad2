"""Errors stop the analysis, warnings do not: '<x' laboratory values and blank results (issue 9, item 12)."""

from __future__ import annotations

import polars as pl
import pytest
from test_study_builders import base_tables, write_study
from typer.testing import CliRunner

from cartkit.cli import app
from cartkit.study.load import load_study
from cartkit.study.problems import Problem, StudyError, report_lines
from cartkit.study.validate import validate_study

BLANK = "value is empty and blq is not true: read as not measured, the row is left out"


def _study(tmp_path, mutate, **kw):
    tables = base_tables()
    mutate(tables)
    return write_study(tmp_path, tables, **kw)


# --------------------------------------------------------------------------- '<x'


@pytest.mark.parametrize("fmt", ["csv", "workbook"])
def test_less_than_x_is_below_the_limit_of_quantification(tmp_path, fmt):
    def mutate(t):
        t["measurements"][2].update(value="<5", blq=None)  # il6, pg/mL
        t["measurements"][3].update(value=" < 0.5 ")  # haemoglobin in g/dL: lloq 0.5 g/dL = 5 g/L
        t["measurements"][0].update(value="<.1", blq="yes", lloq="0.1")  # the same limit said twice

    study = load_study(_study(tmp_path, mutate, fmt=fmt))
    assert study.warnings == []
    m = study.measurements
    assert m["value"][2] is None and m["blq"][2] is True and m["lloq"][2] == 5.0
    assert m["value"][3] is None and m["blq"][3] is True and m["lloq"][3] == pytest.approx(5.0)
    assert m["unit"][3] == "g/L"
    assert m["value"][0] is None and m["blq"][0] is True and m["lloq"][0] == pytest.approx(0.1)
    assert any("3 value(s) written '<x' read as below the limit of quantification" in n for n in study.notes)


def test_less_than_x_with_a_decimal_comma(tmp_path):
    folder = write_study(tmp_path)
    rows = base_tables()["measurements"]
    rows[2].update(value="<0,5", blq=None)
    frame = pl.DataFrame(rows).with_columns(pl.all().cast(pl.String))
    (folder / "measurements.csv").write_text(frame.write_csv(separator=";").replace("150.5", "150,5"))
    m = load_study(folder).measurements
    assert (m["value"][2], m["blq"][2], m["lloq"][2]) == (None, True, 0.5)


def test_less_than_x_that_contradicts_blq_or_lloq_is_an_error(tmp_path):
    def mutate(t):
        t["measurements"][2].update(value="<5", blq="no")
        t["measurements"][3].update(value="<0.5", lloq="0.8")

    problems = [p for p in validate_study(_study(tmp_path, mutate)) if p.is_error]
    assert [(p.row, p.column, p.value, p.rule) for p in problems] == [
        (4, "blq", "no", "the value <5 is below the limit of quantification, but blq is not true"),
        (5, "lloq", "0.8", "the value <0.5 gives the limit of quantification, but lloq differs"),
    ]


def test_other_text_is_still_not_a_number(tmp_path):
    problems = validate_study(_study(tmp_path, lambda t: t["measurements"][2].update(value="<five")))
    assert problems == [Problem("measurements.csv", 4, "value", "<five", "not a number")]


# --------------------------------------------------------------------------- blank results


def test_a_blank_result_is_missing_with_a_warning_and_the_study_loads(tmp_path):
    def mutate(t):
        t["measurements"][1].update(value=None)
        t["measurements"][4].update(value="")

    folder = _study(tmp_path, mutate)
    problems = validate_study(folder)
    assert problems == [
        Problem("measurements.csv", 3, "value", None, BLANK, "warning"),
        Problem("measurements.csv", 6, "value", None, BLANK, "warning"),
    ]
    study = load_study(folder)  # warnings alone do not stop the load
    assert study.warnings == problems
    assert study.measurements.height == len(base_tables()["measurements"]) - 2
    assert study.measurements["value"].null_count() == 1  # the blq row only
    assert report_lines(study.warnings) == [
        "Data: measurements.csv, column 'value': " + BLANK + " on 2 rows (3, 6)"
    ]


def test_errors_and_warnings_together_raise_with_both(tmp_path):
    def mutate(t):
        t["measurements"][1].update(value=None)
        t["patients"][0].update(age="old")

    with pytest.raises(StudyError) as info:
        load_study(_study(tmp_path, mutate))
    assert [p.severity for p in info.value.problems] == ["error", "warning"]
    assert [p.rule for p in info.value.errors] == ["not a number"]
    assert str(info.value).startswith("1 error and 1 warning in the study:")
    assert "  - warning: measurements.csv, row 3, column 'value': " + BLANK in str(info.value)


def test_run_counts_errors_and_warnings_apart(tmp_path):
    def mutate(t):
        t["measurements"][1].update(value=None)
        t["patients"][0].update(age="old")

    folder = _study(tmp_path / "study", mutate)
    result = CliRunner().invoke(app, ["run", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "1 error and 1 warning; the study cannot be analysed until the errors are fixed" in result.output
    assert "Traceback" not in result.output


def test_validate_exits_0_with_warnings_only_and_says_so(tmp_path):
    folder = _study(tmp_path, lambda t: t["measurements"][1].update(value=None))
    result = CliRunner().invoke(app, ["validate", str(folder)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "no errors; 1 warning: the study can be analysed, with the caveats above" in result.output
    assert "warning" in result.output and "measurements.csv" in result.output
    assert "read as not measured" in result.output


def test_validate_exits_1_with_errors(tmp_path):
    folder = _study(tmp_path, lambda t: (t["measurements"][1].update(value=None), t["patients"][0].update(sex="?")))
    result = CliRunner().invoke(app, ["validate", str(folder)], env={"COLUMNS": "250"})
    assert result.exit_code == 1
    assert "1 error and 1 warning" in result.output
    assert "the study cannot be analysed until the errors are fixed" in result.output


def test_the_report_lists_the_warnings_of_validation(tmp_path, copy_seed):

    from cartkit.analysis import analyse
    from cartkit.derive import derive

    folder = tmp_path / "seed"
    copy_seed(folder)
    lines = (folder / "measurements.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = lines[5].split(",")
    row[header.index("value")] = ""
    lines[5] = ",".join(row)
    (folder / "measurements.csv").write_text("\n".join(lines) + "\n")
    study = load_study(folder)
    assert [(p.row, p.severity) for p in study.warnings] == [(6, "warning")]
    warnings = analyse(study, derive(study)).tables["warnings"]["text"].to_list()
    assert warnings[0] == f"Data: measurements.csv, row 6, column 'value': {BLANK}"
