"""Whole-table NCA agrees exactly with the one-profile NCA, profile by profile."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from cartkit.kinetics import nca, nca_table

FLOATS = ("cmax", "tmax", "clast", "tlast", "auc_last", "auc_partial", "lambda_z", "half_life", "r2_adj", "r2",
          "lambda_z_start")
INTS = ("n_points", "lambda_z_points")


def _random_profiles(seed: int, n_profiles: int) -> pl.DataFrame:
    """Messy profiles: baselines, BLQ (flag or 0), missing visits, duplicate days, ties, flat tails."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_profiles):
        n = int(rng.integers(1, 14))
        days = np.sort(rng.choice(np.arange(-3, 40), n, replace=True)).astype(float)
        kind = p % 4
        if kind == 0:  # rise and exponential decline with noise
            peak = rng.uniform(3, 12)
            vals = np.where(days < peak, np.exp(days), np.exp(peak) * np.exp(-0.2 * (days - peak)))
            vals = vals * np.exp(rng.normal(0, 0.3, n))
        elif kind == 1:  # noise
            vals = np.exp(rng.normal(2, 2, n))
        elif kind == 2:  # coarse values: ties and flat tails
            vals = rng.integers(0, 4, n).astype(float)
        else:  # fractional days
            days = np.sort(rng.uniform(-2, 35, n))
            vals = np.exp(rng.normal(1, 1.5, n))
        vals[rng.random(n) < 0.12] = 0.0
        vals[rng.random(n) < 0.08] = np.nan
        flags = rng.random(n) < 0.08
        rows += [(f"P{p:04d}", int(p % 3), days[i], vals[i], bool(flags[i])) for i in range(n)]
    frame = pl.DataFrame(rows, schema=["pid", "episode", "day", "value", "blq"], orient="row")
    return frame.sample(fraction=1.0, shuffle=True, seed=seed)  # unsorted input


def _compare(table: pl.DataFrame, df: pl.DataFrame, **kwargs) -> int:
    checked = 0
    for row in table.iter_rows(named=True):
        sub = df.filter((pl.col("pid") == row["pid"]) & (pl.col("episode") == row["episode"]))
        ref = nca(sub["day"].to_numpy(), sub["value"].to_numpy(), blq=sub["blq"].to_numpy(), **kwargs)
        for name in FLOATS:
            got, want = row[name], getattr(ref, name)
            if math.isnan(want):
                assert got is None, (row["pid"], name, got)
            else:
                assert got == want, (row["pid"], name, got, want)  # exact, not approximate
        for name in INTS:
            assert row[name] == getattr(ref, name), (row["pid"], name)
        assert row["note"] == ref.note, row["pid"]
        checked += 1
    return checked


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"auc": "linear", "partial": (2, 21.5)},
        {"blq_before_tmax": "drop", "blq_after_tmax": "zero", "partial": None},
    ],
)
def test_nca_table_equals_scalar_nca(kwargs):
    df = _random_profiles(seed=5, n_profiles=240)
    table = nca_table(df, by=["pid", "episode"], blq="blq", **kwargs)
    groups = df.select("pid", "episode").unique().height
    assert table.height == groups
    assert _compare(table, df, **kwargs) == groups
    # the random profiles exercise every branch
    notes = " ".join(table["note"].to_list())
    fragments = ["no quantifiable", "fewer than 3", "no terminal regression", "no usable observations"]
    if kwargs.get("partial", (0, 28)) is not None:
        fragments += ["window ends after", "window starts before"]
    for fragment in fragments:
        assert fragment in notes, fragment
    assert table["lambda_z"].drop_nulls().len() > 20


def test_nca_table_sorted_groups_and_columns():
    df = pl.DataFrame({"patient_id": ["b", "a", "a", "a", "b"], "day": [0, 0, 7, 14, 7],
                       "value": [0.0, 0.0, 10.0, 5.0, 3.0]})
    out = nca_table(df, by=["patient_id"], partial=(0, 14))
    assert out["patient_id"].to_list() == ["a", "b"]
    assert out.columns == ["patient_id", "cmax", "tmax", "clast", "tlast", "auc_last", "auc_partial", "lambda_z",
                           "half_life", "r2_adj", "r2", "n_points", "lambda_z_points", "lambda_z_start", "note"]
    # a: 0-7 linear (0 + 10)/2*7 = 35; 7-14 log (10 - 5)/ln 2 * 7
    assert out["auc_partial"][0] == pytest.approx(35 + 35 / math.log(2), abs=1e-12)


def test_nca_table_bad_input():
    df = pl.DataFrame({"pid": ["a"], "day": [0], "value": [-1.0]})
    with pytest.raises(ValueError, match="finite and >= 0"):
        nca_table(df, by=["pid"])
    with pytest.raises(ValueError, match="not in the table"):
        nca_table(df, by=["patient"])
    dup = pl.DataFrame({"pid": ["a", "a"], "day": [1, 1], "value": [1.0, 2.0]})
    with pytest.raises(ValueError, match="same day"):
        nca_table(dup, by=["pid"], duplicates="error")


def test_nca_table_without_groups_is_one_profile():
    df = pl.DataFrame({"day": [14, 0, 7, 21, 28], "value": [20.0, 0.0, 40.0, 10.0, 5.0]})
    out = nca_table(df, by=[])
    ref = nca([0, 7, 14, 21, 28], [0, 40, 20, 10, 5])
    assert out.height == 1 and "__profile" not in out.columns
    assert out["auc_partial"][0] == ref.auc_partial and out["half_life"][0] == ref.half_life
    # 40 -> 20 -> 10 -> 5 every 7 days: half-life 7 days exactly by hand
    assert out["half_life"][0] == pytest.approx(7.0, abs=1e-12)


def test_nca_table_same_answer_however_patients_are_split():
    # ARCHITECTURE: every derivation is a function of one patient's rows, so shards give the same answer
    df = _random_profiles(seed=11, n_profiles=120)
    whole = nca_table(df, by=["pid", "episode"], blq="blq")
    ids = df["pid"].unique().sort()
    shards = [df.filter(pl.col("pid").is_in(part.to_list())) for part in (ids[:37], ids[37:90], ids[90:])]
    joined = pl.concat([nca_table(s, by=["pid", "episode"], blq="blq") for s in shards])
    assert joined.sort("pid", "episode").equals(whole)
