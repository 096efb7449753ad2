"""Analysis populations ([[plan.population]]), patients never infused and trial milestones.

The small study of test_study_builders gains a randomised shape: P1 and P2 infused (arm CAR-T),
P3 randomised to CAR-T and never infused (manufacturing failure), P4 randomised to standard of care.
Rows of ``patients`` sit on CSV line index + 2.
"""

from __future__ import annotations

import datetime as dt

import pytest
from test_study_builders import STUDY_TOML, base_tables, write_study

from cartkit.analysis.populations import (
    never_infused_table,
    populations_table,
    primary_population,
    resolve_populations,
    vein_to_vein,
)
from cartkit.study.load import load_study
from cartkit.study.problems import Problem
from cartkit.study.validate import validate_study

POPULATIONS = """
[[plan.population]]
name = "ITT"
label = "All randomised"
rule = "randomised"
primary = true

[[plan.population]]
name = "enrolled"
rule = "all enrolled"

[[plan.population]]
name = "leukapheresed"
rule = "leukapheresed"

[[plan.population]]
name = "infused"
rule = "infused"

[[plan.population]]
name = "CD22"
rule = "infused with product"
product = "CD22 CAR-T"

[[plan.population]]
name = "PP"
rule = "per protocol"
"""


def randomised_tables():
    t = base_tables()
    p1, p2 = t["patients"]
    p1.update(arm="CAR-T", randomisation_date="2018-12-01", leukapheresis_date="2018-12-10",
              enrolment_date="2018-11-20", per_protocol="yes")
    p2.update(arm="CAR-T", randomisation_date="2019-01-05", leukapheresis_date="2019-01-08", per_protocol="no")
    t["patients"] += [
        {"patient_id": "P3", "age": 61, "sex": "female", "diagnosis": "DLBCL", "disease_status": "refractory",
         "arm": "CAR-T", "randomisation_date": "2019-03-01", "leukapheresis_date": "2019-03-04",
         "never_infused_reason": "Manufacturing failure", "per_protocol": "no"},
        {"patient_id": "P4", "age": 47, "sex": "male", "diagnosis": "DLBCL", "disease_status": "relapsed",
         "arm": "standard of care", "randomisation_date": "2019-03-02", "per_protocol": "yes"},
    ]
    t["events"] += [
        {"patient_id": "P3", "kind": "death", "date": "2019-07-01", "detail": "progression"},
        {"patient_id": "P4", "kind": "last_contact", "date": "2020-06-30"},
    ]
    return t


def _write(tmp_path, tables, toml=STUDY_TOML + POPULATIONS):
    return write_study(tmp_path, tables, toml=toml)


def test_populations_resolve_to_patients_and_episodes(tmp_path):
    study = load_study(_write(tmp_path, randomised_tables()))
    assert study.warnings == []
    pops = {p.name: p for p in resolve_populations(study)}
    members = {name: sorted(p.patients["patient_id"]) for name, p in pops.items()}
    assert members == {
        "ITT": ["P1", "P2", "P3", "P4"],
        "enrolled": ["P1", "P2", "P3", "P4"],
        "leukapheresed": ["P1", "P2", "P3"],  # P4 (standard of care) was never collected
        "infused": ["P1", "P2"],
        "CD22": ["P1", "P2"],
        "PP": ["P1", "P4"],
    }
    assert pops["infused"].n_episodes == 4
    assert pops["CD22"].episodes["episode"].to_list() == [2, 2]  # only the CD22 CAR-T infusions
    assert pops["ITT"].n_episodes == 4 and pops["ITT"].n == 4
    primary = primary_population(list(pops.values()))
    assert primary.name == "ITT"
    assert primary.describe() == "ITT (all randomised; N = 4)"
    assert pops["CD22"].describe() == "CD22 (infused with CD22 CAR-T; N = 2)"


def test_populations_table_counts_by_arm(tmp_path):
    study = load_study(_write(tmp_path, randomised_tables()))
    table = populations_table(study, resolve_populations(study))
    itt = table.filter(table["population"] == "ITT")
    assert itt.select("arm", "n", "n_infused", "n_never_infused", "n_episodes").rows() == [
        ("All", 4, 2, 2, 4), ("CAR-T", 3, 2, 1, 4), ("standard of care", 1, 0, 1, 0)]
    assert table.filter(table["primary"])["population"].unique().to_list() == ["ITT"]
    reasons = never_infused_table(study)
    assert reasons.rows() == [("CAR-T", "manufacturing failure", 1), ("standard of care", "not given", 1)]


