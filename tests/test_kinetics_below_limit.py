"""``[plan.kinetics] below_limit``: the NCA's rule for samples below the limit of quantification. The
expected AUCs are hand computed with linear-up / log-down trapezoids (the log-down segment from c1 to
c2 over dt is (c1 - c2) dt / ln(c1 / c2)) from the profile written in each test."""

from __future__ import annotations

import math

import polars as pl
import pytest
from test_study_builders import STUDY_TOML, base_tables, write_study

from cartkit.derive.kinetics import derive_kinetics, kinetics_from_measurements
from cartkit.study.load import load_study
from cartkit.study.plan import read_study_toml

DAYS = [0, 4, 7, 14, 21, 28]
WRITTEN = ["<2", "10", "40", "20", "10", "<2"]  # CAR DNA, copies/ug: below the limit 2 on days 0 and 28


def _log_down(c1, c2, dt):
    return (c1 - c2) * dt / math.log(c1 / c2)


UP = (0 + 10) / 2 * 4 + (10 + 40) / 2 * 3                   # days 0-7 with day 0 at 0
DOWN = _log_down(40, 20, 7) + _log_down(20, 10, 7)         # days 7-21
EXPECTED = {  # rule -> (cmax, tmax, auc_last, auc over 0-28 or None)
    "zero": (40.0, 7.0, UP + DOWN, None),                    # day 28 missing: the window is not covered
    "half_limit": (40.0, 7.0, (1 + 10) / 2 * 4 + (10 + 40) / 2 * 3 + DOWN + _log_down(10, 1, 7),
                   (1 + 10) / 2 * 4 + (10 + 40) / 2 * 3 + DOWN + _log_down(10, 1, 7)),
    "missing": (40.0, 7.0, (10 + 40) / 2 * 3 + DOWN, None),  # from day 4: no sample at day 0
}


def _rows() -> pl.DataFrame:
    below = [w.startswith("<") for w in WRITTEN]
    return pl.DataFrame({"patient_id": "P1", "episode": 1, "day": DAYS, "analyte": "car_dna",
                         "value": [None if b else float(w) for w, b in zip(WRITTEN, below, strict=True)],
                         "blq": below, "lloq": [2.0 if b else None for b in below]})


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_each_rule_against_the_hand_computed_auc(rule):
    out = kinetics_from_measurements(_rows(), analytes=None, window=(0, 28), below_limit=rule).row(0, named=True)
    cmax, tmax, auc_last, auc_window = EXPECTED[rule]
    assert (out["cmax"], out["tmax"]) == (cmax, tmax)
    assert out["auc_last"] == pytest.approx(auc_last, abs=1e-6)
    assert (out["auc_partial"] is None) if auc_window is None else out["auc_partial"] == pytest.approx(
        auc_window, abs=1e-6)


def test_the_default_rule_is_the_nca_as_before():
    rows = _rows()
    before = kinetics_from_measurements(rows, analytes=None, window=(0, 28))  # blq_* defaults, no plan rule
    assert before.equals(kinetics_from_measurements(rows, analytes=None, window=(0, 28), below_limit="zero"))


def test_above_the_upper_limit_is_left_out_and_said():
    rows = _rows().with_columns(qualifier=pl.when(pl.col("day") == 7).then(pl.lit(">")).otherwise(
        pl.when(pl.col("blq")).then(pl.lit("<"))), value=pl.when(pl.col("day") == 7).then(None)
        .otherwise(pl.col("value")))
    out = kinetics_from_measurements(rows, analytes=None, window=(0, 28), below_limit="zero").row(0, named=True)
    assert out["cmax"] == 20.0 and "1 sample(s) above the upper limit of quantification left out" in out["note"]


def test_the_plan_option_is_read_and_used(tmp_path):
    config, problems = read_study_toml(write_study(tmp_path / "bad", toml=STUDY_TOML +
                                                   '\n[plan.kinetics]\nbelow_limit = "half"\n'))
    assert [(p.column, p.value) for p in problems] == [("plan.kinetics.below_limit", "half")]
    assert config.plan.kinetics.below_limit == "zero"
    aucs = {}
    for rule in ("zero", "half_limit", "missing"):
        tables = base_tables()
        tables["measurements"] = [m for m in tables["measurements"] if m["analyte"] != "car_dna"] + [
            {"patient_id": "P1", "episode": 1, "day": d, "date": None, "analyte": "car_dna", "value": w,
             "unit": "copies/ug", "blq": None} for d, w in zip(DAYS, WRITTEN, strict=True)]
        folder = write_study(tmp_path / rule, tables, toml=STUDY_TOML + f'\n[plan.kinetics]\nbelow_limit = "{rule}"\n')
        study = load_study(folder)
        assert study.plan.kinetics.below_limit == rule
        out = derive_kinetics(study, analytes=["car_dna"]).filter(pl.col("patient_id") == "P1").row(0, named=True)
        aucs[rule] = out["auc_last"]
    assert aucs == pytest.approx({rule: e[2] for rule, e in EXPECTED.items()}, abs=1e-6)
