"""A centre's own headers, codes and wide tables, through study.toml alone (issue 11 item 4).

Each study here is a copy of the seed whose files a centre could have written: its own headers
("Patient No.", "Age (years)"), its own codes (sex as M/W: W is not a spelling cartkit knows), and
IL-6 (and CRP) written one column per day. With the mappings in study.toml it loads to the seed
study itself, table by table; without them it does not load. Problems name the centre's headers,
rows and files; each bad mapping is a located problem.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pyreadstat
import pytest
from polars.testing import assert_frame_equal

from cartkit.study.column_mapping import WIDE_ROW_BASE
from cartkit.study.load import load_study
from cartkit.study.problems import errors
from cartkit.study.schema import TABLES
from cartkit.study.validate import validate_study

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "seed-study"

PATIENT_HEADERS = {"patient_id": "Patient No.", "age": "Age (years)", "sex": "Sex", "diagnosis": "Diagnosis"}
INFUSION_HEADERS = {"patient_id": "Patient No.", "episode": "Infusion", "infusion_date": "Date of infusion"}
SEX_CODES = {"male": "M", "female": "W"}  # "W" (weiblich): a code cartkit's vocabulary does not know

MAPPINGS = """
[columns.patients]
patient_id = "Patient No."
age = "Age (years)"
sex = "Sex"
diagnosis = "Diagnosis"

[columns.infusions]
patient_id = "Patient No."
episode = "Infusion"
infusion_date = "Date of infusion"

[values.sex]
M = "male"
W = "female"
"""


@pytest.fixture(scope="module")
def seed():
    return load_study(SEED)


def _same_study(a, b) -> None:
    assert a.meta == b.meta and a.plan == b.plan
    for name in TABLES:
        assert b.tables[name].columns == a.tables[name].columns, name
        # the long rows made from wide columns come after the file's own rows
        assert_frame_equal(b.tables[name], a.tables[name], check_exact=True,
                           check_row_order=name != "measurements")


def _read(folder: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(folder / f"{name}.csv", infer_schema=False)


def _wide(measurements: pl.DataFrame, analyte: str, header: str) -> pl.DataFrame:
    """One row per patient and episode, one column per day: ``header`` with {day} filled in."""
    rows = measurements.filter(pl.col("analyte") == analyte)
    wide = rows.pivot(on="day", index=["patient_id", "episode"], values="value")
    return wide.rename({c: header.replace("{day}", c) for c in wide.columns if c not in ("patient_id", "episode")})


def _centre_copy(tmp_path: Path, wide_toml: str, *, wide_in: str = "file") -> Path:
    """The seed with the centre's headers and sex codes, IL-6 (and, in infusions, CRP) written wide."""
    folder = tmp_path / "study"
    shutil.copytree(SEED, folder)
    patients = _read(folder, "patients").with_columns(pl.col("sex").replace(SEX_CODES))
    patients.rename(PATIENT_HEADERS).write_csv(folder / "patients.csv")
    m = _read(folder, "measurements")
    il6 = _wide(m, "il6", "IL6_d{day}")
    infusions = _read(folder, "infusions")
    if wide_in == "file":
        m.filter(pl.col("analyte") != "il6").write_csv(folder / "measurements.csv")
        il6.rename({"patient_id": "Patient", "episode": "Infusion no."}).write_csv(folder / "il6.csv")
    else:  # extra columns of the infusions table: IL-6 on days 0 to 28, CRP on day -5
        crp = _wide(m, "crp", "CRP d{day}")
        m.filter(~pl.col("analyte").is_in(["il6", "crp"])).write_csv(folder / "measurements.csv")
        infusions = infusions.join(il6, on=["patient_id", "episode"], how="left", maintain_order="left")
        infusions = infusions.join(crp, on=["patient_id", "episode"], how="left", maintain_order="left")
    infusions.rename(INFUSION_HEADERS).write_csv(folder / "infusions.csv")
    with (folder / "study.toml").open("a", encoding="utf-8") as fh:
        fh.write(MAPPINGS + wide_toml)
    return folder


WIDE_FILE = """
[wide.measurements]
file = "il6.csv"
patient_id = "Patient"
episode = "Infusion no."
columns = [{ pattern = "IL6_d{day}", analyte = "il6", unit = "pg/mL" }]
"""

