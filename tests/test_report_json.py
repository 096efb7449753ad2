"""results.json: every table inline, except registry-sized ones, which point to their CSV."""

from __future__ import annotations

import json

import polars as pl

from cartkit.analysis.results import Results
from cartkit.report.write import JSON_MAX_ROWS, results_json


def test_large_tables_are_referenced_small_ones_inlined():
    big = pl.DataFrame({"patient_id": [f"P{i}" for i in range(JSON_MAX_ROWS + 1)], "value": float("nan")})
    small = pl.DataFrame({"x": [1.5, float("nan")], "d": [None, "a"]})
    doc = json.loads(results_json(Results(tables={"kinetic_values": big, "baseline": small, "ck_model": None}), {}))
    assert doc["tables"]["kinetic_values"] == {"rows": JSON_MAX_ROWS + 1, "csv": "tables/kinetic_values.csv",
                                               "note": f"more than {JSON_MAX_ROWS} rows: read the CSV"}
    assert doc["tables"]["baseline"] == [{"x": 1.5, "d": None}, {"x": None, "d": "a"}]
    assert doc["tables"]["ck_model"] is None
