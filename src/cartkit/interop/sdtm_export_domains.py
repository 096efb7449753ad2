"""The SDTM domains of a loaded study (``cartkit sdtm export``; docs/sdtm.md "Export").

Each builder takes the loaded :class:`~cartkit.study.model.Study` and returns one dataset
(:class:`~cartkit.interop.adam_write.AdamDataset`, the writer shared with the ADaM export) or
None when the study has nothing for it. The terms are those of :mod:`cartkit.interop.sdtm_codes`,
which ``sdtm import`` reads back.

Timing: every dated row carries its ISO 8601 date (--DTC, with the clock time where the study has
one), its SDTM study day (--DY, counted from DM.RFSTDTC, the first infusion: day 1 is that date,
the day before is day -1, there is no day 0; SDTMIG 3.3 section 4.4.4) and, for a row counted
from an infusion, --RFTDTC (the date of the reference time point: that episode's infusion) with
--TPTREF naming it. --RFTDTC is how the importer gives a row back to its episode: a baseline value
a week before the second infusion belongs to episode 2, not 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from cartkit.interop import sdtm_codes as C
from cartkit.interop.adam_write import ASSIGNED, COLLECTED, FLOAT, INTEGER, TEXT, AdamDataset, Variable

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.model import Study

_COMMON = {"STUDYID": "Study Identifier", "DOMAIN": "Domain Abbreviation", "USUBJID": "Unique Subject Identifier",
           "RDOMAIN": "Related Domain Abbreviation", "IDVAR": "Identifying Variable",
           "IDVARVAL": "Identifying Variable Value", "QNAM": "Qualifier Variable Name",
           "QLABEL": "Qualifier Variable Label", "QVAL": "Data Value", "QORIG": "Origin", "QEVAL": "Evaluator",
           "SUBJID": "Subject Identifier for the Study", "RFSTDTC": "Subject Reference Start Date/Time",
           "RFENDTC": "Subject Reference End Date/Time", "RFXSTDTC": "Date/Time of First Study Treatment",
           "RFXENDTC": "Date/Time of Last Study Treatment", "RFICDTC": "Date/Time of Informed Consent",
           "RFPENDTC": "Date/Time of End of Participation", "DTHDTC": "Date/Time of Death",
           "DTHFL": "Subject Death Flag", "AGE": "Age", "AGEU": "Age Units", "SEX": "Sex",
           "ARMCD": "Planned Arm Code", "ARM": "Description of Planned Arm", "ACTARMCD": "Actual Arm Code",
           "ACTARM": "Description of Actual Arm", "ARMNRS": "Reason Arm and/or Actual Arm is Null",
           "FAOBJ": "Object of the Observation"}
# --SUFFIX -> (label, type)
_SUFFIX = {
    "SEQ": ("Sequence Number", INTEGER), "TESTCD": ("Short Name of Test", TEXT), "TEST": ("Name of Test", TEXT),
    "CAT": ("Category", TEXT), "SCAT": ("Subcategory", TEXT), "ORRES": ("Result or Finding in Original Units", TEXT),
    "ORRESU": ("Original Units", TEXT), "STRESC": ("Character Result/Finding in Std Format", TEXT),
    "STRESN": ("Numeric Result/Finding in Standard Units", FLOAT), "STRESU": ("Standard Units", TEXT),
    "STNRLO": ("Normal Range Lower Limit-Std Units", FLOAT), "STNRHI": ("Normal Range Upper Limit-Std Units", FLOAT),
    "LLOQ": ("Lower Limit of Quantitation", FLOAT),
    "SPEC": ("Specimen Type", TEXT), "METHOD": ("Method of Test or Examination", TEXT), "EVAL": ("Evaluator", TEXT),
    "BLFL": ("Baseline Flag", TEXT), "DTC": ("Date/Time of Collection", TEXT), "DY": ("Study Day of Collection", INTEGER),
    "TPTREF": ("Time Point Reference", TEXT), "RFTDTC": ("Date/Time of Reference Time Point", TEXT),
    "TRT": ("Name of Treatment", TEXT), "DECOD": ("Standardized Term", TEXT), "TERM": ("Reported Term", TEXT),
    "DOSE": ("Dose", FLOAT), "DOSU": ("Dose Units", TEXT), "ROUTE": ("Route of Administration", TEXT),
    "STDTC": ("Start Date/Time", TEXT), "ENDTC": ("End Date/Time", TEXT), "STDY": ("Study Day of Start", INTEGER),
    "ENDY": ("Study Day of End", INTEGER), "TOXGR": ("Standard Toxicity Grade", TEXT), "LNKID": ("Link ID", TEXT),
    # MedDRA coding of AE (SDTMIG 3.3 AE): the preferred term's code, the body system / SOC used for the
    # analysis and the primary SOC (both cartkit's one SOC per PT), with their codes
    "PTCD": ("Preferred Term Code", INTEGER), "BODSYS": ("Body System or Organ Class", TEXT),
    "BDSYCD": ("Body System or Organ Class Code", INTEGER), "SOC": ("Primary System Organ Class", TEXT),
    "SOCCD": ("Primary System Organ Class Code", INTEGER),
}
_NUMERIC_COMMON = {"AGE": FLOAT}


def _variables(domain: str, columns: list[str]) -> list[Variable]:
    out = []
    for c in columns:
        if c in _COMMON:
            out.append(Variable(c, _COMMON[c], _NUMERIC_COMMON.get(c, TEXT), COLLECTED))
            continue
        suffix = c[len(domain):] if c.startswith(domain) else c
        label, typ = _SUFFIX[suffix]
        out.append(Variable(c, label, typ, ASSIGNED if suffix in ("SEQ", "DY") else COLLECTED))
    return out


def _dataset(domain: str, label: str, frame: pl.DataFrame, study_id: str, keys: tuple[str, ...]) -> AdamDataset:
    frame = frame.with_columns(STUDYID=pl.lit(study_id), DOMAIN=pl.lit(domain))
    rest = [c for c in frame.columns if c not in ("STUDYID", "DOMAIN", "USUBJID")]
    frame = frame.select("STUDYID", "DOMAIN", "USUBJID", *rest)
    if f"{domain}SEQ" in frame.columns:
        frame = frame.sort("USUBJID", f"{domain}SEQ")
    return AdamDataset(domain, label, "SDTM " + domain, frame, _variables(domain, frame.columns), keys=keys)


def _iso(date: pl.Expr, time: pl.Expr | None = None) -> pl.Expr:
    text = date.dt.strftime("%Y-%m-%d")
    if time is None:
        return text
    return pl.when(time.is_not_null()).then(pl.concat_str([text, pl.lit("T"), time])).otherwise(text)


def _study_day(date: pl.Expr, reference: pl.Expr) -> pl.Expr:
    """SDTM study day: day 1 is the reference date, the day before is -1 (no day 0)."""
    d = (date - reference).dt.total_days()
    return pl.when(d >= 0).then(d + 1).otherwise(d)


def _ref(study: Study) -> pl.DataFrame:
    """USUBJID, __rf (DM.RFSTDTC: first infusion) of every patient."""
    first = study.infusions.group_by("patient_id").agg(__rf=pl.col("infusion_date").min())
    return study.patients.select("patient_id").join(first, on="patient_id", how="left")


def _episode_refs(study: Study) -> pl.DataFrame:
    return study.infusions.select("patient_id", "episode", __inf=pl.col("infusion_date"))


def _timed(frame: pl.DataFrame, study: Study, p: str, *, date: str = "date", time: str | None = None,
           dtc: str = "DTC", dy: str = "DY") -> pl.DataFrame:
    """Add --DTC, --DY, --TPTREF and --RFTDTC to rows with patient_id, episode and ``date``."""
    frame = frame.join(_ref(study), on="patient_id", how="left")
    if "episode" in frame.columns:
        frame = frame.join(_episode_refs(study), on=["patient_id", "episode"], how="left")
    else:
        frame = frame.with_columns(__inf=pl.lit(None, dtype=pl.Date))
    t = pl.col(time) if time else None
    return frame.with_columns(
        **{f"{p}{dtc}": _iso(pl.col(date), t),
           f"{p}{dy}": _study_day(pl.col(date), pl.col("__rf")),
           f"{p}TPTREF": pl.when(pl.col("__inf").is_not_null()).then(
               pl.format("CAR-T INFUSION, EPISODE {}", pl.col("episode"))),
           f"{p}RFTDTC": _iso(pl.col("__inf"))},
    )


def _seq(frame: pl.DataFrame, p: str, order: list[str]) -> pl.DataFrame:
    return frame.sort(["patient_id", *order]).with_columns(
        pl.int_range(1, pl.len() + 1).over("patient_id").alias(f"{p}SEQ"))


def _num_text(expr: pl.Expr) -> pl.Expr:
    """A number as SDTM character text: integers without ".0"."""
    return pl.when(expr == expr.round(0)).then(expr.cast(pl.Int64).cast(pl.String)).otherwise(
        expr.cast(pl.String))


def dm(study: Study, study_id: str) -> AdamDataset:
    p = study.patients
    inf = study.infusions.group_by("patient_id").agg(__first=pl.col("infusion_date").min(),
                                                     __last=pl.col("infusion_date").max())
    ev = study.events
    death = ev.filter(pl.col("kind") == "death").group_by("patient_id").agg(__death=pl.col("date").min())
    last = ev.filter(pl.col("kind") == "last_contact").group_by("patient_id").agg(__lc=pl.col("date").max())
    f = p.join(inf, on="patient_id", how="left").join(death, on="patient_id", how="left").join(
        last, on="patient_id", how="left")
    arm = pl.col("arm").fill_null("")
    f = f.select(
        USUBJID=pl.col("patient_id"), SUBJID=pl.col("patient_id"),
        RFSTDTC=_iso(pl.col("__first")), RFENDTC=_iso(pl.col("__last")),
        RFXSTDTC=_iso(pl.col("__first")), RFXENDTC=_iso(pl.col("__last")),
        RFICDTC=_iso(pl.col("enrolment_date")),
        RFPENDTC=_iso(pl.coalesce("__lc", "__death")),
        DTHDTC=_iso(pl.col("__death")), DTHFL=pl.when(pl.col("__death").is_not_null()).then(pl.lit("Y")),
        AGE=pl.col("age"), AGEU=pl.lit("YEARS"),
        SEX=pl.col("sex").replace_strict({"male": "M", "female": "F"}, default="U"),
        ARMCD=arm.str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "").str.slice(0, 20), ARM=arm,
        ACTARMCD=arm.str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "").str.slice(0, 20), ACTARM=arm,
        ARMNRS=pl.when(arm == "").then(pl.lit("ARM NOT RECORDED IN SOURCE")),
    )
    return _dataset("DM", "Demographics", f, study_id, ("STUDYID", "USUBJID"))


def _supp(rdomain: str, frame: pl.DataFrame, idvar: str | None, study_id: str) -> AdamDataset | None:
    """SUPP-- of ``rdomain`` from rows USUBJID, [IDVARVAL], QNAM, QVAL (text, empty rows dropped)."""
    f = frame.filter(pl.col("QVAL").is_not_null() & (pl.col("QVAL") != ""))
    if f.is_empty():
        return None
    f = f.with_columns(
        STUDYID=pl.lit(study_id), RDOMAIN=pl.lit(rdomain), IDVAR=pl.lit(idvar or ""),
        IDVARVAL=(pl.col("IDVARVAL").cast(pl.String) if idvar else pl.lit("")),
        QLABEL=pl.col("QNAM").replace_strict({q: lab for (d, q), (lab, _c) in C.SUPP.items() if d == rdomain}),
        QORIG=pl.lit("CRF"), QEVAL=pl.lit(""),
    ).select("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL")
    f = f.sort("USUBJID", "QNAM", "IDVARVAL")
    name = f"SUPP{rdomain}"
    return AdamDataset(name, f"Supplemental Qualifiers for {rdomain}", "SDTM " + name, f,
                       _variables(name, f.columns), keys=("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"))


def _long(frame: pl.DataFrame, columns: dict[str, pl.Expr], id_col: str | None) -> pl.DataFrame:
    parts = [frame.select(USUBJID=pl.col("patient_id"), **({"IDVARVAL": pl.col(id_col)} if id_col else {}),
                          QNAM=pl.lit(q), QVAL=expr) for q, expr in columns.items()]
    return pl.concat(parts) if parts else pl.DataFrame()


def suppdm(study: Study, study_id: str) -> AdamDataset | None:
    p = study.patients
    cols = {"IPI": _num_text(pl.col("ipi").cast(pl.Float64)),
            "NPRIORTX": _num_text(pl.col("prior_lines").cast(pl.Float64)),
            "BMBLAST": _num_text(pl.col("marrow_blasts_pct")),
            "NINFRSN": pl.col("never_infused_reason").str.to_uppercase(),
            "PPROTFL": pl.col("per_protocol").replace_strict({True: "Y", False: "N"}, default=None,
                                                             return_dtype=pl.String)}
    return _supp("DM", _long(p, cols, None), None, study_id)


def mh(study: Study, study_id: str) -> tuple[AdamDataset, AdamDataset | None]:
    p = study.patients.with_columns(MHSEQ=pl.lit(1, dtype=pl.Int64))
    term = pl.col("diagnosis").replace_strict(C.DIAGNOSIS_TERMS, default=pl.col("diagnosis"))
    f = p.select(USUBJID=pl.col("patient_id"), MHSEQ="MHSEQ", MHTERM=term, MHDECOD=term,
                 MHCAT=pl.lit(C.PRIMARY_DIAGNOSIS))
    supp = _supp("MH", _long(p, {"MHSUBTYP": pl.col("subtype"), "MHSTAGE": pl.col("stage"),
                                 "MHDISST": pl.col("disease_status").str.to_uppercase()}, "MHSEQ"), "MHSEQ", study_id)
    return _dataset("MH", "Medical History", f, study_id, ("STUDYID", "USUBJID", "MHCAT", "MHDECOD")), supp


def ex(study: Study, study_id: str) -> tuple[AdamDataset, AdamDataset | None]:
    i = _seq(study.infusions, "EX", ["infusion_date", "episode"])
    i = _timed(i, study, "EX", date="infusion_date", dtc="STDTC", dy="STDY")
    f = i.select(USUBJID=pl.col("patient_id"), EXSEQ="EXSEQ", EXTRT=pl.col("product"),
                 EXCAT=pl.lit(C.CAR_T_EXCAT), EXDOSE=pl.col("dose_1e6_per_kg"),
                 EXDOSU=pl.when(pl.col("dose_1e6_per_kg").is_not_null()).then(pl.lit("10^6 cells/kg")),
                 EXROUTE=pl.lit("INTRAVENOUS"), EXSTDTC="EXSTDTC", EXENDTC="EXSTDTC", EXSTDY="EXSTDY",
                 EXENDY="EXSTDY")
    supp = _supp("EX", _long(i, {"CARTGT": pl.col("target"), "TRANSPCT": _num_text(pl.col("transduction_pct")),
                                 "HARVEST": _num_text(pl.col("harvest_1e6_per_kg")),
                                 "LDREGIM": pl.col("lymphodepletion"), "BRIDGTX": pl.col("bridging_therapy"),
                                 "DOSELVL": pl.col("dose_level")}, "EXSEQ"), "EXSEQ", study_id)
    return _dataset("EX", "Exposure", f, study_id, ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC")), supp


def _findings(study: Study, p: str, label: str, rows: pl.DataFrame, tests: pl.DataFrame, study_id: str,
              extra: dict[str, pl.Expr]) -> AdamDataset | None:
    """LB / VS / PC rows of ``rows`` (measurements joined to ``tests``: analyte, __cd, __test, ...)."""
    f = rows.join(tests, on="analyte", how="inner")
    if f.is_empty():
        return None
    f = _seq(f, p, ["date", "time", "__cd"])
    f = _timed(f, study, p, time="time")
    unit = pl.col("unit").replace(C.UNITS_OUT)
    value = _num_text(pl.col("value"))
    blq = pl.col("blq").fill_null(False) & pl.col("value").is_null()
    res = pl.when(blq).then(pl.concat_str([pl.lit("<"), _num_text(pl.col("lloq"))])).otherwise(value)
    orres = res
    if "qualifier" in f.columns:  # a qualified result (study/qualified.py): SDTMIG --STRESC "<3.42", --STRESN null
        text = qualified_text(f.columns)
        res = pl.when(text.is_not_null()).then(text).otherwise(res)
        # --ORRES as collected where the result was collected in the unit exported (--ORRESU is the standard unit)
        orres = pl.when(pl.col("value_text").is_not_null() & (pl.col("unit_original") == pl.col("unit"))).then(
            pl.col("value_text")).otherwise(res)
    out = f.select(
        USUBJID=pl.col("patient_id"), **{f"{p}SEQ": pl.col(f"{p}SEQ"), f"{p}TESTCD": pl.col("__cd"),
                                         f"{p}TEST": pl.col("__test")},
        **{k: v for k, v in extra.items()},
        **{f"{p}ORRES": orres, f"{p}ORRESU": unit, f"{p}STRESC": res, f"{p}STRESN": pl.col("value"),
           f"{p}STRESU": unit},
        **({f"{p}STNRLO": pl.col("lln"), f"{p}STNRHI": pl.col("uln")} if p == "LB" else {}),
        **({f"{p}LLOQ": pl.col("lloq")} if p in ("LB", "PC") else {}),
        **{f"{p}DTC": pl.col(f"{p}DTC"), f"{p}DY": pl.col(f"{p}DY"), f"{p}TPTREF": pl.col(f"{p}TPTREF"),
           f"{p}RFTDTC": pl.col(f"{p}RFTDTC")},
    )
    return _dataset(p, label, out, study_id, ("STUDYID", "USUBJID", f"{p}TESTCD", f"{p}DTC"))


def qualified_text(columns) -> pl.Expr:
    """A qualified measurement's character result (study/qualified.py) as SDTMIG --STRESC writes it, in the
    standard unit: ``<x`` / ``<=x`` with the lloq, ``>x`` / ``>=x`` with the uloq, a below-limit result without
    a sign ``<lloq`` (``BLQ`` when no limit is known; SDTMIG v3.4, LB: pharmaversesdtm BILI "<3.42"); null for
    a plain number. ``columns``: the measurement frame's columns (a frame without ``qualifier`` has only its
    ``blq`` rows without a value, read as ``<lloq``). ADaM's AVALC of ADLB and ADPC is this text."""
    below = pl.concat_str([pl.lit("<"), _num_text(pl.col("lloq"))])
    flagged = pl.col("blq").fill_null(False) & pl.col("value").is_null()
    if "qualifier" not in columns:
        return pl.when(flagged).then(below)
    q = pl.col("qualifier")
    return (pl.when(q.is_in(["<", "<="])).then(pl.concat_str([q, _num_text(pl.col("lloq"))]))
            .when(q.is_in([">", ">="])).then(pl.concat_str([q, _num_text(pl.col("uloq"))]))
            .when(q == "ND").then(pl.coalesce(below, pl.lit("BLQ")))
            .when(flagged).then(below))


