"""iwCLL 2018 CLL response at every boundary of Hallek M et al., Blood 2018;131:2745-2760, Table 4
("Response definition after treatment of CLL patients") and its legend (criteria/iwcll_2018.toml,
docs/criteria.md). Each expected value is written from Table 4, not from cartkit; the comment on each
case names the row of the table (or the legend / section 5 text where Table 4 has no row).

Units: nodes mm (largest LDi) and mm^2 (SPD), spleen cm (normal < 13), liver cm below the costal
margin (0 = normal), counts 10^9/L, haemoglobin g/L (Table 4's g/dL x 10), marrow CLL cells %.
Day 0 is the baseline; one visit every 30 days. The boundary cases read each assessment alone
(``iwcll_raw``); the 2-month duration of a response (section 5) has its own tests below.
"""

from __future__ import annotations

import polars as pl
import pytest
from study_rows import make_study

from cartkit.derive.response import derive_responses
from cartkit.response.iwcll import iwcll_best_response, iwcll_criteria, iwcll_responses


def visits(*rows: dict, patient: str = "p") -> pl.DataFrame:
    return pl.DataFrame(
        [{"patient_id": patient, "episode": 1, "day": 30 * i, **r} for i, r in enumerate(rows)],
        infer_schema_length=None,
    )


def responses(*rows: dict, **kw) -> list[str | None]:
    """Each assessment's own category (``iwcll_raw``)."""
    return iwcll_responses(visits(*rows), **kw)["iwcll_raw"].to_list()


def with_keys(**tables: dict) -> dict:
    """The criteria file with some keys replaced (a study's own reading)."""
    c = iwcll_criteria()
    return {**c, **{t: {**c[t], **keys} for t, keys in tables.items()}}


# Baseline: bulky nodes (largest 40 mm, SPD 3000 mm^2), spleen 18 cm (5 cm beyond 13), liver 4 cm,
# ALC 80, platelets 80, haemoglobin 100 g/L, neutrophils 2.0, marrow 60% CLL, B symptoms.
# Abnormal: group A nodes, liver/spleen, lymphocytes; group B platelets, haemoglobin.
B0 = {"node_max_ldi_mm": 40.0, "spd_mm2": 3000.0, "spleen_cm": 18.0, "liver_cm": 4.0, "alc": 80.0,
      "platelets": 80.0, "hemoglobin": 100.0, "anc": 2.0, "marrow_cll_pct": 60.0, "marrow_nodules": False,
      "b_symptoms": True}
# every CR criterion of Table 4 met (and neutrophils >= 1.5, section 5)
CR = {"node_max_ldi_mm": 10.0, "spd_mm2": 100.0, "spleen_cm": 12.0, "liver_cm": 0.0, "alc": 1.0,
      "platelets": 150.0, "hemoglobin": 120.0, "anc": 2.0, "marrow_cll_pct": 0.0, "marrow_nodules": False,
      "b_symptoms": False}
# PR-level visit: nodes SPD -50% (LDi 25), ALC -50%, spleen and liver unchanged, platelets >= 100
PR = {"node_max_ldi_mm": 25.0, "spd_mm2": 1500.0, "spleen_cm": 18.0, "liver_cm": 4.0, "alc": 40.0,
      "platelets": 120.0, "hemoglobin": 100.0, "anc": 2.0}
SDV = {"node_max_ldi_mm": 40.0, "spd_mm2": 3000.0, "spleen_cm": 18.0, "liver_cm": 4.0, "alc": 80.0,
       "platelets": 80.0, "hemoglobin": 100.0, "anc": 2.0}

