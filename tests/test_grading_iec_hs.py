"""IEC-HS (ASTCT consensus, Hines MR et al., Transplant Cell Ther 2023;29:438): boundaries of each feature
(Table 2: ferritin > 2x ULN or baseline, transaminases > 5x ULN or baseline, fibrinogen < 150 mg/dL or
< LLN; cytopenia: cartkit's CTCAE v5.0 grade 3 reading), the presence rule and the grade (Table 3), and
the frame version over study-shaped tables agreeing with the scalar one."""

from __future__ import annotations

import polars as pl
import pytest

from cartkit.grading.iec_hs import iec_hs_features, iec_hs_frame, iec_hs_grade, iec_hs_present


@pytest.mark.parametrize(("ferritin", "uln", "baseline", "met"), [
    (600, 300, None, False),     # exactly 2 x ULN: not above it
    (600.1, 300, None, True),
    (2000, 300, 1000, False),    # baseline above the ULN: 2 x baseline
    (2001, 300, 1000, True),
    (601, 300, 100, True),       # baseline below the ULN: 2 x ULN
    (250, None, 120, True),      # no ULN: 2 x baseline
    (250, None, None, None),     # no reference: undetermined
])
def test_ferritin_is_above_twice_the_uln_or_the_higher_baseline(ferritin, uln, baseline, met):
    assert iec_hs_features(ferritin=ferritin, ferritin_uln=uln, ferritin_baseline=baseline)["ferritin"] is met


@pytest.mark.parametrize(("alt", "ast", "baseline", "met"), [
    (200, None, 30, False),      # normal baseline (30 <= ULN 40): 5 x ULN = 200
    (201, None, 30, True),
    (400, None, 80, False),      # abnormal baseline: 5 x baseline = 400
    (401, None, 80, True),
    (100, 250, 30, True),        # either aminotransferase
])
def test_transaminases_above_five_times_uln_or_abnormal_baseline(alt, ast, baseline, met):
    f = iec_hs_features(alt=alt, alt_uln=40, alt_baseline=baseline, ast=ast, ast_uln=40, ast_baseline=baseline)
    assert f["transaminases"] is met


@pytest.mark.parametrize(("value", "unit", "lln", "met"), [
    (150, "mg/dL", None, False),  # 150 mg/dL is not below 150
    (149, "mg/dL", None, True),
    (1.9, "g/L", 2.0, True),      # below the laboratory's LLN, above 1.5 g/L
    (2.0, "g/L", 2.0, False),
])
def test_fibrinogen_below_150_mg_dl_or_lln(value, unit, lln, met):
    f = iec_hs_features(fibrinogen=value, fibrinogen_lln=lln, units={"fibrinogen": unit})
    assert f["fibrinogen"] is met


@pytest.mark.parametrize(("kwargs", "met"), [
    ({"anc": 1.0}, False), ({"anc": 0.99}, True), ({"platelets": 50}, False), ({"platelets": 49}, True),
    ({"hemoglobin": 80}, False), ({"hemoglobin": 79.9}, True),
])
def test_cytopenia_is_a_ctcae_grade_3_count(kwargs, met):
    units = {"anc": "10^9/L", "platelets": "10^9/L", "hemoglobin": "g/L"}
    assert iec_hs_features(**kwargs, units=units)["cytopenia"] is met


def test_a_count_without_its_unit_is_refused():
    with pytest.raises(ValueError, match="anc"):
        iec_hs_features(anc=0.5)


@pytest.mark.parametrize(("features", "present"), [
    ({"ferritin": True, "transaminases": None, "fibrinogen": None, "cytopenia": None}, None),
    ({"ferritin": True, "transaminases": False, "fibrinogen": False, "cytopenia": False}, False),
    ({"ferritin": True, "transaminases": False, "fibrinogen": True, "cytopenia": False}, True),
    ({"ferritin": False, "transaminases": True, "fibrinogen": True, "cytopenia": True}, False),
    ({"ferritin": None, "transaminases": True, "fibrinogen": None, "cytopenia": None}, None),
])
def test_presence_needs_ferritin_and_one_other_feature(features, present):
    assert iec_hs_present(features) is present


@pytest.mark.parametrize(("kwargs", "grade"), [
    ({}, 1), ({"directed_therapy": True}, 2), ({"directed_therapy": True, "blood_products": True}, 3),
    ({"life_threatening": True}, 4), ({"fatal": True, "directed_therapy": True}, 5),
])
def test_grade_is_the_highest_need_after_onset(kwargs, grade):
    assert iec_hs_grade(True, **kwargs) == grade


def test_grade_without_iec_hs_is_0_and_unknown_is_none():
    assert iec_hs_grade(False, directed_therapy=True) == 0
    assert iec_hs_grade(None) is None


def _m(pid, day, analyte, value, uln=None, lln=None):
    return {"patient_id": pid, "episode": 1, "day": day, "analyte": analyte, "value": float(value),
            "uln": None if uln is None else float(uln), "lln": None if lln is None else float(lln)}


