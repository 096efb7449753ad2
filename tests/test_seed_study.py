"""The bundled seed study (examples/seed-study) against the paper (Zhu et al., OncoTargets Ther 2021).

The CSVs are read with polars directly, not with cartkit, so that these tests check the data and
not the loader. Every expected number below is the paper's (Table 1, Table 2, Results), or, where a
published summary cannot be attained exactly with integer days, the attained value with the reason
(see examples/seed-study/PROVENANCE.md). Statistics are computed by hand here and compared with R
output quoted in comments.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "seed-study"
CD19, CD22 = "CD19 CAR-T", "CD22 CAR-T"
DLBCL = [f"P{i}" for i in range(1, 8)]
BALL = [f"P{i}" for i in range(8, 14)]
CUTOFF = "2020-08-31"


def read(name: str) -> pl.DataFrame:
    return pl.read_csv(SEED / f"{name}.csv", infer_schema_length=None, try_parse_dates=True)


@pytest.fixture(scope="module")
def t() -> dict[str, pl.DataFrame]:
    names = ["patients", "infusions", "measurements", "support", "neuro", "assessments", "adverse_events", "events"]
    return {n: read(n) for n in names}


def spss_quartiles(x) -> tuple[float, float, float]:
    """SPSS Explore default (weighted average at (n+1)p, Hyndman-Fan type 6), by hand."""
    v = np.sort(np.asarray(x, float))
    n = len(v)
    out = []
    for p in (0.25, 0.5, 0.75):
        h = (n + 1) * p  # 1-based position
        lo = min(max(math.floor(h), 1), n)
        hi = min(lo + 1, n)
        out.append(v[lo - 1] + (h - math.floor(h)) * (v[hi - 1] - v[lo - 1]))
    return tuple(out)


def test_spss_quartiles_by_hand_matches_r_type6():
    # R: quantile(c(1, 2, 4, 7, 11, 16, 22, 29, 37, 46, 56, 67, 79), c(.25, .5, .75), type = 6)
    #    -> 5.5 22.0 51.0
    assert spss_quartiles([1, 2, 4, 7, 11, 16, 22, 29, 37, 46, 56, 67, 79]) == (5.5, 22.0, 51.0)


# ---------------------------------------------------------------------------------------------
# Table 1
# ---------------------------------------------------------------------------------------------
TABLE1 = [  # id, age, sex, diagnosis, subtype, stage, status, IPI, blasts %, prior therapies
    ("P1", 56, "male", "DLBCL", "Non-GCB", "III", "refractory", 3, None, 12),
    ("P2", 16, "male", "DLBCL", "Non-GCB", "IV", "refractory", 3, None, 8),
    ("P3", 70, "female", "DLBCL", "GCB", "IV", "refractory", 4, None, 8),
    ("P4", 59, "male", "DLBCL", "GCB", "III", "refractory", 3, None, 14),
    ("P5", 28, "male", "DLBCL", "Non-GCB", "III", "refractory", 3, None, 12),
    ("P6", 56, "female", "DLBCL", "Non-GCB", "IV", "refractory", 3, None, 7),
    ("P7", 69, "male", "DLBCL", "GCB", "III", "refractory", 3, None, 6),
    ("P8", 46, "male", "B-ALL", "Common B", None, "relapsed", None, 81.2, 4),
    ("P9", 33, "male", "B-ALL", "Common B", None, "relapsed", None, 69.4, 8),
    ("P10", 25, "male", "B-ALL", "Common B(Ph+)", None, "refractory", None, 48.8, 10),
    ("P11", 55, "female", "B-ALL", "Common B(Ph+)", None, "relapsed", None, 36.2, 6),
    ("P12", 31, "female", "B-ALL", "Pro-B cell", None, "refractory", None, 44.6, 3),
    ("P13", 58, "female", "B-ALL", "Common B", None, "relapsed", None, 58.0, 8),
]


def test_table1_exactly(t):
    cols = ["patient_id", "age", "sex", "diagnosis", "subtype", "stage", "disease_status", "ipi",
            "marrow_blasts_pct", "prior_lines"]  # fmt: skip
    got = [tuple(r) for r in t["patients"].select(cols).iter_rows()]
    assert got == TABLE1
    ages = t["patients"]["age"]
    # "The median age of all the patients was 46.31 years (Range 16-70 years)": 46.31 is the mean
    assert round(ages.mean(), 2) == 46.31
    assert ages.median() == 55.0  # the actual median
    assert (ages.min(), ages.max()) == (16, 70)
    assert (t["patients"]["weight_kg"] > 0).all()


# ---------------------------------------------------------------------------------------------
# Table 2: every count recomputed from adverse_events.csv
# ---------------------------------------------------------------------------------------------
# term -> (CD19 DLBCL, CD19 ALL, CD22 DLBCL, CD22 ALL); denominators 7 and 6. Haematological rows
# count grade >= 3 ("grade 3/4"); all other rows count any grade.
TABLE2 = {
    "fever": (7, 6, 1, 4),
    "chills": (2, 4, 0, 1),
    "fatigue": (4, 5, 3, 4),
    "headache": (0, 3, 0, 0),
    "muscle weakness": (1, 4, 0, 1),
    "neutrophil count decreased": (3, 6, 1, 2),
    "anemia": (2, 5, 1, 3),
    "platelet count decreased": (2, 6, 1, 5),
    "hypoxia": (1, 2, 0, 0),
    "dyspnea": (0, 4, 0, 0),
    "cough": (2, 3, 0, 1),
    "pleural effusion": (2, 3, 0, 2),
    "nausea": (3, 4, 1, 1),
    "vomiting": (1, 2, 0, 0),
    "anorexia": (1, 3, 0, 1),
    "aminotransferase increased": (2, 4, 1, 2),
    "blood bilirubin increased": (1, 2, 0, 0),
    "creatinine increased": (0, 3, 0, 1),
    "oliguria": (2, 3, 1, 1),
    "sinus tachycardia": (2, 4, 0, 2),
    "arrhythmia": (0, 3, 0, 0),
    "hypotension": (0, 2, 0, 0),
    "disseminated intravascular coagulation": (0, 1, 0, 0),
    "encephalopathy": (0, 0, 0, 0),
    "confusion": (0, 0, 0, 0),
    "dizziness": (0, 4, 0, 1),
    "aphasia": (0, 0, 0, 0),
    "somnolence": (1, 3, 0, 2),
}
HAEMATOLOGICAL = {"neutrophil count decreased", "anemia", "platelet count decreased"}
CRS_GRADES = {  # grade -> (CD19 DLBCL, CD19 ALL, CD22 DLBCL, CD22 ALL), grade 0 = no CRS row
    0: (5, 0, 4, 0), 1: (1, 0, 2, 3), 2: (1, 2, 1, 2), 3: (0, 2, 0, 1), 4: (0, 2, 0, 0), 5: (0, 0, 0, 0),
}  # fmt: skip
ICANS_GRADES = {1: (0, 1, 0, 0), 2: (0, 1, 0, 0), 3: (0, 0, 0, 0), 4: (0, 0, 0, 0), 5: (0, 0, 0, 0)}
CELLS = [(1, "DLBCL"), (1, "B-ALL"), (2, "DLBCL"), (2, "B-ALL")]


def _ae(t) -> pl.DataFrame:
    return t["adverse_events"].join(t["patients"].select("patient_id", "diagnosis"), on="patient_id")


def _count(ae: pl.DataFrame, ep: int, diag: str, expr: pl.Expr) -> int:
    sub = ae.filter((pl.col("episode") == ep) & (pl.col("diagnosis") == diag) & expr)
    return sub["patient_id"].n_unique()


@pytest.mark.parametrize("term", list(TABLE2))
def test_table2_row(t, term):
    ae = _ae(t)
    cond = pl.col("term") == term
    if term in HAEMATOLOGICAL:
        cond = cond & (pl.col("grade") >= 3)
    got = tuple(_count(ae, ep, d, cond) for ep, d in CELLS)
    assert got == TABLE2[term]


def test_table2_crs_and_icans_grades(t):
    ae = _ae(t)
    n = {"DLBCL": 7, "B-ALL": 6}
    for g, want in CRS_GRADES.items():
        if g == 0:
            got = tuple(n[d] - _count(ae, ep, d, pl.col("term") == "cytokine release syndrome") for ep, d in CELLS)
        else:
            got = tuple(
                _count(ae, ep, d, (pl.col("term") == "cytokine release syndrome") & (pl.col("grade") == g))
                for ep, d in CELLS
            )
        assert got == want, g
    for g, want in ICANS_GRADES.items():
        got = tuple(_count(ae, ep, d, (pl.col("term") == "icans") & (pl.col("grade") == g)) for ep, d in CELLS)
        assert got == want, g
    crs = ae.filter(pl.col("term") == "cytokine release syndrome")
    assert set(crs["grading_system"]) == {"ctcae4.03"}
    assert set(ae.filter(pl.col("term") == "icans")["grading_system"]) == {"astct2019"}
    assert (ae["grade"] >= 1).all()  # grade 0 = no row


def test_adverse_event_rows_are_well_formed(t):
    from cartkit.study.vocabulary import VOCABULARIES

    ae = t["adverse_events"]
    assert ae.select("patient_id", "episode", "term").is_duplicated().sum() == 0
    assert set(ae["term"]) <= set(VOCABULARIES["ae_term"])
    assert (ae["resolution_day"] >= ae["onset_day"]).all()
    assert ae["onset_day"].min() >= 0 and ae["resolution_day"].max() <= 16  # "relieved 14 to 16 days"
    haem = ae.filter(pl.col("term").is_in(sorted(HAEMATOLOGICAL)) & (pl.col("grade") >= 3))
    assert haem["onset_day"].is_between(5, 7).all()  # "occurred from 5 to 7 days"
    assert haem["resolution_day"].is_between(14, 16).all()  # "recovered 14-16 days"
    # the paper's peculiarity kept: every DLBCL patient had fever after CD19, 5 of 7 CRS grade 0
    fever = ae.filter((pl.col("term") == "fever") & (pl.col("episode") == 1))
    assert set(DLBCL) <= set(fever["patient_id"])
    # "Only the R/R B-ALL patient 12 received tocilizumab during [both] therapies"
    toci = t["support"].filter(pl.col("kind") == "tocilizumab")
    assert set(toci["patient_id"]) == {"P12"} and set(toci["episode"]) == {1, 2}
    # "three R/R B-ALL patients were diagnosed with gram-negative ... infections" after CD19 only
    inf = _ae(t).filter(pl.col("term") == "infection")
    assert inf["patient_id"].n_unique() == 3 and set(inf["diagnosis"]) == {"B-ALL"} and set(inf["episode"]) == {1}


# ---------------------------------------------------------------------------------------------
# Blood counts, temperature, supportive care, neuro: consistent with the AE rows
# ---------------------------------------------------------------------------------------------
def _worst(t, analyte: str) -> pl.DataFrame:
    m = t["measurements"].filter(pl.col("analyte") == analyte)
    return m.group_by("patient_id", "episode").agg(pl.col("value").min().alias("nadir"))


def _ctcae(analyte: str, v: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """CTCAE v4.03 grade (docs/criteria.md, "CTCAE haematological grades"); LLN ANC 2.0, WBC 4.0, PLT 150, Hb 130 M / 120 F g/L."""
    cuts = {
        "anc": [2.0, 1.5, 1.0, 0.5], "wbc": [4.0, 3.0, 2.0, 1.0], "platelets": [150, 75, 50, 25],
    }  # fmt: skip
    if analyte == "hemoglobin":
        lln = np.where(sex == "male", 130.0, 120.0)
        return (v < lln).astype(int) + (v < 100) + (v < 80)
    return sum((v < c).astype(int) for c in cuts[analyte])


@pytest.mark.parametrize(
    "analyte,term",
    [("anc", "neutrophil count decreased"), ("wbc", "white blood cell decreased"), ("hemoglobin", "anemia"),
     ("platelets", "platelet count decreased")],
)  # fmt: skip
def test_count_nadirs_match_ae_grades(t, analyte, term):
    w = _worst(t, analyte).join(t["patients"].select("patient_id", "sex"), on="patient_id")
    w = w.with_columns(pl.Series("g", _ctcae(analyte, w["nadir"].to_numpy(), w["sex"].to_numpy())))
    ae = t["adverse_events"].filter(pl.col("term") == term).select("patient_id", "episode", "grade")
    j = w.join(ae, on=["patient_id", "episode"], how="left").with_columns(pl.col("grade").fill_null(0))
    assert len(j) == 26
    assert (j["g"] == j["grade"]).all(), j.filter(pl.col("g") != pl.col("grade"))


def test_count_thresholds_reproduce_table2(t):
    # Table 2 thresholds: neutropenia ANC < 1 x 10^9/L, anaemia Hb < 80 g/L, PLT < 50 x 10^9/L
    p = t["patients"].select("patient_id", "diagnosis")
    for analyte, cut, term in (("anc", 1.0, "neutrophil count decreased"), ("hemoglobin", 80.0, "anemia"),
                               ("platelets", 50.0, "platelet count decreased")):  # fmt: skip
        w = _worst(t, analyte).join(p, on="patient_id")
        got = tuple(
            w.filter((pl.col("episode") == ep) & (pl.col("diagnosis") == d) & (pl.col("nadir") < cut)).height
            for ep, d in CELLS
        )
        assert got == TABLE2[term], analyte


def _grade_table(t, term: str) -> np.ndarray:
    ae = t["adverse_events"].filter(pl.col("term") == term)
    tab = np.zeros((2, 5), int)
    for ep in (1, 2):
        g = dict(ae.filter(pl.col("episode") == ep).select("patient_id", "grade").iter_rows())
        for p in DLBCL + BALL:
            tab[ep - 1, g.get(p, 0)] += 1
    return tab


def _pearson_p(tab: np.ndarray) -> float:
    from scipy.stats import chi2

    tab = tab[:, tab.sum(0) > 0].astype(float)
    exp = tab.sum(1, keepdims=True) * tab.sum(0, keepdims=True) / tab.sum()
    stat = ((tab - exp) ** 2 / exp).sum()
    return float(chi2.sf(stat, (tab.shape[0] - 1) * (tab.shape[1] - 1)))


def test_haematological_grade_tests_as_published(t):
    # Results: P_WBC = 0.148, P_PLT = 0.813 -> Pearson chi-square on the grade x product table
    # R: chisq.test(rbind(c(4,6,3), c(7,6,0)), correct = FALSE)$p.value = 0.1482150663
    wbc = _grade_table(t, "white blood cell decreased")
    assert wbc.tolist() == [[0, 0, 4, 6, 3], [0, 0, 7, 6, 0]]
    assert _pearson_p(wbc) == pytest.approx(0.1482150663, abs=1e-6)
    # R: chisq.test(rbind(c(1,1,3,7,1), c(1,1,5,6,0)), correct = FALSE)$p.value = 0.8129336664
    plt_ = _grade_table(t, "platelet count decreased")
    assert plt_.tolist() == [[1, 1, 3, 7, 1], [1, 1, 5, 6, 0]]
    assert _pearson_p(plt_) == pytest.approx(0.8129336664, abs=1e-6)
    # P_Hb = 0.425 is not attainable (PROVENANCE.md); closest: R fisher.test(rbind(c(6,7), c(9,4)))
    # $p.value = 0.4283079822
    assert _grade_table(t, "anemia").tolist() == [[0, 0, 6, 7, 0], [0, 0, 9, 4, 0]]


def test_temperature_matches_fever_rows(t):
    temp = t["measurements"].filter(pl.col("analyte") == "temperature")
    assert temp.group_by("patient_id", "episode").agg(pl.col("day").sort()).height == 26
    assert set(temp["day"]) == set(range(15))
    tmax = temp.group_by("patient_id", "episode").agg(pl.col("value").max().alias("tmax"))
    fever = t["adverse_events"].filter(pl.col("term") == "fever").select("patient_id", "episode", "grade")
    j = tmax.join(fever, on=["patient_id", "episode"], how="left").with_columns(pl.col("grade").fill_null(0))
    # CTCAE v4.03 fever: grade 1 38.0-39.0 C, grade 2 > 39.0-40.0, grade 3 > 40.0
    g = (j["tmax"] >= 38.0).cast(int) + (j["tmax"] > 39.0).cast(int) + (j["tmax"] > 40.0).cast(int)
    assert (g == j["grade"]).all()


def test_support_consistent_with_crs_hypoxia_hypotension(t):
    s, ae = t["support"], t["adverse_events"]

    def pairs(df: pl.DataFrame) -> set[tuple[str, int]]:
        return set(df.select("patient_id", "episode").unique().iter_rows())

    crs = ae.filter(pl.col("term") == "cytokine release syndrome")
    assert pairs(s.filter(pl.col("kind") == "steroid")) == pairs(crs)
    assert set(s.filter(pl.col("kind") == "steroid")["agent"]) == {"methylprednisolone"}
    assert pairs(s.filter(pl.col("kind") == "antipyretic")) == pairs(ae.filter(pl.col("term") == "fever"))
    assert pairs(s.filter(pl.col("kind") == "oxygen")) == pairs(ae.filter(pl.col("term") == "hypoxia"))
    assert pairs(s.filter(pl.col("kind") == "vasopressor")) == pairs(ae.filter(pl.col("term") == "hypotension"))
    # vasopressors only in CTCAE v4.03 CRS grade 4 ("pressor or ventilatory support indicated")
    assert pairs(s.filter(pl.col("kind") == "vasopressor")) == pairs(crs.filter(pl.col("grade") == 4))
    o2 = s.filter(pl.col("kind") == "oxygen")
    assert o2["o2_device"].is_not_null().all() and (o2["o2_flow_l_min"] > 0).all()
    vit = t["measurements"]
    assert (vit.filter(pl.col("analyte") == "spo2")["value"] < 90).all()
    assert (vit.filter(pl.col("analyte") == "sbp")["value"] < 90).all()


def test_neuro_consistent_with_icans(t):
    n = t["neuro"]
    # ASTCT 2019: ICE 7-9 grade 1, 3-6 grade 2; awakens spontaneously g1, to voice g2
    ice_grade = np.select([n["ice_score"] >= 10, n["ice_score"] >= 7, n["ice_score"] >= 3], [0, 1, 2], 3)
    con_grade = n["consciousness"].replace_strict(
        {"normal": 0, "awakens_spontaneously": 1, "awakens_to_voice": 2, "awakens_to_touch": 3, "unarousable": 4}
    )
    n = n.with_columns(pl.Series("g", np.maximum(ice_grade, con_grade.to_numpy())))
    worst = n.group_by("patient_id", "episode").agg(pl.col("g").max())
    icans = t["adverse_events"].filter(pl.col("term") == "icans").select("patient_id", "episode", "grade")
    j = worst.join(icans, on=["patient_id", "episode"], how="left").with_columns(pl.col("grade").fill_null(0))
    assert (j["g"] == j["grade"]).all()
    assert sorted(icans["grade"].to_list()) == [1, 2]


# ---------------------------------------------------------------------------------------------
# Infusions: dates, doses, transduction, harvest
# ---------------------------------------------------------------------------------------------
def test_infusion_episodes_and_dates(t):
    inf = t["infusions"]
    assert inf.height == 26
    assert set(inf.filter(pl.col("episode") == 1)["product"]) == {CD19}
    assert set(inf.filter(pl.col("episode") == 1)["target"]) == {"CD19"}
    assert set(inf.filter(pl.col("episode") == 2)["product"]) == {CD22}
    assert set(inf.filter(pl.col("episode") == 2)["target"]) == {"CD22"}
    import datetime as dt

    d1 = inf.filter(pl.col("episode") == 1)["infusion_date"]
    d2 = inf.filter(pl.col("episode") == 2)["infusion_date"]
    assert d1.min() >= dt.date(2017, 8, 1) and d1.max() <= dt.date(2018, 8, 15)  # admitted Aug 2017-Jul 2018
    assert d2.min() >= dt.date(2018, 12, 1) and d2.max() <= dt.date(2020, 8, 31)  # CD22 trial from late 2018
    assert set(inf["lymphodepletion"]) == {"Flu 30 mg/m2 + Cy 400 mg/m2, days -4 to -2"}


@pytest.mark.parametrize(
    "column,episode,diagnosis,mean,sd",
    [
        ("dose_1e6_per_kg", 1, "DLBCL", 2.09, 0.17),
        ("dose_1e6_per_kg", 1, "B-ALL", 2.05, 0.29),
        ("dose_1e6_per_kg", 2, "DLBCL", 2.11, 0.24),
        ("dose_1e6_per_kg", 2, "B-ALL", 2.07, 0.42),
        ("transduction_pct", 1, None, 47.18, 17.43),
        ("transduction_pct", 2, None, 42.07, 19.23),
        ("harvest_1e6_per_kg", 1, None, 5.89, 3.93),
        ("harvest_1e6_per_kg", 2, None, 4.03, 2.37),
    ],
)
def test_product_means_and_sds(t, column, episode, diagnosis, mean, sd):
    inf = t["infusions"].join(t["patients"].select("patient_id", "diagnosis"), on="patient_id")
    sub = inf.filter(pl.col("episode") == episode)
    if diagnosis:
        sub = sub.filter(pl.col("diagnosis") == diagnosis)
    x = sub[column].to_numpy()
    assert round(float(x.mean()), 2) == mean
    assert round(float(x.std(ddof=1)), 2) == sd
    assert (x > 0).all()


def test_harvest_exceeds_dose(t):
    inf = t["infusions"]
    assert (inf["harvest_1e6_per_kg"] > inf["dose_1e6_per_kg"]).all()


# ---------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------
BEST = {  # Results, per patient: (CD19, CD22)
    "P1": ("SD", "CR"), "P2": ("SD", "CR"), "P3": ("SD", "CR"), "P4": ("PD", "CR"), "P5": ("SD", "PR"),
    "P6": ("PD", "SD"), "P7": ("PD", "PR"), "P8": ("NR", "NR"), "P9": ("CR", "NR"), "P10": ("NR", "NR"),
    "P11": ("CRi", "CRi"), "P12": ("CR", "CRi"), "P13": ("NR", "NR"),
}  # fmt: skip
RANK = {"CR": 0, "CRi": 1, "PR": 2, "SD": 3, "PD": 4, "NR": 5}


def test_responses_per_patient_and_product(t):
    a = t["assessments"].filter(pl.col("response").is_not_null() & (pl.col("response") != "relapse"))
    for p, (r19, r22) in BEST.items():
        for ep, want in ((1, r19), (2, r22)):
            rows = a.filter((pl.col("patient_id") == p) & (pl.col("episode") == ep))
            days = sorted(rows["day"].to_list())
            assert days == ([30, 60] if p in DLBCL else [14]), (p, ep)
            best = min(rows["response"].to_list(), key=RANK.__getitem__)
            assert best == want, (p, ep)
    # CD22 in DLBCL: CR 4/7, ORR 6/7 (Results)
    cd22 = [BEST[p][1] for p in DLBCL]
    assert cd22.count("CR") == 4 and sum(r in ("CR", "PR") for r in cd22) == 6


def test_pet_ct_consistent_with_lugano(t):
    a = t["assessments"].filter((pl.col("method") == "pet_ct") & pl.col("response").is_not_null())
    for r in a.iter_rows(named=True):  # Lugano 2014 (Cheson JCO 2014): CMR = Deauville 1-3
        if r["response"] == "CR":
            assert r["deauville"] <= 3 and not r["new_lesions"]
        elif r["response"] == "PR":
            assert r["deauville"] >= 4 and r["uptake_vs_baseline"] == "decreased" and not r["new_lesions"]
        elif r["response"] == "SD":
            assert r["deauville"] >= 4 and r["uptake_vs_baseline"] == "unchanged" and not r["new_lesions"]
        else:
            assert r["response"] == "PD" and r["deauville"] >= 4
            assert r["uptake_vs_baseline"] == "increased" or r["new_lesions"]


def test_marrow_consistent_with_ball_criteria(t):
    a = t["assessments"].filter((pl.col("method") == "marrow") & (pl.col("day") == 14))
    m = t["measurements"].filter(pl.col("day") == 14)
    for r in a.iter_rows(named=True):
        # CR: blasts < 5, ANC >= 1, PLT >= 100; CRi: blasts < 5, ANC < 1 or PLT < 100; NR: blasts >= 5
        ok_counts = r["anc"] >= 1.0 and r["platelets"] >= 100
        if r["response"] == "CR":
            assert r["marrow_blasts_pct"] < 5 and ok_counts and not r["circulating_blasts"]
        elif r["response"] == "CRi":
            assert r["marrow_blasts_pct"] < 5 and not ok_counts
        else:
            assert r["response"] == "NR" and r["marrow_blasts_pct"] >= 5
        mine = m.filter((pl.col("patient_id") == r["patient_id"]) & (pl.col("episode") == r["episode"]))
        vals = dict(mine.select("analyte", "value").iter_rows())
        assert (vals["anc"], vals["platelets"]) == (r["anc"], r["platelets"])
    # Figure 1: high CD19 before CD19 CAR-T; normal/low CD19 and high CD22 before CD22 CAR-T
    pre = t["assessments"].filter((pl.col("method") == "marrow") & (pl.col("day") < 0))
    assert pre.height == 12
    assert (pre.filter(pl.col("episode") == 1)["cd19_pct"] >= 90).all()
    e2 = pre.filter(pl.col("episode") == 2)
    assert (e2["cd19_pct"] < 60).all() and (e2["cd22_pct"] >= 90).all()
    # episode-1 baseline blasts are Table 1's
    blasts = dict(t["patients"].select("patient_id", "marrow_blasts_pct").iter_rows())
    for p, v in pre.filter(pl.col("episode") == 1).select("patient_id", "marrow_blasts_pct").iter_rows():
        assert v == blasts[p]


# ---------------------------------------------------------------------------------------------
# Kinetics
# ---------------------------------------------------------------------------------------------
def _peaks(t, analyte: str, episode: int) -> pl.DataFrame:
    m = t["measurements"].filter(
        (pl.col("analyte") == analyte) & (pl.col("episode") == episode) & pl.col("day").is_between(0, 28)
    )
    # peak = maximum over days 0-28, peak day = its (first) day
    return (
        m.sort("patient_id", "day")
        .group_by("patient_id")
        .agg(pl.col("value").max().alias("peak"), pl.col("day").get(pl.col("value").arg_max()).alias("day"))
        .sort("patient_id")
    )


KINETIC_SUMMARY = {  # Results: median (Q1, Q3) of the peak and of the peak day
    ("car_t_pct_cd3", 1): ((2.06, 2.36, 5.24), (7, 7, 7)),
    ("car_t_pct_cd3", 2): ((2.04, 2.24, 9.28), (7, 14, 14)),
    ("car_dna", 1): ((900, 1290, 2636), (7, 7, 7)),
    ("car_dna", 2): ((960, 1240, 2580), (14, 14, 14)),
}


@pytest.mark.parametrize("key", list(KINETIC_SUMMARY))
def test_kinetic_peak_medians_and_iqrs(t, key):
    pk = _peaks(t, *key)
    assert pk.height == 13
    want_peak, want_day = KINETIC_SUMMARY[key]
    assert spss_quartiles(pk["peak"]) == pytest.approx(want_peak, abs=1e-9)
    assert spss_quartiles(pk["day"]) == pytest.approx(want_day, abs=1e-9)


def test_kinetic_sampling_and_realism(t):
    m = t["measurements"]
    for a in ("car_t_pct_cd3", "car_dna", "il6", "il2r", "il8", "tnfa"):
        days = m.filter(pl.col("analyte") == a).group_by("patient_id", "episode").agg(pl.col("day").sort())
        assert days.height == 26 and all(d.to_list() == [0, 4, 7, 14, 21, 28] for d in days["day"])
    assert (m["value"] >= 0).all()
    assert (m.filter(pl.col("unit") == "%")["value"] <= 100).all()
    assert (m.filter((pl.col("analyte").is_in(["car_t_pct_cd3", "car_dna"])) & (pl.col("day") == 0))["value"] == 0).all()
    for a in ("wbc", "anc", "platelets", "hemoglobin"):
        days = m.filter(pl.col("analyte") == a).group_by("patient_id", "episode").agg(pl.col("day"))
        assert all({-5, 0, 4, 7, 10, 14, 21, 28} <= set(d) for d in days["day"].to_list())
    base = m.filter(pl.col("day") == -5)
    for a in ("crp", "ferritin", "ldh", "creatinine"):
        assert base.filter(pl.col("analyte") == a).height == 26


CYTOKINE_DAYS = {  # (analyte, episode): printed mean, SD; attained mean, SD (integer sample days)
    ("il6", 1): (6.61, 2.53, 86 / 13, 2.631174058),  # 6.61 x 13 = 85.9: not an integer sum of days
    ("il2r", 1): (6.61, 2.53, 86 / 13, 2.631174058),
    ("il8", 1): (5.15, 1.46, 67 / 13, 1.519109051),  # {4 x 8, 7 x 5} is the only vector with mean 5.15
    ("tnfa", 1): (6.85, 2.41, 89 / 13, 2.511511957),  # {4 x 3, 7 x 9, 14} is the only vector with mean 6.85
    ("il6", 2): (11.08, 3.93, 144 / 13, 3.925589944),
    ("il2r", 2): (11.85, 3.36, 154 / 13, 3.36269123),
    ("il8", 2): (12.38, 3.07, 161 / 13, 3.069703068),
    ("tnfa", 2): (11.31, 3.54, 147 / 13, 3.544587785),
}


@pytest.mark.parametrize("key", list(CYTOKINE_DAYS))
def test_cytokine_peak_days(t, key):
    printed_mean, printed_sd, mean, sd = CYTOKINE_DAYS[key]
    d = _peaks(t, *key)["day"].to_numpy().astype(float)
    assert d.mean() == pytest.approx(mean, abs=1e-9)
    # R: sd(peak_days) (values above)
    assert d.std(ddof=1) == pytest.approx(sd, abs=1e-6)
    assert abs(d.mean() - printed_mean) < 0.006
    if key[1] == 2:  # attainable exactly: both equal the printed values to 2 decimals
        assert (round(d.mean(), 2), round(d.std(ddof=1), 2)) == (printed_mean, printed_sd)


def _exact_mw_p(x, y) -> float:
    """Two-sided exact Mann-Whitney P without ties: 2 * P(U <= min U) (SPSS 'Exact Sig.')."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    assert not np.intersect1d(x, y).size
    m, n = len(x), len(y)
    u = min(float((x[:, None] > y[None, :]).sum()), m * n - float((x[:, None] > y[None, :]).sum()))
    # number of arrangements with each U: f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u)
    f = np.zeros((m + 1, n + 1, m * n + 1))
    f[0, :, 0] = 1
    f[:, 0, 0] = 1
    for i in range(1, m + 1):
        for j in range(1, n + 1):
            f[i, j, j:] += f[i - 1, j, : m * n + 1 - j]
            f[i, j] += f[i, j - 1]
    return min(1.0, 2 * f[m, n, : int(u) + 1].sum() / math.comb(m + n, m))


