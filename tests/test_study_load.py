"""Loading a study folder: formats, types, day/date derivation, units, encodings, layout."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from test_study_builders import STUDY_TOML, base_tables, write_csv, write_study

from cartkit.study.load import load_study
from cartkit.study.model import Plan
from cartkit.study.problems import StudyError
from cartkit.study.schema import TABLES
from cartkit.study.validate import validate_study

EXPECTED_TYPES = {"str": pl.String, "int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "date": pl.Date}


def _snapshot(folder):
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("formats")
    return {fmt: load_study(write_study(root / fmt, fmt=fmt)) for fmt in ("csv", "parquet", "xlsx", "workbook")}


@pytest.mark.parametrize("fmt", ["parquet", "xlsx", "workbook"])
def test_every_format_gives_identical_tables(loaded, fmt):
    for name in TABLES:
        extras = [c for c in loaded["csv"].tables[name].columns if c not in TABLES[name].column_names]
        assert extras == (["unit_original"] if name == "measurements" else [])
        assert_frame_equal(loaded[fmt].tables[name], loaded["csv"].tables[name])


def test_schema_types_after_loading(loaded):
    study = loaded["csv"]
    for name, table in TABLES.items():
        frame = study.tables[name]
        for col in table.columns:
            assert frame.schema[col.name] == EXPECTED_TYPES[col.dtype], (name, col.name)
    # optional tables not given are empty with the schema's columns
    assert study.neuro.height == 0 and study.neuro.columns == list(TABLES["neuro"].column_names)
    assert study.lesions.height == 0


def test_vocabulary_stored_canonical(loaded):
    study = loaded["csv"]
    assert study.patients["sex"].to_list() == ["male", "female"]  # "F" -> female
    assert study.infusions["target"].to_list() == ["CD19", "CD22", "CD19", "CD22"]  # "cd19" -> CD19
    assert study.measurements["analyte"].to_list()[:2] == ["car_t_pct_cd3", "car_t_pct_cd3"]  # alias "CAR-T %"
    assert study.measurements["analyte"][3] == "hemoglobin"  # alias "hb"
    assert study.adverse_events["term"].to_list() == ["cytokine release syndrome", "hypogammaglobulinemia"]
    assert study.assessments["response"].to_list() == ["PD", "CRi"]


def test_study_toml_parsed(loaded):
    study = loaded["csv"]
    assert study.meta.id == "mini"
    assert study.meta.data_cutoff == dt.date(2020, 8, 31)
    plan = study.plan
    assert plan.products == ("CD19 CAR-T", "CD22 CAR-T")
    assert plan.diseases == ("DLBCL", "B-ALL")
    assert plan.kinetic_analytes == ("car_t_pct_cd3", "il6")
    assert plan.kinetics_window == (0, 28)
    assert plan.response_days == {"lymphoma": (30, 60), "all": (14,)}
    assert plan.survival.from_product == "CD22 CAR-T"
    assert plan.survival.time_unit == "months"
    assert plan.survival.landmark_day == 180
    assert plan.extra_ae_terms == ("hypogammaglobulinemia",)


def test_plan_defaults_when_keys_are_left_out(tmp_path):
    toml = '[study]\nid = "x"\n[plan]\nextra_ae_terms = ["hypogammaglobulinemia"]\n'
    study = load_study(write_study(tmp_path, toml=toml))
    assert study.plan == Plan(extra_ae_terms=("hypogammaglobulinemia",))


def test_day_and_date_derived_both_ways(loaded, tmp_path):
    m = loaded["csv"].measurements
    # P1 episode 1 infused 2019-01-10: day 7 -> 2019-01-17; 2019-01-24 -> day 14
    assert m.row(1, named=True)["date"] == dt.date(2019, 1, 17)
    assert m.row(2, named=True)["day"] == 14
    # day 0 is the infusion day
    assert m.row(0, named=True)["date"] == dt.date(2019, 1, 10)
    # both given and agreeing: kept
    assert (m.row(4, named=True)["day"], m.row(4, named=True)["date"]) == (4, dt.date(2019, 2, 5))
    # day -1 is the day before infusion (no CDISC day-0 gap)
    tables = base_tables()
    tables["measurements"][0]["day"] = -1
    study = load_study(write_study(tmp_path, tables))
    assert study.measurements["date"][0] == dt.date(2019, 1, 9)


def test_events_date_from_episode_and_day(loaded):
    e = loaded["csv"].events
    relapse = e.filter(pl.col("kind") == "relapse").row(0, named=True)
    # P2 episode 2 infused 2019-06-15 + 90 days
    assert relapse["date"] == dt.date(2019, 9, 13)
    assert e["date"].null_count() == 0
    assert e.filter(pl.col("kind") == "death")["episode"].to_list() == [None]


def test_units_converted_to_canonical(loaded):
    m = loaded["csv"].measurements
    hb = m.filter(pl.col("analyte") == "hemoglobin").row(0, named=True)
    assert (hb["value"], hb["unit"], hb["unit_original"]) == (95.0, "g/L", "g/dL")  # 9.5 g/dL * 10
    anc = m.filter(pl.col("analyte") == "anc").row(0, named=True)
    assert anc["unit"] == "10^9/L" and math.isclose(anc["value"], 1.5, abs_tol=1e-12)  # 1500/uL / 1000
    temp = m.filter(pl.col("analyte") == "temperature").row(0, named=True)
    assert temp["unit"] == "C" and math.isclose(temp["value"], 39.0, abs_tol=1e-9)  # (102.2 - 32) * 5/9
    il6 = m.filter(pl.col("analyte") == "il6").row(0, named=True)
    assert (il6["value"], il6["unit"], il6["unit_original"]) == (150.5, "pg/mL", "pg/mL")
    assert any("converted 3 value(s)" in n for n in loaded["csv"].notes)


def test_lloq_converted_with_value(tmp_path):
    tables = base_tables()
    tables["measurements"][3].update(unit="g/dl", lloq=0.5)
    m = load_study(write_study(tmp_path, tables)).measurements.filter(pl.col("analyte") == "hemoglobin")
    assert m["lloq"].to_list() == [5.0] and m["unit_original"].to_list() == ["g/dl"]


def test_column_names_case_and_spaces_and_extra_columns(tmp_path):
    write_study(tmp_path)
    path = tmp_path / "patients.csv"
    text = path.read_text().splitlines()
    text[0] = ",".join(f" {c.upper()} " for c in text[0].split(",")) + ",Comment"
    text[1:] = [line + ",note" for line in text[1:]]
    path.write_text("\n".join(text) + "\n")
    study = load_study(tmp_path)
    assert study.patients["patient_id"].to_list() == ["P1", "P2"]
    assert study.patients["comment"].to_list() == ["note", "note"]
    assert any("patients.csv: extra column(s) kept as given: comment" in n for n in study.notes)


def test_utf8_bom_cp1252_and_semicolon_decimal_comma(tmp_path):
    write_study(tmp_path)
    tables = base_tables()
    tables["patients"][0]["subtype"] = "non-GCB – ß"  # en dash and sharp s: not ASCII
    # UTF-8 with BOM (Excel's "CSV UTF-8")
    rows = pl.DataFrame(tables["patients"]).with_columns(pl.all().cast(pl.String))
    (tmp_path / "patients.csv").write_bytes(b"\xef\xbb\xbf" + rows.write_csv().encode("utf-8"))
    study = load_study(tmp_path)
    assert study.patients["patient_id"].to_list() == ["P1", "P2"]
    assert study.patients["subtype"][0] == "non-GCB – ß"
    # Windows-1252, semicolons and decimal commas (a European Excel "CSV")
    text = rows.write_csv(separator=";").replace("70.5", "70,5")
    (tmp_path / "patients.csv").write_bytes(text.encode("cp1252"))
    study = load_study(tmp_path)
    assert study.patients["subtype"][0] == "non-GCB – ß"
    assert study.patients["weight_kg"].to_list() == [70.5, 55.0]
    assert any("patients.csv: not UTF-8; read as cp1252" in n for n in study.notes)
    assert any("patients.csv: semicolon-separated" in n for n in study.notes)


def test_latin1_bytes_that_cp1252_cannot_decode(tmp_path):
    write_study(tmp_path)
    tables = base_tables()
    tables["patients"][0]["subtype"] = "GCB\x81"
    rows = pl.DataFrame(tables["patients"]).with_columns(pl.all().cast(pl.String))
    (tmp_path / "patients.csv").write_bytes(rows.write_csv().encode("latin-1"))
    study = load_study(tmp_path)
    assert study.patients["subtype"][0] == "GCB\x81"
    assert any("read as latin-1" in n for n in study.notes)


def test_blank_and_separator_only_lines_are_skipped_and_rows_numbered_as_lines(tmp_path):
    write_study(tmp_path)
    path = tmp_path / "infusions.csv"
    lines = path.read_text().splitlines()
    width = lines[0].count(",")
    lines.insert(2, "")
    lines.insert(3, "," * width)
    lines[4] = lines[4].replace("2019-05-02", "02/05/2019")  # P1 episode 2, now on line 5
    path.write_text("\n".join(lines) + "\n")
    problems = validate_study(tmp_path)
    bad = [p for p in problems if p.rule.startswith("unparseable date")]
    assert [(p.file, p.row, p.column, p.value) for p in bad] == [("infusions.csv", 5, "infusion_date", "02/05/2019")]


def test_files_mapping_in_study_toml(tmp_path):
    write_study(tmp_path)
    (tmp_path / "patients.csv").rename(tmp_path / "baseline.csv")
    toml = STUDY_TOML.replace("[plan]\n", '[files]\npatients = "baseline.csv"\n\n[plan]\n', 1)
    (tmp_path / "study.toml").write_text(toml)
    assert load_study(tmp_path).patients.height == 2


def test_optional_table_absent_and_unused_file_noted(tmp_path):
    tables = base_tables()
    del tables["support"]
    write_study(tmp_path, tables)
    (tmp_path / "notes.csv").write_text("a\n1\n")
    study = load_study(tmp_path)
    assert study.support.height == 0 and study.support.schema["dose"] == pl.Float64
    assert "notes.csv: not a table of the study; ignored" in study.notes


def test_input_folder_untouched_by_good_and_failing_loads(tmp_path):
    for fmt in ("csv", "xlsx", "parquet", "workbook"):
        folder = write_study(tmp_path / fmt, fmt=fmt)
        before = _snapshot(folder)
        load_study(folder)
        assert _snapshot(folder) == before
    folder = tmp_path / "bad"
    tables = base_tables()
    tables["measurements"][0]["unit"] = "furlongs"
    write_study(folder, tables)
    before = _snapshot(folder)
    with pytest.raises(StudyError):
        load_study(folder)
    assert _snapshot(folder) == before


def test_study_error_is_value_error_and_lists_problems(tmp_path):
    tables = base_tables()
    tables["patients"][0]["age"] = "old"
    with pytest.raises(ValueError) as info:
        load_study(write_study(tmp_path, tables))
    assert isinstance(info.value, StudyError)
    assert "patients.csv, row 2, column 'age': not a number (value 'old')" in str(info.value)


def test_not_a_folder(tmp_path):
    problems = validate_study(tmp_path / "nowhere")
    assert len(problems) == 1 and problems[0].rule.startswith("not a study folder")


def test_to_pandas(loaded):
    df = loaded["csv"].to_pandas("patients")
    assert list(df["patient_id"]) == ["P1", "P2"]


def test_write_csv_helper_roundtrip(tmp_path):
    path = write_csv(tmp_path, "t", [{"a": 1, "b": None}])
    assert path.read_text() == "a,b\n1,\n"


def test_tab_separated_csv(tmp_path):
    write_study(tmp_path)
    rows = pl.DataFrame(base_tables()["patients"]).with_columns(pl.all().cast(pl.String))
    (tmp_path / "patients.csv").write_text(rows.write_csv(separator="\t"))
    assert load_study(tmp_path).patients["weight_kg"].to_list() == [70.5, 55.0]


def test_parquet_native_types_and_nan_as_missing(tmp_path):
    write_study(tmp_path, fmt="parquet")
    m = pl.read_parquet(tmp_path / "measurements.parquet")
    m = m.with_columns(value=pl.col("value").fill_null(float("nan")), blq=pl.col("blq") == "yes")
    (tmp_path / "measurements.parquet").unlink()
    m.write_parquet(tmp_path / "measurements.parquet")
    study = load_study(tmp_path)
    assert study.measurements["value"].null_count() == 1  # the NaN of the blq row is a missing value
    assert study.measurements["blq"].to_list() == [None, None, False, None, None, None, True]


def test_excel_cells_with_time_of_day_and_numbers_as_text(tmp_path):
    import openpyxl

    folder = write_study(tmp_path, fmt="workbook")
    wb = openpyxl.load_workbook(folder / "study.xlsx")
    ws = wb["infusions"]
    ws["E2"] = dt.datetime(2019, 1, 10, 9, 30)  # infusion_date with a clock time
    ws["B2"] = 1.0  # episode typed as a float by Excel
    wb.create_sheet("scratch")
    wb.save(folder / "study.xlsx")
    study = load_study(folder)
    assert study.infusions["infusion_date"][0] == dt.date(2019, 1, 10)
    assert study.infusions["episode"][0] == 1
    assert "study.xlsx: sheet 'scratch' is not a table of the study; ignored" in study.notes
