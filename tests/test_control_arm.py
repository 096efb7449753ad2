"""One control-arm rule (issue 10): the ITT response rates' control arm and the endpoints' hazard-ratio
reference are the same arm, by ``populations.control_arm``: an endpoint's own ``reference``, else the plan's,
else the arm with the smallest share of infused patients; no arm when the smallest shares tie."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from cartkit.analysis.populations import control_arm
from cartkit.analysis.survival_analysis import _reference
from cartkit.study.model import Plan, Study, StudyMeta
from cartkit.study.plan_endpoint import EndpointPlan

ARMS = ["CAR-T", "standard of care"]


def _study(endpoints=(), soc_infused: int = 1) -> Study:
    # CAR-T arm: 4 patients, 3 infused (share 0.75); standard of care: 4 patients, soc_infused crossed over
    ids = [f"C{i}" for i in range(4)] + [f"S{i}" for i in range(4)]
    patients = pl.DataFrame({"patient_id": ids, "arm": ["CAR-T"] * 4 + ["standard of care"] * 4})
    infused = ["C0", "C1", "C2", *[f"S{i}" for i in range(soc_infused)]]
    infusions = pl.DataFrame({"patient_id": infused, "episode": [1] * len(infused),
                              "infusion_date": [dt.date(2021, 1, 1)] * len(infused)})
    return Study(path=Path("."), meta=StudyMeta(id="arms"), plan=Plan(endpoints=tuple(endpoints)),
                 tables={"patients": patients, "infusions": infusions})


def _endpoint(name: str, reference: str | None = None) -> EndpointPlan:
    return EndpointPlan(name=name, origin="randomisation", events=("death",), reference=reference)


def test_the_least_infused_arm_is_the_control_for_rates_and_hazard_ratios():
    study = _study()  # shares 3/4 vs 1/4
    assert control_arm(study, ARMS) == "standard of care"
    assert _reference(study, "arm", ARMS, None) == "standard of care"


def test_a_named_reference_decides_for_both():
    study = _study([_endpoint("EFS", "CAR-T"), _endpoint("OS")])
    assert control_arm(study, ARMS) == "CAR-T"  # the plan's reference, for the response rates
    assert _reference(study, "arm", ARMS, None) == "CAR-T"  # and for OS, which names none itself
    assert _reference(study, "arm", ARMS, "standard of care") == "standard of care"  # an endpoint's own wins


def test_equal_shares_name_no_control_and_hazard_ratios_use_the_first_arm():
    study = _study(soc_infused=3)  # 3/4 and 3/4
    assert control_arm(study, ARMS) is None
    assert _reference(study, "arm", ARMS, None) == "CAR-T"
    assert _reference(study, "dose_level", ["DL1", "DL2"], "DL2") == "DL2"
