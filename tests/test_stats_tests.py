"""Rank tests, t tests, Shapiro-Wilk, chi-square, McNemar/Bowker, binomial CIs and quartiles against R 4.2.

Every expected number was printed by /usr/bin/Rscript with options(digits=15); the R call is next to it.
"""

from __future__ import annotations

import numpy as np
import pytest

from cartkit.stats import (
    binomial_ci,
    bowker,
    chi_square,
    compare,
    describe,
    mann_whitney,
    mcnemar,
    quantiles,
    shapiro,
    t_test,
    wilcoxon_signed_rank,
)

X1 = [12.1, 15.3, 9.8, 22.4, 18.0, 11.5, 30.2]
Y1 = [25.3, 19.9, 40.1, 33.3, 28.7, 21.0]
X2 = [1, 2, 2, 3, 4, 4, 4, 5, 7]  # ties
Y2 = [3, 4, 5, 5, 6, 7, 8, 8, 9, 10]
X3 = (np.arange(1, 56) * 37 % 97) / 7  # R: x3 <- (((1:55)*37) %% 97)/7
Y3 = (np.arange(1, 53) * 53 % 89) / 6 + 1  # R: y3 <- (((1:52)*53) %% 89)/6 + 1
A = [5.1, 6.3, 7.2, 4.8, 9.1, 6.6, 5.5, 8.0]
B = [4.2, 6.9, 5.1, 4.0, 7.7, 6.1, 3.9, 6.8]
A2 = [3, 5, 2, 6, 4, 4, 7, 5, 3, 6]  # differences with ties and zeros
B2 = [2, 5, 4, 3, 4, 2, 5, 3, 1, 5]

REL = 1e-6


def test_mann_whitney_exact_without_ties():
    # wilcox.test(x1, y1) -> W = 6, p-value = 0.034965034965035 (exact)
    r = mann_whitney(X1, Y1)
    assert r.statistic == 6
    assert r.pvalue == pytest.approx(0.034965034965035, rel=REL)
    assert "exact" in r.method


def test_mann_whitney_exact_just_below_50():
    # wilcox.test((1:49)/7, (1:45)/6.5 + 0.3)$p.value -> 0.526658685577085 (exact: both n < 50, no ties)
    r = mann_whitney(np.arange(1, 50) / 7, np.arange(1, 46) / 6.5 + 0.3)
    assert r.pvalue == pytest.approx(0.526658685577085, rel=REL)
    assert "exact" in r.method


def test_mann_whitney_ties_normal_approximation():
    # wilcox.test(x2, y2) -> W = 13.5, p-value = 0.0107302847562416 (ties: continuity-corrected normal)
    r = mann_whitney(X2, Y2)
    assert r.statistic == 13.5
    assert r.pvalue == pytest.approx(0.0107302847562416, rel=REL)
    # wilcox.test(x2, y2, correct=FALSE)$p.value -> 0.00952776156587817 (SPSS's asymptotic value)
    assert mann_whitney(X2, Y2, correct=False).pvalue == pytest.approx(0.00952776156587817, rel=REL)


def test_mann_whitney_large_samples_and_forced_asymptotic():
    # wilcox.test(x3, y3) -> W = 1117, p-value = 5.14358691052195e-02 (n >= 50: normal approximation)
    r = mann_whitney(X3, Y3)
    assert r.statistic == 1117
    assert r.pvalue == pytest.approx(5.14358691052195e-02, rel=REL)
    # wilcox.test(x1, y1, exact=FALSE, correct=FALSE)$p.value -> 0.0321245712076566
    assert mann_whitney(X1, Y1, exact=False, correct=False).pvalue == pytest.approx(0.0321245712076566, rel=REL)


def test_wilcoxon_signed_rank_exact_and_ties():
    # wilcox.test(a, b, paired=TRUE) -> V = 34, p-value = 0.0234375 (exact)
    r = wilcoxon_signed_rank(A, B)
    assert r.statistic == 34
    assert r.pvalue == pytest.approx(0.0234375, rel=REL)
    # wilcox.test(a2, b2, paired=TRUE) -> V = 31, p-value = 0.0723018294837367 (ties and zeros)
    r = wilcoxon_signed_rank(A2, B2)
    assert r.statistic == 31
    assert r.pvalue == pytest.approx(0.0723018294837367, rel=REL)
    assert "zero" in r.note


