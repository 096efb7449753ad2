"""Early ICAHT (EHA/EBMT 2023), CAR-HEMATOTOX (Rejeski 2021) and EASIX.

Expected values are counted by hand from the day/ANC series written in each case
(docs/criteria.md ICAHT, T-ICAHT and CAR-HEMATOTOX sections; the criteria files document the boundary choices).
"""

import itertools
from functools import partial

import numpy as np
import polars as pl
import pytest

from cartkit import grading
from cartkit.grading import (
    car_hematotox_expr,
    days_at_or_below,
    easix_expr,
    icaht_frame,
)

# these vignettes are written in the papers' units
icaht_grade = partial(grading.icaht_grade, unit="10^9/L")
car_hematotox = partial(
    grading.car_hematotox,
    units={"platelets": "10^9/L", "anc": "10^9/L", "hemoglobin": "g/dL", "crp": "mg/dL", "ferritin": "ng/mL"},
)
easix = partial(grading.easix, units={"ldh": "U/L", "creatinine": "mg/dL", "platelets": "10^9/L"})


def series(*runs: tuple[int, float]) -> tuple[list[int], list[float]]:
    """Daily ANC from day 0: runs of (number of days, value)."""
    days, values, d = [], [], 0
    for n, v in runs:
        for _ in range(n):
            days.append(d)
            values.append(v)
            d += 1
    return days, values


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        (((31, 2.0),), 0),
        (((1, 0.51), (30, 2.0)), 0),  # just above 0.5
        (((1, 0.5), (30, 2.0)), 1),  # ANC <= 0.5 includes 0.5
        (((6, 0.3), (25, 2.0)), 1),
        (((7, 0.3), (24, 2.0)), 2),
        (((13, 0.3), (18, 2.0)), 2),
        (((14, 0.3), (17, 2.0)), 3),
        (((29, 0.3), (2, 2.0)), 3),
        (((30, 0.3), (1, 2.0)), 4),
        (((31, 0.3),), 4),
        # ANC <= 0.1 row
        (((6, 0.05), (25, 2.0)), 1),
        (((7, 0.1), (24, 2.0)), 3),  # <= 0.1 includes 0.1
        (((7, 0.11), (24, 2.0)), 2),  # just above 0.1: only the 0.5 row (7 days)
        (((13, 0.05), (18, 2.0)), 3),
        (((14, 0.05), (17, 2.0)), 4),
        # cumulative days, non-stable recovery (< 3 days above) counted
        (((7, 0.3), (2, 0.8), (5, 0.3), (17, 2.0)), 3),  # 7 + 2 + 5 = 14
        (((7, 0.3), (3, 0.8), (5, 0.3), (16, 2.0)), 2),  # 3-day recovery is stable: 7 + 5 = 12
        (((4, 0.3), (1, 0.8), (4, 0.3), (5, 2.0), (5, 0.3), (12, 2.0)), 3),  # 4+1+4 + 5 = 14
    ],
)
def test_icaht_grade(runs, expected):
    days, anc = series(*runs)
    assert icaht_grade(days, anc) == expected


def test_icaht_sparse_sampling_carries_the_last_value_forward():
    # day 0 and 7 at 0.3, recovered on day 14: days 0-13 = 14 days -> grade 3
    assert icaht_grade([0, 7, 14], [0.3, 0.3, 2.0]) == 3
    # the last sample counts for its own day only: 0.3 on day 0 and day 12 (nothing after)
    assert days_at_or_below([0, 12], [0.3, 0.3], 0.5) == 13


def test_icaht_window_and_trailing_recovery():
    # values before day 0 or after day 30 are ignored
    assert days_at_or_below([-3, -1, 31], [0.1, 0.1, 0.1], 0.5) == 0
    # a short rise at the end of the records is not bridged (no new fall after it)
    assert days_at_or_below([0, 1, 2, 3], [0.3, 0.3, 0.8, 0.8], 0.5) == 2
    # several values on one day: the lowest counts
    assert days_at_or_below([0, 0, 1], [2.0, 0.4, 2.0], 0.5) == 1


