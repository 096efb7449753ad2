"""ADLB baseline (ABLFL, BASE, CHG) by admiral's rule (pharmaverse admiral 1.5, inst/templates/ad_adlb.R:
``restrict_derivation(derive_var_extreme_flag(order = exprs(ADT, VISITNUM, LBSEQ), mode = "last"),
filter = !is.na(AVAL) & ...)``): the last record *with a value* before the infusion, in date and clock-time
order. The review found two cases that lost or misplaced the baseline: the last pre-infusion sample below
the limit of quantification with no value (the whole series got no baseline), and two samples on the same
day (08:00 and 20:00, written in that order): the 08:00 one was flagged."""

from __future__ import annotations

import polars as pl
import pytest

import cartkit
from cartkit.interop.adam_adlb import build_adlb
from cartkit.interop.adam_adsl import build_adsl


@pytest.fixture(scope="module")
def adlb(tmp_path_factory, copy_seed):
    folder = tmp_path_factory.mktemp("adlb") / "s"
    copy_seed(folder)
    m = pl.read_csv(folder / "measurements.csv", infer_schema=False)
    # P1's CD19 episode (infusion 2017-08-28): IL-6 12 pg/mL on day -3, then BLQ (no value, LLOQ 2) on day -1;
    # CRP twice on day -2, 08:00 (10 mg/L) and 20:00 (30 mg/L)
    extra = pl.DataFrame({
        "patient_id": ["P1"] * 4, "episode": ["1"] * 4, "day": ["-3", "-1", "-2", "-2"],
        "date": ["2017-08-25", "2017-08-27", "2017-08-26", "2017-08-26"],
        "analyte": ["il6", "il6", "crp", "crp"], "value": ["12.0", None, "10.0", "30.0"],
        "unit": ["pg/mL", "pg/mL", "mg/L", "mg/L"], "lln": [None] * 4,
        "time": [None, None, "08:00", "20:00"], "blq": [None, "true", None, None], "lloq": [None, "2", None, None]})
    pl.concat([m, extra], how="diagonal").write_csv(folder / "measurements.csv")
    study = cartkit.load_study(folder)
    frame = build_adlb(study, build_adsl(study).frame).frame
    return frame.filter((pl.col("USUBJID") == "P1") & (pl.col("APERIOD") == 1))


def test_a_value_below_the_limit_without_a_number_is_not_the_baseline(adlb):
    il6 = adlb.filter(pl.col("PARAMCD") == "IL6")
    flagged = il6.filter(pl.col("ABLFL") == "Y")
    assert flagged.select("ADYINF", "AVAL").rows() == [(-3, 12.0)]
    assert set(il6["BASE"].to_list()) == {12.0}


def test_the_later_sample_of_the_day_is_the_baseline(adlb):
    crp = adlb.filter(pl.col("PARAMCD") == "CRP")
    assert crp.filter(pl.col("ABLFL") == "Y").select("ADYINF", "ATM", "AVAL").rows() == [(-2, "20:00", 30.0)]
    assert set(crp["BASE"].to_list()) == {30.0}
    day7 = crp.filter(pl.col("ADYINF") == 7)
    assert (day7["CHG"] == day7["AVAL"] - 30.0).all()
