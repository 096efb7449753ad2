"""Checks of the MedDRA coding an adverse-events table carries (docs/criteria.md "Adverse events in MedDRA").

MedDRA is licensed (ICH / MSSO), so cartkit ships no dictionary: the preferred term (PT) and system
organ class (SOC) a user's rows give are read as given and checked for consistency only:

* a code is 8 digits: each MedDRA term has an eight-digit numeric code (MedDRA Introductory Guide,
  MSSO, "MedDRA structure");
* a coded row gives both its PT (name or code) and its SOC (name or code): the tables group PTs by SOC;
* within a study, a PT code has one name and a PT name one code (likewise for SOCs);
* within a study, a PT sits under one SOC: MedDRA is multiaxial but gives each PT exactly one primary SOC, the
  one data are summarised by (MedDRA Introductory Guide, "Multiaxiality" and the primary SOC rules).

Each problem names the row and column, and rows after the first are compared with the first row of
the same term ("row 4 gives SOC X").
"""

from __future__ import annotations

import polars as pl

from cartkit.study.coerce import TypedTable, problems_at
from cartkit.study.readers import ROW

MEDDRA_CODE = r"^[0-9]{8}$"
CODE_RULE = ("not a MedDRA code: MedDRA codes are 8 digits (MedDRA Introductory Guide: each term has an "
             "eight-digit numeric code)")
PT_COLUMNS = ("meddra_pt", "meddra_pt_code")
SOC_COLUMNS = ("meddra_soc", "meddra_soc_code")


def _key(code: str, name: str) -> pl.Expr:
    """The identity of a term: its code when given, else its name ignoring case and spaces around it."""
    return pl.coalesce(pl.col(code), pl.col(name).str.strip_chars().str.to_lowercase())


def _one_per(frame: pl.DataFrame, key: pl.Expr, value: pl.Expr, file: str, column: str, rule: str,
             kind: str) -> list:
    """Rows whose ``value`` differs from the value of the first row with the same ``key``."""
    f = frame.with_columns(__key=key, __value=value).filter(pl.col("__key").is_not_null()
                                                              & pl.col("__value").is_not_null())
    if not f.height:
        return []
    f = f.sort(ROW).with_columns(__first_value=pl.col("__value").first().over("__key"),
                                 __first_row=pl.col(ROW).first().over("__key"))
    return problems_at(f, pl.col("__value") != pl.col("__first_value"), file, column, pl.col(column),
                       pl.format(rule, "__first_row"), kind=kind)


def meddra_problems(tt: TypedTable) -> list:
    """Every located problem of the MedDRA coding of an adverse-events table (none when it has none)."""
    given = [c for c in (*PT_COLUMNS, *SOC_COLUMNS) if c in tt.present]
    if not given:
        return []
    f = tt.frame
    problems = []
    for code in ("meddra_pt_code", "meddra_soc_code"):
        if code in given:
            problems += problems_at(f, pl.col(code).is_not_null() & ~pl.col(code).str.contains(MEDDRA_CODE),
                                    tt.file, code, code, CODE_RULE, kind="MedDRA code format")
    has_pt = pl.any_horizontal(pl.col(c).is_not_null() for c in PT_COLUMNS)
    has_soc = pl.any_horizontal(pl.col(c).is_not_null() for c in SOC_COLUMNS)
    problems += problems_at(f, has_pt & ~has_soc, tt.file, "meddra_soc", pl.coalesce("meddra_pt", "meddra_pt_code"),
                            "a MedDRA-coded row gives its system organ class too (meddra_soc or meddra_soc_code)",
                            kind="MedDRA PT without its SOC")
    problems += problems_at(f, has_soc & ~has_pt, tt.file, "meddra_pt", pl.coalesce("meddra_soc", "meddra_soc_code"),
                            "a MedDRA-coded row gives its preferred term too (meddra_pt or meddra_pt_code)",
                            kind="MedDRA SOC without a PT")
    lower = {c: pl.col(c).str.strip_chars().str.to_lowercase() for c in ("meddra_pt", "meddra_soc")}
    for level, name, code in (("preferred term", "meddra_pt", "meddra_pt_code"),
                              ("system organ class", "meddra_soc", "meddra_soc_code")):
        problems += _one_per(f, pl.col(code), lower[name], tt.file, name,
                             f"another name for this MedDRA {level} code than row {{}} gives: a code has one name",
                             kind=f"MedDRA {level} code with two names")
        problems += _one_per(f, lower[name], pl.col(code), tt.file, code,
                             f"another code for this MedDRA {level} than row {{}} gives: a term has one code",
                             kind=f"MedDRA {level} with two codes")
    soc = _key("meddra_soc_code", "meddra_soc")
    problems += _one_per(f, _key("meddra_pt_code", "meddra_pt"), soc, tt.file,
                         "meddra_soc_code" if "meddra_soc_code" in given else "meddra_soc",
                         "another system organ class for this preferred term than row {} gives: a MedDRA PT has "
                         "one primary SOC, which the tables group it under (MedDRA Introductory Guide, primary SOC)",
                         kind="MedDRA PT under two SOCs")
    return problems


def is_coded(adverse_events: pl.DataFrame) -> bool:
    """Whether any row of a loaded adverse-events table is coded in MedDRA (a PT or SOC given)."""
    columns = [c for c in (*PT_COLUMNS, *SOC_COLUMNS) if c in adverse_events.columns]
    return bool(columns) and adverse_events.select(
        pl.any_horizontal(pl.col(c).is_not_null() for c in columns).any()).item()
