"""Adjusted p-values for a family of tests, as R's ``p.adjust`` computes them.

Methods (``method``, R's name in brackets):

* ``"bonferroni"``: min(1, m p);
* ``"holm"`` (Holm 1979, Scand J Stat 6:65): step-down, p_(i) x (m - i + 1), made monotone upwards
  (cumulative maximum over the sorted p-values);
* ``"hochberg"`` (Hochberg 1988, Biometrika 75:800): step-up, p_(i) x (m - i + 1), made monotone
  downwards from the largest (cumulative minimum);
* ``"bh"`` (``"BH"``/``"fdr"``; Benjamini & Hochberg 1995, JRSS B 57:289): p_(i) x m / i, cumulative
  minimum from the largest: the false discovery rate;
* ``"by"`` (``"BY"``; Benjamini & Yekutieli 2001, Ann Stat 29:1165): BH times sum_{k=1..m} 1/k, valid
  under any dependence.

Missing p-values (NaN) stay NaN and are not counted in m, as R (``p.adjust``'s ``n`` defaults to the
number of non-missing p-values). ``n`` may be given larger than that (R's ``n``), e.g. when some
tests of the family were not run.
"""

from __future__ import annotations

import numpy as np

METHODS = ("holm", "hochberg", "bonferroni", "bh", "by")
_ALIASES = {"fdr": "bh", "BH": "bh", "BY": "by"}


def adjust_pvalues(p: object, method: str = "holm", n: int | None = None) -> np.ndarray:
    """Adjusted p-values (R ``p.adjust(p, method, n)``) as a float array in the order of ``p``."""
    method = _ALIASES.get(method, method)
    if method not in METHODS:
        raise ValueError(f"adjust_pvalues: method must be one of {METHODS}, got {method!r}")
    values = np.asarray(p, dtype=float).ravel()
    present = ~np.isnan(values)
    q = values[present]
    if np.any((q < 0) | (q > 1)):
        raise ValueError(f"adjust_pvalues: p-values must lie in [0, 1], got {q[(q < 0) | (q > 1)].tolist()}")
    lp = q.size
    m = lp if n is None else int(n)
    if m < lp:
        raise ValueError(f"adjust_pvalues: n = {m} is smaller than the number of p-values ({lp})")
    out = np.full(values.shape, np.nan)
    if lp == 0:
        return out
    if method == "bonferroni":
        adjusted = np.minimum(1.0, m * q)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        i = np.arange(1, lp + 1)
        adjusted = np.empty(lp)
        adjusted[order] = np.minimum(1.0, np.maximum.accumulate((m - i + 1) * q[order]))
    else:
        order = np.argsort(-q, kind="stable")  # decreasing, ties in input order (R's order(decreasing=TRUE))
        i = np.arange(lp, 0, -1)
        if method == "hochberg":
            scaled = (m - i + 1) * q[order]
        elif method == "bh":
            scaled = m / i * q[order]
        else:  # by
            scaled = np.sum(1.0 / np.arange(1, m + 1)) * m / i * q[order]
        adjusted = np.empty(lp)
        adjusted[order] = np.minimum(1.0, np.minimum.accumulate(scaled))
    out[present] = adjusted
    return out
