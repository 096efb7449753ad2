"""Allogeneic HSCT after CAR-T, the two ways a reviewer accepts (issue 13 item 7; docs/survival.md):

* **as a competing event** (an endpoint with ``hsct = "competing"``): the cumulative incidence of the
  endpoint's non-fatal events (relapse, progression, "no response by day N" ...) with HSCT and death
  without such an event (non-relapse mortality) as competing events, Aalen-Johansen with the variance
  and Gray's test of ``cmprsk::cuminc`` (``cartkit.survival.cumulative_incidence``). An endpoint whose
  only event is death has death as the cause and HSCT as the one competing event.
* **as a time-dependent covariate** (every endpoint with a transplant after its origin): the Cox model
  ``coxph(Surv(start, stop, event) ~ hsct)`` on the counting-process rows (HSCT switches from 0 to 1 on
  the day of transplant; the endpoint followed past the transplant, i.e. under the ``ignore`` rule),
  its score test (Mantel-Byar) and the Simon-Makuch curves.

Everything here is per (endpoint, population) on the rows ``endpoint_analysis`` selected; the functions
return plain row dicts and frames that ``endpoint_analysis`` concatenates into the result tables
``endpoint_cif``, ``endpoint_cif_tests``, ``endpoint_cif_curves``, ``endpoint_hsct_cox`` and
``endpoint_simon_makuch`` (analysis/results.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.model import Study
    from cartkit.study.plan_endpoint import EndpointPlan

# status codes of the competing-risk analysis (0 censored)
CAUSE, HSCT, DEATH = 1, 2, 3
_KIND_WORDS = {"new_therapy": "new therapy"}


def _words(kinds: list[str]) -> str:
    names = [_KIND_WORDS.get(k, k) for k in kinds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def cause_labels(endpoint: EndpointPlan) -> dict[int, str]:
    """Status code -> what it is, for this endpoint: the cause of interest (its non-fatal events, or death
    when death is its only event), HSCT, and death without the cause (non-relapse mortality)."""
    kinds = [k for k in endpoint.events if k != "death"]
    if endpoint.no_response_by_day is not None:
        kinds.append(f"no response by day {endpoint.no_response_by_day}")
    if not kinds:
        return {CAUSE: "death", HSCT: "HSCT"}
    out = {CAUSE: _words(kinds), HSCT: "HSCT"}
    if "death" in endpoint.events:
        out[DEATH] = f"death without {_words(kinds)}"
    return out


def competing_status(data: pl.DataFrame, endpoint: EndpointPlan) -> np.ndarray:
    """0 censored, 1 the cause, 2 HSCT, 3 death without the cause, from endpoint_times' status and kind."""
    labels = cause_labels(endpoint)
    status = data["status"].to_numpy()
    death = (data["kind"] == "death").to_numpy()
    if DEATH in labels:
        return np.where(status == 1, np.where(death, DEATH, CAUSE), np.where(status == 2, HSCT, 0))
    return np.where(status == 1, CAUSE, np.where(status == 2, HSCT, 0))


