"""Review 2026-12-02 (fixed by the itt helper: a control arm without responses of its own is counted by its
infusions when it was meant to be infused, analysis/responses.py ``_meant_to_be_infused``): a study whose arms are all CAR-T (two randomised dose levels) has no standard-of-care arm,
yet ``populations.control_arm`` names the arm with the smaller infused share (one patient never infused:
manufacturing failure) as the control, and ``population_response_rates`` then drops that arm's ITT ORR and CR
rate with the note "responses to the arm's own treatment are not recorded". They are recorded: its infused
patients' assessments are responses to CAR-T, the arm's own treatment. Same with a plan naming the CAR-T arm
as the hazard ratios' ``reference``: the CAR-T arm's rates vanish. Expected (docs/plan.md: the control is "the
standard-of-care arm", whose own responses the data model cannot hold): both dose arms get their ITT rate,
by hand 2/4 and 3/4."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from cartkit.analysis.populations import Population, control_arm
from cartkit.analysis.responses import population_response_rates
from cartkit.study.model import Plan, Study, StudyMeta
from cartkit.study.plan_population import RANDOMISED, PopulationPlan

IDS = ["A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4"]
ARM = ["DL1"] * 4 + ["DL2"] * 4
INFUSED = ["A1", "A2", "A3", "B1", "B2", "B3", "B4"]  # A4: manufacturing failure, never infused
BEST = {"A1": "CR", "A2": "PR", "A3": "SD", "B1": "CR", "B2": "CR", "B3": "PR", "B4": "PD"}


def _study() -> Study:
    patients = pl.DataFrame({"patient_id": IDS, "arm": ARM, "diagnosis": ["DLBCL"] * 8,
                             "randomisation_date": [dt.date(2021, 1, 1)] * 8,
                             "never_infused_reason": [None, None, None, "manufacturing failure", *[None] * 4]})
    infusions = pl.DataFrame({"patient_id": INFUSED, "episode": [1] * 7, "product": ["axi-cel"] * 7,
                              "infusion_date": [dt.date(2021, 2, 1)] * 7})
    return Study(path=Path("."), meta=StudyMeta(id="dose-rct"), plan=Plan(),
                 tables={"patients": patients, "infusions": infusions})


def test_two_car_t_arms_both_get_their_itt_response_rate():
    study = _study()
    control = control_arm(study, ["DL1", "DL2"])
    itt = Population(PopulationPlan(name="ITT", rule=RANDOMISED, primary=True), study.patients.select("patient_id"),
                     study.infusions.select("patient_id", "episode", "product"))
    listing = pl.DataFrame({"patient_id": list(BEST), "episode": [1] * 7, "best_response": list(BEST.values()),
                            "diagnosis": ["DLBCL"] * 7, "product": ["axi-cel"] * 7})
    rates = population_response_rates(itt, study.patients, listing, None, ["axi-cel"], ["DLBCL"], control)
    rows = {r["group"]: r for r in rates.filter(pl.col("diagnosis") == "All").to_dicts()}
    # Lugano: responders CR + PR; never infused A4 a non-responder
    assert (rows["DL1"]["n"], rows["DL1"]["orr_n"], rows["DL1"]["cr_n"]) == (4, 2, 1)
    assert (rows["DL2"]["n"], rows["DL2"]["orr_n"], rows["DL2"]["cr_n"]) == (4, 3, 2)


def test_a_standard_of_care_arm_without_own_responses_still_has_no_rate():
    # the same arms, but DL1's never-infused patient has no never_infused_reason: not meant for CAR-T
    study = _study()
    patients = study.patients.with_columns(never_infused_reason=pl.lit(None, dtype=pl.String))
    itt = Population(PopulationPlan(name="ITT", rule=RANDOMISED, primary=True), patients.select("patient_id"),
                     study.infusions.select("patient_id", "episode", "product"))
    listing = pl.DataFrame({"patient_id": list(BEST), "episode": [1] * 7, "best_response": list(BEST.values())})
    rates = population_response_rates(itt, patients, listing, None, ["axi-cel"], ["DLBCL"], "DL1")
    dl1 = rates.filter((pl.col("group") == "DL1") & (pl.col("diagnosis") == "All")).row(0, named=True)
    assert dl1["orr_n"] is None and "not recorded" in dl1["note"]
