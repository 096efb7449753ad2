"""``import_sdtm(sdtm_dir, out_study)``: SDTM datasets -> a cartkit study folder (docs/sdtm.md).

Domains read: DM, SUPPDM, MH, SUPPMH -> patients; EX, SUPPEX -> infusions; LB, VS, PC ->
measurements; AE, SUPPAE -> adverse_events; CM, PR, SUPPPR -> support (interop/sdtm_care.py);
QS, FA -> neuro (sdtm_neuro.py); RS, TR, TU -> assessments and lesions (sdtm_rs.py,
sdtm_tumor.py); DS, DD, CE, SS, PR, CM and DM.RFPENDTC -> events; TS -> the title and data cutoff.
The mapping, variable by variable, is in docs/sdtm.md; the terms are sdtm_codes.py's.

Day 0 is the CAR-T infusion of each episode. The episodes of a subject are its CAR-T
administrations in EX in date order (EXTRT naming a CAR-T product: ``car_t`` names them, or
by default the "-leucel" / "CAR-T" pattern of ``CAR_T_PATTERN`` or cartkit's own EXCAT
``sdtm_codes.CAR_T_EXCAT``, "CAR-T CELL THERAPY"). A study with no CAR-T
administration at all (a drug study such as the CDISC pilot) gets one episode per subject whose
day 0 is the first exposure in EX, and the study description says so. Dates are read from the
--DTC variables; SDTM study days (--DY, which have no day 0) are used only where a date is
missing, converted once here (:func:`sdtm_day_to_date`). A row's episode is the infusion its
--RFTDTC names, else the latest infusion on or before its date.

Every problem is located (SDTM file, row, variable) and all are listed at once; on any error no
study is written. The study folder is written whole beside ``out_study`` and swapped into place by
the rule of ``cartkit.report.output_folder`` (manifest ``.cartkit-study.json``): ``out_study`` must
be new, empty, or a study this importer wrote there earlier, unchanged.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cartkit.interop.sdtm_read import RECORD, Domain, read_sdtm_folder
from cartkit.study.problems import WARNING, Problem, StudyError, errors
from cartkit.study.spreadsheet_safety import neutralise_formulas
from cartkit.study.vocabulary import (
    ANALYTES,
    DIAGNOSES,
    UNIT_CONVERSIONS,
    VOCABULARIES,
    canonical_unit,
)

DOMAINS = ("ts", "dm", "suppdm", "mh", "suppmh", "ex", "suppex", "lb", "vs", "pc", "ae", "suppae", "cm", "pr", "supppr",
           "qs", "fa", "rs", "tr", "tu", "ds", "dd", "ce", "ss")

# EXTRT of a CAR-T product: the INN stem "-leucel" (tisagenlecleucel, axicabtagene ciloleucel,
# lisocabtagene maraleucel, brexucabtagene autoleucel, idecabtagene vicleucel, ciltacabtagene
# autoleucel, obecabtagene autoleucel) or "CAR-T" / "CAR T" in the name.
CAR_T_PATTERN = r"(?i)leucel|\bCAR[- ]?T\b"

# LBTESTCD (CDISC controlled terminology, codelist LBTESTCD) -> cartkit analyte
LB_ANALYTES: dict[str, str] = {
    "WBC": "wbc", "NEUT": "anc", "LYM": "alc", "PLAT": "platelets", "HGB": "hemoglobin",
    "CRP": "crp", "FERRITIN": "ferritin", "LDH": "ldh", "CREAT": "creatinine", "BILI": "bilirubin",
    "ALT": "alt", "AST": "ast", "FIBRINO": "fibrinogen", "DDIMER": "d_dimer",
    "IL6": "il6", "INTLK6": "il6", "IL2SR": "il2r", "IL8": "il8", "INTLK8": "il8",
    "TNFA": "tnfa", "TNF": "tnfa", "IFNG": "ifng", "IL10": "il10", "INTLK10": "il10",
    "KAPLCF": "flc_kappa", "LAMLCF": "flc_lambda", "IGG": "igg",
    "MPROTEIN": "serum_m_protein",  # urine_m_protein where LBSPEC is URINE (sdtm_codes.LB_SPECIMENS)
}
# PCTESTCD -> cartkit analyte (sdtm_codes.PC_ANALYTES: cartkit's codes, no CDISC term exists)
PC_ANALYTES: dict[str, str] = {"CARDNA": "car_dna", "CARTPCT": "car_t_pct_cd3"}
# VSTESTCD (codelist VSTESTCD) -> cartkit analyte
VS_ANALYTES: dict[str, str] = {
    "TEMP": "temperature", "SYSBP": "sbp", "DIABP": "dbp", "MAP": "map", "PULSE": "heart_rate",
    "HR": "heart_rate", "OXYSAT": "spo2", "RESP": "resp_rate",
}
# AESEV -> grade, used only when AETOXGR is empty: CTCAE v4.03 / v5.0 "Grade 1 Mild; Grade 2
# Moderate; Grade 3 Severe" (CTCAE general grade definitions).
SEVERITY_GRADES = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}
AGE_UNITS = {"YEARS": 1.0, "MONTHS": 1 / 12, "WEEKS": 7 / 365.25, "DAYS": 1 / 365.25}
SEX = {"M": "male", "F": "female"}
# EXDOSU spellings of 10^6 cells/kg (the unit of infusions.dose_1e6_per_kg)
DOSE_UNITS = {"10^6/kg", "10^6cells/kg", "10*6/kg", "10*6cells/kg", "x10^6/kg", "x10^6cells/kg", "10e6/kg",
              "10e6cells/kg"}
DAY_MIN, DAY_MAX = -60, 3650  # the schema's day range (cartkit.study.schema._DAY)
MAX_SUPPORT_DAYS = 120  # a CM / PR support record longer than this is kept on its start day only


@dataclass
class ImportResult:
    out: Path
    counts: dict[str, int]
    problems: list[Problem]  # warnings only (an error raises StudyError)
    notes: list[str] = field(default_factory=list)


def sdtm_day_to_date(dy: pl.Expr, reference: pl.Expr) -> pl.Expr:
    """The date of SDTM study day ``dy`` counted from ``reference`` (RFSTDTC): day 1 is the
    reference date and day -1 the day before it; there is no day 0 (SDTMIG 3.3, section 4.4.4)."""
    d = dy.cast(pl.Int64)
    offset = pl.when(d > 0).then(d - 1).otherwise(d)
    return reference + pl.duration(days=offset)


def _date(col: str) -> pl.Expr:
    """The date part of an ISO 8601 --DTC text; null when it is partial (no day) or empty."""
    text = pl.col(col).cast(pl.String).str.strip_chars()
    return text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def _time(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.extract(r"T(\d{2}:\d{2})", 1)


def _text(col: str) -> pl.Expr:
    t = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(t == "").then(None).otherwise(t)


def _num(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)


class _Problems:
    def __init__(self):
        self.items: list[Problem] = []

    def rows(self, dom: Domain, frame: pl.DataFrame, column: str, value_col: str | None, rule: str,
             severity: str = "error") -> None:
        for rec, val in zip(frame[RECORD].to_list(), (frame[value_col].to_list() if value_col else
                                                     [None] * frame.height), strict=True):
            self.items.append(Problem(dom.file, dom.row_of(rec), column, val, rule, severity, kind=rule))

    def whole(self, file: str, column: str | None, rule: str, severity: str = "error") -> None:
        self.items.append(Problem(file, None, column, None, rule, severity))


def _require(dom: Domain, columns: tuple[str, ...], out: _Problems) -> bool:
    missing = [c for c in columns if not dom.has(c)]
    for c in missing:
        out.whole(dom.file, c, f"required variable {c} is missing from {dom.name.upper()}")
    return not missing


def _missing_usubjid(dom: Domain, out: _Problems) -> pl.DataFrame:
    """The domain's rows with a USUBJID; rows without one are problems."""
    frame = dom.frame.with_columns(USUBJID=_text("USUBJID"))
    bad = frame.filter(pl.col("USUBJID").is_null())
    if bad.height:
        out.rows(dom, bad, "USUBJID", None, "USUBJID is empty: the row cannot be given to a subject")
    return frame.filter(pl.col("USUBJID").is_not_null())


def _patients(dm: Domain, diagnosis: str, out: _Problems) -> pl.DataFrame:
    if not _require(dm, ("USUBJID", "AGE", "SEX"), out):
        return pl.DataFrame()
    f = _missing_usubjid(dm, out)
    dup = f.filter(pl.col("USUBJID").is_duplicated() & ~pl.col("USUBJID").is_first_distinct())
    if dup.height:
        out.rows(dm, dup, "USUBJID", "USUBJID", "subject listed twice in DM")
    unit = _text("AGEU").str.to_uppercase() if dm.has("AGEU") else pl.lit("YEARS")
    f = f.with_columns(__ageu=unit.fill_null("YEARS"), __age=_num("AGE"), __sex=_text("SEX").str.to_uppercase())
    bad_unit = f.filter(~pl.col("__ageu").is_in(list(AGE_UNITS)))
    if bad_unit.height:
        out.rows(dm, bad_unit, "AGEU", "__ageu", f"age unit not one of {', '.join(AGE_UNITS)}")
    no_age = f.filter(pl.col("__age").is_null())
    if no_age.height:
        out.rows(dm, no_age, "AGE", "AGE", "AGE is empty or not a number (patients.age is required)")
    bad_sex = f.filter(~pl.col("__sex").is_in(list(SEX)))
    if bad_sex.height:
        out.rows(dm, bad_sex, "SEX", "SEX", "SEX must be M or F (patients.sex is male or female)")
    arm = _text("ARM") if dm.has("ARM") else pl.lit(None, dtype=pl.String)
    return f.unique("USUBJID", keep="first", maintain_order=True).select(
        RECORD,
        arm=arm,
        enrolment_date=_date("RFICDTC") if dm.has("RFICDTC") else pl.lit(None, dtype=pl.Date),
        patient_id=pl.col("USUBJID"),
        age=pl.col("__age") * pl.col("__ageu").replace_strict(AGE_UNITS, default=None, return_dtype=pl.Float64),
        sex=pl.col("__sex").replace_strict(SEX, default=None),
        diagnosis=pl.lit(diagnosis, dtype=pl.String),
        __reference=(_date("RFSTDTC") if dm.has("RFSTDTC") else pl.lit(None, dtype=pl.Date)),
        __rfxstdtc=(_date("RFXSTDTC") if dm.has("RFXSTDTC") else pl.lit(None, dtype=pl.Date)),
    )