@pytest.mark.parametrize(
    "analyte,paper_p",
    [("car_t_pct_cd3", 0.920), ("car_dna", 0.880), ("il6", 0.044), ("il2r", 0.004), ("il8", 0.064),
     ("tnfa", 0.019)],
)  # fmt: skip
def test_peak_comparisons_exact_mann_whitney(t, analyte, paper_p):
    # exact P matches all six; e.g. R: wilcox.test(cd19_peak, cd22_peak, exact = TRUE)$p.value for
    # CAR-T %: 0.9201 (U = 82)
    x = _peaks(t, analyte, 1)["peak"].to_numpy()
    y = _peaks(t, analyte, 2)["peak"].to_numpy()
    assert round(_exact_mw_p(x, y), 3) == paper_p


def test_exact_mw_by_hand_matches_r():
    # R: wilcox.test(c(1.1, 2.2, 3.3, 5.5), c(4.4, 6.6, 7.7))$p.value = 0.1142857143
    assert _exact_mw_p([1.1, 2.2, 3.3, 5.5], [4.4, 6.6, 7.7]) == pytest.approx(0.1142857143, abs=1e-9)


def test_peak_day_comparisons_asymptotic(t):
    from scipy.stats import norm

    def asym_p(x, y) -> float:  # tie-corrected normal approximation, no continuity correction (SPSS)
        z = np.concatenate([x, y]).astype(float)
        from scipy.stats import rankdata

        r = rankdata(z)
        m, n = len(x), len(y)
        u = r[:m].sum() - m * (m + 1) / 2
        _, c = np.unique(z, return_counts=True)
        var = m * n / 12 * ((m + n + 1) - (c**3 - c).sum() / ((m + n) * (m + n - 1)))
        return float(2 * norm.sf(abs(u - m * n / 2) / math.sqrt(var)))

    # R: wilcox.test(d19, d22, correct = FALSE)$p.value -> CAR-T % peak day 0.02173, DNA 0.000935
    for analyte, want in (("car_t_pct_cd3", 0.022), ("car_dna", 0.001)):
        x = _peaks(t, analyte, 1)["day"].to_numpy()
        y = _peaks(t, analyte, 2)["day"].to_numpy()
        assert round(asym_p(x, y), 3) == want, analyte


