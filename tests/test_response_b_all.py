"""B-ALL CR / CRi / NR and MRD negativity (NCCN ALL; Maude 2014/2018; docs/criteria.md "Response: B-ALL")."""

import itertools

import polars as pl
import pytest

from cartkit.response import all_response, all_response_expr, mrd_negative, mrd_negative_expr


@pytest.mark.parametrize(
    ("blasts", "circ", "emd", "anc", "plt", "expected"),
    [
        (4.99, False, False, 1.0, 100.0, "CR"),  # counts exactly at the CR thresholds
        (5.0, False, False, 1.0, 100.0, "NR"),  # blasts must be < 5%
        (5.01, False, False, 2.0, 200.0, "NR"),
        (0.0, True, False, 2.0, 200.0, "NR"),  # circulating blasts
        (0.0, False, True, 2.0, 200.0, "NR"),  # extramedullary disease
        # CR versus CRi by counts
        (1.0, False, False, 0.99, 100.0, "CRi"),
        (1.0, False, False, 1.01, 100.0, "CR"),
        (1.0, False, False, 1.0, 99.9, "CRi"),
        (1.0, False, False, 1.0, 100.1, "CR"),
        (1.0, False, False, 0.2, 20.0, "CRi"),
        # a missing count: CRi when another count is low, else undetermined
        (1.0, False, False, None, 50.0, "CRi"),
        (1.0, False, False, None, 150.0, None),
        (30.0, False, False, None, None, "NR"),
    ],
)
def test_all_response(blasts, circ, emd, anc, plt, expected):
    assert all_response(blasts, circ, emd, anc, plt) == expected


def test_all_response_bad_inputs():
    with pytest.raises(ValueError, match="marrow_blasts_pct"):
        all_response(None, False, False, 1.0, 100.0)
    with pytest.raises(ValueError, match="outside"):
        all_response(120.0, False, False, 1.0, 100.0)


def test_all_response_vectorised_agrees():
    rows = list(
        itertools.product([0.0, 4.99, 5.0], [True, False], [True, False], [None, 0.99, 1.0], [None, 99.9, 100.0])
    )
    df = pl.DataFrame(rows, schema=["b", "c", "e", "a", "p"], orient="row")
    got = df.select(all_response_expr(*(pl.col(c) for c in "bceap"))).to_series().to_list()
    assert got == [all_response(*r) for r in rows]


@pytest.mark.parametrize(
    ("mrd", "cutoff", "expected"),
    [(0.0099, None, True), (0.01, None, False), (0.0101, None, False), (None, None, None), (0.05, 0.1, True)],
)
def test_mrd_negative(mrd, cutoff, expected):
    assert mrd_negative(mrd, cutoff) is expected
    df = pl.DataFrame({"m": [mrd]}, schema={"m": pl.Float64})
    assert df.select(mrd_negative_expr(pl.col("m"), cutoff)).item() is expected
