"""Supplemental qualifiers (SUPP--) joined to their parent domain's rows (docs/sdtm.md).

A SUPP-- row names its parent record by USUBJID and IDVAR / IDVARVAL (e.g. ``EXSEQ`` = ``2``);
an empty IDVAR qualifies the subject (SUPPDM). ``supp_columns`` returns one text column per QNAM
asked for, keyed by the parent's record number (or USUBJID), so the importer can read it like a
variable of the parent. Numbers in IDVARVAL and the parent variable are compared as numbers
(XPT stores --SEQ as 1.0, SUPP-- as the text "1").
"""

from __future__ import annotations

import polars as pl

from cartkit.interop.sdtm_read import RECORD, Domain
from cartkit.study.problems import WARNING


def _key(expr: pl.Expr) -> pl.Expr:
    """A join key from a value: "1", "1.0" and 1.0 all become "1"."""
    t = expr.cast(pl.String).str.strip_chars()
    n = t.cast(pl.Float64, strict=False)
    return pl.when(n.is_not_null() & (n == n.round(0))).then(n.cast(pl.Int64).cast(pl.String)).otherwise(t)


def supp_columns(supp: Domain | None, parent: Domain, frame: pl.DataFrame, qnams: tuple[str, ...], out) -> pl.DataFrame:
    """``frame`` (rows of ``parent`` with USUBJID and RECORD) with one column per QNAM of ``qnams``
    (null where SUPP-- has no value). A QNAM the parent record does not match is a located warning."""
    empty = frame.with_columns([pl.lit(None, dtype=pl.String).alias(q) for q in qnams])
    if supp is None:
        return empty
    need = ("USUBJID", "QNAM", "QVAL")
    if any(not supp.has(c) for c in need):
        for c in need:
            if not supp.has(c):
                out.whole(supp.file, c, f"required variable {c} is missing from {supp.name.upper()}")
        return empty
    s = supp.frame.with_columns(
        USUBJID=pl.col("USUBJID").cast(pl.String).str.strip_chars(),
        __q=pl.col("QNAM").cast(pl.String).str.strip_chars().str.to_uppercase(),
        __v=pl.col("QVAL").cast(pl.String).str.strip_chars(),
        __idvar=(pl.col("IDVAR").cast(pl.String).str.strip_chars().str.to_uppercase().fill_null("")
                 if supp.has("IDVAR") else pl.lit("")),
        __idval=_key(pl.col("IDVARVAL")) if supp.has("IDVARVAL") else pl.lit(None, dtype=pl.String),
    ).filter(pl.col("__q").is_in(list(qnams)) & pl.col("__v").is_not_null() & (pl.col("__v") != ""))
    if s.is_empty():
        return empty
    if "RDOMAIN" in s.columns:
        s = s.filter(pl.col("RDOMAIN").cast(pl.String).str.strip_chars().str.to_uppercase()
                     == parent.name.upper()[:2])
    pieces = []
    for idvar, rows in s.group_by("__idvar", maintain_order=True):
        idvar = idvar[0]
        if idvar == "":
            keyed = rows.select("USUBJID", "__q", "__v", RECORD).join(
                frame.select("USUBJID", __parent=pl.col(RECORD)), on="USUBJID", how="left")
        elif idvar in frame.columns:
            keyed = rows.select("USUBJID", "__q", "__v", "__idval", RECORD).join(
                frame.select("USUBJID", __idval=_key(pl.col(idvar)), __parent=pl.col(RECORD)),
                on=["USUBJID", "__idval"], how="left")
        else:
            out.rows(supp, rows, "IDVAR", "__idvar", f"IDVAR {idvar} is not a variable of {parent.name.upper()}: "
                     "the qualifier is not read", WARNING)
            continue
        lost = keyed.filter(pl.col("__parent").is_null())
        if lost.height:
            out.rows(supp, lost, "IDVARVAL" if idvar else "USUBJID", "__idval" if idvar else "USUBJID",
                     f"no {parent.name.upper()} record of this subject "
                     f"has {idvar or 'USUBJID'} = this value: the qualifier is not read", WARNING)
        pieces.append(keyed.filter(pl.col("__parent").is_not_null()).select("__parent", "__q", "__v"))
    if not pieces:
        return empty
    long = pl.concat(pieces).unique(["__parent", "__q"], keep="first", maintain_order=True)
    wide = long.pivot(on="__q", index="__parent", values="__v")
    for q in qnams:
        if q not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.String).alias(q))
    return frame.join(wide.select("__parent", *qnams).rename({"__parent": RECORD}), on=RECORD, how="left")
