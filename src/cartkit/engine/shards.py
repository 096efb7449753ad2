"""A study in patient shards, streamed through load, validate and derive one shard at a time.

A sharded study folder (written by ``cartkit simulate --shards N``, docs/scale.md) holds
``study.toml`` and, in ``shards/``, one folder per shard, each holding the tables of its patients
as an ordinary study folder does (``shards/00000/measurements.parquet`` ...). Every row of a
patient is in that patient's shard.

``shard_frames`` checks and loads one shard (``cartkit.study.validate.check_shard``: every rule
that holds within a shard), derives it (``cartkit.derive.derive``, the one implementation of every
derivation) and returns what the analysis needs as named frames: the derived per-episode tables,
the tables the analysis reads (patients, infusions, events, assessments, adverse events, support,
lesions) and the kinetic measurements, with the shard's problems, notes and input files. Only
those frames stay in memory; the shard's measurements and neuro rows are dropped after deriving.
``gather`` checks what holds across shards (a patient in one shard only; the plan's products,
diseases, populations, endpoints and comparisons occur in the data), raises ``StudyError`` with
every problem of every shard, and builds the ``Study`` and ``Derived`` the analysis runs on.

The same two functions run the Spark engine (``cartkit.engine.spark``): ``shard_frames`` on the
executors, ``gather`` on the driver.

At registry size the kinetic figures and the Stein model fits use a reproducible sample of the
episodes (``KINETIC_SAMPLE_EPISODES``, chosen by a hash of patient id and episode, so that it does
not depend on how the patients are split into shards); every other table uses every patient.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl

SHARDS = "shards"
# tables the analysis reads besides the derived ones (cartkit.analysis); measurements are kept for
# the kinetic analytes and IgG only (analysis_rows), neuro not at all (the derivations have used them)
ANALYSIS_TABLES = ("patients", "infusions", "events", "assessments", "adverse_events", "support", "lesions",
                   "infections")
# the analyte of the measurements kept for every episode besides the kinetic ones (analysis_rows)
IGG_ANALYTE = "igg"
# of these tables the analysis reads only these columns (the derivations have read the others in the shard):
# measurements in analysis.kinetic_summary.kinetic_values, cellular_kinetics.ck_model_fits (with blq) and
# hypogammaglobulinaemia.igg_episodes; assessments in antigen_expression (cd19_pct, cd22_pct; responses come
# from the derived assessments); support in toxicity_treatment, igg_episodes and computed_numbers. At registry
# size the dropped text columns (units, times, oxygen devices, ...) were a GiB: text costs 16 bytes a row even
# where it is empty (docs/scale.md)
ANALYSIS_COLUMNS = {
    "measurements": ("patient_id", "episode", "day", "analyte", "value", "blq"),
    "assessments": ("patient_id", "episode", "day", "cd19_pct", "cd22_pct"),
    "support": ("patient_id", "episode", "day", "kind", "agent", "dose", "dose_unit"),
}


def analysis_columns(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """``frame`` (the table ``table``) with only the columns the analysis reads (``ANALYSIS_COLUMNS``); the
    adverse events without their MedDRA columns where none of the shard's is coded (the analysis reads them
    only when some row is, cartkit.study.meddra.is_coded; a gathered study coded in some shards has them)."""
    if table == "adverse_events":
        from cartkit.study.meddra import PT_COLUMNS, SOC_COLUMNS, is_coded

        return frame if is_coded(frame) else frame.drop([*PT_COLUMNS, *SOC_COLUMNS], strict=False)
    keep = ANALYSIS_COLUMNS.get(table)
    return frame if keep is None else frame.select([c for c in keep if c in frame.columns])
# at most about this many episodes' kinetic measurements are kept for the kinetic figures and model fits
KINETIC_SAMPLE_EPISODES = 50_000
_SAMPLE_SCALE = 1_000_000
_SAMPLE_SEED = 2019

# integer columns kept 64-bit when compacting: durations in days, which the analysis sums over patients
_WIDE_INTEGERS = ("_days",)
# long, repeated text the analysis only lists (never joins on, compares or parses), held as categories
# when compacting; every other text column stays text, as the analysis's joins and parsing expect
CATEGORY_COLUMNS = {"derived.kinetics": ("note",), "derived.tte.": ("pfs_reason", "os_reason"),
                    "table.infusions": ("lymphodepletion",)}

_PROBLEM_SCHEMA = {"file": pl.String, "row": pl.Int64, "column": pl.String, "value": pl.String,
                   "rule": pl.String, "severity": pl.String, "kind": pl.String}


def shard_folders(folder: str | Path) -> list[Path]:
    """The shard folders of a sharded study, in name order (empty for an ordinary study folder)."""
    root = Path(folder) / SHARDS
    if not root.is_dir() or (Path(folder) / SHARDS).is_symlink():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.is_symlink()), key=lambda p: p.name)


def is_sharded(folder: str | Path) -> bool:
    return bool(shard_folders(folder))


def kinetic_fraction(folder: str | Path, shards: Iterable[Path] | None = None,
                     episodes: int = KINETIC_SAMPLE_EPISODES) -> float:
    """The share of episodes whose kinetic measurements are kept: 1 when the study has at most
    ``episodes`` infusions (counted from the Parquet metadata of the infusions tables, without
    reading them), else ``episodes`` / the number of infusions."""
    import pyarrow.parquet as pq

    total = 0
    for shard in shards if shards is not None else shard_folders(folder):
        files = [p for p in shard.iterdir() if p.name.lower() == "infusions.parquet"]
        if not files:
            return 1.0  # not Parquet: every episode is kept
        try:
            total += pq.ParquetFile(files[0]).metadata.num_rows
        except Exception:  # unreadable: its shard's check says so
            return 1.0
    return 1.0 if total <= episodes else episodes / total


def _sampled(frame: pl.DataFrame, fraction: float) -> pl.Expr:
    if fraction >= 1:
        return pl.lit(True)
    h = pl.struct(pl.col("patient_id"), pl.col("episode")).hash(seed=_SAMPLE_SEED)
    return (h % _SAMPLE_SCALE) < int(round(fraction * _SAMPLE_SCALE))


def _kinetic(plan) -> pl.Expr:
    lo, hi = plan.kinetics_window
    wanted = (pl.col("analyte").is_in(list(plan.kinetic_analytes)) & pl.col("day").is_between(lo, hi)) | (
        (pl.col("analyte") == "car_dna") & (pl.col("day") >= 0))
    return wanted.fill_null(False)


def kinetic_rows(measurements: pl.DataFrame, plan, fraction: float = 1.0) -> pl.DataFrame:
    """The kinetic measurements the analysis reads (cartkit.analysis.kinetic_summary, cellular_kinetics):
    the plan's kinetic analytes within its window and CAR DNA from day 0, of the sampled episodes."""
    return measurements.filter(_kinetic(plan) & _sampled(measurements, fraction))


