"""The clinician's workbook (``cartkit template``, issue 11 part 1).

The template is filled here through openpyxl with the seed study's CSV rows, as a data manager would
type them, and must then validate clean, load to the same study as the seed folder, and give the
seed's Table 1 (and, in the slow test, the seed report's Table 1 and Table 2 from the whole
analysis). The validations are read back from the saved file with openpyxl, not from cartkit's own
description of them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from cartkit.cli import app
from cartkit.interop.template import (
    LAST_ROW,
    LISTS_SHEET,
    README_SHEET,
    study_workbook,
    write_template,
)
from cartkit.study import schema
from cartkit.study.load import load_study
from cartkit.study.problems import StudyError
from cartkit.study.readers import read_xlsx
from cartkit.study.schema import BOOL, DATE, FLOAT, INT, TABLES
from cartkit.study.validate import validate_study
from cartkit.study.vocabulary import UNIT_CONVERSIONS, VOCABULARIES

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "seed-study"


def _header(ws) -> dict[str, str]:
    """column name -> column letter, from the sheet's first row."""
    return {c.value: c.column_letter for c in ws[1] if c.value is not None}


def _covering(ws, letter: str):
    """The data validations that cover the column's first and last data cell."""
    return [dv for dv in ws.data_validations.dataValidation
            if f"{letter}2" in dv.sqref and f"{letter}{LAST_ROW}" in dv.sqref]


def _list_values(wb, formula: str) -> list[str]:
    if formula.startswith('"'):
        return formula.strip('"').split(",")
    ref = wb.defined_names[formula].attr_text  # lists!$A$2:$A$42
    sheet, cells = ref.split("!")
    return [row[0].value for row in wb[sheet][cells.replace("$", "")]]


def _seed_rows(name: str) -> pl.DataFrame:
    return pl.read_csv(SEED / f"{name}.csv", infer_schema_length=None, try_parse_dates=True)


def _fill_with_seed(path: Path) -> None:
    """Type the seed's CSV rows into the blank template's sheets, under the template's headers."""
    wb = openpyxl.load_workbook(path)
    for name in TABLES:
        if not (SEED / f"{name}.csv").exists():
            continue
        ws = wb[name]
        letters = _header(ws)
        rows = _seed_rows(name)
        for i, row in enumerate(rows.iter_rows(named=True), start=2):
            for column, value in row.items():
                if value is None:
                    continue
                if isinstance(value, bool):
                    value = "true" if value else "false"  # what one picks from the drop-down
                ws[f"{letters[column]}{i}"] = value
    wb.save(path)


@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("blank") / "records.xlsx"
    write_template(out)
    return out


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """A folder: the template filled with the seed's rows, the seed's study.toml naming it, published.toml."""
    folder = tmp_path_factory.mktemp("filled")
    write_template(folder / "records.xlsx")
    _fill_with_seed(folder / "records.xlsx")
    toml = (SEED / "study.toml").read_text(encoding="utf-8")
    (folder / "study.toml").write_text(toml + '\n[files]\nworkbook = "records.xlsx"\n', encoding="utf-8")
    shutil.copyfile(SEED / "published.toml", folder / "published.toml")
    return folder


def test_every_vocabulary_column_has_a_drop_down_of_its_vocabulary(blank):
    wb = openpyxl.load_workbook(blank)
    checked = 0
    for table in TABLES.values():
        ws = wb[table.name]
        letters = _header(ws)
        assert list(letters) == list(table.column_names)  # the schema's headers, in order, nothing else
        assert ws.freeze_panes == "A2"
        for col in table.columns:
            if col.vocabulary is None and col.dtype != BOOL and (table.name, col.name) != ("measurements", "unit"):
                continue
            lists = [dv for dv in _covering(ws, letters[col.name]) if dv.type == "list"]
            assert len(lists) == 1, (table.name, col.name)
            values = _list_values(wb, lists[0].formula1)
            if col.vocabulary is not None:
                expected = set(VOCABULARIES[col.vocabulary].values())
            elif col.dtype == BOOL:
                expected = {"true", "false"}
            else:
                expected = {u for units in UNIT_CONVERSIONS.values() for u in units}
            assert set(values) == expected and len(values) == len(expected), (table.name, col.name)
            checked += 1
    choice_columns = [c for t in TABLES.values() for c in t.columns if c.vocabulary is not None or c.dtype == BOOL]
    assert checked == len(choice_columns) + 1 > 20  # every one checked, and the unit column
    assert wb[LISTS_SHEET].sheet_state == "hidden"
    assert "list_ae_term" in wb.defined_names  # the AE terms do not fit an inline list


