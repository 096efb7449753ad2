"""Cumulative incidence of one cause with the other causes competing, as R's ``cmprsk::cuminc`` (2.2-11).

The estimate is the Aalen-Johansen estimator (for one cause, Kalbfleisch & Prentice 1980):
F(t) = sum over event times s <= t of S(s-) d1(s) / n(s), with S the Kaplan-Meier curve of *any*
event, d1 the events of the cause, n the number at risk. It is right-continuous (a jump at t counts
at t, events at time 0 included, as ``timepoints``).

* ``variance`` is the one ``cuminc`` reports (Fortran routine ``cinc``, R. Gray): the delta-method
  variance of Aalen (1978) with the ties correction ``1 - (d - 1) / (n - 1)``. As in ``cinc`` it is
  updated only at times of the cause of interest (competing events between two such times enter at
  the next one), so it is a step function with the same jumps as the estimate.
* Confidence limits: ``cuminc`` gives none. cartkit uses the log(-log) transform with that variance,
  F^exp(+-z sqrt(V) / (F log F)) (Pintilie, Competing Risks: A Practical Perspective, 2006; R's
  ``tidycmprsk`` does the same on ``cuminc``'s output), which keeps the limits in (0, 1). Where F = 0 or F = 1 (within 1e-9: a sum of jumps that reaches 1 rounds to 1 - 1e-16) the limits are NaN (undefined on that scale). See docs/survival.md.
* ``test``: Gray's (1988) K-sample test of the subdistribution hazards (routine ``crstm``), weight
  (1 - F(t-))^rho (rho = 0 by default, as ``cuminc``), optionally stratified; chi-square on
  (groups - 1) df. When its variance matrix is singular ``cuminc`` prints -1 as the statistic;
  cartkit gives NaN and says so in ``note``.

Status: ``censor_code`` (0) is censored, ``cause`` the cause of interest, any other value a
competing event. Groups are ordered as R's ``factor`` (sorted labels). Everything is computed over
whole columns (Polars group-by, NumPy cumulative sums): no loop over subjects or times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cartkit.stats.results import TestResult
from cartkit.survival.logrank import group_codes

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

_ONE_TOLERANCE = 1e-9  # an estimate this close to 1 is 1 (sums of n terms are exact to about n * 2.2e-16)


@dataclass(frozen=True)
class CumulativeIncidence:
    """``table``: group, time (each time of the cause), n_risk, n_event (of the cause), n_competing,
    estimate, variance, lower, upper. ``groups`` in R's factor order; ``test`` (Gray) with 2+ groups."""

    table: pl.DataFrame
    groups: tuple
    cause: object
    level: float
    test: TestResult | None
    max_time: dict  # group -> last follow-up time (the estimate is NaN beyond it, as timepoints gives NA)
    n: dict  # group -> subjects

    def _group(self, group: object) -> object:
        if group is None:
            if len(self.groups) != 1:
                raise ValueError(f"cumulative_incidence: name the group, one of {list(self.groups)}")
            return self.groups[0]
        if group not in self.groups:
            raise ValueError(f"cumulative_incidence: group {group!r} not among {list(self.groups)}")
        return group

    def at(self, times: object, group: object = None) -> pl.DataFrame:
        """time, estimate, variance, lower, upper at chosen times (as ``cmprsk::timepoints``)."""
        import polars as pl

        g = self._group(group)
        req = np.atleast_1d(np.asarray(times, dtype=float))
        if np.any(~np.isfinite(req)):
            raise ValueError(f"cumulative_incidence: times must be finite, got {req.tolist()}")
        rows = self.table.filter(pl.col("group") == g)
        t = rows["time"].to_numpy()
        idx = np.searchsorted(t, req, side="right") - 1
        out = {"time": req}
        for name in ("estimate", "variance", "lower", "upper"):
            values = rows[name].to_numpy()
            before = 0.0 if name in ("estimate", "variance") else np.nan
            v = np.where(idx < 0, before, values[np.maximum(idx, 0)] if values.size else before)
            out[name] = np.where((req > self.max_time[g]) | (req < 0), np.nan, v)
        return pl.DataFrame(out)

    def estimate_at(self, t: float, group: object = None) -> float:
        """F(t) (right-continuous); NaN beyond the group's last follow-up time, as ``timepoints``."""
        return float(self.at([t], group)["estimate"][0])

    def variance_at(self, t: float, group: object = None) -> float:
        """The variance ``cuminc`` reports at t (NaN beyond the last follow-up time)."""
        return float(self.at([t], group)["variance"][0])