def analysis_rows(measurements: pl.DataFrame, plan, fraction: float = 1.0) -> pl.DataFrame:
    """Every measurement the analysis reads, in the table's order: the kinetic rows (``kinetic_rows``, of
    the sampled episodes) and the IgG values of every episode (``IGG_ANALYTE``: the hypogammaglobulinaemia
    summary, cartkit.analysis.hypogammaglobulinaemia)."""
    return measurements.filter((_kinetic(plan) & _sampled(measurements, fraction))
                               | (pl.col("analyte") == IGG_ANALYTE).fill_null(False))


def compact(frame: pl.DataFrame, name: str = "") -> pl.DataFrame:
    """``frame`` (the frame ``name`` a shard hands over) in narrower storage with the same values:
    64-bit integers whose values fit as ``pl.Int32`` (except durations, ``*_days``, which the analysis
    sums over patients), and the text columns of ``CATEGORY_COLUMNS`` as ``pl.Categorical`` (one
    global dictionary, so shards concatenate; results store them as text again,
    cartkit.analysis.results). Floats, dates and booleans are kept: no statistic is computed in lower
    precision. At registry size the gathered tables are most of a run's memory (docs/scale.md)."""
    ints = [n for n, t in frame.schema.items() if t == pl.Int64 and not n.endswith(_WIDE_INTEGERS)]
    fits = set(ints)
    if ints and frame.height:
        bounds = frame.select([pl.col(n).min().alias(f"lo.{n}") for n in ints]
                              + [pl.col(n).max().alias(f"hi.{n}") for n in ints]).row(0, named=True)
        fits = {n for n in ints if (bounds[f"lo.{n}"] is None or bounds[f"lo.{n}"] >= -(2**31))
                and (bounds[f"hi.{n}"] is None or bounds[f"hi.{n}"] < 2**31)}
    labels = {c for key, columns in CATEGORY_COLUMNS.items() if name == key or (key.endswith(".")
              and name.startswith(key)) for c in columns}
    casts = [pl.col(n).cast(pl.Categorical) for n, t in frame.schema.items() if t == pl.String and n in labels]
    casts += [pl.col(n).cast(pl.Int32) for n in ints if n in fits]
    return frame.with_columns(casts) if casts else frame


# --------------------------------------------------------------------------- one shard


