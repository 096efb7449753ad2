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

    # one sort and one group-by for all groups (was a Polars query per group): each group's values are a
    # slice of the sorted column, in their order in ``values`` (a stable sort), so means and SDs are the same
    keys = ("product", "analyte", "day")
    ordered = values.select(*keys, "value").sort(*keys, maintain_order=True)
    bounds = ordered.with_row_index("_start").group_by(*keys, maintain_order=True).agg(
        pl.col("_start").first(), pl.len().alias("_n"))
    column = ordered["value"].cast(pl.Float64)
    all_values, present = column.to_numpy(), column.is_not_null().to_numpy()
    rows = []
    for product, analyte, day, start, n in bounds.iter_rows():
        x = all_values[start:start + n][present[start:start + n]]
        if x.size == 0:
            continue
        d = describe(x, quantile_method)
        rows.append((product, analyte, int(day), int(x.size), float(d.median), float(d.q1), float(d.q3),
                     float(d.mean), float(d.sd)))
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row").sort("analyte", "product", "day")
