"""IEC-HS by product and disease (docs/criteria.md "IEC-HS: ASTCT 2023"; derive/iec_hs.py).

``iec_hs_summary``: per product x disease, the episodes, those graded (recorded, or derived with
ferritin and a reference), those with IEC-HS (grade >= 1) and with grade >= 3, and the onset day
(median, range). ``iec_hs_listing``: each episode with IEC-HS, its grade, onset, the features seen at
onset (derived) and the source of the grade.
"""

from __future__ import annotations

import polars as pl

KEYS = ["patient_id", "episode"]


def iec_hs_listing(iec_hs: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    return (
        iec_hs.filter(pl.col("grade") >= 1).join(groups, on=KEYS, how="inner")
        .select(*KEYS, "product", "diagnosis", "grade", "onset_day", "features", "system", "source")
        .sort("product", "diagnosis", "patient_id", "episode")
    )


def iec_hs_summary(iec_hs: pl.DataFrame, groups: pl.DataFrame, products, diseases) -> pl.DataFrame:
    cells = pl.DataFrame([(p, d) for p in products for d in diseases],
                         schema={"product": pl.String, "diagnosis": pl.String}, orient="row")
    per = groups.join(iec_hs.select(*KEYS, "grade", "onset_day", "source"), on=KEYS, how="left")
    onset = pl.col("onset_day").filter(pl.col("grade") >= 1)
    counted = per.group_by("product", "diagnosis").agg(
        pl.len().cast(pl.Int64).alias("episodes"),
        pl.col("grade").is_not_null().sum().cast(pl.Int64).alias("graded"),
        (pl.col("grade") >= 1).sum().cast(pl.Int64).alias("n_any"),
        (pl.col("grade") >= 3).sum().cast(pl.Int64).alias("n_grade3"),
        onset.median().cast(pl.Float64).alias("onset_median"),
        onset.min().cast(pl.Int64).alias("onset_min"),
        onset.max().cast(pl.Int64).alias("onset_max"),
        pl.col("source").filter(pl.col("grade").is_not_null()).unique().sort().str.join("; ").alias("sources"),
    )
    return cells.join(counted, on=["product", "diagnosis"], how="left").with_columns(
        pl.col("episodes", "graded", "n_any", "n_grade3").fill_null(0))
