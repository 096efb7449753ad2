"""Confidence intervals for a proportion (response rates with exact CIs: the seed's plan).

* ``"clopper-pearson"``: the exact interval R's ``binom.test(k, n)$conf.int`` gives.
* ``"wilson"``: the score interval R's ``prop.test(k, n, correct=FALSE)$conf.int``
  gives (Wilson 1927, JASA 22:209), without continuity correction.

The quantiles come from ``cartkit.stats.distributions`` (``betaincinv``, the inverse regularised
incomplete beta function, is the beta quantile; ``ndtri`` the normal quantile; both checked against
R's ``qbeta`` and ``qnorm`` to 1e-12), not SciPy, whose import costs a seed run 0.2-0.5 s.
"""

from __future__ import annotations

import math

METHODS = ("clopper-pearson", "wilson")


def binomial_ci(k: int, n: int, level: float = 0.95, method: str = "clopper-pearson") -> tuple[float, float]:
    """(lower, upper) confidence limits for the proportion k/n."""
    from cartkit.stats.distributions import betaincinv, ndtri

    if method not in METHODS:
        raise ValueError(f"binomial_ci: method must be one of {METHODS}, got {method!r}")
    if not (isinstance(k, int | float) and isinstance(n, int | float)) or k != int(k) or n != int(n):
        raise ValueError(f"binomial_ci: k and n must be whole numbers, got k={k!r}, n={n!r}")
    k, n = int(k), int(n)
    if n < 1 or k < 0 or k > n:
        raise ValueError(f"binomial_ci: need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    if not 0 < level < 1:
        raise ValueError(f"binomial_ci: level must be between 0 and 1, got {level}")
    alpha = 1 - level
    if method == "clopper-pearson":
        # Clopper & Pearson 1934: the limits are Beta(k, n - k + 1) and Beta(k + 1, n - k) quantiles
        lower = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, alpha / 2))
        upper = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - alpha / 2))
        return lower, upper
    z = float(ndtri(1 - alpha / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
