"""IEC-HS (Hines MR et al., Transplant Cell Ther 2023; cartkit's reading in docs/criteria.md) with qualified
results: a feature is decided when every value of the result's interval (and of its baseline's) decides it
the same way, else undetermined as a value without a reference. Ferritin ">10000" against 2 x max(ULN 300,
baseline 1000) = 2000 is above it; "<1500" is not; "<5000" is undetermined. Before, a qualified result was
missing: the ferritin ">10000" of a patient with IEC-HS left the episode without a grade."""

from __future__ import annotations

import polars as pl
import pytest
from test_study_builders import base_tables, write_study

from cartkit.derive.iec_hs import derived_iec_hs
from cartkit.grading.iec_hs import iec_hs_features, iec_hs_frame
from cartkit.study.load import load_study

UNITS = {"anc": "10^9/L", "platelets": "10^9/L", "fibrinogen": "g/L"}


@pytest.mark.parametrize(("ferritin", "baseline", "met"), [
    (">10000", 1000, True), (">=2000", 1000, None), (">2000", 1000, True), ("<1500", 1000, False),
    ("<=2000", 1000, False), ("<5000", 1000, None), ("BLQ", 1000, None),
    (2500, ">5000", False),        # a baseline above 5000: 2 x it is above 10000, so 2500 is not above it
    (2500, "<1000", True),         # a baseline below 1000 (ULN 300): the reference is at most 2000
    (2500, "<2000", None),
])
def test_qualified_ferritin_and_baseline(ferritin, baseline, met):
    assert iec_hs_features(ferritin=ferritin, ferritin_uln=300, ferritin_baseline=baseline)["ferritin"] is met


@pytest.mark.parametrize(("kwargs", "feature", "met"), [
    ({"anc": "<0.1"}, "cytopenia", True), ({"anc": "<1.5"}, "cytopenia", None), ({"anc": ">1.0"}, "cytopenia", False),
    ({"platelets": "<=49"}, "cytopenia", True), ({"fibrinogen": "<0.5"}, "fibrinogen", True),
    ({"fibrinogen": ">=1.5"}, "fibrinogen", False), ({"alt": ">1000", "alt_uln": 40}, "transaminases", True),
])
def test_qualified_other_features(kwargs, feature, met):
    assert iec_hs_features(**kwargs, units=UNITS)[feature] is met


def _row(pid, day, analyte, value, qualifier=None, lloq=None, uloq=None, uln=None):
    return {"patient_id": pid, "episode": 1, "day": day, "analyte": analyte, "value": value, "qualifier": qualifier,
            "lloq": lloq, "uloq": uloq, "uln": uln, "lln": None, "blq": qualifier in ("<", "<=", "ND")}


def test_frame_agrees_with_the_scalar_on_qualified_results():
    m = pl.DataFrame([
        # Q1: ferritin >10000 on day 9 (baseline 1000, ULN 300), ANC <0.1 on day 10: present, grade 1
        _row("Q1", 0, "ferritin", 1000.0, uln=300.0), _row("Q1", 9, "ferritin", None, ">", uloq=10000.0, uln=300.0),
        _row("Q1", 10, "anc", None, "<", lloq=0.1),
        # Q2: ferritin <5000 on day 9 (undetermined), ANC 0.3: undetermined
        _row("Q2", 0, "ferritin", 1000.0, uln=300.0), _row("Q2", 9, "ferritin", None, "<", lloq=5000.0, uln=300.0),
        _row("Q2", 9, "anc", 0.3),
        # Q3: ferritin <1500 (not above 2000), ANC 0.3: no IEC-HS, grade 0
        _row("Q3", 0, "ferritin", 1000.0, uln=300.0), _row("Q3", 9, "ferritin", None, "<", lloq=1500.0, uln=300.0),
        _row("Q3", 9, "anc", 0.3),
        # Q4: baseline ferritin >5000 (qualified), day 9 ferritin 8000: 2 x baseline is above 10000: grade 0
        _row("Q4", -1, "ferritin", None, ">", uloq=5000.0, uln=300.0), _row("Q4", 9, "ferritin", 8000.0, uln=300.0),
        _row("Q4", 9, "anc", 0.3),
    ], schema_overrides={"value": pl.Float64, "lloq": pl.Float64, "uloq": pl.Float64, "uln": pl.Float64,
                         "lln": pl.Float64})
    support = pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64, "kind": pl.String,
                                   "agent": pl.String, "o2_device": pl.String})
    deaths = pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64, "detail": pl.String})
    got = {r["patient_id"]: (r["grade"], r["onset_day"]) for r in iec_hs_frame(m, support, deaths).to_dicts()}
    assert got == {"Q1": (1, 9), "Q2": (None, None), "Q3": (0, None), "Q4": (0, None)}
    scalar = [iec_hs_features(ferritin=f, ferritin_uln=300, ferritin_baseline=b, anc=a, units=UNITS)["ferritin"]
              for f, b, a in ((">10000", 1000, "<0.1"), ("<5000", 1000, 0.3), ("<1500", 1000, 0.3), (8000, ">5000", 0.3))]
    assert scalar == [True, None, False, False]


def test_a_loaded_study_grades_an_episode_whose_ferritin_is_above_the_analysers_range(tmp_path):
    tables = base_tables()
    tables["measurements"] = [m for m in tables["measurements"] if m["analyte"] not in ("anc", "ferritin")] + [
        {"patient_id": "P1", "episode": 1, "day": d, "date": None, "analyte": a, "value": v, "unit": u, "blq": None,
         "uln": uln} for d, a, v, u, uln in ((0, "ferritin", "900", "ng/mL", 300), (8, "ferritin", ">40000", "ng/mL", 300),
                                             (8, "anc", "<0.1", "10^9/L", None))]
    derived = derived_iec_hs(load_study(write_study(tmp_path, tables)))
    row = derived.filter((pl.col("patient_id") == "P1") & (pl.col("episode") == 1)).row(0, named=True)
    assert (row["grade"], row["onset_day"], row["features"]) == (1, 8, "ferritin; cytopenia")
