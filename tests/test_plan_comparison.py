"""[[plan.comparison]]: parsing with located problems, checks against the data, and the analysis
running each comparison the plan names with its own N and pair counts (issue 10 items 1 and 3).

The pair counts are hand counts of the copied seed: patients P1-P7 received CD19 CAR-T then the
renamed third product, P8-P13 CD19 CAR-T then CD22 CAR-T.
"""

from __future__ import annotations

import shutil

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.study.plan_comparison import (
    Comparison,
    ComparisonSpec,
    comparison_references,
    effective_comparisons,
    expand_comparisons,
    parse_comparisons,
)
from cartkit.study.problems import WARNING, Problem, StudyError

THIRD = "CD19/CD22 CAR-T"
SEED_COMPARISON = '[[plan.comparison]]\nby = "product"\ngroups = ["CD19 CAR-T", "CD22 CAR-T"]\npaired = "auto"\n'


def _parse(raw, products=("A", "B"), diseases=("DLBCL", "B-ALL")):
    problems: list[Problem] = []
    return parse_comparisons(raw, products, diseases, problems), problems


def test_a_comparison_is_parsed_with_its_groups_and_pairing():
    specs, problems = _parse([{"by": "product", "groups": ["A", "B"], "paired": True}])
    assert problems == []
    assert specs == (ComparisonSpec(by="product", groups=("A", "B"), paired=True),)


def test_no_comparison_key_is_not_stated_and_an_empty_list_is_none():
    assert _parse(None) == (None, [])
    assert _parse([]) == ((), [])


@pytest.mark.parametrize("entry, column, rule", [
    ({"groups": ["A", "B"], "pairs": "auto"}, "plan.comparison[1].pairs", "unknown key"),
    ({"by": "site", "groups": ["A", "B"]}, "plan.comparison[1].by", "must be one of: product, arm, disease"),
    ({"groups": ["A", "B"], "reference": "A"}, "plan.comparison[1]", "not both"),
    ({"by": "product"}, "plan.comparison[1]", "not neither"),
    ({"groups": ["A"]}, "plan.comparison[1].groups", "a list of two names"),
    ({"groups": ["A", "A"]}, "plan.comparison[1].groups", "the two groups are the same"),
    ({"groups": ["A", "C"]}, "plan.comparison[1].groups", "not one of plan.products (A, B)"),
    ({"groups": ["A", "B"], "paired": "sometimes"}, "plan.comparison[1].paired", 'must be "auto", true or false'),
    ({"by": "disease", "groups": ["DLBCL", "MCL"]}, "plan.comparison[1].groups", "not one of plan.diseases"),
    ({"by": "disease", "groups": ["DLBCL", "nonsense"]}, "plan.comparison[1].groups", "unknown diagnosis"),
    # a patient has one disease: a paired comparison of diseases is impossible
    ({"by": "disease", "groups": ["DLBCL", "B-ALL"], "paired": True}, "plan.comparison[1].paired",
     "cannot be paired"),
    ({"by": "arm", "groups": ["CAR-T", "standard of care"], "paired": True}, "plan.comparison[1].paired",
     "cannot be paired"),
])
def test_a_wrong_comparison_is_a_located_problem(entry, column, rule):
    specs, problems = _parse([{"groups": ["A", "B"]}, entry])
    assert specs == (ComparisonSpec(by="product", groups=("A", "B")),)  # the good one is kept
    column = column.replace("[1]", "[2]")
    assert [p.column for p in problems] == [column], problems
    assert rule in problems[0].rule and problems[0].file == "study.toml"


def test_disease_names_take_their_canonical_spelling():
    specs, problems = _parse([{"by": "disease", "groups": ["dlbcl", "b-all"]}])
    assert problems == [] and specs[0].groups == ("DLBCL", "B-ALL")


def test_a_reference_is_compared_with_each_other_group_in_order():
    spec = ComparisonSpec(by="product", reference="A", paired=False)
    got = expand_comparisons((spec, ComparisonSpec(groups=("A", "C"))), {"product": ("B", "A", "C")})
    assert got == (Comparison("product", "A", "B", False), Comparison("product", "A", "C", False))


def test_a_product_list_without_comparisons_compares_each_product_with_the_first():
    from cartkit.study.model import Plan

    assert effective_comparisons(Plan(products=("A", "B", "C"))) == (
        ComparisonSpec(by="product", reference="A", implicit=True),)
    assert effective_comparisons(Plan(products=("A", "B"), comparisons=())) == ()
    assert effective_comparisons(Plan()) == ()


def test_comparisons_are_checked_against_the_data():
    patients = pl.DataFrame({"patient_id": ["1", "2"], "diagnosis": ["DLBCL", "DLBCL"]})
    infusions = pl.DataFrame({"patient_id": ["1", "2", "2"], "episode": [1, 1, 2], "product": ["A", "B", "X"]})
    frames = {"patients": patients, "infusions": infusions}
    specs = (ComparisonSpec(groups=("A", "C")), ComparisonSpec(by="arm", groups=("x", "y")),
             ComparisonSpec(groups=("A", "B"), paired=True))
    problems = comparison_references(specs, frames, products=("A", "B", "C"))
    assert [(p.column, p.value, p.severity) for p in problems] == [
        ("plan.products", "X", WARNING),  # recorded, not in the plan: left out, and said so
        ("plan.comparison[1].groups", "C", "error"),
        ("plan.comparison[2].by", "arm", "error"),
        ("plan.comparison[3].paired", True, "error"),  # nobody received both A and B
    ]
    assert "no patient received both A and B" in problems[3].rule
    assert "the patients table records no arm" in problems[2].rule


