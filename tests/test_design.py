"""cartkit.design against independent references: clinfun 1.1.6 and rpact 3.3.4 (R), R's
power.prop.test and fisher.test, Simon (1989) Table 1 as printed, and hand computations here.

The R numbers are in tests/reference_design.json (regenerate: tests/make_reference_design.py; the
tests never need R).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from cartkit.design import (
    DesignError,
    NoDesignFound,
    event_probability,
    fisher_power,
    logrank_events,
    logrank_power,
    logrank_power_for_n,
    logrank_sample_size,
    normal_power,
    operating_characteristics,
    operating_characteristics_figure,
    propose_next_study,
    simon_two_stage,
    single_stage,
    two_proportions,
    two_stage_probabilities,
)
from cartkit.design.proportions import normal_n1

REF = json.loads(Path(__file__).with_name("reference_design.json").read_text())
TOL = 1e-6


def _binom_pmf(x: int, n: int, p: float) -> float:
    return math.comb(n, x) * p**x * (1 - p) ** (n - x)


def _hand_two_stage(r1: int, n1: int, r: int, n: int, p: float) -> tuple[float, float, float]:
    """P(promising), PET, EN by the binomial sums of Simon (1989), eq. (1), with math.comb."""
    pet = sum(_binom_pmf(x, n1, p) for x in range(0, r1 + 1))
    promising = sum(_binom_pmf(x1, n1, p) * sum(_binom_pmf(x2, n - n1, p) for x2 in range(max(0, r + 1 - x1), n - n1 + 1))
                    for x1 in range(r1 + 1, n1 + 1))
    return promising, pet, n1 + (1 - pet) * (n - n1)


# Simon R. Optimal two-stage designs for phase II clinical trials. Controlled Clinical Trials
# 1989;10:1-10, Table 1 (p1 - p0 = 0.20), rows alpha = 0.05, beta = 0.20, as printed:
# (p0, p1, optimal r1/n1, r/n, EN(p0), PET(p0), minimax r1/n1, r/n, EN(p0), PET(p0)).
SIMON_1989_TABLE_1 = [
    (0.05, 0.25, (0, 9, 2, 17), 12.0, 0.63, (0, 12, 2, 16), 13.8, 0.54),
    (0.10, 0.30, (1, 10, 5, 29), 15.0, 0.74, (1, 15, 5, 25), 19.5, 0.55),
    (0.20, 0.40, (3, 13, 12, 43), 20.6, 0.75, (4, 18, 10, 33), 22.3, 0.72),
    (0.30, 0.50, (5, 15, 18, 46), 23.6, 0.72, (6, 19, 16, 39), 25.7, 0.67),
]


@pytest.mark.parametrize("p0, p1, opt, en_opt, pet_opt, mm, en_mm, pet_mm", SIMON_1989_TABLE_1)
def test_simon_matches_published_table_1(p0, p1, opt, en_opt, pet_opt, mm, en_mm, pet_mm):
    optimal = simon_two_stage(p0, p1, 0.05, 0.20, criterion="optimal")
    minimax = simon_two_stage(p0, p1, 0.05, 0.20, criterion="minimax")
    assert (optimal.r1, optimal.n1, optimal.r, optimal.n) == opt
    assert (minimax.r1, minimax.n1, minimax.r, minimax.n) == mm
    assert round(optimal.en_p0, 1) == en_opt and round(optimal.pet_p0, 2) == pet_opt
    assert round(minimax.en_p0, 1) == en_mm and round(minimax.pet_p0, 2) == pet_mm
    for d in (optimal, minimax):  # attained errors and EN/PET by hand from the binomial sums
        size, pet, en = _hand_two_stage(d.r1, d.n1, d.r, d.n, p0)
        power = _hand_two_stage(d.r1, d.n1, d.r, d.n, p1)[0]
        assert d.alpha == pytest.approx(size, abs=1e-12) and size < 0.05
        assert d.power == pytest.approx(power, abs=1e-12) and power > 0.80
        assert d.pet_p0 == pytest.approx(pet, abs=1e-12)
        assert d.en_p0 == pytest.approx(en, abs=1e-10)


def _check_against_clinfun(case):
    got = simon_two_stage(case["p0"], case["p1"], case["alpha"], case["beta"], criterion="admissible")
    ref = case["designs"]
    assert [(d.r1, d.n1, d.r, d.n) for d in got] == [(d["r1"], d["n1"], d["r"], d["n"]) for d in ref]
    for d, e in zip(got, ref, strict=True):
        assert d.en_p0 == pytest.approx(e["en"], abs=TOL)
        assert d.pet_p0 == pytest.approx(e["pet"], abs=TOL)
        assert d.alpha == pytest.approx(e["alpha"], abs=TOL)
        assert d.power == pytest.approx(e["power"], abs=TOL)
        assert d.q_low == pytest.approx(e["q_low"], abs=TOL) and d.q_high == pytest.approx(e["q_high"], abs=TOL)
        assert round(d.q_low, 3) == pytest.approx(e["q_low_printed"]) and round(d.q_high, 3) == pytest.approx(
            e["q_high_printed"])
    minimax = simon_two_stage(case["p0"], case["p1"], case["alpha"], case["beta"], criterion="minimax")
    optimal = simon_two_stage(case["p0"], case["p1"], case["alpha"], case["beta"], criterion="optimal")
    assert (minimax.r1, minimax.n1, minimax.r, minimax.n) == (ref[0]["r1"], ref[0]["n1"], ref[0]["r"], ref[0]["n"])
    assert (optimal.r1, optimal.n1, optimal.r, optimal.n) == (ref[-1]["r1"], ref[-1]["n1"], ref[-1]["r"], ref[-1]["n"])


def _case_id(c):
    return f"p0={c['p0']}-p1={c['p1']}-a={c['alpha']}-b={c['beta']}"


FAST_CASES = [c for c in REF["simon"] if c["p0"] in (0.05, 0.25, 0.7) or (c["p0"] == 0.45 and c["beta"] == 0.2)]


@pytest.mark.parametrize("case", FAST_CASES, ids=_case_id)
def test_simon_matches_clinfun(case):
    _check_against_clinfun(case)


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in REF["simon"] if c not in FAST_CASES], ids=_case_id)
def test_simon_matches_clinfun_whole_grid(case):
    _check_against_clinfun(case)


def test_admissible_designs_minimise_the_weighted_loss():
    # Jung et al. 2004: at a weight q inside its range, a design beats every other admissible one
    designs = simon_two_stage(0.2, 0.4, 0.05, 0.2, criterion="admissible")
    assert [d.criterion for d in designs] == ["minimax", "admissible", "optimal"]
    assert designs[0].q_high == 1 and designs[-1].q_low == 0
    for d in designs:
        q = (d.q_low + d.q_high) / 2
        losses = [q * e.n + (1 - q) * e.en_p0 for e in designs]
        assert min(losses) == pytest.approx(q * d.n + (1 - q) * d.en_p0)


def test_minimax_that_is_also_optimal_is_one_design():
    # clinfun's own example of the case (R/ph2simon.R comment): ph2simon(0.8, 0.95, 0.05, 0.2)
    designs = simon_two_stage(0.8, 0.95, 0.05, 0.2, criterion="admissible")
    assert len(designs) == 1 and designs[0].criterion == "minimax and optimal"
    assert (designs[0].q_low, designs[0].q_high) == (0.0, 1.0)


@pytest.mark.parametrize("case", REF["single"], ids=_case_id)
def test_single_stage_matches_clinfun_ph2single(case):
    d = single_stage(case["p0"], case["p1"], case["alpha"], case["beta"])
    assert (d.n, d.r) == (case["n"], case["r"])
    assert d.alpha == pytest.approx(case["type1"], abs=TOL)
    assert 1 - d.power == pytest.approx(case["type2"], abs=TOL)
    assert d.responses_needed == d.r + 1


def test_single_stage_is_the_smallest_n_by_hand():
    d = single_stage(0.2, 0.4, 0.05, 0.2)

    def ok(n, r):
        size = sum(_binom_pmf(x, n, 0.2) for x in range(r + 1, n + 1))
        power = sum(_binom_pmf(x, n, 0.4) for x in range(r + 1, n + 1))
        return size <= 0.05 and power >= 0.8

    assert ok(d.n, d.r)
    assert not any(ok(n, r) for n in range(1, d.n) for r in range(n))
    assert not any(ok(d.n, r) for r in range(d.r))


def test_operating_characteristics_by_hand():
    d = simon_two_stage(0.2, 0.4)
    grid = [0.0, 0.1, 0.2, 0.3, 0.4, 0.55, 1.0]
    oc = operating_characteristics(d, grid)
    assert oc.columns == ["p", "p_promising", "pet", "expected_n"]
    for row in oc.iter_rows(named=True):
        p = row["p"]
        if p in (0.0, 1.0):
            continue
        promising, pet, en = _hand_two_stage(d.r1, d.n1, d.r, d.n, p)
        assert row["p_promising"] == pytest.approx(promising, abs=1e-12)
        assert row["pet"] == pytest.approx(pet, abs=1e-12)
        assert row["expected_n"] == pytest.approx(en, abs=1e-10)
    ends = oc.filter(oc["p"].is_in([0.0, 1.0])).rows()
    assert ends == [(0.0, 0.0, 1.0, float(d.n1)), (1.0, 1.0, 0.0, float(d.n))]
    at_p0 = oc.filter(oc["p"] == 0.2).row(0, named=True)
    assert at_p0["p_promising"] == pytest.approx(d.alpha) and at_p0["expected_n"] == pytest.approx(d.en_p0)


def test_operating_characteristics_of_a_single_stage_design():
    d = single_stage(0.2, 0.4)
    oc = operating_characteristics(d, [0.2, 0.4])
    assert oc["pet"].to_list() == [0.0, 0.0] and oc["expected_n"].to_list() == [d.n, d.n]
    assert oc["p_promising"].to_list() == pytest.approx([d.alpha, d.power], abs=1e-12)


def test_operating_characteristics_rejects_rates_outside_0_1():
    with pytest.raises(DesignError, match="between 0 and 1"):
        operating_characteristics(simon_two_stage(0.2, 0.4), [0.5, 1.2])


def test_operating_characteristics_figure():
    fig = operating_characteristics_figure(simon_two_stage(0.2, 0.4))
    left, right = fig.axes
    assert [line.get_label() for line in left.get_lines()][:2] == ["P(declare promising)", "P(stop after stage 1)"]
    assert right.get_lines()[0].get_label() == "expected N"
    assert "3/13" in left.get_title() and "12/43" in left.get_title()


@pytest.mark.parametrize("bad, message", [
    (dict(p0=0.4, p1=0.2), "p1 must be greater than p0"),
    (dict(p0=0.2, p1=0.2), "p1 must be greater than p0"),
    (dict(p0=0.2, p1=0.4, alpha=0.6), r"alpha must be in \(0, 0.5\)"),
    (dict(p0=0.2, p1=0.4, alpha=0.0), r"alpha must be in \(0, 0.5\)"),
    (dict(p0=0.2, p1=0.4, beta=0.5), r"beta must be in \(0, 0.5\)"),
    (dict(p0=0.0, p1=0.4), "p0 must be strictly between 0 and 1"),
    (dict(p0=0.2, p1=1.0), "p1 must be strictly between 0 and 1"),
    (dict(p0=0.2, p1=0.4, criterion="best"), "criterion must be one of"),
])
def test_simon_input_errors(bad, message):
    with pytest.raises(DesignError, match=message):
        simon_two_stage(**bad)


def test_simon_no_design_within_nmax():
    with pytest.raises(NoDesignFound, match="n <= 50; increase nmax"):
        simon_two_stage(0.2, 0.25, nmax=50)
    with pytest.raises(NoDesignFound, match="n <= 20"):
        single_stage(0.2, 0.3, nmax=20)


# --- two arms: log-rank --------------------------------------------------------------------

def _z(q):
    from scipy.stats import norm

    return norm.ppf(q)


def test_schoenfeld_and_freedman_events_by_hand():
    z = _z(0.975) + _z(0.8)
    assert logrank_events(0.6) == pytest.approx(4 * z**2 / math.log(0.6) ** 2, rel=1e-12)  # Schoenfeld 1983, 1:1
    assert logrank_events(0.6, method="freedman") == pytest.approx(z**2 * 1.6**2 / 0.4**2, rel=1e-12)  # Freedman 1982
    # Schoenfeld with 2:1 allocation: D = (z_a + z_b)^2 / (pi (1 - pi) log(HR)^2), pi = 2/3
    assert logrank_events(0.6, allocation=2) == pytest.approx(z**2 / (2 / 9 * math.log(0.6) ** 2), rel=1e-12)


@pytest.mark.parametrize("case", REF["logrank"], ids=lambda c: f"{c['method']}-hr{c['hr']}-k{c['allocation']}")
def test_logrank_matches_rpact(case):
    d = logrank_sample_size(hr=case["hr"], alpha=case["alpha"], power=1 - case["beta"], allocation=case["allocation"],
                            method=case["method"], median_control=case["median_control"], accrual=case["accrual"],
                            follow_up=case["follow_up"])
    assert d.events == pytest.approx(case["events"], abs=TOL)
    assert d.n == pytest.approx(case["subjects"], abs=TOL)
    assert d.n_treatment / d.n_control == pytest.approx(case["allocation"])
    power = logrank_power(100, case["hr"], case["alpha"], case["allocation"], case["method"])
    assert power == pytest.approx(case["power_at_100_events"], abs=TOL)


def test_event_probability_by_numerical_integration():
    from scipy.integrate import quad

    lam, accrual, follow_up = math.log(2) / 12, 24.0, 12.0
    # entry uniform on [0, A]; a patient entering at u is followed for A + F - u
    integral = quad(lambda u: 1 - math.exp(-lam * (accrual + follow_up - u)), 0, accrual)[0] / accrual
    assert event_probability(lam, accrual, follow_up) == pytest.approx(integral, abs=1e-12)
    assert event_probability(lam, 0.0, follow_up) == pytest.approx(1 - math.exp(-lam * follow_up), abs=1e-15)


def test_lachin_foulkes_by_hand():
    # Lachin & Foulkes 1986 eq. (3.3), uniform entry, no losses: medians 12 vs 20 months, accrual 24,
    # follow-up 12, 1:1, two-sided alpha 0.05, power 0.8; P(event) by numerical integration.
    from scipy.integrate import quad

    lam_c, lam_t, accrual, follow_up = math.log(2) / 12, math.log(2) / 20, 24.0, 12.0

    def p_event(lam):
        return quad(lambda u: 1 - math.exp(-lam * (accrual + follow_up - u)), 0, accrual)[0] / accrual

    def phi(lam):
        return lam**2 / p_event(lam)

    lbar = (lam_c + lam_t) / 2
    root_n = (_z(0.975) * math.sqrt(phi(lbar) * 4) + _z(0.8) * math.sqrt(2 * phi(lam_t) + 2 * phi(lam_c))) / abs(
        lam_t - lam_c)
    d = logrank_sample_size(median_control=12, median_treatment=20, method="lachin-foulkes", accrual=accrual,
                            follow_up=follow_up)
    assert d.hr == pytest.approx(0.6)
    assert d.n == pytest.approx(root_n**2, rel=1e-9)
    assert d.events == pytest.approx(root_n**2 * (p_event(lam_c) + p_event(lam_t)) / 2, rel=1e-9)
    # power for the same N inverts the sample size
    assert logrank_power_for_n(d.n, 12, accrual, follow_up, median_treatment=20,
                               method="lachin-foulkes") == pytest.approx(0.8, abs=1e-12)


def test_logrank_power_for_n_uses_expected_events():
    d = logrank_sample_size(hr=0.6, median_control=12, accrual=24, follow_up=12)
    assert logrank_power_for_n(d.n, 12, 24, 12, hr=0.6) == pytest.approx(0.8, abs=1e-4)  # far tail adds ~1e-5


@pytest.mark.parametrize("kwargs, message", [
    (dict(hr=1.0), "must differ from 1"),
    (dict(hr=-0.5), "hazard ratio must be positive"),
    (dict(), "give a hazard ratio"),
    (dict(hr=0.6, median_control=12, median_treatment=30), "disagrees with the medians"),
    (dict(hr=0.6, method="lachin-foulkes"), "lachin-foulkes needs"),
    (dict(hr=0.6, accrual=12, follow_up=6), "need the control median"),
    (dict(hr=0.6, alpha=0.7), r"alpha must be in \(0, 0.5\)"),
    (dict(hr=0.6, method="wald"), "method must be one of"),
])
def test_logrank_input_errors(kwargs, message):
    with pytest.raises(DesignError, match=message):
        logrank_sample_size(**kwargs)


# --- two arms: proportions -----------------------------------------------------------------

@pytest.mark.parametrize("case", REF["prop_normal"], ids=lambda c: f"{c['p1']}-{c['p2']}")
def test_normal_two_proportions_match_power_prop_test(case):
    # R solves for n with uniroot (tol = .Machine$double.eps^0.25), so its n is good to ~1e-4
    n = normal_n1(case["p1"], case["p2"], case["alpha"], case["power"])
    assert n == pytest.approx(case["n"], abs=1e-4)
    assert normal_power(n, n, case["p1"], case["p2"], case["alpha"]) == pytest.approx(case["power"], abs=1e-12)
    assert normal_power(50, 50, case["p1"], case["p2"], case["alpha"]) == pytest.approx(case["power_at_50"], abs=TOL)


def test_normal_two_proportions_unequal_allocation_by_hand():
    # Fleiss (1981) eq. 3.14 without continuity correction, k = n2 / n1 = 2
    p1, p2, k = 0.3, 0.5, 2.0
    pbar = (p1 + k * p2) / (1 + k)
    n1 = ((_z(0.975) * math.sqrt(pbar * (1 - pbar) * (1 + 1 / k)) + _z(0.9) * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2) / k)) / (p1 - p2)) ** 2
    d = two_proportions(p1, p2, power=0.9, allocation=k)
    assert d.n1_unrounded == pytest.approx(n1, rel=1e-12)
    assert (d.n1, d.n2) == (math.ceil(n1), math.ceil(k * n1))


@pytest.mark.parametrize("case", REF["fisher_power"], ids=lambda c: f"{c['n1']}-{c['n2']}-{c['p1']}-{c['p2']}")
def test_fisher_power_matches_r_enumeration(case):
    power = fisher_power(int(case["n1"]), int(case["n2"]), case["p1"], case["p2"], case["alpha"])
    assert power == pytest.approx(case["power"], abs=1e-12)


def test_exact_two_proportions_is_the_smallest_n_reaching_power():
    d = two_proportions(0.2, 0.6, method="exact")
    assert d.power >= 0.8 and fisher_power(d.n1, d.n2, 0.2, 0.6) == d.power
    assert all(fisher_power(n, n, 0.2, 0.6) < 0.8 for n in range(d.n1 // 2, d.n1))
    assert d.n1 >= two_proportions(0.2, 0.6, method="normal").n1  # Fisher is conservative


# --- the next study from the seed -------------------------------------------------------------

def test_proposal_for_the_seed_cd22_dlbcl_matches_clinfun():
    from scipy.stats import beta

    lower = float(beta.ppf(0.025, 6, 2))  # Clopper-Pearson lower limit of 6/7
    p = propose_next_study("CD22 CAR-T, DLBCL", 6, 7)
    assert p.lower == pytest.approx(lower, abs=1e-12) and p.upper == pytest.approx(float(beta.ppf(0.975, 7, 1)))
    for scenario, ref in zip(p.scenarios, REF["seed_dlbcl"], strict=True):
        assert scenario.p1 == pytest.approx(ref["p1"], abs=1e-12) and scenario.p0 == pytest.approx(ref["p0"], abs=1e-12)
        d = scenario.two_stage
        assert (d.r1, d.n1, d.r, d.n) == (ref["r1"], ref["n1"], ref["r"], ref["n"])
        assert d.en_p0 == pytest.approx(ref["en"], abs=TOL)
        assert (scenario.one_stage.n, scenario.one_stage.r) == (ref["single_n"], ref["single_r"])
    assert "42% to 99.6%" in p.message and "58 percentage points wide" in p.message
    assert "7 patients are consistent with any true rate in that range" in p.message


@pytest.mark.parametrize("k, n, p0, note", [
    (0, 7, None, "no responses"),
    (7, 7, None, "every patient responded"),
    (2, 6, None, "is not above 0; give p0"),
    (6, 7, 0.9, "is not above p0 = 0.9"),
])
def test_proposal_says_why_there_is_no_design(k, n, p0, note):
    p = propose_next_study("x", k, n, p0=p0)
    assert any(note in s.note and s.two_stage is None for s in p.scenarios)


def test_design_package_is_ground_floor():
    # imports nothing above it: only cartkit.design itself and cartkit.stats
    import ast

    for path in (Path(__file__).parents[1] / "src" / "cartkit" / "design").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cartkit"):
                assert node.module.startswith(("cartkit.design", "cartkit.stats")), (path.name, node.module)


def test_simon_search_agrees_with_a_plain_triple_loop_small_nmax():
    # an independent exhaustive search in plain Python (math.comb), nmax = 20
    p0, p1, alpha, beta, nmax = 0.1, 0.4, 0.05, 0.2, 20
    best = {}
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            for r1 in range(0, n1):
                pet = sum(_binom_pmf(x, n1, p0) for x in range(r1 + 1))
                for r in range(r1, r1 + n - n1 + 1):
                    size = _hand_two_stage(r1, n1, r, n, p0)[0]
                    power = _hand_two_stage(r1, n1, r, n, p1)[0]
                    if size < alpha and 1 - power < beta:
                        en = n1 + (1 - pet) * (n - n1)
                        if n not in best or en < best[n][0] - 1e-12:
                            best[n] = (en, (r1, n1, r, n))
    minimax = best[min(best)][1]
    optimal = min(best.values(), key=lambda v: v[0])[1]
    assert (lambda d: (d.r1, d.n1, d.r, d.n))(simon_two_stage(p0, p1, alpha, beta, "minimax", nmax=nmax)) == minimax
    assert (lambda d: (d.r1, d.n1, d.r, d.n))(simon_two_stage(p0, p1, alpha, beta, "optimal", nmax=nmax)) == optimal


def test_numpy_results_are_plain_python_numbers():
    d = simon_two_stage(0.2, 0.4)
    assert all(type(getattr(d, f)) is int for f in ("r1", "n1", "r", "n"))
    assert all(type(getattr(d, f)) is float for f in ("en_p0", "pet_p0", "alpha", "power", "q_low", "q_high"))
    assert not isinstance(d.alpha, np.floating)
    promising, pet, en = two_stage_probabilities(d.r1, d.n1, d.r, d.n, 0.2)
    assert promising.shape == (1,)