def _patient_details(domains: dict[str, Domain], patients: pl.DataFrame, out: _Problems) -> pl.DataFrame:
    """MH's primary diagnosis (and SUPPMH subtype, stage, status), SUPPDM's IPI, prior lines, baseline
    marrow blasts, per-protocol flag and never-infused reason, VS's baseline weight."""
    from cartkit.interop import sdtm_codes as C
    from cartkit.interop.sdtm_supp import supp_columns

    dm = domains["dm"]
    f = supp_columns(domains.get("suppdm"), dm, patients.with_columns(USUBJID=pl.col("patient_id")),
                     ("IPI", "NPRIORTX", "BMBLAST", "NINFRSN", "PPROTFL"), out)
    reasons = VOCABULARIES["never_infused_reason"]
    f = f.with_columns(ipi=pl.col("IPI").cast(pl.Float64, strict=False).cast(pl.Int64),
                       prior_lines=pl.col("NPRIORTX").cast(pl.Float64, strict=False).cast(pl.Int64),
                       marrow_blasts_pct=pl.col("BMBLAST").cast(pl.Float64, strict=False),
                       never_infused_reason=pl.col("NINFRSN").str.to_lowercase().replace_strict(reasons, default=None),
                       per_protocol=pl.col("PPROTFL").str.to_uppercase().replace_strict(
                           {"Y": True, "N": False}, default=None, return_dtype=pl.Boolean))
    f = f.drop("USUBJID", "IPI", "NPRIORTX", "BMBLAST", "NINFRSN", "PPROTFL")
    f = f.with_columns(subtype=pl.lit(None, dtype=pl.String), stage=pl.lit(None, dtype=pl.String),
                       disease_status=pl.lit(None, dtype=pl.String))
    mh = domains.get("mh")
    if mh is not None and _require(mh, ("USUBJID", "MHCAT"), out):
        rows = mh.frame.filter(_text("MHCAT").str.to_uppercase() == C.PRIMARY_DIAGNOSIS).with_columns(
            USUBJID=_text("USUBJID"))
        rows = rows.filter(pl.col("USUBJID").is_in(patients["patient_id"].implode()))
        names = {**{k.lower(): k for k in DIAGNOSES}, **{v.lower(): k for k, v in C.DIAGNOSIS_TERMS.items()},
                 **VOCABULARIES["diagnosis"]}
        term = pl.coalesce(*[_text(c) for c in ("MHDECOD", "MHTERM") if mh.has(c)]) if (
            mh.has("MHDECOD") or mh.has("MHTERM")) else pl.lit(None, dtype=pl.String)
        rows = rows.with_columns(__term=term, __diag=term.str.to_lowercase().replace_strict(names, default=None))
        unknown = rows.filter(pl.col("__diag").is_null())
        given = f["diagnosis"].drop_nulls().len() > 0  # --diagnosis: an unknown MH term falls back to it
        if unknown.height:
            out.rows(mh, unknown, "MHDECOD", "__term", "primary diagnosis cartkit does not know (one of "
                     + ", ".join(f"{k} ({v})" for k, v in C.DIAGNOSIS_TERMS.items()) + ")"
                     + ("; --diagnosis is used" if given else ""), WARNING if given else "error")
        f = f.join(unknown.select(__bad_mh="USUBJID").unique(), left_on="patient_id", right_on="__bad_mh", how="left",
                   coalesce=False).with_columns(__bad_mh=pl.col("__bad_mh").is_not_null() & pl.lit(not given))
        rows = rows.filter(pl.col("__diag").is_not_null()).unique("USUBJID", keep="first", maintain_order=True)
        rows = supp_columns(domains.get("suppmh"), mh, rows, ("MHSUBTYP", "MHSTAGE", "MHDISST"), out)
        stage = VOCABULARIES["stage"]
        status = VOCABULARIES["disease_status"]
        rows = rows.select(patient_id="USUBJID", __diag="__diag", __subtype="MHSUBTYP",
                           __stage=pl.col("MHSTAGE").str.to_lowercase().replace_strict(stage, default=None),
                           __status=pl.col("MHDISST").str.to_lowercase().replace_strict(status, default=None))
        f = f.join(rows, on="patient_id", how="left").with_columns(
            diagnosis=pl.coalesce("__diag", "diagnosis"), subtype="__subtype", stage="__stage",
            disease_status="__status").drop("__diag", "__subtype", "__stage", "__status")
    if "__bad_mh" not in f.columns:
        f = f.with_columns(__bad_mh=pl.lit(False))
    no_diag = f.filter(pl.col("diagnosis").is_null() & ~pl.col("__bad_mh"))  # an unknown MH term is its own error
    f = f.drop("__bad_mh")
    if no_diag.height:
        out.rows(dm, no_diag.rename({"patient_id": "USUBJID"}), "USUBJID", "USUBJID",
                 "no primary diagnosis in MH (MHCAT PRIMARY DIAGNOSIS) and no --diagnosis given")
    weight = pl.lit(None, dtype=pl.Float64).alias("weight_kg")
    vs = domains.get("vs")
    if vs is not None and vs.has("VSTESTCD") and vs.has("VSSTRESN") and vs.has("USUBJID"):
        w = vs.frame.filter(_text("VSTESTCD").str.to_uppercase() == "WEIGHT").with_columns(
            patient_id=_text("USUBJID"), __w=_num("VSSTRESN"),
            __unit=_text("VSSTRESU").str.to_lowercase() if vs.has("VSSTRESU") else pl.lit("kg"),
            __bl=(_text("VSBLFL").str.to_uppercase() == "Y").fill_null(False) if vs.has("VSBLFL") else pl.lit(False))
        w = w.filter(pl.col("__bl") & (pl.col("__unit") == "kg") & pl.col("__w").is_not_null()).unique(
            "patient_id", keep="first", maintain_order=True)
        f = f.join(w.select("patient_id", __w="__w"), on="patient_id", how="left").with_columns(
            weight_kg=pl.col("__w")).drop("__w")
    else:
        f = f.with_columns(weight)
    return f


def _with_dates(dom: Domain, frame: pl.DataFrame, dtc: str, dy: str, patients: pl.DataFrame) -> pl.DataFrame:
    """``__date`` from the --DTC date, or from --DY and DM.RFSTDTC where the date is missing."""
    date = _date(dtc) if dom.has(dtc) else pl.lit(None, dtype=pl.Date)
    rft = dtc[:2] + "RFTDTC"  # the date of the reference time point: the infusion the row is counted from
    frame = frame.with_columns(__date=date, __rft=_date(rft) if rft in frame.columns else pl.lit(None, dtype=pl.Date))
    if dom.has(dy):
        ref = patients.select(USUBJID=pl.col("patient_id"), __reference=pl.col("__reference"))
        frame = frame.join(ref, on="USUBJID", how="left", maintain_order="left").with_columns(
            __date=pl.coalesce(pl.col("__date"), sdtm_day_to_date(_num(dy), pl.col("__reference")))
        ).drop("__reference")
    return frame


def _unknown_subjects(dom: Domain, frame: pl.DataFrame, known: pl.Series, out: _Problems) -> pl.DataFrame:
    unknown = frame.filter(~pl.col("USUBJID").is_in(known.implode()))
    if unknown.height:
        out.rows(dom, unknown, "USUBJID", "USUBJID", "subject not in DM")
    return frame.filter(pl.col("USUBJID").is_in(known.implode()))


def _dated_rows(dom: Domain, frame: pl.DataFrame, prefix: str, patients: pl.DataFrame, out: _Problems,
                what: str, *, message: str | None = None, keep_undated: bool = False) -> pl.DataFrame:
    """The rows of ``frame`` (of ``dom``) that name a known subject and have a date (``__date`` from
    --DTC, else --DY), ``__rft`` set: a row with no USUBJID or a subject not in DM is an error, a row
    with no date a warning (``message``, by default "... the <what> cannot be placed").

    ``keep_undated``: the undated rows (warned about) are returned too, ``__date`` null, for a caller
    that checks them further before leaving them out."""
    f = _missing_usubjid(Domain(dom.name, dom.file, frame, dom.csv), out)
    f = _unknown_subjects(dom, f, patients["patient_id"], out)
    f = _with_dates(dom, f, f"{prefix}DTC", f"{prefix}DY", patients)
    undated = f.filter(pl.col("__date").is_null())
    if undated.height:
        out.rows(dom, undated, f"{prefix}DTC", f"{prefix}DTC" if dom.has(f"{prefix}DTC") else None,
                 message or f"no complete date nor study day: the {what} cannot be placed", WARNING)
    return f if keep_undated else f.filter(pl.col("__date").is_not_null())


