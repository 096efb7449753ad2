"""Statistics of the seed's analysis plan, exact where it matters and agreeing with R.

Every test returns a small record (``TestResult``) naming its method, with
``statistic``, ``pvalue`` and, where they apply, ``df``, ``estimate`` and ``ci``.
SciPy is imported inside the functions that need it, so ``import cartkit.stats``
stays light.

    >>> from cartkit.stats import fisher_exact
    >>> round(fisher_exact([[11, 1, 1], [13, 0, 0]]).pvalue, 3)   # seed Table 2, ICANS
    0.48

Issue 13 added the paired exact methods, effect sizes with CIs and multiplicity adjustment
(docs/statistics.md: each method, its convention and its R reference):

    >>> from cartkit.stats import adjust_pvalues, sign_test, wilcoxon_signed_rank
    >>> cd19, cd22 = [2, 3, 3, 4, 4, 3, 2, 3, 2, 3, 2, 3, 4], [2, 2, 3, 3, 2, 2, 2, 2, 3, 2, 2, 2, 2]
    >>> sign_test(cd19, cd22).pvalue, wilcoxon_signed_rank(cd19, cd22, exact=True).pvalue  # seed neutropenia
    (0.0390625, 0.03125)
    >>> adjust_pvalues([0.01, 0.04, 0.03], "holm").round(3).tolist()
    [0.03, 0.06, 0.06]
"""

from __future__ import annotations

from cartkit.stats.choice import compare, compare_counts
from cartkit.stats.contingency import bowker, chi_square, expected_counts, mcnemar
from cartkit.stats.describe import describe, quantiles
from cartkit.stats.effect_sizes import geometric_mean_ratio, hodges_lehmann
from cartkit.stats.fisher import conditional_odds_ratio, fisher_exact
from cartkit.stats.intervals import binomial_ci
from cartkit.stats.means import t_test
from cartkit.stats.multiplicity import adjust_pvalues
from cartkit.stats.normality import shapiro
from cartkit.stats.paired import mcnemar_exact, sign_test, symmetry_exact
from cartkit.stats.proportions_difference import (
    odds_ratio,
    paired_risk_difference,
    risk_difference,
    risk_ratio,
)
from cartkit.stats.ranks import mann_whitney, wilcoxon_signed_rank
from cartkit.stats.results import Choice, Description, EffectEstimate, TestResult

__all__ = [
    "Choice",
    "Description",
    "EffectEstimate",
    "TestResult",
    "adjust_pvalues",
    "binomial_ci",
    "bowker",
    "chi_square",
    "compare",
    "compare_counts",
    "conditional_odds_ratio",
    "describe",
    "expected_counts",
    "fisher_exact",
    "geometric_mean_ratio",
    "hodges_lehmann",
    "mann_whitney",
    "mcnemar",
    "mcnemar_exact",
    "odds_ratio",
    "paired_risk_difference",
    "quantiles",
    "risk_difference",
    "risk_ratio",
    "shapiro",
    "sign_test",
    "symmetry_exact",
    "t_test",
    "wilcoxon_signed_rank",
]
