"""Infections (density per 100 patient-days at risk, Hill JA et al., Blood 2018;131:121), hypogammaglobulinaemia
and immunoglobulin replacement, named neurotoxicities and second primary malignancies.

The densities are computed by hand in the comments: days at risk are counted inclusively from the window's
first day to the first of its last day, death, last contact, the day before a subsequent therapy or the next
infusion, or the data cut-off.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.analysis.hypogammaglobulinaemia import igg_episodes, igg_summary
from cartkit.analysis.infections import episode_windows, infection_density, infections_by_type
from cartkit.analysis.late_effects import malignancy_summary, second_malignancies
from cartkit.derive import derive
from cartkit.study.problems import StudyError

D0 = dt.date(2020, 1, 1)
WINDOWS = {"early": (0, 30), "late": (31, 180)}
INFUSIONS = pl.DataFrame({
    "patient_id": ["A", "A", "B", "C"], "episode": [1, 2, 1, 1], "product": ["X", "Y", "X", "X"],
    "infusion_date": [D0, D0 + dt.timedelta(days=60), D0, D0],
})
GROUPS = INFUSIONS.select("patient_id", "episode", "product", diagnosis=pl.lit("DLBCL"))


def _events(*rows):
    return pl.DataFrame([(p, k, D0 + dt.timedelta(days=d), None) for p, k, d in rows],
                        schema={"patient_id": pl.String, "kind": pl.String, "date": pl.Date, "detail": pl.String},
                        orient="row")


INFECTIONS = pl.DataFrame([
    ("A", 1, 5, "bacterial", "bloodstream", 3),
    ("A", 1, 40, "viral", "respiratory", 2),
    ("A", 2, 100, "fungal", "respiratory", 4),
    ("B", 1, 8, "bacterial", "urinary", 2),
    ("C", 1, 50, "viral", "respiratory", 1),   # after C's last contact (day 45): not at risk
], schema={"patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64, "organism_class": pl.String,
           "site": pl.String, "grade": pl.Int64}, orient="row")


def _density(events, cutoff=None) -> dict:
    at_risk = episode_windows(INFUSIONS, events, cutoff, WINDOWS)
    out = infection_density(INFECTIONS, at_risk, GROUPS, ("X", "Y"), ("DLBCL",))
    return {(r["product"], r["window"]): r for r in out.iter_rows(named=True)}


def test_days_at_risk_end_at_death_last_contact_and_the_next_infusion():
    at_risk = episode_windows(INFUSIONS, _events(("B", "death", 10), ("C", "last_contact", 45)), None, WINDOWS)
    days = {(r["patient_id"], r["episode"], r["window"]): r["days_at_risk"] for r in at_risk.iter_rows(named=True)}
    # A1: next infusion on day 60 -> at risk to day 59: early 0-30 = 31 days, late 31-59 = 29
    assert (days[("A", 1, "early")], days[("A", 1, "late")]) == (31, 29)
    # A2: no end recorded, no cut-off -> both windows in full: 31 and 150 (31-180)
    assert (days[("A", 2, "early")], days[("A", 2, "late")]) == (31, 150)
    # B1: death on day 10 -> 0-10 = 11 days; none late.  C1: last contact day 45 -> 31 and 31-45 = 15
    assert (days[("B", 1, "early")], days[("B", 1, "late")]) == (11, 0)
    assert (days[("C", 1, "early")], days[("C", 1, "late")]) == (31, 15)


def test_infection_density_per_100_patient_days_by_hand():
    d = _density(_events(("B", "death", 10), ("C", "last_contact", 45)))
    # X early: A1 + B1 + C1 = 31 + 11 + 31 = 73 days; A1 day 5, B1 day 8: 2 infections -> 200/73
    x = d[("X", "early")]
    assert (x["patient_days"], x["infections"], x["episodes_with_infection"]) == (73, 2, 2)
    assert x["density"] == pytest.approx(200 / 73, abs=1e-9)
    # X late: 29 + 0 + 15 = 44 days; A1 day 40 (C1 day 50 is after its last contact) -> 100/44
    assert (d[("X", "late")]["patient_days"], d[("X", "late")]["infections"]) == (44, 1)
    assert d[("X", "late")]["density"] == pytest.approx(100 / 44, abs=1e-9)
    # Y (A2): early 31 days, none; late 150 days, day 100 -> 100/150
    assert d[("Y", "early")]["density"] == 0.0
    assert d[("Y", "late")]["density"] == pytest.approx(100 / 150, abs=1e-9)


def test_subsequent_therapy_and_cutoff_end_the_days_at_risk():
    # C starts a new therapy on day 20: at risk to day 19 (20 days), its day-50 infection is not counted;
    # the cut-off 2020-05-30 (day 150 from D0; day 90 of A2) ends A2's late window at day 90 (60 days)
    d = _density(_events(("B", "death", 10), ("C", "new_therapy", 20)), cutoff=dt.date(2020, 5, 30))
    assert d[("X", "early")]["patient_days"] == 31 + 11 + 20
    assert d[("X", "late")]["patient_days"] == 29
    assert d[("Y", "late")]["patient_days"] == 60 and d[("Y", "late")]["infections"] == 0


def test_infections_by_organism_class_and_site():
    t = infections_by_type(INFECTIONS, GROUPS)
    rows = {(r["product"], r["organism_class"], r["site"]): (r["infections"], r["episodes"], r["grade3"])
            for r in t.iter_rows(named=True)}
    assert rows[("X", "bacterial", "bloodstream")] == (1, 1, 1)
    assert rows[("X", "viral", "respiratory")] == (2, 2, 0)  # A1 day 40, C1 day 50: every recorded infection
    assert rows[("Y", "fungal", "respiratory")] == (1, 1, 1)


def test_igg_nadir_below_threshold_and_replacement():
    m = pl.DataFrame([("A", 1, -3, "igg", 700.0), ("A", 1, 30, "igg", 350.0), ("A", 1, 60, "igg", 420.0),
                      ("B", 1, 30, "igg", 400.0), ("C", 1, -1, "igg", 300.0)],
                     schema=["patient_id", "episode", "day", "analyte", "value"], orient="row")
    s = pl.DataFrame([("A", 1, 35, "immunoglobulin"), ("A", 1, 63, "immunoglobulin"), ("C", 1, -5, "immunoglobulin")],
                     schema=["patient_id", "episode", "day", "kind"], orient="row")
    e = {r["patient_id"]: r for r in igg_episodes(m, s, 400.0).iter_rows(named=True)}
    assert (e["A"]["igg_nadir"], e["A"]["nadir_day"], e["A"]["low"]) == (350.0, 30, True)
    assert (e["A"]["replacement"], e["A"]["replacement_first_day"], e["A"]["replacement_doses"]) == (True, 35, 2)
    assert e["B"]["low"] is False            # 400 is not below 400 mg/dL
    assert e["C"]["low"] is None and e["C"]["replacement"] is False  # baseline only; IVIG before day 0
    summary = igg_summary(igg_episodes(m, s, 400.0), GROUPS, ("X", "Y"), ("DLBCL",), 400.0)
    x = summary.filter(pl.col("product") == "X").row(0, named=True)
    assert (x["episodes"], x["igg_measured"], x["n_low"], x["n_replacement"], x["nadir_median"]) == (3, 2, 1, 1, 375.0)


def test_second_malignancies_from_the_first_infusion_t_cell_apart():
    events = pl.DataFrame([("A", "t_cell_malignancy", D0 + dt.timedelta(days=400), "CAR+ T-cell lymphoma"),
                           ("B", "second_malignancy", D0 + dt.timedelta(days=200), "MDS")],
                          schema=["patient_id", "kind", "date", "detail"], orient="row")
    patients = pl.DataFrame({"patient_id": ["A", "B", "C"], "diagnosis": ["DLBCL"] * 3})
    listing = second_malignancies(events, INFUSIONS, patients)
    assert listing.select("patient_id", "kind", "day", "products").rows() == [
        ("B", "second_malignancy", 200, "X"), ("A", "t_cell_malignancy", 400, "X; Y")]
    summary = malignancy_summary(listing, INFUSIONS, patients, ("DLBCL",))
    assert summary.select("kind", "n", "N").rows() == [("second_malignancy", 1, 3), ("t_cell_malignancy", 1, 3)]


# --------------------------------------------------------------------------------------- end to end

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"


def _seed_with(tmp_path: Path, infections: str) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(SEED, folder)
    (folder / "published.toml").unlink()
    (folder / "infections.csv").write_text(infections, encoding="utf-8")
    ae = pl.read_csv(folder / "adverse_events.csv", infer_schema=False)
    extra = pl.DataFrame([("P3", "1", "MNT", "2", "ctcae5.0", "40", "90"),
                          ("P9", "2", "facial nerve palsy", "3", "ctcae5.0", "21", "35")],
                         schema=["patient_id", "episode", "term", "grade", "grading_system", "onset_day",
                                 "resolution_day"], orient="row")
    pl.concat([ae, extra]).write_csv(folder / "adverse_events.csv")
    return folder


def test_study_with_infections_and_named_events_reports_them(tmp_path):
    csv = ("patient_id,episode,day,organism_class,organism,site,grade\n"
           "P1,1,5,bacterial,E. coli,bloodstream,3\nP1,1,12,virus,CMV,blood,2\nP8,2,9,fungal,Aspergillus,lung,4\n")
    study = cartkit.load_study(_seed_with(tmp_path, csv))
    assert study.infections["organism_class"].to_list() == ["bacterial", "viral", "fungal"]  # aliases mapped
    assert study.infections["site"].to_list() == ["bloodstream", "bloodstream", "respiratory"]
    results = analyse(study, derive(study))
    by_type = results.tables["infections_by_type"]
    assert by_type.filter((pl.col("product") == "CD19 CAR-T") & (pl.col("site") == "bloodstream"))["infections"].sum() == 2
    density = results.tables["infection_density"]
    assert set(density["window"]) == {"early", "late"} and density.height == 8  # 2 products x 2 diseases x 2
    assert density.filter(pl.col("window") == "early")["infections"].sum() == 3
    neuro = results.tables["neurotoxicities"]
    mnt = neuro.filter((pl.col("event") == "movement and neurocognitive toxicity") & (pl.col("product") == "CD19 CAR-T")
                       & (pl.col("diagnosis") == "DLBCL")).row(0, named=True)
    assert (mnt["n"], mnt["N"], mnt["onset_median"]) == (1, 7, 40.0)
    methods = dict(results.tables["methods"].rows())
    assert "Hill JA et al." in methods["Infections"] and "early days 0-30" in methods["Infections"]
    from cartkit.report.html import build_sections

    ids = {b.id for s in build_sections(results, {}) for b in s.blocks}
    assert {"infections", "neurotoxicities"} <= ids and "hypogammaglobulinaemia" not in ids


def test_bad_infection_rows_are_located_problems(tmp_path):
    csv = "patient_id,episode,day,organism_class,site,grade\nP1,1,5,prion,bloodstream,3\nP1,1,6,viral,,7\n"
    with pytest.raises(StudyError) as err:
        cartkit.load_study(_seed_with(tmp_path, csv))
    found = {(p.row, p.column, p.rule.split(";")[0].split(":")[0]) for p in err.value.problems
             if p.file.endswith("infections.csv")}
    assert (2, "organism_class", "unknown organism_class value") in found
    assert (3, "site", "required value is empty") in found
    assert (3, "grade", "impossible value") in found
