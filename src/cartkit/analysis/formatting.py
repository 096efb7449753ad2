"""How the report writes numbers: median (IQR), mean +/- SD, n (%), p-values.

One place for number formatting, so every table and figure says a number the
same way.
"""

from __future__ import annotations

import math

import numpy as np


def _g(x: float, digits: int = 3) -> str:
    """Significant-digit formatting that keeps integers whole (1290, not 1.29e+03)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if abs(x) >= 10 ** digits:
        return f"{x:.0f}"
    return f"{x:.{digits}g}"


def summary_stats(values, quantile_method: str):
    from cartkit.stats import describe

    return describe(np.asarray(values, dtype=float), quantile_method)


def fmt_median_iqr(values, quantile_method: str) -> str:
    d = summary_stats(values, quantile_method)
    return f"{_g(d.median)} ({_g(d.q1)}, {_g(d.q3)})"


def fmt_mean_sd(values) -> str:
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return "NA"
    sd = float(np.std(v, ddof=1)) if v.size > 1 else float("nan")
    return f"{_g(float(v.mean()))} \u00b1 {_g(sd)}"


def fmt_n_pct(k: int, n: int) -> str:
    if n == 0:
        return f"{k}/0"
    return f"{k}/{n} ({100.0 * k / n:.2f}%)".replace(".00%", "%")
