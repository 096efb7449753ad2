"""Responses to standard of care (issue 10): ``assessments`` episode 0 is the randomised treatment before any
CAR-T infusion, its day 0 the randomisation date (docs/plan.md "Responses to standard of care"). On a small
simulated randomised study (CAR-T vs standard of care with crossover) the SOC arm's ITT ORR and CR rate are its
own treatment's responses, counted by hand from the files, never a CAR-T response after crossover; the arms
are compared by the plan's test (Fisher's exact P and Newcombe's interval checked against R). Validation
locates an episode-0 row without a randomisation date, without an arm, or after the CAR-T infusion."""

from __future__ import annotations

import datetime as dt
import shutil

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.analysis.populations import Population
from cartkit.analysis.responses import (
    population_response_rates,
    population_response_tests,
    randomised_treatment_best,
)
from cartkit.derive import derive
from cartkit.report.html import build_sections
from cartkit.simulate import simulate_study
from cartkit.study.plan_population import PopulationPlan
from cartkit.study.validate import validate_study

CAR_T, SOC = "CAR-T", "standard of care"
RANK = {"CR": 0, "PR": 1, "SD": 2, "PD": 3}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return simulate_study(tmp_path_factory.mktemp("soc") / "study", patients=40, seed=3, format="csv",
                          design="randomised", crossover=True)


@pytest.fixture(scope="module")
def rct(folder):
    study = cartkit.load_study(folder)
    return study, analyse(study, derive(study))


def test_the_simulator_writes_one_soc_response_per_soc_patient_before_any_crossover(folder):
    a = pl.read_csv(folder / "assessments.csv", try_parse_dates=True)
    p = pl.read_csv(folder / "patients.csv", try_parse_dates=True)
    inf = pl.read_csv(folder / "infusions.csv", try_parse_dates=True)
    soc = a.filter(pl.col("episode") == 0).join(p.select("patient_id", "arm", "randomisation_date"), on="patient_id")
    assert soc.height and set(soc["arm"].to_list()) == {SOC}
    assert soc["patient_id"].n_unique() == soc.height  # one a patient
    assert (soc["date"] - soc["randomisation_date"]).dt.total_days().to_list() == soc["day"].to_list()
    crossed = soc.join(inf.select("patient_id", "infusion_date"), on="patient_id")
    assert crossed.height and (crossed["date"] < crossed["infusion_date"]).all()  # before the crossover infusion
    assert set(soc["response"].to_list()) <= set(RANK)


def test_soc_itt_rates_by_hand_and_crossover_car_t_responses_not_counted(rct):
    study, results = rct
    soc = set(study.patients.filter(pl.col("arm") == SOC)["patient_id"].to_list())
    own = {}
    for pid, r in study.assessments.filter(pl.col("episode") == 0).select("patient_id", "response").iter_rows():
        own[pid] = min(own.get(pid, 9), RANK[r])
    orr, cr = sum(v <= 1 for v in own.values()), sum(v == 0 for v in own.values())
    row = results.get("population_response_rates").filter(
        (pl.col("group") == SOC) & (pl.col("diagnosis") == "All") & pl.col("planned_day").is_null()).row(0, named=True)
    assert (row["n"], row["orr_n"], row["cr_n"]) == (len(soc), orr, cr)
    assert row["orr"] == pytest.approx(orr / len(soc), abs=1e-12)
    # crossover patients are in the SOC denominator by their SOC response (their CAR-T responses are in the
    # infused-set tables; the unit test below has one whose CAR-T CR is not counted)
    crossed = soc & set(results.get("responses")["patient_id"].to_list())
    assert crossed and row["n_infused"] == len(crossed)
    tables = {b.table.id: b.table for s in build_sections(results, {}) for b in s.blocks if b.table is not None}
    assert "response after the CAR-T infusion belongs to the CAR-T episode" in " ".join(
        tables["population-response-rates-itt"].footnotes)


