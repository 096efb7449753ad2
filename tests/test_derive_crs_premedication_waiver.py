"""A fever-masking drug given before any fever does not waive the fever requirement (derive/toxicity.py
crs_daily ``treated``; review 2026-12-02).

ASTCT 2019 (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-638, Table 2 footnote): "In patients who
have CRS then receive antipyretic or anticytokine therapy such as tocilizumab or steroids, fever is no longer
required to grade subsequent CRS severity." The waiver needs the therapy on or after the CRS (its fever);
crs_daily's docstring says so ("prophylaxis before any fever does not waive it"). The code took the drug at
any time in the episode AND a fever at any time, so the acetaminophen premedication on the infusion day
(every CAR-T label asks for it) waived the requirement as soon as a fever came days later, and an afebrile
day of oxygen or low blood pressure afterwards was graded CRS 2 (found: episode max 2; expected 1)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from study_rows import make_study

from cartkit.derive.toxicity import crs_daily, derive_crs


def _study():
    inf = [dict(patient_id=p, episode=1, product="CD19 CAR-T", target="CD19", infusion_date=dt.date(2020, 1, 1))
           for p in ("PREMED", "TREATED")]
    m = []
    for p in ("PREMED", "TREATED"):
        # fever (38.6 C) on day 3 only; afebrile (37.0 C) day 5 with low-flow oxygen; blood pressure normal
        m += [dict(patient_id=p, episode=1, day=d, analyte="temperature", value=t, unit="C")
              for d, t in ((0, 36.8), (1, 37.0), (2, 37.1), (3, 38.6), (4, 37.4), (5, 37.0), (6, 36.9))]
        m += [dict(patient_id=p, episode=1, day=d, analyte="sbp", value=120.0, unit="mmHg") for d in range(7)]
    s = [
        # PREMED: acetaminophen premedication on day 0, before any fever; nothing given for the fever of day 3
        dict(patient_id="PREMED", episode=1, day=0, kind="antipyretic", agent="acetaminophen"),
        dict(patient_id="PREMED", episode=1, day=5, kind="oxygen", o2_device="nasal_cannula", o2_flow_l_min=2.0),
        # TREATED: the fever of day 3 treated with an antipyretic that day: fever no longer required after it
        dict(patient_id="TREATED", episode=1, day=3, kind="antipyretic", agent="acetaminophen"),
        dict(patient_id="TREATED", episode=1, day=5, kind="oxygen", o2_device="nasal_cannula", o2_flow_l_min=2.0),
    ]
    return make_study(infusions=inf, measurements=m, support=s)


def _day(daily: pl.DataFrame, p: str, d: int) -> dict:
    return daily.filter((pl.col("patient_id") == p) & (pl.col("day") == d)).to_dicts()[0]


def test_premedication_before_the_fever_does_not_waive_it():
    study = _study()
    daily = crs_daily(study)
    # PREMED day 5: afebrile, fever still required (the antipyretic came before the CRS): no CRS that day
    assert not _day(daily, "PREMED", 5)["treated"] and _day(daily, "PREMED", 5)["crs_grade"] == 0
    assert not _day(daily, "PREMED", 3)["treated"] and _day(daily, "PREMED", 3)["crs_grade"] == 1
    # TREATED day 5: the antipyretic for the fever of day 3 waives it: low-flow oxygen -> grade 2
    assert _day(daily, "TREATED", 3)["treated"] and _day(daily, "TREATED", 5)["crs_grade"] == 2
    crs = {r["patient_id"]: r for r in derive_crs(study).to_dicts()}
    assert (crs["PREMED"]["crs_max"], crs["PREMED"]["crs_duration_days"]) == (1, 1)
    assert (crs["TREATED"]["crs_max"], crs["TREATED"]["crs_duration_days"]) == (2, 2)
