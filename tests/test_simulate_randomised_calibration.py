"""The simulated randomised study's CAR-T arm is calibrated to ZUMA-7's axi-cel arm (Locke FL et al., N Engl J
Med 2022;386:640: ITT ORR 83%, CR 65%; 170 of 180 infused), simulate/designs.py CAR_T_ARM_LYMPHOMA_P and
NEVER_INFUSED_CAR_T: the ITT rates cartkit reports (population_response_rates, the never infused as
non-responders) are within 4 binomial standard errors of ZUMA-7's on a 4,000-patient simulation. Before the
calibration they were 46.9% / 38.0%, below the standard-of-care arm's 50%."""
from __future__ import annotations

import math

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.simulate import simulate_study
from cartkit.simulate.designs import SOC_CR, SOC_ORR, ZUMA7_ITT_CR, ZUMA7_ITT_ORR


@pytest.mark.slow
def test_car_t_arm_itt_orr_and_cr_are_zuma7s(tmp_path):
    folder = simulate_study(tmp_path / "rct", patients=4000, seed=11, design="randomised")
    study = cartkit.load_study(folder)
    rates = analyse(study, derive(study)).get("population_response_rates").filter(
        (pl.col("population") == "ITT") & (pl.col("diagnosis") == "All") & pl.col("planned_day").is_null())
    by_arm = {r["group"]: r for r in rates.iter_rows(named=True)}
    car_t = by_arm["CAR-T"]
    n = car_t["n"]
    assert n > 1800 and car_t["n_infused"] / n == pytest.approx(170 / 180, abs=4 * math.sqrt(0.056 * 0.944 / n))
    for got, target in ((car_t["orr"], ZUMA7_ITT_ORR), (car_t["cr"], ZUMA7_ITT_CR)):
        se = math.sqrt(target * (1 - target) / n)
        assert abs(got - target) < 4 * se, (got, target, se)
    soc = by_arm["standard of care"]  # unchanged: ZUMA-7's SOC arm (ORR 50%, CR 32%)
    for got, target in ((soc["orr"], SOC_ORR), (soc["cr"], SOC_CR)):
        assert abs(got - target) < 4 * math.sqrt(target * (1 - target) / soc["n"]), (got, target)
    assert car_t["orr"] > soc["orr"] and car_t["cr"] > soc["cr"]
