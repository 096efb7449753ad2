"""A binary time-dependent covariate (allogeneic HSCT after CAR-T): counting-process rows, Cox, Simon-Makuch.

Treating HSCT as a fixed group ("transplanted" vs "not") or censoring at HSCT conditions on the
future: a patient must survive long enough to be transplanted (immortal-time bias). The standard
alternatives are HSCT as a competing event (``cumulative_incidence``) or, here, HSCT as a covariate
that switches from 0 to 1 on the day of HSCT. See docs/survival.md.

* ``split_at(time, event, switch_time)``: one row per patient and state, (start, stop] with the
  covariate's value, as R's ``tmerge(d, d, id = id, event = event(time, event), hsct = tdc(switch_time))``:
  a switch at 0 (or before) gives one row with the covariate 1; a switch inside (0, time) two rows,
  (0, switch] with 0 (no event) and (switch, time] with 1 (the event); a switch at or after the
  end of follow-up (or missing) one row with 0. An event on the day of HSCT therefore counts before
  HSCT, as ``tmerge``'s convention (the covariate changes *after* the switch time).
* Cox: ``cox(rows, "stop", "event", ["hsct"], entry="start")``, R's
  ``coxph(Surv(tstart, tstop, event) ~ hsct)``; ``time_dependent_cox`` does both steps.
* ``simon_makuch(start, stop, event, state)``: the Simon-Makuch estimate (Simon & Makuch, Stat Med
  1984;3:35-44), the product-limit estimate whose risk set at each time holds the patients currently in
  each state (a patient leaves the "no HSCT" curve and joins the "HSCT" curve on the day of HSCT).
  Snapinn, Jiang & Iglewicz (Am Stat 2005;59:301-307) give it as the "extended Kaplan-Meier"
  estimator, computed from the counting-process rows stratified by the current covariate value:
  R's ``survfit(Surv(tstart, tstop, event) ~ hsct, data = rows)``, the reference of the tests.
  Greenwood variance and ``conf_type`` limits as ``kaplan_meier``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cartkit.survival.kaplan_meier import CONF_TYPES, confidence_limits, survival_data
from cartkit.survival.logrank import group_codes

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from cartkit.survival.cox import CoxModel


def split_at(time: object, event: object, switch_time: object, id: object = None, name: str = "hsct") -> pl.DataFrame:
    """Counting-process rows id, start, stop, event, ``name`` (0/1) from one follow-up and one switch time each.

    ``switch_time`` NaN/None: never switched. ``id`` defaults to 0, 1, ... (the input order); rows are
    sorted by id, then start.

    >>> split_at([10, 8], [1, 0], [3, None])["hsct"].to_list()
    [0, 1, 0]
    """
    import polars as pl

    t, e = survival_data(time, event, "split_at")
    if np.any(t <= 0):
        bad = np.flatnonzero(t <= 0)[:5]
        raise ValueError(f"split_at: follow-up time 0 leaves no interval (start, stop] at risk (R's Surv: 'Stop time "
                         f"must be > start time'); rows {bad.tolist()} have time 0: leave them out of the "
                         "time-dependent analysis or give them a positive time")
    if isinstance(switch_time, pl.Series):
        sw = switch_time.cast(pl.Float64).to_numpy()
    else:
        raw = np.asarray(switch_time).ravel()
        # None (no HSCT) -> NaN; numbers pass through
        sw = np.where(np.equal(raw, None), np.nan, raw).astype(float) if raw.dtype.kind == "O" else raw.astype(float)
    if sw.size != t.size:
        raise ValueError(f"split_at: switch_time must have one value per patient, got {sw.size} for {t.size}")
    ids = np.arange(t.size) if id is None else np.asarray(id).ravel()
    if ids.size != t.size:
        raise ValueError(f"split_at: id must have one value per patient, got {ids.size} for {t.size}")
    before = ~np.isnan(sw) & (sw <= 0)  # switched from the start
    inside = ~np.isnan(sw) & (sw > 0) & (sw < t)
    first_stop = np.where(inside, sw, t)
    rows = pl.DataFrame({
        "id": np.r_[ids, ids[inside]],
        "start": np.r_[np.zeros(t.size), sw[inside]],
        "stop": np.r_[first_stop, t[inside]],
        "event": np.r_[np.where(inside, 0, e), e[inside]].astype(np.int64),
        name: np.r_[before.astype(np.int64), np.ones(int(inside.sum()), dtype=np.int64)],
    })
    return rows.sort("id", "start", maintain_order=True)


def time_dependent_cox(time: object, event: object, switch_time: object, level: float = 0.95,
                       name: str = "hsct", covariates: dict | None = None, strata: object = None) -> CoxModel:
    """Cox model with one binary time-dependent covariate: ``coxph(Surv(tstart, tstop, event) ~ hsct)``.

    ``covariates``: fixed (baseline) covariates, name -> one number per patient, carried to each of the
    patient's rows (``coxph(Surv(tstart, tstop, event) ~ hsct + age + ...)``); ``strata``: one value per
    patient (``+ strata(s)``).
    """
    import polars as pl

    from cartkit.survival.cox import cox

    rows = split_at(time, event, switch_time, name=name)
    idx = rows["id"].to_numpy()  # 0..n-1: the patient's position in the input
    extra = {}
    for key, values in (covariates or {}).items():
        if key in rows.columns:
            raise ValueError(f"time_dependent_cox: covariate name {key!r} is taken by the split rows")
        v = np.asarray(values, dtype=float).ravel()
        if v.size != int(idx.max()) + 1:
            raise ValueError(f"time_dependent_cox: covariate {key!r} needs one value per patient, got {v.size}")
        extra[key] = v[idx]
    if strata is not None:
        _, codes = group_codes(strata, int(idx.max()) + 1, "strata", "time_dependent_cox")
        extra["_stratum"] = codes[idx]
    rows = rows.with_columns(**{k: pl.Series(k, v) for k, v in extra.items()})
    return cox(rows, "stop", "event", [name, *(covariates or {})], level=level, entry="start",
               strata="_stratum" if strata is not None else None)


@dataclass(frozen=True)
class SimonMakuch:
    """``table``: state, time (each distinct stop time in that state), n_risk, n_event, n_censor (rows ending
    without an event: censorings and switches), survival, std_err, lower, upper."""

    table: pl.DataFrame
    states: tuple
    conf_type: str
    level: float

    def survival_at(self, t: float, state: object) -> float:
        """S(t) on the curve of ``state``: 1 before its first time, NaN beyond its last (unless it reached 0)."""
        import polars as pl

        if state not in self.states:
            raise ValueError(f"simon_makuch: state {state!r} not among {list(self.states)}")
        rows = self.table.filter(pl.col("state") == state)
        times, surv = rows["time"].to_numpy(), rows["survival"].to_numpy()
        t = float(t)
        if t > times[-1]:
            return 0.0 if surv[-1] == 0 else float("nan")
        i = int(np.searchsorted(times, t, side="right")) - 1
        return 1.0 if i < 0 else float(surv[i])


def simon_makuch(start: object, stop: object, event: object, state: object, conf_type: str = "log",
                 level: float = 0.95) -> SimonMakuch:
    """Simon-Makuch (extended Kaplan-Meier) curves from counting-process rows, one per covariate value.

    >>> rows = split_at([10, 8, 5, 12, 6], [1, 1, 0, 1, 1], [3, 8, None, 0, 10])
    >>> sm = simon_makuch(rows["start"], rows["stop"], rows["event"], rows["hsct"])
    >>> sm.survival_at(6, 0), sm.survival_at(10, 1)  # day 6: 2 at risk without HSCT; day 10: 2 with
    (0.5, 0.5)
    """
    import polars as pl

    if conf_type not in CONF_TYPES:
        raise ValueError(f"simon_makuch: conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    if not 0 < level < 1:
        raise ValueError(f"simon_makuch: level must be between 0 and 1, got {level}")
    t, e = survival_data(stop, event, "simon_makuch")
    s = np.asarray(start, dtype=float).ravel()
    if s.size != t.size or np.any(~np.isfinite(s)) or np.any(s >= t):
        raise ValueError("simon_makuch: start must be finite, one per row, and below stop (intervals (start, stop])")
    labels, codes = group_codes(state, t.size, "state", "simon_makuch")
    parts = []
    for k, label in enumerate(labels.tolist()):  # one curve per state (two for HSCT), vectorised within
        sel = codes == k
        counts = (pl.DataFrame({"t": t[sel], "e": e[sel]}).group_by("t")
                  .agg(pl.col("e").sum().alias("d"), pl.len().alias("n")).sort("t"))
        times = counts["t"].to_numpy()
        d = counts["d"].to_numpy().astype(float)
        ended = counts["n"].to_numpy().astype(float)
        stops, starts = np.sort(t[sel]), np.sort(s[sel])
        # at risk at t: start < t <= stop
        n_risk = (stops.size - np.searchsorted(stops, times, side="left")) - \
                 (starts.size - np.searchsorted(starts, times, side="left"))
        with np.errstate(divide="ignore", invalid="ignore"):
            surv = np.cumprod(1.0 - d / n_risk)
            se_h = np.sqrt(np.cumsum(np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)))
            std_err = np.where(np.isinf(se_h), np.nan, surv * se_h)
        lower, upper = confidence_limits(surv, se_h, conf_type, level)
        parts.append(pl.DataFrame({
            "state": pl.Series([label] * times.size),
            "time": times, "n_risk": n_risk.astype(np.int64), "n_event": d.astype(np.int64),
            "n_censor": (ended - d).astype(np.int64), "survival": surv, "std_err": std_err,
            "lower": np.where(np.isinf(se_h), np.nan, lower), "upper": np.where(np.isinf(se_h), np.nan, upper),
        }))
    states = tuple(x.item() if hasattr(x, "item") else x for x in labels)
    return SimonMakuch(pl.concat(parts, how="vertical"), states, conf_type, level)
