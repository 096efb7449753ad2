"""Derive stage for toxicity on hand-built Studies (expected values counted by hand)."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from study_rows import make_study

from cartkit.derive.toxicity import (
    baseline_labs,
    compare_recorded,
    crs_daily,
    derive_crs,
    derive_hematologic,
    derive_hematotox_scores,
    derive_icans,
)
from cartkit.grading import crs_grade
from cartkit.study.model import Study


def infusions(*patients: str) -> list[dict]:
    return [
        dict(patient_id=p, episode=1, product="CD19 CAR-T", target="CD19", infusion_date=dt.date(2020, 1, 1))
        for p in patients
    ]


def vit(p: str, day: int, analyte: str, value: float, episode: int = 1) -> dict:
    unit = {"temperature": "C", "sbp": "mmHg"}.get(analyte, "10^9/L")
    return dict(patient_id=p, episode=episode, day=day, analyte=analyte, value=value, unit=unit)


def sup(p: str, day: int, kind: str, **kw) -> dict:
    return dict(patient_id=p, episode=1, day=day, kind=kind, **kw)


def row(frame: pl.DataFrame, patient: str) -> dict:
    return frame.filter(pl.col("patient_id") == patient).to_dicts()[0]


@pytest.fixture(scope="module")
def crs_study() -> Study:
    m, s = [], []
    # MASK: fever day 1, tocilizumab day 2, afebrile hypotension day 3 (fluids only) -> grade 2
    m += [vit("MASK", 1, "temperature", 38.6), vit("MASK", 2, "temperature", 37.5)]
    m += [vit("MASK", 3, "temperature", 37.0), vit("MASK", 3, "sbp", 85.0), vit("MASK", 4, "temperature", 36.8)]
    s += [sup("MASK", 2, "tocilizumab", agent="tocilizumab")]
    # PROPH: steroid on day 0 before any fever; afebrile hypotension day 2 -> not CRS (0)
    m += [vit("PROPH", 0, "temperature", 36.9), vit("PROPH", 2, "temperature", 37.2), vit("PROPH", 2, "sbp", 80.0)]
    s += [sup("PROPH", 0, "steroid", agent="dexamethasone")]
    # VASO: fever + norepinephrine + vasopressin -> 3 ("one vasopressor with or without vasopressin")
    m += [vit("VASO", 5, "temperature", 39.0), vit("VASO", 5, "sbp", 75.0)]
    s += [sup("VASO", 5, "vasopressor", agent="norepinephrine"), sup("VASO", 5, "vasopressin", agent="vasopressin")]
    # MULTI: fever + norepinephrine + phenylephrine -> 4
    m += [vit("MULTI", 5, "temperature", 39.0)]
    s += [sup("MULTI", 5, "vasopressor", agent="norepinephrine"), sup("MULTI", 5, "vasopressor", agent="phenylephrine")]
    # LOWO2: fever + nasal cannula exactly 6 L/min -> low flow -> 2; HIGHO2: 6.5 L/min -> high flow -> 3
    m += [vit("LOWO2", 2, "temperature", 38.0), vit("HIGHO2", 2, "temperature", 38.0)]
    s += [sup("LOWO2", 2, "oxygen", o2_device="nasal_cannula", o2_flow_l_min=6.0)]
    s += [sup("HIGHO2", 2, "oxygen", o2_device="nasal_cannula", o2_flow_l_min=6.5)]
    # CPAP on day 3 after fever on day 2 -> 4
    m += [vit("CPAP", 2, "temperature", 38.2), vit("CPAP", 3, "temperature", 38.4)]
    s += [sup("CPAP", 3, "oxygen", o2_device="cpap")]
    # AFEB: 37.9 C and sbp 90 -> 0 (boundaries: fever >= 38.0, hypotension < 90)
    m += [vit("AFEB", 1, "temperature", 37.9), vit("AFEB", 1, "sbp", 90.0)]
    # NONE: no vitals, nothing recorded -> null; REC: no vitals, recorded CTCAE grade 2 -> recorded
    ae = [
        dict(patient_id="REC", episode=1, term="cytokine release syndrome", grade=2, grading_system="ctcae4.03",
             onset_day=1, resolution_day=5),
        dict(patient_id="VASO", episode=1, term="cytokine release syndrome", grade=4, grading_system="ctcae4.03"),
        dict(patient_id="MASK", episode=1, term="cytokine release syndrome", grade=2, grading_system="astct2019"),
    ]
    pts = ["MASK", "PROPH", "VASO", "MULTI", "LOWO2", "HIGHO2", "CPAP", "AFEB", "NONE", "REC"]
    return make_study(infusions=infusions(*pts), measurements=m, support=s, adverse_events=ae)


@pytest.mark.parametrize(
    ("patient", "crs_max", "onset", "duration", "source"),
    [
        # day 1 fever (1); tocilizumab day 2, afebrile (0); day 3 afebrile hypotension, fever waived (2);
        # day 4 afebrile, nothing to grade (0): 2 CRS days
        ("MASK", 2, 1, 2, "derived"),
        ("PROPH", 0, None, 0, "derived"),
        ("VASO", 3, 5, 1, "derived"),
        ("MULTI", 4, 5, 1, "derived"),
        ("LOWO2", 2, 2, 1, "derived"),
        ("HIGHO2", 3, 2, 1, "derived"),
        ("CPAP", 4, 2, 2, "derived"),
        ("AFEB", 0, None, 0, "derived"),
        ("NONE", None, None, None, None),
        ("REC", 2, 1, 5, "recorded"),
    ],
)
def test_derive_crs_astct(crs_study, patient, crs_max, onset, duration, source):
    r = row(derive_crs(crs_study), patient)
    assert (r["crs_max"], r["crs_onset_day"], r["crs_duration_days"], r["source"]) == (
        crs_max,
        onset,
        duration,
        source,
    )


def test_derive_crs_columns_and_systems(crs_study):
    d = derive_crs(crs_study)
    assert d.columns == [
        "patient_id", "episode", "crs_max", "crs_onset_day", "crs_duration_days", "system", "source"
    ]
    assert d.height == 10
    assert row(d, "REC")["system"] == "ctcae4.03" and row(d, "VASO")["system"] == "astct2019"
    ctcae = derive_crs(crs_study, system="ctcae4.03")
    assert row(ctcae, "VASO")["crs_max"] == 4  # pressor support -> CTCAE v4.03 grade 4
    assert row(ctcae, "LOWO2")["crs_max"] == 2


def test_crs_daily_masking_and_hypotension_categories(crs_study):
    daily = crs_daily(crs_study).filter(pl.col("patient_id") == "MASK").sort("day")
    assert daily["crs_grade"].to_list() == [1, 0, 2, 0]
    assert daily["treated"].to_list() == [False, True, True, True]
    assert daily["hypotension"].to_list() == ["none", "none", "fluids", "none"]


def test_crs_daily_agrees_with_scalar_on_random_records():
    rng = np.random.default_rng(3)
    m, s = [], []
    pts = [f"R{i}" for i in range(60)]
    for p in pts:
        for day in range(0, 8):
            if rng.random() < 0.8:
                m.append(vit(p, day, "temperature", float(rng.choice([36.5, 37.9, 38.0, 39.0]))))
            if rng.random() < 0.5:
                m.append(vit(p, day, "sbp", float(rng.choice([80.0, 89.9, 90.0, 120.0]))))
            for kind, agent in [("vasopressor", "norepinephrine"), ("vasopressor", "epinephrine"),
                                ("vasopressin", "vasopressin"), ("tocilizumab", "tocilizumab")]:
                if rng.random() < 0.15:
                    s.append(sup(p, day, kind, agent=agent))
            if rng.random() < 0.3:
                dev = str(rng.choice(["nasal_cannula", "facemask", "bipap", "room_air", "blow_by"]))
                s.append(sup(p, day, "oxygen", agent=None, o2_device=dev, o2_flow_l_min=float(rng.choice([2, 6, 8]))))
    study = make_study(infusions=infusions(*pts), measurements=m, support=s)
    ordered = crs_daily(study).sort("patient_id", "day")
    # rows in random order give the same grades (window expressions order by day themselves)
    for name in ("measurements", "support"):
        study.tables[name] = study.tables[name].sample(fraction=1.0, shuffle=True, seed=2)
    daily = crs_daily(study).sort("patient_id", "day")
    assert daily.equals(ordered)
    want = [
        crs_grade(r["fever"], r["hypotension"], r["hypoxia"], treated=r["treated"]) for r in daily.iter_rows(named=True)
    ]
    assert daily["crs_grade"].to_list() == want
    assert {0, 1, 2, 3, 4} <= set(daily["crs_grade"].to_list())
    # undetermined only where no temperature was taken (fever not assessed, not taken as absent)
    undetermined = daily.filter(pl.col("crs_grade").is_null())
    assert undetermined.height and undetermined["temperature_max"].is_null().all()
    assert undetermined["fever"].is_null().all()


def test_derive_icans():
    neuro = [
        dict(patient_id="U", episode=1, day=3, ice_score=0, consciousness="unarousable"),
        dict(patient_id="U", episode=1, day=4, ice_score=6, consciousness="normal"),
        dict(patient_id="U", episode=1, day=5, ice_score=10, consciousness="normal"),
        dict(patient_id="A", episode=1, day=3, ice_score=0, consciousness="normal"),
        dict(patient_id="N", episode=1, day=3, ice_score=None, consciousness="awakens_to_voice"),
        dict(patient_id="Z", episode=1, day=3, ice_score=10, consciousness="normal"),
    ]
    ae = [dict(patient_id="R", episode=1, term="icans", grade=1, grading_system="astct2019", onset_day=4)]
    study = make_study(infusions=infusions("U", "A", "N", "Z", "R", "X"), neuro=neuro, adverse_events=ae)
    d = derive_icans(study)
    got = {r["patient_id"]: (r["icans_max"], r["icans_onset_day"], r["icans_duration_days"], r["source"])
           for r in d.iter_rows(named=True)}
    assert got == {
        "U": (4, 3, 2, "derived"),
        "A": (3, 3, 1, "derived"),
        "N": (2, 3, 1, "derived"),
        "Z": (0, None, 0, "derived"),
        "R": (1, 4, None, "recorded"),
        "X": (None, None, None, None),
    }


@pytest.fixture(scope="module")
def haem_study() -> Study:
    m = []
    # ANC days 0-30: 0.4 (d0), 0.05 (d3), 0.3 (d10), 0.7 (d12), 0.4 (d13), 1.2 (d20); 0.01 on d29 is
    # outside the CTCAE window (0-28) but inside ICAHT's (0-30)
    for d, v in [(-6, 0.9), (-5, 1.1), (0, 0.4), (3, 0.05), (10, 0.3), (12, 0.7), (13, 0.4), (20, 1.2), (29, 0.01)]:
        m.append(vit("H1", d, "anc", v))
    for d, v in [(-4, 150.0), (-6, 170.0), (0, 60.0), (5, 20.0), (5, 22.0)]:
        m.append(vit("H1", d, "platelets", v))
    for d, v in [(-5, 85.0), (0, 75.0), (7, 95.0)]:
        m.append(dict(patient_id="H1", episode=1, day=d, analyte="hemoglobin", value=v, unit="g/L"))
    m += [
        dict(patient_id="H1", episode=1, day=-5, analyte="crp", value=40.0, unit="mg/L"),
        dict(patient_id="H1", episode=1, day=-5, analyte="ferritin", value=700.0, unit="ng/mL"),
        dict(patient_id="H1", episode=1, day=-5, analyte="ldh", value=300.0, unit="U/L"),
        dict(patient_id="H1", episode=1, day=-5, analyte="creatinine", value=106.104, unit="umol/L"),  # 1.2 mg/dL
    ]
    # H2: counts only near the LLN (grade 0 or 1 depending on an unknown LLN)
    m += [vit("H2", 1, "anc", 1.6), vit("H2", 2, "anc", 1.8), vit("H2", 1, "wbc", 3.5)]
    m += [vit("H2", 1, "alc", 0.1)]
    ae = [
        dict(patient_id="H1", episode=1, term="anemia", grade=3),
        dict(patient_id="H1", episode=1, term="neutrophil count decreased", grade=3),
        dict(patient_id="H2", episode=1, term="neutrophil count decreased", grade=1),
    ]
    return make_study(infusions=infusions("H1", "H2", "H3"), measurements=m, adverse_events=ae)


def test_derive_hematologic_lineages(haem_study):
    h = derive_hematologic(haem_study)
    anc = h.filter((pl.col("patient_id") == "H1") & (pl.col("analyte") == "anc")).to_dicts()[0]
    # worst < 0.5 -> 4; nadir 0.05 on day 3 (day 29 is outside 0-28);
    # grade >= 3 (< 1.0): days 0-19 = 20 days (0.4, 0.05, 0.3, 0.7, 0.4 each until the next sample)
    assert (anc["worst_grade"], anc["nadir"], anc["nadir_day"], anc["days_grade_3plus"], anc["n_values"]) == (
        4, 0.05, 3, 20, 6
    )
    plt = h.filter((pl.col("patient_id") == "H1") & (pl.col("analyte") == "platelets")).to_dicts()[0]
    # two values on day 5: the lower (20) counts; 60 on day 0 -> grade 2 (days 0-4), 20 -> grade 4 (day 5 only)
    assert (plt["worst_grade"], plt["nadir"], plt["nadir_day"], plt["days_grade_3plus"]) == (4, 20.0, 5, 1)
    hb = h.filter((pl.col("patient_id") == "H1") & (pl.col("analyte") == "hemoglobin")).to_dicts()[0]
    assert (hb["worst_grade"], hb["nadir"], hb["days_grade_3plus"]) == (3, 75.0, 7)  # 75 g/L days 0-6
    h2 = {r["analyte"]: r["worst_grade"] for r in h.filter(pl.col("patient_id") == "H2").iter_rows(named=True)}
    assert h2 == {"anc": None, "wbc": None, "alc": 4}  # undetermined without an LLN
    with_lln = derive_hematologic(haem_study, lln={"anc": 2.0, "wbc": 4.0})
    h2 = {r["analyte"]: r["worst_grade"] for r in with_lln.filter(pl.col("patient_id") == "H2").iter_rows(named=True)}
    assert h2 == {"anc": 1, "wbc": 1, "alc": 4}
    assert "H3" not in h["patient_id"].to_list()  # no counts -> no rows
    shuffled = make_study()
    shuffled.tables.update(haem_study.tables)
    shuffled.tables["measurements"] = haem_study.tables["measurements"].sample(fraction=1.0, shuffle=True, seed=9)
    assert derive_hematologic(shuffled).equals(h)
    v6 = derive_hematologic(haem_study, version="6.0")
    assert "alc" not in v6["analyte"].to_list()  # lymphocytes not encoded for v6.0
    assert v6.filter((pl.col("patient_id") == "H2") & (pl.col("analyte") == "anc"))["worst_grade"].item() == 0


def test_hematotox_scores(haem_study):
    s = derive_hematotox_scores(haem_study).filter(pl.col("patient_id") == "H1").to_dicts()[0]
    # ICAHT: <= 0.5 for days 0-11 (12) + bridged 0.7 (day 12, 1 day) + 0.4 days 13-19 (7) = 20 ->
    # grade 3; <= 0.1 on days 3-9 = 7 days -> grade 3; the day-29 value (0.01) adds 1 + 0 -> 21 and 8
    assert (s["icaht_grade"], s["days_anc_le_0.5"], s["days_anc_le_0.1"]) == (3, 21, 8)
    # baseline nearest day -5: ANC -5 (1.1 -> 1 point); platelets tie -4/-6 -> earlier day -6 (170 -> 1)
    # Hb 85 g/L = 8.5 g/dL (1), CRP 40 mg/L = 4.0 mg/dL (1), ferritin 700 (1): total 5
    assert (s["car_hematotox"], s["car_hematotox_high_risk"], s["baseline_day"]) == (5, True, -6)
    # EASIX 300 x (106.104 / 88.42 = 1.2) / 170 = 2.117647...
    assert s["easix"] == pytest.approx(300 * 1.2 / 170, rel=1e-12)
    base = baseline_labs(haem_study, ["platelets"])
    assert base.filter(pl.col("patient_id") == "H1")["platelets"].item() == 170.0
    h3 = derive_hematotox_scores(haem_study).filter(pl.col("patient_id") == "H3").to_dicts()[0]
    assert h3["icaht_grade"] is None and h3["car_hematotox"] is None


def test_compare_recorded(crs_study, haem_study):
    crs = compare_recorded(derive_crs(crs_study), crs_study)
    got = {(r["patient_id"], r["item"]): (r["recorded"], r["derived"], r["note"]) for r in crs.iter_rows(named=True)}
    # VASO recorded CTCAE 4 vs derived ASTCT 3; MASK agrees (2 = 2); REC recorded-only is not compared;
    # every other derived grade >= 1 without a recorded AE is listed
    assert got[("VASO", "cytokine release syndrome")][:2] == ("4", "3")
    assert "recorded under ctcae4.03, derived under astct2019" in got[("VASO", "cytokine release syndrome")][2]
    assert ("MASK", "cytokine release syndrome") not in got
    assert ("REC", "cytokine release syndrome") not in got
    assert got[("MULTI", "cytokine release syndrome")] == (None, "4", "derived grade >= 1 but no recorded adverse event")
    assert crs.columns == ["patient_id", "episode", "item", "recorded", "derived", "note"]

    hem = compare_recorded({"h": derive_hematologic(haem_study)}, haem_study)
    got = {(r["patient_id"], r["item"]): (r["recorded"], r["derived"]) for r in hem.iter_rows(named=True)}
    assert got[("H1", "neutrophil count decreased")] == ("3", "4")
    assert ("H1", "anemia") not in got  # recorded 3 = derived 3
    assert got[("H2", "neutrophil count decreased")] == ("1", None)  # undetermined without LLN
    assert got[("H1", "platelet count decreased")] == (None, "4")


def test_derive_on_empty_optional_tables():
    study = make_study(infusions=infusions("E"))
    assert derive_crs(study)["crs_max"].to_list() == [None]
    assert derive_icans(study)["icans_max"].to_list() == [None]
    assert derive_hematologic(study).height == 0
    assert compare_recorded(derive_crs(study), study).height == 0


def test_hematologic_grades_default_to_the_plans_ctcae_version(haem_study):
    from cartkit.derive.toxicity import hematologic_grades_long
    from cartkit.study.model import Plan

    assert set(hematologic_grades_long(haem_study)["ctcae_version"]) == {Plan().ctcae_version} == {"5.0"}
    assert set(derive_hematologic(haem_study)["ctcae_version"]) == {"5.0"}
