"""Measurement units: every value is converted to its analyte's canonical unit at load.

A unit spelling is first made canonical (``vocabulary.canonical_unit``: case
and spaces ignored, ``g/dl`` -> ``g/dL``), then looked up among the units
accepted for the row's analyte (``vocabulary.UNIT_CONVERSIONS``:
canonical = value * factor + offset; the factors and their sources are in the
vocabulary module). The lookup is done once per distinct (analyte, unit) pair,
and each row picks its pair's factor by an integer code, so converting tens of
millions of values is a few passes over two columns. The unit as written is
kept in ``unit_original``.

Qualified results (``<5``, ``>100000``, ``BLQ``) are read before the cast by
``cartkit.study.qualified``: below forms as ``blq = true`` with ``lloq = x`` and
no value, above forms as ``uloq = x`` and no value, each with its ``qualifier``.
A row with no value, no ``blq`` flag and no qualifier (a laboratory's "not
done") is a missing measurement: a warning, and the row is left out of the
loaded study.
"""

from __future__ import annotations

import polars as pl

from cartkit.study.coerce import TypedTable, problems_at
from cartkit.study.problems import WARNING, Problem
from cartkit.study.vocabulary import ANALYTES, UNIT_CONVERSIONS, canonical_unit

_OK, _UNKNOWN, _MISMATCH = 0, 1, 2


EMPTY_VALUE_RULE = "value is empty and blq is not true: read as not measured, the row is left out"


def check_blq(tt: TypedTable) -> tuple[list[Problem], pl.Series]:
    """A row with no value and no blq flag is not measured: a warning; returns the mask of such rows.

    (An unreadable value is an error of its own, reported by the column's type check.)"""
    value_failed = tt.failed.get("value")
    failed = pl.lit(value_failed) if value_failed is not None else pl.lit(False)
    empty = pl.col("value").is_null() & ~failed & ~pl.col("blq").fill_null(False) & pl.col("qualifier").is_null()
    mask = tt.frame.select(empty.alias("empty")).to_series()
    problems = problems_at(tt.frame, mask, tt.file, "value", pl.lit(None), EMPTY_VALUE_RULE, severity=WARNING)
    return problems, mask


def _pair_table(units: list[str]) -> dict[str, list]:
    """Per (analyte code, unit code) pair, in code order a * len(units) + u: how to convert."""
    table: dict[str, list] = {"factor": [], "offset": [], "status": [], "converted": []}
    for analyte in ANALYTES.values():
        accepted = UNIT_CONVERSIONS.get(analyte.code, {})
        for unit in units:
            canon = canonical_unit(unit)
            if canon is None:
                status, factor, offset = _UNKNOWN, None, None
            elif canon not in accepted:
                status, factor, offset = _MISMATCH, None, None
            else:
                status, (factor, offset) = _OK, accepted[canon]
            table["factor"].append(factor)
            table["offset"].append(offset)
            table["status"].append(status)
            table["converted"].append(f"{analyte.code} {canon} -> {analyte.unit}" if status == _OK
                                      and canon != analyte.unit else None)
    return table


def _pair_stats(codes: pl.DataFrame, pair: pl.Expr, value: pl.Series) -> pl.DataFrame:
    """The (analyte, unit) pairs present, with their rows and their smallest and largest value: one
    query over the code columns, the pair column never materialised."""
    return codes.lazy().with_columns(value=value).group_by(pair=pair).agg(
        n=pl.len(), lo=pl.col("value").min(), hi=pl.col("value").max()).drop_nulls("pair").sort("pair").collect()


