"""The recommended analysis beside the one as published, on the seed (issue 13).

The seed's claims are checked against R (values computed with R 4.2.2 and coin 1.4-2, the R call
beside each), never against cartkit itself. The seed is analysed once per module.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.analysis import recommended_comparison as rc
from cartkit.derive import derive
from cartkit.study.plan import read_study_toml

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
PAIR = "CD19 CAR-T vs CD22 CAR-T"


@pytest.fixture(scope="module")
def seed():
    study = cartkit.load_study(SEED)
    return study, analyse(study, derive(study))


@pytest.fixture(scope="module")
def rec(seed):
    return seed[1].tables["recommended_comparisons"].filter(pl.col("comparison") == PAIR)


def _row(rec: pl.DataFrame, table: str, measure: str) -> dict:
    rows = rec.filter((pl.col("table") == table) & (pl.col("measure") == measure))
    assert rows.height == 1, (table, measure, rec["measure"].to_list())
    return rows.row(0, named=True)


def test_the_seed_plan_chooses_the_analysis_as_published_and_the_default_is_recommended(seed):
    study, _ = seed
    assert study.plan.analysis == "as_published"
    assert (study.plan.p_adjust, study.plan.p_adjust_family) == ("holm", "table")
    assert dataclasses.replace(study.plan).analysis == "as_published"
    from cartkit.study.model import Plan

    assert (Plan().analysis, Plan().p_adjust, Plan().p_adjust_family) == ("recommended", "holm", "table")


def test_plan_keys_are_checked(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    text = (SEED / "study.toml").read_text(encoding="utf-8").replace(
        'analysis = "as_published"', 'analysis = "best"\np_adjust = "sidak"\np_adjust_family = "report"')
    (folder / "study.toml").write_text(text, encoding="utf-8")
    config, problems = read_study_toml(folder)
    bad = {p.column: str(p.rule) for p in problems}
    assert "recommended, as_published" in bad["plan.analysis"]
    assert "holm" in bad["plan.p_adjust"] and "none" in bad["plan.p_adjust"]
    assert "table, comparison" in bad["plan.p_adjust_family"]
    assert config.plan.analysis == "recommended"  # the default stands after a problem


def test_neutropenia_bowker_against_the_exact_paired_tests(seed, rec):
    # R: a <- c(2,3,2,3,2,3,2,3,4,3,3,4,4); b <- c(2,2,2,2,3,2,2,2,2,2,3,3,2)  (P1..P13, CD19 then CD22)
    #    mcnemar.test(table(factor(a, 2:4), factor(b, 2:4))): 5.666666666666666, df 3, p 0.129003061437436
    gc = seed[1].tables["grade_compare"]
    bowker = gc.filter((pl.col("toxicity") == "Neutropenia") & (pl.col("note") == "")).row(0, named=True)
    assert bowker["paired_pvalue"] == pytest.approx(0.129003061437436, abs=1e-9)
    assert bowker["paired_statistic"] == pytest.approx(5.666666666666666, abs=1e-9)
    assert bowker["paired_df"] == 3
    row = _row(rec, "grades", "Neutropenia")
    assert row["paired"] and row["n_pairs"] == 13
    # R: binom.test(8, 9)$p.value = 0.0390625; $conf.int = 0.517503485082663 0.997190863253401
    assert row["method"] == "Exact sign test (binomial)"
    assert row["pvalue"] == pytest.approx(0.0390625, abs=1e-12)
    assert (row["estimate"], row["lower"], row["upper"]) == pytest.approx((8 / 9, 0.517503485082663,
                                                                           0.997190863253401), abs=1e-9)
    # R: pvalue(coin::wilcoxsign_test(a ~ b, zero.method = "Wilcoxon", distribution = "exact")) = 0.03125
    assert row["also_pvalue"] == pytest.approx(0.03125, abs=1e-12)
    # exact symmetry: enumerating the three binomial pairs (1 vs 5, 0 vs 2, 0 vs 1) by hand gives 0.125
    assert row["sensitivity_pvalue"] == pytest.approx(0.125, abs=1e-12)
    assert "5.67, df = 3" in row["note"] and "0.129" in row["note"]
    # as published beside it: Fisher's exact test of grade x product (the seed's Figure 5 test)
    assert row["published_method"].startswith("Fisher")
    assert row["published_pvalue"] == pytest.approx(bowker["pvalue"])


# the 12 unpaired P as published (the comparisons table, checked against R and SPSS in
# tests/test_seed_study.py), in the order car_t_pct_cd3 peak, peak day, car_dna ..., tnfa peak day
PUBLISHED_P = [0.9197344383977848, 0.021770910190811173, 0.879846547314578, 0.0005458002441278378,
               0.04411668557583216, 0.006026881287332904, 0.0042151414341480295, 0.0008010660340855006,
               0.03303682370589023, 2.7322547254574617e-05, 0.019098705843893622, 0.002406388459964834]
# R: p.adjust(PUBLISHED_P, "holm")
HOLM_R = [1.0, 0.114592235063361733, 1.0, 0.006003802685406215, 0.132350056727496501, 0.042188169011330330,
          0.033721131473184236, 0.008010660340855007, 0.132147294823560912, 0.000327870567054895,
          0.114592235063361733, 0.021657496139683506]


def test_holm_over_the_12_unpaired_measures_as_published(rec):
    measures = rec.filter(pl.col("table") == "measures")
    assert measures.height == 12
    assert measures["published_pvalue"].to_list() == pytest.approx(PUBLISHED_P, abs=1e-12)
    assert measures["published_p_adjusted"].to_list() == pytest.approx(HOLM_R, abs=1e-12)
    peak_day = _row(rec, "measures", "CAR-T cells, % of CD3+ (flow cytometry) peak day")
    assert round(peak_day["published_pvalue"], 4) == 0.0218 and round(peak_day["published_p_adjusted"], 4) == 0.1146
    assert set(measures["family_size"].to_list()) == {12}
    assert set(measures["adjust_method"].to_list()) == {"holm"}


def test_paired_measures_against_r(rec):
    peak = _row(rec, "measures", "CAR-T cells, % of CD3+ (flow cytometry) peak")
    # R: wilcox.test(a, b, paired = TRUE, conf.int = TRUE) with a, b the 13 patients' CAR-T % peaks
    # (CD19, CD22): p 0.497314453125, pseudo-median -1.33, conf.int -4.86 1.85 (exact, no ties)
    assert peak["pvalue"] == pytest.approx(0.497314453125, abs=1e-12)
    assert (peak["estimate"], peak["lower"], peak["upper"]) == pytest.approx((-1.33, -4.86, 1.85), abs=1e-9)
    day = _row(rec, "measures", "CAR-T cells, % of CD3+ (flow cytometry) peak day")
    # R: pvalue(wilcoxsign_test(ta ~ tb, zero.method = "Wilcoxon", distribution = "exact")) = 0.0625
    # wilcox.test(ta, tb, paired = TRUE, conf.int = TRUE, tol.root = 1e-10): -7, (-12, 2.5e-11), 95%
    assert day["pvalue"] == pytest.approx(0.0625, abs=1e-12)
    assert (day["estimate"], day["lower"], day["upper"]) == pytest.approx((-7.0, -12.0, 0.0), abs=1e-6)
    assert day["level"] == 0.95
    il6 = _row(rec, "measures", "IL-6 peak")
    # R: r <- t.test(log(x), log(y), paired = TRUE); exp(c(r$estimate, r$conf.int)), r$p.value:
    # 2.8771738135677483 1.0428691927726712 7.9378403455096436, 0.0425197991427516
    assert il6["effect"] == "geometric mean ratio A / B"
    assert (il6["estimate"], il6["lower"], il6["upper"]) == pytest.approx(
        (2.8771738135677483, 1.0428691927726712, 7.9378403455096436), abs=1e-9)
    assert il6["also_pvalue"] == pytest.approx(0.0425197991427516, abs=1e-9)
    # R: pvalue(wilcoxsign_test(x ~ y, zero.method = "Wilcoxon", distribution = "exact")) = 0.01708984375
    assert il6["pvalue"] == pytest.approx(0.01708984375, abs=1e-12)


def test_response_rates_per_disease_paired(rec):
    responses = rec.filter(pl.col("table") == "responses")
    assert sorted(responses["measure"].to_list()) == ["CR rate, B-ALL", "CR rate, DLBCL", "ORR, B-ALL", "ORR, DLBCL"]
    orr = _row(rec, "responses", "ORR, DLBCL")
    # 0/7 after CD19, 6/7 after CD22 in the same 7 patients: discordant 0 vs 6; R binom.test(0, 6) = 0.03125
    assert (orr["summary_a"], orr["summary_b"], orr["n_pairs"]) == ("0/7 (0.0%)", "6/7 (85.7%)", 7)
    assert orr["pvalue"] == pytest.approx(0.03125, abs=1e-12)
    assert orr["estimate"] == pytest.approx(-6 / 7)
    assert orr["lower"] < -6 / 7 < orr["upper"] < 0


def test_conclusions_that_differ_say_why(rec):
    differ = rec.filter(pl.col("differs"))
    assert differ.height == 13
    day = _row(rec, "measures", "CAR-T cells, % of CD3+ (flow cytometry) peak day")
    assert day["differs"]
    # the exact P 0.0625 is printed as SPSS rounds it: 0.063 (a half away from zero)
    assert day["reason"].startswith("P < 0.05 as published (0.022), not in the recommended analysis (P = 0.063")
    assert "compared with themselves" in day["reason"]
    same = _row(rec, "measures", "CAR-T cells, % of CD3+ (flow cytometry) peak")
    assert not same["differs"] and same["reason"] == ""
    assert set(rec["primary"].to_list()) == {"as published"}


def test_adjustment_options(rec):
    frame = rec.drop("comparison")
    none = rc.adjust(frame, "none", "table")
    assert none["p_adjusted"].to_list() == none["pvalue"].to_list()
    pooled = rc.adjust(frame, "bonferroni", "comparison")
    size = int(frame["pvalue"].is_not_null().sum())
    assert set(pooled["family_size"].to_list()) == {size}
    p = frame["pvalue"].to_list()
    got = pooled["p_adjusted"].to_list()
    assert all((g is None and q is None) or g == pytest.approx(min(1.0, q * size)) for g, q in zip(got, p, strict=True))


def test_the_primary_analysis_follows_the_plan(seed):
    study, results = seed
    plan = dataclasses.replace(study.plan, analysis="recommended")
    rows = results.tables["recommended_comparisons"].drop(
        "comparison", "p_adjusted", "adjust_method", "adjust_family", "family_size", "published_p_adjusted",
        "primary", "differs", "reason").to_dicts()
    for r in rows:
        r.update(dict.fromkeys(("p_adjusted", "adjust_method", "adjust_family", "family_size", "published_p_adjusted",
                                "primary", "differs", "reason")))
    redone = rc.finish(rows, plan)
    assert set(redone["primary"].to_list()) == {"recommended"}
    from cartkit.report.comparison_tables import recommended_table

    header = [c.text for c in recommended_table(redone.with_columns(pl.lit(PAIR).alias("comparison"))).header[0]]
    assert "Recommended analysis (primary)" in header and "As published" in header
    seed_header = [c.text for c in recommended_table(results.tables["recommended_comparisons"]).header[0]]
    assert "As published (primary)" in seed_header and "Recommended analysis" in seed_header
    text = rc.methods_text(plan, {"recommended_comparisons": redone})
    assert text.startswith('Primary analysis: recommended (plan: analysis = "recommended")')


def test_methods_state_each_convention_from_the_results(seed):
    methods = dict(seed[1].tables["methods"].rows())
    text = methods["Recommended analysis"]
    assert text.startswith('Primary analysis: as published (plan: analysis = "as_published")')
    assert "Wilcoxon signed rank exact test (12), exact conditional distribution" in text
    assert "zero differences dropped" in text
    assert "Exact sign test (6)" in text and "Exact test of symmetry" in text
    assert "Newcombe square-and-add" in text and "Clopper-Pearson" in text
    assert "asymptotic, continuity-corrected" in text and "90% (3)" in text
    assert "Holm (R p.adjust(method = \"holm\"))" in text and "measures (each table of the comparison): 12 P values" in text
    # the as-published paragraph says its own conventions (normal approximation without correction)
    assert "no continuity correction" in methods["Comparisons between products"]


def test_without_pairs_the_recommended_analysis_is_unpaired(tmp_path, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    toml = folder / "study.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('paired = "auto"', "paired = false"), encoding="utf-8")
    study = cartkit.load_study(folder)
    rec = analyse(study, derive(study)).tables["recommended_comparisons"]
    assert not rec["paired"].any()
    peak = _row(rec, "measures", "CAR-T cells, % of CD3+ (flow cytometry) peak")
    # R: wilcox.test(a, b, conf.int = TRUE) (no ties: exact): p 0.919734438397785
    assert peak["method"].startswith("Wilcoxon rank sum exact test")
    assert peak["pvalue"] == pytest.approx(0.9197344383977848, abs=1e-12)
    orr = _row(rec, "responses", "ORR, DLBCL")
    # R: fisher.test(rbind(c(0, 7), c(6, 1)))$p.value = 0.004662004662
    assert orr["pvalue"] == pytest.approx(0.004662004662, abs=1e-9)


def test_report_glitches_the_review_found_are_fixed(seed):
    from cartkit.report import tables as tb
    from cartkit.report.html import render_html

    results = seed[1]
    # the comparisons footnote no longer says t-tested rows show mean +/- SD (they show median (IQR))
    notes = " ".join(tb.comparisons_table(results.tables["comparisons"]).footnotes)
    assert "mean \u00b1 SD otherwise" not in notes and "median (IQR) in every row" in notes
    # Bowker's statistic and df are printed beside its P
    grades = tb.grade_compare_table(results.tables["grade_compare"])
    head = [c.text for c in grades.header[0]]
    assert "Paired \u03c7\u00b2" in head and "df" in head
    neutropenia = next(r for r in grades.rows if r.cells[0].text == "Neutropenia")
    texts = [c.text for c in neutropenia.cells]
    assert texts[head.index("Paired \u03c7\u00b2")] == "5.67" and texts[head.index("df")] == "3"
    # the pooled "All" response rate mixes Lugano ORR with B-ALL CR/CRi: the table says so
    rates = tb.response_rates_table(results.tables["response_rates"])
    assert any(r.cells[1].text.startswith("All (pooled, mixed criteria)") for r in rates.rows)
    assert any("Lugano ORR counts PR; B-ALL counts CR/CRi" in n for n in rates.footnotes)
    # the recommended table comes before the as-published one in the comparisons section
    page = render_html(results, {})
    assert page.index('id="recommended-comparisons-table"') < page.index('id="comparisons-table"')
    assert "As published (primary)" in page


def test_one_disease_family_keeps_the_pooled_row_unmarked(seed):
    from cartkit.report import tables as tb

    rates = seed[1].tables["response_rates"].filter(pl.col("diagnosis") != "B-ALL")
    table = tb.response_rates_table(rates)
    assert [r.cells[1].text for r in table.rows] == ["DLBCL", "All", "DLBCL", "All"]
    assert not any("pools" in n for n in table.footnotes)


def test_the_pair_warning_names_the_primary_analysis(seed):
    warnings = " ".join(seed[1].tables["warnings"]["text"].to_list())
    assert "13 patients received both CD19 CAR-T and CD22 CAR-T" in warnings
    assert 'the plan keeps the analysis as published primary (analysis = "as_published")' in warnings


def test_registry_sized_groups_use_the_normal_approximation_and_say_so():
    # above EXACT_MAX_OBSERVATIONS the exact conditional rank tests (cost ~ n^2 x distinct values) give way
    # to R wilcox.test's normal approximation; a 10,000-patient simulated study crashed in the exact
    # symmetry test and a 10^5 one never finished (issue 16, target 3). References: R 4.x,
    # x <- (0:149) %% 7; y <- ((0:119) %% 5) + 1; wilcox.test(x, y, exact = FALSE, correct = TRUE)$p.value
    # a <- (0:259) %% 4; b <- ((0:259) * 3) %% 5; wilcox.test(a, b, paired = TRUE, exact = FALSE)$p.value
    import numpy as np

    from cartkit.analysis import recommended_comparison as rc

    x, y = np.arange(150) % 7.0, np.arange(120) % 5 + 1.0
    row = rc.measure_row(x, y, None, None, log_scale=False, level=0.95)
    assert abs(row["pvalue"] - 0.834561917501995) < 1e-9
    assert "270 observations are more than the 200" in row["convention"]
    a, b = np.arange(260) % 4.0, (np.arange(260) * 3) % 5.0
    row = rc.measure_row(a, b, a, b, log_scale=False, level=0.95)
    assert abs(row["pvalue"] - 3.16943825258996e-05) < 1e-12
    assert "normal approximation" in row["convention"]
    # small samples keep the exact conditional test
    row = rc.measure_row(x[:30], y[:30], None, None, log_scale=False, level=0.95)
    assert row["convention"] == rc._RANK_SUM


def test_hodges_lehmann_and_exact_symmetry_give_way_at_registry_size(monkeypatch):
    import numpy as np
    import polars as pl

    from cartkit.analysis import recommended_comparison as rc
    from cartkit.stats import bowker

    monkeypatch.setattr(rc, "HODGES_LEHMANN_MAX_DIFFERENCES", 1000)
    x, y = np.arange(150) % 7.0, np.arange(120) % 5 + 1.0
    row = rc.measure_row(x, y, None, None, log_scale=False, level=0.95)
    assert "effect" not in row and "no Hodges-Lehmann estimate: 18,000 pairwise differences" in row["note"]
    # 3,000 patients graded after both products, grades 0-4 in every combination: too many discordant
    # cells for the exact symmetry distribution, so Bowker's chi-square is the sensitivity analysis
    n = 3000
    ga, gb = np.arange(n) % 5, (np.arange(n) // 5) % 5
    frame = pl.DataFrame({"patient_id": [f"P{i}" for i in range(n)] * 2,
                          "product": ["A"] * n + ["B"] * n,
                          "grade": np.concatenate([ga, gb]).astype(float)})
    row = rc.grade_row(frame, "A", "B", paired=True, level=0.95)
    square = np.zeros((5, 5), dtype=np.int64)
    np.add.at(square, (ga, gb), 1)
    assert row["sensitivity_method"] == bowker(square).method
    assert abs(row["sensitivity_pvalue"] - bowker(square).pvalue) < 1e-12
