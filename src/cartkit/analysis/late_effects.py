"""Named neurotoxicities and second primary malignancies after CAR-T (docs/criteria.md "Late effects").

* Movement and neurocognitive toxicity (MNT, parkinsonism) and cranial nerve palsy, the neurotoxicities
  apart from ICANS described after BCMA CAR-T (Cohen AD et al., Blood Cancer J 2022;12:32): the
  adverse-event rows with these terms, each with its grade and onset day.
* Second primary malignancies (follow-up events ``second_malignancy``), T-cell malignancies apart
  (``t_cell_malignancy``; FDA class-wide boxed warning on T-cell malignancies after BCMA- and
  CD19-directed CAR-T, 2024), with the day from the patient's first infusion and the type as recorded.
"""

from __future__ import annotations

import polars as pl

KEYS = ["patient_id", "episode"]
NEUROTOXICITIES = ("movement and neurocognitive toxicity", "cranial nerve palsy")
MALIGNANCIES = ("second_malignancy", "t_cell_malignancy")


def named_neurotoxicities(adverse_events: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """patient_id, episode, product, diagnosis, event, grade, onset_day."""
    return (
        adverse_events.filter(pl.col("term").is_in(list(NEUROTOXICITIES))).join(groups, on=KEYS, how="inner")
        .select(*KEYS, "product", "diagnosis", pl.col("term").alias("event"), pl.col("grade").cast(pl.Int64),
                pl.col("onset_day").cast(pl.Int64))
        .sort("event", "product", "diagnosis", *KEYS)
    )


def neurotoxicity_summary(listing: pl.DataFrame, groups: pl.DataFrame, products, diseases) -> pl.DataFrame:
    """product, diagnosis, event, n (episodes with it), N (episodes), n_grade3, onset_median/_min/_max."""
    cells = pl.DataFrame([(p, d, e) for e in NEUROTOXICITIES for p in products for d in diseases],
                         schema={"product": pl.String, "diagnosis": pl.String, "event": pl.String}, orient="row")
    n = groups.group_by("product", "diagnosis").agg(pl.len().cast(pl.Int64).alias("N"))
    counted = listing.group_by("product", "diagnosis", "event").agg(
        pl.struct(KEYS).n_unique().cast(pl.Int64).alias("n"),
        pl.struct(KEYS).filter(pl.col("grade") >= 3).n_unique().cast(pl.Int64).alias("n_grade3"),
        pl.col("onset_day").median().alias("onset_median"), pl.col("onset_day").min().alias("onset_min"),
        pl.col("onset_day").max().alias("onset_max"))
    return (cells.join(n, on=["product", "diagnosis"], how="left")
            .join(counted, on=["product", "diagnosis", "event"], how="left")
            .with_columns(pl.col("n", "n_grade3", "N").fill_null(0))
            .select("product", "diagnosis", "event", "n", "N", "n_grade3", "onset_median", "onset_min", "onset_max"))


def second_malignancies(events: pl.DataFrame, infusions: pl.DataFrame, patients: pl.DataFrame) -> pl.DataFrame:
    """patient_id, diagnosis, kind, day (from the patient's first infusion), detail, products (received
    before it, "; "-joined)."""
    spm = events.filter(pl.col("kind").is_in(list(MALIGNANCIES)) & pl.col("date").is_not_null())
    received = spm.select("patient_id", "date").unique().join(
        infusions.select("patient_id", "infusion_date", "product"), on="patient_id", how="inner").filter(
        pl.col("infusion_date") <= pl.col("date")).sort("infusion_date").group_by("patient_id", "date").agg(
        pl.col("infusion_date").first().alias("_first"), pl.col("product").unique(maintain_order=True)
        .str.join("; ").alias("products"))
    return (spm.join(received, on=["patient_id", "date"], how="inner")
            .join(patients.select("patient_id", "diagnosis"), on="patient_id", how="left")
            .select("patient_id", "diagnosis", "kind",
                    (pl.col("date") - pl.col("_first")).dt.total_days().cast(pl.Int64).alias("day"),
                    "detail", "products")
            .sort("kind", "patient_id", "day"))


def malignancy_summary(listing: pl.DataFrame, infused: pl.DataFrame, patients: pl.DataFrame, diseases) -> pl.DataFrame:
    """diagnosis, kind, n (patients), N (infused patients of the disease), day_median/_min/_max."""
    n_by = (infused.select("patient_id").unique().join(patients.select("patient_id", "diagnosis"), on="patient_id")
            .group_by("diagnosis").agg(pl.len().cast(pl.Int64).alias("N")))
    cells = pl.DataFrame([(d, k) for d in diseases for k in MALIGNANCIES],
                         schema={"diagnosis": pl.String, "kind": pl.String}, orient="row")
    counted = listing.group_by("diagnosis", "kind").agg(
        pl.col("patient_id").n_unique().cast(pl.Int64).alias("n"), pl.col("day").median().alias("day_median"),
        pl.col("day").min().alias("day_min"), pl.col("day").max().alias("day_max"))
    return (cells.join(n_by, on="diagnosis", how="left").join(counted, on=["diagnosis", "kind"], how="left")
            .with_columns(pl.col("n", "N").fill_null(0))
            .select("diagnosis", "kind", "n", "N", "day_median", "day_min", "day_max"))