# R 4.x (tests/r_reference_soc_responses.R): fisher.test P and Newcombe's method 10 interval from R's Wilson
# intervals (prop.test(correct = FALSE)), for the ITT counts of this simulated study (CAR-T x/n, SOC x/n)
R_REFERENCE = {
    (19, 22, 12, 18): (0.2534303534, -0.0635861967, 0.4427710789),  # ORR
    (15, 22, 7, 18): (0.1098362763, -0.0138551848, 0.5346499599),  # CR rate
}


def test_by_arm_comparison_matches_r(rct):
    study, results = rct
    tests = results.get("population_response_tests")
    assert tests is not None and tests.height == 4  # ORR and CR rate, DLBCL and All
    rates = results.get("population_response_rates").filter(pl.col("planned_day").is_null() &
                                                             (pl.col("diagnosis") == "All"))
    by = {r["group"]: r for r in rates.to_dicts()}
    for r in tests.filter(pl.col("diagnosis") == "All").to_dicts():
        col = "orr_n" if r["measure"] == "ORR" else "cr_n"
        assert (r["comparison"], r["reference"]) == (f"{CAR_T} vs {SOC}", SOC)
        assert (r["x_a"], r["n_a"], r["x_b"], r["n_b"]) == (by[CAR_T][col], by[CAR_T]["n"], by[SOC][col], by[SOC]["n"])
        ref = R_REFERENCE[(r["x_a"], r["n_a"], r["x_b"], r["n_b"])]
        assert r["pvalue"] == pytest.approx(ref[0], abs=1e-6)
        assert (r["difference_lower"], r["difference_upper"]) == pytest.approx(ref[1:], abs=1e-6)
    assert results.populations["population_response_tests"]["population"] == "ITT"
    # a lymphoma study: no myeloma / CLL categories by intention to treat, with the reason
    assert results.get("population_disease_responses") is None
    assert results.omitted["population_disease_responses"] == "no myeloma or CLL patient in the intention-to-treat " \
        "populations"


def test_no_soc_responses_gives_n_and_no_rate():
    pop = Population(PopulationPlan(name="ITT", rule="randomised", primary=True),
                     pl.DataFrame({"patient_id": ["C1", "C2", "S1", "S2", "S3"]}),
                     pl.DataFrame({"patient_id": ["C1", "S3"], "episode": [1, 1], "product": ["X", "X"]}))
    patients = pl.DataFrame({"patient_id": ["C1", "C2", "S1", "S2", "S3"], "diagnosis": ["DLBCL"] * 5,
                             "arm": [CAR_T, CAR_T, SOC, SOC, SOC]})
    listing = pl.DataFrame({"patient_id": ["C1", "S3"], "episode": [1, 1], "best_response": ["CR", "CR"]})
    none = population_response_rates(pop, patients, listing, None, ("X",), ("DLBCL",), SOC)
    soc = none.filter((pl.col("group") == SOC) & (pl.col("diagnosis") == "All")).row(0, named=True)
    assert (soc["n"], soc["orr_n"]) == (3, None) and "not recorded" in soc["note"]
    assert population_response_tests(none, SOC).height == 0
    # S1 PR and S3 PD to standard of care (S3 then crossed over to CAR-T and reached CR: not counted); S2 none
    assessments = pl.DataFrame({"patient_id": ["S1", "S1", "S3", "C1"], "episode": [0, 0, 0, 1],
                                "day": [-5, 40, 30, 30], "response": ["PD", "PR", "PD", "CR"]})
    own = randomised_treatment_best(assessments)
    assert dict(own.iter_rows()) == {"S1": "PR", "S3": "PD"}  # day -5 is before randomisation: not a response
    rated = population_response_rates(pop, patients, listing, None, ("X",), ("DLBCL",), SOC, control_best=own)
    got = {r["group"]: (r["n"], r["orr_n"], r["cr_n"], r["n_infused"]) for r in
           rated.filter(pl.col("diagnosis") == "All").to_dicts()}
    assert got == {CAR_T: (2, 1, 1, 1), SOC: (3, 1, 0, 1)}
    compared = population_response_tests(rated, SOC).filter(pl.col("diagnosis") == "All")
    orr = compared.filter(pl.col("measure") == "ORR").row(0, named=True)
    assert (orr["x_a"], orr["n_a"], orr["x_b"], orr["n_b"]) == (1, 2, 1, 3)
    assert orr["pvalue"] == pytest.approx(1.0, abs=1e-12)  # R: fisher.test(matrix(c(1, 1, 1, 2), 2)) -> 1


