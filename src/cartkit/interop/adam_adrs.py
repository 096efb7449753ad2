"""ADRS: response at each assessment (PARAMCD OVR) and best overall response per episode (BOR).

The responses are ``cartkit.derive``'s (``Derived.assessments``, ``Derived.best_response``): at
each assessment the investigator's recorded response and the one cartkit derives from the inputs
(Lugano 2014 PET-CT / CT for lymphoma; CR/CRi/NR for B-ALL), AVALC the one the report analyses
(the recorded one where present). docs/adam.md#adrs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from cartkit.interop.adam_adae import cdisc_day
from cartkit.interop.adam_adsl import yes
from cartkit.interop.adam_write import (
    ASSIGNED,
    COLLECTED,
    DATE,
    DERIVED,
    INTEGER,
    TEXT,
    AdamDataset,
    Variable,
)

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.derive import Derived
    from cartkit.study.model import Study

KEYS = ["patient_id", "episode"]


def criteria_by_family() -> dict[str, str]:
    """Diagnosis family -> the response criteria cartkit derives under, with their source."""
    from cartkit.response.b_all import b_all_criteria
    from cartkit.response.imwg import imwg_criteria
    from cartkit.response.iwcll import iwcll_criteria
    from cartkit.response.lugano import lugano_criteria

    return {"lymphoma": f"Lugano 2014: {lugano_criteria()['source']}",
            "all": f"B-ALL CR/CRi/NR: {b_all_criteria()['source']}",
            "myeloma": f"IMWG 2016: {imwg_criteria()['source']}",
            "cll": f"iwCLL 2018: {iwcll_criteria()['source']}"}


def _randomised_bor(assessments: pl.DataFrame) -> pl.DataFrame:
    """BOR of episode 0 (the randomised treatment, before any CAR-T infusion) per patient: the report's
    control-arm response (``cartkit.analysis.responses.randomised_treatment_best``), dated at the first
    assessment (day >= 1 from randomisation) that reached it."""
    from cartkit.analysis.responses import randomised_treatment_best
    from cartkit.response.best_response import bor_label_expr

    best = randomised_treatment_best(assessments)
    first = (assessments.filter((pl.col("episode") == 0) & (pl.col("day") >= 1))
             .with_columns(best_response=bor_label_expr(pl.col("response")))
             .join(best, on=["patient_id", "best_response"], how="semi")
             .sort("patient_id", "day").unique("patient_id", keep="first", maintain_order=True))
    return first.select(
        *KEYS, pl.lit("BOR").alias("PARAMCD"), pl.lit("Best Overall Response of the Episode").alias("PARAM"),
        pl.col("best_response").alias("AVALC"), pl.lit(None, dtype=pl.String).alias("RECRESP"),
        pl.lit(None, dtype=pl.String).alias("DERRESP"), pl.col("source").alias("ASRC"),
        pl.lit(None, dtype=pl.String).alias("RSMETHOD"), pl.col("day").alias("_day"),
        pl.lit(None, dtype=pl.String).alias("MRDNEGFL"), pl.lit(None, dtype=pl.Int64).alias("RELAPDY"))


def build_adrs(study: Study, derived: Derived, adsl: pl.DataFrame) -> AdamDataset:
    from cartkit.study.vocabulary import DIAGNOSES

    crit = criteria_by_family()
    family = study.patients.select(
        "patient_id",
        pl.col("diagnosis").replace_strict(DIAGNOSES, default=None).replace_strict(crit, default=None)
        .alias("RSCRIT"))
    # each episode's reference date: its infusion; episode 0 (the randomised treatment, assessments dated
    # from randomisation, docs/plan.md "Responses to standard of care") randomisation, its treatment the arm
    inf = study.infusions.select(*KEYS, "product", pl.col("infusion_date").alias("_refdt"))
    if {"arm", "randomisation_date"} <= set(study.patients.columns):
        inf = pl.concat([inf, study.patients.filter(pl.col("randomisation_date").is_not_null()).select(
            "patient_id", pl.lit(0, dtype=inf.schema["episode"]).alias("episode"),
            pl.col("arm").cast(pl.String).alias("product"), pl.col("randomisation_date").alias("_refdt"))],
            how="vertical_relaxed")
    a = derived.assessments.filter(pl.col("response").is_not_null() | pl.col("derived").is_not_null()
                                   | pl.col("recorded").is_not_null())
    ovr = a.select(
        *KEYS, pl.lit("OVR").alias("PARAMCD"), pl.lit("Overall Response at the Assessment").alias("PARAM"),
        pl.col("response").alias("AVALC"), pl.col("recorded").alias("RECRESP"), pl.col("derived").alias("DERRESP"),
        pl.col("source").alias("ASRC"), pl.col("method").alias("RSMETHOD"), pl.col("day").alias("_day"),
        (pl.when(pl.col("mrd_negative").is_null()).then(pl.lit(None, dtype=pl.String))
         .otherwise(yes(pl.col("mrd_negative")))).alias("MRDNEGFL"),
        pl.lit(None, dtype=pl.Int64).alias("RELAPDY"),
    )
    b = derived.best_response.filter(pl.col("best_response").is_not_null())  # episodes with a response
    bor = b.select(
        *KEYS, pl.lit("BOR").alias("PARAMCD"), pl.lit("Best Overall Response of the Episode").alias("PARAM"),
        pl.col("best_response").alias("AVALC"), pl.lit(None, dtype=pl.String).alias("RECRESP"),
        pl.lit(None, dtype=pl.String).alias("DERRESP"), pl.col("source").alias("ASRC"),
        pl.lit(None, dtype=pl.String).alias("RSMETHOD"), pl.col("response_day").alias("_day"),
        (pl.when(pl.col("mrd_negative").is_null()).then(pl.lit(None, dtype=pl.String))
         .otherwise(yes(pl.col("mrd_negative")))).alias("MRDNEGFL"),
        pl.col("relapse_day").cast(pl.Int64).alias("RELAPDY"),
    )
    rows = (pl.concat([ovr, bor, _randomised_bor(derived.assessments)], how="diagonal_relaxed")
            .join(inf, on=KEYS, how="left")
            .join(family, on="patient_id", how="left")
            .sort("patient_id", "episode", "PARAMCD", "_day", nulls_last=True))
    frame = rows.select(
        pl.lit(study.meta.id).alias("STUDYID"), pl.col("patient_id").alias("USUBJID"),
        pl.int_range(1, pl.len() + 1).over("patient_id").cast(pl.Int64).alias("RSSEQ"),
        pl.col("episode").alias("APERIOD"), pl.col("product").alias("TRTA"),
        "PARAMCD", "PARAM", "AVALC", "RECRESP", "DERRESP", "ASRC", "RSMETHOD", "RSCRIT",
        (pl.col("_refdt") + pl.duration(days=pl.col("_day"))).alias("ADT"),
        cdisc_day(pl.col("_day")).alias("ADY"), pl.col("_day").alias("ADYINF"), "MRDNEGFL", "RELAPDY",
    ).join(adsl.select("USUBJID", "ITTFL", "SAFFL"), on="USUBJID", how="left")
    variables = [
        Variable("STUDYID", "Study Identifier", TEXT, ASSIGNED, "study.toml [study] id"),
        Variable("USUBJID", "Unique Subject Identifier", TEXT, COLLECTED, "assessments.patient_id"),
        Variable("RSSEQ", "Sequence Number", INTEGER, DERIVED, "order within the patient"),
        Variable("APERIOD", "Period (CAR-T Episode)", INTEGER, COLLECTED, "assessments.episode"),
        Variable("TRTA", "Actual Treatment", TEXT, COLLECTED,
                 "infusions.product of the episode; episode 0 (randomised treatment): patients.arm"),
        Variable("PARAMCD", "Parameter Code", TEXT, ASSIGNED, "OVR (each assessment), BOR (best of the episode)"),
        Variable("PARAM", "Parameter", TEXT, ASSIGNED, "OVR / BOR"),
        Variable("AVALC", "Analysis Value (C)", TEXT, DERIVED,
                 "the response the report analyses (cartkit.derive.response): recorded where present, else "
                 "derived; BOR: best of the episode (criteria/best_response.toml)"),
        Variable("RECRESP", "Recorded Response", TEXT, COLLECTED, "assessments.response"),
        Variable("DERRESP", "Response Derived by cartkit", TEXT, DERIVED,
                 "Lugano 2014 from Deauville/uptake/new lesions (PET-CT) or lesions (CT); B-ALL CR/CRi/NR from "
                 "blasts, counts and extramedullary disease (cartkit.response)"),
        Variable("ASRC", "Source of AVALC (recorded/derived)", TEXT, DERIVED, "cartkit.derive source"),
        Variable("RSMETHOD", "Assessment Method", TEXT, COLLECTED, "assessments.method"),
        Variable("RSCRIT", "Response Criteria", TEXT, ASSIGNED,
                 "by diagnosis family: " + "; ".join(f"{k}: {v}" for k, v in crit.items())),
        Variable("ADT", "Analysis Date", DATE, DERIVED,
                 "infusion_date + day; episode 0: randomisation_date + day"),
        Variable("ADY", "Analysis Relative Day", INTEGER, DERIVED,
                 "from the episode's infusion (day 1), CDISC; episode 0: from randomisation"),
        Variable("ADYINF", "Day from Infusion (Infusion = Day 0)", INTEGER, COLLECTED,
                 "assessments.day (episode 0: days from randomisation)"),
        Variable("MRDNEGFL", "MRD Negative Flag", TEXT, DERIVED,
                 "MRD below the B-ALL criteria's cut-off (criteria/b_all.toml); empty when not measured"),
        Variable("RELAPDY", "Relapse Day after CR (Infusion = Day 0)", INTEGER, DERIVED,
                 "BOR: first later NR/PD/relapse assessment or event after CR/CRi (cartkit.derive.response)"),
        Variable("ITTFL", "Intent-To-Treat Population Flag", TEXT, DERIVED, "ADSL.ITTFL"),
        Variable("SAFFL", "Safety Population Flag", TEXT, DERIVED, "ADSL.SAFFL"),
    ]
    return AdamDataset("ADRS", "Response Analysis Dataset", "one record per subject per parameter per assessment",
                       frame, variables, keys=("STUDYID", "USUBJID", "APERIOD", "PARAMCD", "ADY", "RSMETHOD"))
