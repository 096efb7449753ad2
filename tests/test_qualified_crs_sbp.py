"""A qualified systolic pressure in CRS grading (derive/toxicity.py crs_daily).

ASTCT 2019 (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625, Table 2): grade 1 is fever with
neither hypotension nor hypoxia, grade 2 fever with hypotension not requiring vasopressors; cartkit reads
hypotension as a systolic pressure < 90 mmHg (SBP_HYPOTENSION_BELOW). A qualified pressure is an interval
(grading/censored.py): '<85' lies below 90 (hypotension, grade 2 with fever), '>=90' does not (grade 1), and
'<95' holds 90 (undetermined: grade 1 or 2). Before, a qualified pressure was missing: '<85' graded 1."""

from __future__ import annotations

import polars as pl
import pytest
from test_study_builders import base_tables, write_study

from cartkit.derive.toxicity import crs_daily
from cartkit.study.load import load_study

DAYS = [  # day, temperature, systolic pressures as written -> hypotension, grade, lowest, highest
    (1, "38.6", ["<85"], "fluids", 2, 2, 2),
    (2, "38.6", ["<95"], None, None, 1, 2),
    (3, "38.6", [">=90"], "none", 1, 1, 1),
    (4, "38.6", ["<95", "88"], "fluids", 2, 2, 2),      # a plain 88 decides whatever '<95' is
    (5, "38.6", [">100", "<=89"], "fluids", 2, 2, 2),   # the day's lowest is at most 89
    (6, "37.0", ["<95"], None, 0, 0, 0),                # afebrile, nothing given: 0 either way (fever required)
    (7, "38.6", ["<90"], "fluids", 2, 2, 2),            # '<90' is below 90
    (8, "38.6", ["<=90"], None, None, 1, 2),            # 90 itself is not below 90
]


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    tables = base_tables()
    tables.pop("support")  # nothing given: no vasopressor, fever required
    rows = [m for m in tables["measurements"] if m["analyte"] not in ("temperature", "sbp")]
    for day, temperature, pressures, *_ in DAYS:
        rows.append({"patient_id": "P1", "episode": 1, "day": day, "date": None, "analyte": "temperature",
                     "value": temperature, "unit": "C", "blq": None})
        rows += [{"patient_id": "P1", "episode": 1, "day": day, "date": None, "analyte": "sbp", "value": v,
                  "unit": "mmHg", "blq": None, "time": f"{8 + 4 * i:02d}:00"} for i, v in enumerate(pressures)]
    tables["measurements"] = rows
    study = load_study(write_study(tmp_path_factory.mktemp("crs_sbp"), tables))
    return crs_daily(study, "astct2019").filter((pl.col("patient_id") == "P1") & (pl.col("episode") == 1))


@pytest.mark.parametrize("day, temperature, pressures, hypotension, grade, low, high", DAYS)
def test_hypotension_and_grade_of_a_day_with_qualified_pressures(daily, day, temperature, pressures, hypotension,
                                                                 grade, low, high):
    row = daily.filter(pl.col("day") == day).row(0, named=True)
    assert (row["hypotension"], row["crs_grade"], row["crs_grade_low"], row["crs_grade_high"]) == (
        hypotension, grade, low, high)
    assert row["has_vitals"]


def test_sbp_min_is_the_lowest_plain_value(daily):
    got = dict(daily.select("day", "sbp_min").iter_rows())
    assert got[4] == 88.0 and got[1] is None and got[5] is None
