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
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cartkit.survival.kaplan_meier import kaplan_meier, survival_data

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from cartkit.study.model import Study

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
                  cutoff: dt.date | None = None) -> pl.DataFrame:
    """PFS and OS per patient from the index infusion, with the record behind each end point (module docs).

    Columns: patient_id, episode, product, infusion_date, pfs_date, pfs_days, pfs_event, pfs_reason,
    os_date, os_days, os_event, os_reason.
    """
    import polars as pl

    infusions = study.tables.get("infusions")
    events = study.tables.get("events")
    if infusions is None or infusions.height == 0:
        raise ValueError("time_to_event: the study has no infusions")
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
    if from_product is not None:
        products = sorted(inf["product"].unique().to_list())
        if from_product not in products:
            raise ValueError(f"time_to_event: from_product {from_product!r} is not a product of this study "
                             f"(products: {products})")
        inf = inf.filter(pl.col("product") == from_product)
    # the index infusion: the earliest (first by episode on the same day) of those left
    inf = inf.sort("patient_id", "infusion_date", "episode").unique("patient_id", keep="first",
                                                                     maintain_order=True)

    ev = events.select(
        "patient_id",
        "kind",
        "date",
        (pl.col("detail") if "detail" in events.columns else pl.lit(None)).cast(pl.String).alias("detail"),
    )
    undated = ev.filter(pl.col("date").is_null())
    if undated.height:
        raise ValueError(f"time_to_event: events without a date: {undated.select('patient_id', 'kind').rows()[:5]}")

    # the patient's last record (any event or infusion), before cut-off filtering
    records = pl.concat(
        [
            ev.select("patient_id", "kind", "date", "detail"),
            infusions.select(
                "patient_id", pl.lit("infusion").alias("kind"), pl.col("infusion_date").alias("date"),
                pl.lit(None, dtype=pl.String).alias("detail"),
            ),
        ]
    )
    # latest record per patient; on a tie prefer the last_contact record, which names the follow-up
    last = (
        records.with_columns(pref=(pl.col("kind") == "last_contact").cast(pl.Int8))
        .sort("patient_id", "date", "pref")
        .group_by("patient_id")
        .last()
        .select("patient_id", pl.col("kind").alias("last_kind"), pl.col("date").alias("last_date"))
    )
    if cutoff is not None:
        ev = ev.filter(pl.col("date") <= cutoff)
    pairs = inf.join(ev, on="patient_id", how="inner")
    start = pl.col("infusion_date")
    after = pl.col("date") > start
    on_or_after = pl.col("date") >= start

    def candidates(endpoint: str) -> pl.DataFrame:
        event_kinds = (*PFS_EVENT_KINDS, "death") if endpoint == "pfs" else ("death",)
        is_event = pl.col("kind").is_in(event_kinds) & pl.when(pl.col("kind") == "death").then(
            on_or_after).otherwise(after)
        rows = [
            pairs.filter(is_event).select(
                *KEY, "date", "kind", "detail", pl.lit(True).alias("event"), pl.lit(0).alias("priority"),
                pl.lit("events: ").alias("prefix"),
            )
        ]
        if censor_at_hsct:
            rows.append(
                pairs.filter((pl.col("kind") == "hsct") & on_or_after).select(
                    *KEY, "date", pl.lit("HSCT").alias("kind"), "detail", pl.lit(False).alias("event"),
                    pl.lit(1).alias("priority"), pl.lit("censored: ").alias("prefix"),
                )
            )
        if endpoint == "pfs":
            rows.append(
                inf.filter(pl.col("next_date").is_not_null()).select(
                    *KEY, pl.col("next_date").alias("date"),
                    pl.format("next infusion (episode {})", pl.col("next_episode")).alias("kind"),
                    pl.lit(None, dtype=pl.String).alias("detail"), pl.lit(False).alias("event"),
                    pl.lit(2).alias("priority"), pl.lit("censored: ").alias("prefix"),
                )
            )
        follow = inf.join(last, on="patient_id", how="left")
        beyond = pl.lit(cutoff is not None) & (pl.col("last_date") > pl.lit(cutoff, dtype=pl.Date))
        rows.append(
            follow.select(
                *KEY,
                pl.when(beyond).then(pl.lit(cutoff, dtype=pl.Date)).otherwise(pl.col("last_date")).alias("date"),
                pl.when(beyond).then(pl.lit("data cut-off"))
                .when(pl.col("last_kind") == "last_contact").then(pl.lit("last contact"))
                .otherwise(pl.format("last record ({})", pl.col("last_kind"))).alias("kind"),
                pl.lit(None, dtype=pl.String).alias("detail"), pl.lit(False).alias("event"),
                pl.lit(3).alias("priority"), pl.lit("censored: ").alias("prefix"),
            )
        )
        cand = pl.concat([r.with_columns(pl.col("priority").cast(pl.Int64)) for r in rows], how="vertical")
        first = cand.sort(*KEY, "date", "priority").group_by(KEY).first()
        return first.select(
            *KEY,
            pl.col("date").alias(f"{endpoint}_date"),
            pl.col("event").alias(f"{endpoint}_event"),
            _reason(pl.col("prefix"), pl.col("kind"), pl.col("date"), pl.col("detail")).alias(f"{endpoint}_reason"),
        )

    out = inf.select(*KEY, "product", "infusion_date")
    if cutoff is not None:
        late = out.filter(pl.col("infusion_date") > cutoff)
        if late.height:
            raise ValueError(f"time_to_event: infusions after the data cut-off {cutoff}: "
                             f"{late.select(KEY).rows()[:5]}")
    for endpoint in ("pfs", "os"):
        out = out.join(candidates(endpoint), on=list(KEY), how="left")
        out = out.with_columns(
            (pl.col(f"{endpoint}_date") - pl.col("infusion_date")).dt.total_days().cast(pl.Int64)
            .alias(f"{endpoint}_days")
        )
    return out.select(
        *KEY, "product", "infusion_date",
        "pfs_date", "pfs_days", "pfs_event", "pfs_reason",
        "os_date", "os_days", "os_event", "os_reason",
    ).sort(KEY)


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
