"""Result tables held on disk (cartkit.analysis.results.ResultTables): at registry size the large listings are
written out when stored and read back when asked for, with the same values, dtypes and order, so the report
of a study is the same whether its tables were held in memory or on disk (docs/scale.md)."""

from __future__ import annotations

import datetime as dt
import gc
import math
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import results as results_module
from cartkit.analysis.results import Results, ResultTables

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"


def _frame(n: int) -> pl.DataFrame:
    return pl.DataFrame({
        "patient_id": [f"P{i:07d}" for i in range(n)],
        "episode": pl.Series(range(n), dtype=pl.Int32),
        "days": pl.Series(range(n), dtype=pl.Int64),
        "value": [math.nan if i % 7 == 0 else None if i % 5 == 0 else i / 3 for i in range(n)],
        "flag": [i % 2 == 0 for i in range(n)],
        "day": [dt.date(2020, 1, 1) + dt.timedelta(days=i % 400) for i in range(n)],
        "note": [None if i % 3 else "a note longer than twelve bytes" for i in range(n)],
        "empty": pl.Series([None] * n, dtype=pl.Null),
    })


def test_a_large_table_goes_to_disk_and_comes_back_the_same(monkeypatch):
    monkeypatch.setattr(results_module, "SPILL_ROWS", 100)
    tables = ResultTables()
    big, small = _frame(101), _frame(100)
    tables["big"], tables["small"], tables["none"] = big, small, None
    assert tables.on_disk("big") and not tables.on_disk("small") and not tables.on_disk("none")
    folder = tables._folder
    assert [p.suffix for p in folder.iterdir()] == [".arrow"]
    back = tables["big"]
    assert back.schema == big.schema and back.equals(big)  # NaN, null, dates, Int32, the Null column
    assert back["value"].is_nan().sum() == big["value"].is_nan().sum()
    assert tables.get("small") is small and tables.get("none") is None and tables.get("absent") is None
    assert list(tables) == ["big", "small", "none"]


def test_replacing_keeps_the_order_and_removes_the_earlier_file(monkeypatch):
    monkeypatch.setattr(results_module, "SPILL_ROWS", 10)
    tables = ResultTables({"a": _frame(20), "b": _frame(2)})
    earlier = tables["a"]  # read before the table is replaced: its values stay valid
    tables["a"] = _frame(30)
    assert list(tables) == ["a", "b"] and tables["a"].height == 30 and earlier.equals(_frame(20))
    assert len(list(tables._folder.iterdir())) == 1
    tables["a"] = _frame(3)  # small again: back in memory, no file left
    assert not tables.on_disk("a") and not list(tables._folder.iterdir())
    tables["c"] = _frame(11)
    del tables["c"]
    assert "c" not in tables and not list(tables._folder.iterdir()) and len(tables) == 2


def test_the_folder_goes_with_the_results(monkeypatch):
    monkeypatch.setattr(results_module, "SPILL_ROWS", 0)
    results = Results(tables={"warnings": pl.DataFrame({"text": ["x"]})})  # a dict becomes ResultTables
    assert isinstance(results.tables, ResultTables) and results.tables.on_disk("warnings")
    folder = results.tables._folder
    assert folder.is_dir()
    del results
    gc.collect()
    assert not folder.exists()


@pytest.mark.slow
def test_seed_analysis_and_report_are_the_same_with_every_table_on_disk(monkeypatch, tmp_path):
    """Every table of the seed held on disk (SPILL_ROWS -1): the same tables, and the same report byte for byte
    (the sections and the report read each table back as often as they ask for it)."""
    from cartkit.analysis import analyse
    from cartkit.derive import derive
    from cartkit.report.write import write_report

    study = cartkit.load_study(SEED)
    derived = derive(study)
    expected = analyse(study, derived)
    write_report(expected, tmp_path / "memory")
    monkeypatch.setattr(results_module, "SPILL_ROWS", -1)
    got = analyse(study, derived)
    spilled = [name for name in got.tables if got.tables.on_disk(name)]
    assert len(spilled) == sum(t is not None for t in expected.tables.values()) > 30
    assert list(got.tables) == list(expected.tables) and got.omitted == expected.omitted
    for name, frame in expected.tables.items():
        other = got.tables[name]
        assert (other is None) if frame is None else (frame.schema == other.schema and frame.equals(other)), name
    write_report(got, tmp_path / "disk")
    for path in sorted((tmp_path / "memory").rglob("*")):
        if path.is_file() and path.name != ".cartkit-report.json":
            assert path.read_bytes() == (tmp_path / "disk" / path.relative_to(tmp_path / "memory")).read_bytes(), path
