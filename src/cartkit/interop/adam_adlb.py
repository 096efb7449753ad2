"""ADLB: one record per laboratory value, plus per-episode haematotoxicity parameters (docs/adam.md#adlb).

Laboratory values are the ``measurements`` rows of the haematology, chemistry and cytokine
analytes (in their canonical units). Blood counts of the lineages cartkit grades get their CTCAE
grade under the plan's ``ctcae_version`` (``criteria/ctcae_<version>.toml``), by the same rule as
the derive stage (``cartkit.grading.ctcae.ctcae_grade_expr``: the row's own lower limit of normal,
else the plan's ``lln``; a grade that needs an LLN nobody gave is left empty). The terms cartkit
grades are all "decreased" terms, so the grade is ATOXGRL (low direction) and ATOXGRH stays empty.
A qualified result (``<0.5``, ``>100000``, ``BLQ``) has AVAL empty, as before, and its character result in
AVALC (``AVALC_SOURCE``); a plain number has AVALC empty. Its ATOXGRL is the grade both ends of its interval
give (``cartkit.grading.censored``, as the derive stage grades it: ANC ``<0.1`` is grade 4), empty when they
differ.

Per-episode parameters (PARAMTYP "DERIVED"): early and late ICAHT, early and late T-ICAHT
(EHA/EBMT), CAR-HEMATOTOX and EASIX from ``cartkit.derive.toxicity.derive_hematotox_scores``.
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
    FLOAT,
    INTEGER,
    TEXT,
    AdamDataset,
    Variable,
)
from cartkit.interop.sdtm_export_domains import qualified_text

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.model import Study

KEYS = ["patient_id", "episode"]
# AVALC of ADLB and ADPC: the character result of a qualified value, as the SDTM export writes --STRESC
# (ADaMIG 1.1, BDS: AVALC the character analysis value; admiral's ADLB templates set AVALC = LBSTRESC beside
# AVAL = LBSTRESN, so a "<3.42" result has AVALC "<3.42" and AVAL empty)
AVALC_SOURCE = ("a qualified result (measurements.qualifier with lloq / uloq, docs/validation.md) as the SDTM "
                "export's --STRESC, in the canonical unit: '<0.5', '<=0.5', '>100000', 'BLQ' (below a limit not "
                "known); empty where AVAL holds the number")
LAB_GROUPS = ("haematology", "chemistry", "cytokine")
# per-episode scores of derive_hematotox_scores: column -> (PARAMCD, PARAM, day column or None, source)
SCORES = {
    "icaht_grade": ("ICAHTGR", "Early ICAHT grade (days 0-30)", None,
                    "Rejeski K et al. Blood 2023;142:865-877 (criteria/icaht_eha_ebmt2023.toml)"),
    "late_icaht_grade": ("LICAHTGR", "Late ICAHT grade (after day 30)", None,
                         "Rejeski K et al. Blood 2023;142:865-877 (criteria/late_icaht_eha_ebmt2023.toml)"),
    "ticaht_grade": ("TICAHTGR", "Early T-ICAHT grade (days 0-30)", None,
                     "Rejeski K et al. Blood Adv 2024 (criteria/ticaht_eha_ebmt2024.toml)"),
    "late_ticaht_grade": ("LTICAHTG", "Late T-ICAHT grade (days 31-100)", None,
                          "Rejeski K et al. Blood Adv 2024 (criteria/late_ticaht_eha_ebmt2024.toml)"),
    "car_hematotox": ("HEMATOTX", "CAR-HEMATOTOX score (baseline)", "baseline_day",
                      "Rejeski K et al. Blood 2021;138:2499-2513 (criteria/car_hematotox_2021.toml)"),
    "easix": ("EASIX", "EASIX (baseline)", "baseline_day",
              "LDH x creatinine / platelets: Luft T et al. Lancet Haematol 2017; Pennisi M et al. Blood Adv 2021"),
}


def lab_paramcd() -> dict[str, str]:
    """cartkit analyte -> LBTESTCD, the first code of the SDTM importer's table for it."""
    from cartkit.interop.sdtm_import import LB_ANALYTES

    out: dict[str, str] = {}
    for code, analyte in LB_ANALYTES.items():
        out.setdefault(analyte, code)
    return out


def graded_terms(version: str) -> dict[str, tuple[str, str]]:
    """analyte -> (CTCAE term, printed name) for the lineages the version grades."""
    from cartkit.derive.toxicity import LINEAGES
    from cartkit.grading.ctcae import ctcae_term

    out = {}
    for analyte, term in LINEAGES.items():
        try:
            out[analyte] = (term, ctcae_term(term, version).name)
        except ValueError:  # a term this version does not encode (documented in its criteria file)
            continue
    return out


