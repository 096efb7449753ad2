"""Derive stage for kinetics: NCA per episode x analyte of a Study, and per-product summaries."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cartkit.derive.kinetics import KINETICS_COLUMNS, derive_kinetics, summarise_kinetics
from cartkit.stats.describe import quantiles
from cartkit.study.model import Plan, Study, StudyMeta


def _measurements(rows):
    frame = pl.DataFrame(rows, schema=["patient_id", "episode", "day", "analyte", "value", "blq"], orient="row")
    return frame.with_columns(
        pl.col("episode").cast(pl.Int64), pl.col("day").cast(pl.Int64), pl.col("value").cast(pl.Float64),
        pl.lit("unit").alias("unit"), pl.lit(None, pl.String).alias("time"),
        (pl.lit(dt.date(2018, 1, 1)) + pl.duration(days=pl.col("day"))).alias("date"),
    )


def _study(measurements: pl.DataFrame, plan: Plan | None = None) -> Study:
    infusions = pl.DataFrame({
        "patient_id": ["P1", "P1", "P2"], "episode": [1, 2, 1],
        "product": ["CD19 CAR-T", "CD22 CAR-T", "CD19 CAR-T"],
    }).with_columns(pl.col("episode").cast(pl.Int64))
    return Study(path=Path("."), meta=StudyMeta(id="test"), plan=plan or Plan(),
                 tables={"measurements": measurements, "infusions": infusions})


SEED_ROWS = [
    # P1 episode 1, CAR-T % of CD3: seed schedule, day 0 BLQ, a pre-infusion and a day-35 sample outside
    ("P1", 1, -5, "car_t_pct_cd3", 0.5, False),
    ("P1", 1, 0, "car_t_pct_cd3", None, True),
    ("P1", 1, 4, "car_t_pct_cd3", 10.0, False),
    ("P1", 1, 7, "car_t_pct_cd3", 40.0, False),
    ("P1", 1, 14, "car_t_pct_cd3", 22.0, False),
    ("P1", 1, 21, "car_t_pct_cd3", 9.0, False),
    ("P1", 1, 28, "car_t_pct_cd3", 5.0, False),
    ("P1", 1, 35, "car_t_pct_cd3", 100.0, False),
    # P1 episode 2, IL-6 from day 4 only
    ("P1", 2, 4, "il6", 30.0, False),
    ("P1", 2, 7, "il6", 120.0, False),
    ("P1", 2, 14, "il6", 15.0, False),
    # P2: haemoglobin is not a kinetic analyte of the plan
    ("P2", 1, 7, "hemoglobin", 90.0, False),
    ("P2", 1, 7, "il6", 50.0, False),
]


def test_derive_kinetics_hand_computed_profile():
    out = derive_kinetics(_study(_measurements(SEED_ROWS)))
    assert out.schema == pl.Schema(KINETICS_COLUMNS)
    assert out.select("patient_id", "episode", "analyte").rows() == [
        ("P1", 1, "car_t_pct_cd3"), ("P1", 2, "il6"), ("P2", 1, "il6")]
    r = out.row(0, named=True)
    # window 0-28: day -5 and day 35 excluded; day 0 BLQ before Tmax -> 0
    assert (r["cmax"], r["tmax"], r["clast"], r["tlast"], r["n_points"]) == (40.0, 7.0, 5.0, 28.0, 6)
    # 0-4 (0 + 10)/2*4 = 20; 4-7 (10 + 40)/2*3 = 75; log-down: 7-14 (40 - 22)/ln(40/22)*7,
    # 14-21 (22 - 9)/ln(22/9)*7, 21-28 (9 - 5)/ln(9/5)*7
    auc = 20 + 75 + 18 / math.log(40 / 22) * 7 + 13 / math.log(22 / 9) * 7 + 4 / math.log(9 / 5) * 7
    assert r["auc_last"] == pytest.approx(auc, abs=1e-9)
    assert r["auc_partial"] == pytest.approx(auc, abs=1e-9)
    # R: summary(lm(log(c(22, 9, 5)) ~ c(14, 21, 28))): slope -0.105828895780301, adj R^2 0.971955818645061
    assert r["lambda_z"] == pytest.approx(0.105828895780301, abs=1e-12)
    assert r["half_life"] == pytest.approx(math.log(2) / 0.105828895780301, abs=1e-9)
    assert r["r2_adj"] == pytest.approx(0.971955818645061, abs=1e-12)
    assert r["note"] == ""

    il6 = out.row(1, named=True)
    assert (il6["cmax"], il6["tmax"]) == (120.0, 7.0)
    assert il6["auc_partial"] is None and "starts before the first sample" in il6["note"]
    assert il6["half_life"] is None and "fewer than 3" in il6["note"]


def test_derive_kinetics_window_and_analytes_from_arguments():
    study = _study(_measurements(SEED_ROWS))
    out = derive_kinetics(study, analytes=["car_t_pct_cd3"], window=(0, 35))
    assert out.height == 1
    assert (out["cmax"][0], out["tmax"][0]) == (100.0, 35.0)  # day 35 now inside


def test_derive_kinetics_plan_defaults_and_empty():
    plan = Plan(kinetic_analytes=("car_dna",))
    out = derive_kinetics(_study(_measurements(SEED_ROWS), plan))
    assert out.height == 0 and out.schema == pl.Schema(KINETICS_COLUMNS)


def test_quantile_spss_type6_and_r7():
    x = [3.1, 1.2, 5.5, 7.0, 2.2, 9.9, 4.4]
    # R: quantile(x, c(.25, .5, .75), type = 6) -> 2.2 4.4 7.0 ; type = 7 -> 2.65 4.40 6.25
    assert list(quantiles(x, [0.25, 0.5, 0.75], "spss")) == pytest.approx([2.2, 4.4, 7.0], abs=1e-12)
    assert list(quantiles(x, [0.25, 0.5, 0.75], "r7")) == pytest.approx([2.65, 4.4, 6.25], abs=1e-12)
    # R: quantile(c(4, 7, 7, 14, 21, 4, 14, 7), c(.25, .5, .75), type = 6) -> 4.75 7.00 14.00
    y = [4, 7, 7, 14, 21, 4, 14, 7]
    assert list(quantiles(y, [0.25, 0.5, 0.75], "spss")) == pytest.approx([4.75, 7.0, 14.0], abs=1e-12)
    with pytest.raises(ValueError, match="method must be one of"):
        quantiles(x, [0.5], "r9")


def test_summarise_kinetics_by_product():
    params = pl.DataFrame({
        "patient_id": [f"P{i}" for i in range(8)] + ["Q1", "Q2"],
        "episode": [1] * 10,
        "analyte": ["il6"] * 10,
        "cmax": [3.1, 1.2, 5.5, 7.0, 2.2, 9.9, 4.4, None, 8.0, 2.0],
        "tmax": [4.0, 7, 7, 14, 21, 4, 14, 7, 7, 14],
    })
    groups = pl.DataFrame({"patient_id": params["patient_id"], "episode": params["episode"],
                           "product": ["CD19"] * 8 + ["CD22"] * 2})
    out = summarise_kinetics(params, groups, quantile_method="spss")
    assert out.select("product", "measure").rows() == [("CD19", "cmax"), ("CD19", "tmax"), ("CD22", "cmax"),
                                                       ("CD22", "tmax")]
    c = out.row(0, named=True)
    # the null peak is left out: n = 7; R quantile(type = 6) of the 7 values -> 2.2 4.4 7.0
    assert (c["n"], c["q1"], c["median"], c["q3"]) == (7, pytest.approx(2.2), pytest.approx(4.4),
                                                      pytest.approx(7.0))
    # mean(c(3.1, 1.2, 5.5, 7.0, 2.2, 9.9, 4.4)) = 33.3 / 7; R sd(...) = 3.00269720021691
    assert c["mean"] == pytest.approx(33.3 / 7, abs=1e-12)
    assert c["sd"] == pytest.approx(3.00269720021691, abs=1e-12)
    t = out.row(1, named=True)
    assert (t["n"], t["q1"], t["median"], t["q3"], t["min"], t["max"]) == (8, 4.75, 7.0, 14.0, 4.0, 21.0)
    assert np.isclose(out.row(2, named=True)["median"], 5.0)


def test_summarise_kinetics_defaults_to_the_plans_quantiles():
    # called without a plan: R's type 7, the plan's default (docs/plan.md). R:
    # quantile(c(3.1, 1.2, 5.5, 7.0, 2.2, 9.9, 4.4), c(.25, .5, .75), type = 7) = 2.65 4.40 6.25
    params = pl.DataFrame({"patient_id": [f"P{i}" for i in range(7)], "episode": [1] * 7, "analyte": ["il6"] * 7,
                           "cmax": [3.1, 1.2, 5.5, 7.0, 2.2, 9.9, 4.4], "tmax": [4.0] * 7})
    groups = params.select("patient_id", "episode", pl.lit("CD19").alias("product"))
    c = summarise_kinetics(params, groups).row(0, named=True)
    assert (c["q1"], c["median"], c["q3"]) == (pytest.approx(2.65, abs=1e-12), pytest.approx(4.4, abs=1e-12),
                                               pytest.approx(6.25, abs=1e-12))
