"""How the report writes numbers: one rule for every table, figure label and summary text.

The rule (docs/report-contents.md, "How numbers are written"):

* an estimate (median, quartile, mean, SD, range limit, model estimate, any other measured
  value): 3 significant digits, the integer part kept whole below 10^5, in scientific
  notation from 10^5 up and below 10^-3; a whole number as a whole number;
* a proportion: ``n/N (p%)``, p to one decimal;
* a P value: three decimals, ``<0.001`` below 0.001;
* missing: an en dash.

The reproduction appendix is the one exception: each computed number is printed at the precision
the paper printed it (``cartkit.analysis.reproduction``), so that it can be read beside it.

    >>> estimate(2.3571), estimate(1290.4), estimate(0.000123), estimate(None)
    ('2.36', '1290', '1.23×10⁻⁴', '–')
    >>> n_pct(2, 3), n_pct(7, 7), n_pct(0, 0)
    ('2/3 (66.7%)', '7/7 (100.0%)', '0/0')
    >>> format_p(0.02177), format_p(0.0004)
    ('0.022', '<0.001')
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

MISSING = "\u2013"
_P_STEP = Decimal("0.001")
_SUPERSCRIPT = str.maketrans("0123456789-", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def estimate(value: object, digits: int = 3) -> str:
    """An estimate: ``digits`` significant digits, whole below 10^5, scientific beyond.

    Integer parts stay whole below 10^5 (5684, 11.1, 0.112); larger or tiny values are written
    1.23×10⁵, so that a poorly identified confidence limit (10^218) stays one short cell; an
    infinite limit is ∞; missing is an en dash.
    """
    if _missing(value):
        return MISSING
    v = float(value)  # type: ignore[arg-type]
    if math.isinf(v):
        return "\u221e" if v > 0 else "\u2212\u221e"
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        return f"{v:.0f}" if abs(v) >= 10 ** digits else f"{v:.{digits}g}"
    mantissa, exponent = f"{v:.{digits - 1}e}".split("e")
    return f"{mantissa}\u00d710{str(int(exponent)).translate(_SUPERSCRIPT)}"


def number(value: object) -> str:
    """A number in a plain table: a whole number as it is, any other as an estimate.

    >>> number(13), number(7.0), number(45.678), number(0.0123)
    ('13', '7', '45.7', '0.0123')
    """
    if _missing(value):
        return MISSING
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return str(int(value))
    v = float(value)  # type: ignore[arg-type]
    if v.is_integer() and abs(v) < 1e6:
        return str(int(v))
    return estimate(v)


def n_pct(k: int, n: int) -> str:
    """``k/n (p%)`` with p to one decimal; ``k/0`` when there is no denominator."""
    if not n:
        return f"{k}/{n}"
    return f"{k}/{n} ({100.0 * k / n:.1f}%)"


def format_p(p: float | None) -> str:
    """A P value: three decimals, ``<0.001`` below 0.001, an en dash when missing.

    A half is rounded away from zero on the decimal value (Python's shortest repr), as SPSS, which
    the seed used, rounds (IBM SPSS Statistics Command Syntax Reference, Arithmetic functions, RND:
    "numbers ending in .5 exactly are rounded away from 0") and prints an exact P of 0.8125 (.813).
    ``f"{p:.3f}"`` rounded an exact half to even: 0.8125 to 0.812, 0.0625 to 0.062.

    >>> format_p(0.8125), format_p(0.0625), format_p(0.1875), format_p(0.0215)
    ('0.813', '0.063', '0.188', '0.022')
    """
    if p is None or p != p:
        return MISSING
    if p < 0.001:
        return "<0.001"
    return str(Decimal(repr(float(p))).quantize(_P_STEP, rounding=ROUND_HALF_UP))


def confidence_label(level: float) -> str:
    """A confidence level as the report prints it before "CI" (``Plan.confidence_level``, 1 - alpha).

    >>> confidence_label(0.95), confidence_label(0.9), confidence_label(0.975)
    ('95%', '90%', '97.5%')
    """
    return f"{round(100 * level, 6):g}%"


def median_range(median: object, lo: object, hi: object) -> str:
    """``2 (1–3)``: a median with its range; an en dash when there is none.

    >>> median_range(2.0, 1.0, 3.0)
    '2 (1–3)'
    """
    if _missing(median):
        return MISSING
    return f"{estimate(median)} ({estimate(lo)}\u2013{estimate(hi)})"


def summary_stats(values, quantile_method: str):
    from cartkit.stats import describe

    return describe(np.asarray(values, dtype=float), quantile_method)


def fmt_median_iqr(values, quantile_method: str) -> str:
    """``median (Q1, Q3)`` under the plan's quartile definition.

    >>> fmt_median_iqr([1.0, 2.0, 3.0, 4.0], "spss"), fmt_median_iqr([1.0, 2.0, 3.0, 4.0], "r7")
    ('2.5 (1.25, 3.75)', '2.5 (1.75, 3.25)')
    """
    if np.asarray(values, dtype=float).size == 0:
        return MISSING
    d = summary_stats(values, quantile_method)
    return f"{estimate(d.median)} ({estimate(d.q1)}, {estimate(d.q3)})"


def fmt_mean_sd(values) -> str:
    """``mean ± SD`` (SD with n - 1)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return MISSING
    sd = float(np.std(v, ddof=1)) if v.size > 1 else float("nan")
    return f"{estimate(float(v.mean()))} \u00b1 {estimate(sd)}"
