"""Rank tests as R's ``wilcox.test`` computes them: Mann-Whitney (rank-sum) and Wilcoxon signed-rank.

R's rules (stats:::wilcox.test.default, R 4.2), followed here:

* exact p-value when both samples are < 50 (signed-rank: n < 50 non-zero
  differences) and there are no ties (and, paired, no zero differences);
* otherwise the normal approximation with the tie-corrected variance and a
  continuity correction of 0.5 towards the mean (``correct=True``);
* two-sided p = min(1, 2 x the smaller tail); paired zero differences are dropped.

SPSS (the seed computed its p-values in SPSS 17) prints for the Mann-Whitney U
test "Asymp. Sig. (2-tailed)": the normal approximation with tie correction and
*no* continuity correction, whatever the sample size. ``mann_whitney(x, y,
exact=False, correct=False)`` reproduces it; ``correct=False`` alone drops the
continuity correction only where R would use the normal approximation anyway.

``exact``: ``None`` (the default) is R's rule above, the hybrid the seed's report relies on;
``exact=True`` is the exact test in every case: without ties (and zeros) the same exact
distribution R uses, with ties (or zeros) the exact *conditional* permutation distribution
given the observed mid-ranks (``cartkit.stats.exact_ranks``; R: ``coin::wilcox_test`` /
``coin::wilcoxsign_test(..., distribution = "exact")``, ``exactRankTests::wilcox.exact``);
``exact=False`` is the normal approximation.

Zero paired differences (``zero_method``): ``"wilcoxon"`` (default) drops them before ranking
(R's ``wilcox.test``, ``exactRankTests::wilcox.exact``, ``coin``'s ``zero.method =
"Wilcoxon"``); ``"pratt"`` ranks them with the others and then drops them (Pratt 1959, JASA
54:655; ``coin::wilcoxsign_test``'s default). Both are documented in docs/statistics.md.
"""

from __future__ import annotations

import numpy as np

from cartkit.stats.results import TestResult

_EXACT_LIMIT = 50  # R: exact <- (n.x < 50) && (n.y < 50) ; signed rank: n < 50
ZERO_METHODS = ("wilcoxon", "pratt")