WIDE_IN_INFUSIONS = """
[wide.measurements]
table = "infusions"

[[wide.measurements.columns]]
pattern = "IL6_d{day}"
analyte = "IL-6"
unit = "pg/mL"

[[wide.measurements.columns]]
pattern = "CRP d{day}"
analyte = "crp"
unit = "mg/L"
"""


def _without_mappings(folder: Path) -> None:
    text = (folder / "study.toml").read_text(encoding="utf-8")
    (folder / "study.toml").write_text(text[: text.index("[columns.patients]")], encoding="utf-8")


def test_centre_copy_with_a_wide_file_loads_to_the_seed(seed, tmp_path):
    folder = _centre_copy(tmp_path, WIDE_FILE)
    study = load_study(folder)
    _same_study(seed, study)
    assert "il6.csv" in {f.file for f in study.inputs}  # hashed with the other inputs (provenance)
    assert not any("il6.csv" in n and "ignored" in n for n in study.notes)
    _without_mappings(folder)
    assert errors(validate_study(folder))  # the mappings, not the files, make it the seed


def test_wide_columns_in_infusions_with_a_negative_day_load_to_the_seed(seed, tmp_path):
    folder = _centre_copy(tmp_path, WIDE_IN_INFUSIONS, wide_in="infusions")
    assert "CRP d-5" in (folder / "infusions.csv").read_text().splitlines()[0]
    study = load_study(folder)
    _same_study(seed, study)
    assert not any("extra column" in n for n in study.notes)  # the wide columns are not kept in infusions


def test_centre_workbook_with_a_wide_sheet_loads_to_the_seed(seed, tmp_path):
    csv = _centre_copy(tmp_path, "", wide_in="file")
    folder = tmp_path / "book"
    folder.mkdir()
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name in [*TABLES, "il6"]:
        if not (csv / f"{name}.csv").exists():
            continue
        sheet = book.create_sheet("IL-6" if name == "il6" else name)
        frame = _read(csv, name)
        sheet.append(frame.columns)
        for row in frame.iter_rows():
            sheet.append(list(row))
    book.save(folder / "centre.xlsx")
    shutil.copyfile(SEED / "published.toml", folder / "published.toml")
    toml = (csv / "study.toml").read_text(encoding="utf-8")
    wide = WIDE_FILE.replace('file = "il6.csv"', 'sheet = "il-6"')
    (folder / "study.toml").write_text(toml + '\n[files]\nworkbook = "centre.xlsx"\n' + wide, encoding="utf-8")
    study = load_study(folder)
    _same_study(seed, study)
    assert not any("IL-6" in n and "ignored" in n for n in study.notes)


def test_spss_patients_with_numeric_codes_and_own_names(seed, tmp_path, copy_seed):
    """An SPSS file with no value labels: the codes 1/2 are mapped by [values.patients.sex]."""
    folder = tmp_path / "study"
    copy_seed(folder)
    patients = pl.read_csv(folder / "patients.csv", infer_schema_length=None)
    (folder / "patients.csv").unlink()
    patients = patients.with_columns(sex=pl.col("sex").replace_strict({"male": 1.0, "female": 2.0}))
    patients = patients.rename({"patient_id": "PatNo", "age": "AgeYears", "sex": "Gender"})
    pyreadstat.write_sav(patients.to_pandas(), str(folder / "patients.sav"))
    with (folder / "study.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[columns.patients]\npatient_id = "PatNo"\nage = "AgeYears"\nsex = "Gender"\n'
                 '\n[values.patients.sex]\n1 = "male"\n2 = "female"\n')
    _same_study(seed, load_study(folder))


# --------------------------------------------------------------------------- problems at the centre's headers


def _set(folder: Path, name: str, column: str, index: int, value: str | None) -> None:
    frame = pl.read_csv(folder / name, infer_schema=False)
    frame.with_columns(pl.when(pl.int_range(pl.len()) == index).then(pl.lit(value))
                       .otherwise(pl.col(column)).alias(column)).write_csv(folder / name)


