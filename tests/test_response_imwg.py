"""IMWG 2016 multiple myeloma response at every boundary of Kumar S et al., Lancet Oncol
2016;17:e328-e346, Table 2 (criteria/imwg_2016.toml, docs/criteria.md). Each expected value is
written from Table 2, not from cartkit; the comment on each case names the row of the table.

Units: serum M-protein g/dL, urine M-protein mg/24 h, FLC mg/L (10 mg/dL = 100 mg/L), marrow
plasma cells %, plasmacytoma SPD mm^2. Day 0 is the baseline.
"""

from __future__ import annotations

import polars as pl
import pytest
from study_rows import make_study

from cartkit.derive.response import derive_responses
from cartkit.response.imwg import imwg_best_response, imwg_responses


def visits(*rows: dict, patient: str = "p") -> pl.DataFrame:
    """Baseline (the first row, day 0) then one visit every 28 days."""
    return pl.DataFrame(
        [{"patient_id": patient, "episode": 1, "day": 28 * i, **r} for i, r in enumerate(rows)],
        infer_schema_length=None,
    )


def raw(*rows: dict) -> list[str | None]:
    """Single-assessment response (no confirmation) at each visit after baseline."""
    return imwg_responses(visits(*rows), confirm=False)["imwg_raw"].to_list()


S = "serum_m_protein"
U = "urine_m_protein"

CASES = [
    # --- serum M-protein only (baseline 10 g/dL measurable, >= 1 g/dL)
    # VGPR: >= 90% reduction in serum M-protein
    ("serum 90% -> VGPR", [{S: 10.0}, {S: 1.0}], "VGPR"),
    ("serum 89.9% -> PR", [{S: 10.0}, {S: 1.01}], "PR"),
    # PR: >= 50% reduction
    ("serum 50% -> PR", [{S: 10.0}, {S: 5.0}], "PR"),
    ("serum 49.9% -> MR", [{S: 10.0}, {S: 5.01}], "MR"),
    # MR: >= 25% but <= 49% reduction
    ("serum 25% -> MR", [{S: 10.0}, {S: 7.5}], "MR"),
    ("serum 24.9% -> SD", [{S: 10.0}, {S: 7.51}], "SD"),
    # --- serum and urine both measurable (serum 2 g/dL, urine 1000 mg/24 h): both must meet
    # VGPR: >= 90% serum plus urine < 100 mg/24 h
    ("urine 99 mg -> VGPR", [{S: 2.0, U: 1000.0}, {S: 0.1, U: 99.0}], "VGPR"),
    # urine 100 mg: not < 100 (no VGPR) but a 90% reduction: PR (>= 90% or < 200 mg/24 h)
    ("urine 100 mg -> PR", [{S: 2.0, U: 1000.0}, {S: 0.1, U: 100.0}], "PR"),
    # urine 199 mg: an 80.1% reduction only, but < 200 mg/24 h: PR
    ("urine 199 mg -> PR", [{S: 2.0, U: 1000.0}, {S: 0.1, U: 199.0}], "PR"),
    # urine 200 mg: neither < 200 nor a 90% reduction (80%); MR needs urine down 50-89%: MR
    ("urine 200 mg -> MR", [{S: 2.0, U: 1000.0}, {S: 0.1, U: 200.0}], "MR"),
    # MR: urine reduction 50% is the lower edge; 49.9% is SD whatever the serum does
    ("urine 50% -> MR", [{S: 2.0, U: 1000.0}, {S: 0.1, U: 500.0}], "MR"),
    ("urine 49.9% -> SD", [{S: 2.0, U: 1000.0}, {S: 0.1, U: 501.0}], "SD"),
    # --- urine only measurable (serum 0.5 g/dL < 1 g/dL is not followed)
    ("urine-only < 200 -> PR", [{S: 0.5, U: 400.0}, {S: 0.5, U: 199.0}], "PR"),
    ("urine-only < 100 -> VGPR", [{S: 0.5, U: 400.0}, {S: 0.5, U: 99.0}], "VGPR"),
    # --- PD: >= 25% increase from the nadir with the absolute increase
    # nadir 2.0 -> 2.5: +25% and +0.5 g/dL -> PD, although 37.5% below baseline (MR by baseline)
    ("serum PD from nadir", [{S: 4.0}, {S: 2.0}, {S: 2.5}], ["PR", "PD"]),
    # nadir 2.0 -> 2.49: +24.5% -> not PD (37.75% below baseline: MR)
    ("serum 24.5% above nadir", [{S: 4.0}, {S: 2.0}, {S: 2.49}], ["PR", "MR"]),
    # nadir 1.0 -> 1.4: +40% but only +0.4 g/dL (< 0.5) -> not PD (65% below baseline: PR)
    ("serum +40% without 0.5 g/dL", [{S: 4.0}, {S: 1.0}, {S: 1.4}], ["PR", "PR"]),
    # nadir >= 5 g/dL: an increase >= 1 g/dL is PD (6 -> 7 is only +16.7%)
    ("serum high nadir +1 g/dL", [{S: 8.0}, {S: 6.0}, {S: 7.0}], ["MR", "PD"]),
    ("serum high nadir +0.99 g/dL", [{S: 8.0}, {S: 6.0}, {S: 6.99}], ["MR", "SD"]),
    # urine: +25% and >= 200 mg/24 h from the nadir (400 -> 600: +50%, +200) -> PD; 599 -> not
    ("urine PD from nadir", [{S: 2.0, U: 1000.0}, {S: 0.9, U: 400.0}, {S: 0.9, U: 600.0}], ["MR", "PD"]),
    ("urine +199 from nadir", [{S: 2.0, U: 1000.0}, {S: 0.9, U: 400.0}, {S: 0.9, U: 599.0}], ["MR", "SD"]),
    # no followed parameter measured at the visit: not evaluable (null), not SD
    ("no M-protein measured -> None", [{S: 10.0}, {"marrow_pc_pct": 30.0}], None),
    # serum and urine followed, urine missing: the urine criterion cannot be met (downgraded)
    ("urine missing -> SD", [{S: 2.0, U: 1000.0}, {S: 0.1}], "SD"),
    # new lesions -> PD whatever the M-protein
    ("new lesions -> PD", [{S: 10.0}, {S: 1.0, "new_lesions": True}], "PD"),
]

