"""Check a study folder and list every problem, across every file, at once.

``validate_study(path)`` returns the problems (empty when the study is clean):
errors, which stop the analysis, and warnings, which do not (see
``cartkit.study.problems`` and docs/validation.md);
``cartkit.study.load.load_study`` uses the same pass and raises ``StudyError``
when there is any error. The input folder is only ever read.

The pass, in order: study.toml -> locate each table's file -> read -> types,
vocabularies, units, required cells, value ranges and plausible dates per
table -> day/date derivation -> duplicate keys -> orphan references (never of
a table or key column that could not be read) -> order of events and the data
cut-off.
"""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import polars as pl

from cartkit.study.coerce import POLARS_TYPES, TypedTable, coerce_table
from cartkit.study.column_mapping import MappedStudy
from cartkit.study.days import clock_times, derive_days
from cartkit.study.episodes import EpisodeIndex, patient_enum
from cartkit.study.integrity import (
    adverse_event_order,
    after_cutoff,
    death_order,
    duplicate_keys,
    empty_parent,
    event_before_infusion,
    infusion_order,
    milestone_order,
    milestones_after_cutoff,
    milestones_after_death,
    never_infused,
    orphans,
    plan_references,
    randomised_treatment_assessments,
    response_inputs,
)
from cartkit.study.meddra import meddra_problems
from cartkit.study.model import Study
from cartkit.study.plan import STUDY_TOML, read_study_toml
from cartkit.study.plan_comparison import comparison_references, effective_comparisons
from cartkit.study.plan_endpoint import endpoint_references
from cartkit.study.plan_population import population_references
from cartkit.study.problems import Problem
from cartkit.study.provenance import input_files
from cartkit.study.qualified import plan_lloq, read_qualified_values
from cartkit.study.readers import ROW, RawTable
from cartkit.study.schema import TABLES, Table
from cartkit.study.sources import locate_tables
from cartkit.study.units import check_blq, convert_units


def validate_study(path: str | Path, today: dt.date | None = None) -> list[Problem]:
    """Every problem of the study at ``path``, errors and warnings (an empty list when it is clean).

    ``today`` is the latest plausible date of a record (the day of the call when None)."""
    return check_study(path, today)[1]


def check_study(path: str | Path, today: dt.date | None = None) -> tuple[Study | None, list[Problem]]:
    """The loaded study (None when it could not be built) and every problem found."""
    folder = Path(path)
    if not folder.is_dir():
        return None, [Problem(str(path), None, None, None, "not a study folder (expected a folder with study.toml)")]
    workbooks: list = []
    try:
        return _check(folder, workbooks, today or dt.date.today())
    except Exception as exc:  # the last line of defence: a problem, never a traceback
        rule = f"internal error while checking the study: {type(exc).__name__}: {exc}"
        return None, [Problem(str(path), None, None, None, rule)]
    finally:
        for wb in workbooks:
            wb.close()


def empty_table(table: Table) -> pl.DataFrame:
    return pl.DataFrame(schema={ROW: pl.Int64, **{c.name: POLARS_TYPES[c.dtype] for c in table.columns}})


def check_shard(folder: Path, shard: Path, config, today: dt.date | None = None
                ) -> tuple[Study | None, list[Problem]]:
    """One patient shard of a sharded study (cartkit.engine.shards): the tables of the folder ``shard``
    checked and loaded under the study's ``config`` (read once from ``folder``/study.toml), with every
    rule that holds within a shard; the rules about the plan and the data as a whole (the plan's
    products, diseases, populations, endpoints and comparisons occur in the data) are left to the
    caller, who checks them once on the shards' patients and infusions (``plan_problems``)."""
    workbooks: list = []
    try:
        return _check(folder, workbooks, today or dt.date.today(), shard=shard, config=(config, []), threads=False)
    except Exception as exc:  # the last line of defence: a problem, never a traceback
        rule = f"internal error while checking the study: {type(exc).__name__}: {exc}"
        return None, [Problem(str(shard), None, None, None, rule)]
    finally:
        for wb in workbooks:
            wb.close()


def plan_problems(config, typed: dict[str, TypedTable], absent: set[str] = frozenset()) -> list[Problem]:
    """The plan's references to the data: products, diseases, populations, endpoints, comparisons."""
    problems = plan_references(config.plan, typed, absent)
    problems += population_references(config.plan, typed, absent)
    problems += endpoint_references(config.plan, typed, absent)
    problems += comparison_references(effective_comparisons(config.plan),
                                      {k: typed[k].frame for k in ("patients", "infusions")}, absent,
                                      config.plan.products)
    return problems