def _located(problems) -> set[tuple]:
    return {(p.file, p.row, p.column, p.value) for p in problems}


def test_bad_values_are_reported_at_the_centre_headers(tmp_path):
    folder = _centre_copy(tmp_path, WIDE_FILE)
    _set(folder, "patients.csv", "Age (years)", 3, "abc")  # file row 5 (the header is row 1)
    _set(folder, "patients.csv", "Sex", 4, "X")
    _set(folder, "il6.csv", "IL6_d7", 1, "-5")
    _set(folder, "il6.csv", "Patient", 2, "P99")  # a patient not in patients, on each of its six days
    _set(folder, "infusions.csv", "Date of infusion", 0, "31/08/2020")
    problems = validate_study(folder)
    found = _located(errors(problems))
    assert ("patients.csv", 5, "Age (years)", "abc") in found
    assert ("patients.csv", 6, "Sex", "X") in found
    assert ("il6.csv", 3, "IL6_d7", -5.0) in found
    assert ("infusions.csv", 2, "Date of infusion", "31/08/2020") in found
    orphans = [p for p in problems if p.file == "il6.csv" and p.column == "Patient"]
    assert [(p.row, p.value) for p in orphans] == [(4, "P99")]  # once for the row, not once per day
    assert all(p.column not in ("age", "sex", "patient_id", "infusion_date", "value") for p in problems)
    assert all(p.row is None or p.row < WIDE_ROW_BASE for p in problems)


def test_a_duplicate_wide_cell_names_the_first_cell(tmp_path):
    folder = _centre_copy(tmp_path, WIDE_FILE)
    text = (folder / "il6.csv").read_text().splitlines()
    (folder / "il6.csv").write_text("\n".join([*text, text[1]]) + "\n")  # the first row again, at row 28
    dups = [p for p in validate_study(folder) if p.rule.startswith("duplicate key")]
    assert dups and all(p.file == "il6.csv" and p.row == 28 for p in dups)
    assert "same as row 2 (column 'IL6_d0')" in dups[0].rule


def test_missing_mapped_header_of_a_required_column(tmp_path):
    folder = _centre_copy(tmp_path, WIDE_FILE)
    text = (folder / "patients.csv").read_text()
    (folder / "patients.csv").write_text(text.replace("Age (years)", "Age", 1))
    problems = errors(validate_study(folder))
    assert [str(p) for p in problems] == [
        "patients.csv, column 'Age (years)': no column for 'age': [columns.patients] maps it to "
        "'Age (years)', which is not in patients.csv"]


def test_mapped_column_given_twice(tmp_path):
    folder = _centre_copy(tmp_path, WIDE_FILE)
    patients = _read(folder, "patients")
    patients.with_columns(pl.lit("1").alias("age")).write_csv(folder / "patients.csv")
    (p,) = errors(validate_study(folder))
    assert (p.file, p.column) == ("patients.csv", "age")
    assert "reads 'Age (years)' as age" in p.rule