# --- non-measurable serum/urine, measurable FLC: kappa 300 mg/L, lambda 10 (ratio 30, abnormal;
# involved kappa 300 >= 100 mg/L = 10 mg/dL): the FLC difference (dFLC 290) is followed.
FLC0 = {S: 0.5, U: 50.0, "flc_kappa": 300.0, "flc_lambda": 10.0}
CASES += [
    # PR: >= 50% decrease in dFLC (290 -> 140: 51.7%); VGPR: >= 90% (-> 29)
    ("FLC-only 51.7% -> PR", [FLC0, {**FLC0, "flc_kappa": 150.0}], "PR"),
    ("FLC-only 90% -> VGPR", [FLC0, {**FLC0, "flc_kappa": 39.0}], "VGPR"),
    ("FLC-only 89.7% -> PR", [FLC0, {**FLC0, "flc_kappa": 40.0}], "PR"),
    # no MR by FLC (MR is defined on M-protein only): 40% -> SD
    ("FLC-only 40% -> SD", [FLC0, {**FLC0, "flc_kappa": 184.0}], "SD"),
    # PD: dFLC +25% from the nadir and absolute increase > 10 mg/dL (> 100 mg/L): nadir 29 -> 129.1
    ("FLC PD > 10 mg/dL", [FLC0, {**FLC0, "flc_kappa": 39.0}, {**FLC0, "flc_kappa": 139.1}], ["VGPR", "PD"]),
    # exactly +100 mg/L is not > 10 mg/dL: not PD (129/290 = 55.5% below baseline: PR)
    ("FLC +10 mg/dL exactly", [FLC0, {**FLC0, "flc_kappa": 39.0}, {**FLC0, "flc_kappa": 139.0}], ["VGPR", "PR"]),
    # the serum M-protein is not followed for response, but the serum PD rule applies:
    # 0.5 -> 1.0 g/dL (+100%, +0.5 g/dL) is PD
    ("FLC-only, serum PD", [FLC0, {**FLC0, S: 1.0, "flc_kappa": 150.0}], "PD"),
    # involved FLC 100 mg/L (10 mg/dL) with abnormal ratio is measurable; 99 mg/L is not, and a
    # patient without measurable disease gets no response short of CR/PD (null)
    ("involved FLC 100 measurable", [{"flc_kappa": 100.0, "flc_lambda": 5.0}, {"flc_kappa": 50.0, "flc_lambda": 5.0}],
     "PR"),
    ("involved FLC 99 not measurable", [{"flc_kappa": 99.0, "flc_lambda": 5.0}, {"flc_kappa": 9.0, "flc_lambda": 5.0}],
     None),
    # normal ratio at baseline (kappa/lambda 1.5): no involved chain, not measurable
    ("normal ratio not measurable", [{"flc_kappa": 150.0, "flc_lambda": 100.0}, {"flc_kappa": 50.0, "flc_lambda": 100.0}],
     None),
]

