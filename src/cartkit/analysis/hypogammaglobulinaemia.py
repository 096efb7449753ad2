"""Hypogammaglobulinaemia and immunoglobulin replacement after CAR-T (docs/criteria.md "Hypogammaglobulinaemia").

Per episode: the baseline IgG (last value on or before day 0), the nadir after the infusion (day >= 1)
and its day, whether the nadir is below the plan's ``igg_below_mg_dl`` (400 mg/dL by default: the
EBMT/EHA best-practice threshold for immunoglobulin replacement, Hayden PJ et al., Ann Oncol
2022;33:259), and immunoglobulin replacement (support kind ``immunoglobulin``: IVIG or SCIG) from day 0
on, with its first day and number of administrations.
"""

from __future__ import annotations

import polars as pl

KEYS = ["patient_id", "episode"]


def igg_episodes(measurements: pl.DataFrame, support: pl.DataFrame | None, threshold: float) -> pl.DataFrame:
    """patient_id, episode, igg_baseline, igg_nadir, nadir_day, low (bool; null: no IgG after day 0),
    replacement (bool), replacement_first_day, replacement_doses: episodes with an IgG value or a replacement."""
    igg = measurements.filter((pl.col("analyte") == "igg") & pl.col("value").is_not_null() & pl.col("day").is_not_null())
    baseline = igg.filter(pl.col("day") <= 0).sort("day").group_by(KEYS).agg(pl.col("value").last().alias("igg_baseline"))
    after = igg.filter(pl.col("day") >= 1).sort("value", "day").group_by(KEYS).agg(
        pl.col("value").first().alias("igg_nadir"), pl.col("day").first().cast(pl.Int64).alias("nadir_day"))
    out = baseline.join(after, on=KEYS, how="full", coalesce=True)
    if support is not None and support.height:
        ig = support.filter((pl.col("kind") == "immunoglobulin") & (pl.col("day") >= 0)).group_by(KEYS).agg(
            pl.col("day").min().cast(pl.Int64).alias("replacement_first_day"),
            pl.len().cast(pl.Int64).alias("replacement_doses"))
        out = out.join(ig, on=KEYS, how="full", coalesce=True)
    else:
        out = out.with_columns(pl.lit(None, pl.Int64).alias("replacement_first_day"),
                               pl.lit(None, pl.Int64).alias("replacement_doses"))
    return out.with_columns(
        (pl.col("igg_nadir") < threshold).alias("low"),
        pl.col("replacement_doses").is_not_null().alias("replacement"),
        pl.col("replacement_doses").fill_null(0),
    ).select(*KEYS, "igg_baseline", "igg_nadir", "nadir_day", "low", "replacement", "replacement_first_day",
             "replacement_doses").sort(KEYS)


def igg_summary(episodes: pl.DataFrame, groups: pl.DataFrame, products, diseases, threshold: float) -> pl.DataFrame:
    """product, diagnosis, episodes, igg_measured (an IgG after day 0), n_low, n_replacement,
    nadir_median, nadir_min, nadir_max (mg/dL), threshold_mg_dl."""
    cells = pl.DataFrame([(p, d) for p in products for d in diseases],
                         schema={"product": pl.String, "diagnosis": pl.String}, orient="row")
    per = groups.join(episodes, on=KEYS, how="left")
    counted = per.group_by("product", "diagnosis").agg(
        pl.len().cast(pl.Int64).alias("episodes"),
        pl.col("igg_nadir").is_not_null().sum().cast(pl.Int64).alias("igg_measured"),
        pl.col("low").fill_null(False).sum().cast(pl.Int64).alias("n_low"),
        pl.col("replacement").fill_null(False).sum().cast(pl.Int64).alias("n_replacement"),
        pl.col("igg_nadir").median().alias("nadir_median"), pl.col("igg_nadir").min().alias("nadir_min"),
        pl.col("igg_nadir").max().alias("nadir_max"))
    return cells.join(counted, on=["product", "diagnosis"], how="left").with_columns(
        pl.col("episodes", "igg_measured", "n_low", "n_replacement").fill_null(0),
        pl.lit(float(threshold)).alias("threshold_mg_dl"))
