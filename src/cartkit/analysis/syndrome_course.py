"""Onset and duration of CRS and ICANS by product (the timing the seed's Table 2 does not give).

From the per-episode course of ``derive`` (``Derived.syndrome_course``): the first day graded
>= 1 (onset, days from infusion) and the number of days graded >= 1 (duration; days between
records are not filled in), from the daily grades derived from vital signs, supportive care
and neurological assessments, or the recorded adverse event's onset and resolution days where
no daily grade can be derived (``source`` says which).
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.patient_order import patient_number

SCHEMA = {"product": pl.String, "toxicity": pl.String, "episodes": pl.Int64, "graded": pl.Int64,
          "with_event": pl.Int64, "onset_n": pl.Int64, "onset_median": pl.Float64, "onset_min": pl.Int64,
          "onset_max": pl.Int64, "duration_n": pl.Int64, "duration_median": pl.Float64,
          "duration_min": pl.Int64, "duration_max": pl.Int64, "systems": pl.String, "sources": pl.String}


def syndrome_course_listing(course: pl.DataFrame | None, groups: pl.DataFrame) -> pl.DataFrame | None:
    """Per episode: patient_id, episode, product, diagnosis, toxicity, grade, onset_day, duration_days,
    system, source (None when derive gave no course)."""
    if course is None:
        return None
    return (groups.select("patient_id", "episode", "product", "diagnosis")
            .join(course, on=["patient_id", "episode"], how="inner")
            .with_columns(_k=patient_number())
            .sort("toxicity", "episode", "_k", "patient_id").drop("_k"))


def syndrome_course_summary(listing: pl.DataFrame, products) -> pl.DataFrame:
    """Per product and syndrome: episodes, graded, with the event (grade >= 1), onset and duration
    as median (min-max) over the episodes with the event."""
    event = pl.col("grade") >= 1
    out = listing.group_by("product", "toxicity").agg(
        episodes=pl.len(),
        graded=pl.col("grade").is_not_null().sum(),
        with_event=event.sum(),
        onset_n=pl.col("onset_day").filter(event).is_not_null().sum(),
        onset_median=pl.col("onset_day").filter(event).median(),
        onset_min=pl.col("onset_day").filter(event).min(),
        onset_max=pl.col("onset_day").filter(event).max(),
        duration_n=pl.col("duration_days").filter(event).is_not_null().sum(),
        duration_median=pl.col("duration_days").filter(event).median(),
        duration_min=pl.col("duration_days").filter(event).min(),
        duration_max=pl.col("duration_days").filter(event).max(),
        systems=pl.col("system").filter(event).drop_nulls().unique().sort().str.join(", "),
        sources=pl.col("source").filter(event).drop_nulls().unique().sort().str.join(", "),
    )
    order = {p: i for i, p in enumerate(products)}
    return out.with_columns(
        _p=pl.col("product").replace_strict(order, default=len(order), return_dtype=pl.Int64)
    ).sort("toxicity", "_p").select([pl.col(c).cast(t) for c, t in SCHEMA.items()])
