"""``import_sdtm(sdtm_dir, out_study)``: SDTM datasets -> a cartkit study folder (docs/sdtm.md).

Domains read: DM -> patients, EX -> infusions, LB and VS -> measurements, AE -> adverse_events,
DS (and DM.DTHDTC) -> events, RS -> assessments and progression events (interop/sdtm_rs.py). The mapping, variable by variable, is in docs/sdtm.md.

Day 0 is the CAR-T infusion of each episode. The episodes of a subject are its CAR-T
administrations in EX in date order (EXTRT naming a CAR-T product: ``car_t`` names them, or
by default the "-leucel" / "CAR-T" pattern of ``CAR_T_PATTERN``). A study with no CAR-T
administration at all (a drug study such as the CDISC pilot) gets one episode per subject whose
day 0 is the first exposure in EX, and the study description says so. Dates are read from the
--DTC variables; SDTM study days (--DY, which have no day 0) are used only where a date is
missing, converted once here (:func:`sdtm_day_to_date`).

Every problem is located (SDTM file, row, variable) and all are listed at once; on any error no
study is written. The study folder is written whole into a temporary folder beside ``out_study``
and then renamed into place: ``out_study`` must not exist or be an empty folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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

DOMAINS = ("dm", "ex", "lb", "vs", "ae", "ds", "rs")

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
}
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
    return f.unique("USUBJID", keep="first", maintain_order=True).select(
        patient_id=pl.col("USUBJID"),
        age=pl.col("__age") * pl.col("__ageu").replace_strict(AGE_UNITS, default=None, return_dtype=pl.Float64),
        sex=pl.col("__sex").replace_strict(SEX, default=None),
        diagnosis=pl.lit(diagnosis),
        __reference=(_date("RFSTDTC") if dm.has("RFSTDTC") else pl.lit(None, dtype=pl.Date)),
        __rfxstdtc=(_date("RFXSTDTC") if dm.has("RFXSTDTC") else pl.lit(None, dtype=pl.Date)),
    )


def _with_dates(dom: Domain, frame: pl.DataFrame, dtc: str, dy: str, patients: pl.DataFrame) -> pl.DataFrame:
    """``__date`` from the --DTC date, or from --DY and DM.RFSTDTC where the date is missing."""
    date = _date(dtc) if dom.has(dtc) else pl.lit(None, dtype=pl.Date)
    frame = frame.with_columns(__date=date)
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


def _infusions(ex: Domain, patients: pl.DataFrame, target: str, car_t: tuple[str, ...] | None,
               out: _Problems, notes: list[str]) -> pl.DataFrame:
    if not _require(ex, ("USUBJID", "EXTRT"), out):
        return pl.DataFrame()
    f = _missing_usubjid(ex, out)
    f = _unknown_subjects(ex, f, patients["patient_id"], out)
    f = _with_dates(ex, f, "EXSTDTC", "EXSTDY", patients).with_columns(__trt=_text("EXTRT"))
    if car_t:
        wanted = [t.strip().upper() for t in car_t]
        is_cart = pl.col("__trt").str.to_uppercase().is_in(wanted)
    else:
        is_cart = pl.col("__trt").str.contains(CAR_T_PATTERN)
    f = f.with_columns(__cart=is_cart.fill_null(False))
    if f["__cart"].any():
        f = f.filter(pl.col("__cart"))
        notes.append("day 0 of each episode is a CAR-T administration in EX (EXTRT "
                     + (f"one of {', '.join(car_t)}" if car_t else f"matching {CAR_T_PATTERN!r}") + ")")
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
        patient_id=pl.col("USUBJID"),
        episode=pl.int_range(1, pl.len() + 1).over("USUBJID").cast(pl.Int64),
        product=pl.col("__trt"),
        target=pl.lit(target),
        infusion_date=pl.col("__date"),
        dose_1e6_per_kg=pl.col("__dose"),
    )


def _place(frame: pl.DataFrame, infusions: pl.DataFrame) -> pl.DataFrame:
    """``episode`` and ``day`` of each dated row: the latest infusion on or before its date (the
    first episode for a row before any infusion)."""
    inf = infusions.select(USUBJID="patient_id", episode="episode", __inf="infusion_date").sort("__inf")
    dated = frame.filter(pl.col("__date").is_not_null()).sort("__date")
    placed = dated.join_asof(inf, left_on="__date", right_on="__inf", by="USUBJID", strategy="backward",
                             check_sortedness=False)  # both sorted on the date just above
    first = inf.filter(pl.col("episode") == 1).select("USUBJID", __first="__inf")
    placed = placed.join(first, on="USUBJID", how="left").with_columns(
        episode=pl.col("episode").fill_null(pl.when(pl.col("__first").is_not_null()).then(1)),
        __inf=pl.coalesce("__inf", "__first"),
    )
    return placed.with_columns(day=(pl.col("__date") - pl.col("__inf")).dt.total_days()).drop("__first")


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
    f = _missing_usubjid(Domain(dom.name, dom.file, f, dom.csv), out)
    f = _unknown_subjects(dom, f, patients["patient_id"], out)
    f = _with_dates(dom, f, f"{p}DTC", f"{p}DY", patients)
    no_date = f.filter(pl.col("__date").is_null())
    if no_date.height:
        out.rows(dom, no_date, f"{p}DTC", f"{p}DTC" if dom.has(f"{p}DTC") else None,
                 f"no complete date ({p}DTC) nor study day ({p}DY): the value cannot be placed", WARNING)
    f = f.with_columns(
        __analyte=pl.col("__code").replace_strict(codes, default=None),
        __value=_num(f"{p}STRESN"),
        __unit_text=_text(f"{p}STRESU"),
        __lln=_num(f"{p}STNRLO") if dom.has(f"{p}STNRLO") else pl.lit(None, dtype=pl.Float64),
        __time=_time(f"{p}DTC") if dom.has(f"{p}DTC") else pl.lit(None, dtype=pl.String),
    )
    # Below the limit of quantification: no numeric result, and a character result "<x" (x the LLOQ)
    # or --LLOQ given; the row is kept as blq with its lloq (the standard unit), value empty.
    below = (_text(f"{p}STRESC").str.extract(r"^<\s*([0-9]+(?:\.[0-9]*)?)$", 1).cast(pl.Float64)
             if dom.has(f"{p}STRESC") else pl.lit(None, dtype=pl.Float64))
    lloq = _num(f"{p}LLOQ") if dom.has(f"{p}LLOQ") else pl.lit(None, dtype=pl.Float64)
    f = f.with_columns(__lloq=pl.coalesce(lloq, below)).with_columns(
        __blq=pl.col("__value").is_null() & below.is_not_null())
    f = f.filter(pl.col("__value").is_not_null() | pl.col("__blq"))  # not done: nothing to place
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
        unit=pl.col("__unit"), blq=pl.col("__blq"), lloq=pl.col("__lloq"), lln=pl.col("__lln"),
    )


def _adverse_events(ae: Domain, patients: pl.DataFrame, infusions: pl.DataFrame, out: _Problems,
                    notes: list[str]) -> tuple[pl.DataFrame, list[str]]:
    if not _require(ae, ("USUBJID", "AEDECOD"), out):
        return pl.DataFrame(), []
    f = _missing_usubjid(ae, out)
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
    f = f.with_columns(__term=_text("AEDECOD").str.to_lowercase(), __toxgr=toxgr, __sev=sev)
    if f["__toxgr"].is_null().all() and f["__sev"].is_not_null().any():
        notes.append("AE grades are AETOXGR; where it is empty, AESEV (MILD 1, MODERATE 2, SEVERE 3: the "
                     "CTCAE general grade definitions)")
    f = f.with_columns(__grade=pl.coalesce("__toxgr", "__sev"))
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
                 "no complete start date: counted in episode 1 with no onset day", WARNING)
    placed = _place(f, infusions)
    undated = undated.join(infusions.filter(pl.col("episode") == 1).select(USUBJID="patient_id", episode="episode"),
                           on="USUBJID", how="left").with_columns(day=pl.lit(None, dtype=pl.Int64))
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
    placed = placed.with_columns(__term=pl.col("__term").replace(vocab))
    events = placed.group_by("USUBJID", "episode", "__term", maintain_order=True).agg(
        grade=pl.col("__grade").max().cast(pl.Int64),
        onset_day=pl.col("__onset").min().cast(pl.Int64),
        resolution_day=pl.col("__resolution").max().cast(pl.Int64),
    ).rename({"USUBJID": "patient_id", "__term": "term"})
    known = set(vocab.values())
    extra = sorted(set(events["term"].to_list()) - known)
    return events.select("patient_id", pl.col("episode").cast(pl.Int64), "term", "grade",
                         grading_system=pl.lit(None, dtype=pl.String), onset_day="onset_day",
                         resolution_day="resolution_day"), extra


def _events(dm: Domain, ds: Domain | None, patients: pl.DataFrame, infusions: pl.DataFrame,
            out: _Problems) -> pl.DataFrame:
    deaths = []
    if ds is not None and _require(ds, ("USUBJID", "DSDECOD"), out):
        f = _missing_usubjid(ds, out)
        f = f.filter(_text("DSDECOD").str.to_uppercase() == "DEATH")
        f = _unknown_subjects(ds, f, patients["patient_id"], out)
        f = _with_dates(ds, f, "DSSTDTC", "DSSTDY", patients)
        undated = f.filter(pl.col("__date").is_null())
        if undated.height:
            out.rows(ds, undated, "DSSTDTC", "DSSTDTC" if ds.has("DSSTDTC") else None,
                     "death with no complete date (DSSTDTC)")
        deaths.append(f.filter(pl.col("__date").is_not_null()).select(patient_id="USUBJID", date="__date"))
    if dm.has("DTHDTC"):
        f = dm.frame.with_columns(USUBJID=_text("USUBJID"), __date=_date("DTHDTC")).filter(
            pl.col("USUBJID").is_not_null() & pl.col("__date").is_not_null())
        deaths.append(f.select(patient_id="USUBJID", date="__date"))
    death = (pl.concat(deaths).sort("date").unique("patient_id", keep="first", maintain_order=True)
             if deaths else pl.DataFrame(schema={"patient_id": pl.String, "date": pl.Date}))
    treated = infusions.select("patient_id").unique()
    death = death.join(treated, on="patient_id", how="semi").with_columns(kind=pl.lit("death"),
                                                                          detail=pl.lit(None, dtype=pl.String))
    last = pl.DataFrame(schema={"patient_id": pl.String, "date": pl.Date, "kind": pl.String, "detail": pl.String})
    if dm.has("RFPENDTC"):
        last = dm.frame.select(patient_id=_text("USUBJID"), date=_date("RFPENDTC")).drop_nulls()
        last = last.join(treated, on="patient_id", how="semi").join(death, on="patient_id", how="anti")
        last = last.with_columns(kind=pl.lit("last_contact"), detail=pl.lit("RFPENDTC (end of participation)"))
    return pl.concat([death.select("patient_id", "kind", "date", "detail"),
                      last.select("patient_id", "kind", "date", "detail")]).sort("patient_id", "kind")


def _toml_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _study_toml(study_id: str, products: list[str], diagnosis: str, notes: list[str], extra_terms: list[str],
                source: str) -> str:
    lines = [
        "# Written by cartkit sdtm import (docs/sdtm.md).",
        "[study]",
        f"id = {_toml_text(study_id)}",
        f"title = {_toml_text('Imported from SDTM: ' + study_id)}",
        f"description = {_toml_text('Imported from the SDTM datasets in ' + source + '. ' + '. '.join(notes) + '.')}",
        "",
        "[plan]",
        "products = [" + ", ".join(_toml_text(p) for p in products) + "]",
        f"diseases = [{_toml_text(diagnosis)}]",
    ]
    if extra_terms:
        lines.append("# AEDECOD terms that are not in cartkit's adverse-event vocabulary")
        lines.append("extra_ae_terms = [" + ", ".join(_toml_text(t) for t in extra_terms) + "]")
    return "\n".join(lines) + "\n"


def _check_target(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise StudyError([Problem(str(out), None, None, None,
                                  "the output study folder exists and is not empty: choose a new folder "
                                  "(cartkit never writes into a folder it did not make)")])


def _write_atomically(out: Path, files: dict[str, pl.DataFrame], toml: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, frame in files.items():
            neutralise_formulas(frame).write_csv(tmp / f"{name}.csv")
        (tmp / "study.toml").write_text(toml, encoding="utf-8")
        _check_target(out)
        if out.exists():
            out.rmdir()  # empty (checked): rename needs the name free
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def import_sdtm(sdtm_dir: str | Path, out_study: str | Path, *, diagnosis: str, target: str,
                car_t: tuple[str, ...] | None = None, rs_basis: str = "pet_ct",
                rs_evaluator: str = "INVESTIGATOR") -> ImportResult:
    """Import the SDTM datasets of ``sdtm_dir`` into the new study folder ``out_study``.

    ``diagnosis`` (patients.diagnosis of every subject) and ``target`` (infusions.target) are
    required: SDTM has no single variable cartkit could read them from (MH, TS INDIC are free text).
    ``car_t``: EXTRT values that are CAR-T products (default: :data:`CAR_T_PATTERN`).
    ``rs_basis``: which Lugano 2014 response of an RS date is the assessment's, "pet_ct" (FDG-avid
    lymphoma, the default) or "ct"; ``rs_evaluator``: the RSEVAL whose responses are read
    (:mod:`cartkit.interop.sdtm_rs`).
    Raises ``StudyError`` with every located problem when there is any error; nothing is written then.
    """
    src, out = Path(sdtm_dir), Path(out_study)
    problems = _Problems()
    notes: list[str] = []
    diag = VOCABULARIES["diagnosis"].get(str(diagnosis).strip().lower())
    if diag is None:
        problems.whole("--diagnosis", None, f"unknown diagnosis {diagnosis!r}; one of {', '.join(DIAGNOSES)}")
    tgt = VOCABULARIES["target"].get(str(target).strip().lower())
    if tgt is None:
        problems.whole("--target", None, f"unknown target {target!r}; one of "
                       f"{', '.join(sorted(set(VOCABULARIES['target'].values())))}")
    if not src.is_dir():
        raise StudyError([Problem(str(src), None, None, None, "not a folder of SDTM datasets")])
    if out.resolve().is_relative_to(src.resolve()):
        raise StudyError([Problem(str(out), None, None, None, "the study folder would be inside the SDTM folder, "
                                  "which cartkit only reads: write it elsewhere")])
    _check_target(out)
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
    parts = []
    for name, prefix, codes in (("lb", "LB", LB_ANALYTES), ("vs", "VS", VS_ANALYTES)):
        if name in domains:
            part = _findings(domains[name], prefix, codes, patients, infusions, problems)
            if part.height:
                parts.append(part)
    measurements = pl.concat(parts) if parts else pl.DataFrame(schema={
        "patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64, "date": pl.Date, "time": pl.String,
        "analyte": pl.String, "value": pl.Float64, "unit": pl.String, "blq": pl.Boolean, "lloq": pl.Float64,
        "lln": pl.Float64})
    extra: list[str] = []
    if "ae" in domains:
        adverse, extra = _adverse_events(domains["ae"], patients, infusions, problems, notes)
    else:
        adverse = pl.DataFrame()
    if adverse.is_empty():
        adverse = pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "term": pl.String,
                                       "grade": pl.Int64, "grading_system": pl.String, "onset_day": pl.Int64,
                                       "resolution_day": pl.Int64})
    events = _events(dm, domains.get("ds"), patients, infusions, problems)
    assessments = pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64,
                                       "method": pl.String, "response": pl.String})
    if "rs" in domains:
        from cartkit.interop.sdtm_rs import rs_assessments

        assessments, progression = rs_assessments(domains["rs"], patients, infusions, problems, notes,
                                                  basis=rs_basis, evaluator=rs_evaluator)
        events = pl.concat([events, progression]).sort("patient_id", "kind", "date")
    if errors(problems.items):
        raise StudyError(problems.items)
    untreated = patients.join(infusions.select("patient_id").unique(), on="patient_id", how="anti")
    if untreated.height:
        notes.append(f"{untreated.height} DM subjects with no exposure in EX (screen failures) are left out")
    patients = patients.join(infusions.select("patient_id").unique(), on="patient_id", how="semi")
    study_id = "sdtm-import"
    if dm.has("STUDYID"):
        ids = dm.frame["STUDYID"].cast(pl.String).drop_nulls().unique().to_list()
        study_id = ids[0] if len(ids) == 1 else study_id
    products = infusions["product"].unique(maintain_order=True).to_list()
    notes.append(f"the diagnosis {diag} (patients.diagnosis) and the target {tgt} (infusions.target) are the "
                 "importer's --diagnosis and --target, not SDTM data")
    notes = [n[0].upper() + n[1:] for n in notes]
    toml = _study_toml(study_id, products, diag, notes, extra, src.name)
    files = {
        "patients": patients.select("patient_id", "age", "sex", "diagnosis"),
        "infusions": infusions,
        "measurements": measurements,
        "adverse_events": adverse,
        "events": events,
        "assessments": assessments,
    }
    _write_atomically(out, files, toml)
    counts = {name: frame.height for name, frame in files.items()}
    return ImportResult(out, counts, problems.items, notes)

