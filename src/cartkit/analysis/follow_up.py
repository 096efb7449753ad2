"""Each patient's status at the end of follow-up: died (and of what), alive at the data cut-off,
or lost to follow-up.

From the ``events`` table: a death event gives the status "died" with its ``detail`` as the cause
of death ("not recorded" when empty). A patient without a death is "alive at cut-off" when the
last contact (or any later event) is on or after the data cut-off, and "lost to follow-up" when the
last news of them is earlier than the cut-off (the listing gives how many days earlier, so a
reader can tell a visit just before the cut-off from a patient gone for months). ``grace_days``
(``[plan.follow_up] lost_grace_days``, study/plan_follow_up.py; default 0) moves that line: last news
within that many days before the cut-off is "alive at cut-off" (the listing still gives the days
before the cut-off). It changes the label only, never the survival censoring. Without a data cut-off
the status is "alive at last contact". A patient with no event at all has "no follow-up recorded".
Days are counted from the patient's first infusion.
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.patient_order import patient_number

STATUSES = ("died", "alive at cut-off", "lost to follow-up", "alive at last contact", "no follow-up recorded")

LISTING_SCHEMA = {"patient_id": pl.String, "diagnosis": pl.String, "status": pl.String,
                  "cause_of_death": pl.String, "last_known_date": pl.Date, "days_from_first_infusion": pl.Int64,
                  "days_before_cutoff": pl.Int64}


def follow_up_listing(events: pl.DataFrame, infusions: pl.DataFrame, patients: pl.DataFrame,
                      cutoff, grace_days: int = 0) -> pl.DataFrame:
    """One row per infused patient (columns LISTING_SCHEMA)."""
    first = infusions.group_by("patient_id").agg(first_date=pl.col("infusion_date").min(),
                                                 last_infusion=pl.col("infusion_date").max())
    dated = events.filter(pl.col("date").is_not_null())
    detail = pl.col("detail").cast(pl.String) if "detail" in dated.columns else pl.lit(None, pl.String)
    deaths = dated.filter(pl.col("kind") == "death").sort("date").group_by("patient_id").agg(
        death_date=pl.col("date").first(), cause_of_death=detail.first())
    latest = dated.group_by("patient_id").agg(last_event=pl.col("date").max())
    cut = pl.lit(cutoff, dtype=pl.Date) if cutoff is not None else pl.lit(None, dtype=pl.Date)
    out = (
        first.join(patients.select("patient_id", "diagnosis"), on="patient_id", how="left")
        .join(deaths, on="patient_id", how="left")
        .join(latest, on="patient_id", how="left")
        .with_columns(last_known_date=pl.coalesce("death_date", "last_event", "last_infusion"))
        .with_columns(
            status=pl.when(pl.col("death_date").is_not_null()).then(pl.lit("died"))
            .when(pl.col("last_event").is_null()).then(pl.lit("no follow-up recorded"))
            .when(cut.is_null()).then(pl.lit("alive at last contact"))
            .when(pl.col("last_known_date") >= cut - pl.duration(days=grace_days)).then(pl.lit("alive at cut-off"))
            .otherwise(pl.lit("lost to follow-up")),
            cause_of_death=pl.when(pl.col("death_date").is_not_null())
            .then(pl.coalesce(pl.col("cause_of_death").str.strip_chars().replace("", None),
                              pl.lit("not recorded"))),
            days_from_first_infusion=(pl.col("last_known_date") - pl.col("first_date")).dt.total_days(),
        )
        .with_columns(days_before_cutoff=pl.when(pl.col("status").is_in(["lost to follow-up", "alive at cut-off"])
                                                 & (pl.col("last_known_date") < cut))
                      .then((cut - pl.col("last_known_date")).dt.total_days()))
        .with_columns(_k=patient_number())
        .sort("_k", "patient_id")
    )
    return out.select([pl.col(c).cast(t) for c, t in LISTING_SCHEMA.items()])


def follow_up_summary(listing: pl.DataFrame, diseases) -> pl.DataFrame:
    """diagnosis (a disease or "All"), status, cause_of_death (deaths by cause; null otherwise), n, N."""
    groups = [(d, listing.filter(pl.col("diagnosis") == d)) for d in diseases] + [("All", listing)]
    order = {s: i for i, s in enumerate(STATUSES)}
    parts = []
    for name, frame in groups:
        if frame.height == 0:
            continue
        parts.append(frame.group_by("status", "cause_of_death").agg(n=pl.len()).with_columns(
            diagnosis=pl.lit(name), N=pl.lit(frame.height, dtype=pl.Int64),
            _s=pl.col("status").replace_strict(order, return_dtype=pl.Int64)).sort("_s", "cause_of_death"))
    if not parts:
        return pl.DataFrame(schema={"diagnosis": pl.String, "status": pl.String, "cause_of_death": pl.String,
                                    "n": pl.Int64, "N": pl.Int64})
    return pl.concat(parts).select("diagnosis", "status", "cause_of_death", pl.col("n").cast(pl.Int64), "N")
