"""Treatment of CRS and ICANS: tocilizumab, corticosteroids and other anti-cytokine drugs.

Read from the ``support`` table (one row per drug given on a day). Per product and drug: how
many episodes and patients received it, how many days it was given, the total dose per treated
episode and the day of the first dose (days from that episode's infusion). Doses are summed
within one agent and unit only: corticosteroids are listed per agent (methylprednisolone,
dexamethasone ...), since their doses are not interchangeable without an equivalence table.
"""

from __future__ import annotations

import polars as pl

# support kinds summarised here (study.vocabulary "support_kind") and how they are printed
TREATMENTS: dict[str, str] = {
    "tocilizumab": "Tocilizumab",
    "steroid": "Corticosteroid",
    "anakinra": "Anakinra",
    "siltuximab": "Siltuximab",
}

SCHEMA = {"product": pl.String, "treatment": pl.String, "agent": pl.String, "episodes": pl.Int64,
          "episodes_treated": pl.Int64, "patients": pl.Int64, "patients_treated": pl.Int64,
          "administrations": pl.Int64, "days_given_median": pl.Float64, "days_given_min": pl.Int64,
          "days_given_max": pl.Int64, "dose_unit": pl.String, "total_dose_median": pl.Float64,
          "total_dose_min": pl.Float64, "total_dose_max": pl.Float64, "first_day_median": pl.Float64,
          "first_day_min": pl.Int64, "first_day_max": pl.Int64}


def toxicity_treatment(support: pl.DataFrame | None, groups: pl.DataFrame, products) -> pl.DataFrame:
    """One row per product, treatment and agent that was given (empty when none was)."""
    if support is None or support.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    given = support.filter(pl.col("kind").is_in(list(TREATMENTS)) & pl.col("day").is_not_null())
    if given.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    agent = pl.col("agent").cast(pl.String) if "agent" in given.columns else pl.lit(None, pl.String)
    dose = pl.col("dose").cast(pl.Float64) if "dose" in given.columns else pl.lit(None, pl.Float64)
    unit = pl.col("dose_unit").cast(pl.String) if "dose_unit" in given.columns else pl.lit(None, pl.String)
    given = given.join(groups.select("patient_id", "episode", "product"), on=["patient_id", "episode"],
                       how="inner").select(
        "patient_id", "episode", "product",
        pl.col("kind").replace_strict(TREATMENTS, return_dtype=pl.String).alias("treatment"),
        pl.coalesce(agent.str.to_lowercase(), pl.col("kind")).alias("agent"),
        pl.col("day").cast(pl.Int64), dose.alias("dose"), unit.alias("dose_unit"))
    per_episode = given.group_by("product", "treatment", "agent", "patient_id", "episode").agg(
        administrations=pl.len(),
        days_given=pl.col("day").n_unique(),
        first_day=pl.col("day").min(),
        # a total only where every dose of the episode is known and in one unit
        total_dose=pl.when(pl.col("dose").is_not_null().all() & (pl.col("dose_unit").n_unique() == 1)
                           & pl.col("dose_unit").is_not_null().all()).then(pl.col("dose").sum()),
        dose_unit=pl.when(pl.col("dose_unit").n_unique() == 1).then(pl.col("dose_unit").first())
        .otherwise(pl.lit("mixed units")),
    )
    denominators = groups.group_by("product").agg(episodes=pl.len(), patients=pl.col("patient_id").n_unique())
    summary = per_episode.group_by("product", "treatment", "agent").agg(
        episodes_treated=pl.len(),
        patients_treated=pl.col("patient_id").n_unique(),
        administrations=pl.col("administrations").sum(),
        days_given_median=pl.col("days_given").median(),
        days_given_min=pl.col("days_given").min(),
        days_given_max=pl.col("days_given").max(),
        dose_unit=pl.when(pl.col("dose_unit").n_unique() == 1).then(pl.col("dose_unit").first())
        .otherwise(pl.lit("mixed units")),
        total_dose_median=pl.col("total_dose").median(),
        total_dose_min=pl.col("total_dose").min(),
        total_dose_max=pl.col("total_dose").max(),
        first_day_median=pl.col("first_day").median(),
        first_day_min=pl.col("first_day").min(),
        first_day_max=pl.col("first_day").max(),
    ).join(denominators, on="product", how="left")
    order = {p: i for i, p in enumerate(products)}
    kinds = {t: i for i, t in enumerate(TREATMENTS.values())}
    return summary.with_columns(
        _p=pl.col("product").replace_strict(order, default=len(order), return_dtype=pl.Int64),
        _t=pl.col("treatment").replace_strict(kinds, return_dtype=pl.Int64),
    ).sort("_p", "_t", "agent").select(
        [pl.col(c).cast(t) for c, t in SCHEMA.items()])
