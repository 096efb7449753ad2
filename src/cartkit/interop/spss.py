"""SPSS and SAS files: tables of a study folder in, ``.sav`` files with labels out (pyreadstat).

Reading (``read_sav``, ``read_sas``; ``cartkit.study.readers.READERS`` sends ``.sav``, ``.sas7bdat``
and ``.xpt`` files here): a table file is read as a Parquet file is, its columns keeping their
stored types (numbers, text, dates), its rows numbered 1, 2, ... as SPSS's Data View numbers its
cases. SPSS value labels (``1 = male``, ``2 = female``) are applied to the columns that hold text or
yes/no values in the schema (and to columns the schema does not know): the label is what the
loader then matches against the vocabulary, case-insensitively, as it matches a CSV cell, so a
label that is not a vocabulary value is a located problem naming the label. Codes of numeric
schema columns (a grade, an IPI) stay numbers: their labels only annotate them. A code with no
label stays as the code and is judged like any other value. SAS value formats live in a separate
catalog; ``<table>.sas7bcat`` beside a ``<table>.sas7bdat`` is used when present.

Writing (``write_sav``): text columns that hold a vocabulary (``sex``, ``diagnosis``, ``response``
...) become numeric codes with value labels, numbered in the vocabulary's order (so ``male`` is 1
and ``female`` 2 in every study), values the vocabulary does not hold (a study's extra
adverse-event terms) numbered after them; yes/no columns become 0/1 labelled ``false``/``true``;
whole-number columns get an ``F`` format with no decimals; each variable's label is the schema's
description of the column. Variable names that SPSS does not accept are made valid and the
original name kept as the variable label.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from cartkit.study.problems import Problem
from cartkit.study.readers import RawTable, frame_table
from cartkit.study.schema import BOOL, STR, TABLES, Column
from cartkit.study.vocabulary import VOCABULARIES

# SPSS reserved words cannot be variable names (IBM SPSS Statistics, "Variable names")
_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
_NAME_LIMIT = 64  # bytes of an SPSS variable name
_LABEL_LIMIT = 256  # characters of a variable label
BOOL_LABELS = {0.0: "false", 1.0: "true"}


# --------------------------------------------------------------------------- reading


def _code_text(s: pl.Series) -> pl.Series:
    """Codes as text: whole numbers without '.0', text trimmed."""
    if s.dtype.is_float():
        whole = s.is_finite() & (s.round(0) == s)
        return pl.select(
            pl.when(pl.lit(whole)).then(pl.lit(s).cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(pl.lit(s).cast(pl.String))
        ).to_series().alias(s.name)
    if s.dtype == pl.String:
        return s.str.strip_chars()
    return s.cast(pl.String, strict=False)


def _key(code: object) -> str:
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code).strip()


def _labelled_columns(table: str) -> set[str] | None:
    """Schema columns whose values are text or yes/no (value labels replace their codes)."""
    spec = TABLES.get(table)
    if spec is None:
        return None
    return {c.name for c in spec.columns if c.dtype in (STR, BOOL)}


def apply_value_labels(frame: pl.DataFrame, labels: dict[str, dict], table: str, file: str,
                       names: dict[str, str] | None = None) -> tuple[pl.DataFrame, list[str]]:
    """``frame`` with the codes of labelled text columns replaced by their labels; notes.

    ``names``: the file's variable names (trimmed, lower-case) that study.toml maps to our columns
    (docs/column-mapping.md), so that a mapped number keeps its codes as our own name would."""
    text_columns = _labelled_columns(table)
    numeric = {c.name for c in TABLES[table].columns} - (text_columns or set()) if table in TABLES else set()
    applied = []
    columns = []
    for s in frame.get_columns():
        name = s.name.strip().lower()
        name = (names or {}).get(name, name)
        mapping = labels.get(s.name)
        if mapping and name not in numeric:
            codes = _code_text(s)
            s = codes.replace({_key(k): str(v) for k, v in mapping.items()}).alias(s.name)
            applied.append(s.name)
        columns.append(s)
    notes = [f"{file}: SPSS value labels read as the values of {', '.join(applied)}"] if applied else []
    return pl.DataFrame(columns), notes


def _from_pyreadstat(reader, path: Path, table: str, file: str, what: str, names: dict[str, str] | None = None,
                     **options) -> tuple[RawTable | None, list[Problem]]:
    try:
        import pyreadstat  # noqa: F401
    except ImportError:
        return None, [Problem(file, None, None, None, f"reading {what} files needs pyreadstat: pip install pyreadstat")]
    try:
        data, meta = reader(str(path), output_format="polars", **options)
    except Exception as exc:  # pyreadstat reports unreadable files with its own exception types
        message = str(exc).strip() or type(exc).__name__
        return None, [Problem(file, None, None, None, f"cannot read the {what} file: {message}")]
    data, notes = apply_value_labels(data, meta.variable_value_labels or {}, table, file, names)
    raw, problems = frame_table(data, table, file)
    raw.notes = notes + raw.notes
    return raw, problems


def read_sav(path: Path, table: str, file: str, names: dict[str, str] | None = None
             ) -> tuple[RawTable | None, list[Problem]]:
    """One table from an SPSS ``.sav`` (or ``.zsav``) file (``names``: see ``apply_value_labels``)."""
    import pyreadstat

    return _from_pyreadstat(pyreadstat.read_sav, path, table, file, "SPSS", names)


def read_sas(path: Path, table: str, file: str, names: dict[str, str] | None = None
             ) -> tuple[RawTable | None, list[Problem]]:
    """One table from a SAS ``.sas7bdat`` file (with ``<stem>.sas7bcat`` value formats beside it,
    when present) or a SAS transport ``.xpt`` file."""
    import pyreadstat

    if path.suffix.lower() == ".xpt":
        return _from_pyreadstat(pyreadstat.read_xport, path, table, file, "SAS transport", names)
    catalog = next((p for p in path.parent.iterdir()
                    if p.suffix.lower() == ".sas7bcat" and p.stem.lower() == path.stem.lower()), None)
    options = {"catalog_file": str(catalog)} if catalog is not None else {}
    return _from_pyreadstat(pyreadstat.read_sas7bdat, path, table, file, "SAS", names, **options)


# --------------------------------------------------------------------------- writing


def spss_name(name: str, taken: set[str]) -> str:
    """A valid SPSS variable name for ``name``, not in ``taken`` (compared ignoring case)."""
    out = re.sub(r"[^A-Za-z0-9_.@#$]", "_", name.strip()) or "v"
    if not out[0].isalpha():
        out = "v_" + out
    out = out.rstrip(".")
    if out.upper() in _RESERVED:
        out += "_"
    out = out.encode("utf-8")[:_NAME_LIMIT].decode("utf-8", errors="ignore")
    base, i = out, 2
    while out.lower() in taken:
        suffix = f"_{i}"
        out = base[: _NAME_LIMIT - len(suffix)] + suffix
        i += 1
    taken.add(out.lower())
    return out


def _schema_column(table: str | None, name: str) -> Column | None:
    """The schema's column of that name: in ``table``, else in the first table that has it."""
    if table in TABLES and name in TABLES[table].column_names:
        return TABLES[table].column(name)
    for spec in TABLES.values():
        if name in spec.column_names:
            return spec.column(name)
    return None


