"""cartkit's Cox fit against R's ``coxph`` (R 4.2 / survival 3.5.3) on 34 data sets, to 1e-6.

References: tests/r_reference_cox.json, written by tests/make_r_reference_cox.py (needs R; this test does
not): heavy ties (Efron and Breslow), strata (one without events), counting-process rows of a
time-dependent covariate switching on other rows' event days, delayed entry, no convergence within
``iter.max``, monotone likelihood, and every Cox model of the seed study's analysis.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cartkit.survival import cox
from cartkit.survival.cox import ITER_MAX, cox_score_test

CASES = {c["id"]: c for c in json.loads(Path(__file__).with_name("r_reference_cox.json").read_text())["cases"]}
FITTED = [c for c, case in CASES.items() if not case["score_only"]]


def _fit(case: dict):
    return cox(pl.DataFrame(case["data"]), "stop", "event", case["covariates"], strata=case["strata"],
               entry=case["entry"], ties=case["ties"], iter_max=case["iter_max"] or ITER_MAX)


@pytest.mark.parametrize("case_id", FITTED)
def test_cox_matches_coxph(case_id):
    case = CASES[case_id]
    r = case["r_value"]
    m = _fit(case)
    msg = f"R: {case['r_call']}"
    np.testing.assert_allclose(m.coef, r["coef"], rtol=1e-6, err_msg=msg)
    np.testing.assert_allclose(m.se, r["se"], rtol=1e-6, err_msg=msg)
    np.testing.assert_allclose(m.loglik, r["loglik"], rtol=1e-9, err_msg=msg)
    got = [m.wald.statistic, m.lr.statistic, m.score.statistic]
    np.testing.assert_allclose(got, [r["wald"], r["lr"], r["score"]], rtol=1e-6, err_msg=msg)
    assert (m.n, m.n_events) == (r["n"], r["nevent"]), msg
    # the same Newton iterations as coxfit6 / agfit4 (R counts iter.max + 1 when it runs out: lung data,
    # coxph.control(iter.max = 1) gives f$iter 2 with the coefficients of one step, as here)
    assert m.iterations == r["iter"] - (0 if m.converged else 1), msg
    # R's coxph.fit warns only when iter.max > 1; cartkit says so whenever the fit did not converge
    assert bool(m.warning) == (r["warned"] or not m.converged), (m.warning, msg)
    assert m.converged == (case["iter_max"] is None), msg
    assert m.ties == case["ties"]


@pytest.mark.parametrize("case_id", [c for c, case in CASES.items() if case["score_only"]])
def test_score_test_alone_matches_coxph(case_id):
    case = CASES[case_id]
    test = cox_score_test(pl.DataFrame(case["data"]), "stop", "event", case["covariates"], strata=case["strata"],
                          entry=case["entry"], ties=case["ties"])
    assert test.statistic == pytest.approx(case["r_value"]["score"], rel=1e-6), case["r_call"]


def test_breslow_and_efron_differ_only_with_ties():
    case = CASES["ties2_efron"]
    efron, breslow = _fit(case), _fit(CASES["ties2_breslow"])
    assert np.all(np.abs(efron.coef - breslow.coef) > 1e-3)  # heavy ties: the methods differ ...
    frame = pl.DataFrame(case["data"])
    frame = frame.with_columns(stop=pl.col("stop") + pl.int_range(pl.len()) * 1e-6)  # ... and agree without them
    a = cox(frame, "stop", "event", case["covariates"])
    b = cox(frame, "stop", "event", case["covariates"], ties="breslow")
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)


def test_warnings_and_bad_arguments():
    monotone = _fit(CASES["monotone"])
    assert "coefficient may be infinite" in monotone.warning and "g" in monotone.warning
    assert np.isinf(monotone.ci[0, 1]) or monotone.ci[0, 1] > 1e10
    stopped = _fit(CASES["ties3_iter_max_1"])
    assert not stopped.converged and "did not converge" in stopped.warning
    frame = pl.DataFrame(CASES["ties0_efron"]["data"])
    with pytest.raises(ValueError, match="ties must be one of"):
        cox(frame, "stop", "event", ["x1"], ties="exact")
    with pytest.raises(ValueError, match="iter_max"):
        cox(frame, "stop", "event", ["x1"], iter_max=0)
    collinear = frame.with_columns(x3=pl.col("x1") * 2 + 1)
    with pytest.raises(ValueError, match="singular"):
        cox(collinear, "stop", "event", ["x1", "x3"])


def test_a_plain_dict_of_columns_is_enough():
    case = CASES["strata1_efron"]
    a = cox({k: np.asarray(v) for k, v in case["data"].items()}, "stop", "event", case["covariates"], strata="s")
    np.testing.assert_allclose(a.coef, case["r_value"]["coef"], rtol=1e-6)


def test_cox_imports_neither_statsmodels_nor_scipy_stats():
    """Issue 16: statsmodels (with pandas, patsy and scipy.stats) cost about a second of every report's start-up."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from cartkit.survival import cox, hazard_ratio, time_dependent_cox\n"
        "hazard_ratio([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 1, 0, 1, 1, 0, 1], list('aaaabbbb'))\n"
        "time_dependent_cox([5, 8, 3, 9, 4, 7], [1, 0, 1, 1, 0, 1], [2, None, None, 4, 1, None])\n"
        "print(sorted(m for m in ('statsmodels', 'scipy.stats', 'pandas', 'patsy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
