"""Simulated studies carry IEC-HS, infections, IgG and immunoglobulin replacement (simulate/late_toxicity.py)
that load, derive as recorded, and give the report's "IEC-HS, infections and late effects" section; the
rows the cohort generator writes are unchanged by them."""

from __future__ import annotations

import datetime as dt

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


def test_simulated_infection_densities_are_in_hill_2018s_range(simulated):
    # Hill JA et al., Blood 2018;131:121: 1.19 infections per 100 days at risk in days 0-28 (23% of patients,
    # the first a median of 6 days after the infusion) and 0.67 in days 29-90 (simulate/late_toxicity.py)
    from cartkit.analysis.infections import episode_windows, infection_density

    study, _, _ = simulated
    groups = study.infusions.select("patient_id", "episode", "product").join(
        study.patients.select("patient_id", "diagnosis"), on="patient_id")
    windows = episode_windows(study.infusions, study.events, study.meta.data_cutoff, {"early": (0, 28),
                                                                                       "late": (29, 90)})
    d = infection_density(study.infections, windows, groups, ("CD19 CAR-T", "CD22 CAR-T"), ("DLBCL", "B-ALL"))
    pooled = d.group_by("window").agg(pl.col("infections").sum(), pl.col("patient_days").sum())
    density = {w: 100 * n / days for w, n, days in pooled.select("window", "infections", "patient_days").rows()}
    assert 0.7 <= density["early"] <= 1.8, density
    assert 0.3 <= density["late"] <= 1.1, density
    first = study.infections.filter(pl.col("day") <= 28).group_by("patient_id", "episode").agg(pl.col("day").min())
    assert first["day"].median() <= 9


def test_simulated_infections_have_unique_keys():
    """Two infections drawn for an episode on one day with the same class and site would share the table's key
    (a registry of seed 1 had one such pair per 40,000 patients, and validation rejected it): they are one."""
    from cartkit.simulate.folder import DEFAULT_CUTOFF
    from cartkit.study.schema import TABLES

    n, seen = 5000, []
    one_per_key = late_toxicity._one_per_key

    def counted(*drawn):
        kept = one_per_key(*drawn)
        seen.append((drawn[0].size, kept[0].size))
        return kept

    rng = np.random.default_rng(1)
    pat, eps = cohort.simulate_cohort(rng, n, (DEFAULT_CUTOFF - dt.date(1970, 1, 1)).days)
    ids = pl.Series("patient_id", [f"SIM-{i:05d}" for i in range(1, n + 1)])
    late_toxicity._one_per_key = counted
    try:
        frame = late_toxicity.infections(tables.Chunk(pat, eps, ids, 0, n))
    finally:
        late_toxicity._one_per_key = one_per_key
    (drawn, kept), = seen
    assert drawn > kept == frame.height  # this size draws colliding infections
    key = list(TABLES["infections"].key)
    assert frame.select(key).is_duplicated().sum() == 0
    # the first drawn is kept, and the rows come sorted by episode, day, class and site
    r, day, cls, site, grade = (np.array(a) for a in ([1, 0, 1, 1], [5, 9, 5, 5], [0, 1, 0, 2], [3, 0, 3, 3],
                                                      [2, 3, 3, 2]))
    out = one_per_key(r, day, cls, site, grade)
    assert [a.tolist() for a in out] == [[0, 1, 1], [9, 5, 5], [1, 0, 2], [0, 3, 3], [3, 2, 2]]