def test_wilcoxon_signed_rank_forced_exact_large_n():
    # x <- c(1:70)/3 + sin(1:70); y <- (1:70)/3.1; wilcox.test(x, y, paired=TRUE, exact=TRUE)$p.value
    # -> 8.76549618843076e-05 (n = 70 > 62: counts held as floats)
    x = np.arange(1, 71) / 3 + np.sin(np.arange(1, 71))
    y = np.arange(1, 71) / 3.1
    r = wilcoxon_signed_rank(x, y, exact=True)
    assert r.statistic == 1895
    assert r.pvalue == pytest.approx(8.76549618843076e-05, rel=REL)


def test_t_tests():
    # t.test(x1, y1, var.equal=TRUE): t = -2.6562519004841953, df = 11, p = 0.0223356813879465,
    # 95% CI -20.1277229042249743 -1.8865628100607383
    r = t_test(X1, Y1)
    assert r.statistic == pytest.approx(-2.6562519004841953, rel=REL)
    assert r.df == 11
    assert r.pvalue == pytest.approx(0.0223356813879465, rel=REL)
    assert r.ci == pytest.approx((-20.1277229042249743, -1.8865628100607383), rel=REL)
    # t.test(x1, y1): t = -2.6420123646589491, df = 10.4375892248525997, p = 0.0238422583741631,
    # CI -20.2375242144489214 -1.7767614998367915
    r = t_test(X1, Y1, equal_var=False)
    assert r.method == "Welch Two Sample t-test"
    assert (r.statistic, r.df, r.pvalue) == pytest.approx((-2.6420123646589491, 10.4375892248525997,
                                                           0.0238422583741631), rel=REL)
    assert r.ci == pytest.approx((-20.2375242144489214, -1.7767614998367915), rel=REL)
    # t.test(a, b, paired=TRUE): t = 3.4347826086956506, df = 7, p = 0.0109141495404436,
    # CI 0.3076705276670741 1.6673294723329257
    r = t_test(A, B, paired=True)
    assert (r.statistic, r.df, r.pvalue) == pytest.approx((3.4347826086956506, 7, 0.0109141495404436), rel=REL)
    assert r.ci == pytest.approx((0.3076705276670741, 1.6673294723329257), rel=REL)
    # t.test(x2, y2, var.equal=TRUE, conf.level=0.9): t = -3.09840873762643909, p = 0.00652675508579792,
    # CI -4.59760766268201682 -1.29128122620687313
    r = t_test(X2, Y2, level=0.9)
    assert (r.statistic, r.pvalue) == pytest.approx((-3.09840873762643909, 0.00652675508579792), rel=REL)
    assert r.ci == pytest.approx((-4.59760766268201682, -1.29128122620687313), rel=REL)


@pytest.mark.parametrize(
    ("data", "w", "p"),
    [
        (X1, 0.905680698485495, 0.366777161960898),  # shapiro.test(x1)
        (Y1, 0.944019371176818, 0.691722121468102),  # shapiro.test(y1)
        (X2, 0.951968511803884, 0.711678953919065),  # shapiro.test(x2)
        (X3, 0.9537690754785362, 0.0338260275894339),  # shapiro.test(x3)
        ([1.2, 3.4, 2.2], 0.997252747252747, 0.899850280037225),  # shapiro.test(c(1.2, 3.4, 2.2)): n = 3
        # x <- sin(1:120)*3 + (1:120)/40; shapiro.test(x)
        (np.sin(np.arange(1, 121)) * 3 + np.arange(1, 121) / 40, 0.96442220475918428, 0.00291468303329248),
    ],
)
def test_shapiro_matches_r(data, w, p):
    r = shapiro(data)
    assert r.statistic == pytest.approx(w, rel=REL)
    assert r.pvalue == pytest.approx(p, rel=REL)


def test_chi_square():
    # chisq.test(matrix(c(12,7,5,15),2)) -> X-squared = 4.3221203912186867, p = 0.0376200166348401
    r = chi_square([[12, 5], [7, 15]])
    assert (r.statistic, r.pvalue) == pytest.approx((4.3221203912186867, 0.0376200166348401), rel=REL)
    assert "Yates" in r.method
    # chisq.test(matrix(c(12,7,5,15),2), correct=FALSE) -> 5.7695961159583433, p = 0.0163057815846502
    r = chi_square([[12, 5], [7, 15]], correction=False)
    assert (r.statistic, r.pvalue) == pytest.approx((5.7695961159583433, 0.0163057815846502), rel=REL)
    # chisq.test(matrix(c(10,10,10,11),2)) -> X-squared = 0, p = 1 (R's min(0.5, |O - E|) correction)
    r = chi_square([[10, 10], [10, 11]])
    assert r.statistic == pytest.approx(0, abs=1e-12)
    assert r.pvalue == pytest.approx(1.0)
    # chisq.test(rbind(c(20,15,10),c(12,18,25),c(8,9,14))) -> 8.7905833848691, df = 4, p = 0.0665524428380976
    r = chi_square([[20, 15, 10], [12, 18, 25], [8, 9, 14]])
    assert (r.statistic, r.df, r.pvalue) == pytest.approx((8.7905833848691, 4, 0.0665524428380976), rel=REL)


