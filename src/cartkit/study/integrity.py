"""Checks across rows and tables: duplicate keys, orphan references, the order of events.

* keys: a row whose key repeats an earlier row's is a problem naming that row;
  an empty optional key cell (``measurements.time``, ``support.agent``) counts
  as a value, so two rows with the same key and no time are duplicates;
* orphans: every ``patient_id`` is in ``patients``, every
  ``(patient_id, episode)`` in ``infusions``; the plan's products and diseases
  occur in the data;
* order: episode k+1 is infused after episode k; a death is not before the
  first infusion, is recorded once, and nothing is dated after it; an adverse
  event does not resolve before its onset;
* the data cut-off: no record of any table is dated after it (a date written,
  or the date of a day counted from an infusion);
* follow-up events: an event before the infusion it is counted from (or, with
  no episode, before the patient's first infusion) is a warning: the survival
  analysis places events by their date, so such an event falls in the
  follow-up of an earlier episode, or in none;
* a parent table (patients, infusions) with no rows, or without its key
  column, is one problem, and its children's rows are not also orphans;
* patients never infused (no infusions row) are allowed with a
  ``never_infused_reason`` or an ``arm`` (a warning without either); their
  milestones (enrolment, leukapheresis, randomisation) are in order, before
  the first infusion, not after death or the data cut-off (docs/validation.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import polars as pl

from cartkit.study.coerce import TypedTable, problems_at
from cartkit.study.episodes import EpisodeIndex
from cartkit.study.model import Plan
from cartkit.study.plan import STUDY_TOML
from cartkit.study.problems import WARNING, Problem
from cartkit.study.readers import ROW

_NARROW_KEYS = 2**32  # keys whose span is below this are packed in 32 bits (so is every column's width)


def _packed_key(tt: TypedTable, keys: list[str], rows: pl.Series | None = None) -> np.ndarray | None:
    """Each row's key as one integer, exactly (equal keys, and only they, give equal numbers): a text
    column by its Enum codes (``TypedTable.enums``), an integer or date column by its offset from its
    smallest value, an empty cell as 0, the first column the most significant. None when a text column
    has no codes or the ranges do not fit in 63 bits. ``rows``: a mask of the rows to keep.

    A NumPy array of its own (written in place, column by column), so that it can be sorted in place."""
    columns, parts, span = {}, [], 1
    for k in keys:
        s = tt.frame[k]
        if s.null_count() == len(s):  # the same (empty) in every row
            continue
        if k in tt.enums:
            columns[k], lo, width = tt.enums[k].to_physical(), 0, len(tt.enums[k].dtype.categories) + 1
        elif s.dtype.is_integer() or s.dtype in (pl.Date, pl.Boolean):
            columns[k] = s if s.dtype.is_integer() else s.cast(pl.Int32 if s.dtype == pl.Date else pl.UInt8)
            lo, hi = columns[k].min(), columns[k].max()
            width = hi - lo + 2
        else:
            return None
        span *= width
        if span >= 2**63:
            return None
        parts.append((k, lo, width))
    n = tt.frame.height if rows is None else int(rows.sum())
    # 32 bits when the keys fit (a registry's measurements: 100,001 patient codes x episodes x analytes x
    # days), half the memory and a faster sort. Unsigned arithmetic wraps modulo 2**32, so a column's
    # offset (a day of -7 is 1 after the smallest) may be added after its values: the sums are exact
    dtype = np.uint32 if span < _NARROW_KEYS else np.int64
    number = np.zeros(n, dtype=dtype)
    for k, lo, width in parts:
        column = columns[k] if rows is None else columns[k].filter(rows)
        np.multiply(number, dtype(width), out=number)
        if column.null_count():  # an empty cell is 0
            column = (column.cast(pl.Int64) - (lo - 1)).fill_null(0)
        else:
            np.add(number, dtype((1 - lo) % 2**32 if dtype is np.uint32 else 1 - lo), out=number)
        np.add(number, column.to_numpy(), out=number, casting="unsafe")
    return number


def duplicate_keys(tt: TypedTable) -> list[Problem]:
    keys = list(tt.table.key)
    f = tt.frame
    # rows missing a required key cell (or a day/date that could not be derived) are reported
    # already; an empty optional key cell (time, agent) is a value of the key
    needed = [k for k in keys if tt.table.column(k).required or k in ("day", "date")]
    complete = None
    if any(f[k].null_count() for k in needed):
        complete = f.select(pl.all_horizontal([pl.col(k).is_not_null() for k in needed])).to_series()

    def numbers() -> np.ndarray:
        """Each row's key as one number: packed exactly when the text columns have codes (a registry's
        measurements), else a hash, whose collisions are told apart by comparing the keys themselves."""
        number = _packed_key(tt, keys, complete)
        if number is None:
            hashed = tt.frame.select(keys).hash_rows(seed=0)
            number = (hashed if complete is None else hashed.filter(complete)).to_numpy().copy()
        return number

    # repeated numbers by sorting in place (NumPy's SIMD quicksort: 14.1M registry keys in 0.15-0.2 s, where
    # Series.sort and a shifted copy took 0.4-0.5 s and 226 MB of fresh memory; issue 16), then, when some
    # repeat (rarely), the keys again in row order and the real keys of those rows only
    ordered = numbers()
    ordered.sort()
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return []
    repeated = pl.Series(np.unique(ordered[1:][same]))
    del ordered
    if complete is not None:
        f = f.filter(complete)
    f = f.filter(pl.Series(numbers()).is_in(repeated.implode()))
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
        kind=f"duplicate key ({', '.join(keys)})",
    )


def orphans(tables: dict[str, TypedTable], index: EpisodeIndex) -> list[Problem]:
    problems: list[Problem] = []
    # a missing patients (infusions) table is one problem of its own: every row is not also an orphan
    if "patients" not in tables:
        return problems
    unsure = pl.Series([], dtype=pl.String)
    if "infusions" in tables:
        inf = tables["infusions"]
        unread = inf.failed.get("episode", pl.repeat(False, inf.frame.height, eager=True))
        unsure = inf.frame["patient_id"].filter(unread | inf.frame["episode"].is_null()).drop_nulls().unique()
    for name, tt in tables.items():
        if name == "patients":
            continue
        f = tt.frame
        known = index.table_known(tt)
        unknown = f["patient_id"].is_not_null() & ~known
        problems += problems_at(f, unknown, tt.file, "patient_id", "patient_id", "unknown patient: not in patients")
        if name == "infusions" or "episode" not in f.columns or "infusions" not in tables:
            continue
        found, _ = index.table_infusion(tt)
        # a patient with an infusion row whose episode could not be read: which episode that row is
        # cannot be known, so the patient's rows are not orphans of it (its own problem says why)
        orphan = f["episode"].is_not_null() & known & ~found & ~f["patient_id"].is_in(unsure.implode())
        # episode 0 is the randomised treatment, dated from randomisation (assessments only)
        zero = (f["episode"] == 0).fill_null(False) if name == "assessments" else pl.repeat(False, f.height,
                                                                                             eager=True)
        problems += problems_at(
            f,
            orphan & ~zero,
            tt.file,
            "episode",
            "episode",
            pl.format("unknown episode: no infusion of patient {} episode {} in infusions", "patient_id", "episode"),
            kind="unknown episode: no such infusion in infusions",
        )
        if name == "assessments" and (orphan & zero).any():
            problems += problems_at(
                f, orphan & zero, tt.file, "episode", "episode",
                pl.format("episode 0 is a response to the randomised treatment, dated from randomisation: patient {} "
                          "has no randomisation_date in patients", "patient_id"),
                kind="randomised-treatment assessment without a randomisation date",
            )
    return problems


def empty_parent(tt: TypedTable) -> list[Problem]:
    """One problem for a patients or infusions table with a header and no rows."""
    if tt.frame.height:
        return []
    what = "patients" if tt.table.name == "patients" else "infusions (episodes)"
    return [Problem(tt.file, None, None, None,
                    f"the table has a header but no rows: a study needs its {what}")]


def plan_references(plan: Plan, tables: dict[str, TypedTable], absent: set[str] = frozenset()) -> list[Problem]:
    """The plan's products and diseases occur in the data (not checked against a table that could
    not be read: that table's own problem says why)."""
    problems: list[Problem] = []
    if "infusions" in absent:
        plan = replace(plan, products=(), survival=replace(plan.survival, from_product=None))
    if "patients" in absent:
        plan = replace(plan, diseases=())
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
    same = pl.col("patient_id") == pl.col("patient_id").shift(1)  # sorted: the patient's previous row
    f = f.sort("patient_id", "episode", ROW).with_columns(
        __prev_date=pl.when(same).then(pl.col("infusion_date").shift(1)),
        __prev_episode=pl.when(same).then(pl.col("episode").shift(1)),
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
        kind="episode not infused after the previous episode",
    )