def _tests(mapping: dict[str, tuple]) -> pl.DataFrame:
    return pl.DataFrame({"analyte": list(mapping), "__cd": [v[0] for v in mapping.values()],
                         "__test": [v[1] for v in mapping.values()],
                         "__cat": [v[2] if len(v) > 2 else "" for v in mapping.values()]})


def lb(study: Study, study_id: str) -> AdamDataset | None:
    return _findings(study, "LB", "Laboratory Test Results", study.measurements, _tests(C.LB_TESTS), study_id,
                     {"LBCAT": pl.col("__cat"), "LBSPEC": pl.col("analyte").replace_strict(
                         C.LB_SPECIMENS, default="BLOOD")})


def pc(study: Study, study_id: str) -> AdamDataset | None:
    return _findings(study, "PC", "Pharmacokinetics Concentrations", study.measurements, _tests(C.PC_ANALYTES),
                     study_id, {"PCCAT": pl.lit("CAR-T CELLULAR KINETICS"), "PCSPEC": pl.lit("WHOLE BLOOD")})


def vs(study: Study, study_id: str) -> AdamDataset | None:
    ds = _findings(study, "VS", "Vital Signs", study.measurements, _tests(C.VS_TESTS), study_id, {})
    weight = study.patients.filter(pl.col("weight_kg").is_not_null())
    if weight.is_empty():
        return ds
    w = weight.select(USUBJID="patient_id", VSTESTCD=pl.lit("WEIGHT"), VSTEST=pl.lit("Weight"),
                      VSORRES=_num_text(pl.col("weight_kg")), VSORRESU=pl.lit("kg"),
                      VSSTRESC=_num_text(pl.col("weight_kg")), VSSTRESN="weight_kg", VSSTRESU=pl.lit("kg"),
                      VSBLFL=pl.lit("Y"))
    rows = w if ds is None else pl.concat([ds.frame.drop("STUDYID", "DOMAIN", "VSSEQ"), w], how="diagonal_relaxed")
    rows = rows.with_columns(pl.col("VSBLFL") if "VSBLFL" in rows.columns else pl.lit(None, dtype=pl.String).alias(
        "VSBLFL"))
    rows = rows.rename({"USUBJID": "patient_id"}).with_columns(__w=pl.col("VSTESTCD") == "WEIGHT")
    if "VSDTC" not in rows.columns:  # weight only (no vital signs measured): VSDTC empty, as on the weight rows
        rows = rows.with_columns(VSDTC=pl.lit(None, dtype=pl.String))
    rows = rows.sort("patient_id", "__w", "VSDTC", nulls_last=True, maintain_order=True).with_columns(
        VSSEQ=pl.int_range(1, pl.len() + 1).over("patient_id")).drop("__w").rename({"patient_id": "USUBJID"})
    order = [c for c in ("USUBJID", "VSSEQ", "VSTESTCD", "VSTEST", "VSORRES", "VSORRESU", "VSSTRESC", "VSSTRESN",
                         "VSSTRESU", "VSBLFL", "VSDTC", "VSDY", "VSTPTREF", "VSRFTDTC") if c in rows.columns]
    return _dataset("VS", "Vital Signs", rows.select(order), study_id, ("STUDYID", "USUBJID", "VSTESTCD", "VSDTC"))


