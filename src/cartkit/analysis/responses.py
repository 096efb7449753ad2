"""Response tables: per patient and product, ORR / CR rates with exact CIs, and the categories of
the myeloma (IMWG 2016) and CLL (iwCLL 2018) responses.

ORR and CR rate follow each disease's criteria (``response/criteria/best_response.toml`` [orr]):
lymphoma CR + PR, B-ALL CR + CRi, myeloma PR or better (sCR + CR + VGPR + PR; CR rate sCR + CR), CLL
CR + CRi + nPR + PR (CR rate CR + CRi); the pooled "All" row counts each patient by their own disease.
Confidence intervals are Clopper-Pearson (exact, as R's ``binom.test``) at the plan's
confidence level, 1 - alpha.
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.patient_order import patient_number
from cartkit.response.best_response import FAMILY_NAMES, orr_definitions, orr_membership, orr_text
from cartkit.study.vocabulary import DIAGNOSES


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


def with_response_flags(listing: pl.DataFrame) -> pl.DataFrame:
    """The listing with ``responder`` and ``complete`` by the ORR / CR-rate definition of each
    patient's disease (false without a best response)."""
    flags = orr_membership()
    return (
        listing.with_columns(family=pl.col("diagnosis").replace_strict(DIAGNOSES, default=None))
        .join(flags, on=["family", "best_response"], how="left")
        .with_columns(pl.col("responder").fill_null(False), pl.col("complete").fill_null(False))
    )


def response_rates(listing: pl.DataFrame, products, diseases, level: float = 0.95) -> pl.DataFrame:
    """ORR and CR rate per product x disease (and "All") with exact CIs at ``level`` (the plan's 1 - alpha),
    each patient counted by the ORR / CR-rate definition of their own disease."""
    from cartkit.stats import binomial_ci

    flagged = with_response_flags(listing)
    rows = []
    for product in products:
        for disease in [*diseases, "All"]:
            frame = flagged.filter(pl.col("product") == product)
            if disease != "All":
                frame = frame.filter(pl.col("diagnosis") == disease)
            n = frame.height
            if n == 0:
                continue
            orr_n = int(frame["responder"].sum())
            cr_n = int(frame["complete"].sum())
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


# categories of the disease-specific response tables, best first, and the MRD row each adds
DISEASE_CATEGORIES = {
    "myeloma": (("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"), "MRD-negative CR (10^-5)"),
    "cll": (("CR", "CRi", "nPR", "PR", "PR-L", "SD", "PD"), "CR/CRi with undetectable MRD (10^-4)"),
}


def disease_responses(listing: pl.DataFrame, best: pl.DataFrame) -> pl.DataFrame | None:
    """Best overall response categories of the myeloma and CLL patients by product: criteria, product,
    diagnosis, category, n, N (infused episodes of that product and disease), one row per category of
    the disease's criteria (IMWG 2016: sCR ... PD; iwCLL 2018: CR ... PD), "not evaluable" for episodes
    without a response, and the MRD-negative CR row. None when the study has neither disease."""
    fam = listing.with_columns(family=pl.col("diagnosis").replace_strict(DIAGNOSES, default=None)).filter(
        pl.col("family").is_in(list(DISEASE_CATEGORIES)))
    if fam.height == 0:
        return None
    mrd = best.select("patient_id", "episode", "mrd_negative_cr") if "mrd_negative_cr" in best.columns else None
    if mrd is not None:
        fam = fam.join(mrd, on=["patient_id", "episode"], how="left")
    else:
        fam = fam.with_columns(mrd_negative_cr=pl.lit(None, dtype=pl.Boolean))
    defs = orr_definitions()
    rows = []
    for (family, product, diagnosis), g in fam.group_by(["family", "product", "diagnosis"], maintain_order=True):
        categories, mrd_label = DISEASE_CATEGORIES[family]
        n_total = g.height
        counts = dict(g.group_by("best_response").len().iter_rows())
        for cat in categories:
            if cat in ("nPR", "PR-L") and not counts.get(cat):
                continue  # nPR and PR-L only where a study has them
            rows.append((defs[family]["criteria"], product, diagnosis, cat, counts.get(cat, 0), n_total))
        rows.append((defs[family]["criteria"], product, diagnosis, "not evaluable", counts.get(None, 0), n_total))
        rows.append((defs[family]["criteria"], product, diagnosis, mrd_label,
                     int(g["mrd_negative_cr"].fill_null(False).sum()), n_total))
    return pl.DataFrame(rows, schema={"criteria": pl.String, "product": pl.String, "diagnosis": pl.String,
                                      "category": pl.String, "n": pl.Int64, "N": pl.Int64}, orient="row")


def iwcll_duration_text() -> str:
    """'a derived response counts when it lasts at least 2 months (confirmed at an assessment N days or
    more later); ' from the iwCLL criteria file's [duration], '' when it is not required."""
    from cartkit.response.iwcll import iwcll_criteria

    duration = iwcll_criteria()["duration"]
    if not duration["require"]:
        return ""
    return (f"a derived response counts when it lasts at least 2 months (confirmed at an assessment "
            f"{duration['min_days']} days or more later); ")


def response_methods(families, with_rates: bool) -> tuple[list[str], str]:
    """The Methods' sentences on the myeloma and CLL criteria (one per family present, in
    ``families``), and the ORR / CR-rate definition of every family present ('' without rates)."""
    parts = []
    if "myeloma" in families:
        parts.append(
            "Multiple myeloma: IMWG 2016 (Kumar S et al., Lancet Oncol 2016;17:e328-e346, Table 2): sCR, CR, "
            "VGPR, PR, MR, SD and PD from serum and urine M-protein, free light chains, immunofixation, marrow "
            "plasma cells and plasmacytomas; measurable disease at baseline, PD measured from the nadir, each "
            "category confirmed by two consecutive assessments; MRD-negative CR = CR or sCR with MRD negative at "
            "10^-5 or deeper.")
    if "cll" in families:
        parts.append(
            "CLL: iwCLL 2018 (Hallek M et al., Blood 2018;131:2745-2760, Table 4): CR, CRi, nPR, PR, SD and PD "
            "from lymph nodes, liver and spleen, lymphocyte count (group A) and platelets, haemoglobin, "
            "neutrophils and marrow (group B); PR needs two improved group A parameters and one group B "
            "parameter, PD any one criterion or a Richter transformation; " + iwcll_duration_text()
            + "undetectable MRD below 10^-4.")
    if not with_rates:
        return parts, ""
    orr, cr = orr_text([f for f in FAMILY_NAMES if f in families])
    return parts, f"{orr}; {cr}"