def death_order(tables: dict[str, TypedTable], index: EpisodeIndex) -> list[Problem]:
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
        kind="more than one death for a patient",
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
        kind="death before the first infusion",
    )
    if death.height:
        death = index.patient_slots(death.rename({"__death": "value"}))  # cast once for every table
        for name, tt in tables.items():
            column = "infusion_date" if name == "infusions" else "date"
            if column not in tt.table.column_names:  # an extra column the file keeps as text is not a date
                continue
            g = tt.frame.with_columns(__death=index.table_per_patient(tt, death))
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
                kind="dated after the patient's death",
            )
    return problems


def after_cutoff(tables: dict[str, TypedTable], index: EpisodeIndex, cutoff: dt.date) -> list[Problem]:
    """Every record dated after the data cut-off, where it is written: the date a row gives, or the
    day it gives (with the date that day is), or an adverse event's onset day."""
    problems: list[Problem] = []
    rule = f"after the data cut-off {cutoff.isoformat()}"
    for name, tt in tables.items():
        f = tt.frame
        if name == "infusions":
            problems += problems_at(f, (pl.col("infusion_date") > cutoff).fill_null(False), tt.file,
                                    "infusion_date", pl.col("infusion_date").cast(pl.String), rule)
        elif "date" in tt.table.column_names:  # an extra column the file keeps as text is not a date
            given = tt.date_given if tt.date_given is not None else f["date"].is_not_null()
            late = (pl.col("date") > cutoff).fill_null(False)
            g = f.with_columns(__given=given)
            problems += problems_at(g, late & pl.col("__given"), tt.file, "date",
                                    pl.col("date").cast(pl.String), rule)
            if "day" in f.columns:
                problems += problems_at(
                    g, late & ~pl.col("__given"), tt.file, "day", "day",
                    pl.format("day {} of episode {} is {}, {}", "day", "episode", pl.col("date").cast(pl.String),
                              pl.lit(rule)),
                    kind=f"a day after the data cut-off {cutoff.isoformat()}",
                )
        elif name == "adverse_events":
            _, infused = index.table_infusion(tt)
            g = f.with_columns(__onset=pl.lit(infused) + pl.duration(days=pl.col("onset_day")))
            problems += problems_at(
                g, (pl.col("__onset") > cutoff).fill_null(False), tt.file, "onset_day", "onset_day",
                pl.format("onset day {} of episode {} is {}, {}", "onset_day", "episode",
                          pl.col("__onset").cast(pl.String), pl.lit(rule)),
                kind=f"an onset after the data cut-off {cutoff.isoformat()}",
            )
    return problems