CASES = [
    # --- CR: "all of the criteria have to be met" (legend)
    ("CR, all criteria", [B0, CR], "CR"),
    # lymph nodes, CR "None >= 1.5 cm": 14.9 mm is CR, 15 mm is not (PR: SPD down >= 50%)
    ("node 14.9 mm -> CR", [B0, {**CR, "node_max_ldi_mm": 14.9}], "CR"),
    ("node 15 mm -> PR", [B0, {**CR, "node_max_ldi_mm": 15.0}], "PR"),
    # liver and/or spleen, CR "Spleen size < 13 cm": 12.9 CR, 13.0 not (PR)
    ("spleen 12.9 -> CR", [B0, {**CR, "spleen_cm": 12.9}], "CR"),
    ("spleen 13.0 -> PR", [B0, {**CR, "spleen_cm": 13.0}], "PR"),
    # liver, CR "liver size normal" (0 cm below the costal margin)
    ("liver 1 cm -> PR", [B0, {**CR, "liver_cm": 1.0}], "PR"),
    # constitutional symptoms, CR "None"; PR "Any"
    ("symptoms -> PR", [B0, {**CR, "b_symptoms": True}], "PR"),
    # circulating lymphocyte count, CR "Normal" (< 4 x 10^9/L, section 5): 3.9 CR, 4.0 PR
    ("ALC 3.9 -> CR", [B0, {**CR, "alc": 3.9}], "CR"),
    ("ALC 4.0 -> PR", [B0, {**CR, "alc": 4.0}], "PR"),
    # marrow, CR "Normocellular, no CLL cells, no B-lymphoid nodules"; PR "presence of CLL cells, or
    # of B-lymphoid nodules, or not done"
    ("marrow 5% CLL -> PR", [B0, {**CR, "marrow_cll_pct": 5.0}], "PR"),
    # B-lymphoid nodules in an otherwise CLL-free marrow with every other CR criterion: the nodular PR
    # (nPR, 2008; [npr] derive = true; 2018's Table 4 lists nodules under PR: test_npr_...)
    ("marrow nodules -> nPR", [B0, {**CR, "marrow_nodules": True}], "nPR"),
    ("marrow nodules + 5% CLL -> PR", [B0, {**CR, "marrow_nodules": True, "marrow_cll_pct": 5.0}], "PR"),
    ("marrow nodules + platelets 99 -> PR", [B0, {**CR, "marrow_nodules": True, "platelets": 99.0}], "PR"),
    ("marrow not done -> PR", [B0, {k: v for k, v in CR.items() if not k.startswith("marrow")}], "PR"),
    # CRi (section 5): every CR criterion including the marrow, with a count below its CR threshold.
    # platelets CR ">= 100 x 10^9/L": 100 CR, 99 CRi
    ("platelets 100 -> CR", [B0, {**CR, "platelets": 100.0}], "CR"),
    ("platelets 99 -> CRi", [B0, {**CR, "platelets": 99.0}], "CRi"),
    # haemoglobin CR ">= 11.0 g/dL": 110 g/L CR, 109 g/L CRi
    ("Hb 110 -> CR", [B0, {**CR, "hemoglobin": 110.0}], "CR"),
    ("Hb 109 -> CRi", [B0, {**CR, "hemoglobin": 109.0}], "CRi"),
    # neutrophils >= 1.5 x 10^9/L (section 5 CR): 1.5 CR, 1.4 CRi
    ("ANC 1.5 -> CR", [B0, {**CR, "anc": 1.5}], "CR"),
    ("ANC 1.4 -> CRi", [B0, {**CR, "anc": 1.4}], "CRi"),
    # --- PR: "at least 2 of the parameters of group A and 1 parameter of group B need to improve if
    # previously abnormal" (legend). Nodes "Decrease >= 50% (from baseline)", lymphocytes "Decrease
    # >= 50% from baseline", platelets ">= 100 x 10^9/L or increase >= 50% over baseline".
    ("PR: nodes -50% + ALC -50% + platelets 120", [B0, PR], "PR"),
    ("nodes -49.97%: one group A only -> SD", [B0, {**PR, "spd_mm2": 1501.0}], "SD"),
    ("ALC -49.9%: one group A only -> SD", [B0, {**PR, "alc": 40.1}], "SD"),
    # group A met but no group B parameter improved: PR needs A and B -> SD
    ("group A without group B -> SD", [B0, {**PR, "platelets": 80.0}], "SD"),
    # haemoglobin ">= 11 g/dL" is the group B improvement instead of platelets
    ("group B by Hb 110 -> PR", [B0, {**PR, "platelets": 80.0, "hemoglobin": 110.0}], "PR"),
    # spleen "Decrease >= 50%" of its enlargement (18 cm = 5 cm beyond 13: PR at <= 15.5 cm), the
    # liver 4 -> 2 cm (-50%): liver/spleen is the second group A parameter with ALC
    ("spleen 15.5 + liver 2 + ALC -> PR", [B0, {**PR, "spd_mm2": 3000.0, "spleen_cm": 15.5, "liver_cm": 2.0}],
     "PR"),
    ("spleen 15.6 -> SD", [B0, {**PR, "spd_mm2": 3000.0, "spleen_cm": 15.6, "liver_cm": 2.0}], "SD"),
    # both organs enlarged at baseline: both must shrink >= 50% (liver 4 -> 2.1 cm is -47.5%)
    ("liver 2.1 -> SD", [B0, {**PR, "spd_mm2": 3000.0, "spleen_cm": 15.5, "liver_cm": 2.1}], "SD"),
]

