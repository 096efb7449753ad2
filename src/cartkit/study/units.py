"""Measurement units: every value is converted to its analyte's canonical unit at load.

A unit spelling is first made canonical (``vocabulary.canonical_unit``: case
and spaces ignored, ``g/dl`` -> ``g/dL``), then looked up among the units
accepted for the row's analyte (``vocabulary.UNIT_CONVERSIONS``:
canonical = value * factor + offset; factors and their sources are listed in
the vocabulary module). Both steps are joins against small frames, so the
conversion is one pass over the column whatever the size of the study. The
unit as written is kept in ``unit_original``.
"""

from __future__ import annotations

import polars as pl

from cartkit.study.coerce import TypedTable, problems_at
from cartkit.study.problems import Problem
from cartkit.study.vocabulary import ANALYTES, UNIT_CONVERSIONS, UNIT_SPELLINGS


def unit_spellings() -> pl.DataFrame:
    """unit key (lower-case, no spaces) -> canonical unit spelling."""
    keys = {k.lower().replace(" ", ""): v for k, v in UNIT_SPELLINGS.items()}
    keys.update({v.lower().replace(" ", ""): v for v in UNIT_SPELLINGS.values()})
    return pl.DataFrame({"__unit_key": list(keys), "__unit": list(keys.values())})


def unit_conversions() -> pl.DataFrame:
    """(analyte, accepted unit) -> factor, offset to the canonical unit, and the canonical unit."""
    rows = [
        (analyte, unit, factor, offset, ANALYTES[analyte].unit)
        for analyte, units in UNIT_CONVERSIONS.items()
        for unit, (factor, offset) in units.items()
    ]
    return pl.DataFrame(
        rows,
        schema={"analyte": pl.String, "__unit": pl.String, "__factor": pl.Float64, "__offset": pl.Float64,
                "__canonical": pl.String},
        orient="row",
    )


def analyte_facts() -> pl.DataFrame:
    """Per analyte: accepted units (for messages) and the bounds of a possible value."""
    return pl.DataFrame(
        {
            "analyte": list(ANALYTES),
            "__accepted": [", ".join(UNIT_CONVERSIONS.get(a, {a: None})) for a in ANALYTES],
            "__min": [a.min for a in ANALYTES.values()],
            "__max": [a.max for a in ANALYTES.values()],
            "__canonical_unit": [a.unit for a in ANALYTES.values()],
        },
        schema_overrides={"__min": pl.Float64, "__max": pl.Float64},
    )


def check_blq(tt: TypedTable) -> list[Problem]:
    """``value`` may be empty only on a row flagged below the limit of quantification."""
    value_failed = tt.failed.get("value")
    failed = pl.lit(value_failed) if value_failed is not None else pl.lit(False)
    empty = pl.col("value").is_null() & ~failed & ~pl.col("blq").fill_null(False)
    return problems_at(tt.frame, empty, tt.file, "value", pl.lit(None), "value is empty but blq is not true")


def convert_units(tt: TypedTable) -> tuple[list[Problem], list[str]]:
    """Convert ``value`` and ``lloq`` to canonical units in place; check analyte bounds."""
    f = tt.frame.with_columns(
        unit_original=pl.col("unit"),
        __unit_key=pl.col("unit").str.to_lowercase().str.replace_all(" ", "", literal=True),
    )
    f = f.join(unit_spellings(), on="__unit_key", how="left", maintain_order="left")
    f = f.join(unit_conversions(), on=["analyte", "__unit"], how="left", maintain_order="left")
    f = f.join(analyte_facts(), on="analyte", how="left", maintain_order="left")
    problems: list[Problem] = []
    unknown = pl.col("unit").is_not_null() & pl.col("__unit").is_null()
    problems += problems_at(
        f,
        unknown,
        tt.file,
        "unit",
        "unit",
        pl.format("unknown unit '{}' for analyte {} (accepted: {})", "unit", "analyte", "__accepted"),
    )
    mismatch = pl.col("__unit").is_not_null() & pl.col("analyte").is_not_null() & pl.col("__factor").is_null()
    problems += problems_at(
        f,
        mismatch,
        tt.file,
        "unit",
        "unit",
        pl.format("unit '{}' is not valid for analyte {} (accepted: {})", "unit", "analyte", "__accepted"),
    )
    converted = pl.col("__factor").is_not_null() & (pl.col("__unit") != pl.col("__canonical"))
    counts = (
        f.filter(converted)
        .group_by("analyte", "__unit", "__canonical")
        .len()
        .sort("analyte", "__unit")
    )
    notes = []
    if counts.height:
        detail = "; ".join(f"{a} {u} -> {c}: {n}" for a, u, c, n in counts.iter_rows())
        notes.append(f"{tt.file}: converted {int(counts['len'].sum())} value(s) to canonical units ({detail})")

    def to_canonical(column: str) -> pl.Expr:
        return pl.when(pl.col("__factor").is_not_null()).then(
            pl.col(column) * pl.col("__factor") + pl.col("__offset")
        ).otherwise(pl.col(column))

    f = f.with_columns(
        __value_given=pl.col("value"),
        value=to_canonical("value"),
        lloq=to_canonical("lloq"),
        unit=pl.when(pl.col("__factor").is_not_null()).then(pl.col("__canonical")).otherwise(pl.col("unit")),
    )
    too_low = pl.col("__min").is_not_null() & (pl.col("value") < pl.col("__min"))
    too_high = pl.col("__max").is_not_null() & (pl.col("value") > pl.col("__max"))
    bounds = (
        pl.when(pl.col("__max").is_not_null())
        .then(pl.format("must be between {} and {}", _num("__min"), _num("__max")))
        .otherwise(pl.format("must be at least {}", _num("__min")))
    )
    problems += problems_at(
        f,
        (too_low | too_high).fill_null(False),
        tt.file,
        "value",
        pl.col("__value_given"),
        pl.format(
            "impossible value for {}: {} {} (value in {}: {})",
            "analyte", bounds, "__canonical_unit", "__canonical_unit", pl.col("value").round(6),
        ),
    )
    keep = [c for c in tt.frame.columns if c != "unit_original"]
    f = f.select(*keep, "unit_original")
    tt.frame = f
    return problems, notes


def _num(column: str) -> pl.Expr:
    """A bound printed without a trailing .0 (0 not 0.0)."""
    c = pl.col(column)
    return pl.when(c == c.round(0)).then(c.cast(pl.Int64).cast(pl.String)).otherwise(c.cast(pl.String))
