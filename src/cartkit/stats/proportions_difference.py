"""Risk difference, risk ratio and odds ratio with confidence intervals: response and AE rates compared.

Two independent proportions x1/n1 (group 1) and x2/n2 (group 2), the convention "group 1 minus /
over group 2" throughout; the recommendations of Fagerland, Lydersen & Laake (2015, Stat Methods Med
Res 24:224, "Recommended confidence intervals for two independent binomial proportions"):

* ``risk_difference``: p1 - p2 with Newcombe's hybrid score interval (Newcombe 1998, Stat Med
  17:873, method 10): the Wilson limits (l_i, u_i) of each proportion (``binomial_ci(...,
  method="wilson")``, R ``prop.test(x, n, correct = FALSE)$conf.int``) combined by
  L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2), U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2).
* ``risk_ratio``: p1 / p2 with Koopman's asymptotic score interval (Koopman 1984, Biometrics
  40:513): the ratios theta whose score statistic z(theta) = (p1 - theta p2) / sqrt(p~1 (1 - p~1) / n1
  + theta^2 p~2 (1 - p~2) / n2) has z^2 <= z_{1-alpha/2}^2, with p~ the maximum-likelihood
  proportions under p1 = theta p2 (Miettinen & Nurminen 1985, Stat Med 4:213, without their
  N / (N - 1) variance factor). Lower limit 0 when x1 = 0, upper limit infinity when x2 = 0.
* ``odds_ratio``: the conditional maximum-likelihood odds ratio with its exact (Cornfield) interval
  and Fisher's exact p-value, R's ``fisher.test`` (``cartkit.stats.fisher``).

Paired proportions (the same patients after two products: a 2 x 2 table of first x second
assessment, rows = first yes / no, columns = second yes / no):

* ``paired_risk_difference``: p1 - p2 = (b - c) / n with Newcombe's square-and-add interval for
  paired data (Newcombe 1998, Stat Med 17:2635, method 10; Fagerland, Lydersen & Laake 2014, Stat
  Med 33:2850, recommend it): Wilson limits of the two marginal proportions combined with the
  correlation estimate phi = (ad - bc - n/2) / sqrt(product of the margins) when ad - bc > n/2, 0
  when 0 <= ad - bc <= n/2, (ad - bc) / sqrt(...) when ad - bc < 0 (0 when a margin is 0):
  L = d - sqrt((p1 - l1)^2 - 2 phi (p1 - l1)(u2 - p2) + (u2 - p2)^2),
  U = d + sqrt((p2 - l2)^2 - 2 phi (p2 - l2)(u1 - p1) + (u1 - p1)^2).

The R references (tests/test_stats_proportions_difference.py) are these formulas written in R from
the papers, and for Newcombe's unpaired interval also the worked examples of Newcombe (1998, Table II).
"""

from __future__ import annotations

import math

import numpy as np

from cartkit.stats.fisher import fisher_exact
from cartkit.stats.intervals import binomial_ci
from cartkit.stats.results import EffectEstimate, TestResult


def _counts(x: int, n: int, name: str) -> tuple[int, int]:
    if not (isinstance(x, int | float | np.integer) and isinstance(n, int | float | np.integer)) \
            or x != int(x) or n != int(n):
        raise ValueError(f"{name}: counts must be whole numbers, got x={x!r}, n={n!r}")
    x, n = int(x), int(n)
    if n < 1 or not 0 <= x <= n:
        raise ValueError(f"{name}: need 0 <= x <= n and n >= 1, got x={x}, n={n}")
    return x, n


def _level(level: float, name: str) -> None:
    if not 0 < level < 1:
        raise ValueError(f"{name}: level must be between 0 and 1, got {level}")