def test_mcnemar_and_bowker():
    # mcnemar.test(matrix(c(10,2,5,8),2)) -> 0.571428571428571, p = 0.449691797968891
    r = mcnemar([[10, 5], [2, 8]])
    assert (r.statistic, r.pvalue) == pytest.approx((0.571428571428571, 0.449691797968891), rel=REL)
    # mcnemar.test(matrix(c(10,2,5,8),2), correct=FALSE) -> 1.285714285714286, p = 0.256839257957857
    r = mcnemar([[10, 5], [2, 8]], correction=False)
    assert (r.statistic, r.pvalue) == pytest.approx((1.285714285714286, 0.256839257957857), rel=REL)
    # mcnemar.test(rbind(c(5,3,1),c(1,4,2),c(2,1,6))) -> 1.666666666666667, df = 3, p = 0.644369805637025
    r = bowker([[5, 3, 1], [1, 4, 2], [2, 1, 6]])
    assert (r.statistic, r.df, r.pvalue) == pytest.approx((1.666666666666667, 3, 0.644369805637025), rel=REL)
    # mcnemar.test(rbind(c(4,2,1,1),c(3,5,2,1),c(2,1,6,3),c(1,2,1,7))) -> 2.2, df = 6, p = 0.900416281403305
    r = bowker([[4, 2, 1, 1], [3, 5, 2, 1], [2, 1, 6, 3], [1, 2, 1, 7]])
    assert (r.statistic, r.df, r.pvalue) == pytest.approx((2.2, 6, 0.900416281403305), rel=REL)


def test_bowker_drops_empty_pairs():
    # pair (1,3) is empty: R's mcnemar.test gives NaN; cartkit drops it: 3x3 -> 2 df.
    # Hand computation: pairs (1,2): (3-1)^2/4 = 1; (2,3): (2-1)^2/3 = 1/3 -> 4/3 on 2 df,
    # p = exp(-(4/3)/2) (chi-square with 2 df) = 0.513417119032592
    r = bowker([[5, 3, 0], [1, 4, 2], [0, 1, 6]])
    assert r.df == 2
    assert r.statistic == pytest.approx(4 / 3)
    assert r.pvalue == pytest.approx(np.exp(-2 / 3), rel=1e-12)
    assert "dropped" in r.note


@pytest.mark.parametrize(
    ("k", "n", "cp", "wilson"),
    [
        # binom.test(k, n)$conf.int ; prop.test(k, n, correct=FALSE)$conf.int
        (3, 13, (0.0503810734911515, 0.5381315392340409), (0.0817952871849856, 0.5025637594672749)),
        (0, 10, (0.0, 0.308497107818761), (0.0, 0.277532799862889)),
        (10, 10, (0.691502892181239, 1.0), (0.722467200137111, 1.0)),
        (7, 12, (0.276669685682106, 0.848347770191570), (0.319511312549550, 0.806739686341243)),
    ],
)
def test_binomial_ci(k, n, cp, wilson):
    assert binomial_ci(k, n) == pytest.approx(cp, rel=REL, abs=1e-12)
    assert binomial_ci(k, n, method="wilson") == pytest.approx(wilson, rel=REL, abs=1e-12)


def test_binomial_ci_level_and_errors():
    # binom.test(7, 12, conf.level=0.9)$conf.int -> 0.315237790724452 0.818975242757679
    assert binomial_ci(7, 12, level=0.9) == pytest.approx((0.315237790724452, 0.818975242757679), rel=REL)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        binomial_ci(5, 3)
    with pytest.raises(ValueError, match="method"):
        binomial_ci(1, 3, method="wald")


