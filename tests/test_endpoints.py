"""[[plan.endpoint]]: the endpoint engine (survival.events.endpoint_times) on a hand-built study whose days
are counted by hand, the plan's located problems, and the survival numbers by arm against R."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from test_populations import POPULATIONS, randomised_tables
from test_study_builders import STUDY_TOML, write_study

from cartkit.study.model import Plan, Study, StudyMeta
from cartkit.study.plan_endpoint import EndpointPlan, HsctRule
from cartkit.study.problems import Problem
from cartkit.study.validate import validate_study
from cartkit.survival.events import endpoint_times

D = dt.date


def _study() -> Study:
    """R1 randomised and infused (CAR-T); R2 randomised to SOC, never infused; R3 randomised, never infused
    (death before infusion); A1 a B-ALL patient infused twice, with responses."""
    patients = pl.DataFrame({
        "patient_id": ["R1", "R2", "R3", "A1"],
        "diagnosis": ["DLBCL", "DLBCL", "DLBCL", "B-ALL"],
        "arm": ["CAR-T", "SOC", "CAR-T", None],
        "randomisation_date": [D(2019, 1, 1), D(2019, 1, 5), D(2019, 2, 1), None],
        "leukapheresis_date": [D(2019, 1, 4), None, D(2019, 2, 3), D(2019, 3, 1)],
        "enrolment_date": [None, None, None, None],
    }, schema_overrides={"enrolment_date": pl.Date})
    infusions = pl.DataFrame({
        "patient_id": ["R1", "A1", "A1"], "episode": [1, 1, 2], "product": ["CD19", "CD19", "CD22"],
        "infusion_date": [D(2019, 2, 1), D(2019, 4, 1), D(2019, 8, 1)],
    })
    rows = [
        ("R1", "progression", D(2019, 6, 1), None),   # 151 days after randomisation, 120 after infusion
        ("R1", "hsct", D(2019, 5, 1), "allogeneic"),  # before the progression
        ("R1", "last_contact", D(2019, 12, 31), None),
        ("R2", "new_therapy", D(2019, 3, 6), "R-GemOx"),  # 60 days after randomisation
        ("R2", "progression", D(2019, 4, 5), None),       # 90 days
        ("R2", "last_contact", D(2019, 10, 2), None),     # 270 days
        ("R3", "death", D(2019, 2, 20), "progression"),  # 19 days after randomisation, never infused
        ("A1", "relapse", D(2019, 7, 10), None),   # 100 days after the first infusion
        ("A1", "death", D(2019, 11, 8), None),     # 99 days after the second
    ]
    events = pl.DataFrame(rows, schema=["patient_id", "kind", "date", "detail"], orient="row")
    return Study(path=Path("."), meta=StudyMeta(id="hand", data_cutoff=D(2020, 1, 31)), plan=Plan(),
                 tables={"patients": patients, "infusions": infusions, "events": events})


# A1's responses: none on episode 1 by day 28 (CR on day 40, relapse day 100); CR on day 14 of episode 2
RESPONSES = pl.DataFrame({
    "patient_id": ["A1", "A1", "A1"], "episode": [1, 1, 2],
    "date": [D(2019, 4, 29), D(2019, 5, 11), D(2019, 8, 15)], "response": ["NR", "CR", "CR"],
})


def _by_patient(frame: pl.DataFrame) -> dict:
    return {r["patient_id"]: r for r in frame.to_dicts()}


def test_efs_from_randomisation_counts_patients_never_infused():
    efs = EndpointPlan(name="EFS", origin="randomisation", events=("progression", "relapse", "new_therapy", "death"),
                       hsct=HsctRule.IGNORE)
    out = _by_patient(endpoint_times(_study(), efs))
    assert set(out) == {"R1", "R2", "R3"}  # A1 has no randomisation date
    assert (out["R1"]["days"], out["R1"]["event"]) == (151, True)
    assert (out["R2"]["days"], out["R2"]["event"], out["R2"]["reason"]) == (
        60, True, "events: new_therapy 2019-03-06 (R-GemOx)")
    assert (out["R3"]["days"], out["R3"]["event"]) == (19, True)


def test_hsct_rules_are_one_enum():
    pfs = dict(name="PFS", origin="randomisation", events=("progression", "death"))
    censored = _by_patient(endpoint_times(_study(), EndpointPlan(**pfs, hsct=HsctRule.CENSOR)))["R1"]
    assert (censored["days"], censored["event"], censored["status"]) == (120, False, 0)
    assert censored["reason"] == "censored: HSCT 2019-05-01 (allogeneic)"
    competing = _by_patient(endpoint_times(_study(), EndpointPlan(**pfs, hsct=HsctRule.COMPETING)))["R1"]
    assert (competing["days"], competing["event"], competing["status"]) == (120, False, 2)
    excluded = endpoint_times(_study(), EndpointPlan(**pfs, hsct=HsctRule.EXCLUDE))
    assert sorted(excluded["patient_id"]) == ["R2", "R3"]
    assert HsctRule.CENSOR.label == "censor at HSCT" and HsctRule("ignore").label == "HSCT not censored"


def test_censor_at_new_therapy():
    pfs = EndpointPlan(name="PFS", origin="randomisation", events=("progression", "death"), censor_at=("new_therapy",),
                       hsct=HsctRule.IGNORE)
    r2 = _by_patient(endpoint_times(_study(), pfs))["R2"]
    assert (r2["days"], r2["event"], r2["reason"]) == (60, False, "censored: new therapy 2019-03-06 (R-GemOx)")


def test_os_from_leukapheresis_and_from_the_infusion():
    os_leuka = _by_patient(endpoint_times(_study(), EndpointPlan(name="OS", origin="leukapheresis",
                                                                 hsct=HsctRule.IGNORE)))
    assert (os_leuka["R3"]["days"], os_leuka["R3"]["event"]) == (17, True)
    assert (os_leuka["R1"]["days"], os_leuka["R1"]["event"]) == (361, False)  # 2019-01-04 to last contact
    assert "R2" not in os_leuka  # never leukapheresed
    os_inf = _by_patient(endpoint_times(_study(), EndpointPlan(name="OS", origin="first infusion",
                                                               hsct=HsctRule.IGNORE)))
    assert set(os_inf) == {"R1", "A1"}
    assert (os_inf["A1"]["days"], os_inf["A1"]["event"]) == (221, True)


def test_each_infusion_is_one_row_per_episode():
    out = endpoint_times(_study(), EndpointPlan(name="EFS", origin="each infusion", events=("relapse", "death"),
                                                end_at_next_infusion=True))
    a1 = out.filter(pl.col("patient_id") == "A1").select("episode", "days", "event").rows()
    assert a1 == [(1, 100, True), (2, 99, True)]


def test_b_all_efs_no_response_by_day_28_is_an_event_on_day_0():
    efs = EndpointPlan(name="EFS", origin="each infusion", events=("relapse", "death"), no_response_by_day=28,
                       end_at_next_infusion=True)
    out = endpoint_times(_study(), efs, responses=RESPONSES).filter(pl.col("patient_id") == "A1")
    rows = out.select("episode", "days", "event", "reason").rows()
    # episode 1: NR on day 28, CR only on day 40 -> event at day 0; episode 2: CR on day 14 -> its death
    assert rows[0] == (1, 0, True, "events: no response by day 28 2019-04-01")
    assert rows[1][:3] == (2, 99, True)
    on_day = EndpointPlan(**{**efs.__dict__, "no_response_event_at": "day"})
    first = endpoint_times(_study(), on_day, responses=RESPONSES).filter(pl.col("patient_id") == "A1").row(0, named=True)
    assert (first["days"], first["event"]) == (28, True)


def test_duration_of_response_from_first_response():
    dor = EndpointPlan(name="DOR", origin="first response", events=("progression", "relapse", "death"))
    (a1,) = endpoint_times(_study(), dor, responses=RESPONSES).to_dicts()
    # first response: CR on 2019-05-11 (episode 1); relapse 2019-07-10: 60 days
    assert (a1["episode"], a1["origin_date"], a1["days"], a1["event"]) == (1, D(2019, 5, 11), 60, True)


# --------------------------------------------------------------------------- plan problems

ENDPOINTS = """
[[plan.endpoint]]
name = "EFS"
origin = "randomisation"
events = ["progression", "relapse", "new_therapy", "death"]
hsct = "ignore"
reference = "standard of care"
populations = ["ITT"]

