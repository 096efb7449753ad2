"""IMWG 2016 (Kumar S et al., Lancet Oncol 2016;17:e328, Table 2) with an M-protein below the
electrophoresis's limit: VGPR is "serum and urine M-protein detectable by immunofixation but not on
electrophoresis" or >= 90% serum reduction with urine < 100 mg/24 h; PD from the lowest value needs >= 25% and
>= 0.5 g/dL. A serum M-protein written "ND" (not detected, no limit) is 0 g/dL; "<x" is [0, x) and the
response stands where both ends give it, else it is not known. Before, every such result was missing and the
assessment not evaluable. SIM-0001 of examples/myeloma-study: IgG myeloma, baseline serum M-protein 5.68
g/dL (urine 4 mg/24 h: not measurable), serum immunofixation positive throughout (so never CR)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.derive.response import imwg_from_study

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "myeloma-study"
# day -> serum M-protein as written (the example's 0.33, 0.29, 0.28 on days 84, 112, 140)
WRITTEN = {84: "ND", 112: "<0.1", 140: "<0.6"}
RAW = {
    28: "PR",       # 1.47: 74% down
    56: "VGPR",     # 0.54: 90.5% down
    84: "VGPR",     # not detected: 100% down (not on electrophoresis; immunofixation positive: not CR)
    112: "VGPR",    # < 0.1: more than 98% down at either end
    140: None,      # < 0.6: 100% (VGPR) at 0, 89.4% (PR) at 0.6: not known
    168: "PD",      # 1.14 from a nadir of 0 to < 0.1: up >= 0.5 g/dL and >= 25% at either end
}


@pytest.fixture(scope="module")
def responses(tmp_path_factory):
    folder = tmp_path_factory.mktemp("imwg") / "myeloma"
    shutil.copytree(EXAMPLE, folder)
    m = pl.read_csv(folder / "measurements.csv", infer_schema=False)
    hit = (pl.col("patient_id") == "SIM-0001") & (pl.col("analyte") == "serum_m_protein")
    for day, text in WRITTEN.items():
        at = hit & (pl.col("day") == str(day))
        m = m.with_columns(value=pl.when(at).then(pl.lit(text)).otherwise("value"),
                           blq=pl.when(at).then(pl.lit("")).otherwise("blq"))
    m.write_csv(folder / "measurements.csv")
    study = cartkit.load_study(folder)
    return imwg_from_study(study).filter(pl.col("patient_id") == "SIM-0001")


def test_raw_response_with_below_limit_m_protein(responses):
    assert {r["day"]: r["imwg_raw"] for r in responses.to_dicts()}.items() >= RAW.items()


def test_confirmed_response_is_known_where_both_ends_agree(responses):
    got = {r["day"]: r["imwg_response"] for r in responses.to_dicts()}
    assert got[84] == "VGPR" and got[112] == "VGPR"   # confirmed by the adjacent VGPR at either end
    assert got[168] == "PD"


def test_nothing_changes_without_qualified_m_protein():
    study = cartkit.load_study(EXAMPLE)
    assert imwg_from_study(study).equals(_plain(study))


def _plain(study):
    """imwg_responses over the same inputs as before the below-limit reading (no qualified M-protein)."""
    from cartkit.derive import response as r

    who = r.myeloma_patients(study)
    a, per_day = r._assessment_inputs(study, who, r.IMWG_INPUTS)
    labs = r._last_lab_of_day(study, who, ["serum_m_protein", "urine_m_protein", "flc_kappa", "flc_lambda"])
    return r.imwg_responses(r._on_assessment_days(a, per_day.join(labs, on=[*r.KEYS, "day"], how="full",
                                                                  coalesce=True)))
