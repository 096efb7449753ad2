"""A pre-infusion MRD result is not carried into the IMWG response assessments (response/imwg.py;
review 2026-12-02).

imwg_responses carries the latest marrow and MRD result forward (a marrow is not repeated at every visit),
but the baseline row's MRD (screening, day <= 0) was carried too: with no MRD test after the infusion, every
later assessment had ``mrd_negative`` from the pre-infusion marrow - MRD-positive at the PFS-by-MRD landmark
(analysis/mrd_landmark.py counts "the tests done on days 1 to day after the infusion") instead of not
evaluable, and a baseline MRD-negative result made a later CR an MRD-negative CR. IMWG 2016 (Kumar S et al.
Lancet Oncol 2016;17:e328, Table 2): MRD negativity is assessed in patients who have achieved a CR."""

from __future__ import annotations

from test_response_imwg import S, U, visits

from cartkit.response.imwg import imwg_responses

IFE = {S: 0.0, U: 0.0, "serum_ife": "negative", "urine_ife": "negative"}


def test_baseline_mrd_is_not_carried():
    # screening MRD positive at 10^-5; no MRD test after the infusion: not known afterwards
    r = imwg_responses(visits({S: 3.0, "marrow_pc_pct": 40.0, "mrd_result": "positive", "mrd_sensitivity": 1e-5},
                              {S: 1.0}, {S: 0.5}))
    assert r["mrd_negative"].to_list() == [None, None]
    # a baseline negative result does not make the later CR MRD-negative
    r = imwg_responses(visits({S: 3.0, "marrow_pc_pct": 40.0, "mrd_result": "negative", "mrd_sensitivity": 1e-5},
                              {S: 1.0}, {**IFE, "marrow_pc_pct": 2.0}, IFE))
    assert r["imwg_response"].to_list() == ["PR", "CR", "CR"]
    assert r["mrd_negative"].to_list() == [None, None, None]
    assert not r["mrd_negative_cr"].any()
    # a post-infusion test is carried to the later visits, as before
    r = imwg_responses(visits({S: 3.0, "marrow_pc_pct": 40.0, "mrd_result": "positive", "mrd_sensitivity": 1e-5},
                              {S: 1.0}, {**IFE, "marrow_pc_pct": 2.0, "mrd_result": "negative",
                                         "mrd_sensitivity": 1e-5}, IFE))
    assert r["mrd_negative"].to_list() == [None, True, True]
    assert r["mrd_negative_cr"].to_list() == [False, True, True]
