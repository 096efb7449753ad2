"""A qualified temperature in CRS grading (derive/toxicity.py crs_daily; grading/crs.py fever_from_temperature):
fever is a highest temperature of the day >= 38.0 C (ASTCT 2019, Lee DW et al., Biol Blood Marrow
Transplant 2019;25:625: grade 1 = fever, no hypotension, no hypoxia; fever required for any grade before
anti-cytokine or antipyretic therapy). The day's highest temperature lies between the highest low end and
the highest high end of its results: '>39' is a fever, '<37.5' is not, '<39' is undetermined. Before, a
qualified temperature was missing: the '>39' day was not assessed for fever (undetermined)."""

from __future__ import annotations

import polars as pl
import pytest
from test_study_builders import base_tables, write_study

from cartkit.derive.toxicity import crs_daily
from cartkit.grading.crs import fever_from_temperature
from cartkit.study.load import load_study

DAYS = [  # day, temperatures as written, sbp -> fever, grade, lowest, highest (ASTCT, nothing given)
    (1, [">39"], None, True, 1, 1, 1),
    (2, ["<37.5"], 85.0, False, 0, 0, 0),       # afebrile: hypotension alone is not CRS
    (3, ["<39"], None, None, None, 0, 1),       # 38.5 or 37.0: grade 1 or 0
    (4, ["37.2", ">=38"], None, True, 1, 1, 1),  # the highest of the day
    (5, ["<=37.9", "37.0"], None, False, 0, 0, 0),
    (6, ["<39", "38.2"], None, True, 1, 1, 1),  # a plain 38.2 is a fever whatever the other is
]


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    tables = base_tables()
    tables.pop("support")  # nothing given: fever required on every day
    rows = [m for m in tables["measurements"] if m["analyte"] not in ("temperature", "sbp")]
    for day, temps, sbp, *_ in DAYS:
        rows += [{"patient_id": "P1", "episode": 1, "day": day, "date": None, "analyte": "temperature", "value": t,
                  "unit": "C", "blq": None, "time": f"0{6 + 6 * i}:00"[-5:]} for i, t in enumerate(temps)]
        if sbp is not None:
            rows.append({"patient_id": "P1", "episode": 1, "day": day, "date": None, "analyte": "sbp", "value": sbp,
                         "unit": "mmHg", "blq": None})
    tables["measurements"] = rows
    study = load_study(write_study(tmp_path_factory.mktemp("crs"), tables))
    return crs_daily(study).filter((pl.col("patient_id") == "P1") & (pl.col("episode") == 1))


@pytest.mark.parametrize("day, temps, sbp, fever, grade, low, high", DAYS)
def test_fever_and_grade_of_a_day_with_qualified_temperatures(daily, day, temps, sbp, fever, grade, low, high):
    row = daily.filter(pl.col("day") == day).row(0, named=True)
    assert (row["fever"], row["crs_grade"], row["crs_grade_low"], row["crs_grade_high"]) == (fever, grade, low, high)
    assert row["has_vitals"]


@pytest.mark.parametrize("day, temps, sbp, fever, grade, low, high", DAYS)
def test_scalar_fever_agrees_with_the_day(day, temps, sbp, fever, grade, low, high):
    each = [fever_from_temperature(t if t[0] in "<>" else float(t)) for t in temps]
    day_fever = True if True in each else (None if None in each else False)
    assert day_fever is fever


def test_scalar_fever_boundaries():
    assert fever_from_temperature(">=38") is True and fever_from_temperature(">37.9") is None
    assert fever_from_temperature("<38") is False and fever_from_temperature("<=38") is None
    assert fever_from_temperature(None) is None and fever_from_temperature(37.99) is False
