"""ADRS of a randomised study: the standard-of-care arm's responses (assessments episode 0, dated from
randomisation) keep their dates and have a best overall response, as the report's ITT response rates count
them (review: ADT was empty for every episode-0 record, and no BOR record existed for the control arm, so its
ORR could not be reproduced from ADRS)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import cartkit
from cartkit.derive import derive
from cartkit.interop.adam_adrs import build_adrs
from cartkit.interop.adam_adsl import build_adsl
from cartkit.simulate import simulate_study

# Lugano 2014 best-response order, by hand (PET labels as their CT equivalents)
RANK = {"CR": 0, "CMR": 0, "PR": 1, "PMR": 1, "SD": 2, "NMR": 2, "PD": 3, "PMD": 3}
LABEL = {"CMR": "CR", "PMR": "PR", "NMR": "SD", "PMD": "PD"}


@pytest.fixture(scope="module")
def adrs(tmp_path_factory):
    folder = simulate_study(tmp_path_factory.mktemp("rct") / "s", patients=60, seed=3, format="csv",
                            design="randomised")
    study = cartkit.load_study(folder)
    adsl = build_adsl(study)
    raw = pl.read_csv(folder / "assessments.csv", try_parse_dates=True)
    return build_adrs(study, derive(study), adsl.frame).frame, raw, study


def test_episode_zero_records_keep_the_assessment_date(adrs):
    frame, raw, _ = adrs
    zero = raw.filter(pl.col("episode") == 0)
    assert zero.height > 10
    ovr = frame.filter((pl.col("PARAMCD") == "OVR") & (pl.col("APERIOD") == 0))
    joined = zero.select("patient_id", "day", "date").join(
        ovr.select(pl.col("USUBJID").alias("patient_id"), pl.col("ADYINF").alias("day"), "ADT", "TRTA"),
        on=["patient_id", "day"], how="left")
    assert joined.height == zero.height
    assert joined["ADT"].null_count() == 0
    assert (joined["ADT"] == joined["date"]).all()  # the date written in assessments.csv
    assert set(joined["TRTA"]) == {"standard of care"}


def test_the_control_arm_has_its_best_overall_response(adrs):
    frame, raw, study = adrs
    zero = raw.filter((pl.col("episode") == 0) & (pl.col("day") >= 1) & pl.col("response").is_not_null())
    expected = {}
    for pid, day, date, resp in zero.sort("day").select("patient_id", "day", "date", "response").iter_rows():
        if pid not in expected or RANK[resp] < RANK[expected[pid][0]]:
            expected[pid] = (resp, day, date)
    bor = frame.filter((pl.col("PARAMCD") == "BOR") & (pl.col("APERIOD") == 0))
    got = {pid: (avalc, day, adt) for pid, avalc, day, adt in
           bor.select("USUBJID", "AVALC", "ADYINF", "ADT").iter_rows()}
    assert got == {pid: (LABEL.get(r, r), day, date) for pid, (r, day, date) in expected.items()}
    soc = study.patients.filter(pl.col("arm") == "standard of care")
    responders = sum(v[0] in ("CR", "PR") for v in got.values())
    assert 0 < responders < soc.height
    assert isinstance(next(iter(got.values()))[2], dt.date)
