"""The baseline table's header counts are of the population the table is on (ITT of a randomised study,
never-infused patients included), not of the infused patients the response table has."""

from __future__ import annotations

import polars as pl

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.report.html import build_sections
from cartkit.simulate import simulate_study


def test_randomised_baseline_header_counts_the_itt_population(tmp_path):
    folder = simulate_study(tmp_path / "rct", patients=120, seed=3, format="csv", design="randomised")
    study = cartkit.load_study(folder)
    results = analyse(study, derive(study))
    randomised = study.patients.filter(pl.col("randomisation_date").is_not_null())
    infused = randomised.join(study.infusions.select("patient_id").unique(), on="patient_id", how="semi")
    assert infused.height < randomised.height  # the control arm is never infused: the counts differ
    section = next(s for s in build_sections(results, {}) if s.id == "baseline")
    table = section.blocks[0].table
    header = [c.text for c in table.header[0]]
    by_disease = randomised.group_by("diagnosis").len()
    expected = [f"{d} (n = {n})" for d, n in by_disease.sort("diagnosis").iter_rows()]
    assert sorted(header[1:-1]) == expected
    assert header[-1] == f"All (n = {randomised.height})"
    patients_row = next(r for r in table.rows if r.cells[0].text == "Patients, n")
    assert patients_row.cells[-1].text == str(randomised.height)
    assert table.footnotes[-1] == f"Population: ITT (all randomised; N = {randomised.height})."
