"""Derive stage: Lee 2014 CRS from support doses, ICAHT censoring / late ICAHT / T-ICAHT,
and CAPD for children under 12. Hand-built Studies; expected values counted by hand."""

import datetime as dt

import polars as pl
import pytest
from study_rows import make_study

from cartkit.derive.toxicity import censor_days, crs_daily, derive_crs, derive_hematologic, derive_icans
from cartkit.study.model import Study

D0 = dt.date(2020, 1, 1)



def inf(p: str, episode: int = 1, date: dt.date = D0) -> dict:
    return dict(patient_id=p, episode=episode, product="CD19 CAR-T", target="CD19", infusion_date=date)


def pat(p: str, age: float = 50.0, weight: float | None = None) -> dict:
    return dict(patient_id=p, age=age, sex="male", diagnosis="DLBCL", weight_kg=weight)


def m(p: str, day: int, analyte: str, value: float, episode: int = 1) -> dict:
    unit = {"temperature": "C", "sbp": "mmHg"}.get(analyte, "10^9/L")
    return dict(patient_id=p, episode=episode, day=day, analyte=analyte, value=value, unit=unit)


def sup(p: str, day: int, kind: str, **kw) -> dict:
    return dict(patient_id=p, episode=1, day=day, kind=kind, **kw)


def by_patient(frame: pl.DataFrame, column: str) -> dict:
    return dict(frame.select("patient_id", column).iter_rows())


# ------------------------------------------------------------------ Lee 2014

LEE = {
    # patient: (support rows on day 2 besides the fever, weight kg, lee2014 max, astct2019 max)
    "NE25": (
        [sup("NE25", 2, "vasopressor", agent="norepinephrine", dose=25.0, dose_unit="ug/min")],
        None,
        3,
        3,
    ),
    "NE20": (
        [sup("NE20", 2, "vasopressor", agent="norepinephrine", dose=20.0, dose_unit="ug/min")],
        None,
        3,
        3,
    ),
    "NE19": (
        [sup("NE19", 2, "vasopressor", agent="norepinephrine", dose=19.9, dose_unit="ug/min")],
        None,
        2,
        3,
    ),
    # 0.2 ug/kg/min x 80 kg = 16 ug/min -> low; 0.3 x 80 = 24 -> high
    "NEKG16": (
        [sup("NEKG16", 2, "vasopressor", agent="norepinephrine", dose=0.2, dose_unit="ug/kg/min")],
        80.0,
        2,
        3,
    ),
    "NEKG24": (
        [sup("NEKG24", 2, "vasopressor", agent="norepinephrine", dose=0.3, dose_unit="ug/kg/min")],
        80.0,
        3,
        3,
    ),
    "NOWT": (
        [sup("NOWT", 2, "vasopressor", agent="norepinephrine", dose=0.3, dose_unit="ug/kg/min")],
        None,
        None,
        3,
    ),
    # vasopressin + NE: equivalent >= 10 is high dose
    "VP8": (
        [
            sup("VP8", 2, "vasopressor", agent="norepinephrine", dose=8.0, dose_unit="ug/min"),
            sup("VP8", 2, "vasopressin", agent="vasopressin", dose=0.03, dose_unit="U/min"),
        ],
        None,
        2,
        3,
    ),
    "VP12": (
        [
            sup("VP12", 2, "vasopressor", agent="norepinephrine", dose=12.0, dose_unit="ug/min"),
            sup("VP12", 2, "vasopressin", agent="vasopressin", dose=0.03, dose_unit="U/min"),
        ],
        None,
        3,
        3,
    ),
    "DOPA": ([sup("DOPA", 2, "vasopressor", agent="dopamine", dose=5.0, dose_unit="ug/kg/min")], None, 2, 3),
    # two catecholamines = multiple vasopressors: Lee 3, ASTCT 4
    "MULTI": (
        [
            sup("MULTI", 2, "vasopressor", agent="norepinephrine", dose=2.0, dose_unit="ug/min"),
            sup("MULTI", 2, "vasopressor", agent="phenylephrine", dose=20.0, dose_unit="ug/min"),
        ],
        None,
        3,
        4,
    ),
    "NODOSE": ([sup("NODOSE", 2, "vasopressor", agent="norepinephrine")], None, None, 3),
    # FiO2 from support.fio2_pct: facemask 40% -> 3, 35% -> 2 (ASTCT: facemask = high flow -> 3)
    "FIO40": ([sup("FIO40", 2, "oxygen", o2_device="facemask", fio2_pct=40.0)], None, 3, 3),
    "FIO35": ([sup("FIO35", 2, "oxygen", o2_device="facemask", fio2_pct=35.0)], None, 2, 3),
    "FEVER": ([], None, 1, 1),
}


