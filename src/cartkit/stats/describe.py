"""Descriptive summary of a measure: n, mean, SD, median, quartiles, IQR.

Quartile definitions (Hyndman & Fan 1996, Am Stat 50:361):

* ``"r7"``: R's default ``quantile(x, type=7)`` (linear interpolation between
  order statistics at (n - 1)p + 1);
* ``"spss"``: SPSS's default "weighted average" (HAVERAGE) definition, which
  is R's ``quantile(x, type=6)`` (position (n + 1)p, clamped to the sample
  range). The seed computed its median (IQR) in SPSS 17.
"""

from __future__ import annotations

import numpy as np

from cartkit.stats.ranks import sample
from cartkit.stats.results import Description

QUANTILE_METHODS = {"r7": "linear", "spss": "weibull"}  # numpy names of R types 7 and 6


def quantiles(x: object, probs: object, method: str = "r7") -> np.ndarray:
    """Sample quantiles by R type 7 (``"r7"``) or SPSS/R type 6 (``"spss"``)."""
    if method not in QUANTILE_METHODS:
        raise ValueError(f"quantiles: method must be one of {tuple(QUANTILE_METHODS)}, got {method!r}")
    a = sample(x, "quantiles")
    p = np.asarray(probs, dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"quantiles: probabilities must lie in [0, 1], got {p.tolist()}")
    return np.quantile(a, p, method=QUANTILE_METHODS[method])


def describe(x: object, quantile_method: str = "r7") -> Description:
    """n, missing, mean, SD (n - 1), median, Q1, Q3 (``.iqr``), min and max of a sample."""
    raw = np.asarray(x, dtype=float).ravel()
    a = sample(raw, "describe")
    q1, med, q3 = quantiles(a, [0.25, 0.5, 0.75], quantile_method)
    return Description(
        n=int(a.size),
        n_missing=int(raw.size - a.size),
        mean=float(a.mean()),
        sd=float(a.std(ddof=1)) if a.size > 1 else float("nan"),
        median=float(med),
        q1=float(q1),
        q3=float(q3),
        min=float(a.min()),
        max=float(a.max()),
        quantile_method=quantile_method,
    )
