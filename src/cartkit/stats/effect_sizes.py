"""Effect sizes with confidence intervals beside the p-values: Hodges-Lehmann shift and geometric-mean ratio.

* ``hodges_lehmann(x, y, paired=False)``: R's ``wilcox.test(x, y, paired, conf.int = TRUE)``.
  Unpaired, the estimate of the shift x - y is the median of the m x n differences x_i - y_j;
  paired, the pseudo-median of the differences d = x - y is the median of the Walsh averages
  (d_i + d_j) / 2, i <= j. Without ties (and, paired, without zero differences) and with fewer
  than 50 observations per group (R's rule; ``exact`` overrides it) the interval is the exact one,
  the order statistics of the differences / Walsh averages at the ``qwilcox`` / ``qsignrank``
  quantiles. With ties the interval and the estimate are R's asymptotic ones: the shifts d at
  which the continuity-corrected normal statistic of the rank test of "shift = d" crosses the
  normal quantiles (estimate: crosses 0, without correction). That statistic is a step function
  of d, changing only at the differences / Walsh averages, so the crossing is one of them; R
  finds it with ``uniroot`` to ``tol.root = 1e-4``, cartkit exactly (where the statistic equals
  the quantile over a whole step, the middle of the step). Paired, R drops zero differences
  before the interval is computed; so does cartkit. Paired, the differences x - y are rounded to 12
  significant digits of the data first (``decimal_differences``): 0.7 - 0.4 and 0.4 - 0.1 are the
  same difference, tied, as in R on the data in integer units. R on the raw doubles ranks them
  apart, and its ``uniroot`` then lands wherever floating-point noise re-ties them: on
  x = (0.8, 0.2, 0.5, 1.5), y = (0.5, 0.5, 0.2, 0.8) R gives the interval (-0.283, 0.700), on the
  same data in tenths (0, 5) / 10 = (0, 0.5), which is cartkit's.
* ``geometric_mean_ratio(x, y, paired=False)``: the t test on log(x) - log(y) (Welch by default,
  as R's ``t.test``; ``equal_var=True`` for Student's pooled test), estimate and interval
  back-transformed: exp(mean log x - mean log y) is the ratio of geometric means (paired: the
  geometric mean of the ratios x / y). R: ``exp(t.test(log(x), log(y))$conf.int)``. Values must be
  positive (ValueError naming them otherwise).
"""

from __future__ import annotations

import numpy as np

from cartkit.stats.means import t_test
from cartkit.stats.ranks import (
    _EXACT_LIMIT,
    _rank_sum_counts,
    _signed_rank_counts,
    _tie_sizes,
    average_ranks,
    mann_whitney,
    sample,
    wilcoxon_signed_rank,
)
from cartkit.stats.results import TestResult


def _lower_quantile(counts, prob: float) -> int:
    """Smallest q with P(S <= q) >= prob (R's qwilcox / qsignrank), from exact counts per value."""
    exact = not isinstance(counts, np.ndarray) or counts.dtype.kind == "i"
    values = [int(c) for c in counts] if exact else [float(c) for c in counts]
    total = sum(values)
    target = prob - 10 * np.finfo(float).eps  # R's qwilcox / qsignrank: p - 10 * DBL_EPSILON
    running = 0
    for q, c in enumerate(values):
        running += c
        if running / total >= target:
            return q
    return len(values) - 1


def _crossing(points: np.ndarray, statistic, zq: float, at_ends: tuple[float, float]) -> float:
    """The d at which the non-increasing step function statistic(d) crosses zq (see module docs).

    ``points`` are the sorted distinct jump locations D_0 < ... < D_K; the function is evaluated in
    the middle of each open step (D_{k-1}, D_k); ``at_ends`` are its values at D_0 and D_K.
    """
    mids = (points[:-1] + points[1:]) / 2
    k_total = mids.size

    def value(j: int) -> float:  # j = 0: at D_0; 1..K: on step j; K + 1: at D_K
        if j == 0:
            return at_ends[0] - zq
        if j == k_total + 1:
            return at_ends[1] - zq
        return statistic(mids[j - 1]) - zq

    def first(pred) -> int:  # smallest j in 0..K+1 with pred(value(j)) (monotone), K + 2 if none
        lo, hi = 0, k_total + 2
        while lo < hi:
            mid = (lo + hi) // 2
            if pred(value(mid)):
                hi = mid
            else:
                lo = mid + 1
        return lo

    negative = first(lambda v: v < 0)
    non_positive = first(lambda v: v <= 0)
    if negative == 0:
        return float(points[0])
    if negative > k_total + 1:
        return float(points[-1])
    if non_positive == negative:  # a clean crossing at the jump between element j-1 and j
        return float(points[negative - 1])
    # the statistic equals zq on elements non_positive .. negative-1: the middle of that stretch
    left = points[0] if non_positive == 0 else points[non_positive - 1]
    right = points[negative - 1]
    return float((left + right) / 2)


DECIMAL_DIGITS = 12


