"""Fisher's exact test (r x c) against R 4.2 ``fisher.test``; references computed with /usr/bin/Rscript."""

from __future__ import annotations

import numpy as np
import pytest

from cartkit.stats import compare_counts, fisher_exact
from cartkit.stats.fisher import fisher_exact_pvalue


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        # fisher.test(matrix(c(3,1,1,3),2))$p.value
        ([[3, 1], [1, 3]], 0.485714285714286),
        # fisher.test(matrix(c(10,2,3,15),2))$p.value
        ([[10, 3], [2, 15]], 0.000536724119143437),
        # fisher.test(rbind(c(1,5,2),c(6,0,3)))$p.value
        ([[1, 5, 2], [6, 0, 3]], 0.0166598107774578),
        # fisher.test(rbind(c(3,0,2),c(1,4,1),c(0,2,5)))$p.value
        ([[3, 0, 2], [1, 4, 1], [0, 2, 5]], 0.0331825037707388),
        # fisher.test(rbind(c(0,3,2,0),c(4,0,1,2),c(1,1,0,5)))$p.value
        ([[0, 3, 2, 0], [4, 0, 1, 2], [1, 1, 0, 5]], 0.00716154760272401),
        # fisher.test(rbind(c(8,1),c(2,6),c(3,3),c(0,4),c(5,0)))$p.value
        ([[8, 1], [2, 6], [3, 3], [0, 4], [5, 0]], 0.00139917307899531),
        # fisher.test(rbind(c(3,0,1,4,2,0,5,1),c(0,4,2,1,3,3,0,2)))$p.value  (2 x 8)
        ([[3, 0, 1, 4, 2, 0, 5, 1], [0, 4, 2, 1, 3, 3, 0, 2]], 0.00488813817399693),
        # fisher.test(rbind(c(5,0,1),c(2,3,0),c(0,4,2),c(1,1,4),c(3,0,0),c(0,2,3)))$p.value  (6 x 3)
        ([[5, 0, 1], [2, 3, 0], [0, 4, 2], [1, 1, 4], [3, 0, 0], [0, 2, 3]], 0.00204820385209107),
        # fisher.test(rbind(c(12,3,0,1,0,2),c(4,9,2,0,3,1),c(1,2,8,5,0,0)), workspace=2e7)$p.value  (3 x 6)
        ([[12, 3, 0, 1, 0, 2], [4, 9, 2, 0, 3, 1], [1, 2, 8, 5, 0, 0]], 9.28737272852962e-07),
        # fisher.test(matrix(c(4,7,2,7,2, 3,5,3,4,1, 5,4,3,5,2, 3,2,4,6,3),4,byrow=TRUE))$p.value  (n = 75)
        ([[4, 7, 2, 7, 2], [3, 5, 3, 4, 1], [5, 4, 3, 5, 2], [3, 2, 4, 6, 3]], 0.956150810001298),
    ],
)
def test_fisher_matches_r(table, expected):
    assert fisher_exact(table).pvalue == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_fisher_4x5_extreme_matches_r():
    # fisher.test(matrix(c(2,9,3,1,9, 4,3,1,1,1, 21,1,3,6,0, 2,0,3,4,1),4,byrow=TRUE), workspace=2e8)$p.value
    # -> 1.12021444492193e-07 (n = 75; a lopsided table: the hardest case for the network algorithm)
    table = [[2, 9, 3, 1, 9], [4, 3, 1, 1, 1], [21, 1, 3, 6, 0], [2, 0, 3, 4, 1]]
    assert fisher_exact(table).pvalue == pytest.approx(1.12021444492193e-07, rel=1e-6)


def test_seed_table2_crs_grades():
    # Seed Table 2, CRS grade x product pooled over disease: CD19 grades 0..4 = 5,1,3,2,2; CD22 = 4,5,3,1,0.
    # R: fisher.test(rbind(c(5,1,3,2,2), c(4,5,3,1,0)))$p.value -> 0.3413476 (published P = 0.341).
    # The all-grades 2 x 5 shape is the one that reproduces it; dropping grade 4 (2 x 4) gives 0.4661967.
    p = fisher_exact([[5, 1, 3, 2, 2], [4, 5, 3, 1, 0]]).pvalue
    assert p == pytest.approx(0.3413476145606956, rel=1e-6)
    assert round(p, 3) == 0.341
    # fisher.test(rbind(c(5,1,3,2), c(4,5,3,1)))$p.value -> 0.4661967
    assert fisher_exact([[5, 1, 3, 2], [4, 5, 3, 1]]).pvalue == pytest.approx(0.4661967, rel=1e-6)


def test_seed_table2_icans_grades():
    # ICANS grades 0..2: CD19 = 11,1,1; CD22 = 13,0,0. R: fisher.test(rbind(c(11,1,1), c(13,0,0)))$p.value
    # -> 0.48; with the all-zero grade 3/4 columns kept (2 x 5) R also gives 0.48: empty columns do not matter.
    assert fisher_exact([[11, 1, 1], [13, 0, 0]]).pvalue == pytest.approx(0.48, rel=1e-6)
    assert fisher_exact([[11, 1, 1, 0, 0], [13, 0, 0, 0, 0]]).pvalue == pytest.approx(0.48, rel=1e-6)