def _counts(t: np.ndarray, m: np.ndarray, g: np.ndarray, s: np.ndarray) -> pl.DataFrame:
    """Per (stratum, group, distinct time): n (all), d1 (cause), d2 (competing); sorted."""
    import polars as pl

    return (
        pl.DataFrame({"s": s, "g": g, "t": t, "m": m})
        .group_by("s", "g", "t")
        .agg(pl.len().alias("n"), (pl.col("m") == 1).sum().alias("d1"), (pl.col("m") == 2).sum().alias("d2"))
        .sort("s", "g", "t")
    )


def _cinc(times: np.ndarray, n: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> tuple[np.ndarray, ...]:
    """cmprsk's ``cinc`` for one group, vectorised: values at the distinct times of the cause."""
    rs = np.cumsum(n[::-1])[::-1].astype(float)
    nd = d1 + d2
    fkn = np.cumprod((rs - nd) / rs)  # all-cause KM just after each time
    fk = np.r_[1.0, fkn[:-1]]  # ... and just before
    f = np.cumsum(fk * d1 / rs)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(fkn > 0, 1.0 / fkn, 0.0)
        # competing events (skipped when the all-cause KM drops to 0)
        t5 = np.where(d2 > 1, 1 - (d2 - 1) / (rs - 1), 1.0)
        t6 = np.where((d2 > 0) & (fkn > 0), fk * fk * t5 * d2 / (rs * rs), 0.0)
        t4 = f * inv
        v1, v2, v3 = t4 * t4 * t6, inv * t4 * t6, inv * inv * t6
        # events of the cause
        t5 = np.where(d1 > 1, 1 - (d1 - 1) / (rs - 1), 1.0)
        t6 = np.where(d1 > 0, fk * fk * t5 * d1 / (rs * rs), 0.0)
        t4 = 1 + inv * f
        v1, v2, v3 = v1 + t4 * t4 * t6, v2 + inv * t4 * t6, v3 + inv * inv * t6
    v1, v2, v3 = np.cumsum(v1), np.cumsum(v2), np.cumsum(v3)
    var = v1 + f * f * v3 - 2 * f * v2
    at = d1 > 0
    return times[at], rs[at], d1[at], d2[at], f[at], var[at]


def _gray_stratum(m_t: int, k: int, ti: np.ndarray, gi: np.ndarray, n: np.ndarray, d1: np.ndarray, d2: np.ndarray,
                  rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Score (first k-1 groups) and its variance for one stratum: cmprsk's ``crst``, vectorised over times.

    ``ti``/``gi``: time index (0..m_t-1) and group of each count row.
    """
    shape = (m_t, k)
    cnt = np.zeros(shape)
    e1 = np.zeros(shape)
    e2 = np.zeros(shape)
    np.add.at(cnt, (ti, gi), n)
    np.add.at(e1, (ti, gi), d1)
    np.add.at(e2, (ti, gi), d2)
    r = np.cumsum(cnt[::-1], axis=0)[::-1]  # at risk per group at each time
    # only times with an event matter (others change nothing in crst)
    ev = (e1.sum(axis=1) + e2.sum(axis=1)) > 0
    if not ev.any():  # no event in this stratum: it adds nothing to the score or its variance
        return np.zeros(k - 1), np.zeros((k - 1, k - 1))
    r, e1, e2 = r[ev], e1[ev], e2[ev]
    pos = r > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        skm = np.cumprod(np.where(pos, (r - e1 - e2) / np.where(pos, r, 1), 1.0), axis=0)
        skmm = np.vstack([np.ones((1, k)), skm[:-1]])
        f1 = np.cumsum(np.where(pos, skmm * e1 / np.where(pos, r, 1), 0.0), axis=0)
        f1m = np.vstack([np.zeros((1, k)), f1[:-1]])
        t1 = np.where(pos, r / skmm, 0.0)
        tr = t1.sum(axis=1)
        tq = np.where(pos, r * (1 - f1m) / skmm, 0.0).sum(axis=1)
        nd1 = e1.sum(axis=1)
        f = np.cumsum(nd1 / tr)
        fm = np.r_[0.0, f[:-1]]
        fb = (1 - fm) ** rho
        a = fb[:, None, None] * (np.einsum("ti,ij->tij", t1, np.eye(k)) - t1[:, :, None] * t1[:, None, :] / tr[:, None, None])
        inc = a * (nd1 / (tr * (1 - fm)))[:, None, None]
        c = np.cumsum(np.where(a != 0, inc, 0.0), axis=0)  # cmprsk 2.2-12 guards a == 0 (1 - fm may be 0)
        score = (fb[:, None] * np.where(pos, e1 - nd1[:, None] * r * (1 - f1m) / (skmm * tq[:, None]), 0.0)).sum(axis=0)
        # events of the cause
        t4 = np.where(skm > 0, 1 - (1 - f[:, None]) / skm, 1.0)
        t5 = np.where(nd1[:, None] > 1, 1 - (nd1[:, None] - 1) / (tr[:, None] * skmm - 1), 1.0)
        t3 = np.where(pos & (nd1[:, None] > 0), t5 * skmm * nd1[:, None] / (tr[:, None] * np.where(pos, r, 1)), 0.0)
        b1 = a - t4[:, None, :] * c  # t1 of crst: (time, i, k)
        v3 = (t4 * t4 * t3).sum(axis=0)
        v2 = np.einsum("tik,tk->ik", b1, t4 * t3)
        v = np.einsum("tik,tjk,tk->ij", b1, b1, t3)
        # competing events
        use2 = (skm > 0) & (e2 > 0)
        t4 = np.where(use2, (1 - f[:, None]) / np.where(skm > 0, skm, 1), 0.0)
        t5 = np.where(e2 > 1, 1 - (e2 - 1) / (r - 1), 1.0)
        t3 = np.where(use2, t5 * skmm**2 * e2 / np.where(pos, r, 1) ** 2, 0.0)
        b2 = t4[:, None, :] * c
        v3 = v3 + (t4 * t4 * t3).sum(axis=0)
        v2 = v2 - np.einsum("tik,tk->ik", b2, t4 * t3)
        v = v + np.einsum("tik,tjk,tk->ij", b2, b2, t3)
    cf = c[-1]
    v = v + (cf * v3) @ cf.T + cf @ v2.T + v2 @ cf.T
    return score[: k - 1], v[: k - 1, : k - 1]


def cumulative_incidence(time: object, status: object, cause: object = 1, group: object = None,
                         level: float = 0.95, strata: object = None, rho: float = 0.0,
                         censor_code: object = 0) -> CumulativeIncidence:
    """Aalen-Johansen cumulative incidence of ``cause`` with the other causes competing (``cmprsk::cuminc``).

    >>> ci = cumulative_incidence([1, 2, 3, 4, 5], [1, 2, 0, 1, 0])
    >>> ci.estimate_at(4)   # 1/5 at day 1, then S(4-) = 3/5 * 1/2 at day 4
    0.5
    """
    import polars as pl

    from cartkit.stats.distributions import chdtrc, ndtri

    if not 0 < level < 1:
        raise ValueError(f"cumulative_incidence: level must be between 0 and 1, got {level}")
    t = np.asarray(time, dtype=float).ravel()
    st = np.asarray(status).ravel()
    if t.size != st.size:
        raise ValueError(f"cumulative_incidence: time and status must have the same length, got {t.size} and {st.size}")
    if t.size == 0:
        raise ValueError("cumulative_incidence: no observations")
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        bad = t[~np.isfinite(t) | (t < 0)][:3].tolist()
        raise ValueError(f"cumulative_incidence: times must be finite numbers >= 0 (found {bad})")
    if st.dtype.kind == "O":  # None, or NaN (the one value not equal to itself)
        missing = np.equal(st, None) | np.not_equal(st, st)
    else:
        missing = np.isnan(st) if st.dtype.kind == "f" else np.zeros(st.size, dtype=bool)
    if missing.any():  # a missing status would otherwise count as a competing event
        raise ValueError(f"cumulative_incidence: status is missing in rows {np.flatnonzero(missing)[:5].tolist()}")
    m = np.where(st == censor_code, 0, np.where(st == cause, 1, 2)).astype(np.int64)
    if group is None:
        labels, g = np.array([1]), np.zeros(t.size, dtype=np.int64)
    else:
        labels, g = group_codes(group, t.size, "group", "cumulative_incidence")
    s = np.zeros(t.size, dtype=np.int64) if strata is None else \
        group_codes(strata, t.size, "strata", "cumulative_incidence")[1]
    k = labels.size
    z = float(ndtri(1 - (1 - level) / 2))

    counts = _counts(t, m, g, s)
    by_group = counts.group_by("g", "t").agg(pl.col("n", "d1", "d2").sum()).sort("g", "t")
    parts = []
    gcol = by_group["g"].to_numpy()
    bounds = np.searchsorted(gcol, np.arange(k + 1))
    tt, nn = by_group["t"].to_numpy(), by_group["n"].to_numpy().astype(float)
    dd1, dd2 = by_group["d1"].to_numpy().astype(float), by_group["d2"].to_numpy().astype(float)
    max_time, n_by = {}, {}
    for j in range(k):  # one pass per group (a handful), vectorised within
        lo, hi = bounds[j], bounds[j + 1]
        label = labels[j].item() if hasattr(labels[j], "item") else labels[j]
        max_time[label] = float(tt[hi - 1])
        n_by[label] = int(nn[lo:hi].sum())
        times, rs, e1, e2, f, var = _cinc(tt[lo:hi], nn[lo:hi], dd1[lo:hi], dd2[lo:hi])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # F = 1 up to rounding (every subject has had the cause: 1/2 + 1/6 + 1/6 + 1/6 sums to 1 - 1e-16, in
            # cmprsk too) has no log(-log) limits either, not (0, 1)
            valid = (f > 0) & (f < 1 - _ONE_TOLERANCE)
            w = np.where(valid, z * np.sqrt(var) / (f * np.log(np.where(valid, f, 0.5))), np.nan)
            lower, upper = f ** np.exp(-w), f ** np.exp(w)
        parts.append(pl.DataFrame({
            "group": pl.Series([label] * times.size, dtype=pl.Series([label]).dtype),
            "time": times, "n_risk": rs.astype(np.int64), "n_event": e1.astype(np.int64),
            "n_competing": e2.astype(np.int64), "estimate": f, "variance": var,
            "lower": np.where(valid, lower, np.nan), "upper": np.where(valid, upper, np.nan),
        }))
    table = pl.concat(parts, how="vertical")

    test = None
    if k > 1:
        score = np.zeros(k - 1)
        v = np.zeros((k - 1, k - 1))
        sc = counts["s"].to_numpy()
        sb = np.searchsorted(sc, np.unique(sc))
        sb = np.r_[sb, sc.size]
        ct, cg = counts["t"].to_numpy(), counts["g"].to_numpy()
        cn, c1, c2 = (counts[c].to_numpy().astype(float) for c in ("n", "d1", "d2"))
        for lo, hi in zip(sb[:-1], sb[1:], strict=True):  # one pass per stratum
            ut, ti = np.unique(ct[lo:hi], return_inverse=True)
            sc_, v_ = _gray_stratum(ut.size, k, ti, cg[lo:hi], cn[lo:hi], c1[lo:hi], c2[lo:hi], rho)
            score += sc_
            v += v_
        rank = np.linalg.matrix_rank(v) if np.all(np.isfinite(v)) else -1
        note = f"rho = {rho:g}" + (", stratified" if strata is not None else "")
        if rank == k - 1:
            stat = float(score @ np.linalg.solve(v, score))
            p = float(chdtrc(k - 1, stat))
        else:
            stat, p = float("nan"), float("nan")
            note += "; variance matrix singular: no statistic (R's cuminc prints -1)"
        test = TestResult("Gray's test", stat, p, df=float(k - 1), note=note)
    groups = tuple(x.item() if hasattr(x, "item") else x for x in labels)
    return CumulativeIncidence(table, groups, cause, level, test, max_time, n_by)
