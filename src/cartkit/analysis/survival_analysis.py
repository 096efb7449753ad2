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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from cartkit.analysis.formatting import confidence_label, percent
from cartkit.study.plan_endpoint import HsctRule

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.model import Study
    from cartkit.survival.kaplan_meier import KaplanMeier

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

    # the curves and at-risk rows of every endpoint x censoring x group, as numpy parts stacked once at the end
    curve_parts: list[tuple[dict[str, str], KaplanMeier]] = []
    risk_parts: list[tuple[dict[str, str], list[float], list[int]]] = []
    tests = []
    for censoring, frame in tte.items():
        for endpoint in endpoints:
            tcol, ecol = f"{endpoint}_days", f"{endpoint}_event"
            data = frame.drop_nulls([tcol, ecol, group_col])
            if data.height == 0:
                continue
            ticks = at_risk_ticks(float(data[tcol].max()) / scale, unit=time_unit)
            groups = sorted(data[group_col].unique().to_list())
            all_days = data[tcol].to_numpy().astype(float)
            all_events = data[ecol].to_numpy().astype(bool)
            landmark = {}
            for group in groups:
                in_group = (data[group_col] == group).to_numpy()
                time = all_days[in_group] / scale
                km = kaplan_meier(time, all_events[in_group], level=level)
                labels = {"endpoint": endpoint.upper(), "censoring": censoring, "group": str(group),
                          "time_unit": time_unit}
                curve_parts.append((labels, km))
                risk_parts.append((labels, ticks, [int((time >= t).sum()) for t in ticks]))
                landmark[f"landmark_{group}"] = float(km.survival_at(landmark_day / scale))
                # the median with its CI (log scale, as these tables' curves): quantile(survfit(...), 0.5)
                landmark[f"km_median_{group}"] = float(km.median)
                landmark[f"km_median_lower_{group}"] = float(km.median_ci[0])
                landmark[f"km_median_upper_{group}"] = float(km.median_ci[1])
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
                if len(groups) == 2:
                    row.update(_two_group_hazard_ratio(data[tcol].to_numpy().astype(float) / scale,
                                                       data[ecol].to_numpy().astype(bool),
                                                       data[group_col].cast(pl.String).to_numpy(),
                                                       # the reference as the group strings spell it (a boolean
                                                       # group is "false"/"true" there, str() gives "False")
                                                       pl.Series([groups[0]]).cast(pl.String)[0], level))
            row.update(landmark)
            # the landmark's CI at the plan's level (log scale, as R's summary(survfit(...), times = day))
            at_day = landmark_survival(data[tcol].to_numpy().astype(float), data[ecol].to_numpy().astype(bool),
                                       data[group_col].cast(pl.String).to_numpy(), landmark_day, level=level)
            for g, lo, hi in at_day.select("group", "lower", "upper").iter_rows():
                row[f"landmark_ci_{g}"] = f"{percent(lo)}-{percent(hi)}%" if lo == lo and hi == hi else None
            tests.append(row)
    tests_df = pl.DataFrame(tests) if tests else None
    return stack_curves(curve_parts, {**_CURVE_SCHEMA, "time_unit": pl.String}), _at_risk(risk_parts), tests_df


def _labels(parts: list[dict[str, str]], lengths: list[int]) -> dict[str, pl.Series]:
    """The label columns of stacked parts (``lengths`` rows each): each part's labels on each of its rows."""
    index = pl.Series(np.repeat(np.arange(len(parts)), lengths))
    return {name: pl.Series(name, [p[name] for p in parts], dtype=pl.String).gather(index) for name in parts[0]}