def _lab_rows(study: Study) -> pl.DataFrame:
    from cartkit.grading.censored import ENDS, at_end, has_qualified
    from cartkit.grading.ctcae import ctcae_grade_expr
    from cartkit.study.vocabulary import ANALYTES

    plan = study.plan
    version = plan.ctcae_version
    labs = [a.code for a in ANALYTES.values() if a.group in LAB_GROUPS]
    m = study.measurements.filter(pl.col("analyte").is_in(labs))
    terms = graded_terms(version)
    grade = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.Int64))
    for analyte, (term, _name) in terms.items():
        lln = pl.coalesce(pl.col("lln"), pl.lit(plan.lln.get(analyte), dtype=pl.Float64))
        grade = grade.when(pl.col("analyte") == analyte).then(
            ctcae_grade_expr(term, pl.col("value"), version, lln=lln, unit_original=pl.col("unit_original")))
    names = {a: name for a, (_t, name) in terms.items()}
    paramcd = lab_paramcd()
    labels = {a.code: f"{a.label} ({a.unit})" for a in ANALYTES.values()}
    grade = grade.otherwise(None).cast(pl.Int64)
    if has_qualified(m, list(terms)):
        # a qualified count (ANC "<0.1") is graded at both ends of its interval, as the derive stage grades it
        # (grading/censored.py): the grade both ends agree on (every ANC below 0.1 is grade 4), else empty
        # ("<0.6" is grade 3 or 4); admiral's derive_var_atoxgr_dir grades AVAL only and leaves these empty
        severe, mild = (at_end(m, end).select(grade).to_series() for end in ENDS)
        grade = pl.when(pl.lit(severe) == pl.lit(mild)).then(pl.lit(severe))
    m = m.with_columns(
        PARAMCD=pl.col("analyte").replace_strict(paramcd, default=pl.col("analyte").str.to_uppercase().str.slice(0, 8)),
        PARAM=pl.col("analyte").replace_strict(labels, default=pl.col("analyte")),
        _grade=grade,
        ATOXDSCL=pl.col("analyte").replace_strict(names, default=None, return_dtype=pl.String),
    )
    # baseline: the last record with a value before the infusion day (day < 0) of the episode's series, in
    # day and clock-time order (admiral's ad_adlb.R template: derive_var_extreme_flag(order = exprs(ADT, ...),
    # mode = "last") restricted to !is.na(AVAL)): a sample below the limit without a number is not a baseline
    m = m.with_row_index("_row")
    base = (m.filter((pl.col("day") < 0) & pl.col("value").is_not_null())
            .sort("day", "time", "_row", nulls_last=False)
            .group_by(*KEYS, "analyte").agg(pl.col("_row").last(), pl.col("value").last().alias("BASE")))
    m = m.join(base.select(*KEYS, "analyte", "BASE"), on=[*KEYS, "analyte"], how="left").with_columns(
        ABLFL=yes(pl.col("_row").is_in(base["_row"].implode())))
    return m.select(
        *KEYS, "PARAMCD", "PARAM", pl.lit(None, dtype=pl.String).alias("PARAMTYP"),
        pl.col("value").alias("AVAL"), qualified_text(m.columns).alias("AVALC"), pl.col("unit").alias("AVALU"),
        pl.col("date").alias("ADT"), pl.col("time").alias("ATM"), pl.col("day").alias("_day"),
        pl.col("lln").alias("ANRLO"), "ABLFL", "BASE",
        (pl.col("value") - pl.col("BASE")).alias("CHG"),
        pl.when(pl.col("ATOXDSCL").is_not_null()).then(pl.col("_grade").cast(pl.String)).alias("ATOXGRL"),
        "ATOXDSCL",
        pl.when(pl.col("ATOXDSCL").is_not_null()).then(pl.lit(f"ctcae{version}")).alias("ATOXSYS"),
        yes(pl.col("blq")).alias("BLQFL"),
    )


def _score_rows(study: Study) -> pl.DataFrame:
    from cartkit.derive.toxicity import derive_hematotox_scores

    scores = derive_hematotox_scores(study)
    inf = study.infusions.select(*KEYS, "infusion_date")
    parts = []
    for col, (code, param, day_col, _src) in SCORES.items():
        if col not in scores.columns:
            continue
        day = pl.col(day_col) if day_col else pl.lit(0, dtype=pl.Int64)
        parts.append(scores.select(
            *KEYS, pl.lit(code).alias("PARAMCD"), pl.lit(param).alias("PARAM"), pl.lit("DERIVED").alias("PARAMTYP"),
            pl.col(col).cast(pl.Float64).alias("AVAL"), day.cast(pl.Int64).alias("_day"),
        ).filter(pl.col("AVAL").is_not_null()))
    if not parts:
        return pl.DataFrame()
    return pl.concat(parts).join(inf, on=KEYS, how="left").with_columns(
        ADT=pl.col("infusion_date") + pl.duration(days=pl.col("_day"))).drop("infusion_date")


