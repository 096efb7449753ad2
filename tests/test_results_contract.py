"""The Results contract (issue 10 item 4): one schema per result table, checked when the analysis
stores it, and on the seed and simulated single-arm and three-product studies every table either
follows its schema or is left out with a reason (no section silently missing)."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.analysis.results import SCHEMAS, Results, ResultSchemaError, check_table
from cartkit.analysis.sections import SECTIONS, section_tables
from cartkit.derive import derive

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
HIGH = "CD22 CAR-T high dose"


def test_a_table_off_its_schema_is_refused_naming_table_and_column():
    good = pl.DataFrame({"toxicity": ["CRS"], "product": ["A"], "grade": [1], "n": [3]})
    check_table("grade_counts", good)
    with pytest.raises(ResultSchemaError, match="'grade_counts', column 'grade': String, expected int"):
        check_table("grade_counts", good.with_columns(pl.col("grade").cast(pl.String)))
    with pytest.raises(ResultSchemaError, match="'grade_counts', column 'n': missing"):
        check_table("grade_counts", good.drop("n"))
    with pytest.raises(ResultSchemaError, match="'grade_counts', column 'extra': not in its schema"):
        check_table("grade_counts", good.with_columns(extra=pl.lit(1)))
    with pytest.raises(ResultSchemaError, match="'table9' has no schema"):
        Results().store("table9", good)


def test_per_group_columns_follow_their_pattern():
    row = {"endpoint": "OS", "censoring": "censor at HSCT", "statistic": 1.0, "df": 1, "pvalue": 0.3,
           "landmark_day": 180, "n": 13, "events": 5, "median_followup_months": 9.0, "landmark_DLBCL": 0.5,
           "landmark_ci_DLBCL": "0.2-0.8"}
    check_table("logrank", pl.DataFrame([row]))
    with pytest.raises(ResultSchemaError, match="column 'landmark_ci_DLBCL': Float64, expected str"):
        check_table("logrank", pl.DataFrame([{**row, "landmark_ci_DLBCL": 0.2}]))


def test_every_section_table_has_a_schema_and_every_schema_a_section():
    assert set(section_tables()) == set(SCHEMAS)
    assert len({s.name for s in SECTIONS}) == len(SECTIONS)


def test_docs_list_every_result_table():
    text = (Path(__file__).resolve().parents[1] / "docs" / "output.md").read_text(encoding="utf-8")
    assert [name for name in SCHEMAS if f"`{name}`" not in text] == []


def assert_contract(results: Results) -> None:
    """Every table of the contract is present, follows its schema, or is None with a reason."""
    assert set(results.tables) == set(SCHEMAS), set(SCHEMAS) ^ set(results.tables)
    for name, table in results.tables.items():
        if table is None:
            assert results.omitted.get(name), f"{name} left out without a reason"
        else:
            check_table(name, table)


def test_the_seed_follows_the_contract():
    study = cartkit.load_study(SEED)
    results = analyse(study, derive(study))
    assert_contract(results)
    # the seed's plan asks for no next-study designs; its [plan.survival] runs as published and, translated
    # with the recommended HSCT handling, as endpoints (analysis/survival_analysis.py); every patient was
    # infused, and no leukapheresis date is recorded; it has no myeloma or CLL patients (disease_responses: IMWG 2016 / iwCLL 2018 tables), nor any IEC-HS, infection, IgG,
    # MNT/cranial nerve palsy or second malignancy data; its plan asks for no PFS by MRD ([plan.mrd_landmark]);
    # every patient of its one population was infused: no response rates by intention to treat
    assert set(results.omitted) == {"next_study", "never_infused", "vein_to_vein", "disease_responses",
                                    "population_response_rates", "population_response_tests", "population_disease_responses",
                                    "iec_hs_summary", "iec_hs", "infection_density", "infections_by_type",
                                    "hypogammaglobulinaemia", "neurotoxicities", "second_malignancies",
                                    "second_malignancy_summary", "mrd_landmark_status", "mrd_landmark",
                                    "mrd_landmark_curves", "mrd_landmark_at_risk"}


def _simulated(folder: Path, patients: int, seed: int) -> Path:
    from cartkit.simulate import simulate_study

    return simulate_study(folder, patients, seed, format="csv")


def _single_arm(folder: Path) -> Path:
    """A simulated study cut to its CD19 CAR-T episodes: one product, no comparison."""
    for path in folder.glob("*.csv"):
        frame = pl.read_csv(path, infer_schema_length=0)
        if "episode" in frame.columns and path.stem != "patients":
            frame.filter(pl.col("episode").is_null() | (pl.col("episode") == "1")).write_csv(path)
    toml = (folder / "study.toml").read_text()
    toml = toml.replace('products = ["CD19 CAR-T", "CD22 CAR-T"]', 'products = ["CD19 CAR-T"]')
    (folder / "study.toml").write_text(toml)
    return folder


def _three_products(folder: Path) -> Path:
    """A simulated study whose second-product patients alternate between two CD22 products, each
    compared with CD19 CAR-T."""
    infusions = pl.read_csv(folder / "infusions.csv", infer_schema_length=0)
    second = infusions.filter(pl.col("episode") == "2")["patient_id"].to_list()
    high = pl.col("patient_id").is_in(second[::2]) & (pl.col("episode") == "2")
    infusions.with_columns(pl.when(high).then(pl.lit(HIGH)).otherwise(pl.col("product")).alias("product")
                           ).write_csv(folder / "infusions.csv")
    toml = (folder / "study.toml").read_text()
    toml = toml.replace('products = ["CD19 CAR-T", "CD22 CAR-T"]', f'products = ["CD19 CAR-T", "CD22 CAR-T", "{HIGH}"]')
    toml = toml.replace("[plan.response_days]", '[[plan.comparison]]\nby = "product"\nreference = "CD19 CAR-T"\n\n'
                        "[plan.response_days]")
    (folder / "study.toml").write_text(toml)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["sequential", "single-arm", "three products"])
def test_simulated_studies_run_end_to_end_with_every_omission_explained(tmp_path, shape):
    from cartkit.pipeline import run_study

    folder = _simulated(tmp_path / "study", 40, 3)
    if shape == "single-arm":
        _single_arm(folder)
    elif shape == "three products":
        _three_products(folder)
    study = cartkit.load_study(folder)
    results = analyse(study, derive(study))
    assert_contract(results)
    groups = results.tables["comparison_groups"]
    if shape == "single-arm":
        assert groups is None and "the plan names no comparison" in results.omitted["comparison_groups"]
        assert "the plan names no comparison" in results.omitted["grade_compare"]
    else:
        expected = ["CD19 CAR-T vs CD22 CAR-T"] + ([f"CD19 CAR-T vs {HIGH}"] if shape == "three products" else [])
        assert groups["comparison"].to_list() == expected
        # every simulated patient has a CD19 episode first: the pairs are the second product's patients
        infusions = study.infusions
        for row in groups.to_dicts():
            second = infusions.filter(pl.col("product") == row["group_b"])["patient_id"].n_unique()
            assert row["n_pairs"] == row["patients_b"] == second
        assert set(results.tables["grade_compare"]["comparison"]) == set(expected)
    out = run_study(folder, tmp_path / "out").parent
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for name, rows in doc["tables"].items():
        assert rows is not None or doc["omitted"].get(name), f"{name} silently missing"
    html = unescape((out / "index.html").read_text(encoding="utf-8"))
    for reason in set(doc["omitted"].values()):
        assert reason.split(":")[0] in html