# --- CR, sCR (Table 2: CR = negative serum and urine immunofixation, no plasmacytoma, < 5% marrow
# plasma cells; sCR = CR + normal FLC ratio 0.26-1.65 + no clonal plasma cells)
CR = {S: 0.0, U: 0.0, "serum_ife": "negative", "urine_ife": "negative", "marrow_pc_pct": 2.0}
B = {S: 3.0, "marrow_pc_pct": 40.0, "flc_kappa": 200.0, "flc_lambda": 5.0}
CASES += [
    ("CR", [B, CR], "CR"),
    ("sCR: CR + ratio 1.2 + no clonal cells",
     [B, {**CR, "flc_kappa": 12.0, "flc_lambda": 10.0, "clonal_pc": False}], "sCR"),
    ("ratio 1.7 -> CR", [B, {**CR, "flc_kappa": 17.0, "flc_lambda": 10.0, "clonal_pc": False}], "CR"),
    ("ratio 0.26 -> sCR", [B, {**CR, "flc_kappa": 2.6, "flc_lambda": 10.0, "clonal_pc": False}], "sCR"),
    ("clonality unknown -> CR", [B, {**CR, "flc_kappa": 12.0, "flc_lambda": 10.0}], "CR"),
    # marrow 5% is not < 5%: not CR; serum down 100% -> VGPR
    ("marrow 5% -> VGPR", [B, {**CR, "marrow_pc_pct": 5.0}], "VGPR"),
    # serum immunofixation positive: not CR
    ("IFE positive -> VGPR", [B, {**CR, "serum_ife": "positive"}], "VGPR"),
    # a patient without measurable disease can still reach CR
    ("non-measurable CR", [{S: 0.4}, CR], "CR"),
    # --- marrow-only disease (no measurable M-protein/FLC; baseline marrow >= 30%): PR = >= 50% fewer
    ("marrow 40 -> 20: PR", [{"marrow_pc_pct": 40.0}, {"marrow_pc_pct": 20.0}], "PR"),
    ("marrow 40 -> 20.5: SD", [{"marrow_pc_pct": 40.0}, {"marrow_pc_pct": 20.5}], "SD"),
    # marrow PD: absolute increase >= 10% (nadir 20 -> 30)
    ("marrow PD +10%", [{"marrow_pc_pct": 40.0}, {"marrow_pc_pct": 20.0}, {"marrow_pc_pct": 30.0}], ["PR", "PD"]),
    # --- soft-tissue plasmacytoma present at baseline (SPD 1000 mm^2): PR also needs >= 50% smaller;
    # so does MR in 2016 (Kumar 2016 Table 2 as transcribed in Curr Oncol 2023;30:2322 Table 1: "If soft
    # tissue plasmacytoma is present, then >50% reduction in size is also required")
    ("plasmacytoma 40% smaller, serum -75% -> SD", [{S: 2.0, "plasmacytoma_spd_mm2": 1000.0},
                                                    {S: 0.5, "plasmacytoma_spd_mm2": 600.0}], "SD"),
    ("MR: serum -30%, plasmacytoma -50%", [{S: 2.0, "plasmacytoma_spd_mm2": 1000.0},
                                           {S: 1.4, "plasmacytoma_spd_mm2": 500.0}], "MR"),
    ("MR: serum -30%, plasmacytoma -49% -> SD", [{S: 2.0, "plasmacytoma_spd_mm2": 1000.0},
                                                 {S: 1.4, "plasmacytoma_spd_mm2": 510.0}], "SD"),
    ("plasmacytoma 50% smaller -> PR", [{S: 2.0, "plasmacytoma_spd_mm2": 1000.0},
                                        {S: 0.5, "plasmacytoma_spd_mm2": 500.0}], "PR"),
    # PD: >= 50% increase from the nadir SPD (400 -> 600)
    ("plasmacytoma +50% -> PD", [{S: 2.0, "plasmacytoma_spd_mm2": 1000.0},
                                 {S: 0.5, "plasmacytoma_spd_mm2": 400.0},
                                 {S: 0.5, "plasmacytoma_spd_mm2": 600.0}], ["PR", "PD"]),
]