def _infusions(ex: Domain, patients: pl.DataFrame, target: str, car_t: tuple[str, ...] | None,
               out: _Problems, notes: list[str]) -> pl.DataFrame:
    from cartkit.interop import sdtm_codes as C

    if not _require(ex, ("USUBJID", "EXTRT"), out):
        return pl.DataFrame()
    f = _missing_usubjid(ex, out)
    f = _unknown_subjects(ex, f, patients["patient_id"], out)
    f = _with_dates(ex, f, "EXSTDTC", "EXSTDY", patients).with_columns(__trt=_text("EXTRT"))
    if car_t:
        wanted = [t.strip().upper() for t in car_t]
        is_cart = pl.col("__trt").str.to_uppercase().is_in(wanted)
    else:  # the product's name, or cartkit's own EX category (a product named "cilta-cel" is one too)
        is_cart = pl.col("__trt").str.contains(CAR_T_PATTERN)
        if ex.has("EXCAT"):
            is_cart = is_cart | (_text("EXCAT").str.to_uppercase() == C.CAR_T_EXCAT)
    f = f.with_columns(__cart=is_cart.fill_null(False))
    if f["__cart"].any():
        f = f.filter(pl.col("__cart"))
        notes.append("day 0 of each episode is a CAR-T administration in EX (EXTRT "
                     + (f"one of {', '.join(car_t)}" if car_t else f"matching {CAR_T_PATTERN!r}, or EXCAT "
                        f"{C.CAR_T_EXCAT!r}") + ")")
    else:
        notes.append("no EX row names a CAR-T product: this is not a CAR-T study. Each subject has one "
                     "episode whose day 0 is the first exposure in EX (EXSTDTC); CAR-T-specific analyses "
                     "(CRS, ICANS, CAR-T kinetics, ICAHT) do not apply")
        f = f.with_columns(__first=True)
    no_date = f.filter(pl.col("__date").is_null())
    if no_date.height:
        out.rows(ex, no_date, "EXSTDTC", "EXSTDTC" if ex.has("EXSTDTC") else None,
                 "EX row with no complete start date (EXSTDTC YYYY-MM-DD): day 0 cannot be set")
    f = f.filter(pl.col("__date").is_not_null()).sort("USUBJID", "__date", RECORD)
    if "__first" in f.columns:
        f = f.unique("USUBJID", keep="first", maintain_order=True)
    dose = _num("EXDOSE") if ex.has("EXDOSE") else pl.lit(None, dtype=pl.Float64)
    unit = (_text("EXDOSU").str.to_lowercase().str.replace_all(" ", "", literal=True)
            if ex.has("EXDOSU") else pl.lit(None, dtype=pl.String))
    f = f.with_columns(__dose=pl.when(unit.is_in(sorted(DOSE_UNITS))).then(dose).otherwise(None))
    if f.filter(dose.is_not_null() & pl.col("__dose").is_null()).height:
        notes.append("EXDOSE is kept as infusions.dose_1e6_per_kg only where EXDOSU is 10^6 cells/kg")
    return f.select(
        RECORD,
        patient_id=pl.col("USUBJID"),
        episode=pl.int_range(1, pl.len() + 1).over("USUBJID").cast(pl.Int64),
        product=pl.col("__trt"),
        target=pl.lit(target, dtype=pl.String),
        infusion_date=pl.col("__date"),
        dose_1e6_per_kg=pl.col("__dose"),
    )


def _infusion_details(domains: dict[str, Domain], infusions: pl.DataFrame, out: _Problems) -> pl.DataFrame:
    """SUPPEX: the CAR target, transduction, harvest, lymphodepletion, bridging therapy, dose level."""
    from cartkit.interop.sdtm_supp import supp_columns

    ex = domains["ex"]
    rows = infusions.join(ex.frame.select(RECORD, *[c for c in ("EXSEQ",) if ex.has(c)]), on=RECORD, how="left")
    f = supp_columns(domains.get("suppex"), ex, rows.with_columns(USUBJID=pl.col("patient_id")),
                     ("CARTGT", "TRANSPCT", "HARVEST", "LDREGIM", "BRIDGTX", "DOSELVL"), out)
    targets = VOCABULARIES["target"]
    f = f.with_columns(__tgt=pl.col("CARTGT").str.to_lowercase().replace_strict(targets, default=None))
    bad = f.filter(pl.col("CARTGT").is_not_null() & pl.col("__tgt").is_null())
    if bad.height:
        out.rows(ex, bad, "QVAL", "CARTGT", "CAR target (SUPPEX CARTGT) cartkit does not "
                 f"know: one of {', '.join(sorted(set(targets.values())))}")
    f = f.with_columns(target=pl.coalesce("__tgt", "target"),
                       transduction_pct=pl.col("TRANSPCT").cast(pl.Float64, strict=False),
                       harvest_1e6_per_kg=pl.col("HARVEST").cast(pl.Float64, strict=False),
                       lymphodepletion=pl.col("LDREGIM"), bridging_therapy=pl.col("BRIDGTX"),
                       dose_level=pl.col("DOSELVL"))
    no_target = f.filter(pl.col("target").is_null())
    if no_target.height:
        out.rows(ex, no_target, "EXTRT", "product", "no CAR target: SUPPEX has no CARTGT for this infusion and no "
                 "--target was given")
    return f.select(RECORD, "patient_id", "episode", "product", "target", "infusion_date", "dose_1e6_per_kg",
                    "transduction_pct", "harvest_1e6_per_kg", "lymphodepletion", "bridging_therapy", "dose_level")


def _place(frame: pl.DataFrame, infusions: pl.DataFrame, before_first: str = "first_episode") -> pl.DataFrame:
    """``episode`` and ``day`` of each dated row: the latest infusion on or before its date. A row
    before any infusion (and with no --RFTDTC) goes to the first episode (``before_first="first_episode"``:
    a baseline finding or a pre-infusion AE) or, for events (``"date_only"``), keeps its date alone with
    no episode and no day, as cartkit's own export writes such an event (a standard-of-care arm's
    progression or new therapy before a crossover infusion; events.csv allows "date, or episode and day")."""
    inf = infusions.select(USUBJID="patient_id", episode="episode", __inf="infusion_date").sort("__inf")
    dated = frame.filter(pl.col("__date").is_not_null()).sort("__date")
    by_ref = None
    if "__rft" in dated.columns:  # --RFTDTC names the infusion: that episode, whatever the date
        ref = inf.select("USUBJID", __ref_ep="episode", __rft="__inf").unique(["USUBJID", "__rft"])
        dated = dated.join(ref, on=["USUBJID", "__rft"], how="left")
        by_ref = dated.filter(pl.col("__ref_ep").is_not_null()).with_columns(
            episode=pl.col("__ref_ep"), __inf=pl.col("__rft")).drop("__ref_ep")
        dated = dated.filter(pl.col("__ref_ep").is_null()).drop("__ref_ep").sort("__date")
    placed = dated.join_asof(inf, left_on="__date", right_on="__inf", by="USUBJID", strategy="backward",
                             check_sortedness=False)  # both sorted on the date just above
    first = inf.filter(pl.col("episode") == 1).select("USUBJID", __first="__inf")
    if before_first == "date_only":
        first = first.clear()
    placed = placed.join(first, on="USUBJID", how="left").with_columns(
        episode=pl.col("episode").fill_null(pl.when(pl.col("__first").is_not_null()).then(1)),
        __inf=pl.coalesce("__inf", "__first"),
    ).drop("__first")
    if by_ref is not None and by_ref.height:
        placed = pl.concat([placed, by_ref.select(placed.columns)], how="vertical_relaxed")
    return placed.with_columns(day=(pl.col("__date") - pl.col("__inf")).dt.total_days())


def _out_of_range(dom: Domain, placed: pl.DataFrame, out: _Problems, what: str, date_var: str) -> pl.DataFrame:
    """Rows of subjects with no episode, or outside the schema's day range, are left out (warned)."""
    no_ep = placed.filter(pl.col("episode").is_null())
    if no_ep.height:
        out.rows(dom, no_ep, "USUBJID", "USUBJID", f"subject has no infusion in EX: {what} left out",
                 WARNING)
    placed = placed.filter(pl.col("episode").is_not_null())
    far = placed.filter(~pl.col("day").is_between(DAY_MIN, DAY_MAX))
    if far.height:
        out.rows(dom, far, date_var, "day", f"more than {-DAY_MIN} days before or {DAY_MAX} days after day 0: "
                 f"{what} left out", WARNING)
    return placed.filter(pl.col("day").is_between(DAY_MIN, DAY_MAX))