# ---------------------------------------------------------------------------------------------
# Follow-up and survival after the CD22 infusion
# ---------------------------------------------------------------------------------------------
def _survival(t, endpoint: str) -> pl.DataFrame:
    """Time (days) from the CD22 infusion to the first event (PFS: progression/relapse/death; OS:
    death), else to last contact; patients with allo-HSCT are excluded (the paper's groups)."""
    inf = t["infusions"].filter(pl.col("episode") == 2).select("patient_id", pl.col("infusion_date").alias("d0"))
    ev = t["events"].join(inf, on="patient_id").filter(pl.col("date") > pl.col("d0"))
    kinds = ["progression", "relapse", "death"] if endpoint == "pfs" else ["death"]
    hsct = set(ev.filter(pl.col("kind") == "hsct")["patient_id"])
    rows = []
    for p in DLBCL + BALL:
        if p in hsct:
            continue
        e = ev.filter(pl.col("patient_id") == p)
        hits = e.filter(pl.col("kind").is_in(kinds))
        d0 = e["d0"][0]
        if hits.height:
            rows.append((p, (hits["date"].min() - d0).days, 1))
        else:
            rows.append((p, (e.filter(pl.col("kind") == "last_contact")["date"].max() - d0).days, 0))
    df = pl.DataFrame(rows, schema=["patient_id", "t", "e"], orient="row")
    return df.join(t["patients"].select("patient_id", "diagnosis"), on="patient_id")


