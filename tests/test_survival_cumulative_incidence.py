"""Cumulative incidence (Aalen-Johansen), cmprsk's variance, log(-log) limits and Gray's test against R.

References: tests/r_reference_survival_competing.json, written by tests/make_r_reference_survival_competing.py
(R 4.2.2, cmprsk 2.2-11, survival 3.5.3; the R call is in each case's ``r_call`` and printed on failure).
R computed, per group, ``cuminc``'s curve at the jumps (``x$time``, ``x$est``, ``x$var`` at the corners
3, 5, ...), ``timepoints(fit, at)``, ``fit$Tests`` (Gray's statistic and P), and the log(-log) limits
``est^exp(-+qnorm(.975) * sqrt(var) / (est * log(est)))`` computed in R from cuminc's own est and var.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cartkit.survival import cumulative_incidence, kaplan_meier

REFERENCE = json.loads(Path(__file__).with_name("r_reference_survival_competing.json").read_text())
CASES = {cid: case for cid, case in REFERENCE["cases"].items()}
CUMINC = [cid for cid, case in CASES.items() if case["kind"] == "cuminc"]
KM = [cid for cid, case in CASES.items() if case["kind"] == "km"]


def _arr(v) -> np.ndarray:
    return np.array([np.nan if x is None else x for x in np.atleast_1d(np.array(v, dtype=object))], dtype=float)


def _fit(case: dict):
    d = case["data"]
    return cumulative_incidence(d["time"], d["status"], cause=d["cause"], group=d["group"], level=d["level"],
                                strata=d["strata"], rho=d["rho"])


def _close(got, want, msg):
    np.testing.assert_allclose(np.asarray(got, dtype=float), _arr(want), rtol=1e-6, atol=1e-12, equal_nan=True,
                               err_msg=msg)


@pytest.mark.parametrize("case_id", CUMINC)
def test_curve_variance_and_limits_match_cmprsk(case_id):
    case = CASES[case_id]
    fit = _fit(case)
    groups = [str(g) for g in fit.groups]
    assert groups == [str(g) for g in np.atleast_1d(case["groups"])]
    for g, label in zip(fit.groups, groups, strict=True):
        want = case["r_value"]["curves"][label]
        rows = fit.table.filter(fit.table["group"] == g)
        msg = f"{case_id} group {label}; R: {case['r_call']}"
        _close(rows["time"], want["time"], msg)
        _close(rows["estimate"], want["est"], msg)
        _close(rows["variance"], want["var"], msg)
        _close(rows["lower"], want["lower"], msg)
        _close(rows["upper"], want["upper"], msg)


@pytest.mark.parametrize("case_id", [c for c in CUMINC if CASES[c]["data"]["at"] is not None])
def test_timepoints_match_cmprsk(case_id):
    case = CASES[case_id]
    fit = _fit(case)
    at = _arr(case["data"]["at"])
    for i, g in enumerate(fit.groups):
        got = fit.at(at, g if len(fit.groups) > 1 else None)
        msg = f"{case_id} group {g}; R: timepoints({case['r_call']}, {at.tolist()})"
        _close(got["estimate"], case["r_value"]["at_est"][i], msg)
        _close(got["variance"], case["r_value"]["at_var"][i], msg)
        for t, e, v in zip(at, case["r_value"]["at_est"][i], case["r_value"]["at_var"][i], strict=True):
            _close([fit.estimate_at(t, g)], [e], msg)
            _close([fit.variance_at(t, g)], [v], msg)


@pytest.mark.parametrize("case_id", [c for c in CUMINC if CASES[c]["r_value"]["tests"] is not None])
def test_gray_test_matches_cmprsk(case_id):
    case = CASES[case_id]
    test = _fit(case).test
    want = case["r_value"]["tests"]
    msg = f"{case_id}; R: {case['r_call']}$Tests"
    _close([test.statistic, test.pvalue, test.df], [want["stat"], want["pv"], want["df"]], msg)
    assert test.method == "Gray's test"


def test_tiny_set_by_hand():
    # time  0: 12 at risk, 1 cause-1, 1 cause-2, 1 censored: F = 1/12, S = 10/12
    # time  1: 9 at risk, 1 cause-1: F += 10/12 * 1/9 ; S = 10/12 * 8/9
    # time  2: 8 at risk, 1 cause-1, 1 cause-2, 1 censored: F += S(2-) * 1/8
    fit = cumulative_incidence([0, 0, 0, 1, 2, 2, 2, 3, 4, 4, 5, 6], [1, 2, 0, 1, 1, 2, 0, 1, 2, 1, 0, 1])
    f0 = 1 / 12
    f1 = f0 + 10 / 12 / 9
    f2 = f1 + 10 / 12 * 8 / 9 / 8
    assert fit.estimate_at(0) == pytest.approx(f0, abs=1e-15)  # a jump at 0 counts at 0, as timepoints
    assert fit.estimate_at(1.5) == pytest.approx(f1, abs=1e-15)
    assert fit.estimate_at(2) == pytest.approx(f2, abs=1e-15)
    # cinc's variance at time 0: fk = 1, rs = 12, the cause-1 term 1/144 * (1 + f0/fkn)^2, the competing term
    # (f0/fkn)^2/144, and the cross terms: v = v1 + f^2 v3 - 2 f v2
    fkn = 10 / 12
    t6 = 1 / 144
    v1 = (f0 / fkn) ** 2 * t6 + (1 + f0 / fkn) ** 2 * t6
    v2 = (1 / fkn) * (f0 / fkn) * t6 + (1 / fkn) * (1 + f0 / fkn) * t6
    v3 = 2 * (1 / fkn) ** 2 * t6
    assert fit.variance_at(0) == pytest.approx(v1 + f0**2 * v3 - 2 * f0 * v2, rel=1e-13)
    assert np.isnan(fit.estimate_at(6.5))  # beyond the last follow-up time: NA in timepoints
    assert fit.test is None


def test_groups_need_a_name_and_must_exist():
    fit = cumulative_incidence([1, 2, 3, 4], [1, 0, 2, 1], group=["a", "a", "b", "b"])
    with pytest.raises(ValueError, match="name the group"):
        fit.estimate_at(2)
    with pytest.raises(ValueError, match="not among"):
        fit.estimate_at(2, "c")


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="same length"):
        cumulative_incidence([1, 2], [1])
    with pytest.raises(ValueError, match=">= 0"):
        cumulative_incidence([-1, 2], [1, 0])
    with pytest.raises(ValueError, match="level"):
        cumulative_incidence([1, 2], [1, 0], level=1.5)


def test_without_competing_events_it_is_one_minus_kaplan_meier():
    t = [1, 2, 2, 3, 5, 8, 8, 9, 12]
    e = [1, 0, 1, 1, 0, 1, 1, 0, 1]
    fit = cumulative_incidence(t, e)
    km = kaplan_meier(t, e)
    for x in (1, 2, 4, 8, 12):
        assert fit.estimate_at(x) == pytest.approx(1 - km.survival_at(x), abs=1e-14)


@pytest.mark.parametrize("case_id", KM)
def test_kaplan_meier_with_events_at_time_zero_matches_survfit(case_id):
    case = CASES[case_id]
    d = case["data"]
    km = kaplan_meier(d["time"], d["event"], conf_type=d["conf_type"])
    want = case["r_value"]
    msg = f"{case_id}; R: {case['r_call']}"
    for ours, theirs in (("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"), ("survival", "surv"),
                         ("std_err", "std_err"), ("lower", "lower"), ("upper", "upper")):
        _close(km.table[ours], want[theirs], msg)
    _close([km.median, *km.median_ci], want["median"], msg)


def test_text_status_codes():
    fit = cumulative_incidence([5, 6, 7, 1, 2], ["relapse", "death", "relapse", "none", "none"], cause="relapse",
                               censor_code="none")
    assert fit.table["estimate"].to_list() == pytest.approx([1 / 3, 2 / 3])  # 3 at risk at 5; S(7-) = 1/3 at 7


def test_missing_status_is_refused_not_counted_as_competing():
    with pytest.raises(ValueError, match="missing in rows \\[1\\]"):
        cumulative_incidence([1, 2, 3], [1, None, 0])
    with pytest.raises(ValueError, match="missing in rows \\[0\\]"):
        cumulative_incidence([1, 2, 3], [np.nan, 1.0, 0.0])


def test_gray_test_with_a_singular_variance():
    # R: cuminc(c(5, 6, 7, 1, 2), c(1, 2, 1, 0, 0), c("a", "a", "a", "b", "b"))$Tests gives stat -1, pv 1, df 1:
    # group b is at risk at no event time, so the score's variance is 0. cartkit: NaN, and says why.
    test = cumulative_incidence([5, 6, 7, 1, 2], [1, 2, 1, 0, 0], group=list("aaabb")).test
    assert np.isnan(test.statistic) and np.isnan(test.pvalue) and test.df == 1
    assert "singular" in test.note


def test_kaplan_meier_at_landmarks_with_day_zero_events_matches_summary_survfit():
    # R: f <- survfit(Surv(c(0,0,0,0,30,45,60,60,90,120,200,365,400), c(1,1,1,0,1,1,1,0,1,0,1,0,0)) ~ 1,
    #                 conf.type = "log-log"); summary(f, times = c(0, 28, 60, 365))   (print digits = 15)
    r = {
        "n_risk": [13, 9, 7, 2], "n_event": [3, 0, 3, 2], "n_censor": [1, 0, 1, 2],
        "survival": [0.769230769230769, 0.769230769230769, 0.512820512820513, 0.273504273504273],
        "std_err": [0.116854542355808, 0.116854542355808, 0.143802478521944, 0.148626144369513],
        "lower": [0.4421414979265564, 0.4421414979265564, 0.2185336395573744, 0.0524396800159264],
        "upper": [0.919115326239281, 0.919115326239281, 0.745827331988128, 0.565460357390478],
    }
    km = kaplan_meier([0, 0, 0, 0, 30, 45, 60, 60, 90, 120, 200, 365, 400], [1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 0],
                      conf_type="log-log")
    got = km.at([0, 28, 60, 365])
    for col, want in r.items():
        np.testing.assert_allclose(got[col].to_numpy().astype(float), want, rtol=1e-12, err_msg=col)


def test_no_events_at_all_gives_no_gray_statistic():
    """Every subject censored: no jump to estimate, and Gray's test has no information (singular variance:
    NaN with the note; R's cuminc stops: 'NAs in foreign function call'), instead of an IndexError."""
    from cartkit.survival import cumulative_incidence

    fit = cumulative_incidence([1, 2, 3, 4], [0, 0, 0, 0], group=list("aabb"))
    assert fit.table.height == 0 and fit.estimate_at(2, "a") == 0.0
    assert fit.test.statistic != fit.test.statistic and "singular" in fit.test.note


def test_an_incidence_that_reaches_one_has_no_limits_not_zero_to_one():
    # every patient has the cause: R 4.x, cmprsk 2.2-11, cuminc(c(0, 0, 0, 44, 105, 197), rep(1, 6)) gives at 197
    # est 0.99999999999999989 (1/2 + 1/6 + 1/6 + 1/6 in floating point) and var 0.027777777777777679; the
    # log(-log) limits are undefined at F = 1 (docs/survival.md); the rounding used to give (0, 1) and an
    # overflow warning on the console
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = cumulative_incidence([0, 0, 0, 44, 105, 197], [1, 1, 1, 1, 1, 1])
    last = fit.at([197]).row(0, named=True)
    assert last["estimate"] == pytest.approx(0.99999999999999989, abs=1e-15)
    assert last["variance"] == pytest.approx(0.027777777777777679, rel=1e-12)
    assert np.isnan(last["lower"]) and np.isnan(last["upper"])
    # below 1 the limits are the formula's (evaluated in R on cuminc's est and var at 105)
    mid = fit.at([105]).row(0, named=True)
    assert (mid["lower"], mid["upper"]) == pytest.approx((0.088234249054777628, 0.98640120382936303), rel=1e-9)