BAD_MAPPINGS = [
    ('[columns.patient]\nage = "Age"\n', "columns.patient", "unknown table 'patient'"),
    ('[columns.patients]\nyears = "Age"\n', "columns.patients.years", "not a column of patients"),
    ('[columns.patients]\nage = "Age"\nweight_kg = "age"\n', "columns.patients.weight_kg",
     "header 'age' is already mapped to 'age'"),
    ('[columns.patients]\nage = 3\n', "columns.patients.age", "expected the header"),
    ('[values.age]\nold = "80"\n', "values.age", "'age' has no vocabulary"),
    ('[values.patients.weight_kg]\nx = "1"\n', "values.patients.weight_kg", "has no vocabulary"),
    ('[values.colour]\nred = "male"\n', "values.colour", "neither a column nor a table"),
    ('[values.sex]\nM = "man"\n', "values.sex.M", "not a sex value"),
    ('[values.sex]\nM = "male"\nm = "female"\n', "values.sex.m", "code given twice"),
    ('[values.kind]\nD = "death"\n', "values.kind", "different vocabulary in each of support, events"),
    ('[values.neuro.seizure]\ny = "maybe"\n', "values.neuro.seizure.y", "not a seizure value"),
    ('[wide.measurements]\ncolumns = [{ pattern = "IL6_d", analyte = "il6", unit = "pg/mL" }]\n',
     "wide.measurements.columns[1].pattern", "holds {day} once"),
    ('[wide.measurements]\ncolumns = [{ pattern = "IL6_d{day}_{x}", analyte = "il6", unit = "pg/mL" }]\n',
     "wide.measurements.columns[1].pattern", "only {day}"),
    ('[wide.measurements]\ncolumns = [{ pattern = "X{day}", analyte = "il-66", unit = "pg/mL" }]\n',
     "wide.measurements.columns[1].analyte", "unknown analyte"),
    ('[wide.measurements]\ncolumns = [{ pattern = "X{day}", analyte = "il6", unit = "mg/dL" }]\n',
     "wide.measurements.columns[1].unit", "unknown or mismatched unit for il6"),
    ('[wide.measurements]\ncolumns = [{ pattern = "X{day}", analyte = "il6", unit = "pg/mL" },'
     ' { pattern = "x{day}", analyte = "crp", unit = "mg/L" }]\n',
     "wide.measurements.columns[2].pattern", "the same pattern as wide.measurements.columns[1]"),
    ('[wide.neuro]\ncolumns = []\n', "wide.neuro", "only measurements"),
    ('[wide.measurements]\ntable = "events"\ncolumns = [{ pattern = "X{day}", analyte = "il6", unit = "pg/mL" }]\n',
     "wide.measurements.table", "extra columns of patients, infusions, measurements"),
    ('[wide.measurements]\ntable = "patients"\ncolumns = [{ pattern = "X{day}", analyte = "il6", unit = "pg/mL" }]\n',
     "wide.measurements.episode", "patients has no episode column"),
    ('[wide.measurements]\nfile = "il6.txt"\ncolumns = [{ pattern = "X{day}", analyte = "il6", unit = "pg/mL" }]\n',
     "wide.measurements.file", "unsupported file type"),
    ('[wide.measurements]\nfile = "il6.csv"\ncolums = []\n', "wide.measurements.colums", "unknown key"),
]


