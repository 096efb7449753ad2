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
