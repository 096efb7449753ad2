"""SPSS and SAS tables in, studies converted out (issue 11 part 3).

Round trips: the seed study converted to each format loads to the same study, table by table, as
the seed folder itself. The SPSS files of the value-label tests are written with pyreadstat
directly (not through cartkit), as a centre's SPSS would hand them over.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pyreadstat
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from cartkit.cli import app
from cartkit.interop.convert import MARKER, ConvertError, convert_study
from cartkit.interop.spss import write_sav
from cartkit.study.load import load_study
from cartkit.study.problems import StudyError
from cartkit.study.schema import TABLES

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "seed-study"


@pytest.fixture(scope="module")
def seed():
    return load_study(SEED)


def _same_study(a, b) -> None:
    assert a.meta == b.meta and a.plan == b.plan
    for name in TABLES:
        assert b.tables[name].columns == a.tables[name].columns, name
        assert_frame_equal(b.tables[name], a.tables[name], check_exact=True)


@pytest.mark.parametrize("fmt", ["sav", "xlsx", "csv", "parquet"])
def test_seed_converted_loads_as_the_same_study(seed, tmp_path, fmt):
    out = convert_study(SEED, tmp_path / fmt, fmt)
    _same_study(seed, load_study(out))
    written = json.loads((out / MARKER).read_text())["files"]
    assert sorted(written) == sorted(p.name for p in out.iterdir() if p.name != MARKER)
    assert "published.toml" in written


def _seed_copy_with_sav_patients(tmp_path: Path, sex_codes: list[float], labels: dict[float, str]) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(SEED, folder)
    patients = pl.read_csv(folder / "patients.csv", infer_schema_length=None)
    (folder / "patients.csv").unlink()
    df = patients.with_columns(sex=pl.Series(sex_codes, dtype=pl.Float64)).to_pandas()
    pyreadstat.write_sav(df, str(folder / "patients.sav"), variable_value_labels={"sex": labels})
    return folder


def test_sav_value_labels_are_read_as_the_vocabulary(seed, tmp_path):
    sexes = seed.patients["sex"].to_list()
    codes = [1.0 if s == "male" else 2.0 for s in sexes]
    folder = _seed_copy_with_sav_patients(tmp_path, codes, {1.0: "Male", 2.0: "Female"})
    study = load_study(folder)
    assert study.patients["sex"].to_list() == sexes  # 1 = male, 2 = female, in canonical spelling
    _same_study(seed, study)


def test_sav_code_without_a_label_is_a_located_problem(seed, tmp_path):
    codes = [1.0 if s == "male" else 2.0 for s in seed.patients["sex"].to_list()]
    codes[3] = 3.0  # the fourth case: no label for 3
    folder = _seed_copy_with_sav_patients(tmp_path, codes, {1.0: "male", 2.0: "female"})
    with pytest.raises(StudyError) as info:
        load_study(folder)
    (problem,) = info.value.errors
    assert (problem.file, problem.row, problem.column, problem.value) == ("patients.sav", 4, "sex", "3")
    assert problem.rule.startswith("unknown sex value")


def test_numeric_columns_keep_their_codes(seed, tmp_path, copy_seed):
    """A label on a number (IPI 3 = 'high-intermediate') annotates it: the number is what is read."""
    folder = tmp_path / "study"
    copy_seed(folder)
    patients = pl.read_csv(folder / "patients.csv", infer_schema_length=None)
    (folder / "patients.csv").unlink()
    pyreadstat.write_sav(patients.to_pandas(), str(folder / "patients.sav"),
                         variable_value_labels={"ipi": {3.0: "high-intermediate"}})
    _same_study(seed, load_study(folder))


def test_sas_transport_table_loads(seed, tmp_path, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    infusions = pl.read_csv(folder / "infusions.csv", infer_schema_length=None, try_parse_dates=True)
    (folder / "infusions.csv").unlink()
    # SAS names are upper case; the loader reads headers ignoring case
    df = infusions.rename({c: c.upper() for c in infusions.columns}).to_pandas()
    pyreadstat.write_xport(df, str(folder / "infusions.xpt"), file_format_version=8, table_name="INFUSION")
    _same_study(seed, load_study(folder))


def test_sas7bdat_table_loads(seed, tmp_path, copy_seed):
    """A SAS data set written by R haven 2.5.1 (tests/make_sas7bdat_fixture.R), not by cartkit."""
    folder = tmp_path / "study"
    copy_seed(folder)
    (folder / "infusions.csv").unlink()
    shutil.copyfile(ROOT / "tests" / "data" / "infusions.sas7bdat", folder / "infusions.sas7bdat")
    study = load_study(folder)
    _same_study(seed, study)


def test_written_sav_carries_variable_and_value_labels(seed, tmp_path):
    write_sav(seed.patients, tmp_path / "patients.sav", table="patients")
    df, meta = pyreadstat.read_sav(str(tmp_path / "patients.sav"))
    assert meta.variable_value_labels["sex"] == {1.0: "male", 2.0: "female"}
    assert meta.column_names_to_labels["age"] == TABLES["patients"].column("age").description
    assert df["sex"].tolist()[:2] == [1.0, 1.0]  # P1 and P2 are male (seed Table 1 listing)
    assert meta.original_variable_types["ipi"] == "F12.0"


def test_convert_refuses_the_study_folder_and_folders_it_did_not_write(tmp_path):
    with pytest.raises(ConvertError, match="outside the study folder"):
        convert_study(SEED, SEED / "converted", "csv")
    with pytest.raises(ConvertError, match="outside the study folder"):
        convert_study(SEED, SEED.parent, "csv")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ConvertError, match="not empty"):
        convert_study(SEED, mine, "csv")
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    out = convert_study(SEED, tmp_path / "out", "csv")
    convert_study(SEED, out, "parquet")  # its own earlier output is replaced whole
    assert not list(out.glob("*.csv")) and (out / "patients.parquet").exists()
    (out / "extra.txt").write_text("a user's file")
    with pytest.raises(ConvertError, match=r"also holds files cartkit did not write .*\(extra\.txt\)"):
        convert_study(SEED, out, "sav")
    assert (out / "extra.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "out"]  # no temporary folder left
    with pytest.raises(ConvertError, match="--to"):
        convert_study(SEED, tmp_path / "x", "dta")


def test_convert_to_csv_neutralises_formula_text(tmp_path, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    patients = (folder / "patients.csv").read_text()
    (folder / "patients.csv").write_text(patients.replace("Non-GCB", "=HYPERLINK(\"x\")", 1))
    out = convert_study(folder, tmp_path / "out", "csv")
    text = (out / "patients.csv").read_text()
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text
    measurements = pl.read_csv(out / "measurements.csv")
    assert measurements["day"].dtype == pl.Int64 and measurements["day"].min() < 0  # negative days stay numbers
    text = (out / "measurements.csv").read_text()
    assert ",-5," in text and ",'-5," not in text  # and are not prefixed


def test_cli_convert(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["convert", str(SEED), str(tmp_path / "sav"), "--to", "sav"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sav" / "measurements.sav").exists()
    bad = runner.invoke(app, ["convert", str(SEED), str(SEED / "sub"), "--to", "sav"])
    assert bad.exit_code == 1 and "outside the study folder" in bad.output
    assert not (SEED / "sub").exists()


def test_derived_episode_tables_as_sav(seed, tmp_path):
    from cartkit.derive import derive
    from cartkit.interop.spss import episode_tables, write_episode_tables

    derived = derive(seed)
    tables = episode_tables(seed, derived)
    assert set(tables) == {"episodes", "kinetics", "survival", "toxicity_grades"}
    write_episode_tables(tables, tmp_path)
    df, meta = pyreadstat.read_sav(str(tmp_path / "episodes.sav"), apply_value_formats=True)
    assert len(df) == seed.infusions.height == 26
    by_episode = {(p, int(e)): row for p, e, row in zip(df["patient_id"], df["episode"], df.to_dict("records"),
                                                          strict=True)}
    for p, e, grade in derived.crs.select("patient_id", "episode", "grade").iter_rows():
        assert by_episode[(p, e)]["crs_grade"] == grade
    for p, e, best in derived.best_response.select("patient_id", "episode", "best_response").iter_rows():
        assert by_episode[(p, e)]["best_response"] == best  # numeric code, its label the response
    assert meta.variable_value_labels["sex"] == {1.0: "male", 2.0: "female"}
    assert meta.column_names_to_labels["crs_grade"].startswith("CRS grade")
    kin, _ = pyreadstat.read_sav(str(tmp_path / "kinetics.sav"))
    expected = derived.kinetics.filter(pl.col("cmax").is_not_null())["cmax"].sort().to_list()
    assert sorted(kin["cmax"].dropna().tolist()) == expected


@pytest.mark.slow
def test_run_with_spss_writes_the_sav_files_in_the_report(tmp_path):
    runner = CliRunner()
    out = tmp_path / "report"
    result = runner.invoke(app, ["run", str(SEED), "--out", str(out), "--spss"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (out / "spss").iterdir())
    assert names == ["episodes.sav", "kinetics.sav", "survival.sav", "toxicity_grades.sav"]
    manifest = json.loads((out / ".cartkit-report.json").read_text())
    assert "spss/episodes.sav" in manifest["files"]  # cartkit's own: a later run may replace it
    again = runner.invoke(app, ["run", str(SEED), "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert not (out / "spss").exists()


def test_a_missing_table_names_the_spss_and_sas_files_it_may_be(tmp_path, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    (folder / "patients.csv").unlink()
    with pytest.raises(StudyError) as info:
        load_study(folder)
    (missing,) = [p for p in info.value.errors if p.rule.startswith("missing required table 'patients'")]
    assert "patients.sav, patients.sas7bdat, patients.xpt" in missing.rule
