"""Review 2026-12-02 (iwCLL 2018 duration rule, response/iwcll.py _lasting): a CR or PR that no assessment
>= 60 days later confirms is null, so a patient evaluated twice with a response and never with PD (e.g. CR on
day 30 and day 89, then death or the data cut-off) has no iwCLL best response at all and is listed as not
evaluable. iwCLL 2018 (Hallek M et al. Blood 2018;131:2745, section 5, stable disease): "Patients who have not
achieved a CR or a PR, and who have not exhibited PD, will be considered to have stable disease" - the
unconfirmed responder is SD (a non-responder, as now, but evaluable). Expected best response SD; got none.
The current null is asserted by tests/test_response_iwcll.py::test_response_must_last_two_months (a choice
documented in 02d775c), so this was left for the lead to decide. Decided: SD, as the criteria file's
[duration] unconfirmed = "SD" (a parameter; "not evaluable" keeps the earlier behaviour)."""

from __future__ import annotations

import polars as pl

from cartkit.response.iwcll import iwcll_best_response, iwcll_responses

B0 = {"node_max_ldi_mm": 40.0, "spd_mm2": 3000.0, "spleen_cm": 18.0, "liver_cm": 4.0, "alc": 80.0,
      "platelets": 80.0, "hemoglobin": 100.0, "anc": 2.0, "marrow_cll_pct": 60.0, "marrow_nodules": False,
      "b_symptoms": True}
CR = {"node_max_ldi_mm": 10.0, "spd_mm2": 100.0, "spleen_cm": 12.0, "liver_cm": 0.0, "alc": 1.0,
      "platelets": 150.0, "hemoglobin": 120.0, "anc": 2.0, "marrow_cll_pct": 0.0, "marrow_nodules": False,
      "b_symptoms": False}


def test_unconfirmed_response_without_pd_is_stable_disease():
    a = pl.DataFrame([{"patient_id": "p", "episode": 1, "day": d, **r} for d, r in ((0, B0), (30, CR), (89, CR))],
                     infer_schema_length=None)
    r = iwcll_responses(a)
    assert r["iwcll_raw"].to_list() == ["CR", "CR"]
    assert iwcll_best_response(r)["best_response"].to_list() == ["SD"]
