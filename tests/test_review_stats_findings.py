"""Three statistics review findings, each against R (R 4.2.2, survival 3.4; R is not needed to run these).

1. Hodges-Lehmann, paired, with differences that are equal in decimal but not as doubles
   (0.7 - 0.4 = 0.29999999999999993, 0.4 - 0.1 = 0.30000000000000004): the interval is R's
   ``wilcox.test(conf.int = TRUE)`` on the same data in tenths (where the arithmetic is exact), divided
   by 10. R on the raw doubles gives another interval on each of these data sets (printed below), an
   artefact of which near-equal differences its ``uniroot`` happens to see as tied.
2. ``hazard_ratio`` with no events in one group: the score and likelihood-ratio tests are computed and
   named as such (``summary(coxph(...))$sctest``, ``$logtest``), not labelled Wald; no Wald P.
3. ``compare_counts`` on a table with a single category: not testable (no P value, a reason), not P = 1;
   the grade comparison reports it as a note instead of crashing.
"""

from __future__ import annotations

import math
import warnings

import polars as pl
import pytest

from cartkit.analysis.product_comparison import grade_comparison
from cartkit.stats import compare_counts, hodges_lehmann
from cartkit.survival.hazard_ratio import FewEventsWarning, hazard_ratio

REL = 1e-6

# R: for (cs in cases) { x <- cs[[1]]; y <- cs[[2]]
#      b <- wilcox.test(round(10 * x), round(10 * y), paired = TRUE, conf.int = TRUE, tol.root = 1e-12)
#      print(c(b$estimate / 10, b$conf.int / 10, b$statistic, b$p.value, attr(b$conf.int, "conf.level"))) }
# (estimate None: the signed-rank statistic is 0 over a whole step of shifts, where R's uniroot returns any
# point of the step; see tests/test_stats_exact_against_r.py FLAT_ESTIMATE). raw: wilcox.test(x, y, paired =
# TRUE, conf.int = TRUE)$conf.int on the doubles, the interval cartkit does not reproduce.
DECIMAL_PAIRS = [
    # x, y, estimate, lower, upper, V, P, achieved level; raw R interval
    ([0.3, 0.4, 0.5, 0.3], [0.4, 0.3, 0.4, 1.2], None, -0.40000000000005, 0.1, 4, 0.850106739138526, 0.6,
     (-0.879851, 0.1)),
    ([0.1, 1.3, 0.7, 0.7], [0.7, 0.1, 0.1, 1.3], None, -0.6, 0.600000000000022, 6, 0.850106739138526, 0.6,
     (-0.6, 1.14688)),
    ([0.4, 0.7, 0.4, 1.4], [0.1, 0.4, 1.4, 0.4], 0.299999999999968, -0.350000000000015, 0.65000000000003, 6.5,
     0.710346568995567, 0.8, (-0.936302, 0.999926)),
    ([0.7, 0.6, 0.4, 0.1], [0.4, 0.7, 0.1, 0.4], None, -0.100000000000029, 0.3, 6, 0.850106739138526, 0.6,
     (-0.28839, 0.3)),
    ([0.8, 0.2, 0.5, 1.5], [0.5, 0.5, 0.2, 0.8], 0.29999999999997, -5.56206348945507e-14, 0.500000000000018, 8,
     0.344704222006958, 0.8, (-0.282903, 0.699925)),
]


@pytest.mark.parametrize("x, y, estimate, lower, upper, v, p, achieved, raw", DECIMAL_PAIRS)
def test_paired_hodges_lehmann_ties_decimal_differences_as_r_in_integer_units(x, y, estimate, lower, upper, v, p,
                                                                               achieved, raw):
    r = hodges_lehmann(x, y, paired=True)
    # R's uniroot tolerance 1e-12 leaves up to 6e-14 on the limits: absolute 1e-6 on values of order 1
    assert r.ci == pytest.approx((lower, upper), abs=REL)
    assert (r.statistic, r.pvalue) == pytest.approx((v, p), rel=REL)
    if estimate is not None:
        assert r.estimate == pytest.approx(estimate, abs=REL)
    assert r.note.endswith(f"the requested level is not achievable: {achieved:g}")
    assert r.ci[0] > raw[0] + 0.01 or r.ci[1] < raw[1] - 0.01  # not the floating-point artefact


def test_hazard_ratio_without_events_in_a_group_names_the_tests_it_computed():
    # R: library(survival); s <- summary(coxph(Surv(1:6, c(1, 1, 1, 0, 0, 0)) ~ rep(c("a", "b"), each = 3)))
    # s$sctest: test 5.05166051660517, p 0.0246023499536417; s$logtest: test 5.99146454385486, p 0.014375262451154
    # (the Wald p s$coefficients[, "Pr(>|z|)"] = 0.999293939120317 is that of the coefficient R stopped at
    # after its 20 iterations, "did not converge": meaningless, cartkit gives none)
    with pytest.warns(FewEventsWarning, match="no events in group 'b'"):
        r = hazard_ratio([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 0, 0], list("aaabbb"))
    assert math.isnan(r.hr) and math.isnan(r.pvalue)
    assert r.wald.method == "Wald test" and math.isnan(r.wald.pvalue) and r.wald.note.startswith("not computed")
    assert r.score.method == "Score (logrank) test"
    assert (r.score.statistic, r.score.pvalue) == pytest.approx((5.05166051660517, 0.0246023499536417), rel=REL)
    assert r.lr.method == "Likelihood ratio test"
    assert (r.lr.statistic, r.lr.pvalue) == pytest.approx((5.99146454385486, 0.014375262451154), rel=REL)


def test_hazard_ratio_without_any_informative_event_has_no_tests_and_says_why():
    # the one event happens with only group b at risk: no information at beta = 0 (R's sctest is 0 on df 1,
    # p = 1: no test was possible, cartkit says so instead)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewEventsWarning)
        r = hazard_ratio([1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 1], list("aaabbb"))
    assert r.score.method == "Score (logrank) test" and math.isnan(r.score.pvalue)
    assert r.lr.method == "Likelihood ratio test" and "not computed" in r.lr.note


@pytest.mark.parametrize("table", [[[0, 3], [0, 5]], [[3, 4], [0, 0]], [[3, 0], [0, 0]]])
def test_compare_counts_single_category_is_not_testable(table):
    # R: fisher.test(matrix(c(3, 5), 2, 1)) stops ("'x' must have at least 2 rows and columns")
    choice = compare_counts(table)
    assert choice.test == "undefined" and choice.statistic is None and math.isnan(choice.pvalue)
    assert choice.why.startswith("not testable: after dropping empty rows and columns the table is")


def test_grade_comparison_of_two_products_with_one_grade_between_them_is_a_note():
    # the grade 3 is only product C's: the A x B table has an empty column, one grade left
    ids = [f"P{i}" for i in range(1, 7)]
    groups = pl.DataFrame({"patient_id": ids, "episode": [1] * 6, "product": list("AABBCC")})
    grades = pl.DataFrame({"patient_id": ids, "episode": [1] * 6, "grade": [1, 1, 1, 1, 3, 3]})
    out = grade_comparison(grades, groups, ("A", "B"), "Neutropenia", "ctcae5.0", paired=False)
    assert out["pvalue"] is None and out["method"] is None and out["fisher_pvalue"] is None
    assert out["note"] == ("not testable: after dropping empty rows and columns the table is 2 x 1 "
                           "(every count in one row or one column)")