def _findings(dom: Domain, prefix: str, codes: dict[str, str], patients: pl.DataFrame, infusions: pl.DataFrame,
              out: _Problems) -> pl.DataFrame:
    """LB or VS rows of the analytes cartkit knows -> measurements rows (standard results)."""
    p = prefix
    if not _require(dom, ("USUBJID", f"{p}TESTCD", f"{p}STRESN", f"{p}STRESU"), out):
        return pl.DataFrame()
    f = dom.frame.with_columns(__code=_text(f"{p}TESTCD").str.to_uppercase())
    f = f.filter(pl.col("__code").is_in(list(codes)))
    # undated rows are warned about here and left out after the unit check (a bad unit is reported on them too)
    f = _dated_rows(dom, f, p, patients, out, "value", keep_undated=True,
                    message=f"no complete date ({p}DTC) nor study day ({p}DY): the value cannot be placed")
    analyte = pl.col("__code").replace_strict(codes, default=None)
    if p == "LB" and dom.has("LBSPEC"):  # M-protein: the specimen tells serum from urine
        urine = (pl.col("__code") == "MPROTEIN") & _text("LBSPEC").str.to_uppercase().str.contains("URINE")
        analyte = pl.when(urine.fill_null(False)).then(pl.lit("urine_m_protein")).otherwise(analyte)
    f = f.with_columns(
        __analyte=analyte,
        __value=_num(f"{p}STRESN"),
        __unit_text=_text(f"{p}STRESU"),
        __lln=_num(f"{p}STNRLO") if dom.has(f"{p}STNRLO") else pl.lit(None, dtype=pl.Float64),
        __uln=_num(f"{p}STNRHI") if dom.has(f"{p}STNRHI") else pl.lit(None, dtype=pl.Float64),
        __time=_time(f"{p}DTC") if dom.has(f"{p}DTC") else pl.lit(None, dtype=pl.String),
    )
    # A qualified result (SDTMIG: --STRESC "<3.42", ">100000", "BLQ", --STRESN null; cartkit.study.qualified):
    # below forms are kept as blq with their lloq (the standard unit), above forms with their uloq, value
    # empty, the qualifier beside them. --STRESC's qualifier wins over a --STRESN a sponsor filled in anyway.
    f = f.with_columns(__q=_stresc_qualifier(_text(f"{p}STRESC")) if dom.has(f"{p}STRESC")
                       else pl.lit(None, dtype=pl.Struct({"q": pl.String, "x": pl.Float64})))
    qualifier, limit = pl.col("__q").struct.field("q"), pl.col("__q").struct.field("x")
    below = qualifier.is_in(["<", "<=", "ND"]).fill_null(False)
    lloq = _num(f"{p}LLOQ") if dom.has(f"{p}LLOQ") else pl.lit(None, dtype=pl.Float64)
    f = f.with_columns(__lloq=pl.coalesce(lloq, pl.when(below).then(limit)),
                       __uloq=pl.when(qualifier.is_in([">", ">="])).then(limit),
                       __blq=pl.when(below).then(True), __qualifier=qualifier,
                       __value=pl.when(qualifier.is_null()).then(pl.col("__value")),
                       # the result as collected, where it was collected in the standard unit
                       __value_text=pl.when(qualifier.is_not_null() & (_text(f"{p}ORRESU") == _text(f"{p}STRESU")))
                       .then(_text(f"{p}ORRES")) if dom.has(f"{p}ORRES") and dom.has(f"{p}ORRESU")
                       else pl.lit(None, dtype=pl.String))
    f = f.filter(pl.col("__value").is_not_null() | pl.col("__qualifier").is_not_null())  # not done: nothing to place
    spellings = {u: canonical_unit(u) for u in f["__unit_text"].drop_nulls().unique().to_list()}
    f = f.with_columns(__unit=pl.col("__unit_text").replace_strict(spellings, default=None, return_dtype=pl.String))
    pairs = f.select("__analyte", "__unit").unique()
    ok_pairs = pairs.filter(pl.col("__unit").is_not_null()).with_columns(
        __ok=pl.struct("__analyte", "__unit").map_elements(
            lambda s: s["__unit"] in UNIT_CONVERSIONS.get(s["__analyte"], {}), return_dtype=pl.Boolean))
    f = f.join(ok_pairs, on=["__analyte", "__unit"], how="left").with_columns(
        __ok=pl.col("__ok").fill_null(False))
    bad = f.filter(~pl.col("__ok")).sort(RECORD)
    if bad.height:
        for analyte, group in bad.group_by("__analyte", maintain_order=True):
            a = analyte[0]
            allowed = ", ".join(UNIT_CONVERSIONS[a])
            out.rows(dom, group, f"{p}STRESU", "__unit_text",
                     f"unknown unit for {ANALYTES[a].label} ({a}); accepted: {allowed}")
    f = f.filter(pl.col("__ok") & pl.col("__date").is_not_null())
    placed = _out_of_range(dom, _place(f, infusions), out, "value", f"{p}DTC")
    placed = placed.sort(RECORD)
    key = ["USUBJID", "episode", "__analyte", "day", "__time"]
    dup = placed.filter(pl.struct(key).is_duplicated() & ~pl.struct(key).is_first_distinct())
    if dup.height:
        out.rows(dom, dup, f"{p}DTC", f"{p}DTC" if dom.has(f"{p}DTC") else None,
                 "a second value of the same test at the same date and time: the first one is kept", WARNING)
    placed = placed.filter(pl.struct(key).is_first_distinct())
    return placed.select(
        patient_id=pl.col("USUBJID"), episode=pl.col("episode").cast(pl.Int64), day=pl.col("day").cast(pl.Int64),
        date=pl.col("__date"), time=pl.col("__time"), analyte=pl.col("__analyte"), value=pl.col("__value"),
        unit=pl.col("__unit"), blq=pl.col("__blq"), lloq=pl.col("__lloq"), uloq=pl.col("__uloq"),
        qualifier=pl.col("__qualifier"), value_text=pl.col("__value_text"), lln=pl.col("__lln"), uln=pl.col("__uln"),
    )


def _stresc_qualifier(text: pl.Expr) -> pl.Expr:
    """{q, x} of a qualified --STRESC ("<3.42" -> "<", 3.42; "BLQ", "<BLQ", "ND" -> "ND"), null otherwise.

    The spellings the study loader reads (cartkit.study.qualified SIGN_PATTERN, NUMBER_PATTERN, SIGNS:
    also "=<x", "≤x", "=>x", "≥x" and ".5"), so an imported --STRESC and a CSV cell read alike."""
    from cartkit.study.qualified import BELOW_WORDS, NUMBER_PATTERN, SIGN_PATTERN, SIGNS

    t = text.str.strip_chars()
    parts = t.str.extract_groups(rf"^{SIGN_PATTERN}\s*{NUMBER_PATTERN}$")
    sign = parts.struct.field("1").replace_strict(SIGNS, default=None, return_dtype=pl.String)
    number = parts.struct.field("2").cast(pl.Float64)
    word = t.str.to_lowercase().is_in(list(BELOW_WORDS))
    q = pl.when(word).then(pl.lit("ND")).when(number.is_not_null()).then(sign)
    return pl.struct(q=q, x=pl.when(word).then(None).otherwise(number))


@dataclass
class _AeRecords:
    adverse_events: pl.DataFrame
    extra_terms: list[str]
    infections: pl.DataFrame  # AECAT INFECTION records (interop/sdtm_infections.py)
    malignancies: pl.DataFrame  # AECAT SECOND PRIMARY MALIGNANCY records, as event rows for _events