[[plan.endpoint]]
name = "OS"
origin = "infusion of product"
product = "CD22 CAR-T"
events = ["death"]
"""


def test_endpoint_plan_is_read(tmp_path):
    from cartkit.study.load import load_study

    study = load_study(write_study(tmp_path, randomised_tables(), toml=STUDY_TOML + POPULATIONS + ENDPOINTS))
    efs, os_ = study.plan.endpoints
    assert (efs.origin, efs.hsct, efs.reference, efs.populations) == ("randomisation", HsctRule.IGNORE,
                                                                     "standard of care", ("ITT",))
    assert (os_.origin, os_.product, os_.hsct) == ("infusion of product", "CD22 CAR-T", HsctRule.CENSOR)


@pytest.mark.parametrize("old, new, problem", [
    ('origin = "randomisation"', 'origin = "consent"',
     Problem("study.toml", None, "plan.endpoint[1].origin", "consent",
             "unknown time origin: one of enrolment, leukapheresis, randomisation, first infusion, infusion of "
             "product, each infusion, first response, first complete response")),
    ('events = ["death"]', 'events = ["death", "hsct"]',
     Problem("study.toml", None, "plan.endpoint[2].events", "hsct",
             "HSCT is set by the endpoint's hsct rule (censor, ignore, exclude, competing)")),
    ('hsct = "ignore"', 'hsct = "censor at HSCT"',
     Problem("study.toml", None, "plan.endpoint[1].hsct", "censor at HSCT",
             "must be one of: censor, ignore, exclude, competing")),
    ('product = "CD22 CAR-T"\n', '',
     Problem("study.toml", None, "plan.endpoint[2].product", None,
             "origin 'infusion of product' needs product = \"<product>\"")),
    ('populations = ["ITT"]', 'populations = ["mITT"]',
     Problem("study.toml", None, "plan.endpoint[1].populations", "mITT",
             "no such population (CD22, ITT, PP, enrolled, infused, leukapheresed)")),
    ('origin = "randomisation"', 'origin = "enrolment"',
     Problem("study.toml", None, "plan.endpoint[1].origin", "enrolment",
             "time origin enrolment: patients.enrolment_date is not given for any patient")),
    ('events = ["death"]', 'events = ["death"]\nno_response_by_day = 0',
     Problem("study.toml", None, "plan.endpoint[2].no_response_by_day", 0, "must be a day >= 1 after the origin")),
])
def test_endpoint_plan_problems(tmp_path, old, new, problem):
    tables = randomised_tables()
    for row in tables["patients"]:
        row.pop("enrolment_date", None)
    text = ENDPOINTS.replace(old, new, 1)
    problems = validate_study(write_study(tmp_path, tables, toml=STUDY_TOML + POPULATIONS + text))
    assert problem in problems, problems


# --------------------------------------------------------------------------- against R

# R 4.x, survival 3.x, on endpoint_times of simulate_study(patients=200, seed=13, design="randomised"),
# recomputed after the CAR-T arm's calibration to ZUMA-7 (simulate/designs.py CAR_T_ARM_LYMPHOMA_P),
# time in months (days / 30.4375), arm as factor(levels = c("standard of care", "CAR-T")):
#   survdiff(Surv(months, event) ~ arm); coxph(Surv(months, event) ~ arm, ties = "efron");
#   survfit(Surv(months, event) ~ group)   (medians and their 95% CI, log CI)
R_TESTS = {  # endpoint: n, events, chisq, logrank p, HR, lower, upper, Wald p
    "EFS": (200, 144, 32.322641183, 1.30582882058e-08, 0.394190514792, 0.282779260531, 0.549496316173,
            3.95337055169e-08),
    "OS": (200, 139, 20.7792786927, 5.15375805806e-06, 0.46300981312, 0.330078738615, 0.649475600716,
            8.21336975486e-06),
}
R_MEDIANS = {  # (endpoint, arm): n, events, median, lower, upper
    ("EFS", "CAR-T"): (106, 66, 7.55646817248, 5.55236139630, 15.67145790554),
    ("EFS", "standard of care"): (94, 78, 2.25051334702, 1.21560574949, 3.28542094456),
    ("OS", "CAR-T"): (106, 66, 15.31006160164, 11.59753593429, 22.89938398357),
    ("OS", "standard of care"): (94, 73, 6.93223819302, 5.51950718686, 8.37782340862),
}


def test_randomised_logrank_and_cox_by_arm_agree_with_r(tmp_path):
    from cartkit.analysis.populations import resolve_populations
    from cartkit.analysis.survival_analysis import endpoint_analysis
    from cartkit.simulate import simulate_study
    from cartkit.study.load import load_study

    study = load_study(simulate_study(tmp_path / "rct", patients=200, seed=13, format="csv", design="randomised"))
    tables, _ = endpoint_analysis(study, resolve_populations(study), None)
    tests = {r["endpoint"]: r for r in tables["endpoint_tests"].to_dicts()}
    for endpoint, expected in R_TESTS.items():
        row = tests[endpoint]
        assert (row["population"], row["comparison"], row["origin"]) == (
            "ITT", "CAR-T vs standard of care", "randomisation")
        assert (row["n"], row["events"]) == expected[:2]
        got = [row[k] for k in ("logrank_statistic", "logrank_pvalue", "hr", "hr_lower", "hr_upper", "hr_pvalue")]
        assert got == pytest.approx(list(expected[2:]), abs=1e-6, rel=0)
    for r in tables["endpoint_summary"].to_dicts():
        n, events, median, lower, upper = R_MEDIANS[(r["endpoint"], r["group"])]
        assert (r["n"], r["events"]) == (n, events)
        assert [r["median"], r["median_lower"], r["median_upper"]] == pytest.approx([median, lower, upper], abs=1e-6)