def vocabulary_codes(vocabulary: str, present: list[str]) -> dict[str, int]:
    """value -> SPSS code: the vocabulary's canonical values 1, 2, ... in its order, then the values
    present that it does not hold, sorted."""
    canonical = list(dict.fromkeys(VOCABULARIES[vocabulary].values()))
    extra = sorted(set(present) - set(canonical))
    return {v: i for i, v in enumerate(canonical + extra, start=1)}


def sav_columns(frame: pl.DataFrame, table: str | None = None, labels: dict[str, str] | None = None,
                vocabularies: dict[str, str] | None = None):
    """(pandas frame, variable labels, value labels, formats, measures) for ``pyreadstat.write_sav``.

    ``labels``: variable labels that take precedence over the schema's descriptions;
    ``vocabularies``: column -> vocabulary for text columns the schema does not name."""
    import pandas as pd

    taken: set[str] = set()
    data: dict[str, object] = {}
    var_labels: dict[str, str | None] = {}
    value_labels: dict[str, dict[float, str]] = {}
    formats: dict[str, str] = {}
    measures: dict[str, str] = {}
    for s in frame.get_columns():
        name = spss_name(s.name, taken)
        col = _schema_column(table, s.name)
        label = (labels or {}).get(s.name) or (col.description if col is not None and col.description else None)
        if label is None:
            label = s.name  # SPSS shows the label where it has one: the original name at least
        var_labels[name] = label[:_LABEL_LIMIT] if label else None
        if isinstance(s.dtype, pl.Categorical | pl.Enum):
            s = s.cast(pl.String)
        vocabulary = (vocabularies or {}).get(s.name) or (col.vocabulary if col is not None else None)
        if s.dtype == pl.String and vocabulary is not None:
            codes = vocabulary_codes(vocabulary, s.drop_nulls().unique().to_list())
            data[name] = s.replace_strict(codes, default=None, return_dtype=pl.Float64).to_numpy()
            value_labels[name] = {float(c): v for v, c in codes.items()}
            formats[name] = "F8.0"
            measures[name] = "nominal"
        elif s.dtype == pl.Boolean:
            data[name] = s.cast(pl.Float64).to_numpy()
            value_labels[name] = dict(BOOL_LABELS)
            formats[name] = "F1.0"
            measures[name] = "nominal"
        elif s.dtype.is_integer():
            data[name] = s.cast(pl.Float64).to_numpy()
            formats[name] = "F12.0"
            measures[name] = "scale"
        elif s.dtype.is_float():
            data[name] = s.fill_nan(None).to_numpy()
            measures[name] = "scale"
        elif s.dtype == pl.Date or isinstance(s.dtype, pl.Datetime):
            data[name] = pd.Series(s.to_list(), dtype=object)
            measures[name] = "scale"
        else:
            data[name] = pd.Series(s.cast(pl.String).fill_null("").to_list(), dtype=object)
            measures[name] = "nominal"
    return pd.DataFrame(data), var_labels, value_labels, formats, measures


