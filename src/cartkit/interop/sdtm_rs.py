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

from cartkit.interop.sdtm_codes import METHODS, RS_INPUTS
from cartkit.interop.sdtm_read import RECORD, Domain
from cartkit.response.best_response import bor_label_expr
from cartkit.study.problems import WARNING
from cartkit.study.vocabulary import VOCABULARIES

# RSSTRESC -> (assessments.method, assessments.response). None: the method is RSMETHOD's.
RS_LUGANO_CODES: dict[str, tuple[str | None, str]] = {
    "CMR": ("pet_ct", "CMR"), "PMR": ("pet_ct", "PMR"), "NMR": ("pet_ct", "NMR"), "SMD": ("pet_ct", "NMR"),
    "PMD": ("pet_ct", "PMD"),
    "CAR": ("ct", "CR"), "PAR": ("ct", "PR"), "SAD": ("ct", "SD"), "PAD": ("ct", "PD"),
    "CR": (None, "CR"), "PR": (None, "PR"), "SD": (None, "SD"), "PD": (None, "PD"),
}
NOT_EVALUABLE = ("NE", "ND")
BASES = {"pet_ct": ("pet_ct", "ct"), "ct": ("ct", "pet_ct")}
METHOD_OF = {v: k for k, v in METHODS.items()}  # RSMETHOD -> assessments.method
RS_INPUT_COLUMNS = (*RS_INPUTS, "spd_mm2")


