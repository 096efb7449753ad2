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
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from cartkit.study.plan_endpoint import HsctRule

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.model import Study

_CURVE_SCHEMA = {
    "endpoint": pl.String, "censoring": pl.String, "group": pl.String, "time": pl.Float64,
    "n_risk": pl.Int64, "n_event": pl.Int64, "n_censor": pl.Int64, "survival": pl.Float64,
    "lower": pl.Float64, "upper": pl.Float64,
}


DAYS_PER_MONTH = 30.4375  # 365.25 / 12
# endpoint origins at an infusion: a population's episodes (infused with product X) restrict them too
_INFUSION_ORIGINS = ("first infusion", "infusion of product", "each infusion", "first response",
                     "first complete response")


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
    time_unit: str = "days", level: float = 0.95,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Curves, at-risk table and log-rank/landmark table for every endpoint x censoring rule.

    Confidence intervals (curves, landmark, follow-up) are at ``level``, the plan's 1 - alpha.

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
                km = kaplan_meier(time, event, level=level)
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
            observed = tte.get(HsctRule.IGNORE.label, frame)
            seen = data.select("patient_id", "episode").join(
                observed.select("patient_id", "episode", "os_days", "os_event"), on=["patient_id", "episode"],
                how="left")
            follow = median_followup(seen["os_days"].to_numpy().astype(float) / scale,
                                     seen["os_event"].to_numpy().astype(bool), level=level)
            row = {"endpoint": endpoint.upper(), "censoring": censoring, "statistic": None, "df": None,
                   "pvalue": None, "landmark_day": landmark_day, "n": data.height,
                   "events": int(data[ecol].sum()), f"median_followup_{time_unit}": float(follow.median)}
            if len(groups) >= 2 and data[ecol].sum() > 0:
                res = logrank(data[tcol].to_numpy().astype(float), data[ecol].to_numpy().astype(bool),
                              data[group_col].to_numpy())
                row.update(statistic=float(res.statistic), df=int(res.df), pvalue=float(res.pvalue))
            row.update(landmark)
            # the landmark's CI at the plan's level (log scale, as R's summary(survfit(...), times = day))
            at_day = landmark_survival(data[tcol].to_numpy().astype(float), data[ecol].to_numpy().astype(bool),
                                       data[group_col].cast(pl.String).to_numpy(), landmark_day, level=level)
            for g, lo, hi in at_day.select("group", "lower", "upper").iter_rows():
                row[f"landmark_ci_{g}"] = f"{100 * lo:.1f}-{100 * hi:.1f}%" if lo == lo and hi == hi else None
            tests.append(row)
    curves_df = pl.concat(curves) if curves else pl.DataFrame(schema={**_CURVE_SCHEMA, "time_unit": pl.String})
    at_risk_df = pl.concat(at_risk) if at_risk else None
    tests_df = pl.DataFrame(tests) if tests else None
    return curves_df, at_risk_df, tests_df


# --------------------------------------------------------------------------- endpoints x populations

_ENDPOINT_CURVE_SCHEMA = {"population": pl.String, **_CURVE_SCHEMA, "time_unit": pl.String}
_SUMMARY_SCHEMA = {
    "population": pl.String, "population_n": pl.Int64, "primary": pl.Boolean, "endpoint": pl.String,
    "label": pl.String, "origin": pl.String, "censoring": pl.String, "group": pl.String, "n": pl.Int64,
    "events": pl.Int64, "median": pl.Float64, "median_lower": pl.Float64, "median_upper": pl.Float64,
    "time_unit": pl.String,
}
_TEST_SCHEMA = {
    "population": pl.String, "population_n": pl.Int64, "primary": pl.Boolean, "endpoint": pl.String,
    "origin": pl.String, "censoring": pl.String, "group_by": pl.String, "n": pl.Int64, "events": pl.Int64,
    "logrank_statistic": pl.Float64, "logrank_df": pl.Int64, "logrank_pvalue": pl.Float64,
    "comparison": pl.String, "reference": pl.String, "hr": pl.Float64, "hr_lower": pl.Float64,
    "hr_upper": pl.Float64, "hr_pvalue": pl.Float64, "note": pl.String,
}
_TIMES_SCHEMA = {
    "population": pl.String, "endpoint": pl.String, "patient_id": pl.String, "episode": pl.Int64,
    "group": pl.String, "origin_date": pl.Date, "date": pl.Date, "days": pl.Int64, "event": pl.Boolean,
    "status": pl.Int64, "reason": pl.String,
}