@pytest.mark.parametrize(("toml", "key", "rule"), BAD_MAPPINGS, ids=[b[1] for b in BAD_MAPPINGS])
def test_each_bad_mapping_is_a_located_problem(tmp_path, toml, key, rule, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    with (folder / "study.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n" + toml)
    problems = [p for p in errors(validate_study(folder)) if p.file == "study.toml"]
    assert any(p.column == key and rule in p.rule for p in problems), [str(p) for p in problems]


def test_wide_file_problems_are_located_in_the_file(tmp_path):
    folder = _centre_copy(tmp_path, WIDE_FILE.replace("IL6_d{day}", "IL-6 day {day}"))
    problems = errors(validate_study(folder))
    assert ("il6.csv", None, None, "IL-6 day {day}") in _located(problems)  # no column matches it
    missing = _centre_copy(tmp_path / "b", WIDE_FILE.replace('"Patient"', '"Pat"'))
    (p,) = errors(validate_study(missing))
    assert (p.file, p.column) == ("il6.csv", "Pat") and "no column for 'patient_id'" in p.rule
    gone = _centre_copy(tmp_path / "c", WIDE_FILE)
    (gone / "il6.csv").unlink()
    problems = errors(validate_study(gone))
    assert ("study.toml", None, "wide.measurements.file", "il6.csv") in _located(problems)


def test_values_for_one_table_take_precedence(seed, tmp_path, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    patients = _read(folder, "patients").with_columns(pl.col("sex").replace({"male": "1", "female": "2"}))
    patients.write_csv(folder / "patients.csv")
    with (folder / "study.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[values.sex]\n1 = "female"\n2 = "male"\n\n[values.patients.sex]\n1 = "male"\n2 = "female"\n')
    _same_study(seed, load_study(folder))


def test_unmapped_study_is_untouched_by_an_empty_mapping(seed, tmp_path, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    with (folder / "study.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[columns.patients]\n")
    _same_study(seed, load_study(folder))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_converted_centre_copy_is_in_our_layout(seed, tmp_path, fmt):
    """`cartkit convert` writes our headers, values and long measurements: the copy's study.toml keeps
    the plan but not the mappings, which would no longer match its files."""
    from cartkit.interop.convert import convert_study

    folder = _centre_copy(tmp_path, WIDE_FILE)
    out = convert_study(folder, tmp_path / "copy", fmt)
    text = (out / "study.toml").read_text(encoding="utf-8")
    assert "[columns." not in text and "[values." not in text and "[wide." not in text
    assert "[plan.survival]" in text
    _same_study(seed, load_study(out))


def test_a_wide_file_that_is_a_table_file_is_refused(tmp_path):
    folder = _centre_copy(tmp_path, WIDE_FILE.replace('file = "il6.csv"', 'file = "Infusions.csv"'))
    problems = [p for p in errors(validate_study(folder)) if p.file == "study.toml"]
    assert [(p.column, p.value) for p in problems] == [("wide.measurements.file", "Infusions.csv")]
    assert 'write table = "infusions"' in problems[0].rule


def test_typed_wide_file_reads_patients_as_the_patients_table_does(seed, tmp_path):
    """A Parquet wide table with numeric patient numbers: 7.0 is patient "7", as in patients.parquet."""
    folder = _centre_copy(tmp_path, WIDE_FILE.replace("il6.csv", "il6.parquet"))
    ids = {f"P{i}": float(i) for i in range(1, 14)}
    wide = _read(folder, "il6")
    (folder / "il6.csv").unlink()
    wide.with_columns(pl.col("Patient").replace_strict(ids),
                      *(pl.col(c).cast(pl.Float64) for c in wide.columns if c.startswith("IL6")),
                      pl.col("Infusion no.").cast(pl.Int64)).write_parquet(folder / "il6.parquet")
    for name, column in (("patients", "Patient No."), ("infusions", "Patient No."), ("measurements", "patient_id"),
                         ("support", "patient_id"), ("neuro", "patient_id"), ("assessments", "patient_id"),
                         ("adverse_events", "patient_id"), ("events", "patient_id")):
        frame = _read(folder, name)
        frame.with_columns(pl.col(column).str.strip_prefix("P")).write_csv(folder / f"{name}.csv")
    study = load_study(folder)
    expected = seed.measurements.filter(pl.col("analyte") == "il6").with_columns(
        pl.col("patient_id").str.strip_prefix("P"))
    assert_frame_equal(study.measurements.filter(pl.col("analyte") == "il6"), expected, check_row_order=False)


TWO_PLACES = """
[[wide.measurements]]
file = "il6.csv"
patient_id = "Patient"
episode = "Infusion no."
columns = [{ pattern = "IL6_d{day}", analyte = "il6", unit = "pg/mL" }]

[[wide.measurements]]
table = "infusions"
columns = [{ pattern = "CRP d{day}", analyte = "crp", unit = "mg/L" }]
"""


def test_wide_tables_in_two_places_load_to_the_seed(seed, tmp_path):
    """IL-6 in a file of its own, CRP (day -5) as extra columns of infusions: one rule for each."""
    folder = _centre_copy(tmp_path, TWO_PLACES, wide_in="infusions")
    il6 = pl.read_csv(folder / "infusions.csv", infer_schema=False).select(
        "Patient No.", "Infusion", pl.col("^IL6_d.*$"))
    il6.rename({"Patient No.": "Patient", "Infusion": "Infusion no."}).write_csv(folder / "il6.csv")
    pl.read_csv(folder / "infusions.csv", infer_schema=False).select(
        pl.exclude("^IL6_d.*$")).write_csv(folder / "infusions.csv")
    _same_study(seed, load_study(folder))
    # a bad cell of each is found in its own place
    _set(folder, "il6.csv", "IL6_d14", 0, "lots")
    _set(folder, "infusions.csv", "CRP d-5", 1, "-1")
    found = _located(errors(validate_study(folder)))
    assert ("il6.csv", 2, "IL6_d14", "lots") in found
    assert ("infusions.csv", 3, "CRP d-5", -1.0) in found


def test_two_wide_rules_for_one_place_are_refused(tmp_path, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    rule = '[[wide.measurements]]\nfile = "il6.csv"\ncolumns = [{ pattern = "%s{day}", analyte = "il6", unit = "pg/mL" }]\n'
    with (folder / "study.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n" + rule % "A" + "\n" + rule % "B")
    problems = [p for p in errors(validate_study(folder)) if p.file == "study.toml"]
    # (and il6.csv, which the seed has not, is not found for the first rule)
    assert [p.column for p in problems] == ["wide.measurements[2]", "wide.measurements[1].file"]
    assert "the same place as wide.measurements[1]" in problems[0].rule


def test_spss_labels_on_a_mapped_numeric_column_keep_its_codes(seed, tmp_path, copy_seed):
    """A value label on a number (IPI 3 = 'high-intermediate') annotates it, under the centre's own
    variable name too: the mapping says the variable is our ipi, which holds numbers."""
    folder = tmp_path / "study"
    copy_seed(folder)
    patients = pl.read_csv(folder / "patients.csv", infer_schema_length=None)
    (folder / "patients.csv").unlink()
    pyreadstat.write_sav(patients.rename({"ipi": "IPIscore", "sex": "Gender"}).to_pandas(),
                         str(folder / "patients.sav"),
                         variable_value_labels={"IPIscore": {3.0: "high-intermediate"},
                                                "Gender": {"male": "Male", "female": "Female"}})
    with (folder / "study.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[columns.patients]\nipi = "IPIscore"\nsex = "Gender"\n')
    _same_study(seed, load_study(folder))


def test_wide_columns_in_the_measurements_file_itself(seed, tmp_path, copy_seed):
    """The default place: extra columns of measurements. Rows that give only wide values (one per
    patient and episode, the long columns empty) are not also read as long rows."""
    folder = tmp_path / "study"
    copy_seed(folder)
    m = _read(folder, "measurements")
    il6 = _wide(m, "il6", "IL-6 d{day}")
    pl.concat([m.filter(pl.col("analyte") != "il6"), il6], how="diagonal").write_csv(folder / "measurements.csv")
    with (folder / "study.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[wide.measurements]\ncolumns = [{ pattern = "IL-6 d{day}", analyte = "il6", unit = "pg/mL" }]\n')
    _same_study(seed, load_study(folder))


def test_wide_columns_of_patients_with_one_episode(seed, tmp_path, copy_seed):
    """Extra columns of patients (one row per patient) need the episode: episode = 1."""
    folder = tmp_path / "study"
    copy_seed(folder)
    m = _read(folder, "measurements")
    crp = _wide(m.filter(pl.col("episode") == "1"), "crp", "CRP (mg/L) day {day}").drop("episode")
    m.filter(~((pl.col("analyte") == "crp") & (pl.col("episode") == "2"))).write_csv(folder / "expected.csv")
    m.filter(pl.col("analyte") != "crp").write_csv(folder / "measurements.csv")
    _read(folder, "patients").join(crp, on="patient_id", maintain_order="left").write_csv(folder / "patients.csv")
    with (folder / "study.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[wide.measurements]\ntable = "patients"\nepisode = 1\n'
                 'columns = [{ pattern = "CRP (mg/L) day {day}", analyte = "crp", unit = "mg/L" }]\n')
    study = load_study(folder)
    assert_frame_equal(study.patients, seed.patients)
    expected = seed.measurements.filter(~((pl.col("analyte") == "crp") & (pl.col("episode") == 2)))
    assert_frame_equal(study.measurements, expected, check_row_order=False)


def test_wide_sheet_of_a_workbook_of_its_own(seed, tmp_path):
    folder = _centre_copy(tmp_path, WIDE_FILE.replace('file = "il6.csv"', 'file = "labs.xlsx"\nsheet = "IL6"'))
    book = openpyxl.Workbook()
    book.active.title = "notes"
    sheet = book.create_sheet("IL6")
    frame = _read(folder, "il6")
    sheet.append(frame.columns)
    for row in frame.iter_rows():
        sheet.append([None if v is None else float(v) if c.startswith("IL6") else v
                      for c, v in zip(frame.columns, row, strict=True)])
    book.save(folder / "labs.xlsx")
    (folder / "il6.csv").unlink()
    _same_study(seed, load_study(folder))
    sheet.cell(row=4, column=4).value = "n.d."  # D4: IL6_d4 of the third row
    book.save(folder / "labs.xlsx")
    found = _located(errors(validate_study(folder)))
    assert found == {("labs.xlsx[IL6]", 4, "IL6_d4", "n.d.")}


@pytest.mark.parametrize(("pattern", "header", "day"), [
    ("IL6_d{day}", "il6_d0", 0), ("IL6_d{day}", "il6_d14", 14), ("IL6_d{day}", "il6_d-1", -1),
    ("IL6_d{day}", "il6_d+3", 3), ("IL6_d{day}", "il6_d07", 7), ("CRP (mg/L) day {day}", "crp (mg/l) day -5", -5),
    ("{day} IL-6", "28 il-6", 28), ("IL6[{day}]", "il6[2]", 2),
    ("IL6_d{day}", "il6_d7_repeat", None), ("IL6_d{day}", "il6_day7", None), ("IL6_d{day}", "il6_d", None),
    ("IL6_d{day}", "il6_d1.5", None), ("IL6_d{day}", "xil6_d1", None), ("CRP day {day}", "crp day-5", None),
])
def test_pattern_syntax(pattern, header, day):
    """Headers arrive trimmed and lower-case (cartkit.study.readers); a pattern matches the whole header,
    every character but {day} literally, {day} an optionally signed whole number."""
    from cartkit.study.column_mapping import WidePattern

    match = WidePattern(pattern, "il6", "pg/mL", "wide.measurements.columns[1]").regex.match(header)
    assert (None if match is None else int(match.group(1))) == day


def test_every_measurement_wide_in_infusions_needs_no_measurements_file(seed, tmp_path):
    """A study whose measurements are all wide (here IL-6 and CRP in infusions, and nothing else)."""
    folder = _centre_copy(tmp_path, WIDE_IN_INFUSIONS, wide_in="infusions")
    (folder / "measurements.csv").unlink()
    study = load_study(folder)
    expected = seed.measurements.filter(pl.col("analyte").is_in(["il6", "crp"])).drop("lln")
    assert_frame_equal(study.measurements.drop("lln", strict=False), expected, check_row_order=False)


def test_sas_transport_infusions_with_own_names(seed, tmp_path, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    infusions = pl.read_csv(folder / "infusions.csv", infer_schema_length=None, try_parse_dates=True)
    (folder / "infusions.csv").unlink()
    df = infusions.rename({"patient_id": "PATNO", "episode": "INFNO", "infusion_date": "INFDT"}).to_pandas()
    pyreadstat.write_xport(df, str(folder / "infusions.xpt"), file_format_version=8, table_name="INF")
    with (folder / "study.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[columns.infusions]\npatient_id = "PATNO"\nepisode = "INFNO"\ninfusion_date = "INFDT"\n')
    _same_study(seed, load_study(folder))
    frame = pl.read_csv(SEED / "infusions.csv", infer_schema_length=None, try_parse_dates=True)
    pyreadstat.write_xport(frame.rename({"patient_id": "PATNO", "episode": "INFNO", "infusion_date": "INFDT"})
                           .with_columns(pl.when(pl.int_range(pl.len()) == 2).then(0).otherwise(pl.col("INFNO"))
                                         .alias("INFNO")).to_pandas(),
                           str(folder / "infusions.xpt"), file_format_version=8, table_name="INF")
    assert ("infusions.xpt", 3, "INFNO") in {(p.file, p.row, p.column) for p in errors(validate_study(folder))}


def test_a_wide_cell_that_repeats_a_long_row_names_the_long_file(tmp_path):
    folder = _centre_copy(tmp_path, WIDE_FILE)
    m = _read(folder, "measurements")
    first = _read(SEED, "measurements").filter(pl.col("analyte") == "il6").head(1)  # P1, episode 1, day 0
    pl.concat([m, first]).write_csv(folder / "measurements.csv")
    line = m.height + 2  # the header is line 1
    dups = [p for p in validate_study(folder) if p.rule.startswith("duplicate key")]
    assert [(p.file, p.row, p.column) for p in dups] == [("il6.csv", 2, "IL6_d0")]
    assert f"same as row {line} of measurements.csv" in dups[0].rule
