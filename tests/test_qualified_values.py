"""Qualified results (``<0.5``, ``>100000``, ``BLQ``, ``not detected``) read at load into a qualifier and a
limit, the value left empty and the text kept (cartkit.study.qualified; docs/validation.md). Expected
values are the cells' own numbers; unit conversions are the vocabulary's factors (1 g/dL = 10 g/L)."""

from __future__ import annotations

import polars as pl
import pytest
from test_study_builders import base_tables, write_study

from cartkit.study.load import load_study
from cartkit.study.validate import validate_study

ROWS = [  # (analyte, unit, value as written) -> (qualifier, lloq, uloq, blq) in the canonical unit
    ("anc", "10^9/L", "<0.1", ("<", 0.1, None, True)),
    ("car_dna", "copies/ug", "< 10", ("<", 10.0, None, True)),
    ("ferritin", "ng/mL", ">100000", (">", None, 100000.0, None)),
    ("ferritin", "ng/mL", ">= 5000", (">=", None, 5000.0, None)),
    ("car_dna", "copies/ug", "BLQ", ("ND", None, None, True)),
    ("car_dna", "copies/ug", "ND", ("ND", None, None, True)),
    ("car_dna", "copies/ug", "not  detected", ("ND", None, None, True)),
    ("car_dna", "copies/ug", "<LLOQ", ("ND", None, None, True)),
    ("car_dna", "copies/ug", "neg", ("ND", None, None, True)),
    ("car_dna", "copies/ug", "<=5", ("<=", 5.0, None, True)),
    ("car_dna", "copies/ug", "≥ 2e6", (">=", None, 2e6, None)),
    ("hb", "g/dL", ">20", (">", None, 200.0, None)),  # g/dL -> g/L: the limit converts with the row
]


def _tables():
    tables = base_tables()
    tables["measurements"] += [
        {"patient_id": "P1", "episode": 1, "day": 30 + i, "date": None, "analyte": a, "value": v, "unit": u,
         "blq": None} for i, (a, u, v, _) in enumerate(ROWS)]
    return tables


@pytest.mark.parametrize("fmt", ["csv", "workbook", "xlsx"])
def test_each_spelling_is_read_into_a_qualifier_and_a_limit(tmp_path, fmt):
    study = load_study(write_study(tmp_path, _tables(), fmt=fmt))
    assert study.warnings == []
    m = study.measurements.filter(pl.col("day") >= 30).sort("day")
    assert m.height == len(ROWS)
    for row, (_a, _u, written, (qualifier, lloq, uloq, blq)) in zip(m.to_dicts(), ROWS, strict=True):
        assert row["value"] is None, written
        assert row["qualifier"] == qualifier, written
        assert row["value_text"] == written.strip(), written
        assert row["blq"] is blq, written
        assert row["lloq"] == (pytest.approx(lloq) if lloq is not None else None), written
        assert row["uloq"] == (pytest.approx(uloq) if uloq is not None else None), written
    plain = study.measurements.filter((pl.col("day") < 30) & pl.col("value").is_not_null())
    assert plain["qualifier"].null_count() == plain.height and plain["value_text"].null_count() == plain.height
    # the fixture's car_dna row flagged blq with no value and no limit reads as the same below form
    flagged = study.measurements.filter((pl.col("day") < 30) & pl.col("value").is_null()).row(0, named=True)
    assert (flagged["qualifier"], flagged["value_text"], flagged["blq"]) == ("ND", "BLQ", True)
    notes = " ".join(study.notes)
    assert "4 value(s) written '>x' or '>=x' read as above the upper limit" in notes
    assert "5 value(s) written as not detected or below the limit" in notes


def test_a_qualifier_column_beside_the_number(tmp_path):
    tables = base_tables()
    tables["measurements"][4].update(value="0.1", unit="10^9/L", qualifier="<")    # anc < 0.1
    tables["measurements"][2].update(value="5000", qualifier=">=")                # il6 >= 5000
    tables["measurements"][6].update(value=None, qualifier="ND")                  # car_dna, blq yes
    m = load_study(write_study(tmp_path, tables)).measurements
    assert (m["qualifier"][4], m["value"][4], m["lloq"][4], m["blq"][4], m["value_text"][4]) == (
        "<", None, 0.1, True, "<0.1")
    assert (m["qualifier"][2], m["value"][2], m["uloq"][2]) == (">=", None, 5000.0)
    assert (m["qualifier"][6], m["blq"][6]) == ("ND", True)
    assert m["qualifier"][0] is None and m["value"][0] == 0.1