# AE variables of MedDRA coding (SDTMIG 3.3 AE): the names text, the codes numbers (Num in SDTMIG 3.3)
MEDDRA_AE = {"AEDECOD": TEXT, "AEPTCD": INTEGER, "AEBODSYS": TEXT, "AEBDSYCD": INTEGER, "AESOC": TEXT,
             "AESOCCD": INTEGER}

MEDDRA_SOURCES = {
    "AEDECOD": "MedDRA preferred term (adverse_events.meddra_pt) on coded rows; on the others cartkit's short-list "
               "term (adverse_events.term), the infection and second-malignancy records their category's term",
    "AEPTCD": "adverse_events.meddra_pt_code", "AEBODSYS": "adverse_events.meddra_soc (the primary SOC)",
    "AEBDSYCD": "adverse_events.meddra_soc_code", "AESOC": "adverse_events.meddra_soc",
    "AESOCCD": "adverse_events.meddra_soc_code"}


def _ae_table_rows(study: Study) -> pl.DataFrame:
    """The adverse_events rows as AE records: a MedDRA-coded row gives AETERM its reported term (as the
    study gives it), AEDECOD its preferred term (the term where only the PT code is given, since AEDECOD
    is required) with AEPTCD, and AEBODSYS/AEBDSYCD and AESOC/AESOCCD its primary SOC (cartkit keeps one
    SOC per PT, the primary one, study/meddra.py). An uncoded row gives both AETERM and AEDECOD the
    short-list term (capitalised, abbreviations upper case: ICANS, IEC-HS): that list is the study's dictionary, and a short-list term is what the
    analysis counts (docs/sdtm.md "MedDRA")."""
    a = study.adverse_events
    for c in ("meddra_pt", "meddra_pt_code", "meddra_soc", "meddra_soc_code"):
        if c not in a.columns:
            a = a.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    a = a.join(_episode_refs(study), on=["patient_id", "episode"], how="left")
    coded = pl.any_horizontal(pl.col(c).is_not_null() for c in ("meddra_pt", "meddra_pt_code", "meddra_soc",
                                                                 "meddra_soc_code"))
    short = pl.col("term").replace_strict(C.AE_ABBREVIATIONS, default=(
        pl.col("term").str.slice(0, 1).str.to_uppercase() + pl.col("term").str.slice(1)))
    code = {c: pl.col(c).cast(pl.Int64, strict=False) for c in ("meddra_pt_code", "meddra_soc_code")}
    return a.select(
        "patient_id", "episode", __order=pl.lit(0), __term=pl.when(coded).then(pl.col("term")).otherwise(short),
        __decod=pl.when(coded).then(pl.coalesce("meddra_pt", "term")).otherwise(short),
        __ptcd=code["meddra_pt_code"], __soc=pl.col("meddra_soc"), __soccd=code["meddra_soc_code"],
        __cat=pl.lit(None, dtype=pl.String), __grade=pl.col("grade").cast(pl.String),
        __start=pl.col("__inf") + pl.duration(days=pl.col("onset_day")),
        __end=pl.col("__inf") + pl.duration(days=pl.col("resolution_day")), __system=pl.col("grading_system"))


