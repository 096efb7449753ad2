"""Which test a comparison gets, and why: the rule every comparison of the analysis follows.

The rule is the usual one of clinical papers that compare two groups (the seed's Statistical
Analysis, for one: "Chi-square test was used for counting data. T test was used for the
measurement data conforming to normal distribution, and rank sum test was used for the
measurement data not conforming to normal distribution"); docs/plan.md gives the plan keys that
set its levels.

* ``compare(x, y, paired=False)``: Shapiro-Wilk on each group (on the
  differences when paired) at ``alpha``, the plan's ``normality_alpha``
  (default 0.05); all normal -> t test (Student's
  pooled test unpaired, as SPSS's "equal variances assumed" row; the paired t
  test when paired), otherwise the rank test (Mann-Whitney / Wilcoxon
  signed-rank). A group too small to test normality (n < 3) counts as not
  shown normal, so the rank test is used.
* ``compare_counts(table)``: Cochran's rule (Cochran 1954, Biometrics 10:417,
  the rule behind SPSS's and R's "approximation may be incorrect" warnings):
  a 2 x 2 table gets the chi-square test (Yates-corrected, as R) when every
  expected count is >= 5; a larger table when no more than 20% of expected
  counts are < 5 and none is < 1. Otherwise Fisher's exact test.

A comparison the data cannot support is not an error: ``compare`` returns the
choice ``"undefined"`` (``pvalue`` NaN, ``statistic`` None) whose ``why`` says
why - "one group empty", "fewer than 2 values per group", "all values
identical" (the rank test's variance is 0; R's ``wilcox.test`` gives NaN
there), "fewer than 2 complete pairs", "all paired differences zero" (R's
signed-rank test has nothing to rank). A whole study's analysis then reports
the row with its reason instead of stopping.
"""

from __future__ import annotations

import numpy as np

from cartkit.stats.contingency import chi_square, counts_table, expected_counts
from cartkit.stats.fisher import fisher_exact
from cartkit.stats.means import t_test
from cartkit.stats.normality import shapiro
from cartkit.stats.ranks import mann_whitney, sample, wilcoxon_signed_rank
from cartkit.stats.results import Choice, TestResult

# Cochran (1954): expected-count thresholds for the chi-square approximation
COCHRAN_MIN_EXPECTED = 5.0
COCHRAN_MAX_SHARE_BELOW_5 = 0.20
COCHRAN_ABSOLUTE_MIN = 1.0


SHAPIRO_MAX_N = 5000


def _normality(values: np.ndarray, label: str, alpha: float) -> tuple[TestResult | None, str, bool]:
    if values.size < 3:
        return None, f"{label}: n = {values.size} is too small for Shapiro-Wilk", False
    if np.ptp(values) == 0:
        return None, f"{label}: all values identical, not normal", False
    if values.size > SHAPIRO_MAX_N:
        # Shapiro-Wilk is defined up to n = 5000 (R's shapiro.test stops there): a registry-sized
        # sample gets the rank test, which assumes nothing about the distribution
        return None, (f"{label}: n = {values.size} exceeds Shapiro-Wilk's limit of {SHAPIRO_MAX_N}; "
                      "normality not assumed"), False
    r = shapiro(values)
    ok = r.pvalue >= alpha
    return r, f"{label}: Shapiro-Wilk W = {r.statistic:.3f}, P = {r.pvalue:.3g} ({'normal' if ok else 'not normal'})", ok


UNDEFINED = "undefined"


def undefined(why: str) -> Choice:
    """The choice for a comparison the data cannot support: no test, ``why`` says why."""
    return Choice(UNDEFINED, why, TestResult("not computed", None, float("nan"), note=why))