def test_a_qualifier_column_beside_numbers_in_parquet(tmp_path):
    """A Parquet export stores the values as numbers and the qualifier beside them: only the qualified
    rows are read (the plain numbers are not turned into text), and a sign with neither a number nor a
    limit is still the value column's located error at its row."""
    tables = base_tables()
    for row in tables["measurements"]:
        row.update(value=None if row["value"] in (None, "") else float(row["value"]), qualifier=None)
    tables["measurements"][4].update(value=0.1, unit="10^9/L", qualifier="<")    # anc < 0.1
    tables["measurements"][2].update(value=5000.0, qualifier=">=")               # il6 >= 5000
    m = load_study(write_study(tmp_path / "ok", tables, fmt="parquet")).measurements
    assert m["value"].dtype == pl.Float64
    assert (m["qualifier"][4], m["value"][4], m["lloq"][4], m["blq"][4], m["value_text"][4]) == (
        "<", None, 0.1, True, "<0.1")
    assert (m["qualifier"][2], m["value"][2], m["uloq"][2], m["value_text"][2]) == (">=", None, 5000.0, ">=5000.0")
    assert m["qualifier"][0] is None and m["value"][0] == 0.1 and m["value_text"][0] is None
    tables["measurements"][3].update(value=None, qualifier="<")  # "<" and no number, no lloq
    problems = [(p.file, p.row, p.column, p.value, p.rule) for p in
                validate_study(write_study(tmp_path / "bad", tables, fmt="parquet")) if p.is_error]
    assert problems == [("measurements.parquet", 4, "value", "<", "not a number")]


def test_unknown_text_and_contradictions_are_located_errors(tmp_path):
    tables = base_tables()
    tables["measurements"][0].update(value="trace")
    tables["measurements"][1].update(value=">>5")
    tables["measurements"][2].update(value=">5000", blq="yes")
    tables["measurements"][3].update(value="<0.5", lloq="0.8")
    tables["measurements"][4].update(value="1500", qualifier="approx")
    problems = {(p.file, p.row, p.column, p.value, p.rule) for p in validate_study(write_study(tmp_path, tables))
                if p.is_error}
    assert problems == {
        ("measurements.csv", 6, "qualifier", "approx",
         "unknown qualifier: expected <, <=, >, >=, = or a below-limit word (BLQ, ND, not detected, negative)"),
        ("measurements.csv", 4, "blq", "yes", "the value >5000 is above the limit of quantification, but blq is true"),
        ("measurements.csv", 5, "lloq", "0.8", "the value <0.5 gives the limit of quantification, but lloq differs"),
        ("measurements.csv", 2, "value", "trace", "not a number"),
        ("measurements.csv", 3, "value", ">>5", "not a number"),
    }


def test_plan_lloq_gives_the_limit_of_a_result_written_without_one(tmp_path):
    from test_study_builders import STUDY_TOML

    tables = base_tables()
    tables["measurements"][6].update(value="ND", blq=None)             # car_dna: takes [plan.lloq]
    tables["measurements"][5].update(analyte="car_dna", unit="copies/ug", value="BLQ", lloq="25")  # its own
    study = load_study(write_study(tmp_path, tables, toml=STUDY_TOML + "\n[plan.lloq]\ncar_dna = 10\n"))
    m = study.measurements
    assert (m["qualifier"][6], m["lloq"][6]) == ("ND", 10.0)
    assert (m["qualifier"][5], m["lloq"][5]) == ("ND", 25.0)
    assert study.plan.lloq == {"car_dna": 10.0}
    assert any("1 below-limit result(s) without an lloq take the analyte's [plan.lloq]" in n for n in study.notes)