def _km_at(tt: np.ndarray, ee: np.ndarray, at: float) -> float:
    s = 1.0
    for u in np.unique(tt[(ee == 1) & (tt <= at)]):
        n = (tt >= u).sum()
        d = ((tt == u) & (ee == 1)).sum()
        s *= 1 - d / n
    return s


def _logrank_p(tt, ee, g) -> float:
    from scipy.stats import chi2

    tt, ee, g = map(np.asarray, (tt, ee, g))
    o = e = v = 0.0
    for u in np.unique(tt[ee == 1]):
        at = tt >= u
        n, n1 = at.sum(), (at & (g == 1)).sum()
        d = ((tt == u) & (ee == 1)).sum()
        o += ((tt == u) & (ee == 1) & (g == 1)).sum()
        e += d * n1 / n
        v += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1) if n > 1 else 0.0
    return float(chi2.sf((o - e) ** 2 / v, 1))


def test_hsct_and_groups(t):
    ev = t["events"]
    h = ev.filter(pl.col("kind") == "hsct")
    assert sorted(h["patient_id"].to_list()) == ["P12", "P2"] and set(h["detail"]) == {"allogeneic"}
    assert set(h["episode"]) == {2}
    pfs = _survival(t, "pfs")
    assert sorted(pfs.filter(pl.col("diagnosis") == "DLBCL")["patient_id"]) == ["P1", "P3", "P4", "P5", "P6", "P7"]
    assert sorted(pfs.filter(pl.col("diagnosis") == "B-ALL")["patient_id"]) == ["P10", "P11", "P13", "P8", "P9"]


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_km_180_days_and_logrank(t, endpoint):
    s = _survival(t, endpoint)
    dl = s.filter(pl.col("diagnosis") == "DLBCL")
    al = s.filter(pl.col("diagnosis") == "B-ALL")
    # Results: PFS 66.7 % vs 20.0 % at 180 days; OS printed 67.07 % vs 20.5 %, which no KM product
    # with 6 and 5 patients gives: the data give 66.7 % and 20.0 % (PROVENANCE.md)
    assert _km_at(dl["t"].to_numpy(), dl["e"].to_numpy(), 180) == pytest.approx(4 / 6, abs=1e-12)
    assert _km_at(al["t"].to_numpy(), al["e"].to_numpy(), 180) == pytest.approx(1 / 5, abs=1e-12)
    # everybody event-free at 180 d is followed beyond 180 d (no censoring before the landmark)
    assert (s.filter(pl.col("e") == 0)["t"] > 180).all()
    # R: survdiff(Surv(t, e) ~ g) -> Chisq = 3.59 on 1 df, p = 0.0582 (paper: P = 0.058)
    p = _logrank_p(s["t"].to_numpy(), s["e"].to_numpy(), (s["diagnosis"] == "B-ALL").cast(int).to_numpy())
    assert p == pytest.approx(0.0582085, abs=1e-6)


