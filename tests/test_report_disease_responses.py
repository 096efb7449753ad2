"""ORR and CR rate by each disease's criteria, the myeloma (IMWG 2016) and CLL (iwCLL 2018) response
tables, their Methods text, and MRD-negative CR from derive.

ORR definitions (response/criteria/best_response.toml [orr]): Lugano 2014 (Cheson 2014) ORR = CR + PR;
B-ALL CR + CRi (Maude 2018); IMWG 2016 (Kumar 2016) ORR = PR or better = sCR + CR + VGPR + PR, CR rate
sCR + CR; iwCLL 2018 (Hallek 2018) ORR = CR + CRi (+ nPR) + PR, CR rate CR + CRi. Counts are by hand.
"""

from __future__ import annotations

import polars as pl
import pytest
from study_rows import make_study

from cartkit.analysis.responses import disease_responses, response_methods, response_rates
from cartkit.derive.response import derive_responses
from cartkit.report.tables import disease_response_tables, response_rates_table


def listing(rows: list[tuple[str, str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"patient_id": f"P{i}", "diagnosis": d, "episode": 1, "product": p, "best_response": b}
         for i, (d, p, b) in enumerate(rows)],
        schema={"patient_id": pl.String, "diagnosis": pl.String, "episode": pl.Int64, "product": pl.String,
                "best_response": pl.String},
    )


ROWS = [
    # myeloma: sCR, CR, VGPR, PR count for ORR (4 of 7); MR, SD, PD do not; CR rate sCR + CR (2 of 7)
    ("MM", "BCMA", "sCR"), ("MM", "BCMA", "CR"), ("MM", "BCMA", "VGPR"), ("MM", "BCMA", "PR"),
    ("MM", "BCMA", "MR"), ("MM", "BCMA", "SD"), ("MM", "BCMA", "PD"),
    # CLL: CR, CRi, nPR, PR count (4 of 6); CR rate CR + CRi (2 of 6)
    ("CLL", "CD19", "CR"), ("CLL", "CD19", "CRi"), ("CLL", "CD19", "nPR"), ("CLL", "CD19", "PR"),
    ("CLL", "CD19", "SD"), ("CLL", "CD19", None),
    # B-ALL: CR + CRi (2 of 3); a recorded PR is not a B-ALL remission
    ("B-ALL", "CD19", "CR"), ("B-ALL", "CD19", "CRi"), ("B-ALL", "CD19", "PR"),
    # lymphoma: CR + PR (2 of 3), CR rate CR (1 of 3)
    ("DLBCL", "CD19", "CR"), ("DLBCL", "CD19", "PR"), ("DLBCL", "CD19", "SD"),
]


@pytest.mark.parametrize(
    ("product", "disease", "n", "orr_n", "cr_n"),
    [
        ("BCMA", "MM", 7, 4, 2),
        ("CD19", "CLL", 6, 4, 2),
        ("CD19", "B-ALL", 3, 2, 2),
        ("CD19", "DLBCL", 3, 2, 1),
        # pooled: each patient by their own disease's rule: 4 + 2 + 2 responders, 2 + 2 + 1 complete
        ("CD19", "All", 12, 8, 5),
    ],
)
def test_orr_and_cr_rate_follow_each_diseases_criteria(product, disease, n, orr_n, cr_n):
    rates = response_rates(listing(ROWS), ["BCMA", "CD19"], ["MM", "CLL", "B-ALL", "DLBCL"])
    row = rates.filter((pl.col("product") == product) & (pl.col("diagnosis") == disease)).row(0, named=True)
    assert (row["n"], row["orr_n"], row["cr_n"]) == (n, orr_n, cr_n)


def test_response_rate_note_names_each_diseases_orr():
    rates = response_rates(listing(ROWS), ["BCMA", "CD19"], ["MM", "CLL", "B-ALL", "DLBCL"])
    note = response_rates_table(rates).footnotes[0]
    assert note.startswith(
        "ORR: lymphoma (Lugano 2014) CR + PR; B-ALL (Maude 2018) CR + CRi; multiple myeloma (IMWG 2016) PR or "
        "better (sCR + CR + VGPR + PR); CLL (iwCLL 2018) CR + CRi + nPR + PR. CR rate: lymphoma CR; B-ALL CR + "
        "CRi; multiple myeloma sCR + CR; CLL CR + CRi.")
    # a lymphoma-only table names the Lugano rule only
    lym = response_rates(listing(ROWS[-3:]), ["CD19"], ["DLBCL"])
    assert response_rates_table(lym).footnotes[0].startswith("ORR: lymphoma (Lugano 2014) CR + PR. CR rate: lymphoma CR.")


