"""Exact tests for paired data: the sign test, exact McNemar, and an exact test of symmetry for k x k grades.

* ``sign_test(x, y)``: the exact two-sided binomial test of P(x > y) = 1/2 on the pairs whose
  difference is not zero (zeros carry no sign and are dropped, as in every textbook sign test;
  R: ``binom.test(sum(d > 0), sum(d != 0))``). ``estimate`` is the share of positive differences
  and ``ci`` its Clopper-Pearson interval (R's ``conf.int``).
* ``mcnemar_exact(table)``: McNemar's test made exact, the same binomial test on the two discordant
  cells b = table[0][1] and c = table[1][0] (R: ``binom.test(b, b + c)``). ``estimate`` is b / c,
  the conditional (within-pair) odds ratio, and ``ci`` the Clopper-Pearson limits of b / (b + c)
  mapped by p / (1 - p) (as ``exact2x2::mcnemar.exact`` reports it).
* ``symmetry_exact(table)``: the exact test of symmetry of a paired k x k table (grades of the same
  patients after two products), the sensitivity analysis to the ordinal paired tests. "Exact" here
  means conditional on the discordant total of every cell pair: given t_ij = n_ij + n_ji, under
  symmetry n_ij ~ Binomial(t_ij, 1/2), independently over the pairs i < j, so the null distribution
  of the table is a product of binomials. The statistic is Bowker's, X^2 = sum (n_ij - n_ji)^2 / t_ij
  over the pairs with t_ij > 0, and the p-value is P(X^2 >= observed) under that product
  distribution (with R's relative tolerance 1e-7 for ties of the statistic). On a 2 x 2 table it is
  ``mcnemar_exact``. Unlike the chi-square approximation its answer does not depend on a degrees-of-
  freedom count, but like Bowker's test it ignores the order of the grades: the sign and signed-rank
  tests on the grade differences use it.
"""

from __future__ import annotations

import math

import numpy as np

from cartkit.stats.contingency import counts_table
from cartkit.stats.intervals import binomial_ci
from cartkit.stats.results import TestResult