def test_logrank_by_hand_matches_r():
    # R: survdiff(Surv(c(3,5,7,9,11), c(1,1,0,1,0)) ~ c(0,1,0,1,1))$chisq = 0.2865497076,
    #    1 - pchisq(0.2865497076, 1) = 0.5924400902
    p = _logrank_p([3, 5, 7, 9, 11], [1, 1, 0, 1, 0], [0, 1, 0, 1, 1])
    assert p == pytest.approx(0.5924400902, abs=1e-9)


def test_dlbcl_os_follow_up_months(t):
    inf = t["infusions"].filter(pl.col("episode") == 2).select("patient_id", pl.col("infusion_date").alias("d0"))
    ev = t["events"].filter(pl.col("kind").is_in(["death", "last_contact"]) & pl.col("patient_id").is_in(DLBCL))
    fu = ev.join(inf, on="patient_id").group_by("patient_id").agg(pl.col("date").max() - pl.col("d0").first())
    months = np.array([d.days for d in fu["date"]]) / 30.4375
    assert len(months) == 7
    # printed 6.142 +/- 3.395 months; 6.142 x 7 x 30.4375 = 1308.6 days is not an integer: 1309 d
    assert months.sum() * 30.4375 == pytest.approx(1309)
    assert round(months.mean(), 3) == 6.144
    assert round(months.std(ddof=1), 3) == 3.395


