"""Two-group Cox hazard ratios (with the few-events warning) and median survival with CI against R.

References: tests/r_reference_survival_competing.json (tests/make_r_reference_survival_competing.py; R 4.2.2,
survival 3.5.3) on ``survival::lung`` (sex), ``aml`` (maintenance), ``veteran`` (treatment; cell type for
the medians) and a 10-subject set with 6 events. R: ``summary(coxph(Surv(time, event) ~ factor(group)))``
($conf.int, $coefficients, $sctest, $logtest) and ``summary(survfit(Surv(time, event) ~ group,
conf.type = CT))$table`` (records, events, median, 0.95LCL, 0.95UCL) for CT = log, log-log, plain.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from cartkit.survival import FewEventsWarning, hazard_ratio, median_survival

CASES = json.loads(Path(__file__).with_name("r_reference_survival_competing.json").read_text())["cases"]
HR = [c for c, case in CASES.items() if case["kind"] == "hr"]
MEDIAN = [c for c, case in CASES.items() if case["kind"] == "median"]


def _arr(v) -> np.ndarray:
    return np.array([np.nan if x is None else x for x in np.atleast_1d(np.array(v, dtype=object))], dtype=float)


@pytest.mark.parametrize("case_id", HR)
def test_hazard_ratio_matches_coxph(case_id):
    case = CASES[case_id]
    d, want = case["data"], case["r_value"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewEventsWarning)
        r = hazard_ratio(d["time"], d["event"], d["group"], reference=d["reference"], strata=d.get("strata"))
    got = [r.hr, *r.ci, r.coef, r.se, r.pvalue, r.score.statistic, r.lr.statistic]
    np.testing.assert_allclose(got, _arr([*want["hr"], want["coef"], want["se"], want["p"], want["score"], want["lr"]]),
                               rtol=1e-6, err_msg=f"{case_id}; R: {case['r_call']}")
    assert r.wald.pvalue == r.pvalue and r.wald.estimate == r.hr


def test_reference_is_the_first_level_unless_named():
    d = CASES["hr_lung_sex"]["data"]
    r = hazard_ratio(d["time"], d["event"], d["group"])
    assert (r.reference, r.group) == ("female", "male")  # R's factor order: sorted labels
    s = hazard_ratio(d["time"], d["event"], d["group"], reference="male")
    assert s.hr == pytest.approx(1 / r.hr, rel=1e-9)
    assert s.ci[0] == pytest.approx(1 / r.ci[1], rel=1e-9)
    assert r.events == {"female": 53, "male": 112} and r.warning == ""


def test_fewer_than_ten_events_warns_and_still_estimates():
    d = CASES["hr_few_events"]["data"]
    with pytest.warns(FewEventsWarning, match="only 6 events"):
        r = hazard_ratio(d["time"], d["event"], d["group"])
    assert "fewer than 10 per covariate" in r.warning
    assert np.isfinite(r.hr)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the threshold is a parameter
        assert hazard_ratio(d["time"], d["event"], d["group"], min_events_per_covariate=6).warning == ""


def test_group_without_events_is_not_estimable():
    with pytest.warns(FewEventsWarning, match="no events in group 'b'"):
        r = hazard_ratio([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 0, 0], list("aaabbb"))
    assert np.isnan(r.hr) and np.isnan(r.ci[0]) and "not estimable" in r.warning


def test_hazard_ratio_needs_two_groups():
    with pytest.raises(ValueError, match="exactly 2 groups"):
        hazard_ratio([1, 2, 3], [1, 1, 1], ["a", "b", "c"])
    with pytest.raises(ValueError, match="reference 'z'"):
        hazard_ratio([1, 2, 3, 4], [1, 1, 1, 1], list("aabb"), reference="z")


@pytest.mark.parametrize("case_id", MEDIAN)
def test_median_survival_with_ci_matches_survfit(case_id):
    case = CASES[case_id]
    d, want = case["data"], case["r_value"]
    got = median_survival(d["time"], d["event"], d["group"], conf_type=d["conf_type"])
    for col in ("n", "events", "median", "lower", "upper"):
        np.testing.assert_allclose(got[col].to_numpy().astype(float), _arr(want[col]), rtol=1e-6, equal_nan=True,
                                   err_msg=f"{case_id} {col}; R: {case['r_call']}")


def test_median_survival_without_groups():
    got = median_survival([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 1], conf_type="log-log")
    assert got.columns == ["n", "events", "median", "lower", "upper"] and got["median"].to_list() == [4.0]