# platelets "increase >= 50% over baseline" and haemoglobin likewise, below the CR thresholds
B1 = {**B0, "platelets": 40.0, "hemoglobin": 70.0}
CASES += [
    ("platelets 40 -> 60 (+50%) -> PR", [B1, {**PR, "platelets": 60.0, "hemoglobin": 70.0}], "PR"),
    ("platelets 40 -> 59 -> SD", [B1, {**PR, "platelets": 59.0, "hemoglobin": 70.0}], "SD"),
    ("Hb 70 -> 105 (+50%) -> PR", [B1, {**PR, "platelets": 40.0, "hemoglobin": 105.0}], "PR"),
    ("Hb 70 -> 104 -> SD", [B1, {**PR, "platelets": 40.0, "hemoglobin": 104.0}], "SD"),
]

# "if only 1 parameter of both groups A and B was abnormal before therapy, only 1 needs to improve":
# nodes the only abnormal group A parameter (spleen 12, liver 0, ALC 3)
B2 = {**B0, "spleen_cm": 12.0, "liver_cm": 0.0, "alc": 3.0}
CASES += [
    ("one abnormal A: nodes -50% + platelets -> PR", [B2, {**PR, "spleen_cm": 12.0, "liver_cm": 0.0, "alc": 3.0}],
     "PR"),
    ("one abnormal A: nodes -40% -> SD",
     [B2, {**PR, "spd_mm2": 1800.0, "spleen_cm": 12.0, "liver_cm": 0.0, "alc": 3.0}], "SD"),
]
# group B normal before therapy ("need to improve if previously abnormal"): a post-CAR-T cytopenia
# (platelets 150 -> 90, -40%: neither improved nor PD) does not stop a PR
B3 = {**B0, "platelets": 150.0, "hemoglobin": 130.0}
CASES += [("group B normal at baseline -> PR", [B3, {**PR, "platelets": 90.0, "hemoglobin": 130.0}], "PR")]

# --- PD: "at least 1 of the above criteria of group A or group B has to be met" (legend)
CASES += [
    # lymph nodes "Increase >= 50% from baseline or from response"
    ("nodes +50% from baseline -> PD", [B0, {**SDV, "spd_mm2": 4500.0, "node_max_ldi_mm": 45.0}], "PD"),
    ("nodes +49.97% -> SD", [B0, {**SDV, "spd_mm2": 4499.0, "node_max_ldi_mm": 45.0}], "SD"),
    # from response: nadir 1000 -> 1500 (+50%, largest node 20 mm >= 1.5 cm), 50% below baseline
    ("nodes +50% from the nadir -> PD",
     [B0, {**PR, "spd_mm2": 1000.0, "node_max_ldi_mm": 18.0}, {**PR, "spd_mm2": 1500.0, "node_max_ldi_mm": 20.0}],
     ["PR", "PD"]),
    # a node that stays < 1.5 cm is not progression (section 5): nadir 100 -> 150 mm^2, LDi 12 mm
    ("nodes +50% but < 1.5 cm -> not PD",
     [B0, {**PR, "spd_mm2": 100.0, "node_max_ldi_mm": 10.0}, {**PR, "spd_mm2": 150.0, "node_max_ldi_mm": 12.0}],
     ["PR", "PR"]),
    # new enlarged nodes
    ("new nodes -> PD", [B0, {**PR, "new_lesions": True}], "PD"),
    # liver and/or spleen "Increase >= 50% from baseline or from response": spleen 5 cm enlarged ->
    # 7.5 cm (20.5 cm) PD; 20.4 SD
    ("spleen +50% -> PD", [B0, {**SDV, "spleen_cm": 20.5}], "PD"),
    ("spleen +48% -> SD", [B0, {**SDV, "spleen_cm": 20.4}], "SD"),
    ("liver 4 -> 6 cm -> PD", [B0, {**SDV, "liver_cm": 6.0}], "PD"),
    ("liver 4 -> 5.9 cm -> SD", [B0, {**SDV, "liver_cm": 5.9}], "SD"),
    # circulating lymphocytes "Increase >= 50% over baseline" (80 -> 120)
    ("ALC +50% -> PD", [B0, {**SDV, "alc": 120.0}], "PD"),
    ("ALC +49.9% -> SD", [B0, {**SDV, "alc": 119.9}], "SD"),
    # platelets "Decrease of >= 50% from baseline secondary to CLL" (the marrow holds CLL cells)
    ("platelets -50% with CLL marrow -> PD", [B0, {**SDV, "platelets": 40.0}], "PD"),
    ("platelets -49% -> SD", [B0, {**SDV, "platelets": 41.0}], "SD"),
    # haemoglobin "Decrease of >= 2 g/dL from baseline secondary to CLL"
    ("Hb -20 g/L -> PD", [B0, {**SDV, "hemoglobin": 80.0}], "PD"),
    ("Hb -19 g/L -> SD", [B0, {**SDV, "hemoglobin": 81.0}], "SD"),
    # marrow "Increase of CLL cells by >= 50% on successive biopsies" (60 -> 90)
    ("marrow 60 -> 90% -> PD", [B0, {**SDV, "marrow_cll_pct": 90.0}], "PD"),
    ("marrow 60 -> 89% -> SD", [B0, {**SDV, "marrow_cll_pct": 89.0}], "SD"),
    # constitutional symptoms "Any" under PD: symptoms alone do not define PD
    ("symptoms alone -> SD", [B0, {**SDV, "b_symptoms": True}], "SD"),
    # nothing measured at the visit: not evaluable
    ("nothing measured -> None", [B0, {"b_symptoms": False}], None),
]

