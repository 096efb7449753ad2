"""Stein 2019 model fit: recovers known parameters of simulated patients; flags unsupported data."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from cartkit.kinetics import fit_stein, fit_stein_table, stein_curve
from cartkit.kinetics.stein_fit import PARAMETERS, log_stein_curve

# Typical values of Stein 2019 Table 2 except beta and FB, raised so that the persistence phase is
# visible within 6 months of dense sampling (with beta 0.0032/day it barely moves in that time).
TRUE = dict(cmax=24_000.0, tmax=9.3, foldx=3900.0, alpha=0.16, beta=0.01, fb=0.02)
# dense sampling: daily to day 27, then weekly to day 175 (50 samples)
DENSE_DAYS = np.concatenate([np.arange(0.5, 28, 1.0), np.arange(28, 182, 7.0)])


def test_log_curve_matches_stein_curve():
    t = np.array([0.0, 3.0, 9.3, 20.0, 200.0])
    np.testing.assert_allclose(np.exp(log_stein_curve(t, **TRUE)), stein_curve(t, **TRUE), rtol=1e-12)


def test_recovers_parameters_without_noise():
    fit = fit_stein(DENSE_DAYS, stein_curve(DENSE_DAYS, **TRUE))
    assert fit.converged, fit.reason
    for p in PARAMETERS:
        assert fit.estimates[p] == pytest.approx(TRUE[p], rel=1e-4), p
    assert fit.sigma < 1e-6
    np.testing.assert_allclose(fit.curve([5.0, 50.0]), stein_curve([5.0, 50.0], **TRUE), rtol=1e-4)
    assert fit.parameters is not None and fit.parameters.tmax == pytest.approx(9.3, rel=1e-4)


# Stated tolerances for one patient with log-normal residual SD 0.2 and the 50 dense samples above:
# relative error of the estimate (FOLDX as a fold ratio). Over 60 other simulated patients the 95th
# percentiles of the errors were cmax 0.13, tmax 0.04, FOLDX fold 1.31, alpha 0.09, beta 0.21, FB 0.34:
# Tmax is pinned by the kink, FOLDX only by the few samples before Tmax, FB and beta by the tail.
TOLERANCE = dict(cmax=0.25, tmax=0.08, foldx=None, alpha=0.20, beta=0.40, fb=0.50)
FOLDX_FOLD = 2.0


@pytest.mark.parametrize("seed", range(6))
def test_recovers_parameters_from_noisy_dense_samples(seed):
    rng = np.random.default_rng(seed)
    values = stein_curve(DENSE_DAYS, **TRUE) * np.exp(rng.normal(0.0, 0.2, DENSE_DAYS.size))
    fit = fit_stein(DENSE_DAYS, values)
    assert fit.converged, fit.reason
    for p, tol in TOLERANCE.items():
        if tol is not None:
            assert abs(fit.estimates[p] / TRUE[p] - 1) < tol, (p, fit.estimates[p])
    assert abs(math.log(fit.estimates["foldx"] / TRUE["foldx"])) < math.log(FOLDX_FOLD)
    assert fit.sigma == pytest.approx(0.2, rel=0.35)
    for p in PARAMETERS:
        assert fit.ci_lower[p] < fit.estimates[p] < fit.ci_upper[p]
        assert fit.std_errors[p] > 0
    assert fit.estimates["alpha"] > fit.estimates["beta"]


def test_confidence_intervals_cover_the_truth_mostly():
    # 10 simulated patients x 6 parameters: Wald 95% intervals on the log scale should cover the truth
    # in most cases (>= 80%; nonlinearity makes them somewhat liberal).
    covered = 0
    for seed in range(10, 20):
        rng = np.random.default_rng(seed)
        values = stein_curve(DENSE_DAYS, **TRUE) * np.exp(rng.normal(0.0, 0.2, DENSE_DAYS.size))
        fit = fit_stein(DENSE_DAYS, values, n_starts=6)
        covered += sum(fit.ci_lower[p] <= TRUE[p] <= fit.ci_upper[p] for p in PARAMETERS)
    assert covered >= 48


def test_fixed_parameters_allow_sparse_profiles():
    # the seed's schedule (days 4, 7, 14, 21, 28; day 0 BLQ): 5 points cannot carry 6 parameters
    days = np.array([0, 4, 7, 14, 21, 28], dtype=float)
    values = stein_curve(days, **TRUE)
    values[0] = 0.0
    fit = fit_stein(days, values)
    assert not fit.converged
    assert "cannot support 6 free parameters" in fit.reason
    assert math.isnan(fit.curve([10.0])[0])
    fit = fit_stein(days, values, fixed={"beta": TRUE["beta"], "fb": TRUE["fb"]})
    assert fit.converged, fit.reason
    assert fit.fixed == ("beta", "fb")
    assert fit.estimates["beta"] == TRUE["beta"] and math.isnan(fit.ci_lower["beta"])
    for p in ("cmax", "tmax", "foldx", "alpha"):
        assert fit.estimates[p] == pytest.approx(TRUE[p], rel=1e-3), p


def test_flags_too_few_points():
    fit = fit_stein([0, 4, 7, 14], [0, 100, 50, 10])
    assert not fit.converged and fit.reason == "fewer than 4 quantifiable points (n=3)"
    assert fit.parameters is None


def test_flags_no_decline_after_peak():
    days = np.arange(1, 12, 1.0)
    fit = fit_stein(days, np.exp(0.5 * days))
    assert not fit.converged and "no decline after the peak" in fit.reason


def test_flags_no_expansion_phase():
    days = np.arange(1, 30, 2.0)
    fit = fit_stein(days, 1000 * np.exp(-0.1 * days))
    assert not fit.converged and "before the peak" in fit.reason


def test_bad_input():
    with pytest.raises(ValueError, match="not Stein 2019 parameters"):
        fit_stein([1, 2, 3, 4], [1, 2, 1, 0.5], fixed={"ka": 1.0})
    with pytest.raises(ValueError, match="FB < 1"):
        fit_stein([1, 2, 3, 4], [1, 2, 1, 0.5], fixed={"fb": 1.5})
    with pytest.raises(ValueError, match=">= 0"):
        fit_stein([1, 2, 3, 4], [1, 2, -1, 0.5])


def test_table_carries_on_past_failures():
    rng = np.random.default_rng(3)
    good = stein_curve(DENSE_DAYS, **TRUE) * np.exp(rng.normal(0.0, 0.1, DENSE_DAYS.size))
    frame = pl.concat([
        pl.DataFrame({"patient_id": "P1", "episode": 1, "day": DENSE_DAYS, "value": good}),
        pl.DataFrame({"patient_id": "P2", "episode": 1, "day": [0.0, 4.0, 7.0], "value": [0.0, 10.0, 5.0]}),
    ])
    out = fit_stein_table(frame, n_starts=4)
    assert out["patient_id"].to_list() == ["P1", "P2"]
    assert out["converged"].to_list() == [True, False]
    assert out["reason"][1].startswith("fewer than 4 quantifiable points")
    assert out["tmax"][0] == pytest.approx(9.3, rel=0.1)
    assert out["tmax"][1] is None


def test_flags_repeated_days():
    fit = fit_stein([1, 1, 1, 2, 2], [5, 10, 8, 3, 2], fixed={"foldx": 100.0, "beta": 0.01, "fb": 0.02})
    assert not fit.converged and "distinct sampling days" in fit.reason


# --- analytic Jacobian (issue 16) ---------------------------------------

def _fd_jacobian(t, params: dict, h: float = 1e-6) -> np.ndarray:
    """Central differences of ln C over theta = (ln Cmax, ln Tmax, ln FOLDX, ln alpha, ln beta, logit FB)."""
    theta = np.array([math.log(params[p]) for p in PARAMETERS[:5]] + [math.log(params["fb"] / (1 - params["fb"]))])

    def natural(th):
        return dict(zip(PARAMETERS, [*np.exp(th[:5]), 1.0 / (1.0 + math.exp(-th[5]))], strict=True))

    cols = []
    for j in range(6):
        step = np.zeros(6)
        step[j] = h
        cols.append((log_stein_curve(t, **natural(theta + step)) - log_stein_curve(t, **natural(theta - step)))
                    / (2 * h))
    return np.column_stack(cols)


@pytest.mark.parametrize("params", [
    TRUE,
    dict(cmax=5684.2, tmax=11.13, foldx=24.58, alpha=0.1124, beta=0.0032, fb=0.0079),  # a seed fit
    dict(cmax=3.0, tmax=2.5, foldx=1.5, alpha=2.0, beta=0.5, fb=0.6),
])
def test_analytic_jacobian_equals_finite_differences(params):
    from cartkit.kinetics.stein_fit import log_stein_jacobian

    # days on both sides of Tmax, none within the difference step of the kink
    t = np.array([0.0, 0.7, 1.9, 4.0, 7.0, 14.0, 21.0, 28.0, 60.0, 180.0])
    t = t[np.abs(t - params["tmax"]) > 1e-3]
    analytic = log_stein_jacobian(t, **params)
    numeric = _fd_jacobian(t, params)
    assert analytic.shape == (t.size, 6)
    scale = np.maximum(np.abs(numeric), 1e-3)
    assert np.max(np.abs(analytic - numeric) / scale) < 1e-6


# Seed fits before the analytic Jacobian (finite-difference Jacobians, 4 starts each;
# examples/seed-study/measurements.csv, car_dna; beta and FB fixed as in the analysis).
SEED_FITS_BEFORE = {
    ("P1", 1): dict(cmax=5684.210621279848, tmax=11.128478996885306, foldx=24.57952073281355,
                    alpha=0.11241945686310346, alpha_lower=0.1060615416336174, alpha_upper=0.1191585006849399),
    ("P1", 2): dict(cmax=10672.861405540896, tmax=19.732921089325725, foldx=25.530996962746993,
                    alpha=0.111366538854074, alpha_lower=0.0001779011680101897, alpha_upper=69.71570853107373),
    ("P2", 1): dict(cmax=1013.0583171302911, tmax=7.010537206571366, foldx=7.47706197077541,
                    alpha=0.11113610011016764, alpha_lower=0.11087208968062066, alpha_upper=0.11140073920565852),
}
SEED_CAR_DNA = {  # days 0 (BLQ, 0.0), 4, 7, 14, 21, 28
    ("P1", 1): [0.0, 731.0, 1733.0, 4120.0, 1910.0, 887.0],
    ("P1", 2): [0.0, 692.0, 1641.0, 3900.0, 9279.0, 4299.0],
}


def test_seed_fits_unchanged_by_the_analytic_jacobian():
    from pathlib import Path

    from cartkit.analysis.cellular_kinetics import FIXED, N_STARTS

    csv = Path(__file__).resolve().parent.parent / "examples" / "seed-study" / "measurements.csv"
    m = pl.read_csv(csv, infer_schema_length=None).filter(pl.col("analyte") == "car_dna")
    for key, before in SEED_FITS_BEFORE.items():
        prof = m.filter((pl.col("patient_id") == key[0]) & (pl.col("episode") == key[1])).sort("day")
        if key in SEED_CAR_DNA:
            assert prof["value"].to_list() == SEED_CAR_DNA[key]
        fit = fit_stein(prof["day"].to_numpy(), prof["value"].to_numpy(), fixed=FIXED, n_starts=N_STARTS)
        assert fit.converged
        for name, value in before.items():
            got = fit.ci_lower["alpha"] if name == "alpha_lower" else \
                fit.ci_upper["alpha"] if name == "alpha_upper" else fit.estimates[name]
            assert got == pytest.approx(value, rel=1e-6), (key, name)



def test_reasons_are_neutral_text_with_codes_for_a_report_to_word():
    """The library says what the data lack, with a code per finding; advice (``fixed=``) is the docstring's."""
    days = np.array([0, 4, 7, 14, 21, 28], dtype=float)
    values = stein_curve(days, **TRUE)
    values[0] = 0.0
    fit = fit_stein(days, values)
    assert fit.problems == ("too_few_for_parameters",) and fit.at_bound == ()
    assert fit.reason == "5 quantifiable points cannot support 6 free parameters and a residual error"
    falling = np.arange(1, 30, 2.0)
    fit = fit_stein(falling, 1000 * np.exp(-0.1 * falling))
    assert fit.problems == ("no_rise",)
    assert fit.reason == "no quantifiable point before the peak: the expansion (FOLDX) cannot be estimated"
    frame = pl.DataFrame({"patient_id": "P1", "episode": 1, "day": days, "value": values})
    out = fit_stein_table(frame, n_starts=2)
    assert out["problems"].to_list() == [["too_few_for_parameters"]] and out["at_bound"].to_list() == [[]]


