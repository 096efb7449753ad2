"""Exact conditional (permutation) distributions of rank statistics with ties: the shift algorithm.

With ties (and, paired, zero differences) the rank statistics have no closed-form null
distribution, but given the observed mid-ranks ("scores") the permutation distribution is
exact and is what small samples call for (issue 13, item 5). Both statistics are sums of
integer scores once the mid-ranks are doubled (every mid-rank is a multiple of 1/2) and
divided by their greatest common divisor, so their distributions are found by the shift
algorithm of Streitberg & Roehmel (1986, Statistical Software Newsletter 12:10; the algorithm
of R's ``exactRankTests::pperm`` and of ``coin``'s ``distribution = exact(algorithm =
"shift")``), not by enumeration:

* signed rank (paired): V = sum of the scores of the positive differences; under the null
  each non-zero difference is positive or negative with probability 1/2 independently, so
  the distribution of V is the product of (1 + q^s_i) / 2 over the scores s_i, built one
  score at a time by adding a copy of the distribution shifted by s_i;
* rank sum (two samples): W = sum of the scores of the m observations of x; under the null
  the m positions of x are a random m-subset of the N pooled observations. The joint
  distribution of (number chosen so far, sum so far) is built one observation at a time, as
  numbers of subsets rescaled before they could overflow. Cost: at most N x m x S additions
  for S the range of possible sums, restricted to the states reachable at each step
  (benchmarks/bench_exact_ranks.py).

Two-sided p-values are ``P(|T - E T| >= |t - E T|)``, the convention of coin and of
exactRankTests for the rank sum (its distribution with ties is not symmetric, so doubling the
smaller tail, R's rule for the untied case, would be a different test). The signed-rank
distribution is symmetric about its mean, so there the two conventions agree.
Comparisons are made in the integer scores, so no floating-point tolerance enters.
"""

from __future__ import annotations

from functools import reduce
from math import gcd

import numpy as np


def integer_scores(ranks: np.ndarray) -> tuple[np.ndarray, int]:
    """Mid-ranks as integers: 2 x rank divided by the gcd of all of them; returns (scores, divisor d).

    rank = scores * d / 2 (ValueError if a rank is not a multiple of 1/2, which mid-ranks always are).
    """
    doubled = np.asarray(ranks, dtype=float) * 2
    as_int = np.rint(doubled).astype(np.int64)
    if not np.allclose(doubled, as_int, rtol=0, atol=1e-9):
        raise ValueError("exact rank distribution: scores must be mid-ranks (multiples of 1/2)")
    positive = as_int[as_int != 0]
    d = reduce(gcd, positive.tolist(), 0) or 1
    return as_int // d, d


def signed_rank_distribution(scores: np.ndarray) -> np.ndarray:
    """P(V = v) for v = 0 .. sum(scores): V = sum of the scores of a uniform random sign pattern."""
    scores = np.asarray(scores, dtype=np.int64)
    total = int(scores.sum())
    prob = np.zeros(total + 1)
    prob[0] = 1.0
    reach = 0
    for s in np.sort(scores):  # small scores first: the reachable range grows slowly
        s = int(s)
        head = prob[: reach + 1].copy()
        prob[: reach + 1] *= 0.5
        prob[s : s + reach + 1] += 0.5 * head
        reach += s
    return prob


def rank_sum_distribution(scores: np.ndarray, m: int) -> tuple[np.ndarray, int]:
    """P(W = w) for the sum W of the scores of a uniform random m-subset of ``scores``.

    Returns (probabilities, offset): probabilities[j] = P(W = offset + j), for offset the smallest
    possible sum (the m smallest scores).
    """
    scores = np.sort(np.asarray(scores, dtype=np.int64))
    n_all = scores.size
    if not 0 <= m <= n_all:
        raise ValueError(f"rank_sum_distribution: need 0 <= m <= N, got m={m}, N={n_all}")
    low = int(scores[:m].sum())
    high = int(scores[n_all - m :].sum())
    # state (k, s): k of the first i scores chosen, their sum s. A sum is stored as its excess over the
    # k smallest scores, e = s - (scores[0] + ... + scores[k-1]); choosing score i (the (k+1)-th chosen)
    # adds scores[i] - scores[k] >= 0 (scores sorted), so the excess never decreases and never exceeds
    # the final range high - low. The table holds numbers of subsets (one addition per state and
    # step, no multiplication), rescaled by 2^-800 whenever they could exceed 2^800 (counts of subsets
    # of the first i scores are below 2^i), so nothing overflows at any N.
    width = high - low
    counts = np.zeros((m + 1, width + 1))
    counts[0, 0] = 1.0
    reach = [0] * (m + 1)  # largest excess held in row k so far
    values = scores.tolist()
    bound_log2 = 0
    for i in range(n_all):
        k_hi = min(i, m - 1)
        k_lo = max(0, m - (n_all - i))
        score = values[i]
        for k in range(k_hi, k_lo - 1, -1):  # descending: row k is read before this step adds to it
            shift = score - values[k]
            top = min(reach[k] + shift, width)
            span = top - shift + 1
            if span > 0:
                target = counts[k + 1, shift : top + 1]
                np.add(target, counts[k, :span], out=target)
                reach[k + 1] = max(reach[k + 1], top)
        bound_log2 += 1
        if bound_log2 >= 800:
            counts *= 2.0**-800
            bound_log2 = 0
    row = counts[m]
    return row / row.sum(), low


def two_sided_pvalue(prob: np.ndarray, offset: int, observed: int, numerator: int, denominator: int) -> float:
    """P(|T - E| >= |t - E|) for E = numerator / denominator, in integers (T = offset + index)."""
    values = offset + np.arange(prob.size, dtype=np.int64)
    dev = np.abs(values * denominator - numerator)
    extreme = dev >= abs(observed * denominator - numerator)
    return float(min(1.0, prob[extreme].sum()))
