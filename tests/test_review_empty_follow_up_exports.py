"""Two tracebacks after a clean ``cartkit validate`` (found by the review, fixed since):

* ``cartkit sdtm export`` of a study whose measurements hold no vital signs (laboratory and kinetics only, as
  many registries record) but whose patients have a weight: ``sdtm_export_domains.vs`` sorts the weight-only VS
  rows by VSDTC, a column only the vital-sign rows bring (polars ColumnNotFoundError "VSDTC").
* ``cartkit run`` of a study exported right after its infusions (patients and infusions, the other required
  tables empty; with a last_contact 30 days on it runs): the patient-course (swimmer) figure has lanes of
  length 0 and its axis scale gets None
  (report/svg/scales.py:83 ``fraction``: TypeError "unsupported operand type(s) for -: 'NoneType' and 'int'").
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

SEED = Path(__file__).resolve().parent.parent / "examples" / "seed-study"
VITALS = ["temperature", "sbp", "dbp", "map", "heart_rate", "spo2", "resp_rate"]


def _seed(tmp_path: Path) -> Path:
    if not SEED.exists():
        pytest.skip("examples/seed-study is not in this checkout")
    folder = tmp_path / "s"
    shutil.copytree(SEED, folder)
    return folder


def test_sdtm_export_without_vital_signs(tmp_path):
    from cartkit.interop.sdtm_export import export_sdtm
    from cartkit.study.validate import validate_study

    folder = _seed(tmp_path)
    m = pl.read_csv(folder / "measurements.csv", infer_schema=False)
    m.filter(~pl.col("analyte").is_in(VITALS)).write_csv(folder / "measurements.csv")
    assert [p for p in validate_study(folder) if p.severity == "error"] == []
    result = export_sdtm(folder, tmp_path / "sdtm")
    weights = pl.read_csv(folder / "patients.csv", infer_schema=False)["weight_kg"].drop_nulls().len()
    assert weights > 0 and result.datasets["VS"] == weights  # one WEIGHT record per patient with a weight



def test_report_of_a_study_exported_right_after_its_infusions(tmp_path):
    from cartkit.pipeline import run_study
    from cartkit.study.validate import validate_study

    folder = tmp_path / "min"
    folder.mkdir()
    src = _seed(tmp_path)
    pl.read_csv(src / "patients.csv", infer_schema=False).head(3).write_csv(folder / "patients.csv")
    inf = pl.read_csv(src / "infusions.csv", infer_schema=False)
    inf.filter(pl.col("patient_id").is_in(["P1", "P2", "P3"])).write_csv(folder / "infusions.csv")
    for table in ("measurements", "assessments", "adverse_events", "events"):
        header = (src / f"{table}.csv").read_text(encoding="utf-8").splitlines()[0]
        (folder / f"{table}.csv").write_text(header + "\n", encoding="utf-8")
    (folder / "study.toml").write_text('[study]\nid = "minimal"\ntitle = "minimal"\n', encoding="utf-8")
    assert [p for p in validate_study(folder) if p.severity == "error"] == []
    run_study(folder, tmp_path / "report")
    assert (tmp_path / "report" / "index.html").is_file()
    svg = next((tmp_path / "report").rglob("*swimmer*.svg"), None) or next((tmp_path / "report").rglob("*course*.svg"))
    assert svg.read_text(encoding="utf-8").count('class="lane"') >= 3