def _infection_rows(study: Study) -> pl.DataFrame | None:
    """The infections table as AE records with AECAT INFECTION (sdtm_codes.INFECTION_CAT): AETERM says
    what the row says ("Bacterial infection, bloodstream (Escherichia coli)"), SUPPAE the organism class,
    organism and site, which the importer reads back."""
    f = study.tables.get("infections")
    if f is None or not f.height:
        return None
    site = pl.col("site").str.replace_all("_", " ")
    cls = pl.col("organism_class")
    term = pl.concat_str([cls.str.slice(0, 1).str.to_uppercase() + cls.str.slice(1), pl.lit(" infection, "), site,
                          pl.when(pl.col("organism").is_not_null()).then(
                              pl.concat_str([pl.lit(" ("), pl.col("organism"), pl.lit(")")])).otherwise(pl.lit(""))])
    return f.select("patient_id", "episode", __order=pl.lit(1), __term=term, __decod=pl.lit(C.INFECTION_DECOD),
                    __cat=pl.lit(C.INFECTION_CAT), __grade=pl.col("grade").cast(pl.String), __start=pl.col("date"),
                    __system=pl.col("grading_system"), __orgcl=cls.str.to_uppercase(), __org=pl.col("organism"),
                    __site=site.str.to_uppercase())


