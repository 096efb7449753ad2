"""ADTTE follows [[plan.endpoint]] (interop/adam_adtte.py): one parameter per endpoint with its own time
origin, diseases and HSCT rule, the competing HSCT flagged; on the hand-built study of
tests/survival_report_data.py, whose endpoint data R analysed (tests/r_reference_survival_report.json)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
from survival_report_data import hand_study

from cartkit.interop.adam_adtte import build_adtte
from cartkit.survival import kaplan_meier

REF = json.loads((Path(__file__).resolve().parent / "r_reference_survival_report.json").read_text())


@pytest.fixture(scope="module")
def adtte():
    study, assessments = hand_study(REF["hand_rows"])
    adsl = study.patients.select(pl.col("patient_id").alias("USUBJID"), SAFFL=pl.lit("Y"), ITTFL=pl.lit("Y"))
    return build_adtte(study, SimpleNamespace(assessments=assessments), adsl).frame


def test_one_parameter_per_endpoint_with_its_patients_days_and_censoring(adtte):
    assert adtte["PARAMCD"].unique().sort().to_list() == ["EFS", "OS", "PFS"]
    for name, ep in REF["studies"]["hand"]["endpoints"].items():
        rows = adtte.filter(pl.col("PARAMCD") == name).sort("USUBJID")
        data = ep["data"]
        assert rows["USUBJID"].to_list() == data["patient_id"]  # EFS: the 60 B-ALL patients only
        assert rows["AVAL"].to_list() == [float(d) for d in data["days"]]
        assert rows["CNSR"].to_list() == [1 - e for e in data["event"]]
        assert (rows["CMPEVFL"] == "Y").fill_null(False).to_list() == [s == 2 for s in data["status"]]
    efs = adtte.filter(pl.col("PARAMCD") == "EFS")
    assert set(efs["HSCTRULE"]) == {"HSCT as competing event"} and set(efs["STARTREF"]) == {"first infusion"}
    day0 = efs.filter(pl.col("AVAL") == 0)
    assert day0.height == 18 and set(day0["EVNTDESC"]) == {"no response by day 28"}
    assert set(adtte.filter(pl.col("PARAMCD") == "PFS")["AGRPVAL"]) == {"B-ALL", "DLBCL"}
    hsct = adtte.filter(pl.col("CMPEVFL") == "Y")
    assert hsct["SRCDOM"].to_list() == ["EVENTS"] * hsct.height and set(hsct["EVNTDESC"]) == {"HSCT (allogeneic)"}


def test_adtte_gives_the_reports_medians_as_r(adtte):
    """Kaplan-Meier of ADTTE's PFS rows (AVAL / 30.4375, event = 1 - CNSR) per AGRPVAL: R's
    quantile(survfit(Surv(t, e) ~ g, conf.type = 'log-log'), 0.5) of the report's data."""
    r = REF["studies"]["hand"]["endpoints"]["PFS"]["r"]["median"]
    rows = adtte.filter(pl.col("PARAMCD") == "PFS")
    for i, g in enumerate(r["group"]):
        sel = rows.filter(pl.col("AGRPVAL") == g)
        km = kaplan_meier(sel["AVAL"].to_numpy() / 30.4375, 1 - sel["CNSR"].to_numpy(), conf_type="log-log")
        assert [km.median, *km.median_ci] == pytest.approx([r["median"][i], r["lower"][i], r["upper"][i]], abs=1e-6)