def write_sav(frame: pl.DataFrame, path: str | Path, table: str | None = None,
              labels: dict[str, str] | None = None, file_label: str = "",
              vocabularies: dict[str, str] | None = None) -> Path:
    """Write ``frame`` as an SPSS ``.sav`` file at ``path`` (replacing it: the caller decides whether
    it may), with variable labels and the value labels of vocabulary and yes/no columns."""
    import pyreadstat

    df, var_labels, value_labels, formats, measures = sav_columns(frame, table, labels, vocabularies)
    pyreadstat.write_sav(df, str(path), file_label=file_label[:64], column_labels=var_labels,
                         variable_value_labels=value_labels, variable_format=formats, variable_measure=measures)
    return Path(path)


# --------------------------------------------------------------------------- the derived tables


# variable labels of the derived columns (what cartkit.derive computes; see its docstrings)
DERIVED_LABELS = {
    "crs_grade": "CRS grade, episode maximum, in crs_system (recorded grade when the study records one)",
    "crs_system": "grading system of crs_grade",
    "icans_grade": "ICANS grade, episode maximum, in icans_system (recorded grade when the study records one)",
    "icans_system": "grading system of icans_grade",
    "best_response": "best overall response of the episode",
    "response_day": "day of the best response",
    "response_source": "recorded (investigator) or derived (from the criteria)",
    "relapse_day": "day of relapse or progression after the response",
    "mrd_negative": "MRD-negative response",
    "hsct_after": "allogeneic HSCT after this infusion, before the next",
    "cmax": "peak value in the kinetics window (Cmax), analyte's canonical unit",
    "tmax": "day of the peak (Tmax)",
    "clast": "last quantifiable value (Clast)",
    "tlast": "day of the last quantifiable value",
    "auc_last": "AUC from the first sample to the last quantifiable value (value x days)",
    "auc_partial": "AUC over the plan's kinetics window (value x days)",
    "lambda_z": "terminal rate constant, 1/day",
    "half_life": "terminal half-life, days (ln 2 / lambda_z)",
    "r2_adj": "adjusted R squared of the terminal regression",
    "n_points": "samples in the profile",
    "note": "why a parameter is missing",
    "pfs_date": "date of progression, relapse or death, or of censoring",
    "pfs_days": "progression-free survival, days from infusion_date",
    "pfs_event": "progression, relapse or death (false: censored)",
    "pfs_reason": "the record pfs_date comes from",
    "os_date": "date of death, or of censoring",
    "os_days": "overall survival, days from infusion_date",
    "os_event": "death (false: censored)",
    "os_reason": "the record os_date comes from",
    "toxicity": "CRS or ICANS",
    "system": "grading system of the grade",
    "grade": "episode maximum grade",
    "source": "recorded (investigator) or derived (from vitals, support and neurological records)",
}
_DERIVED_VOCABULARIES = {"best_response": "response", "crs_system": "grading_system",
                         "icans_system": "grading_system"}


