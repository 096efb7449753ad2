"""A patient contributes once per survival endpoint, however many infusions they had.

Hand-built study: four DLBCL patients; A and B have a second infusion. Without
``plan.survival.from_product`` time zero is each patient's first infusion; the
Kaplan-Meier estimates below are computed by hand (product-limit: S(t) = prod(1 - d/n)).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from study_rows import make_study

from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.study.model import Plan, SurvivalPlan

D0 = dt.date(2019, 1, 1)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def _study(from_product: str | None = None):
    infusions = [
        dict(patient_id="A", episode=1, product="CD19 CAR-T", target="CD19", infusion_date=day(0)),
        dict(patient_id="A", episode=2, product="CD22 CAR-T", target="CD22", infusion_date=day(60)),
        dict(patient_id="B", episode=1, product="CD19 CAR-T", target="CD19", infusion_date=day(0)),
        dict(patient_id="B", episode=2, product="CD22 CAR-T", target="CD22", infusion_date=day(90)),
        dict(patient_id="C", episode=1, product="CD19 CAR-T", target="CD19", infusion_date=day(0)),
        dict(patient_id="D", episode=1, product="CD19 CAR-T", target="CD19", infusion_date=day(0)),
    ]
    patients = [dict(patient_id=p, age=50.0, sex="male", diagnosis="DLBCL") for p in "ABCD"]
    events = [
        dict(patient_id="A", kind="relapse", date=day(50)),  # before A's second infusion
        dict(patient_id="A", kind="death", date=day(200)),
        dict(patient_id="B", kind="last_contact", date=day(400)),
        dict(patient_id="C", kind="death", date=day(100)),
        dict(patient_id="D", kind="progression", date=day(250)),
        dict(patient_id="D", kind="last_contact", date=day(300)),
    ]
    study = make_study(infusions=infusions, patients=patients, events=events)
    study.plan = Plan(products=("CD19 CAR-T", "CD22 CAR-T"), diseases=("DLBCL",),
                      survival=SurvivalPlan(from_product=from_product, censor_at_hsct=False))
    return study


def _curve(results, endpoint: str) -> pl.DataFrame:
    return results.get("survival_curves").filter(
        (pl.col("endpoint") == endpoint) & (pl.col("censoring") == "HSCT not censored"))


def _test_row(results, endpoint: str) -> dict:
    return results.get("logrank").filter(
        (pl.col("endpoint") == endpoint) & (pl.col("censoring") == "HSCT not censored")).row(0, named=True)


def test_each_patient_once_from_the_first_infusion_by_default():
    study = _study()
    derived = derive(study)
    tte = derived.tte["HSCT not censored"]
    assert tte.select("patient_id", "episode").rows() == [("A", 1), ("B", 1), ("C", 1), ("D", 1)]
    results = analyse(study, derived)

    # OS from the first infusion: C dies day 100, A day 200 (once, not once per infusion), D censored 300,
    # B censored 400. S(100) = 3/4; S(200) = 3/4 x (1 - 1/3) = 1/2.
    os_curve = _curve(results, "OS")
    assert os_curve["n_risk"][0] == 4
    events = os_curve.filter(pl.col("n_event") > 0)
    assert events["time"].to_list() == [100.0, 200.0]
    assert events["n_risk"].to_list() == [4, 3]
    assert events["survival"].to_list() == pytest.approx([3 / 4, 1 / 2], abs=1e-12)
    row = _test_row(results, "OS")
    assert (row["n"], row["events"]) == (4, 2)

    # PFS: A relapses day 50 (n = 4: 3/4); B censored at their next infusion, day 90; C dies day 100
    # (n = 2: 3/4 x 1/2 = 3/8); D progresses day 250 (n = 1: 0)
    pfs = _curve(results, "PFS").filter(pl.col("n_event") > 0)
    assert pfs["time"].to_list() == [50.0, 100.0, 250.0]
    assert pfs["n_risk"].to_list() == [4, 2, 1]
    assert pfs["survival"].to_list() == pytest.approx([3 / 4, 3 / 8, 0.0], abs=1e-12)
    assert (_test_row(results, "PFS")["n"], _test_row(results, "PFS")["events"]) == (4, 3)
    # Methods say which infusion is time zero
    methods = dict(results.get("methods").rows())
    assert "each patient's first CAR-T infusion" in methods["Survival"]


def test_an_explicit_product_sets_time_zero():
    study = _study(from_product="CD22 CAR-T")
    results = analyse(study, derive(study))
    # only A and B had CD22 CAR-T: A dies 140 days after it (day 200 - day 60), B censored at 310
    os_curve = _curve(results, "OS")
    assert os_curve["n_risk"][0] == 2
    events = os_curve.filter(pl.col("n_event") > 0)
    assert events["time"].to_list() == [140.0]
    assert events["survival"].to_list() == pytest.approx([1 / 2], abs=1e-12)
    methods = dict(results.get("methods").rows())
    assert "each patient's first infusion of CD22 CAR-T" in methods["Survival"]