def event_before_infusion(events: TypedTable, index: EpisodeIndex, infusions: TypedTable,
                          patients: TypedTable | None = None) -> list[Problem]:
    """Warnings for follow-up events (other than death, which has rules of its own) dated before the
    infusion they are counted from, or, with no episode, before the patient's first infusion or, when
    earlier, their first milestone (enrolment, leukapheresis, randomisation: intention-to-treat
    endpoints start there)."""
    e = events.frame
    first = infusions.frame.group_by("patient_id").agg(value=pl.col("infusion_date").min())
    first = first.filter(pl.col("patient_id").is_not_null())
    milestone = None
    if patients is not None:
        dated = patients.frame.filter(pl.col("patient_id").is_not_null()).select(
            "patient_id", value=pl.min_horizontal(*MILESTONES))
        milestone = index.table_per_patient(events, dated.unique("patient_id", keep="first"))
    _, infused = index.table_infusion(events)
    g = e.with_columns(
        __first=index.table_per_patient(events, first),
        __milestone=milestone if milestone is not None else pl.lit(None, dtype=pl.Date),
        __infused=infused,
    ).with_columns(__start=pl.min_horizontal("__first", "__milestone"))
    not_death = (pl.col("kind") != "death").fill_null(False)
    before_first = not_death & (pl.col("date") < pl.col("__start")).fill_null(False)
    on_infusion = (pl.col("__milestone").is_null() | (pl.col("__first") <= pl.col("__milestone"))).fill_null(False)
    problems = problems_at(
        g, before_first & on_infusion, events.file, "date", pl.col("date").cast(pl.String),
        pl.format("{} before the patient's first infusion ({}): no endpoint counts it; follow-up events "
                  "start at an infusion", "kind", pl.col("__first").cast(pl.String)),
        kind="follow-up event before the patient's first infusion", severity=WARNING,
    )
    problems += problems_at(
        g, before_first & ~on_infusion, events.file, "date", pl.col("date").cast(pl.String),
        pl.format("{} before the patient's first milestone ({}: enrolment, leukapheresis or randomisation): "
                  "no endpoint counts it", "kind", pl.col("__milestone").cast(pl.String)),
        kind="follow-up event before the patient's first milestone", severity=WARNING,
    )
    # (a day out of the schema's range is an error of its own, and left null)
    counted = not_death & ~before_first & pl.col("episode").is_not_null() & pl.col("day").is_not_null() & (
        pl.col("date") < pl.col("__infused")).fill_null(False)
    problems += problems_at(
        g, counted, events.file, "day", pl.col("day"),
        pl.format("{} on day {}, before the infusion of episode {} ({}) it is counted from; the survival "
                  "analysis places it by its date, in the follow-up of the episode before",
                  "kind", "day", "episode", pl.col("__infused").cast(pl.String)),
        kind="follow-up event before the infusion it is counted from", severity=WARNING,
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
        kind="resolves before its onset",
    )


