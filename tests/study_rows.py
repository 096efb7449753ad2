"""Hand-built Studies for the derive tests: a few rows per table, typed as the loader types them."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cartkit.study.model import Plan, Study, StudyMeta
from cartkit.study.schema import TABLES

DTYPES = {"str": pl.String, "int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "date": pl.Date}


def make_study(**rows: list[dict]) -> Study:
    """A loaded-looking Study from a few rows per table (absent columns null, absent tables empty)."""
    tables = {}
    for name, spec in TABLES.items():
        schema = {c.name: DTYPES[c.dtype] for c in spec.columns}
        tables[name] = pl.DataFrame([{c: r.get(c) for c in schema} for r in rows.get(name, [])], schema=schema)
    return Study(Path("."), StudyMeta("test"), Plan(), tables)
