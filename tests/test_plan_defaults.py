"""Plan defaults (R's conventions, current criteria) and the labels of recorded grades.

An empty plan grades by ASTCT 2019 and CTCAE v5.0 and summarises as R does (quantile type 7,
``wilcox.test(correct = TRUE)``); the seed states its own choices in its study.toml. A recorded
grade is labelled with the system its adverse-events row names (``grading_system``), whatever the
plan's default, and is compared with the counts graded under that same version.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import polars as pl
from study_rows import make_study

from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.study.model import Plan
from cartkit.study.plan import read_study_toml

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
D0 = dt.date(2020, 1, 1)


def test_an_empty_plan_defaults_to_current_criteria_and_r_conventions(tmp_path):
    (tmp_path / "study.toml").write_text('[study]\nid = "new"\n', encoding="utf-8")
    config, problems = read_study_toml(tmp_path)
    assert problems == []
    plan = config.plan
    assert (plan.crs_system, plan.icans_system, plan.ctcae_version) == ("astct2019", "astct2019", "5.0")
    assert plan.quantile_method == "r7"  # R's quantile(type = 7)
    assert plan.rank_correction is True  # R's wilcox.test(correct = TRUE)
    assert Plan() == plan.__class__(**{**plan.__dict__})  # the dataclass and the reader agree
    assert (Plan().crs_system, Plan().ctcae_version, Plan().quantile_method) == ("astct2019", "5.0", "r7")


def test_the_seed_states_its_own_choices():
    plan = tomllib.loads((SEED / "study.toml").read_text(encoding="utf-8"))["plan"]
    assert {k: plan[k] for k in ("crs_system", "icans_system", "ctcae_version", "quantile_method",
                                 "rank_correction")} == {
        "crs_system": "ctcae4.03", "icans_system": "astct2019", "ctcae_version": "4.03",
        "quantile_method": "spss", "rank_correction": False}


def _study(adverse_events, measurements=(), plan: Plan | None = None):
    patients = [dict(patient_id=p, age=50.0, sex="female", diagnosis="DLBCL") for p in "ABCD"]
    infusions = [dict(patient_id=p, episode=e, product=f"{target} CAR-T", target=target,
                      infusion_date=D0 + dt.timedelta(days=90 * (e - 1) + i))
                 for i, p in enumerate("ABCD") for e, target in ((1, "CD19"), (2, "CD22"))]
    study = make_study(patients=patients, infusions=infusions, adverse_events=list(adverse_events),
                       measurements=list(measurements))
    study.plan = plan or Plan(products=("CD19 CAR-T", "CD22 CAR-T"), diseases=("DLBCL",))
    return study


def test_recorded_crs_grades_carry_the_system_the_data_name():
    # the adverse-events table records ASTCT 2019 CRS grades; the plan still says CTCAE v4.03
    ae = [dict(patient_id=p, episode=e, term="cytokine release syndrome", grade=g, grading_system="astct2019")
          for p, e, g in (("A", 1, 1), ("B", 1, 2), ("C", 2, 1), ("D", 2, 3))]
    plan = Plan(products=("CD19 CAR-T", "CD22 CAR-T"), diseases=("DLBCL",), crs_system="ctcae4.03")
    study = _study(ae, plan=plan)
    derived = derive(study)
    assert set(derived.crs["system"]) == {"astct2019"}  # grade 0 episodes too: the data's system
    results = analyse(study, derived)
    crs = results.get("grade_compare").filter(pl.col("toxicity") == "CRS").row(0, named=True)
    assert crs["system"] == "astct2019"
    grading = dict(results.get("methods").rows())["Toxicity grading"]
    assert grading.startswith("CRS graded with ASTCT consensus 2019")
    assert "CTCAE v4.03" not in grading


def test_recorded_haematological_grades_keep_their_ctcae_version():
    # ANC nadir 1.2 x 10^9/L: CTCAE v4.03 / v5.0 grade 2 (< 1.5), v6.0 grade 1 (< 1.5; grade 2 is < 1.0)
    counts = [dict(patient_id=p, episode=1, day=d, analyte="anc", value=v, unit="10^9/L", lln=1.8)
              for p in "AB" for d, v in ((0, 2.5), (7, 1.2), (14, 2.0))]
    ae = [dict(patient_id="A", episode=1, term="neutrophil count decreased", grade=1, grading_system="ctcae6.0"),
          dict(patient_id="B", episode=1, term="neutrophil count decreased", grade=3, grading_system="ctcae6.0")]
    plan = Plan(products=("CD19 CAR-T", "CD22 CAR-T"), diseases=("DLBCL",), ctcae_version="4.03")
    study = _study(ae, counts, plan=plan)
    derived = derive(study)
    neutropenia = derived.hematologic.filter(pl.col("toxicity") == "Neutropenia")
    assert set(neutropenia["system"]) == {"ctcae6.0"}
    # A's recorded v6.0 grade 1 agrees with the counts under v6.0; under v4.03 they would give 2
    anc = derived.disagreements.filter(pl.col("item") == "neutrophil count decreased")
    assert anc.select("patient_id", "recorded", "derived", "note").rows() == [("B", "3", "1", "grades differ")]
    results = analyse(study, derived)
    row = results.get("grade_compare").filter(pl.col("toxicity") == "Neutropenia").row(0, named=True)
    assert row["system"] == "ctcae6.0"
    assert "NCI CTCAE v6.0" in dict(results.get("methods").rows())["Toxicity grading"]