def test_fisher_is_deterministic_and_symmetric():
    table = np.array([[3, 0, 2], [1, 4, 1], [0, 2, 5]])
    p = fisher_exact(table).pvalue
    assert fisher_exact(table.T).pvalue == pytest.approx(p, rel=1e-12)
    assert fisher_exact(table[::-1, ::-1]).pvalue == pytest.approx(p, rel=1e-12)


def test_fisher_pvalue_is_the_same_bits_every_call():
    # the seed's CRS grade table: the network merges partial tables with a Polars group-by, whose
    # group order (and "first" row) was random, so the last bits of P changed from call to call
    # and the seed report was not the same bytes from run to run (issue 16)
    values = {fisher_exact_pvalue([[5, 1, 3, 2, 2], [4, 5, 3, 1, 0]]) for _ in range(30)}
    assert len(values) == 1
    assert values.pop() == pytest.approx(0.3413476, abs=1e-7)  # R: fisher.test(...)$p.value 0.3413476


def test_fisher_sums_to_one_over_all_tables_for_2x2():
    # the most probable 2 x 2 table has p = 1 (every table is at most as probable)
    assert fisher_exact([[2, 2], [2, 2]]).pvalue == pytest.approx(1.0)


def test_fisher_degenerate_and_bad_input():
    assert fisher_exact([[3, 0], [4, 0]]).pvalue == 1.0  # one non-empty column
    with pytest.raises(ValueError, match="non-negative integers"):
        fisher_exact([[1, -2], [3, 4]])
    with pytest.raises(ValueError, match="non-negative integers"):
        fisher_exact([[1.5, 2], [3, 4]])
    with pytest.raises(ValueError, match="2-dimensional"):
        fisher_exact([1, 2, 3])


def test_compare_counts_picks_fisher_for_sparse_grades():
    choice = compare_counts([[5, 1, 3, 2, 2], [4, 5, 3, 1, 0]])
    assert choice.test == "fisher_exact"
    assert "Cochran" in choice.why
    assert choice.pvalue == pytest.approx(0.3413476145606956, rel=1e-6)


def test_compare_counts_picks_chi_square_when_expected_large():
    # chisq.test(matrix(c(12,7,5,15),2)) -> X-squared = 4.3221203912186867, p-value = 0.0376200166348401
    choice = compare_counts([[12, 5], [7, 15]])
    assert choice.test == "chi_square"
    assert choice.statistic == pytest.approx(4.3221203912186867, rel=1e-9)
    assert choice.pvalue == pytest.approx(0.0376200166348401, rel=1e-6)


def test_fisher_refuses_tables_too_large_for_exact_enumeration():
    big = [[20, 15, 18, 22, 17, 19], [18, 21, 16, 20, 19, 17], [22, 17, 20, 18, 21, 16], [19, 20, 17, 21, 18, 22],
           [15, 19, 22, 17, 20, 18], [21, 18, 19, 16, 22, 20]]
    with pytest.raises(ValueError, match="too large for the exact test"):
        fisher_exact(big)


def _enumerated_pvalue(table: np.ndarray) -> float:
    """Independent check: list every table with the same margins (cell by cell) and add them up."""
    from itertools import product
    from math import factorial, prod

    rows, cols = table.sum(axis=1), table.sum(axis=0)
    n = int(table.sum())
    r, c = table.shape

    def prob(t):
        num = prod(factorial(int(v)) for v in rows) * prod(factorial(int(v)) for v in cols)
        return num / (factorial(n) * prod(factorial(int(v)) for v in t.ravel()))

    p_obs = prob(table)
    total = 0.0
    # free cells: the first (r-1) x (c-1) block; the rest follow from the margins
    ranges = [range(min(rows[i], cols[j]) + 1) for i in range(r - 1) for j in range(c - 1)]
    for free in product(*ranges):
        t = np.zeros((r, c), dtype=int)
        t[: r - 1, : c - 1] = np.array(free).reshape(r - 1, c - 1)
        t[: r - 1, c - 1] = rows[: r - 1] - t[: r - 1, : c - 1].sum(axis=1)
        t[r - 1, :] = cols - t[: r - 1, :].sum(axis=0)
        if (t < 0).any():
            continue
        p = prob(t)
        if p <= p_obs * (1 + 1e-7):
            total += p
    return total


@pytest.mark.parametrize("seed", range(8))
def test_fisher_agrees_with_full_enumeration(seed):
    rng = np.random.default_rng(seed)
    shape = [(2, 3), (3, 3), (2, 4), (3, 2)][seed % 4]
    table = rng.integers(0, 5, size=shape)
    table[0, 0] += 1  # never an all-zero table
    assert fisher_exact(table).pvalue == pytest.approx(_enumerated_pvalue(table), rel=1e-9)


def test_fisher_2x2_matches_scipy_exact():
    # for 2 x 2 tables SciPy's fisher_exact is exact (and uses R's relative tolerance)
    from scipy.stats import fisher_exact as scipy_fisher

    for table in ([[3, 1], [1, 3]], [[10, 3], [2, 15]], [[0, 5], [6, 1]], [[7, 7], [7, 8]]):
        assert fisher_exact(table).pvalue == pytest.approx(scipy_fisher(table).pvalue, rel=1e-9)