def test_bounded_numbers_and_dates_are_checked(blank):
    wb = openpyxl.load_workbook(blank)
    for table in TABLES.values():
        ws = wb[table.name]
        letters = _header(ws)
        for col in table.columns:
            dvs = _covering(ws, letters[col.name])
            if col.dtype in (INT, FLOAT) and (col.min is not None or col.max is not None):
                (dv,) = dvs
                assert dv.type == ("whole" if col.dtype == INT else "decimal")
                bounds = [float(dv.formula1)] + ([float(dv.formula2)] if dv.formula2 is not None else [])
                assert bounds == [b for b in (col.min, col.max) if b is not None], (table.name, col.name)
            elif col.dtype == DATE:
                (dv,) = dvs
                assert dv.type == "date" and dv.operator == "greaterThanOrEqual"
                assert dv.formula1 == "DATE(1990,1,1)"
    # the value column takes "<5" (below the limit of quantification): no number check on it
    ws = wb["measurements"]
    assert all(dv.type is None for dv in _covering(ws, _header(ws)["value"]))


def test_readme_is_generated_from_the_schema(blank):
    wb = openpyxl.load_workbook(blank)
    cells = [c.value for row in wb[README_SHEET].iter_rows() for c in row if c.value is not None]
    text = "\n".join(str(c) for c in cells)
    assert "Day 0 is the day of the CAR-T infusion of that episode" in text
    assert "Day 0 is the day of the CAR-T infusion of that episode" in schema.__doc__
    for table in TABLES.values():
        assert table.description in text
        for col in table.columns:
            assert col.name in cells
            if col.description:
                assert col.description in cells
    assert "10^9/L, 10^3/uL, cells/uL" in cells  # the accepted units of a blood count


def test_filled_template_validates_clean_and_loads_as_the_seed(filled):
    from cartkit.analysis.baseline import baseline_table

    assert validate_study(filled) == []
    seed, study = load_study(SEED), load_study(filled)
    for name in TABLES:
        assert_frame_equal(study.tables[name], seed.tables[name], check_exact=True)
    plan = seed.plan
    assert_frame_equal(baseline_table(study.patients, plan.diseases, plan.quantile_method),
                       baseline_table(seed.patients, plan.diseases, plan.quantile_method))


@pytest.mark.slow
def test_filled_template_reproduces_the_seed_reports_tables_1_and_2(filled):
    from cartkit.analysis import analyse
    from cartkit.derive import derive

    seed, study = load_study(SEED), load_study(filled)
    expected, got = analyse(seed, derive(seed)), analyse(study, derive(study))
    for name in ("baseline", "adverse_event_incidence"):
        assert got.tables[name].height > 0
        assert_frame_equal(got.tables[name], expected.tables[name])


def test_a_problem_names_the_sheet_row_the_user_sees(filled, tmp_path):
    folder = tmp_path / "s"
    shutil.copytree(filled, folder)
    wb = openpyxl.load_workbook(folder / "records.xlsx")
    ws = wb["patients"]
    sex = _header(ws)["sex"]
    ws[f"{sex}5"] = "unknown"
    wb.save(folder / "records.xlsx")
    with pytest.raises(StudyError) as info:
        load_study(folder)
    (problem,) = [p for p in info.value.errors if p.column == "sex"]
    assert (problem.file, problem.row, problem.value) == ("records.xlsx[patients]", 5, "unknown")
    assert ws[f"A{problem.row}"].value == "P4"  # sheet row 5 is the fourth patient, as the user sees it