# --------------------------------------------------------------------------- patients never infused, milestones

# The trial milestones of a patient, in the order they can happen before the first infusion; each pair
# (earlier, later) is a rule: the later milestone is not dated before the earlier one. Randomisation and
# leukapheresis come in either order (ZUMA-7 randomised before leukapheresis; other trials collect cells
# first), so no rule relates them.
MILESTONES = ("enrolment_date", "leukapheresis_date", "randomisation_date")
_MILESTONE_ORDER = (
    ("enrolment_date", "leukapheresis_date"),
    ("enrolment_date", "randomisation_date"),
    ("enrolment_date", "__first_infusion"),
    ("leukapheresis_date", "__first_infusion"),
    ("randomisation_date", "__first_infusion"),
)
_MILESTONE_NAMES = {"enrolment_date": "enrolment", "leukapheresis_date": "leukapheresis",
                    "randomisation_date": "randomisation", "__first_infusion": "the first infusion"}


def _with_first_infusion(patients: TypedTable, infusions: TypedTable | None) -> pl.DataFrame:
    p = patients.frame
    if infusions is None:
        return p.with_columns(__first_infusion=pl.lit(None, dtype=pl.Date))
    first = infusions.frame.filter(pl.col("patient_id").is_not_null()).group_by("patient_id").agg(
        __first_infusion=pl.col("infusion_date").min(), __infused=pl.len())
    return p.join(first, on="patient_id", how="left", maintain_order="left")


def never_infused(patients: TypedTable, infusions: TypedTable | None) -> list[Problem]:
    """A patient with no infusions row was never infused: allowed (intention-to-treat populations count
    them) when ``never_infused_reason`` or ``arm`` says why (a control arm is never infused), a warning
    otherwise (a forgotten infusions row looks the same); a ``never_infused_reason`` on a patient who has
    an infusion is an error."""
    p = _with_first_infusion(patients, infusions)
    if "__infused" not in p.columns:
        p = p.with_columns(__infused=pl.lit(None, dtype=pl.UInt32))
    none = pl.col("__infused").is_null() & pl.col("patient_id").is_not_null()
    unexplained = none & pl.col("never_infused_reason").is_null() & pl.col("arm").is_null()
    problems = problems_at(
        p, unexplained, patients.file, "never_infused_reason", "patient_id",
        "patient has no infusion (no infusions row) and no never_infused_reason or arm: counted in the "
        "enrolled population only; add the infusion, or say why the patient was never infused",
        severity=WARNING,
    )
    problems += problems_at(
        p, pl.col("__infused").is_not_null() & pl.col("never_infused_reason").is_not_null(), patients.file,
        "never_infused_reason", "never_infused_reason",
        pl.format("never_infused_reason given, but the patient was infused on {}",
                  pl.col("__first_infusion").cast(pl.String)),
        kind="never_infused_reason given for an infused patient",
    )
    return problems


