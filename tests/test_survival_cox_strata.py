"""Stratified Cox regression against R 4.2 / survival 3.5.3 ``coxph(... + strata(s), ties="efron")``.

Data as in tests/test_survival_logrank_cox.py (R vectors t3, e3, g3, st, age, male). For each model R printed
(options(digits=15)): coef(f); sqrt(diag(vcov(f))); summary(f)$conf.int[, 3:4]; summary(f)$coefficients[, 5];
f$loglik; f$wald.test, summary(f)$waldtest[3]; summary(f)$logtest[c(1, 3)]; f$score, summary(f)$sctest[3];
f$n, f$nevent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from cartkit.survival import cox

T3 = [5, 8, 8, 12, 15, 15, 20, 22, 30, 34, 40, 45, 3, 6, 6, 9, 11, 14, 18, 25, 7, 10, 13, 13, 16, 21, 28, 33, 39]
E3 = [1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1]
G3 = ["A"] * 12 + ["B"] * 8 + ["C"] * 9
ST = (["x", "y"] * 15)[:29]  # R: rep(c("x","y"), length.out=29)
AGE = [61, 54, 70, 45, 66, 59, 72, 48, 50, 63, 57, 69, 74, 41, 58, 62, 67, 55, 49, 60, 53, 71, 46, 64, 68, 52, 56,
       65, 47]
MALE = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1]
E4 = [0 if g == "C" else e for e, g in zip(E3, G3, strict=True)]  # R: e4 <- e3; e4[g3 == "C"] <- 0

FRAME = {"t": T3, "e": E3, "e4": E4, "g": G3, "st": ST, "age": AGE, "male": MALE}

CASES = [
    # coxph(Surv(t3, e3) ~ age + male + strata(st), ties="efron")
    ("e", ["age", "male"], "st", dict(
        coef=[0.0243922834181916, 0.380117260711927], se=[0.0327683612046551, 0.529840849350359],
        lower=[0.960950361438724, 0.517703951889109], upper=[1.09266218625976, 4.13127568967501],
        p=[0.456643464375134, 0.47311633476886], loglik=[-34.4614015550709, -33.923102090689],
        wald=(1.07531121823619, 0.584116044756829), lr=(1.07659892876372, 0.58374007961332),
        score=(1.08910112807359, 0.580102443660922), n=(29, 18))),
    # coxph(Surv(t3, e3) ~ age + male + strata(g3), ties="efron")
    ("e", ["age", "male"], "g", dict(
        coef=[0.0198744995985862, 0.249945023976596], se=[0.032066460992671, 0.526719717326311],
        lower=[0.957935712647685, 0.457304114066754], upper=[1.08624153886066, 3.60490962070562],
        p=[0.535395483588866, 0.635121040288364], loglik=[-28.0660887540989, -27.7813400608012],
        wald=(0.560864672746328, 0.755457059277431), lr=(0.569497386595373, 0.75220326429047),
        score=(0.567435181571653, 0.752979262964048), n=(29, 18))),
    # coxph(Surv(t3, e3) ~ age + strata(g3, st), ties="efron")   (6 strata from two columns)
    ("e", ["age"], ["g", "st"], dict(
        coef=[0.0300639990933462], se=[0.0358521902036217], lower=[0.960592495129314], upper=[1.10553900200273],
        p=[0.40171960824014], loglik=[-17.905172172282, -17.5421608742872],
        wald=(0.703172885262706, 0.40171960824014), lr=(0.726022595989654, 0.394175465869992),
        score=(0.713649406372374, 0.398234953085158), n=(29, 18))),
    # coxph(Surv(t3, e4) ~ male + strata(g3), ties="efron")   (stratum C has no events)
    ("e4", ["male"], "g", dict(
        coef=[0.0563805770253938], se=[0.593177285468731], lower=[0.330805219037059], upper=[3.38375721093109],
        p=[0.92427634962298], loglik=[-21.3326868622615, -21.3281572091194],
        wald=(0.00903420639450392, 0.92427634962298), lr=(0.00905930628424301, 0.92417154726364),
        score=(0.00903643712631162, 0.924267029457576), n=(29, 13))),
]


@pytest.mark.parametrize(("event", "covariates", "strata", "r"), CASES)
@pytest.mark.parametrize("frame_type", [pl.DataFrame, pd.DataFrame])
def test_stratified_cox_matches_r(event, covariates, strata, r, frame_type):
    m = cox(frame_type(FRAME), "t", event, covariates, strata=strata)
    np.testing.assert_allclose(m.coef, r["coef"], rtol=1e-6)
    np.testing.assert_allclose(m.se, r["se"], rtol=1e-6)
    np.testing.assert_allclose(m.ci[:, 0], r["lower"], rtol=1e-6)
    np.testing.assert_allclose(m.ci[:, 1], r["upper"], rtol=1e-6)
    np.testing.assert_allclose(m.pvalues, r["p"], rtol=1e-6)
    np.testing.assert_allclose(m.loglik, r["loglik"], rtol=1e-9)
    for test, name in ((m.wald, "wald"), (m.lr, "lr"), (m.score, "score")):
        assert (test.statistic, test.pvalue) == pytest.approx(r[name], rel=1e-6), name
    assert (m.n, m.n_events) == r["n"]
    assert m.strata == ((strata,) if isinstance(strata, str) else tuple(strata))


def test_stratified_cox_drops_rows_with_missing_stratum_and_checks_names():
    frame = pl.DataFrame(FRAME).with_columns(st=pl.when(pl.col("t") == 45).then(None).otherwise(pl.col("st")))
    # R: st2 <- st; st2[t3 == 45] <- NA; coxph(Surv(t3, e3) ~ age + male + strata(st2))$n -> 28
    assert cox(frame, "t", "e", ["age", "male"], strata="st").n == 28
    with pytest.raises(ValueError, match="strata column 'centre'"):
        cox(pl.DataFrame(FRAME), "t", "e", ["age"], strata="centre")
    # R: coxph(Surv(t3, e3) ~ age + I(g3 == "A") + strata(g3)) -> coef NA for the stratum-constant covariate
    frame = pl.DataFrame(FRAME).with_columns(is_a=(pl.col("g") == "A").cast(pl.Int64))
    with pytest.raises(ValueError, match=r"\['is_a'\] are constant within every stratum"):
        cox(frame, "t", "e", ["age", "is_a"], strata="g")
    # unstratified is unchanged by strata=None
    plain = cox(pl.DataFrame(FRAME), "t", "e", ["age", "male"])
    np.testing.assert_allclose(plain.coef, [0.0044326525527835, 0.1483096233157633], rtol=1e-6)
    assert plain.strata == ()
