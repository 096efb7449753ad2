"""SDTM QS and FA -> cartkit ``neuro`` (ICE and CAPD scores, ICANS domains; docs/sdtm.md).

QS: QSTESTCD ``ICETOT`` (the 10-point Immune Effector Cell-associated Encephalopathy score) and
``CAPDTOT`` (Cornell Assessment of Pediatric Delirium), QSSTRESN the score. FA: FATESTCD ``LOC``
(level of consciousness), ``SEIZURE``, ``MOTORFND`` (motor findings), ``ICP`` (raised intracranial
pressure), FASTRESC the finding in cartkit's words (spaces for underscores: "AWAKENS TO VOICE").
The ASTCT 2019 ICANS grade (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625, Table 4) is
derived from these by cartkit. One neuro row per subject, episode and day; a second value of a
score or domain on the same day keeps the first, with a warning.
"""

from __future__ import annotations

import polars as pl

from cartkit.interop import sdtm_codes as C
from cartkit.interop.sdtm_read import RECORD, Domain
from cartkit.study.problems import WARNING
from cartkit.study.vocabulary import VOCABULARIES

NEURO_COLUMNS = ("ice_score", "consciousness", "seizure", "motor", "raised_icp", "capd_score")
_LIMITS = {"ice_score": (0, 10), "capd_score": (0, 32)}


def neuro_rows(qs: Domain | None, fa: Domain | None, patients: pl.DataFrame, infusions: pl.DataFrame,
               out) -> pl.DataFrame:
    from cartkit.interop.sdtm_import import _dated_rows, _num, _out_of_range, _place, _require, _text

    keys = ["USUBJID", "episode", "day"]
    parts: list[pl.DataFrame] = []
    for dom, p, codes in ((qs, "QS", {cd: col for col, (_cat, cd, _t) in C.QS_SCORES.items()}),
                          (fa, "FA", {cd: col for col, (cd, _t) in C.FA_DOMAINS.items()})):
        if dom is None or not _require(dom, ("USUBJID", f"{p}TESTCD"), out):
            continue
        f = dom.frame.with_columns(__cd=_text(f"{p}TESTCD").str.to_uppercase()).filter(
            pl.col("__cd").is_in(list(codes)))
        if not f.height:
            continue
        f = _dated_rows(dom, f, p, patients, out, "assessment")
        placed = _out_of_range(dom, _place(f, infusions), out, "assessment", f"{p}DTC")
        placed = placed.with_columns(__col=pl.col("__cd").replace_strict(codes))
        if p == "QS":
            placed = placed.with_columns(__v=(_num("QSSTRESN") if dom.has("QSSTRESN") else _num("QSORRES")))
        else:
            placed = placed.with_columns(__v=_text("FASTRESC").str.to_lowercase().str.replace_all(" ", "_"))
        for cd, col in codes.items():
            part = placed.filter(pl.col("__col") == col).sort(RECORD)
            if not part.height:
                continue
            if p == "QS":
                lo, hi = _LIMITS[col]
                bad = part.filter(pl.col("__v").is_null() | ~pl.col("__v").is_between(lo, hi))
                value = pl.col("__v").cast(pl.Int64)
            else:
                vocab = VOCABULARIES[col]
                part = part.with_columns(__v=pl.col("__v").replace_strict(vocab, default=None))
                bad = part.filter(pl.col("__v").is_null())
                value = pl.col("__v")
            if bad.height:
                out.rows(dom, bad, f"{p}STRESC" if p == "FA" else f"{p}STRESN", None,
                         f"{cd} is not a value cartkit reads for neuro.{col}: not imported", WARNING)
            part = part.filter(pl.col("__v").is_not_null())
            dup = part.filter(~pl.struct(keys).is_first_distinct())
            if dup.height:
                out.rows(dom, dup, f"{p}DTC", None, f"a second {cd} on the same day: the first one is kept", WARNING)
            parts.append(part.filter(pl.struct(keys).is_first_distinct()).select(
                *keys, __date="__date", __col=pl.lit(col), __text=value.cast(pl.String)))
    if not parts:
        return pl.DataFrame()
    long = pl.concat(parts)
    wide = long.pivot(on="__col", index=[*keys, "__date"], values="__text", aggregate_function="first")
    casts = [(pl.col(c) if c in wide.columns else pl.lit(None, dtype=pl.String).alias(c)).cast(
        pl.Int64 if c in _LIMITS else pl.String) for c in NEURO_COLUMNS]
    return wide.select(pl.col("USUBJID").alias("patient_id"), pl.col("episode").cast(pl.Int64),
                       pl.col("day").cast(pl.Int64), pl.col("__date").alias("date"), *casts).sort(
        "patient_id", "episode", "day")
