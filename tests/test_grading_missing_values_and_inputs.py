"""Graders and missing values, argument checks, Lee 2014 without a fever gate, late T-ICAHT,
transfused platelets and haemoglobin at CTCAE's mmol/L cut-points (issue 9, items 8-11).

Every expected value is worked by hand from the criterion cited next to it (docs/criteria.md).
"""

from __future__ import annotations

import math
from functools import partial

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartkit import grading
from cartkit.grading import (
    car_hematotox,
    crs_grade,
    crs_grade_expr,
    ctcae_grade,
    ctcae_grade_expr,
    easix,
    high_dose_vasopressor,
    icaht_frame,
    icans_grade,
    late_icaht_frame,
    late_ticaht_frame,
    ticaht_frame,
)

G9 = "10^9/L"
icaht_grade = partial(grading.icaht_grade, unit=G9)
ticaht_grade = partial(grading.ticaht_grade, unit=G9)
late_icaht_grade = partial(grading.late_icaht_grade, unit=G9)
late_ticaht_grade = partial(grading.late_ticaht_grade, unit=G9)
NAN = float("nan")
HEMATOTOX_UNITS = {"platelets": G9, "anc": G9, "hemoglobin": "g/dL", "crp": "mg/dL", "ferritin": "ng/mL"}
EASIX_UNITS = {"ldh": "U/L", "creatinine": "mg/dL", "platelets": G9}


# ---------------------------------------------------------------- item 8: missing is missing


@pytest.mark.parametrize("missing", [NAN, None])
def test_a_missing_anc_is_not_recovery(missing):
    # EHA/EBMT 2023 early ICAHT: days 0/7/14 = 0.3, missing, 2.0. The day-7 sample was not
    # measured, so ANC <= 0.5 lasts from day 0 until the next real count on day 14: 14 days,
    # grade 3 ("14-30 days"). Read as a recovery on day 7 it would be 7 days, grade 2.
    assert icaht_grade([0, 7, 14], [0.3, missing, 2.0]) == 3


@pytest.mark.parametrize("missing", [NAN, None])
def test_a_missing_platelet_count_does_not_end_a_stretch(missing):
    # T-ICAHT (Blood Adv 2024 Table 1): < 20 from day 0; the day-5 count is missing; the
    # next real count (day 14) is 150. < 20 on days 0-13 = 14 days -> grade 4 (">= 14").
    assert ticaht_grade([0, 5, 14], [10.0, missing, 150.0]) == 4
    # late T-ICAHT: days 31 and 40 < 20, day 35 missing, 45 recovered: 14 days -> grade 4
    assert late_ticaht_grade([31, 35, 40, 45], [10.0, missing, 10.0, 150.0]) == 4


@pytest.mark.parametrize("missing", [NAN, None])
def test_nan_and_none_are_the_same_in_every_scalar_grader(missing):
    days = [0, 3, 9, 31, 45, 60]
    anc = [0.05, missing, 0.4, 1.2, missing, 0.9]
    plt = [15.0, missing, 60.0, 40.0, missing, 45.0]
    assert icaht_grade(days, anc) == icaht_grade([0, 9, 31, 60], [0.05, 0.4, 1.2, 0.9])
    assert ticaht_grade(days, plt) == ticaht_grade([0, 9, 31, 60], [15.0, 60.0, 40.0, 45.0])
    assert late_icaht_grade(days, anc) == 1  # 1.2 and 0.9: two days <= 1.5, only one <= 1.0
    assert late_ticaht_grade(days, plt) == 2  # 40 and 45: two days < 50


def test_no_sample_in_the_window_is_undetermined_not_grade_0():
    # the frame version has no row for such an episode; the scalar says None, not 0
    assert icaht_grade([-5, 31], [0.1, 0.1]) is None
    assert icaht_grade([0, 7], [NAN, None]) is None
    assert ticaht_grade([], []) is None
    assert icaht_grade([0, 7], [0.3, 0.3], censor_day=0) is None
    assert late_ticaht_grade([45], [10.0]) is None  # one late count: not non-transient
    frame = icaht_frame(
        pl.DataFrame({"patient_id": ["a", "a"], "episode": [1, 1], "day": [0, 7], "value": [NAN, None]})
    )
    assert frame.height == 0