def test_events_consistent(t):
    ev = t["events"]
    assert ev["date"].max().isoformat() <= CUTOFF
    assert ev.select("patient_id", "kind", "date").is_duplicated().sum() == 0
    dead = set(ev.filter(pl.col("kind") == "death")["patient_id"])
    alive = set(ev.filter(pl.col("kind") == "last_contact")["patient_id"])
    assert dead.isdisjoint(alive) and dead | alive == set(DLBCL + BALL)
    assert all(d.isoformat() == CUTOFF for d in ev.filter(pl.col("kind") == "last_contact")["date"])
    # relapse after the CD19 response (day 14) 3, 6 and 1 months later (Results)
    rel = ev.filter((pl.col("kind") == "relapse") & (pl.col("episode") == 1)).sort("patient_id")
    got = {p: (d - 14) / 30.4375 for p, d in rel.select("patient_id", "day").iter_rows()}
    assert {p: round(m) for p, m in got.items()} == {"P9": 3, "P11": 6, "P12": 1}
    # day and date agree with the infusion dates
    inf = t["infusions"].select("patient_id", "episode", "infusion_date")
    j = ev.join(inf, on=["patient_id", "episode"])
    assert ((j["date"] - j["infusion_date"]).dt.total_days() == j["day"]).all()
    # no death before the CD22 infusion; nobody dies of CRS/ICANS
    assert set(ev.filter(pl.col("kind") == "death")["episode"]) == {2}


