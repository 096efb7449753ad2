"""Time-to-event endpoints from a study's records: PFS and OS from a patient's index CAR-T infusion.

One row per patient: a patient contributes once to each endpoint, however many
infusions they had (counting episodes would count a patient, and their death,
once per infusion). Time zero is the index infusion: the patient's first CAR-T
infusion, or with ``from_product`` (``plan.survival.from_product``) their first
infusion of that product; patients never given it are left out. The row keeps
the index infusion's ``episode`` and ``product``. Every end point is
traceable: ``pfs_reason``/``os_reason`` name the record it came from, e.g.
"events: progression 2019-05-03", "censored: last contact 2019-09-30",
"censored: HSCT 2019-07-01 (allogeneic)", "censored: data cut-off 2020-06-30",
"censored: next infusion (episode 2) 2019-04-02".

Rules (the seed: "PFS and OS ... Kaplan-Meier"; survival reported "in patients
who did not receive allo-HSCT", hence ``censor_at_hsct``):

* PFS event: the first progression or relapse dated after the infusion, or
  death on or after it. OS event: death on or after the infusion.
* PFS from the index infusion ends at the patient's next CAR-T infusion: a
  progression before it is the event; without one, PFS is censored at the
  next infusion (a new therapy: what follows belongs to the next product).
  OS is not censored there.
* ``censor_at_hsct``: both endpoints are censored at the first HSCT on or
  after the infusion (an event on the HSCT day still counts).
* The same engine (``endpoint_times``) runs every ``[[plan.endpoint]]``: another origin
  (enrolment, leukapheresis, randomisation, each infusion, first response), other event and
  censoring kinds, "no response by day N" and the HSCT rule as one enum (study/plan_endpoint.py).
* Records dated after the data cut-off (``cutoff``, default
  ``study.meta.data_cutoff``) are ignored; a patient with a record after the
  cut-off is censored at the cut-off.
* Otherwise censored at the patient's last record (normally the
  ``last_contact`` event; else the latest dated record of any kind).
* When an event and a censoring fall on the same day the event counts.

Everything is computed with Polars joins over whole tables (no per-patient loop).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from cartkit.survival.kaplan_meier import kaplan_meier, survival_data

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from cartkit.study.model import Study
    from cartkit.study.plan_endpoint import EndpointPlan, HsctRule

PFS_EVENT_KINDS = ("progression", "relapse")
KEY = ("patient_id", "episode")
_LABEL = {"last_contact": "last contact", "hsct": "HSCT", "new_therapy": "new therapy"}


def _reason(prefix: object, kind: object, date: object, detail: object) -> pl.Expr:
    import polars as pl

    text = pl.concat_str([prefix, kind, pl.lit(" "), date.dt.to_string("%Y-%m-%d")])
    return pl.when(detail.is_not_null() & (detail != "")).then(
        pl.concat_str([text, pl.lit(" ("), detail, pl.lit(")")])
    ).otherwise(text)


def time_to_event(study: Study, from_product: str | None = None, censor_at_hsct: bool = True,
                  cutoff: dt.date | None = None, hsct: HsctRule | None = None) -> pl.DataFrame:
    """PFS and OS per patient from the index infusion, with the record behind each end point (module docs).

    ``[plan.survival]`` as two endpoints (``cartkit.study.plan_endpoint.survival_endpoints``) run by
    ``endpoint_times``: PFS ended at the next infusion, both under the HSCT rule ``hsct`` (by default
    ``censor`` or ``ignore`` as ``censor_at_hsct`` says).

    Columns: patient_id, episode, product, infusion_date, pfs_date, pfs_days, pfs_event, pfs_reason,
    os_date, os_days, os_event, os_reason.
    """
    import polars as pl

    from cartkit.study.model import SurvivalPlan
    from cartkit.study.plan_endpoint import survival_endpoints

    infusions = study.tables.get("infusions")
    if infusions is None or infusions.height == 0:
        raise ValueError("time_to_event: the study has no infusions")
    out = None
    for endpoint in survival_endpoints(SurvivalPlan(from_product=from_product, censor_at_hsct=censor_at_hsct)):
        if hsct is not None:
            endpoint = replace(endpoint, hsct=hsct)
        name = endpoint.name.lower()
        t = endpoint_times(study, endpoint, cutoff=cutoff).select(
            *KEY, "product", pl.col("origin_date").alias("infusion_date"),
            *[pl.col(c).alias(f"{name}_{c}") for c in ("date", "days", "event", "reason")])
        out = t if out is None else out.join(t.drop("product", "infusion_date"), on=list(KEY), how="left")
    return out.sort(KEY)


@dataclass(frozen=True)
class FollowUp:
    """Median follow-up by the reverse Kaplan-Meier method (Schemper & Smith 1996, Control Clin Trials 17:343)."""

    median: float
    median_ci: tuple[float, float]
    n: int
    method: str = "reverse Kaplan-Meier"


def median_followup(time: object, event: object, conf_type: str = "log", level: float = 0.95) -> FollowUp:
    """Median follow-up: Kaplan-Meier of the censoring times (events become censorings and vice versa).

    Same as R's ``quantile(survfit(Surv(time, 1 - event) ~ 1, conf.type=conf_type), 0.5)``:
    the median and its confidence interval (``median_ci``; NaN where a limit is
    not reached, R's NA), by R's rule applied to the pointwise limits of the curve.
    """
    t, e = survival_data(time, event, "median_followup")
    km = kaplan_meier(t, 1.0 - e, conf_type=conf_type, level=level)
    return FollowUp(km.median, km.median_ci, int(np.size(t)))


# --------------------------------------------------------------------------- endpoints ([[plan.endpoint]])

_UNIT = "__unit"


def _origins(study: Study, endpoint: EndpointPlan, inf: pl.DataFrame, responses: pl.DataFrame | None) -> pl.DataFrame:
    """One row per unit of analysis: __unit, patient_id, episode, product, origin_date, next_date, next_episode."""
    import polars as pl

    from cartkit.study import plan_endpoint as pe

    origin = endpoint.origin
    none_int, none_str = pl.lit(None, dtype=pl.Int64), pl.lit(None, dtype=pl.String)
    if origin in pe.ORIGIN_COLUMNS:
        org = study.patients.select("patient_id", origin_date=pl.col(pe.ORIGIN_COLUMNS[origin])).drop_nulls(
            "origin_date").select("patient_id", none_int.alias("episode"), none_str.alias("product"), "origin_date")
    elif origin in (pe.FIRST_RESPONSE, pe.FIRST_COMPLETE_RESPONSE):
        given = responses if responses is not None else pl.DataFrame(
            schema={"patient_id": pl.String, "episode": pl.Int64, "date": pl.Date, "response": pl.String})
        which = "responder" if origin == pe.FIRST_RESPONSE else "complete"
        org = _by_own_rule(given, study.patients, which).join(
            inf.select("patient_id", "episode", "product"), on=["patient_id", "episode"], how="left"
        ).sort("patient_id", "date", "episode").unique("patient_id", keep="first", maintain_order=True).select(
            "patient_id", "episode", "product", pl.col("date").alias("origin_date"))
    else:
        org = inf
        if origin == pe.INFUSION_OF_PRODUCT:
            products = sorted(inf["product"].unique().to_list())
            if endpoint.product not in products:
                raise ValueError(f"time_to_event: from_product {endpoint.product!r} is not a product of this study "
                                 f"(products: {products})")
            org = org.filter(pl.col("product") == endpoint.product)
        if origin != pe.EACH_INFUSION:  # the earliest (first by episode on the same day) of those left
            org = org.sort("patient_id", "infusion_date", "episode").unique("patient_id", keep="first",
                                                                            maintain_order=True)
        org = org.select("patient_id", "episode", "product", pl.col("infusion_date").alias("origin_date"),
                         "next_date", "next_episode")
    if "next_date" not in org.columns:  # the first CAR-T infusion after a milestone or a response
        after = org.join(inf.select("patient_id", pl.col("infusion_date").alias("next_date"),
                                    pl.col("episode").alias("next_episode")), on="patient_id", how="inner")
        after = after.filter(pl.col("next_date") > pl.col("origin_date")).sort("next_date", "next_episode")
        first = after.group_by("patient_id", "origin_date").first().select(
            "patient_id", "origin_date", "next_date", "next_episode")
        org = org.join(first, on=["patient_id", "origin_date"], how="left")
    return org.sort("patient_id", "origin_date", "episode", nulls_last=True).with_row_index(_UNIT).with_columns(
        pl.col(_UNIT).cast(pl.Int64))


def endpoint_times(study: Study, endpoint: EndpointPlan, responses: pl.DataFrame | None = None,
                   cutoff: dt.date | None = None) -> pl.DataFrame:
    """One endpoint (``[[plan.endpoint]]``, study/plan_endpoint.py) per unit of analysis: each patient with
    the endpoint's origin (each infusion with origin "each infusion").

    Columns: patient_id, episode (the origin's infusion or response episode; null for a milestone),
    product, origin_date, date, days, event (bool), status (0 censored, 1 event, 2 competing HSCT),
    kind (what ended follow-up: the event kind - "death", "relapse", "no response by day 28" ... - or the
    censoring: "HSCT", "last contact" ...), reason (the record behind the end point, as ``time_to_event``). ``responses`` (patient_id, episode,
    date, response as best-response labels) feeds the first-response origins and "no response by day N".
    """
    import polars as pl

    from cartkit.study.plan_endpoint import HsctRule

    infusions, events = study.tables.get("infusions"), study.tables.get("events")
    if events is None:
        raise ValueError("time_to_event: the study has no events table")
    if cutoff is None:
        cutoff = study.meta.data_cutoff
    inf = infusions.select("patient_id", "episode", "product", "infusion_date").sort(KEY)
    missing = inf.filter(pl.col("infusion_date").is_null())
    if missing.height:
        raise ValueError(f"time_to_event: infusions without infusion_date: {missing.select(KEY).rows()[:5]}")
    inf = inf.with_columns(
        next_date=pl.col("infusion_date").shift(-1).over("patient_id", order_by="episode"),
        next_episode=pl.col("episode").shift(-1).over("patient_id", order_by="episode"),
    )
    org = _origins(study, endpoint, inf, responses)
    ev = events.select(
        "patient_id", "kind", "date",
        (pl.col("detail") if "detail" in events.columns else pl.lit(None)).cast(pl.String).alias("detail"),
    )
    undated = ev.filter(pl.col("date").is_null())
    if undated.height:
        raise ValueError(f"time_to_event: events without a date: {undated.select('patient_id', 'kind').rows()[:5]}")

    # the patient's last record (any event, infusion or milestone), before cut-off filtering
    patients = study.tables.get("patients")
    milestones = [c for c in ("enrolment_date", "leukapheresis_date", "randomisation_date")
                  if patients is not None and c in patients.columns]
    records = pl.concat([  # one query from the records to each patient's last one
        ev.lazy().select("patient_id", "kind", "date"),
        infusions.lazy().select("patient_id", pl.lit("infusion").alias("kind"),
                                pl.col("infusion_date").alias("date")),
        *[patients.lazy().select("patient_id", pl.lit(c.removesuffix("_date")).alias("kind"), pl.col(c).alias("date"))
          .drop_nulls("date") for c in milestones],
    ])
    # latest record per patient; on a tie prefer the last_contact record, which names the follow-up
    last = (
        records.with_columns(pref=(pl.col("kind") == "last_contact").cast(pl.Int8))
        .sort("patient_id", "date", "pref")
        .group_by("patient_id")
        .last()
        .select("patient_id", pl.col("kind").alias("last_kind"), pl.col("date").alias("last_date"))
        .collect()
    )
    if cutoff is not None:
        ev = ev.filter(pl.col("date") <= cutoff)
        late = org.filter(pl.col("origin_date") > cutoff)
        if late.height:
            raise ValueError(f"time_to_event: origins after the data cut-off {cutoff}: "
                             f"{late.select('patient_id', 'origin_date').rows()[:5]}")
    pairs = org.join(ev, on="patient_id", how="inner")
    start = pl.col("origin_date")
    after, on_or_after = pl.col("date") > start, pl.col("date") >= start
    hsct = endpoint.hsct
    follow = org.join(last, on="patient_id", how="left")
    beyond = pl.lit(cutoff is not None) & (pl.col("last_date") > pl.lit(cutoff, dtype=pl.Date))
    follow = follow.with_columns(
        follow_date=pl.max_horizontal(
            pl.when(beyond).then(pl.lit(cutoff, dtype=pl.Date)).otherwise(pl.col("last_date")), "origin_date"),
        follow_kind=pl.when(beyond).then(pl.lit("data cut-off"))
        .when(pl.col("last_kind") == "last_contact").then(pl.lit("last contact"))
        .otherwise(pl.format("last record ({})", pl.col("last_kind"))),
    )

    def rows(frame: pl.DataFrame, kind: pl.Expr, status: int, priority: int, prefix: str,
             date: pl.Expr | None = None, detail: pl.Expr | None = None) -> pl.DataFrame:
        return frame.select(
            _UNIT, (date if date is not None else pl.col("date")).alias("date"), kind.alias("kind"),
            (detail if detail is not None else pl.lit(None, dtype=pl.String)).alias("detail"),
            pl.lit(status, dtype=pl.Int64).alias("status"), pl.lit(priority, dtype=pl.Int64).alias("priority"),
            pl.lit(prefix).alias("prefix"))

    is_event = pl.col("kind").is_in(list(endpoint.events)) & pl.when(pl.col("kind") == "death").then(
        on_or_after).otherwise(after)
    cand = [rows(pairs.filter(is_event), pl.col("kind"), 1, 0, "events: ", detail=pl.col("detail"))]
    if hsct in (HsctRule.CENSOR, HsctRule.COMPETING):
        status, prefix = (0, "censored: ") if hsct == HsctRule.CENSOR else (2, "competing event: ")
        cand.append(rows(pairs.filter((pl.col("kind") == "hsct") & on_or_after), pl.lit("HSCT"), status, 1, prefix,
                         detail=pl.col("detail")))
    if endpoint.censor_at:
        stop = pairs.filter(pl.col("kind").is_in(list(endpoint.censor_at)) & after)
        cand.append(rows(stop, pl.col("kind").replace(_LABEL), 0, 1, "censored: ", detail=pl.col("detail")))
    if endpoint.end_at_next_infusion:
        cand.append(rows(org.filter(pl.col("next_date").is_not_null()),
                         pl.format("next infusion (episode {})", pl.col("next_episode")), 0, 2, "censored: ",
                         date=pl.col("next_date")))
    cand.append(rows(follow, pl.col("follow_kind"), 0, 3, "censored: ", date=pl.col("follow_date")))
    if endpoint.no_response_by_day is not None:
        # observation ends at the first end date (HSCT, a censor_at kind, the next infusion) or the last record
        ends = pl.concat(cand[1:], how="vertical").group_by(_UNIT).agg(pl.col("date").min().alias("end_date"))
        cand.append(_no_response(study, org, pairs.filter(is_event), ends, responses, endpoint, rows))
    first = pl.concat(cand, how="vertical").lazy().sort(_UNIT, "date", "priority").group_by(_UNIT).first().collect()
    out = org.join(first, on=_UNIT, how="left")
    if hsct == HsctRule.EXCLUDE:  # everyone transplanted after the origin is left out
        transplanted = pairs.filter((pl.col("kind") == "hsct") & on_or_after).select(_UNIT).unique()
        out = out.join(transplanted, on=_UNIT, how="anti")
    return out.select(
        "patient_id", "episode", "product", "origin_date", "date",
        (pl.col("date") - pl.col("origin_date")).dt.total_days().cast(pl.Int64).alias("days"),
        (pl.col("status") == 1).alias("event"), "status", "kind",
        _reason(pl.col("prefix"), pl.col("kind"), pl.col("date"), pl.col("detail")).alias("reason"),
    ).sort("patient_id", "origin_date", "episode", nulls_last=True)


def _no_response(study: Study, org: pl.DataFrame, events: pl.DataFrame, ends: pl.DataFrame,
                 responses: pl.DataFrame | None, endpoint: EndpointPlan, rows) -> pl.DataFrame:
    """"No response by day N" events: no response by the ORR rule of the patient's own disease
    (best_response.toml ``[orr]``) within N days of the origin, for a unit observed to day N (``ends``: the
    first end date of its observation, censoring or competing HSCT included, on or after day N) or with an
    event before day N and not after its end date; dated at the origin or on day N (``no_response_event_at``).
    A unit whose observation ends before day N without an event is censored there whichever the dating: its
    response by day N is not known (docs/plan.md, "Endpoints")."""
    import polars as pl

    day = int(endpoint.no_response_by_day)
    by = pl.col("origin_date") + pl.duration(days=day)
    responded = pl.DataFrame(schema={_UNIT: pl.Int64})
    if responses is not None and responses.height:
        hits = org.join(_by_own_rule(responses, study.patients, "responder"), on="patient_id")
        responded = hits.filter((pl.col("date") > pl.col("origin_date")) & (pl.col("date") <= by)).select(
            _UNIT).unique()
    failed_early = events.join(ends, on=_UNIT, how="left").filter(
        (pl.col("date") < by) & (pl.col("date") <= pl.col("end_date"))).select(_UNIT).unique()
    reached = org.join(ends, on=_UNIT, how="left").filter(pl.col("end_date") >= by).select(_UNIT)
    evaluable = pl.concat([failed_early, reached]).unique()
    failures = org.join(evaluable, on=_UNIT, how="semi").join(responded, on=_UNIT, how="anti")
    date = pl.col("origin_date") if endpoint.no_response_event_at == "origin" else by
    return rows(failures, pl.lit(f"no response by day {day}"), 1, 0, "events: ", date=date)


def _by_own_rule(responses: pl.DataFrame, patients: pl.DataFrame | None, which: str) -> pl.DataFrame:
    """The rows of ``responses`` (patient_id, ..., response as best-response labels) that are a response
    (``which`` "responder") or a complete response ("complete") by the ``[orr]`` rule of the patient's own
    disease (best_response.toml: lymphoma CR + PR, B-ALL CR + CRi, myeloma PR or better, CLL CR + CRi + nPR +
    PR; complete: lymphoma CR, B-ALL CR + CRi, myeloma sCR + CR, CLL CR + CRi). A B-ALL PR is not a response; a
    patient whose diagnosis is of no family with an [orr] rule has none."""
    import polars as pl

    from cartkit.response.best_response import orr_membership
    from cartkit.study.vocabulary import DIAGNOSES

    if patients is None or "diagnosis" not in patients.columns:
        return responses.clear()
    family = patients.select("patient_id", pl.col("diagnosis").replace_strict(
        DIAGNOSES, default=None, return_dtype=pl.String).alias("__family"))
    flags = orr_membership().filter(pl.col(which)).select(pl.col("family").alias("__family"),
                                                          pl.col("best_response").alias("response"))
    return responses.join(family, on="patient_id", how="inner").join(
        flags, on=["__family", "response"], how="semi").drop("__family")