def rs_assessments(rs: Domain, patients: pl.DataFrame, infusions: pl.DataFrame, out, notes: list[str], *,
                   basis: str = "pet_ct", evaluator: str = "INVESTIGATOR",
                   extra: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(assessments, progression events) from RS; ``out`` collects the located problems. ``extra``: more
    assessment columns by USUBJID, __date, __method (TR's SPD), joined to RS's."""
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
    empty_e = pl.DataFrame(schema={"patient_id": pl.String, "kind": pl.String, "episode": pl.Int64, "date": pl.Date,
                                   "detail": pl.String})
    if basis not in BASES:
        out.whole("basis", None, f"response basis {basis!r} is not one of {', '.join(BASES)}")
        return empty_a, empty_e
    if not _require(rs, ("USUBJID", "RSTESTCD", "RSCAT", "RSSTRESC"), out):
        return empty_a, empty_e
    frame = rs.frame.with_columns(__tcd=_text("RSTESTCD").str.to_uppercase(),
                                  __cat=_text("RSCAT").str.to_uppercase().fill_null(""))
    if rs.has("RSEVAL"):
        who = _text("RSEVAL").str.to_uppercase()
        others = frame.filter(who.is_not_null() & (who != evaluator.upper()))
        if others.height:
            out.rows(rs, others.filter(pl.col("__tcd") == "OVRLRESP"), "RSEVAL", "RSEVAL", f"response by another "
                     f"evaluator than {evaluator}: not imported (assessments.response is the investigator's)", WARNING)
        frame = frame.filter(who.is_null() | (who == evaluator.upper()))
    method_text = _text("RSMETHOD").str.to_uppercase() if rs.has("RSMETHOD") else pl.lit(None, dtype=pl.String)
    frame = frame.with_columns(__rsmethod=method_text.replace_strict(METHOD_OF, default=None))
    f = frame.filter(pl.col("__tcd") == "OVRLRESP")
    lugano = pl.col("__cat").str.contains("LUGANO")
    family = pl.col("__cat").str.contains("B-ALL") | pl.col("__cat").str.contains("IMWG") | pl.col("__cat").str.contains(
        "IWCLL")
    other = f.filter(~lugano & ~family)
    if other.height:
        out.rows(rs, other, "RSCAT", "RSCAT", "overall response under criteria other than Lugano 2014, the B-ALL "
                 "criteria, IMWG 2016 or iwCLL 2018: not imported", WARNING)
    byvocab = f.filter(family)
    f = f.filter(lugano)
    components = _inputs(rs, frame, patients, out)
    if not f.height and not byvocab.height and components is None:
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
    resp = pl.concat([used.select("USUBJID", RECORD, "__date", "__rft", "__method", "__response", "__code", "__label")
                      .with_columns(__lugano=pl.lit(True)),
                      _by_vocabulary(rs, byvocab, patients, out).with_columns(__lugano=pl.lit(False))],
                     how="vertical_relaxed")
    keys = ["USUBJID", "__date", "__method"]
    for part in (components, extra):
        if part is not None and part.height:
            resp = resp.join(part.rename({"__rft": "__rft_in", RECORD: "__rec_in"}), on=keys, how="full",
                             coalesce=True).with_columns(__rft=pl.coalesce("__rft", "__rft_in"),
                                                         **{RECORD: pl.coalesce(RECORD, "__rec_in")}).drop(
                "__rft_in", "__rec_in")
    # a response to the randomised treatment (assessments episode 0, day 0 = randomisation; docs/plan.md
    # "Responses to standard of care") is exported with RSRFTDTC the randomisation date: episode 0 again
    rand = (patients.select(USUBJID="patient_id", __rand=pl.col("randomisation_date")).drop_nulls("__rand")
            if "randomisation_date" in patients.columns else None)
    own = None
    if rand is not None and rand.height and "__rft" in resp.columns:
        inf_dates = infusions.select(USUBJID="patient_id", __rft="infusion_date", __is_inf=pl.lit(True))
        resp = resp.join(rand, on="USUBJID", how="left").join(inf_dates.unique(["USUBJID", "__rft"]),
                                                              on=["USUBJID", "__rft"], how="left")
        at_rand = (pl.col("__rft") == pl.col("__rand")).fill_null(False) & pl.col("__is_inf").is_null()
        own = resp.filter(at_rand).with_columns(episode=pl.lit(0, dtype=pl.Int64), __inf=pl.col("__rand"),
                                                day=(pl.col("__date") - pl.col("__rand")).dt.total_days())
        resp = resp.filter(~at_rand).drop("__rand", "__is_inf")
        own = own.drop("__rand", "__is_inf")
    placed = _place(resp, infusions)
    if own is not None and own.height:
        placed = pl.concat([placed, own.select(placed.columns)], how="vertical_relaxed")
    placed = _out_of_range(rs, placed, out, "response", "RSDTC")
    columns = [c for c in RS_INPUT_COLUMNS if c in placed.columns]
    assessments = placed.sort("USUBJID", "__date", "__method").select(
        pl.col("USUBJID").alias("patient_id"), pl.col("episode").cast(pl.Int64), pl.col("day").cast(pl.Int64),
        pl.col("__method").alias("method"), pl.col("__response").alias("response"), *columns)
    # a PD on the randomised treatment (episode 0) is no CAR-T episode's progression: the treatment failure is CE's
    prog = placed.filter((pl.col("__label") == "PD") & (pl.col("day") >= 1) & pl.col("__lugano").fill_null(False)
                         & (pl.col("episode") >= 1)).sort(
        "__date").unique(["USUBJID", "episode"], keep="first", maintain_order=True)
    events = prog.select(patient_id=pl.col("USUBJID"), kind=pl.lit("progression"), episode=pl.col("episode"),
                         date=pl.col("__date"),
                         detail=pl.format("RS OVRLRESP {} ({}, row {})", "__code", pl.lit(rs.file),
                                          pl.col(RECORD) + (1 if rs.csv else 0)))
    notes.append(f"assessments are RS's overall responses under Lugano 2014 (evaluator {evaluator}), one per "
                 f"date, the {'PET-CT' if order[0] == 'pet_ct' else 'CT'} response where it is evaluable, and "
                 "under the B-ALL criteria, IMWG 2016 or iwCLL 2018 (RSCAT); the first PD or PMD after day 0 of an episode is a "
                 "progression event where CE gives none")
    return assessments, events


def _by_vocabulary(rs: Domain, f: pl.DataFrame, patients: pl.DataFrame, out) -> pl.DataFrame:
    """OVRLRESP rows under the B-ALL criteria, IMWG 2016 or iwCLL 2018: RSSTRESC is a cartkit response label."""
    from cartkit.interop.sdtm_import import _missing_usubjid, _text, _unknown_subjects, _with_dates

    schema = {"USUBJID": pl.String, RECORD: pl.Int64, "__date": pl.Date, "__rft": pl.Date, "__method": pl.String,
              "__response": pl.String, "__code": pl.String, "__label": pl.String}
    if not f.height:
        return pl.DataFrame(schema=schema)
    f = _missing_usubjid(Domain(rs.name, rs.file, f, rs.csv), out)
    f = _unknown_subjects(rs, f, patients["patient_id"], out)
    labels = VOCABULARIES["response"]
    f = f.with_columns(__code=_text("RSSTRESC"))
    f = f.with_columns(__response=pl.col("__code").str.to_lowercase().replace_strict(labels, default=None))
    not_eval = f.filter(pl.col("__code").is_null() | pl.col("__code").str.to_uppercase().is_in(list(NOT_EVALUABLE)))
    if not_eval.height:
        out.rows(rs, not_eval, "RSSTRESC", "RSSTRESC", "not evaluable or not done (NE, ND or empty): no "
                 "response at this assessment", WARNING)
    f = f.filter(pl.col("__code").is_not_null() & ~pl.col("__code").str.to_uppercase().is_in(list(NOT_EVALUABLE)))
    bad = f.filter(pl.col("__response").is_null())
    if bad.height:
        out.rows(rs, bad, "RSSTRESC", "RSSTRESC", "not a response cartkit knows ("
                 + ", ".join(sorted(set(labels.values()))) + ")")
    f = f.filter(pl.col("__response").is_not_null()).with_columns(__method=pl.coalesce(
        "__rsmethod", pl.when(pl.col("__cat").str.contains("IMWG")).then(pl.lit("imwg"))
        .when(pl.col("__cat").str.contains("IWCLL")).then(pl.lit("iwcll")).otherwise(pl.lit("marrow"))),
        __label=bor_label_expr(pl.col("__response")))
    f = _with_dates(rs, f, "RSDTC", "RSDY", patients)
    undated = f.filter(pl.col("__date").is_null())
    if undated.height:
        out.rows(rs, undated, "RSDTC", "RSDTC" if rs.has("RSDTC") else None,
                 "response with no complete date (RSDTC) nor study day (RSDY): cannot be placed", WARNING)
    f = f.filter(pl.col("__date").is_not_null()).sort("USUBJID", "__date", RECORD)
    dup = f.filter(~pl.struct("USUBJID", "__date", "__method").is_first_distinct())
    if dup.height:
        out.rows(rs, dup, "RSSTRESC", "RSSTRESC", "a second overall response by the same method on the same date: "
                 "the first one is kept", WARNING)
    f = f.filter(pl.struct("USUBJID", "__date", "__method").is_first_distinct())
    return f.select([pl.col(c).cast(t) for c, t in schema.items()])


def _inputs(rs: Domain, frame: pl.DataFrame, patients: pl.DataFrame, out) -> pl.DataFrame | None:
    """The assessment inputs (RS_INPUTS codes: Deauville score, marrow blasts ...) by subject, date and
    method, one column each; None when RS has none."""
    from cartkit.interop.sdtm_import import _missing_usubjid, _num, _text, _unknown_subjects, _with_dates

    codes = {cd: (col, kind) for col, (cd, _t, kind) in RS_INPUTS.items()}
    f = frame.filter(pl.col("__tcd").is_in(list(codes)))
    if not f.height:
        return None
    f = _missing_usubjid(Domain(rs.name, rs.file, f, rs.csv), out)
    f = _unknown_subjects(rs, f, patients["patient_id"], out)
    no_method = f.filter(pl.col("__rsmethod").is_null())
    if no_method.height:
        out.rows(rs, no_method, "RSMETHOD", "RSMETHOD" if rs.has("RSMETHOD") else None, "an assessment input with no "
                 "RSMETHOD cartkit knows (" + ", ".join(METHODS.values()) + "): not read", WARNING)
    f = _with_dates(rs, f.filter(pl.col("__rsmethod").is_not_null()), "RSDTC", "RSDY", patients).filter(
        pl.col("__date").is_not_null())
    stresn = _num("RSSTRESN") if rs.has("RSSTRESN") else pl.lit(None, dtype=pl.Float64)
    text = _text("RSSTRESC")
    f = f.with_columns(__num=pl.coalesce(stresn, text.cast(pl.Float64, strict=False)), __txt=text)
    keys = ["USUBJID", "__date", "__method"]
    f = f.rename({"__rsmethod": "__method"})
    base = f.group_by(keys, maintain_order=True).agg(__rft=pl.col("__rft").first(), **{RECORD: pl.col(RECORD).min()})
    for cd, (col, kind) in codes.items():
        part = f.filter(pl.col("__tcd") == cd)
        if not part.height:
            continue
        if kind in ("int", "float"):
            value = pl.col("__num").cast(pl.Int64 if kind == "int" else pl.Float64, strict=False)
        elif kind == "flag":
            value = pl.col("__txt").str.to_uppercase().replace_strict({"Y": True, "N": False}, default=None,
                                                                       return_dtype=pl.Boolean)
        else:
            value = pl.col("__txt").str.to_lowercase()
        part = part.with_columns(__v=value)
        bad = part.filter(pl.col("__v").is_null())
        if bad.height:
            wanted = "a number" if kind in ("int", "float") else "Y or N" if kind == "flag" else "a value"
            out.rows(rs, bad, "RSSTRESC", "__txt", f"{cd} ({col}) is not {wanted}: not read", WARNING)
        part = part.filter(pl.col("__v").is_not_null()).unique(keys, keep="first", maintain_order=True)
        base = base.join(part.select(*keys, pl.col("__v").alias(col)), on=keys, how="left")
    return base