@pytest.mark.parametrize(
    ("data", "r7", "r6", "mean", "sd"),
    [
        # quantile(x, c(.25,.5,.75), type=7); type=6; mean(x); sd(x)
        (X1, (11.8, 15.3, 20.2), (11.5, 15.3, 22.4), 17.04285714285714, 7.22699964089689),
        (Y1, (22.075, 27.0, 32.15), (20.725, 27.0, 35.0), 28.05, 7.70551750371122),
        (X2, (2, 4, 4), (2.0, 4.0, 4.5), 3.55555555555556, 1.81046341520004),
    ],
)
def test_describe_quartiles(data, r7, r6, mean, sd):
    d = describe(data)
    assert (d.q1, d.median, d.q3) == pytest.approx(r7, rel=1e-12)
    assert (d.mean, d.sd) == pytest.approx((mean, sd), rel=1e-12)
    s = describe(data, quantile_method="spss")
    assert (s.q1, s.median, s.q3) == pytest.approx(r6, rel=1e-12)
    assert s.iqr == pytest.approx(r6[2] - r6[0])


def test_quantiles_small_sample_clamps_like_r():
    # quantile(c(4,1,3), c(.25,.5,.75), type=6) -> 1 3 4 ; type=7 -> 2.0 3.0 3.5
    assert quantiles([4, 1, 3], [0.25, 0.5, 0.75], "spss") == pytest.approx([1, 3, 4])
    assert quantiles([4, 1, 3], [0.25, 0.5, 0.75], "r7") == pytest.approx([2, 3, 3.5])
    d = describe([4, np.nan, 1, 3])
    assert (d.n, d.n_missing) == (3, 1)


def test_compare_picks_by_normality():
    # both groups pass Shapiro-Wilk (x1 P = 0.367, y1 P = 0.692) -> Student's t, as t.test(var.equal=TRUE)
    c = compare(X1, Y1)
    assert c.test == "t_test"
    assert c.pvalue == pytest.approx(0.0223356813879465, rel=REL)
    assert "Shapiro-Wilk" in c.why and "normal" in c.why
    # x3 fails Shapiro-Wilk (P = 0.0338) -> Mann-Whitney, as wilcox.test(x3, y3): p = 5.14358691052195e-02
    c = compare(X3, Y3)
    assert c.test == "mann_whitney"
    assert c.pvalue == pytest.approx(5.14358691052195e-02, rel=REL)
    assert "not normal" in c.why
    # n = 2 in a group: normality cannot be tested -> rank test
    c = compare([1.0, 2.0], [3.0, 4.0, 5.0])
    assert c.test == "mann_whitney" and "too small" in c.why


def test_compare_paired():
    # differences a - b pass Shapiro-Wilk -> paired t: t.test(a, b, paired=TRUE)$p.value = 0.0109141495404436
    c = compare(A, B, paired=True)
    assert c.test == "paired_t_test"
    assert c.pvalue == pytest.approx(0.0109141495404436, rel=REL)
    with pytest.raises(ValueError, match="same length"):
        compare([1, 2, 3], [1, 2], paired=True)


def test_compare_spss_asymptotic_rank_test():
    # x3 is not normal -> rank test; exact=False, correct=False reproduces SPSS's "Asymp. Sig. (2-tailed)":
    # wilcox.test(x3, y3, exact=FALSE, correct=FALSE)$p.value -> 0.0510639657361568
    c = compare(X3, Y3, exact=False, correct=False)
    assert c.test == "mann_whitney"
    assert c.pvalue == pytest.approx(0.0510639657361568, rel=REL)
    assert "continuity" not in c.result.method


def test_compare_beyond_shapiro_limit_uses_the_rank_test():
    import numpy as np

    from cartkit.stats import compare

    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1, 6000), rng.normal(0.1, 1, 6000)
    choice = compare(x, y)
    assert choice.test == "mann_whitney" and "5000" in choice.why
    paired = compare(x, y, paired=True)
    assert paired.test == "wilcoxon_signed_rank" and "5000" in paired.why


@pytest.mark.parametrize(("x", "y", "paired", "why"), [
    # every value the same: the rank test's variance is 0 (R's wilcox.test gives p = NaN)
    ([5.0, 5.0, 5.0], [5.0, 5.0], False, "all values identical (5 in both groups)"),
    ([], [1.0, 2.0], False, "one group empty (n = 0 and 2)"),
    ([np.nan, np.nan], [1.0, 2.0, 3.0], False, "one group empty (n = 0 and 3)"),
    ([1.0], [1.0, 2.0, 3.0], False, "fewer than 2 values per group (n = 1 and 3)"),
    ([1.0, np.nan], [2.0, 3.0], True, "fewer than 2 complete pairs (n = 1)"),
    ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], True, "all paired differences zero (n = 3 pairs)"),
])
def test_compare_of_data_that_support_no_test_says_why(x, y, paired, why):
    c = compare(x, y, paired=paired)
    assert c.test == "undefined" and c.why == why
    assert c.statistic is None and np.isnan(c.pvalue) and c.method == "not computed"
