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

from cartkit.study.coerce import TypedTable, problems_at, range_rule
from cartkit.study.episodes import EpisodeIndex
from cartkit.study.problems import Problem
from cartkit.study.readers import ROW


def derive_days(tt: TypedTable, index: EpisodeIndex) -> list[Problem]:
    """Fill ``day`` and ``date`` of a day table (or of ``events``) in place; return the problems."""
    table = tt.table
    if not (table.day_or_date or table.name == "events"):
        return []
    day_col = table.column("day")
    frame = tt.frame
    _, infusion_date = index.infusion(frame["patient_id"], frame["episode"])
    # only derive from days inside the schema's range (others are already reported, and
    # a day of 10**15 must not overflow the date arithmetic)
    f = frame.select(ROW, "patient_id", "episode", "day", "date").with_columns(
        infusion_date=infusion_date,
        __failed=_failed(tt, "day") | _failed(tt, "date"),
    )
    f = f.with_columns(
        __day_from_date=(pl.col("date") - pl.col("infusion_date")).dt.total_days(),
        __date_from_day=pl.when(pl.col("day").is_between(day_col.min, day_col.max)).then(
            pl.col("infusion_date") + pl.duration(days=pl.col("day"))
        ),
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
        kind="day and date disagree",
    )
    derived = pl.col("day").is_null() & pl.col("__day_from_date").is_not_null()
    f = f.with_columns(
        __outside=derived & ~pl.col("__day_from_date").is_between(day_col.min, day_col.max)
    )
    problems += problems_at(
        f,
        pl.col("__outside"),
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
        kind="day out of range",
    )
    tt.date_given = frame["date"].is_not_null()
    filled = f.select(
        day=pl.coalesce("day", pl.when(~pl.col("__outside")).then(pl.col("__day_from_date"))),
        date=pl.coalesce("date", "__date_from_day"),
    )
    tt.frame = frame.with_columns(filled["day"], filled["date"])
    return problems


def _failed(tt: TypedTable, column: str) -> pl.Expr:
    mask = tt.failed.get(column)
    if mask is None:
        return pl.lit(False)
    return pl.lit(mask)


_CLOCK = r"^\s*(\d{1,2}):(\d{2})(?::\d{2})?\s*$"


def clock_times(tt: TypedTable) -> list[Problem]:
    """Normalise an optional ``time`` column to HH:MM ("8:00" and "08:00" are the same time, and the
    same key); anything else is a problem."""
    if "time" not in tt.frame.columns:
        return []
    parts = pl.col("time").str.extract_groups(_CLOCK)
    hour = parts.struct.field("1").cast(pl.Int64, strict=False)
    minute = parts.struct.field("2").cast(pl.Int64, strict=False)
    valid = hour.is_between(0, 23) & minute.is_between(0, 59)
    bad = pl.col("time").is_not_null() & ~valid.fill_null(False)
    problems = problems_at(tt.frame, bad, tt.file, "time", "time", "unparseable clock time: expected HH:MM (24 h)")
    tt.frame = tt.frame.with_columns(
        pl.when(valid).then(pl.format("{}:{}", hour.cast(pl.String).str.zfill(2), minute.cast(pl.String).str.zfill(2)))
        .otherwise(pl.col("time")).alias("time")
    )
    return problems