def test_default_population_is_every_infused_patient(tmp_path):
    study = load_study(write_study(tmp_path, base_tables()))
    (pop,) = resolve_populations(study)
    assert (pop.name, pop.primary, pop.n, pop.n_episodes) == ("infused", True, 2, 4)


def test_seed_default_population_is_its_13_patients():
    study = load_study("examples/seed-study")
    (pop,) = resolve_populations(study)
    assert (pop.name, pop.n, pop.n_episodes) == ("infused", 13, 26)


def test_vein_to_vein_days(tmp_path):
    study = load_study(_write(tmp_path, randomised_tables()))
    v2v = vein_to_vein(study)
    # P1: leukapheresis 2018-12-10, first infusion 2019-01-10; P2: 2019-01-08 -> 2019-02-01
    assert v2v.select("patient_id", "episode", "vein_to_vein_days").rows() == [("P1", 1, 31), ("P2", 1, 24)]


# --------------------------------------------------------------------------- plan problems


@pytest.mark.parametrize("text, problem", [
    (POPULATIONS.replace("primary = true", ""),
     Problem("study.toml", None, "plan.population", None, "no population is primary: mark one primary = true")),
    (POPULATIONS.replace('rule = "infused"\n', 'rule = "infused"\nprimary = true\n'),
     Problem("study.toml", None, "plan.population", "ITT, infused",
             "more than one population is primary (ITT, infused): mark one only")),
    (POPULATIONS.replace('rule = "leukapheresed"', 'rule = "collected"'),
     Problem("study.toml", None, "plan.population[3].rule", "collected",
             "unknown population rule: one of enrolled, leukapheresed, randomised, infused, infused with product, "
             "per protocol")),
    (POPULATIONS.replace('product = "CD22 CAR-T"', 'product = "CD30 CAR-T"'),
     Problem("study.toml", None, "plan.population[5].product", "CD30 CAR-T", "not one of plan.products")),
    (POPULATIONS.replace('rule = "per protocol"', 'rule = "per protocol"\nflag = "evaluable"'),
     Problem("study.toml", None, "plan.population[6].flag", "evaluable", "no such column in the patients table")),
    (POPULATIONS.replace('label = "All randomised"', 'lable = "All randomised"'),
     Problem("study.toml", None, "plan.population[1].lable", "All randomised",
             "unknown key 'plan.population[1].lable'")),
    (POPULATIONS.replace('name = "CD22"', 'name = "infused"'),
     Problem("study.toml", None, "plan.population[5].name", "infused", "population name given twice")),
])
def test_population_plan_problems(tmp_path, text, problem):
    problems = validate_study(_write(tmp_path, randomised_tables(), toml=STUDY_TOML + text))
    assert problem in problems, problems


def test_per_protocol_flag_must_be_true_false(tmp_path):
    t = randomised_tables()
    t["patients"][0]["evaluable"] = "maybe"
    text = POPULATIONS.replace('rule = "per protocol"', 'rule = "per protocol"\nflag = "evaluable"')
    problems = validate_study(_write(tmp_path, t, toml=STUDY_TOML + text))
    assert Problem("study.toml", None, "plan.population[6].flag", "evaluable",
                   "patients.evaluable is not a true/false column (value 'maybe')") in problems


# --------------------------------------------------------------------------- never infused, milestones


def test_patient_never_infused_without_reason_or_arm_is_a_warning(tmp_path):
    t = base_tables()
    t["patients"].append({"patient_id": "P3", "age": 61, "sex": "female", "diagnosis": "DLBCL"})
    problems = validate_study(write_study(tmp_path, t))
    assert problems == [Problem(
        "patients.csv", 4, "never_infused_reason", "P3",
        "patient has no infusion (no infusions row) and no never_infused_reason or arm: counted in the "
        "enrolled population only; add the infusion, or say why the patient was never infused", "warning")]


