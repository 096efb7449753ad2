"""Who is a responder follows the ORR rule of each patient's own disease (best_response.toml [orr]):
B-ALL CR + CRi (Maude 2018), so a recorded B-ALL PR is not a response; multiple myeloma PR or better
(IMWG 2016, Kumar 2016 Table 2), so a VGPR is; lymphoma CR + PR (Lugano 2014). Checked in the
expansion-by-response comparison and the response at the planned days (the scalar response_rates is in
tests/test_response_best.py)."""

from __future__ import annotations

import polars as pl

from cartkit.analysis.product_comparison import responder_comparisons
from cartkit.analysis.response_days import response_at_days, response_day_rates

KEYS = {"patient_id": pl.String, "episode": pl.Int64}
# patient, diagnosis, best response, CAR-T peak (Cmax)
PATIENTS = [
    ("L1", "B-ALL", "PR", 1.0),    # a recorded B-ALL PR: not a response (CR + CRi)
    ("L2", "B-ALL", "CR", 100.0),
    ("L3", "B-ALL", "NR", 2.0),
    ("M1", "MM", "VGPR", 90.0),    # myeloma VGPR: a response (PR or better)
    ("M2", "MM", "MR", 3.0),       # myeloma MR: not a response
    ("D1", "DLBCL", "PR", 80.0),   # lymphoma PR: a response (CR + PR)
]


def _groups():
    return pl.DataFrame([(p, 1, "X", d) for p, d, _, _ in PATIENTS],
                        schema={**KEYS, "product": pl.String, "diagnosis": pl.String}, orient="row")


def test_expansion_by_response_counts_each_patient_by_their_own_disease():
    kinetics = pl.DataFrame([(p, 1, "car_t_pct_cd3", c, 10 * c) for p, _, _, c in PATIENTS],
                            schema={**KEYS, "analyte": pl.String, "cmax": pl.Float64, "auc_partial": pl.Float64},
                            orient="row")
    best = pl.DataFrame([(p, 1, b) for p, _, b, _ in PATIENTS], schema={**KEYS, "best_response": pl.String},
                        orient="row")
    out = responder_comparisons(kinetics, _groups(), best, ("car_t_pct_cd3",), "r7")
    peak = out.filter(pl.col("measure").str.ends_with("peak")).row(0, named=True)
    # responders L2 (100), M1 (90), D1 (80); non-responders L1 (1), L3 (2), M2 (3): by hand, medians 90 and 2
    assert (peak["group_a"], peak["group_b"], peak["n_a"], peak["n_b"]) == ("responders", "non-responders", 3, 3)
    assert peak["summary_a"].startswith("90") and peak["summary_b"].startswith("2")


def test_planned_day_rates_count_each_patient_by_their_own_disease():
    assessments = pl.DataFrame([(p, 1, 28, b) for p, _, b, _ in PATIENTS],
                               schema={**KEYS, "day": pl.Int64, "response": pl.String}, orient="row")
    listing, _ = response_at_days(assessments, _groups(), {"all": (28,), "myeloma": (28,), "lymphoma": (28,)},
                                  window=3)
    rates = {r["diagnosis"]: r for r in response_day_rates(listing).to_dicts()}
    # B-ALL: L2 CR only (L1's PR is not a response) -> ORR 1/3, CR 1/3; MM: M1 VGPR -> ORR 1/2, CR 0/2
    # (sCR + CR); DLBCL: D1 PR -> ORR 1/1, CR 0/1
    got = {d: (r["n"], r["assessed"], r["orr_n"], r["cr_n"]) for d, r in rates.items()}
    assert got == {"B-ALL": (3, 3, 1, 1), "MM": (2, 2, 1, 0), "DLBCL": (1, 1, 1, 0)}


def test_simulated_myeloma_study_plans_the_simulator_assessment_days():
    # simulate/folder.py writes [plan.response_days] myeloma = the days simulate/myeloma.py assesses (and cll =
    # those of simulate/cll.py): every myeloma response is at a planned day, none is "off the planned days"
    from pathlib import Path

    import cartkit
    from cartkit.analysis import analyse
    from cartkit.derive import derive
    from cartkit.simulate import cll, myeloma

    study = cartkit.load_study(Path(__file__).resolve().parents[1] / "examples" / "myeloma-study")
    assert study.plan.response_days["myeloma"] == tuple(int(d) for d in myeloma.DAYS if d > 0)
    assert study.plan.response_days["cll"] == tuple(int(d) for d in cll.DAYS if d > 0)
    results = analyse(study, derive(study))
    rates = results.get("planned_response_rates")
    assert set(rates["diagnosis"]) == {"MM"} and rates.filter(pl.col("planned_day") == 28)["assessed"].item() > 0
    assert not [w for w in results.get("warnings")["text"].to_list() if "off the planned days" in w]
