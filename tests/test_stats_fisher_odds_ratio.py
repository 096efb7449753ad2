"""Conditional MLE odds ratio and exact CI of Fisher's test on 2 x 2 tables, against R 4.2 ``fisher.test``.

R finds the estimate and the limits with ``uniroot`` at its default tolerance
(``.Machine$double.eps^0.25`` = 1.220703e-4, on psi when psi < 1 and on 1/psi
otherwise), so its printed values are right to ~4 digits only. Two references:

* ``tight``: R's own ``fisher.test`` code with every ``uniroot`` call given
  ``tol = 1e-15, maxiter = 10000`` (nothing else changed); cartkit must agree to 1e-9:

      src <- paste(deparse(fisher.test), collapse = "\\n")
      src <- gsub("c\\\\(0,\\\\s*1\\\\)\\\\)\\\\$root", "c(0, 1), tol = 1e-15, maxiter = 10000)$root", src)
      src <- gsub("c\\\\(\\\\.Machine\\\\$double\\\\.eps,\\\\s*1\\\\)\\\\)\\\\$root",
                  "c(.Machine$double.eps, 1), tol = 1e-15, maxiter = 10000)$root", src)   # 6 calls replaced
      ft_tight <- eval(parse(text = src)); environment(ft_tight) <- environment(fisher.test)
      format(c(ft_tight(t)$estimate, ft_tight(t)$conf.int), digits = 15)

* ``default``: plain ``fisher.test(t)``: must lie within R's uniroot tolerance of
  cartkit's full-precision value on the scale R solves on (psi if < 1, else 1/psi).
"""

from __future__ import annotations

import math

import pytest

from cartkit.stats import fisher_exact
from cartkit.stats.fisher import conditional_odds_ratio

UNIROOT_TOL = 2.220446049250313e-16 ** 0.25  # R: .Machine$double.eps^0.25

INF = math.inf
# (table by rows, R matrix(c(...), 2) column-major in the comment,
#  tight (estimate, lower, upper), default (estimate, lower, upper), tight 90% (lower, upper))
CASES = [
    # t <- matrix(c(10, 2, 3, 15), 2)
    ([[10, 3], [2, 15]], (21.30531755675033, 2.75338278824932, 301.46233797151712),
     (21.30533127501671, 2.75343836564203, 300.68278741940225), (3.50927005384331, 200.22044935876906)),
    # t <- matrix(c(3, 1, 1, 3), 2)
    ([[3, 1], [1, 3]], (6.408319658199671, 0.211735595446578, 626.243530588813542),
     (6.408308867005788, 0.211732915305503, 621.933750545417297), (0.313573767504985, 306.236807858621830)),
    # t <- matrix(c(0, 6, 5, 1), 2)   (x at the bottom of its support: estimate and lower limit 0)
    ([[0, 5], [6, 1]], (0.0, 0.0, 0.594196526556594),
     (0.0, 0.0, 0.594196743196051), (0.0, 0.416527592887975)),
    # t <- matrix(c(7, 7, 7, 8), 2)
    ([[7, 7], [7, 8]], (1.137602612749982, 0.211510894426332, 6.198170824092581),
     (1.137599922933233, 0.211512675021201, 6.198195584545577), (0.266791689624902, 4.895959197715022)),
    # t <- matrix(c(5, 0, 0, 5), 2)   (x at the top: estimate and upper limit Inf)
    ([[5, 0], [0, 5]], (INF, 2.29704881321439, INF),
     (INF, 2.29714678332202, INF), (3.37326653563772, INF)),
    # t <- matrix(c(1, 9, 11, 3), 2)
    ([[1, 11], [9, 3]], (0.037209084832381237, 0.000636002948875108, 0.425866475696373870),
     (0.037233117250979178, 0.000643828388365294, 0.425884038115077135), (0.00129489583896399, 0.32600296913224930)),
    # t <- matrix(c(2, 30, 25, 40), 2)
    ([[2, 25], [30, 40]], (0.1086640624155392, 0.0115935528978964, 0.4929737905777122),
     (0.1086709220418682, 0.0115766677612944, 0.4929830942146822), (0.0170988682877948, 0.4134563685424462)),
    # t <- matrix(c(12, 5, 4, 1), 2)
    ([[12, 4], [5, 1]], (0.6131302222808456, 0.0101765157243814, 8.6862115497706593),
     (0.6131309781505418, 0.0101825223692844, 8.6863765894708571), (0.0207204142308457, 6.3398556770154562)),
]


def _close(a: float, b: float, rel: float) -> bool:
    return a == b if math.isinf(b) or b == 0 else a == pytest.approx(b, rel=rel)


@pytest.mark.parametrize(("table", "tight", "default", "tight90"), CASES)
def test_odds_ratio_matches_r_solved_to_full_precision(table, tight, default, tight90):
    r = fisher_exact(table)
    got = (r.estimate, *r.ci)
    assert all(_close(g, w, 1e-9) for g, w in zip(got, tight, strict=True)), (got, tight)
    r90 = fisher_exact(table, level=0.90)
    assert all(_close(g, w, 1e-9) for g, w in zip(r90.ci, tight90, strict=True)), (r90.ci, tight90)


@pytest.mark.parametrize(("table", "tight", "default", "tight90"), CASES)
def test_r_default_lies_within_uniroot_tolerance(table, tight, default, tight90):
    r = fisher_exact(table)
    for ours, theirs in zip((r.estimate, *r.ci), default, strict=True):
        if math.isinf(ours) or ours == 0:
            assert theirs == ours
            continue
        scale = (lambda v: v) if ours < 1 else (lambda v: 1 / v)  # the variable R's uniroot solves for
        assert abs(scale(theirs) - scale(ours)) <= UNIROOT_TOL


def test_r_default_tolerance_is_visible():
    # R's printed upper limit 300.68 vs the root solved to full precision 301.46 (tight R agrees with cartkit)
    assert abs(fisher_exact([[10, 3], [2, 15]]).ci[1] - 300.68278741940225) > 0.5


def test_odds_ratio_only_for_2x2_and_errors():
    assert fisher_exact([[1, 5, 2], [6, 0, 3]]).estimate is None
    assert fisher_exact([[1, 5, 2], [6, 0, 3]]).ci is None
    # a zero margin: R: r <- fisher.test(matrix(c(0, 3, 0, 4), 2)); c(r$estimate, r$conf.int) -> 0 0 Inf
    r = fisher_exact([[0, 0], [3, 4]])
    assert (r.pvalue, r.estimate, r.ci) == (1.0, 0.0, (0.0, INF))
    with pytest.raises(ValueError, match="2 x 2"):
        conditional_odds_ratio([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match="level"):
        conditional_odds_ratio([[1, 2], [3, 4]], level=1.5)
    with pytest.raises(ValueError, match="level must be between 0 and 1, got 95"):
        fisher_exact([[1, 2, 3], [3, 4, 5]], level=95)
