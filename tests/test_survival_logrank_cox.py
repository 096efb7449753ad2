"""Log-rank (R ``survdiff``) and Cox regression (R ``coxph``, Efron ties) against R 4.2 / survival 3.5.3."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from cartkit.survival import cox, logrank

AML_TIME = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161, 5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]
AML_STATUS = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]
AML_X = ["Maintained"] * 11 + ["Nonmaintained"] * 12

# R: t3, e3, g3, st, age, male as below
T3 = [5, 8, 8, 12, 15, 15, 20, 22, 30, 34, 40, 45, 3, 6, 6, 9, 11, 14, 18, 25, 7, 10, 13, 13, 16, 21, 28, 33, 39]
E3 = [1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1]
G3 = ["A"] * 12 + ["B"] * 8 + ["C"] * 9
ST = (["x", "y"] * 15)[:29]  # R: rep(c("x","y"), length.out=29)
AGE = [61, 54, 70, 45, 66, 59, 72, 48, 50, 63, 57, 69, 74, 41, 58, 62, 67, 55, 49, 60, 53, 71, 46, 64, 68, 52, 56,
       65, 47]
MALE = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1]


def test_logrank_two_groups_aml():
    # survdiff(Surv(time, status) ~ x, data=aml): chisq = 3.3963886989776, obs 7 11,
    # exp 10.68933599230072 7.31066400769928 ; pchisq(3.3963886989776, 1, lower.tail=FALSE) = 0.0653393220405
    r = logrank(AML_TIME, AML_STATUS, AML_X)
    assert r.statistic == pytest.approx(3.3963886989776, rel=1e-9)
    assert r.df == 1
    assert r.pvalue == pytest.approx(0.0653393220405, rel=1e-6)
    assert r.observed == {"Maintained": 7, "Nonmaintained": 11}
    assert list(r.expected.values()) == pytest.approx([10.68933599230072, 7.31066400769928], rel=1e-9)


def test_logrank_three_groups():
    # survdiff(Surv(t3, e3) ~ g3): chisq = 5.3858787068396, obs 7 6 5,
    # exp 9.35730100879829 2.65834009289091 5.98435889831080, p = 0.0676817062521998 (2 df)
    r = logrank(T3, E3, G3)
    assert (r.statistic, r.df, r.pvalue) == pytest.approx((5.3858787068396, 2, 0.0676817062521998), rel=1e-9)
    assert r.table["observed"].to_list() == [7, 6, 5]
    assert r.table["expected"].to_list() == pytest.approx([9.35730100879829, 2.65834009289091, 5.98435889831080],
                                                          rel=1e-9)


def test_logrank_stratified():
    # survdiff(Surv(t3, e3) ~ g3 + strata(st)): chisq = 4.66472553492513, p = 0.0970661312353205,
    # rowSums(obs) 7 6 5, rowSums(exp) 9.16895326895327 2.81795981795982 6.01308691308691
    r = logrank(T3, E3, G3, strata=ST)
    assert (r.statistic, r.pvalue) == pytest.approx((4.66472553492513, 0.0970661312353205), rel=1e-9)
    assert r.table["expected"].to_list() == pytest.approx([9.16895326895327, 2.81795981795982, 6.01308691308691],
                                                          rel=1e-9)


def test_logrank_bad_input():
    with pytest.raises(ValueError, match="at least 2 groups"):
        logrank([1, 2, 3], [1, 0, 1], ["a", "a", "a"])
    with pytest.raises(ValueError, match="one value per subject"):
        logrank([1, 2, 3], [1, 0, 1], ["a", "b"])


def test_cox_two_covariates_polars_and_pandas():
    # f <- coxph(Surv(t3, e3) ~ age + male, ties="efron"); s <- summary(f)
    # coef 0.0044326525527835 0.1483096233157633 ; se 0.0286360685470197 0.4868328258559905
    # lower .95 0.949620345614922 0.446701281481498 ; upper .95 1.06242955194213 3.01163893870843
    # Pr(>|z|) 0.876984796369135 0.760638988410208 ; f$loglik -46.3589072056686 -46.2985357909620
    # f$wald.test 0.12031641309897 (p 0.941615552052201) ; s$logtest 0.120742829413160 p 0.941414813335982
    # f$score 0.120533456692466 (p 0.941513371785139)
    frame = {"t": T3, "e": E3, "age": AGE, "male": MALE}
    for data in (pl.DataFrame(frame), pd.DataFrame(frame)):
        m = cox(data, "t", "e", ["age", "male"])
        np.testing.assert_allclose(m.coef, [0.0044326525527835, 0.1483096233157633], rtol=1e-6)
        np.testing.assert_allclose(m.se, [0.0286360685470197, 0.4868328258559905], rtol=1e-6)
        np.testing.assert_allclose(m.hr, [1.00444249128897, 1.15987196417563], rtol=1e-6)
        np.testing.assert_allclose(m.ci, [[0.949620345614922, 1.06242955194213], [0.446701281481498, 3.01163893870843]],
                                   rtol=1e-6)
        np.testing.assert_allclose(m.pvalues, [0.876984796369135, 0.760638988410208], rtol=1e-6)
        np.testing.assert_allclose(m.loglik, [-46.3589072056686, -46.2985357909620], rtol=1e-9)
        assert (m.wald.statistic, m.wald.pvalue) == pytest.approx((0.12031641309897, 0.941615552052201), rel=1e-6)
        assert (m.lr.statistic, m.lr.pvalue) == pytest.approx((0.120742829413160, 0.941414813335982), rel=1e-6)
        assert (m.score.statistic, m.score.pvalue) == pytest.approx((0.120533456692466, 0.941513371785139),
                                                                    rel=1e-6)
        assert m.table["covariate"].to_list() == ["age", "male"]


def test_cox_one_covariate_aml_with_ties():
    # aml$m <- as.integer(aml$x == "Maintained"); f <- coxph(Surv(time, status) ~ m, data=aml)
    # coef -0.915532575014718, se 0.511934275172005, exp(coef) 0.400303377733198,
    # CI 0.146767538182207 1.09181359999151 ; f$wald.test 3.19829992215945 (p 0.0737148606390457)
    # logtest 3.3844473326036706 p 0.0658142401623409 ; score 3.4167343955173028 p 0.0645385617589437
    data = pl.DataFrame({"time": AML_TIME, "status": AML_STATUS, "m": [int(x == "Maintained") for x in AML_X]})
    m = cox(data, "time", "status", ["m"])
    assert m.coef[0] == pytest.approx(-0.915532575014718, rel=1e-6)
    assert m.se[0] == pytest.approx(0.511934275172005, rel=1e-6)
    assert m.ci[0] == pytest.approx([0.146767538182207, 1.09181359999151], rel=1e-6)
    assert (m.wald.statistic, m.wald.pvalue) == pytest.approx((3.19829992215945, 0.0737148606390457), rel=1e-6)
    assert (m.lr.statistic, m.lr.pvalue) == pytest.approx((3.3844473326036706, 0.0658142401623409), rel=1e-6)
    assert (m.score.statistic, m.score.pvalue) == pytest.approx((3.4167343955173028, 0.0645385617589437), rel=1e-6)


def test_cox_covariate_order_and_errors():
    frame = pl.DataFrame({"t": T3, "e": E3, "age": AGE, "male": MALE})
    m = cox(frame, "t", "e", ["male", "age"])
    np.testing.assert_allclose(m.coef, [0.1483096233157633, 0.0044326525527835], rtol=1e-6)
    with pytest.raises(ValueError, match="not found"):
        cox(frame, "t", "e", ["weight"])
    with pytest.raises(ValueError, match="constant"):
        cox(frame.with_columns(k=pl.lit(1)), "t", "e", ["k"])
