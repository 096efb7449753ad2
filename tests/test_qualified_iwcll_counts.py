"""Qualified blood counts in the iwCLL 2018 response (derive/response.py iwcll_from_study).

Hallek M et al., Blood 2018;131:2745, Table 4 (response/criteria/iwcll_2018.toml): lymphocytes CR < 4 x 10^9/L,
PR >= 50% down from baseline, PD >= 50% up to >= 5; platelets CR >= 100, PR >= 100 or >= 50% up, PD >= 50% down
(with CLL cells in the marrow); PR needs 2 improved group A parameters (3 abnormal here) and 1 of group B. A
qualified count is an interval (grading/censored.py): it decides a comparison only when the whole interval lies
on one side, and the response stands where every end (the baseline's and the later ones', independently) gives
it. Before, a qualified count was missing. Every patient: baseline (day -3) nodes 40 mm / SPD 3000 mm^2, spleen
18 cm, liver 0, marrow 70% CLL cells, ALC 50, platelets 70, haemoglobin 120 g/L, ANC 2.0; day 30 nodes 20 mm /
SPD 1200 (-60%: improved, not CR), spleen 14 cm (enlargement 5 -> 1 cm: improved) or 18 (unchanged)."""

from __future__ import annotations

import polars as pl
import pytest
from test_study_builders import base_tables, write_study

from cartkit.derive.response import iwcll_from_study
from cartkit.study.load import load_study

CASES = {  # patient: baseline ALC, day 30 spleen, ALC, platelets -> iwcll_raw, PD reason (before: raw)
    "P3": ("50", 14, ">100", "120", "PD", "lymphocyte count"),  # >100 >= 75 (+50%) and >= 5 (before: PR)
    "P4": ("50", 18, "<1", "120", "PR", None),          # <1: normal (< 4), nodes + ALC improved (before: SD)
    "P5": ("50", 18, ">20", "120", None, None),         # 20+ improved (<= 25: PR) .. 75+ PD: not known (before: SD)
    "P6": ("50", 14, "10", "<20", "PD", "platelets"),   # <20 <= 35 (-50%), marrow CLL 70% (before: SD)
    "P7": (">100", 18, "10", "120", "PR", None),        # 10 <= 50 whatever the baseline (before: SD, ALC not abnormal)
    "P8": (">100", 14, ">100", "120", None, None),      # baseline and day 30 both above 100: either larger (before: PR)
}


@pytest.fixture(scope="module")
def responses(tmp_path_factory):
    tables = base_tables()
    for pid, (alc0, spleen, alc, plt, *_) in CASES.items():
        tables["patients"].append({"patient_id": pid, "age": 70, "sex": "male", "diagnosis": "CLL",
                                   "prior_lines": 3, "weight_kg": 80})
        tables["infusions"].append({"patient_id": pid, "episode": 1, "product": "CD19 CAR-T", "target": "CD19",
                                    "infusion_date": "2019-03-01", "dose_1e6_per_kg": 2.0})
        row = {"patient_id": pid, "episode": 1, "method": "iwcll"}
        tables["assessments"] += [
            {**row, "day": -3, "node_max_ldi_mm": 40, "spd_mm2": 3000, "spleen_cm": 18, "liver_cm": 0,
             "marrow_cll_pct": 70, "b_symptoms": "no"},
            {**row, "day": 30, "node_max_ldi_mm": 20, "spd_mm2": 1200, "spleen_cm": spleen, "liver_cm": 0},
        ]
        lab = {"patient_id": pid, "episode": 1, "unit": "10^9/L"}
        tables["measurements"] += [
            {**lab, "day": -3, "analyte": "alc", "value": alc0}, {**lab, "day": -3, "analyte": "platelets", "value": "70"},
            {**lab, "day": -3, "analyte": "hemoglobin", "value": "120", "unit": "g/L"},
            {**lab, "day": -3, "analyte": "anc", "value": "2.0"},
            {**lab, "day": 30, "analyte": "alc", "value": alc}, {**lab, "day": 30, "analyte": "platelets", "value": plt},
        ]
    study = load_study(write_study(tmp_path_factory.mktemp("cll"), tables))
    return iwcll_from_study(study)


@pytest.mark.parametrize("pid", CASES)
def test_iwcll_raw_response_with_qualified_counts(responses, pid):
    raw, reason = CASES[pid][-2:]
    row = responses.filter((pl.col("patient_id") == pid) & (pl.col("day") == 30)).row(0, named=True)
    assert (row["iwcll_raw"], row["iwcll_pd_reason"]) == (raw, reason)


def test_undetermined_day_is_no_response(responses):
    # iwcll_response (the 2-month duration rule): the PDs stand, the PRs are unconfirmed (SD), undetermined null
    got = dict(responses.filter(pl.col("day") == 30).select("patient_id", "iwcll_response").iter_rows())
    assert got == {"P3": "PD", "P4": "SD", "P5": None, "P6": "PD", "P7": "SD", "P8": None}
