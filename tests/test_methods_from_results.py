"""Methods say what ran, and the library's explanations hold no knowledge of the seed.

The seed-only explanations (which values are synthetic, what the paper did) live in
examples/seed-study/published.toml notes; cartkit's own reasons and the Methods are written from
the results and the plan, so they change when a study's plan or data do.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
HAEM_TERMS = ("neutrophil count decreased", "anemia", "platelet count decreased", "white blood cell decreased",
              "lymphocyte count decreased")


def _run(folder: Path):
    study = cartkit.load_study(folder)
    return analyse(study, derive(study))


@pytest.fixture(scope="module")
def seed():
    return _run(SEED)


@pytest.fixture(scope="module")
def other_plan(tmp_path_factory, copy_seed):
    """The seed under R's conventions and CTCAE v5.0, its haematological grades derived from the counts."""
    folder = tmp_path_factory.mktemp("r7") / "study"
    copy_seed(folder)
    toml = (folder / "study.toml").read_text()
    for old, new in (('quantile_method = "spss"', 'quantile_method = "r7"'),
                     ("rank_correction = false", "rank_correction = true"),
                     ('ctcae_version = "4.03"', 'ctcae_version = "5.0"')):
        assert old in toml
        toml = toml.replace(old, new)
    (folder / "study.toml").write_text(toml)
    ae = pl.read_csv(folder / "adverse_events.csv", infer_schema_length=0)
    assert ae.filter(pl.col("term").is_in(HAEM_TERMS)).height > 0
    ae.filter(~pl.col("term").is_in(HAEM_TERMS)).write_csv(folder / "adverse_events.csv")
    return _run(folder)


def _methods(results) -> dict[str, str]:
    return dict(results.get("methods").rows())


def test_seed_methods_state_the_conventions_that_ran(seed):
    m = _methods(seed)
    assert "SPSS weighted average, Hyndman-Fan type 6" in m["Summaries"]
    comparisons = m["Comparisons between products"]
    # the seed's peak days are tied: the asymptotic rank test ran, without the continuity correction
    assert "Wilcoxon rank sum test (normal approximation, tie-corrected variance, no continuity correction)" \
        in comparisons
    assert "continuity correction 0.5" not in comparisons
    assert "Wilcoxon rank sum exact test (exact distribution)" in comparisons
    assert "Two Sample t-test (1)" in comparisons  # IL-8 peak: both groups normal
    assert "CD19 CAR-T vs CD22 CAR-T (12 comparison(s))" in comparisons
    # the anaemia grades met Cochran's rule (2 x 2, no expected count < 5): chi-square, not an exact test
    assert re.search(r"Pearson's Chi-squared test with Yates' continuity correction: Anemia \(CTCAE v4\.03\)",
                     comparisons)
    assert "CRS (CTCAE v4.03)" in comparisons and "CRS (ASTCT 2019)" in comparisons
    assert "Bowker symmetry test (7)" in comparisons
    assert "neutropenia, anemia, thrombocytopenia, leukopenia with NCI CTCAE v4.03" in m["Toxicity grading"]
    survival = m["Survival"]
    assert "censored at HSCT (primary)" in survival and "Endpoints PFS, OS" in survival
    assert "log-rank test between diagnosis groups" in survival and "survival at day 180" in survival
    assert "car_t_pct_cd3, car_dna, il6, il2r, il8, tnfa over days 0-28" in m["Kinetics"]
    assert "Lugano 2014" in m["Response"] and "B-ALL: CR" in m["Response"]


def test_methods_follow_a_different_plan(other_plan):
    m = _methods(other_plan)
    assert "R type 7 quartiles" in m["Summaries"] and "SPSS" not in m["Summaries"]
    comparisons = m["Comparisons between products"]
    assert "Wilcoxon rank sum test (normal approximation, tie-corrected variance, continuity correction 0.5)" \
        in comparisons
    assert "no continuity correction" not in comparisons
    # no recorded haematological grade left: the blood counts are graded under the plan's CTCAE v5.0
    grading = m["Toxicity grading"]
    assert "with NCI CTCAE v5.0" in grading and "v4.03 (" not in grading.split(";")[-1]
    assert "Anemia (CTCAE v5.0)" in comparisons or "Anemia" not in comparisons


def test_methods_of_a_study_without_comparisons_or_survival_say_so(tmp_path):
    from cartkit.analysis.methods import methods_table
    from cartkit.analysis.results import Results
    from cartkit.study.model import Plan

    results = Results()
    results.omitted["comparisons"] = "one product only: no comparison between products"
    results.omitted["survival"] = "no follow-up events in the study"
    m = dict(methods_table(Plan(), {}, {}, results=results).rows())
    assert m["Comparisons between products"] == "Not run: one product only: no comparison between products."
    assert m["Survival"] == "Not run: no follow-up events in the study."
    assert m["Kinetics"] == "Not run."