@pytest.fixture(scope="module")
def lee_study() -> Study:
    support, meas = [], []
    for p, (rows, _w, _lee, _astct) in LEE.items():
        support += rows
        meas += [m(p, 2, "temperature", 38.5), m(p, 3, "temperature", 37.0)]
    return make_study(
        patients=[pat(p, weight=w) for p, (_r, w, _l, _a) in LEE.items()],
        infusions=[inf(p) for p in LEE],
        measurements=meas,
        support=support,
    )


@pytest.mark.parametrize("system, index", [("lee2014", 2), ("astct2019", 3)])
def test_derive_crs_lee2014_from_support_doses(lee_study, system, index):
    got = by_patient(derive_crs(lee_study, system=system), "crs_max")
    assert got == {p: spec[index] for p, spec in LEE.items()}


def test_crs_daily_reports_dose_inputs(lee_study):
    d = crs_daily(lee_study, "lee2014").filter(pl.col("day") == 2)
    high = by_patient(d, "high_dose_vasopressor")
    ne = by_patient(d, "ne_equivalent_ug_min")
    assert high["NEKG24"] is True and high["NEKG16"] is False and high["NOWT"] is None
    assert ne["NEKG24"] == pytest.approx(24.0) and ne["VP12"] == pytest.approx(12.0)
    assert ne["DOPA"] == pytest.approx(2.5)  # VASST: dopamine / 2
    assert ne["MULTI"] == pytest.approx(2.0 + 20.0 / 10)
    assert by_patient(d, "fio2_pct")["FIO35"] == 35.0
    # astct2019 does not use the dose: the columns are null
    assert (
        crs_daily(lee_study, "astct2019")["high_dose_vasopressor"].null_count()
        == crs_daily(lee_study, "astct2019").height
    )


# ------------------------------------------------------------------ ICAHT, late ICAHT, T-ICAHT


@pytest.fixture(scope="module")
def haem_study() -> Study:
    meas = []
    # PROG: ANC 0.3 days 0-20, progression dated day 10 -> days 0-9 count: 10 days -> 2 (21 uncensored -> 3)
    meas += [m("PROG", d, "anc", 0.3) for d in range(0, 21)] + [m("PROG", 21, "anc", 2.0)]
    # NEXT: ANC 0.3 days 0-29 (30 days -> 4); next infusion 15 days later -> days 0-14: 15 days -> 3
    meas += [m("NEXT", d, "anc", 0.3) for d in range(0, 30)] + [m("NEXT", 30, "anc", 2.0)]
    # THER: ANC 0.05 days 0-20; new therapy on day 5 (episode/day, no date) -> 5 days -> 1 (uncensored 4)
    meas += [m("THER", d, "anc", 0.05) for d in range(0, 21)]
    # LATE: ANC 2.0 days 0-30 (early 0), ANC 1.0 on days 35 and 60 -> late 2; platelets < 50 days 0-9 -> T 2
    meas += [m("LATE", d, "anc", 2.0) for d in range(0, 31)] + [
        m("LATE", 35, "anc", 1.0),
        m("LATE", 60, "anc", 1.0),
    ]
    meas += [m("LATE", d, "platelets", 40.0) for d in range(0, 10)] + [m("LATE", 10, "platelets", 150.0)]
    # DEAD: platelets 15 days 0-20, death day 14 -> days 0-13 < 20: 14 days -> T 4; death day 13 would be 3
    meas += [m("DEAD", d, "platelets", 15.0) for d in range(0, 21)]
    events = [
        dict(patient_id="PROG", kind="progression", date=D0 + dt.timedelta(days=10)),
        dict(patient_id="PROG", kind="progression", date=D0 - dt.timedelta(days=30)),  # before: ignored
        dict(patient_id="THER", kind="new_therapy", episode=1, day=5),
        dict(patient_id="DEAD", kind="death", date=D0 + dt.timedelta(days=14)),
        dict(patient_id="LATE", kind="hsct", date=D0 + dt.timedelta(days=40)),  # not in the default list
    ]
    pats = ["PROG", "NEXT", "THER", "LATE", "DEAD"]
    return make_study(
        patients=[pat(p) for p in pats],
        infusions=[inf(p) for p in pats] + [inf("NEXT", 2, D0 + dt.timedelta(days=15))],
        measurements=meas,
        events=events,
    )


def scores(study: Study, **kw) -> dict:
    h = derive_hematologic(study, **kw).unique(["patient_id", "episode"]).filter(pl.col("episode") == 1)
    return {r["patient_id"]: r for r in h.to_dicts()}


def test_icaht_censored_at_progression_new_therapy_death_next_infusion(haem_study):
    s = scores(haem_study)
    assert {p: s[p]["icaht_grade"] for p in ("PROG", "NEXT", "THER", "LATE")} == {
        "PROG": 2,
        "NEXT": 3,
        "THER": 1,
        "LATE": 0,
    }
    assert {p: (s[p]["icaht_censor_day"], s[p]["icaht_censor_reason"]) for p in s} == {
        "PROG": (10, "progression"),
        "NEXT": (15, "next_infusion"),
        "THER": (5, "new_therapy"),
        "LATE": (None, None),
        "DEAD": (14, "death"),
    }
    assert s["PROG"]["days_anc_le_0.5"] == 10 and s["THER"]["days_anc_le_0.1"] == 5


