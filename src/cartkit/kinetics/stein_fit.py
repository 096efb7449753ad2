"""Per-patient fit of the Stein 2019 cellular-kinetic model of CAR-T expansion.

Model (``cartkit.kinetics.model.stein_curve``; Stein AM et al., CPT
Pharmacometrics Syst Pharmacol 2019;8:285-295; docs/criteria.md, "Cellular-kinetic model"):
exponential expansion to Tmax, then bi-exponential contraction into a
persisting memory compartment (fraction FB, slow rate beta).

Method: least squares of ln(observed) - ln(model) (the published residual
error is additive on the log scale), bounded, by the trust-region reflective
method (``cartkit.kinetics.bounded_least_squares``, the method of SciPy's
``least_squares(method="trf")``, which it replaced: importing SciPy cost a
seed run 0.3-0.5 s) over transformed parameters ln Cmax, ln Tmax, ln FOLDX,
ln alpha, ln beta and logit FB, from several starting points (one derived
from the data, the others random perturbations of it with a fixed seed); the
lowest cost wins (every start runs: stopping once two starts agree was tried
and found a local optimum on noisy 6-point profiles that a later start beat).
The Jacobian is analytic (``log_stein_jacobian``; the model is closed form),
both in the optimizer and in the covariance below (the optimizer evaluates residuals and Jacobian
through ``_LogResiduals``: the same numbers, bit for bit, with less per-call work). alpha > beta is imposed
after the fit by relabelling the two exponentials (alpha <-> beta, FB <-> 1 -
FB describe the same curve).

Uncertainty: the covariance of the transformed parameters is
s^2 (J'J)^-1 with J the Jacobian of the residuals at the optimum and
s^2 = RSS / (n - p); Wald intervals theta +/- t(0.975, n - p) SE on the
transformed scale are back-transformed (so they are asymmetric and stay
inside the parameter's range); ``std_errors`` are delta-method SEs on the
natural scale.

What the data must support (otherwise ``converged`` is False, ``reason``
says why, and no estimate is returned): at least 4 quantifiable points on or
after day 0 (BLQ values, coded 0 or flagged, are left out of the log-scale
fit); more quantifiable points than free parameters (6 unless some are
fixed with ``fixed=``, e.g. ``{"beta": 0.0032, "fb": 0.0079}``, the
typical values of Stein 2019 Table 2); a quantifiable point before the
observed peak (otherwise FOLDX is not identifiable, unless fixed); and a
decline after the peak.

    >>> import numpy as np
    >>> from cartkit.kinetics.model import stein_curve
    >>> days = np.arange(1, 60, 2.0)
    >>> fit = fit_stein(days, stein_curve(days, 2e4, 9.0, 1000.0, 0.2, 0.01, 0.05))
    >>> fit.converged, round(fit.estimates["tmax"], 3)
    (True, 9.0)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cartkit.kinetics.model import SteinParameters, stein_curve
from cartkit.kinetics.nca import profile_arrays

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

PARAMETERS = ("cmax", "tmax", "foldx", "alpha", "beta", "fb")
MIN_QUANTIFIABLE_POINTS = 4

# Bounds on the natural scale: wide enough for any CAR-T or cytokine profile and
# symmetric for alpha/beta and FB so that relabelling the exponentials stays inside.
_RATE_BOUNDS = (1e-5, 10.0)  # /day
_FB_BOUNDS = (1e-7, 1.0 - 1e-7)
_FOLDX_BOUNDS = (1.001, 1e9)


def _logit(p):
    return np.log(p) - np.log1p(-p)


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def log_stein_curve(t, cmax, tmax, foldx, alpha, beta, fb) -> np.ndarray:
    """ln of ``stein_curve`` computed stably on the log scale (same model, same arguments)."""
    t = np.asarray(t, dtype=float)
    rising = math.log(cmax) + math.log(foldx) * (t / tmax - 1.0)
    dt = np.maximum(t - tmax, 0.0)
    falling = math.log(cmax) + np.logaddexp(math.log1p(-fb) - alpha * dt, math.log(fb) - beta * dt)
    return np.where(t < tmax, rising, falling)


def log_stein_jacobian(t, cmax, tmax, foldx, alpha, beta, fb) -> np.ndarray:
    """d ln C(t) / d theta, theta = (ln Cmax, ln Tmax, ln FOLDX, ln alpha, ln beta, logit FB): (len(t), 6).

    The model is closed form, so its derivatives are too. Before Tmax,
    ln C = ln Cmax + ln FOLDX (t / Tmax - 1); from Tmax on, ln C = ln Cmax +
    ln(w1 + w2) with w1 = (1 - FB) exp(-alpha dt), w2 = FB exp(-beta dt),
    dt = t - Tmax, so with the shares p1 = w1 / (w1 + w2), p2 = 1 - p1:
    d/d ln Tmax = Tmax (alpha p1 + beta p2), d/d ln alpha = -alpha dt p1,
    d/d ln beta = -beta dt p2, d/d logit FB = (1 - FB) p2 - FB p1. At t = Tmax
    (the kink) the derivative is the one from the right, as ``log_stein_curve``
    takes the falling branch there.
    """
    t = np.asarray(t, dtype=float)
    rising = t < tmax
    dt = np.maximum(t - tmax, 0.0)
    l1 = math.log1p(-fb) - alpha * dt
    l2 = math.log(fb) - beta * dt
    p1 = np.exp(l1 - np.logaddexp(l1, l2))
    p2 = 1.0 - p1
    u = t / tmax
    jac = np.empty((t.size, 6))
    jac[:, 0] = 1.0
    jac[:, 1] = np.where(rising, -math.log(foldx) * u, tmax * (alpha * p1 + beta * p2))
    jac[:, 2] = np.where(rising, u - 1.0, 0.0)
    jac[:, 3] = np.where(rising, 0.0, -alpha * dt * p1)
    jac[:, 4] = np.where(rising, 0.0, -beta * dt * p2)
    jac[:, 5] = np.where(rising, 0.0, (1.0 - fb) * p2 - fb * p1)
    return jac


class _LogResiduals:
    """Residuals y - ln C(t) and their Jacobian of one sorted profile, as functions of the free theta.

    The same arithmetic as ``y - log_stein_curve(t, **p)`` and ``-log_stein_jacobian(t, **p)[:, free]``
    (identical numbers), for the optimizer's hundreds of calls per fit: the fixed parameters are
    set once, the points before Tmax (a prefix, t being sorted) and from Tmax on are computed
    apart instead of both branches everywhere, and the Jacobian at the point the residuals were
    last computed (the optimizer asks for it after accepting a step) reuses their exponentials.
    """

    def __init__(self, t, y, free, fixed):
        self.t, self.y = t, y
        self.free = [PARAMETERS.index(p) for p in free]
        # natural-scale values: a fixed parameter as given, the free ones from theta (_from_theta)
        self.values = [float(fixed[p]) if p in fixed else float("nan") for p in PARAMETERS]
        self._at = None  # the bytes of the theta last evaluated

    def _evaluate(self, x):
        at = x.tobytes()
        if at == self._at:
            return
        v = self.values
        for i, xi in zip(self.free, x, strict=True):
            v[i] = float(_expit(xi)) if i == 5 else math.exp(xi)
        cmax, tmax, foldx, alpha, beta, fb = v
        t = self.t
        k = int(np.searchsorted(t, tmax, side="left"))  # t[:k] < Tmax: rising
        log_cmax = math.log(cmax)
        rising = log_cmax + math.log(foldx) * (t[:k] / tmax - 1.0)
        dt = t[k:] - tmax
        l1 = math.log1p(-fb) - alpha * dt
        l2 = math.log(fb) - beta * dt
        both = np.logaddexp(l1, l2)
        self._at, self._k, self._params = at, k, tuple(v)
        self._dt, self._l1, self._both = dt, l1, both
        self._residuals = self.y - np.concatenate((rising, log_cmax + both))
        self._jacobian = None

    def residuals(self, x):
        self._evaluate(x)
        return self._residuals

    def jacobian(self, x):
        self._evaluate(x)
        if self._jacobian is None:
            cmax, tmax, foldx, alpha, beta, fb = self._params
            k, dt = self._k, self._dt
            u = self.t[:k] / tmax
            p1 = np.exp(self._l1 - self._both)
            p2 = 1.0 - p1
            # the residuals' Jacobian is minus the model's, column by free parameter; minus 0 where the
            # model's derivative is 0 (a branch that does not depend on the parameter), and in Fortran
            # order, as -log_stein_jacobian(...)[:, free] is (J' r then takes the same BLAS path)
            jac = np.full((self.t.size, len(self.free)), -0.0, order="F")
            for j, i in enumerate(self.free):
                if i == 0:
                    jac[:, j] = -1.0
                elif i == 1:
                    jac[:k, j] = -(-math.log(foldx) * u)
                    jac[k:, j] = -(tmax * (alpha * p1 + beta * p2))
                elif i == 2:
                    jac[:k, j] = -(u - 1.0)
                elif i == 3:
                    jac[k:, j] = -(-alpha * dt * p1)
                elif i == 4:
                    jac[k:, j] = -(-beta * dt * p2)
                else:
                    jac[k:, j] = -((1.0 - fb) * p2 - fb * p1)
            self._jacobian = jac
        return self._jacobian


@dataclass(frozen=True)
class SteinFit:
    """A per-patient fit: estimates, uncertainty, the fitted curve and whether it worked.

    ``estimates``, ``std_errors``, ``ci_lower`` and ``ci_upper`` map each of
    ``PARAMETERS`` to a float (NaN when not estimated; a fixed parameter has
    its fixed value and NaN uncertainty). ``sigma`` is the residual SD on
    the log scale. ``reason`` explains a failed fit, or notes a caveat
    (estimate at a bound) of a converged one; "" when there is nothing to say.
    ``problems`` names the same findings as codes (keys of ``REASONS``, in the
    order of ``reason``) and ``at_bound`` the parameters at a bound, so that a
    report can word them for its readers without parsing ``reason``.
    """

    estimates: dict[str, float]
    std_errors: dict[str, float]
    ci_lower: dict[str, float]
    ci_upper: dict[str, float]
    sigma: float
    n_points: int
    converged: bool
    reason: str = ""
    fixed: tuple[str, ...] = ()
    cost: float = float("nan")
    method: str = "least squares on ln(value), trust-region reflective (analytic Jacobian), multi-start"
    days: tuple[float, ...] = field(default=(), repr=False)
    values: tuple[float, ...] = field(default=(), repr=False)
    problems: tuple[str, ...] = ()
    at_bound: tuple[str, ...] = ()

    @property
    def parameters(self) -> SteinParameters | None:
        """The estimates as ``SteinParameters`` (None when the fit failed)."""
        if not self.converged:
            return None
        return SteinParameters(**self.estimates)

    def curve(self, t) -> np.ndarray:
        """Fitted concentration at days ``t`` (NaN everywhere when the fit failed)."""
        t = np.asarray(t, dtype=float)
        if not self.converged:
            return np.full(t.shape, np.nan)
        return stein_curve(t, *(self.estimates[p] for p in PARAMETERS))


# What ``reason`` says, by ``problems`` code. The wording is neutral (what the data lack): how to
# work around it is the caller's business (the module docstring: ``fixed=``).
REASONS = {
    "too_few_points": "fewer than {min_points} quantifiable points (n={n})",
    "too_few_for_parameters": "{n} quantifiable points cannot support {n_free} free parameters and a residual error",
    "too_few_days": "fewer than {min_points} distinct sampling days",
    "no_decline": "no decline after the peak: the contraction phase cannot be estimated",
    "no_rise": "no quantifiable point before the peak: the expansion (FOLDX) cannot be estimated",
    "no_convergence": "optimizer did not converge: {message}",
    "not_identifiable": "parameters not identifiable from these data (singular Jacobian)",
    "at_bound": "estimate at its bound: {at_bound}",
}


def _reason(problems: Sequence[str], **fields: Any) -> str:
    return "; ".join(REASONS[code].format(**fields) for code in problems)


def _failed(problem: str, n: int, fixed: Mapping[str, float], days=(), values=()) -> SteinFit:
    est = {p: float(fixed.get(p, np.nan)) for p in PARAMETERS}
    nan = {p: float("nan") for p in PARAMETERS}
    reason = _reason([problem], n=n, n_free=len(PARAMETERS) - len(fixed), min_points=MIN_QUANTIFIABLE_POINTS)
    return SteinFit(est, dict(nan), dict(nan), dict(nan), float("nan"), n, False, reason,
                    tuple(sorted(fixed)), days=tuple(days), values=tuple(values), problems=(problem,))


@functools.lru_cache(maxsize=64)
def _t_quantile(dof: int, p: float) -> float:
    """t(p, dof) for the Wald limits; a table's profiles share a few residual dfs (a root search each)."""
    from cartkit.stats.distributions import stdtrit  # stdtrit(df, q) = scipy.stats.t.ppf(q, df)

    return float(stdtrit(dof, p))


