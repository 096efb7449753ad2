"""Early ICAHT censoring, late ICAHT and early T-ICAHT (EHA/EBMT; docs/criteria.md, ICAHT and T-ICAHT sections),
and CAPD for children under 12 (ASTCT 2019). Expected values counted by hand."""

import random
from functools import partial

import polars as pl
import pytest

from cartkit import grading
from cartkit.grading import (
    icaht_frame,
    icans_grade,
    icans_grade_expr,
    late_icaht_frame,
    ticaht_frame,
)

# counts in these vignettes are in 10^9/L
icaht_grade = partial(grading.icaht_grade, unit="10^9/L")
ticaht_grade = partial(grading.ticaht_grade, unit="10^9/L")
late_icaht_grade = partial(grading.late_icaht_grade, unit="10^9/L")


def daily(value: float, first: int, last: int, then: float | None = None) -> tuple[list[int], list[float]]:
    """``value`` every day first..last, then ``then`` on the next day."""
    days = list(range(first, last + 1))
    values = [value] * len(days)
    if then is not None:
        days.append(last + 1)
        values.append(then)
    return days, values


# ANC 0.3 on days 0-29 (30 days <= 0.5, none <= 0.1). Censored at day c, the days
# 0..c-1 count: c days -> 1-6: 1, 7-13: 2, 14-29: 3, 30: 4. Censored at day 0 no day is
# left: undetermined (None), as the frame version has no row.
@pytest.mark.parametrize(
    "censor_day, expected",
    [(None, 4), (31, 4), (30, 4), (29, 3), (15, 3), (14, 3), (13, 2), (8, 2), (7, 2), (6, 1), (1, 1), (0, None)],
)
def test_icaht_censoring_counts_only_days_before(censor_day, expected):
    days, anc = daily(0.3, 0, 29, then=2.0)
    assert icaht_grade(days, anc, censor_day=censor_day) == expected


# Platelets (10^9/L), strictly below: < 50 for 1-6 days 1, >= 7 days 2; < 20 1-13 days 3, >= 14 days 4.
@pytest.mark.parametrize(
    "value, n_days, expected",
    [
        (50.0, 30, 0),  # at 50: not below
        (49.9, 1, 1),
        (49.9, 6, 1),
        (49.9, 7, 2),
        (49.9, 8, 2),
        (20.0, 14, 2),  # at 20: not below 20, below 50 for 14 days
        (19.9, 1, 3),
        (19.9, 13, 3),
        (19.9, 14, 4),
        (19.9, 15, 4),
    ],
)
def test_ticaht_boundaries(value, n_days, expected):
    days, plt = daily(value, 0, n_days - 1, then=150.0)
    assert ticaht_grade(days, plt) == expected


def test_ticaht_bridging_and_censoring():
    # < 50 days 0-3, 2 days at 60 (non-stable recovery, counted), < 50 days 6-7: 8 days -> 2
    days = list(range(0, 9))
    plt = [30.0] * 4 + [60.0] * 2 + [30.0] * 2 + [120.0]
    assert ticaht_grade(days, plt) == 2
    assert ticaht_grade(days, plt, bridge_days=2) == 1  # a 2-day recovery is now stable: 4 + 2 = 6 days
    assert ticaht_grade(days, plt, censor_day=6) == 1  # days 0-5: 4 below, the trailing recovery not counted


@pytest.mark.parametrize(
    "days, anc, censor_day, expected",
    [
        ([31, 45], [1.5, 1.5], None, 1),  # <= 1.5 twice
        ([31, 45], [1.5, 1.51], None, 0),  # only one value <= 1.5
        ([31, 45], [1.0, 1.0], None, 2),
        ([31, 45], [1.01, 1.0], None, 1),
        ([31, 45], [0.5, 0.5], None, 3),
        ([31, 45], [0.1, 0.1], None, 4),
        ([31, 45], [0.1, 0.5], None, 3),  # only one value <= 0.1: transient for grade 4
        ([31, 40, 60], [0.1, 2.0, 0.05], None, 4),  # two measurements, not necessarily consecutive
        ([30, 45], [0.1, 0.1], None, None),  # day +30 belongs to the early window: one late value
        ([45], [0.1], None, None),  # a single measurement cannot show non-transient neutropenia
        ([31, 45, 45], [2.0, 0.2, 0.05], None, 0),  # two values on one day count once: one low day
        ([31, 45, 60], [0.4, 0.4, 0.05], 60, 3),  # censored at day 60: the 0.05 does not count
        ([31, 45], [0.4, 0.4], 45, None),
    ],
)
def test_late_icaht(days, anc, censor_day, expected):
    assert late_icaht_grade(days, anc, censor_day=censor_day) == expected


