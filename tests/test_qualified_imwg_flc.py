"""Qualified free light chains in the IMWG 2016 response (derive/response.py imwg_from_study).

Kumar S et al., Lancet Oncol 2016;17:e328, Table 2 (response/criteria/imwg_2016.toml): a patient followed by
the FLC difference (dFLC, involved - uninvolved) has PR at >= 50% and VGPR at >= 90% reduction from baseline, PD
at >= 25% and > 100 mg/L above the lowest value; PD is confirmed by the next assessment. A qualified result is
an interval (grading/censored.py): it decides only where every end of the intervals gives the same response.
Before, a qualified FLC was missing and the assessment not evaluable. SIM-0002 of examples/myeloma-study:
kappa myeloma followed by dFLC (serum M-protein 0.44 g/dL, not measurable), baseline kappa 1727.6, lambda 7.6
(dFLC 1720 mg/L); kappa about 637.9 and lambda 16.7 from day 112 (lowest dFLC before day 84: 621.2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.derive.response import imwg_from_study

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "myeloma-study"
WRITTEN = {(84, "flc_lambda"): "<20", (140, "flc_kappa"): ">900", (196, "flc_kappa"): ">700"}
RAW = {  # day -> imwg_raw (before: every written day None)
    84: "PR",    # dFLC 617.5-637.5: 62.9-64.1% down (PR), below 1.25 x 621.2 = 776.5 (not PD)
    140: "PD",   # dFLC > 883.3: >= 25% and > 100 mg/L above the lowest (<= 621.2)
    196: None,   # dFLC > 683.3: 60.3% down (PR) at 700, PD above 776.5: not known
}


@pytest.fixture(scope="module")
def responses(tmp_path_factory):
    folder = tmp_path_factory.mktemp("imwg_flc") / "myeloma"
    shutil.copytree(EXAMPLE, folder)
    m = pl.read_csv(folder / "measurements.csv", infer_schema=False)
    for (day, analyte), text in WRITTEN.items():
        at = (pl.col("patient_id") == "SIM-0002") & (pl.col("analyte") == analyte) & (pl.col("day") == str(day))
        assert m.filter(at).height == 1
        m = m.with_columns(value=pl.when(at).then(pl.lit(text)).otherwise("value"),
                           blq=pl.when(at).then(pl.lit("")).otherwise("blq"))
    m.write_csv(folder / "measurements.csv")
    return imwg_from_study(cartkit.load_study(folder)).filter(pl.col("patient_id") == "SIM-0002")


def test_raw_response_with_qualified_flc(responses):
    got = {r["day"]: r["imwg_raw"] for r in responses.to_dicts()}
    assert {d: got[d] for d in RAW} == RAW
    assert responses.filter(pl.col("day") == 140)["imwg_pd_reason"].to_list() == ["FLC difference"]


def test_confirmed_response_with_qualified_flc(responses):
    got = {r["day"]: r["imwg_response"] for r in responses.to_dicts()}
    # 84: confirmed by the PR of day 112; 140: a PD not followed by a PD is SD; 168 (plain PR) lies between
    # the SD-capped PD of 140 and day 196, PR or PD: its confirmation is not known
    assert (got[84], got[140], got[168], got[224]) == ("PR", "SD", None, "PR")