# --- non-measurable disease: no group A parameter abnormal at baseline (nodes 10 mm, spleen 12,
# liver 0, ALC 2): PR cannot be measured; CR, CRi or PD only, otherwise not evaluable
N0 = {"node_max_ldi_mm": 10.0, "spd_mm2": 100.0, "spleen_cm": 12.0, "liver_cm": 0.0, "alc": 2.0,
      "platelets": 80.0, "hemoglobin": 100.0, "anc": 2.0, "marrow_cll_pct": 40.0}
CASES += [
    ("non-measurable: counts better -> None", [N0, {**N0, "platelets": 150.0, "marrow_cll_pct": None}], None),
    ("non-measurable: CR", [N0, CR], "CR"),
    ("non-measurable: CRi", [N0, {**CR, "platelets": 90.0}], "CRi"),
    ("non-measurable: new nodes -> PD", [N0, {**N0, "new_lesions": True, "marrow_cll_pct": None}], "PD"),
    # a spleen that was normal and becomes enlarged ("from baseline"): 0 -> 2 cm beyond normal
    ("non-measurable: spleen 15 cm -> PD", [N0, {**N0, "spleen_cm": 15.0, "marrow_cll_pct": None}], "PD"),
]


@pytest.mark.parametrize("name, rows, expected", CASES, ids=[c[0] for c in CASES])
def test_iwcll_table4_boundaries(name, rows, expected):
    expected = expected if isinstance(expected, list) else [expected]
    assert responses(*rows) == expected


def test_cytopenia_after_car_t_is_not_pd_without_cll_in_the_marrow():
    # Table 4: platelet and haemoglobin PD only "secondary to CLL"; with the marrow cleared of CLL
    # (0%, carried forward from day 30) a platelet and haemoglobin fall at day 60 is not PD (no group B
    # parameter improved: SD)
    rows = [B0, {**PR, "marrow_cll_pct": 0.0}, {**PR, "platelets": 30.0, "hemoglobin": 70.0}]
    assert responses(*rows) == ["PR", "SD"]
    # with CLL cells in the marrow the same fall is PD
    rows = [B0, {**PR, "marrow_cll_pct": 20.0}, {**PR, "platelets": 30.0}]
    assert responses(*rows) == ["PR", "PD"]


def test_pd_reason_names_every_criterion():
    r = iwcll_responses(visits(B0, {**SDV, "alc": 130.0, "spleen_cm": 21.0, "new_lesions": True}))
    assert r["iwcll_pd_reason"].to_list() == ["new lymph nodes, spleen, lymphocyte count"]