def test_formula_text_is_text_and_negative_numbers_stay_numbers(tmp_path):
    patients = pl.DataFrame({"patient_id": ["=1+1", "P2"], "age": [50.0, 61.0], "sex": ["male", "female"],
                             "diagnosis": ["DLBCL", "B-ALL"], "subtype": ["@SUM(A1)", "-3"]})
    events = pl.DataFrame({"patient_id": ["P2"], "kind": ["death"], "episode": [1], "day": [-5]})
    wb = study_workbook({"patients": patients, "events": events})
    wb.save(tmp_path / "w.xlsx")
    back = openpyxl.load_workbook(tmp_path / "w.xlsx")
    ws = back["patients"]
    assert (ws["A2"].value, ws["A2"].data_type, ws["A2"].quotePrefix) == ("=1+1", "s", True)
    subtype = _header(ws)["subtype"]
    assert (ws[f"{subtype}2"].value, ws[f"{subtype}2"].data_type) == ("@SUM(A1)", "s")
    assert ws[f"{subtype}3"].value == "-3" and not ws[f"{subtype}3"].quotePrefix  # a plain number, as text
    ev = back["events"]
    day = ev[f"{_header(ev)['day']}2"]
    assert (day.value, day.data_type) == (-5, "n")
    raw, problems = read_xlsx(tmp_path / "w.xlsx", "patients", "w.xlsx")
    assert problems == [] and raw.frame["patient_id"].to_list() == ["=1+1", "P2"]


def test_never_replaces_a_file_without_force(tmp_path):
    out = tmp_path / "records.xlsx"
    out.write_bytes(b"mine")
    (tmp_path / "study.toml").write_text("[study]\nid = 'mine'\n")
    with pytest.raises(FileExistsError):
        write_template(out)
    assert out.read_bytes() == b"mine"
    written = write_template(out, force=True)
    assert written.study_toml is None  # the folder's own study.toml is kept as it was
    assert (tmp_path / "study.toml").read_text() == "[study]\nid = 'mine'\n"
    assert openpyxl.load_workbook(out).sheetnames[0] == README_SHEET
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.xlsx", "study.toml"]  # no temporary left
    with pytest.raises(ValueError, match="xlsx"):
        write_template(tmp_path / "records.csv")


def test_cli_example_is_a_study_that_validates(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["template", str(tmp_path / "ex" / "seed.xlsx"), "--example"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "ex").iterdir()) == ["published.toml", "seed.xlsx", "study.toml"]
    assert validate_study(tmp_path / "ex") == []
    again = runner.invoke(app, ["template", str(tmp_path / "ex" / "seed.xlsx")])
    assert again.exit_code == 1 and "--force" in again.output
    blank = runner.invoke(app, ["template", str(tmp_path / "new" / "records.xlsx")])
    assert blank.exit_code == 0, blank.output
    problems = validate_study(tmp_path / "new")
    # an empty template is a study with no patients yet: that, and nothing else, is what validate says
    assert {p.rule.split(":")[0] for p in problems} == {"the table has a header but no rows"}


def test_study_toml_of_a_copy_keeps_the_plan_and_replaces_files():
    import tomllib

    from cartkit.interop.study_toml import relocated_study_toml

    text = ('[study]\nid = "x"  # the id\n\n[files]\npatients = "pts.csv"\nworkbook = "old.xlsx"\n\n'
            '[plan]\nalpha = 0.1\n')
    for workbook, files in ((None, None), ("study.xlsx", {"workbook": "study.xlsx"})):
        out = relocated_study_toml(text, workbook=workbook)
        data = tomllib.loads(out)
        assert data.get("files") == files
        assert data["study"] == {"id": "x"} and data["plan"] == {"alpha": 0.1}
        assert "# the id" in out  # comments kept
    with pytest.raises(ValueError, match="files"):
        relocated_study_toml('files = { patients = "pts.csv" }\n[study]\nid = "x"\n')


def test_example_finds_the_seed_study_of_the_current_folder_when_installed(tmp_path, monkeypatch):
    """`pip install .` puts cartkit in site-packages, away from examples/: --example then reads the seed
    study of the checkout it is run from (CI runs the tests that way)."""
    import cartkit.interop.template as template_module

    monkeypatch.setattr(template_module, "__file__", str(tmp_path / "a" / "b" / "c" / "template.py"))
    monkeypatch.chdir(ROOT)
    assert template_module.seed_study_folder() == Path("examples/seed-study").resolve()
    monkeypatch.chdir(tmp_path)
    assert template_module.seed_study_folder() is None
    result = CliRunner().invoke(app, ["template", str(tmp_path / "t.xlsx"), "--example"])
    assert result.exit_code == 1
    assert "run it from the checkout's folder" in result.output
    assert not (tmp_path / "t.xlsx").exists()
