"""The HSCT time-dependent covariate row (analysis/hsct_survival.time_dependent_tables) when its Mantel-Byar
(score) test is undefined: every event happened while nobody at risk had had HSCT, so the information at
beta = 0 is zero. R 4.x, survival 3.5.3, on the same counting-process rows:

    d <- data.frame(start = c(0, 0, 0, 0, 40), stop = c(10, 20, 30, 40, 100), event = c(1, 1, 1, 0, 0),
                    hsct = c(0, 0, 0, 0, 1))
    f <- coxph(Surv(start, stop, event) ~ hsct, data = d)   # coefficient NA (X matrix singular)
    summary(f)$sctest                                       # test 0, df 0: no test

The review found the row carrying NaN statistic and P (written "NaN" in endpoint_hsct_cox.csv, a "P = –" in the
Simon-Makuch figure title) with a note about the hazard ratio only; now both are empty and the note says why.
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.hsct_survival import time_dependent_tables
from cartkit.study.plan_endpoint import EndpointPlan


def test_an_undefined_mantel_byar_test_is_empty_and_explained():
    followed = pl.DataFrame({"days": [10, 20, 30, 100], "event": [True, True, True, False]})
    switch = pl.Series("hsct", [None, None, None, 40], dtype=pl.Int64)
    endpoint = EndpointPlan(name="RFS", origin="first infusion", events=("relapse",))
    row, curves = time_dependent_tables(followed, switch, endpoint, {"population": "all", "endpoint": "RFS"},
                                        scale=1.0, conf_type="log-log", level=0.95)
    assert (row["n"], row["events"], row["n_hsct"], row["events_after_hsct"]) == (4, 3, 1, 0)
    assert row["hr"] is None and row["score_statistic"] is None and row["score_pvalue"] is None
    assert "no events after HSCT" in row["note"]
    assert "Mantel-Byar test undefined" in row["note"]
    assert curves is not None and set(curves["state"]) == {"no HSCT", "HSCT"}


def test_a_defined_mantel_byar_test_is_kept():
    # one event after HSCT (day 60, patient 4 transplanted on day 40) and three before: R's
    #   summary(coxph(Surv(start, stop, event) ~ hsct))$sctest is defined; cartkit keeps its value
    followed = pl.DataFrame({"days": [10, 20, 30, 60, 90], "event": [True, True, True, True, False]})
    switch = pl.Series("hsct", [None, None, None, 40, None], dtype=pl.Int64)
    endpoint = EndpointPlan(name="RFS", origin="first infusion", events=("relapse",))
    row, _ = time_dependent_tables(followed, switch, endpoint, {"population": "all", "endpoint": "RFS"},
                                   scale=1.0, conf_type="log-log", level=0.95)
    assert row["score_statistic"] is not None and row["score_statistic"] > 0
    assert "Mantel-Byar test undefined" not in (row["note"] or "")


def test_score_test_without_information_is_nan_not_a_rounding_error():
    # the rows of the R call in the module docstring: every event in a risk set where hsct is constant. The
    # information at 0 is exactly 0 (R: sctest df 0); computed as E[x^2] - E[x]^2 it was 1e-17 and gave a
    # "statistic" of 1.1e-16 (P = 1) instead of no test
    import math

    from cartkit.survival.cox import cox_score_test

    rows = pl.DataFrame({"start": [0.0, 0, 0, 0, 40], "stop": [10.0, 20, 30, 40, 100], "event": [1, 1, 1, 0, 0],
                         "hsct": [0.0, 0, 0, 0, 1]})
    test = cox_score_test(rows, "stop", "event", ["hsct"], entry="start")
    assert math.isnan(test.statistic) and math.isnan(test.pvalue)
