"""PKNCA's default BLQ rule, ``PKNCA.options("conc.blq")`` = list(first = "keep", middle = "drop",
last = "keep") (PKNCA.options.R; clean.conc.blq: "keep" keeps the BLQ, coded 0), as
``blq_position=PKNCA_DEFAULT_BLQ``, beside cartkit's default Tmax-relative rule (PKNCA's
list(before.tmax = "keep", after.tmax = "drop")). Every AUC below is computed by hand: a linear segment
(t2 - t1)(c1 + c2) / 2, a log-down segment (c1 - c2)(t2 - t1) / ln(c1 / c2)."""

from __future__ import annotations

import math

import polars as pl
import pytest

from cartkit.kinetics.nca import PKNCA_DEFAULT_BLQ, nca, nca_table

LOG_7_14 = (40.0 - 10.0) * 7 / math.log(4.0)          # day 7 (40) to day 14 (10), log down


def _both(days, values, blq=None, **kw):
    """nca and nca_table of the same profile (the table must agree with the scalar)."""
    one = nca(days, values, blq=blq, **kw)
    df = pl.DataFrame({"p": ["a"] * len(days), "day": days, "value": values,
                       "blq": blq if blq is not None else [False] * len(days)})
    row = nca_table(df, by=["p"], blq="blq", **kw).row(0, named=True)
    for name in ("auc_last", "auc_partial", "cmax", "tlast", "n_points"):
        got, want = row[name], getattr(one, name)
        assert (got is None and want != want) or got == pytest.approx(want, abs=1e-9), name
    return one


def test_trailing_blq_is_zero_under_pknca_default():
    days, values = [0, 7, 14, 28], [0.0, 40.0, 10.0, 0.0]   # day 0 and day 28 BLQ (0)
    pk = _both(days, values, blq_position=PKNCA_DEFAULT_BLQ)
    # 0-7 linear up 140; 7-14 log down; 14-28 linear down to 0 (an end is 0) 70
    assert pk.auc_partial == pytest.approx(140 + LOG_7_14 + 70, abs=1e-9)
    assert pk.auc_last == pytest.approx(140 + LOG_7_14, abs=1e-9) and pk.tlast == 14 and pk.n_points == 4
    tmax_rule = _both(days, values)                           # after Tmax dropped: day 28 is not a sample
    assert math.isnan(tmax_rule.auc_partial) and "ends after the last sample" in tmax_rule.note
    assert tmax_rule.auc_last == pytest.approx(140 + LOG_7_14, abs=1e-9) and tmax_rule.n_points == 3


def test_middle_blq_before_tmax_is_dropped_under_pknca_default():
    days, values, blq = [0, 3, 7, 14], [5.0, None, 40.0, 10.0], [False, True, False, False]
    pk = _both(days, values, blq, partial=(0, 14), blq_position=PKNCA_DEFAULT_BLQ)
    assert pk.auc_partial == pytest.approx(7 * (5 + 40) / 2 + LOG_7_14, abs=1e-9)   # 157.5 + log segment
    tmax_rule = _both(days, values, blq, partial=(0, 14))     # day 3 before Tmax: 0
    assert tmax_rule.auc_partial == pytest.approx(3 * 5 / 2 + 4 * 40 / 2 + LOG_7_14, abs=1e-9)


def test_blq_between_quantified_values_after_tmax_is_dropped_and_all_blq_is_first():
    days, values = [0, 7, 14, 21, 28], [0.0, 40.0, 0.0, 10.0, 0.0]
    pk = _both(days, values, blq_position=PKNCA_DEFAULT_BLQ)
    # day 14 (middle) dropped; 7-21 log down 30 * 14 / ln 4; 21-28 linear to 0: 35
    assert pk.auc_partial == pytest.approx(140 + 30 * 14 / math.log(4.0) + 35, abs=1e-9)
    none = _both([0, 7, 14], [0.0, 0.0, 0.0], blq_position=("zero", "drop", "drop"), partial=(0, 14))
    assert none.cmax == 0 and none.auc_partial == 0 and none.n_points == 3          # every BLQ is "first"


def test_blq_position_is_checked():
    with pytest.raises(ValueError, match="blq_position"):
        nca([0, 1], [1.0, 2.0], blq_position=("zero", "keep", "zero"))
    with pytest.raises(ValueError, match="blq_position"):
        nca([0, 1], [1.0, 2.0], blq_position="zero")
