"""SDTM CM and PR -> cartkit ``support``, ``events`` (HSCT, new therapy) and leukapheresis dates.

CM (medications): a row is supportive care when CMSCAT names a cartkit support kind (as
``sdtm export`` writes: VASOPRESSOR, TOCILIZUMAB, STEROID ...), or else when its CMDECOD / CMTRT
is one of the agents of :data:`SUPPORT_AGENTS` (vasopressors with their dose, tocilizumab,
corticosteroids, antipyretics, anakinra, siltuximab, immunoglobulin replacement); a row given by a local route (CMROUTE one of
:data:`LOCAL_ROUTES`, such as a topical hydrocortisone) is not support. CMCAT "SUBSEQUENT ANTICANCER THERAPY" is a
``new_therapy`` event. Other CM rows (concomitant medications, prior therapies) are not support.

PR (procedures): PRDECOD "OXYGEN THERAPY" is support of kind oxygen (PRSCAT the device, PRDOSE
the flow in L/min, SUPPPR.PRFIO2 the FiO2), "PLATELET TRANSFUSION" kind platelet_transfusion,
"HEMATOPOIETIC STEM CELL TRANSPLANTATION" (or a PRTRT naming HSCT / stem cell transplant) an
``hsct`` event (PRTRT its detail), "LEUKAPHERESIS" ``patients.leukapheresis_date``.
"""

from __future__ import annotations

import polars as pl

from cartkit.interop import sdtm_codes as C
from cartkit.interop.sdtm_read import RECORD, Domain
from cartkit.study.problems import WARNING
from cartkit.study.vocabulary import VOCABULARIES

# CMDECOD / CMTRT (upper case) -> support kind, for sponsor CM rows without cartkit's CMSCAT. The agents
# the ASTCT 2019 CRS grade counts (vasopressors; Lee DW et al., Biol Blood Marrow Transplant
# 2019;25:625, Table 5) and the CRS / ICANS treatments of the CAR-T labels (tocilizumab, corticosteroids).
SUPPORT_AGENTS: dict[str, str] = {
    **dict.fromkeys(("NOREPINEPHRINE", "NORADRENALINE", "EPINEPHRINE", "ADRENALINE", "DOPAMINE", "PHENYLEPHRINE",
                     "DOBUTAMINE"), "vasopressor"),
    "VASOPRESSIN": "vasopressin",
    "TOCILIZUMAB": "tocilizumab",
    **dict.fromkeys(("DEXAMETHASONE", "METHYLPREDNISOLONE", "PREDNISONE", "PREDNISOLONE", "HYDROCORTISONE"),
                    "steroid"),
    **dict.fromkeys(("ACETAMINOPHEN", "PARACETAMOL", "IBUPROFEN", "METAMIZOLE"), "antipyretic"),
    "ANAKINRA": "anakinra",
    "SILTUXIMAB": "siltuximab",
    # immunoglobulin replacement for hypogammaglobulinaemia (WHO ATC J06BA, immunoglobulins, normal human:
    # the WHODrug names and the usual abbreviations)
    **dict.fromkeys(("IMMUNOGLOBULIN HUMAN NORMAL", "IMMUNOGLOBULINS, NORMAL HUMAN", "HUMAN NORMAL IMMUNOGLOBULIN",
                     "IMMUNOGLOBULIN G HUMAN", "IMMUNOGLOBULIN", "IMMUNOGLOBULINS", "INTRAVENOUS IMMUNOGLOBULIN",
                     "SUBCUTANEOUS IMMUNOGLOBULIN", "IVIG", "SCIG"), "immunoglobulin"),
}
OXYGEN_DECOD = "OXYGEN THERAPY"
# CMROUTE of a local application (CDISC ROUTE codelist terms): a topical hydrocortisone or an inhaled
# corticosteroid is not the systemic treatment the CRS / ICANS grading and the analysis count.
LOCAL_ROUTES = ("TOPICAL", "CUTANEOUS", "OPHTHALMIC", "TRANSDERMAL", "NASAL", "OTIC", "RESPIRATORY (INHALATION)",
                "INHALATION", "VAGINAL", "DENTAL", "INTRA-ARTICULAR", "INTRAOCULAR")


def _text(col: str) -> pl.Expr:
    t = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(t == "").then(None).otherwise(t)


def _num(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)


def _opt(dom: Domain, col: str, dtype=pl.String) -> pl.Expr:
    if not dom.has(col):
        return pl.lit(None, dtype=dtype)
    return _num(col) if dtype == pl.Float64 else _text(col)