def stack_curves(parts: list[tuple[dict[str, str], KaplanMeier]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Each Kaplan-Meier curve (``parts``: its labels, its fit) from its start (time 0, everyone at risk, S = 1
    with limits 1), then its rows, with its labels: one frame of ``schema``, built once from numpy columns."""
    if not parts:
        return pl.DataFrame(schema=schema)
    tables = [km.table for _, km in parts]
    columns = _labels([labels for labels, _ in parts], [table.height + 1 for table in tables])
    starts = {"time": 0.0, "n_risk": None, "n_event": 0, "n_censor": 0, "survival": 1.0, "lower": 1.0, "upper": 1.0}
    for name, start in starts.items():
        values = [np.r_[[km.n if start is None else start], table[name].to_numpy()]
                  for (_, km), table in zip(parts, tables, strict=True)]
        columns[name] = pl.Series(name, np.concatenate(values)).cast(schema[name])
    return pl.DataFrame([columns[name] for name in schema])


def _at_risk(parts: list[tuple[dict[str, str], list[float], list[int]]]) -> pl.DataFrame | None:
    """The numbers at risk of every curve at its ticks (``parts``: labels, ticks, numbers), one frame."""
    if not parts:
        return None
    columns = _labels([labels for labels, *_ in parts], [len(ticks) for _, ticks, _ in parts])
    columns["time"] = pl.Series("time", [t for _, ticks, _ in parts for t in ticks], dtype=pl.Float64)
    columns["n_risk"] = pl.Series("n_risk", [n for *_, numbers in parts for n in numbers], dtype=pl.Int64)
    return pl.DataFrame([columns[name] for name in ("endpoint", "censoring", "group", "time", "n_risk",
                                                   "time_unit")])


def _two_group_hazard_ratio(time: np.ndarray, event: np.ndarray, group: np.ndarray, reference: str,
                            level: float = 0.95) -> dict:
    """hr, hr_lower, hr_upper, hr_pvalue (Cox, Efron ties, Wald CI at ``level``), hr_comparison and hr_warning (fewer than
    10 events, or a group without events) of the other group against ``reference``: summary(coxph(...)).

    A fit that cannot be made (the model or its data rejected: a singular information matrix, times the
    model does not accept, a reference that is not a group, ...) gives the same keys with no estimate and
    hr_warning "no hazard ratio: <why>", so that the rest of the survival table is still reported."""
    import warnings

    from cartkit.survival.hazard_ratio import FewEventsWarning, hazard_ratio

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewEventsWarning)  # the warning is kept in the row and shown
            res = hazard_ratio(time, event, group, reference=reference, level=level)
    except (ValueError, ArithmeticError) as exc:  # np.linalg.LinAlgError is a ValueError
        others = sorted({str(g) for g in group} - {str(reference)})
        return {"hr": None, "hr_lower": None, "hr_upper": None, "hr_pvalue": None,
                "hr_comparison": f"{' / '.join(others) or '?'} vs {reference}",
                "hr_warning": f"no hazard ratio: the Cox model could not be fitted ({exc})"}
    nan = res.hr != res.hr
    return {"hr": None if nan else res.hr, "hr_lower": None if nan else res.ci[0],
            "hr_upper": None if nan else res.ci[1], "hr_pvalue": None if nan else res.pvalue,
            "hr_comparison": f"{res.group} vs {res.reference}", "hr_warning": res.warning or None}


# --------------------------------------------------------------------------- endpoints x populations

RECOMMENDED = "recommended"
AS_PUBLISHED = "as published"


@dataclass(frozen=True)
class SurvivalConventions:
    """How the survival analyses run (docs/survival.md): ``primary``, the analysis the plan names primary
    ("recommended", cartkit's default, or "as published"; the report shows both); the Kaplan-Meier
    ``conf_type`` of the recommended (endpoint) tables; the confidence ``level``."""

    primary: str
    conf_type: str
    level: float

    @property
    def recommended_primary(self) -> bool:
        return self.primary == RECOMMENDED


def survival_conventions(plan) -> SurvivalConventions:
    """The one place the survival analysis reads which analysis is primary and at what level.

    Both analyses run and the report shows both: the as-published ``[plan.survival]`` tables
    (``survival_analysis``: R's default log-scale Kaplan-Meier CIs, with which the seed's numbers were
    computed) and the recommended endpoint tables (``endpoint_analysis``: log-log CIs, which stay inside
    (0, 1) and cover better at small n, Borgan & Liestol 1990; hazard ratios; HSCT as a competing event and as
    a time-dependent covariate). ``plan.analysis`` ("recommended" or "as_published", docs/plan.md) says
    which one is primary; the level is ``plan.confidence_level`` (1 - alpha).
    """
    named = str(getattr(plan, "analysis", RECOMMENDED) or RECOMMENDED).replace("_", " ").lower()
    level = getattr(plan, "confidence_level", None)
    level = float(level) if level is not None else 1.0 - float(plan.alpha)
    return SurvivalConventions(AS_PUBLISHED if named == AS_PUBLISHED else RECOMMENDED, "log-log", level)


def analysed_endpoints(plan, conventions: SurvivalConventions | None = None) -> tuple:
    """The endpoints of the recommended analysis: the plan's ``[[plan.endpoint]]`` as written; without them,
    ``[plan.survival]``'s PFS and OS translated with the recommended HSCT handling (PFS: HSCT a competing
    event, so that relapse/progression gets its cumulative incidence with HSCT and non-relapse death
    competing; OS: not censored at HSCT, which enters as a time-dependent covariate), reported at
    ``landmark_day``. (``conventions`` is accepted for symmetry with the section; both analyses always run.)"""
    from cartkit.study.plan_endpoint import survival_endpoints

    if plan.endpoints:
        return tuple(plan.endpoints)
    day = (plan.survival.landmark_day,)
    return tuple(replace(e, hsct=HsctRule.COMPETING if e.name == "PFS" else HsctRule.IGNORE, timepoints=day)
                 for e in survival_endpoints(plan.survival))


_ENDPOINT_CURVE_SCHEMA = {"population": pl.String, **_CURVE_SCHEMA, "time_unit": pl.String}
_SUMMARY_SCHEMA = {
    "population": pl.String, "population_n": pl.Int64, "primary": pl.Boolean, "endpoint": pl.String,
    "label": pl.String, "origin": pl.String, "censoring": pl.String, "group": pl.String, "n": pl.Int64,
    "events": pl.Int64, "median": pl.Float64, "median_lower": pl.Float64, "median_upper": pl.Float64,
    "time_unit": pl.String, "conf_type": pl.String,
}
_TEST_SCHEMA = {
    "population": pl.String, "population_n": pl.Int64, "primary": pl.Boolean, "endpoint": pl.String,
    "origin": pl.String, "censoring": pl.String, "group_by": pl.String, "n": pl.Int64, "events": pl.Int64,
    "logrank_statistic": pl.Float64, "logrank_df": pl.Int64, "logrank_pvalue": pl.Float64,
    "comparison": pl.String, "reference": pl.String, "hr": pl.Float64, "hr_lower": pl.Float64,
    "hr_upper": pl.Float64, "hr_pvalue": pl.Float64, "warning": pl.String, "note": pl.String,
}
_BASE_SCHEMA = {"population": pl.String, "population_n": pl.Int64, "primary": pl.Boolean, "endpoint": pl.String}
_CIF_SCHEMA = {
    **_BASE_SCHEMA, "cause": pl.String, "competing": pl.String, "group": pl.String, "day": pl.Int64,
    "time": pl.Float64, "time_unit": pl.String, "n": pl.Int64, "events": pl.Int64, "competing_events": pl.Int64,
    "estimate": pl.Float64, "variance": pl.Float64, "lower": pl.Float64, "upper": pl.Float64,
}
_CIF_TEST_SCHEMA = {
    **_BASE_SCHEMA, "cause": pl.String, "competing": pl.String, "n": pl.Int64, "events": pl.Int64,
    "statistic": pl.Float64, "df": pl.Int64, "pvalue": pl.Float64, "note": pl.String,
}
_HSCT_COX_SCHEMA = {
    **_BASE_SCHEMA, "n": pl.Int64, "events": pl.Int64, "n_hsct": pl.Int64, "events_after_hsct": pl.Int64,
    "left_out": pl.Int64, "hr": pl.Float64, "hr_lower": pl.Float64, "hr_upper": pl.Float64,
    "hr_pvalue": pl.Float64, "score_statistic": pl.Float64, "score_pvalue": pl.Float64, "warning": pl.String,
    "note": pl.String,
}
_TIMES_SCHEMA = {
    "population": pl.String, "endpoint": pl.String, "patient_id": pl.String, "episode": pl.Int64,
    "group": pl.String, "origin_date": pl.Date, "date": pl.Date, "days": pl.Int64, "event": pl.Boolean,
    "status": pl.Int64, "reason": pl.String,
}


def response_dates(study: Study, assessments: pl.DataFrame) -> pl.DataFrame:
    """patient_id, episode, date, response (best-response label) of every post-infusion assessment with a
    response (derive.response's ``assessments``), for the first-response origins and "no response by day N";
    on a randomised study also the control arm's responses to its own treatment (assessments episode 0,
    dated from ``randomisation_date``; docs/plan.md "Responses to standard of care"), so that a ZUMA-7-style
    EFS (no response by day N from randomisation) and the arm's duration of response see them. Episode-0 rows
    of a CAR-T arm's patients are left out, as in the ITT response rates (``populations.control_arm``)."""
    from cartkit.analysis.populations import control_arm
    from cartkit.response.best_response import bor_label_expr

    schema = {"patient_id": pl.String, "episode": pl.Int64, "date": pl.Date, "response": pl.String}
    if assessments is None or assessments.height == 0:
        return pl.DataFrame(schema=schema)
    rows = assessments.filter((pl.col("day") >= 1) & pl.col("response").is_not_null())
    label = bor_label_expr(pl.col("response")).alias("response")
    infused = rows.join(
        study.infusions.select("patient_id", "episode", "infusion_date"), on=["patient_id", "episode"], how="inner"
    ).select("patient_id", "episode", (pl.col("infusion_date") + pl.duration(days=pl.col("day"))).alias("date"),
             label)
    patients = study.patients
    if "randomisation_date" not in patients.columns or "arm" not in patients.columns:
        return infused
    own = rows.filter(pl.col("episode") == 0)
    arms = sorted(patients["arm"].drop_nulls().cast(pl.String).unique().to_list())
    control = control_arm(study, arms) if own.height and len(arms) >= 2 else None
    if control is None:
        return infused
    members = patients.filter(pl.col("arm").cast(pl.String) == control).select(
        "patient_id", "randomisation_date").drop_nulls("randomisation_date")
    randomised = own.join(members, on="patient_id", how="inner").select(
        "patient_id", pl.col("episode").cast(pl.Int64),
        (pl.col("randomisation_date") + pl.duration(days=pl.col("day"))).alias("date"), label)
    return pl.concat([infused.cast(schema), randomised.cast(schema)])


def _group_column(study: Study, endpoint) -> str | None:
    if endpoint.group_by is not None:
        return endpoint.group_by
    arms = study.patients["arm"] if "arm" in study.patients.columns else None
    return "arm" if arms is not None and arms.drop_nulls().n_unique() >= 2 else None


def _reference(study: Study, group_col: str, groups: list[str], asked: str | None) -> str:
    """The group hazard ratios are relative to: by arm, the control arm (the endpoint's ``reference``, else
    the plan's, else the arm with the smallest share of infused patients: ``populations.control_arm``, the
    rule the ITT response rates use too); otherwise the endpoint's ``reference`` when it is a group; else the
    first group."""
    from cartkit.analysis.populations import control_arm

    if group_col == "arm":
        return control_arm(study, groups, asked) or groups[0]
    return asked if asked is not None and asked in groups else groups[0]


def endpoint_analysis(study: Study, populations: list, assessments: pl.DataFrame | None,
                      endpoints: tuple | None = None, conf_type: str = "log", level: float = 0.95,
                      timepoints: tuple[int, ...] = (180,)) -> tuple[dict[str, pl.DataFrame | None], list[str]]:
    """Every endpoint (``endpoints``; default the plan's ``[[plan.endpoint]]``) on every population it names
    (all by default), restricted to its ``diseases``: Kaplan-Meier curves and medians per group (``conf_type``
    CIs at ``level``), the log-rank test and the Cox hazard ratio (Efron ties) of each group against the
    reference, by arm when the study has arms (``group_by`` otherwise), with a warning under 10 events per
    covariate. Returns the tables ``endpoint_times``, ``endpoint_curves``, ``endpoint_summary``,
    ``endpoint_tests``, ``endpoint_cif``, ``endpoint_cif_tests``, ``endpoint_cif_curves``,
    ``endpoint_hsct_cox``, ``endpoint_simon_makuch`` and notes.

    A competing HSCT (``hsct = "competing"``) is a censoring in the Kaplan-Meier (cause-specific) estimates,
    and the endpoint also gets its cumulative incidence with HSCT and death competing, at the endpoint's
    ``timepoints`` (days; ``timepoints`` here when it names none), and Gray's test between groups
    (analysis/hsct_survival.py). Every endpoint with a transplant after its origin gets HSCT as a
    time-dependent covariate (Cox, Simon-Makuch). Patients without the endpoint's origin (no randomisation
    date, never infused ...) are left out, and a note says how many of the population that was."""
    from cartkit.analysis import hsct_survival as hs
    from cartkit.survival import cox, kaplan_meier, logrank
    from cartkit.survival.events import endpoint_times
    from cartkit.survival.hazard_ratio import MIN_EVENTS_PER_COVARIATE

    responses = response_dates(study, assessments)
    times, curves, summary, tests, notes = [], [], [], [], []
    cif, cif_tests, cif_curves, hsct_cox, sm_curves = [], [], [], [], []
    for endpoint in (study.plan.endpoints if endpoints is None else endpoints):
        tte = endpoint_times(study, endpoint, responses)
        followed = tte if endpoint.hsct == HsctRule.IGNORE else endpoint_times(
            study, replace(endpoint, hsct=HsctRule.IGNORE), responses)
        switch = hs.hsct_days(study, followed)
        followed = followed.with_columns(__switch=switch)
        group_col = _group_column(study, endpoint)
        if group_col is None:
            tte = tte.with_columns(group=pl.lit("All"))
        elif group_col == "product":
            tte = tte.with_columns(group=pl.col("product"))
        else:
            tte = tte.join(study.patients.select("patient_id", pl.col(group_col).cast(pl.String).alias("group")),
                           on="patient_id", how="left")
        if endpoint.diseases:
            tte = tte.join(study.patients.filter(pl.col("diagnosis").is_in(list(endpoint.diseases))).select(
                "patient_id"), on="patient_id", how="semi")
        scale = DAYS_PER_MONTH if endpoint.time_unit == "months" else 1.0
        days = endpoint.timepoints or tuple(timepoints)
        wanted = set(endpoint.populations)
        for pop in populations:
            if wanted and pop.name not in wanted:
                continue
            data = tte.join(pop.patients, on="patient_id", how="semi")
            if endpoint.origin in _INFUSION_ORIGINS:
                data = data.join(pop.episodes.select("patient_id", "episode"), on=["patient_id", "episode"], how="semi")
            eligible = pop.patients if not endpoint.diseases else pop.patients.join(
                study.patients.filter(pl.col("diagnosis").is_in(list(endpoint.diseases))).select("patient_id"),
                on="patient_id", how="semi")
            where = pop.describe() + (f", {' and '.join(endpoint.diseases)} only" if endpoint.diseases else "")
            left_out = eligible["patient_id"].n_unique() - data["patient_id"].n_unique()
            if left_out:
                why = f"without a time origin ({_origin_text(endpoint)})"
                if endpoint.hsct == HsctRule.EXCLUDE:
                    why += " or transplanted after it (exclude HSCT patients)"
                notes.append(f"{endpoint.name} on {where}: {left_out} patient(s) {why} left out.")
            data = data.drop_nulls(["days", "group"])
            times.append(data.select(pl.lit(pop.name).alias("population"), pl.lit(endpoint.name).alias("endpoint"),
                                     "patient_id", "episode", "group", "origin_date", "date", "days", "event",
                                     "status", "reason"))
            base = {"population": pop.name, "population_n": pop.n, "primary": pop.primary, "endpoint": endpoint.name}
            if data.height == 0:
                notes.append(f"{endpoint.name} on {where}: no patient has the time origin; not analysed.")
                continue
            groups = sorted(data["group"].unique().to_list())
            t_all = data["days"].to_numpy().astype(float) / scale
            e_all = data["event"].to_numpy().astype(bool)
            for group in groups:
                mask = (data["group"] == group).to_numpy()
                km = kaplan_meier(t_all[mask], e_all[mask], conf_type=conf_type, level=level)
                curves.append(({"population": pop.name, "endpoint": endpoint.name, "censoring": endpoint.hsct.label,
                                "group": str(group), "time_unit": endpoint.time_unit}, km))
                summary.append({**base, "label": endpoint.title, "origin": _origin_text(endpoint),
                                "censoring": endpoint.hsct.label, "group": str(group), "n": int(mask.sum()),
                                "events": int(e_all[mask].sum()), "median": float(km.median),
                                "median_lower": float(km.median_ci[0]), "median_upper": float(km.median_ci[1]),
                                "time_unit": endpoint.time_unit, "conf_type": conf_type})
            if endpoint.hsct == HsctRule.COMPETING:
                rows, test, frame = hs.cumulative_incidence_tables(data, endpoint, base, scale, days, level)
                cif.extend(rows)
                cif_tests.append(test)
                if frame is not None:
                    cif_curves.append(frame)
            if endpoint.hsct != HsctRule.EXCLUDE:
                units = data.select("patient_id", "origin_date")
                past = units.join(followed, on=["patient_id", "origin_date"], how="left", maintain_order="left")
                row, frame = hs.time_dependent_tables(past.drop_nulls("days"), past.drop_nulls("days")["__switch"],
                                                      endpoint, base, scale, conf_type, level)
                if row["n_hsct"]:
                    hsct_cox.append(row)
                    if frame is not None:
                        sm_curves.append(frame)
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
            per_covariate = e_all.sum() / len(others)
            if per_covariate < MIN_EVENTS_PER_COVARIATE:
                row["warning"] = (f"{int(e_all.sum())} events for {len(others)} covariate(s), fewer than "
                                  f"{MIN_EVENTS_PER_COVARIATE} per covariate: the hazard ratio and its CI are unreliable")
            empty = [g for g in groups if not e_all[(data["group"] == g).to_numpy()].any()]
            if empty:
                tests.append({**row, "comparison": None, "reference": reference,
                              "note": f"no events in {empty[0]}: hazard ratio not estimable (infinite)"})
                continue
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
        "endpoint_curves": stack_curves(curves, _ENDPOINT_CURVE_SCHEMA) if curves else None,
        "endpoint_summary": pl.DataFrame(summary, schema=_SUMMARY_SCHEMA) if summary else None,
        "endpoint_tests": pl.DataFrame(tests, schema=_TEST_SCHEMA) if tests else None,
        "endpoint_cif": pl.DataFrame(cif, schema=_CIF_SCHEMA) if cif else None,
        "endpoint_cif_tests": pl.DataFrame(cif_tests, schema=_CIF_TEST_SCHEMA) if cif_tests else None,
        "endpoint_cif_curves": pl.concat(cif_curves) if cif_curves else None,
        "endpoint_hsct_cox": pl.DataFrame(hsct_cox, schema=_HSCT_COX_SCHEMA) if hsct_cox else None,
        "endpoint_simon_makuch": pl.concat(sm_curves) if sm_curves else None,
    }
    return out, notes


def _origin_text(endpoint) -> str:
    return f"infusion of {endpoint.product}" if endpoint.product else endpoint.origin


def _results_table(results, name: str) -> pl.DataFrame | None:
    if results is None:
        return None
    table = results.tables.get(name) if hasattr(results, "tables") else results.get(name)
    return table if table is not None and table.height else None


def survival_methods_text(plan, results=None) -> str:
    """Methods for the survival conventions as run (docs/survival.md): CI type and level, medians, hazard
    ratios and the few-events rule, HSCT as a competing event (Aalen-Johansen, Gray's test) and as a
    time-dependent covariate (counting-process Cox, Mantel-Byar, Simon-Makuch), EFS with no response at day 0."""
    from cartkit.survival.hazard_ratio import MIN_EVENTS_PER_COVARIATE

    conventions = survival_conventions(plan)
    level = confidence_label(conventions.level)
    summary = _results_table(results, "endpoint_summary")
    if results is not None and summary is None:
        why = (getattr(results, "omitted", {}) or {}).get("endpoint_summary")
        return (f"Recommended endpoint analysis not run{': ' + why if why else ''}. The [plan.survival] tables "
                f"use Kaplan-Meier {level} CIs on the log scale (R's survfit default), as published.")
    which = ("the recommended analysis is primary, cartkit's default" if conventions.recommended_primary else
             "the plan names the as published analysis primary")
    parts = [f"Two survival analyses, both reported; {which}. As published: the [plan.survival] tables with "
             f"Kaplan-Meier {level} CIs on the log scale (R's survfit default), with which the published numbers "
             f"were computed. Recommended: Kaplan-Meier {level} CIs on the log-log scale (Borgan & Liestol 1990: "
             "inside (0, 1) and better coverage at small n)."]
    parts.append("Median survival with its CI by R's quantile(survfit) rule (the CI from the pointwise limits); "
                 f"Cox hazard ratios of each group against the reference (Efron ties) with Wald {level} CIs, "
                 "and the log-rank test; a hazard ratio from fewer than "
                 f"{MIN_EVENTS_PER_COVARIATE} events per covariate is reported with a warning (Peduzzi et al. 1995).")
    endpoints = analysed_endpoints(plan, conventions)
    competing = [e for e in endpoints if e.hsct == HsctRule.COMPETING]
    if competing:
        from cartkit.analysis.hsct_survival import cause_labels

        causes = "; ".join(f"{e.name}: {cause_labels(e)[1]} (competing: "
                           f"{', '.join(v for k, v in cause_labels(e).items() if k != 1)})" for e in competing)
        parts.append("Allogeneic HSCT as a competing event: cumulative incidence by the Aalen-Johansen estimator "
                     f"({causes}), variance as R's cmprsk::cuminc, {level} CIs on the log(-log) scale; Gray's "
                     "test (rho = 0) between groups; the Kaplan-Meier estimates of these endpoints are "
                     "cause-specific (censored at HSCT).")
    if endpoints and any(e.hsct != HsctRule.EXCLUDE for e in endpoints):
        parts.append("HSCT as a time-dependent covariate (0 before, 1 from the day of transplant; an event on "
                     "that day counts before it), on each endpoint followed past HSCT: counting-process Cox model "
                     f"(R coxph(Surv(start, stop, event) ~ hsct), Efron ties, Wald {level} CI), the Mantel-Byar "
                     "(score) test, and Simon-Makuch curves; patients with follow-up 0 have no time at risk and "
                     "are left out of it.")
    no_response = [e for e in endpoints if e.no_response_by_day is not None]
    for e in no_response:
        at = "day 0" if e.no_response_event_at == "origin" else f"day {e.no_response_by_day}"
        parts.append(f"{e.title}: no response by day {e.no_response_by_day} counts as an event at {at}"
                     + (f" ({', '.join(e.diseases)} only)" if e.diseases else "") + ".")
    return " ".join(parts)