def milestone_order(patients: TypedTable, infusions: TypedTable | None) -> list[Problem]:
    """Enrolment is not after leukapheresis, randomisation or the first infusion; leukapheresis and
    randomisation are not after the first infusion (each an error at the patients row, naming both dates)."""
    p = _with_first_infusion(patients, infusions)
    problems: list[Problem] = []
    for earlier, later in _MILESTONE_ORDER:
        where = later if later != "__first_infusion" else earlier
        shown = earlier if later == "__first_infusion" else later
        problems += problems_at(
            p, (pl.col(later) < pl.col(earlier)).fill_null(False), patients.file, where,
            pl.col(shown).cast(pl.String),
            pl.format("{} ({}) is before {} ({})", pl.lit(_MILESTONE_NAMES[later]),
                      pl.col(later).cast(pl.String), pl.lit(_MILESTONE_NAMES[earlier]),
                      pl.col(earlier).cast(pl.String)),
            kind=f"{_MILESTONE_NAMES[later]} before {_MILESTONE_NAMES[earlier]}",
        )
    return problems


def milestones_after_death(patients: TypedTable, events: TypedTable) -> list[Problem]:
    """No milestone (enrolment, leukapheresis, randomisation) is dated after the patient's death."""
    deaths = events.frame.filter((pl.col("kind") == "death") & pl.col("date").is_not_null()).group_by(
        "patient_id").agg(__death=pl.col("date").min())
    p = patients.frame.join(deaths, on="patient_id", how="left", maintain_order="left")
    problems: list[Problem] = []
    for column in MILESTONES:
        problems += problems_at(
            p, (pl.col(column) > pl.col("__death")).fill_null(False), patients.file, column,
            pl.col(column).cast(pl.String),
            pl.format("dated after the patient's death on {}", pl.col("__death").cast(pl.String)),
            kind="dated after the patient's death",
        )
    return problems


def milestones_after_cutoff(patients: TypedTable, cutoff: dt.date) -> list[Problem]:
    problems: list[Problem] = []
    for column in MILESTONES:
        problems += problems_at(patients.frame, (pl.col(column) > cutoff).fill_null(False), patients.file,
                                column, pl.col(column).cast(pl.String),
                                f"after the data cut-off {cutoff.isoformat()}")
    return problems


# --------------------------------------------------------------------------- disease-specific response inputs

# assessment methods that belong to one diagnosis family (docs/criteria.md): an imwg or iwcll row of a
# patient of another family would be left out of the response silently
_METHOD_FAMILY = {"imwg": ("myeloma", "IMWG 2016"), "iwcll": ("cll", "iwCLL 2018")}


def response_inputs(assessments: TypedTable, patients: TypedTable) -> list[Problem]:
    """Assessment rows that cannot be what they say: a disease-specific method (``imwg``, ``iwcll``)
    for a patient of another diagnosis family, and nodes whose SPD is larger than six nodes of the
    largest one's diameter could give (iwCLL 2018 measures up to six nodes)."""
    from cartkit.study.vocabulary import DIAGNOSES

    a = assessments.frame
    needed = {"patient_id", "method"}
    if not needed <= set(a.columns) or "diagnosis" not in patients.frame.columns:
        return []
    dx = patients.frame.select("patient_id", pl.col("diagnosis").alias("__dx")).unique("patient_id")
    f = a.join(dx, on="patient_id", how="left").with_columns(
        __family=pl.col("__dx").replace_strict(DIAGNOSES, default=None)
    )
    problems: list[Problem] = []
    for method, (family, criteria) in _METHOD_FAMILY.items():
        problems += problems_at(
            f,
            ((pl.col("method") == method) & pl.col("__dx").is_not_null() & (pl.col("__family") != family)).fill_null(
                False),
            assessments.file, "method", "method",
            pl.format("method {} ({}) is for diagnosis family '{}', but patient {} has diagnosis {}",
                      pl.lit(method), pl.lit(criteria), pl.lit(family), "patient_id", "__dx"),
            kind=f"{method} assessment of a patient of another diagnosis",
        )
    if {"spd_mm2", "node_max_ldi_mm"} <= set(a.columns):
        problems += problems_at(
            f,
            (pl.col("spd_mm2") > 6 * pl.col("node_max_ldi_mm") ** 2).fill_null(False),
            assessments.file, "spd_mm2", "spd_mm2",
            pl.format("larger than six nodes of the largest node's diameter can give (6 x {}^2 mm^2)",
                      "node_max_ldi_mm"),
            kind="node SPD larger than the largest node allows",
        )
    return problems