def risk_difference(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> EffectEstimate:
    """p1 - p2 with Newcombe's hybrid score interval (method 10; module docs)."""
    x1, n1 = _counts(x1, n1, "risk_difference group 1")
    x2, n2 = _counts(x2, n2, "risk_difference group 2")
    _level(level, "risk_difference")
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = binomial_ci(x1, n1, level, method="wilson")
    l2, u2 = binomial_ci(x2, n2, level, method="wilson")
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return EffectEstimate("Risk difference, Newcombe hybrid score interval (method 10)", d, (lower, upper), level,
                          note=f"{x1}/{n1} - {x2}/{n2}")


def _score_z2(theta: float, x1: int, n1: int, x2: int, n2: int) -> float:
    """Koopman / Miettinen-Nurminen score statistic squared for H0: p1 = theta p2 (no N/(N-1) factor)."""
    a = theta * (n1 + n2)
    b = -(theta * n1 + x1 + n2 + theta * x2)
    c = x1 + x2
    disc = max(b * b - 4 * a * c, 0.0)
    p2t = 2 * c / (-b + math.sqrt(disc)) if c > 0 else 0.0  # = (-b - sqrt(disc)) / 2a without cancellation
    p1t = theta * p2t
    variance = p1t * (1 - p1t) / n1 + theta**2 * p2t * (1 - p2t) / n2
    num = x1 / n1 - theta * x2 / n2
    if variance <= 0:
        return 0.0 if num == 0 else math.inf
    return num * num / variance


def risk_ratio(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> EffectEstimate:
    """p1 / p2 with Koopman's asymptotic score interval (module docs)."""
    from cartkit.stats.distributions import ndtri
    from cartkit.stats.roots import brentq

    x1, n1 = _counts(x1, n1, "risk_ratio group 1")
    x2, n2 = _counts(x2, n2, "risk_ratio group 2")
    _level(level, "risk_ratio")
    if x1 == 0 and x2 == 0:
        return EffectEstimate("Risk ratio, Koopman asymptotic score interval", math.nan, (0.0, math.inf), level,
                              note="no events in either group: the ratio is undefined")
    crit = float(ndtri(1 - (1 - level) / 2)) ** 2
    estimate = math.inf if x2 == 0 else (x1 / n1) / (x2 / n2)

    def g(log_theta: float) -> float:
        return _score_z2(math.exp(log_theta), x1, n1, x2, n2) - crit

    # z^2 is 0 at the estimate and grows on either side; with x1 = 0 (x2 = 0) the estimate is 0 (inf)
    centre_low = -50.0 if x1 == 0 else (50.0 if x2 == 0 else math.log(estimate))
    centre_high = 50.0 if x2 == 0 else (-50.0 if x1 == 0 else math.log(estimate))

    def solve(centre: float, direction: int) -> float:
        step = 1.0
        while g(centre + direction * step) < 0:
            step *= 2
            if step > 200:
                return math.inf if direction > 0 else 0.0
        lo, hi = sorted((centre, centre + direction * step))
        return math.exp(brentq(g, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500))

    lower = 0.0 if x1 == 0 else solve(centre_low, -1)
    upper = math.inf if x2 == 0 else solve(centre_high, +1)
    note = f"({x1}/{n1}) / ({x2}/{n2})"
    return EffectEstimate("Risk ratio, Koopman asymptotic score interval", estimate, (lower, upper), level, note=note)


def odds_ratio(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> TestResult:
    """Conditional ML odds ratio (group 1 vs 2) with its exact CI and Fisher's exact P (R ``fisher.test``)."""
    x1, n1 = _counts(x1, n1, "odds_ratio group 1")
    x2, n2 = _counts(x2, n2, "odds_ratio group 2")
    r = fisher_exact([[x1, n1 - x1], [x2, n2 - x2]], level=level)
    return TestResult("Odds ratio, conditional maximum likelihood with exact CI (Fisher)", None, r.pvalue,
                      estimate=r.estimate, ci=r.ci, note=f"{x1}/{n1} vs {x2}/{n2}; {r.note}")


def paired_risk_difference(table: object, level: float = 0.95) -> EffectEstimate:
    """p1 - p2 for a paired 2 x 2 table with Newcombe's square-and-add interval (method 10; module docs)."""
    from cartkit.stats.contingency import counts_table

    arr = counts_table(table, "paired_risk_difference", square=True)
    if arr.shape != (2, 2) or np.any(arr != np.round(arr)):
        raise ValueError(f"paired_risk_difference: needs a 2 x 2 table of whole counts, got {arr.tolist()}")
    _level(level, "paired_risk_difference")
    (a, b), (c, d) = arr.astype(int).tolist()
    n = a + b + c + d
    if n == 0:
        raise ValueError("paired_risk_difference: the table has no pairs")
    r1, r2, c1, c2 = a + b, c + d, a + c, b + d
    p1, p2 = r1 / n, c1 / n
    l1, u1 = binomial_ci(r1, n, level, method="wilson")
    l2, u2 = binomial_ci(c1, n, level, method="wilson")
    if 0 in (r1, r2, c1, c2):
        phi = 0.0
    else:
        cross = a * d - b * c
        root = math.sqrt(r1 * r2 * c1 * c2)
        phi = (cross - n / 2) / root if cross > n / 2 else (0.0 if cross >= 0 else cross / root)
    delta = p1 - p2
    lower = delta - math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    upper = delta + math.sqrt(max((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2, 0.0))
    return EffectEstimate("Paired risk difference, Newcombe square-and-add interval (method 10)", delta,
                          (lower, upper), level, note=f"{r1}/{n} - {c1}/{n} (discordant {b} vs {c}), phi = {phi:.4g}")
