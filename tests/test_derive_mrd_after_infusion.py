"""The episode's MRD negativity counts the tests after the infusion only (derive/response.py derive_responses
``best.mrd_negative``; review 2026-12-02).

``best.mrd_negative`` ("any MRD-negative assessment"; the SPSS "MRD-negative response" and ADaM MRDNEGFL)
aggregated every assessment, baseline included, while the best response itself counts only days >=
``first_response_day`` ("baseline assessments describe the disease, not a response"). A B-ALL patient whose
pre-infusion marrow was MRD-negative (< 0.01%) and who had no MRD test afterwards had an MRD-negative
response; one tested only before the infusion (MRD-positive) was "not MRD-negative" instead of not measured."""

from __future__ import annotations

import datetime as dt

from study_rows import make_study

from cartkit.derive.response import derive_responses


def _marrow(p: str, day: int, mrd_pct: float | None) -> dict:
    return dict(patient_id=p, episode=1, day=day, method="marrow", marrow_blasts_pct=2.0, circulating_blasts=False,
                extramedullary=False, anc=1.5, platelets=150.0, mrd_pct=mrd_pct)


def test_baseline_mrd_is_not_a_response_mrd():
    patients = [dict(patient_id=p, diagnosis="B-ALL") for p in ("NEGBASE", "POSBASE", "POST")]
    inf = [dict(patient_id=p["patient_id"], episode=1, product="CD19 CAR-T", target="CD19",
                infusion_date=dt.date(2020, 1, 1)) for p in patients]
    a = [
        _marrow("NEGBASE", -5, 0.001), _marrow("NEGBASE", 28, None),  # MRD-negative before, not tested after
        _marrow("POSBASE", -5, 2.0), _marrow("POSBASE", 28, None),  # MRD-positive before, not tested after
        _marrow("POST", -5, 2.0), _marrow("POST", 28, 0.001),  # tested after: MRD-negative
    ]
    best = {r["patient_id"]: r for r in derive_responses(make_study(patients=patients, infusions=inf,
                                                                     assessments=a)).best.to_dicts()}
    assert best["NEGBASE"]["mrd_negative"] is None
    assert best["POSBASE"]["mrd_negative"] is None
    assert best["POST"]["mrd_negative"] is True and best["POST"]["mrd_negative_cr"] is True
