"""The CAR-T products as infused: dose, transduction efficiency and cells harvested, by product.

The seed reports them in its Results ("mean anti-CD19-CAR transduction efficiency 47.18 +/-
17.43%", "infused 2.09 +/- 0.17 x 10^6 cells/kg in DLBCL") as mean +/- SD per product and
disease; median (IQR) and range are given beside them, with the plan's quantile definition.
"""

from __future__ import annotations

import polars as pl

# infusions column -> (label, unit), in the schema's order (study.schema INFUSIONS)
CHARACTERISTICS: dict[str, tuple[str, str]] = {
    "dose_1e6_per_kg": ("CAR-T cells infused", "10^6/kg"),
    "transduction_pct": ("Transduction efficiency", "%"),
    "harvest_1e6_per_kg": ("CAR-T cells harvested", "10^6/kg"),
}

SCHEMA = {"product": pl.String, "diagnosis": pl.String, "characteristic": pl.String, "label": pl.String,
          "unit": pl.String, "episodes": pl.Int64, "n": pl.Int64, "missing": pl.Int64, "mean": pl.Float64,
          "sd": pl.Float64, "median": pl.Float64, "q1": pl.Float64, "q3": pl.Float64, "min": pl.Float64,
          "max": pl.Float64}


def infusion_products(infusions: pl.DataFrame, groups: pl.DataFrame, products, diseases,
                      quantile_method: str) -> pl.DataFrame:
    """Long table: product, diagnosis (a disease or "All"), characteristic, label, unit, episodes, n,
    missing, mean, sd, median, q1, q3, min, max. A characteristic nobody recorded is left out."""
    from cartkit.stats import describe

    cols = [c for c in CHARACTERISTICS if c in infusions.columns and infusions[c].is_not_null().any()]
    data = groups.join(infusions.select("patient_id", "episode", *cols), on=["patient_id", "episode"],
                       how="inner")
    rows = []
    # groups (product x disease) are few: one summary per group and characteristic
    for product in products:
        by_product = data.filter(pl.col("product") == product)
        for disease in (*diseases, "All"):
            frame = by_product if disease == "All" else by_product.filter(pl.col("diagnosis") == disease)
            if frame.height == 0:
                continue
            for col in cols:
                label, unit = CHARACTERISTICS[col]
                x = frame[col].drop_nulls().to_numpy()
                stats = dict.fromkeys(("mean", "sd", "median", "q1", "q3", "min", "max"))
                if x.size:
                    d = describe(x, quantile_method)
                    stats = {"mean": d.mean, "sd": d.sd, "median": d.median, "q1": d.q1, "q3": d.q3,
                             "min": d.min, "max": d.max}
                rows.append({"product": product, "diagnosis": disease, "characteristic": col, "label": label,
                             "unit": unit, "episodes": frame.height, "n": int(x.size),
                             "missing": frame.height - int(x.size), **stats})
    return pl.DataFrame(rows, schema=SCHEMA)
