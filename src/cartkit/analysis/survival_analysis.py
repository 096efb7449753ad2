"""PFS and OS by group (seed Figure 2D): Kaplan-Meier, numbers at risk, log-rank, landmark.

Allogeneic HSCT after CAR-T is handled three ways, all reported, because
studies differ and the seed's wording ("patients who did not receive
allo-HSCT") admits more than one reading:

* ``exclude HSCT patients`` - patients transplanted after the index infusion are left out
  (the seed's Results: 6 DLBCL and 5 B-ALL patients);
* ``censor at HSCT`` - follow-up is censored on the day of transplant;
* ``HSCT not censored`` - transplant is ignored.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

CENSORING_RULES = ("exclude HSCT patients", "censor at HSCT", "HSCT not censored")

_CURVE_SCHEMA = {
    "endpoint": pl.String, "censoring": pl.String, "group": pl.String, "time": pl.Float64,
    "n_risk": pl.Int64, "n_event": pl.Int64, "n_censor": pl.Int64, "survival": pl.Float64,
    "lower": pl.Float64, "upper": pl.Float64,
}


DAYS_PER_MONTH = 30.4375  # 365.25 / 12


def at_risk_ticks(max_time: float, n_ticks: int = 6, unit: str = "days") -> list[float]:
    """Round x-axis ticks covering follow-up; the figure draws curves and at-risk numbers on them."""
    if max_time <= 0:
        return [0.0]
    raw = max_time / max(n_ticks - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 3, 5, 10) if m * magnitude >= raw), default=raw)
    if unit == "days" and max_time > 60:  # days: prefer multiples of 30 (months) for readability
        step = max(30.0, 30.0 * round(step / 30.0))
    elif unit == "months" and max_time > 6:  # months: quarters
        step = max(3.0, 3.0 * round(step / 3.0))
    return [float(t) for t in np.arange(0.0, max_time + step * 0.5, step)]


def survival_analysis(
    tte: dict[str, pl.DataFrame], group_col: str, endpoints: tuple[str, ...], landmark_day: int,
    time_unit: str = "days",
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Curves, at-risk table and log-rank/landmark table for every endpoint x censoring rule.

    ``tte``: censoring rule -> frame with group_col, pfs_days, pfs_event, os_days, os_event.
    Curves, at-risk ticks and median follow-up are reported in the plan's ``time_unit`` (days, or
    months of 30.4375 days); the landmark stays a day, as plans state it.
    """
    scale = DAYS_PER_MONTH if time_unit == "months" else 1.0
    from cartkit.survival import kaplan_meier, logrank
    from cartkit.survival.events import median_followup
    from cartkit.survival.landmark import landmark as landmark_survival

    curves, at_risk, tests = [], [], []
    for censoring, frame in tte.items():
        for endpoint in endpoints:
            tcol, ecol = f"{endpoint}_days", f"{endpoint}_event"
            data = frame.drop_nulls([tcol, ecol, group_col])
            if data.height == 0:
                continue
            ticks = at_risk_ticks(float(data[tcol].max()) / scale, unit=time_unit)
            groups = sorted(data[group_col].unique().to_list())
            landmark = {}
            for group in groups:
                g = data.filter(pl.col(group_col) == group)
                days = g[tcol].to_numpy().astype(float)
                time = days / scale
                event = g[ecol].to_numpy().astype(bool)
                km = kaplan_meier(time, event)
                table = km.table
                start = pl.DataFrame(
                    {"time": [0.0], "n_risk": [len(time)], "n_event": [0], "n_censor": [0], "survival": [1.0],
                     "lower": [1.0], "upper": [1.0]},
                    schema={k: _CURVE_SCHEMA[k] for k in ("time", "n_risk", "n_event", "n_censor", "survival",
                                                            "lower", "upper")},
                )
                body = table.select(
                    pl.col("time").cast(pl.Float64), pl.col("n_risk").cast(pl.Int64),
                    pl.col("n_event").cast(pl.Int64), pl.col("n_censor").cast(pl.Int64),
                    pl.col("survival").cast(pl.Float64), pl.col("lower").cast(pl.Float64),
                    pl.col("upper").cast(pl.Float64),
                )
                curves.append(
                    pl.concat([start, body]).with_columns(
                        pl.lit(endpoint.upper()).alias("endpoint"), pl.lit(censoring).alias("censoring"),
                        pl.lit(str(group)).alias("group"), pl.lit(time_unit).alias("time_unit"),
                    ).select([*_CURVE_SCHEMA, "time_unit"])
                )
                n_risk = [int((time >= t).sum()) for t in ticks]
                at_risk.append(pl.DataFrame({
                    "endpoint": endpoint.upper(), "censoring": censoring, "group": str(group),
                    "time": ticks, "n_risk": n_risk, "time_unit": time_unit,
                }))
                landmark[f"landmark_{group}"] = float(km.survival_at(landmark_day / scale))
            # median follow-up by reverse Kaplan-Meier (Schemper & Smith 1996) of these patients' observed
            # time: follow-up does not end at a transplant, so it comes from the uncensored OS times
            observed = tte.get("HSCT not censored", frame)
            seen = data.select("patient_id", "episode").join(
                observed.select("patient_id", "episode", "os_days", "os_event"), on=["patient_id", "episode"],
                how="left")
            follow = median_followup(seen["os_days"].to_numpy().astype(float) / scale,
                                     seen["os_event"].to_numpy().astype(bool))
            row = {"endpoint": endpoint.upper(), "censoring": censoring, "statistic": None, "df": None,
                   "pvalue": None, "landmark_day": landmark_day, "n": data.height,
                   "events": int(data[ecol].sum()), f"median_followup_{time_unit}": float(follow.median)}
            if len(groups) >= 2 and data[ecol].sum() > 0:
                res = logrank(data[tcol].to_numpy().astype(float), data[ecol].to_numpy().astype(bool),
                              data[group_col].to_numpy())
                row.update(statistic=float(res.statistic), df=int(res.df), pvalue=float(res.pvalue))
            row.update(landmark)
            # the landmark's 95% CI (log scale, as R's summary(survfit(...), times = day))
            at_day = landmark_survival(data[tcol].to_numpy().astype(float), data[ecol].to_numpy().astype(bool),
                                       data[group_col].cast(pl.String).to_numpy(), landmark_day)
            for g, lo, hi in at_day.select("group", "lower", "upper").iter_rows():
                row[f"landmark_ci_{g}"] = f"{100 * lo:.1f}-{100 * hi:.1f}%" if lo == lo and hi == hi else None
            tests.append(row)
    curves_df = pl.concat(curves) if curves else pl.DataFrame(schema={**_CURVE_SCHEMA, "time_unit": pl.String})
    at_risk_df = pl.concat(at_risk) if at_risk else None
    tests_df = pl.DataFrame(tests) if tests else None
    return curves_df, at_risk_df, tests_df