def test_frames_drop_nan_like_null():
    rows = pl.DataFrame(
        {"patient_id": ["a"] * 3, "episode": [1] * 3, "day": [0, 7, 14], "value": [0.3, NAN, 2.0]}
    )
    assert icaht_frame(rows)["icaht_grade"].to_list() == [3]
    assert icaht_frame(rows.with_columns(value=pl.Series([0.3, None, 2.0])))["icaht_grade"].to_list() == [3]


_VALUE = st.one_of(
    st.none(),
    st.just(NAN),
    st.sampled_from([0.0, 0.05, 0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.5, 10.0, 19.9, 20.0, 35.0, 49.9, 50.0,
                     99.9, 100.0, 150.0]),
)


@st.composite
def profiles(draw):
    out = []
    for pid in range(draw(st.integers(1, 8))):
        days = sorted(draw(st.sets(st.integers(-3, 110), min_size=0, max_size=20)))
        values = [draw(_VALUE) for _ in days]
        tx = sorted(draw(st.sets(st.integers(-3, 110), max_size=3)))
        censor = draw(st.one_of(st.none(), st.integers(0, 110)))
        out.append((str(pid), days, values, tx, censor))
    return out, draw(st.sampled_from([None, 0, 2, 3, 5]))


@settings(max_examples=50, deadline=None)
@given(profiles())
def test_scalar_and_frame_versions_agree_on_profiles_with_missing_values(drawn):
    profs, bridge = drawn
    rows, cens, txs = [], [], []
    for pid, days, values, tx, censor in profs:
        rows += [(pid, 1, d, v) for d, v in zip(days, values, strict=True)]
        cens.append((pid, 1, censor))
        txs += [(pid, 1, t) for t in tx]
    long = pl.DataFrame(rows, schema={"patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64,
                                      "value": pl.Float64}, orient="row")
    censor = pl.DataFrame(cens, schema={"patient_id": pl.String, "episode": pl.Int64, "censor_day": pl.Int64},
                          orient="row")
    tx = pl.DataFrame(txs, schema={"patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64},
                      orient="row")
    frames = {
        "icaht": icaht_frame(long, bridge_days=bridge, censor=censor),
        "ticaht": ticaht_frame(long, bridge_days=bridge, censor=censor, transfusions=tx),
        "late_ticaht": late_ticaht_frame(long, bridge_days=bridge, censor=censor, transfusions=tx),
        "late_icaht": late_icaht_frame(long, censor=censor),
    }
    got = {
        name: dict(f.select("patient_id", f"{name}_grade").iter_rows()) for name, f in frames.items()
    }
    for pid, days, values, t, c in profs:
        want = {
            "icaht": icaht_grade(days, values, bridge_days=bridge, censor_day=c),
            "ticaht": ticaht_grade(days, values, bridge_days=bridge, censor_day=c, transfused_days=t),
            "late_ticaht": late_ticaht_grade(
                days, values, bridge_days=bridge, censor_day=c, transfused_days=t
            ),
            "late_icaht": late_icaht_grade(days, values, censor_day=c),
        }
        for name in want:
            assert got[name].get(pid) == want[name], (name, pid, days, values, t, c, bridge)


# ---------------------------------------------------------------- item 9: inputs are checked


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: ctcae_grade("anemia", 9.0, None), r"unit=None: a unit is required for hemoglobin"),
        (lambda: ctcae_grade("anemia", 9.0, 7), r"unit=7: a unit is text"),
        (lambda: ctcae_grade("anemia", "7", "g/dL"), r"value='7': must be a number, not str"),
        (lambda: ctcae_grade("anemia", -1.0, "g/dL"), r"value=-1.0: must be >= 0"),
        (lambda: ctcae_grade("anemia", 9.0, "g/dL", lln="12"), r"lln='12': must be a number"),
        (lambda: ctcae_grade(None, 9.0, "g/dL"), r"term=None: a CTCAE term is text"),
        (lambda: crs_grade("yes", "none", "none"), r"fever='yes': must be True, False or None"),
        (lambda: crs_grade(True, "none", "high_flow", "lee2014", fio2_pct="50"),
         r"fio2_pct='50': must be a number, not str \(FiO2 in percent\)"),
        (lambda: crs_grade(True, "none", "high_flow", "lee2014", fio2_pct=150.0), r"fio2_pct=150.0: must be <= 100"),
        (lambda: crs_grade(True, "fluid", "none"), r"hypotension='fluid': must be one of"),
        (lambda: crs_grade(True, "none", "none", treated=None), r"treated=None: must be True or False"),
        (lambda: icans_grade(5.5, "normal"), r"ice_score=5.5: must be a whole number; it is not truncated"),
        (lambda: icans_grade("7", "normal"), r"ice_score='7': must be a number, not str"),
        (lambda: icans_grade(True, "normal"), r"ice_score=True: must be a number, not bool"),
        (lambda: icans_grade(11, "normal"), r"ice_score=11: must be <= 10"),
        (lambda: icans_grade(None, "normal", capd_score=2.5), r"capd_score=2.5: must be a whole number"),
        (lambda: icans_grade(None, "asleep"), r"consciousness='asleep': must be one of"),
        (lambda: icaht_grade([0, 3.5], [0.3, 0.3]), r"days\[1\]=3.5: must be a whole number"),
        (lambda: icaht_grade([0, 1], [0.3, "0.3"]), r"anc\[1\]='0.3': must be a number, not str"),
        (lambda: icaht_grade([0, 1], [0.3, -0.3]), r"anc\[1\]=-0.3: must be >= 0"),
        (lambda: icaht_grade([0, 1], [0.3]), r"days \(2\) and anc \(1\) differ in length"),
        (lambda: grading.icaht_grade([0, 7], [300, 300], unit=None),
         r"unit=None: a unit is required for anc \(canonical 10\^9/L"),
        (lambda: grading.icaht_grade([0, 7], [0.3, 0.3], unit="g/L"), r"unit='g/L': unit not accepted for anc"),
        (lambda: ticaht_grade([0], [10.0], transfused_days=[1.5]), r"transfused_days\[0\]=1.5"),
        (lambda: icaht_grade([0], [0.3], censor_day=2.5), r"censor_day=2.5: must be a whole number"),
        (lambda: easix(250, NAN, 125, units=EASIX_UNITS), r"creatinine=nan: a number is required"),
        (lambda: easix(-250, 1.0, 125, units=EASIX_UNITS), r"ldh=-250: must be >= 0"),
        (lambda: easix(250, 1.0, 0, units=EASIX_UNITS), r"platelets=0: must be > 0"),
        (lambda: easix(250, 1.0, 125, units={"ldh": "U/L"}), r"no unit given for creatinine, platelets"),
        (lambda: easix(250, 1.0, 125), None),  # units is required (TypeError from Python itself)
        (lambda: car_hematotox(150, 2.0, 10.0, 1.0, 700, units=None), r"units=None: give the unit of every"),
        (lambda: car_hematotox(150, 2.0, "10", 1.0, 700, units=HEMATOTOX_UNITS), r"hemoglobin='10'"),
        (lambda: high_dose_vasopressor([("norepinephrine", -5.0, "ug/min")]), r"dose=-5.0: must be >= 0"),
        (lambda: high_dose_vasopressor([("dopamine", 5.0, "ug/kg/min")], weight_kg=-70),
         r"weight_kg=-70: must be > 0"),
        (lambda: high_dose_vasopressor([("norepinephrine", 5.0, None)]), r"dose_unit=None: must be one of"),
    ],
)
def test_bad_arguments_raise_value_error_naming_argument_value_and_rule(call, pattern):
    if pattern is None:
        with pytest.raises(TypeError, match="units"):
            call()
        return
    with pytest.raises(ValueError, match=pattern):
        call()


