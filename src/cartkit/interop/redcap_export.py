"""A study written as a REDCap import file for cartkit's data dictionary (``redcap_dictionary``).

The file is REDCap's flat "Data Import Tool" CSV of a classic (not longitudinal)
project: the record ID ``patient_id`` first, then ``redcap_repeat_instrument`` and
``redcap_repeat_instance``, then every field of the dictionary. A patient has one row
for the non-repeating ``patients`` instrument (instrument and instance empty) and one
row per row of each serial table (instrument = the table, instance 1..n per patient in
the table's order). Values are raw: dropdown codes, 1/0 for yes/no fields, dates as
YYYY-MM-DD. The loaded study is written, so measurement values are in their analyte's
canonical unit.

Spreadsheet formula text is *not* neutralised here (unlike cartkit's CSV outputs that a
person opens, ``cartkit.study.spreadsheet_safety``): this file is data for REDCap's
import, which would store the protective apostrophe as part of the value, and every later
export would carry it. Upload it to REDCap, do not open it in a spreadsheet; see
docs/redcap.md.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cartkit.interop.redcap_dictionary import (
    RECORD_ID,
    choice_labels,
    dictionary_csv,
    dictionary_rows,
    field_name,
)
from cartkit.study import atomic_file
from cartkit.study.model import Study
from cartkit.study.schema import BOOL, DATE, FLOAT, INT, TABLES

REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"
EVENT_NAME = "redcap_event_name"


def write_text_atomically(path: str | Path, text: str, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` through a temporary file renamed into place. An existing file is
    replaced only with ``overwrite`` (it may be the user's: cartkit cannot tell)."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; choose another file name (or pass --overwrite to replace it)")
    if target.exists() and not target.is_file():
        raise FileExistsError(f"{target} exists and is not a file")
    return atomic_file.write_text_atomically(target, text)


def write_dictionary(path: str | Path, extra_ae_terms: tuple[str, ...] = (), overwrite: bool = False) -> Path:
    """Write cartkit's REDCap data dictionary to ``path``."""
    return write_text_atomically(path, dictionary_csv(extra_ae_terms), overwrite)


def _raw(table: str, frame: pl.DataFrame, extra_ae_terms: tuple[str, ...]) -> pl.DataFrame:
    """The table's columns as REDCap raw text, named by their fields."""
    spec = TABLES[table]
    out = []
    for c in spec.columns:
        if c.name not in frame.columns:
            continue
        col = pl.col(c.name)
        if c.vocabulary is not None:
            codes = {label: str(i) for i, label in enumerate(choice_labels(c, extra_ae_terms), start=1)}
            expr = col.replace_strict(codes, default=None, return_dtype=pl.String)
        elif c.dtype == BOOL:
            expr = pl.when(col).then(pl.lit("1")).when(~col).then(pl.lit("0"))
        elif c.dtype == DATE:
            expr = col.dt.strftime("%Y-%m-%d")
        elif c.dtype in (INT, FLOAT):
            expr = col.cast(pl.String)
        else:
            expr = col.cast(pl.String)
        out.append(expr.alias(field_name(table, c.name)))
    return frame.select(out)


def unexportable(study: Study) -> list[str]:
    """Values the dictionary cannot hold (a vocabulary value with no choice), one message each."""
    messages = []
    extra = study.plan.extra_ae_terms
    for t, spec in TABLES.items():
        frame = study.tables[t]
        for c in spec.columns:
            if c.vocabulary is None or c.name not in frame.columns:
                continue
            labels = choice_labels(c, extra)
            bad = frame.filter(pl.col(c.name).is_not_null() & ~pl.col(c.name).is_in(labels))[c.name].unique()
            for v in bad.sort().to_list():
                messages.append(f"{t}.{c.name}: {v!r} is not a choice of field {field_name(t, c.name)}")
    return messages


def export_frame(study: Study) -> pl.DataFrame:
    """The REDCap import rows of ``study``, all text, in dictionary column order."""
    extra = study.plan.extra_ae_terms
    order = {pid: i for i, pid in enumerate(study.tables["patients"]["patient_id"].to_list())}
    parts = []
    for rank, t in enumerate(TABLES):
        frame = study.tables[t]
        raw = _raw(t, frame, extra)
        if t == "patients":
            instrument = pl.lit(None, dtype=pl.String)
            instance = pl.lit(None, dtype=pl.String)
        else:
            instrument = pl.lit(t)
            instance = (pl.int_range(pl.len()).over(RECORD_ID) + 1).cast(pl.String)
        parts.append(
            raw.with_columns(
                instrument.alias(REPEAT_INSTRUMENT),
                instance.alias(REPEAT_INSTANCE),
                pl.lit(rank).alias("__form__"),
                pl.int_range(pl.len()).alias("__n__"),
            )
        )
    rows = pl.concat(parts, how="diagonal")
    fields = [r["Variable / Field Name"] for r in dictionary_rows(extra)]
    rows = rows.with_columns(
        pl.col(RECORD_ID).replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("__p__")
    ).sort("__p__", RECORD_ID, "__form__", "__n__")
    columns = [RECORD_ID, REPEAT_INSTRUMENT, REPEAT_INSTANCE, *(f for f in fields if f != RECORD_ID)]
    return rows.select([pl.col(c) if c in rows.columns else pl.lit(None, dtype=pl.String).alias(c)
                        for c in columns])


def export_study(study: Study, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``study`` as a REDCap import file for cartkit's dictionary. Raises ``ValueError`` when a
    value has no choice in the dictionary (an ``extra_ae_terms`` term is added to it: write the
    dictionary with the same study)."""
    messages = unexportable(study)
    if messages:
        raise ValueError("values with no choice in the REDCap dictionary:\n  " + "\n  ".join(messages))
    return write_text_atomically(path, export_frame(study).write_csv(), overwrite)
