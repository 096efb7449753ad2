"""plan.alpha is used: every confidence interval the analysis prints is at 1 - alpha.

The seed copy below says ``alpha = 0.10`` and adds one ``[[plan.endpoint]]`` (OS from the CD22
infusion by diagnosis, so that the endpoint medians and the Cox hazard ratio are covered too).
Reference numbers from R 4.x (survival 3.x), computed on the same data:

    binom.test(k, n, conf.level = 0.9)$conf.int
    pfs <- censor-at-HSCT PFS of the seed (tte["censor at HSCT"]), months = days / 30.4375
    summary(survfit(Surv(months, e) ~ diagnosis, data = pfs, conf.int = 0.9))
    summary(survfit(...), times = 180 / 30.4375)                       # the day-180 landmark
    os <- endpoint_times of the OS endpoint (days, event, group)
    quantile(survfit(Surv(days, e) ~ group, data = os, conf.int = 0.9, conf.type = "log-log"), 0.5)
    summary(coxph(Surv(days, e) ~ factor(group, c("DLBCL", "B-ALL")), ties = "efron"),
            conf.int = 0.9)$conf.int
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.study.model import Plan
from cartkit.study.plan import read_study_toml

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"

OS_ENDPOINT = """
[[plan.endpoint]]
name = "OS"
origin = "infusion of product"
product = "CD22 CAR-T"
events = ["death"]
group_by = "diagnosis"
reference = "DLBCL"
hsct = "ignore"
"""

# binom.test(k, n, conf.level = 0.9)$conf.int
R_BINOM_90 = {
    (0, 7): (0.0, 0.348163655131), (3, 6): (0.153161117975, 0.846838882025),
    (3, 13): (0.066049567216, 0.494649730151), (6, 7): (0.479297026409, 0.992699168021),
    (2, 6): (0.062849891708, 0.728661627480), (8, 13): (0.354799281020, 0.834340573285),
    (4, 7): (0.225321584032, 0.871243607196), (6, 13): (0.223955394211, 0.712950997206),
}
# summary(survfit(Surv(months, e) ~ diagnosis, conf.int = 0.9)): group, time (months), surv, lower, upper
R_PFS_90 = [
    ("B-ALL", 0.459958932238193, 0.833333333333333, 0.6171585193453581, 1.0),
    ("B-ALL", 0.689938398357290, 0.666666666666667, 0.4146612113868532, 1.0),
    ("B-ALL", 1.149897330595482, 0.5, 0.2554685773517840, 0.978593933514361),
    ("B-ALL", 2.299794661190965, 0.25, 0.0652641940141445, 0.957646086711109),
    ("DLBCL", 1.971252566735113, 0.857142857142857, 0.6650074039271882, 1.0),
    ("DLBCL", 2.956878850102669, 0.685714285714286, 0.4386003893967326, 1.0),
]


def _copy(tmp_path_factory, name: str, replace: dict[str, str], extra: str = "") -> Path:
    folder = tmp_path_factory.mktemp(name) / "study"
    shutil.copytree(SEED, folder)
    toml = (folder / "study.toml").read_text()
    for old, new in replace.items():
        assert old in toml
        toml = toml.replace(old, new)
    (folder / "study.toml").write_text(toml + extra)
    return folder


def _run(folder: Path):
    study = cartkit.load_study(folder)
    return study, analyse(study, derive(study))


@pytest.fixture(scope="module")
def alpha10(tmp_path_factory):
    return _run(_copy(tmp_path_factory, "alpha10", {"alpha = 0.05": "alpha = 0.10"}, OS_ENDPOINT))


def test_confidence_level_is_one_minus_alpha():
    assert Plan().confidence_level == pytest.approx(0.95, abs=1e-12)
    assert Plan(alpha=0.10).confidence_level == pytest.approx(0.90, abs=1e-12)


def test_alpha_010_gives_90_percent_binomial_cis(alpha10):
    study, results = alpha10
    assert study.plan.confidence_level == pytest.approx(0.9) and results.confidence_level == pytest.approx(0.9)
    rates = results.get("response_rates")
    checked = 0
    for r in rates.iter_rows(named=True):
        for what in ("orr", "cr"):
            lo, hi = R_BINOM_90[(r[f"{what}_n"], r["n"])]
            assert r[f"{what}_lower"] == pytest.approx(lo, abs=1e-9)
            assert r[f"{what}_upper"] == pytest.approx(hi, abs=1e-9)
            checked += 1
    assert checked == 12


def test_alpha_010_gives_90_percent_kaplan_meier_and_landmark_cis(alpha10):
    _, results = alpha10
    curves = results.get("survival_curves").filter((pl.col("endpoint") == "PFS")
                                                   & (pl.col("censoring") == "censor at HSCT")
                                                   & (pl.col("n_event") > 0))
    assert curves.height == len(R_PFS_90)
    for (group, time, surv, lower, upper), r in zip(R_PFS_90, curves.sort("group", "time").iter_rows(named=True),
                                                    strict=True):
        assert r["group"] == group and r["time"] == pytest.approx(time, abs=1e-9)
        assert (r["survival"], r["lower"], r["upper"]) == pytest.approx((surv, lower, upper), abs=1e-6)
    landmark = results.get("logrank").filter((pl.col("endpoint") == "PFS")
                                             & (pl.col("censoring") == "censor at HSCT")).row(0, named=True)
    # R: summary(survfit(...), times = 180 / 30.4375): B-ALL 0.25 (0.0653-0.9576), DLBCL 0.6857 (0.4386-1)
    assert landmark["landmark_ci_B-ALL"] == "6.5-95.8%"
    assert landmark["landmark_ci_DLBCL"] == "43.9-100.0%"


def test_alpha_010_gives_90_percent_endpoint_median_and_cox_cis(alpha10):
    _, results = alpha10
    summary = {r["group"]: r for r in results.get("endpoint_summary").iter_rows(named=True)}
    # the endpoint tables are the recommended analysis, log-log CIs (analysis/survival_analysis.py):
    # quantile(survfit(..., conf.int = 0.9, conf.type = "log-log")): B-ALL 95.5 (45, NA); DLBCL NA (90, NA)
    # (on the log scale, R's default: B-ALL 95.5 (62, NA); DLBCL NA (143, NA))
    assert (summary["B-ALL"]["median"], summary["B-ALL"]["median_lower"]) == (95.5, 45.0)
    assert math.isnan(summary["B-ALL"]["median_upper"])
    assert summary["DLBCL"]["median_lower"] == 90.0
    test = results.get("endpoint_tests").row(0, named=True)
    assert test["comparison"] == "B-ALL vs DLBCL"
    # summary(coxph(...), conf.int = 0.9)$conf.int: 3.52216361944311, lower .90 0.838153786161223,
    # upper .90 14.8011460032256
    assert (test["hr"], test["hr_lower"], test["hr_upper"]) == pytest.approx(
        (3.52216361944311, 0.838153786161223, 14.8011460032256), rel=1e-6)
    assert "Wald 90% CI" in test["note"]


def test_alpha_010_gives_90_percent_kinetic_model_cis(alpha10, tmp_path_factory):
    """Stein fits: the CI half-width on the log scale scales with the t quantile, t(0.95, df) / t(0.975, df)
    (df = quantifiable points - 4 free parameters, beta and FB fixed)."""
    from scipy.stats import t as t_dist

    _, at90 = alpha10
    _, at95 = _run(SEED)
    fits90, fits95 = at90.get("ck_model"), at95.get("ck_model")
    both = fits90.join(fits95, on=["patient_id", "episode"], suffix="_95").filter(
        pl.col("converged") & pl.col("cmax_upper").is_finite() & pl.col("cmax_upper_95").is_finite())
    assert both.height >= 5
    for r in both.iter_rows(named=True):
        df = r["n_points"] - 4
        expected = t_dist.ppf(0.95, df) / t_dist.ppf(0.975, df)
        got = math.log(r["cmax_upper"] / r["cmax"]) / math.log(r["cmax_upper_95"] / r["cmax_95"])
        assert got == pytest.approx(expected, rel=1e-6), r["patient_id"]


def test_the_report_and_methods_say_90_percent(alpha10):
    from cartkit.report.html import render_html

    _, results = alpha10
    methods = dict(results.get("methods").rows())
    assert "Clopper-Pearson 90% confidence intervals" in methods["Response"]
    assert "log-transformed 90% CIs" in methods["Survival"]
    assert methods["Significance"] == "Two-sided P < 0.1; every confidence interval at 90% (1 - alpha)."
    page = render_html(results, {})
    assert "95%" not in page and "95 %" not in page
    assert "ORR, n (%) [90% CI]" in page and "Response rates with exact 90% confidence intervals" in page
    assert "Median (90% CI)" in page


def test_the_seed_stays_at_95_percent():
    from cartkit.report.figures import FIGURES

    study, results = _run(SEED)
    assert results.confidence_level == pytest.approx(0.95)
    assert "every confidence interval at 95% (1 - alpha)" in dict(results.get("methods").rows())["Significance"]
    caption = next(f for f in FIGURES if f.id == "best-response").caption_for(results)
    assert "(Clopper-Pearson) 95% CI" in caption and "{ci}" not in caption


def test_normality_alpha_is_read_validated_and_used(tmp_path_factory):
    folder = _copy(tmp_path_factory, "normality_bad", {"alpha = 0.05": "alpha = 0.05\nnormality_alpha = 1.5"})
    config, problems = read_study_toml(folder)
    assert [(p.column, p.value) for p in problems] == [("plan.normality_alpha", 1.5)]
    assert config.plan.normality_alpha == 0.05
    # a pre-test at 1e-9 calls almost everything normal: t tests replace most rank tests of the seed's default
    _, default = _run(SEED)
    strict = _copy(tmp_path_factory, "normality", {"alpha = 0.05": "alpha = 0.05\nnormality_alpha = 1e-9"})
    study, lax = _run(strict)
    assert study.plan.normality_alpha == 1e-9 and study.plan.alpha == 0.05

    def t_tests(results) -> int:
        return int(results.get("comparisons")["method"].str.contains("t-test|t test").sum())

    assert t_tests(lax) > t_tests(default)
    assert "Shapiro-Wilk normality in each group (alpha 1e-09)" in dict(lax.get("methods").rows())[
        "Comparisons between products"]
    assert "(alpha 0.05)" in dict(default.get("methods").rows())["Comparisons between products"]
