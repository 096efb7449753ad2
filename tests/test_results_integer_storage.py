"""A result table has the same schema however the study was read: a sharded study's gathered derived tables
hold integers as Int32 (cartkit.engine.shards.compact), and Results.store keeps their integer columns as
Int64, as a one-folder run has them (the categories are already stored as text there)."""

from __future__ import annotations

import polars as pl

from cartkit.analysis.results import Results
from cartkit.engine.shards import compact


def test_store_keeps_integers_as_int64_whatever_the_storage():
    one_folder = pl.DataFrame({"patient_id": ["P1", "P2"], "diagnosis": ["dlbcl", "b_all"], "episode": [1, 2],
                               "product": ["CD19", "CD22"], "best_response": ["CR", "PR"],
                               "response_day": [28, None], "source": ["recorded", "derived"],
                               "relapse_day": [None, 90], "hsct": [False, True]})
    sharded = compact(one_folder).with_columns(pl.col("episode", "response_day", "relapse_day").cast(pl.Int32))
    assert sharded.schema["episode"] == pl.Int32
    a, b = Results(), Results()
    a.store("responses", one_folder)
    b.store("responses", sharded)
    assert b.tables["responses"].schema == a.tables["responses"].schema
    assert b.tables["responses"].equals(a.tables["responses"])