def test_bad_lengths_raise():
    with pytest.raises(ValueError, match="differ in length"):
        ticaht_grade([0, 1], [10.0])
    with pytest.raises(ValueError, match="differ in length"):
        late_icaht_grade([31], [1.0, 1.0])


def test_frames_agree_with_scalar_on_random_series():
    rng = random.Random(11)
    rows, censor, expected = [], [], {}
    for pid in range(300):
        n = rng.randint(1, 25)
        days = sorted(rng.sample(range(-3, 90), n))
        anc = [rng.choice([0.05, 0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.5]) for _ in days]
        plt = [rng.choice([10.0, 19.9, 20.0, 35.0, 49.9, 50.0, 120.0]) for _ in days]
        c = rng.choice([None, None, rng.randint(0, 80)])
        censor.append({"patient_id": str(pid), "episode": 1, "censor_day": c})
        for d, a, p in zip(days, anc, plt, strict=True):
            rows.append({"patient_id": str(pid), "episode": 1, "day": d, "anc": a, "plt": p})
        in_window = [d for d in days if 0 <= d <= 30 and (c is None or d < c)]
        expected[str(pid)] = (
            icaht_grade(days, anc, censor_day=c) if in_window else None,
            ticaht_grade(days, plt, censor_day=c) if in_window else None,
            late_icaht_grade(days, anc, censor_day=c),
        )
    long = pl.DataFrame(rows)
    cens = pl.DataFrame(censor, schema={"patient_id": pl.String, "episode": pl.Int64, "censor_day": pl.Int64})
    early = icaht_frame(
        long.select("patient_id", "episode", "day", pl.col("anc").alias("value")), censor=cens
    )
    t = ticaht_frame(long.select("patient_id", "episode", "day", pl.col("plt").alias("value")), censor=cens)
    late = late_icaht_frame(
        long.select("patient_id", "episode", "day", pl.col("anc").alias("value")), censor=cens
    )
    got_e = dict(early.select("patient_id", "icaht_grade").iter_rows())
    got_t = dict(t.select("patient_id", "ticaht_grade").iter_rows())
    got_l = dict(late.select("patient_id", "late_icaht_grade").iter_rows())
    assert {"days_anc_le_0.5", "days_anc_le_0.1"} <= set(early.columns)
    assert {"days_plt_lt_50", "days_plt_lt_20"} <= set(t.columns)
    for pid, (e, tt, la) in expected.items():
        assert (got_e.get(pid), got_t.get(pid), got_l.get(pid)) == (e, tt, la), pid


# ---------------------------------------------------------------- CAPD (children < 12 y)


@pytest.mark.parametrize(
    "capd, consciousness, expected",
    [
        (0, "normal", 0),
        (1, "normal", 1),
        (8, "normal", 1),
        (1, "awakens_spontaneously", 1),
        (8, "awakens_to_voice", 2),  # CAPD 1-8 is grade 1 or 2: consciousness decides 2
        (9, "normal", 3),
        (32, "normal", 3),
        (None, "unarousable", 4),  # unable to perform CAPD because unarousable
        (None, "normal", 0),
    ],
)
def test_capd_bands(capd, consciousness, expected):
    assert icans_grade(None, consciousness, capd_score=capd) == expected


def test_capd_with_other_domains_and_bad_input():
    assert icans_grade(None, "normal", seizure="resolving", capd_score=2) == 3
    assert icans_grade(None, "normal", motor="deep_focal_weakness", capd_score=2) == 4
    with pytest.raises(ValueError, match="capd_score=33: must be <= 32"):
        icans_grade(None, "normal", capd_score=33)
    with pytest.raises(ValueError, match="not both"):
        icans_grade(7, "normal", capd_score=3)


def test_capd_vectorised_agrees_with_scalar():
    rows = [(c, k) for c in [None, *range(0, 33)] for k in ["normal", "awakens_to_voice", "unarousable"]]
    df = pl.DataFrame(rows, schema=["capd", "cons"], orient="row")
    none = pl.lit(None, dtype=pl.String)
    got = (
        df.select(
            icans_grade_expr(
                pl.lit(None, dtype=pl.Int64), pl.col("cons"), none, none, none, capd_score=pl.col("capd")
            )
        )
        .to_series()
        .to_list()
    )
    assert got == [icans_grade(None, k, capd_score=c) for c, k in rows]