def decimal_differences(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x - y rounded to ``DECIMAL_DIGITS`` significant digits of the largest |x|, |y| (NaN kept).

    In binary floating point 0.7 - 0.4 = 0.29999999999999993 and 0.4 - 0.1 = 0.30000000000000004:
    differences that are equal in decimal are not equal as doubles, so ranks that should be tied are
    not, and which of them tie again after subtracting a shift d depends on d. Rounded, they are the
    differences of the decimal values, the ones R's ``wilcox.test`` computes on the same data in integer
    units (where the arithmetic is exact), e.g. tenths of a unit. Values differing only beyond 12
    significant digits of the data are taken as equal.
    """
    d = x - y
    finite = np.abs(np.r_[x[np.isfinite(x)], y[np.isfinite(y)]])
    top = float(finite.max()) if finite.size else 0.0
    if top == 0:
        return d
    k = DECIMAL_DIGITS - 1 - int(np.floor(np.log10(top)))
    if k > 22:  # 10**k no longer exact: values below 1e-11, left as they are
        return d
    if k >= 0:
        scale = 10.0**k
        return np.rint(d * scale) / scale
    scale = 10.0**-k
    return np.rint(d / scale) * scale


def _distinct(values: np.ndarray) -> np.ndarray:
    v = np.unique(values)
    if v.size < 2:
        return v
    scale = max(1.0, float(np.max(np.abs(v))))
    keep = np.r_[True, np.diff(v) > 1e-12 * scale]
    return v[keep]


def hodges_lehmann(x: object, y: object, paired: bool = False, level: float = 0.95, exact: bool | None = None,
                   correct: bool = True) -> TestResult:
    """Hodges-Lehmann shift (unpaired) or pseudo-median (paired) of x - y with its CI, as R's ``wilcox.test``.

    ``estimate`` and ``ci`` are R's ``estimate`` and ``conf.int``; ``statistic`` and ``pvalue`` R's W / V
    and p-value (the same ``exact`` / ``correct`` rule). See the module docs for exact vs asymptotic.
    """
    from cartkit.stats.distributions import ndtri

    if not 0 < level < 1:
        raise ValueError(f"hodges_lehmann: level must be between 0 and 1, got {level}")
    alpha = 1 - level
    if paired:
        xa, ya = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
        if xa.size != ya.size:
            raise ValueError(f"hodges_lehmann: paired samples must have the same length, got {xa.size} and {ya.size}")
        d = sample(decimal_differences(xa, ya), "hodges_lehmann paired differences")
        all_d = d
        zeros = bool(np.any(d == 0))
        d = d[d != 0]
        n = d.size
        if n == 0:
            raise ValueError("hodges_lehmann: all differences are zero; no interval")
        has_ties = bool(np.any(_tie_sizes(np.abs(d)) > 1))
        use_exact = (n < _EXACT_LIMIT) if exact is None else exact
        test = wilcoxon_signed_rank(all_d, np.zeros_like(all_d), correct=correct,  # on the same differences
                                    exact=use_exact and not has_ties and not zeros)
        i, j = np.triu_indices(n)
        walsh = np.sort((d[i] + d[j]) / 2)
        if use_exact and not has_ties and not zeros:
            qu = _lower_quantile(_signed_rank_counts(n), alpha / 2)
            qu = max(qu, 1)
            ql = n * (n + 1) // 2 - qu
            return TestResult("Hodges-Lehmann pseudo-median (exact CI)", test.statistic, test.pvalue,
                              estimate=float(np.median(walsh)), ci=(float(walsh[qu - 1]), float(walsh[ql])),
                              note="exact interval from the signed-rank distribution (R wilcox.test conf.int)")

        def w_stat(shift: float, corr: bool) -> float:
            xd = d - shift
            xd = xd[xd != 0]
            nx = xd.size
            dr = average_ranks(np.abs(xd))
            zd = dr[xd > 0].sum() - nx * (nx + 1) / 4
            ties = _tie_sizes(dr)
            sigma = np.sqrt(nx * (nx + 1) * (2 * nx + 1) / 24 - np.sum(ties**3 - ties) / 48)
            correction = 0.5 * np.sign(zd) if corr else 0.0
            return float((zd - correction) / sigma)

        lo_end, hi_end = float(d.min()), float(d.max())
        points = _distinct(walsh)
        with np.errstate(divide="ignore", invalid="ignore"):
            ends_c = (w_stat(lo_end, correct), w_stat(hi_end, correct))
        if not (np.isfinite(ends_c[0]) and np.isfinite(ends_c[1])):
            # R: "cannot compute confidence interval when all observations are zero or tied":
            # conf.int NaN, estimate the midrange
            return TestResult("Hodges-Lehmann pseudo-median (asymptotic CI)", test.statistic, test.pvalue,
                              estimate=(lo_end + hi_end) / 2, ci=(float("nan"), float("nan")),
                              note="all non-zero differences tied: no interval (R returns NaN and the midrange)")
        achieved = alpha
        z_hi, z_lo = float(ndtri(1 - achieved / 2)), float(ndtri(achieved / 2))
        while ends_c[0] - z_hi < 0 or ends_c[1] - z_lo > 0:  # R: double alpha until the range brackets it
            achieved *= 2
            if achieved >= 1:
                break
            z_hi, z_lo = float(ndtri(1 - achieved / 2)), float(ndtri(achieved / 2))
        note = "asymptotic interval (R wilcox.test conf.int with ties or zeros)"
        if achieved >= 1:
            med = float(np.median(d))
            ci = (med, med)
            note += "; the requested level is not achievable"
        else:
            ci = (_crossing(points, lambda s: w_stat(s, correct), z_hi, ends_c),
                  _crossing(points, lambda s: w_stat(s, correct), z_lo, ends_c))
            if achieved != alpha and 1 - level < achieved * 0.75:
                note += f"; the requested level is not achievable: {1 - achieved:g}"
        ends = (w_stat(lo_end, False), w_stat(hi_end, False))
        estimate = _crossing(points, lambda s: w_stat(s, False), 0.0, ends)
        return TestResult("Hodges-Lehmann pseudo-median (asymptotic CI)", test.statistic, test.pvalue,
                          estimate=estimate, ci=ci, note=note)

    a, b = sample(x, "hodges_lehmann x"), sample(y, "hodges_lehmann y")
    m, n = a.size, b.size
    pooled = np.concatenate([a, b])
    has_ties = bool(np.any(_tie_sizes(pooled) > 1))
    use_exact = (m < _EXACT_LIMIT and n < _EXACT_LIMIT) if exact is None else exact
    test = mann_whitney(a, b, correct=correct, exact=use_exact and not has_ties)
    diffs = np.sort(np.subtract.outer(a, b).ravel())
    if use_exact and not has_ties:
        qu = max(_lower_quantile(_rank_sum_counts(m, n), alpha / 2), 1)
        ql = m * n - qu
        return TestResult("Hodges-Lehmann shift (exact CI)", test.statistic, test.pvalue,
                          estimate=float(np.median(diffs)), ci=(float(diffs[qu - 1]), float(diffs[ql])),
                          note="exact interval from the rank-sum distribution (R wilcox.test conf.int)")

    def w_stat(shift: float, corr: bool) -> float:
        dr = average_ranks(np.concatenate([a - shift, b]))
        ties = _tie_sizes(dr)
        dz = dr[:m].sum() - m * (m + 1) / 2 - m * n / 2
        correction = 0.5 * np.sign(dz) if corr else 0.0
        sigma = np.sqrt((m * n / 12) * ((m + n + 1) - np.sum(ties**3 - ties) / ((m + n) * (m + n - 1))))
        return float((dz - correction) / sigma)

    points = _distinct(diffs)
    lo_end, hi_end = float(diffs[0]), float(diffs[-1])
    ends_c = (w_stat(lo_end, correct), w_stat(hi_end, correct))

    def root(zq: float) -> float:
        if ends_c[0] - zq <= 0:
            return lo_end
        if ends_c[1] - zq >= 0:
            return hi_end
        return _crossing(points, lambda s: w_stat(s, correct), zq, ends_c)

    ci = (root(float(ndtri(1 - alpha / 2))), root(float(ndtri(alpha / 2))))
    ends = (w_stat(lo_end, False), w_stat(hi_end, False))
    estimate = _crossing(points, lambda s: w_stat(s, False), 0.0, ends)
    return TestResult("Hodges-Lehmann shift (asymptotic CI)", test.statistic, test.pvalue, estimate=estimate,
                      ci=ci, note="asymptotic interval (R wilcox.test conf.int with ties)")


def _logs(values: object, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    bad = arr[~np.isnan(arr) & (arr <= 0)]
    if bad.size:
        raise ValueError(f"geometric_mean_ratio: {name} has {bad.size} non-positive value(s) (first: {bad[0]:g}); "
                         "a geometric mean needs positive values")
    with np.errstate(invalid="ignore"):
        return np.log(arr)


def geometric_mean_ratio(x: object, y: object, paired: bool = False, level: float = 0.95,
                         equal_var: bool = False) -> TestResult:
    """Ratio of geometric means x / y with its CI: the t test on the log scale, back-transformed (module docs).

    R: ``r <- t.test(log(x), log(y), paired = paired, var.equal = equal_var); exp(c(diff(rev(r$estimate)),
    r$conf.int))``. ``statistic``, ``df`` and ``pvalue`` are the log-scale t test's.
    """
    lx, ly = _logs(x, "x"), _logs(y, "y")
    r = t_test(lx, ly, paired=paired, equal_var=equal_var, level=level)
    kind = "paired" if paired else ("Student, pooled variance" if equal_var else "Welch")
    return TestResult(f"Geometric mean ratio (t test on log scale, {kind})", r.statistic, r.pvalue, df=r.df,
                      estimate=float(np.exp(r.estimate)), ci=(float(np.exp(r.ci[0])), float(np.exp(r.ci[1]))),
                      note=f"{r.method} on log values; estimate and CI back-transformed by exp")