def _in_threads(mapped: MappedStudy, sources: dict) -> bool:
    """Whether the tables may be read and coerced two at a time: each from a file of its own (no sheets
    of one workbook), with no column mapping (whose reading keeps state)."""
    return not mapped.mapping and all(s.sheet is None for s in sources.values())


def _one_at_a_time(work, items) -> list:
    return [work(item) for item in items]


def _two_at_a_time(work, items) -> list:
    """``work`` of each item, in the items' order, run in two threads where the machine has two cores:
    Polars releases the GIL, so one item's single-threaded steps overlap the other's (issue 16). An
    exception of an item is raised here, as one by one."""
    if (os.cpu_count() or 1) < 2:
        return _one_at_a_time(work, items)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(work, items))


def _read_table(name: str, source, mapped: MappedStudy, config, today: dt.date,
                patients: pl.DataTypeExpr | None, shard: str | None
                ) -> tuple[TypedTable, list[Problem], list[str], bool]:
    """One table read, its qualified results read (measurements) and coerced: (the typed table, its
    problems, its notes, whether it is absent: missing or unreadable)."""
    table = TABLES[name]
    problems: list[Problem] = []
    notes: list[str] = []
    raw: RawTable | None = None
    if source is None and not mapped.supplies(name):
        if table.required:
            problems.append(Problem(
                name if shard is None else f"{shard}/{name}", None, None, None,
                f"missing required table '{name}': expected {name}.csv, {name}.parquet, {name}.xlsx, "
                f"{name}.sav, {name}.sas7bdat, {name}.xpt or a sheet '{name}' in the workbook"))
    else:
        raw, read_problems = mapped.read(name, source)
        problems += read_problems
        if raw is not None:
            notes += raw.notes
    if raw is None:
        file = source.file if source is not None else name
        tt, _, _ = coerce_table(RawTable(name, file, empty_table(table).select(ROW)), table)
        tt.present = set(table.column_names)  # nothing to complain about in an absent table
        return tt, problems, notes, True
    if name == "measurements":
        more, below_notes = read_qualified_values(raw)
        problems += more
        notes += below_notes
    tt, more, table_notes = coerce_table(raw, table, config.plan.extra_ae_terms, today, patients)
    return tt, problems + more, notes + table_notes, False


