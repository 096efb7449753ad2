"""Published comparison P-values with several [[plan.comparison]]: every comparison's rows are read, the key
names the one it means (``kinetics.car_dna.peak.cd19_vs_cd22.p``), and a key that does not, with several
comparisons giving it, is "not computed" with the reason instead of silently the first comparison's row.
The comparison tables name their groups in neutral columns, ``group_a`` / ``group_b``."""

from __future__ import annotations

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.analysis.computed_numbers import computed_numbers
from cartkit.analysis.results import SCHEMAS
from cartkit.derive import derive

KEYS = ("kinetics.car_dna.peak.p", "kinetics.car_dna.peak.cd19_vs_cd22.p", "kinetics.car_dna.peak.dlbcl_vs_ball.p",
        "kinetics.car_dna.peak.cd22_vs_cd19.p", "toxicity.crs.grades.p", "toxicity.crs.grades.dlbcl_vs_ball.p")


@pytest.fixture(scope="module")
def two_comparisons(tmp_path_factory, copy_seed):
    folder = tmp_path_factory.mktemp("two") / "study"
    copy_seed(folder)
    toml = (folder / "study.toml").read_text()
    block = '[[plan.comparison]]\nby = "product"\ngroups = ["CD19 CAR-T", "CD22 CAR-T"]\npaired = "auto"\n'
    assert block in toml
    toml = toml.replace(block, block + '\n[[plan.comparison]]\nby = "disease"\ngroups = ["DLBCL", "B-ALL"]\n')
    (folder / "study.toml").write_text(toml)
    (folder / "published.toml").write_text("".join(f'[[number]]\nkey = "{k}"\nvalue = 0.5\nunit = "p"\n\n'
                                                   for k in KEYS))
    study = cartkit.load_study(folder)
    derived = derive(study)
    results = analyse(study, derived)
    return results, computed_numbers(study, derived, results)


def test_the_comparison_tables_use_neutral_group_columns(two_comparisons):
    results, _ = two_comparisons
    assert "group_a:str group_b:str" in SCHEMAS["comparisons"] and "product_a" not in SCHEMAS["comparisons"]
    comp = results.get("comparisons").filter(pl.col("key") == "car_dna.peak")
    assert comp.select("comparison", "group_a", "group_b").rows() == [
        ("CD19 CAR-T vs CD22 CAR-T", "CD19 CAR-T", "CD22 CAR-T"), ("DLBCL vs B-ALL", "DLBCL", "B-ALL")]


def test_each_comparison_is_read_by_the_key_that_names_it(two_comparisons):
    results, numbers = two_comparisons
    comp = {r["comparison"]: r for r in results.get("comparisons").filter(pl.col("key") == "car_dna.peak")
            .iter_rows(named=True)}
    by_product, by_disease = comp["CD19 CAR-T vs CD22 CAR-T"], comp["DLBCL vs B-ALL"]
    assert by_product["pvalue"] != by_disease["pvalue"]
    assert numbers["kinetics.car_dna.peak.cd19_vs_cd22.p"].value == by_product["pvalue"]
    assert numbers["kinetics.car_dna.peak.dlbcl_vs_ball.p"].value == by_disease["pvalue"]
    assert numbers["kinetics.car_dna.peak.cd22_vs_cd19.p"].value is None
    assert numbers["kinetics.car_dna.peak.cd22_vs_cd19.p"].reason == "no comparison of cd22 with cd19 in the results"
    grades = results.get("grade_compare").filter((pl.col("toxicity") == "CRS") & (pl.col("note") == ""))
    assert numbers["toxicity.crs.grades.dlbcl_vs_ball.p"].value == pytest.approx(
        grades.filter(pl.col("comparison") == "DLBCL vs B-ALL")["pvalue"][0])


def test_a_key_that_names_no_comparison_is_not_guessed(two_comparisons):
    _, numbers = two_comparisons
    for key in ("kinetics.car_dna.peak.p", "toxicity.crs.grades.p"):
        assert numbers[key].value is None
        assert numbers[key].reason == ("2 comparisons give this number (CD19 CAR-T vs CD22 CAR-T; DLBCL vs B-ALL): "
                                       "the key names one, e.g. ...cd19_vs_cd22.p")