def test_undetectable_mrd_at_10e4_and_best_response():
    # section 6: undetectable MRD = < 1 CLL cell in 10^4 leukocytes (uMRD4)
    rows = [
        B0,
        {**PR, "mrd_pct": 1.0},
        {**CR, "mrd_pct": 0.009},                               # 0.009% < 0.01%: uMRD
        {**CR, "mrd_pct": 0.01},                                # 0.01% = 10^-4: detectable
        {**CR, "mrd_result": "negative", "mrd_sensitivity": 1e-4},
        {**CR, "mrd_result": "negative", "mrd_sensitivity": 1e-3},   # an assay too coarse for 10^-4
    ]
    r = iwcll_responses(visits(*rows), require_duration=False)
    assert r["iwcll_response"].to_list() == ["PR", "CR", "CR", "CR", "CR"]
    assert r["umrd"].to_list() == [False, True, False, True, False]
    assert r["umrd_cr"].to_list() == [False, True, False, True, False]
    best = iwcll_best_response(r)
    assert best.row(0, named=True) == {
        "patient_id": "p", "episode": 1, "best_response": "CR", "response_day": 60, "umrd_cr": True
    }
    # CR > CRi > PR > SD > PD: a CRi before a PD is the best
    r = iwcll_responses(visits(B0, {**CR, "platelets": 50.0}, {**SDV, "alc": 200.0}, patient="q"),
                        require_duration=False)
    assert iwcll_best_response(r)["best_response"].to_list() == ["CRi"]


def test_derive_responses_hooks_cll_to_iwcll_with_measured_counts_and_lists_disagreements():
    def m(day, analyte, value):
        return dict(patient_id="C1", episode=1, day=day, analyte=analyte, value=value, unit="x")

    def a(day, **kw):
        return dict(patient_id="C1", episode=1, day=day, method="iwcll", **kw)

    nodes0 = dict(node_max_ldi_mm=40.0, spd_mm2=3000.0, spleen_cm=12.0, liver_cm=0.0, marrow_cll_pct=70.0)
    study = make_study(
        patients=[dict(patient_id="C1", age=66.0, sex="male", diagnosis="CLL")],
        infusions=[dict(patient_id="C1", episode=1, product="CD19 CAR-T", target="CD19")],
        assessments=[
            a(-5, **nodes0),
            # nodes -60% and ALC 80 -> 20 (-75%): two group A; platelets 70 -> 110: group B -> PR
            a(30, node_max_ldi_mm=20.0, spd_mm2=1200.0, spleen_cm=12.0, liver_cm=0.0, response="PR"),
            # every criterion normal, marrow clear, but haemoglobin 100 g/L: CRi; recorded CR
            a(90, node_max_ldi_mm=10.0, spd_mm2=100.0, spleen_cm=11.0, liver_cm=0.0, marrow_cll_pct=0.0,
              marrow_nodules=False, b_symptoms=False, mrd_pct=0.001, response="CR"),
            # the same 60 days later: it confirms day 90's CRi (section 5, at least 2 months); itself
            # unconfirmed (no later assessment), derived null
            a(150, node_max_ldi_mm=10.0, spd_mm2=100.0, spleen_cm=11.0, liver_cm=0.0, b_symptoms=False,
              response="CR"),
        ],
        measurements=[
            m(-5, "alc", 80.0), m(-5, "platelets", 70.0), m(-5, "hemoglobin", 95.0), m(-5, "anc", 2.0),
            m(30, "alc", 20.0), m(30, "platelets", 110.0), m(30, "hemoglobin", 100.0), m(30, "anc", 1.8),
            m(90, "alc", 1.2), m(90, "platelets", 160.0), m(90, "hemoglobin", 100.0), m(90, "anc", 2.1),
            m(150, "alc", 1.1), m(150, "platelets", 170.0), m(150, "hemoglobin", 102.0), m(150, "anc", 2.2),
        ],
    )
    d = derive_responses(study)
    # day 30's PR lasted to day 90 (>= 60 days, at least PR throughout); day 90's CRi to day 150
    assert d.assessments["derived"].to_list() == [None, "PR", "CRi", None]
    assert d.assessments["mrd_negative"].to_list() == [None, None, True, True]
    assert d.disagreements.select("item", "recorded", "derived").rows() == [("response day 90 (iwcll)", "CR", "CRi")]
    assert d.best.row(0, named=True)["best_response"] == "CR"      # the recorded one where given


def test_cll_diagnosis_vocabulary_and_adrs_criteria():
    from cartkit.interop.adam_adrs import criteria_by_family
    from cartkit.study.vocabulary import DIAGNOSES, VOCABULARIES

    spellings = ("cll", "chronic lymphocytic leukemia", "chronic lymphocytic leukaemia")
    assert {VOCABULARIES["diagnosis"][s] for s in spellings} == {"CLL"}
    assert DIAGNOSES["CLL"] == "cll"
    assert VOCABULARIES["assessment_method"]["iwcll"] == "iwcll"
    assert VOCABULARIES["response"]["npr"] == "nPR"
    assert VOCABULARIES["response"]["pr-l"] == "PR-L"
    assert criteria_by_family()["cll"].startswith("iwCLL 2018: Hallek M et al. Blood 2018")