def _to_theta(p: Mapping[str, float]) -> dict[str, float]:
    return {
        "cmax": math.log(p["cmax"]), "tmax": math.log(p["tmax"]), "foldx": math.log(p["foldx"]),
        "alpha": math.log(p["alpha"]), "beta": math.log(p["beta"]), "fb": float(_logit(p["fb"])),
    }


def _from_theta(th: Mapping[str, float]) -> dict[str, float]:
    return {
        "cmax": math.exp(th["cmax"]), "tmax": math.exp(th["tmax"]), "foldx": math.exp(th["foldx"]),
        "alpha": math.exp(th["alpha"]), "beta": math.exp(th["beta"]), "fb": float(_expit(th["fb"])),
    }


def fit_stein(
    days,
    values,
    *,
    blq=None,
    fixed: Mapping[str, float] | None = None,
    n_starts: int = 12,
    seed: int = 2019,
    level: float = 0.95,
) -> SteinFit:
    """Fit the Stein 2019 model to one patient's profile (days from infusion, values > 0).

    ``blq`` optionally flags values below the limit of quantification;
    ``fixed`` holds parameters at given values (natural scale). See the
    module docstring for the method and the data requirements.
    """
    from cartkit.kinetics.bounded_least_squares import trust_region_reflective
    fixed = dict(fixed or {})
    unknown = sorted(set(fixed) - set(PARAMETERS))
    if unknown:
        raise ValueError(f"fixed={unknown}: not Stein 2019 parameters {PARAMETERS}")
    for name, v in fixed.items():
        if not (isinstance(v, int | float) and math.isfinite(v) and v > 0) or (name == "fb" and v >= 1) or (
            name == "foldx" and v <= 1
        ):
            raise ValueError(f"fixed {name}={v!r}: must be finite and > 0 (FOLDX > 1, FB < 1)")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: a confidence level must be between 0 and 1")

    t, c, flag = profile_arrays(days, values, blq)
    keep = (t >= 0) & np.isfinite(c) & (c > 0) & ~flag
    t, c = t[keep], c[keep]
    order = np.argsort(t, kind="stable")
    t, c = t[order], c[order]
    n = int(t.size)

    free = [p for p in PARAMETERS if p not in fixed]
    if n < MIN_QUANTIFIABLE_POINTS:
        return _failed("too_few_points", n, fixed, t, c)
    if n <= len(free):
        return _failed("too_few_for_parameters", n, fixed, t, c)
    if np.unique(t).size < MIN_QUANTIFIABLE_POINTS or not (t > 0).any():
        return _failed("too_few_days", n, fixed, t, c)
    ipeak = int(np.argmax(c))
    if not (c[ipeak + 1:] < c[ipeak]).any():
        return _failed("no_decline", n, fixed, t, c)
    if ipeak == 0 and "foldx" not in fixed:
        return _failed("no_rise", n, fixed, t, c)

    y = np.log(c)
    tpos = t[t > 0]
    lower = {
        "cmax": math.log(c.max()) - math.log(1e3), "tmax": math.log(max(tpos.min(), 1e-3) / 10.0),
        "foldx": math.log(_FOLDX_BOUNDS[0]), "alpha": math.log(_RATE_BOUNDS[0]),
        "beta": math.log(_RATE_BOUNDS[0]), "fb": float(_logit(_FB_BOUNDS[0])),
    }
    upper = {
        "cmax": math.log(c.max()) + math.log(1e3), "tmax": math.log(t.max()),
        "foldx": math.log(_FOLDX_BOUNDS[1]), "alpha": math.log(_RATE_BOUNDS[1]),
        "beta": math.log(_RATE_BOUNDS[1]), "fb": float(_logit(_FB_BOUNDS[1])),
    }
    theta_fixed = _to_theta({**asdict(SteinParameters()), **fixed})

    def unpack(x):
        th = dict(theta_fixed)
        th.update(zip(free, x, strict=True))
        return {**_from_theta(th), **{k: float(v) for k, v in fixed.items()}}

    model = _LogResiduals(t, y, free, fixed)
    residuals, jacobian = model.residuals, model.jacobian  # the Jacobian is analytic, no finite differences

    # Data-derived start: observed peak; expansion from the first point; fast and slow decline
    # from the first and last post-peak points.
    tpk, cpk = max(t[ipeak], 1e-2), c[ipeak]
    start = {"cmax": cpk, "tmax": tpk, "alpha": 0.2, "beta": 0.01, "fb": 0.05, "foldx": 100.0}
    if ipeak > 0 and t[0] < tpk:
        ratio = (math.log(cpk) - y[0]) / max(1.0 - t[0] / tpk, 1e-3)
        start["foldx"] = math.exp(min(max(ratio, 0.1), 18.0))
    post_t, post_y = t[ipeak:], y[ipeak:]
    if post_t.size >= 2 and post_t[1] > post_t[0]:
        start["alpha"] = max(-(post_y[1] - post_y[0]) / (post_t[1] - post_t[0]), 0.01)
    if post_t.size >= 3 and post_t[-1] > post_t[-2]:
        start["beta"] = min(max(-(post_y[-1] - post_y[-2]) / (post_t[-1] - post_t[-2]), 1e-4),
                            start["alpha"] / 2)
    start["fb"] = min(max(math.exp(post_y[-1] - math.log(cpk) + start["beta"] * (post_t[-1] - tpk)), 1e-5), 0.5)
    start.update(fixed)
    th0 = _to_theta(start)
    lo = np.array([lower[p] for p in free])
    hi = np.array([upper[p] for p in free])
    x0 = np.clip(np.array([th0[p] for p in free]), lo + 1e-9, hi - 1e-9)

    rng = np.random.default_rng(seed)
    starts = [x0] + [np.clip(x0 + rng.normal(0.0, 1.0, x0.size), lo + 1e-9, hi - 1e-9)
                     for _ in range(max(n_starts, 1) - 1)]
    best = None
    for xs in starts:
        sol = trust_region_reflective(residuals, jacobian, xs, lo, hi, max_nfev=2000)
        if best is None or sol.cost < best.cost:
            best = sol
    assert best is not None
    est = unpack(best.x)
    # Relabel so that alpha is the fast rate (same curve).
    if "alpha" in free and "beta" in free and "fb" in free and est["beta"] > est["alpha"]:
        swapped = {**est, "alpha": est["beta"], "beta": est["alpha"], "fb": 1.0 - est["fb"]}
        th = _to_theta(swapped)
        xs = np.clip(np.array([th[p] for p in free]), lo, hi)
        best = trust_region_reflective(residuals, jacobian, xs, lo, hi, max_nfev=200)
        est = unpack(best.x)

    dof = n - len(free)
    rss = float(2.0 * best.cost)
    s2 = rss / dof
    jac = best.jac
    notes: list[str] = []
    converged = bool(best.success)
    if not converged:
        notes.append("no_convergence")
    sv = np.linalg.svd(jac, compute_uv=False)
    if sv.size == 0 or sv[-1] <= sv[0] * 1e-10:
        converged = False
        notes.append("not_identifiable")
        cov = np.full((len(free), len(free)), np.nan)
    else:
        cov = s2 * np.linalg.pinv(jac.T @ jac)
    se_theta = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    q = _t_quantile(dof, 0.5 + level / 2.0)
    at_bound = [p for p, x, a, b in zip(free, best.x, lo, hi, strict=True) if min(x - a, b - x) < 1e-6]
    if at_bound:
        notes.append("at_bound")
    reason = _reason(notes, message=best.message, at_bound=", ".join(at_bound))
    found = {"problems": tuple(notes), "at_bound": tuple(at_bound)}

    se, ci_lo, ci_hi = {}, {}, {}
    for p in PARAMETERS:
        if p not in free:
            se[p] = ci_lo[p] = ci_hi[p] = float("nan")
            continue
        i = free.index(p)
        x, s = best.x[i], se_theta[i]
        back = _expit if p == "fb" else np.exp
        # d(natural)/d(theta): exp -> value; expit -> p (1 - p)
        deriv = est[p] * (1.0 - est[p]) if p == "fb" else est[p]
        se[p] = float(deriv * s)
        with np.errstate(over="ignore"):  # an unidentified parameter's upper limit is +inf, and says so
            ci_lo[p], ci_hi[p] = float(back(x - q * s)), float(back(x + q * s))
    if not converged:
        return SteinFit({p: est[p] for p in PARAMETERS}, se, ci_lo, ci_hi, math.sqrt(s2), n, False,
                        reason, tuple(sorted(fixed)), float(best.cost), days=tuple(t), values=tuple(c), **found)
    return SteinFit(
        estimates={p: float(est[p]) for p in PARAMETERS}, std_errors=se, ci_lower=ci_lo, ci_upper=ci_hi,
        sigma=math.sqrt(s2), n_points=n, converged=True, reason=reason, fixed=tuple(sorted(fixed)),
        cost=float(best.cost), days=tuple(t.tolist()), values=tuple(c.tolist()), **found,
    )


