"""ADPC (CAR-T kinetics profiles) and ADPP (NCA parameters) (docs/adam.md#adpc-and-adpp).

ADPC: one record per CAR-T kinetics measurement (``measurements`` rows of the "kinetics" analytes:
CAR-T cells % of CD3+ by flow cytometry, CAR transgene copies/ug by qPCR), with the time from the
episode's infusion; a sample below the limit has AVAL empty and AVALC its character result (``<10``,
``BLQ``: adam_adlb.AVALC_SOURCE). ADPP: one record per episode, analyte and NCA parameter of ``cartkit.derive``'s
kinetics (``Derived.kinetics``: ``cartkit.kinetics.nca``, PKNCA conventions, the plan's
``kinetic_analytes`` and ``kinetics_window``), with CDISC PPTESTCD codes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from cartkit.interop.adam_adae import cdisc_day
from cartkit.interop.adam_adlb import AVALC_SOURCE
from cartkit.interop.adam_adsl import yes
from cartkit.interop.adam_write import (
    ASSIGNED,
    COLLECTED,
    DATE,
    DERIVED,
    FLOAT,
    INTEGER,
    TEXT,
    AdamDataset,
    Variable,
)

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.derive import Derived
    from cartkit.study.model import Study

KEYS = ["patient_id", "episode"]
# cartkit kinetics analyte -> PARAMCD (no CDISC controlled term names them)
KINETICS_PARAMCD = {"car_t_pct_cd3": "CARTPCT", "car_dna": "CARDNA"}
# NCA column of Derived.kinetics -> (PPTESTCD, PPTEST, unit rule): CDISC PKPARMCD codelist (C85493)
NCA_PARAMETERS = {
    "cmax": ("CMAX", "Max Conc", "conc"),
    "tmax": ("TMAX", "Time of CMAX", "time"),
    "clast": ("CLST", "Last Nonzero Conc", "conc"),
    "tlast": ("TLST", "Time of Last Nonzero Conc", "time"),
    "auc_last": ("AUCLST", "AUC to Last Nonzero Conc", "auc"),
    "auc_partial": ("AUCINT", "AUC from T1 to T2", "auc"),
    "lambda_z": ("LAMZ", "Lambda z", "rate"),
    "half_life": ("LAMZHL", "Half-Life Lambda z", "time"),
    "r2_adj": ("R2ADJ", "R Squared Adjusted", "none"),
}


def analyte_paramcd() -> dict[str, str]:
    """Every analyte cartkit may run NCA on -> PARAMCD (kinetics codes, else the laboratory ones)."""
    from cartkit.interop.adam_adlb import lab_paramcd

    return {**lab_paramcd(), **KINETICS_PARAMCD}


def build_adpc(study: Study, adsl: pl.DataFrame) -> AdamDataset:
    from cartkit.interop.sdtm_export_domains import qualified_text
    from cartkit.study.vocabulary import ANALYTES

    kinetics = [a.code for a in ANALYTES.values() if a.group == "kinetics"]
    labels = {a.code: f"{a.label} ({a.unit})" for a in ANALYTES.values()}
    m = study.measurements.filter(pl.col("analyte").is_in(kinetics))
    inf = study.infusions.select(*KEYS, "product")
    rows = m.join(inf, on=KEYS, how="left").sort("patient_id", "episode", "analyte", "day", "time", nulls_last=True)
    frame = rows.select(
        pl.lit(study.meta.id).alias("STUDYID"), pl.col("patient_id").alias("USUBJID"),
        pl.int_range(1, pl.len() + 1).over("patient_id").cast(pl.Int64).alias("PCSEQ"),
        pl.col("episode").alias("APERIOD"), pl.col("product").alias("TRTA"),
        pl.col("analyte").replace_strict(KINETICS_PARAMCD, default=None).alias("PARAMCD"),
        pl.col("analyte").replace_strict(labels, default=None).alias("PARAM"),
        pl.col("value").alias("AVAL"), qualified_text(rows.columns).alias("AVALC"), pl.col("unit").alias("AVALU"),
        pl.col("date").alias("ADT"),
        pl.col("time").alias("ATM"), cdisc_day(pl.col("day")).alias("ADY"),
        pl.col("day").cast(pl.Float64).alias("ARELTM"), pl.lit("DAYS").alias("ARELTMU"),
        yes(pl.col("blq")).alias("BLQFL"), pl.col("lloq").alias("ALLOQ"),
    ).join(adsl.select("USUBJID", "SAFFL"), on="USUBJID", how="left")
    variables = [
        Variable("STUDYID", "Study Identifier", TEXT, ASSIGNED, "study.toml [study] id"),
        Variable("USUBJID", "Unique Subject Identifier", TEXT, COLLECTED, "measurements.patient_id"),
        Variable("PCSEQ", "Sequence Number", INTEGER, DERIVED, "order within the patient"),
        Variable("APERIOD", "Period (CAR-T Episode)", INTEGER, COLLECTED, "measurements.episode"),
        Variable("TRTA", "Actual Treatment", TEXT, COLLECTED, "infusions.product of the episode"),
        Variable("PARAMCD", "Parameter Code", TEXT, ASSIGNED, "CARTPCT (CAR-T % of CD3+), CARDNA (CAR DNA)"),
        Variable("PARAM", "Parameter", TEXT, ASSIGNED, "analyte label and canonical unit"),
        Variable("AVAL", "Analysis Value", FLOAT, COLLECTED,
                 "measurements.value (empty when below the LLOQ or otherwise qualified: AVALC)"),
        Variable("AVALC", "Analysis Value (C)", TEXT, COLLECTED, AVALC_SOURCE),
        Variable("AVALU", "Analysis Value Unit", TEXT, COLLECTED, "measurements.unit"),
        Variable("ADT", "Analysis Date", DATE, COLLECTED, "measurements.date"),
        Variable("ATM", "Analysis Time", TEXT, COLLECTED, "measurements.time"),
        Variable("ADY", "Analysis Relative Day", INTEGER, DERIVED, "from the episode's infusion (day 1), CDISC"),
        Variable("ARELTM", "Actual Relative Time from Infusion", FLOAT, COLLECTED, "measurements.day (days)"),
        Variable("ARELTMU", "Actual Relative Time Unit", TEXT, ASSIGNED, "DAYS"),
        Variable("BLQFL", "Below Limit of Quantitation Flag", TEXT, COLLECTED, "measurements.blq"),
        Variable("ALLOQ", "Analysis Lower Limit of Quantitation", FLOAT, COLLECTED, "measurements.lloq"),
        Variable("SAFFL", "Safety Population Flag", TEXT, DERIVED, "ADSL.SAFFL"),
    ]
    return AdamDataset("ADPC", "Pharmacokinetic Concentrations Analysis", "one record per sample",
                       frame, variables, keys=("STUDYID", "USUBJID", "APERIOD", "PARAMCD", "ARELTM", "ATM"))


def build_adpp(study: Study, derived: Derived, adsl: pl.DataFrame) -> AdamDataset:
    from cartkit.study.vocabulary import ANALYTES

    lo, hi = study.plan.kinetics_window
    k = derived.kinetics
    inf = study.infusions.select(*KEYS, "product")
    units = {a.code: a.unit for a in ANALYTES.values()}
    codes = analyte_paramcd()
    parts = []
    for col, (code, name, unit_rule) in NCA_PARAMETERS.items():
        unit = pl.col("analyte").replace_strict(units, default=None)
        avalu = {"conc": unit, "time": pl.lit("DAYS"), "auc": pl.format("{}*DAYS", unit),
                 "rate": pl.lit("1/DAYS"), "none": pl.lit(None, dtype=pl.String)}[unit_rule]
        parts.append(k.select(
            *KEYS, pl.lit(code).alias("PARAMCD"), pl.lit(name).alias("PARAM"),
            pl.col("analyte").replace_strict(codes, default=pl.col("analyte").str.to_uppercase()).alias("PARCAT1"),
            pl.col(col).cast(pl.Float64).alias("AVAL"), avalu.alias("AVALU"),
            pl.lit(f"P{int(lo)}D" if code == "AUCINT" else None, dtype=pl.String).alias("PPSTINT"),
            pl.lit(f"P{int(hi)}D" if code == "AUCINT" else None, dtype=pl.String).alias("PPENINT"),
            pl.col("n_points").cast(pl.Int64).alias("NSAMP"), pl.col("note").alias("ANOTE"),
        ))
    rows = (pl.concat(parts) if parts else pl.DataFrame()).join(inf, on=KEYS, how="left").sort(
        "patient_id", "episode", "PARCAT1", "PARAMCD")
    frame = rows.select(
        pl.lit(study.meta.id).alias("STUDYID"), pl.col("patient_id").alias("USUBJID"),
        pl.int_range(1, pl.len() + 1).over("patient_id").cast(pl.Int64).alias("PPSEQ"),
        pl.col("episode").alias("APERIOD"), pl.col("product").alias("TRTA"),
        "PARCAT1", "PARAMCD", "PARAM", "AVAL", "AVALU", "PPSTINT", "PPENINT", "NSAMP",
        pl.col("ANOTE").fill_null(""),
    ).join(adsl.select("USUBJID", "SAFFL"), on="USUBJID", how="left")
    nca = ("cartkit.kinetics.nca via cartkit.derive.kinetics (PKNCA conventions, linear-up log-down AUC; "
           f"samples on days {lo}-{hi}, the plan's kinetics_window)")
    variables = [
        Variable("STUDYID", "Study Identifier", TEXT, ASSIGNED, "study.toml [study] id"),
        Variable("USUBJID", "Unique Subject Identifier", TEXT, COLLECTED, "measurements.patient_id"),
        Variable("PPSEQ", "Sequence Number", INTEGER, DERIVED, "order within the patient"),
        Variable("APERIOD", "Period (CAR-T Episode)", INTEGER, COLLECTED, "measurements.episode"),
        Variable("TRTA", "Actual Treatment", TEXT, COLLECTED, "infusions.product of the episode"),
        Variable("PARCAT1", "Analyte (PARAMCD of ADPC or ADLB)", TEXT, ASSIGNED,
                 "the profile's analyte: CARTPCT, CARDNA or the cytokine's LBTESTCD"),
        Variable("PARAMCD", "Parameter Code (PPTESTCD)", TEXT, ASSIGNED, "CDISC PKPARMCD: " + ", ".join(
            f"{c} {n}" for c, n, _u in NCA_PARAMETERS.values())),
        Variable("PARAM", "Parameter (PPTEST)", TEXT, ASSIGNED, "CDISC PKPARM"),
        Variable("AVAL", "Analysis Value", FLOAT, DERIVED, nca),
        Variable("AVALU", "Analysis Value Unit", TEXT, DERIVED, "the analyte's unit, DAYS, unit*DAYS or 1/DAYS"),
        Variable("PPSTINT", "Start of Interval (AUCINT)", TEXT, ASSIGNED, "ISO 8601 duration from the infusion"),
        Variable("PPENINT", "End of Interval (AUCINT)", TEXT, ASSIGNED, "ISO 8601 duration from the infusion"),
        Variable("NSAMP", "Number of Samples in the Profile", INTEGER, DERIVED, "samples in the window"),
        Variable("ANOTE", "Note on the NCA", TEXT, DERIVED, "why a parameter is empty (cartkit.kinetics.nca)"),
        Variable("SAFFL", "Safety Population Flag", TEXT, DERIVED, "ADSL.SAFFL"),
    ]
    return AdamDataset("ADPP", "Pharmacokinetic Parameters Analysis", "one record per episode, analyte, parameter",
                       frame, variables, keys=("STUDYID", "USUBJID", "APERIOD", "PARCAT1", "PARAMCD"))