def test_whole_number_floats_are_accepted():
    assert icans_grade(7.0, "normal") == 1  # ICE 7-9 -> 1 (ASTCT 2019)
    assert icaht_grade([0.0, 7.0, 14.0], [0.3, 0.3, 2.0]) == 3


def test_counts_are_converted_from_their_unit():
    # ANC 300 cells/uL = 0.3 x 10^9/L: <= 0.5 on days 0-13 -> 14 days, early ICAHT grade 3
    assert grading.icaht_grade([0, 7, 14], [300, 300, 2000], unit="cells/uL") == 3
    assert grading.icaht_grade([0, 7, 14], [0.3, 0.3, 2.0], unit="10^3/uL") == 3
    # platelets 15,000/uL = 15 x 10^9/L < 20 for 1 day (then recovered) -> T-ICAHT grade 3
    assert grading.ticaht_grade([0, 1], [15000, 150000], unit="cells/uL") == 3
    assert grading.late_icaht_grade([31, 45], [400, 400], unit="cells/uL") == 3  # <= 0.5 twice


def test_scores_are_converted_from_their_unit():
    # CAR-HEMATOTOX with SI units: Hb 85 g/L = 8.5 g/dL (< 9.0: 1), CRP 40 mg/L = 4.0 mg/dL (> 3.0: 1),
    # platelets 150 (75-175: 1), ANC 2.0 (0), ferritin 100 (0) -> 3
    si = {"platelets": G9, "anc": G9, "hemoglobin": "g/L", "crp": "mg/L", "ferritin": "ug/L"}
    assert car_hematotox(150, 2.0, 85.0, 40.0, 100.0, units=si) == 3
    assert car_hematotox(150, 2.0, 8.5, 4.0, 100.0, units=HEMATOTOX_UNITS) == 3
    # on the cut-points the unit does not move the boundary: 9.0 g/dL and 90 g/L both score 0
    assert car_hematotox(200, 2.0, 9.0, 1.0, 100.0, units=HEMATOTOX_UNITS) == 0
    assert car_hematotox(200, 2.0, 90.0, 10.0, 100.0, units=si) == 0
    assert car_hematotox(200, 2.0, None, 1.0, 100.0, units=HEMATOTOX_UNITS) is None
    # EASIX 250 U/L x 88.42 umol/L (= 1.0 mg/dL) / 125 = 2.0
    assert easix(250, 88.42, 125, units={**EASIX_UNITS, "creatinine": "umol/L"}) == pytest.approx(2.0, abs=1e-12)


