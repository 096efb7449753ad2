"""ADAE: one record per adverse event term and episode (docs/adam.md#adae).

The rows are the study's ``adverse_events`` rows, plus a CRS, ICANS or IEC-HS row for every episode
where cartkit's analysed or derived grade is >= 1 but the investigators recorded no such event (ATOXGR
is then the analysed grade, 0 when it is the recorded absence, and DTOXGRN the grade cartkit
derives), so every disagreement between recorded and derived grades can be seen in ADAE; and one
record per infection (AECAT INFECTION: the infections table, Hill 2018) and per second primary
malignancy (AECAT SECOND PRIMARY MALIGNANCY: the events table), as in SDTM AE (docs/sdtm.md). A
MedDRA-coded row carries AEDECOD (its PT), AEPTCD, AEBODSYS / AEBDSYCD and AESOC / AESOCCD (ADaM OCCDS
v1.1: the dictionary variables of the SDTM AE record); an uncoded row's AEDECOD is its short-list term.

Relative days follow CDISC (day 1 is the episode's CAR-T infusion, no day 0); cartkit's own days
(day 0 = infusion) are converted here only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from cartkit.derive import CRS_TERM, ICANS_TERM, REFERENCE_SYSTEM
from cartkit.derive.iec_hs import IEC_HS_TERM
from cartkit.derive.iec_hs import SYSTEM as IEC_HS_SYSTEM
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
SYNDROMES = {"CRS": CRS_TERM, "ICANS": ICANS_TERM, "IEC-HS": IEC_HS_TERM}
MEDDRA = ("meddra_pt", "meddra_pt_code", "meddra_soc", "meddra_soc_code")


def cdisc_day(day: pl.Expr) -> pl.Expr:
    """CDISC relative day of a cartkit day (0 = infusion): day 1 is the infusion, day -1 the day before."""
    return pl.when(day >= 0).then(day + 1).otherwise(day).cast(pl.Int64)


def _iec_hs_grades(study: Study, derived: Derived) -> pl.DataFrame | None:
    """IEC-HS like CRS and ICANS: the analysed grade (derive/iec_hs.py: recorded where the study records
    IEC-HS, else derived), DTOXGRN the grade cartkit derives under ASTCT 2023 (Hines MR et al., Transplant
    Cell Ther 2023; criteria/iec_hs_astct2023.toml), SYNONSD the analysed onset day."""
    from cartkit.derive.iec_hs import derived_iec_hs

    if derived.iec_hs is None:
        return None
    own = derived_iec_hs(study).select(*KEYS, pl.col("grade").alias("DTOXGRN"),
                                       pl.lit(IEC_HS_SYSTEM).alias("DGRSYS"))
    return derived.iec_hs.select(
        *KEYS, pl.col("grade").alias("_grade"), pl.col("system").alias("_system"),
        pl.col("source").alias("_source"), pl.col("onset_day").alias("SYNONSD")).join(
        own, on=KEYS, how="left").with_columns(term=pl.lit(IEC_HS_TERM), ASTCTGRN=pl.lit(None, dtype=pl.Int64),
                                                SYNDURN=pl.lit(None, dtype=pl.Int64))


def _syndrome_grades(derived: Derived) -> pl.DataFrame:
    """patient_id, episode, term, analysed grade/system/source, derived grades, onset, duration.

    DTOXGRN is the grade cartkit derives under the analysed grade's system (so the two compare), where
    cartkit has that system's criteria; ASTCTGRN the grade it derives under ASTCT 2019 (the reference).
    """
    frames = []
    course = derived.syndrome_course
    grades = derived.derived_grades
    for tox, term in (("CRS", CRS_TERM), ("ICANS", ICANS_TERM)):
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


def _infections(study: Study) -> pl.DataFrame | None:
    """The infections table as ADAE records (AECAT INFECTION), with the term SDTM AE gives them."""
    f = study.tables.get("infections")
    if f is None or not f.height:
        return None
    from cartkit.interop import sdtm_codes as C

    cls = pl.col("organism_class")
    term = pl.concat_str([cls.str.slice(0, 1).str.to_uppercase() + cls.str.slice(1), pl.lit(" infection, "),
                          pl.col("site").str.replace_all("_", " "),
                          pl.when(pl.col("organism").is_not_null()).then(
                              pl.concat_str([pl.lit(" ("), pl.col("organism"), pl.lit(")")])).otherwise(pl.lit(""))])
    return f.select(*KEYS, term=term, _decod=pl.lit(C.INFECTION_DECOD), AECAT=pl.lit(C.INFECTION_CAT),
                    _recorded=pl.col("grade").cast(pl.Int64), _rec_system=pl.col("grading_system"),
                    onset_day=pl.col("day").cast(pl.Int64), _date=pl.col("date"), _is_recorded=pl.lit(True),
                    INFORGCL=cls.str.to_uppercase(), INFSITE=pl.col("site").str.replace_all("_", " ").str.to_uppercase(),
                    INFORG=pl.col("organism"), _order=pl.lit(1))


def _malignancies(study: Study) -> pl.DataFrame | None:
    """Second primary malignancies (events) as ADAE records (AECAT SECOND PRIMARY MALIGNANCY)."""
    from cartkit.interop import sdtm_codes as C

    e = study.events.filter(pl.col("kind").is_in(list(C.SPM_EVENTS)))
    if not e.height:
        return None
    decod = pl.col("kind").replace_strict(C.SPM_EVENTS)
    return e.select(*KEYS, term=pl.coalesce("detail", decod), _decod=decod, AECAT=pl.lit(C.SPM_CAT),
                    onset_day=pl.col("day").cast(pl.Int64), _date=pl.col("date"), _is_recorded=pl.lit(True),
                    _order=pl.lit(2))


def build_adae(study: Study, derived: Derived, adsl: pl.DataFrame) -> AdamDataset:
    a = study.adverse_events
    for c in MEDDRA:
        if c not in a.columns:
            a = a.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    coded = pl.any_horizontal(pl.col(c).is_not_null() for c in MEDDRA)
    ae = a.select(
        *KEYS, "term", pl.col("grade").cast(pl.Int64).alias("_recorded"),
        pl.col("grading_system").alias("_rec_system"), "onset_day", "resolution_day",
        pl.lit(True).alias("_is_recorded"), pl.when(coded).then(pl.coalesce("meddra_pt", "term")).alias("_decod"),
        *MEDDRA, pl.lit(0).alias("_order"))
    syn = _syndrome_grades(derived)
    iec = _iec_hs_grades(study, derived)
    if iec is not None:
        syn = pl.concat([syn, iec], how="diagonal_relaxed")
    extra = (syn.filter((pl.col("_grade").fill_null(0) >= 1) | (pl.col("DTOXGRN").fill_null(0) >= 1)
                        | (pl.col("ASTCTGRN").fill_null(0) >= 1))
             .join(ae.select(*KEYS, "term"), on=[*KEYS, "term"], how="anti")
             .select(*KEYS, "term", pl.lit(0).alias("_order")))
    # an added CRS/ICANS/IEC-HS record takes the MedDRA coding the study gives that term elsewhere (its first
    # coded row), so the syndrome's records share one PT and SOC
    coding = a.filter(coded).group_by("term", maintain_order=True).agg(pl.col(c).first() for c in MEDDRA)
    extra = extra.join(coding, on="term", how="left").with_columns(_decod=pl.col("meddra_pt"))
    rows = pl.concat([ae, extra], how="diagonal_relaxed").join(syn, on=[*KEYS, "term"], how="left")
    others = [p for p in (_infections(study), _malignancies(study)) if p is not None]
    rows = pl.concat([rows, *others], how="diagonal_relaxed")
    for c, dtype in (("AECAT", pl.String), ("INFORGCL", pl.String), ("INFSITE", pl.String), ("INFORG", pl.String),
                     ("_date", pl.Date)):
        if c not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=dtype).alias(c))
    is_syn = pl.col("term").is_in(list(SYNDROMES.values())) & pl.col("AECAT").is_null()
    rows = rows.with_columns(
        ATOXGRN=pl.when(is_syn & pl.col("_grade").is_not_null()).then(pl.col("_grade")).otherwise(pl.col("_recorded")),
        AGRSYS=pl.when(is_syn & pl.col("_system").is_not_null()).then(pl.col("_system"))
        .otherwise(pl.col("_rec_system")),
        AGRSRC=pl.when(is_syn & pl.col("_source").is_not_null()).then(pl.col("_source"))
        .otherwise(pl.lit("recorded")),
    )
    inf = study.infusions.select(*KEYS, "product", "infusion_date")
    rows = rows.join(inf, on=KEYS, how="left").sort(*KEYS, "_order", "_date", "term", nulls_last=True)
    studyid = study.meta.id
    start = pl.coalesce(pl.col("_date"), pl.col("infusion_date") + pl.duration(days=pl.col("onset_day")))
    has_coding = a.select(coded.any()).item() if a.height else False
    code = {c: pl.col(c).cast(pl.Int64, strict=False) for c in ("meddra_pt_code", "meddra_soc_code")}
    meddra = [code["meddra_pt_code"].alias("AEPTCD"), pl.col("meddra_soc").alias("AEBODSYS"),
              code["meddra_soc_code"].alias("AEBDSYCD"), pl.col("meddra_soc").alias("AESOC"),
              code["meddra_soc_code"].alias("AESOCCD")] if has_coding else []
    has_cat = rows["AECAT"].is_not_null().any()
    has_inf = rows["INFORGCL"].is_not_null().any()
    frame = rows.select(
        pl.lit(studyid).alias("STUDYID"), pl.col("patient_id").alias("USUBJID"),
        pl.int_range(1, pl.len() + 1).over("patient_id").cast(pl.Int64).alias("AESEQ"),
        pl.col("episode").alias("APERIOD"), pl.col("product").alias("TRTA"),
        pl.when(pl.col("_is_recorded").fill_null(False)).then(pl.col("term")).alias("AETERM"),
        pl.coalesce("_decod", "term").alias("AEDECOD"), *meddra,
        *([pl.col("AECAT")] if has_cat else []),
        *([pl.col("INFORGCL"), pl.col("INFSITE"), pl.col("INFORG")] if has_inf else []),
        pl.col("_recorded").cast(pl.String).alias("AETOXGR"),
        pl.col("ATOXGRN").cast(pl.String).alias("ATOXGR"), "ATOXGRN", "AGRSYS", "AGRSRC",
        pl.col("DTOXGRN").cast(pl.Int64), "DGRSYS", pl.col("ASTCTGRN").cast(pl.Int64),
        start.alias("ASTDT"),
        (pl.col("infusion_date") + pl.duration(days=pl.col("resolution_day"))).alias("AENDT"),
        cdisc_day(pl.coalesce(pl.col("onset_day"), (start - pl.col("infusion_date")).dt.total_days())).alias("ASTDY"),
        cdisc_day(pl.col("resolution_day")).alias("AENDY"),
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
        Variable("AEDECOD", "Dictionary-Derived Term", TEXT, COLLECTED,
                 "MedDRA preferred term (adverse_events.meddra_pt) on a coded row; else adverse_events.term "
                 "(cartkit's short list); infections 'Infection', malignancies their kind",
                 dictionary="MedDRA" if has_coding else ""),
        *([Variable("AEPTCD", "Preferred Term Code", INTEGER, COLLECTED, "adverse_events.meddra_pt_code",
                    dictionary="MedDRA"),
           Variable("AEBODSYS", "Body System or Organ Class", TEXT, COLLECTED,
                    "adverse_events.meddra_soc (the primary SOC)", dictionary="MedDRA"),
           Variable("AEBDSYCD", "Body System or Organ Class Code", INTEGER, COLLECTED,
                    "adverse_events.meddra_soc_code", dictionary="MedDRA"),
           Variable("AESOC", "Primary System Organ Class", TEXT, COLLECTED, "adverse_events.meddra_soc",
                    dictionary="MedDRA"),
           Variable("AESOCCD", "Primary System Organ Class Code", INTEGER, COLLECTED,
                    "adverse_events.meddra_soc_code", dictionary="MedDRA")] if has_coding else []),
        *([Variable("AECAT", "Category for Adverse Event", TEXT, ASSIGNED,
                    "INFECTION (infections table) or SECOND PRIMARY MALIGNANCY (events); empty for adverse_events "
                    "rows")] if has_cat else []),
        *([Variable("INFORGCL", "Infection Organism Class", TEXT, COLLECTED,
                    "infections.organism_class (Hill JA et al. Blood 2018;131:121)"),
           Variable("INFSITE", "Infection Site", TEXT, COLLECTED, "infections.site"),
           Variable("INFORG", "Infection Organism", TEXT, COLLECTED, "infections.organism")] if has_inf else []),
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
                 "of ATOXGR (cartkit.derive Derived.derived_grades, criteria/crs_<system>.toml); IEC-HS grade "
                 "derived under ASTCT 2023 (Hines MR et al. Transplant Cell Ther 2023; derive/iec_hs.py) from "
                 "ferritin, transaminases, fibrinogen, counts and support; empty where cartkit has no criteria "
                 "for that system or the records cannot grade the episode"),
        Variable("DGRSYS", "Grading System of DTOXGRN", TEXT, DERIVED, "the system DTOXGRN is derived under"),
        Variable("ASTCTGRN", "Grade Derived by cartkit, ASTCT 2019", INTEGER, DERIVED,
                 "CRS/ICANS grade derived under ASTCT 2019 (Lee DW et al. BBMT 2019;25:625; "
                 "criteria/crs_astct2019.toml, icans_astct2019.toml); empty where not derivable"),
        Variable("ASTDT", "Analysis Start Date", DATE, DERIVED,
                 "infusion_date + adverse_events.onset_day; infections.date; the malignancy's events.date"),
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
                 "CRS/ICANS onset day of cartkit.derive syndrome_course (daily grades, else the recorded onset); "
                 "IEC-HS onset day of cartkit.derive iec_hs"),
        Variable("SYNDURN", "Syndrome Duration (Days Graded >= 1)", INTEGER, DERIVED,
                 "CRS/ICANS duration of cartkit.derive syndrome_course"),
        Variable("SAFFL", "Safety Population Flag", TEXT, DERIVED, "ADSL.SAFFL"),
    ]
    return AdamDataset("ADAE", "Adverse Events Analysis Dataset", "one record per adverse event term per episode",
                       frame, variables, keys=("STUDYID", "USUBJID", "AESEQ"))
