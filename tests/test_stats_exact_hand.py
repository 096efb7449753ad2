"""Hand computations (brute-force enumeration) for the exact methods of issue 13, and their error messages.

Enumeration is the independent reference where R has no function: every sign pattern / subset / table
is listed with itertools and the p-value added up directly.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from cartkit import stats
from cartkit.stats.exact_ranks import integer_scores, rank_sum_distribution, signed_rank_distribution
from cartkit.stats.ranks import average_ranks


def _brute_symmetry(table) -> float:
    arr = np.asarray(table)
    k = arr.shape[0]
    pairs = [(arr[i, j], arr[j, i]) for i in range(k) for j in range(i + 1, k) if arr[i, j] + arr[j, i] > 0]
    totals = [a + b for a, b in pairs]
    observed = sum((a - b) ** 2 / (a + b) for a, b in pairs)
    p = 0.0
    for combo in itertools.product(*(range(t + 1) for t in totals)):
        stat = sum((2 * a - t) ** 2 / t for a, t in zip(combo, totals, strict=True))
        if stat >= observed - 1e-9:
            p += math.prod(math.comb(t, a) / 2**t for a, t in zip(combo, totals, strict=True))
    return p


@pytest.mark.parametrize("table", [
    [[3, 1, 0], [5, 1, 0], [2, 1, 0]],  # seed neutropenia (levels 2-4)
    [[4, 2, 1, 1], [3, 5, 2, 1], [2, 1, 6, 3], [1, 2, 1, 7]],
    [[2, 0, 3], [4, 1, 0], [0, 2, 2]],
    [[1, 6], [0, 3]],
])
def test_symmetry_exact_equals_enumeration(table):
    assert stats.symmetry_exact(table).pvalue == pytest.approx(_brute_symmetry(table), rel=1e-9)


def test_symmetry_exact_2x2_is_exact_mcnemar():
    # binom.test(1, 7)$p.value -> 0.125
    assert stats.symmetry_exact([[1, 1], [6, 3]]).pvalue == pytest.approx(0.125, rel=1e-12)
    assert stats.mcnemar([[1, 1], [6, 3]], exact=True).pvalue == pytest.approx(0.125, rel=1e-12)


def test_symmetry_exact_without_discordant_pairs_is_undefined():
    r = stats.symmetry_exact([[3, 0], [0, 4]])
    assert math.isnan(r.pvalue) and "no discordant" in r.note


def test_signed_rank_distribution_equals_enumeration():
    d = np.array([1.5, -2, 2, 0.5, -3, 3, 3, 1.5, -0.5])  # ties in |d|
    scores, _ = integer_scores(average_ranks(np.abs(d)))
    prob = signed_rank_distribution(scores)
    brute = np.zeros_like(prob)
    for signs in itertools.product((0, 1), repeat=scores.size):
        brute[int(np.dot(signs, scores))] += 0.5**scores.size
    assert prob == pytest.approx(brute, abs=1e-15)


def test_rank_sum_distribution_equals_enumeration():
    pooled = np.array([1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 7, 7.0])
    scores, _ = integer_scores(average_ranks(pooled))
    for m in (1, 4, 6, 11):
        prob, offset = rank_sum_distribution(scores, m)
        brute = np.zeros_like(prob)
        subsets = list(itertools.combinations(range(scores.size), m))
        for s in subsets:
            brute[int(scores[list(s)].sum()) - offset] += 1 / len(subsets)
        assert prob == pytest.approx(brute, abs=1e-14)


def test_mann_whitney_exact_with_ties_equals_enumeration():
    x, y = [1, 2, 2, 3, 5], [2, 3, 4, 4, 6, 6, 7]
    r = average_ranks(np.array(x + y, dtype=float))
    mean = len(x) * r.sum() / r.size
    observed = abs(r[: len(x)].sum() - mean)
    subsets = list(itertools.combinations(range(r.size), len(x)))
    p = sum(abs(r[list(s)].sum() - mean) >= observed - 1e-9 for s in subsets) / len(subsets)
    assert stats.mann_whitney(x, y, exact=True).pvalue == pytest.approx(p, rel=1e-12)
    # the default (R's rule, the seed's) still uses the normal approximation with ties
    assert "normal approximation" in stats.mann_whitney(x, y).note


def test_errors_are_clear():
    with pytest.raises(ValueError, match="zero_method"):
        stats.wilcoxon_signed_rank([1, 2], [2, 1], zero_method="zeros")
    with pytest.raises(ValueError, match="all 3 differences are zero"):
        stats.sign_test([1, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="non-positive"):
        stats.geometric_mean_ratio([1.0, 0.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="method must be one of"):
        stats.adjust_pvalues([0.1], "sidak")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        stats.adjust_pvalues([0.1, 1.2], "holm")
    with pytest.raises(ValueError, match="2 x 2"):
        stats.mcnemar([[1, 2, 3], [1, 2, 3], [1, 2, 3]], exact=True)
    with pytest.raises(ValueError, match="0 <= x <= n"):
        stats.risk_difference(5, 4, 1, 3)


def test_adjust_pvalues_all_missing_and_aliases():
    out = stats.adjust_pvalues([math.nan, math.nan], "bh")
    assert np.isnan(out).all()
    # p.adjust(c(0.01, 0.02), "fdr") -> 0.02 0.02
    assert stats.adjust_pvalues([0.01, 0.02], "fdr") == pytest.approx([0.02, 0.02])


def test_rank_sum_distribution_rescales_counts_beyond_2_to_800():
    """N = 900 > 800: the subset counts are rescaled on the way; m = 2 keeps enumeration cheap."""
    pooled = np.round(np.random.default_rng(5).normal(0, 20, 900))
    scores, _ = integer_scores(average_ranks(pooled))
    prob, offset = rank_sum_distribution(scores, 2)
    i, j = np.triu_indices(scores.size, k=1)
    sums = scores[i] + scores[j]
    brute = np.bincount(sums - offset, minlength=prob.size) / sums.size
    assert prob == pytest.approx(brute, abs=1e-15)


def test_signed_rank_note_counts_zeros_not_missing_pairs():
    r = stats.wilcoxon_signed_rank([1, 2, math.nan, 4, 5, 3], [1, 3, 2, 2, 1, 1], exact=True)
    assert "1 zero difference(s) dropped" in r.note
