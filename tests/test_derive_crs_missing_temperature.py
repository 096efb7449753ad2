"""A day without a temperature is not an afebrile day (derive/toxicity.py, crs_daily / derive_crs).

ASTCT 2019 (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625, Table: grade 1 = fever >= 38.0 C;
grade 2 = fever with hypotension not needing vasopressors and/or low-flow oxygen; grade 3 = with one
vasopressor and/or high-flow oxygen; fever is not required once antipyretic or anticytokine therapy
has been given). Expected grades below are written from that table: with no temperature the day can
be afebrile (its lower grade) or febrile (its higher grade), and the records decide only when both agree.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from study_rows import make_study

from cartkit.derive import derive
from cartkit.derive.toxicity import crs_daily, derive_crs


def infusions(*patients: str) -> list[dict]:
    return [dict(patient_id=p, episode=1, product="CD19 CAR-T", target="CD19", infusion_date=dt.date(2020, 1, 1))
            for p in patients]


def vit(p: str, day: int, analyte: str, value: float) -> dict:
    return dict(patient_id=p, episode=1, day=day, analyte=analyte, value=value,
                unit={"temperature": "C", "sbp": "mmHg"}[analyte])


def sup(p: str, day: int, kind: str, **kw) -> dict:
    return dict(patient_id=p, episode=1, day=day, kind=kind, **kw)


def study():
    m = [
        # NOTEMP: febrile grade 1 on day 1; day 2 low-flow oxygen with a blood pressure but no temperature:
        # grade 0 afebrile (no CRS without fever, nothing given yet), 2 with fever -> undetermined day;
        # the episode's max is 1 at least, 2 at most -> undetermined
        vit("NOTEMP", 1, "temperature", 38.5), vit("NOTEMP", 2, "sbp", 110.0),
        # HIGHER: grade 3 on day 1 (fever + one vasopressor); day 2 without a temperature, low-flow oxygen
        # (at most 2): the day is undetermined, the episode's max is 3 either way
        vit("HIGHER", 1, "temperature", 39.0), vit("HIGHER", 1, "sbp", 80.0), vit("HIGHER", 2, "sbp", 100.0),
        # PREMED: temperatures normal on days 1-3; an antipyretic on day 0 with no vital sign that day: nothing
        # that could show CRS was measured -> grade 0 (the episode stays graded 0)
        vit("PREMED", 1, "temperature", 36.8), vit("PREMED", 2, "temperature", 37.0),
        vit("PREMED", 3, "temperature", 36.9),
        # SBPONLY: only blood pressures, normal: no CRS without fever, grade 1 with it -> undetermined
        vit("SBPONLY", 1, "sbp", 120.0), vit("SBPONLY", 2, "sbp", 118.0),
        # WAIVED: fever day 1, tocilizumab day 1; day 2 no temperature, fluids-responsive hypotension
        # (sbp 85): fever no longer required -> grade 2 whether febrile or not
        vit("WAIVED", 1, "temperature", 38.9), vit("WAIVED", 2, "sbp", 85.0),
    ]
    s = [
        sup("NOTEMP", 2, "oxygen", o2_device="nasal_cannula", o2_flow_l_min=2.0),
        sup("HIGHER", 1, "vasopressor", agent="norepinephrine"),
        sup("HIGHER", 2, "oxygen", o2_device="nasal_cannula", o2_flow_l_min=2.0),
        sup("PREMED", 0, "antipyretic", agent="paracetamol"),
        sup("WAIVED", 1, "tocilizumab", agent="tocilizumab"),
    ]
    return make_study(infusions=infusions("NOTEMP", "HIGHER", "PREMED", "SBPONLY", "WAIVED"), measurements=m,
                      support=s)


def day(daily: pl.DataFrame, p: str, d: int) -> dict:
    return daily.filter((pl.col("patient_id") == p) & (pl.col("day") == d)).to_dicts()[0]


def test_a_day_without_temperature_is_not_assessed_for_fever():
    daily = crs_daily(study())
    r = day(daily, "NOTEMP", 2)
    assert r["fever"] is None                       # not assessed, not False
    assert (r["crs_grade"], r["crs_grade_low"], r["crs_grade_high"]) == (None, 0, 2)
    r = day(daily, "HIGHER", 2)
    assert (r["crs_grade"], r["crs_grade_low"], r["crs_grade_high"]) == (None, 0, 2)
    # antipyretic premedication alone: nothing that could show CRS was measured
    r = day(daily, "PREMED", 0)
    assert r["fever"] is None and (r["crs_grade"], r["crs_grade_low"], r["crs_grade_high"]) == (None, 0, 0)
    # fever waived after tocilizumab: hypotension grades 2 either way
    r = day(daily, "WAIVED", 2)
    assert r["fever"] is None and (r["crs_grade"], r["crs_grade_low"], r["crs_grade_high"]) == (2, 2, 2)
    # measured days are unchanged: fever from the temperature
    assert day(daily, "NOTEMP", 1)["fever"] is True and day(daily, "NOTEMP", 1)["crs_grade"] == 1


def test_episode_max_is_undetermined_only_where_the_missing_temperature_could_change_it():
    notes: list[str] = []
    crs = derive_crs(study(), notes=notes)
    got = dict(zip(crs["patient_id"], crs["crs_max"], strict=True))
    # NOTEMP 1..2: undetermined; HIGHER 3 either way; PREMED 0; SBPONLY 0..1: undetermined; WAIVED 2
    assert got == {"HIGHER": 3, "NOTEMP": None, "PREMED": 0, "SBPONLY": None, "WAIVED": 2}
    assert len(notes) == 1
    note = notes[0]
    assert note.startswith("CRS (ASTCT 2019): no temperature was recorded on 3 day(s) whose grade depends on it")
    assert "derived CRS grade of 2 episode(s) is undetermined" in note
    for where in ("NOTEMP episode 1 day 2 (grade 0 afebrile, up to 2 with fever)",
                  "SBPONLY episode 1 day 1 (grade 0 afebrile, up to 1 with fever)",
                  "SBPONLY episode 1 day 2 (grade 0 afebrile, up to 1 with fever)"):
        assert where in note
    assert "HIGHER" not in note and "PREMED" not in note and "WAIVED" not in note


def test_the_note_reaches_the_derived_study_and_a_recorded_grade_stands_in():
    s = study()
    d = derive(s)
    assert sum("no temperature was recorded" in n for n in d.notes) == 1
    # without a recorded CRS, the undetermined episodes have no analysed grade (null, not 0)
    crs = dict(zip(d.crs["patient_id"], d.crs["grade"], strict=True))
    assert crs["NOTEMP"] is None and crs["SBPONLY"] is None and crs["HIGHER"] == 3


def test_complete_records_give_no_note():
    m = [vit("A", 1, "temperature", 38.2), vit("A", 2, "temperature", 37.0), vit("A", 2, "sbp", 120.0)]
    notes: list[str] = []
    crs = derive_crs(make_study(infusions=infusions("A"), measurements=m), notes=notes)
    assert crs["crs_max"].to_list() == [1] and notes == []
