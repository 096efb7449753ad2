"""The report's fixed-decimal cells round a half away from zero, as every other number in the report does
(docs/report-contents.md, "How numbers are written": 6.25% is 6.3%, as SPSS rounds). Before, these
cells used Python's format, which rounds the binary value and a half to even: f"{6.25:.1f}" is "6.2",
f"{0.125:.2f}" is "0.12", f"{2.675:.2f}" is "2.67" (2.675 is 2.67499... in binary; its decimal is 2.675,
which SPSS rounds to 2.68). Expected strings are hand-rounded decimals."""

from __future__ import annotations

import math

import polars as pl

from cartkit.analysis.formatting import fixed
from cartkit.analysis.reproduction import _fmt
from cartkit.report.tables import _estimate_ci, _median_ci, _rate, _time, endpoint_summary_table


def test_rates_and_their_interval_round_a_half_up():
    # 1/16 = 6.25%; interval limits 0.15625% -> 0.2 (the decimal 0.15625 is above the half), 28.25% -> 28.3
    assert _rate(1, 1 / 16, 0.0015625, 0.2825) == "1 (6.3%) [0.2\u201328.3]"


def test_estimates_with_intervals_round_a_half_up():
    assert _estimate_ci(0.125, 0.045, 2.675) == "0.13 (0.05\u20132.68)"
    assert _estimate_ci(0.125, None, float("nan")) == "0.13 (NR\u2013NR)"
    assert _median_ci(2.25, 0.75, float("nan")) == "2.3 (0.8\u2013NR)"
    assert _median_ci(float("nan"), 3.05, None) == "not reached (3.1\u2013NR)"
    assert _time(12.25) == "12.3" and _time(None) == "\u2013"


def test_endpoint_medians_round_a_half_up_and_keep_not_reached():
    df = pl.DataFrame({"population": ["ITT"], "population_n": [8], "endpoint": ["OS"], "label": [""],
                       "origin": ["infusion"], "censoring": ["no"], "group": ["all"], "n": [8], "events": [3],
                       "median": [2.25], "median_lower": [0.35], "median_upper": [math.nan], "time_unit": ["months"],
                       "conf_type": ["log"]})
    table = endpoint_summary_table(pl.concat([df, df.with_columns(median=pl.lit(math.nan), median_lower=pl.lit(4.45)),
                                              df.with_columns(median=pl.lit(math.nan), median_lower=pl.lit(math.nan))]))
    shown = [row.cells[-1].text for row in table.rows]
    assert shown == ["2.3 (0.4\u2013NR) months", "not reached (4.5\u2013NR) months", "not reached"]


def test_reproduction_numbers_round_a_half_up():
    # the appendix prints each computed number at the paper's precision, rounded as its SPSS rounded
    assert _fmt(6.25, 1) == "6.3" and _fmt(0.0625, 3) == "0.063" and _fmt(2.5, 0) == "3"
    assert _fmt(None, 1) == "NA" and _fmt(12345.0, -1) == "12345"
    assert fixed(float("inf"), 2) == "inf" and fixed(-2.5, 0) == "-3"