def _problem_frame(problems) -> pl.DataFrame:
    return pl.DataFrame(
        [(p.file, p.row, p.column, None if p.value is None else str(p.value), p.rule, p.severity, p.kind)
         for p in problems], schema=_PROBLEM_SCHEMA, orient="row")


def _problems(frame: pl.DataFrame) -> list:
    from cartkit.study.problems import Problem

    return [Problem(*row) for row in frame.iter_rows()]


def _text(items: Iterable[str]) -> pl.DataFrame:
    return pl.DataFrame({"text": list(items)}, schema={"text": pl.String})


def derived_frames(derived) -> dict[str, pl.DataFrame]:
    """A ``Derived`` as named frames (``derived.<field>``, ``derived.tte.<rule>``, notes and facts as
    text frames), the form shards hand over (in process or as Arrow from Spark executors)."""
    frames: dict[str, pl.DataFrame] = {}
    for f in dataclasses.fields(derived):
        value = getattr(derived, f.name)
        if isinstance(value, pl.DataFrame):
            frames[f"derived.{f.name}"] = value
        elif f.name == "tte":
            for rule, frame in value.items():
                frames[f"derived.tte.{rule}"] = frame
        elif f.name == "notes":
            frames["derived.notes"] = _text(value)
        elif f.name == "facts":
            frames["derived.facts"] = pl.DataFrame({"key": list(value), "text": list(value.values())},
                                                   schema={"key": pl.String, "text": pl.String})
        elif value is not None:  # pragma: no cover - a new field must be handed over too
            raise TypeError(f"Derived.{f.name}: cannot hand over a {type(value).__name__} between shards")
    return frames


def shard_frames(folder: str | Path, shard: str | Path, config, today: dt.date | None = None,
                 fraction: float = 1.0) -> dict[str, pl.DataFrame]:
    """Check, load and derive one shard; what the analysis needs from it, as named frames."""
    from cartkit.derive import derive
    from cartkit.study.problems import errors
    from cartkit.study.validate import check_shard

    folder, shard = Path(folder), Path(shard)
    study, problems = check_shard(folder, shard, config, today)
    frames = {"problems": _problem_frame(problems)}
    if study is None or errors(problems):
        return frames
    # what the analysis receives, compacted (``compact``); the shard's full tables go when this returns
    text = ("derived.notes", "derived.facts")
    frames.update({name: frame if name in text else compact(frame, name)
                   for name, frame in derived_frames(derive(study)).items()})
    for name in ANALYSIS_TABLES:
        frames[f"table.{name}"] = compact(analysis_columns(study.tables[name], name), f"table.{name}")
    frames["table.measurements"] = compact(analysis_columns(
        analysis_rows(study.tables["measurements"], study.plan, fraction), "measurements"))
    frames["table.neuro"] = compact(study.tables["neuro"].clear())
    frames["notes"] = _text(study.notes)
    frames["inputs"] = pl.DataFrame(
        [(f.file, str(f.path), f.bytes, f.sha256) for f in study.inputs],
        schema={"file": pl.String, "path": pl.String, "bytes": pl.Int64, "sha256": pl.String}, orient="row")
    frames["shard"] = pl.DataFrame({"shard": [shard.relative_to(folder).as_posix()],
                                    "patients": [study.tables["patients"].height],
                                    "episodes": [study.tables["infusions"].height]})
    return frames


# --------------------------------------------------------------------------- all shards


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [f for f in frames if f is not None]
    if len(frames) == 1:
        return frames[0]
    return pl.concat(frames, how="diagonal_relaxed")


def _patients_in_two_shards(parts: list[dict[str, pl.DataFrame]]) -> list:
    from cartkit.study.problems import Problem

    seen = pl.concat([part["table.patients"].select("patient_id").with_columns(
        __shard=pl.lit(part["shard"]["shard"][0])) for part in parts if "table.patients" in part])
    repeated = seen.filter(pl.col("patient_id").is_duplicated() & pl.col("patient_id").is_not_null())
    if repeated.is_empty():
        return []
    first = repeated.group_by("patient_id", maintain_order=True).agg(pl.col("__shard").first().alias("__first"))
    later = repeated.join(first, on="patient_id").filter(pl.col("__shard") != pl.col("__first"))
    return [Problem(f"{s}/patients", None, "patient_id", pid,
                    f"patient also in shard {f}: all of a patient's rows belong to one shard",
                    kind="patient in more than one shard")
            for pid, s, f in later.select("patient_id", "__shard", "__first").iter_rows()]