# --------------------------------------------------------------------------- validation, located

def _copy(folder, tmp_path):
    out = tmp_path / "study"
    shutil.copytree(folder, out)
    return out


def _problems(path):
    return [p for p in validate_study(path) if p.severity == "error"]


def test_episode_0_needs_a_randomisation_date_and_an_arm(folder, tmp_path):
    out = _copy(folder, tmp_path)
    p = pl.read_csv(out / "patients.csv", infer_schema=False)
    a = pl.read_csv(out / "assessments.csv", infer_schema=False)
    zero = a.with_row_index("line", offset=2).filter(pl.col("episode") == "0")
    first, second = zero["patient_id"][0], zero["patient_id"][1]
    line1, line2 = zero["line"][0], zero["line"][1]
    p = p.with_columns(
        randomisation_date=pl.when(pl.col("patient_id") == first).then(None).otherwise(pl.col("randomisation_date")),
        arm=pl.when(pl.col("patient_id") == second).then(None).otherwise(pl.col("arm")))
    p.write_csv(out / "patients.csv")
    found = {(x.file, x.row, x.column): x.rule for x in _problems(out) if x.file == "assessments.csv"}
    assert "has no randomisation_date" in found[("assessments.csv", line1, "episode")]
    assert "has no arm" in found[("assessments.csv", line2, "episode")]


def test_episode_0_after_the_car_t_infusion_belongs_to_the_car_t_episode(folder, tmp_path):
    out = _copy(folder, tmp_path)
    a = pl.read_csv(out / "assessments.csv", infer_schema=False)
    inf = pl.read_csv(out / "infusions.csv", try_parse_dates=True)
    zero = a.with_row_index("line", offset=2).filter(pl.col("episode") == "0").join(
        inf.select("patient_id", "infusion_date"), on="patient_id")
    pid, line = zero["patient_id"][0], zero["line"][0]
    late = (zero["infusion_date"][0] + dt.timedelta(days=10)).isoformat()
    a = a.with_row_index("line", offset=2).with_columns(
        date=pl.when(pl.col("line") == line).then(pl.lit(late)).otherwise(pl.col("date")),
        day=pl.when(pl.col("line") == line).then(None).otherwise(pl.col("day"))).drop("line")
    a.write_csv(out / "assessments.csv")
    found = [x for x in _problems(out) if x.file == "assessments.csv" and x.row == line]
    assert len(found) == 1 and found[0].column == "date" and found[0].value == late, (pid, found)
    assert "after crossover a response belongs to the CAR-T episode" in found[0].rule
    assert found[0].kind == "randomised-treatment assessment after the CAR-T infusion"


def test_episode_0_only_in_assessments(folder, tmp_path):
    out = _copy(folder, tmp_path)
    m = pl.read_csv(out / "neuro.csv", infer_schema=False)
    m = m.with_columns(episode=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("0")).otherwise(pl.col("episode")))
    m.write_csv(out / "neuro.csv")
    found = [(x.row, x.column, x.rule) for x in _problems(out) if x.file == "neuro.csv"]
    pid = m["patient_id"][0]
    assert found == [(2, "episode", "impossible value: must be at least 1"),
                     (2, "episode", f"unknown episode: no infusion of patient {pid} episode 0 in infusions")]


