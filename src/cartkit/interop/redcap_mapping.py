"""A centre's own REDCap project read through a mapping file (``--mapping MAP.toml``).

A project that was not built from ``cartkit redcap dictionary`` names its fields and
choices its own way. The mapping says which of its fields is which of cartkit's, and
what its choice labels mean where cartkit's vocabularies do not already know them::

    # cartkit field (as in `cartkit redcap dictionary`) = the project's field
    [fields]
    sex = "gender"
    lab_analyte = "lab_test"
    lab_value = "lab_result"

    # a choice label (or code) of the project = cartkit's value, per cartkit field
    [values.diagnosis]
    "Diffuse large B-cell lymphoma" = "DLBCL"

Instruments need no mapping: a table's instrument is the one that holds its fields in
the project's dictionary. The record ID is the project's first field, whatever its name.
Problems name the project's own fields, as the user sees them in REDCap.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from cartkit.interop.redcap_dictionary import FIELD_COLUMNS, Dictionary
from cartkit.study.problems import Problem


@dataclass
class Mapping:
    fields: dict[str, str] = field(default_factory=dict)  # cartkit field -> project field
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # cartkit field -> {label lower: value}


def read_mapping(path: str | Path, dictionary: Dictionary) -> tuple[Mapping | None, list[Problem]]:
    """The mapping file, checked against cartkit's fields and the project's dictionary."""
    path = Path(path)
    file = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return None, [Problem(file, None, None, None, f"cannot read the mapping file: {exc}")]
    problems: list[Problem] = []
    mapping = Mapping()
    for key in data:
        if key not in ("fields", "values"):
            problems.append(Problem(file, None, key, None, "unknown section: expected [fields] and [values.<field>]"))
    fields = data.get("fields", {})
    taken: dict[str, str] = {}
    for ours, theirs in fields.items() if isinstance(fields, dict) else ():
        if ours not in FIELD_COLUMNS:
            problems.append(Problem(file, None, f"fields.{ours}", theirs,
                                    "not a field of cartkit's dictionary (see `cartkit redcap dictionary`)"))
        elif not isinstance(theirs, str) or theirs not in dictionary.fields:
            problems.append(Problem(file, None, f"fields.{ours}", theirs, "not a field of the project's dictionary"))
        elif theirs in taken:
            problems.append(Problem(file, None, f"fields.{ours}", theirs, f"already mapped to {taken[theirs]}"))
        else:
            taken[theirs] = ours
            mapping.fields[ours] = theirs
    values = data.get("values", {})
    for ours, table in values.items() if isinstance(values, dict) else ():
        if ours not in FIELD_COLUMNS:
            problems.append(Problem(file, None, f"values.{ours}", None, "not a field of cartkit's dictionary"))
            continue
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            problems.append(Problem(file, None, f"values.{ours}", None, 'expected "label" = "cartkit value" pairs'))
            continue
        mapping.values[ours] = {str(k).strip().lower(): v for k, v in table.items()}
    return (None if problems else mapping), problems


def shadowed_fields(dictionary: Dictionary, mapping: Mapping) -> dict[str, str]:
    """The project's own fields named like a cartkit field that the mapping takes from another field
    (``age = "age_at_inf"`` while the project also has an ``age``, say age at diagnosis): field -> the
    project field that is cartkit's. They are not imported (they would give two columns of one name)."""
    return {ours: theirs for ours, theirs in mapping.fields.items()
            if ours != theirs and ours in dictionary.fields and ours != dictionary.record_id}


def apply_to_dictionary(dictionary: Dictionary, mapping: Mapping) -> Dictionary:
    """The dictionary with the mapped fields under cartkit's names (the others unchanged; the project's
    fields a mapped field shadows, ``shadowed_fields``, left out)."""
    renamed = {theirs: ours for ours, theirs in mapping.fields.items()}
    shadowed = shadowed_fields(dictionary, mapping)
    fields = {}
    for name, f in dictionary.fields.items():
        if name in shadowed:
            continue
        new = renamed.get(name, name)
        fields[new] = replace(f, name=new)
    return Dictionary(fields, renamed.get(dictionary.record_id, dictionary.record_id))


def apply_to_columns(frame: pl.DataFrame, mapping: Mapping, shadowed: dict[str, str] | None = None) -> pl.DataFrame:
    """The export's columns under cartkit's field names (checkbox ``field___code`` columns too), without the
    columns of ``shadowed`` fields (``shadowed_fields``)."""
    renamed = {theirs: ours for ours, theirs in mapping.fields.items()}
    names, dropped = {}, []
    for col in frame.columns:
        base, sep, code = col.partition("___")
        if col in (shadowed or {}) or (sep and base in (shadowed or {})):
            dropped.append(col)
        elif col in renamed:
            names[col] = renamed[col]
        elif sep and base in renamed:
            names[col] = f"{renamed[base]}___{code}"
    return frame.drop(dropped).rename(names)


def value_expr(expr: pl.Expr, name: str, mapping: Mapping | None) -> pl.Expr:
    """A decoded field's values through the mapping's [values.<field>] table."""
    if mapping is None or name not in mapping.values:
        return expr
    table = mapping.values[name]
    return expr.str.to_lowercase().replace_strict(table, default=None).fill_null(expr)