def gather(folder: str | Path, config, parts: list[dict[str, pl.DataFrame]], fraction: float = 1.0,
           sharded: bool = True):
    """(Study, Derived) of the whole study from its shards' frames; ``StudyError`` listing every
    problem of every shard when there is any error. ``sharded``: the study folder is in patient shards
    (the notes say how many were read); False for an ordinary folder handed over as one part (the
    Spark engine), whose notes are then those of the default engine."""
    from cartkit.derive import Derived
    from cartkit.study.coerce import TypedTable
    from cartkit.study.model import Study
    from cartkit.study.problems import StudyError, errors, warnings
    from cartkit.study.provenance import STUDY_FILES, InputFile, input_files
    from cartkit.study.schema import TABLES
    from cartkit.study.validate import plan_problems

    folder = Path(folder)
    problems = [p for part in parts for p in _problems(part["problems"])]
    clean = [part for part in parts if "shard" in part]
    if not errors(problems) and clean:
        problems += _patients_in_two_shards(clean)
        typed = {name: TypedTable(TABLES[name], name, _concat([p[f"table.{name}"] for p in clean]),
                                  present=set(TABLES[name].column_names)) for name in ("patients", "infusions")}
        problems += plan_problems(config, typed)
    if errors(problems) or not clean:
        raise StudyError(problems)

    tables = {name: _concat([p[f"table.{name}"] for p in clean]) for name in (*ANALYSIS_TABLES, "measurements",
                                                                              "neuro")}
    derived_fields = {}
    for f in dataclasses.fields(Derived):
        if f.name == "tte":
            rules = _unique(k.split(".", 2)[2] for p in clean for k in p if k.startswith("derived.tte."))
            derived_fields["tte"] = {rule: _concat([p[f"derived.tte.{rule}"] for p in clean]) for rule in rules}
        elif f.name == "notes":
            derived_fields["notes"] = _unique(t for p in clean for t in p["derived.notes"]["text"])
        elif f.name == "facts":
            facts: dict[str, list[str]] = {}
            for p in clean:
                for key, text in p["derived.facts"].iter_rows():
                    facts.setdefault(key, []).append(text)
            derived_fields["facts"] = {k: " ".join(_unique(v)) for k, v in facts.items()}
        else:
            present = [p[f"derived.{f.name}"] for p in clean if f"derived.{f.name}" in p]
            derived_fields[f.name] = _concat(present) if present else None
    shards = _concat([p["shard"] for p in clean])
    notes = _unique(t for p in clean for t in p["notes"]["text"])
    registry: list[str] = []  # how the study was read: in the report's notes (derived.notes) and study.notes
    if sharded:
        registry.append(f"Read in {shards.height} patient shards ({int(shards['patients'].sum()):,} patients, "
                        f"{int(shards['episodes'].sum()):,} infusions), each loaded, validated and derived on its "
                        "own (docs/scale.md).")
    if fraction < 1:
        sampled = tables["measurements"].filter(_kinetic(config.plan)).select("patient_id", "episode").unique().height
        registry.append(f"The kinetic curves and model fits use the measurements of a reproducible sample of "
                     f"{sampled:,} of {int(shards['episodes'].sum()):,} infusions (a hash of patient id and "
                     "episode); the kinetic parameters of every infusion are in the derived tables.")
    notes += registry
    derived_fields["notes"] = derived_fields["notes"] + registry
    derived = Derived(**derived_fields)
    study_files = list(input_files(folder, []))  # study.toml (and published.toml) once
    seen = {f.file for f in study_files}
    inputs = study_files + [InputFile(file, Path(path), size, digest)
                            for p in clean for file, path, size, digest in p["inputs"].iter_rows()
                            if file not in seen and file not in STUDY_FILES]
    study = Study(path=folder, meta=config.meta, plan=config.plan, tables=tables, notes=notes,
                  inputs=tuple(inputs))
    study.warnings = warnings(problems)
    return study, derived


def run_shards(folder: str | Path, progress: Callable[[str], None] | None = None,
               today: dt.date | None = None):
    """(Study, Derived) of a sharded study, its shards loaded, validated and derived one at a time in
    this process; ``StudyError`` with every problem of every shard (and of study.toml)."""
    from cartkit.study.plan import read_study_toml
    from cartkit.study.problems import StudyError, errors

    folder = Path(folder)
    config, toml_problems = read_study_toml(folder)
    if errors(toml_problems):
        raise StudyError(toml_problems)
    shards = shard_folders(folder)
    fraction = kinetic_fraction(folder, shards)
    parts = []
    for i, shard in enumerate(shards, start=1):
        if progress is not None:
            progress(f"shard {i} of {len(shards)}: loading, validating and deriving")
        parts.append(shard_frames(folder, shard, config, today, fraction))
    parts[0]["problems"] = pl.concat([_problem_frame(toml_problems), parts[0]["problems"]])
    return gather(folder, config, parts, fraction)