def cumulative_incidence_tables(data: pl.DataFrame, endpoint: EndpointPlan, base: dict, scale: float,
                                days: tuple[int, ...], level: float) -> tuple[list[dict], dict, pl.DataFrame | None]:
    """The cause's cumulative incidence at ``days`` per group with its CI (rows), Gray's test (one row),
    and the curves of the cause and of each competing event per group (for the figure)."""
    from cartkit.survival import cumulative_incidence

    labels = cause_labels(endpoint)
    status = competing_status(data, endpoint)
    t = data["days"].to_numpy().astype(float) / scale
    group = data["group"].to_numpy()
    groups = sorted(set(group.tolist()))
    many = len(groups) > 1
    fit = cumulative_incidence(t, status, cause=CAUSE, group=group if many else None, level=level)
    competing = "; ".join(labels[c] for c in sorted(labels) if c != CAUSE)
    times = [d / scale for d in days]
    rows = []
    for g in groups:
        sel = group == g
        at = fit.at(times, g if many else None)
        for day, r in zip(days, at.to_dicts(), strict=True):
            rows.append({**base, "cause": labels[CAUSE], "competing": competing, "group": str(g), "day": int(day),
                         "time": r["time"], "time_unit": endpoint.time_unit, "n": int(sel.sum()),
                         "events": int((status[sel] == CAUSE).sum()),
                         "competing_events": int(((status[sel] != CAUSE) & (status[sel] != 0)).sum()),
                         "estimate": r["estimate"], "variance": r["variance"], "lower": r["lower"],
                         "upper": r["upper"]})
    test = {**base, "cause": labels[CAUSE], "competing": competing, "n": int(t.size),
            "events": int((status == CAUSE).sum()), "statistic": None, "df": None, "pvalue": None,
            "note": "one group: no comparison"}
    if many and fit.test is not None:
        stat = fit.test.statistic
        test.update(statistic=None if stat != stat else float(stat), df=int(fit.test.df),
                    pvalue=None if fit.test.pvalue != fit.test.pvalue else float(fit.test.pvalue),
                    note=f"Gray's test, {fit.test.note}")
    curves = []
    for code, label in labels.items():
        if not (status == code).any():
            continue
        cf = fit if code == CAUSE else cumulative_incidence(t, status, cause=code, group=group if many else None,
                                                              level=level)
        body = cf.table.select(pl.col("group").cast(pl.String), "time", "estimate", "lower", "upper")
        start = pl.DataFrame({"group": [str(g) for g in groups], "time": [0.0] * len(groups),
                              "estimate": [0.0] * len(groups), "lower": [None] * len(groups),
                              "upper": [None] * len(groups)}, schema=body.schema)
        if not many:
            body = body.with_columns(group=pl.lit(str(groups[0])))
        # each curve runs on to its group's last follow-up time (flat after the last event)
        last = body.group_by("group").agg(pl.col("estimate").last())
        end = pl.DataFrame({"group": [str(g) for g in groups],
                            "time": [float(t[group == g].max()) for g in groups]}).join(
            last, on="group", how="left").with_columns(pl.col("estimate").fill_null(0.0), lower=None, upper=None
                                                       ).select(body.columns).cast(body.schema)
        curves.append(pl.concat([start, body, end]).with_columns(
            population=pl.lit(base["population"]), endpoint=pl.lit(base["endpoint"]), curve=pl.lit(label),
            cause=pl.lit(code == CAUSE), time_unit=pl.lit(endpoint.time_unit)))
    if not curves:  # no event of any kind yet: nothing to draw
        return rows, test, None
    curve_frame = pl.concat(curves).select("population", "endpoint", "curve", "cause", "group", "time", "estimate",
                                           "lower", "upper", "time_unit")
    return rows, test, curve_frame


def hsct_days(study: Study, units: pl.DataFrame) -> pl.Series:
    """Days from each unit's origin to its first allogeneic HSCT on or after it (null: none by the cut-off);
    ``units`` has patient_id and origin_date."""
    events = study.events
    cutoff = study.meta.data_cutoff
    hsct = events.filter(pl.col("kind") == "hsct").select("patient_id", pl.col("date").alias("__hsct"))
    if cutoff is not None:
        hsct = hsct.filter(pl.col("__hsct") <= cutoff)
    first = units.select("patient_id", "origin_date").unique().join(hsct, on="patient_id", how="inner").filter(
        pl.col("__hsct") >= pl.col("origin_date")).group_by("patient_id", "origin_date").agg(pl.col("__hsct").min())
    out = units.select("patient_id", "origin_date").join(first, on=["patient_id", "origin_date"], how="left",
                                                         maintain_order="left")
    return (out["__hsct"] - out["origin_date"]).dt.total_days()


def _score_into(row: dict, test, note: str | None) -> str | None:
    """The Mantel-Byar (score) statistic and P into ``row``; when it is undefined (no information at beta = 0:
    no event while patients with and without HSCT were both at risk) they stay empty and ``note`` says so."""
    stat, p = float(test.statistic), float(test.pvalue)
    if np.isfinite(stat) and np.isfinite(p):
        row.update(score_statistic=stat, score_pvalue=p)
        return note
    why = "Mantel-Byar test undefined: no event while patients with and without HSCT were both at risk"
    return "; ".join(x for x in (note, why) if x)


