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
def test_a_missing_parent_table_is_one_problem_not_thousands_of_orphans(tmp_path, missing):
    folder = tmp_path / "study"
    shutil.copytree(SEED, folder)
    (folder / f"{missing}.csv").unlink()
    problems = validate_study(folder)
    assert any(p.rule.startswith(f"missing required table '{missing}'") for p in problems)
    assert not any("unknown patient" in p.rule or "unknown episode" in p.rule for p in problems)
    assert len(problems) < 20