def test_library_reasons_hold_no_seed_knowledge(tmp_path, copy_seed):
    """Without the seed's notes, no reason speaks of the paper, Table 2 or synthetic values."""
    folder = tmp_path / "study"
    copy_seed(folder)
    published = (folder / "published.toml").read_text()
    stripped = "\n".join(line for line in published.splitlines() if not line.startswith("note = "))
    assert stripped != published
    (folder / "published.toml").write_text(stripped)
    rep = _run(folder).get("reproduction")
    seed_words = re.compile(r"synthetic|the paper|Table 2|6 and 5 patients|67\.07|CD22 infusion", re.I)
    leaked = [(r["key"], r["reason"]) for r in rep.iter_rows(named=True) if seed_words.search(r["reason"])]
    assert leaked == []
    # what cartkit can say from the data stays: the test the plan's rule chose, the grading systems
    reasons = dict(rep.select("key", "reason").rows())
    assert reasons["toxicity.wbc.grades.p"].startswith("Pearson chi-square (no continuity correction) gives 0.148")
    assert reasons["ae.crs.cd19.grade_min"].startswith("the recorded grades (ctcae4.03) range 1-4")


def test_the_seed_notes_explain_its_differences_beside_cartkits_reason(seed):
    rep = {r["key"]: r for r in seed.get("reproduction").iter_rows(named=True)}
    # statuses as before the notes moved (508 agree, 22 differ, 37 not computed)
    assert Counter(r["status"] for r in rep.values()) == {"agrees": 508, "differs": 22, "not computed": 37}
    hb = rep["toxicity.hb.grades.p"]["reason"]
    # cartkit's reason: the test the plan's rule chose for this table, and why
    assert hb.startswith("the published value is not attainable from patient-level records; the closest "
                         "attainable, 0.427, is what the records give. Pearson chi-square (no continuity correction) "
                         "gives 0.234; the plan's rule chose Pearson's Chi-squared test with Yates' continuity "
                         "correction")
    # the seed's note names the test that ran (the Yates chi-square), not Fisher's (issue 13 review)
    assert "0.427 by the Yates-corrected chi-square" in hb and "Fisher 0.428" not in hb
    assert "The lower haematological grades are synthetic" in hb  # the seed's note
    il8 = rep["kinetics.il8.peak.p"]["reason"]
    assert il8 == ("both groups pass Shapiro-Wilk, so the plan's rule picks the t test; the Wilcoxon rank-sum "
                   "test gives 0.064. The paper used the exact Mann-Whitney rank-sum test")
    assert "Not a possible Kaplan-Meier value with 6 patients" in rep["survival.os.dlbcl.day180"]["reason"]
    assert rep["ae.haem.cd22.grade_min"]["reason"].startswith("recorded grades (CTCAE v4.03). Table 2 publishes")


def test_methods_name_each_comparison_with_its_own_groups(tmp_path, copy_seed):
    """Three products, each against the first: Methods give each comparison's patients and pairs
    (hand count: P1-P7 received CD19 CAR-T then the third product, P8-P13 CD19 then CD22 CAR-T)."""
    third = "CD19/CD22 CAR-T"
    folder = tmp_path / "study"
    copy_seed(folder)
    infusions = pl.read_csv(folder / "infusions.csv", infer_schema_length=0)
    renamed = pl.col("patient_id").is_in([f"P{i}" for i in range(1, 8)]) & (pl.col("episode") == "2")
    infusions.with_columns(pl.when(renamed).then(pl.lit(third)).otherwise(pl.col("product")).alias("product")
                           ).write_csv(folder / "infusions.csv")
    toml = (folder / "study.toml").read_text()
    seed_comparison = '[[plan.comparison]]\nby = "product"\ngroups = ["CD19 CAR-T", "CD22 CAR-T"]\npaired = "auto"\n'
    assert seed_comparison in toml
    toml = toml.replace(seed_comparison, '[[plan.comparison]]\nby = "product"\nreference = "CD19 CAR-T"\n')
    toml = toml.replace('products = ["CD19 CAR-T", "CD22 CAR-T"]',
                        f'products = ["CD19 CAR-T", "CD22 CAR-T", "{third}"]')
    (folder / "study.toml").write_text(toml)
    comparisons = _methods(_run(folder))["Comparisons between products"]
    assert comparisons.startswith(
        "Groups compared: CD19 CAR-T vs CD22 CAR-T (by product): 13 patients (13 episodes) vs 6 (6); paired "
        f"tests: yes (6 patients in both groups); CD19 CAR-T vs {third} (by product): 13 patients (13 "
        "episodes) vs 7 (7); paired tests: yes (7 patients in both groups).")
    assert f"Measures, CD19 CAR-T vs CD22 CAR-T; CD19 CAR-T vs {third} (24 comparison(s))" in comparisons
