"""Simulated studies carry IEC-HS, infections, IgG and immunoglobulin replacement (simulate/late_toxicity.py)
that load, derive as recorded, and give the report's "IEC-HS, infections and late effects" section; the
rows the cohort generator writes are unchanged by them."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.simulate import cohort, late_toxicity, simulate_study, tables


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = simulate_study(tmp_path_factory.mktemp("sim") / "sim", patients=60, seed=5, format="csv")
    study = cartkit.load_study(folder)
    derived = derive(study)
    return study, derived, analyse(study, derived)


def test_simulated_iec_hs_derives_as_recorded(simulated):
    study, derived, _ = simulated
    recorded = study.adverse_events.filter(pl.col("term") == "iec-hs")
    assert recorded.height >= 1
    assert derived.disagreements.filter(pl.col("item") == "iec-hs").height == 0
    # every recorded IEC-HS episode has the laboratory picture: ferritin with its ULN and low fibrinogen
    labs = study.measurements.filter(pl.col("analyte").is_in(["ferritin", "fibrinogen"]) & (pl.col("day") > 0))
    per = labs.join(recorded, on=["patient_id", "episode"], how="semi").group_by("patient_id", "episode").agg(
        pl.col("analyte").n_unique(), pl.col("uln").filter(pl.col("analyte") == "ferritin").min())
    assert per.height == recorded.height and (per["analyte"] == 2).all() and (per["uln"] == 300).all()


def test_simulated_study_reports_infections_igg_and_iec_hs(simulated):
    from cartkit.report.html import build_sections

    study, _, results = simulated
    assert study.infections.height > 0
    assert set(study.infections["organism_class"]) <= {"bacterial", "viral", "fungal", "other"}
    density = results.tables["infection_density"]
    assert set(density["window"]) == {"early", "late"} and (density["patient_days"] > 0).any()
    igg = results.tables["hypogammaglobulinaemia"]
    assert igg["igg_measured"].sum() > 0 and igg["n_replacement"].sum() > 0
    ids = {b.id for s in build_sections(results, {}) for b in s.blocks}
    assert {"iec-hs", "infections", "hypogammaglobulinaemia"} <= ids


def test_the_cohort_tables_keep_their_rows():
    rng = np.random.default_rng(2)
    pat, eps = cohort.simulate_cohort(rng, 30, 20000)
    ids = pl.Series("patient_id", [f"SIM-{i:04d}" for i in range(1, 31)])
    chunk = tables.Chunk(pat, eps, ids, 0, 30)
    for name, added in (("measurements", pl.col("analyte").is_in(["igg", "fibrinogen", "alt"])
                         | (pl.col("analyte") == "ferritin") & (pl.col("day") > 0)),
                        ("support", pl.col("kind").is_in(["anakinra", "cryoprecipitate", "immunoglobulin"])),
                        ("adverse_events", pl.col("term") == "iec-hs")):
        base = getattr(tables, name)(chunk)
        with_extra = getattr(late_toxicity, name)(chunk)
        assert with_extra.filter(~added).equals(base), name
        assert with_extra.filter(added).height > 0 or name == "adverse_events"
