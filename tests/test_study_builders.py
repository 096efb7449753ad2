"""A small valid study, written to a folder as CSV, Parquet or XLSX, for the study loader's tests.

The tables are built by hand (not from examples/seed-study) so that each test
knows exactly which row of which file it breaks.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import polars as pl

STUDY_TOML = """\
[study]
id = "mini"
title = "Two patients, two products"
reference = "test fixture"
data_cutoff = 2020-08-31

[plan]
products = ["CD19 CAR-T", "CD22 CAR-T"]
diseases = ["DLBCL", "B-ALL"]
crs_system = "ctcae4.03"
icans_system = "astct2019"
ctcae_version = "4.03"
alpha = 0.05
quantile_method = "spss"
kinetic_analytes = ["car_t_pct_cd3", "il6"]
kinetics_window = [0, 28]
extra_ae_terms = ["hypogammaglobulinemia"]

[plan.response_days]
lymphoma = [30, 60]
all = [14]

[plan.survival]
from_product = "CD22 CAR-T"
endpoints = ["pfs", "os"]
group_by = "diagnosis"
censor_at_hsct = true
landmark_day = 180
time_unit = "months"
"""


def base_tables() -> dict[str, list[dict[str, object]]]:
    """Rows of every required table (and two optional ones), as a user would type them."""
    return copy.deepcopy(
        {
            "patients": [
                {"patient_id": "P1", "age": 54, "sex": "male", "diagnosis": "DLBCL", "stage": "IV",
                 "disease_status": "refractory", "ipi": 3, "prior_lines": 4, "weight_kg": 70.5},
                {"patient_id": "P2", "age": 23, "sex": "F", "diagnosis": "B-ALL", "stage": None,
                 "disease_status": "relapsed", "ipi": None, "prior_lines": 2, "weight_kg": 55.0},
            ],
            "infusions": [
                {"patient_id": "P1", "episode": 1, "product": "CD19 CAR-T", "target": "CD19",
                 "infusion_date": "2019-01-10", "dose_1e6_per_kg": 5.0, "transduction_pct": 40.2},
                {"patient_id": "P1", "episode": 2, "product": "CD22 CAR-T", "target": "CD22",
                 "infusion_date": "2019-05-02", "dose_1e6_per_kg": 6.5, "transduction_pct": 35.0},
                {"patient_id": "P2", "episode": 1, "product": "CD19 CAR-T", "target": "cd19",
                 "infusion_date": "2019-02-01", "dose_1e6_per_kg": 4.0, "transduction_pct": 51.5},
                {"patient_id": "P2", "episode": 2, "product": "CD22 CAR-T", "target": "CD22",
                 "infusion_date": "2019-06-15", "dose_1e6_per_kg": 7.25, "transduction_pct": 44.0},
            ],
            "measurements": [
                {"patient_id": "P1", "episode": 1, "day": 0, "date": None, "analyte": "car_t_pct_cd3",
                 "value": 0.1, "unit": "%", "blq": None},
                {"patient_id": "P1", "episode": 1, "day": 7, "date": None, "analyte": "CAR-T %",
                 "value": 2.36, "unit": "%", "blq": None},
                {"patient_id": "P1", "episode": 1, "day": None, "date": "2019-01-24", "analyte": "il6",
                 "value": 150.5, "unit": "pg/mL", "blq": "no"},
                {"patient_id": "P1", "episode": 2, "day": 14, "date": None, "analyte": "hb",
                 "value": 9.5, "unit": "g/dL", "blq": None},
                {"patient_id": "P2", "episode": 1, "day": 4, "date": "2019-02-05", "analyte": "anc",
                 "value": 1500, "unit": "cells/uL", "blq": None},
                {"patient_id": "P2", "episode": 1, "day": 1, "date": None, "analyte": "temperature",
                 "value": 102.2, "unit": "F", "blq": None},
                {"patient_id": "P2", "episode": 2, "day": 7, "date": None, "analyte": "car_dna",
                 "value": None, "unit": "copies/ug", "blq": "yes"},
            ],
            "assessments": [
                {"patient_id": "P1", "episode": 1, "day": 30, "method": "pet_ct", "response": "PD",
                 "deauville": 5},
                {"patient_id": "P2", "episode": 2, "day": 14, "method": "marrow", "response": "CRi",
                 "marrow_blasts_pct": 1.5},
            ],
            "adverse_events": [
                {"patient_id": "P1", "episode": 1, "term": "CRS", "grade": 2, "grading_system": "ctcae4.03"},
                {"patient_id": "P2", "episode": 2, "term": "Hypogammaglobulinemia", "grade": 1,
                 "grading_system": None},
            ],
            "events": [
                {"patient_id": "P1", "kind": "last_contact", "episode": None, "day": None, "date": "2020-08-01"},
                {"patient_id": "P2", "kind": "relapse", "episode": 2, "day": 90, "date": None},
                {"patient_id": "P2", "kind": "death", "episode": None, "day": None, "date": "2019-12-01",
                 "detail": "progression"},
            ],
            "support": [
                {"patient_id": "P1", "episode": 1, "day": 3, "kind": "tocilizumab", "agent": "tocilizumab",
                 "dose": 8, "dose_unit": "mg/kg"},
                {"patient_id": "P1", "episode": 1, "day": 3, "kind": "oxygen", "agent": None,
                 "o2_device": "nasal_cannula", "o2_flow_l_min": 2},
            ],
        }
    )


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Rows as an all-text frame (columns in first-seen order), the way a CSV holds them."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    return pl.DataFrame(
        {c: [None if r.get(c) is None else str(r.get(c)) for r in rows] for c in columns},
        schema={c: pl.String for c in columns},
    )


def write_csv(folder: Path, name: str, rows: list[dict[str, object]], **kw) -> Path:
    path = folder / f"{name}.csv"
    _frame(rows).write_csv(path, **kw)
    return path


def _typed(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Rows with native types (numbers, dates), as Parquet or Excel would store them."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    data = {}
    for c in columns:
        values = [r.get(c) for r in rows]
        if c.endswith("date"):
            try:
                values = [None if v is None else dt.date.fromisoformat(v) for v in values]
            except (TypeError, ValueError):
                pass  # a malformed date stays text, as in a spreadsheet
        data[c] = values
    return pl.DataFrame(data, strict=False)


def write_study(folder: Path, tables: dict[str, list[dict[str, object]]] | None = None,
                fmt: str = "csv", toml: str = STUDY_TOML) -> Path:
    """Write a study folder: study.toml plus one file per table, or one workbook (fmt="workbook")."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = base_tables() if tables is None else tables
    if fmt == "workbook":
        toml = toml.replace("[plan]\n", '[files]\nworkbook = "study.xlsx"\n\n[plan]\n', 1)
    (folder / "study.toml").write_text(toml, encoding="utf-8")
    if fmt == "csv":
        for name, rows in tables.items():
            write_csv(folder, name, rows)
    elif fmt == "parquet":
        for name, rows in tables.items():
            _typed(rows).write_parquet(folder / f"{name}.parquet")
    elif fmt == "xlsx":
        for name, rows in tables.items():
            _write_workbook(folder / f"{name}.xlsx", {name: rows})
    elif fmt == "workbook":
        _write_workbook(folder / "study.xlsx", tables)
    else:
        raise ValueError(fmt)
    return folder


def _write_workbook(path: Path, tables: dict[str, list[dict[str, object]]]) -> None:
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(v):  # Excel cannot hold control characters: a user could not have typed them
        return ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in tables.items():
        ws = wb.create_sheet(name)
        frame = _typed(rows)
        ws.append([cell(c) for c in frame.columns])
        for row in frame.iter_rows():
            ws.append([cell(v) for v in row])
    wb.save(path)


def test_base_study_loads_in_every_format(tmp_path):
    from cartkit.study.load import load_study

    for fmt in ("csv", "parquet", "xlsx", "workbook"):
        study = load_study(write_study(tmp_path / fmt, fmt=fmt))
        assert study.meta.id == "mini"
        assert study.patients.height == 2
