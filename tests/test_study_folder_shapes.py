"""Folder shapes a user produces: a lone workbook, a missing parent table."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import openpyxl
import pytest

import cartkit
from cartkit.study.validate import validate_study

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"


def test_a_lone_workbook_is_read_as_the_study(tmp_path):
    folder = tmp_path / "xlsx-study"
    folder.mkdir()
    shutil.copy(SEED / "study.toml", folder / "study.toml")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for path in sorted(SEED.glob("*.csv")):
        sheet = wb.create_sheet(path.stem)
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                sheet.append([_cell(v) for v in row])
    wb.save(folder / "Zhu 2021 records.xlsx")
    study = cartkit.load_study(folder)
    reference = cartkit.load_study(SEED)
    assert study.patients.equals(reference.patients)
    assert study.measurements.height == reference.measurements.height
    assert any("read as the study workbook" in note for note in study.notes)


def _cell(value: str):
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value or None


@pytest.mark.parametrize("missing", ["patients", "infusions"])
def test_a_missing_parent_table_is_one_problem_not_thousands_of_orphans(tmp_path, missing, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    (folder / f"{missing}.csv").unlink()
    problems = validate_study(folder)
    assert any(p.rule.startswith(f"missing required table '{missing}'") for p in problems)
    assert not any("unknown patient" in p.rule or "unknown episode" in p.rule for p in problems)
    assert len(problems) < 20


def test_clock_times_are_normalised_and_checked(tmp_path, copy_seed):
    import polars as pl

    folder = tmp_path / "study"
    copy_seed(folder)
    path = folder / "measurements.csv"
    m = pl.read_csv(path, infer_schema_length=0)
    first = m.row(0, named=True)
    extra = pl.DataFrame([{**first, "time": "8:00"}, {**first, "time": "08:00"}, {**first, "time": "25:61"}])
    pl.concat([m.with_columns(pl.lit(None, pl.String).alias("time")), extra.select(m.columns + ["time"])],
              how="diagonal").write_csv(path)
    problems = validate_study(folder)
    line = m.height + 2  # the header is line 1: the first added row ("8:00") is line height + 2
    by_rule = {(p.row, p.rule.split(":")[0]) for p in problems}
    assert (line + 2, "unparseable clock time") in by_rule  # 25:61
    dup = [p for p in problems if p.row == line + 1 and "duplicate" in p.rule.lower()]
    assert dup, problems  # 08:00 duplicates 8:00
    assert len(problems) == 2