def randomised_treatment_assessments(assessments: TypedTable, patients: TypedTable,
                                     infusions: TypedTable | None, plan: Plan | None = None) -> list[Problem]:
    """Episode-0 assessments (the response to the randomised treatment, e.g. standard of care, dated from
    randomisation; docs/plan.md "Responses to standard of care") that cannot be counted: the patient has a
    randomisation date but no arm (the response belongs to the arm), or the assessment is on or after the
    patient's first CAR-T infusion (after crossover a response belongs to the CAR-T episode); and, a warning,
    a patient of an arm other than the control arm (analysis/populations.control_arm, the rule the ITT tables
    use: only the control arm's rate counts episode 0, so the row would be silently ignored)."""
    a = assessments.frame
    if "episode" not in a.columns or not (a["episode"] == 0).any() or "patient_id" not in patients.frame.columns:
        return []
    p = _with_first_infusion(patients, infusions)
    arm = p["arm"] if "arm" in p.columns else pl.repeat(None, p.height, dtype=pl.String, eager=True)
    randomised = p["randomisation_date"] if "randomisation_date" in p.columns else pl.repeat(
        None, p.height, dtype=pl.Date, eager=True)
    info = p.select("patient_id", "__first_infusion").with_columns(__arm=arm, __randomised=randomised).unique(
        "patient_id")
    f = a.filter(pl.col("episode") == 0).join(info, on="patient_id", how="left")
    problems = problems_at(  # without a randomisation date the row is already an orphan (``orphans``)
        f, pl.col("__arm").is_null() & pl.col("__randomised").is_not_null(), assessments.file, "episode", "patient_id",
        pl.format("episode 0 is a response to the randomised treatment, counted in the patient's arm: patient {} "
                  "has no arm in patients", "patient_id"),
        kind="randomised-treatment assessment of a patient without an arm",
    )
    problems += problems_at(
        f, (pl.col("date") >= pl.col("__first_infusion")).fill_null(False), assessments.file, "date",
        pl.col("date").cast(pl.String),
        pl.format("episode 0 (the randomised treatment) on or after the patient's first CAR-T infusion ({}): after "
                  "crossover a response belongs to the CAR-T episode; give it that episode and its day from the "
                  "infusion", pl.col("__first_infusion").cast(pl.String)),
        kind="randomised-treatment assessment after the CAR-T infusion",
    )
    control = _control_arm(plan, patients, infusions, f["__arm"].drop_nulls().cast(pl.String).unique().to_list())
    if control is not None:
        problems += problems_at(
            f, (pl.col("__arm").cast(pl.String) != control).fill_null(False), assessments.file, "episode",
            pl.col("episode").cast(pl.String),
            pl.format("episode 0 is a response to the randomised treatment, counted only in the control arm ({}): "
                      "patient {} is in arm {}, so this row is not counted; a response to CAR-T belongs to its "
                      "CAR-T episode (that episode and its day from the infusion)", pl.lit(control), "patient_id",
                      pl.col("__arm").cast(pl.String)),
            kind="randomised-treatment assessment of a patient outside the control arm", severity=WARNING,
        )
    return problems


def _control_arm(plan: Plan | None, patients: TypedTable, infusions: TypedTable | None,
                 arms: list[str]) -> str | None:
    """The control arm by the analysis' own rule (analysis/populations.control_arm: the reference an endpoint
    names, else the arm with the smallest share infused); None when it cannot be told."""
    from cartkit.analysis.populations import control_arm_of

    if "arm" not in patients.frame.columns:
        return None
    every = patients.frame["arm"].drop_nulls().cast(pl.String).unique().sort().to_list()
    if len(every) < 2 or not arms:
        return None
    infused = (infusions.frame.select("patient_id") if infusions is not None and "patient_id" in infusions.frame.columns
               else pl.DataFrame(schema={"patient_id": pl.String}))
    return control_arm_of(patients.frame, infused, (plan or Plan()).endpoints, every)