def test_day_tables_dates_agree(t):
    inf = t["infusions"].select("patient_id", "episode", "infusion_date")
    for name in ("measurements", "support", "neuro", "assessments"):
        j = t[name].join(inf, on=["patient_id", "episode"])
        assert j.height == t[name].height
        assert ((j["date"] - j["infusion_date"]).dt.total_days() == j["day"]).all(), name


def test_columns_and_vocabularies_follow_the_schema(t):
    from cartkit.study.schema import TABLES
    from cartkit.study.vocabulary import ANALYTES, VOCABULARIES

    for name, df in t.items():
        spec = TABLES[name]
        assert set(df.columns) <= set(spec.column_names), name
        for c in spec.columns:
            if c.required:
                assert c.name in df.columns and df[c.name].null_count() == 0, (name, c.name)
            if c.vocabulary and c.name in df.columns:
                vals = set(df[c.name].drop_nulls().cast(pl.String))
                # canonical spelling, not just an accepted alias
                assert vals <= set(VOCABULARIES[c.vocabulary].values()), (name, c.name, vals)
        key = [k for k in spec.key if k in df.columns]  # optional key columns (time) may be absent
        assert df.select(key).is_duplicated().sum() == 0, name
    m = t["measurements"]
    for a, u in m.select("analyte", "unit").unique().iter_rows():
        assert ANALYTES[a].unit == u