def test_cll_study_validates_with_located_problems(tmp_path):
    from test_study_builders import base_tables, write_study

    from cartkit.study.validate import check_study

    tables = base_tables()
    tables["patients"].append({"patient_id": "P3", "age": 70, "sex": "male",
                               "diagnosis": "Chronic lymphocytic leukaemia", "prior_lines": 3, "weight_kg": 80})
    tables["infusions"].append({"patient_id": "P3", "episode": 1, "product": "CD19 CAR-T", "target": "CD19",
                                "infusion_date": "2019-03-01", "dose_1e6_per_kg": 2.0})
    row = {"patient_id": "P3", "episode": 1, "method": "iwcll"}
    tables["assessments"] += [
        {**row, "day": -3, "node_max_ldi_mm": 40, "spd_mm2": 3000, "spleen_cm": 18, "liver_cm": 0,
         "marrow_cll_pct": 70, "b_symptoms": "yes"},
        {**row, "day": 30, "node_max_ldi_mm": 20, "spd_mm2": 1200, "spleen_cm": 14, "response": "PR",
         "richter_transformation": "no"},
    ]
    tables["measurements"] += [
        {"patient_id": "P3", "episode": 1, "day": -3, "analyte": "Absolute lymphocyte count", "value": 80000,
         "unit": "cells/uL"},
        {"patient_id": "P3", "episode": 1, "day": -3, "analyte": "platelets", "value": 70, "unit": "10^9/L"},
        {"patient_id": "P3", "episode": 1, "day": 30, "analyte": "lymphocytes", "value": 20, "unit": "10^9/L"},
        {"patient_id": "P3", "episode": 1, "day": 30, "analyte": "platelets", "value": 120, "unit": "10^9/L"},
    ]
    study, problems = check_study(write_study(tmp_path / "ok", tables))
    assert problems == []
    assert study.tables["patients"].filter(pl.col("patient_id") == "P3")["diagnosis"].to_list() == ["CLL"]
    from cartkit.derive.response import iwcll_from_study

    # nodes -60%, spleen enlargement 5 -> 1 cm (-80%), ALC 80 -> 20 (cells/uL converted), platelets >= 100
    assert iwcll_from_study(study).filter(pl.col("patient_id") == "P3")["iwcll_raw"].to_list() == ["PR"]
    # ... but no assessment 2 months later confirms it (section 5): not a response, SD ([duration]
    # unconfirmed = "SD": no lasting CR/PR and no PD)
    d = derive_responses(study)
    assert d.assessments.filter(pl.col("patient_id") == "P3")["derived"].to_list() == [None, "SD"]

    bad = base_tables()
    bad["patients"], bad["infusions"] = tables["patients"], tables["infusions"]
    bad["assessments"] = [
        *tables["assessments"],
        {**row, "day": 60, "spleen_cm": 60},                                        # beyond 50 cm
        {**row, "day": 90, "node_max_ldi_mm": 10, "spd_mm2": 700},                  # > 6 x 10^2
        {"patient_id": "P1", "episode": 1, "day": 60, "method": "iwcll", "spleen_cm": 12},  # a DLBCL patient
        {**row, "day": 120, "richter_transformation": "maybe"},                     # not a yes/no
    ]
    _, problems = check_study(write_study(tmp_path / "bad", bad))
    located = {(p.file, p.row, p.column, p.value) for p in problems}
    assert ("assessments.csv", 6, "spleen_cm", "60") in located
    assert ("assessments.csv", 7, "spd_mm2", 700.0) in located
    assert ("assessments.csv", 8, "method", "iwcll") in located
    assert ("assessments.csv", 9, "richter_transformation", "maybe") in located
    rules = {p.column: p.rule for p in problems}
    assert rules["method"] == "method iwcll (iwCLL 2018) is for diagnosis family 'cll', but patient P1 has diagnosis DLBCL"
    assert len(problems) == 4