def time_dependent_tables(followed: pl.DataFrame, switch: pl.Series, endpoint: EndpointPlan, base: dict,
                          scale: float, conf_type: str, level: float) -> tuple[dict, pl.DataFrame | None]:
    """HSCT as a time-dependent covariate on the endpoint followed past HSCT (``followed``: its rows under the
    ``ignore`` rule; ``switch``: days to HSCT, null when none): the Cox hazard ratio of HSCT with its CI and
    Mantel-Byar (score) test, and the Simon-Makuch curves."""
    from cartkit.survival import simon_makuch, split_at, time_dependent_cox
    from cartkit.survival.hazard_ratio import MIN_EVENTS_PER_COVARIATE

    days = followed["days"].to_numpy().astype(float)
    keep = days > 0  # time 0 leaves no interval (start, stop] at risk (split_at)
    t = days[keep] / scale
    e = followed["event"].to_numpy().astype(bool)[keep]
    sw = switch.cast(pl.Float64).fill_null(np.nan).to_numpy()[keep] / scale
    n_hsct = int(np.sum(~np.isnan(sw) & (sw < t)))
    row = {**base, "n": int(t.size), "events": int(e.sum()), "n_hsct": n_hsct,
           "events_after_hsct": int(np.sum(e & ~np.isnan(sw) & (sw < t))), "left_out": int((~keep).sum()),
           "hr": None, "hr_lower": None, "hr_upper": None, "hr_pvalue": None, "score_statistic": None,
           "score_pvalue": None, "warning": None, "note": None}
    if row["left_out"]:
        row["note"] = f"{row['left_out']} with follow-up 0 (an event at day 0) left out: no time at risk"
    if t.size == 0 or n_hsct == 0:
        row["note"] = "; ".join(x for x in (row["note"], "no HSCT during follow-up: no time-dependent analysis") if x)
        return row, None
    if e.sum() < MIN_EVENTS_PER_COVARIATE:
        row["warning"] = (f"only {int(e.sum())} events for 1 covariate (fewer than {MIN_EVENTS_PER_COVARIATE}): "
                          "the hazard ratio and its CI are unreliable")
    rows = split_at(t, e, sw)
    switched = ~np.isnan(sw) & (sw < t)
    if not (e & switched).any() or not (e & ~switched).any():
        # no events in one state: no finite estimate (R's coxph coefficient runs off to infinity and it warns);
        # the score (Mantel-Byar) test at 0 is still defined, and fitting would only iterate to the limit
        from cartkit.survival.cox import cox_score_test

        state = "after" if not (e & switched).any() else "before"
        note = f"no events {state} HSCT: hazard ratio not estimable"
        try:
            test = cox_score_test(rows, "stop", "event", ["hsct"], entry="start")
        except ValueError as exc:  # no events at all
            note = f"{note}; score test: {exc}"
        else:
            note = _score_into(row, test, note)
        row["note"] = "; ".join(x for x in (row["note"], note) if x)
    else:
        try:
            fit = time_dependent_cox(t, e, sw, level=level)
        except (ValueError, np.linalg.LinAlgError) as exc:
            row["note"] = "; ".join(x for x in (row["note"], f"Cox model: {exc}") if x)
        else:
            row.update(hr=float(fit.hr[0]), hr_lower=float(fit.ci[0, 0]), hr_upper=float(fit.ci[0, 1]),
                       hr_pvalue=float(fit.pvalues[0]))
            row["note"] = _score_into(row, fit.score, row["note"]) or None
    sm = simon_makuch(rows["start"], rows["stop"], rows["event"], rows["hsct"], conf_type=conf_type, level=level)
    state = {0: "no HSCT", 1: "HSCT"}
    body = sm.table.select(pl.col("state").replace_strict(state, return_dtype=pl.String), "time", "n_risk",
                           "n_event", "n_censor", "survival", "lower", "upper")
    first_switch = float(np.nanmin(np.where(sw < t, sw, np.nan)))
    start = pl.DataFrame({"state": ["no HSCT", "HSCT"], "time": [0.0, max(first_switch, 0.0)],
                          "n_risk": [int((sw > 0).sum() + np.isnan(sw).sum()), None], "n_event": [0, 0],
                          "n_censor": [0, 0], "survival": [1.0, 1.0], "lower": [1.0, 1.0], "upper": [1.0, 1.0]},
                         schema=body.schema)
    curves = pl.concat([start, body]).sort("state", "time", descending=[True, False], maintain_order=True)
    curves = curves.with_columns(population=pl.lit(base["population"]), endpoint=pl.lit(base["endpoint"]),
                                 time_unit=pl.lit(endpoint.time_unit), conf_type=pl.lit(conf_type))
    return row, curves.select("population", "endpoint", "state", "time", "n_risk", "n_event", "n_censor",
                              "survival", "lower", "upper", "time_unit", "conf_type")
