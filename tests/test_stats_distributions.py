"""cartkit.stats.distributions against R 4.2 (tests/r_reference_distributions.json, written by
tests/make_r_reference_distributions.R: pnorm, qnorm, lgamma, lbeta, pchisq, pbeta, qbeta, pt, qt,
pbinom over grids that include the far tails and extreme parameters)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from cartkit.stats import distributions as dist

R = json.loads((Path(__file__).with_name("r_reference_distributions.json")).read_text())
RTOL = 1e-12  # every grid agrees with R to 3e-13 or better (the prefactors of the incomplete gamma and beta)


def _arr(grid: str, *names: str) -> list[np.ndarray]:
    return [np.asarray(R[grid][n], dtype=float) for n in names]


def _close(got, want, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=rtol, atol=0)


def test_ndtr_matches_pnorm_scalar_and_vectorised():
    x, p = _arr("pnorm", "x", "p")
    _close(dist.ndtr(x), p)
    _close([dist.ndtr(float(v)) for v in x], p)


def test_vectorised_ndtr_matches_pnorm_on_a_dense_grid_and_the_range_boundaries():
    """Arrays go through Cody's approximations (R's own pnorm algorithm), one value through math.erfc:
    both against pnorm over |x| <= 38, including each side of 0.67448975, sqrt(32), 8.2924 and R's
    lower cut -37.5193 (where pnorm is 0: the array path gives 0, erfc the subnormal true value)."""
    x, p = _arr("pnorm_grid", "x", "p")
    assert x.min() == -38 and x.max() == 38 and (p == 0).sum() >= 5
    got = dist.ndtr(x)
    _close(got, p)
    assert np.array_equal(got[p == 0], p[p == 0])
    one = np.array([dist.ndtr(float(v)) for v in x])
    _close(one[p > 0], p[p > 0])
    assert np.all(one[p == 0] < 1e-300)
    assert dist.ndtr(x.reshape(-1, 1)).shape == (x.size, 1)
    nan_inf = dist.ndtr(np.array([np.nan, -np.inf, np.inf, -0.0]))
    assert math.isnan(nan_inf[0]) and list(nan_inf[1:]) == [0.0, 1.0, 0.5]


def test_scalar_incomplete_beta_twin_gives_the_vectorised_values():
    """_betacf_scalar / _betainc_scalar (plain Python, for betaincinv's and stdtr's one-value loops:
    30-40x less CPU there than the numpy routine on one-element arrays) compute what _betacf /
    _betainc compute, on a grid over both sides of the mean and extreme parameters."""
    grid = [(a, b, x) for a in (0.1, 0.5, 1.0, 2.5, 7.0, 30.0, 250.0, 1e4)
            for b in (0.2, 0.5, 1.0, 4.0, 60.0, 800.0, 1e4) for x in (1e-6, 0.01, 0.2, 0.5, 0.8, 0.99)]
    a, b, x = (np.array(v) for v in zip(*grid, strict=True))
    near = x <= (a + 1.0) / (a + b + 2.0)  # where the continued fraction itself is evaluated
    _close([dist._betacf_scalar(*g) for g in np.array(grid)[near]], dist._betacf(a[near], b[near], x[near]),
           rtol=1e-14)
    _close([dist._betainc_scalar(*g, 1.0 - g[2]) for g in grid], dist._betainc(a, b, x, 1.0 - x), rtol=1e-14)


def test_ndtri_matches_qnorm():
    p, q = _arr("qnorm", "p", "q")
    _close(dist.ndtri(p), q, rtol=1e-15)
    assert dist.ndtri(0.0) == -math.inf and dist.ndtri(1.0) == math.inf and math.isnan(dist.ndtri(1.5))
    assert isinstance(dist.ndtri(0.975), float)


def test_gammaln_and_betaln_match_r():
    x, v = _arr("lgamma", "x", "v")
    _close(dist.gammaln(x), v, rtol=1e-14)
    _close([dist.gammaln(float(t)) for t in x], v, rtol=1e-14)
    a, b, v = _arr("lbeta", "a", "b", "v")
    _close(dist.betaln(a, b), v, rtol=1e-14)
    _close([dist.betaln(float(s), float(t)) for s, t in zip(a, b, strict=True)], v, rtol=1e-14)


def test_chdtrc_matches_pchisq_upper_tail():
    df, x, p = _arr("pchisq_upper", "df", "x", "p")
    _close([dist.chdtrc(d, v) for d, v in zip(df, x, strict=True)], p)
    _close(dist.chdtrc(df, x), p)
    assert dist.chdtrc(3, 0.0) == 1.0


def test_betainc_matches_pbeta_scalar_and_vectorised():
    a, b, x, p = _arr("pbeta", "a", "b", "x", "p")
    _close(dist.betainc(a, b, x), p)
    _close([dist.betainc(float(s), float(t), float(v)) for s, t, v in zip(a, b, x, strict=True)], p)
    assert dist.betainc(2.0, 3.0, 0.0) == 0.0 and dist.betainc(2.0, 3.0, 1.0) == 1.0


def test_betaincinv_matches_qbeta_and_clopper_pearson():
    a, b, p, q = _arr("qbeta", "a", "b", "p", "q")
    _close([dist.betaincinv(s, t, v) for s, t, v in zip(a, b, p, strict=True)], q)
    k, n, lower, upper = _arr("qbeta_clopper_pearson", "k", "n", "lower", "upper")
    _close([dist.betaincinv(kk, nn - kk + 1, 0.025) for kk, nn in zip(k, n, strict=True)], lower)
    _close([dist.betaincinv(kk + 1, nn - kk, 0.975) for kk, nn in zip(k, n, strict=True)], upper)


def test_stdtr_and_stdtrit_match_pt_and_qt():
    df, t, p = _arr("pt", "df", "t", "p")
    _close([dist.stdtr(d, v) for d, v in zip(df, t, strict=True)], p)
    df, p, q = _arr("qt", "df", "p", "q")
    _close([dist.stdtrit(d, v) for d, v in zip(df, p, strict=True)], q)
    assert dist.stdtrit(5, 0.5) == 0.0


def test_bdtr_matches_pbinom():
    k, n, p, v = _arr("pbinom", "k", "n", "p", "v")
    _close(dist.bdtr(k, n, p), v)
    assert dist.bdtr(5, 5, 0.3) == 1.0 and dist.bdtr(-1, 5, 0.3) == 0.0


def test_logsumexp_is_stable():
    a = np.array([1000.0, 1000.0 + math.log(3.0)])
    assert dist.logsumexp(a) == pytest.approx(1000.0 + math.log(4.0), rel=1e-15)


def test_array_callers_stay_vectorised():
    """design.binomial passes grids and fisher whole supports: large arrays in, arrays out, no Python loop."""
    n = np.full(200_000, 150.0)
    k = np.arange(200_000) % 151
    got = dist.betainc(np.maximum(k, 1), n - k + 1, 0.3)
    assert got.shape == (200_000,)
    i = 1234
    assert got[i] == pytest.approx(dist.betainc(float(max(k[i], 1)), float(n[i] - k[i] + 1), 0.3), rel=1e-14)
    x = np.arange(1, 1_000_001, dtype=float)
    lg = dist.gammaln(x)
    assert lg[-1] == pytest.approx(math.lgamma(1e6), rel=1e-15) and lg[4] == math.lgamma(5.0)
    assert dist.ndtri(np.linspace(0.01, 0.99, 1_000_000)).shape == (1_000_000,)
