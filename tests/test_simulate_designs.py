"""``simulate_study(design=...)`` / ``cartkit simulate --design``: single-arm and randomised studies
(simulate/designs.py) that validate clean and run end to end through ``run_study``."""

from __future__ import annotations

import re

import polars as pl
import pytest
from typer.testing import CliRunner

import cartkit
from cartkit.cli import app
from cartkit.simulate import simulate_study
from cartkit.study.validate import validate_study


def _infused(study) -> pl.DataFrame:
    return study.patients.join(study.infusions.select("patient_id").unique(), on="patient_id", how="semi")


@pytest.fixture(scope="module")
def randomised(tmp_path_factory):
    return simulate_study(tmp_path_factory.mktemp("rct") / "s", patients=300, seed=5, format="csv",
                          design="randomised")


def test_randomised_study_shape(randomised):
    assert validate_study(randomised) == []
    study = cartkit.load_study(randomised)
    p = study.patients
    assert set(p["arm"]) == {"CAR-T", "standard of care"}
    assert p["randomisation_date"].null_count() == 0
    infused = set(_infused(study)["patient_id"])
    car_t = p.filter(pl.col("arm") == "CAR-T")
    soc = p.filter(pl.col("arm") == "standard of care")
    assert not infused & set(soc["patient_id"])  # standard of care: never infused with CAR-T
    never = car_t.filter(~pl.col("patient_id").is_in(list(infused)))
    assert 0.01 < never.height / car_t.height < 0.11  # ~6% (ZUMA-7: 10 of 180, simulate/designs.py)
    assert never["never_infused_reason"].null_count() == 0  # each with a reason
    assert set(never["never_infused_reason"]) <= {"manufacturing failure", "death", "progression", "withdrawal"}
    assert car_t["leukapheresis_date"].null_count() == 0 and soc["leukapheresis_date"].null_count() == soc.height
    # vein-to-vein 21-42 days, randomisation before leukapheresis
    v2v = car_t.join(study.infusions, on="patient_id").select(
        (pl.col("infusion_date") - pl.col("leukapheresis_date")).dt.total_days().alias("d"))["d"]
    assert v2v.min() >= 21 and v2v.max() <= 42
    assert (car_t["leukapheresis_date"] > car_t["randomisation_date"]).all()
    # the standard-of-care arm's follow-up is in the events table, by date
    soc_events = study.events.filter(pl.col("patient_id").is_in(soc["patient_id"].implode()))
    assert soc_events["episode"].null_count() == soc_events.height
    assert {"progression", "new_therapy", "death", "last_contact"} <= set(soc_events["kind"])
    assert [p.name for p in study.plan.populations] == ["ITT", "infused"]
    assert [e.name for e in study.plan.endpoints] == ["EFS", "OS"]


def test_randomised_with_crossover_infuses_soc_failures_after_failure(tmp_path):
    folder = simulate_study(tmp_path / "x", patients=300, seed=5, format="csv", design="randomised", crossover=True)
    assert validate_study(folder) == []
    study = cartkit.load_study(folder)
    soc = study.patients.filter(pl.col("arm") == "standard of care").select("patient_id")
    crossed = study.infusions.join(soc, on="patient_id", how="semi")
    assert crossed.height > 10 and set(crossed["episode"]) == {1}
    failure = study.events.filter((pl.col("kind") == "progression") & pl.col("episode").is_null()).group_by(
        "patient_id").agg(pl.col("date").min().alias("failed"))
    joined = crossed.join(failure, on="patient_id", how="left")
    assert joined["failed"].null_count() == 0 and (joined["infusion_date"] > joined["failed"]).all()


def test_single_arm_study_shape(tmp_path):
    folder = simulate_study(tmp_path / "sa", patients=200, seed=2, format="csv", design="single-arm")
    assert validate_study(folder) == []
    study = cartkit.load_study(folder)
    assert set(study.infusions["product"]) == {"CD19 CAR-T"} and set(study.infusions["episode"]) == {1}
    assert study.patients["leukapheresis_date"].null_count() == 0 and study.patients["arm"].null_count() == 200
    never = study.patients.join(study.infusions, on="patient_id", how="anti")
    assert 0.04 < never.height / 200 < 0.18 and never["never_infused_reason"].null_count() == 0
    assert [p.name for p in study.plan.populations if p.primary] == ["infused"]


