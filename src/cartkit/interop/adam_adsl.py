"""ADSL: one record per patient (docs/adam.md#adsl).

Populations come from :func:`population_flags`, the one place that says who is in which analysis
population; the rest of the export reads the flags from there. Treatment periods are the CAR-T
episodes in order: period xx is episode xx (TRTxxA its product, TRxxSDT its infusion date,
DOSExxA its dose).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

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
    from cartkit.study.model import Study

SEX_CODES = {"male": "M", "female": "F"}  # CDISC SEX codelist (C66731)
DOSE_UNIT = "10^6 cells/kg"


def yes(expr: pl.Expr) -> pl.Expr:
    """ADaM flag: "Y" where true, "" otherwise (null is not Y)."""
    return pl.when(expr.fill_null(False)).then(pl.lit("Y")).otherwise(pl.lit(""))


def _flag_name(population: str, taken: set[str] | None = None) -> str:
    """ADaM flag variable of a plan population: its name in upper-case letters and digits, <= 6, + FL; a name
    another plan population already has ("infused CD19" and "infused CD22" are both INFUSEFL) is numbered
    (INFUS2FL), so that no population's flag replaces another's."""
    import re

    stem = re.sub(r"[^A-Z0-9]", "", population.upper())[:6] or "POP"
    stem = stem if stem[0].isalpha() else "P" + stem[:5]
    name, i = stem + "FL", 1
    while taken is not None and name in taken:
        i += 1
        name = f"{stem[: 6 - len(str(i))]}{i}FL"
    return name


def population_flags(study: Study) -> tuple[pl.DataFrame, list[Variable]]:
    """patient_id and one "Y"/"" column per analysis population, with their variables.

    Always ITTFL (every patient of the study: enrolled, a row in ``patients``) and SAFFL (patients
    given at least one CAR-T infusion); then one flag per population of the plan's
    ``[[plan.population]]`` (``cartkit.analysis.populations.resolve_populations``; the implicit
    "infused" population when the plan names none), named for the population (``ITT`` -> ITTFL,
    ``per protocol`` -> PERPROFL; two whose names share the first six letters and digits are numbered:
    ``infused CD19`` INFUSEFL, ``infused CD22`` INFUS2FL). A plan population whose flag is ITTFL or SAFFL
    replaces the default: the plan says who is in it.
    """
    from cartkit.analysis.populations import resolve_populations

    infused = study.infusions.filter(pl.col("infusion_date").is_not_null()).select("patient_id").unique()
    frame = study.patients.select("patient_id").with_columns(
        ITTFL=pl.lit("Y"),
        SAFFL=yes(pl.col("patient_id").is_in(infused["patient_id"].implode())),
    )
    variables = {
        "ITTFL": Variable("ITTFL", "Intent-To-Treat Population Flag", TEXT, DERIVED, "every patient in patients"),
        "SAFFL": Variable("SAFFL", "Safety Population Flag", TEXT, DERIVED,
                          "patients with at least one dated CAR-T infusion (infusions.infusion_date)"),
    }
    claimed: set[str] = set()  # flags of plan populations (a plan population may take ITTFL or SAFFL once)
    for pop in resolve_populations(study):
        name = _flag_name(pop.name, claimed)
        claimed.add(name)
        frame = frame.with_columns(yes(pl.col("patient_id").is_in(pop.patients["patient_id"].implode())).alias(name))
        label = f"{pop.label} Population Flag"
        label = label if len(label) <= 40 else f"{pop.name} Population Flag"[:40]
        variables[name] = Variable(name, label, TEXT, DERIVED,
                                   f"[[plan.population]] {pop.name!r}: {pop.rule_text()}"
                                   + (" (the plan's primary population)" if pop.primary else "")
                                   + " (cartkit.analysis.populations)")
    return frame, list(variables.values())


def _last_alive(study: Study) -> pl.DataFrame:
    """patient_id, the latest date of any record other than a death (LSTALVDT)."""
    parts = [study.infusions.select("patient_id", pl.col("infusion_date").alias("date")),
             study.events.filter(pl.col("kind") != "death").select("patient_id", "date")]
    for name in ("measurements", "support", "neuro", "assessments", "lesions"):
        t = study.tables.get(name)
        if t is not None and "date" in t.columns and t.height:
            parts.append(t.select("patient_id", "date"))
    dates = pl.concat([p.with_columns(pl.col("date").cast(pl.Date)) for p in parts])
    cutoff = study.meta.data_cutoff
    if cutoff is not None:
        dates = dates.filter(pl.col("date") <= cutoff)
    return dates.group_by("patient_id").agg(pl.col("date").max().alias("LSTALVDT"))


# optional patients columns -> ADSL variable, label
_OPTIONAL = {"arm": "ARM", "enrolment_date": "ENRLDT", "randomisation_date": "RANDDT", "leukapheresis_date": "LEUKDT"}


def _vein_to_vein(study: Study) -> pl.DataFrame:
    """patient_id, V2VDUR: days from leukapheresis to the first infusion (cartkit.analysis.populations)."""
    from cartkit.analysis.populations import vein_to_vein

    return vein_to_vein(study).select("patient_id", pl.col("vein_to_vein_days").alias("V2VDUR"))


def build_adsl(study: Study) -> AdamDataset:
    studyid = study.meta.id
    p = study.patients
    inf = study.infusions.sort("patient_id", "episode")
    n_periods = int(inf["episode"].max() or 0) if inf.height else 0
    flags, flag_vars = population_flags(study)
    death = (study.events.filter(pl.col("kind") == "death").group_by("patient_id")
             .agg(pl.col("date").min().alias("DTHDT")))
    seq = inf.group_by("patient_id", maintain_order=True).agg(
        pl.col("product").str.join("/").alias("TRTSEQA"),
        pl.col("infusion_date").min().alias("TRTSDT"),
        pl.col("infusion_date").max().alias("TRTEDT"),
        pl.len().cast(pl.Int64).alias("NINFUS"),
    )
    frame = (
        p.select(
            pl.lit(studyid).alias("STUDYID"), pl.col("patient_id").alias("USUBJID"),
            pl.col("patient_id").alias("SUBJID"), "patient_id",
            pl.col("age").alias("AGE"), pl.lit("YEARS").alias("AGEU"),
            pl.col("sex").replace_strict(SEX_CODES, default=None).alias("SEX"),
            pl.col("diagnosis").alias("DIAGNOS"),
            *[pl.col(c).alias(v) for c, v in _OPTIONAL.items()],
        )
        .join(flags, on="patient_id", how="left")
        .join(seq, on="patient_id", how="left")
        .join(death, on="patient_id", how="left")
        .join(_last_alive(study), on="patient_id", how="left")
        .join(_vein_to_vein(study), on="patient_id", how="left")
        .with_columns(DTHFL=yes(pl.col("DTHDT").is_not_null()),
                      DCUTDT=pl.lit(study.meta.data_cutoff, dtype=pl.Date))
    )
    period_vars: list[Variable] = []
    for ep in range(1, n_periods + 1):
        xx = f"{ep:02d}"
        part = inf.filter(pl.col("episode") == ep).select(
            "patient_id", pl.col("product").alias(f"TRT{xx}A"), pl.col("infusion_date").alias(f"TR{xx}SDT"),
            pl.col("dose_1e6_per_kg").alias(f"DOSE{xx}A"),
            pl.when(pl.col("dose_1e6_per_kg").is_not_null()).then(pl.lit(DOSE_UNIT)).alias(f"DOSE{xx}U"))
        frame = frame.join(part, on="patient_id", how="left")
        period_vars += [
            Variable(f"TRT{xx}A", f"Actual Treatment for Period {xx}", TEXT, COLLECTED,
                     f"infusions.product of episode {ep}"),
            Variable(f"TR{xx}SDT", f"Date of First Exposure in Period {xx}", DATE, COLLECTED,
                     f"infusions.infusion_date of episode {ep}"),
            Variable(f"DOSE{xx}A", f"Actual Treatment Dose for Period {xx}", FLOAT, COLLECTED,
                     f"infusions.dose_1e6_per_kg of episode {ep}"),
            Variable(f"DOSE{xx}U", f"Units for DOSE{xx}A", TEXT, ASSIGNED, DOSE_UNIT),
        ]
    variables = [
        Variable("STUDYID", "Study Identifier", TEXT, ASSIGNED, "study.toml [study] id"),
        Variable("USUBJID", "Unique Subject Identifier", TEXT, COLLECTED, "patients.patient_id"),
        Variable("SUBJID", "Subject Identifier for the Study", TEXT, COLLECTED, "patients.patient_id"),
        Variable("AGE", "Age", FLOAT, COLLECTED, "patients.age (years at first infusion)"),
        Variable("AGEU", "Age Units", TEXT, ASSIGNED, "YEARS"),
        Variable("SEX", "Sex", TEXT, COLLECTED, "patients.sex (male M, female F)"),
        Variable("DIAGNOS", "Diagnosis", TEXT, COLLECTED, "patients.diagnosis"),
        Variable("ARM", "Description of Planned Arm", TEXT, COLLECTED, "patients.arm (empty when not given)"),
        Variable("ENRLDT", "Date of Enrollment", DATE, COLLECTED, "patients.enrolment_date"),
        Variable("RANDDT", "Date of Randomization", DATE, COLLECTED, "patients.randomisation_date"),
        Variable("LEUKDT", "Date of Leukapheresis", DATE, COLLECTED, "patients.leukapheresis_date"),
        Variable("V2VDUR", "Vein-to-Vein Time (Days)", INTEGER, DERIVED,
                 "first infusion date - leukapheresis_date (cartkit.analysis.populations.vein_to_vein; "
                 "Locke FL et al. NEJM 2022;386:640)"),
        *flag_vars,
        Variable("TRTSEQA", "Actual Sequence of Treatments", TEXT, DERIVED,
                 "infusions.product of the episodes in order, joined by /"),
        Variable("NINFUS", "Number of CAR-T Infusions", INTEGER, DERIVED, "count of infusions rows"),
        Variable("TRTSDT", "Date of First Exposure to Treatment", DATE, DERIVED,
                 "earliest infusions.infusion_date"),
        Variable("TRTEDT", "Date of Last Exposure to Treatment", DATE, DERIVED,
                 "latest infusions.infusion_date (CAR-T is a single infusion per episode)"),
        *period_vars,
        Variable("DTHFL", "Subject Death Flag", TEXT, DERIVED, "Y when events has a death row"),
        Variable("DTHDT", "Date of Death", DATE, DERIVED, "earliest events.date of kind death"),
        Variable("LSTALVDT", "Date Last Known Alive", DATE, DERIVED,
                 "latest date of any record other than a death, up to the data cut-off"),
        Variable("DCUTDT", "Data Cutoff Date", DATE, ASSIGNED, "study.toml [study] data_cutoff"),
    ]
    notes = ["TRTSEQP (planned sequence) is not given: the study records the treatments given, not a plan "
             "per patient; TRTSEQA is the actual sequence."]
    return AdamDataset("ADSL", "Subject-Level Analysis Dataset", "one record per subject",
                       frame.sort("USUBJID"), variables, keys=("STUDYID", "USUBJID"), notes=notes)
