"""Log-rank test for k groups, optionally stratified, as R's ``survdiff(Surv(time, event) ~ group)``.

Observed and expected events per group are summed over event times (and
strata); the variance is the hypergeometric covariance. As R: groups with no
expected events are left out, and the statistic is
(O - E)' V^-1 (O - E) over the remaining groups minus the first, on
(number of remaining groups - 1) degrees of freedom. Stratified:
``survdiff(Surv(time, event) ~ group + strata(s))``.

One departure: when that variance matrix is singular (a group confined to
strata where it is compared with nobody, e.g. a product given in one disease
only, stratified by disease), R's ``survdiff`` stops with "system is
computationally singular". cartkit uses the Moore-Penrose inverse and
df = the matrix's rank (the comparisons the data hold), and says so in ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cartkit.survival.kaplan_meier import survival_data

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl


@dataclass(frozen=True)
class LogRank:
    """``statistic`` (chi-square), ``df``, ``pvalue``; ``table``: group, n, observed, expected."""

    statistic: float
    df: int
    pvalue: float
    table: pl.DataFrame
    method: str = "Log-rank test"
    note: str = ""

    @property
    def observed(self) -> dict:
        return dict(zip(self.table["group"].to_list(), self.table["observed"].to_list(), strict=True))

    @property
    def expected(self) -> dict:
        return dict(zip(self.table["group"].to_list(), self.table["expected"].to_list(), strict=True))


def _one_stratum(t: np.ndarray, e: np.ndarray, g: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected and variance matrix for one stratum (vectorised over times)."""
    import polars as pl

    counts = (
        pl.DataFrame({"t": t, "g": g, "e": e})
        .group_by("t", "g")
        .agg(pl.col("e").sum().alias("d"), pl.len().alias("n"))
    )
    ct = counts["t"].to_numpy()
    times = np.unique(ct)
    m = times.size
    flat = np.searchsorted(times, ct) * k + counts["g"].to_numpy()
    d_tg = np.bincount(flat, weights=counts["d"].to_numpy().astype(float), minlength=m * k).reshape(m, k)
    c_tg = np.bincount(flat, weights=counts["n"].to_numpy().astype(float), minlength=m * k).reshape(m, k)
    n_tg = np.cumsum(c_tg[::-1], axis=0)[::-1]  # at risk: still in follow-up at time t
    d = d_tg.sum(axis=1)
    n = n_tg.sum(axis=1)
    use = d > 0
    d, n, n_tg, d_tg = d[use], n[use], n_tg[use], d_tg[use]
    frac = n_tg / n[:, None]
    expected = (d[:, None] * frac).sum(axis=0)
    observed = d_tg.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    var = np.diag((w[:, None] * frac).sum(axis=0)) - (w[:, None] * frac).T @ frac
    return observed, expected, var


def group_codes(values: object, n: int, name: str, caller: str = "logrank") -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct labels (numbers as numbers, text as text: R's factor order) and each row's code."""
    import polars as pl

    series = values if isinstance(values, pl.Series) else pl.Series(name, np.asarray(values).ravel())
    if series.len() != n:
        raise ValueError(f"{caller}: {name} must have one value per subject, got {series.len()} for {n}")
    if series.null_count() or (series.dtype.is_float() and series.is_nan().any()):
        raise ValueError(f"{caller}: {name} has missing values")
    codes = (series.rank("dense") - 1).cast(pl.Int64).to_numpy()
    return series.unique().sort().to_numpy(), codes


def logrank(time: object, event: object, group: object, strata: object | None = None) -> LogRank:
    """Log-rank (Mantel-Haenszel) test comparing survival between groups, as R ``survdiff``."""
    import polars as pl

    from cartkit.stats.distributions import chdtrc  # chdtrc(df, x) = scipy.stats.chi2.sf(x, df)

    t, e = survival_data(time, event, "logrank")
    labels, g = group_codes(group, t.size, "group")
    k = labels.size
    if k < 2:
        raise ValueError(f"logrank: needs at least 2 groups, got {labels.tolist()}")
    if strata is None:
        s = np.zeros(t.size, dtype=np.int64)
    else:
        _, s = group_codes(strata, t.size, "strata")
    observed = np.zeros(k)
    expected = np.zeros(k)
    var = np.zeros((k, k))
    for stratum in np.unique(s):
        sel = s == stratum
        o, ex, v = _one_stratum(t[sel], e[sel], g[sel], k)
        observed += o
        expected += ex
        var += v
    keep = expected > 0
    df = int(keep.sum()) - 1
    note = ""
    if keep.sum() < 2:
        statistic = 0.0
    else:
        diff = (observed - expected)[keep][1:]
        vv = var[np.ix_(keep, keep)][1:, 1:]
        singular = np.linalg.svd(vv, compute_uv=False)
        rank = int(np.sum(singular > singular[0] * 1e-10)) if singular[0] > 0 else 0
        if rank == vv.shape[0]:
            statistic = float(diff @ np.linalg.solve(vv, diff))
        else:
            statistic = float(diff @ np.linalg.pinv(vv, rcond=1e-10, hermitian=True) @ diff) if rank else 0.0
            note = (f"variance matrix singular (rank {rank} of {vv.shape[0]}): generalised inverse, df = {rank}; "
                    "R's survdiff stops with 'system is computationally singular'")
            df = rank
    pvalue = float(chdtrc(df, statistic)) if df > 0 else float("nan")
    table = pl.DataFrame(
        {
            "group": labels.tolist(),
            "n": np.bincount(g, minlength=k).astype(np.int64),
            "observed": observed,
            "expected": expected,
        },
        strict=False,
    )
    method = "Log-rank test" + (" (stratified)" if strata is not None else "")
    return LogRank(statistic, df, pvalue, table, method, note)
