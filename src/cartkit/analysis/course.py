"""Each patient's course across products, for the swimmer plot (seed Figure 2A).

Days are counted from the patient's first infusion. An episode's bar runs
from its infusion to the next infusion, or to the patient's death, last
contact or the data cut-off.

The rows come in patient and episode order and the marks in patient and day order; the joins keep the
left frame's order, so the same records give the same tables and figure (the myeloma example's swimmer
rows came in another order in every run: Polars' default join order is not fixed). Marks of one day are
in the order the sort gives them (not a stable sort: making it one would reorder the seed's ties).
"""

from __future__ import annotations

import polars as pl


def patient_course(
    infusions: pl.DataFrame, patients: pl.DataFrame, events: pl.DataFrame, listing: pl.DataFrame, cutoff
) -> tuple[pl.DataFrame, pl.DataFrame]:
    first = infusions.group_by("patient_id").agg(pl.col("infusion_date").min().alias("first_date"))
    # end of follow-up: death, else last contact, else the data cut-off
    ends = events.filter(pl.col("kind").is_in(["death", "last_contact"])).group_by("patient_id").agg(
        pl.col("date").max().alias("end_date")
    )
    episodes = (
        infusions.sort("patient_id", "episode")
        .with_columns(pl.col("infusion_date").shift(-1).over("patient_id").alias("next_date"))
        .join(first, on="patient_id", maintain_order="left")
        .join(ends, on="patient_id", how="left", maintain_order="left")
        .join(patients.select("patient_id", "diagnosis"), on="patient_id", how="left", maintain_order="left")
        .with_columns(
            pl.coalesce("next_date", "end_date", pl.lit(cutoff, dtype=pl.Date)).alias("stop_date"),
        )
        .with_columns(
            (pl.col("infusion_date") - pl.col("first_date")).dt.total_days().alias("start_day"),
            (pl.col("stop_date") - pl.col("first_date")).dt.total_days().alias("end_day"),
        )
        .join(listing.select("patient_id", "episode", "best_response", "response_day"),
              on=["patient_id", "episode"], how="left", maintain_order="left")
    )
    swimmer = episodes.select(
        "patient_id", "diagnosis", "episode", "product", "start_day", "end_day", "best_response"
    )
    infusion_marks = episodes.select(
        "patient_id", pl.lit("infusion").alias("kind"), pl.col("start_day").alias("day"),
        pl.col("product").alias("label"),
    )
    response_marks = episodes.filter(pl.col("best_response").is_not_null()).select(
        "patient_id", pl.col("best_response").alias("kind"),
        (pl.col("start_day") + pl.col("response_day").fill_null(0)).alias("day"),
        pl.col("best_response").alias("label"),
    )
    event_marks = events.join(first, on="patient_id", maintain_order="left").select(
        "patient_id", "kind", (pl.col("date") - pl.col("first_date")).dt.total_days().alias("day"),
        pl.coalesce(pl.col("detail"), pl.col("kind")).alias("label"),
    )
    marks = pl.concat([infusion_marks, response_marks, event_marks], how="vertical_relaxed").sort(
        "patient_id", "day"
    )
    return swimmer, marks
