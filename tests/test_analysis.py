"""The analysis stage on the seed study and on studies of other shapes.

References are the paper's published numbers and R, never cartkit itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"


@pytest.fixture(scope="module")
def seed_results():
    study = cartkit.load_study(SEED)
    return analyse(study, derive(study))


def _cell(table2: pl.DataFrame, section: str, term: str, product: str, disease: str) -> int:
    row = table2.filter(
        pl.col("section").str.contains(section) & (pl.col("term") == term)
        & (pl.col("product") == product) & (pl.col("diagnosis") == disease)
    )
    assert row.height == 1, (section, term, product, disease)
    return int(row["n"][0])


def test_crs_and_icans_grades_reproduce_table2(seed_results):
    t2 = seed_results.tables["adverse_event_incidence"]
    # Table 2 of the paper: CRS grade 0..4 per product x disease
    expected_crs = {
        ("CD19 CAR-T", "DLBCL"): [5, 1, 1, 0, 0], ("CD19 CAR-T", "B-ALL"): [0, 0, 2, 2, 2],
        ("CD22 CAR-T", "DLBCL"): [4, 2, 1, 0, 0], ("CD22 CAR-T", "B-ALL"): [0, 3, 2, 1, 0],
    }
    for (product, disease), counts in expected_crs.items():
        got = [_cell(t2, "CRS", f"grade {g}", product, disease) for g in range(5)]
        assert got == counts, (product, disease)
    assert _cell(t2, "ICANS", "grade 1", "CD19 CAR-T", "B-ALL") == 1
    assert _cell(t2, "ICANS", "grade 2", "CD19 CAR-T", "B-ALL") == 1
    assert _cell(t2, "ICANS", "grade 0", "CD22 CAR-T", "B-ALL") == 6
    # rows nobody had are still listed (the plan's ae_table_terms), at 0/7 and 0/6
    assert _cell(t2, "Neurological", "aphasia", "CD19 CAR-T", "DLBCL") == 0
    fever = t2.filter((pl.col("term") == "fever") & (pl.col("product") == "CD22 CAR-T"))
    assert sorted(fever["pct"].round(2).to_list()) == [14.29, 66.67]


def test_grade_comparisons_give_the_published_p(seed_results):
    gc = seed_results.tables["grade_compare"]
    crs = gc.filter((pl.col("toxicity") == "CRS") & (pl.col("system") == "ctcae4.03")).row(0, named=True)
    icans = gc.filter(pl.col("toxicity") == "ICANS").row(0, named=True)
    # the paper: P = 0.341 (CRS) and 0.480 (ICANS); R: fisher.test(rbind(c(5,1,3,2,2), c(4,5,3,1,0)))
    # $p.value = 0.3413483, fisher.test(rbind(c(11,1,1), c(13,0,0)))$p.value = 0.48
    assert crs["fisher_pvalue"] == pytest.approx(0.3413483, abs=1e-6)
    assert icans["fisher_pvalue"] == pytest.approx(0.48, abs=1e-6)
    assert "Fisher" in crs["method"]


def test_response_rates_have_exact_intervals(seed_results):
    rates = seed_results.tables["response_rates"]
    dlbcl = rates.filter((pl.col("product") == "CD22 CAR-T") & (pl.col("diagnosis") == "DLBCL")).row(0, named=True)
    assert (dlbcl["orr_n"], dlbcl["cr_n"], dlbcl["n"]) == (6, 4, 7)  # Results: ORR 6/7, CR 4/7
    # R: binom.test(6, 7)$conf.int -> 0.4212768 0.9963897; binom.test(4, 7)$conf.int -> 0.1840516 0.9010117
    assert dlbcl["orr_lower"] == pytest.approx(0.4212768, abs=1e-6)
    assert dlbcl["orr_upper"] == pytest.approx(0.9963897, abs=1e-6)
    assert dlbcl["cr_lower"] == pytest.approx(0.1840516, abs=1e-6)
    assert dlbcl["cr_upper"] == pytest.approx(0.9010117, abs=1e-6)


def test_survival_reproduces_the_published_landmarks_and_logrank(seed_results):
    lr = seed_results.tables["logrank"]
    row = lr.filter((pl.col("endpoint") == "PFS") & (pl.col("censoring") == "exclude HSCT patients")).row(
        0, named=True)
    # Results: 180-day PFS 66.7% vs 20.0%, P = 0.058 (patients without allo-HSCT)
    assert row["landmark_DLBCL"] == pytest.approx(4 / 6, abs=1e-9)
    assert row["landmark_B-ALL"] == pytest.approx(1 / 5, abs=1e-9)
    assert round(row["pvalue"], 3) == 0.058
    assert set(lr["censoring"]) == {"exclude HSCT patients", "censor at HSCT", "HSCT not censored"}


def test_kinetic_summaries_reproduce_the_paper(seed_results):
    comp = seed_results.tables["comparisons"]
    peak = comp.filter(pl.col("key") == "car_t_pct_cd3.peak").row(0, named=True)
    assert peak["summary_a"] == "2.36 (2.06, 5.24)"  # Results: 2.36% (2.06, 5.24)
    assert peak["summary_b"] == "2.24 (2.04, 9.28)"  # Results: 2.24% (2.04, 9.28)
    assert round(peak["pvalue"], 3) == 0.920
    day = comp.filter(pl.col("key") == "car_t_pct_cd3.peak_day").row(0, named=True)
    assert round(day["pvalue"], 3) == 0.022  # SPSS asymptotic, no continuity correction (seed plan)
    assert day["paired_pvalue"] is not None


def test_reproduction_appendix_covers_the_paper(seed_results):
    rep = seed_results.tables["reproduction"]
    statuses = rep.group_by("status").len()
    counted = dict(statuses.iter_rows())
    assert counted.get("agrees", 0) + counted.get("differs", 0) >= 40
    by_key = {r["key"]: r for r in rep.iter_rows(named=True)}
    assert by_key["toxicity.crs.grades.p"]["status"] == "agrees"
    assert by_key["toxicity.icans.grades.p"]["status"] == "agrees"
    assert by_key["patients.age.mean"]["status"] == "agrees"
    assert "MEAN" in by_key["patients.age.mean"]["reason"]
    # the paper's own inconsistencies are found and explained
    assert by_key["discussion.cd22.dlbcl.cr_claimed"]["status"] == "differs"
    assert by_key["ae.icans.cd19.grade1_text"]["status"] == "differs"
    crs_min = by_key["ae.crs.cd19.grade_min"]
    assert crs_min["status"] == "differs" and "ASTCT" in crs_min["reason"]
    assert by_key["survival.os.dlbcl.day180"]["status"] == "differs"
    assert all(r["reason"] for r in rep.filter(pl.col("status") == "differs").iter_rows(named=True))


def test_grading_systems_side_by_side(seed_results):
    gs = seed_results.tables["grading_systems"]
    crs = gs.filter(pl.col("toxicity") == "CRS")
    assert {"ctcae4.03", "astct2019"} <= set(crs["system"])
    # all 7 DLBCL patients had fever >= 38 C after CD19: ASTCT 2019 grade >= 1 for every one of them
    study = cartkit.load_study(SEED)
    dlbcl = study.patients.filter(pl.col("diagnosis") == "DLBCL")["patient_id"].to_list()
    astct = crs.filter((pl.col("system") == "astct2019") & (pl.col("episode") == 1)
                       & pl.col("patient_id").is_in(dlbcl))
    assert astct.height == 7 and astct["grade"].min() >= 1


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "study"
    shutil.copytree(SEED, dst)
    return dst


def test_one_product_study_leaves_comparisons_out(tmp_path):
    study_dir = _copy(tmp_path)
    for name in ("infusions", "measurements", "support", "neuro", "assessments", "adverse_events"):
        path = study_dir / f"{name}.csv"
        frame = pl.read_csv(path, infer_schema_length=0)
        frame.filter(pl.col("episode") == "1").write_csv(path)
    events = pl.read_csv(study_dir / "events.csv", infer_schema_length=0)
    events.filter(pl.col("episode").is_null() | (pl.col("episode") == "1")).write_csv(study_dir / "events.csv")
    toml = (study_dir / "study.toml").read_text()
    toml = toml.replace('products = ["CD19 CAR-T", "CD22 CAR-T"]', 'products = ["CD19 CAR-T"]')
    toml = toml.replace('from_product = "CD22 CAR-T"', 'from_product = "CD19 CAR-T"')
    toml = toml.replace('[[plan.comparison]]\nby = "product"\ngroups = ["CD19 CAR-T", "CD22 CAR-T"]\npaired = "auto"\n', '')
    (study_dir / "study.toml").write_text(toml)
    study = cartkit.load_study(study_dir)
    results = analyse(study, derive(study))
    comparisons = results.tables["comparisons"]
    # no product comparison; only expansion by response within the one product
    assert comparisons is None or comparisons["family"].str.starts_with("by response").all()
    assert results.tables["grade_compare"] is None
    assert "the plan names no comparison" in results.omitted["grade_compare"]
    assert results.tables["adverse_event_incidence"]["product"].unique().to_list() == ["CD19 CAR-T"]


def test_simulated_study_runs_end_to_end(tmp_path):
    from cartkit.pipeline import run_study
    from cartkit.simulate import simulate_study

    sim = simulate_study(tmp_path / "sim", patients=60, seed=11, format="parquet")
    index = run_study(sim, tmp_path / "report")
    assert index.name == "index.html" and index.exists()
    html = index.read_text()
    # the headings say what they show; a simulated study has no publication to number them
    assert "Adverse events by product and disease" in html and "Kaplan" in html and "Table 2" not in html


def test_table1_cells_are_checked_against_the_paper(seed_results, tmp_path):
    rep = {r["key"]: r for r in seed_results.tables["reproduction"].iter_rows(named=True)}
    assert rep["table1.p11.status"]["status"] == "agrees"  # "Relapse" in the paper, "relapsed" in the records
    assert rep["table1.p8.marrow_blasts_pct"]["status"] == "agrees"  # 81.2%
    # a record that contradicts Table 1 is caught
    study_dir = _copy(tmp_path)
    patients = pl.read_csv(study_dir / "patients.csv", infer_schema_length=0)
    patients.with_columns(
        pl.when(pl.col("patient_id") == "P1").then(pl.lit("female")).otherwise(pl.col("sex")).alias("sex")
    ).write_csv(study_dir / "patients.csv")
    study = cartkit.load_study(study_dir)
    changed = analyse(study, derive(study)).tables["reproduction"]
    row = changed.filter(pl.col("key") == "table1.p1.sex").row(0, named=True)
    assert (row["status"], row["computed"]) == ("differs", "female")


def test_published_precision_is_read_from_the_literal(tmp_path):
    from cartkit.analysis.reproduction import Computed, read_published, reproduction_table

    (tmp_path / "published.toml").write_text(
        '[[number]]\nkey = "a"\nvalue = 20.0\nunit = "%"\n\n'
        '[[number]]\nkey = "b"\nvalue = 0.000\nunit = "p"\n\n'
        '[[number]]\nkey = "c"\nvalue = 20.0\ndecimals = 0\nunit = "%"\n'
    )
    published = read_published(tmp_path)
    assert [e.get("decimals") for e in published] == [1, 3, 0]
    table = reproduction_table(published, {k: Computed(20.49 if k != "b" else 0.0004) for k in "abc"})
    # printed 20.0 and computed 20.49 differ at the printed precision; printed 0.000 means P < 0.0005
    assert table["status"].to_list() == ["differs", "agrees", "agrees"]


def test_a_patient_pairs_once_even_with_two_episodes_of_a_product():
    from cartkit.analysis.product_comparison import compare_measure

    values = pl.DataFrame({
        "patient_id": ["P1", "P1", "P1", "P2", "P2", "P3", "P3", "P4", "P4"],
        "episode": [1, 2, 3, 1, 2, 1, 2, 1, 2],
        "product": ["A", "B", "B", "A", "B", "A", "B", "A", "B"],
        "value": [1.0, 5.0, 50.0, 2.0, 7.0, 3.0, 4.0, 4.0, 9.0],
    })
    row = compare_measure(values, "value", ("A", "B"), "r7")
    assert row["n_pairs"] == 4
    # R: t.test(c(5, 7, 4, 9), c(1, 2, 3, 4), paired = TRUE)$p.value = 0.02871560841 (P1 first B episode: 5);
    # shapiro.test(c(4, 5, 1, 5))$p.value = 0.0865 (normal differences, so the paired t test)
    assert row["paired_pvalue"] == pytest.approx(0.02871560841, abs=1e-6)


def test_a_comparison_the_data_cannot_support_is_a_row_saying_why():
    from cartkit.analysis.product_comparison import compare_measure, grade_comparison

    # every patient's peak is the same value: the rank test is undefined (issue 9 item 6)
    values = pl.DataFrame({"patient_id": ["P1", "P2", "P3", "P1", "P2", "P3"], "episode": [1, 1, 1, 2, 2, 2],
                           "product": ["A"] * 3 + ["B"] * 3, "cmax": [5.0] * 6})
    row = compare_measure(values, "cmax", ("A", "B"), "r7")
    assert (row["method"], row["pvalue"], row["statistic"]) == ("not computed", None, None)
    assert row["why"] == "all values identical (5 in both groups)"
    assert row["paired_method"] == "not computed: all paired differences zero (n = 3 pairs)"
    assert row["paired_pvalue"] is None
    row = compare_measure(values.filter(pl.col("product") == "A"), "cmax", ("A", "B"), "r7")
    assert row["why"] == "one group empty (n = 3 and 0)" and row["pvalue"] is None

    # grades only for one product's episodes (no counts after B): nothing to compare, no chi-square error
    groups = values.select("patient_id", "episode", "product")
    grades = pl.DataFrame({"patient_id": ["P1", "P2", "P3"] * 2, "episode": [1, 1, 1, 2, 2, 2],
                           "grade": [0, 1, 3, None, None, None]})  # null: undetermined
    out = grade_comparison(grades, groups, ("A", "B"), "Neutropenia", "ctcae5.0")
    assert out["pvalue"] is None and out["note"] == "only A has graded episodes: nothing to compare"
