"""Derive stage: late T-ICAHT, platelet transfusions (support kind "platelet_transfusion"),
missing counts, haemoglobin recorded in mmol/L, and Lee 2014 without a fever gate.

Hand-worked vignettes; criteria in docs/criteria.md (T-ICAHT: Rejeski, Blood Adv 2024,
Table 1; CTCAE v4.03 anemia; Lee 2014 Table 2).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from study_rows import make_study

from cartkit.derive.toxicity import derive_crs, derive_hematologic, hematologic_grades_long
from cartkit.study.model import Study

D0 = dt.date(2020, 1, 1)


def inf(p: str) -> dict:
    return dict(patient_id=p, episode=1, product="CD19 CAR-T", target="CD19", infusion_date=D0)


def pat(p: str, weight: float | None = 70.0) -> dict:
    return dict(patient_id=p, age=50.0, sex="male", diagnosis="DLBCL", weight_kg=weight)


def m(p: str, day: int, analyte: str, value: float | None, unit: str = "10^9/L") -> dict:
    return dict(patient_id=p, episode=1, day=day, analyte=analyte, value=value, unit=unit)


def tx(p: str, day: int) -> dict:
    return dict(patient_id=p, episode=1, day=day, kind="platelet_transfusion", agent="platelets", dose=1.0)


@pytest.fixture(scope="module")
def study() -> Study:
    meas, support = [], []
    # LATE4: platelets 150 days 0-30 (early 0); < 20 on days 31, 38 and 44, recovered day 45:
    # days 31-44 = 14 days < 20 -> late T-ICAHT 4
    meas += [m("LATE4", d, "platelets", 150.0) for d in range(0, 31)]
    meas += [m("LATE4", d, "platelets", v) for d, v in ((31, 10.0), (38, 12.0), (44, 15.0), (45, 150.0))]
    # LATE1: platelets 80 on days 40 and 60 (< 100 three times with the 10 of day 70) -> late 1;
    # one count < 50 (and < 20) is transient
    meas += [m("LATE1", d, "platelets", v) for d, v in ((0, 150.0), (40, 80.0), (60, 80.0), (70, 10.0),
                                                       (71, 150.0))]
    # TX: platelets 10 on days 0-4, transfused on day 4; 60 on days 5-9 (within 7 days of the
    # transfusion: not recovery), 150 from day 11. < 20 on days 0-10 = 11 days -> early 3;
    # without the transfusion record < 20 on days 0-4 = 5 days -> also 3, but days_plt_lt_20 5 vs 11.
    meas += [m("TX", d, "platelets", 10.0) for d in range(0, 5)]
    meas += [m("TX", d, "platelets", 60.0) for d in range(5, 11)] + [m("TX", 11, "platelets", 150.0)]
    support += [tx("TX", 4)]
    # TX14: same, transfusions on days 4 and 9 cover counts up to day 15 -> 16 days < 20 -> early 4
    meas += [m("TX14", d, "platelets", 10.0) for d in range(0, 5)]
    meas += [m("TX14", d, "platelets", 60.0) for d in range(5, 16)] + [m("TX14", 16, "platelets", 150.0)]
    support += [tx("TX14", 4), tx("TX14", 9)]
    # GAP: ANC 0.3 on day 0, not measured (null) on day 7, 2.0 on day 14 -> 14 days <= 0.5 -> 3
    meas += [m("GAP", 0, "anc", 0.3), m("GAP", 7, "anc", None), m("GAP", 14, "anc", 2.0)]
    # HBMMOL: haemoglobin recorded in mmol/L on the printed cut-points, LLN 7.5 mmol/L
    for d, v in ((1, 6.2), (2, 6.5)):
        meas.append(m("HBMMOL", d, "hemoglobin", v, "mmol/L"))
    pats = ["LATE4", "LATE1", "TX", "TX14", "GAP", "HBMMOL"]
    s = make_study(
        patients=[pat(p) for p in pats], infusions=[inf(p) for p in pats], measurements=meas, support=support
    )
    # as the loader leaves it: canonical g/L values and the unit as written in unit_original
    meas_t = s.tables["measurements"].with_columns(unit_original=pl.col("unit"))
    mmol = pl.col("unit") == "mmol/L"
    s.tables["measurements"] = meas_t.with_columns(
        value=pl.when(mmol).then(pl.col("value") * 16.11).otherwise(pl.col("value")),
        lln=pl.when(mmol).then(pl.lit(7.5 * 16.11)).otherwise(pl.col("lln")),
        unit=pl.when(mmol).then(pl.lit("g/L")).otherwise(pl.col("unit")),
    )
    return s


def scores(study: Study) -> dict:
    h = derive_hematologic(study).unique(["patient_id", "episode"])
    return {r["patient_id"]: r for r in h.to_dicts()}


def test_late_ticaht_is_derived(study):
    s = scores(study)
    assert s["LATE4"]["ticaht_grade"] == 0
    assert s["LATE4"]["late_ticaht_grade"] == 4 and s["LATE4"]["late_days_plt_lt_20"] == 14
    assert s["LATE4"]["late_plt_measurements"] == 4
    # < 100 on days 40-70 (80, 80, then 10 on day 70; 150 on day 71): 31 days; < 20 on one count only
    assert s["LATE1"]["late_ticaht_grade"] == 1 and s["LATE1"]["late_days_plt_lt_100"] == 31
    assert s["TX"]["late_ticaht_grade"] is None  # no count after day 30


def test_transfused_platelet_counts_are_not_recovery(study):
    s = scores(study)
    assert s["TX"]["ticaht_grade"] == 3 and s["TX"]["days_plt_lt_20"] == 11
    assert s["TX14"]["ticaht_grade"] == 4 and s["TX14"]["days_plt_lt_20"] == 16


def test_a_missing_anc_does_not_end_neutropenia(study):
    s = scores(study)
    assert s["GAP"]["icaht_grade"] == 3 and s["GAP"]["days_anc_le_0.5"] == 14


def test_haemoglobin_in_mmol_per_l_at_the_printed_cut_point(study):
    # CTCAE v4.03 anemia grade 1 "<LLN - 6.2 mmol/L": 6.2 mmol/L (99.88 g/L) is grade 1, not 2
    long = hematologic_grades_long(study).filter(pl.col("patient_id") == "HBMMOL")
    assert long["worst_grade"].to_list() == [1]


def test_lee2014_grades_an_afebrile_patient_on_high_dose_norepinephrine():
    # Lee 2014 Table 2 grade 3: "hypotension requiring high-dose ... vasopressors"; no fever needed.
    # Norepinephrine 25 ug/min (>= 20 ug/min monotherapy: high dose), temperature 37.0 C.
    s = make_study(
        patients=[pat("AF")],
        infusions=[inf("AF")],
        measurements=[m("AF", 3, "temperature", 37.0, "C"), m("AF", 3, "sbp", 80.0, "mmHg")],
        support=[dict(patient_id="AF", episode=1, day=3, kind="vasopressor", agent="norepinephrine",
                      dose=25.0, dose_unit="ug/min")],
    )
    assert derive_crs(s, system="lee2014")["crs_max"].to_list() == [3]
    assert derive_crs(s, system="astct2019")["crs_max"].to_list() == [0]  # ASTCT requires fever
