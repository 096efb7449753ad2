"""The analysis without scipy.stats (issue 16: importing it costs more than a second of start-up).

Quantiles and tail areas come from cartkit.stats.distributions (checked against R in
tests/test_stats_distributions.py); Shapiro-Wilk and average ranks are cartkit's own. The
binomial CI and Shapiro-Wilk are checked against R (to 1e-12 and 1e-6) and everything against the scipy.stats functions it replaced (equal to 1e-12, most of it exactly).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cartkit.stats.intervals import binomial_ci

SRC = Path(__file__).resolve().parent.parent / "src"

# R 4.x: options(digits = 17); binom.test(k, n)$conf.int and binom.test(k, n, conf.level = 0.9)$conf.int
R_CLOPPER_PEARSON = [
    (0, 13, (0.0, 0.24705263800047095), (0.0, 0.20581666518655062)),
    (7, 13, (0.25134548227030351, 0.80776755819871204), (0.28704900279438900, 0.77604460578868073)),
    (13, 13, (0.75294736199952905, 1.0), (0.79418333481344938, 1.0)),
    (1, 6, (0.0042107445144894742, 0.6412345789976747756), (0.0085124446108471169, 0.5818034092520258937)),
    (5, 7, (0.29042086373734272, 0.96330743382391448), (0.34126143615533600, 0.94662449952976280)),
    (40, 100, (0.30329476870287747, 0.50279084957766518), (0.31752601523649948, 0.48702417974610568)),
]


@pytest.mark.parametrize(("k", "n", "ci95", "ci90"), R_CLOPPER_PEARSON)
def test_clopper_pearson_matches_r_to_1e12(k, n, ci95, ci90):
    assert binomial_ci(k, n) == pytest.approx(ci95, rel=1e-12, abs=1e-15)
    assert binomial_ci(k, n, level=0.9) == pytest.approx(ci90, rel=1e-12, abs=1e-15)


def test_clopper_pearson_agrees_with_the_scipy_stats_beta_quantiles():
    from scipy.stats import beta

    kn = np.array([(k, n) for n in range(1, 61) for k in range(n + 1)])
    k, n = kn[:, 0], kn[:, 1]
    for level in (0.8, 0.95, 0.99):
        a = 1 - level
        with np.errstate(invalid="ignore"):
            lower = np.where(k == 0, 0.0, beta.ppf(a / 2, k, n - k + 1))
            upper = np.where(k == n, 1.0, beta.ppf(1 - a / 2, k + 1, n - k))
        got = np.array([binomial_ci(int(ki), int(ni), level=level) for ki, ni in kn])
        assert np.max(np.abs(got[:, 0] - lower)) <= 1e-12
        assert np.max(np.abs(got[:, 1] - upper)) <= 1e-12


def test_special_functions_are_the_scipy_stats_distributions():
    from scipy import special, stats

    x = np.concatenate([np.linspace(0.0, 60.0, 601), [1e-9, 150.0]])
    q = np.linspace(0.0005, 0.9995, 1999)
    for df in (1, 2, 3, 7, 24, 100.5):
        np.testing.assert_array_equal(special.chdtrc(df, x), stats.chi2.sf(x, df))
        np.testing.assert_array_equal(special.stdtr(df, -x), stats.t.sf(x, df))
        np.testing.assert_array_equal(special.stdtrit(df, q), stats.t.ppf(q, df))
    np.testing.assert_array_equal(special.ndtri(q), stats.norm.ppf(q))




def test_intervals_and_km_limits_do_not_import_scipy_stats():
    """Binomial and Kaplan-Meier limits use scipy.special only (issue 16: scipy.stats costs ~0.5 s to import).

    The Cox models do not import it either (cartkit's own fit, no statsmodels): see
    tests/test_survival_cox_against_r.py::test_cox_imports_neither_statsmodels_nor_scipy_stats.
    """
    code = (
        "import sys, numpy as np\n"
        "from cartkit.stats.intervals import binomial_ci\n"
        "from cartkit.survival.kaplan_meier import confidence_limits\n"
        "binomial_ci(3, 13); binomial_ci(3, 13, method='wilson')\n"
        "confidence_limits(np.array([0.9, 0.5]), np.array([0.1, 0.2]), 'log', 0.95)\n"
        "confidence_limits(np.array([0.9, 0.5]), np.array([0.1, 0.2]), 'log-log', 0.90)\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# R 4.x: options(digits = 17); r <- shapiro.test(x); c(r$statistic, r$p.value)
R_SHAPIRO = [
    ([2.1, 3.4, 1.9, 5.6, 4.4], 0.93208493960152361, 0.61065590505509537),
    ([0.5, 1, 1, 2, 3, 8], 0.76367348196439877, 0.027020344693851808),
    ([148, 154, 158, 160, 161, 162, 166, 170, 182, 195, 236], 0.78881469483538735, 0.0067038140565029254),
    ([1.2, -0.3, 0.8, 2.2, -1.1, 0.4, 0.9, 3.5, -0.2, 1.7, 0.1, 0.6, 2.9, -0.8, 1.1],
     0.9693361882286865, 0.84810440415514876),
    ([10, 11, 19], 0.83219178082191803, 0.19391752148144822),
]


@pytest.mark.parametrize(("x", "w", "p"), R_SHAPIRO)
def test_shapiro_matches_r(x, w, p):
    from cartkit.stats.normality import shapiro

    r = shapiro(x)
    assert r.statistic == pytest.approx(w, rel=1e-6)
    assert r.pvalue == pytest.approx(p, rel=1e-6)


def test_shapiro_agrees_with_scipy_stats_shapiro():
    from scipy import stats

    from cartkit.stats.normality import shapiro

    rng = np.random.default_rng(2019)
    worst_w = worst_p = 0.0
    for n in [*range(3, 40), 57, 120, 999, 5000]:
        for draw in (rng.normal(size=n), rng.exponential(size=n), np.round(rng.normal(size=n) * 3),
                     rng.uniform(size=n) * 1e6 + 1e9):
            if np.ptp(draw) == 0:
                continue
            ref, got = stats.shapiro(draw), shapiro(draw)
            worst_w = max(worst_w, abs(got.statistic - ref.statistic))
            worst_p = max(worst_p, abs(got.pvalue - ref.pvalue) / max(ref.pvalue, 1e-300))
    assert worst_w <= 1e-12 and worst_p <= 1e-12


def test_average_ranks_are_scipy_rankdata():
    from scipy.stats import rankdata

    from cartkit.stats.ranks import average_ranks

    rng = np.random.default_rng(7)
    for i in range(300):
        x = rng.integers(0, 1 + i % 20, size=1 + i % 41).astype(float)
        if i % 3 == 0:
            x = x + rng.normal(size=x.size)
        np.testing.assert_array_equal(average_ranks(x), rankdata(x))
    assert average_ranks([3.0, 1.0, 3.0, 2.0]).tolist() == [3.5, 1.0, 3.5, 2.0]  # by hand


def test_central_hypergeometric_weights_are_scipy_hypergeom():
    from scipy.stats import hypergeom

    from cartkit.stats.fisher import _noncentral_hypergeometric

    for table in ([[3, 1], [1, 3]], [[0, 5], [4, 2]], [[7, 2], [3, 9]], [[12, 0], [0, 1]]):
        t = np.array(table)
        x, lo, hi, support, logdc = _noncentral_hypergeometric(t)
        m, n, k = t[:, 0].sum(), t[:, 1].sum(), t[0, :].sum()
        np.testing.assert_allclose(logdc, hypergeom.logpmf(support, m + n, m, k), rtol=1e-14, atol=1e-14)
        assert np.exp(logdc).sum() == pytest.approx(1.0, rel=1e-12)
