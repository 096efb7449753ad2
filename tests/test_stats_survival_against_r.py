"""Every public statistics and survival function against R on random and edge-case data sets.

The data, the exact R call and R's printed values (R 4.2 / survival 3.5.3, ``format(v, digits = 17)``) are in
tests/r_reference_stats_survival.json, written by tests/make_r_reference_stats_survival.py (which needs R;
this test does not). Agreement is to 1e-6 relative (NA = NaN), except Fisher's odds ratio and its limits,
which R solves only to ``uniroot``'s default tolerance (see tests/test_stats_fisher_odds_ratio.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartkit import stats, survival

REFERENCE = json.loads(Path(__file__).with_name("r_reference_stats_survival.json").read_text())
CASES = {case["id"]: case for case in REFERENCE["cases"]}
UNIROOT_TOL = 2.220446049250313e-16 ** 0.25  # R: .Machine$double.eps^0.25


def _km(d: dict) -> list:
    km = survival.kaplan_meier(d["time"], d["event"], conf_type=d["conf_type"])
    t = km.table
    return [*t["time"], *t["n_risk"], *t["n_event"], *t["n_censor"], *t["survival"], *t["std_err"], *t["lower"],
            *t["upper"], km.median, *km.median_ci]


def _cox(d: dict, stratified: bool) -> list:
    frame = pd.DataFrame({"t": d["time"], "e": d["event"], "x1": d["x1"], "s": d["s"]})
    m = survival.cox(frame, "t", "e", ["x1"], strata="s" if stratified else None)
    return [*m.coef, *m.se, *m.loglik, m.wald.statistic, m.lr.statistic, m.score.statistic]


def _describe(d: dict) -> list:
    a, b = stats.describe(d["x"]), stats.describe(d["x"], quantile_method="spss")
    return [a.q1, a.median, a.q3, b.q1, b.median, b.q3, a.mean, a.sd]


def _test(r) -> list:
    return [r.statistic, r.pvalue]


def _logrank(d: dict, strata: bool) -> list:
    r = survival.logrank(d["time"], d["event"], d["group"], strata=d["strata"] if strata else None)
    head = [r.statistic] if strata else [r.statistic, r.df]
    return [*head, *r.table["observed"], *r.table["expected"]]


CARTKIT = {
    "describe": _describe,
    "t": lambda d: (lambda r: [r.statistic, r.pvalue, r.df, *r.ci])(
        stats.t_test(d["x"], d["y"], equal_var=d["equal_var"])),
    "tpaired": lambda d: (lambda r: [r.statistic, r.pvalue, r.df, *r.ci])(stats.t_test(d["x"], d["y"], paired=True)),
    "mw": lambda d: _test(stats.mann_whitney(d["x"], d["y"], correct=d["correct"])),
    "sr": lambda d: _test(stats.wilcoxon_signed_rank(d["x"], d["y"], correct=d["correct"])),
    "shapiro": lambda d: _test(stats.shapiro(d["x"])),
    "chisq": lambda d: (lambda r: [r.statistic, r.df, r.pvalue])(stats.chi_square(d["table"], correction=d["correction"])),
    "mcnemar": lambda d: (lambda r: [r.statistic, r.df, r.pvalue])(stats.mcnemar(d["table"])),
    "bowker": lambda d: (lambda r: [r.statistic, r.df, r.pvalue])(stats.bowker(d["table"])),
    "binom": lambda d: [*stats.binomial_ci(d["k"], d["n"]), *stats.binomial_ci(d["k"], d["n"], method="wilson")],
    "km": _km,
    "logrank": lambda d: _logrank(d, False),
    "logrank_strata": lambda d: _logrank(d, True),
    "cox": lambda d: _cox(d, False),
    "cox_strata": lambda d: _cox(d, True),
}


def _r_value(case: dict) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in case["r_value"]], dtype=float)


@pytest.mark.parametrize("case_id", [c for c, case in CASES.items() if case["kind"] != "fisher" and case["r_value"]])
def test_matches_r(case_id):
    case = CASES[case_id]
    got = np.asarray(CARTKIT[case["kind"]](case["data"]), dtype=float)
    np.testing.assert_allclose(got, _r_value(case), rtol=1e-6, atol=1e-12, equal_nan=True,
                               err_msg=f"R: {case['r_call']}")


@pytest.mark.parametrize("case_id", [c for c, case in CASES.items() if case["kind"] == "fisher"])
def test_fisher_matches_r(case_id):
    case = CASES[case_id]
    r = stats.fisher_exact(case["data"]["table"])
    expected = _r_value(case)
    assert r.pvalue == pytest.approx(expected[0], rel=1e-6, abs=1e-12), case["r_call"]
    if r.estimate is None:
        assert expected.size == 1  # r x c: R gives no estimate either
        return
    for ours, theirs in zip((r.estimate, *r.ci), expected[1:], strict=True):
        if math.isinf(ours) or ours == 0:
            assert theirs == ours, case["r_call"]
        else:  # R's uniroot solves on psi when psi < 1, on 1/psi otherwise
            scale = (lambda v: v) if ours < 1 else (lambda v: 1 / v)
            assert abs(scale(theirs) - scale(ours)) <= UNIROOT_TOL, case["r_call"]


def test_logrank_where_r_stops_on_a_singular_variance():
    # A group alone in its stratum is compared with nobody: R's survdiff stops (r_error in the reference);
    # cartkit's generalised inverse gives exactly the test of the groups that do meet (a vs b in stratum 1),
    # whose R value is in case "lr_a_vs_b_in_stratum_1_only".
    case = CASES["lr_group_alone_in_stratum"]
    assert "singular" in case["r_error"]
    d = case["data"]
    r = survival.logrank(d["time"], d["event"], d["group"], strata=d["strata"])
    reduced = _r_value(CASES["lr_a_vs_b_in_stratum_1_only"])
    assert r.statistic == pytest.approx(reduced[0], rel=1e-9)
    assert r.df == 1 and "singular" in r.note
    np.testing.assert_allclose(r.table["observed"].to_numpy()[:2], reduced[2:4], rtol=1e-12)
    np.testing.assert_allclose(r.table["expected"].to_numpy()[:2], reduced[4:6], rtol=1e-12)
    random = CASES["lrs0"]  # the random data set where R stopped the same way
    assert "singular" in random["r_error"]
    d = random["data"]
    r = survival.logrank(d["time"], d["event"], d["group"], strata=d["strata"])
    assert r.df == 1 and "singular" in r.note and np.isfinite(r.statistic)


def test_every_public_function_is_covered():
    kinds = {case["kind"] for case in CASES.values()}
    assert kinds == set(CARTKIT) | {"fisher"}
    assert len(CASES) >= 100
