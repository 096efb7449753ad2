"""Issue 13, item 2, on the seed study itself: neutropenia grades after CD19 vs CD22 CAR-T in the same 13 patients.

The issue's review found Bowker P = 0.129 while the exact sign test gives 0.039 and the exact signed-rank
test 0.031. The paired grades are built here from examples/seed-study the way
``cartkit.analysis.product_comparison.grade_comparison`` builds them (each patient's first episode with
each product; an episode without an event is grade 0) and the three tests run on them. R on the same
grades (a = CD19, b = CD22, as printed by the test below):

    a <- c(2, 3, 3, 4, 4, 3, 2, 3, 2, 3, 2, 3, 4); b <- c(2, 2, 3, 3, 2, 2, 2, 2, 3, 2, 2, 2, 2)
    mcnemar.test(table(factor(a, levels = 2:4), factor(b, levels = 2:4)))  # 5.666666666666666, df 3, 0.129003061437436
    binom.test(sum(a > b), sum(a != b))$p.value                             # 0.0390625
    exactRankTests::wilcox.exact(a, b, paired = TRUE)$p.value               # 0.03125
    coin::pvalue(coin::wilcoxsign_test(a ~ b, distribution = "exact"))      # 0.03125 (Pratt zeros)
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cartkit import stats

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"


@pytest.fixture(scope="module")
def neutropenia_pairs() -> tuple[list[int], list[int]]:
    from cartkit.analysis.adverse_events import episode_grades, plan_groups
    from cartkit.derive import derive
    from cartkit.study.load import load_study

    study = load_study(SEED)
    derived = derive(study)
    products, _, groups = plan_groups(study)
    per_episode = episode_grades(derived.hematologic_grades()["Neutropenia"], groups)
    first, second = (
        per_episode.filter(pl.col("product") == product).sort("episode").unique("patient_id", keep="first")
        .select("patient_id", pl.col("grade").alias(side))
        for product, side in ((products[0], "a"), (products[1], "b"))
    )
    pairs = first.join(second, on="patient_id").sort("patient_id")
    assert products[:2] == ("CD19 CAR-T", "CD22 CAR-T")
    return pairs["a"].to_list(), pairs["b"].to_list()


def test_seed_neutropenia_grades_are_the_ones_r_was_given(neutropenia_pairs):
    a, b = neutropenia_pairs
    assert a == [2, 3, 3, 4, 4, 3, 2, 3, 2, 3, 2, 3, 4]
    assert b == [2, 2, 3, 3, 2, 2, 2, 2, 3, 2, 2, 2, 2]


def test_seed_bowker_sign_and_signed_rank(neutropenia_pairs):
    a, b = neutropenia_pairs
    levels = sorted(set(a) | set(b))
    table = [[sum(1 for u, v in zip(a, b, strict=True) if (u, v) == (i, j)) for j in levels] for i in levels]
    bowker = stats.bowker(table)
    assert (bowker.statistic, bowker.df) == pytest.approx((5.666666666666666, 3.0), rel=1e-9)
    assert bowker.pvalue == pytest.approx(0.129003061437436, rel=1e-6)
    assert round(bowker.pvalue, 3) == 0.129
    sign = stats.sign_test(a, b)
    assert sign.pvalue == pytest.approx(0.0390625, rel=1e-9)  # 8 of 9 non-zero differences positive
    assert (sign.statistic, round(sign.pvalue, 3)) == (8.0, 0.039)
    for zero_method in ("wilcoxon", "pratt"):  # the two conventions agree here
        sr = stats.wilcoxon_signed_rank(a, b, exact=True, zero_method=zero_method)
        assert sr.pvalue == pytest.approx(0.03125, rel=1e-9)
        assert round(sr.pvalue, 3) == 0.031
    # the seed's hybrid rule (exact=None: ties and zeros -> normal approximation) gives neither number:
    # wilcox.test(a, b, paired = TRUE)$p.value -> 0.0245885664488587 (continuity-corrected normal)
    assert stats.wilcoxon_signed_rank(a, b).pvalue == pytest.approx(0.0245885664488587, rel=1e-6)
    # the exact symmetry test, by hand: pairs (2,3) 1 vs 5, (2,4) 0 vs 2, (3,4) 0 vs 1; X^2 = 16/6 + 2 + 1;
    # P(X^2 >= 17/3) = P(|2A - 6| = 6) + P(|2A - 6| = 4) P(B in {0, 2}) = 2/64 + 12/64 * 1/2 = 8/64
    exact = stats.symmetry_exact(table)
    assert exact.statistic == pytest.approx(17 / 3, rel=1e-12)
    assert exact.pvalue == pytest.approx(8 / 64, rel=1e-12)


# The seed report's 12 unpaired CD19 vs CD22 comparisons (comparisons table, families "kinetics" and
# "cytokine": CAR-T % of CD3+, CAR transgene, IL-6, sIL-2R, IL-8, TNF-alpha; peak and peak day each)
SEED_UNPAIRED_12 = [0.9197344383977848, 0.021770910190811173, 0.879846547314578, 0.0005458002441278378,
                    0.04411668557583216, 0.006026881287332904, 0.0042151414341480295, 0.0008010660340855006,
                    0.03303682370589023, 2.7322547254574617e-05, 0.019098705843893622, 0.002406388459964834]


def test_seed_holm_over_the_12_unpaired_measures():
    """Issue 13, item 4: with Holm over the 12 unpaired measures, P = 0.022 for the CAR-T peak day becomes 0.115.

    R: p.adjust(c(0.9197344383977848, 0.021770910190811173, ...), "holm")[2] -> 0.11459223506336173
    """
    adjusted = stats.adjust_pvalues(SEED_UNPAIRED_12, "holm")
    assert adjusted[1] == pytest.approx(0.11459223506336173, rel=1e-9)
    assert (round(SEED_UNPAIRED_12[1], 3), round(adjusted[1], 3)) == (0.022, 0.115)


@pytest.mark.slow
def test_seed_unpaired_12_are_the_reports():
    """The 12 p-values above are the ones the seed's analysis computes (7-8 s: load, derive, analyse)."""
    from cartkit.analysis import analyse
    from cartkit.derive import derive
    from cartkit.study.load import load_study

    study = load_study(SEED)
    table = analyse(study, derive(study)).tables["comparisons"]
    family = table.filter(pl.col("family").is_in(["kinetics", "cytokine"]))
    assert family["pvalue"].to_list() == pytest.approx(SEED_UNPAIRED_12, rel=1e-12)