def test_easix_expr_rejects_what_the_scalar_rejects():
    df = pl.DataFrame({"ldh": [250.0, NAN, -1.0, 250.0], "cr": [1.0, 1.0, 1.0, NAN], "plt": [125.0] * 4})
    got = df.select(easix_expr=grading.easix_expr(pl.col("ldh"), pl.col("cr"), pl.col("plt")))["easix_expr"]
    assert got.to_list() == [2.0, None, None, None]


def test_unknown_fever_is_undetermined_unless_it_cannot_matter():
    # ASTCT 2019: afebrile -> 0, febrile -> 1; fever not known -> undetermined
    assert crs_grade(None, "none", "none") is None
    # treated (fever waived): vasopressor -> 3 whether or not febrile
    assert crs_grade(None, "vasopressor", "none", treated=True) == 3
    # untreated: 0 afebrile, 3 febrile -> undetermined
    assert crs_grade(None, "vasopressor", "none") is None
    # Lee 2014 has no fever gate: fluid-responsive hypotension is 2 whatever the fever
    assert crs_grade(None, "fluids", "none", "lee2014") == 2
    assert crs_grade(None, "none", "none", "lee2014") is None  # 0 or 1 (fever is a grade-1 symptom)
    # the frame version reads a null fever the same way
    df = pl.DataFrame(
        {"fever": [None, None, None], "hypo": ["none", "vasopressor", "vasopressor"],
         "treated": [False, True, False]},
        schema={"fever": pl.Boolean, "hypo": pl.String, "treated": pl.Boolean},
    )
    got = df.select(
        g=crs_grade_expr(pl.col("fever"), pl.col("hypo"), pl.lit("none"), treated=pl.col("treated"))
    )["g"].to_list()
    assert got == [None, 3, None]


# ---------------------------------------------------------------- item 10: the sources