def test_frame_grades_each_episode_as_the_scalar_rules_do():
    measurements = pl.DataFrame([
        # A: baseline ferritin 800 (ULN 300): 1700 on day 10 (> 1600), fibrinogen 1.2 g/L on day 12 (2 days
        # later): IEC-HS from day 10; anakinra day 11, cryoprecipitate day 13 -> grade 3
        _m("A", 0, "ferritin", 800, uln=300), _m("A", 5, "ferritin", 1500, uln=300),
        _m("A", 10, "ferritin", 1700, uln=300), _m("A", 12, "fibrinogen", 1.2),
        # B: ferritin 1700 on day 10 but the low fibrinogen is 4 days away (day 14): not concurrent; the
        # fibrinogen, ALT and platelets within 3 days are normal -> each measured, not shown: grade 0
        _m("B", 0, "ferritin", 800, uln=300), _m("B", 10, "ferritin", 1700, uln=300),
        _m("B", 10, "fibrinogen", 3.0), _m("B", 14, "fibrinogen", 1.2), _m("B", 9, "platelets", 120),
        _m("B", 10, "alt", 50, uln=40),
        # B2: as B with only the platelets measured: transaminases and fibrinogen unknown -> undetermined
        _m("B2", 0, "ferritin", 800, uln=300), _m("B2", 10, "ferritin", 1700, uln=300), _m("B2", 9, "platelets", 120),
        # C: ferritin high (no ULN, baseline 200 -> > 400) day 8, ANC 0.3 day 8: present, nothing given -> 1
        _m("C", -2, "ferritin", 200), _m("C", 8, "ferritin", 900), _m("C", 8, "anc", 0.3),
        # D: ferritin with no reference at all: undetermined
        _m("D", 8, "ferritin", 900), _m("D", 8, "anc", 0.3),
    ])
    support = pl.DataFrame([
        {"patient_id": "A", "episode": 1, "day": 11, "kind": "anakinra", "agent": None, "o2_device": None},
        {"patient_id": "A", "episode": 1, "day": 13, "kind": "cryoprecipitate", "agent": None, "o2_device": None},
        {"patient_id": "B", "episode": 1, "day": 11, "kind": "steroid", "agent": "dexamethasone", "o2_device": None},
        {"patient_id": "C", "episode": 1, "day": 2, "kind": "tocilizumab", "agent": None, "o2_device": None},
    ])
    deaths = pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64, "detail": pl.String})
    out = iec_hs_frame(measurements, support, deaths)
    rows = {r["patient_id"]: r for r in out.iter_rows(named=True)}
    assert (rows["A"]["grade"], rows["A"]["onset_day"], rows["A"]["features"]) == (3, 10, "ferritin; fibrinogen")
    assert rows["B"]["grade"] == 0 and rows["B"]["onset_day"] is None
    assert rows["B2"]["grade"] is None
    assert (rows["C"]["grade"], rows["C"]["onset_day"]) == (1, 8)
    assert rows["D"]["grade"] is None
    # the scalar rules on A's day-10 values give the same
    units = {"fibrinogen": "g/L"}
    fa = iec_hs_features(ferritin=1700, ferritin_uln=300, ferritin_baseline=800, fibrinogen=1.2, units=units)
    assert iec_hs_grade(iec_hs_present(fa), directed_therapy=True, blood_products=True) == rows["A"]["grade"]
    fb = iec_hs_features(ferritin=1700, ferritin_uln=300, ferritin_baseline=800, platelets=120, fibrinogen=3.0,
                         alt=50, alt_uln=40, units={"platelets": "10^9/L", "fibrinogen": "g/L"})
    assert iec_hs_grade(iec_hs_present(fb), directed_therapy=True) == rows["B"]["grade"]
    fb2 = iec_hs_features(ferritin=1700, ferritin_uln=300, ferritin_baseline=800, platelets=120,
                          units={"platelets": "10^9/L"})
    assert iec_hs_grade(iec_hs_present(fb2)) is rows["B2"]["grade"]


def test_frame_death_naming_iec_hs_after_onset_is_grade_5():
    measurements = pl.DataFrame([_m("E", 0, "ferritin", 500, uln=300), _m("E", 9, "ferritin", 5000, uln=300),
                                 _m("E", 9, "alt", 900, uln=40)])
    support = pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64, "kind": pl.String,
                                   "agent": pl.String, "o2_device": pl.String})
    deaths = pl.DataFrame({"patient_id": ["E"], "episode": [1], "day": [20], "detail": ["IEC-HS with liver failure"]})
    assert iec_hs_frame(measurements, support, deaths)["grade"].to_list() == [5]
    deaths = deaths.with_columns(pl.lit("progression").alias("detail"))
    assert iec_hs_frame(measurements, support, deaths)["grade"].to_list() == [1]