RELATIVE_TOLERANCE = 1e-7  # R (binom.test, fisher.test): relErr <- 1 + 10^(-7)
_MAX_STATES = 5_000_000  # distinct values of the symmetry statistic held at once


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided P of ``binom.test(k, n, p = 1/2)``: min(1, 2 x the smaller tail) (symmetric)."""
    from cartkit.stats.distributions import bdtr  # bdtr(k, n, p) = P(X <= k)

    if n == 0:
        return 1.0
    smaller = min(k, n - k)
    return float(min(1.0, 2.0 * bdtr(smaller, n, 0.5)))


def _paired_differences(x: object, y: object, name: str) -> np.ndarray:
    xa, ya = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if xa.size != ya.size:
        raise ValueError(f"{name}: x and y must be paired (same length), got {xa.size} and {ya.size}")
    d = xa - ya
    if np.any(np.isinf(d)):
        raise ValueError(f"{name}: infinite values are not allowed")
    return d[~np.isnan(d)]


def sign_test(x: object, y: object, level: float = 0.95) -> TestResult:
    """Exact two-sided sign test on paired x, y (R ``binom.test(sum(d > 0), sum(d != 0))``, d = x - y).

    ``statistic`` is the number of positive differences; zero differences are dropped and counted
    in ``note``. ValueError when every difference is zero (nothing to test).
    """
    d = _paired_differences(x, y, "sign_test")
    if d.size == 0:
        raise ValueError("sign_test: no complete pairs")
    positive, negative = int(np.sum(d > 0)), int(np.sum(d < 0))
    n = positive + negative
    zeros = d.size - n
    if n == 0:
        raise ValueError(f"sign_test: all {d.size} differences are zero; the test is undefined")
    p = binomial_two_sided(positive, n)
    note = f"exact binomial on {n} non-zero differences ({positive} positive, {negative} negative)"
    if zeros:
        note += f"; {zeros} zero difference(s) dropped"
    return TestResult("Exact sign test (binomial)", float(positive), p, estimate=positive / n,
                      ci=binomial_ci(positive, n, level), note=note)


def mcnemar_exact(table: object, level: float = 0.95) -> TestResult:
    """Exact McNemar test of a paired 2 x 2 table (R ``binom.test(b, b + c)``), rows = first assessment."""
    arr = counts_table(table, "mcnemar", square=True)
    if arr.shape != (2, 2):
        raise ValueError(f"mcnemar: needs a 2 x 2 table, got {arr.shape}; use symmetry_exact for k x k")
    if np.any(arr != np.round(arr)):
        raise ValueError(f"mcnemar: counts must be whole numbers, got {arr.tolist()}")
    b, c = int(arr[0, 1]), int(arr[1, 0])
    n = b + c
    if n == 0:
        return TestResult("Exact McNemar test (binomial)", 0.0, float("nan"),
                          note="no discordant pairs: the test is undefined")
    lower, upper = binomial_ci(b, n, level)

    def ratio(p: float) -> float:
        return float("inf") if p >= 1 else p / (1 - p)

    estimate = float("inf") if c == 0 else b / c
    return TestResult("Exact McNemar test (binomial)", float(b), binomial_two_sided(b, n), estimate=estimate,
                      ci=(ratio(lower), ratio(upper)),
                      note=f"exact binomial on the {n} discordant pairs ({b} vs {c}); estimate b/c with "
                           "Clopper-Pearson limits of b/(b+c) mapped to the odds scale")


def symmetry_exact(table: object) -> TestResult:
    """Exact conditional test of symmetry of a paired k x k table (module docs): Bowker's X^2, exact P."""
    from cartkit.stats.distributions import gammaln

    arr = counts_table(table, "symmetry_exact", square=True)
    if np.any(arr != np.round(arr)):
        raise ValueError(f"symmetry_exact: counts must be whole numbers, got {arr.tolist()}")
    upper = np.triu_indices(arr.shape[0], k=1)
    above, below = arr[upper].astype(np.int64), arr.T[upper].astype(np.int64)
    total = above + below
    used = total > 0
    method = "Exact test of symmetry (conditional on discordant pair totals)"
    if not used.any():
        return TestResult(method, float("nan"), float("nan"),
                          note="no discordant pairs: the test is undefined")
    observed = float(np.sum((above[used] - below[used]) ** 2 / total[used]))
    # distribution of X^2 = sum over pairs of (2a - t)^2 / t, a ~ Bin(t, 1/2): convolve pair by pair,
    # merging equal values (to 1e-9 relative) so the state count stays small
    values = np.zeros(1)
    probs = np.ones(1)
    for t in total[used].tolist():
        a = np.arange(t + 1)
        if t <= 1000:  # C(t, a) / 2^t in integers, correctly rounded (an exact P of 0.0625 stays 0.0625)
            pmf = np.array([math.comb(t, i) / 2**t for i in range(t + 1)])
        else:
            pmf = np.exp(gammaln(t + 1) - gammaln(a + 1) - gammaln(t - a + 1) - t * np.log(2))
        # (2a - t)^2 takes each value twice (a and t - a): merge before the outer sum
        key = np.abs(2 * a - t)
        c_vals, inverse = np.unique(key, return_inverse=True)
        c_prob = np.bincount(inverse, weights=pmf)
        contrib = c_vals.astype(float) ** 2 / t
        if values.size * contrib.size > _MAX_STATES:
            raise ValueError("symmetry_exact: the table is too large for the exact test; use bowker")
        values = (values[:, None] + contrib[None, :]).ravel()
        probs = (probs[:, None] * c_prob[None, :]).ravel()
        rounded = np.round(values * 1e9)
        uniq, inv = np.unique(rounded, return_inverse=True)
        probs = np.bincount(inv.ravel(), weights=probs)
        values = uniq / 1e9
    p = float(min(1.0, probs[values >= observed * (1 - RELATIVE_TOLERANCE)].sum()))
    note = f"{int(used.sum())} cell pair(s) with discordant counts; exact product-binomial distribution"
    if not used.all():
        note += f"; {int((~used).sum())} empty pair(s) carry no information"
    return TestResult(method, observed, p, df=None, note=note)
