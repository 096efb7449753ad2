"""Response tables: per patient and product, and ORR / CR rates with exact CIs.

ORR counts CR, CRi and PR (Lugano 2014: CMR and PMR); the CR rate counts CR and
CRi, as the seed reports B-ALL responses as "CR/CRi". Confidence intervals are
Clopper-Pearson (exact, as R's ``binom.test``) at the plan's confidence level, 1 - alpha.
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.patient_order import patient_number

RESPONDERS = ("CR", "CRi", "PR", "CMR", "PMR")
COMPLETE = ("CR", "CRi", "CMR")


def response_listing(best: pl.DataFrame, groups: pl.DataFrame, hsct: pl.DataFrame) -> pl.DataFrame:
    """patient_id, diagnosis, episode, product, best_response, response_day, source, relapse_day, hsct."""
    out = groups.join(best, on=["patient_id", "episode"], how="left")
    for col, dtype in (("response_day", pl.Int64), ("source", pl.String), ("relapse_day", pl.Int64)):
        if col not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=dtype).alias(col))
    out = out.join(hsct.select("patient_id", "episode", pl.lit(True).alias("hsct")),
                   on=["patient_id", "episode"], how="left").with_columns(pl.col("hsct").fill_null(False))
    return out.select(
        "patient_id", "diagnosis", "episode", "product", "best_response", "response_day", "source",
        "relapse_day", "hsct",
    ).sort(patient_number(), "patient_id", "episode")


def response_rates(listing: pl.DataFrame, products, diseases, level: float = 0.95) -> pl.DataFrame:
    """ORR and CR rate per product x disease (and "All") with exact CIs at ``level`` (the plan's 1 - alpha)."""
    from cartkit.stats import binomial_ci

    rows = []
    for product in products:
        for disease in [*diseases, "All"]:
            frame = listing.filter(pl.col("product") == product)
            if disease != "All":
                frame = frame.filter(pl.col("diagnosis") == disease)
            n = frame.height
            if n == 0:
                continue
            orr_n = int(frame["best_response"].is_in(list(RESPONDERS)).sum())
            cr_n = int(frame["best_response"].is_in(list(COMPLETE)).sum())
            orr_lo, orr_hi = binomial_ci(orr_n, n, level=level)
            cr_lo, cr_hi = binomial_ci(cr_n, n, level=level)
            rows.append((product, disease, n, orr_n, orr_n / n, orr_lo, orr_hi, cr_n, cr_n / n, cr_lo, cr_hi))
    return pl.DataFrame(
        rows,
        schema={"product": pl.String, "diagnosis": pl.String, "n": pl.Int64, "orr_n": pl.Int64,
                "orr": pl.Float64, "orr_lower": pl.Float64, "orr_upper": pl.Float64, "cr_n": pl.Int64,
                "cr": pl.Float64, "cr_lower": pl.Float64, "cr_upper": pl.Float64},
        orient="row",
    )
