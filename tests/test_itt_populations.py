"""Each table is on the set it counted, with that set's N (issue 10): on a simulated randomised study (CAR-T vs
standard of care with crossover), the response rates by intention to treat count every randomised patient of
the CAR-T arm, the never infused as non-responders; the standard-of-care arm has no recorded response to its
own treatment; toxicity tables are on the safety set (the infused patients); every footnote names its set and
N. Then the planned days' "follow-up not reached", and the first-response origin (duration of response) and
"no response by day N" by each disease's own ORR rule (a B-ALL PR is not a response, a lymphoma PR is)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.analysis.response_days import episode_follow_up, response_at_days, response_day_rates
from cartkit.derive import derive
from cartkit.report.html import build_sections
from cartkit.simulate import simulate_study
from cartkit.study.model import Plan, Study, StudyMeta
from cartkit.study.plan_endpoint import EndpointPlan, HsctRule
from cartkit.survival.events import endpoint_times

D = dt.date
CAR_T, SOC = "CAR-T", "standard of care"


@pytest.fixture(scope="module")
def rct(tmp_path_factory):
    folder = simulate_study(tmp_path_factory.mktemp("rct") / "study", patients=40, seed=3, format="csv",
                            design="randomised", crossover=True)
    study = cartkit.load_study(folder)
    return study, analyse(study, derive(study))


def _arm(study, arm: str) -> set[str]:
    return set(study.patients.filter(pl.col("arm") == arm)["patient_id"].to_list())


def test_itt_response_rate_counts_every_randomised_patient_of_the_arm(rct):
    study, results = rct
    infused = set(study.infusions["patient_id"].to_list())
    car_t = _arm(study, CAR_T)
    never = car_t - infused
    assert never and car_t & infused  # the study has both (15% of the CAR-T arm never infused)
    # by hand: lymphoma (Lugano) responders are CR and PR; the best response of each infused CAR-T-arm patient
    listing = results.get("responses").filter(pl.col("patient_id").is_in(list(car_t)))
    responders = listing.filter(pl.col("best_response").is_in(["CR", "PR"]))["patient_id"].n_unique()
    complete = listing.filter(pl.col("best_response") == "CR")["patient_id"].n_unique()
    rates = results.get("population_response_rates")
    row = rates.filter((pl.col("population") == "ITT") & (pl.col("group") == CAR_T) & (pl.col("diagnosis") == "All")
                       & pl.col("planned_day").is_null()).row(0, named=True)
    assert (row["group_by"], row["n"], row["n_infused"], row["n_never_infused"]) == (
        "arm", len(car_t), len(car_t & infused), len(never))
    assert (row["orr_n"], row["cr_n"]) == (responders, complete)
    assert row["orr"] == pytest.approx(responders / len(car_t), abs=1e-12)  # the never infused are non-responders
    # the infused-set rate by product is beside it, on the infused patients (crossover patients included)
    by_product = results.get("response_rates").filter(pl.col("diagnosis") == "All").row(0, named=True)
    assert by_product["n"] == len(infused)


def test_the_control_arm_is_counted_by_its_own_treatment(rct):
    study, results = rct
    soc = _arm(study, SOC)
    crossed = soc & set(study.infusions["patient_id"].to_list())
    assert crossed  # with crossover some standard-of-care patients got CAR-T after failure
    rows = results.get("population_response_rates").filter(pl.col("group") == SOC)
    assert rows.height and set(rows["n"].to_list()) == {len(soc)}
    assert set(rows["n_infused"].to_list()) == {len(crossed)}
    best = rows.filter(pl.col("planned_day").is_null())
    # by hand: each SOC patient's best episode-0 (standard-of-care) response, CR or PR responders
    own = study.assessments.filter((pl.col("episode") == 0) & (pl.col("day") >= 1))
    rank = {"CR": 0, "PR": 1, "SD": 2, "PD": 3}
    per = {}
    for pid, r in own.select("patient_id", "response").iter_rows():
        per[pid] = min(per.get(pid, 9), rank[r])
    assert set(per) <= soc
    assert set(best["orr_n"].to_list()) == {sum(v <= 1 for v in per.values())}
    assert set(best["cr_n"].to_list()) == {sum(v == 0 for v in per.values())}
    note = best["note"][0]
    assert "own treatment" in note and f"the {len(crossed)} patients of the arm infused with CAR-T later" in note
    planned = rows.filter(pl.col("planned_day").is_not_null())  # planned days count from a CAR-T infusion
    assert planned.height and planned["orr_n"].is_null().all()


def test_planned_days_on_itt_count_the_never_infused(rct):
    study, results = rct
    car_t = _arm(study, CAR_T)
    planned = results.get("planned_responses").filter(pl.col("patient_id").is_in(list(car_t)))
    rows = results.get("population_response_rates").filter(
        (pl.col("group") == CAR_T) & pl.col("planned_day").is_not_null() & (pl.col("diagnosis") == "DLBCL"))
    assert sorted(rows["planned_day"].to_list()) == [30, 90]
    for r in rows.to_dicts():
        day = planned.filter(pl.col("planned_day") == r["planned_day"])
        short = day.filter(~pl.col("follow_up_reached")).height
        hits = day.filter(pl.col("response").is_in(["CR", "PR"])).height
        assert (r["n"], r["not_reached"], r["orr_n"]) == (len(car_t) - short, short, hits)


def test_toxicity_tables_are_on_the_safety_set(rct):
    study, results = rct
    infused = study.infusions["patient_id"].n_unique()
    for name in ("adverse_event_incidence", "grade_counts", "syndrome_course_summary", "grading_systems"):
        entry = results.populations[name]
        assert (entry["population"], entry["n"]) == ("safety set", infused), name
        assert entry["description"] == f"safety set = infused (infused; N = {infused})"
    incidence = results.get("adverse_event_incidence")
    assert set(incidence["N"].to_list()) == {study.infusions.height}  # one infusion each: N = infused patients
    assert results.populations["baseline"]["description"] == f"ITT (all randomised; N = {study.patients.height})"
    assert results.populations["response_rates"]["description"] == f"infused (infused; N = {infused})"


def test_every_footnote_names_its_set_and_n(rct):
    study, results = rct
    n_all, infused = study.patients.height, study.infusions["patient_id"].n_unique()
    arms = {a: len(_arm(study, a)) for a in (CAR_T, SOC)}
    tables = {b.table.id: b.table for s in build_sections(results, {}) for b in s.blocks if b.table is not None}
    assert tables["response-rates-table"].footnotes[-1] == f"Population: infused (infused; N = {infused})."
    itt = tables["population-response-rates-itt"]
    assert itt.footnotes[-1] == (f"Population: ITT (all randomised; N = {n_all}: CAR-T {arms[CAR_T]}, standard of "
                                 f"care {arms[SOC]}).")
    never = arms[CAR_T] - len(_arm(study, CAR_T) & set(study.infusions["patient_id"].to_list()))
    assert f"{never} patient(s) never infused" in itt.footnotes[0] and "non-responders" in itt.footnotes[0]
    assert tables["adverse-events-table"].footnotes[-1] == f"Population: safety set = infused (infused; N = {infused})."
    methods = dict(results.get("methods").rows())["Analysis populations"]
    assert f"adverse events on safety set = infused (infused; N = {infused})" in methods


# --------------------------------------------------------------------------- planned days: follow-up not reached

KEYS = {"patient_id": pl.String, "episode": pl.Int64}


def test_follow_up_not_reached_is_left_out_of_the_day_not_a_non_responder():
    # all infused 2020-01-01; cut-off 2020-02-15 (day 45); planned lymphoma days 30 and 90, window 7
    infusions = pl.DataFrame({"patient_id": ["A", "B", "C", "E"], "episode": [1, 1, 1, 1],
                              "infusion_date": [D(2020, 1, 1)] * 4})
    events = pl.DataFrame([
        ("A", "last_contact", D(2020, 2, 14)),   # alive, followed to day 44: day 90 not reached
        ("B", "death", D(2020, 1, 20)),          # died on day 19: not responding at days 30 and 90
        ("C", "last_contact", D(2020, 6, 1)),    # a record after the cut-off: followed to the cut-off
        ("E", "progression", D(2020, 2, 1)),     # progressed on day 31: not responding at day 90
    ], schema=["patient_id", "kind", "date"], orient="row")
    follow = episode_follow_up(infusions, events, D(2020, 2, 15))
    got = {r["patient_id"]: (r["followed_to"], r["failure_day"]) for r in follow.to_dicts()}
    assert got == {"A": (44, None), "B": (19, 19), "C": (45, None), "E": (31, 31)}
    groups = pl.DataFrame([(p, 1, "X", "DLBCL") for p in "ABCE"],
                          schema={**KEYS, "product": pl.String, "diagnosis": pl.String}, orient="row")
    assessments = pl.DataFrame([("A", 1, 30, "PR"), ("C", 1, 29, "CR"), ("E", 1, 28, "SD")],
                               schema={**KEYS, "day": pl.Int64, "response": pl.String}, orient="row")
    listing, _ = response_at_days(assessments, groups, {"lymphoma": (30, 90)}, 7, follow)
    reached = {(r["patient_id"], r["planned_day"]): r["follow_up_reached"] for r in listing.to_dicts()}
    assert reached == {("A", 30): True, ("A", 90): False, ("B", 30): True, ("B", 90): True,
                       ("C", 30): True, ("C", 90): False, ("E", 30): True, ("E", 90): True}
    rates = {r["planned_day"]: r for r in response_day_rates(listing).to_dicts()}
    # day 30: A PR, C CR of 4 (B dead: not responding); day 90: B and E evaluable, neither responding; A, C not
    assert (rates[30]["n"], rates[30]["orr_n"], rates[30]["cr_n"], rates[30]["not_reached"]) == (4, 2, 1, 0)
    assert (rates[90]["n"], rates[90]["orr_n"], rates[90]["assessed"], rates[90]["not_reached"]) == (2, 0, 0, 2)


# --------------------------------------------------------------------------- first response by the disease's rule

def _response_study() -> tuple[Study, pl.DataFrame]:
    """L1 (DLBCL): PR on day 30, CR on day 60, progression on day 200; A1 (B-ALL): PR on day 14 (not a response
    under CR + CRi), CR on day 40, relapse on day 150; A2 (B-ALL): only a PR, on day 21."""
    day0 = D(2020, 1, 1)
    patients = pl.DataFrame({"patient_id": ["L1", "A1", "A2"], "diagnosis": ["DLBCL", "B-ALL", "B-ALL"]})
    infusions = pl.DataFrame({"patient_id": ["L1", "A1", "A2"], "episode": [1, 1, 1], "product": ["CD19"] * 3,
                              "infusion_date": [day0] * 3})
    at = [("L1", 30, "PR"), ("L1", 60, "CR"), ("A1", 14, "PR"), ("A1", 40, "CR"), ("A2", 21, "PR")]
    responses = pl.DataFrame([(p, 1, day0 + dt.timedelta(days=d), r) for p, d, r in at],
                             schema={**KEYS, "date": pl.Date, "response": pl.String}, orient="row")
    events = pl.DataFrame([
        ("L1", "progression", day0 + dt.timedelta(days=200), None),
        ("A1", "relapse", day0 + dt.timedelta(days=150), None),
        *[(p, "last_contact", D(2020, 12, 31), None) for p in ("L1", "A1", "A2")],
    ], schema=["patient_id", "kind", "date", "detail"], orient="row")
    study = Study(path=Path("."), meta=StudyMeta(id="hand", data_cutoff=D(2021, 1, 31)), plan=Plan(),
                  tables={"patients": patients, "infusions": infusions, "events": events})
    return study, responses


def test_duration_of_response_starts_at_the_first_response_of_the_disease():
    study, responses = _response_study()
    dor = EndpointPlan(name="DOR", origin="first response", events=("progression", "relapse", "death"),
                       hsct=HsctRule.IGNORE)
    out = {r["patient_id"]: r for r in endpoint_times(study, dor, responses=responses).to_dicts()}
    assert set(out) == {"L1", "A1"}  # A2's only PR is no B-ALL response: no duration of response
    assert (out["L1"]["origin_date"], out["L1"]["days"], out["L1"]["event"]) == (D(2020, 1, 31), 170, True)  # PR
    assert (out["A1"]["origin_date"], out["A1"]["days"], out["A1"]["event"]) == (D(2020, 2, 10), 110, True)  # CR
    rfs = EndpointPlan(name="RFS", origin="first complete response", events=("progression", "relapse", "death"),
                       hsct=HsctRule.IGNORE)
    complete = {r["patient_id"]: r["origin_date"] for r in endpoint_times(study, rfs, responses=responses).to_dicts()}
    assert complete == {"L1": D(2020, 3, 1), "A1": D(2020, 2, 10)}


def test_no_response_by_day_28_follows_the_disease_rule():
    study, responses = _response_study()
    efs = EndpointPlan(name="EFS", origin="first infusion", events=("relapse", "progression", "death"),
                       no_response_by_day=28, hsct=HsctRule.IGNORE)
    out = {r["patient_id"]: (r["days"], r["event"], r["kind"]) for r in
           endpoint_times(study, efs, responses=responses).to_dicts()}
    # A1 (PR day 14) and A2 (PR day 21): no B-ALL response by day 28 -> event on day 0; L1 has no assessment by
    # day 28 either (PR on day 30) -> event on day 0
    assert out == {"L1": (0, True, "no response by day 28"), "A1": (0, True, "no response by day 28"),
                   "A2": (0, True, "no response by day 28")}
    late = EndpointPlan(**{**efs.__dict__, "no_response_by_day": 35})
    out = {r["patient_id"]: (r["days"], r["kind"]) for r in endpoint_times(study, late, responses=responses).to_dicts()}
    # by day 35 the lymphoma PR (day 30) is a response; the B-ALL PRs are not
    assert out == {"L1": (200, "progression"), "A1": (0, "no response by day 35"), "A2": (0, "no response by day 35")}