def build_adlb(study: Study, adsl: pl.DataFrame) -> AdamDataset:
    rows = pl.concat([_lab_rows(study), _score_rows(study)], how="diagonal_relaxed")
    inf = study.infusions.select(*KEYS, "product")
    rows = rows.join(inf, on=KEYS, how="left").sort("patient_id", "episode", "PARAMCD", "_day", "ATM",
                                                    nulls_last=True)
    version = study.plan.ctcae_version
    frame = rows.select(
        pl.lit(study.meta.id).alias("STUDYID"), pl.col("patient_id").alias("USUBJID"),
        pl.int_range(1, pl.len() + 1).over("patient_id").cast(pl.Int64).alias("LBSEQ"),
        pl.col("episode").alias("APERIOD"), pl.col("product").alias("TRTA"),
        "PARAMCD", "PARAM", "PARAMTYP", "AVAL", pl.col("AVALC").cast(pl.String), "AVALU", "ADT", "ATM",
        cdisc_day(pl.col("_day")).alias("ADY"), pl.col("_day").alias("ADYINF"),
        "ANRLO", "ABLFL", "BASE", "CHG", "ATOXGRL", "ATOXDSCL",
        pl.lit(None, dtype=pl.String).alias("ATOXGRH"), pl.lit(None, dtype=pl.String).alias("ATOXDSCH"),
        "ATOXSYS", "BLQFL",
    ).join(adsl.select("USUBJID", "SAFFL"), on="USUBJID", how="left")
    scores = "; ".join(f"{code}: {src}" for code, _p, _d, src in SCORES.values())
    variables = [
        Variable("STUDYID", "Study Identifier", TEXT, ASSIGNED, "study.toml [study] id"),
        Variable("USUBJID", "Unique Subject Identifier", TEXT, COLLECTED, "measurements.patient_id"),
        Variable("LBSEQ", "Sequence Number", INTEGER, DERIVED, "order of (episode, parameter, day) within the patient"),
        Variable("APERIOD", "Period (CAR-T Episode)", INTEGER, COLLECTED, "measurements.episode"),
        Variable("TRTA", "Actual Treatment", TEXT, COLLECTED, "infusions.product of the episode"),
        Variable("PARAMCD", "Parameter Code", TEXT, ASSIGNED,
                 "LBTESTCD of the analyte (docs/sdtm.md), or the haematotoxicity score's code"),
        Variable("PARAM", "Parameter", TEXT, ASSIGNED, "analyte label and canonical unit"),
        Variable("PARAMTYP", "Parameter Type", TEXT, ASSIGNED, "DERIVED for the per-episode scores"),
        Variable("AVAL", "Analysis Value", FLOAT, COLLECTED,
                 f"measurements.value in the canonical unit (empty for a qualified result: AVALC); scores "
                 f"derived ({scores})"),
        Variable("AVALC", "Analysis Value (C)", TEXT, COLLECTED, AVALC_SOURCE),
        Variable("AVALU", "Analysis Value Unit", TEXT, COLLECTED, "measurements.unit (canonical)"),
        Variable("ADT", "Analysis Date", DATE, COLLECTED, "measurements.date (scores: their day's date)"),
        Variable("ATM", "Analysis Time", TEXT, COLLECTED, "measurements.time (HH:MM)"),
        Variable("ADY", "Analysis Relative Day", INTEGER, DERIVED, "from the episode's infusion (day 1), CDISC"),
        Variable("ADYINF", "Day from Infusion (Infusion = Day 0)", INTEGER, COLLECTED, "measurements.day"),
        Variable("ANRLO", "Analysis Normal Range Lower Limit", FLOAT, COLLECTED, "measurements.lln"),
        Variable("ABLFL", "Baseline Record Flag", TEXT, DERIVED,
                 "the last value before the infusion day (day < 0) of the episode, by day and time; records "
                 "without a value (below the limit of quantification) are not baselines"),
        Variable("BASE", "Baseline Value", FLOAT, DERIVED, "AVAL of the ABLFL record"),
        Variable("CHG", "Change from Baseline", FLOAT, DERIVED, "AVAL - BASE"),
        Variable("ATOXGRL", "Analysis Toxicity Grade Low", TEXT, DERIVED,
                 f"CTCAE v{version} grade (cartkit.grading.ctcae, criteria/ctcae_{version}.toml); a qualified "
                 "result (<0.1) graded at both ends of its interval, the grade they agree on (grading/censored.py); "
                 "empty where the ends differ or the grade needs a lower limit of normal that is not given"),
        Variable("ATOXDSCL", "Analysis Toxicity Description Low", TEXT, ASSIGNED, f"CTCAE v{version} term"),
        Variable("ATOXGRH", "Analysis Toxicity Grade High", TEXT, ASSIGNED,
                 "empty: cartkit grades no 'increased' laboratory term"),
        Variable("ATOXDSCH", "Analysis Toxicity Description High", TEXT, ASSIGNED, "empty (see ATOXGRH)"),
        Variable("ATOXSYS", "Toxicity Grading System", TEXT, ASSIGNED, "the plan's ctcae_version"),
        Variable("BLQFL", "Below Limit of Quantitation Flag", TEXT, COLLECTED, "measurements.blq"),
        Variable("SAFFL", "Safety Population Flag", TEXT, DERIVED, "ADSL.SAFFL"),
    ]
    return AdamDataset("ADLB", "Laboratory Analysis Dataset", "one record per subject per parameter per time point",
                       frame, variables, keys=("STUDYID", "USUBJID", "PARAMCD", "APERIOD", "ADY", "ATM"))