@pytest.mark.parametrize("fixed", [{}, {"beta": 0.0032, "fb": 0.0079}, {"fb": 0.0079}, {"tmax": 9.0, "foldx": 50.0}])
def test_optimizer_residuals_are_the_public_model_bit_for_bit(fixed):
    """The optimizer's residuals and Jacobian (``_LogResiduals``, split at Tmax, cached) are exactly
    ``y - log_stein_curve`` and ``-log_stein_jacobian`` of the free columns, Tmax before, between and on
    sampling days: the fits' paths, and so the report, depend on the last bit."""
    from cartkit.kinetics.stein_fit import _expit, _LogResiduals, log_stein_jacobian

    t = np.array([0.0, 1.0, 4.0, 7.0, 9.0, 14.0, 21.0, 28.0])
    y = np.log(stein_curve(t, **TRUE)) + np.linspace(-0.3, 0.3, t.size)
    free = [p for p in PARAMETERS if p not in fixed]
    model = _LogResiduals(t, y, free, fixed)
    rng = np.random.default_rng(3)
    for tmax in (0.5, 4.0, 8.2, 9.0, 27.0, 40.0):
        theta = {"cmax": math.log(2e4), "tmax": math.log(tmax), "foldx": math.log(300.0),
                 "alpha": math.log(0.2), "beta": math.log(0.01), "fb": math.log(0.05 / 0.95)}
        for _ in range(3):
            x = np.array([theta[p] + rng.normal(0, 0.3) * (p != "tmax") for p in free])
            natural = {p: float(fixed[p]) if p in fixed else float(_expit(x[free.index(p)])) if p == "fb"
                       else math.exp(x[free.index(p)]) for p in PARAMETERS}
            want_r = y - log_stein_curve(t, **natural)
            want_j = -log_stein_jacobian(t, **natural)[:, [PARAMETERS.index(p) for p in free]]
            for _ in range(2):  # computed, then from the cache
                got_r, got_j = model.residuals(x), model.jacobian(x)
                assert got_r.tobytes() == want_r.tobytes()
                assert got_j.tobytes() == want_j.tobytes() and got_j.flags.f_contiguous == want_j.flags.f_contiguous
