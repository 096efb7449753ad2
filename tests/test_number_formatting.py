"""One rule writes every number of the report (analysis/formatting.py, docs/report-contents.md)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from cartkit.analysis import formatting as fmt
from cartkit.report import tables as tb


@pytest.mark.parametrize(("k", "n", "shown"), [(5, 13, "5/13 (38.5%)"), (3, 6, "3/6 (50.0%)"),
                                              (7, 7, "7/7 (100.0%)"), (0, 6, "0/6 (0.0%)"), (1, 0, "1/0")])
def test_a_proportion_is_n_of_N_with_one_decimal(k, n, shown):
    assert fmt.n_pct(k, n) == shown


def test_table1_and_the_other_tables_write_a_proportion_alike():
    from cartkit.analysis.baseline import baseline_table

    pts = pl.DataFrame({"patient_id": ["P1", "P2", "P3"], "diagnosis": ["DLBCL"] * 3, "age": [50, 60, 70],
                        "sex": ["male", "female", "male"]})
    table1 = baseline_table(pts, ("DLBCL",), "r7")
    male = table1.filter((pl.col("level") == "male") & (pl.col("group") == "DLBCL"))["value"].to_list()
    ae = pl.DataFrame({"section": ["General"], "term": ["fever"], "label": ["Fever"], "product": ["A"],
                       "diagnosis": ["DLBCL"], "n": [2], "N": [3], "pct": [200 / 3]})
    ae_cell = tb.adverse_events_table(ae).rows[1].cells[1].text
    # 2 of 3 patients: Table 1 wrote 66.67% before the rule, the adverse-event table 66.7%
    assert male == ["2/3 (66.7%)"] == [ae_cell]


@pytest.mark.parametrize(("value", "shown"), [(45.678, "45.7"), (0.0123, "0.0123"), (1234.56, "1235"),
                                              (12.0, "12"), (2.0e6, "2.00\u00d710\u2076"), (None, "\u2013")])
def test_plain_table_numbers_follow_the_estimate_rule(value, shown):
    assert tb.text(value) == shown
    assert tb.text(value) == fmt.number(value)


def test_summaries_use_the_same_rule_as_the_tables():
    # SPSS (type 6) quartiles by hand: positions 1.25 and 3.75 of 900, 1290, 2636, 2636 -> 997.5, 2636
    assert fmt.fmt_median_iqr([1290.0, 900.0, 2636.0, 2636.0], "spss") == "1963 (998, 2636)"
    # mean 250000 (>= 10^5: scientific), SD 70710.7 (whole below 10^5)
    assert fmt.fmt_mean_sd([2.0e5, 3.0e5]) == "2.50\u00d710\u2075 \u00b1 70711"
    assert fmt.fmt_median_iqr([], "r7") == fmt.fmt_mean_sd([]) == "\u2013"
    assert tb.estimate_text is fmt.estimate


# A half is rounded away from zero on the decimal value, as SPSS rounds (IBM SPSS Statistics Command
# Syntax Reference, RND: "numbers ending in .5 exactly are rounded away from 0"); by hand: 34.15 to 3
# significant digits is 34.2, 60.25 is 60.3, 1494.5 whole is 1495, -34.15 is -34.2, 0.01235 is 0.0124.
# Python's format rounds the binary value, a half to even: '34.1', '60.2', '1494', '-34.1', '0.0123'.
@pytest.mark.parametrize(("value", "shown"), [(34.15, "34.2"), (60.25, "60.3"), (1494.5, "1495"), (-34.15, "-34.2"),
                                              (0.01235, "0.0124"), (2.675, "2.68"), (0.0, "0"), (-0.0, "0"),
                                              # the form follows the value as rounded: 10^5 and 10^-3
                                              (99999.5, "1.00\u00d710\u2075"), (99999.4, "99999"),
                                              (0.00099996, "0.001"), (0.00099949, "9.99\u00d710\u207b\u2074"),
                                              (123456.0, "1.23\u00d710\u2075"), (1.235e6, "1.24\u00d710\u2076")])
def test_an_estimate_rounds_a_half_away_from_zero(value, shown):
    assert fmt.estimate(value) == shown


@pytest.mark.parametrize(("k", "n", "shown"), [(1, 16, "1/16 (6.3%)"), (3, 16, "3/16 (18.8%)"),
                                              (1, 80, "1/80 (1.3%)"), (1, 3, "1/3 (33.3%)"), (2, 3, "2/3 (66.7%)")])
def test_a_percentage_rounds_a_half_away_from_zero(k, n, shown):
    # 100/16 = 6.25 exactly: 6.3 (f"{6.25:.1f}" gave 6.2); 300/16 = 18.75: 18.8; 100/80 = 1.25: 1.3
    assert fmt.n_pct(k, n) == shown
    assert fmt.n_pct(np.int64(k), np.int64(n)) == shown  # counts summed by numpy or polars


def test_a_huge_or_tiny_estimate_stays_one_short_cell():
    # a poorly identified confidence limit: 1e218 is past Decimal's 28 digits as a whole number
    assert fmt.estimate(1.2345e218) == "1.23\u00d710\u00b2\u00b9\u2078"
    assert fmt.estimate(-1.0e-300) == "-1.00\u00d710\u207b\u00b3\u2070\u2070"


def test_the_reproduction_appendix_rounds_a_half_as_spss():
    # the appendix prints the computed number at the paper's precision, beside SPSS output, which rounds an
    # exact half away from zero: an exact log-rank P of 0.0625 is 0.063 (f"{0.0625:.3f}" gave 0.062), a
    # landmark of 1/16 = 6.25% is 6.3%
    from types import SimpleNamespace

    from cartkit.analysis import computed_numbers as cn

    logrank = pl.DataFrame({"endpoint": ["PFS"], "censoring": ["ignore"], "pvalue": [0.0625],
                            "landmark_DLBCL": [0.0625]})
    ctx = SimpleNamespace(results=SimpleNamespace(get=lambda name: logrank if name == "logrank" else None),
                          disease=lambda short: "DLBCL")
    assert cn._logrank_p(ctx, "pfs", "ignore").text == "0.063 (log-rank, ignore)"
    assert cn._landmark(ctx, "pfs", "dlbcl", "ignore").text == "6.3% (ignore)"
    assert fmt.fixed(0.0004, 3) == "0.000"  # the paper's "0.000", not the report's "<0.001"
