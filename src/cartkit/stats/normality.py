"""Shapiro-Wilk test of normality, as R's ``shapiro.test``.

Royston's algorithm (Royston P. Remark AS R94: a remark on algorithm AS 181, the W-test
for normality. Applied Statistics 1995;44:547-551), for complete samples:

* coefficients: m_i = Phi^-1((i - 3/8) / (n + 1/4)) for the lower half, the two most
  extreme replaced by Royston's polynomials in 1/sqrt(n) and the rest scaled to unit
  sum of squares (a_1 = sqrt(1/2) when n = 3);
* W = (sum a_i x_(i))^2 / sum (x_i - mean)^2, computed on x / range about its mean;
* P: exact for n = 3 (6/pi (asin sqrt W - asin sqrt 3/4), Shapiro & Wilk 1965); for
  4 <= n <= 11 ln(gamma - ln(1 - W)) with gamma = -2.273 + 0.459 n, for n >= 12
  ln(1 - W), each normal with mean and log-SD polynomials in n (resp. ln n) from AS R94.

As in AS R94 (and SciPy, whose numbers the seed report was first computed with), the
normal quantiles are Beasley & Springer's AS 111 (Applied Statistics 1977;26:118) and the
tail area is Hill's AS 66 (Applied Statistics 1973;22:424); R uses exact ``qnorm`` and
``pnorm``, which moves W and P in about the seventh digit. Checked against R's
``shapiro.test`` to 1e-6 and against SciPy's ``shapiro`` to 1e-12 (tests). Written out here
so that the seed's comparisons do not import ``scipy.stats`` (more than a second of start-up).
R's limits apply: 3 <= n <= 5000 and not all values identical.
"""

from __future__ import annotations

import math

import numpy as np

from cartkit.stats.ranks import sample
from cartkit.stats.results import TestResult

# AS R94 polynomial coefficients, constant term first.
_C1 = (0.0, 0.221157, -0.147981, -2.071190, 4.434685, -2.706056)  # a_n in 1/sqrt(n)
_C2 = (0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633)  # a_(n-1) in 1/sqrt(n)
_C3 = (0.5440, -0.39978, 0.025054, -6.714e-4)  # mean, 4 <= n <= 11, in n
_C4 = (1.3822, -0.77857, 0.062767, -0.0020322)  # ln SD, 4 <= n <= 11, in n
_C5 = (-1.5861, -0.31082, -0.083751, 0.0038915)  # mean, n >= 12, in ln n
_C6 = (-0.4803, -0.082676, 0.0030302)  # ln SD, n >= 12, in ln n
_G = (-2.273, 0.459)  # gamma, 4 <= n <= 11, in n
_SMALL = 1e-19


def _poly(c: tuple[float, ...], x: float) -> float:
    """c[0] + c[1] x + ... by Horner's rule (AS 181's POLY)."""
    if len(c) == 1:
        return c[0]
    p = x * c[-1]
    for coef in c[-2:0:-1]:
        p = (p + coef) * x
    return c[0] + p


def _ppnd(p: float) -> float:
    """Normal quantile, Beasley & Springer 1977 (AS 111), as AS R94 uses it."""
    q = p - 0.5
    if abs(q) <= 0.42:
        r = q * q
        num = q * (((-25.44106049637 * r + 41.39119773534) * r - 18.61500062529) * r + 2.50662823884)
        return num / ((((3.13082909833 * r - 21.06224101826) * r + 23.08336743743) * r - 8.47351093090) * r + 1.0)
    r = 1.0 - p if q > 0 else p
    if r <= 0:
        return 0.0
    r = math.sqrt(-math.log(r))
    num = ((2.32121276858 * r + 4.85014127135) * r - 2.29796479134) * r - 2.78718931138
    value = num / ((1.63706781897 * r + 3.54388924762) * r + 1.0)
    return -value if q < 0 else value