# ---------------------------------------------------------------------------------------------
# published.toml, generator, loader
# ---------------------------------------------------------------------------------------------
def test_published_numbers():
    doc = tomllib.loads((SEED / "published.toml").read_text())
    nums = doc["number"]
    assert len(nums) >= 60
    keys = [n["key"] for n in nums]
    assert len(keys) == len(set(keys))
    for n in nums:
        assert set(n) >= {"key", "value", "unit", "source", "description"}, n
        assert isinstance(n["value"], int | float | str) and n["source"] and n["description"]
    by = {n["key"]: n["value"] for n in nums}
    # Table 2 entries agree with the literal table above
    for term, counts in TABLE2.items():
        slug = term.replace(" ", "_")
        for (ep, d), c in zip(CELLS, counts, strict=True):
            k = f"table2.{slug}.{'cd19' if ep == 1 else 'cd22'}.{'dlbcl' if d == 'DLBCL' else 'all'}"
            assert by[f"{k}.n"] == c, k
            assert by[f"{k}.pct"] == pytest.approx(round(100 * c / (7 if d == "DLBCL" else 6), 2)), k
    for grades, name in ((CRS_GRADES, "crs"), (ICANS_GRADES, "icans")):
        for g, counts in grades.items():
            for (ep, d), c in zip(CELLS, counts, strict=True):
                k = f"table2.{name}_grade{g}.{'cd19' if ep == 1 else 'cd22'}.{'dlbcl' if d == 'DLBCL' else 'all'}.n"
                assert by[k] == c, k
    for key, value in KINETIC_SUMMARY.items():
        prod = "cd19" if key[1] == 1 else "cd22"
        for stat, v in zip(("q1", "median", "q3"), value[0], strict=True):
            assert by[f"kinetics.{key[0]}.{prod}.peak.{stat}"] == v
        for stat, v in zip(("q1", "median", "q3"), value[1], strict=True):
            assert by[f"kinetics.{key[0]}.{prod}.peak_day.{stat}"] == v
    for (analyte, ep), (m, sd, _, _) in CYTOKINE_DAYS.items():
        prod = "cd19" if ep == 1 else "cd22"
        assert (by[f"kinetics.{analyte}.{prod}.peak_day.mean"], by[f"kinetics.{analyte}.{prod}.peak_day.sd"]) == (m, sd)
    assert by["patients.age.mean"] == 46.31
    assert by["survival.pfs.dlbcl.day180"] == 66.7 and by["survival.pfs.all.day180"] == 20.0
    assert by["survival.os.dlbcl.day180"] == 67.07 and by["survival.os.all.day180"] == 20.5
    assert by["survival.pfs.logrank.p"] == by["survival.os.logrank.p"] == 0.058
    assert (by["survival.os.dlbcl.months.mean"], by["survival.os.dlbcl.months.sd"]) == (6.142, 3.395)
    assert (by["response.cd22.dlbcl.cr.n"], by["response.cd22.dlbcl.orr.n"]) == (4, 6)


def test_generator_is_deterministic(tmp_path):
    spec = importlib.util.spec_from_file_location("make_seed_study", ROOT / "scripts" / "make_seed_study.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_seed_study"] = mod
    try:
        spec.loader.exec_module(mod)
        mod.main(tmp_path)
    finally:
        sys.modules.pop("make_seed_study", None)
    for f in sorted(SEED.glob("*.csv")) + [SEED / "study.toml"]:
        assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f.name


def test_loads_with_cartkit():
    import cartkit

    try:
        from cartkit.study import load as _load  # noqa: F401
    except ImportError as exc:  # pragma: no cover - only while the loader is being written
        pytest.skip(f"cartkit.load_study not available yet: {exc}")
    study = cartkit.load_study(SEED)
    assert study.meta.id == "zhu2021-cd22-salvage"
    assert study.plan.products == (CD19, CD22)
    assert study.plan.survival.landmark_day == 180
    assert study.tables["patients"].height == 13
    assert study.tables["adverse_events"].height == read("adverse_events").height
    assert study.tables["measurements"].height == read("measurements").height