# --- Richter transformation (section 5, PD: "transformation to a more aggressive histology (eg,
# Richter syndrome)"; not a row of Table 4)
def test_richter_transformation_is_pd_and_persists():
    r = iwcll_responses(visits(B0, PR, {**PR, "richter_transformation": True}, PR, CR), require_duration=False)
    assert r["iwcll_response"].to_list() == ["PR", "PD", "PD", "PD"]
    assert r["iwcll_pd_reason"].to_list() == [None, "Richter transformation", "Richter transformation",
                                              "Richter transformation"]
    # recorded false (or not recorded) is no transformation; one documented at baseline is the disease
    # treated, not a progression
    assert responses(B0, {**PR, "richter_transformation": False}) == ["PR"]
    assert responses({**B0, "richter_transformation": True}, PR) == ["PR"]
    # it joins the other reasons
    r = iwcll_responses(visits(B0, {**SDV, "alc": 130.0, "richter_transformation": True}))
    assert r["iwcll_pd_reason"].to_list() == ["lymphocyte count, Richter transformation"]


# --- nPR (2008 nodular PR); 2018's Table 4 PR marrow: "Presence of CLL cells, or of B-lymphoid
# nodules, or not done"
def test_npr_derived_or_folded_into_pr():
    nodular = {**CR, "marrow_nodules": True}
    assert responses(B0, nodular) == ["nPR"]
    assert responses(B0, nodular, criteria=with_keys(npr={"derive": False})) == ["PR"]
    # non-measurable disease (no group A parameter abnormal) still reaches nPR, as it reaches CR
    assert responses(N0, nodular) == ["nPR"]
    assert responses(N0, nodular, criteria=with_keys(npr={"derive": False})) == [None]


# --- PR-L (PR with lymphocytosis, B-cell receptor inhibitors; [pr_l] derive)
BCRI = with_keys(pr_l={"derive": True})


def test_pr_with_lymphocytosis():
    # nodes -50% and platelets >= 100 with the lymphocyte count up: PR-L when derived
    lymphocytosis = {**PR, "alc": 90.0}
    assert responses(B0, lymphocytosis, criteria=BCRI) == ["PR-L"]
    # by default (CAR-T) a lymphocyte count not halved leaves one group A parameter improved: SD
    assert responses(B0, lymphocytosis) == ["SD"]
    # a lymphocyte rise of >= 50% to >= 5 x 10^9/L is PD by default, not under BCR inhibitors
    assert responses(B0, {**PR, "alc": 120.0}) == ["PD"]
    assert responses(B0, {**PR, "alc": 120.0}, criteria=BCRI) == ["PR-L"]
    # the ALC halved: an ordinary PR either way
    assert responses(B0, PR, criteria=BCRI) == ["PR"]
    # PR-L still needs another group A parameter improved and group B
    assert responses(B0, {**SDV, "alc": 90.0, "platelets": 120.0}, criteria=BCRI) == ["SD"]
    assert responses(B0, {**lymphocytosis, "platelets": 80.0}, criteria=BCRI) == ["SD"]
    # other PD criteria stand
    assert responses(B0, {**lymphocytosis, "new_lesions": True}, criteria=BCRI) == ["PD"]


def test_pr_l_ranks_below_pr_and_is_not_counted_in_the_cll_orr():
    from cartkit.response.best_response import best_overall_response, response_rates

    assert best_overall_response(["PR-L", "SD"]) == "PR-L"
    assert best_overall_response(["PR-L", "PR"]) == "PR"
    assert response_rates(["PR-L"], "CLL").orr_n == 0
    assert response_rates(["nPR"], "CLL").orr_n == 1


# --- Duration: CR and PR must last at least 2 months (section 5; [duration] min_days = 60)
def at(*days_rows: tuple[int, dict]) -> pl.DataFrame:
    return pl.DataFrame([{"patient_id": "p", "episode": 1, "day": d, **r} for d, r in days_rows],
                        infer_schema_length=None)


def lasting(*days_rows: tuple[int, dict], **kw) -> list[str | None]:
    return iwcll_responses(at(*days_rows), **kw)["iwcll_response"].to_list()