def _alnorm_upper(x: float) -> float:
    """Upper normal tail area P(Z > x), Hill 1973 (AS 66), as AS R94 uses it."""
    upper = True
    z = x
    if not z > 0:
        upper = False
        z = -z
    if not (z <= 7.0 or (upper and z <= 38.0)):
        return 0.0 if upper else 1.0
    y = 0.5 * z * z
    if z <= 1.28:
        tail = 0.5 - z * (0.398942280444 - 0.399903438504 * y
                          / (y + 5.75885480458 - 29.8213557808 / (y + 2.62433121679 + 48.6959930692
                                                                   / (y + 5.92885724438))))
    else:
        tail = 0.398942280385 * math.exp(-y) / (
            z - 3.8052e-8 + 1.00000615302 / (z + 3.98064794e-4 + 1.98615381364 / (
                z - 0.151679116635 + 5.29330324926 / (z + 4.8385912808 - 15.1508972451 / (
                    z + 0.742380924027 + 30.789933034 / (z + 3.99019417011))))))
    return tail if upper else 1.0 - tail


def _coefficients(n: int) -> list[float]:
    """The n // 2 AS R94 coefficients for the upper half (lower half: the same, negated)."""
    half = n // 2
    if n == 3:
        return [math.sqrt(2.0) / 2.0]
    m = [_ppnd((i + 1 - 0.375) / (n + 0.25)) for i in range(half)]
    summ2 = 0.0
    for v in m:
        summ2 += v ** 2
    summ2 *= 2.0
    ssumm2 = math.sqrt(summ2)
    rsn = 1.0 / math.sqrt(n)
    a = list(m)
    a1 = _poly(_C1, rsn) - m[0] / ssumm2
    if n > 5:
        first = 2
        a2 = -m[1] / ssumm2 + _poly(_C2, rsn)
        fac = math.sqrt((summ2 - 2.0 * m[0] ** 2 - 2.0 * m[1] ** 2) / (1.0 - 2.0 * a1 ** 2 - 2.0 * a2 ** 2))
        a[1] = a2
    else:
        first = 1
        fac = math.sqrt((summ2 - 2.0 * m[0] ** 2) / (1.0 - 2.0 * a1 ** 2))
    a[0] = a1
    scale = -1.0 / fac
    for i in range(first, half):
        a[i] = m[i] * scale
    return a


def _swilk(x: np.ndarray) -> tuple[float, float]:
    """W and its P for sorted, centred x (3 <= n <= 5000, range > 0)."""
    n = int(x.size)
    half = n // 2
    a = _coefficients(n)
    # the full antisymmetric coefficient vector: -a_i for the i-th smallest, +a_i for the i-th largest
    full = [0.0] * n
    for i in range(half):
        full[i] = -a[i]
        full[n - 1 - i] = a[i]
    xs = x.tolist()
    rng = xs[-1] - xs[0]
    scaled = [v / rng for v in xs]
    sa = 0.0
    sx = 0.0
    for ai, xi in zip(full, scaled, strict=True):
        sa += ai
        sx += xi
    sa /= n
    sx /= n
    ssa = ssx = sax = 0.0
    for ai, xi in zip(full, scaled, strict=True):
        da, dx = ai - sa, xi - sx
        ssa += da * da
        ssx += dx * dx
        sax += da * dx
    ssassx = math.sqrt(ssa * ssx)
    w1 = (ssassx - sax) * (ssassx + sax) / (ssa * ssx)
    w = 1.0 - w1
    if n == 3:  # exact (Shapiro & Wilk 1965); W >= 3/4 in theory, clamped against rounding
        if w < 0.75:
            return 0.75, 0.0
        return w, 1.0 - (6.0 / math.pi) * math.acos(math.sqrt(w))
    y = math.log(w1)
    if n <= 11:
        gamma = _poly(_G, float(n))
        if y >= gamma:
            return w, _SMALL
        y = -math.log(gamma - y)
        mean, sd = _poly(_C3, float(n)), math.exp(_poly(_C4, float(n)))
    else:
        ln_n = math.log(n)
        mean, sd = _poly(_C5, ln_n), math.exp(_poly(_C6, ln_n))
    return w, _alnorm_upper((y - mean) / sd)


def shapiro(x: object) -> TestResult:
    """Shapiro-Wilk normality test; ``statistic`` is W (R ``shapiro.test(x)``)."""
    a = sample(x, "shapiro", minimum=3)
    if a.size > 5000:
        raise ValueError(f"shapiro: sample size must be between 3 and 5000 (R's limit), got {a.size}")
    if np.ptp(a) == 0:
        raise ValueError("shapiro: all values are identical; normality cannot be tested")
    # sorted and centred on a middle value (W does not change; the sums lose fewer digits)
    y = np.sort(a) - a[a.size // 2]
    w, p = _swilk(y)
    return TestResult("Shapiro-Wilk normality test", float(w), float(p))