@pytest.mark.parametrize("extra", [{"never_infused_reason": "death"}, {"arm": "standard of care"}])
def test_patient_never_infused_with_reason_or_arm_is_clean(tmp_path, extra):
    t = base_tables()
    t["patients"].append({"patient_id": "P3", "age": 61, "sex": "female", "diagnosis": "DLBCL", **extra})
    assert validate_study(write_study(tmp_path, t)) == []


def test_never_infused_reason_on_an_infused_patient_is_an_error(tmp_path):
    t = base_tables()
    t["patients"][1]["never_infused_reason"] = "withdrawal"
    problems = validate_study(write_study(tmp_path, t))
    assert problems == [Problem("patients.csv", 3, "never_infused_reason", "withdrawal",
                                "never_infused_reason given, but the patient was infused on 2019-02-01")]


def test_unknown_never_infused_reason(tmp_path):
    t = base_tables()
    t["patients"].append({"patient_id": "P3", "age": 61, "sex": "female", "diagnosis": "DLBCL",
                          "never_infused_reason": "insurance"})
    problems = validate_study(write_study(tmp_path, t))
    assert [(p.row, p.column, p.value) for p in problems if p.is_error] == [(4, "never_infused_reason", "insurance")]


@pytest.mark.parametrize("values, row, column, value, rule", [
    ({"randomisation_date": "2019-01-11"}, 2, "randomisation_date", "2019-01-11",
     "the first infusion (2019-01-10) is before randomisation (2019-01-11)"),
    ({"leukapheresis_date": "2019-02-01"}, 2, "leukapheresis_date", "2019-02-01",
     "the first infusion (2019-01-10) is before leukapheresis (2019-02-01)"),
    ({"enrolment_date": "2018-12-05", "leukapheresis_date": "2018-12-01"}, 2, "leukapheresis_date", "2018-12-01",
     "leukapheresis (2018-12-01) is before enrolment (2018-12-05)"),
    ({"enrolment_date": "2018-12-05", "randomisation_date": "2018-12-04"}, 2, "randomisation_date", "2018-12-04",
     "randomisation (2018-12-04) is before enrolment (2018-12-05)"),
])
def test_impossible_milestone_order(tmp_path, values, row, column, value, rule):
    t = base_tables()
    t["patients"][0].update(values)
    problems = validate_study(write_study(tmp_path, t))
    assert Problem("patients.csv", row, column, value, rule) in problems, problems
    assert all(p.row == row and p.file == "patients.csv" for p in problems)


def test_milestone_after_death_and_after_cutoff(tmp_path):
    t = base_tables()
    t["patients"].append({"patient_id": "P3", "age": 61, "sex": "female", "diagnosis": "DLBCL", "arm": "SOC",
                          "randomisation_date": "2019-05-02", "enrolment_date": "2020-09-01"})
    t["events"].append({"patient_id": "P3", "kind": "death", "date": "2019-05-01"})
    problems = validate_study(write_study(tmp_path, t))
    assert Problem("patients.csv", 4, "randomisation_date", "2019-05-02",
                   "dated after the patient's death on 2019-05-01") in problems
    assert Problem("patients.csv", 4, "enrolment_date", "2020-09-01", "after the data cut-off 2020-08-31") in problems


def test_event_before_randomisation_warns_and_after_counts(tmp_path):
    t = randomised_tables()
    t["events"].append({"patient_id": "P4", "kind": "progression", "date": "2019-02-20"})  # before 2019-03-02
    t["events"].append({"patient_id": "P3", "kind": "progression", "date": "2019-04-01"})  # never infused: fine
    problems = validate_study(_write(tmp_path, t))
    assert [(p.file, p.value, p.severity) for p in problems] == [("events.csv", "2019-02-20", "warning")]
    assert problems[0].rule.startswith("progression before the patient's first milestone (2019-03-02")


def test_load_keeps_milestones_as_dates(tmp_path):
    study = load_study(_write(tmp_path, randomised_tables()))
    p3 = study.patients.filter(study.patients["patient_id"] == "P3").row(0, named=True)
    assert p3["randomisation_date"] == dt.date(2019, 3, 1)
    assert p3["never_infused_reason"] == "manufacturing failure"
