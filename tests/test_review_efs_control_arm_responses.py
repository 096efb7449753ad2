"""ZUMA-7-style EFS ("no response by day N" from randomisation, docs/plan.md) must see the control arm's own
responses (assessments episode 0, dated from randomisation).

``analysis/survival_analysis.response_dates`` inner-joins the assessments on ``infusions``, so episode 0 (the
standard-of-care arm's responses to its own treatment) is dropped before ``endpoint_times`` looks for a response
by day N: every standard-of-care patient who responded to it becomes an EFS event "no response by day 150". In a
120-patient simulated randomised study (seed 3) with the docs' EFS (no_response_by_day = 150,
no_response_event_at = "day") 18 responders (16 CR, 2 PR at day 50) were counted as failures and the EFS hazard
ratio CAR-T vs standard of care came out 0.389 (95% CI 0.254-0.595, P = 1e-5) instead of 0.765 (0.511-1.144,
P = 0.19) (R coxph on both versions of the rows agrees with cartkit to 4 digits: 0.3891 and 0.7648). The same
drop left the control arm without "first response" origins (DOR). Fixed: response_dates takes the control arm's
episode 0 rows, dated randomisation_date + day; a CAR-T arm's episode-0 rows stay out (as in the ITT rates).
"""

from __future__ import annotations

import polars as pl
import pytest

import cartkit
from cartkit.analysis.survival_analysis import response_dates
from cartkit.derive import derive
from cartkit.simulate import simulate_study
from cartkit.survival.events import endpoint_times


@pytest.fixture(scope="module")
def efs(tmp_path_factory):
    folder = simulate_study(tmp_path_factory.mktemp("rct") / "s", patients=60, seed=3, format="csv",
                            design="randomised")
    toml = (folder / "study.toml").read_text(encoding="utf-8")
    anchor = 'origin = "randomisation"\nevents = ["progression", "relapse", "new_therapy", "death"]'
    assert anchor in toml
    toml = toml.replace(anchor, anchor + '\nno_response_by_day = 150\nno_response_event_at = "day"', 1)
    (folder / "study.toml").write_text(toml, encoding="utf-8")
    study = cartkit.load_study(folder)
    endpoint = next(e for e in study.plan.endpoints if e.name == "EFS")
    rows = endpoint_times(study, endpoint, response_dates(study, derive(study).assessments))
    raw = pl.read_csv(folder / "assessments.csv")
    return rows, raw, study


def test_a_control_arm_responder_is_not_a_no_response_failure(efs):
    rows, raw, study = efs
    # by hand from assessments.csv: standard-of-care patients with CR or PR to their own treatment by day 150
    responders = raw.filter((pl.col("episode") == 0) & (pl.col("day") >= 1) & (pl.col("day") <= 150)
                            & pl.col("response").is_in(["CR", "PR"]))["patient_id"].unique()
    assert responders.len() > 3
    failures = rows.filter(pl.col("kind") == "no response by day 150")["patient_id"]
    assert not set(failures) & set(responders)


def test_episode_0_responses_are_the_control_arms_dated_from_randomisation(efs):
    _, raw, study = efs
    from cartkit.analysis.populations import control_arm

    got = response_dates(study, derive(study).assessments).filter(pl.col("episode") == 0)
    arms = sorted(study.patients["arm"].drop_nulls().cast(pl.String).unique().to_list())
    control = control_arm(study, arms)
    patients = study.patients.select("patient_id", pl.col("arm").cast(pl.String), "randomisation_date")
    # by hand: every episode-0 row with a response after randomisation, of a control-arm patient
    want = raw.filter((pl.col("episode") == 0) & (pl.col("day") >= 1) & pl.col("response").is_not_null()).join(
        patients, on="patient_id").filter(pl.col("arm") == control).select(
        "patient_id", (pl.col("randomisation_date") + pl.duration(days=pl.col("day"))).alias("date"))
    assert got.height == want.height > 3
    assert sorted(zip(got["patient_id"], got["date"], strict=True)) == sorted(
        zip(want["patient_id"], want["date"], strict=True))
