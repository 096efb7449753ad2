"""IEC-HS end to end: the seed study with IEC-HS laboratory values added to two episodes, derived, analysed
and reported; with a recorded IEC-HS adverse event, the recorded grade is analysed and the disagreements
with the derived grades are listed. The seed itself has no ferritin after infusion: no IEC-HS section."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"


def _study(tmp_path: Path, recorded: bool) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(SEED, folder)
    (folder / "published.toml").unlink()
    m = pl.read_csv(folder / "measurements.csv", infer_schema=False).with_columns(uln=pl.lit(None, pl.String))
    added = pl.DataFrame([
        # P1 episode 1 (CD19, DLBCL): ferritin far above 2 x any reference and fibrinogen 1.0 g/L on day 10;
        # nothing given after day 10 -> grade 1, onset day 10
        ("P1", "1", "10", "ferritin", "50000", "ng/mL", "300"), ("P1", "1", "10", "fibrinogen", "100", "mg/dL", None),
        # P8 episode 2 (CD22, B-ALL): ferritin and ALT > 5 x ULN on day 5, anakinra on day 6 -> grade 2
        ("P8", "2", "5", "ferritin", "50000", "ng/mL", "300"), ("P8", "2", "5", "alt", "1000", "U/L", "40"),
    ], schema=["patient_id", "episode", "day", "analyte", "value", "unit", "uln"], orient="row")
    pl.concat([m, added], how="diagonal").write_csv(folder / "measurements.csv")
    support = pl.read_csv(folder / "support.csv", infer_schema=False)
    extra = pl.DataFrame([("P8", "2", "6", "anakinra", "anakinra", "100", "mg")],
                         schema=["patient_id", "episode", "day", "kind", "agent", "dose", "dose_unit"], orient="row")
    pl.concat([support, extra], how="diagonal").write_csv(folder / "support.csv")
    if recorded:
        ae = pl.read_csv(folder / "adverse_events.csv", infer_schema=False)
        row = pl.DataFrame([("P1", "1", "IEC-HS", "3", "astct2023", "11", "20")],
                           schema=["patient_id", "episode", "term", "grade", "grading_system", "onset_day",
                                   "resolution_day"], orient="row")
        pl.concat([ae, row], how="diagonal").write_csv(folder / "adverse_events.csv")
    return folder


def _run(folder: Path):
    study = cartkit.load_study(folder)
    derived = derive(study)
    return derived, analyse(study, derived)


def test_derived_iec_hs_by_product_and_disease(tmp_path):
    derived, results = _run(_study(tmp_path, recorded=False))
    grades = {(r["patient_id"], r["episode"]): r for r in derived.iec_hs.iter_rows(named=True)}
    assert (grades[("P1", 1)]["grade"], grades[("P1", 1)]["onset_day"]) == (1, 10)
    assert grades[("P1", 1)]["features"].startswith("ferritin") and "fibrinogen" in grades[("P1", 1)]["features"]
    assert (grades[("P8", 2)]["grade"], grades[("P8", 2)]["onset_day"]) == (2, 5)
    assert grades[("P2", 1)]["grade"] is None  # no ferritin after infusion: undetermined
    summary = results.tables["iec_hs_summary"]
    cd19_dlbcl = summary.filter((pl.col("product") == "CD19 CAR-T") & (pl.col("diagnosis") == "DLBCL")).row(0, named=True)
    assert (cd19_dlbcl["episodes"], cd19_dlbcl["graded"], cd19_dlbcl["n_any"], cd19_dlbcl["n_grade3"]) == (7, 1, 1, 0)
    cd22_ball = summary.filter((pl.col("product") == "CD22 CAR-T") & (pl.col("diagnosis") == "B-ALL")).row(0, named=True)
    assert (cd22_ball["graded"], cd22_ball["n_any"], cd22_ball["onset_median"]) == (1, 1, 5.0)
    assert results.tables["iec_hs"]["patient_id"].to_list() == ["P1", "P8"]
    assert derived.disagreements.filter(pl.col("item") == "iec-hs").height == 0  # nothing recorded


def test_recorded_iec_hs_is_analysed_and_disagreements_listed(tmp_path):
    derived, results = _run(_study(tmp_path, recorded=True))
    p1 = derived.iec_hs.filter((pl.col("patient_id") == "P1") & (pl.col("episode") == 1)).row(0, named=True)
    assert (p1["grade"], p1["source"], p1["onset_day"]) == (3, "recorded", 11)
    rows = derived.disagreements.filter(pl.col("item") == "iec-hs").select("patient_id", "episode", "recorded",
                                                                           "derived").rows()
    assert rows == [("P1", 1, "3", "1"), ("P8", 2, None, "2")]
    # recorded: an episode without the adverse event had none (grade 0), so every episode is graded
    assert results.tables["iec_hs_summary"]["graded"].sum() == 26


def test_report_has_the_iec_hs_section_only_when_there_is_iec_hs(tmp_path):
    from cartkit.report.html import build_sections

    def anchors(results) -> set[str]:
        return {s.id for s in build_sections(results, {})} | {b.id for s in build_sections(results, {})
                                                              for b in s.blocks}

    derived, results = _run(_study(tmp_path, recorded=False))
    assert {"further-toxicities", "iec-hs"} <= anchors(results)
    seed = cartkit.load_study(SEED)
    seed_results = analyse(seed, derive(seed))
    assert seed_results.tables["iec_hs_summary"] is None
    assert not {"further-toxicities", "iec-hs"} & anchors(seed_results)


def test_methods_name_the_iec_hs_consensus_and_its_derivation(tmp_path):
    _, results = _run(_study(tmp_path, recorded=False))
    methods = dict(results.tables["methods"].rows())
    assert "Hines MR et al." in methods["IEC-HS"] and "grades from: derived" in methods["IEC-HS"]
    assert "ferritin above 2 x the upper limit of normal" in methods["IEC-HS"]