@pytest.mark.parametrize(
    "fever, hypotension, hypoxia, kwargs, expected",
    [
        # Lee 2014 Table 2 grade 3: "hypotension requiring high-dose or multiple vasopressors";
        # no fever needed (ASTCT 2019 added the fever requirement)
        (False, "vasopressor", "none", {"high_dose_vasopressor": True}, 3),
        (False, "vasopressors", "none", {}, 3),
        # grade 2: "hypotension responsive to fluids or low dose of one vasopressor", "< 40% FiO2"
        (False, "fluids", "none", {}, 2),
        (False, "vasopressor", "none", {"high_dose_vasopressor": False}, 2),
        (False, "none", "low_flow", {"fio2_pct": 30.0}, 2),
        # grade 3: oxygen >= 40% FiO2; grade 4: ventilator support
        (False, "none", "high_flow", {"fio2_pct": 40.0}, 3),
        (False, "none", "positive_pressure", {}, 4),
        # grade 1: symptoms only (fever); afebrile without any of these: 0
        (True, "none", "none", {}, 1),
        (False, "none", "none", {}, 0),
    ],
)
def test_lee2014_has_no_fever_requirement(fever, hypotension, hypoxia, kwargs, expected):
    assert crs_grade(fever, hypotension, hypoxia, "lee2014", **kwargs) == expected
    got = pl.select(
        crs_grade_expr(
            pl.lit(fever), pl.lit(hypotension), pl.lit(hypoxia), "lee2014",
            high_dose_vasopressor=pl.lit(kwargs.get("high_dose_vasopressor"), dtype=pl.Boolean),
            fio2_pct=pl.lit(kwargs.get("fio2_pct"), dtype=pl.Float64),
        )
    ).item()
    assert got == expected


def test_astct_keeps_its_fever_gate():
    # ASTCT 2019: fever is required (until antipyretic/anti-cytokine therapy)
    assert crs_grade(False, "vasopressor", "none") == 0
    assert crs_grade(False, "vasopressor", "none", treated=True) == 3


@pytest.mark.parametrize(
    "days, plt, expected",
    [
        # Rejeski, Blood Adv 2024, Table 1, late T-ICAHT (days 31-100), two or more tests:
        ([31, 45], [99.9, 99.9], 1),  # < 100 twice -> 1
        ([31, 45], [100.0, 100.0], 0),  # at 100: not below
        ([31, 45], [99.9, 100.0], 0),  # < 100 once: transient
        ([31, 45], [49.9, 49.9], 2),  # < 50 -> 2
        ([31, 45], [49.9, 60.0], 1),  # < 50 once, < 100 twice -> 1
        ([31, 32, 33], [19.9, 19.9, 150.0], 3),  # < 20 on days 31-32: 2 days (1-13) -> 3
        ([31, 43, 44], [19.9, 19.9, 150.0], 3),  # days 31-43: 13 days -> 3
        ([31, 44, 45], [19.9, 19.9, 150.0], 4),  # days 31-44: 14 days -> 4
        ([31, 50], [19.9, 60.0], 1),  # < 20 and < 50 once only (transient); < 100 twice -> 1
        ([31, 50], [19.9, 45.0], 2),  # < 50 twice -> 2; < 20 once only
        ([20, 31, 45], [5.0, 150.0, 150.0], 0),  # day 20 belongs to the early window
        ([31, 101, 120], [10.0, 10.0, 10.0], None),  # one count in days 31-100
        ([99, 100, 101], [10.0, 10.0, 10.0], 3),  # day 101 is past the window: 2 days
    ],
)
def test_late_ticaht(days, plt, expected):
    assert late_ticaht_grade(days, plt) == expected


