"""Patients in their natural order: P2 before P10 (the trailing number of the id, then the id)."""

from __future__ import annotations

import polars as pl


def patient_number() -> pl.Expr:
    """The trailing number of ``patient_id`` as Int64 (null when it has none): sort by it, then by the id."""
    # a cast to text first: a sharded study holds ids as categories (cartkit.engine.shards.compact)
    return pl.col("patient_id").cast(pl.String).str.extract(r"(\d+)$").cast(pl.Int64, strict=False)