def test_sequential_default_is_unchanged_by_the_design_option(tmp_path):
    a = simulate_study(tmp_path / "a", patients=40, seed=4, format="csv")
    b = simulate_study(tmp_path / "b", patients=40, seed=4, format="csv", design="sequential")
    for name in ("patients", "infusions", "events", "measurements", "study"):
        ext = "toml" if name == "study" else "csv"
        assert (a / f"{name}.{ext}").read_bytes() == (b / f"{name}.{ext}").read_bytes()
    assert "[[plan.population]]" not in (a / "study.toml").read_text()


def test_unknown_design_and_crossover_misuse_are_refused(tmp_path):
    with pytest.raises(ValueError, match="design 'factorial' is not known"):
        simulate_study(tmp_path / "f", patients=10, design="factorial")
    with pytest.raises(ValueError, match="crossover applies to the randomised design only"):
        simulate_study(tmp_path / "g", patients=10, design="single-arm", crossover=True)


def test_cli_simulate_design(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["simulate", str(tmp_path / "r"), "-n", "30", "--design", "randomised",
                                 "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert 'rule = "randomised"' in (tmp_path / "r" / "study.toml").read_text()
    bad = runner.invoke(app, ["simulate", str(tmp_path / "q"), "--design", "crossover"])
    assert bad.exit_code == 1 and "--design must be one of sequential, single-arm, randomised" in bad.output
    assert not (tmp_path / "q").exists()


# --------------------------------------------------------------------------- end to end


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.slow
def test_randomised_study_runs_end_to_end(randomised, tmp_path):
    from cartkit.pipeline import run_study

    index = run_study(randomised, tmp_path / "out")
    text = _text(index.read_text(encoding="utf-8"))
    assert "Primary population: ITT (all randomised; N = 300)." in text
    tables = tmp_path / "out" / "tables"
    pops = pl.read_csv(tables / "populations.csv")
    assert set(pops["population"]) == {"ITT", "infused"}
    itt = pops.filter((pl.col("population") == "ITT") & (pl.col("arm") == "All")).row(0, named=True)
    infused = pops.filter((pl.col("population") == "infused") & (pl.col("arm") == "All")).row(0, named=True)
    assert itt["n"] == 300 and infused["n"] == itt["n_infused"] < 300
    tests = pl.read_csv(tables / "endpoint_tests.csv")
    assert set(tests["endpoint"]) == {"EFS", "OS"}
    assert set(tests["origin"]) == {"randomisation"} and set(tests["comparison"]) == {"CAR-T vs standard of care"}
    assert tests["hr"].is_not_null().all() and tests["logrank_pvalue"].is_not_null().all()
    assert "Log-rank tests and Cox hazard ratios" in text
    assert (tables / "never_infused.csv").exists() and (tables / "vein_to_vein.csv").exists()


@pytest.mark.slow
def test_single_arm_study_runs_end_to_end(tmp_path):
    from cartkit.pipeline import run_study

    folder = simulate_study(tmp_path / "sa", patients=120, seed=8, format="csv", design="single-arm")
    index = run_study(folder, tmp_path / "out")
    text = _text(index.read_text(encoding="utf-8"))
    assert re.search(r"Primary population: infused \(infused; N = \d+\)\.", text)
    summary = pl.read_csv(tmp_path / "out" / "tables" / "endpoint_summary.csv")
    assert set(summary["endpoint"]) == {"PFS", "OS", "OS from leukapheresis", "DOR"}
    leuka = summary.filter(pl.col("endpoint") == "OS from leukapheresis").row(0, named=True)
    assert (leuka["population"], leuka["n"]) == ("leukapheresed", 120)
    tests = pl.read_csv(tmp_path / "out" / "tables" / "endpoint_tests.csv")
    assert set(tests["note"]) == {"one group: no comparison"}  # one arm: nothing to compare
