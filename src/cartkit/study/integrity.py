"""Checks across rows and tables: duplicate keys, orphan references, the order of events.

* keys: a row whose key repeats an earlier row's is a problem naming that row;
  an empty optional key cell (``measurements.time``, ``support.agent``) counts
  as a value, so two rows with the same key and no time are duplicates;
* orphans: every ``patient_id`` is in ``patients``, every
  ``(patient_id, episode)`` in ``infusions``; the plan's products and diseases
  occur in the data;
* order: episode k+1 is infused after episode k; a death is not before the
  first infusion, is recorded once, and nothing is dated after it; no event is
  after the data cut-off; an adverse event does not resolve before its onset.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cartkit.study.coerce import TypedTable, problems_at
from cartkit.study.episodes import EpisodeIndex
from cartkit.study.model import Plan
from cartkit.study.plan import STUDY_TOML
from cartkit.study.problems import Problem
from cartkit.study.readers import ROW


def duplicate_keys(tt: TypedTable) -> list[Problem]:
    keys = list(tt.table.key)
    f = tt.frame
    # rows missing a required key cell (or a day/date that could not be derived) are reported
    # already; an empty optional key cell (time, agent) is a value of the key
    needed = [k for k in keys if tt.table.column(k).required or k in ("day", "date")]
    complete = f.select(pl.all_horizontal([pl.col(k).is_not_null() for k in needed])).to_series()
    if not complete.all():
        f = f.filter(complete)
    # hash the keys, find repeated hashes by sorting, then compare the real keys of those rows only
    hashes = f.select(pl.struct(keys).hash(seed=0)).to_series()
    ordered = hashes.sort()
    repeated = ordered.filter((ordered == ordered.shift(1)).fill_null(False))
    if repeated.is_empty():
        return []
    f = f.filter(hashes.is_in(repeated.unique().implode()))
    dup = f.select(pl.struct(keys).is_duplicated()).to_series()
    if not dup.any():
        return []
    d = f.filter(dup).with_columns(__first=pl.col(ROW).min().over(keys))
    shown = pl.concat_str([pl.col(k).cast(pl.String).fill_null("(empty)") for k in keys], separator=", ")
    return problems_at(
        d,
        pl.col(ROW) != pl.col("__first"),
        tt.file,
        ", ".join(keys),
        shown,
        pl.format("duplicate key ({}): same as row {}", pl.lit(", ".join(keys)), "__first"),
    )


def orphans(tables: dict[str, TypedTable], index: EpisodeIndex) -> list[Problem]:
    problems: list[Problem] = []
    # a missing patients (infusions) table is one problem of its own: every row is not also an orphan
    if "patients" not in tables:
        return problems
    for name, tt in tables.items():
        if name == "patients":
            continue
        f = tt.frame
        known = index.patient_known(f["patient_id"])
        unknown = f["patient_id"].is_not_null() & ~known
        problems += problems_at(f, unknown, tt.file, "patient_id", "patient_id", "unknown patient: not in patients")
        if name == "infusions" or "episode" not in f.columns or "infusions" not in tables:
            continue
        found, _ = index.infusion(f["patient_id"], f["episode"])
        orphan = f["episode"].is_not_null() & known & ~found
        problems += problems_at(
            f,
            orphan,
            tt.file,
            "episode",
            "episode",
            pl.format("unknown episode: no infusion of patient {} episode {} in infusions", "patient_id", "episode"),
        )
    return problems


def plan_references(plan: Plan, tables: dict[str, TypedTable]) -> list[Problem]:
    problems: list[Problem] = []
    products = set(tables["infusions"].frame["product"].drop_nulls().unique().to_list())
    for product in plan.products:
        if product not in products:
            found = ", ".join(sorted(products)[:8]) or "none"
            problems.append(
                Problem(STUDY_TOML, None, "plan.products", product, f"product not found in infusions.product ({found})")
            )
    from_product = plan.survival.from_product
    if from_product is not None and not plan.products and from_product not in products:
        problems.append(
            Problem(STUDY_TOML, None, "plan.survival.from_product", from_product, "product not found in infusions.product")
        )
    diagnoses = set(tables["patients"].frame["diagnosis"].drop_nulls().unique().to_list())
    for disease in plan.diseases:
        if disease not in diagnoses:
            found = ", ".join(sorted(diagnoses)) or "none"
            problems.append(
                Problem(STUDY_TOML, None, "plan.diseases", disease, f"disease not found in patients.diagnosis ({found})")
            )
    return problems


def infusion_order(tt: TypedTable) -> list[Problem]:
    f = tt.frame.filter(pl.col("patient_id").is_not_null() & pl.col("episode").is_not_null())
    f = f.sort("patient_id", "episode", ROW).with_columns(
        __prev_date=pl.col("infusion_date").shift(1).over("patient_id"),
        __prev_episode=pl.col("episode").shift(1).over("patient_id"),
    )
    bad = (pl.col("infusion_date") <= pl.col("__prev_date")) & (pl.col("episode") != pl.col("__prev_episode"))
    return problems_at(
        f,
        bad.fill_null(False),
        tt.file,
        "infusion_date",
        pl.col("infusion_date").cast(pl.String),
        pl.format(
            "episode {} is infused on {}, not after episode {} ({})",
            "episode",
            pl.col("infusion_date").cast(pl.String),
            "__prev_episode",
            pl.col("__prev_date").cast(pl.String),
        ),
    )


def death_order(tables: dict[str, TypedTable], index: EpisodeIndex, cutoff: dt.date | None) -> list[Problem]:
    problems: list[Problem] = []
    events = tables["events"]
    e = events.frame
    deaths = e.filter((pl.col("kind") == "death") & pl.col("date").is_not_null() & pl.col("patient_id").is_not_null())
    deaths = deaths.sort("patient_id", "date", ROW).with_columns(
        __n=pl.int_range(pl.len()).over("patient_id"),
        __first_row=pl.col(ROW).first().over("patient_id"),
        __first_date=pl.col("date").first().over("patient_id"),
    )
    problems += problems_at(
        deaths,
        pl.col("__n") > 0,
        events.file,
        "kind",
        "kind",
        pl.format("more than one death for patient {} (first in row {})", "patient_id", "__first_row"),
    )
    death = deaths.filter(pl.col("__n") == 0).select("patient_id", __death=pl.col("date"))

    infusions = tables["infusions"]
    first = infusions.frame.group_by("patient_id").agg(__first_infusion=pl.col("infusion_date").min())
    d = deaths.filter(pl.col("__n") == 0).join(first, on="patient_id", how="left", maintain_order="left")
    problems += problems_at(
        d,
        (pl.col("date") < pl.col("__first_infusion")).fill_null(False),
        events.file,
        "date",
        pl.col("date").cast(pl.String),
        pl.format("death before the first infusion ({})", pl.col("__first_infusion").cast(pl.String)),
    )
    if death.height:
        death = death.rename({"__death": "value"})
        for name, tt in tables.items():
            column = "infusion_date" if name == "infusions" else "date"
            if column not in tt.frame.columns:
                continue
            g = tt.frame.with_columns(__death=index.per_patient(tt.frame["patient_id"], death))
            after = (pl.col(column) > pl.col("__death")).fill_null(False)
            if name == "events":
                after = after & (pl.col("kind") != "death").fill_null(True)
            problems += problems_at(
                g,
                after,
                tt.file,
                column,
                pl.col(column).cast(pl.String),
                pl.format("dated after the patient's death on {}", pl.col("__death").cast(pl.String)),
            )
    if cutoff is not None:
        problems += problems_at(
            e,
            (pl.col("date") > cutoff).fill_null(False),
            events.file,
            "date",
            pl.col("date").cast(pl.String),
            f"after the data cut-off {cutoff.isoformat()}",
        )
    return problems


def adverse_event_order(tt: TypedTable) -> list[Problem]:
    return problems_at(
        tt.frame,
        (pl.col("resolution_day") < pl.col("onset_day")).fill_null(False),
        tt.file,
        "resolution_day",
        "resolution_day",
        pl.format("resolves before its onset (onset_day {})", "onset_day"),
    )
