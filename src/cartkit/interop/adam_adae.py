"""ADAE: one record per adverse event term and episode (docs/adam.md#adae).

The rows are the study's ``adverse_events`` rows, plus a CRS or ICANS row for every episode where
cartkit's analysed or derived grade is >= 1 but the investigators recorded no such event (ATOXGR
is then the analysed grade, 0 when it is the recorded absence, and DTOXGRN the grade cartkit
derives), so every disagreement between recorded and derived grades can be seen in ADAE.

Relative days follow CDISC (day 1 is the episode's CAR-T infusion, no day 0); cartkit's own days
(day 0 = infusion) are converted here only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from cartkit.derive import CRS_TERM, ICANS_TERM, REFERENCE_SYSTEM
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
SYNDROMES = {"CRS": CRS_TERM, "ICANS": ICANS_TERM}


def cdisc_day(day: pl.Expr) -> pl.Expr:
    """CDISC relative day of a cartkit day (0 = infusion): day 1 is the infusion, day -1 the day before."""
    return pl.when(day >= 0).then(day + 1).otherwise(day).cast(pl.Int64)


def _syndrome_grades(derived: Derived) -> pl.DataFrame:
    """patient_id, episode, term, analysed grade/system/source, derived grades, onset, duration.

    DTOXGRN is the grade cartkit derives under the analysed grade's system (so the two compare), where
    cartkit has that system's criteria; ASTCTGRN the grade it derives under ASTCT 2019 (the reference).
    """
    frames = []
    course = derived.syndrome_course
    grades = derived.derived_grades
    for tox, term in SYNDROMES.items():
        primary = (derived.crs if tox == "CRS" else derived.icans).select(
            *KEYS, pl.col("grade").alias("_grade"), pl.col("system").alias("_system"),
            pl.col("source").alias("_source"))
        own = grades.filter(pl.col("toxicity") == tox)
        same = own.select(*KEYS, pl.col("system").alias("_system"), pl.col("grade").alias("DTOXGRN"),
                          pl.col("system").alias("DGRSYS"))
        reference = own.filter(pl.col("system") == REFERENCE_SYSTEM).select(*KEYS, pl.col("grade").alias("ASTCTGRN"))
        frame = (primary.join(same, on=[*KEYS, "_system"], how="left")
                 .join(reference, on=KEYS, how="left"))
        if course is not None and course.height:
            frame = frame.join(course.filter(pl.col("toxicity") == tox).select(
                *KEYS, pl.col("onset_day").alias("SYNONSD"), pl.col("duration_days").alias("SYNDURN")),
                on=KEYS, how="left")
        else:
            frame = frame.with_columns(SYNONSD=pl.lit(None, dtype=pl.Int64), SYNDURN=pl.lit(None, dtype=pl.Int64))
        frames.append(frame.with_columns(term=pl.lit(term)))
    return pl.concat(frames, how="diagonal_relaxed")


def build_adae(study: Study, derived: Derived, adsl: pl.DataFrame) -> AdamDataset:
    ae = study.adverse_events.select(
        *KEYS, "term", pl.col("grade").cast(pl.Int64).alias("_recorded"),
        pl.col("grading_system").alias("_rec_system"), "onset_day", "resolution_day",
        pl.lit(True).alias("_is_recorded"))
    syn = _syndrome_grades(derived)
    extra = (syn.filter((pl.col("_grade").fill_null(0) >= 1) | (pl.col("DTOXGRN").fill_null(0) >= 1)
                        | (pl.col("ASTCTGRN").fill_null(0) >= 1))
             .join(ae.select(*KEYS, "term"), on=[*KEYS, "term"], how="anti")
             .select(*KEYS, "term"))
    rows = pl.concat([ae, extra], how="diagonal_relaxed").join(syn, on=[*KEYS, "term"], how="left")
    is_syn = pl.col("term").is_in(list(SYNDROMES.values()))
    rows = rows.with_columns(
        ATOXGRN=pl.when(is_syn & pl.col("_grade").is_not_null()).then(pl.col("_grade")).otherwise(pl.col("_recorded")),
        AGRSYS=pl.when(is_syn & pl.col("_system").is_not_null()).then(pl.col("_system"))
        .otherwise(pl.col("_rec_system")),
        AGRSRC=pl.when(is_syn & pl.col("_source").is_not_null()).then(pl.col("_source"))
        .otherwise(pl.lit("recorded")),
    )
    inf = study.infusions.select(*KEYS, "product", "infusion_date")
    rows = rows.join(inf, on=KEYS, how="left").sort(*KEYS, "term")
    studyid = study.meta.id
    frame = rows.select(
        pl.lit(studyid).alias("STUDYID"), pl.col("patient_id").alias("USUBJID"),
        pl.int_range(1, pl.len() + 1).over("patient_id").cast(pl.Int64).alias("AESEQ"),
        pl.col("episode").alias("APERIOD"), pl.col("product").alias("TRTA"),
        pl.when(pl.col("_is_recorded").fill_null(False)).then(pl.col("term")).alias("AETERM"),
        pl.col("term").alias("AEDECOD"),
        pl.col("_recorded").cast(pl.String).alias("AETOXGR"),
        pl.col("ATOXGRN").cast(pl.String).alias("ATOXGR"), "ATOXGRN", "AGRSYS", "AGRSRC",
        pl.col("DTOXGRN").cast(pl.Int64), "DGRSYS", pl.col("ASTCTGRN").cast(pl.Int64),
        (pl.col("infusion_date") + pl.duration(days=pl.col("onset_day"))).alias("ASTDT"),
        (pl.col("infusion_date") + pl.duration(days=pl.col("resolution_day"))).alias("AENDT"),
        cdisc_day(pl.col("onset_day")).alias("ASTDY"), cdisc_day(pl.col("resolution_day")).alias("AENDY"),
        (pl.col("resolution_day") - pl.col("onset_day") + 1).cast(pl.Int64).alias("ADURN"),
        pl.when(pl.col("resolution_day").is_not_null() & pl.col("onset_day").is_not_null())
        .then(pl.lit("DAYS")).alias("ADURU"),
        # treatment-emergent in its episode: onset on or after the episode's infusion; an unknown onset
        # counts as treatment-emergent (it cannot be shown to precede the infusion)
        yes(pl.col("onset_day").is_null() | (pl.col("onset_day") >= 0)).alias("TRTEMFL"),
        pl.col("SYNONSD").cast(pl.Int64), pl.col("SYNDURN").cast(pl.Int64),
    )
    frame = frame.join(adsl.select("USUBJID", "SAFFL"), on="USUBJID", how="left")
    variables = [
        Variable("STUDYID", "Study Identifier", TEXT, ASSIGNED, "study.toml [study] id"),
        Variable("USUBJID", "Unique Subject Identifier", TEXT, COLLECTED, "adverse_events.patient_id"),
        Variable("AESEQ", "Sequence Number", INTEGER, DERIVED, "order of (episode, term) within the patient"),
        Variable("APERIOD", "Period (CAR-T Episode)", INTEGER, COLLECTED, "adverse_events.episode"),
        Variable("TRTA", "Actual Treatment", TEXT, COLLECTED, "infusions.product of the episode"),
        Variable("AETERM", "Reported Term for the Adverse Event", TEXT, COLLECTED,
                 "adverse_events.term; empty on a CRS/ICANS row the investigators did not record"),
        Variable("AEDECOD", "Dictionary-Derived Term", TEXT, COLLECTED, "adverse_events.term (cartkit vocabulary)"),
        Variable("AETOXGR", "Standard Toxicity Grade", TEXT, COLLECTED, "adverse_events.grade"),
        Variable("ATOXGR", "Analysis Toxicity Grade", TEXT, DERIVED,
                 "the grade the analysis uses (cartkit.derive): the recorded grade where recorded, else derived"),
        Variable("ATOXGRN", "Analysis Toxicity Grade (N)", INTEGER, DERIVED, "ATOXGR as a number"),
        Variable("AGRSYS", "Grading System of ATOXGR", TEXT, DERIVED,
                 "adverse_events.grading_system, else the plan's crs_system/icans_system; derived grades "
                 "astct2019 (Lee DW et al. BBMT 2019;25:625)"),
        Variable("AGRSRC", "Source of ATOXGR (recorded/derived)", TEXT, DERIVED, "cartkit.derive source"),
        Variable("DTOXGRN", "Grade Derived by cartkit (AGRSYS)", INTEGER, DERIVED,
                 "CRS/ICANS grade cartkit derives from vital signs, support and neuro records under the system "
                 "of ATOXGR (cartkit.derive Derived.derived_grades, criteria/crs_<system>.toml); empty where "
                 "cartkit has no criteria for that system or the records cannot grade the episode"),
        Variable("DGRSYS", "Grading System of DTOXGRN", TEXT, DERIVED, "the system DTOXGRN is derived under"),
        Variable("ASTCTGRN", "Grade Derived by cartkit, ASTCT 2019", INTEGER, DERIVED,
                 "CRS/ICANS grade derived under ASTCT 2019 (Lee DW et al. BBMT 2019;25:625; "
                 "criteria/crs_astct2019.toml, icans_astct2019.toml); empty where not derivable"),
        Variable("ASTDT", "Analysis Start Date", DATE, DERIVED, "infusion_date + adverse_events.onset_day"),
        Variable("AENDT", "Analysis End Date", DATE, DERIVED, "infusion_date + adverse_events.resolution_day"),
        Variable("ASTDY", "Analysis Start Relative Day", INTEGER, DERIVED,
                 "onset_day + 1 from the episode's infusion (day 1), CDISC convention"),
        Variable("AENDY", "Analysis End Relative Day", INTEGER, DERIVED,
                 "resolution_day + 1 from the episode's infusion (day 1), CDISC convention"),
        Variable("ADURN", "AE Duration (N)", INTEGER, DERIVED, "resolution_day - onset_day + 1"),
        Variable("ADURU", "AE Duration Units", TEXT, ASSIGNED, "DAYS"),
        Variable("TRTEMFL", "Treatment Emergent Analysis Flag", TEXT, DERIVED,
                 "onset on or after the episode's infusion, or onset unknown"),
        Variable("SYNONSD", "Syndrome Onset Day (Infusion = Day 0)", INTEGER, DERIVED,
                 "CRS/ICANS onset day of cartkit.derive syndrome_course (daily grades, else the recorded onset)"),
        Variable("SYNDURN", "Syndrome Duration (Days Graded >= 1)", INTEGER, DERIVED,
                 "CRS/ICANS duration of cartkit.derive syndrome_course"),
        Variable("SAFFL", "Safety Population Flag", TEXT, DERIVED, "ADSL.SAFFL"),
    ]
    return AdamDataset("ADAE", "Adverse Events Analysis Dataset", "one record per adverse event term per episode",
                       frame, variables, keys=("STUDYID", "USUBJID", "APERIOD", "AEDECOD"))
