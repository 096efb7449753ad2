"""SDTM TU and TR -> cartkit ``lesions`` and the SPD of an assessment (docs/sdtm.md).

TR: TRTESTCD ``LDIAM`` (longest diameter) and ``LPERP`` (longest perpendicular diameter) of a
lesion named by TRLNKID (TU's TULNKID), in mm (cm converted), on TRDTC: one ``lesions`` row per
subject, date and lesion with both diameters (the products of perpendicular diameters are Lugano
2014's CT measure, Cheson 2014). TRTESTCD ``SPD`` (the sum of the products of the diameters, mm2)
with TRMETHOD: ``assessments.spd_mm2`` of the assessment of that date and method. RECIST's
``DIAMETER`` / ``SUMDIAM`` (pharmaversesdtm tr_onco) is not Lugano data and is not read.
"""

from __future__ import annotations

import polars as pl

from cartkit.interop import sdtm_codes as C
from cartkit.interop.sdtm_read import RECORD, Domain
from cartkit.study.problems import WARNING

_MM = {"mm": 1.0, "cm": 10.0}


def tr_rows(tr: Domain, patients: pl.DataFrame, infusions: pl.DataFrame, out, notes: list[str] | None = None,
            evaluator: str = "INVESTIGATOR") -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lesions, SPD by USUBJID, __date, __method). Only ``evaluator``'s rows (TREVAL; rows without
    TREVAL count as that evaluator's) are read, as for RS."""
    from cartkit.interop.sdtm_import import _dated_rows, _num, _out_of_range, _place, _require, _text
    from cartkit.interop.sdtm_rs import METHOD_OF

    empty = pl.DataFrame(), pl.DataFrame()
    if not _require(tr, ("USUBJID", "TRTESTCD", "TRSTRESN"), out):
        return empty
    codes = {cd: col for col, (cd, _t) in C.LESION_TESTS.items()}
    f = tr.frame.with_columns(__cd=_text("TRTESTCD").str.to_uppercase()).filter(
        pl.col("__cd").is_in([*codes, C.SPD_TESTCD]))
    if tr.has("TREVAL"):
        who = _text("TREVAL").str.to_uppercase()
        others = f.filter(who.is_not_null() & (who != evaluator.upper()))
        if others.height and notes is not None:
            notes.append(f"{others.height} TR lesion measurements by another evaluator than {evaluator} (TREVAL) are "
                         "not imported")
        f = f.filter(who.is_null() | (who == evaluator.upper()))
    if not f.height:
        return empty
    f = _dated_rows(tr, f, "TR", patients, out, "measurement")
    unit = _text("TRSTRESU").str.to_lowercase() if tr.has("TRSTRESU") else pl.lit("mm")
    f = f.with_columns(__v=_num("TRSTRESN"), __u=unit)
    spd = f.filter(pl.col("__cd") == C.SPD_TESTCD).with_columns(
        __method=(_text("TRMETHOD").str.to_uppercase().replace_strict(METHOD_OF, default=None)
                  if tr.has("TRMETHOD") else pl.lit(None, dtype=pl.String)))
    bad = spd.filter(pl.col("__method").is_null() | pl.col("__v").is_null() | (pl.col("__u") != "mm2"))
    if bad.height:
        out.rows(tr, bad, "TRMETHOD", None, "SPD with no number in mm2 or no TRMETHOD cartkit knows: not read", WARNING)
    spd = spd.filter(pl.col("__method").is_not_null() & pl.col("__v").is_not_null() & (pl.col("__u") == "mm2"))
    spd = spd.unique(["USUBJID", "__date", "__method"], keep="first", maintain_order=True).select(
        "USUBJID", "__date", "__method", "__rft", RECORD, spd_mm2="__v")
    les = f.filter(pl.col("__cd").is_in(list(codes)))
    if les.height:
        if not tr.has("TRLNKID"):
            out.whole(tr.file, "TRLNKID", "lesion diameters need TRLNKID (the lesion)")
            return pl.DataFrame(), spd
        les = les.with_columns(__lnk=_text("TRLNKID"), __f=pl.col("__u").replace_strict(_MM, default=None))
        bad = les.filter(pl.col("__f").is_null() | pl.col("__v").is_null() | pl.col("__lnk").is_null())
        if bad.height:
            out.rows(tr, bad, "TRSTRESU", "__u", "lesion diameter with no number, unit (mm or cm) or TRLNKID: "
                     "not read", WARNING)
        les = les.filter(pl.col("__f").is_not_null() & pl.col("__v").is_not_null() & pl.col("__lnk").is_not_null())
        placed = _out_of_range(tr, _place(les, infusions), out, "measurement", "TRDTC")
        placed = placed.with_columns(__mm=pl.col("__v") * pl.col("__f"), __col=pl.col("__cd").replace_strict(codes))
        wide = placed.pivot(on="__col", index=["USUBJID", "episode", "day", "__date", "__lnk"], values="__mm",
                            aggregate_function="first")
        for col in codes.values():
            if col not in wide.columns:
                wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(col))
        half = wide.filter(pl.col("ldi_mm").is_null() | pl.col("sdi_mm").is_null())
        if half.height:
            out.whole(tr.file, "TRTESTCD", f"{half.height} lesion measurements have only one of LDIAM and LPERP: "
                      "not imported", WARNING)
        lesions = wide.filter(pl.col("ldi_mm").is_not_null() & pl.col("sdi_mm").is_not_null()).select(
            patient_id="USUBJID", episode=pl.col("episode").cast(pl.Int64), day=pl.col("day").cast(pl.Int64),
            date="__date", lesion_id="__lnk", ldi_mm="ldi_mm", sdi_mm="sdi_mm").sort("patient_id", "date", "lesion_id")
    else:
        lesions = pl.DataFrame()
    return lesions, spd