def response_dates(study: Study, assessments: pl.DataFrame) -> pl.DataFrame:
    """patient_id, episode, date, response (best-response label) of every post-infusion assessment with a
    response (derive.response's ``assessments``), for the first-response origins and "no response by day N"."""
    from cartkit.response.best_response import bor_label_expr

    if assessments is None or assessments.height == 0:
        return pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "date": pl.Date,
                                    "response": pl.String})
    return assessments.filter((pl.col("day") >= 1) & pl.col("response").is_not_null()).join(
        study.infusions.select("patient_id", "episode", "infusion_date"), on=["patient_id", "episode"], how="inner"
    ).select("patient_id", "episode", (pl.col("infusion_date") + pl.duration(days=pl.col("day"))).alias("date"),
             bor_label_expr(pl.col("response")).alias("response"))


def _group_column(study: Study, endpoint) -> str | None:
    if endpoint.group_by is not None:
        return endpoint.group_by
    arms = study.patients["arm"] if "arm" in study.patients.columns else None
    return "arm" if arms is not None and arms.drop_nulls().n_unique() >= 2 else None


def _reference(study: Study, group_col: str, groups: list[str], asked: str | None) -> str:
    """The group hazard ratios are relative to: the endpoint's ``reference``; by default the arm with the
    smallest share of infused patients (the control arm of a CAR-T vs standard-of-care trial), else the first."""
    if asked is not None and asked in groups:
        return asked
    if group_col != "arm":
        return groups[0]
    infused = study.infusions.select("patient_id").unique().with_columns(__inf=pl.lit(1))
    share = study.patients.select("patient_id", pl.col("arm").cast(pl.String)).join(
        infused, on="patient_id", how="left").group_by("arm").agg(pl.col("__inf").fill_null(0).mean())
    share = share.filter(pl.col("arm").is_in(groups)).sort("__inf", "arm")
    return share["arm"][0] if share.height else groups[0]