def _adverse_events(ae: Domain, patients: pl.DataFrame, infusions: pl.DataFrame, out: _Problems,
                    notes: list[str], suppae: Domain | None = None) -> _AeRecords:
    from cartkit.interop import sdtm_codes as C
    from cartkit.interop.sdtm_infections import INFECTION_QNAMS, infection_rows, is_infection
    from cartkit.interop.sdtm_supp import supp_columns

    if not _require(ae, ("USUBJID", "AEDECOD"), out):
        return _AeRecords(pl.DataFrame(), [], _empty("infections"), pl.DataFrame())
    f = _missing_usubjid(ae, out)
    systems = {v.upper(): k for k, v in C.GRADING_SYSTEMS.items()} | {k.upper(): k for k in C.GRADING_SYSTEMS}
    f = supp_columns(suppae, ae, f, ("AETOXGRS", *INFECTION_QNAMS), out).with_columns(
        __system=pl.col("AETOXGRS").str.to_uppercase().replace_strict(systems, default=None),
        __cat=_text("AECAT").str.to_uppercase() if ae.has("AECAT") else pl.lit(None, dtype=pl.String))
    # second primary malignancies (AECAT SECOND PRIMARY MALIGNANCY, as sdtm export writes them) are events
    spm = f.filter(pl.col("__cat") == C.SPM_CAT)
    f = f.filter(pl.col("__cat").fill_null("") != C.SPM_CAT)
    malignancies = pl.DataFrame()
    if spm.height:
        kinds = {v.upper(): k for k, v in C.SPM_EVENTS.items()}
        decod, term = _text("AEDECOD"), _text("AETERM") if ae.has("AETERM") else pl.lit(None, dtype=pl.String)
        spm = spm.with_columns(__kind=decod.str.to_uppercase().replace_strict(kinds, default="second_malignancy"))
        malignancies = _event_rows(ae, spm, pl.col("__kind"), pl.when(term.str.to_uppercase() != decod.str.to_uppercase())
                                   .then(term), "AESTDTC", "AESTDY", patients, out, "second primary malignancy")
    bad_system = f.filter(pl.col("AETOXGRS").is_not_null() & pl.col("__system").is_null())
    if bad_system.height:
        out.rows(ae, bad_system, "AETOXGRS", "AETOXGRS", "grading system (SUPPAE AETOXGRS) cartkit does not know: "
                 "one of " + ", ".join(C.GRADING_SYSTEMS.values()) + "; left empty", WARNING)
    f = _unknown_subjects(ae, f, patients["patient_id"], out)
    f = _with_dates(ae, f, "AESTDTC", "AESTDY", patients)
    end = _with_dates(ae, f.select(RECORD, "USUBJID", *[c for c in ("AEENDTC", "AEENDY") if c in f.columns]),
                      "AEENDTC", "AEENDY", patients).select(RECORD, __end=pl.col("__date"))
    f = f.join(end, on=RECORD, how="left")
    backwards = f.filter(pl.col("__end") < pl.col("__date"))
    if backwards.height:
        out.rows(ae, backwards, "AEENDTC", "AEENDTC", "AEENDTC before AESTDTC: the end is left empty", WARNING)
        f = f.with_columns(__end=pl.when(pl.col("__end") < pl.col("__date")).then(None).otherwise(pl.col("__end")))
    toxgr = _num("AETOXGR") if ae.has("AETOXGR") else pl.lit(None, dtype=pl.Float64)
    sev = (_text("AESEV").str.to_uppercase().replace_strict(SEVERITY_GRADES, default=None, return_dtype=pl.Float64)
           if ae.has("AESEV") else pl.lit(None, dtype=pl.Float64))
    f = f.with_columns(__toxgr=toxgr, __sev=sev, **_meddra(ae)).with_columns(__term=_ae_term(ae))
    if f["__toxgr"].is_null().all() and f["__sev"].is_not_null().any():
        notes.append("AE grades are AETOXGR; where it is empty, AESEV (MILD 1, MODERATE 2, SEVERE 3: the "
                     "CTCAE general grade definitions)")
    f = f.with_columns(__grade=pl.coalesce("__toxgr", "__sev"))
    infections = f.filter(is_infection(f))
    f = f.filter(~is_infection(f))
    loose = f.filter(pl.col("__cat") == C.INFECTION_CAT)
    if loose.height:
        notes.append(f"{loose.height} AE records of category INFECTION without SUPPAE INFORGCL and INFSITE (organism "
                     "class and site) are read as adverse events, not as rows of the infections table")
    infections = infection_rows(ae, infections, infusions, out)
    no_term = f.filter(pl.col("__term").is_null())
    if no_term.height:
        out.rows(ae, no_term, "AEDECOD", None, "AEDECOD is empty: the event has no term")
    no_grade = f.filter(pl.col("__term").is_not_null() & pl.col("__grade").is_null())
    if no_grade.height:
        out.rows(ae, no_grade, "AETOXGR", "AETOXGR" if ae.has("AETOXGR") else None,
                 "no grade: AETOXGR is empty and AESEV is not MILD, MODERATE or SEVERE")
    bad_grade = f.filter(pl.col("__grade").is_not_null() & ~pl.col("__grade").is_in([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]))
    if bad_grade.height:
        out.rows(ae, bad_grade, "AETOXGR", "AETOXGR", "AETOXGR must be a grade 0 to 5")
    f = f.filter(pl.col("__term").is_not_null() & pl.col("__grade").is_in([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]))
    undated = f.filter(pl.col("__date").is_null())
    if undated.height:
        out.rows(ae, undated, "AESTDTC", "AESTDTC" if ae.has("AESTDTC") else None,
                 "no complete start date: counted in the episode AERFTDTC names (else episode 1) with no onset day",
                 WARNING)
    placed = _place(f, infusions)
    ref = infusions.select(USUBJID="patient_id", __rft="infusion_date", __ref_ep="episode")
    undated = undated.join(infusions.filter(pl.col("episode") == 1).select(USUBJID="patient_id", episode="episode"),
                           on="USUBJID", how="left").join(ref, on=["USUBJID", "__rft"], how="left").with_columns(
        episode=pl.coalesce("__ref_ep", "episode"), day=pl.lit(None, dtype=pl.Int64)).drop("__ref_ep")
    placed = pl.concat([placed.drop("__inf"), undated], how="diagonal_relaxed")
    placed = _out_of_range(ae, placed.with_columns(day=pl.col("day").fill_null(0)), out, "adverse event",
                           "AESTDTC") \
        .join(placed.select(RECORD, __onset="day"), on=RECORD, how="left")
    placed = placed.join(infusions.select(USUBJID="patient_id", episode="episode", __inf="infusion_date"),
                         on=["USUBJID", "episode"], how="left").with_columns(
        __resolution=(pl.col("__end") - pl.col("__inf")).dt.total_days())
    placed = placed.with_columns(__resolution=pl.when(pl.col("__resolution").is_between(DAY_MIN, DAY_MAX)
                                                      & (pl.col("__resolution") >= pl.col("__onset").fill_null(DAY_MIN)))
                                 .then(pl.col("__resolution")))
    vocab = VOCABULARIES["ae_term"]
    # a term cartkit knows becomes its short-list spelling (as the study loader would make it: two spellings
    # of one term are one row); a MedDRA-coded row's other reported terms stay as given
    placed = placed.with_columns(__term=pl.col("__term").str.to_lowercase().replace_strict(
        vocab, default=pl.col("__term")))
    # the records of one term merge into one row: worst grade, earliest onset, latest end. The latest end
    # is known only when every record has one: a record with no end date (no complete AEENDTC nor AEENDY,
    # or one left empty above) has not ended, or ended on a day not known, so the term has no resolution
    # day (max() alone skips that record, and an ongoing term reads as resolved at an earlier occurrence's
    # end). SDTMIG v3.2 4.1.4.7 (v3.3/v3.4 4.4.7, "Use of relative timing variables"): an event that has
    # not ended has no --ENDTC; where the CRF asked, AEENRF gives its end relative to the study reference
    # period (AFTER: it ends after that period; U unknown) or AEENRTPT relative to the time point AEENTPT
    # (ONGOING: known not to have ended; U: unknown when it ended or whether it is ongoing). None of them
    # is an end date, so the missing AEENDTC decides, whatever they say; a given AEENDTC wins over them.
    events = placed.group_by("USUBJID", "episode", "__term", maintain_order=True).agg(
        grade=pl.col("__grade").max().cast(pl.Int64),
        onset_day=pl.col("__onset").min().cast(pl.Int64),
        resolution_day=pl.when(pl.col("__resolution").null_count() == 0)
        .then(pl.col("__resolution").max()).cast(pl.Int64),
        grading_system=pl.col("__system").drop_nulls().first(),
        **{c: pl.col(f"__{c}").drop_nulls().first() for c in _MEDDRA},
    ).rename({"USUBJID": "patient_id", "__term": "term"})
    known = set(vocab.values())
    extra = sorted(set(events.filter(pl.col("meddra_soc").is_null() & pl.col("meddra_soc_code").is_null())
                       ["term"].to_list()) - known)  # a MedDRA-coded row may carry any term
    events = events.select("patient_id", pl.col("episode").cast(pl.Int64), "term", "grade", "grading_system",
                           "onset_day", "resolution_day", *_MEDDRA)
    return _AeRecords(events, extra, infections, malignancies)


# adverse_events MedDRA columns (docs/criteria.md "Adverse events in MedDRA") <- AE variables: the PT is
# AEDECOD (AEPTCD), the primary SOC AEBODSYS (AEBDSYCD), else AESOC (AESOCCD); a row without a SOC is
# not MedDRA-coded
_MEDDRA = ("meddra_pt", "meddra_pt_code", "meddra_soc", "meddra_soc_code")


def _ae_term(ae: Domain) -> pl.Expr:
    """adverse_events.term of an AE record: on a MedDRA-coded row (``__meddra_soc`` or its code given) the
    reported term AETERM as given (else AEDECOD), since AEDECOD is the PT, read into meddra_pt; on an
    uncoded row AEDECOD, the study's standardised term, lower-cased (cartkit's short-list spelling)."""
    decod = _text("AEDECOD")
    reported = pl.coalesce(_text("AETERM"), decod) if ae.has("AETERM") else decod
    coded = pl.col("__meddra_soc").is_not_null() | pl.col("__meddra_soc_code").is_not_null()
    return pl.when(coded).then(reported).otherwise(decod.str.to_lowercase())


def _meddra(ae: Domain) -> dict[str, pl.Expr]:
    def code(col: str) -> pl.Expr:  # XPT and Parquet give codes as numbers: 10037660.0 -> "10037660"
        return _text(col).str.replace(r"\.0+$", "") if ae.has(col) else pl.lit(None, dtype=pl.String)

    def text(col: str) -> pl.Expr:
        return _text(col) if ae.has(col) else pl.lit(None, dtype=pl.String)

    soc = pl.coalesce(text("AEBODSYS"), text("AESOC"))
    soc_code = pl.coalesce(code("AEBDSYCD"), code("AESOCCD"))
    coded = soc.is_not_null() | soc_code.is_not_null()
    return {"__meddra_pt": pl.when(coded).then(text("AEDECOD")), "__meddra_pt_code": pl.when(coded).then(code("AEPTCD")),
            "__meddra_soc": soc, "__meddra_soc_code": soc_code}


def _event_rows(dom: Domain, frame: pl.DataFrame, kind: str | pl.Expr, detail: pl.Expr, dtc: str, dy: str,
                patients: pl.DataFrame, out: _Problems, what: str) -> pl.DataFrame:
    """Dated event rows (USUBJID, kind, __date, __rft, detail) of ``frame``; undated ones are errors."""
    f = _unknown_subjects(dom, frame, patients["patient_id"], out)
    f = _with_dates(dom, f, dtc, dy, patients)
    undated = f.filter(pl.col("__date").is_null())
    if undated.height:
        out.rows(dom, undated, dtc, dtc if dom.has(dtc) else None, f"{what} with no complete date ({dtc})")
    return f.filter(pl.col("__date").is_not_null()).select(
        "USUBJID", RECORD, kind=kind if isinstance(kind, pl.Expr) else pl.lit(kind), __date="__date", __rft="__rft",
        detail=detail)


