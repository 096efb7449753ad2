"""Small named records every test in ``cartkit.stats`` returns (scipy.stats style).

A result names its method in words a Methods section can use, and carries
``statistic`` and ``pvalue``; ``df``, ``estimate`` and ``ci`` where they apply
(``None`` otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TestResult:
    """The outcome of one hypothesis test.

    ``method`` is the test's name as R prints it where R has it (e.g.
    "Welch Two Sample t-test"); ``alternative`` is always "two.sided" in cartkit;
    ``note`` says anything a reader must know (approximation used, ties ...).
    """

    method: str
    statistic: float | None
    pvalue: float
    df: float | None = None
    estimate: float | None = None
    ci: tuple[float, float] | None = None
    alternative: str = "two.sided"
    note: str = ""


@dataclass(frozen=True)
class Choice:
    """The test the analysis plan picked for a comparison, and why (``compare``/``compare_counts``)."""

    test: str  # short name: "t_test", "welch_t_test", "mann_whitney", "wilcoxon_signed_rank", ...
    why: str
    result: TestResult
    normality: tuple[TestResult, ...] = ()

    @property
    def method(self) -> str:
        return self.result.method

    @property
    def statistic(self) -> float | None:
        return self.result.statistic

    @property
    def pvalue(self) -> float:
        return self.result.pvalue


@dataclass(frozen=True)
class Description:
    """n, mean, SD, median, quartiles and IQR of one sample (``describe``)."""

    n: int
    n_missing: int
    mean: float
    sd: float
    median: float
    q1: float
    q3: float
    min: float
    max: float
    quantile_method: str

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1


@dataclass(frozen=True)
class EffectEstimate:
    """An effect size with its confidence interval and no test (risk difference, risk ratio, ...).

    ``method`` names the interval (e.g. "Newcombe hybrid score (method 10)"); ``level`` is its
    confidence level; ``note`` says anything a reader must know (zero cells, truncation ...).
    """

    method: str
    estimate: float
    ci: tuple[float, float]
    level: float = 0.95
    note: str = ""