@pytest.mark.parametrize("name, rows, expected", CASES, ids=[c[0] for c in CASES])
def test_imwg_table2_boundaries(name, rows, expected):
    expected = expected if isinstance(expected, list) else [expected]
    assert raw(*rows) == expected


def test_confirmation_two_consecutive_assessments():
    # Table 2 footnote: each category and PD needs two consecutive assessments.
    # serum 2.0 -> 0.9 PR, 0.8 PR, 1.5 PD (nadir 0.8: +87%, +0.7), 0.9 (55% below baseline: PR), 0.9 PR
    r = imwg_responses(visits({S: 2.0}, {S: 0.9}, {S: 0.8}, {S: 1.5}, {S: 0.9}, {S: 0.9}))
    assert r["imwg_raw"].to_list() == ["PR", "PR", "PD", "PR", "PR"]
    # each PR is confirmed by an adjacent PR; the single PD is not confirmed (SD)
    assert r["imwg_response"].to_list() == ["PR", "PR", "SD", "PR", "PR"]
    assert r["imwg_confirmed"].to_list() == [True, True, False, True, True]
    # an unconfirmed PD at the last assessment is pending (null), not SD
    r = imwg_responses(visits({S: 2.0}, {S: 0.9}, {S: 0.8}, {S: 1.5}))
    assert r["imwg_response"].to_list() == ["PR", "PR", None]
    # a second consecutive PD confirms the first
    r = imwg_responses(visits({S: 2.0}, {S: 0.9}, {S: 0.8}, {S: 1.5}, {S: 1.6}))
    assert r["imwg_response"].to_list() == ["PR", "PR", "PD", "PD"]
    # VGPR then PR: the VGPR is confirmed only as PR (the worse of the two)
    # (serum 10 -> 0.9: 91%; 1.1: 89%, +22% from the nadir is not PD)
    r = imwg_responses(visits({S: 10.0}, {S: 0.9}, {S: 1.1}, {S: 1.1}))
    assert r["imwg_raw"].to_list() == ["VGPR", "PR", "PR"]
    assert r["imwg_response"].to_list() == ["PR", "PR", "PR"]
    # PD by new lesions (imaging) needs no second assessment; the PR before it is not confirmed (SD)
    r = imwg_responses(visits({S: 2.0}, {S: 0.9}, {S: 0.9, "new_lesions": True}))
    assert r["imwg_response"].to_list() == ["SD", "PD"]
    # a lone assessment confirms nothing
    assert imwg_responses(visits({S: 2.0}, {S: 0.9}))["imwg_response"].to_list() == [None]


def test_cr_confirmed_without_repeating_the_marrow_and_mrd_negative_cr():
    # Table 2: marrow need not be repeated to confirm CR (carried forward); MRD-negative = no clonal
    # cells at a sensitivity of at least 10^-5 by NGS/NGF.
    ife = {S: 0.0, U: 0.0, "serum_ife": "negative", "urine_ife": "negative"}
    rows = (
        {S: 3.0, "marrow_pc_pct": 40.0},
        {**ife, "marrow_pc_pct": 2.0, "mrd_result": "negative", "mrd_sensitivity": 1e-5},
        ife,
        {**ife, "mrd_result": "negative", "mrd_sensitivity": 1e-4},
        ife,
    )
    r = imwg_responses(visits(*rows))
    assert r["imwg_raw"].to_list() == ["CR", "CR", "CR", "CR"]
    assert r["imwg_response"].to_list() == ["CR", "CR", "CR", "CR"]
    # 10^-5: negative; 10^-4 is not sensitive enough (not MRD-negative at 10^-5)
    assert r["mrd_negative"].to_list() == [True, True, False, False]
    assert r["mrd_negative_cr"].to_list() == [True, True, False, False]
    best = imwg_best_response(r)
    assert best.row(0, named=True) == {
        "patient_id": "p", "episode": 1, "best_response": "CR", "response_day": 28, "mrd_negative_cr": True
    }


