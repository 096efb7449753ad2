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
    """Fill ``day`` and ``date`` of a day table (or of ``events``) in place; return the problems.

    The masks and the filled columns are computed in one pass over the table; a problem's message
    is built only for the rows it names."""
    table = tt.table
    if not (table.day_or_date or table.name == "events"):
        return []
    day_col = table.column("day")
    frame = tt.frame
    _, infusion_date = index.table_infusion(tt)
    # only derive from days inside the schema's range (others are already reported, and
    # a day of 10**15 must not overflow the date arithmetic)
    f = frame.select(ROW, "patient_id", "episode", "day", "date").with_columns(
        infusion_date=infusion_date,
        __failed=_failed(tt, "day") | _failed(tt, "date"),
    )
    # whole days between two dates: the difference of their day numbers (a Date is days since 1970)
    day_from_date = (pl.col("date").to_physical() - pl.col("infusion_date").to_physical()).cast(pl.Int64)
    date_from_day = pl.when(pl.col("day").is_between(day_col.min, day_col.max)).then(
        pl.col("infusion_date") + pl.duration(days=pl.col("day")))
    has_day = "day" in tt.present
    has_date = "date" in tt.present
    missing = pl.lit(False)
    missing_column = "day" if has_day else "date"
    if table.name == "events":
        if has_date or {"episode", "day"} <= tt.present:
            missing = (pl.col("date").is_null() & (pl.col("episode").is_null() | pl.col("day").is_null())
                       & ~pl.col("__failed") & ~_failed(tt, "episode"))
            missing_column = "date"
    elif has_day or has_date:
        missing = pl.col("date").is_null() & pl.col("day").is_null() & ~pl.col("__failed")
    both = pl.col("day").is_not_null() & pl.col("date").is_not_null() & pl.col("infusion_date").is_not_null()
    derived = pl.col("day").is_null() & day_from_date.is_not_null()
    outside = derived & ~day_from_date.is_between(day_col.min, day_col.max)
    # a column the rows give in full needs no filling, and then no row can miss both or be derived
    # out of range: on a registry that gives day and date on every row only the agreement is checked
    gaps_day, gaps_date = frame["day"].null_count() > 0, frame["date"].null_count() > 0
    outputs = {"__disagree": (both & (day_from_date != pl.col("day"))).fill_null(False)}
    if gaps_date and (gaps_day or table.name == "events"):
        outputs["__missing"] = missing.fill_null(False)
    if gaps_day:
        outputs.update(__outside=outside.fill_null(False), day=pl.coalesce("day", pl.when(~outside).then(day_from_date)))
    if gaps_date:
        outputs["date"] = pl.coalesce("date", date_from_day)
    masks = f.lazy().select(**outputs).collect()
    f = f.with_columns(masks.select(pl.col("^__.*$")))

    problems: list[Problem] = []
    if "__missing" in masks.columns and masks["__missing"].any():
        message = "needs a date, or an episode and a day" if missing_column == "date" and table.name == "events" \
            else "needs a day or a date"
        problems += problems_at(f, pl.col("__missing"), tt.file, missing_column, pl.lit(None), message)
    # a date that gives another day than the row's, or a day out of range: named by the date
    for mask, rule, kind in (
        ("__disagree", pl.format("day and date disagree: the date is day {} of episode {} (infused {}) but day is {}",
                                 "__day_from_date", "episode", pl.col("infusion_date").cast(pl.String), "day"),
         "day and date disagree"),
        ("__outside", pl.format("{}; the date is day {} of episode {} (infused {})",
                                pl.lit(range_rule(day_col.min, day_col.max, "day out of range")),
                                "__day_from_date", "episode", pl.col("infusion_date").cast(pl.String)),
         "day out of range"),
    ):
        if mask in masks.columns and masks[mask].any():
            rows = f.filter(pl.col(mask)).with_columns(__day_from_date=day_from_date)
            problems += problems_at(rows, pl.lit(True), tt.file, "date", pl.col("date").cast(pl.String), rule,
                                    kind=kind)
    tt.date_given = frame["date"].is_not_null()
    filled = [masks[c] for c in ("day", "date") if c in masks.columns and masks[c].null_count() != frame[c].null_count()]
    if filled:  # a column nothing was derived for is kept as it is
        tt.frame = frame.with_columns(filled)
    return problems


def _failed(tt: TypedTable, column: str) -> pl.Expr:
    mask = tt.failed.get(column)
    if mask is None:
        return pl.lit(False)
    return pl.lit(mask)


_CLOCK = r"^\s*(\d{1,2}):(\d{2})(?::\d{2})?\s*$"


def clock_times(tt: TypedTable) -> list[Problem]:
    """Normalise an optional ``time`` column to HH:MM ("8:00" and "08:00" are the same time, and the
    same key); anything else is a problem. Each distinct time is parsed once."""
    if "time" not in tt.frame.columns or tt.frame["time"].null_count() == tt.frame.height:
        return []
    distinct = tt.frame["time"].drop_nulls().unique().to_frame("time")
    parts = pl.col("time").str.extract_groups(_CLOCK)
    hour = parts.struct.field("1").cast(pl.Int64, strict=False)
    minute = parts.struct.field("2").cast(pl.Int64, strict=False)
    valid = (hour.is_between(0, 23) & minute.is_between(0, 59)).fill_null(False)
    distinct = distinct.with_columns(
        __valid=valid,
        __clock=pl.when(valid).then(pl.format("{}:{}", hour.cast(pl.String).str.zfill(2),
                                              minute.cast(pl.String).str.zfill(2))).otherwise(pl.col("time")),
    )
    if distinct["__valid"].all() and (distinct["__clock"] == distinct["time"]).all():
        return []  # already HH:MM everywhere
    invalid = distinct.filter(~pl.col("__valid"))["time"]
    bad = pl.col("time").is_in(invalid.implode()).fill_null(False)
    problems = problems_at(tt.frame, bad, tt.file, "time", "time", "unparseable clock time: expected HH:MM (24 h)")
    tt.distinct.pop("time", None)  # rewritten
    tt.frame = tt.frame.with_columns(
        pl.col("time").replace_strict(distinct["time"], distinct["__clock"], default=None, return_dtype=pl.String)
    )
    return problems
