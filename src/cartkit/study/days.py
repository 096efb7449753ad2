"""Derive ``day`` from ``date`` or ``date`` from ``day``, once, at load.

Day 0 is the day of the CAR-T infusion of the row's episode (CAR-T
convention: the day before infusion is day -1, the day after is day 1; CDISC
study days, which have no day 0, are converted at the boundary, never here).
``day = date - infusions.infusion_date`` in days for the row's
``(patient_id, episode)``. When a row gives both and they disagree, that is a
problem. ``events`` give a date, or an episode and a day; their date is always
filled in.
"""

from __future__ import annotations

import polars as pl

from cartkit.study.coerce import TypedTable, out_of_range, problems_at, range_rule
from cartkit.study.problems import Problem

EPISODE = ["patient_id", "episode"]


def infusion_dates(infusions: pl.DataFrame) -> pl.DataFrame:
    """One infusion date per (patient_id, episode); duplicates are reported elsewhere, the first wins."""
    return (
        infusions.select(*EPISODE, "infusion_date")
        .drop_nulls(EPISODE)
        .unique(EPISODE, keep="first", maintain_order=True)
    )


def derive_days(tt: TypedTable, infusions: pl.DataFrame) -> list[Problem]:
    """Fill ``day`` and ``date`` of a day table (or of ``events``) in place; return the problems."""
    table = tt.table
    if not (table.day_or_date or table.name == "events"):
        return []
    day_col = table.column("day")
    f = tt.frame.join(infusion_dates(infusions), on=EPISODE, how="left", maintain_order="left")
    # only derive from days inside the schema's range (others are already reported, and
    # a day of 10**15 must not overflow the date arithmetic)
    day_ok = pl.col("day").is_between(day_col.min, day_col.max)
    f = f.with_columns(
        __day_from_date=(pl.col("date") - pl.col("infusion_date")).dt.total_days(),
        __date_from_day=pl.when(day_ok).then(pl.col("infusion_date") + pl.duration(days=pl.col("day"))),
        __failed=_failed(tt, "day") | _failed(tt, "date"),
    )
    problems: list[Problem] = []
    has_day = "day" in tt.present
    has_date = "date" in tt.present
    if table.name == "events":
        if has_date or {"episode", "day"} <= tt.present:
            missing = pl.col("date").is_null() & (pl.col("episode").is_null() | pl.col("day").is_null())
            problems += problems_at(
                f, missing & ~pl.col("__failed") & ~_failed(tt, "episode"), tt.file, "date", pl.lit(None),
                "needs a date, or an episode and a day",
            )
    elif has_day or has_date:
        missing = pl.col("date").is_null() & pl.col("day").is_null()
        problems += problems_at(
            f, missing & ~pl.col("__failed"), tt.file, "day" if has_day else "date", pl.lit(None),
            "needs a day or a date",
        )

    both = pl.col("day").is_not_null() & pl.col("date").is_not_null() & pl.col("infusion_date").is_not_null()
    disagree = both & (pl.col("__day_from_date") != pl.col("day"))
    problems += problems_at(
        f,
        disagree,
        tt.file,
        "date",
        pl.col("date").cast(pl.String),
        pl.format(
            "day and date disagree: the date is day {} of episode {} (infused {}) but day is {}",
            pl.col("__day_from_date"),
            pl.col("episode"),
            pl.col("infusion_date").cast(pl.String),
            pl.col("day"),
        ),
    )
    derived = pl.col("day").is_null() & pl.col("__day_from_date").is_not_null()
    f = f.with_columns(__derived=derived)
    f = f.with_columns(__outside=pl.lit(out_of_range(f["__day_from_date"], day_col.min, day_col.max)) & derived)
    outside = pl.col("__outside")
    problems += problems_at(
        f,
        outside,
        tt.file,
        "date",
        pl.col("date").cast(pl.String),
        pl.format(
            "{}; the date is day {} of episode {} (infused {})",
            pl.lit(range_rule(day_col.min, day_col.max, "day out of range")),
            pl.col("__day_from_date"),
            pl.col("episode"),
            pl.col("infusion_date").cast(pl.String),
        ),
    )
    f = f.with_columns(
        day=pl.coalesce("day", pl.when(~outside).then(pl.col("__day_from_date"))),
        date=pl.coalesce("date", "__date_from_day"),
    )
    tt.frame = f.drop("infusion_date", "__day_from_date", "__date_from_day", "__failed", "__derived", "__outside")
    return problems


def _failed(tt: TypedTable, column: str) -> pl.Expr:
    mask = tt.failed.get(column)
    if mask is None:
        return pl.lit(False)
    return pl.lit(mask)