def _kept_subjects(patients: pl.DataFrame, infusions: pl.DataFrame) -> pl.DataFrame:
    """patient_id of the subjects the study keeps: those with a CAR-T infusion, and those never infused
    who were assigned an arm (DM.ARM other than the SDTM "Screen Failure" / "Not Assigned") or have a
    never-infused reason (SUPPDM NINFRSN): a randomised trial's intention-to-treat population."""
    screened_out = ["SCREEN FAILURE", "NOT ASSIGNED", "SCRNFAIL", "NOTASSGN"]
    arm = pl.col("arm").str.to_uppercase()
    assigned = patients.filter((pl.col("arm").is_not_null() & ~arm.is_in(screened_out))
                               | pl.col("never_infused_reason").is_not_null()).select("patient_id")
    return pl.concat([infusions.select("patient_id"), assigned]).unique(maintain_order=True)


def _events(domains: dict[str, Domain], patients: pl.DataFrame, infusions: pl.DataFrame, more: list[pl.DataFrame],
            out: _Problems, kept: pl.DataFrame) -> pl.DataFrame:
    """Death (DS DSDECOD DEATH, DM.DTHDTC; DD PRCDTH its cause), progression and relapse (CE), end of
    participation (DM.RFPENDTC) and the event rows ``more`` (HSCT from PR, new therapy from CM), each
    placed in its episode (--RFTDTC, else the latest infusion on or before its date)."""
    from cartkit.interop import sdtm_codes as C

    dm = domains["dm"]
    parts = list(more)
    cause = pl.DataFrame(schema={"USUBJID": pl.String, "__cause": pl.String})
    dd = domains.get("dd")
    if dd is not None and _require(dd, ("USUBJID", "DDTESTCD", "DDORRES"), out):
        cause = dd.frame.filter(_text("DDTESTCD").str.to_uppercase() == "PRCDTH").select(
            USUBJID=_text("USUBJID"), __cause=_text("DDORRES")).drop_nulls().unique("USUBJID", keep="first")
    ds = domains.get("ds")
    if ds is not None and _require(ds, ("USUBJID", "DSDECOD"), out):
        f = _missing_usubjid(ds, out)
        f = f.filter(_text("DSDECOD").str.to_uppercase() == "DEATH")
        term = _text("DSTERM") if ds.has("DSTERM") else pl.lit(None, dtype=pl.String)
        f = f.with_columns(__term=pl.when(term.str.to_uppercase() != "DEATH").then(term))
        f = f.join(cause, on="USUBJID", how="left")
        parts.append(_event_rows(ds, f, "death", pl.coalesce("__cause", "__term"), "DSSTDTC", "DSSTDY", patients, out,
                                 "death"))
    if dm.has("DTHDTC"):
        f = dm.frame.with_columns(USUBJID=_text("USUBJID"), __date=_date("DTHDTC")).filter(
            pl.col("USUBJID").is_not_null() & pl.col("__date").is_not_null()).join(cause, on="USUBJID", how="left")
        parts.append(f.select("USUBJID", RECORD, kind=pl.lit("death"), __date="__date",
                              __rft=pl.lit(None, dtype=pl.Date), detail="__cause"))
    ce = domains.get("ce")
    if ce is not None and _require(ce, ("USUBJID", "CEDECOD"), out):
        f = _missing_usubjid(ce, out)
        kinds = {v: k for k, v in C.CE_EVENTS.items()}
        f = f.with_columns(__kind=_text("CEDECOD").str.to_uppercase().replace_strict(kinds, default=None))
        f = f.filter(pl.col("__kind").is_not_null())
        term = _text("CETERM") if ce.has("CETERM") else pl.lit(None, dtype=pl.String)
        parts.append(_event_rows(ce, f, pl.col("__kind"), pl.when(term.str.to_uppercase() != _text("CEDECOD")
                                                                  .str.to_uppercase()).then(term),
                                 "CESTDTC", "CESTDY", patients, out, "clinical event"))
    events = pl.concat([p.select("USUBJID", RECORD, "kind", "__date", "__rft", "detail") for p in parts],
                       how="vertical_relaxed") if parts else pl.DataFrame(
        schema={"USUBJID": pl.String, RECORD: pl.Int64, "kind": pl.String, "__date": pl.Date, "__rft": pl.Date,
                "detail": pl.String})
    treated = kept.select(USUBJID="patient_id")
    events = events.join(treated, on="USUBJID", how="semi")
    # one death per subject: the earliest (DS and DM.DTHDTC name the same death)
    death = events.filter(pl.col("kind") == "death").sort("__date", pl.col("detail").is_null()).unique(
        "USUBJID", keep="first", maintain_order=True)
    events = pl.concat([events.filter(pl.col("kind") != "death"), death])
    ss = domains.get("ss")
    if ss is not None and _require(ss, ("USUBJID", "SSTESTCD", "SSSTRESC"), out):
        f = _missing_usubjid(ss, out).filter((_text("SSTESTCD").str.to_uppercase() == "SURVSTAT")
                                             & (_text("SSSTRESC").str.to_uppercase() == "ALIVE"))
        alive = _event_rows(ss, f, "last_contact", pl.lit(None, dtype=pl.String), "SSDTC", "SSDY", patients, out,
                            "survival status")
        events = pl.concat([events, alive.join(treated, on="USUBJID", how="semi")])
    elif dm.has("RFPENDTC"):
        last = dm.frame.select("__record", USUBJID=_text("USUBJID"), __date=_date("RFPENDTC")).drop_nulls()
        last = last.join(treated, on="USUBJID", how="semi").join(death.select("USUBJID"), on="USUBJID", how="anti")
        events = pl.concat([events, last.select("USUBJID", RECORD, kind=pl.lit("last_contact"), __date="__date",
                                                __rft=pl.lit(None, dtype=pl.Date), detail=pl.lit(None, dtype=pl.String))])
    events = events.unique(["USUBJID", "kind", "__date"], keep="first", maintain_order=True)
    placed = _place(events, infusions, before_first="date_only")
    return placed.sort("USUBJID", "kind", "__date").select(
        patient_id="USUBJID", kind="kind", episode=pl.col("episode").cast(pl.Int64), day=pl.col("day").cast(pl.Int64),
        date="__date", detail="detail")


def _toml_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")


def plan_text(study_toml: Path) -> str:
    """The ``[plan]`` tables (``[plan]``, ``[plan.survival]``, ``[[plan.comparison]]`` ...) of a
    study.toml, verbatim with their comments: the analysis plan travels beside SDTM, not in it."""
    text = study_toml.read_text(encoding="utf-8")
    tomllib.loads(text)  # a broken file is refused before anything is taken from it
    out: list[str] = []
    keeping = False
    for line in text.splitlines(keepends=True):
        m = _HEADER.match(line)
        if m:
            keeping = m.group(1).strip().strip('"').split(".")[0].strip().strip('"') == "plan"
        if keeping:
            out.append(line)
    if not out:
        raise ValueError(f"{study_toml} has no [plan] table")
    return "".join(out)


def _trial_summary(ts: Domain | None) -> dict[str, str]:
    """TS parameters read: TITLE (study title) and DCUTDTC (data cutoff date, YYYY-MM-DD)."""
    if ts is None or not (ts.has("TSPARMCD") and ts.has("TSVAL")):
        return {}
    rows = ts.frame.select(k=_text("TSPARMCD").str.to_uppercase(), v=_text("TSVAL")).drop_nulls()
    found = {k: v for k, v in rows.unique("k", keep="first", maintain_order=True).iter_rows()}
    out = {}
    if "TITLE" in found:
        out["title"] = found["TITLE"]
    cutoff = found.get("DCUTDTC", "")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", cutoff):
        out["data_cutoff"] = cutoff
    return out


def _study_toml(study_id: str, products: list[str], diagnoses: list[str], notes: list[str], extra_terms: list[str],
                source: str, summary: dict[str, str] | None = None, plan: str | None = None) -> str:
    summary = summary or {}
    lines = [
        "# Written by cartkit sdtm import (docs/sdtm.md).",
        "[study]",
        f"id = {_toml_text(study_id)}",
        f"title = {_toml_text(summary.get('title', 'Imported from SDTM: ' + study_id))}",
        *([f"data_cutoff = {summary['data_cutoff']}"] if "data_cutoff" in summary else []),
        f"description = {_toml_text('Imported from the SDTM datasets in ' + source + '. ' + '. '.join(notes) + '.')}",
        "",
    ]
    if plan is not None:
        lines.append("# The analysis plan, from the study.toml given to the importer (--plan)")
        lines.append(plan.rstrip("\n"))
        if extra_terms:
            lines.append("# AEDECOD terms not in cartkit's adverse-event vocabulary: add them to [plan] extra_ae_terms: "
                         + ", ".join(extra_terms))
        return "\n".join(lines) + "\n"
    lines += [
        "[plan]",
        "products = [" + ", ".join(_toml_text(p) for p in products) + "]",
        "diseases = [" + ", ".join(_toml_text(d) for d in diagnoses) + "]",
    ]
    if extra_terms:
        lines.append("# AEDECOD terms that are not in cartkit's adverse-event vocabulary")
        lines.append("extra_ae_terms = [" + ", ".join(_toml_text(t) for t in extra_terms) + "]")
    return "\n".join(lines) + "\n"


