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
        return _check(folder, workbooks, today or dt.date.today(), shard=shard, config=(config, []))
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


def _check(folder: Path, workbooks: list, today: dt.date, shard: Path | None = None,
           config: tuple | None = None) -> tuple[Study | None, list[Problem]]:
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
    patients = None
    for name, table in TABLES.items():
        source = sources.get(name)
        raw: RawTable | None = None
        if source is None and not mapped.supplies(name):
            if table.required:
                problems.append(
                    Problem(
                        name if shard is None or shard == folder else f"{shard.relative_to(folder).as_posix()}/{name}",
                        None,
                        None,
                        None,
                        f"missing required table '{name}': expected {name}.csv, {name}.parquet, {name}.xlsx, "
                        f"{name}.sav, {name}.sas7bdat, {name}.xpt or a sheet '{name}' in the workbook",
                    )
                )
        else:
            raw, read_problems = mapped.read(name, source)
            problems += read_problems
            if raw is not None:
                notes += raw.notes
        if raw is None:
            absent.add(name)
            file = source.file if source is not None else name
            raw = RawTable(name, file, empty_table(table).select(ROW))
            tt, _, _ = coerce_table(raw, table)
            tt.present = set(table.column_names)  # nothing to complain about in an absent table
        else:
            if name == "measurements":
                more, below_notes = read_qualified_values(raw)
                problems += more
                notes += below_notes
            tt, more, table_notes = coerce_table(raw, table, config.plan.extra_ae_terms, today, patients)
            problems += more
            notes += table_notes
        typed[name] = tt
        if name == "patients":  # the tables after it try their patient ids against these first
            # as Polars' own dtype, converted once for all the tables (episodes.EpisodeIndex says why)
            patients = patient_enum(tt.frame).to_dtype_expr()

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
    for tt in typed.values():
        problems += derive_days(tt, index)
    for tt in typed.values():
        problems += clock_times(tt)
        problems += duplicate_keys(tt)
    # a parent table that is empty, or lacks its key column, is one problem; its children's rows
    # are then not also listed as orphans
    for parent in ("patients", "infusions"):
        if parent not in absent:
            problems += empty_parent(typed[parent])
            if typed[parent].frame.height == 0 or "patient_id" not in typed[parent].present or (
                    parent == "infusions" and "episode" not in typed[parent].present):
                absent.add(parent)
    problems += orphans({k: v for k, v in typed.items() if k not in absent}, index)
    if shard is None:
        problems += plan_problems(config, typed, absent)
    problems += infusion_order(typed["infusions"])
    problems += death_order(typed, index)
    problems += event_before_infusion(typed["events"], index, typed["infusions"], typed["patients"])
    if "patients" not in absent:
        infusions = None if "infusions" in absent else typed["infusions"]
        problems += never_infused(typed["patients"], infusions) if infusions is not None else []
        problems += milestone_order(typed["patients"], infusions)
        problems += milestones_after_death(typed["patients"], typed["events"])
    if config.meta.data_cutoff is not None:
        problems += after_cutoff(typed, index, config.meta.data_cutoff)
        if "patients" not in absent:
            problems += milestones_after_cutoff(typed["patients"], config.meta.data_cutoff)
    problems += adverse_event_order(typed["adverse_events"])
    problems += response_inputs(typed["assessments"], typed["patients"])
    if "patients" not in absent:
        problems += randomised_treatment_assessments(typed["assessments"], typed["patients"],
                                                     None if "infusions" in absent else typed["infusions"],
                                                     config.plan)
    problems += meddra_problems(typed["adverse_events"])

    tables = {name: tt.frame.drop(ROW) for name, tt in typed.items()}
    paths = [s.path for s in sources.values()] + mapped.paths
    inputs = input_files(folder, paths)  # hashed as read (provenance)
    notes = mapped.notes(notes)
    study = Study(path=folder, meta=config.meta, plan=config.plan, tables=tables, notes=notes, inputs=inputs)
    return study, mapped.relocate(problems)
