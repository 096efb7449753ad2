"""SDTM RS (disease response) -> cartkit ``assessments`` and progression ``events`` (docs/sdtm.md).

Read: the overall response (RSTESTCD ``OVRLRESP``) of the Lugano 2014 classification (RSCAT
naming LUGANO), by one evaluator (RSEVAL, default ``INVESTIGATOR``; rows without RSEVAL count
as that evaluator's). Each RSSTRESC code gives the method and cartkit's response label:

* PET-CT (metabolic) codes CMR, PMR, NMR, PMD; CDISC's ``SMD`` (stable metabolic disease) is
  cartkit's ``NMR`` (no metabolic response): Cheson 2014, Table 3.
* CT (anatomic) codes as pharmaversesdtm's ``rs_onco_lymphoma`` writes them: CAR, PAR, SAD, PAD
  (complete / partial anatomic response, stable / progressive anatomic disease) -> CR, PR, SD, PD.
* CR, PR, SD, PD: the method is RSMETHOD's (``PET`` in it -> pet_ct, else ct).
* NE and ND (and an empty result, RSSTAT ``NOT DONE``) are not responses: a located warning.
  Any other code is a located error.

One overall response per subject and assessment date: Lugano 2014 (Cheson BD et al., J Clin
Oncol 2014;32:3059-3068: response of FDG-avid histologies is assessed by PET-CT with the
five-point scale, of non-avid ones by CT) makes the PET-CT response the response where it is
evaluable, and the CT response only where PET-CT is missing or not evaluable. ``basis="ct"`` (non-FDG-avid
histologies) reverses the order. The response not used, where its BOR label differs from the
one used, is a located warning: cartkit's best overall response pools every assessment row,
so keeping both rows would let a CT "PAR" beat a PET-CT "PMD" of the same scan.

Progression: the first assessment after day 0 of each episode whose response counts as PD for
the best response (PD, PMD) is an ``events`` row of kind ``progression`` on its date.
"""

from __future__ import annotations

import polars as pl

from cartkit.interop.sdtm_read import RECORD, Domain
from cartkit.response.best_response import bor_label_expr
from cartkit.study.problems import WARNING

# RSSTRESC -> (assessments.method, assessments.response). None: the method is RSMETHOD's.
RS_LUGANO_CODES: dict[str, tuple[str | None, str]] = {
    "CMR": ("pet_ct", "CMR"), "PMR": ("pet_ct", "PMR"), "NMR": ("pet_ct", "NMR"), "SMD": ("pet_ct", "NMR"),
    "PMD": ("pet_ct", "PMD"),
    "CAR": ("ct", "CR"), "PAR": ("ct", "PR"), "SAD": ("ct", "SD"), "PAD": ("ct", "PD"),
    "CR": (None, "CR"), "PR": (None, "PR"), "SD": (None, "SD"), "PD": (None, "PD"),
}
NOT_EVALUABLE = ("NE", "ND")
BASES = {"pet_ct": ("pet_ct", "ct"), "ct": ("ct", "pet_ct")}