def test_transfused_platelets_are_not_recovery():
    # Blood Adv 2024 Table 1 footnote: recovery = >= 20 "in the absence of a PLT transfusion
    # for 7 consecutive days". < 20 on days 0-4; transfused on day 4; 60 on days 5-9 (within
    # 7 days of the transfusion: days 4-10), 60 untransfused on days 11-19, 150 from day 20.
    days = list(range(0, 21))
    plt = [10.0] * 5 + [60.0] * 15 + [150.0]
    # without the transfusion record: < 20 on days 0-4 (5 days) -> 3
    assert ticaht_grade(days, plt) == 3
    # with it: the counts of days 5-10 are not recovery -> < 20 on days 0-10 = 11 days, still
    # 3; a second transfusion on day 9 covers days 9-15 -> < 20 on days 0-15 = 16 days -> 4
    assert ticaht_grade(days, plt, transfused_days=[4]) == 3
    assert ticaht_grade(days, plt, transfused_days=[4, 9]) == 4
    # the 7-day rule: a transfusion on day -3 covers counts up to day 3 only
    assert ticaht_grade([0, 3, 4, 20], [10.0, 60.0, 60.0, 150.0], transfused_days=[-3]) == 3
    assert ticaht_grade([0, 4, 20], [10.0, 60.0, 150.0], transfused_days=[-3]) == 3  # 4 days < 20
    # late T-ICAHT: transfusion-supported 40 and 45 count as < 20: days 31-44 = 14 days -> 4
    assert late_ticaht_grade([31, 38, 45], [40.0, 45.0, 150.0]) == 2
    assert late_ticaht_grade([31, 38, 45], [40.0, 45.0, 150.0], transfused_days=[30, 37]) == 4


# ---------------------------------------------------------------- item 11: Hb in mmol/L


@pytest.mark.parametrize("version", ["4.03", "5.0", "6.0"])
@pytest.mark.parametrize(
    "value, unit, expected",
    [
        # CTCAE anemia: 1 "<LLN - 6.2 mmol/L", 2 "<6.2 - 4.9 mmol/L", 3 "<4.9 mmol/L"
        (6.2, "mmol/L", 1),
        (6.19, "mmol/L", 2),
        (4.9, "mmol/L", 2),
        (4.89, "mmol/L", 3),
        # the g/L and g/dL equivalents printed beside them: 100 / 80 g/L, 10.0 / 8.0 g/dL
        (100.0, "g/L", 1),
        (99.9, "g/L", 2),
        (80.0, "g/L", 2),
        (79.9, "g/L", 3),
        (10.0, "g/dL", 1),
        (8.0, "g/dL", 2),
        (7.99, "g/dL", 3),
        (7.6, "mmol/l", 0),  # at or above the LLN (7.5 mmol/L): 0
    ],
)
def test_haemoglobin_is_graded_in_the_unit_ctcae_prints(version, value, unit, expected):
    lln = {"mmol/L": 7.5, "mmol/l": 7.5, "g/L": 120.0, "g/dL": 12.0}[unit]
    assert ctcae_grade("anemia", value, unit, version, lln=lln) == expected


def test_haemoglobin_frame_compares_with_the_converted_printed_cut_point():
    # a loaded Study holds g/L (mmol/L x 16.11) and remembers the unit as written
    raw = [6.2, 6.19, 4.9, 4.89, 7.6]
    df = pl.DataFrame({"value": [v * 16.11 for v in raw], "unit_original": ["mmol/L"] * 4 + ["MMOL/L"],
                       "lln": [7.5 * 16.11] * 5})
    got = df.select(
        g=ctcae_grade_expr("anemia", pl.col("value"), "4.03", lln=pl.col("lln"), unit_original=pl.col("unit_original"))
    )["g"].to_list()
    assert got == [1, 2, 2, 3, 0]
    # without the original unit the converted value is graded in g/L (99.88 < 100: grade 2)
    plain = df.select(g=ctcae_grade_expr("anemia", pl.col("value"), "4.03", lln=pl.col("lln")))["g"]
    assert plain.to_list()[0] == 2
    assert math.isclose(df["value"][0], 99.882)


def test_recovery_threshold_of_the_criteria_file_decides_which_thresholds_a_transfusion_affects():
    from cartkit.grading import hematotox

    spec = dict(hematotox.ticaht_criteria())
    days, plt, tx = [0, 3, 20], [30.0, 60.0, 150.0], [3]
    # recovery_threshold 20 (the paper): the transfused 60 on day 3 counts as < 50 and < 20:
    # < 20 on days 3-19 = 17 days -> 4
    assert hematotox._cumulative_grade(spec, days, plt, None, None, [False, True, False]) == 4
    assert ticaht_grade(days, plt, transfused_days=tx) == 4
    # a file whose recovery threshold were above 50 would leave both rows unaffected:
    # < 50 on days 0-2 only -> 1
    spec["recovery_threshold"] = 60.0
    assert hematotox._cumulative_grade(spec, days, plt, None, None, [False, True, False]) == 1