def test_methods_name_imwg_and_iwcll_and_the_orr_of_each_disease():
    parts, rates = response_methods({"myeloma", "cll", "lymphoma"}, True)
    assert parts[0].startswith("Multiple myeloma: IMWG 2016 (Kumar S et al., Lancet Oncol 2016;17:e328-e346")
    assert parts[1].startswith("CLL: iwCLL 2018 (Hallek M et al., Blood 2018;131:2745-2760, Table 4)")
    assert rates.startswith("ORR: lymphoma (Lugano 2014) CR + PR; multiple myeloma (IMWG 2016) PR or better")
    assert response_methods({"lymphoma", "all"}, False) == ([], "")


def test_myeloma_and_cll_response_tables():
    best = listing(ROWS).select("patient_id", "episode").with_columns(
        mrd_negative_cr=pl.Series([True, False, None, None, None, None, None, True, False, None, None, None, None,
                                   None, None, None, None, None, None]))
    table = disease_responses(listing(ROWS), best)
    mm = table.filter(pl.col("criteria") == "IMWG 2016")
    assert mm.select("category", "n", "N").rows() == [
        ("sCR", 1, 7), ("CR", 1, 7), ("VGPR", 1, 7), ("PR", 1, 7), ("MR", 1, 7), ("SD", 1, 7), ("PD", 1, 7),
        ("not evaluable", 0, 7), ("MRD-negative CR (10^-5)", 1, 7)]
    cll = table.filter(pl.col("criteria") == "iwCLL 2018")
    assert cll.select("category", "n").rows() == [
        ("CR", 1), ("CRi", 1), ("nPR", 1), ("PR", 1), ("SD", 1), ("PD", 0), ("not evaluable", 1),
        ("CR/CRi with undetectable MRD (10^-4)", 1)]
    tables = disease_response_tables(table)
    assert [t.id for t in tables] == ["myeloma-responses-table", "cll-responses-table"]
    assert [c.text for c in tables[0].rows[0].cells] == ["sCR", "1/7 (14.3%)"]
    # lymphoma and B-ALL only: no such table
    assert disease_responses(listing(ROWS[-6:]), best) is None


def test_derive_wires_mrd_negative_cr_for_myeloma():
    # IMWG 2016 Table 2: MRD-negative CR = CR (or sCR) with MRD negative at 10^-5 or deeper
    def a(pid, day, **kw):
        return dict(patient_id=pid, episode=1, day=day, method="imwg", **kw)

    def m(pid, day, v):
        return dict(patient_id=pid, episode=1, day=day, analyte="serum_m_protein", value=v, unit="g/dL")

    cr = dict(serum_ife="negative", urine_ife="negative", marrow_pc_pct=1.0)
    rows, labs = [], []
    for pid, sens in (("M1", 1e-5), ("M2", 1e-4)):
        rows += [a(pid, 28, **cr, mrd_result="negative", mrd_sensitivity=sens), a(pid, 56, **cr)]
        labs += [m(pid, -3, 3.0), m(pid, 28, 0.0), m(pid, 56, 0.0)]
    study = make_study(
        patients=[dict(patient_id=p, age=60.0, sex="male", diagnosis="MM") for p in ("M1", "M2")],
        infusions=[dict(patient_id=p, episode=1, product="BCMA CAR-T", target="BCMA") for p in ("M1", "M2")],
        assessments=rows, measurements=labs,
    )
    best = derive_responses(study).best
    assert best.select("patient_id", "best_response", "mrd_negative_cr").rows() == [
        ("M1", "CR", True), ("M2", "CR", False)]


def test_cll_table_lists_a_recorded_pr_l_and_names_the_two_month_duration():
    # PR-L (PR with lymphocytosis) ranks below PR and is not a CLL responder (best_response.toml);
    # where a study has it, the CLL table shows it, so that the categories add up to N
    rows = [("CLL", "CD19", "PR"), ("CLL", "CD19", "PR-L"), ("CLL", "CD19", "SD")]
    best = listing(rows).select("patient_id", "episode").with_columns(mrd_negative_cr=pl.lit(None, pl.Boolean))
    cll = disease_responses(listing(rows), best)
    assert cll.select("category", "n").rows()[:4] == [("CR", 0), ("CRi", 0), ("PR", 1), ("PR-L", 1)]
    counted = cll.filter(~pl.col("category").str.starts_with("CR/CRi with"))
    assert counted["n"].sum() == 3 == cll["N"][0]
    rate = response_rates(listing(rows), ["CD19"], ["CLL"]).row(0, named=True)
    assert (rate["n"], rate["orr_n"]) == (3, 1)
    note = disease_response_tables(cll)[0].footnotes
    assert "a derived response counts when it lasts at least 2 months (confirmed at an assessment 60 days or " \
           "more later)" in note[0]
    assert "PR-L, partial response with lymphocytosis" in note[1]
    # the Methods say the same
    assert "lasts at least 2 months" in response_methods({"cll"}, False)[0][0]