def _write(out: Path, src: Path, files: dict[str, pl.DataFrame], toml: str) -> None:
    """Write the study whole beside ``out`` and swap it into place by the rule of
    ``cartkit.report.output_folder`` (its own manifest ``.cartkit-study.json``): ``out`` must be new,
    empty, or a study this importer wrote earlier that holds nothing but its files, unchanged."""
    import cartkit
    from cartkit.report.output_folder import IMPORTED_STUDY, check_output_folder, install, manifest_text

    target = check_output_folder(out, study_folder=src, kind=IMPORTED_STUDY).path
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        tmp.chmod(0o755)
        for name, frame in files.items():
            neutralise_formulas(frame).write_csv(tmp / f"{name}.csv")
        (tmp / "study.toml").write_text(toml, encoding="utf-8")
        (tmp / IMPORTED_STUDY.manifest).write_text(manifest_text(tmp, cartkit.__version__, IMPORTED_STUDY),
                                                   encoding="utf-8")
        install(tmp, out, study_folder=src, kind=IMPORTED_STUDY)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _folder_problem(out: Path, src: Path) -> None:
    from cartkit.report.output_folder import IMPORTED_STUDY, OutputFolderError, check_output_folder

    try:
        check_output_folder(out, study_folder=src, kind=IMPORTED_STUDY)
    except OutputFolderError as exc:
        raise StudyError([Problem(str(out), None, None, None, str(exc))]) from None


