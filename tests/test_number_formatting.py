"""One rule writes every number of the report (analysis/formatting.py, docs/report-contents.md)."""

from __future__ import annotations

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