def _spm_rows(study: Study) -> pl.DataFrame | None:
    """Second primary malignancies (events kind second_malignancy, t_cell_malignancy) as AE records with
    AECAT SECOND PRIMARY MALIGNANCY; AETERM the event's detail (its type), else AEDECOD. No grade: the
    events table records none."""
    e = study.events.filter(pl.col("kind").is_in(list(C.SPM_EVENTS)))
    if not e.height:
        return None
    decod = pl.col("kind").replace_strict(C.SPM_EVENTS)
    return e.select("patient_id", "episode", __order=pl.lit(2), __term=pl.coalesce("detail", decod), __decod=decod,
                    __cat=pl.lit(C.SPM_CAT), __grade=pl.lit(None, dtype=pl.String), __start=pl.col("date"))


def ae(study: Study, study_id: str) -> tuple[AdamDataset | None, AdamDataset | None]:
    """AE: the adverse_events rows, the infections (AECAT INFECTION) and the second primary malignancies
    (AECAT SECOND PRIMARY MALIGNANCY); SUPPAE the grading system of AETOXGR and the infections' organism
    class, organism and site."""
    parts = [p for p in (_ae_table_rows(study), _infection_rows(study), _spm_rows(study))
             if p is not None and p.height]
    if not parts:
        return None, None
    a = pl.concat(parts, how="diagonal_relaxed")
    for c, dtype in (("__end", pl.Date), ("__system", pl.String), ("__orgcl", pl.String), ("__org", pl.String),
                     ("__site", pl.String), ("__ptcd", pl.Int64), ("__soc", pl.String), ("__soccd", pl.Int64)):
        if c not in a.columns:
            a = a.with_columns(pl.lit(None, dtype=dtype).alias(c))
    a = _seq(a, "AE", ["episode", "__order", "__start", "__term"])
    a = _timed(a, study, "AE", date="__start", dtc="STDTC", dy="STDY")
    coded = a["__soc"].is_not_null().any() or a["__soccd"].is_not_null().any() or a["__ptcd"].is_not_null().any()
    meddra = {"AEPTCD": pl.col("__ptcd"), "AEBODSYS": pl.col("__soc"), "AEBDSYCD": pl.col("__soccd"),
              "AESOC": pl.col("__soc"), "AESOCCD": pl.col("__soccd")} if coded else {}
    category = {"AECAT": pl.col("__cat")} if a["__cat"].is_not_null().any() else {}
    f = a.select(USUBJID=pl.col("patient_id"), AESEQ="AESEQ", AETERM="__term", AEDECOD="__decod", **meddra,
                 **category, AETOXGR="__grade", AESTDTC="AESTDTC", AEENDTC=_iso(pl.col("__end")), AESTDY="AESTDY",
                 AEENDY=_study_day(pl.col("__end"), pl.col("__rf")), AETPTREF="AETPTREF", AERFTDTC="AERFTDTC")
    supp = _supp("AE", _long(a, {
        "AETOXGRS": pl.col("__system").replace_strict(C.GRADING_SYSTEMS, default=None),
        "INFORGCL": pl.col("__orgcl"), "INFORG": pl.col("__org"), "INFSITE": pl.col("__site")}, "AESEQ"),
        "AESEQ", study_id)
    ds = _dataset("AE", "Adverse Events", f, study_id, ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC"))
    if coded:  # the MedDRA variables name their dictionary (define.xml: def:ExternalCodeList MedDRA)
        ds.variables = [Variable(v.name, v.label, MEDDRA_AE[v.name], v.origin, MEDDRA_SOURCES[v.name],
                                 dictionary="MedDRA") if v.name in MEDDRA_AE else v for v in ds.variables]
    return ds, supp


def cm(study: Study, study_id: str) -> AdamDataset | None:
    s = study.support.filter(~pl.col("kind").is_in(list(C.SUPPORT_PR)))
    s = s.select("patient_id", "episode", "date", __trt=pl.coalesce("agent", "kind"),
                 __cat=pl.lit(C.SUPPORT_CM_CAT), __scat=pl.col("kind").str.to_uppercase(), __dose=pl.col("dose"),
                 __dosu=pl.col("dose_unit"))
    nt = study.events.filter(pl.col("kind") == "new_therapy").select(
        "patient_id", "episode", "date", __trt=pl.coalesce("detail", pl.lit("NEW ANTICANCER THERAPY")),
        __cat=pl.lit(C.NEW_THERAPY_CAT), __scat=pl.lit(None, dtype=pl.String), __dose=pl.lit(None, dtype=pl.Float64),
        __dosu=pl.lit(None, dtype=pl.String))
    f = pl.concat([s, nt], how="vertical_relaxed")
    if f.is_empty():
        return None
    f = _seq(f, "CM", ["date", "__cat", "__scat", "__trt"])
    f = _timed(f, study, "CM", dtc="STDTC", dy="STDY")
    out = f.select(USUBJID=pl.col("patient_id"), CMSEQ="CMSEQ", CMTRT="__trt", CMCAT="__cat", CMSCAT="__scat",
                   CMDOSE="__dose", CMDOSU="__dosu", CMSTDTC="CMSTDTC", CMENDTC="CMSTDTC", CMSTDY="CMSTDY",
                   CMTPTREF="CMTPTREF", CMRFTDTC="CMRFTDTC")
    return _dataset("CM", "Concomitant/Concomitant Medications", out, study_id,
                    ("STUDYID", "USUBJID", "CMTRT", "CMSTDTC"))


def pr(study: Study, study_id: str) -> tuple[AdamDataset | None, AdamDataset | None]:
    s = study.support.filter(pl.col("kind").is_in(list(C.SUPPORT_PR)))
    s = s.select("patient_id", "episode", "date", __trt=pl.coalesce("agent", "kind"),
                 __decod=pl.col("kind").replace_strict(C.SUPPORT_PR), __cat=pl.lit(C.SUPPORT_CM_CAT),
                 __scat=pl.col("o2_device").str.replace_all("_", " ").str.to_uppercase(),
                 __dose=pl.when(pl.col("kind") == "oxygen").then(pl.col("o2_flow_l_min")).otherwise(pl.col("dose")),
                 __dosu=pl.when(pl.col("kind") == "oxygen").then(
                     pl.when(pl.col("o2_flow_l_min").is_not_null()).then(pl.lit("L/min"))).otherwise(
                     pl.col("dose_unit")), __fio2=pl.col("fio2_pct"))
    h = study.events.filter(pl.col("kind") == "hsct").select(
        "patient_id", "episode", "date", __trt=pl.coalesce("detail", pl.lit("HSCT")), __decod=pl.lit(C.HSCT_DECOD),
        __cat=pl.lit("FOLLOW-UP EVENT"))
    leuk = study.patients.filter(pl.col("leukapheresis_date").is_not_null()).select(
        "patient_id", date=pl.col("leukapheresis_date"), __trt=pl.lit("LEUKAPHERESIS"),
        __decod=pl.lit(C.LEUKAPHERESIS_DECOD), __cat=pl.lit("CELL COLLECTION"))
    f = pl.concat([s, h, leuk], how="diagonal_relaxed")
    if f.is_empty():
        return None, None
    f = _seq(f, "PR", ["date", "__decod", "__trt"])
    f = _timed(f, study, "PR", dtc="STDTC", dy="STDY")
    out = f.select(USUBJID=pl.col("patient_id"), PRSEQ="PRSEQ", PRTRT="__trt", PRDECOD="__decod", PRCAT="__cat",
                   PRSCAT="__scat", PRDOSE="__dose", PRDOSU="__dosu", PRSTDTC="PRSTDTC", PRSTDY="PRSTDY",
                   PRTPTREF="PRTPTREF", PRRFTDTC="PRRFTDTC")
    supp = _supp("PR", _long(f, {"PRFIO2": _num_text(pl.col("__fio2"))}, "PRSEQ"), "PRSEQ", study_id)
    return _dataset("PR", "Procedures", out, study_id, ("STUDYID", "USUBJID", "PRDECOD", "PRSTDTC")), supp


def qs(study: Study, study_id: str) -> AdamDataset | None:
    n = study.neuro
    parts = [n.filter(pl.col(col).is_not_null()).select(
        "patient_id", "episode", "date", __cat=pl.lit(cat), __cd=pl.lit(cd), __test=pl.lit(test),
        __v=pl.col(col).cast(pl.Float64)) for col, (cat, cd, test) in C.QS_SCORES.items()]
    f = pl.concat(parts)
    if f.is_empty():
        return None
    f = _timed(_seq(f, "QS", ["date", "__cd"]), study, "QS")
    out = f.select(USUBJID=pl.col("patient_id"), QSSEQ="QSSEQ", QSTESTCD="__cd", QSTEST="__test", QSCAT="__cat",
                   QSORRES=_num_text(pl.col("__v")), QSSTRESC=_num_text(pl.col("__v")), QSSTRESN="__v",
                   QSDTC="QSDTC", QSDY="QSDY", QSTPTREF="QSTPTREF", QSRFTDTC="QSRFTDTC")
    return _dataset("QS", "Questionnaires", out, study_id, ("STUDYID", "USUBJID", "QSTESTCD", "QSDTC"))


def fa(study: Study, study_id: str) -> AdamDataset | None:
    n = study.neuro
    parts = [n.filter(pl.col(col).is_not_null()).select(
        "patient_id", "episode", "date", __cd=pl.lit(cd), __test=pl.lit(test),
        __v=pl.col(col).str.replace_all("_", " ").str.to_uppercase()) for col, (cd, test) in C.FA_DOMAINS.items()]
    f = pl.concat(parts)
    if f.is_empty():
        return None
    f = _timed(_seq(f, "FA", ["date", "__cd"]), study, "FA")
    out = f.select(USUBJID=pl.col("patient_id"), FASEQ="FASEQ", FATESTCD="__cd", FATEST="__test",
                   FAOBJ=pl.lit(C.FA_OBJECT), FACAT=pl.lit("ICANS GRADING DOMAIN"), FAORRES="__v", FASTRESC="__v",
                   FADTC="FADTC", FADY="FADY", FATPTREF="FATPTREF", FARFTDTC="FARFTDTC")
    return _dataset("FA", "Findings About Events or Interventions", out, study_id,
                    ("STUDYID", "USUBJID", "FATESTCD", "FAOBJ", "FADTC"))


def rs(study: Study, study_id: str) -> AdamDataset | None:
    from cartkit.study.vocabulary import DIAGNOSES

    a = study.assessments.join(study.patients.select("patient_id", "diagnosis"), on="patient_id", how="left")
    a = a.with_columns(__rscat=pl.col("diagnosis").replace_strict(DIAGNOSES, default=None).replace_strict(
        C.RS_CATEGORIES, default=None), __method=pl.col("method").replace_strict(C.METHODS, default=None))
    parts = [a.filter(pl.col("response").is_not_null()).select(
        "patient_id", "episode", "date", "__rscat", "__method", __cd=pl.lit("OVRLRESP"),
        __test=pl.lit("Overall Response"), __c=pl.col("response"), __n=pl.lit(None, dtype=pl.Float64))]
    for col, (cd, test, kind) in C.RS_INPUTS.items():
        v = pl.col(col)
        if kind in ("int", "float"):
            c, n = _num_text(v.cast(pl.Float64)), v.cast(pl.Float64)
        elif kind == "flag":
            c, n = v.replace_strict({True: "Y", False: "N"}, default=None, return_dtype=pl.String), pl.lit(None)
        else:
            c, n = v.str.to_uppercase(), pl.lit(None)
        parts.append(a.filter(v.is_not_null()).select(
            "patient_id", "episode", "date", "__rscat", "__method", __cd=pl.lit(cd), __test=pl.lit(test),
            __c=c, __n=n.cast(pl.Float64)))
    f = pl.concat(parts)
    if f.is_empty():
        return None
    f = _timed(_seq(f, "RS", ["date", "__method", "__cd"]), study, "RS")
    if (f["episode"] == 0).any():  # the randomised treatment (episode 0): its reference is randomisation
        rand = study.patients.select("patient_id", __rand=pl.col("randomisation_date"))
        zero = pl.col("episode") == 0
        f = f.join(rand, on="patient_id", how="left").with_columns(
            RSTPTREF=pl.when(zero).then(pl.lit("RANDOMISATION")).otherwise("RSTPTREF"),
            RSRFTDTC=pl.when(zero).then(_iso(pl.col("__rand"))).otherwise("RSRFTDTC"))
    out = f.select(USUBJID=pl.col("patient_id"), RSSEQ="RSSEQ", RSTESTCD="__cd", RSTEST="__test", RSCAT="__rscat",
                   RSORRES="__c", RSSTRESC="__c", RSSTRESN="__n", RSMETHOD="__method", RSEVAL=pl.lit("INVESTIGATOR"),
                   RSDTC="RSDTC", RSDY="RSDY", RSTPTREF="RSTPTREF", RSRFTDTC="RSRFTDTC")
    return _dataset("RS", "Disease Response and Clin Classification", out, study_id,
                    ("STUDYID", "USUBJID", "RSTESTCD", "RSMETHOD", "RSDTC"))


def tu_tr(study: Study, study_id: str) -> tuple[AdamDataset | None, AdamDataset | None]:
    les = study.lesions
    tu = None
    if not les.is_empty():
        first = les.sort("date").unique(["patient_id", "lesion_id"], keep="first", maintain_order=True)
        first = _timed(_seq(first, "TU", ["date", "lesion_id"]), study, "TU")
        tu = _dataset("TU", "Tumor/Lesion Identification", first.select(
            USUBJID=pl.col("patient_id"), TUSEQ="TUSEQ", TULNKID=pl.col("lesion_id"), TUTESTCD=pl.lit("TUMIDENT"),
            TUTEST=pl.lit("Tumor Identification"), TUORRES=pl.lit("TARGET"), TUSTRESC=pl.lit("TARGET"),
            TUDTC="TUDTC", TUDY="TUDY"), study_id, ("STUDYID", "USUBJID", "TULNKID"))
    parts = [les.select("patient_id", "episode", "date", __lnk=pl.col("lesion_id"), __cd=pl.lit(cd),
                        __test=pl.lit(test), __n=pl.col(col), __u=pl.lit("mm"))
             for col, (cd, test) in C.LESION_TESTS.items()]
    a = study.assessments.filter(pl.col("spd_mm2").is_not_null())
    parts.append(a.select("patient_id", "episode", "date", __lnk=pl.lit(None, dtype=pl.String),
                          __cd=pl.lit(C.SPD_TESTCD), __test=pl.lit("Sum of Products of Diameters"),
                          __n=pl.col("spd_mm2"), __u=pl.lit("mm2"), __method=pl.col("method").replace_strict(
                              C.METHODS, default=None)))
    f = pl.concat(parts, how="diagonal_relaxed")
    if f.is_empty():
        return tu, None
    f = _timed(_seq(f, "TR", ["date", "__lnk", "__cd"]), study, "TR")
    tr = _dataset("TR", "Tumor/Lesion Results", f.select(
        USUBJID=pl.col("patient_id"), TRSEQ="TRSEQ", TRLNKID="__lnk", TRTESTCD="__cd", TRTEST="__test",
        TRORRES=_num_text(pl.col("__n")), TRORRESU="__u", TRSTRESC=_num_text(pl.col("__n")), TRSTRESN="__n",
        TRSTRESU="__u", TRMETHOD="__method", TRDTC="TRDTC", TRDY="TRDY", TRTPTREF="TRTPTREF", TRRFTDTC="TRRFTDTC"),
        study_id, ("STUDYID", "USUBJID", "TRLNKID", "TRTESTCD", "TRDTC"))
    return tu, tr


def ds_dd(study: Study, study_id: str) -> tuple[AdamDataset | None, AdamDataset | None]:
    death = study.events.filter(pl.col("kind") == "death")
    rand = study.patients.filter(pl.col("randomisation_date").is_not_null())
    f = pl.concat([
        death.select("patient_id", "episode", "date", __term=pl.coalesce("detail", pl.lit("DEATH")),
                     __decod=pl.lit("DEATH"), __cat=pl.lit("DISPOSITION EVENT")),
        rand.select("patient_id", episode=pl.lit(None, dtype=pl.Int64), date=pl.col("randomisation_date"),
                    __term=pl.lit("RANDOMIZED"), __decod=pl.lit("RANDOMIZED"), __cat=pl.lit("PROTOCOL MILESTONE")),
    ])
    if f.is_empty():
        return None, None
    f = _timed(_seq(f, "DS", ["date", "__decod"]), study, "DS", dtc="STDTC", dy="STDY")
    ds = _dataset("DS", "Disposition", f.select(
        USUBJID=pl.col("patient_id"), DSSEQ="DSSEQ", DSTERM="__term", DSDECOD="__decod", DSCAT="__cat",
        DSSTDTC="DSSTDTC", DSSTDY="DSSTDY", DSTPTREF="DSTPTREF", DSRFTDTC="DSRFTDTC"), study_id,
        ("STUDYID", "USUBJID", "DSDECOD", "DSSTDTC"))
    cause = death.filter(pl.col("detail").is_not_null())
    dd = None
    if not cause.is_empty():
        c = _timed(_seq(cause, "DD", ["date"]), study, "DD")
        dd = _dataset("DD", "Death Details", c.select(
            USUBJID=pl.col("patient_id"), DDSEQ="DDSEQ", DDTESTCD=pl.lit("PRCDTH"),
            DDTEST=pl.lit("Primary Cause of Death"), DDORRES=pl.col("detail"),
            DDSTRESC=pl.col("detail").str.to_uppercase(), DDDTC="DDDTC", DDDY="DDDY"), study_id,
            ("STUDYID", "USUBJID", "DDTESTCD"))
    return ds, dd


def ce(study: Study, study_id: str) -> AdamDataset | None:
    e = study.events.filter(pl.col("kind").is_in(list(C.CE_EVENTS)))
    if e.is_empty():
        return None
    decod = pl.col("kind").replace_strict(C.CE_EVENTS)
    e = e.with_columns(__decod=decod, __term=pl.coalesce("detail", decod))
    e = _timed(_seq(e, "CE", ["date", "__decod"]), study, "CE", dtc="STDTC", dy="STDY")
    return _dataset("CE", "Clinical Events", e.select(
        USUBJID=pl.col("patient_id"), CESEQ="CESEQ", CETERM="__term", CEDECOD="__decod", CECAT=pl.lit(C.CE_CAT),
        CESTDTC="CESTDTC", CESTDY="CESTDY", CETPTREF="CETPTREF", CERFTDTC="CERFTDTC"), study_id,
        ("STUDYID", "USUBJID", "CEDECOD", "CESTDTC"))


def ts(study: Study, study_id: str) -> AdamDataset:
    """Trial summary: the title (TSPARMCD TITLE) and the data cutoff date (DCUTDTC) where the study has one."""
    rows = [("TITLE", "Trial Title", study.meta.title or study_id)]
    cutoff = getattr(study.meta, "data_cutoff", None)
    if cutoff is not None:
        rows.append(("DCUTDTC", "Data Cutoff Date", cutoff.isoformat()))
    f = pl.DataFrame({"TSSEQ": [1] * len(rows), "TSPARMCD": [r[0] for r in rows], "TSPARM": [r[1] for r in rows],
                      "TSVAL": [r[2] for r in rows]}, schema={"TSSEQ": pl.Int64, "TSPARMCD": pl.String,
                                                           "TSPARM": pl.String, "TSVAL": pl.String})
    f = f.with_columns(STUDYID=pl.lit(study_id), DOMAIN=pl.lit("TS")).select(
        "STUDYID", "DOMAIN", "TSSEQ", "TSPARMCD", "TSPARM", "TSVAL")
    variables = [Variable("STUDYID", "Study Identifier", TEXT, COLLECTED),
                 Variable("DOMAIN", "Domain Abbreviation", TEXT, COLLECTED),
                 Variable("TSSEQ", "Sequence Number", INTEGER, ASSIGNED),
                 Variable("TSPARMCD", "Trial Summary Parameter Short Name", TEXT, COLLECTED),
                 Variable("TSPARM", "Trial Summary Parameter", TEXT, COLLECTED),
                 Variable("TSVAL", "Parameter Value", TEXT, COLLECTED)]
    return AdamDataset("TS", "Trial Summary", "SDTM TS", f, variables, keys=("STUDYID", "TSPARMCD", "TSSEQ"))


def ss(study: Study, study_id: str) -> AdamDataset | None:
    """Subject status: each last contact (events kind last_contact) as SSTESTCD SURVSTAT = ALIVE on its date."""
    e = study.events.filter((pl.col("kind") == "last_contact") & pl.col("date").is_not_null())
    if e.is_empty():
        return None
    e = _timed(_seq(e, "SS", ["date"]), study, "SS")
    return _dataset("SS", "Subject Status", e.select(
        USUBJID=pl.col("patient_id"), SSSEQ="SSSEQ", SSTESTCD=pl.lit("SURVSTAT"), SSTEST=pl.lit("Survival Status"),
        SSORRES=pl.lit("ALIVE"), SSSTRESC=pl.lit("ALIVE"), SSDTC="SSDTC", SSDY="SSDY", SSTPTREF="SSTPTREF",
        SSRFTDTC="SSRFTDTC"), study_id, ("STUDYID", "USUBJID", "SSTESTCD", "SSDTC"))
