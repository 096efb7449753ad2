"""ADaM datasets as files: SAS transport v5 (XPT), CDISC Dataset-JSON v1.1 and a metadata file each.

An :class:`AdamDataset` is a Polars frame plus one :class:`Variable` per column (name, label, type,
origin and, for a derived variable, the derivation and its source). The writers check the names
and labels a SAS transport v5 file can hold (names <= 8 characters, upper case letters, digits and
underscores, starting with a letter; labels <= 40 characters) before anything is written.

* XPT v5 with ``pyreadstat.write_xport(file_format_version=5)``: character lengths are set from
  the data (pyreadstat stores each text column as wide as its longest value in bytes, 1 for an
  all-empty column); dates are SAS numeric dates with the DATE9. format; flags "Y"/"" as ADaM.
* Dataset-JSON v1.1 (CDISC, schema ``dataset.schema 1.1.0``): ``datasetJSONCreationDateTime``,
  ``datasetJSONVersion`` "1.1.0", ``itemGroupOID`` "IG.<NAME>", ``records``, ``name``, ``label``,
  ``columns`` (itemOID "IT.<NAME>.<VAR>", name, label, dataType, length for text, keySequence)
  and ``rows``. A date column is ``dataType`` "date" with ISO 8601 values and ``targetDataType``
  "integer" (it is a SAS numeric date in the XPT file).
* ``<name>.metadata.json``: the variables with label, type, length, origin (collected from the
  study, derived by cartkit, or assigned) and the derivation's source and version.

docs/adam.md describes every dataset and variable.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

TEXT, INTEGER, FLOAT, DATE = "text", "integer", "float", "date"
COLLECTED, DERIVED, ASSIGNED = "collected", "derived", "assigned"
DATASET_JSON_VERSION = "1.1.0"
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
_JSON_TYPE = {TEXT: "string", INTEGER: "integer", FLOAT: "double", DATE: "date"}


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    type: str  # TEXT | INTEGER | FLOAT | DATE
    origin: str = DERIVED  # COLLECTED | DERIVED | ASSIGNED
    source: str = ""  # the study column it comes from, or how it is derived (with the criteria's source)
    # an external dictionary the values come from ("MedDRA"): define.xml gives the variable a
    # def:ExternalCodeList codelist of that dictionary (interop/adam_define.py)
    dictionary: str = ""


@dataclass
class AdamDataset:
    name: str  # e.g. ADSL
    label: str
    structure: str  # "one record per subject", ...
    frame: pl.DataFrame
    variables: list[Variable]
    keys: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        problems = check_names(self)
        if problems:
            raise ValueError(f"{self.name}: " + "; ".join(problems))
        self.frame = self.frame.select([v.name for v in self.variables])


def check_names(ds: AdamDataset) -> list[str]:
    """What a SAS transport v5 file could not hold: names, labels, variables not in the frame."""
    out = []
    if not _NAME.match(ds.name):
        out.append(f"dataset name {ds.name!r} is not 1-8 upper-case letters/digits")
    if len(ds.label) > 40:
        out.append(f"dataset label {ds.label!r} is longer than 40 characters")
    names = [v.name for v in ds.variables]
    if len(set(names)) != len(names):
        out.append("variable names repeat")
    for v in ds.variables:
        if not _NAME.match(v.name):
            out.append(f"variable name {v.name!r} is not 1-8 upper-case letters/digits/underscores")
        if not v.label or len(v.label) > 40:
            out.append(f"{v.name}: label {v.label!r} is empty or longer than 40 characters")
        if v.type not in _JSON_TYPE:
            out.append(f"{v.name}: unknown type {v.type!r}")
        if v.name not in ds.frame.columns:
            out.append(f"{v.name}: not in the data")
    for k in ds.keys:
        if k not in names:
            out.append(f"key {k} is not a variable")
    return out


def typed(ds: AdamDataset) -> pl.DataFrame:
    """The frame with each column in its variable's type (text null -> empty text, as SAS has it)."""
    exprs = []
    for v in ds.variables:
        c = pl.col(v.name)
        if v.type == TEXT:
            exprs.append(c.cast(pl.String).fill_null(""))
        elif v.type == INTEGER:
            exprs.append(c.cast(pl.Int64))
        elif v.type == FLOAT:
            exprs.append(c.cast(pl.Float64))
        else:
            exprs.append(c.cast(pl.Date))
    return ds.frame.select(exprs)


def text_lengths(frame: pl.DataFrame, ds: AdamDataset) -> dict[str, int]:
    """Bytes of the longest value of each text column (at least 1), as XPT stores them."""
    text = [v.name for v in ds.variables if v.type == TEXT]
    if not text or frame.height == 0:
        return {n: 1 for n in text}
    row = frame.select([pl.col(n).str.len_bytes().max().fill_null(0).alias(n) for n in text]).row(0)
    return {n: max(int(x), 1) for n, x in zip(text, row, strict=True)}


XPT_TEXT_MAX = 200  # bytes: the longest character variable SAS transport v5 holds


def _cut(text: str) -> str:
    """``text`` cut to XPT_TEXT_MAX bytes of UTF-8 (never inside a character)."""
    return text.encode("utf-8")[:XPT_TEXT_MAX].decode("utf-8", errors="ignore")