def test_a_comparison_the_data_cannot_support_stops_the_load(tmp_path, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    toml = (folder / "study.toml").read_text()
    (folder / "study.toml").write_text(toml.replace(SEED_COMPARISON, SEED_COMPARISON.replace(
        'by = "product"', 'by = "dose_level"')))
    with pytest.raises(StudyError) as err:
        cartkit.load_study(folder)
    assert any(p.column == "plan.comparison[1].by" for p in err.value.problems)


# ------------------------------------------------------------------- the three-product copy (issue 10)


@pytest.fixture(scope="module")
def three_product_copy(tmp_path_factory, copy_seed):
    folder = tmp_path_factory.mktemp("three") / "study"
    copy_seed(folder)
    infusions = pl.read_csv(folder / "infusions.csv", infer_schema_length=0)
    renamed = pl.col("patient_id").is_in([f"P{i}" for i in range(1, 8)]) & (pl.col("episode") == "2")
    infusions.with_columns(pl.when(renamed).then(pl.lit(THIRD)).otherwise(pl.col("product")).alias("product")
                           ).write_csv(folder / "infusions.csv")
    return folder


def _groups(results) -> dict[str, dict]:
    return {r["comparison"]: r for r in results.tables["comparison_groups"].to_dicts()}


def test_the_seed_plan_on_the_copy_compares_the_six_pairs_it_names(three_product_copy):
    study = cartkit.load_study(three_product_copy)
    left_out = [w for w in study.warnings if w.column == "plan.products"]
    assert [w.value for w in left_out] == [THIRD] and "(7 episodes)" in left_out[0].rule
    results = analyse(study, derive(study))
    groups = _groups(results)
    assert list(groups) == ["CD19 CAR-T vs CD22 CAR-T"]
    row = groups["CD19 CAR-T vs CD22 CAR-T"]
    assert (row["patients_a"], row["patients_b"], row["n_pairs"]) == (13, 6, 6)
    warnings = results.tables["warnings"]["text"].to_list()
    assert any(w.startswith("CD19 CAR-T vs CD22 CAR-T: 6 patients received both") for w in warnings), warnings
    assert not any("13 patients received both" in w for w in warnings)
    peak = results.tables["comparisons"].filter(pl.col("key") == "car_t_pct_cd3.peak").row(0, named=True)
    assert (peak["n_a"], peak["n_b"], peak["n_pairs"]) == (13, 6, 6)


def test_each_product_against_the_reference_has_its_own_n_and_pairs(three_product_copy, tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(three_product_copy, folder)
    toml = (folder / "study.toml").read_text()
    toml = toml.replace('products = ["CD19 CAR-T", "CD22 CAR-T"]', f'products = ["CD19 CAR-T", "CD22 CAR-T", "{THIRD}"]')
    toml = toml.replace(SEED_COMPARISON, '[[plan.comparison]]\nby = "product"\nreference = "CD19 CAR-T"\n')
    (folder / "study.toml").write_text(toml)
    study = cartkit.load_study(folder)
    assert not [w for w in study.warnings if w.column == "plan.products"]
    results = analyse(study, derive(study))
    groups = _groups(results)
    assert list(groups) == ["CD19 CAR-T vs CD22 CAR-T", f"CD19 CAR-T vs {THIRD}"]
    assert [(g["patients_a"], g["patients_b"], g["n_pairs"]) for g in groups.values()] == [(13, 6, 6), (13, 7, 7)]
    warnings = results.tables["warnings"]["text"].to_list()
    assert any(w.startswith("CD19 CAR-T vs CD22 CAR-T: 6 patients received both") for w in warnings)
    assert any(w.startswith(f"CD19 CAR-T vs {THIRD}: 7 patients received both") for w in warnings)
    assert not any("13 patients received both" in w for w in warnings)
    peaks = results.tables["comparisons"].filter(pl.col("key") == "car_t_pct_cd3.peak")
    assert peaks.select("comparison", "group_b", "n_b", "n_pairs").rows() == [
        ("CD19 CAR-T vs CD22 CAR-T", "CD22 CAR-T", 6, 6), (f"CD19 CAR-T vs {THIRD}", THIRD, 7, 7)]
    crs = results.tables["grade_compare"].filter((pl.col("toxicity") == "CRS")
                                                 & ~pl.col("note").str.contains("alternative grading system"))
    assert crs.select("group_b", "n_a", "n_b", "n_pairs").rows() == [("CD22 CAR-T", 13, 6, 6), (THIRD, 13, 7, 7)]


def test_a_disease_comparison_is_unpaired(tmp_path, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    toml = (folder / "study.toml").read_text()
    (folder / "study.toml").write_text(toml.replace(SEED_COMPARISON, '[[plan.comparison]]\nby = "disease"\n'
                                                    'groups = ["DLBCL", "B-ALL"]\n'))
    study = cartkit.load_study(folder)
    results = analyse(study, derive(study))
    row = _groups(results)["DLBCL vs B-ALL"]
    # 7 DLBCL and 6 B-ALL patients (seed Table 1), each with two episodes
    assert (row["patients_a"], row["patients_b"], row["episodes_a"], row["episodes_b"], row["n_pairs"]) == (
        7, 6, 14, 12, 0)
    assert row["paired"] == "no (no patient in both groups)"
    peak = results.tables["comparisons"].filter(pl.col("key") == "car_t_pct_cd3.peak").row(0, named=True)
    assert (peak["group_a"], peak["n_a"], peak["n_b"], peak["paired_pvalue"]) == ("DLBCL", 14, 12, None)
