"""Qualified counts in grading (cartkit.grading.censored): a "<x" count is graded at both ends of its interval
[0, x); the grade both ends agree on stands, else it is not evaluable (null). Expected grades are read off
the criteria by hand: CTCAE v5.0 neutrophil count decreased 2 <1.5, 3 <1.0, 4 <0.5 (x 10^9/L); EHA/EBMT
early ICAHT (Rejeski 2023): ANC <= 0.5 for 7-13 days grade 2, ANC <= 0.1 for 7-13 days grade 3."""

from __future__ import annotations

import polars as pl
import pytest
from test_study_builders import base_tables, write_study

from cartkit.derive.toxicity import derive_hematotox_scores, hematologic_grades_long
from cartkit.grading.censored import at_end, has_qualified
from cartkit.study.load import load_study

# episode -> ANC samples (day, value as written); every other count of the fixture is left out
ANC = {
    ("P1", 1): [(3, "<0.1"), (5, "0.8")],    # every value below 0.1 is below 0.5: grade 4
    ("P1", 2): [(3, "<0.6")],                # [0, 0.6): grade 4 below 0.5, grade 3 from 0.5: not evaluable
    ("P2", 1): [(2, "1.2"), (6, "<0.5")],    # below 0.5 on the threshold itself: grade 4
    ("P2", 2): [(3, "<=0.5")],               # [0, 0.5]: 0.5 itself is grade 3: not evaluable
}
CTCAE = {("P1", 1): 4, ("P1", 2): None, ("P2", 1): 4, ("P2", 2): None}


def _study(tmp_path, anc=ANC):
    tables = base_tables()
    tables["measurements"] = [m for m in tables["measurements"] if m["analyte"] not in ("anc", "platelets")] + [
        {"patient_id": p, "episode": e, "day": d, "date": None, "analyte": "anc", "value": v, "unit": "10^9/L",
         "blq": None} for (p, e), rows in anc.items() for d, v in rows]
    return load_study(write_study(tmp_path, tables))


def test_ctcae_grades_of_qualified_counts(tmp_path):
    study = _study(tmp_path)
    assert has_qualified(study.measurements)
    got = {(r["patient_id"], r["episode"]): r["worst_grade"]
           for r in hematologic_grades_long(study, "5.0").filter(pl.col("analyte") == "anc").to_dicts()}
    assert got == CTCAE


def test_the_same_counts_as_numbers_grade_the_same_where_determined(tmp_path):
    numbers = {("P1", 1): [(3, "0.05"), (5, "0.8")], ("P2", 1): [(2, "1.2"), (6, "0.45")]}
    study = _study(tmp_path, numbers)
    assert not has_qualified(study.measurements, ["anc"]) and has_qualified(study.measurements)  # car_dna BLQ
    got = {(r["patient_id"], r["episode"]): r["worst_grade"]
           for r in hematologic_grades_long(study, "5.0").filter(pl.col("analyte") == "anc").to_dicts()}
    assert got == {k: CTCAE[k] for k in numbers}


@pytest.mark.parametrize("written, grade, days_le_01", [("<0.1", 3, 10), ("<0.2", None, None), ("0.05", 3, 10)])
def test_icaht_of_a_qualified_nadir(tmp_path, written, grade, days_le_01):
    # ANC at day 0 holds until the recovery sample at day 10: 10 days at or below it, then 1.0 and 1.2
    study = _study(tmp_path, {("P1", 1): [(0, written), (10, "1.0"), (20, "1.2")]})
    row = derive_hematotox_scores(study).filter((pl.col("patient_id") == "P1") & (pl.col("episode") == 1)).row(
        0, named=True)
    assert row["icaht_grade"] == grade
    assert row["days_anc_le_0.5"] == 10                      # both ends of [0, 0.2) are <= 0.5
    assert row["days_anc_le_0.1"] == days_le_01


def test_each_end_of_an_interval():
    m = pl.DataFrame({"analyte": ["anc", "anc", "ferritin", "ferritin", "anc"], "value": [None, None, None, 5.0, None],
                      "qualifier": ["<", "<=", ">", None, "ND"], "lloq": [0.1, 0.5, None, None, None],
                      "uloq": [None, None, 1e5, None, None], "blq": [True, True, None, None, True]})
    severe, mild = at_end(m, "severe"), at_end(m, "mild")
    assert severe["value"].to_list() == [0.0, 0.0, 1e12, 5.0, 0.0]   # counts at 0, ferritin unbounded
    lo = mild["value"].to_list()
    assert 0.1 * (1 - 2e-9) < lo[0] < 0.1 and lo[1] == 0.5 and 1e5 < lo[2] < 1e5 * (1 + 2e-9) and lo[3] == 5.0
    assert lo[4] == 1e12                                             # ND without a limit: any value below it
    assert severe["qualifier"].null_count() == 5 and not severe["blq"].any()
