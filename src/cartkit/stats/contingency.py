"""Chi-square tests on tables of counts, as R's ``chisq.test`` and ``mcnemar.test`` compute them.

* ``chi_square``: Pearson's test of independence; Yates' continuity correction
  on 2 x 2 tables when ``correction=True`` (R's default, with R's
  ``min(0.5, |O - E|)`` form of the correction).
* ``mcnemar``: paired 2 x 2 table (rows = first assessment, columns = second),
  with continuity correction as R.
* ``bowker``: Bowker's (1948) test of symmetry for a paired k x k table, e.g.
  the grades of the same patients after two products. R's ``mcnemar.test`` on
  a k x k table is this test; where a pair of off-diagonal cells is empty
  (n_ij + n_ji = 0) R returns NaN, cartkit drops the pair and its degree of
  freedom (as SPSS and ``coin`` do) and says so in ``note``.
"""

from __future__ import annotations

import numpy as np

from cartkit.stats.results import TestResult


def counts_table(table: object, name: str, square: bool = False) -> np.ndarray:
    """A validated 2-D array of non-negative counts (ValueError naming the problem otherwise)."""
    arr = np.asarray(table, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(f"{name}: need a 2-D table with at least 2 rows and 2 columns, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name}: counts must be finite and non-negative, got {arr.tolist()}")
    if square and arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name}: a paired table must be square (k x k), got shape {arr.shape}")
    return arr


def expected_counts(table: object) -> np.ndarray:
    """Expected counts under independence: row total x column total / n."""
    arr = counts_table(table, "expected_counts")
    n = arr.sum()
    if n == 0:
        raise ValueError("expected_counts: the table has no counts")
    return np.outer(arr.sum(axis=1), arr.sum(axis=0)) / n


def chi_square(table: object, correction: bool = True) -> TestResult:
    """Pearson's chi-square test of independence (R ``chisq.test(x, correct=correction)``)."""
    from cartkit.stats.distributions import chdtrc  # chdtrc(df, x) = scipy.stats.chi2.sf(x, df)

    observed = counts_table(table, "chi_square")
    expected = expected_counts(observed)
    if np.any(expected == 0):
        raise ValueError("chi_square: a row or column total is zero; drop empty rows/columns first")
    method = "Pearson's Chi-squared test"
    if correction and observed.shape == (2, 2):
        yates = min(0.5, float(np.min(np.abs(observed - expected))))
        method += " with Yates' continuity correction"
    else:
        yates = 0.0
    statistic = float(np.sum((np.abs(observed - expected) - yates) ** 2 / expected))
    df = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    return TestResult(method=method, statistic=statistic, pvalue=float(chdtrc(df, statistic)), df=float(df))


def mcnemar(table: object, correction: bool = True, exact: bool = False) -> TestResult:
    """McNemar's test for a paired 2 x 2 table (R ``mcnemar.test(x, correct=correction)``).

    ``exact=True``: the exact test, binomial on the discordant pairs (R ``binom.test(b, b + c)``;
    ``cartkit.stats.paired.mcnemar_exact``); ``correction`` is then irrelevant. The default stays
    R's ``mcnemar.test`` (chi-square).
    """
    if exact:
        from cartkit.stats.paired import mcnemar_exact

        return mcnemar_exact(table)
    arr = counts_table(table, "mcnemar", square=True)
    if arr.shape != (2, 2):
        raise ValueError(f"mcnemar: needs a 2 x 2 table, got {arr.shape}; use bowker for k x k")
    return _symmetry(arr, correction, "McNemar's Chi-squared test")


def bowker(table: object) -> TestResult:
    """Bowker's test of symmetry for a paired k x k table (R ``mcnemar.test`` on k x k, k > 2).

    On a 2 x 2 table this is McNemar's test without continuity correction.
    """
    arr = counts_table(table, "bowker", square=True)
    return _symmetry(arr, False, "Bowker's test of symmetry")


def _symmetry(arr: np.ndarray, correction: bool, method: str) -> TestResult:
    from cartkit.stats.distributions import chdtrc  # chdtrc(df, x) = scipy.stats.chi2.sf(x, df)

    upper = np.triu_indices(arr.shape[0], k=1)
    above, below = arr[upper], arr.T[upper]
    diff = above - below
    if correction and arr.shape == (2, 2) and np.any(diff != 0):
        diff = np.abs(diff) - 1
        method += " with continuity correction"
    total = above + below
    used = total > 0
    note = ""
    if not used.any():
        return TestResult(method=method, statistic=float("nan"), pvalue=float("nan"), df=float(len(total)),
                          note="no discordant pairs: the test is undefined (R returns NaN)")
    if not used.all():
        note = (f"{int((~used).sum())} empty off-diagonal pair(s) dropped with their degree of freedom "
                "(R's mcnemar.test returns NaN here)")
    statistic = float(np.sum(diff[used] ** 2 / total[used]))
    df = int(used.sum())
    return TestResult(method=method, statistic=statistic, pvalue=float(chdtrc(df, statistic)), df=float(df),
                      note=note)
