"""Shapiro-Wilk test of normality, as R's ``shapiro.test``.

SciPy's ``shapiro`` and R's ``shapiro.test`` both run Royston's algorithm AS
R94 (swilk); cartkit checks they agree with R to 1e-6 (tests/test_stats_tests.py).
R's limits apply: 3 <= n <= 5000 and not all values identical.
"""

from __future__ import annotations

import numpy as np

from cartkit.stats.ranks import sample
from cartkit.stats.results import TestResult


def shapiro(x: object) -> TestResult:
    """Shapiro-Wilk normality test; ``statistic`` is W (R ``shapiro.test(x)``)."""
    from scipy import stats

    a = sample(x, "shapiro", minimum=3)
    if a.size > 5000:
        raise ValueError(f"shapiro: sample size must be between 3 and 5000 (R's limit), got {a.size}")
    if np.ptp(a) == 0:
        raise ValueError("shapiro: all values are identical; normality cannot be tested")
    w, p = stats.shapiro(a)
    return TestResult("Shapiro-Wilk normality test", float(w), float(p))