def fit_stein_table(
    df: pl.DataFrame,
    by: Sequence[str] = ("patient_id", "episode"),
    day: str = "day",
    value: str = "value",
    *,
    blq: str | None = None,
    fixed: Mapping[str, float] | None = None,
    n_starts: int = 12,
    seed: int = 2019,
    level: float = 0.95,
) -> pl.DataFrame:
    """``fit_stein`` for every profile of a long table, carrying on past profiles that fail.

    One row per ``by`` group (sorted): the ``by`` columns, converged, reason,
    problems and at_bound (lists of strings, as on ``SteinFit``), n_points, sigma, and for each parameter ``<p>``, ``<p>_lower``,
    ``<p>_upper``. A per-profile loop is right here: each fit is many
    optimizer runs.
    """
    import polars as pl

    by = list(by)
    cols = [*by, day, value] + ([blq] if blq else [])
    missing = [col for col in cols if col not in df.columns]
    if missing:
        raise ValueError(f"columns {missing}: not in the table (has {df.columns})")
    rows = []
    # one sort, the columns to numpy once, each profile a slice (a Polars group per profile cost more
    # than some of the fits)
    ordered = df.select(cols).sort([*by, day])
    groups = ordered.group_by(by, maintain_order=True).agg(pl.len().alias("_n"))
    days_all = ordered[day].to_numpy()
    values_all = ordered[value].fill_null(np.nan).to_numpy()
    flags_all = ordered[blq].fill_null(False).to_numpy() if blq else None
    ends = np.cumsum(groups["_n"].to_numpy())
    for keys, start, end in zip(groups.select(by).iter_rows(), ends - groups["_n"].to_numpy(), ends, strict=True):
        flags = flags_all[start:end] if blq else None
        fit = fit_stein(days_all[start:end], values_all[start:end], blq=flags,
                        fixed=fixed, n_starts=n_starts, seed=seed, level=level)
        row = dict(zip(by, keys, strict=True))
        row.update(converged=fit.converged, reason=fit.reason, problems=list(fit.problems),
                   at_bound=list(fit.at_bound), n_points=fit.n_points, sigma=fit.sigma)
        for p in PARAMETERS:
            row[p] = fit.estimates[p]
            row[f"{p}_lower"] = fit.ci_lower[p]
            row[f"{p}_upper"] = fit.ci_upper[p]
        rows.append(row)
    out = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
    float_cols = ["sigma", *[f"{p}{s}" for p in PARAMETERS for s in ("", "_lower", "_upper")]]
    if not rows:
        return out
    return out.with_columns(pl.col(float_cols).cast(pl.Float64).fill_nan(None),
                            pl.col("problems", "at_bound").cast(pl.List(pl.String)))