def sample(x: object, name: str, minimum: int = 1) -> np.ndarray:
    """A 1-D float array without missing values (ValueError when fewer than ``minimum`` remain)."""
    arr = np.asarray(x, dtype=float).ravel()
    if np.any(np.isinf(arr)):
        raise ValueError(f"{name}: infinite values are not allowed")
    arr = arr[~np.isnan(arr)]
    if arr.size < minimum:
        raise ValueError(f"{name}: needs at least {minimum} non-missing values, got {arr.size}")
    return arr


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties sharing their mean rank (R's ``rank``, ``scipy.stats.rankdata``)."""
    values = np.asarray(values, dtype=float).ravel()
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new_value = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    group = np.cumsum(new_value) - 1  # tie group of each sorted value
    starts = np.concatenate([np.flatnonzero(new_value), [values.size]])  # 0-based first position per group
    ranks = np.empty(values.size)
    # a group occupying sorted positions s..e-1 has ranks s+1..e: their mean is (s + 1 + e) / 2
    ranks[order] = 0.5 * (starts[group] + 1 + starts[group + 1])
    return ranks


def _tie_sizes(values: np.ndarray) -> np.ndarray:
    _, counts = np.unique(values, return_counts=True)
    return counts.astype(float)


def _rank_sum_counts(m: int, n: int) -> list[int]:
    """Number of arrangements giving each Mann-Whitney U = 0..m*n (Gaussian binomial coefficients)."""
    # [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i), exact in Python integers
    size = m * n + 1
    poly = [0] * size
    poly[0] = 1
    for i in range(1, m + 1):
        for k in range(size - 1, n + i - 1, -1):  # multiply by (1 - q^(n+i))
            poly[k] -= poly[k - n - i]
        for k in range(i, size):  # divide by (1 - q^i)
            poly[k] += poly[k - i]
    return poly


def _signed_rank_counts(n: int) -> np.ndarray:
    """Number of subsets of {1..n} with each rank sum 0..n(n+1)/2 (exact integers for n < 63, floats above)."""
    size = n * (n + 1) // 2 + 1
    counts = np.zeros(size, dtype=np.int64 if n < 63 else float)
    counts[0] = 1
    for i in range(1, n + 1):
        counts[i:] = counts[i:] + counts[: size - i].copy()
    return counts


def _exact_two_sided(counts: list[int] | np.ndarray, statistic: float, centre: float) -> float:
    """R: if (STAT > centre) p = P(S >= STAT) else p = P(S <= STAT); min(1, 2p)."""
    exact = not isinstance(counts, np.ndarray) or counts.dtype.kind == "i"
    as_number = int if exact else float
    total = sum(as_number(c) for c in counts)
    s = int(round(statistic))
    tail = sum(as_number(c) for c in (counts[s:] if statistic > centre else counts[: s + 1]))
    return min(1.0, 2.0 * tail / total)


def _normal_two_sided(z: float, sigma: float, correct: bool) -> tuple[float, float]:
    from cartkit.stats.distributions import ndtr  # = scipy.stats.norm.cdf; norm.sf(z) = ndtr(-z)

    correction = 0.5 * np.sign(z) if correct else 0.0
    zz = (z - correction) / sigma
    return float(zz), float(min(1.0, 2.0 * min(ndtr(zz), ndtr(-zz))))


def mann_whitney(x: object, y: object, correct: bool = True, exact: bool | None = None) -> TestResult:
    """Wilcoxon rank-sum / Mann-Whitney U test (R ``wilcox.test(x, y, correct=correct, exact=exact)``).

    ``statistic`` is R's W (rank sum of x minus n_x(n_x+1)/2, i.e. U of x).
    """
    a, b = sample(x, "mann_whitney x"), sample(y, "mann_whitney y")
    m, n = a.size, b.size
    pooled = np.concatenate([a, b])
    ranks = average_ranks(pooled)
    w = float(ranks[:m].sum() - m * (m + 1) / 2)
    ties = _tie_sizes(pooled)
    has_ties = bool(np.any(ties > 1))
    use_exact = (m < _EXACT_LIMIT and n < _EXACT_LIMIT) if exact is None else exact
    if use_exact and not has_ties and m < _EXACT_LIMIT and n < _EXACT_LIMIT:
        p = _exact_two_sided(_rank_sum_counts(m, n), w, m * n / 2)
        return TestResult("Wilcoxon rank sum exact test", w, p, note="exact")
    if exact is True and not has_ties:  # large samples forced exact: the same distribution, by the shift algorithm
        from cartkit.stats.exact_ranks import integer_scores, rank_sum_distribution, two_sided_pvalue

        scores, _ = integer_scores(ranks)
        chosen = scores[:m] if m <= n else scores[m:]
        prob, offset = rank_sum_distribution(scores, chosen.size)
        p = two_sided_pvalue(prob, offset, int(chosen.sum()), chosen.size * int(scores.sum()), m + n)
        return TestResult("Wilcoxon rank sum exact test", w, p, note="exact (shift algorithm)")
    if exact is True:  # ties: the exact conditional distribution given the mid-ranks
        from cartkit.stats.exact_ranks import integer_scores, rank_sum_distribution, two_sided_pvalue

        scores, _ = integer_scores(ranks)
        # the smaller group's sum carries the same test (|T_x - E T_x| = |T_y - E T_y|) at less cost
        chosen = scores[:m] if m <= n else scores[m:]
        prob, offset = rank_sum_distribution(scores, chosen.size)
        p = two_sided_pvalue(prob, offset, int(chosen.sum()), chosen.size * int(scores.sum()), m + n)
        return TestResult("Wilcoxon rank sum exact test (conditional on ties)", w, p,
                          note="exact conditional permutation distribution given the tied mid-ranks "
                               "(shift algorithm); two-sided P(|W - E W| >= |w - E W|)")
    sigma = np.sqrt((m * n / 12) * ((m + n + 1) - np.sum(ties**3 - ties) / ((m + n) * (m + n - 1))))
    if sigma == 0:
        raise ValueError("mann_whitney: all values are identical; the test is undefined")
    _, p = _normal_two_sided(w - m * n / 2, sigma, correct)
    method = "Wilcoxon rank sum test" + (" with continuity correction" if correct else "")
    why = "ties present: " if (use_exact and has_ties) else ""
    note = why + "normal approximation, tie-corrected variance" + (", continuity correction" if correct else "")
    return TestResult(method, w, p, note=note)


def wilcoxon_signed_rank(x: object, y: object, correct: bool = True, exact: bool | None = None,
                         zero_method: str = "wilcoxon") -> TestResult:
    """Wilcoxon signed-rank test on paired x, y (R ``wilcox.test(x, y, paired=TRUE, ...)``).

    Pairs with a missing value are dropped. ``statistic`` is R's V (sum of ranks of the
    positive differences; with ``"pratt"`` the ranks are those among all |differences|, zeros
    included). Zero differences: ``zero_method="wilcoxon"`` drops them before
    ranking (R's default, the only rule of ``wilcox.test``); ``"pratt"`` ranks them and then
    drops their ranks (coin's default). ``exact=True`` gives the exact conditional
    distribution given the ranks whatever the ties and zeros (see the module docs);
    with ``"pratt"`` the normal approximation is the permutation one (mean sum(r)/2,
    variance sum(r^2)/4, coin's asymptotic test when ``correct=False``).
    """
    if zero_method not in ZERO_METHODS:
        raise ValueError(f"wilcoxon_signed_rank: zero_method must be one of {ZERO_METHODS}, got {zero_method!r}")
    xa, ya = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if xa.size != ya.size:
        raise ValueError(f"wilcoxon_signed_rank: x and y must be paired (same length), got {xa.size} and {ya.size}")
    d = sample(xa - ya, "wilcoxon_signed_rank differences")
    n_zero = int(np.sum(d == 0))
    zeros = n_zero > 0
    if zero_method == "pratt":
        all_ranks = average_ranks(np.abs(d))
        ranks, d = all_ranks[d != 0], d[d != 0]
    else:
        d = d[d != 0]
        ranks = average_ranks(np.abs(d))
    n = d.size
    if n == 0:
        raise ValueError("wilcoxon_signed_rank: all differences are zero; the test is undefined")
    v = float(ranks[d > 0].sum())
    ties = _tie_sizes(np.abs(d))
    has_ties = bool(np.any(ties > 1))
    use_exact = n < _EXACT_LIMIT if exact is None else exact
    zero_note = (f"; {n_zero} zero difference(s) "
                 + ("ranked then dropped (Pratt)" if zero_method == "pratt" else "dropped before ranking")
                 if zeros else "")
    if use_exact and not has_ties and not zeros:
        p = _exact_two_sided(_signed_rank_counts(n), v, n * (n + 1) / 4)
        return TestResult("Wilcoxon signed rank exact test", v, p, note="exact")
    if exact is True:  # ties or zeros: the exact conditional distribution given the ranks
        from cartkit.stats.exact_ranks import integer_scores, signed_rank_distribution, two_sided_pvalue

        scores, _ = integer_scores(ranks)
        prob = signed_rank_distribution(scores)
        p = two_sided_pvalue(prob, 0, int(scores[d > 0].sum()), int(scores.sum()), 2)
        return TestResult("Wilcoxon signed rank exact test (conditional on ties and zeros)", v, p,
                          note="exact conditional permutation distribution given the mid-ranks "
                               "(shift algorithm)" + zero_note)
    if zero_method == "pratt":
        sigma = float(np.sqrt(np.sum(ranks**2) / 4))
        centre = float(ranks.sum() / 2)
    else:
        sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24 - np.sum(ties**3 - ties) / 48)
        centre = n * (n + 1) / 4
    _, p = _normal_two_sided(v - centre, sigma, correct)
    method = "Wilcoxon signed rank test" + (" with continuity correction" if correct else "")
    reasons = [r for r, flag in (("ties", has_ties), ("zero differences", zeros)) if flag]
    note = (" and ".join(reasons) + " present: " if use_exact and reasons else "") + "normal approximation"
    return TestResult(method, v, p, note=note + zero_note)