def cm_rows(cm: Domain, out) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(support rows, new-therapy rows) of CM, both with USUBJID, RECORD and the columns to place them."""
    kinds = VOCABULARIES["support_kind"]
    f = cm.frame.with_columns(
        __trt=_opt(cm, "CMTRT"), __decod=_opt(cm, "CMDECOD"), __cat=_opt(cm, "CMCAT").str.to_uppercase(),
        __scat=_opt(cm, "CMSCAT").str.to_lowercase(), __dose=_opt(cm, "CMDOSE", pl.Float64),
        __dosu=_opt(cm, "CMDOSU"))
    by_name = pl.coalesce("__decod", "__trt").str.to_uppercase().replace_strict(SUPPORT_AGENTS, default=None)
    local = _opt(cm, "CMROUTE").str.to_uppercase().is_in(list(LOCAL_ROUTES)).fill_null(False)
    f = f.with_columns(__kind=pl.when(~local).then(pl.coalesce(pl.col("__scat").replace_strict(kinds, default=None),
                                                                by_name)))
    support = f.filter(pl.col("__kind").is_not_null() & (pl.col("__cat").fill_null("") != C.NEW_THERAPY_CAT))
    support = support.with_columns(kind=pl.col("__kind"), agent=pl.col("__trt").str.to_lowercase(),
                                   dose=pl.col("__dose"), dose_unit=pl.col("__dosu"),
                                   o2_device=pl.lit(None, dtype=pl.String), o2_flow_l_min=pl.lit(None, dtype=pl.Float64),
                                   fio2_pct=pl.lit(None, dtype=pl.Float64))
    new = f.filter(pl.col("__cat") == C.NEW_THERAPY_CAT).with_columns(
        kind=pl.lit("new_therapy"), detail=pl.coalesce("__trt", "__decod"))
    return support, new


def pr_rows(pr: Domain, fio2: pl.DataFrame | None, out) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(support rows, HSCT event rows, leukapheresis rows) of PR."""
    devices = VOCABULARIES["o2_device"]
    f = pr.frame.with_columns(
        __trt=_opt(pr, "PRTRT"), __decod=_opt(pr, "PRDECOD").str.to_uppercase(),
        __scat=_opt(pr, "PRSCAT"), __dose=_opt(pr, "PRDOSE", pl.Float64), __dosu=_opt(pr, "PRDOSU"))
    if fio2 is not None:
        f = f.join(fio2.select(RECORD, __fio2=pl.col("PRFIO2").cast(pl.Float64, strict=False)), on=RECORD, how="left")
    else:
        f = f.with_columns(__fio2=pl.lit(None, dtype=pl.Float64))
    name = pl.coalesce("__decod", pl.col("__trt").str.to_uppercase())
    is_hsct = (name == C.HSCT_DECOD) | name.str.contains(r"\bHSCT\b|STEM CELL TRANSPLANT").fill_null(False)
    oxygen = f.filter(name == OXYGEN_DECOD)
    device = oxygen["__scat"].str.to_lowercase().str.replace_all(" ", "_", literal=True)
    oxygen = oxygen.with_columns(__device=device)
    bad = oxygen.filter(pl.col("__device").is_not_null() & ~pl.col("__device").is_in(list(devices)))
    if bad.height:
        out.rows(pr, bad, "PRSCAT", "__scat", "not an oxygen device cartkit knows (" + ", ".join(devices)
                 + "): the device is left empty", WARNING)
    oxygen = oxygen.with_columns(
        kind=pl.lit("oxygen"), agent=pl.coalesce(pl.col("__trt").str.to_lowercase(), pl.lit("oxygen")),
        dose=pl.lit(None, dtype=pl.Float64), dose_unit=pl.lit(None, dtype=pl.String),
        o2_device=pl.col("__device").replace_strict(devices, default=None),
        o2_flow_l_min=pl.when(pl.col("__dosu").str.to_lowercase().str.replace_all(" ", "", literal=True)
                              .is_in(["l/min", "lpm"])).then(pl.col("__dose")),
        fio2_pct=pl.col("__fio2"))
    plt = f.filter(name == C.SUPPORT_PR["platelet_transfusion"]).with_columns(
        kind=pl.lit("platelet_transfusion"), agent=pl.coalesce(pl.col("__trt").str.to_lowercase(),
                                                              pl.lit("platelet_transfusion")),
        dose=pl.col("__dose"), dose_unit=pl.col("__dosu"), o2_device=pl.lit(None, dtype=pl.String),
        o2_flow_l_min=pl.lit(None, dtype=pl.Float64), fio2_pct=pl.lit(None, dtype=pl.Float64))
    support = pl.concat([oxygen.drop("__device"), plt], how="diagonal_relaxed")
    hsct = f.filter(is_hsct).with_columns(
        kind=pl.lit("hsct"), detail=pl.when(~pl.col("__trt").str.to_uppercase().is_in([C.HSCT_DECOD, "HSCT"])
                                            & (pl.col("__trt").str.to_uppercase() != pl.col("__decod").fill_null("")))
        .then(pl.col("__trt")))
    leuk = f.filter(name == C.LEUKAPHERESIS_DECOD)
    return support, hsct, leuk


