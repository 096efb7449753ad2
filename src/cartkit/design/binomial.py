"""Binomial probability tables for the exact designs, computed once per response rate.

``pmf[n, x] = P(X_n = x)`` and ``upper[n, off + k] = P(X_n >= k)`` for ``X_n ~ Binomial(n, p)``,
``0 <= x, n <= nmax`` and ``-nmax - 1 <= k <= nmax + 1`` (``off = nmax + 1``; the tail is 1 for
``k <= 0`` and 0 for ``k > n``), so that ``P(X_2 > r - x_1)`` for every stage-2 size, boundary and
stage-1 count is one array lookup. The upper tail is the probability mass summed from the top
(``P(X >= k) = sum_{x >= k} P(X = x)``), not ``1 - cdf``, so small tails keep their relative
precision; the point probabilities come from ``cartkit.stats.distributions.gammaln``.
"""

from __future__ import annotations

import numpy as np


def binomial_tables(p: float, nmax: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(pmf, upper, off) for Binomial(n, p), n = 0..nmax; see the module docstring."""
    n = np.arange(nmax + 1, dtype=float)[:, None]
    x = np.arange(nmax + 1, dtype=float)[None, :]
    point = pmf(x, n, p)
    off = nmax + 1
    upper = np.zeros((nmax + 1, 2 * off + 1))
    upper[:, : off + 1] = 1.0  # k <= 0
    upper[:, off + 1: off + 1 + nmax] = np.cumsum(point[:, :0:-1], axis=1)[:, ::-1]  # k = 1 .. nmax
    return point, upper, off


def upper_tail(k: np.ndarray | int, n: np.ndarray | int, p: np.ndarray | float) -> np.ndarray:
    """P(X_n >= k) elementwise, 1 for k <= 0 and 0 for k > n: I_p(k, n - k + 1) (regularised incomplete beta)."""
    from cartkit.stats.distributions import betainc

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    inside = (k >= 1) & (k <= n)
    tail = betainc(np.where(inside, k, 1.0), np.where(inside, n - k + 1, 1.0), p)
    return np.where(k <= 0, 1.0, np.where(k > n, 0.0, tail))


def pmf(x: np.ndarray | int, n: np.ndarray | int, p: np.ndarray | float) -> np.ndarray:
    """P(X_n = x) elementwise (0 outside 0..n)."""
    from cartkit.stats.distributions import gammaln

    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    inside = (x >= 0) & (x <= n)
    xs, ns = np.where(inside, x, 0.0), np.where(inside, n, 0.0)
    p = np.asarray(p, dtype=float)
    log_pmf = gammaln(ns + 1) - gammaln(xs + 1) - gammaln(ns - xs + 1) + xs * np.log(p) + (ns - xs) * np.log1p(-p)
    return np.where(inside, np.exp(log_pmf), 0.0)