def test_icaht_censoring_is_a_parameter(haem_study):
    s = scores(haem_study, icaht_censor_at=[])
    assert {p: s[p]["icaht_grade"] for p in ("PROG", "NEXT", "THER")} == {"PROG": 3, "NEXT": 4, "THER": 4}
    s = scores(haem_study, icaht_censor_at=["hsct"])
    assert s["LATE"]["icaht_censor_day"] == 40 and s["LATE"]["late_icaht_grade"] is None  # only day 35 left
    with pytest.raises(ValueError, match="surgery"):
        censor_days(haem_study, ["surgery"])


def test_ticaht_is_censored_at_its_own_criteria_files_events(haem_study, monkeypatch):
    # DEAD: platelets 15 on days 0-20, death on day 14: censored there, 14 days < 20 (ticaht_eha_ebmt2024.toml
    # censor_at lists death); a T-ICAHT file without censoring events counts days 0-20, 21 days, while
    # ICAHT (its own file) is still censored at the death
    import cartkit.derive.toxicity as tox

    assert scores(haem_study)["DEAD"]["days_plt_lt_20"] == 14
    spec = dict(tox.ticaht_criteria(), censor_at=[])
    monkeypatch.setattr(tox, "ticaht_criteria", lambda: spec)
    dead = scores(haem_study)["DEAD"]
    assert dead["days_plt_lt_20"] == 21 and dead["ticaht_grade"] == 4
    assert (dead["icaht_censor_day"], dead["icaht_censor_reason"]) == (14, "death")


def test_late_icaht_and_ticaht(haem_study):
    s = scores(haem_study)
    assert s["LATE"]["late_icaht_grade"] == 2 and s["LATE"]["late_anc_measurements"] == 2
    assert s["PROG"]["late_icaht_grade"] is None  # no ANC after day +30
    assert s["LATE"]["ticaht_grade"] == 2 and s["LATE"]["days_plt_lt_50"] == 10
    assert s["DEAD"]["ticaht_grade"] == 4 and s["DEAD"]["days_plt_lt_20"] == 14
    assert s["PROG"]["ticaht_grade"] is None  # no platelet counts


def test_existing_hematologic_columns_are_kept(haem_study):
    cols = derive_hematologic(haem_study).columns
    for c in (
        "analyte",
        "term",
        "worst_grade",
        "nadir",
        "nadir_day",
        "days_grade_3plus",
        "icaht_grade",
        "car_hematotox",
        "easix",
        "baseline_day",
    ):
        assert c in cols


# ------------------------------------------------------------------ CAPD


def test_icans_uses_capd_under_12_and_ice_from_12():
    neuro = [
        # C8 (8 y): ICE 2 ignored; CAPD 10 -> 3 on day 3; CAPD 5 + awakens to voice -> 2 on day 4
        dict(patient_id="C8", episode=1, day=3, ice_score=2, capd_score=10, consciousness="normal"),
        dict(patient_id="C8", episode=1, day=4, capd_score=5, consciousness="awakens_to_voice"),
        # CICE (8 y): only an ICE score -> not valid under 12, nothing else -> 0
        dict(patient_id="CICE", episode=1, day=3, ice_score=2, consciousness="normal"),
        # A12 (12.0 y): ICE 5 -> 2, CAPD ignored
        dict(patient_id="A12", episode=1, day=3, ice_score=5, capd_score=20, consciousness="normal"),
        # OLD (11.9 y at first infusion, second infusion 40 days later: 12.01 y) -> ICE on episode 2
        dict(patient_id="OLD", episode=1, day=3, ice_score=5, capd_score=9, consciousness="normal"),
        dict(patient_id="OLD", episode=2, day=3, ice_score=5, capd_score=9, consciousness="normal"),
    ]
    study = make_study(
        patients=[pat("C8", 8.0), pat("CICE", 8.0), pat("A12", 12.0), pat("OLD", 11.9)],
        infusions=[inf("C8"), inf("CICE"), inf("A12"), inf("OLD"), inf("OLD", 2, D0 + dt.timedelta(days=40))],
        neuro=neuro,
    )
    out = derive_icans(study)
    got = {
        (r["patient_id"], r["episode"]): (r["icans_max"], r["icans_onset_day"], r["icans_duration_days"])
        for r in out.to_dicts()
    }
    assert got == {
        ("C8", 1): (3, 3, 2),
        ("CICE", 1): (0, None, 0),
        ("A12", 1): (2, 3, 1),
        ("OLD", 1): (3, 3, 1),  # CAPD 9 -> 3
        ("OLD", 2): (2, 3, 1),  # 11.9 + 40 / 365.25 = 12.01 y: ICE 5 -> 2
    }
