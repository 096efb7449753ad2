"""Student's, Welch's and paired t tests, as R's ``t.test`` computes them.

``estimate`` is the difference of means (x - y; the mean difference when
paired) and ``ci`` its confidence interval at ``level`` (R prints the two
means for unpaired tests; the difference is what a comparison table needs).
"""

from __future__ import annotations

import numpy as np

from cartkit.stats.ranks import sample
from cartkit.stats.results import TestResult


def t_test(x: object, y: object, paired: bool = False, equal_var: bool = True, level: float = 0.95) -> TestResult:
    """Two-sample t test (R ``t.test(x, y, var.equal=equal_var, paired=paired, conf.level=level)``).

    ``equal_var=True`` is Student's pooled-variance test (SPSS's "equal variances
    assumed" row); ``equal_var=False`` is Welch's test (R's default).
    """
    from cartkit.stats.distributions import stdtr, stdtrit  # = scipy.stats.t.cdf and t.ppf (df first)

    if not 0 < level < 1:
        raise ValueError(f"t_test: level must be between 0 and 1, got {level}")
    if paired:
        xa, ya = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
        if xa.size != ya.size:
            raise ValueError(f"t_test: paired samples must have the same length, got {xa.size} and {ya.size}")
        d = sample(xa - ya, "t_test paired differences", minimum=2)
        estimate = float(d.mean())
        se = float(d.std(ddof=1) / np.sqrt(d.size))
        df = float(d.size - 1)
        method = "Paired t-test"
    else:
        a, b = sample(x, "t_test x", minimum=2), sample(y, "t_test y", minimum=2)
        m, n = a.size, b.size
        va, vb = a.var(ddof=1), b.var(ddof=1)
        estimate = float(a.mean() - b.mean())
        if equal_var:
            df = float(m + n - 2)
            pooled = ((m - 1) * va + (n - 1) * vb) / df
            se = float(np.sqrt(pooled * (1 / m + 1 / n)))
            method = "Two Sample t-test"  # R prints " Two Sample t-test"
        else:
            sa, sb = va / m, vb / n
            se = float(np.sqrt(sa + sb))
            df = float((sa + sb) ** 2 / (sa**2 / (m - 1) + sb**2 / (n - 1)))
            method = "Welch Two Sample t-test"
    if se == 0:
        raise ValueError("t_test: the data are constant (standard error 0); the test is undefined")
    statistic = estimate / se
    pvalue = float(2 * stdtr(df, -abs(statistic)))
    half = float(stdtrit(df, 1 - (1 - level) / 2) * se)
    return TestResult(method, float(statistic), pvalue, df=df, estimate=estimate,
                      ci=(estimate - half, estimate + half))
