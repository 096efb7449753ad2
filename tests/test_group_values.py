"""product_comparison.group_values / paired_rows: the values of two compared groups and the pairs of the
patients in both (each patient's first episode of A beside their first of B), checked by hand."""

import numpy as np
import polars as pl

from cartkit.analysis.product_comparison import group_values, paired_rows


def _frame():
    # P1: A at episodes 3 and 1 (first: episode 1, value 10), B at 2 (20); P2: A only; P3: B at 1 (null) and 4 (40),
    # A at 2 (30); P4: B only; P5: C (neither group)
    return pl.DataFrame({
        "patient_id": ["P1", "P2", "P1", "P3", "P3", "P1", "P4", "P3", "P5"],
        "episode": [3, 1, 2, 1, 4, 1, 1, 2, 1],
        "product": ["A", "A", "B", "B", "B", "A", "B", "A", "C"],
        "v": [11, 5, 20, None, 40, 10, 7, 30, 99],
    })


def test_values_in_row_order_without_nulls_and_first_episode_pairs():
    xa, xb, pa, pb = group_values(_frame(), "v", "A", "B")
    assert xa.tolist() == [11.0, 5.0, 10.0, 30.0] and xa.dtype == np.float64
    assert xb.tolist() == [20.0, 40.0, 7.0]
    # first episodes of A in episode order: P2 (1), P1 (1), P3 (2); P2 has no B; P3's first B with a value: 40
    assert pa.tolist() == [10.0, 30.0]
    assert pb.tolist() == [20.0, 40.0]


def test_paired_rows_without_values_and_without_pairs():
    frame = _frame()
    in_a = (frame["product"] == "A").to_numpy()
    in_b = (frame["product"] == "B").to_numpy()
    ra, rb = paired_rows(frame, in_a, in_b)
    assert ra.tolist() == [5, 7] and rb.tolist() == [2, 3]  # P1: rows 5 and 2; P3: rows 7 and 3 (episode 1)
    ra, rb = paired_rows(frame, in_a, np.zeros(frame.height, dtype=bool))
    assert ra.size == 0 and rb.size == 0
