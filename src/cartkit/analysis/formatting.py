"""How the report writes numbers: one rule for every table, figure label and summary text.

The rule (docs/report-contents.md, "How numbers are written"):

* an estimate (median, quartile, mean, SD, range limit, model estimate, any other measured
  value): 3 significant digits, the integer part kept whole below 10^5, in scientific
  notation from 10^5 up and below 10^-3; a whole number as a whole number;
* a proportion: ``n/N (p%)``, p to one decimal;
* a P value: three decimals, ``<0.001`` below 0.001;
* a half is rounded away from zero on the decimal value (34.15 is 34.2, 6.25% is 6.3%), as SPSS does;
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
_FIXED_FROM, _SCIENTIFIC_FROM = Decimal("0.001"), Decimal(10) ** 5  # an estimate's plain range
_SUPERSCRIPT = str.maketrans("0123456789-", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _half_up(value: float | Decimal, places: int) -> Decimal:
    """``value`` rounded to ``places`` decimals (negative: to tens, hundreds ...), a half away from zero.

    A float is rounded as the decimal it prints as (its shortest repr), as SPSS, which the seed used,
    rounds (IBM SPSS Statistics Command Syntax Reference, Arithmetic functions, RND: "numbers ending
    in .5 exactly are rounded away from 0"); Python's ``format`` rounds the binary value, a half to
    even: ``f"{6.25:.1f}"`` is 6.2 and ``f"{34.15:.1f}"`` 34.1 (34.15 is 34.1499... in binary).

    >>> _half_up(6.25, 1), _half_up(34.15, 1), _half_up(-0.0625, 3), _half_up(1494.5, 0), _half_up(999.5, -1)
    (Decimal('6.3'), Decimal('34.2'), Decimal('-0.063'), Decimal('1495'), Decimal('1.00E+3'))
    """
    d = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def fixed(value: float, places: int) -> str:
    """``value`` to ``places`` decimals, a half away from zero (``_half_up``): the reproduction appendix's
    numbers, printed at the precision the paper printed (its SPSS rounded so).

    >>> fixed(0.0625, 3), fixed(0.0004, 3), fixed(6.25, 1), fixed(100 / 7, 2), fixed(float("inf"), 2)
    ('0.063', '0.000', '6.3', '14.29', 'inf')
    """
    if not math.isfinite(value):  # as Python writes it: no decimal to round
        return f"{value:.{max(places, 0)}f}"
    return f"{_half_up(value, places):f}"


def percent(p: float, places: int = 1) -> str:
    """A proportion ``p`` as a percentage to ``places`` decimals, a half away from zero: the proportion's
    decimal times 100 exactly, so that 0.2825 is 28.3 (``100 * 0.2825`` is 28.249999999999996 in binary).

    >>> percent(0.2825), percent(1 / 16), percent(0.0015625, 2), percent(float("nan"))
    ('28.3', '6.3', '0.16', 'nan')
    """
    if not math.isfinite(p):
        return f"{100 * p:.{max(places, 0)}f}"
    return f"{_half_up(100 * Decimal(repr(float(p))), places):f}"


def estimate(value: object, digits: int = 3) -> str:
    """An estimate: ``digits`` significant digits, whole below 10^5, scientific beyond.

    Integer parts stay whole below 10^5 (5684, 11.1, 0.112); larger or tiny values are written
    1.23×10⁵, so that a poorly identified confidence limit (10^218) stays one short cell; an
    infinite limit is ∞; missing is an en dash. A half is rounded away from zero (``_half_up``), and
    the form is chosen by the value as rounded: 999.5 is 1000 (not Python's ``1e+03``), 99999.5 is
    1.00×10⁵.

    >>> estimate(34.15), estimate(1494.5), estimate(999.5), estimate(-999.7), estimate(99.96), estimate(0.0)
    ('34.2', '1495', '1000', '-1000', '100', '0')
    """
    if _missing(value):
        return MISSING
    v = float(value)  # type: ignore[arg-type]
    if math.isinf(v):
        return "\u221e" if v > 0 else "\u2212\u221e"
    if v == 0:
        return "0"
    exact = Decimal(repr(v))
    whole = _half_up(exact, 0) if abs(exact) < _SCIENTIFIC_FROM else None  # (10^218 has no 28-digit whole)
    if whole is not None and 10 ** digits <= abs(whole) < _SCIENTIFIC_FROM:  # kept whole: 1234.5 is 1235, 999.5 1000
        return f"{whole:f}"
    rounded = _half_up(exact, digits - 1 - exact.adjusted())  # to ``digits`` significant digits
    if _FIXED_FROM <= abs(rounded) < 10 ** digits:  # its places: digits - 1 - its own exponent (99.96 is 100)
        text = f"{rounded:f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, exponent = f"{rounded:.{digits - 1}e}".split("e")
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
    """``k/n (p%)`` with p to one decimal, a half away from zero; ``k/0`` when there is no denominator.

    p is rounded from the exact quotient 100 k / n (``_half_up``), so that 1/16 is 6.3%, not 6.2%.

    >>> n_pct(1, 16), n_pct(3, 16), n_pct(1, 3)
    ('1/16 (6.3%)', '3/16 (18.8%)', '1/3 (33.3%)')
    """
    if not n:
        return f"{k}/{n}"
    exact_k, exact_n = (Decimal(repr(float(x))) for x in (k, n))  # numpy and polars counts too
    return f"{k}/{n} ({_half_up(100 * exact_k / exact_n, 1)}%)"


def format_p(p: float | None) -> str:
    """A P value: three decimals, ``<0.001`` below 0.001, an en dash when missing.

    A half is rounded away from zero on the decimal value (``_half_up``), as SPSS prints an exact P
    of 0.8125 (.813); ``f"{p:.3f}"`` rounded an exact half to even: 0.8125 to 0.812, 0.0625 to 0.062.

    >>> format_p(0.8125), format_p(0.0625), format_p(0.1875), format_p(0.0215)
    ('0.813', '0.063', '0.188', '0.022')
    """
    if p is None or p != p:
        return MISSING
    if p < 0.001:
        return "<0.001"
    return str(_half_up(p, 3))


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