def rs_assessments(rs: Domain, patients: pl.DataFrame, infusions: pl.DataFrame, out, notes: list[str], *,
                   basis: str = "pet_ct", evaluator: str = "INVESTIGATOR") -> tuple[pl.DataFrame, pl.DataFrame]:
    """(assessments, progression events) from RS; ``out`` collects the located problems."""
    from cartkit.interop.sdtm_import import (
        _missing_usubjid,
        _out_of_range,
        _place,
        _require,
        _text,
        _unknown_subjects,
        _with_dates,
    )

    empty_a = pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64,
                                   "method": pl.String, "response": pl.String})
    empty_e = pl.DataFrame(schema={"patient_id": pl.String, "kind": pl.String, "date": pl.Date, "detail": pl.String})
    if basis not in BASES:
        out.whole("basis", None, f"response basis {basis!r} is not one of {', '.join(BASES)}")
        return empty_a, empty_e
    if not _require(rs, ("USUBJID", "RSTESTCD", "RSCAT", "RSSTRESC"), out):
        return empty_a, empty_e
    f = rs.frame.filter(_text("RSTESTCD").str.to_uppercase() == "OVRLRESP")
    other = f.filter(~_text("RSCAT").str.to_uppercase().str.contains("LUGANO").fill_null(False))
    if other.height:
        out.rows(rs, other, "RSCAT", "RSCAT", "overall response under criteria other than Lugano 2014: not "
                 "imported (cartkit reads RS under Lugano 2014)", WARNING)
    f = f.filter(_text("RSCAT").str.to_uppercase().str.contains("LUGANO").fill_null(False))
    if rs.has("RSEVAL"):
        who = _text("RSEVAL").str.to_uppercase()
        others = f.filter(who.is_not_null() & (who != evaluator.upper()))
        if others.height:
            out.rows(rs, others, "RSEVAL", "RSEVAL", f"response by another evaluator than {evaluator}: not "
                     "imported (assessments.response is the investigator's)", WARNING)
        f = f.filter(who.is_null() | (who == evaluator.upper()))
    if not f.height:
        return empty_a, empty_e
    f = _missing_usubjid(Domain(rs.name, rs.file, f, rs.csv), out)
    f = _unknown_subjects(rs, f, patients["patient_id"], out)
    f = f.with_columns(__code=_text("RSSTRESC").str.to_uppercase())
    not_eval = f.filter(pl.col("__code").is_null() | pl.col("__code").is_in(list(NOT_EVALUABLE)))
    if not_eval.height:
        out.rows(rs, not_eval, "RSSTRESC", "RSSTRESC", "not evaluable or not done (NE, ND or empty): no "
                 "response at this assessment", WARNING)
    f = f.filter(pl.col("__code").is_not_null() & ~pl.col("__code").is_in(list(NOT_EVALUABLE)))
    unknown = f.filter(~pl.col("__code").is_in(list(RS_LUGANO_CODES)))
    if unknown.height:
        out.rows(rs, unknown, "RSSTRESC", "RSSTRESC", "not a Lugano 2014 overall response code ("
                 + ", ".join(RS_LUGANO_CODES) + ", or NE/ND)")
    f = f.filter(pl.col("__code").is_in(list(RS_LUGANO_CODES)))
    method_text = _text("RSMETHOD").str.to_uppercase() if rs.has("RSMETHOD") else pl.lit(None, dtype=pl.String)
    code_method = {k: m for k, (m, _r) in RS_LUGANO_CODES.items() if m is not None}
    f = f.with_columns(
        __method=pl.col("__code").replace_strict(code_method, default=None, return_dtype=pl.String).fill_null(
            pl.when(method_text.str.contains("PET")).then(pl.lit("pet_ct")).otherwise(pl.lit("ct"))),
        __response=pl.col("__code").replace_strict({k: r for k, (_m, r) in RS_LUGANO_CODES.items()},
                                                   return_dtype=pl.String),
    )
    f = _with_dates(rs, f, "RSDTC", "RSDY", patients)
    undated = f.filter(pl.col("__date").is_null())
    if undated.height:
        out.rows(rs, undated, "RSDTC", "RSDTC" if rs.has("RSDTC") else None,
                 "response with no complete date (RSDTC) nor study day (RSDY): cannot be placed", WARNING)
    f = f.filter(pl.col("__date").is_not_null())
    order = BASES[basis]
    f = f.with_columns(__pref=pl.col("__method").replace_strict({m: i for i, m in enumerate(order)},
                                                                return_dtype=pl.Int64),
                       __label=bor_label_expr(pl.col("__response")))
    f = f.sort("USUBJID", "__date", "__pref", RECORD)
    used = f.filter(pl.struct("USUBJID", "__date").is_first_distinct())
    rest = f.filter(~pl.struct("USUBJID", "__date").is_first_distinct()).join(
        used.select("USUBJID", "__date", __used_method="__method", __used_code="__code", __used_label="__label"),
        on=["USUBJID", "__date"], how="left")
    same_method = rest.filter(pl.col("__method") == pl.col("__used_method"))
    if same_method.height:
        out.rows(rs, same_method, "RSSTRESC", "RSSTRESC", "a second overall response by the same method on the "
                 "same date: the first one is kept", WARNING)
    differ = rest.filter((pl.col("__method") != pl.col("__used_method")) & (pl.col("__label") != pl.col("__used_label")))
    if differ.height:
        used_name = "PET-CT" if order[0] == "pet_ct" else "CT"
        out.rows(rs, differ, "RSSTRESC", "RSSTRESC", f"differs from the {used_name} response of the same date, "
                 f"which is used (Lugano 2014: {'PET-CT for FDG-avid lymphoma' if order[0] == 'pet_ct' else 'CT'})",
                 WARNING)
        notes.append(f"{differ.height} RS responses differ from the {used_name} response of the same date; "
                     f"the {used_name} response is the assessment's response (Lugano 2014)")
    placed = _out_of_range(rs, _place(used, infusions), out, "response", "RSDTC")
    assessments = placed.sort("USUBJID", "__date").select(
        patient_id=pl.col("USUBJID"), episode=pl.col("episode").cast(pl.Int64), day=pl.col("day").cast(pl.Int64),
        method=pl.col("__method"), response=pl.col("__response"))
    prog = placed.filter((pl.col("__label") == "PD") & (pl.col("day") >= 1)).sort("__date").unique(
        ["USUBJID", "episode"], keep="first", maintain_order=True)
    events = prog.select(patient_id=pl.col("USUBJID"), kind=pl.lit("progression"), date=pl.col("__date"),
                         detail=pl.format("RS OVRLRESP {} ({}, row {})", "__code", pl.lit(rs.file),
                                                   pl.col(RECORD) + (1 if rs.csv else 0)))
    notes.append(f"assessments are RS's overall responses under Lugano 2014 (evaluator {evaluator}), one per "
                 f"date, the {'PET-CT' if order[0] == 'pet_ct' else 'CT'} response where it is evaluable; the first "
                 "PD or PMD after day 0 of an episode is a progression event")
    return assessments, events