def test_icaht_bridge_days_is_a_parameter():
    days, anc = series((7, 0.3), (2, 0.8), (5, 0.3), (17, 2.0))
    assert icaht_grade(days, anc) == 3
    assert icaht_grade(days, anc, bridge_days=0) == 2  # 12 days without bridging
    with pytest.raises(ValueError):
        icaht_grade([0, 1], [0.3])


def test_icaht_frame_agrees_with_scalar_on_random_series():
    rng = np.random.default_rng(7)
    rows, expected = [], {}
    for e in range(400):
        n = int(rng.integers(1, 25))
        days = sorted(int(d) for d in rng.choice(np.arange(-3, 35), n, replace=False))
        anc = [float(x) for x in rng.choice([0.05, 0.1, 0.3, 0.5, 0.51, 0.9, 2.0], n)]
        rows += [("p", e, d, a) for d, a in zip(days, anc, strict=True)]
        expected[e] = icaht_grade(days, anc)
    long = pl.DataFrame(rows, schema=["patient_id", "episode", "day", "value"], orient="row")
    # rows in random order: the frame must not rely on sorted input
    frame = icaht_frame(long.sample(fraction=1.0, shuffle=True, seed=5))
    got = dict(zip(frame["episode"].to_list(), frame["icaht_grade"].to_list(), strict=True))
    # episodes with no value in the window have no row (scalar: None, undetermined)
    assert {e: got.get(e) for e in expected} == expected


ZERO = {"platelets": 200.0, "anc": 2.0, "hemoglobin": 10.0, "crp": 1.0, "ferritin": 100.0}


@pytest.mark.parametrize(
    ("item", "value", "points"),
    [
        ("platelets", 175.1, 0),
        ("platelets", 175.0, 1),
        ("platelets", 75.0, 1),
        ("platelets", 74.9, 2),
        ("anc", 1.21, 0),
        ("anc", 1.2, 0),
        ("anc", 1.19, 1),
        ("hemoglobin", 9.01, 0),
        ("hemoglobin", 9.0, 0),
        ("hemoglobin", 8.99, 1),
        ("crp", 2.99, 0),
        ("crp", 3.0, 0),
        ("crp", 3.01, 1),
        ("ferritin", 649.9, 0),
        ("ferritin", 650.0, 1),
        ("ferritin", 2000.0, 1),
        ("ferritin", 2000.1, 2),
    ],
)
def test_car_hematotox_boundaries(item, value, points):
    assert car_hematotox(**{**ZERO, item: value}) == points


def test_car_hematotox_total_missing_and_bad():
    assert car_hematotox(platelets=50, anc=0.5, hemoglobin=8.0, crp=5.0, ferritin=3000) == 7
    assert car_hematotox(platelets=150, anc=2.0, hemoglobin=10.0, crp=1.0, ferritin=700) == 2
    assert car_hematotox(**{**ZERO, "crp": None}) is None
    with pytest.raises(ValueError):
        car_hematotox(**{**ZERO, "anc": -1.0})


def test_car_hematotox_vectorised_agrees_with_scalar():
    grid = {
        "platelets": [None, 74.9, 75.0, 120.0, 175.0, 175.1],
        "anc": [1.19, 1.2, 3.0],
        "hemoglobin": [8.99, 9.0],
        "crp": [3.0, 3.01, None],
        "ferritin": [649.9, 650.0, 2000.0, 2000.1],
    }
    rows = list(itertools.product(*grid.values()))
    df = pl.DataFrame(rows, schema={k: pl.Float64 for k in grid}, orient="row")
    got = df.select(car_hematotox_expr(*(pl.col(k) for k in grid))).to_series().to_list()
    assert got == [car_hematotox(*r) for r in rows]


def test_easix():
    # 300 U/L x 1.2 mg/dL / 90 x 10^9/L = 4.0 (hand computation)
    assert easix(300, 1.2, 90) == pytest.approx(4.0, abs=1e-12)
    with pytest.raises(ValueError):
        easix(300, 1.2, 0)
    df = pl.DataFrame({"l": [300.0, 250.0], "c": [1.2, 1.0], "p": [90.0, 0.0]})
    assert df.select(easix_expr(pl.col("l"), pl.col("c"), pl.col("p"))).to_series().to_list() == [
        pytest.approx(4.0),
        None,
    ]