def endpoint_analysis(study: Study, populations: list, assessments: pl.DataFrame | None, level: float = 0.95
                      ) -> tuple[dict[str, pl.DataFrame | None], list[str]]:
    """Every ``[[plan.endpoint]]`` on every population it names (all by default): Kaplan-Meier curves and
    medians per group, the log-rank test and the Cox hazard ratio (Efron ties) of each group against the
    reference, by arm when the study has arms (``group_by`` otherwise). Returns the tables
    ``endpoint_times``, ``endpoint_curves``, ``endpoint_summary``, ``endpoint_tests`` and notes.

    A competing HSCT (``hsct = "competing"``) is a censoring in these cause-specific estimates; patients
    without the endpoint's origin (no randomisation date, never infused ...) are left out, and a note says
    how many of the population that was. Confidence intervals are at ``level``, the plan's 1 - alpha."""
    from cartkit.analysis.formatting import confidence_label
    from cartkit.survival import cox, kaplan_meier, logrank
    from cartkit.survival.events import endpoint_times

    responses = response_dates(study, assessments)
    times, curves, summary, tests, notes = [], [], [], [], []
    for endpoint in study.plan.endpoints:
        tte = endpoint_times(study, endpoint, responses)
        group_col = _group_column(study, endpoint)
        if group_col is None:
            tte = tte.with_columns(group=pl.lit("All"))
        elif group_col == "product":
            tte = tte.with_columns(group=pl.col("product"))
        else:
            tte = tte.join(study.patients.select("patient_id", pl.col(group_col).cast(pl.String).alias("group")),
                           on="patient_id", how="left")
        scale = DAYS_PER_MONTH if endpoint.time_unit == "months" else 1.0
        wanted = set(endpoint.populations)
        for pop in populations:
            if wanted and pop.name not in wanted:
                continue
            data = tte.join(pop.patients, on="patient_id", how="semi")
            if endpoint.origin in _INFUSION_ORIGINS:
                data = data.join(pop.episodes.select("patient_id", "episode"), on=["patient_id", "episode"], how="semi")
            left_out = pop.n - data["patient_id"].n_unique()
            if left_out:
                why = f"without a time origin ({_origin_text(endpoint)})"
                if endpoint.hsct == HsctRule.EXCLUDE:
                    why += " or transplanted after it (exclude HSCT patients)"
                notes.append(f"{endpoint.name} on {pop.describe()}: {left_out} patient(s) {why} left out.")
            data = data.drop_nulls(["days", "group"])
            times.append(data.select(pl.lit(pop.name).alias("population"), pl.lit(endpoint.name).alias("endpoint"),
                                     "patient_id", "episode", "group", "origin_date", "date", "days", "event",
                                     "status", "reason"))
            base = {"population": pop.name, "population_n": pop.n, "primary": pop.primary, "endpoint": endpoint.name}
            if data.height == 0:
                notes.append(f"{endpoint.name} on {pop.describe()}: no patient has the time origin; not analysed.")
                continue
            groups = sorted(data["group"].unique().to_list())
            t_all = data["days"].to_numpy().astype(float) / scale
            e_all = data["event"].to_numpy().astype(bool)
            for group in groups:
                mask = (data["group"] == group).to_numpy()
                km = kaplan_meier(t_all[mask], e_all[mask], level=level)
                body = km.table.select(
                    pl.col("time").cast(pl.Float64), pl.col("n_risk").cast(pl.Int64), pl.col("n_event").cast(pl.Int64),
                    pl.col("n_censor").cast(pl.Int64), pl.col("survival").cast(pl.Float64),
                    pl.col("lower").cast(pl.Float64), pl.col("upper").cast(pl.Float64))
                start = pl.DataFrame({"time": [0.0], "n_risk": [int(mask.sum())], "n_event": [0], "n_censor": [0],
                                      "survival": [1.0], "lower": [1.0], "upper": [1.0]}, schema=body.schema)
                curves.append(pl.concat([start, body]).with_columns(
                    population=pl.lit(pop.name), endpoint=pl.lit(endpoint.name),
                    censoring=pl.lit(endpoint.hsct.label), group=pl.lit(str(group)),
                    time_unit=pl.lit(endpoint.time_unit)).select(list(_ENDPOINT_CURVE_SCHEMA)))
                summary.append({**base, "label": endpoint.title, "origin": _origin_text(endpoint),
                                "censoring": endpoint.hsct.label, "group": str(group), "n": int(mask.sum()),
                                "events": int(e_all[mask].sum()), "median": float(km.median),
                                "median_lower": float(km.median_ci[0]), "median_upper": float(km.median_ci[1]),
                                "time_unit": endpoint.time_unit})
            row = {**base, "origin": _origin_text(endpoint), "censoring": endpoint.hsct.label,
                   "group_by": group_col, "n": data.height, "events": int(e_all.sum()), "note": None}
            if len(groups) < 2:
                tests.append({**row, "note": "one group: no comparison"})
                continue
            if e_all.sum() == 0:
                tests.append({**row, "note": "no events: no comparison"})
                continue
            lr = logrank(t_all, e_all, data["group"].to_numpy())
            row.update(logrank_statistic=float(lr.statistic), logrank_df=int(lr.df), logrank_pvalue=float(lr.pvalue))
            reference = _reference(study, group_col, groups, endpoint.reference)
            others = [g for g in groups if g != reference]
            design = pl.DataFrame({"time": t_all, "event": e_all.astype(float)}).with_columns(
                [pl.Series(f"__g{i}", (data["group"] == g).cast(pl.Float64)) for i, g in enumerate(others)])
            try:
                fit = cox(design, "time", "event", [f"__g{i}" for i in range(len(others))], level=level)
            except ValueError as exc:  # no events in a group's risk set, a constant covariate ...
                tests.append({**row, "comparison": None, "reference": reference, "note": f"Cox model: {exc}"})
                continue
            for i, g in enumerate(others):
                tests.append({**row, "comparison": f"{g} vs {reference}", "reference": reference,
                              "hr": float(fit.hr[i]), "hr_lower": float(fit.ci[i, 0]), "hr_upper": float(fit.ci[i, 1]),
                              "hr_pvalue": float(fit.pvalues[i]),
                              "note": f"Cox proportional hazards, Efron ties; Wald {confidence_label(level)} CI"})
    out = {
        "endpoint_times": pl.concat(times) if times else None,
        "endpoint_curves": pl.concat(curves) if curves else None,
        "endpoint_summary": pl.DataFrame(summary, schema=_SUMMARY_SCHEMA) if summary else None,
        "endpoint_tests": pl.DataFrame(tests, schema=_TEST_SCHEMA) if tests else None,
    }
    return out, notes


def _origin_text(endpoint) -> str:
    return f"infusion of {endpoint.product}" if endpoint.product else endpoint.origin
