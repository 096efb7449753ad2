"""Cox proportional-hazards regression with Efron ties, as R's ``coxph(..., ties="efron")``.

The fit is statsmodels' ``PHReg(ties="efron")``: on the data sets in
tests/test_survival_cox.py its coefficients and standard errors agree with
R's ``coxph`` to ~1e-14 (lifelines' ``CoxPHFitter`` to ~1e-8, its default
convergence tolerance), so nothing is written by hand except the three global
tests, computed as ``summary(coxph(...))`` does:

* Wald: b' V^-1 b on k df (``fit$wald.test``; ``summary`` prints it rounded to 2 decimals);
* likelihood ratio: 2 (loglik(b) - loglik(0)) on k df (``summary(fit)$logtest``);
* score (log-rank): U(0)' I(0)^-1 U(0) on k df (``summary(fit)$sctest``).

Stratified models (``strata=``: one or more columns of ``data``) are R's
``coxph(Surv(t, e) ~ x + strata(s), ties="efron")``: a separate baseline hazard
per stratum (every combination of the strata columns, as ``strata(s1, s2)``),
one set of coefficients; statsmodels' ``PHReg(strata=...)`` agrees with R to
~1e-12 there too (tests/test_survival_cox_strata.py), as do the three global tests.

Counting-process data (``entry=``, the start column): each row is an interval (start, stop] at risk with
the covariates of that interval, as R's ``coxph(Surv(start, stop, event) ~ x)`` (time-dependent
covariates; ``cartkit.survival.time_dependent.split_at`` builds the rows). A row is at risk at time t
when start < t <= stop, as R. statsmodels' ``PHReg(entry=)`` counts a row at risk at t = start as well
(Stata's convention); cartkit passes it the next float above each start, which gives R's risk sets
exactly (tests/test_survival_time_dependent.py agrees with ``coxph`` on ``survival::jasa`` to 1e-9).

Rows with a missing value in any used column are dropped (R's ``na.omit``); ``n`` says how many were used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cartkit.stats.results import TestResult
from cartkit.survival.kaplan_meier import survival_data

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl


@dataclass(frozen=True)
class CoxModel:
    """A fitted Cox model; arrays are in the order of ``covariates``; ``table`` is a Polars DataFrame."""

    covariates: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    hr: np.ndarray
    ci: np.ndarray  # (k, 2): lower, upper of the hazard ratio
    z: np.ndarray
    pvalues: np.ndarray
    loglik: tuple[float, float]  # (null, fitted), as coxph's fit$loglik
    wald: TestResult
    lr: TestResult
    score: TestResult
    n: int
    n_events: int
    table: pl.DataFrame
    ties: str = "efron"
    strata: tuple[str, ...] = ()
    entry: str | None = None  # the start column of counting-process rows, if any


def _column(data: object, name: str) -> np.ndarray:
    try:
        col = data[name]
    except Exception as exc:  # noqa: BLE001 - pandas KeyError, polars ColumnNotFoundError ...
        raise ValueError(f"cox: column {name!r} not found in data") from exc
    values = col.to_numpy() if hasattr(col, "to_numpy") else np.asarray(col)
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cox: column {name!r} must be numeric (code categories as 0/1 columns)") from exc


def _strata_codes(data: object, strata: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """One integer code per row for the combination of the strata columns, and a missing-value mask."""
    import polars as pl

    columns = {}
    for name in strata:
        try:
            col = data[name]
        except Exception as exc:  # noqa: BLE001 - pandas KeyError, polars ColumnNotFoundError ...
            raise ValueError(f"cox: strata column {name!r} not found in data") from exc
        series = col if isinstance(col, pl.Series) else pl.Series(name, list(col), strict=False)
        if series.dtype.is_float():
            series = series.fill_nan(None)
        columns[name] = series.alias(name)
    frame = pl.DataFrame(columns)
    missing = frame.select(pl.any_horizontal(pl.all().is_null())).to_series().to_numpy()
    codes = frame.select(pl.struct(pl.all()).rank("dense")).to_series().to_numpy().astype(np.int64)
    return codes, missing


def cox_score_test(data: object, duration: str, event: str, covariates: list[str] | tuple[str, ...],
                   strata: str | list[str] | tuple[str, ...] | None = None, entry: str | None = None) -> TestResult:
    """The score (log-rank) test of ``cox`` at beta = 0 (R's ``summary(coxph(...))$sctest``) without fitting the
    model: for a model with no finite maximum (no events in one state of a time-dependent covariate, where
    the Newton iterations only run off), whose score test is still defined (the Mantel-Byar test)."""
    return cox(data, duration, event, covariates, strata=strata, entry=entry, _score_only=True)


def cox(data: object, duration: str, event: str, covariates: list[str] | tuple[str, ...],
        level: float = 0.95, strata: str | list[str] | tuple[str, ...] | None = None,
        entry: str | None = None, _score_only: bool = False) -> CoxModel:
    """Fit a Cox model (Efron ties) to a pandas or Polars DataFrame, stratified by ``strata`` columns if given;
    with ``entry`` (a start-time column) on counting-process rows (start, stop]."""
    import polars as pl
    from scipy.stats import chi2, norm
    from statsmodels.duration.hazard_regression import PHReg

    covariates = tuple(covariates)
    if not covariates:
        raise ValueError("cox: give at least one covariate")
    if len(set(covariates)) != len(covariates):
        raise ValueError(f"cox: covariates repeat a name: {covariates}")
    t = _column(data, duration)
    e = _column(data, event)
    x = np.column_stack([_column(data, c) for c in covariates])
    strata = (strata,) if isinstance(strata, str) else tuple(strata or ())
    if strata:
        groups, strata_missing = _strata_codes(data, strata)
    else:
        groups, strata_missing = np.zeros(t.size, dtype=np.int64), np.zeros(t.size, dtype=bool)
    start = _column(data, entry) if entry is not None else np.zeros(t.size)
    ok = ~(np.isnan(t) | np.isnan(e) | np.isnan(x).any(axis=1) | strata_missing | np.isnan(start))
    t, e, x, groups, start = t[ok], e[ok], x[ok], groups[ok], start[ok]
    t, e = survival_data(t, e, "cox")
    if entry is not None:
        bad = np.flatnonzero((start < 0) | (start >= t))
        if bad.size:
            raise ValueError(f"cox: each interval needs 0 <= {entry} < {duration} (R: 'Stop time must be > start "
                             f"time'); rows {bad[:5].tolist()} have ({start[bad[:5]].tolist()}, {t[bad[:5]].tolist()}]")
    if e.sum() == 0:
        raise ValueError("cox: no events: the model cannot be fitted")
    constant = [c for c, col in zip(covariates, x.T, strict=True) if np.ptp(col) == 0]
    if constant:
        raise ValueError(f"cox: covariate(s) {constant} are constant: their effect cannot be estimated")

    if strata:  # a covariate constant within every stratum is absorbed by the baseline hazards (R: coef NA)
        spread = pl.DataFrame(x, schema=list(covariates), orient="row").with_columns(stratum=groups) \
            .group_by("stratum").agg((pl.all().max() - pl.all().min()).max())
        absorbed = [c for c in covariates if float(spread[c].max()) == 0]
        if absorbed:
            raise ValueError(f"cox: covariate(s) {absorbed} are constant within every stratum of {strata}: their "
                             "effect cannot be estimated (R's coxph gives NA)")
    # entry: the next float above each start, so that a row is at risk on (start, stop] as in R (see module docs)
    model = PHReg(t, x, status=e, ties="efron", strata=groups if strata else None,
                  entry=np.nextafter(start, np.inf) if entry is not None else None)
    k = len(covariates)
    if _score_only:
        u0 = np.asarray(model.score(np.zeros(k)), dtype=float)
        info0 = -np.asarray(model.hessian(np.zeros(k)), dtype=float)
        if not (np.all(np.isfinite(info0)) and np.all(np.isfinite(u0))) or np.linalg.matrix_rank(info0) < k:
            # no information at beta = 0 (no event with both covariate levels at risk): the test is undefined
            return TestResult("Score (logrank) test", float("nan"), float("nan"), df=float(k))
        stat = float(u0 @ np.linalg.solve(info0, u0))
        return TestResult("Score (logrank) test", stat, float(chi2.sf(stat, k)), df=float(k))
    fit = model.fit(disp=False)
    coef = np.asarray(fit.params, dtype=float)
    cov = np.asarray(fit.cov_params(), dtype=float)
    se = np.sqrt(np.diag(cov))
    z = coef / se
    pvalues = 2 * norm.sf(np.abs(z))
    q = float(norm.ppf(1 - (1 - level) / 2))
    ci = np.exp(np.column_stack([coef - q * se, coef + q * se]))
    ll0 = float(model.loglike(np.zeros(k)))
    ll1 = float(fit.llf)
    wald_stat = float(coef @ np.linalg.solve(cov, coef))
    lr_stat = 2 * (ll1 - ll0)
    u0 = np.asarray(model.score(np.zeros(k)), dtype=float)
    info0 = -np.asarray(model.hessian(np.zeros(k)), dtype=float)
    score_stat = float(u0 @ np.linalg.solve(info0, u0))
    tests = {
        name: TestResult(method, stat, float(chi2.sf(stat, k)), df=float(k))
        for name, method, stat in (
            ("wald", "Wald test", wald_stat),
            ("lr", "Likelihood ratio test", lr_stat),
            ("score", "Score (logrank) test", score_stat),
        )
    }
    table = pl.DataFrame(
        {
            "covariate": list(covariates),
            "coef": coef,
            "se": se,
            "hr": np.exp(coef),
            "lower": ci[:, 0],
            "upper": ci[:, 1],
            "z": z,
            "pvalue": pvalues,
        }
    )
    return CoxModel(covariates, coef, se, np.exp(coef), ci, z, pvalues, (ll0, ll1), tests["wald"], tests["lr"],
                    tests["score"], int(t.size), int(e.sum()), table, strata=strata, entry=entry)
