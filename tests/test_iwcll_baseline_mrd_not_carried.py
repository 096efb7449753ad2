"""A pre-infusion MRD result is not a post-infusion one (response/iwcll.py ``umrd``; review 2026-12-02).

``umrd`` is "the latest test so far" (an MRD test is not repeated at every visit), but the baseline row's
result (any MRD on day <= 0) was carried into every later assessment: a CLL patient tested only before the
CAR-T infusion had uMRD (or detectable MRD) at day 30, 90, ... - so derive's ``mrd_negative`` was set on
assessments with no MRD test after the infusion, the PFS-by-MRD landmark (analysis/mrd_landmark.py: "the
tests done on days 1 to day after the infusion") called the patient MRD-negative or MRD-positive instead of
not evaluable, and a later CR counted as CR with uMRD. iwCLL 2018 (Hallek M et al. Blood 2018;131:2745,
section 5): MRD is assessed after therapy, in CR; a result before the infusion says nothing of the response."""

from __future__ import annotations

import polars as pl
from test_response_iwcll import B0, CR, PR

from cartkit.response.iwcll import iwcll_responses


def _at(*rows):
    return pl.DataFrame([{"patient_id": "p", "episode": 1, "day": d, **r} for d, r in rows], infer_schema_length=None)


def test_baseline_mrd_is_not_carried_into_the_response_assessments():
    # baseline undetectable (0.001% < 0.01%), no MRD test after the infusion: not known at any assessment
    r = iwcll_responses(_at((0, {**B0, "mrd_pct": 0.001}), (30, PR), (90, PR), (150, CR), (210, CR)))
    assert r["umrd"].to_list() == [None, None, None, None]
    assert not r["umrd_cr"].any()
    # baseline detectable (5%): no post-infusion test either -> not MRD-positive after the infusion
    r = iwcll_responses(_at((0, {**B0, "mrd_pct": 5.0}), (30, PR), (90, PR)))
    assert r["umrd"].to_list() == [None, None]
    # a post-infusion test is carried to the later visits, as before
    r = iwcll_responses(_at((0, {**B0, "mrd_pct": 5.0}), (30, PR), (90, {**CR, "mrd_pct": 0.001}), (150, CR)))
    assert r["umrd"].to_list() == [None, True, True]
    assert r["umrd_cr"].to_list() == [False, True, False]  # day 150 CR not yet confirmed 60 days later