def _empty(table: str) -> pl.DataFrame:
    from cartkit.study.schema import TABLES

    types = {"str": pl.String, "int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "date": pl.Date}
    return pl.DataFrame(schema={c.name: types[c.dtype] for c in TABLES[table].columns})


def _from_cm_and_ex(domains: dict[str, Domain], patients: pl.DataFrame, infusions: pl.DataFrame, out: _Problems,
                    notes: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Where SUPPEX / SUPPDM do not say: infusions.lymphodepletion from the fludarabine, cyclophosphamide or
    bendamustine of EX and CM in the 14 days before the infusion, and patients.prior_lines from CM's prior
    therapies (sdtm_care)."""
    from cartkit.interop.sdtm_care import LYMPHODEPLETION_AGENTS, lymphodepletion_text, prior_lines

    rows = []
    for name, p in (("ex", "EX"), ("cm", "CM")):
        dom = domains.get(name)
        if dom is None or not dom.has("USUBJID") or not dom.has(f"{p}TRT"):
            continue
        agent = pl.coalesce(*[_text(c) for c in (f"{p}DECOD", f"{p}TRT") if dom.has(c)]).str.to_uppercase()
        f = dom.frame.with_columns(USUBJID=_text("USUBJID"), __agent=agent).filter(
            pl.col("__agent").is_in(list(LYMPHODEPLETION_AGENTS)))
        if not f.height:
            continue
        f = _with_dates(dom, f, f"{p}STDTC", f"{p}STDY", patients)
        rows.append(f.select("USUBJID", "__agent", "__date",
                             __dose=_num(f"{p}DOSE") if dom.has(f"{p}DOSE") else pl.lit(None, dtype=pl.Float64),
                             __dosu=_text(f"{p}DOSU") if dom.has(f"{p}DOSU") else pl.lit(None, dtype=pl.String)))
    if rows:
        ld = lymphodepletion_text(pl.concat(rows), infusions)
        infusions = infusions.join(ld.rename({"lymphodepletion": "__ld"}), on=["patient_id", "episode"],
                                   how="left").with_columns(lymphodepletion=pl.coalesce("lymphodepletion", "__ld")
                                                            ).drop("__ld")
        if ld.height:
            notes.append("infusions.lymphodepletion is composed from the fludarabine, cyclophosphamide or "
                         "bendamustine doses in EX/CM in the 14 days before each infusion where SUPPEX has no LDREGIM")
    if "cm" in domains:
        lines = prior_lines(domains["cm"])
        if lines.height:
            patients = patients.join(lines.rename({"USUBJID": "patient_id", "prior_lines": "__pl"}), on="patient_id",
                                     how="left").with_columns(prior_lines=pl.coalesce("prior_lines", "__pl")).drop("__pl")
            notes.append("patients.prior_lines counts CM's prior-therapy lines (CMCAT PRIOR ..., by CMGRPID) where "
                         "SUPPDM has no NPRIORTX")
    return infusions, patients


def _placed_support(dom: Domain, rows: pl.DataFrame, dtc: str, dy: str, patients: pl.DataFrame,
                    infusions: pl.DataFrame, out: _Problems) -> pl.DataFrame:
    cols = ("kind", "agent", "dose", "dose_unit", "o2_device", "o2_flow_l_min", "fio2_pct")
    if not rows.height:
        return _empty("support")
    f = _unknown_subjects(dom, _missing_usubjid(Domain(dom.name, dom.file, rows, dom.csv), out), patients["patient_id"],
                          out)
    f = _with_dates(dom, f, dtc, dy, patients)
    undated = f.filter(pl.col("__date").is_null())
    if undated.height:
        out.rows(dom, undated, dtc, dtc if dom.has(dtc) else None, "supportive care with no complete date: "
                 "cannot be placed", WARNING)
    # a record from --STDTC to --ENDTC is given on each day of it (support is a day-by-day table: the
    # ASTCT CRS grade asks whether vasopressors or oxygen were needed on a day); at most MAX_SUPPORT_DAYS
    end_col = dtc.replace("STDTC", "ENDTC")
    end = _date(end_col) if end_col in f.columns else pl.lit(None, dtype=pl.Date)
    f = f.with_columns(__end=end).with_columns(__end=pl.when(
        (pl.col("__end") > pl.col("__date")) & ((pl.col("__end") - pl.col("__date")).dt.total_days()
                                               < MAX_SUPPORT_DAYS)).then(pl.col("__end")).otherwise(pl.col("__date")))
    long = f.filter(pl.col("__date").is_not_null() & (pl.col("__end") > pl.col("__date")))
    if long.height:
        days = long.with_columns(__date=pl.date_ranges("__date", "__end", interval="1d")).explode("__date")
        f = pl.concat([f.filter(~(pl.col("__date").is_not_null() & (pl.col("__end") > pl.col("__date")))), days])
    f = f.drop("__end")
    placed = _out_of_range(dom, _place(f, infusions), out, "supportive care", dtc).sort(RECORD)
    key = ["USUBJID", "episode", "day", "kind", "agent"]
    dup = placed.filter(~pl.struct(key).is_first_distinct())
    if dup.height:
        out.rows(dom, dup, dtc, None, "a second row of the same agent on the same day: the first one is kept", WARNING)
    placed = placed.filter(pl.struct(key).is_first_distinct())
    return placed.select(pl.col("USUBJID").alias("patient_id"), pl.col("episode").cast(pl.Int64),
                         pl.col("day").cast(pl.Int64), pl.col("__date").alias("date"), *cols)


def import_sdtm(sdtm_dir: str | Path, out_study: str | Path, *, diagnosis: str | None = None,
                target: str | None = None, car_t: tuple[str, ...] | None = None, rs_basis: str = "pet_ct",
                rs_evaluator: str = "INVESTIGATOR", plan: str | Path | None = None) -> ImportResult:
    """Import the SDTM datasets of ``sdtm_dir`` into the study folder ``out_study``.

    ``diagnosis`` (patients.diagnosis) and ``target`` (infusions.target) are used where SDTM does
    not say: MH's primary diagnosis (MHCAT "PRIMARY DIAGNOSIS") and SUPPEX's CAR target (QNAM
    CARTGT) come first; a subject or infusion left without one is an error.
    ``car_t``: EXTRT values that are CAR-T products (default: :data:`CAR_T_PATTERN`).
    ``rs_basis``: which Lugano 2014 response of an RS date is the assessment's, "pet_ct" (FDG-avid
    lymphoma, the default) or "ct"; ``rs_evaluator``: the RSEVAL whose responses are read
    (:mod:`cartkit.interop.sdtm_rs`). ``plan``: a study.toml whose ``[plan]`` tables the new study
    takes verbatim (SDTM holds data, not the analysis plan); without it the plan names the products
    and diagnoses only.
    Raises ``StudyError`` with every located problem when there is any error; nothing is written then.
    """
    from cartkit.interop.sdtm_care import cm_rows, pr_rows
    from cartkit.interop.sdtm_neuro import neuro_rows
    from cartkit.interop.sdtm_rs import rs_assessments
    from cartkit.interop.sdtm_supp import supp_columns
    from cartkit.interop.sdtm_tumor import tr_rows

    src, out = Path(sdtm_dir), Path(out_study)
    problems = _Problems()
    notes: list[str] = []
    diag = tgt = None
    if diagnosis is not None:
        diag = VOCABULARIES["diagnosis"].get(str(diagnosis).strip().lower())
        if diag is None:
            problems.whole("--diagnosis", None, f"unknown diagnosis {diagnosis!r}; one of {', '.join(DIAGNOSES)}")
    if target is not None:
        tgt = VOCABULARIES["target"].get(str(target).strip().lower())
        if tgt is None:
            problems.whole("--target", None, f"unknown target {target!r}; one of "
                           f"{', '.join(sorted(set(VOCABULARIES['target'].values())))}")
    if not src.is_dir():
        raise StudyError([Problem(str(src), None, None, None, "not a folder of SDTM datasets")])
    if out.resolve().is_relative_to(src.resolve()):
        raise StudyError([Problem(str(out), None, None, None, "the study folder would be inside the SDTM folder, "
                                  "which cartkit only reads: write it elsewhere")])
    _folder_problem(out, src)
    plan_tables = None
    if plan is not None:
        try:
            plan_tables = plan_text(Path(plan))
        except (OSError, ValueError) as exc:
            problems.whole(str(plan), None, f"cannot take the plan from it: {exc}")
    domains, read_problems = read_sdtm_folder(src, DOMAINS)
    problems.items += read_problems
    for needed in ("dm", "ex"):
        if needed not in domains and not any(p.file.lower().startswith(needed + ".") for p in read_problems):
            problems.whole(f"{needed}.xpt", None, f"missing SDTM domain {needed.upper()} "
                           f"({needed}.xpt, {needed}.parquet, {needed}.csv or {needed}.json)")
    if errors(problems.items) or "dm" not in domains or "ex" not in domains:
        raise StudyError(problems.items)
    dm = domains["dm"]
    patients = _patients(dm, diag, problems)
    if patients.is_empty():
        raise StudyError(problems.items)
    infusions = _infusions(domains["ex"], patients, tgt, car_t, problems, notes)
    if infusions.is_empty():
        if not errors(problems.items):
            problems.whole(domains["ex"].file, "EXTRT", "no dated exposure in EX: no episode can be built")
        raise StudyError(problems.items)
    infusions = _infusion_details(domains, infusions, problems)
    patients = _patient_details(domains, patients, problems)
    kept = _kept_subjects(patients, infusions)
    parts = []
    for name, prefix, codes in (("lb", "LB", LB_ANALYTES), ("vs", "VS", VS_ANALYTES), ("pc", "PC", PC_ANALYTES)):
        if name in domains:
            part = _findings(domains[name], prefix, codes, patients, infusions, problems)
            if part.height:
                parts.append(part)
    measurements = pl.concat(parts) if parts else _empty("measurements").drop("day", "date").with_columns(
        day=pl.lit(None, dtype=pl.Int64), date=pl.lit(None, dtype=pl.Date))
    extra: list[str] = []
    adverse = pl.DataFrame()
    infections = _empty("infections")
    more_events: list[pl.DataFrame] = []
    if "ae" in domains:
        records = _adverse_events(domains["ae"], patients, infusions, problems, notes, domains.get("suppae"))
        adverse, extra, infections = records.adverse_events, records.extra_terms, records.infections
        if records.malignancies.height:
            more_events.append(records.malignancies)
    if adverse.is_empty():
        adverse = _empty("adverse_events")
    support_parts: list[pl.DataFrame] = []
    if "cm" in domains and _require(domains["cm"], ("USUBJID", "CMTRT"), problems):
        cm = domains["cm"]
        sup, new = cm_rows(cm, problems)
        support_parts.append(_placed_support(cm, sup, "CMSTDTC", "CMSTDY", patients, infusions, problems))
        if new.height:
            more_events.append(_event_rows(cm, _missing_usubjid(Domain(cm.name, cm.file, new, cm.csv), problems),
                                           "new_therapy", pl.col("detail"), "CMSTDTC", "CMSTDY", patients, problems,
                                           "new therapy"))
    if "pr" in domains and _require(domains["pr"], ("USUBJID", "PRTRT"), problems):
        pr = domains["pr"]
        fio2 = supp_columns(domains.get("supppr"), pr, pr.frame.with_columns(USUBJID=_text("USUBJID")), ("PRFIO2",),
                            problems) if "supppr" in domains else None
        sup, hsct, leuk = pr_rows(pr, fio2, problems)
        support_parts.append(_placed_support(pr, sup, "PRSTDTC", "PRSTDY", patients, infusions, problems))
        if hsct.height:
            more_events.append(_event_rows(pr, _missing_usubjid(Domain(pr.name, pr.file, hsct, pr.csv), problems),
                                           "hsct", pl.col("detail"), "PRSTDTC", "PRSTDY", patients, problems, "HSCT"))
        if leuk.height:
            leuk = _with_dates(pr, leuk.with_columns(USUBJID=_text("USUBJID")), "PRSTDTC", "PRSTDY", patients)
            first = leuk.filter(pl.col("__date").is_not_null()).group_by("USUBJID").agg(__leuk=pl.col("__date").min())
            patients = patients.join(first.rename({"USUBJID": "patient_id"}), on="patient_id", how="left").rename(
                {"__leuk": "leukapheresis_date"})
    if "leukapheresis_date" not in patients.columns:
        patients = patients.with_columns(leukapheresis_date=pl.lit(None, dtype=pl.Date))
    randomised = pl.lit(None, dtype=pl.Date)
    if "ds" in domains and domains["ds"].has("DSDECOD") and domains["ds"].has("USUBJID"):
        ds = domains["ds"]
        r = _with_dates(ds, ds.frame.filter(_text("DSDECOD").str.to_uppercase() == "RANDOMIZED").with_columns(
            USUBJID=_text("USUBJID")), "DSSTDTC", "DSSTDY", patients)
        r = r.group_by("USUBJID").agg(__rand=pl.col("__date").min()).rename({"USUBJID": "patient_id"})
        patients = patients.join(r, on="patient_id", how="left").rename({"__rand": "randomisation_date"})
    else:
        patients = patients.with_columns(randomisation_date=randomised)
    infusions, patients = _from_cm_and_ex(domains, patients, infusions, problems, notes)
    support = pl.concat([p for p in support_parts if p.height], how="vertical_relaxed") if any(
        p.height for p in support_parts) else _empty("support")
    neuro = neuro_rows(domains.get("qs"), domains.get("fa"), patients, infusions, problems)
    if neuro.is_empty():
        neuro = _empty("neuro")
    lesions, spd = (tr_rows(domains["tr"], patients, infusions, problems, notes, rs_evaluator) if "tr" in domains
                    else (pl.DataFrame(), pl.DataFrame()))
    if lesions.is_empty():
        lesions = _empty("lesions")
    events = _events(domains, patients, infusions, more_events, problems, kept)
    assessments = _empty("assessments").select("patient_id", "episode", "day", "method", "response")
    if "rs" in domains:
        assessments, progression = rs_assessments(domains["rs"], patients, infusions, problems, notes,
                                                  basis=rs_basis, evaluator=rs_evaluator,
                                                  extra=spd if spd.height else None)
        # RS's first PD is a progression event only where CE gives none for that subject and episode
        given = events.filter(pl.col("kind").is_in(["progression", "relapse"])).select("patient_id", "episode")
        progression = progression.join(given, on=["patient_id", "episode"], how="anti")
        if progression.height:
            placed = progression.with_columns(day=pl.lit(None, dtype=pl.Int64))
            inf = infusions.select("patient_id", "episode", "infusion_date")
            placed = placed.join(inf, on=["patient_id", "episode"], how="left").with_columns(
                day=(pl.col("date") - pl.col("infusion_date")).dt.total_days()).drop("infusion_date")
            events = pl.concat([events, placed.select(events.columns)], how="vertical_relaxed").sort(
                "patient_id", "kind", "date")
    if errors(problems.items):
        raise StudyError(problems.items)
    untreated = patients.join(kept, on="patient_id", how="anti")
    if untreated.height:
        notes.append(f"{untreated.height} DM subjects with no CAR-T exposure in EX, no arm (or ARM Screen Failure / "
                     "Not Assigned) and no never-infused reason (screen failures) are left out")
    kept_untreated = kept.join(infusions.select("patient_id").unique(), on="patient_id", how="anti")
    if kept_untreated.height:
        notes.append(f"{kept_untreated.height} subjects with an arm but no CAR-T infusion (randomised, never infused) "
                     "are kept, with their events")
    patients = patients.join(kept, on="patient_id", how="semi")
    study_id = "sdtm-import"
    if dm.has("STUDYID"):
        ids = dm.frame["STUDYID"].cast(pl.String).drop_nulls().unique().to_list()
        study_id = ids[0] if len(ids) == 1 else study_id
    products = infusions["product"].unique(maintain_order=True).to_list()
    diagnoses = patients["diagnosis"].unique(maintain_order=True).to_list()
    if diag is not None:
        notes.append(f"the diagnosis {diag} (patients.diagnosis) is the importer's --diagnosis where MH gives none")
    if tgt is not None:
        notes.append(f"the target {tgt} (infusions.target) is the importer's --target where SUPPEX gives none")
    notes = [n[0].upper() + n[1:] for n in notes]
    toml = _study_toml(study_id, products, diagnoses, notes, extra, src.name, _trial_summary(domains.get("ts")),
                       plan_tables)
    files = {
        "patients": patients.select([c.name for c in _schema("patients").columns]),
        "infusions": infusions.drop(RECORD),
        "measurements": measurements,
        "adverse_events": adverse,
        "events": events,
        "assessments": assessments,
        "support": support,
        "neuro": neuro,
        "lesions": lesions,
        "infections": infections,
    }
    files = {k: v for k, v in files.items() if v.height or k in ("patients", "infusions", "measurements",
                                                                   "adverse_events", "events", "assessments")}
    _write(out, src, files, toml)
    counts = {name: frame.height for name, frame in files.items()}
    return ImportResult(out, counts, problems.items, notes)


def _schema(table: str):
    from cartkit.study.schema import TABLES

    return TABLES[table]
