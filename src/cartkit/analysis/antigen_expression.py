"""Target antigens on the malignant cells before each CAR-T product (seed Figure 1).

The seed shows flow cytometry of CD19 and CD22 on the malignant B cells of its six B-ALL
patients: high CD19 before the CD19 product; normal or low CD19 with high CD22 before the CD22
product (antigen escape after CD19 CAR-T). The records carry it as ``assessments.cd19_pct`` and
``cd22_pct`` (% of malignant cells positive). Per episode, the value of the last assessment on
or before the day of infusion is the expression "before" that product.
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.patient_order import patient_number

# assessment column -> antigen, in the schema's order (study.schema ASSESSMENTS)
ANTIGEN_COLUMNS: dict[str, str] = {"cd19_pct": "CD19", "cd22_pct": "CD22"}

SCHEMA = {"patient_id": pl.String, "diagnosis": pl.String, "episode": pl.Int64, "product": pl.String,
          "antigen": pl.String, "day": pl.Int64, "pct": pl.Float64}


def antigen_expression(assessments: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """patient_id, diagnosis, episode, product, antigen, day, pct: one row per episode and antigen
    with a value recorded on or before the day of infusion (empty when none is)."""
    cols = [c for c in ANTIGEN_COLUMNS if c in assessments.columns]
    if not cols or assessments.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    before = (
        assessments.filter(pl.col("day").is_not_null() & (pl.col("day") <= 0))
        .select("patient_id", "episode", pl.col("day").cast(pl.Int64), *cols)
        .unpivot(index=["patient_id", "episode", "day"], on=cols, variable_name="column", value_name="pct")
        .filter(pl.col("pct").is_not_null())
        .sort("day")
        .group_by("patient_id", "episode", "column").agg(pl.col("day").last(), pl.col("pct").last())
    )
    return (
        before.join(groups.select("patient_id", "episode", "product", "diagnosis"),
                    on=["patient_id", "episode"], how="inner")
        .with_columns(antigen=pl.col("column").replace_strict(ANTIGEN_COLUMNS, return_dtype=pl.String),
                      pct=pl.col("pct").cast(pl.Float64))
        .with_columns(_k=patient_number())
        .sort("antigen", "episode", "_k", "patient_id")
        .select(list(SCHEMA))
    )