# Lymphodepleting agents of the CAR-T labels (tisagenlecleucel: fludarabine 25 mg/m2 + cyclophosphamide
# 250 mg/m2 daily for 3 days, or bendamustine 90 mg/m2 for 2 days; axicabtagene ciloleucel: fludarabine
# 30 mg/m2 + cyclophosphamide 500 mg/m2 on days -5 to -3), as EXTRT or CMDECOD / CMTRT.
LYMPHODEPLETION_AGENTS = ("FLUDARABINE", "CYCLOPHOSPHAMIDE", "BENDAMUSTINE")
LYMPHODEPLETION_WINDOW = 14  # days before an infusion a lymphodepleting dose belongs to it


def lymphodepletion_text(rows: pl.DataFrame, infusions: pl.DataFrame) -> pl.DataFrame:
    """patient_id, episode, lymphodepletion ("FLUDARABINE 30 mg/m2 + CYCLOPHOSPHAMIDE 400 mg/m2, days -4 to
    -2") from dated rows (USUBJID, __agent, __dose, __dosu, __date) of lymphodepleting agents given in the
    LYMPHODEPLETION_WINDOW days before an infusion."""
    if not rows.height:
        return pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "lymphodepletion": pl.String})
    inf = infusions.select(USUBJID="patient_id", episode="episode", __inf="infusion_date").sort("__inf")
    f = rows.filter(pl.col("__date").is_not_null()).sort("__date").join_asof(
        inf, left_on="__date", right_on="__inf", by="USUBJID", strategy="forward", check_sortedness=False)
    f = f.with_columns(__day=(pl.col("__date") - pl.col("__inf")).dt.total_days()).filter(
        pl.col("__day").is_between(-LYMPHODEPLETION_WINDOW, -1))
    dose = pl.when(pl.col("__dose").is_not_null()).then(pl.format(
        " {} {}", pl.col("__dose").round(6).cast(pl.String).str.replace(r"\.0$", ""), pl.col("__dosu").fill_null("")
    ).str.strip_chars_end()).otherwise(pl.lit(""))
    agents = f.sort("__date", "__agent").group_by("USUBJID", "episode", "__agent", maintain_order=True).agg(
        __text=(pl.col("__agent") + dose).first(), __first=pl.col("__day").min())
    days = f.group_by("USUBJID", "episode").agg(__lo=pl.col("__day").min(), __hi=pl.col("__day").max())
    text = agents.sort("__first", "__agent").group_by("USUBJID", "episode", maintain_order=True).agg(
        __agents=pl.col("__text").str.join(" + ")).join(days, on=["USUBJID", "episode"])
    return text.select(patient_id="USUBJID", episode=pl.col("episode").cast(pl.Int64), lymphodepletion=pl.format(
        "{}, {}", "__agents", pl.when(pl.col("__lo") == pl.col("__hi")).then(pl.format("day {}", "__lo"))
        .otherwise(pl.format("days {} to {}", "__lo", "__hi"))))


def prior_lines(cm: Domain) -> pl.DataFrame:
    """USUBJID, prior_lines from CM rows whose CMCAT names prior therapy ("PRIOR CANCER THERAPY" ...): the
    number of distinct CMGRPID (one group per line of therapy), else of distinct start dates, else of
    distinct CMTRT."""
    if not (cm.has("USUBJID") and cm.has("CMCAT")):
        return pl.DataFrame(schema={"USUBJID": pl.String, "prior_lines": pl.Int64})
    f = cm.frame.filter(_text("CMCAT").str.to_uppercase().str.contains("PRIOR").fill_null(False))
    if cm.has("CMGRPID") and f["CMGRPID"].drop_nulls().len():
        line = _text("CMGRPID")
    elif cm.has("CMSTDTC") and f["CMSTDTC"].drop_nulls().len():
        line = _text("CMSTDTC")
    else:
        line = _text("CMTRT")
    return f.with_columns(USUBJID=_text("USUBJID"), __line=line).filter(pl.col("__line").is_not_null()).group_by(
        "USUBJID").agg(prior_lines=pl.col("__line").n_unique().cast(pl.Int64))