def convert_units(tt: TypedTable) -> tuple[list[Problem], list[str]]:
    """Convert ``value``, ``lloq``, ``lln`` and ``uln`` to canonical units in place; check analyte bounds.

    Each row's (analyte, unit) pair is one integer; what to do is decided per pair present (one
    group-by gives their rows and value ranges). The pairs of the rows are computed only when a pair
    present needs rows picked out (a unit to convert or to report, a value out of bounds)."""
    f = tt.frame
    # the units as spelt: the spellings of the column's Enum when coercion kept one (every unit written
    # canonically, the usual case), else their distinct values (as cleaning found them, when it did)
    unit_cast = tt.enums.get("unit")
    units = (list(unit_cast.dtype.categories) if unit_cast is not None
             else tt.distinct.get("unit", f["unit"]).drop_nulls().unique().sort().to_list())
    width = max(len(units), 1)
    # the analytes are canonical here (coerce_table), so every one is in ANALYTES; their codes come
    # from the column's cast to the vocabulary when coercion kept it
    cast = tt.enums.get("analyte")
    if cast is not None:
        order = pl.Series(cast.dtype.categories).cast(pl.Enum(list(ANALYTES))).to_physical().cast(pl.UInt32)
    else:
        cast = f["analyte"].cast(pl.Enum(list(ANALYTES)))
        order = pl.int_range(len(ANALYTES), dtype=pl.UInt32, eager=True)
    codes = pl.DataFrame({"a": cast.to_physical(),
                          "u": (unit_cast if unit_cast is not None else f["unit"].cast(pl.Enum(units))).to_physical()})
    analyte_expr = pl.lit(order).gather(pl.col("a"))
    pair_expr = analyte_expr * width + pl.col("u").cast(pl.UInt32)
    rows: dict[str, pl.Series] = {}

    def row_codes() -> tuple[pl.Series, pl.Series]:
        """(analyte code, pair) of every row."""
        if not rows:
            rows.update(codes.select(analyte=analyte_expr, pair=pair_expr).to_dict())
        return rows["analyte"], rows["pair"]

    table = _pair_table(units)
    stats = _pair_stats(codes, pair_expr, f["value"])
    present = stats["pair"].to_list()
    accepted = pl.Series([", ".join(UNIT_CONVERSIONS.get(a, {})) for a in ANALYTES], dtype=pl.String)
    canonical = pl.Series([a.unit for a in ANALYTES.values()], dtype=pl.String)

    problems: list[Problem] = []
    status = pl.Series(table["status"], dtype=pl.Int8)
    if any(table["status"][code] != _OK for code in present):
        analyte_code, pair = row_codes()
        bad = f.with_columns(__status=status.gather(pair), __accepted=accepted.gather(analyte_code)).filter(
            pl.col("__status") != _OK
        )
        for code, template in (
            (_UNKNOWN, "unknown unit '{}' for analyte {} (accepted: {})"),
            (_MISMATCH, "unit '{}' is not valid for analyte {} (accepted: {})"),
        ):
            problems += problems_at(
                bad, pl.col("__status") == code, tt.file, "unit", "unit",
                pl.format(template, "unit", "analyte", "__accepted"),
            )

    converted = sorted((table["converted"][code], n) for code, n in zip(present, stats["n"].to_list(), strict=True)
                       if table["converted"][code] is not None)
    notes = []
    if converted:
        detail = "; ".join(f"{label}: {n}" for label, n in converted)
        total = sum(n for _, n in converted)
        notes.append(f"{tt.file}: converted {total} value(s) to canonical units ({detail})")

    factors = pl.Series(table["factor"], dtype=pl.Float64)
    offsets = pl.Series(table["offset"], dtype=pl.Float64)
    # a registry written in the canonical units throughout (the usual case) is kept as it is: a pair
    # present in the rows changes nothing when its factor is 1, its offset 0 and its unit is spelt
    # canonically
    names = list(ANALYTES)
    changes = any(
        table["status"][code] == _OK and (
            factors[code] != 1 or offsets[code] != 0 or units[code % width] != ANALYTES[names[code // width]].unit)
        for code in present
    )
    given = f["value"]
    if changes:
        analyte_code, pair = row_codes()
        factor = factors.gather(pair)
        offset = offsets.gather(pair)
        known = factor.is_not_null()

        def to_canonical(column: str) -> pl.Expr:
            return pl.when(known).then(pl.col(column) * factor + offset).otherwise(pl.col(column))

        f = f.with_columns(
            unit_original=pl.col("unit"),
            value=to_canonical("value"),
            lloq=to_canonical("lloq"),
            uloq=to_canonical("uloq"),
            lln=to_canonical("lln"),
            uln=to_canonical("uln"),
            unit=pl.when(known).then(canonical.gather(analyte_code)).otherwise(pl.col("unit")),
        )
        tt.distinct.pop("unit", None)  # rewritten
        tt.enums.pop("unit", None)
        stats = _pair_stats(codes, pair_expr, f["value"])
    else:
        f = f.with_columns(unit_original=pl.col("unit"))
    # bounds hold in the canonical unit: rows whose unit is unknown or wrong are not compared. Each
    # pair's smallest and largest value are compared first; the rows only when one is outside.
    lows = pl.Series([a.min for a in ANALYTES.values()], dtype=pl.Float64)
    highs = pl.Series([a.max for a in ANALYTES.values()], dtype=pl.Float64)
    outside = stats.select((
        (pl.lit(status).gather(pl.col("pair")) == _OK)
        & ((pl.col("lo") < pl.lit(lows).gather(pl.col("pair") // width))
           | (pl.col("hi") > pl.lit(highs).gather(pl.col("pair") // width)))).fill_null(False).any()).item()
    if outside:
        analyte_code, pair = row_codes()
        known = status.gather(pair) == _OK
        lo = lows.gather(analyte_code)
        hi = highs.gather(analyte_code)
        impossible = f.select(
            (known & ((pl.col("value") < lo) | (pl.col("value") > hi))).fill_null(False)
        ).to_series()
        bad = f.with_columns(__given=given, __min=lo, __max=hi).filter(impossible)
        bounds = (
            pl.when(pl.col("__max").is_not_null())
            .then(pl.format("must be between {} and {}", _num("__min"), _num("__max")))
            .otherwise(pl.format("must be at least {}", _num("__min")))
        )
        problems += problems_at(
            bad,
            pl.lit(True),
            tt.file,
            "value",
            pl.col("__given"),
            pl.format(
                "impossible value for {}: {} {} (value in {}: {})",
                "analyte", bounds, "unit", "unit", pl.col("value").round(6),
            ),
            kind="impossible value for the analyte",
        )
    keep = [c for c in tt.frame.columns if c != "unit_original"]
    tt.frame = f.select(*keep, "unit_original")
    return problems, notes


def _num(column: str) -> pl.Expr:
    """A bound printed without a trailing .0 (0 not 0.0)."""
    c = pl.col(column)
    return pl.when(c == c.round(0)).then(c.cast(pl.Int64).cast(pl.String)).otherwise(c.cast(pl.String))