def test_response_must_last_two_months():
    # confirmed 60 days later (the boundary), not 59
    # a response no assessment 60 days later confirms counts as SD ([duration] unconfirmed = "SD":
    # section 5, SD = no CR/PR achieved and no PD), or not evaluable when the file says so; after a
    # response that lasted, a not yet confirmed one stays null
    assert lasting((0, B0), (30, CR), (90, CR)) == ["CR", None]
    assert lasting((0, B0), (30, CR), (89, CR)) == ["SD", "SD"]
    ne = with_keys(duration={"unconfirmed": "not evaluable"})
    assert lasting((0, B0), (30, CR), (89, CR), criteria=ne) == [None, None]
    with pytest.raises(ValueError, match="unconfirmed"):
        lasting((0, B0), (30, CR), criteria=with_keys(duration={"unconfirmed": "PR"}))
    # the worst category from the response to its confirmation is what lasted: CR then CRi -> CRi
    assert lasting((0, B0), (30, CR), (60, {**CR, "platelets": 99.0}), (90, CR)) == ["CRi", None, None]
    # an SD or PD before the confirming assessment: the response did not last (SD); PD stands. (SD
    # here: nodes still -50% but the lymphocytes back at baseline, one group A parameter improved;
    # PD: the lymphocytes up >= 50% over baseline.)
    assert lasting((0, B0), (30, PR), (60, {**PR, "alc": 80.0}), (90, PR)) == ["SD", "SD", "SD"]
    assert lasting((0, B0), (30, PR), (60, {**PR, "alc": 130.0}), (90, PR)) == ["SD", "PD", "SD"]
    # a not-evaluable assessment in between neither confirms nor breaks it
    assert lasting((0, B0), (30, PR), (60, {"b_symptoms": False}), (90, PR)) == ["PR", None, None]
    # SD and PD need no confirmation
    assert lasting((0, B0), (30, SDV)) == ["SD"]
    # the duration is a key of the file
    assert lasting((0, B0), (30, CR), (80, CR), criteria=with_keys(duration={"min_days": 50})) == ["CR", None]
    assert lasting((0, B0), (30, CR), criteria=with_keys(duration={"require": False})) == ["CR"]
    # uMRD CR counts the lasting CR only
    r = iwcll_responses(at((0, B0), (30, {**CR, "mrd_pct": 0.001}), (90, CR)))
    assert r["umrd_cr"].to_list() == [True, False]


def test_best_response_counts_lasting_responses_only():
    # a CR at day 30 followed by PD at day 60 is not a response; the best is the PR that lasted
    r = iwcll_responses(at((0, B0), (30, CR), (60, {**SDV, "alc": 130.0})))
    assert iwcll_best_response(r)["best_response"].to_list() == ["PD"]
    # (PD followed: the unconfirmed CR is null, not SD, since SD means no PD was exhibited)
    assert r["iwcll_response"].to_list() == [None, "PD"]
    r = iwcll_responses(at((0, B0), (30, PR), (95, PR), (120, CR)))
    assert iwcll_best_response(r).row(0, named=True)["best_response"] == "PR"


def test_richter_transformation_reaches_the_derived_responses_and_best_response():
    # the assessments column through derive: PR at day 30 lasting to day 90, Richter transformation by
    # biopsy at day 120 -> PD; best response PR (section 5: transformation is PD)
    def a(day, **kw):
        return dict(patient_id="R1", episode=1, day=day, method="iwcll", **kw)

    def m(day, alc, plt):
        return [dict(patient_id="R1", episode=1, day=day, analyte="alc", value=alc, unit="10^9/L"),
                dict(patient_id="R1", episode=1, day=day, analyte="platelets", value=plt, unit="10^9/L")]

    nodes = dict(node_max_ldi_mm=20.0, spd_mm2=1200.0, spleen_cm=12.0, liver_cm=0.0)
    study = make_study(
        patients=[dict(patient_id="R1", age=70.0, sex="female", diagnosis="CLL")],
        infusions=[dict(patient_id="R1", episode=1, product="CD19 CAR-T", target="CD19")],
        assessments=[a(-5, node_max_ldi_mm=40.0, spd_mm2=3000.0, spleen_cm=12.0, liver_cm=0.0),
                     a(30, **nodes), a(90, **nodes), a(120, **nodes, richter_transformation=True)],
        measurements=[*m(-5, 80.0, 70.0), *m(30, 20.0, 110.0), *m(90, 20.0, 115.0), *m(120, 20.0, 112.0)],
    )
    d = derive_responses(study)
    assert d.assessments["derived"].to_list() == [None, "PR", None, "PD"]
    assert d.best.row(0, named=True)["best_response"] == "PR"


def test_unconfirmed_response_without_pd_is_stable_disease():
    # review 2026-12-02: a patient with CR on days 30 and 89 and nothing later (death, data cut-off) had no
    # best response at all (not evaluable). iwCLL 2018 section 5: "Patients who have not achieved a CR or a
    # PR, and who have not exhibited PD, will be considered to have stable disease" -> SD
    # ([duration] unconfirmed = "SD"; "not evaluable" keeps the earlier null)
    r = iwcll_responses(at((0, B0), (30, CR), (89, CR)))
    assert r["iwcll_raw"].to_list() == ["CR", "CR"]
    assert iwcll_best_response(r)["best_response"].to_list() == ["SD"]