def compare(x: object, y: object, paired: bool = False, alpha: float = 0.05, equal_var: bool = True,
            correct: bool = True, exact: bool | None = None) -> Choice:
    """The plan's comparison of a measure between two groups: t test if normal, else rank test.

    ``correct`` and ``exact`` go to the rank test as in R's ``wilcox.test``;
    ``exact=False, correct=False`` gives SPSS's "Asymp. Sig." (see ``cartkit.stats.ranks``).
    Data that support no test give the ``"undefined"`` choice with the reason (module docs).

        >>> compare([5.0, 5.0, 5.0], [5.0, 5.0]).why
        'all values identical (5 in both groups)'
    """
    if paired:
        xa, ya = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
        if xa.size != ya.size:
            raise ValueError(f"compare: paired samples must have the same length, got {xa.size} and {ya.size}")
        keep = ~(np.isnan(xa) | np.isnan(ya))
        xa, ya = xa[keep], ya[keep]
        if xa.size < 2:
            return undefined(f"fewer than 2 complete pairs (n = {xa.size})")
        if np.all(xa == ya):
            return undefined(f"all paired differences zero (n = {xa.size} pairs)")
        r, text, ok = _normality(xa - ya, "differences", alpha)
        normality = (r,) if r is not None else ()
        if ok:
            return Choice("paired_t_test", f"{text} -> paired t test", t_test(xa, ya, paired=True), normality)
        return Choice("wilcoxon_signed_rank", f"{text} -> Wilcoxon signed-rank test",
                      wilcoxon_signed_rank(xa, ya, correct=correct, exact=exact), normality)
    a, b = sample(x, "compare x", minimum=0), sample(y, "compare y", minimum=0)
    if a.size == 0 or b.size == 0:
        return undefined(f"one group empty (n = {a.size} and {b.size})")
    if a.size < 2 or b.size < 2:
        return undefined(f"fewer than 2 values per group (n = {a.size} and {b.size})")
    if np.ptp(np.concatenate([a, b])) == 0:
        return undefined(f"all values identical ({a[0]:g} in both groups)")
    ra, ta, oka = _normality(a, "group 1", alpha)
    rb, tb, okb = _normality(b, "group 2", alpha)
    normality = tuple(r for r in (ra, rb) if r is not None)
    text = f"{ta}; {tb}"
    if oka and okb:
        name = "t_test" if equal_var else "welch_t_test"
        label = "Student's t test" if equal_var else "Welch's t test"
        return Choice(name, f"{text} -> {label}", t_test(a, b, equal_var=equal_var), normality)
    return Choice("mann_whitney", f"{text} -> Mann-Whitney rank-sum test", mann_whitney(a, b, correct=correct, exact=exact),
                  normality)


def cochran_ok(table: object) -> tuple[bool, str]:
    """Whether Cochran's rule allows the chi-square approximation, and the counts behind the answer."""
    expected = expected_counts(counts_table(table, "compare_counts"))
    below5 = int(np.sum(expected < COCHRAN_MIN_EXPECTED))
    below1 = int(np.sum(expected < COCHRAN_ABSOLUTE_MIN))
    cells = expected.size
    if expected.shape == (2, 2):
        ok = below5 == 0
        text = f"2 x 2 table, {below5} of 4 expected counts < 5 (Cochran: all must be >= 5)"
    else:
        ok = below5 <= COCHRAN_MAX_SHARE_BELOW_5 * cells and below1 == 0
        text = (f"{expected.shape[0]} x {expected.shape[1]} table, {below5} of {cells} expected counts < 5 "
                f"and {below1} < 1 (Cochran: at most 20% < 5 and none < 1)")
    return ok, text


def compare_counts(table: object, correction: bool = True) -> Choice:
    """The plan's test for counts: chi-square when Cochran's rule holds, else Fisher's exact test.

    Rows and columns that are all zero are dropped first (they carry no information). A table left with
    fewer than 2 rows or 2 columns (every patient in one category, or one group) supports no test: the
    ``"undefined"`` choice, ``pvalue`` NaN, ``why`` says so (module docs).
    """
    arr = counts_table(table, "compare_counts")
    arr = arr[arr.sum(axis=1) > 0][:, arr.sum(axis=0) > 0]
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        # a single group or a single category: no association to test, so no P value, not P = 1. R is of
        # two minds: on the table with its empty column, fisher.test(matrix(c(0, 0, 3, 5), 2)) gives
        # p = 1 (one table has those margins) and chisq.test NaN; on the 2 x 1 table left after dropping
        # it, fisher.test stops ("'x' must have at least 2 rows and columns")
        rows, cols = arr.shape
        return undefined(f"not testable: after dropping empty rows and columns the table is {rows} x {cols} "
                         "(every count in one row or one column)")
    ok, text = cochran_ok(arr)
    if ok:
        return Choice("chi_square", f"{text} -> chi-square test", chi_square(arr, correction=correction))
    return Choice("fisher_exact", f"{text} -> Fisher's exact test", fisher_exact(arr.astype(np.int64)))
