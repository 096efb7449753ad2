"""Quantiles and tail areas from scipy.special, not scipy.stats (issue 16: scipy.stats costs >1 s to import).

The binomial CI is checked against R to 1e-12 and against the scipy.stats formulas it replaced;
the chi-square, t and normal functions against scipy.stats exactly.
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

    worst = 0.0
    for n in range(1, 61):
        for k in range(n + 1):
            for level in (0.8, 0.9, 0.95, 0.99):
                a = 1 - level
                ref = (0.0 if k == 0 else beta.ppf(a / 2, k, n - k + 1),
                       1.0 if k == n else beta.ppf(1 - a / 2, k + 1, n - k))
                got = binomial_ci(k, n, level=level)
                worst = max(worst, abs(got[0] - ref[0]), abs(got[1] - ref[1]))
    assert worst <= 1e-12


def test_special_functions_are_the_scipy_stats_distributions():
    from scipy import special, stats

    x = np.concatenate([np.linspace(0.0, 60.0, 601), [1e-9, 150.0]])
    q = np.linspace(0.0005, 0.9995, 1999)
    for df in (1, 2, 3, 7, 24, 100.5):
        np.testing.assert_array_equal(special.chdtrc(df, x), stats.chi2.sf(x, df))
        np.testing.assert_array_equal(special.stdtr(df, -x), stats.t.sf(x, df))
        np.testing.assert_array_equal(special.stdtrit(df, q), stats.t.ppf(q, df))
    np.testing.assert_array_equal(special.ndtri(q), stats.norm.ppf(q))


def test_binomial_ci_and_survival_do_not_import_scipy_stats():
    code = (
        "import sys, numpy as np\n"
        "from cartkit.stats.intervals import binomial_ci\n"
        "from cartkit.survival.kaplan_meier import confidence_limits\n"
        "from cartkit.survival.logrank import logrank\n"
        "binomial_ci(3, 13); binomial_ci(3, 13, method='wilson')\n"
        "confidence_limits(np.array([0.9, 0.5]), np.array([0.1, 0.2]), 'log', 0.95)\n"
        "logrank([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0], ['a', 'a', 'a', 'b', 'b', 'b'])\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
