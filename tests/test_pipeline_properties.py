"""Property: whenever ``validate`` finds a study clean, ``run_study`` writes a complete report.

Studies come from the simulator (random size, seed and unit variety) with degenerate edits
(``study_edits``: one patient, one product, identical values, no events, no kinetics, all
censored, ...). A complete report is index.html, a results.json that names every table (rows or
null) and every figure (files or the reason it was left out), and tables/<name>.csv for every
table that has rows. Identifiers never contain ``$`` (mathtext in figure labels is tested with
the figures).

The unmarked tests check a few fixed degenerate studies; the random search is marked slow (it runs
in ``pytest`` too; ``-m "not slow"`` leaves it out; ``CARTKIT_PIPELINE_EXAMPLES`` sets its size; each
example is a full run, ~10-20 s).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from study_edits import EDITS, simulated_study

from cartkit.analysis.results import SCHEMAS
from cartkit.pipeline import run_study
from cartkit.study.validate import validate_study


def _errors(folder: Path) -> list:
    """Problems that stop the analysis (warnings, where the loader has them, do not)."""
    return [p for p in validate_study(folder) if getattr(p, "severity", "error") == "error"]


def assert_complete_report(out: Path) -> dict:
    assert (out / "index.html").is_file()
    html = (out / "index.html").read_text(encoding="utf-8")
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert set(SCHEMAS) <= set(doc["tables"]), set(SCHEMAS) - set(doc["tables"])
    for name, rows in doc["tables"].items():
        csv = out / "tables" / f"{name}.csv"
        if rows:
            assert csv.is_file(), f"tables/{name}.csv missing"
            if isinstance(rows, list):
                assert pl.read_csv(csv, infer_schema=False).height == len(rows), name
    for fid, fig in doc["figures"].items():
        if "files" in fig:
            for path in fig["files"]:
                assert (out / path).is_file(), path
        else:
            assert fig["omitted"], f"{fid} left out without a reason"
        assert fid in html, f"{fid} not in index.html"
    return doc


def _run(tmp: Path, patients: int, seed: int, edits: tuple[str, ...], unit_variety: bool = False
         ) -> tuple[list, dict | None]:
    """(validation errors, results.json of the report); no report when validate is not clean."""
    folder = simulated_study(tmp / "study", patients, seed, edits, unit_variety=unit_variety)
    errors = _errors(folder)
    if errors:
        return errors, None
    out = tmp / "report"
    run_study(folder, out)
    return errors, assert_complete_report(out)


# ---------------------------------------------------------------- the default run: fixed studies

FIXED = [
    # every patient's CAR-T % peaks on the same value (issue 9 item 6: mann_whitney stopped the run)
    pytest.param(10, 7364, ("identical_peaks", "no_events"), id="identical-peaks-no-events"),
    pytest.param(1, 5, ("one_patient", "no_kinetics", "all_censored", "default_plan"),
                 id="one-patient-no-kinetics-all-censored"),
]


@pytest.mark.parametrize(("patients", "seed", "edits"), FIXED)
def test_degenerate_study_gets_a_complete_report(tmp_path, patients, seed, edits):
    errors, doc = _run(tmp_path, patients, seed, edits)
    assert not errors, "the edited study should validate clean"
    if "identical_peaks" in edits:
        rows = [r for r in doc["tables"]["comparisons"] if r["key"] == "car_t_pct_cd3.peak"]
        assert rows and rows[0]["pvalue"] is None
        assert rows[0]["why"].startswith("all values identical")


# ---------------------------------------------------------------- the random search (slow)

study_args = st.fixed_dictionaries({
    "patients": st.integers(1, 14),
    "seed": st.integers(0, 10_000),
    "edits": st.lists(st.sampled_from(EDITS), unique=True, max_size=4).map(tuple),
    "unit_variety": st.booleans(),
})


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("CARTKIT_PIPELINE_EXAMPLES", "8")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(args=study_args)
def test_clean_validate_means_a_complete_report(tmp_path_factory, args):
    tmp = tmp_path_factory.mktemp("pipeline")
    errors, _ = _run(tmp, **args)
    event("validate clean" if not errors else "validate not clean: no report asked for")
    note(f"validate: {[str(p) for p in errors[:5]]}")