def test_best_response_over_episodes():
    a = pl.concat(
        [
            visits({S: 10.0}, {S: 1.0}, {S: 0.9}, {S: 3.0}, {S: 3.0}, patient="A"),
            visits({S: 2.0}, {S: 1.2}, {S: 1.1}, patient="B"),                      # MR, MR
        ]
    )
    r = imwg_responses(a)
    # A: 90%, 91% (VGPR), then 3.0 from nadir 0.9 (+233%, +2.1 g/dL) PD, PD: confirmed PD
    assert r.filter(pl.col("patient_id") == "A")["imwg_response"].to_list() == ["VGPR", "VGPR", "PD", "PD"]
    best = imwg_best_response(r)
    assert best["best_response"].to_list() == ["VGPR", "MR"]
    assert best["response_day"].to_list() == [28, 28]


def _myeloma_study(assessments: list[dict], measurements: list[dict]):
    return make_study(
        patients=[dict(patient_id="M1", age=60.0, sex="male", diagnosis="MM")],
        infusions=[dict(patient_id="M1", episode=1, product="BCMA CAR-T", target="BCMA")],
        assessments=assessments,
        measurements=measurements,
    )


def test_derive_responses_hooks_myeloma_to_imwg_and_lists_disagreements():
    def m(day, analyte, value, unit):
        return dict(patient_id="M1", episode=1, day=day, analyte=analyte, value=value, unit=unit)

    def a(day, **kw):
        return dict(patient_id="M1", episode=1, day=day, method="imwg", **kw)

    # serum M-protein 3.0 at baseline (from the measurements; no assessment row at baseline),
    # 0.2 and 0.25 g/dL (93%, 92%: VGPR, VGPR confirmed), then CR by immunofixation and marrow on
    # day 84 (confirmed only at the level of its neighbour: VGPR)
    study = _myeloma_study(
        [
            a(28, response="VGPR"),
            a(56, response="PR"),  # recorded PR, derived VGPR: a disagreement
            a(84, serum_ife="negative", urine_ife="negative", marrow_pc_pct=1.0, response="CR"),
        ],
        [m(-3, "serum_m_protein", 3.0, "g/dL"), m(28, "serum_m_protein", 0.2, "g/dL"),
         m(56, "serum_m_protein", 0.25, "g/dL"), m(84, "serum_m_protein", 0.0, "g/dL")],
    )
    d = derive_responses(study)
    assert d.assessments["derived"].to_list() == ["VGPR", "VGPR", "VGPR"]
    assert d.assessments["recorded"].to_list() == ["VGPR", "PR", "CR"]
    assert d.disagreements.select("item", "recorded", "derived").rows() == [
        ("response day 56 (imwg)", "PR", "VGPR"),
        ("response day 84 (imwg)", "CR", "VGPR"),
    ]
    # best overall response: the recorded one where given (CR on day 84), ranked sCR > CR > VGPR
    assert d.best.row(0, named=True)["best_response"] == "CR"


def test_myeloma_diagnosis_spellings_and_adrs_criteria():
    from cartkit.interop.adam_adrs import criteria_by_family
    from cartkit.study.vocabulary import DIAGNOSES, VOCABULARIES

    assert {VOCABULARIES["diagnosis"][s] for s in ("mm", "multiple myeloma", "myeloma")} == {"MM"}
    assert DIAGNOSES["MM"] == "myeloma"
    assert criteria_by_family()["myeloma"].startswith("IMWG 2016: Kumar S et al. Lancet Oncol 2016")
