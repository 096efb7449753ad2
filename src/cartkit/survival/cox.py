"""Cox proportional-hazards regression, as R's ``coxph`` (survival 3.5): Efron or Breslow ties, strata,
counting-process rows (start, stop].

cartkit fits the model itself (no statsmodels): the partial log-likelihood, its score and its
observed information are sums over the distinct event times of each stratum, evaluated on whole
columns with cumulative sums over the rows sorted by time, and maximised by Newton-Raphson from
beta = 0 with step-halving, as R's ``coxfit6`` / ``agfit4``:

* Efron (``ties="efron"``, R's default; Efron, J Am Stat Assoc 1977;72:557-565): at a time with d
  events, the l-th of them (l = 0 .. d-1) sees the risk set minus l/d of the events' own weight;
  Breslow (``ties="breslow"``) uses the whole risk set for every event.
* convergence as ``coxph.control()``: |1 - loglik(old) / loglik(new)| <= ``eps`` (1e-9) after a full
  Newton step; a step that lowers the likelihood is halved (R's step-halving); at most ``iter_max``
  (20) iterations. These are R's steps: the iteration counts and estimates agree with ``coxph``'s
  (to ~1e-13 on the reference data). Not converged: the model is still returned, with ``converged``
  False and ``warning`` saying so (R: "Ran out of iterations and did not converge").
* monotone likelihood (e.g. no event in one group: the coefficient runs off to infinity while the
  log-likelihood converges): R's test after convergence, |U' V| > eps and > sqrt(eps) |beta|
  (``coxph.fit``: "Loglik converged before variable ...; coefficient may be infinite"), fills
  ``warning``; the estimate is returned as R returns it.
* standard errors from the inverse observed information at the estimate (``vcov(fit)``); the three
  global tests as ``summary(coxph(...))``:
  Wald b' V^-1 b (``fit$wald.test``), likelihood ratio 2 (loglik(b) - loglik(0)) (``$logtest``),
  score U(0)' I(0)^-1 U(0) (``fit$score``, ``$sctest``), each on k df.
* covariates are centred at their means before the fit (as ``coxph``); the likelihood and the
  estimates do not depend on it, only the rounding does.

Stratified models (``strata=``: one or more columns of ``data``) are R's
``coxph(Surv(t, e) ~ x + strata(s))``: a separate baseline hazard per stratum (every combination of
the strata columns, as ``strata(s1, s2)``), one set of coefficients; the likelihood is the sum over
strata.

Counting-process data (``entry=``, the start column): each row is an interval (start, stop] at risk with
the covariates of that interval, as R's ``coxph(Surv(start, stop, event) ~ x)`` (time-dependent
covariates; ``cartkit.survival.time_dependent.split_at`` builds the rows). A row is at risk at time t
when start < t <= stop, as R (a row starting on the day of another's event is not in that risk set).

Checked against R 4.2 / survival 3.5.3 to 1e-6 (coefficients, SEs, log-likelihoods, the three tests) in
tests/test_survival_cox_against_r.py (tests/r_reference_cox.json, written by tests/make_r_reference_cox.py:
random data with heavy ties, strata, time-dependent splits, Breslow, and the seed study's models), and in
tests/test_survival_logrank_cox.py, tests/test_survival_cox_strata.py, tests/test_survival_time_dependent.py.

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

TIES = ("efron", "breslow")
EPS = 1e-9  # R: coxph.control()$eps, relative change of the log-likelihood
ITER_MAX = 20  # R: coxph.control()$iter.max
TOLER_INF = EPS ** 0.5  # R: coxph.control()$toler.inf, the monotone-likelihood check
TOLER_CHOL = np.finfo(float).eps ** 0.75  # R: coxph.control()$toler.chol, below which information is no information


@dataclass(frozen=True)
class CoxModel:
    """A fitted Cox model; arrays are in the order of ``covariates``; ``table`` is a Polars DataFrame.

    ``converged``: the log-likelihood converged within ``iterations`` (R's ``fit$iter``); ``warning`` is R's
    warning where ``coxph`` gives one (not converged; a coefficient that may be infinite), else empty."""

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
    converged: bool = True
    iterations: int = 0
    warning: str = ""


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


class _Stratum:
    """The risk-set structure of one stratum, fixed for the fit: rows by stop time (descending), and for
    each distinct event time how many rows have stop >= t (and start >= t: not yet at risk)."""

    def __init__(self, rows: np.ndarray, stop: np.ndarray, start: np.ndarray | None, event: np.ndarray,
                 ties: str) -> None:
        self.rows = rows
        s_stop = stop[rows]
        self.by_stop = rows[np.argsort(-s_stop, kind="stable")]
        deaths = rows[event[rows] == 1]
        deaths = deaths[np.argsort(stop[deaths], kind="stable")]
        times, first, d = np.unique(stop[deaths], return_index=True, return_counts=True)
        self.deaths = deaths
        self.first = first  # where each event time's deaths start in ``deaths``
        group = np.repeat(np.arange(times.size), d)
        self.group = group
        self.n_from_stop = np.searchsorted(np.sort(-s_stop), -times, side="right")  # stop >= t
        if start is not None:
            s_start = start[rows]
            self.by_start = rows[np.argsort(-s_start, kind="stable")]
            self.n_from_start = np.searchsorted(np.sort(-s_start), -times, side="right")  # start >= t
        else:
            self.by_start = None
        if ties == "efron":  # the l-th of d tied events (l = 0 .. d-1) sees the risk set minus l/d of the events
            self.frac = (np.arange(deaths.size) - first[group]) / d[group]
        else:
            self.frac = np.zeros(deaths.size)


def _risk_sums(order: np.ndarray, counts: np.ndarray, r: np.ndarray, x: np.ndarray,
               info: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Sums of r, r x and r x x' over the first ``counts`` rows of ``order``, for each count."""
    ro = r[order]
    xo = x[order]
    c0 = np.concatenate(([0.0], np.cumsum(ro)))[counts]
    rx = ro[:, None] * xo
    c1 = np.concatenate((np.zeros((1, x.shape[1])), np.cumsum(rx, axis=0)))[counts]
    c2 = None
    if info:
        rxx = rx[:, :, None] * xo[:, None, :]
        c2 = np.concatenate((np.zeros((1, *rxx.shape[1:])), np.cumsum(rxx, axis=0)))[counts]
    return c0, c1, c2


def _partial_likelihood(beta: np.ndarray, x: np.ndarray, strata: list[_Stratum],
                        info: bool = True) -> tuple[float, np.ndarray, np.ndarray | None]:
    """Log partial likelihood, score and observed information at ``beta`` (x centred)."""
    k = x.shape[1]
    eta = x @ beta
    loglik, score = 0.0, np.zeros(k)
    information = np.zeros((k, k)) if info else None
    for s in strata:
        shift = float(eta[s.rows].max())  # exp without overflow; the likelihood does not depend on it
        r = np.exp(eta - shift)  # only this stratum's rows are used below
        s0, s1, s2 = _risk_sums(s.by_stop, s.n_from_stop, r, x, info)
        if s.by_start is not None:  # rows with start >= t are not yet at risk at t
            b0, b1, b2 = _risk_sums(s.by_start, s.n_from_start, r, x, info)
            s0, s1 = s0 - b0, s1 - b1
            if info:
                s2 = s2 - b2
        dr = r[s.deaths]
        dx = x[s.deaths]
        g, f = s.group, s.frac
        d0 = np.add.reduceat(dr, s.first)
        drx = dr[:, None] * dx
        d1 = np.add.reduceat(drx, s.first, axis=0)
        den = s0[g] - f * d0[g]
        mean = (s1[g] - f[:, None] * d1[g]) / den[:, None]
        loglik += float(np.sum(eta[s.deaths] - shift) - np.sum(np.log(den)))
        score += dx.sum(axis=0) - mean.sum(axis=0)
        if info:
            d2 = np.add.reduceat(drx[:, :, None] * dx[:, None, :], s.first, axis=0)
            second = (s2[g] - f[:, None, None] * d2[g]) / den[:, None, None]
            information += second.sum(axis=0) - np.einsum("ij,ik->jk", mean, mean)
    return loglik, score, information


def _solve(information: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """information^-1 vector by Cholesky (the information is positive definite where the model is identified)."""
    chol = np.linalg.cholesky(information)
    return np.linalg.solve(chol.T, np.linalg.solve(chol, vector))


def _newton(x: np.ndarray, strata: list[_Stratum], eps: float = EPS, iter_max: int = ITER_MAX):
    """R's coxfit6 / agfit4 iteration from beta = 0: Newton steps, halved while the likelihood falls;
    converged when a full step changes the log-likelihood by at most ``eps`` relative."""
    k = x.shape[1]
    beta = np.zeros(k)
    ll0, u0, i0 = _partial_likelihood(beta, x, strata)
    loglik = ll0
    new = beta + _solve(i0, u0)
    halving = False
    converged = False
    iteration = 0
    for iteration in range(1, iter_max + 1):  # noqa: B007 - the count is reported
        new_ll, u, info = _partial_likelihood(new, x, strata)
        if abs(1 - loglik / new_ll) <= eps and not halving:
            converged = True
            break
        if iteration == iter_max:
            break
        if new_ll < loglik or not np.isfinite(new_ll):  # not converging: go half way back
            halving = True
            new = (new + beta) / 2
        else:
            halving = False
            loglik = new_ll
            beta = new
            new = new + _solve(info, u)
    return (ll0, u0, i0), (new, new_ll, u, info), converged, iteration


def cox_score_test(data: object, duration: str, event: str, covariates: list[str] | tuple[str, ...],
                   strata: str | list[str] | tuple[str, ...] | None = None, entry: str | None = None,
                   ties: str = "efron") -> TestResult:
    """The score (log-rank) test of ``cox`` at beta = 0 (R's ``summary(coxph(...))$sctest``) without fitting the
    model: for a model with no finite maximum (no events in one state of a time-dependent covariate, where
    the Newton iterations only run off), whose score test is still defined (the Mantel-Byar test)."""
    return cox(data, duration, event, covariates, strata=strata, entry=entry, ties=ties, _score_only=True)


def _score_statistic(u0: np.ndarray, info0: np.ndarray, scale: float) -> float:
    """U(0)' I(0)^-1 U(0); NaN where the information at 0 is singular (no event with the covariate varying
    in its risk set: the test is undefined; R's ``summary(coxph)$sctest`` has df 0). ``scale`` bounds the
    information (events x the largest squared centred covariate): an eigenvalue below ``TOLER_CHOL`` times it
    is rounding (the variance of a constant risk set computed as E[x^2] - E[x]^2 comes out 1e-17, not 0)."""
    k = u0.size
    if not (np.all(np.isfinite(info0)) and np.all(np.isfinite(u0))) or np.linalg.matrix_rank(info0) < k:
        return float("nan")
    if np.linalg.eigvalsh((info0 + info0.T) / 2).min() <= TOLER_CHOL * scale:
        return float("nan")
    return float(u0 @ np.linalg.solve(info0, u0))


def _information_scale(x: np.ndarray, layers: list) -> float:
    """An upper bound of the information at beta = 0 of centred ``x``: events x max (x_i)^2."""
    return float(sum(s.deaths.size for s in layers) * (np.max(x * x) if x.size else 0.0))


def cox(data: object, duration: str, event: str, covariates: list[str] | tuple[str, ...],
        level: float = 0.95, strata: str | list[str] | tuple[str, ...] | None = None,
        entry: str | None = None, ties: str = "efron", iter_max: int = ITER_MAX,
        _score_only: bool = False) -> CoxModel:
    """Fit a Cox model (``ties`` "efron", R's default, or "breslow") to a pandas or Polars DataFrame (or a dict
    of columns), stratified by ``strata`` columns if given; with ``entry`` (a start-time column) on
    counting-process rows (start, stop]; at most ``iter_max`` Newton iterations (R's
    ``coxph.control(iter.max =)``)."""
    from cartkit.stats.distributions import (  # = scipy.stats chi2.sf(x, df), norm.cdf, norm.ppf
        chdtrc,
        ndtr,
        ndtri,
    )

    if ties not in TIES:
        raise ValueError(f"cox: ties must be one of {TIES}, got {ties!r}")
    if iter_max < 1:
        raise ValueError(f"cox: iter_max must be at least 1, got {iter_max}")
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
    codes, stratum_of = np.unique(groups, return_inverse=True)
    if strata:  # a covariate constant within every stratum is absorbed by the baseline hazards (R: coef NA)
        lo = np.full((codes.size, x.shape[1]), np.inf)
        hi = np.full((codes.size, x.shape[1]), -np.inf)
        np.minimum.at(lo, stratum_of, x)
        np.maximum.at(hi, stratum_of, x)
        absorbed = [c for c, spread in zip(covariates, (hi - lo).max(axis=0), strict=True) if spread == 0]
        if absorbed:
            raise ValueError(f"cox: covariate(s) {absorbed} are constant within every stratum of {strata}: their "
                             "effect cannot be estimated (R's coxph gives NA)")
    k = len(covariates)
    xc = x - x.mean(axis=0)
    e_int = e.astype(np.int64)
    layers = [_Stratum(np.flatnonzero(stratum_of == i), t, start if entry is not None else None, e_int, ties)
              for i in range(codes.size)]
    layers = [s for s in layers if s.deaths.size]  # a stratum without events adds nothing to the likelihood
    if _score_only:
        _, u0, info0 = _partial_likelihood(np.zeros(k), xc, layers)
        stat = _score_statistic(u0, info0, _information_scale(xc, layers))
        return TestResult("Score (logrank) test", stat, float(chdtrc(k, stat)), df=float(k))
    try:
        (ll0, u0, info0), (coef, ll1, u1, info1), converged, iterations = _newton(xc, layers, iter_max=iter_max)
        cov = _solve(info1, np.eye(k))
    except np.linalg.LinAlgError as exc:  # not positive definite: collinear covariates, or no information
        raise ValueError(f"cox: the information matrix of {list(covariates)} is singular (collinear covariates, or "
                         "a covariate that does not vary within the risk sets): the model cannot be fitted "
                         "(R's coxph gives NA)") from exc
    warning = ""
    if not converged:
        warning = f"Ran out of iterations ({iterations}) and did not converge"
    else:
        infinite = np.abs(u1 @ cov)
        infinite = (infinite > EPS) & (infinite > TOLER_INF * np.abs(coef))
        if infinite.any():
            names = ", ".join(c for c, flag in zip(covariates, infinite, strict=True) if flag)
            warning = f"Loglik converged before variable {names}; coefficient may be infinite"
    se = np.sqrt(np.diag(cov))
    z = coef / se
    pvalues = 2 * ndtr(-np.abs(z))
    q = float(ndtri(1 - (1 - level) / 2))
    with np.errstate(over="ignore"):  # a coefficient running off (monotone likelihood): limits inf, as R
        ci = np.exp(np.column_stack([coef - q * se, coef + q * se]))
    wald_stat = float(coef @ _solve(cov, coef))
    lr_stat = 2 * (ll1 - ll0)
    score_stat = _score_statistic(u0, info0, _information_scale(xc, layers))
    tests = {
        name: TestResult(method, stat, float(chdtrc(k, stat)), df=float(k))
        for name, method, stat in (
            ("wald", "Wald test", wald_stat),
            ("lr", "Likelihood ratio test", lr_stat),
            ("score", "Score (logrank) test", score_stat),
        )
    }
    import polars as pl

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
                    tests["score"], int(t.size), int(e.sum()), table, ties=ties, strata=strata, entry=entry,
                    converged=converged, iterations=iterations, warning=warning)
