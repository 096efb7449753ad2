"""HSCT as a time-dependent covariate: the (start, stop] split, counting-process Cox and Simon-Makuch, against R.

References: tests/r_reference_survival_competing.json (tests/make_r_reference_survival_competing.py; R 4.2.2,
survival 3.5.3). Per case R built the rows with
``tmerge(d, d, id = id, ev = event(time, event))`` then ``tmerge(b, subset(d, !is.na(sw)), id = id, hsct = tdc(sw))``,
fitted ``coxph(Surv(tstart, tstop, ev) ~ hsct, data = b)`` and the Simon-Makuch (extended Kaplan-Meier)
curves ``survfit(Surv(tstart, tstop, ev) ~ hsct, data = b, conf.type = CT)``. Data: ``survival::jasa``
(Stanford heart transplant, prepared as in the survival package's "timedep" vignette), an 8-patient set
(switch at 0, on the event day, after follow-up, never) and random whole-day sets with ties.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartkit.survival import cox, simon_makuch, split_at, time_dependent_cox

CASES = json.loads(Path(__file__).with_name("r_reference_survival_competing.json").read_text())["cases"]
TD = [c for c, case in CASES.items() if case["kind"] == "time_dependent"]


def _arr(v) -> np.ndarray:
    return np.array([np.nan if x is None else x for x in np.atleast_1d(np.array(v, dtype=object))], dtype=float)


def _close(got, want, msg):
    np.testing.assert_allclose(np.asarray(got, dtype=float), _arr(want), rtol=1e-6, atol=1e-12, equal_nan=True,
                               err_msg=msg)


@pytest.mark.parametrize("case_id", TD)
def test_split_matches_tmerge(case_id):
    case = CASES[case_id]
    d = case["data"]
    rows = split_at(d["time"], d["event"], d["switch"])
    want = case["r_value"]["split"]
    for col in ("id", "start", "stop", "event", "hsct"):
        _close(rows[col], want[col], f"{case_id} {col}; R: {case['r_call']}")


@pytest.mark.parametrize("case_id", TD)
def test_counting_process_cox_matches_coxph(case_id):
    case = CASES[case_id]
    d, want = case["data"], case["r_value"]["cox"]
    m = time_dependent_cox(d["time"], d["event"], d["switch"])
    got = [m.coef[0], m.se[0], *m.loglik, m.hr[0], *m.ci[0], m.pvalues[0], m.score.statistic, m.lr.statistic]
    _close(got, [want["coef"], want["se"], *want["loglik"], *want["hr"], want["p"], want["score"], want["lr"]],
           f"{case_id}; R: {case['r_call']}")


@pytest.mark.parametrize("case_id", TD)
def test_simon_makuch_matches_survfit_on_the_split_rows(case_id):
    case = CASES[case_id]
    d, want = case["data"], case["r_value"]["curve"]
    rows = split_at(d["time"], d["event"], d["switch"])
    sm = simon_makuch(rows["start"], rows["stop"], rows["event"], rows["hsct"], conf_type=d["conf_type"])
    for ours, theirs in (("state", "state"), ("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"),
                         ("n_censor", "n_censor"), ("survival", "surv"), ("std_err", "std_err"), ("lower", "lower"),
                         ("upper", "upper")):
        _close(sm.table[ours], want[theirs], f"{case_id} {ours}; R: {case['r_call']}")


def test_the_start_of_an_interval_is_not_at_risk():
    # R's (start, stop]: patient 1's HSCT interval starts on day 3, the day patient 2 dies; before the fix the
    # Stata / statsmodels convention (at risk from start inclusive) put patient 1 in both risk sets on day 3.
    rows = pd.DataFrame({"start": [0, 3, 0, 0], "stop": [3, 10, 3, 8], "event": [0, 1, 1, 1], "hsct": [0, 1, 0, 0]})
    sm = simon_makuch(rows["start"], rows["stop"], rows["event"], rows["hsct"])
    day3 = sm.table.filter((sm.table["state"] == 0) & (sm.table["time"] == 3))
    assert day3["n_risk"].to_list() == [3]  # patients 1 (before HSCT), 2 and 3
    assert sm.survival_at(3, 0) == pytest.approx(2 / 3)
    assert sm.survival_at(9, 1) == 1.0 and sm.survival_at(10, 1) == 0.0
    jasa = CASES["td_jasa"]
    split = split_at(jasa["data"]["time"], jasa["data"]["event"], jasa["data"]["switch"])
    m = cox(split, "stop", "event", ["hsct"], entry="start")
    assert m.coef[0] == pytest.approx(jasa["r_value"]["cox"]["coef"], rel=1e-6)  # 0.0828 without the fix


def test_bad_intervals_and_time_zero_are_named():
    with pytest.raises(ValueError, match="time 0"):
        split_at([0, 5], [1, 0], [None, 2])
    with pytest.raises(ValueError, match="one value per patient"):
        split_at([3, 5], [1, 0], [1])
    with pytest.raises(ValueError, match="start < stop|Stop time must be > start"):
        cox(pd.DataFrame({"a": [0, 2, 0], "b": [2, 2, 4], "e": [1, 1, 0], "x": [0, 1, 1]}), "b", "e", ["x"], entry="a")
    with pytest.raises(ValueError, match="below stop"):
        simon_makuch([0, 2], [2, 2], [1, 1], [0, 1])


def test_adjusted_and_stratified_time_dependent_cox_matches_coxph():
    case = CASES["td_jasa_adjusted"]
    d, want = case["data"], case["r_value"]
    m = time_dependent_cox(d["time"], d["event"], d["switch"], covariates={"age": d["age"], "surgery": d["surgery"]})
    assert m.covariates == ("hsct", "age", "surgery")
    _close([*m.coef, *m.se, *m.loglik], [*want["coef"], *want["se"], *want["loglik"]], f"R: {case['r_call']}")
    s = time_dependent_cox(d["time"], d["event"], d["switch"], covariates={"age": d["age"]}, strata=d["surgery"])
    _close([*s.coef, *s.se, *s.loglik], [*want["strata_coef"], *want["strata_se"], *want["strata_loglik"]],
           f"R: {case['r_call']}")
    with pytest.raises(ValueError, match="one value per patient"):
        time_dependent_cox(d["time"], d["event"], d["switch"], covariates={"age": d["age"][:-1]})


def test_score_test_without_information_is_undefined_not_an_error():
    """The only event falls where every subject at risk has hsct = 0: the information at 0 is 0 and the score
    test is 0/0 (it raised numpy's LinAlgError in the report's time-dependent HSCT table, found by
    tests/test_pipeline_properties.py)."""
    import math

    from cartkit.survival.cox import cox_score_test

    rows = pd.DataFrame({"start": [0.0, 0, 0, 5], "stop": [5.0, 3, 8, 9], "event": [0, 1, 0, 0],
                         "hsct": [0, 0, 0, 1]})
    test = cox_score_test(rows, "stop", "event", ["hsct"], entry="start")
    assert math.isnan(test.statistic) and math.isnan(test.pvalue) and test.df == 1
