"""Two-arm designs for a binary endpoint (response rate p1 in arm 1 vs p2 in arm 2), two-sided.

``allocation = n2 / n1``.

* Normal approximation (Fleiss, Statistical Methods for Rates and Proportions, 2nd ed. 1981, eq. 3.14
  without continuity correction; for 1:1 exactly R's ``power.prop.test``):
  ``n1 = (z_a sqrt(pbar qbar (1 + 1/k)) + z_b sqrt(p1 q1 + p2 q2 / k))^2 / (p1 - p2)^2``,
  ``pbar = (p1 + k p2) / (1 + k)``, ``z_a = z(1 - alpha/2)``; power for given n1, n2 inverts it
  (R's ``power.prop.test(strict = FALSE)``: the far tail is ignored).
* Exact: the power of the two-sided Fisher exact test, by enumerating every outcome
  ``(x1, x2)`` with ``x_i ~ Bin(n_i, p_i)`` and summing the probability of those whose Fisher
  p-value is <= alpha. The p-value is R's ``fisher.test``: given the margin ``m = x1 + x2``, the
  hypergeometric probability of all tables no more probable than the observed one, with R's relative
  tolerance 1e-7 (the constant of ``cartkit.stats.fisher``). The exact sample size is the smallest
  n1 from half the normal-approximation size up whose power reaches the target; exact power is not monotone in n (the saw-tooth of discrete
  tests), so a larger n can fall just short again, and that is reported, not hidden.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from cartkit.design.checks import check_alpha, check_beta, check_positive, check_rate
from cartkit.design.errors import DesignError, NoDesignFound
from cartkit.stats.fisher import RELATIVE_TOLERANCE


@dataclass(frozen=True)
class ProportionsDesign:
    method: str
    p1: float
    p2: float
    alpha: float
    target_power: float
    allocation: float
    n1: int
    n2: int
    power: float
    n1_unrounded: float | None

    @property
    def n(self) -> int:
        return self.n1 + self.n2

    def as_dict(self) -> dict:
        return asdict(self)


def _rates(p1: float, p2: float) -> tuple[float, float]:
    p1, p2 = check_rate("p1", p1), check_rate("p2", p2)
    if p1 == p2:
        raise DesignError(f"p1 and p2 must differ (no difference to detect), both are {p1}")
    return p1, p2


def _z(q: float) -> float:
    from cartkit.stats.distributions import ndtri

    return float(ndtri(q))


def normal_n1(p1: float, p2: float, alpha: float = 0.05, power: float = 0.80, allocation: float = 1.0) -> float:
    """Arm-1 size (unrounded) by the normal approximation; arm 2 is ``allocation`` times it."""
    p1, p2 = _rates(p1, p2)
    alpha, beta = check_alpha(alpha), check_beta(1 - power)
    k = check_positive("allocation", allocation)
    pbar = (p1 + k * p2) / (1 + k)
    num = (_z(1 - alpha / 2) * math.sqrt(pbar * (1 - pbar) * (1 + 1 / k))
           + _z(1 - beta) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / k))
    return (num / (p1 - p2)) ** 2


def normal_power(n1: float, n2: float, p1: float, p2: float, alpha: float = 0.05) -> float:
    """Power of the two-sided normal-approximation test with n1 and n2 patients."""
    from cartkit.stats.distributions import ndtr

    p1, p2 = _rates(p1, p2)
    alpha = check_alpha(alpha)
    n1, n2 = check_positive("n1", n1), check_positive("n2", n2)
    pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
    null_sd = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
    alt_sd = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return float(ndtr((abs(p1 - p2) - _z(1 - alpha / 2) * null_sd) / alt_sd))


def fisher_rejection_region(n1: int, n2: int, alpha: float = 0.05) -> np.ndarray:
    """Boolean (n1 + 1) x (n2 + 1) array: does the two-sided Fisher test reject at level alpha for (x1, x2)?"""
    from cartkit.stats.distributions import gammaln

    x1 = np.arange(n1 + 1)
    x2 = np.arange(n2 + 1)
    reject = np.zeros((n1 + 1, n2 + 1), dtype=bool)
    lc1 = gammaln(n1 + 1) - gammaln(x1 + 1) - gammaln(n1 - x1 + 1)
    lc2 = gammaln(n2 + 1) - gammaln(x2 + 1) - gammaln(n2 - x2 + 1)
    for m in range(n1 + n2 + 1):  # one hypergeometric distribution per margin; vector work within it
        lo, hi = max(0, m - n2), min(n1, m)
        support = np.arange(lo, hi + 1)
        logw = lc1[support] + lc2[m - support]
        w = np.exp(logw - logw.max())
        order = np.sort(w)
        cumulative = np.cumsum(order)
        # p(x1) = sum of w(y) over w(y) <= w(x1) (1 + 1e-7), divided by the total (R's fisher.test)
        count = np.searchsorted(order, w * (1 + RELATIVE_TOLERANCE), side="right")
        pvalue = cumulative[count - 1] / cumulative[-1]
        reject[support, m - support] = pvalue <= alpha
    return reject


def fisher_power(n1: int, n2: int, p1: float, p2: float, alpha: float = 0.05) -> float:
    """Exact power of the two-sided Fisher test with n1 and n2 patients (by enumeration).

    Examples
    --------
    >>> round(fisher_power(10, 10, 0.2, 0.8), 6)   # R: sum of dbinom products where fisher.test p <= 0.05
    0.635323
    """
    from cartkit.design.binomial import pmf

    for name, v in (("n1", n1), ("n2", n2)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise DesignError(f"{name} must be a whole number >= 1, got {v!r}")
    p1, p2 = check_rate("p1", p1), check_rate("p2", p2)
    alpha = check_alpha(alpha)
    reject = fisher_rejection_region(int(n1), int(n2), alpha)
    b1 = pmf(np.arange(n1 + 1), n1, p1)
    b2 = pmf(np.arange(n2 + 1), n2, p2)
    return float(b1 @ (reject.astype(float) @ b2))


def two_proportions(p1: float, p2: float, alpha: float = 0.05, power: float = 0.80, allocation: float = 1.0,
                    method: str = "normal", nmax: int = 2000) -> ProportionsDesign:
    """Arm sizes to detect p1 vs p2 with a two-sided test: ``method`` "normal" or "exact" (Fisher)."""
    if method not in ("normal", "exact"):
        raise DesignError(f"method must be normal or exact, got {method!r}")
    raw = normal_n1(p1, p2, alpha, power, allocation)
    k = float(allocation)
    if method == "normal":
        n1 = math.ceil(raw - 1e-9)
        n2 = math.ceil(k * raw - 1e-9)
        return ProportionsDesign(method="normal", p1=p1, p2=p2, alpha=alpha, target_power=power, allocation=k,
                                 n1=n1, n2=n2, power=normal_power(n1, n2, p1, p2, alpha), n1_unrounded=raw)
    start = max(1, int(math.floor(0.5 * raw)))  # Fisher is conservative: exact n is above the normal one
    for n1 in range(start, nmax + 1):
        n2 = max(1, math.ceil(k * n1 - 1e-9))
        achieved = fisher_power(n1, n2, p1, p2, alpha)
        if achieved >= power:
            return ProportionsDesign(method="exact", p1=p1, p2=p2, alpha=alpha, target_power=power, allocation=k,
                                     n1=n1, n2=n2, power=achieved, n1_unrounded=None)
    raise NoDesignFound(f"no exact (Fisher) design with power >= {power:g} for p1={p1:g}, p2={p2:g} "
                        f"with n1 <= {nmax}")