def test_myeloma_categories_by_intention_to_treat_by_hand():
    from cartkit.analysis.responses import population_disease_responses
    from cartkit.report.tables import population_disease_response_tables

    # CAR-T arm: C1 sCR (MRD-negative), C2 VGPR, C3 infused with no response, C4 never infused; SOC arm: S1 PR and
    # S2 PD to standard of care, S2 then crossed over to CAR-T and reached CR (not counted in the SOC arm)
    ids = ["C1", "C2", "C3", "C4", "S1", "S2"]
    pop = Population(PopulationPlan(name="ITT", rule="randomised", primary=True), pl.DataFrame({"patient_id": ids}),
                     pl.DataFrame({"patient_id": ["C1", "C2", "C3", "S2"], "episode": [1] * 4, "product": ["X"] * 4}))
    patients = pl.DataFrame({"patient_id": ids, "diagnosis": ["MM"] * 6, "arm": [CAR_T] * 4 + [SOC] * 2,
                             "never_infused_reason": [None, None, None, "death", None, None]})
    listing = pl.DataFrame({"patient_id": ["C1", "C2", "C3", "S2"], "episode": [1] * 4,
                            "best_response": ["sCR", "VGPR", None, "CR"]})
    best = pl.DataFrame({"patient_id": ["C1", "C2", "C3", "S2"], "episode": [1] * 4,
                         "mrd_negative_cr": [True, None, None, True]})
    own = pl.DataFrame({"patient_id": ["S1", "S2"], "best_response": ["PR", "PD"]})
    t = population_disease_responses(pop, patients, listing, best, ("MM",), SOC, own)
    got = {(r["group"], r["category"]): (r["n"], r["N"]) for r in t.to_dicts() if r["n"]}
    assert got == {(CAR_T, "sCR"): (1, 4), (CAR_T, "VGPR"): (1, 4), (CAR_T, "not evaluable"): (1, 4),
                   (CAR_T, "never infused"): (1, 4), (CAR_T, "MRD-negative CR (10^-5)"): (1, 4),
                   (SOC, "PR"): (1, 2), (SOC, "PD"): (1, 2)}
    assert set(t["criteria"].to_list()) == {"IMWG 2016"} and set(t["population"].to_list()) == {"ITT"}
    # without SOC responses the standard-of-care arm (no never_infused_reason) is left out, as its rates are
    none = population_disease_responses(pop, patients, listing, best, ("MM",), SOC, None)
    assert set(none["group"].to_list()) == {CAR_T}
    table = population_disease_response_tables(t)[0]
    assert table.id == "myeloma-responses-itt-itt" and table.footnotes[-1] == f"Population: ITT (N = 6: {CAR_T} 4, {SOC} 2)."


def test_episode_0_of_a_car_t_arm_patient_is_a_located_warning(folder, tmp_path):
    """An episode-0 row (a response to the randomised standard of care) of a patient in the CAR-T arm is not
    counted (only the control arm's rate counts episode 0, analysis/populations.control_arm): a warning at its
    row, column episode, value 0, never silent; the simulated SOC arm's own episode-0 rows are not warned about."""
    out = _copy(folder, tmp_path)
    assert not [x for x in validate_study(out) if x.kind == "randomised-treatment assessment of a patient outside "
                                                                "the control arm"]
    p = pl.read_csv(out / "patients.csv", try_parse_dates=True)
    a = pl.read_csv(out / "assessments.csv", infer_schema=False)
    car_t = p.filter(pl.col("arm") == CAR_T).sort("patient_id").row(0, named=True)
    day1 = (car_t["randomisation_date"] + dt.timedelta(days=1)).isoformat()
    soc_row = a.filter(pl.col("episode") == "0").head(1).with_columns(
        patient_id=pl.lit(car_t["patient_id"]), date=pl.lit(day1), day=pl.lit("1"))
    pl.concat([a, soc_row]).write_csv(out / "assessments.csv")
    line = a.height + 2  # the header is line 1
    found = [x for x in validate_study(out) if x.file == "assessments.csv" and x.row == line]
    assert [(x.severity, x.column, x.value) for x in found] == [("warning", "episode", "0")], found
    assert found[0].rule == (f"episode 0 is a response to the randomised treatment, counted only in the control arm "
                             f"({SOC}): patient {car_t['patient_id']} is in arm {CAR_T}, so this row is not counted; "
                             "a response to CAR-T belongs to its CAR-T episode (that episode and its day from the "
                             "infusion)")