def _check(folder: Path, workbooks: list, today: dt.date, shard: Path | None = None,
           config: tuple | None = None, threads: bool = True) -> tuple[Study | None, list[Problem]]:
    """The pass of ``check_study`` (``check_shard``: one shard). ``threads``: run the tables and the checks
    two at a time (``_two_at_a_time``); a shard of a registry runs them one by one, since there memory is
    the bound and the engine already keeps the cores busy (issue 16: at 10^6 patients in 50 shards, with
    threads 459.9 s and 7,981 MiB peak, without 383.0 s and 7,727 MiB; one run each, 2026-12-04)."""
    config, problems = config if config is not None else read_study_toml(folder)
    problems = list(problems)
    tables_folder = shard if shard is not None else folder
    sources, found, notes, opened = locate_tables(tables_folder, config)
    if shard is not None and shard.resolve() == folder.resolve():
        shard = folder  # the whole folder as one shard: its files named as they are
    if shard is not None and shard != folder:  # problems and notes name a shard's files by their path
        prefix = shard.relative_to(folder).as_posix() + "/"
        for source in sources.values():
            source.file = prefix + source.file
        found = [replace(p, file=prefix + p.file) if p.file != STUDY_TOML else p for p in found]
        notes = [prefix + n for n in notes]
    workbooks.extend(opened)
    problems += found
    mapped = MappedStudy(config.column_mapping, tables_folder, sources)  # the centre's headers and codes

    typed: dict[str, TypedTable] = {}
    absent: set[str] = set()  # tables missing or unreadable: their dependants are not also orphans
    shown = None if shard is None or shard == folder else shard.relative_to(folder).as_posix()

    def one(name: str, patients: pl.DataTypeExpr | None) -> tuple[TypedTable, list[Problem], list[str], bool]:
        return _read_table(name, sources.get(name), mapped, config, today, patients, shown)

    # the tables up to patients one by one (the tables after it try their patient ids against its ids);
    # the rest two at a time in threads when each is a file of its own read as it is (no workbook, no
    # column mapping): Polars releases the GIL, so one table's single-threaded steps overlap another's
    # (issue 16: at 100,000 patients, read and coerce 2.5-2.7 s -> 2.0-2.2 s wall). Results are taken
    # in the schema's order, so problems and notes are the same as one by one.
    names = list(TABLES)
    upto = names.index("patients") + 1
    patients = None
    results = {}
    for name in names[:upto]:
        results[name] = one(name, patients)
    patients = patient_enum(results["patients"][0].frame).to_dtype_expr()  # Polars' dtype, converted once
    rest = names[upto:]
    each = _two_at_a_time if threads else _one_at_a_time
    read = each if _in_threads(mapped, sources) else _one_at_a_time
    results.update(zip(rest, read(lambda name: one(name, patients), rest), strict=True))
    for name in names:
        tt, more, table_notes, missing = results[name]
        typed[name] = tt
        problems += more
        notes += table_notes
        if missing:
            absent.add(name)

    measurements = typed["measurements"]
    blank_problems, blank = check_blq(measurements)
    problems += blank_problems
    if blank.any():  # not measured: left out, so that nothing downstream mistakes them for values
        measurements.keep_rows(~blank)
    unit_problems, unit_notes = convert_units(measurements)
    problems += unit_problems
    notes += unit_notes
    measurements.frame, n_lloq = plan_lloq(measurements.frame, config.plan.lloq)
    if n_lloq:
        notes.append(f"measurements: {n_lloq:,} below-limit result(s) without an lloq take the analyte's [plan.lloq]")

    index = EpisodeIndex(typed["patients"].frame, typed["infusions"].frame)

    def days_and_keys(tt: TypedTable) -> tuple[list[Problem], list[Problem]]:
        """A table's day/date derivation, then its clock times and duplicate keys (which read the days)."""
        return derive_days(tt, index), clock_times(tt) + duplicate_keys(tt)

    # each table on its own (in threads two at a time, as above); the problems in the order of one by one:
    # every table's days, then every table's clock times and keys
    checked = each(days_and_keys, typed.values())
    problems += [p for days, _ in checked for p in days]
    problems += [p for _, keys in checked for p in keys]
    # a parent table that is empty, or lacks its key column, is one problem; its children's rows
    # are then not also listed as orphans
    for parent in ("patients", "infusions"):
        if parent not in absent:
            problems += empty_parent(typed[parent])
            if typed[parent].frame.height == 0 or "patient_id" not in typed[parent].present or (
                    parent == "infusions" and "episode" not in typed[parent].present):
                absent.add(parent)
    # the checks across rows and tables only read the tables: run two at a time (as above), their
    # problems in this order
    present = {k: v for k, v in typed.items() if k not in absent}
    patients_t, infusions_t, events_t = typed["patients"], typed["infusions"], typed["events"]
    infusions = None if "infusions" in absent else infusions_t
    cutoff = config.meta.data_cutoff
    checks = [lambda: orphans(present, index)]
    if shard is None:
        checks.append(lambda: plan_problems(config, typed, absent))
    checks += [lambda: infusion_order(infusions_t), lambda: death_order(typed, index),
               lambda: event_before_infusion(events_t, index, infusions_t, patients_t)]
    if "patients" not in absent:
        if infusions is not None:
            checks.append(lambda: never_infused(patients_t, infusions))
        checks += [lambda: milestone_order(patients_t, infusions), lambda: milestones_after_death(patients_t, events_t)]
    if cutoff is not None:
        checks.append(lambda: after_cutoff(typed, index, cutoff))
        if "patients" not in absent:
            checks.append(lambda: milestones_after_cutoff(patients_t, cutoff))
    checks += [lambda: adverse_event_order(typed["adverse_events"]),
               lambda: response_inputs(typed["assessments"], patients_t)]
    if "patients" not in absent:
        checks.append(lambda: randomised_treatment_assessments(typed["assessments"], patients_t, infusions, config.plan))
    checks.append(lambda: meddra_problems(typed["adverse_events"]))
    for found in each(lambda check: check(), checks):
        problems += found

    tables = {name: tt.frame.drop(ROW) for name, tt in typed.items()}
    paths = [s.path for s in sources.values()] + mapped.paths
    inputs = input_files(folder, paths)  # hashed as read (provenance)
    notes = mapped.notes(notes)
    study = Study(path=folder, meta=config.meta, plan=config.plan, tables=tables, notes=notes, inputs=inputs)
    return study, mapped.relocate(problems)
