"""Methods describe the analysis populations ([[plan.population]]) and the time-to-event endpoints
([[plan.endpoint]]: origin, events, censoring, HSCT), written from the plan and the results."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.simulate import simulate_study

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"


def _methods(folder: Path) -> tuple[object, dict[str, str]]:
    study = cartkit.load_study(folder)
    results = analyse(study, derive(study))
    return study, dict(results.get("methods").rows())


def test_the_seed_methods_name_its_one_population_and_leave_endpoints_to_survival():
    _, methods = _methods(SEED)
    assert list(methods)[0] == "Analysis populations"
    assert methods["Analysis populations"] == (
        "Primary population: infused (infused; N = 13; all 13 infused). Baseline characteristics, responses, "
        "adverse events, kinetics, comparisons between groups, each patient's course and follow-up are on the "
        "primary population (its infusions for what is about an infusion); survival ([plan.survival]) on every "
        "patient with its time origin.")
    assert "Time-to-event endpoints" not in methods  # the seed states no [[plan.endpoint]]: "Survival" says it all
    assert methods["Survival"].startswith("Time zero: each patient's first infusion of CD22 CAR-T")


@pytest.fixture(scope="module")
def randomised(tmp_path_factory):
    folder = simulate_study(tmp_path_factory.mktemp("rct") / "study", patients=120, seed=3, format="csv",
                            design="randomised")
    return _methods(folder)


def test_a_randomised_study_states_its_populations_with_their_n(randomised):
    study, methods = randomised
    patients = study.patients
    infused = set(study.infusions["patient_id"].to_list())
    randomised_ids = patients.filter(pl.col("randomisation_date").is_not_null())
    arms = randomised_ids.group_by("arm").len().sort("arm")
    n_inf = sum(1 for p in randomised_ids["patient_id"].to_list() if p in infused)
    by_arm = ", ".join(f"{a} {n}" for a, n in arms.iter_rows())
    cart_infused = patients.filter(pl.col("patient_id").is_in(list(infused))).height
    assert methods["Analysis populations"].startswith(
        f"Primary population: ITT (all randomised; N = {randomised_ids.height}: {by_arm}; {n_inf} infused, "
        f"{randomised_ids.height - n_inf} never infused). Other population: infused (infused; N = {cart_infused}: "
        f"CAR-T {cart_infused}; all {cart_infused} infused).")
    assert methods["Analysis populations"].endswith(
        "each time-to-event endpoint on the populations it names ([[plan.endpoint]]).")


def test_a_randomised_study_states_each_endpoint(randomised):
    study, methods = randomised
    text = methods["Time-to-event endpoints"]
    cutoff = study.meta.data_cutoff
    assert text.startswith(
        "EFS (Event-free survival): from randomisation (patients.randomisation_date) to the first progression, "
        "relapse, new therapy or death; otherwise censored at the last record, capped at the data cut-off "
        f"({cutoff}); allogeneic HSCT after the origin: not censored (follow-up goes on). On ITT (N = "
        f"{study.patients['randomisation_date'].is_not_null().sum()}), by arm: Kaplan-Meier medians, the log-rank "
        "test and the Cox hazard ratio (Efron ties, Wald 95% CI) of each group against standard of care; times in "
        "months of 30.4375 days. OS (Overall survival): from randomisation")


def test_endpoint_rules_are_written_out(tmp_path, copy_seed):
    """No response by a day, censoring sources, the next infusion and a competing HSCT, on the seed's data."""
    folder = tmp_path / "study"
    copy_seed(folder)
    extra = """
[[plan.endpoint]]
name = "EFS"
origin = "first infusion"
events = ["relapse", "death"]
no_response_by_day = 28
censor_at = ["new_therapy"]
end_at_next_infusion = true
hsct = "competing"

[[plan.endpoint]]
name = "DOR"
label = "Duration of response"
origin = "first response"
events = ["progression", "relapse", "death"]
hsct = "exclude"
"""
    (folder / "study.toml").write_text((folder / "study.toml").read_text() + extra)
    _, methods = _methods(folder)
    text = methods["Time-to-event endpoints"]
    assert text.startswith(
        "EFS: from each patient's first CAR-T infusion to the first relapse or death; no response (by the ORR rule "
        "of the patient's own disease) within 28 days of the origin is an event, dated on day 0; censored at new therapy or the next CAR-T "
        "infusion if earlier; otherwise censored at the last record, capped at the data cut-off (2020-08-31); "
        "allogeneic HSCT after the origin: a competing event (the Kaplan-Meier, log-rank and Cox estimates are "
        "cause-specific). On infused (N = 13): Kaplan-Meier medians; times in days.")
    assert ("DOR (Duration of response): from the first response (by the ORR rule of the patient's own disease) to "
            "the first progression, "
            "relapse or death;") in text
    assert "allogeneic HSCT after the origin: patients transplanted after the origin are left out" in text
