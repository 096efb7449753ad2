"""Review: the report's number rule (docs/report-contents.md, "How numbers are written") at the 10^3 boundary.

The rule: an estimate has 3 significant digits, "the integer part kept whole below 10^5", scientific
notation (written 1.20×10⁵) only from 10^5 up and below 10^-3. A value in [999.5, 1000) rounds to 1000 at
3 significant digits; Python's ``f"{v:.3g}"`` then switches to its own exponent form and the report prints
``1e+03``, a spelling the rule never uses (hand computation: 999.5 to 3 significant digits is 1.00 x 10^3,
whose integer part kept whole is 1000). Fixed: the form is chosen by the value as rounded.
"""

from __future__ import annotations

import pytest

from cartkit.analysis.formatting import estimate, fmt_median_iqr, median_range, number


@pytest.mark.parametrize("value, expected", [(999.5, "1000"), (999.9, "1000"), (-999.7, "-1000")])
def test_estimate_rounding_up_to_1000_is_written_whole(value, expected):
    assert estimate(value) == expected


def test_median_and_quartiles_near_1000_are_written_whole():
    assert number(999.7) == "1000"
    assert median_range(999.5, 10.0, 2000.0) == "1000 (10\u20132000)"
    # R: quantile(c(999, 1000), c(.25, .5, .75), type = 7) = 999.25, 999.5, 999.75
    assert fmt_median_iqr([999.0, 1000.0], "r7") == "1000 (999, 1000)"


def test_values_that_stay_below_1000_are_unchanged():
    # the neighbours the rule already writes right (guard for the fix)
    assert estimate(999.4) == "999"
    assert estimate(99.96) == "100"
    # a half away from zero (SPSS, docs/report-contents.md): 1234.5 is 1235; before the rounding rule it was
    # "1234" (f"{1234.5:.0f}" rounds the half to even)
    assert estimate(1234.5) == "1235"
    assert estimate(1233.5) == "1234"
    assert estimate(2.3571) == "2.36"