def episode_tables(study, derived) -> dict[str, pl.DataFrame]:
    """The derived per-episode tables a statistician carries on with in SPSS, by file name:

    * ``episodes``: one row per infusion: the infusion, the patient's baseline, the CRS and ICANS
      grades analysed, each haematological toxicity's grade, the best response, HSCT after it;
    * ``kinetics``: one row per episode and analyte: the NCA parameters;
    * ``survival``: one row per index episode: PFS and OS under the plan's primary HSCT rule;
    * ``toxicity_grades``: CRS and ICANS per episode under every system graded (long)."""
    key = ["patient_id", "episode"]
    infusions = study.infusions.select(
        *key, *[c for c in ("product", "target", "infusion_date", "dose_1e6_per_kg") if c in study.infusions.columns])
    baseline = study.patients.select(
        "patient_id", *[c for c in ("age", "sex", "diagnosis", "disease_status") if c in study.patients.columns])
    episodes = infusions.join(baseline, on="patient_id", how="left")
    for name, frame in (("crs", derived.crs), ("icans", derived.icans)):
        episodes = episodes.join(frame.select(*key, pl.col("grade").alias(f"{name}_grade"),
                                              pl.col("system").alias(f"{name}_system")), on=key, how="left")
    hem = derived.hematologic
    for tox in hem["toxicity"].unique(maintain_order=True).to_list():
        column = f"{tox.lower()}_grade"
        episodes = episodes.join(hem.filter(pl.col("toxicity") == tox).select(*key, pl.col("grade").alias(column)),
                                 on=key, how="left")
    best = derived.best_response.select(
        *key, "best_response", "response_day", pl.col("source").alias("response_source"), "relapse_day",
        *[c for c in ("mrd_negative",) if c in derived.best_response.columns])
    episodes = episodes.join(best, on=key, how="left").join(
        derived.hsct.select(*key, pl.lit(True).alias("hsct_after")), on=key, how="left"
    ).with_columns(pl.col("hsct_after").fill_null(False)).sort(key)
    tables = {"episodes": episodes}
    product = study.infusions.select(*key, "product")
    if derived.kinetics.height:
        tables["kinetics"] = product.join(derived.kinetics, on=key, how="right").select(
            *key, "product", pl.exclude(*key, "product"))
    if derived.tte:
        tables["survival"] = next(iter(derived.tte.values()))
    if derived.toxicity_systems.height:
        tables["toxicity_grades"] = derived.toxicity_systems
    return tables


def write_episode_tables(tables: dict[str, pl.DataFrame], folder: Path, study_id: str = "") -> list[Path]:
    """Each table of ``episode_tables`` as ``folder/<name>.sav`` with variable and value labels."""
    written = []
    for name, frame in tables.items():
        path = folder / f"{name}.sav"
        labels = {**{c: f"{c.removesuffix('_grade').capitalize()} grade, episode maximum (CTCAE)"
                     for c in frame.columns if c.endswith("_grade")}, **DERIVED_LABELS}
        write_sav(frame, path, labels=labels, vocabularies=_DERIVED_VOCABULARIES,
                  file_label=f"{study_id}: {name}" if study_id else name)
        written.append(path)
    return written
