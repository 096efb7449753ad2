"""The derive stage's own rules: which grades are primary, and who is left out for HSCT."""

from __future__ import annotations

import datetime as dt

import polars as pl
from study_rows import make_study

from cartkit.derive import derive
from cartkit.study.model import Plan, SurvivalPlan

D0 = dt.date(2019, 1, 1)


def _study(**extra):
    infusions = [
        dict(patient_id=p, episode=e, product=f"CD{18 + e} CAR-T", target=f"CD{18 + e}",
             infusion_date=D0 + dt.timedelta(days=100 * (e - 1) + i))
        for i, p in enumerate(("A", "B")) for e in (1, 2)
    ]
    patients = [dict(patient_id=p, age=50.0, sex="male", diagnosis="DLBCL") for p in ("A", "B")]
    events = [
        # A: transplanted after the CD22 infusion (day 150 from CD19), alive at day 400
        dict(patient_id="A", kind="hsct", date=D0 + dt.timedelta(days=150)),
        dict(patient_id="A", kind="last_contact", date=D0 + dt.timedelta(days=400)),
        dict(patient_id="B", kind="death", date=D0 + dt.timedelta(days=301)),
    ]
    study = make_study(infusions=infusions, patients=patients, events=events, **extra)
    study.plan = Plan(products=("CD19 CAR-T", "CD22 CAR-T"), diseases=("DLBCL",),
                      survival=SurvivalPlan(from_product="CD19 CAR-T"))
    return study


def test_exclude_hsct_leaves_out_a_transplant_after_a_later_infusion():
    derived = derive(_study())
    excluded = derived.tte["exclude HSCT patients"]
    assert excluded["patient_id"].to_list() == ["B"]
    censored = derived.tte["censor at HSCT"].filter(pl.col("patient_id") == "A").row(0, named=True)
    assert (censored["os_days"], censored["os_event"]) == (150, False)
    # the response listing's HSCT flag is for the episode the transplant followed (CD22)
    assert derived.hsct.filter(pl.col("patient_id") == "A")["episode"].to_list() == [2]


def test_recorded_haematological_grade_is_primary_and_missing_counts_are_undetermined():
    measurements = [dict(patient_id="A", episode=1, day=d, analyte="hemoglobin", value=v, unit="g/L", lln=120.0)
                    for d, v in ((0, 110.0), (7, 90.0), (14, 100.0))]
    ae = [dict(patient_id="A", episode=1, term="anemia", grade=4, grading_system="ctcae4.03")]
    derived = derive(_study(measurements=measurements, adverse_events=ae))
    anemia = derived.hematologic.filter(pl.col("toxicity") == "Anemia").sort("patient_id", "episode")
    row = anemia.filter((pl.col("patient_id") == "A") & (pl.col("episode") == 1)).row(0, named=True)
    # recorded grade 4 kept (the counts alone say grade 2: Hb 90 g/L), nadir from the counts beside it
    assert (row["grade"], row["source"], row["nadir"]) == (4, "recorded", 90.0)
    assert anemia.filter(pl.col("patient_id") == "B")["grade"].to_list() == [0, 0]  # no AE recorded

    derived = derive(_study(measurements=measurements))  # counts only
    anemia = derived.hematologic.filter(pl.col("toxicity") == "Anemia")
    graded = dict(zip(zip(anemia["patient_id"], anemia["episode"], strict=True), anemia["grade"], strict=True))
    assert graded[("A", 1)] == 2  # CTCAE v4.03: Hb < 100 - 80 g/L
    assert graded[("B", 1)] is None  # no counts: undetermined, not grade 0


def test_crs_episodes_the_records_cannot_grade_stay_undetermined():
    temps = [dict(patient_id="A", episode=1, day=d, analyte="temperature", value=t, unit="C")
             for d, t in ((0, 36.8), (1, 38.6), (2, 37.0))]
    derived = derive(_study(measurements=temps))
    grades = dict(zip(zip(derived.crs["patient_id"], derived.crs["episode"], strict=True), derived.crs["grade"], strict=True))
    assert grades[("A", 1)] == 1  # fever >= 38 C alone: ASTCT 2019 grade 1
    assert grades[("B", 1)] is None  # no vital signs at all: not graded, not grade 0
    assert set(derived.crs["source"]) == {"derived"}


def test_a_recorded_grade_is_not_shown_again_as_a_derived_one():
    ae = [dict(patient_id="A", episode=1, term="cytokine release syndrome", grade=2, grading_system="ctcae4.03")]
    derived = derive(_study(adverse_events=ae))  # no vital signs: nothing to derive CRS from
    row = derived.crs.filter((pl.col("patient_id") == "A") & (pl.col("episode") == 1)).row(0, named=True)
    assert (row["grade"], row["source"], row["system"]) == (2, "recorded", "ctcae4.03")
    crs = derived.toxicity_systems.filter(pl.col("toxicity") == "CRS")
    assert set(crs["source"]) == {"recorded"}