def write_xpt(ds: AdamDataset, path: Path) -> list[str]:
    """Write ``ds`` as SAS transport v5; return notes on values cut to the v5 limit of 200 bytes (the
    Dataset-JSON file keeps them whole)."""
    import numpy as np
    import pandas as pd
    import pyreadstat

    frame = typed(ds)
    notes = []
    for v in ds.variables:
        if v.type == TEXT:
            wide = frame.filter(pl.col(v.name).str.len_bytes() != pl.col(v.name).str.len_chars()).height
            if wide:
                notes.append(f"{v.name}: {wide} value(s) hold non-ASCII characters, written as UTF-8 in "
                             f"{ds.name.lower()}.xpt; a submission expects ASCII text")
            long = frame.filter(pl.col(v.name).str.len_bytes() > XPT_TEXT_MAX).height
            if long:
                frame = frame.with_columns(pl.col(v.name).map_elements(_cut, return_dtype=pl.String))
                notes.append(f"{v.name}: {long} value(s) longer than {XPT_TEXT_MAX} bytes are cut to "
                             f"{XPT_TEXT_MAX} in {ds.name.lower()}.xpt (the SAS transport v5 limit); "
                             f"{ds.name.lower()}.json holds them whole")
    pdf = frame.to_pandas()
    for v in ds.variables:
        if v.type == DATE:  # datetime.date objects: pyreadstat writes them as SAS dates (days from 1960)
            if frame[v.name].null_count() == frame.height:  # all missing: a numeric column, else pyreadstat
                pdf[v.name] = np.full(frame.height, np.nan)  # would take the empty objects for text
            else:
                pdf[v.name] = pd.Series(frame[v.name].to_list(), dtype=object)
        elif v.type == INTEGER:  # SAS has one numeric type
            pdf[v.name] = frame[v.name].cast(pl.Float64).to_numpy()
    pyreadstat.write_xport(
        pdf, str(path), file_label=ds.label, table_name=ds.name, file_format_version=5,
        column_labels={v.name: v.label for v in ds.variables},
        variable_format={v.name: "DATE9." for v in ds.variables if v.type == DATE},
    )
    return notes


def _json_value(x: object) -> object:
    if isinstance(x, dt.date):
        return x.isoformat()
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    return x


def dataset_json(ds: AdamDataset, *, study_oid: str, created: str, version: str) -> dict:
    """The Dataset-JSON v1.1 document of ``ds`` (module docs)."""
    frame = typed(ds)
    lengths = text_lengths(frame, ds)
    key_seq = {k: i + 1 for i, k in enumerate(ds.keys)}
    columns = []
    for v in ds.variables:
        col = {"itemOID": f"IT.{ds.name}.{v.name}", "name": v.name, "label": v.label,
               "dataType": _JSON_TYPE[v.type]}
        if v.type == DATE:
            col["targetDataType"] = "integer"
            col["displayFormat"] = "DATE9."
        if v.type == TEXT:
            col["length"] = lengths[v.name]
        if v.name in key_seq:
            col["keySequence"] = key_seq[v.name]
        columns.append(col)
    # text columns keep "" for empty, as in the XPT file; numbers and dates null
    rows = [[_json_value(x) for x in row] for row in frame.iter_rows()]
    return {
        "datasetJSONCreationDateTime": created,
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"cartkit.{study_oid}.{ds.name}",
        "originator": "cartkit",
        "sourceSystem": {"name": "cartkit", "version": version},
        "studyOID": study_oid,
        "itemGroupOID": f"IG.{ds.name}",
        "isReferenceData": False,
        "records": frame.height,
        "name": ds.name,
        "label": ds.label,
        "columns": columns,
        "rows": rows,
    }


def metadata(ds: AdamDataset, *, version: str) -> dict:
    """Dataset and variable metadata: label, type, length, origin and the derivation's source."""
    frame = typed(ds)
    lengths = text_lengths(frame, ds)
    return {
        "dataset": ds.name,
        "label": ds.label,
        "structure": ds.structure,
        "keys": list(ds.keys),
        "records": frame.height,
        "generator": f"cartkit {version}",
        "notes": ds.notes,
        "variables": [
            {"name": v.name, "label": v.label, "type": v.type,
             "length": min(lengths[v.name], XPT_TEXT_MAX) if v.type == TEXT else 8,
             "origin": v.origin, "source": v.source,
             **({"dictionary": v.dictionary} if v.dictionary else {}),
             **({"derivation_version": f"cartkit {version}"} if v.origin == DERIVED else {})}
            for v in ds.variables
        ],
    }


def write_dataset(ds: AdamDataset, folder: Path, *, study_oid: str, created: str, version: str) -> list[str]:
    """Write ``<name>.xpt``, ``<name>.json`` and ``<name>.metadata.json`` (lower-case names) into ``folder``."""
    base = ds.name.lower()
    ds.notes.extend(write_xpt(ds, folder / f"{base}.xpt"))
    doc = dataset_json(ds, study_oid=study_oid, created=created, version=version)
    (folder / f"{base}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    (folder / f"{base}.metadata.json").write_text(
        json.dumps(metadata(ds, version=version), indent=1, ensure_ascii=False), encoding="utf-8")
    return [f"{base}.xpt", f"{base}.json", f"{base}.metadata.json"]
