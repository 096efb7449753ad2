"""Progression-free survival by MRD status at a landmark (``[plan.mrd_landmark]``, docs/survival.md).

A clinician's PFS by MRD status is a landmark analysis (Anderson JR, Cain KC, Gelber RD. J Clin Oncol
1983;1:710-719), as in the MRD meta-analysis of Munshi NC et al. (JAMA Oncol 2017;3:28-35): comparing
patients "ever MRD-negative" with the others from the infusion credits the MRD-negative group with the
time it had to survive, progression-free, to be tested (guarantee-time bias). So:

* the MRD status is fixed at the landmark ``day`` from the tests done on days 1 to ``day`` after the
  endpoint's infusion: MRD-negative if any test by then was negative by the disease's own rule (myeloma:
  IMWG 2016, no clonal plasma cells at a sensitivity of 10^-5 or better, Kumar S et al. Lancet Oncol
  2016;17:e328, Table 2 - a negative result at 10^-4 does not count; CLL: iwCLL 2018, below 10^-4;
  B-ALL: below 0.01%), MRD-positive if tested and never negative, not evaluable if never tested;
* patients whose PFS ended (progression, death, or censoring) on or before the landmark are left out,
  each listed with the reason;
* PFS is counted from the landmark: Kaplan-Meier by group with the median and its CI (the plan's level,
  the recommended log-log CIs), the log-rank test (R's ``survdiff``);
* "not evaluable" is pooled with MRD-positive (``not_evaluable = "positive"``, the comparison
  "MRD-negative vs not") or left out (``"exclude"``).

Each disease with an MRD rule (myeloma, CLL, B-ALL) is analysed on its own; lymphoma has no MRD rule
and is not in these tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.plan_mrd import MrdLandmarkPlan

NEGATIVE = "MRD-negative"
POSITIVE = "MRD-positive"
NOT_EVALUABLE = "not evaluable"
POOLED = "MRD-positive or not evaluable"
MRD_FAMILIES = {"myeloma": "IMWG 2016, 10^-5", "cll": "iwCLL 2018, 10^-4", "all": "< 0.01%"}
MRD_TABLES = ("mrd_landmark_status", "mrd_landmark", "mrd_landmark_curves", "mrd_landmark_at_risk")
_INFUSION_ORIGINS = ("first infusion", "infusion of product", "each infusion")

STATUS_SCHEMA = {
    "patient_id": pl.String, "episode": pl.Int64, "product": pl.String, "diagnosis": pl.String,
    "landmark_day": pl.Int64, "mrd_status": pl.String, "group": pl.String, "first_negative_day": pl.Int64,
    "included": pl.Boolean, "reason": pl.String, "time": pl.Float64, "event": pl.Boolean, "time_unit": pl.String,
}


def mrd_at_landmark(assessments: pl.DataFrame, day: int) -> pl.DataFrame:
    """patient_id, episode, tested (any MRD result on days 1..``day``), negative (any negative by then),
    first_negative_day (the first negative result after the infusion, at any day: the swimmer plot's mark).

    ``assessments``: derive.response's per-assessment table with its ``mrd_negative`` (null without an
    MRD result; the disease's rule already applied)."""
    a = assessments.filter((pl.col("day") >= 1) & pl.col("mrd_negative").is_not_null())
    by = a.filter(pl.col("day") <= day).group_by("patient_id", "episode").agg(
        pl.lit(True).alias("tested"), pl.col("mrd_negative").any().alias("negative"))
    first = a.filter(pl.col("mrd_negative")).group_by("patient_id", "episode").agg(
        pl.col("day").min().cast(pl.Int64).alias("first_negative_day"))
    return by.join(first, on=["patient_id", "episode"], how="full", coalesce=True)


def landmark_times(times: pl.DataFrame, day: int, scale: float) -> pl.DataFrame:
    """``times`` (endpoint_times: patient_id, episode, days, status) with included, reason, time (from the
    landmark, in days / ``scale``) and event (status 1; a competing HSCT, status 2, is censored)."""
    ended = pl.col("days") <= day
    return times.with_columns(
        included=~ended,
        reason=pl.when(ended & (pl.col("status") == 1)).then(pl.format("event on day {} (on or before the landmark)",
                                                                      pl.col("days")))
        .when(ended).then(pl.format("follow-up ended on day {} (on or before the landmark)", pl.col("days")))
        .otherwise(None),
        time=pl.when(~ended).then((pl.col("days") - day) / scale).otherwise(None),
        event=pl.when(~ended).then(pl.col("status") == 1).otherwise(None),
    )


def mrd_landmark_tables(times: pl.DataFrame, assessments: pl.DataFrame, groups: pl.DataFrame,
                        spec: MrdLandmarkPlan, *, time_unit: str = "months", conf_type: str = "log-log",
                        level: float = 0.95) -> dict[str, pl.DataFrame] | str:
    """The tables ``mrd_landmark_status`` (one row per patient), ``mrd_landmark`` (one row per disease and
    group: n, events, median with CI, and the disease's log-rank test), ``mrd_landmark_curves`` and
    ``mrd_landmark_at_risk``; or why there are none (a sentence).

    ``times``: the endpoint's ``endpoint_times`` (an infusion origin); ``groups``: the analysed episodes
    (patient_id, episode, product, diagnosis)."""
    from cartkit.analysis.survival_analysis import DAYS_PER_MONTH, at_risk_ticks
    from cartkit.study.vocabulary import DIAGNOSES
    from cartkit.survival import kaplan_meier, logrank

    day = spec.day
    scale = DAYS_PER_MONTH if time_unit == "months" else 1.0
    fam = pl.col("diagnosis").replace_strict(DIAGNOSES, default=None, return_dtype=pl.String)
    units = times.drop("product", "diagnosis", strict=False).join(
        groups.select("patient_id", "episode", "product", "diagnosis"), on=["patient_id", "episode"], how="inner").filter(fam.is_in(list(MRD_FAMILIES)))
    if not units.height:
        return ("no analysed patient has a disease with an MRD rule (multiple myeloma IMWG 2016, CLL iwCLL 2018, "
                "B-ALL)")
    mrd = mrd_at_landmark(assessments, day)
    if not mrd.height or not mrd["tested"].fill_null(False).any():
        return f"no MRD result on days 1-{day} after the infusion (the landmark, [plan.mrd_landmark] day)"
    status = landmark_times(units, day, scale).join(mrd, on=["patient_id", "episode"], how="left").with_columns(
        mrd_status=pl.when(pl.col("negative").fill_null(False)).then(pl.lit(NEGATIVE))
        .when(pl.col("tested").fill_null(False)).then(pl.lit(POSITIVE)).otherwise(pl.lit(NOT_EVALUABLE)))
    pooled = spec.not_evaluable == "positive"
    status = status.with_columns(
        group=pl.when(pl.col("mrd_status") == NEGATIVE).then(pl.lit(NEGATIVE))
        .when(pl.lit(pooled)).then(pl.lit(POOLED))
        .when(pl.col("mrd_status") == POSITIVE).then(pl.lit(POSITIVE)).otherwise(None),
    ).with_columns(
        reason=pl.when(pl.col("group").is_null()).then(pl.lit("no MRD result by the landmark (plan: not_evaluable "
                                                              "= \"exclude\")")).otherwise(pl.col("reason")),
        included=pl.col("included") & pl.col("group").is_not_null(),
    ).with_columns(pl.lit(day).cast(pl.Int64).alias("landmark_day"), pl.lit(time_unit).alias("time_unit"))
    status = status.with_columns(
        time=pl.when(pl.col("included")).then(pl.col("time")), event=pl.when(pl.col("included")).then(pl.col("event"))
    ).select(list(STATUS_SCHEMA)).cast(STATUS_SCHEMA).sort("diagnosis", "patient_id", "episode")

    summary, curves, at_risk = [], [], []
    for diagnosis in status["diagnosis"].unique(maintain_order=True).to_list():
        d = status.filter(pl.col("diagnosis") == diagnosis)
        kept = d.filter(pl.col("included"))
        labels = [g for g in (NEGATIVE, POOLED if pooled else POSITIVE) if g in set(kept["group"].to_list())]
        test = {"logrank_statistic": None, "logrank_df": None, "logrank_pvalue": None, "note": None}
        if len(labels) == 2 and kept["event"].any():
            lr = logrank(kept["time"].to_numpy(), kept["event"].to_numpy(), kept["group"].to_numpy())
            test.update(logrank_statistic=float(lr.statistic), logrank_df=int(lr.df), logrank_pvalue=float(lr.pvalue))
        else:
            test["note"] = ("one MRD group at the landmark: no comparison" if len(labels) < 2 else
                            "no event after the landmark: no comparison")
        ticks = at_risk_ticks(float(kept["time"].max() or 0.0), unit=time_unit)
        for g in labels:
            sel = kept.filter(pl.col("group") == g)
            t, e = sel["time"].to_numpy().astype(float), sel["event"].to_numpy().astype(bool)
            km = kaplan_meier(t, e, conf_type=conf_type, level=level)
            summary.append({
                "diagnosis": diagnosis, "landmark_day": day, "endpoint": spec.endpoint, "group": g,
                "n_at_landmark": d.height, "n": sel.height, "events": int(e.sum()),
                "median": float(km.median), "median_lower": float(km.median_ci[0]),
                "median_upper": float(km.median_ci[1]), "time_unit": time_unit, "conf_type": conf_type,
                "mrd_rule": MRD_FAMILIES[DIAGNOSES[diagnosis]], **test})
            body = km.table.select(
                pl.col("time").cast(pl.Float64), pl.col("n_risk").cast(pl.Int64), pl.col("n_event").cast(pl.Int64),
                pl.col("n_censor").cast(pl.Int64), pl.col("survival").cast(pl.Float64),
                pl.col("lower").cast(pl.Float64), pl.col("upper").cast(pl.Float64))
            start = pl.DataFrame({"time": [0.0], "n_risk": [sel.height], "n_event": [0], "n_censor": [0],
                                  "survival": [1.0], "lower": [1.0], "upper": [1.0]}, schema=body.schema)
            curves.append(pl.concat([start, body]).with_columns(
                pl.lit(diagnosis).alias("diagnosis"), pl.lit(g).alias("group"), pl.lit(time_unit).alias("time_unit")))
            at_risk.append(pl.DataFrame({"diagnosis": diagnosis, "group": g, "time": ticks,
                                         "n_risk": [int((t >= x).sum()) for x in ticks], "time_unit": time_unit},
                                        schema={"diagnosis": pl.String, "group": pl.String, "time": pl.Float64,
                                                "n_risk": pl.Int64, "time_unit": pl.String}))
    if not summary:
        return f"no patient free of progression and followed beyond the landmark (day {day})"
    order = ["diagnosis", "group", "time", "n_risk", "n_event", "n_censor", "survival", "lower", "upper", "time_unit"]
    return {"mrd_landmark_status": status,
            "mrd_landmark": pl.DataFrame(summary, schema={
                "diagnosis": pl.String, "landmark_day": pl.Int64, "endpoint": pl.String, "group": pl.String,
                "n_at_landmark": pl.Int64, "n": pl.Int64, "events": pl.Int64, "median": pl.Float64,
                "median_lower": pl.Float64, "median_upper": pl.Float64, "time_unit": pl.String,
                "conf_type": pl.String, "mrd_rule": pl.String, "logrank_statistic": pl.Float64,
                "logrank_df": pl.Int64, "logrank_pvalue": pl.Float64, "note": pl.String}),
            "mrd_landmark_curves": pl.concat(curves).select(order),
            "mrd_landmark_at_risk": pl.concat(at_risk)}


def find_endpoint(plan, name: str):
    """The plan's endpoint called ``name`` (case-insensitive): [[plan.endpoint]], else [plan.survival]'s."""
    for e in plan.analysis_endpoints():
        if e.name.lower() == name.lower():
            return e
    return None


def mrd_landmark_section(study, derived, groups: pl.DataFrame, plan) -> dict[str, pl.DataFrame] | str:
    """The section's tables from a study, or why not (``[plan.mrd_landmark]`` absent, no such endpoint ...)."""
    from cartkit.analysis.survival_analysis import response_dates, survival_conventions
    from cartkit.survival.events import endpoint_times

    spec = plan.mrd_landmark
    if spec is None:
        return "the plan asks for no PFS-by-MRD landmark analysis ([plan.mrd_landmark])"
    endpoint = find_endpoint(plan, spec.endpoint)
    if endpoint is None:
        names = ", ".join(e.name for e in plan.analysis_endpoints())
        return f"[plan.mrd_landmark] endpoint \"{spec.endpoint}\" is not one of the plan's endpoints ({names})"
    if endpoint.origin not in _INFUSION_ORIGINS:
        return (f"[plan.mrd_landmark] endpoint \"{endpoint.name}\" starts at {endpoint.origin}: MRD is measured "
                "from an infusion, so the endpoint must start at one")
    if derived.assessments is None or "mrd_negative" not in derived.assessments.columns:
        return "no response assessments with MRD results"
    if study.events.height == 0:
        return "no follow-up events in the study"
    times = endpoint_times(study, endpoint, response_dates(study, derived.assessments))
    conventions = survival_conventions(plan)
    return mrd_landmark_tables(times, derived.assessments, groups, spec, time_unit=endpoint.time_unit,
                               conf_type=conventions.conf_type, level=conventions.level)

