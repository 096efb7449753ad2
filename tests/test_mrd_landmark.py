"""PFS by MRD status at a landmark ([plan.mrd_landmark], analysis/mrd_landmark.py).

The Kaplan-Meier and log-rank numbers are R's (tests/r_reference_mrd_landmark.json, written by
tests/make_r_reference_mrd_landmark.py: R does the landmark itself from the raw rows); the left-out patients
and the groups are checked by the rule written out in the test."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import polars as pl
import pytest

from cartkit.analysis.mrd_landmark import NEGATIVE, NOT_EVALUABLE, POOLED, POSITIVE, mrd_landmark_tables
from cartkit.study.plan_mrd import MrdLandmarkPlan

HERE = Path(__file__).resolve().parent
REF = json.loads((HERE / "r_reference_mrd_landmark.json").read_text(encoding="utf-8"))
TOL = 1e-6


def _patients() -> dict:
    spec = importlib.util.spec_from_file_location("make_r_reference_mrd_landmark",
                                                  HERE / "make_r_reference_mrd_landmark.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.modules.pop(spec.name, None)
    return mod.PATIENTS


PATIENTS = _patients()
TIMES = pl.DataFrame({"patient_id": list(PATIENTS), "episode": [1] * len(PATIENTS),
                      "days": [v[0] for v in PATIENTS.values()], "status": [v[1] for v in PATIENTS.values()]})
ASSESSMENTS = pl.DataFrame({"patient_id": [p for p, v in PATIENTS.items() for _ in v[2]],
                            "episode": [1 for v in PATIENTS.values() for _ in v[2]],
                            "day": [d for v in PATIENTS.values() for d, _ in v[2]],
                            "mrd_negative": [n for v in PATIENTS.values() for _, n in v[2]]})
GROUPS = TIMES.select("patient_id", "episode", pl.lit("BCMA CAR-T").alias("product"), pl.lit("MM").alias("diagnosis"))


def _close(a, b) -> bool:
    if b is None:
        return a is None or (isinstance(a, float) and math.isnan(a))
    return abs(a - b) <= TOL * max(1.0, abs(b))


@pytest.mark.parametrize("not_evaluable", ["positive", "exclude"])
def test_landmark_km_and_logrank_agree_with_r(not_evaluable):
    ref = REF["r"][not_evaluable]
    out = mrd_landmark_tables(TIMES, ASSESSMENTS, GROUPS, MrdLandmarkPlan(day=REF["landmark"],
                                                                          not_evaluable=not_evaluable))
    status = out["mrd_landmark_status"]
    assert sorted(status.filter(pl.col("included"))["patient_id"].to_list()) == sorted(ref["included"])
    summary, curves = out["mrd_landmark"], out["mrd_landmark_curves"]
    assert summary["group"].to_list() == [g["group"] for g in ref["groups"]]
    for g in ref["groups"]:
        row = summary.filter(pl.col("group") == g["group"]).row(0, named=True)
        for ours, theirs in zip((row["median"], row["median_lower"], row["median_upper"]), g["median"], strict=True):
            assert _close(ours, theirs), (g["group"], ours, theirs)
        curve = curves.filter((pl.col("group") == g["group"]) & (pl.col("time") > 0))
        assert curve.height == len(g["time"])
        for col in ("time", "n_risk", "n_event", "survival", "lower", "upper"):
            assert all(_close(float(a), b) for a, b in zip(curve[col].to_list(), g[col], strict=True)), col
    lr = summary.row(0, named=True)
    assert _close(lr["logrank_statistic"], ref["logrank"]["chisq"]) and lr["logrank_df"] == ref["logrank"]["df"]
    assert _close(lr["logrank_pvalue"], ref["logrank"]["p"])


def test_landmark_rules_by_hand():
    out = mrd_landmark_tables(TIMES, ASSESSMENTS, GROUPS, MrdLandmarkPlan(day=90))
    s = {r["patient_id"]: r for r in out["mrd_landmark_status"].to_dicts()}
    # PFS ended on or before day 90: left out with the reason (P03 progressed on the landmark day itself)
    assert not s["P03"]["included"] and s["P03"]["reason"] == "event on day 90 (on or before the landmark)"
    assert not s["P02"]["included"] and s["P02"]["reason"].startswith("follow-up ended on day 75")
    # a negative result after the landmark does not count (P12 day 100, P32 day 91); on the landmark day it does
    assert s["P12"]["mrd_status"] == NOT_EVALUABLE and s["P32"]["mrd_status"] == NOT_EVALUABLE
    assert s["P31"]["mrd_status"] == NEGATIVE
    # positive then negative by the landmark: negative; negative only after it (P17 day 180): positive
    assert s["P08"]["mrd_status"] == NEGATIVE and s["P17"]["mrd_status"] == POSITIVE
    assert s["P09"]["group"] == POOLED and s["P09"]["mrd_status"] == NOT_EVALUABLE
    # time from the landmark in months; HSCT (status 2) censored
    assert s["P04"]["time"] == pytest.approx(1 / 30.4375) and s["P04"]["event"] is True
    assert s["P11"]["event"] is False
    assert s["P40"]["first_negative_day"] == 28


def test_not_applicable_with_a_reason():
    lymphoma = GROUPS.with_columns(pl.lit("DLBCL").alias("diagnosis"))
    why = mrd_landmark_tables(TIMES, ASSESSMENTS, lymphoma, MrdLandmarkPlan(day=90))
    assert isinstance(why, str) and "MRD rule" in why
    why = mrd_landmark_tables(TIMES, ASSESSMENTS.filter(pl.col("day") > 90), GROUPS, MrdLandmarkPlan(day=90))
    assert isinstance(why, str) and "no MRD result on days 1-90" in why


def test_plan_reads_the_landmark_and_locates_bad_values(tmp_path):
    from cartkit.study.plan import read_study_toml

    toml = tmp_path / "study.toml"
    toml.write_text('[study]\nid = "x"\n[plan]\n[plan.mrd_landmark]\nday = 28\nnot_evaluable = "exclude"\n')
    config, problems = read_study_toml(tmp_path)
    assert problems == [] and config.plan.mrd_landmark == MrdLandmarkPlan(day=28, not_evaluable="exclude")
    toml.write_text('[study]\nid = "x"\n[plan]\n[plan.mrd_landmark]\nday = 0\nnot_evaluable = "drop"\nwindow = 3\n')
    _, problems = read_study_toml(tmp_path)
    assert {p.column for p in problems} == {"plan.mrd_landmark.day", "plan.mrd_landmark.not_evaluable",
                                            "plan.mrd_landmark.window"}
    toml.write_text('[study]\nid = "x"\n[plan]\n')
    config, problems = read_study_toml(tmp_path)
    assert problems == [] and config.plan.mrd_landmark is None


def test_figure_draws_both_groups_with_numbers_at_risk_on_the_ticks():
    from cartkit.analysis.results import Results
    from cartkit.report.figures.pfs_by_mrd import SHORT, pfs_by_mrd_figure
    from cartkit.report.style import figure_style, svg_text

    out = mrd_landmark_tables(TIMES, ASSESSMENTS, GROUPS, MrdLandmarkPlan(day=90))
    results = Results()
    for name, table in out.items():
        results.store(name, table)
    with figure_style():
        fig, layout = pfs_by_mrd_figure(results, return_layout=True)
        svg = svg_text(fig, "pfs-by-mrd")
    panel = layout["MM"]
    assert set(panel["label_x"]) == {SHORT[NEGATIVE], SHORT[POOLED]}
    for xs in panel["label_x"].values():
        assert xs == panel["ticks"][: len(xs)]
    at_risk = out["mrd_landmark_at_risk"].filter(pl.col("time") == 0)
    assert sorted(int(n) for n in at_risk["n_risk"]) == sorted(int(panel["label_text"][g][0]) for g in panel["label_text"])
    p = out["mrd_landmark"]["logrank_pvalue"][0]
    assert f"Log-rank P = {p:.3f}" in svg and "from the landmark (day 90)" in svg
