"""Kinetic curves over days 0-28 by product (seed Figures 3 and 6): median, IQR, mean, SD per day.

Groups (product x analyte x day) are few whatever the study size, so the
per-group summary loops over groups, never over measurements.
"""

from __future__ import annotations

import polars as pl

_SCHEMA = {
    "product": pl.String, "analyte": pl.String, "day": pl.Int64, "n": pl.Int64, "median": pl.Float64,
    "q1": pl.Float64, "q3": pl.Float64, "mean": pl.Float64, "sd": pl.Float64,
}


def kinetic_values(measurements: pl.DataFrame, groups: pl.DataFrame, analytes, window) -> pl.DataFrame:
    """Per-patient values of the kinetic analytes within the window, with product and diagnosis."""
    lo, hi = window
    return (
        measurements.filter(pl.col("analyte").is_in(list(analytes)) & pl.col("day").is_between(lo, hi))
        .join(groups, on=["patient_id", "episode"], how="inner")
        .group_by("patient_id", "episode", "product", "diagnosis", "analyte", "day")
        .agg(pl.col("value").mean())
        .sort("analyte", "product", "patient_id", "day")
    )


def kinetic_curves(values: pl.DataFrame, quantile_method: str) -> pl.DataFrame:
    from cartkit.stats import describe

    rows = []
    for (product, analyte, day), frame in values.group_by("product", "analyte", "day"):
        x = frame["value"].drop_nulls().to_numpy()
        if x.size == 0:
            continue
        d = describe(x, quantile_method)
        rows.append((product, analyte, int(day), int(x.size), float(d.median), float(d.q1), float(d.q3),
                     float(d.mean), float(d.sd)))
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row").sort("analyte", "product", "day")
