"""Write examples/seed-study/*.csv: the seed study (Zhu et al., OncoTargets Ther 2021) as patient-level data.

Deterministic: running it twice writes byte-identical files. Every number is either

* published  - copied from the paper (Table 1, Table 2, the Results text), or
* derived    - forced by a published summary (e.g. a peak-day vector whose mean and SD are the
               printed ones), or
* synthetic  - chosen here, with the rule written next to it.

examples/seed-study/PROVENANCE.md lists, per table and column, which of the three it is.
Run from the repository root:  python scripts/make_seed_study.py
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import polars as pl

OUT = Path(__file__).resolve().parent.parent / "examples" / "seed-study"
CUTOFF = dt.date(2020, 8, 31)  # published: "The cutoff date of data collection is August 31, 2020"
DAYS_PER_MONTH = 30.4375  # 365.25 / 12, used for every months <-> days conversion
SEED = 20210101
RNG = np.random.default_rng(SEED)  # the only source of randomness besides fixed-seed local ones; reset in main()

CD19, CD22 = "CD19 CAR-T", "CD22 CAR-T"
DLBCL = ["P1", "P2", "P3", "P4", "P5", "P6", "P7"]
BALL = ["P8", "P9", "P10", "P11", "P12", "P13"]
PATIENTS = DLBCL + BALL

# --------------------------------------------------------------------------------------------
# Table 1, verbatim (published). weight_kg is synthetic (adult 52-82 kg; the 16-year-old 58 kg).
# --------------------------------------------------------------------------------------------
TABLE1 = [
    # id, age, sex, diagnosis, subtype, stage, status, ipi, blasts, prior lines, weight (synthetic)
    ("P1", 56, "male", "DLBCL", "Non-GCB", "III", "refractory", 3, None, 12, 72.0),
    ("P2", 16, "male", "DLBCL", "Non-GCB", "IV", "refractory", 3, None, 8, 58.0),
    ("P3", 70, "female", "DLBCL", "GCB", "IV", "refractory", 4, None, 8, 55.0),
    ("P4", 59, "male", "DLBCL", "GCB", "III", "refractory", 3, None, 14, 68.0),
    ("P5", 28, "male", "DLBCL", "Non-GCB", "III", "refractory", 3, None, 12, 75.0),
    ("P6", 56, "female", "DLBCL", "Non-GCB", "IV", "refractory", 3, None, 7, 61.0),
    ("P7", 69, "male", "DLBCL", "GCB", "III", "refractory", 3, None, 6, 70.0),
    ("P8", 46, "male", "B-ALL", "Common B", None, "relapsed", None, 81.2, 4, 78.0),
    ("P9", 33, "male", "B-ALL", "Common B", None, "relapsed", None, 69.4, 8, 82.0),
    ("P10", 25, "male", "B-ALL", "Common B(Ph+)", None, "refractory", None, 48.8, 10, 66.0),
    ("P11", 55, "female", "B-ALL", "Common B(Ph+)", None, "relapsed", None, 36.2, 6, 57.0),
    ("P12", 31, "female", "B-ALL", "Pro-B cell", None, "refractory", None, 44.6, 3, 52.0),
    ("P13", 58, "female", "B-ALL", "Common B", None, "relapsed", None, 58.0, 8, 60.0),
]
DIAG = {r[0]: r[3] for r in TABLE1}
SEX = {r[0]: r[2] for r in TABLE1}
WEIGHT = {r[0]: r[10] for r in TABLE1}

# --------------------------------------------------------------------------------------------
# Infusion dates (synthetic within published windows).
# CD19: patients admitted Aug 2017 - Jul 2018 (Methods); infusion ~2-3 weeks after admission.
# CD22: trial ChiCTR1800019298 registered in late 2018, so every CD22 infusion is from Dec 2018.
# The CD22 dates follow from the survival design below (follow-up to the 2020-08-31 cut-off).
# --------------------------------------------------------------------------------------------
CD19_DATE = {
    "P1": "2017-08-28", "P2": "2017-09-18", "P3": "2017-10-16", "P4": "2017-11-13", "P5": "2017-12-11",
    "P6": "2018-01-15", "P7": "2018-02-05", "P8": "2018-02-26", "P9": "2018-04-02", "P10": "2018-04-23",
    "P11": "2018-03-05", "P12": "2018-07-16", "P13": "2018-06-11",
}  # fmt: skip

# Follow-up after the CD22 infusion, in days (derived; see PROVENANCE.md "events"):
#  * DLBCL OS follow-up of all 7 (to death or last contact), by patient:
#    P1 392, P2 90 (HSCT day 75, alive), P3 222, P4 191, P5 181, P6 death 90, P7 death 143.
#    Sum 1309 d -> mean 187.0 d = 6.144 months, SD 103.33 d = 3.395 months (paper: 6.142 +/- 3.395;
#    6.142 * 7 * 30.4375 = 1308.6 d is not an integer number of days: 1309 is the nearest).
#  * No-HSCT groups, PFS (first progression/death) and OS event times, event order B B B D B D:
#      B-ALL  P8 prog 14 death 45, P9 prog 21 death 62, P10 prog 35 death 81, P13 prog 70 death 110,
#             P11 alive progression-free at 500 d;
#      DLBCL  P6 prog 60 death 90, P7 prog 90 death 143; P1/P3/P4/P5 censored at 392/222/191/181.
#    KM at 180 d: DLBCL 4/6 = 66.7 %, B-ALL 1/5 = 20.0 % for both PFS and OS.
#    R: survdiff(Surv(t, e) ~ g) -> Chisq = 3.59 on 1 df, p = 0.0582 for both PFS and OS.
LAST_CONTACT_DAY = {"P1": 392, "P2": 90, "P3": 222, "P4": 191, "P5": 181, "P11": 500}
CD22_DATE = {p: (CUTOFF - dt.timedelta(days=d)).isoformat() for p, d in LAST_CONTACT_DAY.items()}
CD22_DATE.update({
    "P6": "2019-10-14", "P7": "2019-05-20", "P8": "2018-12-17", "P9": "2019-01-21", "P10": "2019-03-11",
    "P12": "2019-06-10", "P13": "2019-09-02",
})  # fmt: skip

LYMPHODEPLETION = "Flu 30 mg/m2 + Cy 400 mg/m2, days -4 to -2"  # published (Methods)


def _date(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def infusion_date(pid: str, episode: int) -> dt.date:
    return _date(CD19_DATE[pid] if episode == 1 else CD22_DATE[pid])


# --------------------------------------------------------------------------------------------
# Values with a published mean +/- SD: start from evenly spaced normal (or shifted log-normal)
# quantiles, rescale to the target mean and sample SD, round, then move single values by one unit
# of the last decimal until the rounded mean and SD equal the printed ones (and are as close to
# them as the rounding grid allows).
# --------------------------------------------------------------------------------------------
def _normal_quantiles(n: int) -> np.ndarray:
    from scipy.stats import norm

    return norm.ppf((np.arange(1, n + 1) - 0.5) / n)


def fit_mean_sd(
    mean: float, sd: float, n: int, decimals: int, shape: np.ndarray | None = None, lo: float = 0.0
) -> np.ndarray:
    z = _normal_quantiles(n) if shape is None else np.asarray(shape, float)
    z = (z - z.mean()) / z.std(ddof=1)
    x = np.round(mean + sd * z, decimals)
    step = 10.0**-decimals

    def err(v: np.ndarray) -> float:
        return abs(v.mean() - mean) + abs(v.std(ddof=1) - sd)

    for _ in range(2000):
        best, best_e = None, err(x)
        for i in range(n):
            for s in (-step, step):
                y = x.copy()
                y[i] = round(y[i] + s, decimals)
                if y[i] < lo:
                    continue
                e = err(y)
                if e < best_e - 1e-12:
                    best, best_e = y, e
        if best is None:
            break
        x = best
    assert round(x.mean(), 2) == round(mean, 2) and round(x.std(ddof=1), 2) == round(sd, 2), (x, mean, sd)
    return x


def _shifted_lognormal_shape(n: int, sigma: float) -> np.ndarray:
    return np.exp(sigma * _normal_quantiles(n))


def _assign(values: np.ndarray, ids: list[str]) -> dict[str, float]:
    """Spread sorted values over patients in a fixed shuffled order (seeded)."""
    order = RNG.permutation(len(ids))
    return {ids[i]: float(values[k]) for k, i in enumerate(order)}


def product_numbers() -> dict[tuple[str, int], dict[str, float]]:
    out: dict[tuple[str, int], dict[str, float]] = {(p, e): {} for p in PATIENTS for e in (1, 2)}
    # doses per disease (published mean +/- SD, 10^6/kg)
    doses = {
        (1, "DLBCL"): (2.09, 0.17), (1, "B-ALL"): (2.05, 0.29),
        (2, "DLBCL"): (2.11, 0.24), (2, "B-ALL"): (2.07, 0.42),
    }  # fmt: skip
    for (ep, diag), (m, s) in doses.items():
        ids = DLBCL if diag == "DLBCL" else BALL
        for p, v in _assign(fit_mean_sd(m, s, len(ids), 2), ids).items():
            out[(p, ep)]["dose_1e6_per_kg"] = v
    # transduction efficiency over all 13 (published mean +/- SD, %), one decimal
    for ep, (m, s) in {1: (47.18, 17.43), 2: (42.07, 19.23)}.items():
        for p, v in _assign(fit_mean_sd(m, s, 13, 1), PATIENTS).items():
            out[(p, ep)]["transduction_pct"] = v
    # harvest over all 13 (published mean +/- SD, 10^6/kg): right-skewed (log-normal shape,
    # sigma 1.0) so that every harvest exceeds the dose infused from it.
    for ep, (m, s) in {1: (5.89, 3.93), 2: (4.03, 2.37)}.items():
        vals = fit_mean_sd(m, s, 13, 2, shape=_shifted_lognormal_shape(13, 1.0))
        # the largest harvests go to the largest doses; every harvest > dose
        ids = sorted(PATIENTS, key=lambda p, ep=ep: out[(p, ep)]["dose_1e6_per_kg"])
        for p, v in zip(ids, np.sort(vals), strict=True):
            out[(p, ep)]["harvest_1e6_per_kg"] = float(v)
            assert v > out[(p, ep)]["dose_1e6_per_kg"], (p, ep, v)
    return out


# --------------------------------------------------------------------------------------------
# Responses (published, Results) and how they are recorded
# --------------------------------------------------------------------------------------------
# DLBCL: PET-CT on days 30 and 60 (Methods: "one and two months"); recorded with the paper's words
# CR/PR/SD/PD (Lugano 2014: CMR is recorded as "CR", PMR as "PR", NMR as "SD", PMD as "PD").
DLBCL_RESPONSE = {
    1: {"P1": ("SD", "SD"), "P2": ("SD", "SD"), "P3": ("SD", "SD"), "P5": ("SD", "SD"),
        "P4": ("PD", "PD"), "P6": ("PD", "PD"), "P7": ("PD", "PD")},
    # P6: SD on day 30, progression documented on day 60 (best response SD, as published).
    2: {"P1": ("CR", "CR"), "P2": ("CR", "CR"), "P3": ("CR", "CR"), "P4": ("CR", "CR"),
        "P5": ("PR", "PR"), "P7": ("PR", "PR"), "P6": ("SD", "PD")},
}  # fmt: skip
# Lugano 2014 PET-CT (Cheson JCO 2014, Table 3): Deauville 1-3 = complete metabolic response;
# 4-5 with reduced uptake = partial; 4-5 unchanged = no metabolic response (SD);
# 4-5 with increased uptake and/or new lesions = progressive metabolic disease.
PET = {"CR": (3, "decreased", False), "PR": (4, "decreased", False), "SD": (4, "unchanged", False),
       "PD": (5, "increased", True)}  # fmt: skip
# B-ALL: marrow on day 14 (Methods). CD19: P9 CR, P11 CRi, P12 CR ("CR/CRi"); P8, P10, P13 NR.
# CD22: P11, P12 CRi; P8, P9, P10, P13 NR.
BALL_RESPONSE = {
    1: {"P8": "NR", "P9": "CR", "P10": "NR", "P11": "CRi", "P12": "CR", "P13": "NR"},
    2: {"P8": "NR", "P9": "NR", "P10": "NR", "P11": "CRi", "P12": "CRi", "P13": "NR"},
}
# Relapse after the CD19 response: "three, six and one month(s)" later (published) for P9, P11,
# P12; day = 14 (response day) + round(months * 30.4375).
RELAPSE_DAY = {p: 14 + round(m * DAYS_PER_MONTH) for p, m in (("P9", 3), ("P11", 6), ("P12", 1))}

# --------------------------------------------------------------------------------------------
# Adverse events. Table 2 counts are published; WHICH patients carry each term is synthetic,
# chosen so that the sicker patients (higher CRS grade) carry more terms.
# --------------------------------------------------------------------------------------------
CRS = {  # CTCAE v4.03 CRS grade; absent = grade 0 (no row). Counts = Table 2.
    1: {"P4": 2, "P6": 1, "P8": 2, "P10": 2, "P11": 3, "P13": 3, "P9": 4, "P12": 4},
    2: {"P5": 2, "P6": 1, "P7": 1, "P8": 2, "P11": 2, "P12": 3, "P9": 1, "P10": 1, "P13": 1},
}
ICANS = {1: {"P9": 1, "P12": 2}, 2: {}}  # ASTCT 2019 grade; Table 2: CD19 ALL one g1, one g2
# term -> episode -> {patient: grade}. Non-haematological grades (CTCAE v4.03) are synthetic:
# grade 2 in patients with CRS >= 3, else grade 1, except where noted.
_SEVERE = {1: {"P9", "P11", "P12", "P13"}, 2: {"P12"}}
TERMS_BY_PATIENT = {
    # term: {episode: [patients]}
    "chills": {1: ["P4", "P6", "P9", "P11", "P12", "P13"], 2: ["P12"]},
    "fatigue": {1: ["P1", "P3", "P4", "P6", "P8", "P9", "P11", "P12", "P13"], 2: ["P5", "P6", "P7", "P8", "P9", "P11", "P12"]},
    "headache": {1: ["P9", "P12", "P13"], 2: []},
    "muscle weakness": {1: ["P4", "P9", "P11", "P12", "P13"], 2: ["P12"]},
    "hypoxia": {1: ["P4", "P9", "P12"], 2: []},
    "dyspnea": {1: ["P9", "P11", "P12", "P13"], 2: []},
    "cough": {1: ["P4", "P6", "P8", "P11", "P13"], 2: ["P12"]},
    "pleural effusion": {1: ["P1", "P4", "P9", "P11", "P12"], 2: ["P11", "P12"]},
    "nausea": {1: ["P1", "P4", "P6", "P8", "P9", "P12", "P13"], 2: ["P5", "P12"]},
    "vomiting": {1: ["P4", "P9", "P12"], 2: []},
    "anorexia": {1: ["P6", "P9", "P12", "P13"], 2: ["P12"]},
    "aminotransferase increased": {1: ["P4", "P6", "P9", "P11", "P12", "P13"], 2: ["P5", "P11", "P12"]},
    "blood bilirubin increased": {1: ["P4", "P9", "P12"], 2: []},
    "creatinine increased": {1: ["P9", "P11", "P12"], 2: ["P12"]},
    "oliguria": {1: ["P4", "P6", "P9", "P12", "P13"], 2: ["P5", "P12"]},
    "sinus tachycardia": {1: ["P4", "P6", "P9", "P11", "P12", "P13"], 2: ["P11", "P12"]},
    "arrhythmia": {1: ["P9", "P11", "P12"], 2: []},
    "hypotension": {1: ["P9", "P12"], 2: []},
    "disseminated intravascular coagulation": {1: ["P12"], 2: []},
    "dizziness": {1: ["P9", "P10", "P12", "P13"], 2: ["P12"]},
    "somnolence": {1: ["P4", "P9", "P10", "P12"], 2: ["P8", "P12"]},
    # not in Table 2; Results: "three R/R B-ALL patients were diagnosed with gram-negative organism
    # bacterial infections in anti-CD19-CAR T cell therapy" (published count; patients synthetic)
    "infection": {1: ["P8", "P10", "P13"], 2: []},
}  # fmt: skip
FIXED_GRADE = {  # (term, episode, patient) -> grade where the generic rule does not fit
    ("hypoxia", 1, "P4"): 2, ("hypoxia", 1, "P9"): 3, ("hypoxia", 1, "P12"): 3,  # SaO2 < 90 %, O2 given
    ("hypotension", 1, "P9"): 3, ("hypotension", 1, "P12"): 3,  # vasopressor given
    ("disseminated intravascular coagulation", 1, "P12"): 3,
    ("infection", 1, "P8"): 3, ("infection", 1, "P10"): 3, ("infection", 1, "P13"): 3,  # iv antibiotics
}  # fmt: skip
FEVER = {  # CTCAE v4.03 fever grade (1: 38.0-39.0 C, 2: >39.0-40.0, 3: >40.0 for <= 24 h)
    1: {"P1": 1, "P2": 1, "P3": 1, "P5": 1, "P7": 1, "P6": 2, "P4": 2,
        "P8": 2, "P10": 2, "P11": 2, "P13": 2, "P9": 3, "P12": 3},
    2: {"P5": 1, "P8": 1, "P9": 1, "P11": 2, "P12": 2},
}  # fmt: skip

# Haematological worst grades (CTCAE v4.03), per episode and patient. Grade >= 3 patients are
# Table 2's (published counts); the lower grades are synthetic, chosen (R search over all
# splits) so that the paper's grade x product tests come out where attainable:
#  WBC: CD19 g2/g3/g4 = 4/6/3, CD22 g2/g3 = 7/6
#       R: chisq.test(rbind(c(4,6,3), c(7,6,0)), correct = FALSE)$p.value = 0.1482  (paper 0.148)
#  Hb:  CD19 g2/g3 = 6/7, CD22 g2/g3 = 9/4, a 2 x 2 table with every expected count >= 5, so the
#       plan's rule (Cochran) tests it by the Yates-corrected chi-square:
#       R: chisq.test(rbind(c(6,7), c(9,4)))$p.value = 0.4272 (paper 0.425; Fisher 0.4283; no table
#       with Hb grades 0-3 and Table 2's grade-3 counts gives 0.425 by Fisher or chi-square)
#  Grade 1 needs the lab's LLN: the count rows carry it in measurements.lln (the values in LLN
#  below, synthetic: typical adult reference limits, Hb by sex). Grade-1 worst grades are
#  avoided (ANC and Hb: grade >= 2), except platelets, where the published P needs grades 0 and 1.
#  PLT: CD19 g0..g4 = 1/1/3/7/1, CD22 g0..g3 = 1/1/5/6
#       R: chisq.test(rbind(c(1,1,3,7,1), c(1,1,5,6,0)), correct = FALSE)$p.value = 0.8129 (paper 0.813)
HAEM = {
    "anc": {
        1: {"P1": 2, "P3": 2, "P5": 2, "P7": 2, "P2": 3, "P4": 3, "P6": 3, "P8": 3, "P10": 3, "P11": 3,
            "P9": 4, "P12": 4, "P13": 4},
        2: {"P1": 2, "P2": 2, "P3": 2, "P4": 2, "P6": 2, "P7": 2, "P9": 2, "P8": 2, "P10": 2, "P13": 2,
            "P5": 3, "P11": 3, "P12": 3},
    },
    "wbc": {
        1: {"P1": 2, "P3": 2, "P5": 2, "P7": 2, "P2": 3, "P4": 3, "P6": 3, "P8": 3, "P10": 3, "P11": 3,
            "P9": 4, "P12": 4, "P13": 4},
        2: {"P1": 2, "P2": 2, "P3": 2, "P4": 2, "P6": 2, "P7": 2, "P9": 2, "P8": 3, "P10": 3, "P13": 3,
            "P5": 3, "P11": 3, "P12": 3},
    },
    "hemoglobin": {
        1: {"P1": 2, "P2": 2, "P3": 2, "P5": 2, "P7": 2, "P11": 2, "P4": 3, "P6": 3, "P8": 3, "P9": 3,
            "P10": 3, "P12": 3, "P13": 3},
        2: {"P1": 2, "P2": 2, "P3": 2, "P4": 2, "P5": 2, "P7": 2, "P9": 2, "P11": 2, "P13": 2, "P6": 3,
            "P8": 3, "P10": 3, "P12": 3},
    },
    "platelets": {
        1: {"P1": 0, "P3": 1, "P2": 2, "P5": 2, "P6": 2, "P4": 3, "P7": 3, "P8": 3, "P9": 3, "P10": 3,
            "P11": 3, "P13": 3, "P12": 4},
        2: {"P3": 0, "P1": 1, "P2": 2, "P4": 2, "P6": 2, "P7": 2, "P11": 2, "P5": 3, "P8": 3, "P9": 3,
            "P10": 3, "P12": 3, "P13": 3},
    },
}  # fmt: skip
HAEM_TERM = {"anc": "neutrophil count decreased", "wbc": "white blood cell decreased",
             "hemoglobin": "anemia", "platelets": "platelet count decreased"}  # fmt: skip
# CTCAE v4.03 bands [low, high) per grade (docs/criteria.md, "CTCAE haematological grades"); grade 1 upper bound = LLN.
LLN = {"anc": 2.0, "wbc": 4.0, "platelets": 150.0, "hemoglobin": {"male": 130.0, "female": 120.0}}
BANDS = {
    "anc": {4: (0.0, 0.5), 3: (0.5, 1.0), 2: (1.0, 1.5), 1: (1.5, 2.0)},
    "wbc": {4: (0.0, 1.0), 3: (1.0, 2.0), 2: (2.0, 3.0), 1: (3.0, 4.0)},
    "platelets": {4: (0.0, 25.0), 3: (25.0, 50.0), 2: (50.0, 75.0), 1: (75.0, 150.0)},
    "hemoglobin": {3: (0.0, 80.0), 2: (80.0, 100.0), 1: (100.0, 120.0)},
}
COUNT_DAYS = [-5, 0, 4, 5, 7, 10, 14, 16, 21, 28]
KINETIC_DAYS = [0, 4, 7, 14, 21, 28]  # published sampling days

# --------------------------------------------------------------------------------------------
# Kinetics. Peak day vectors (derived from the printed median (IQR) / mean +/- SD).
# SPSS type-6 quartiles of 13 values: Q1 = (x3 + x4) / 2, median = x7, Q3 = (x10 + x11) / 2.
# --------------------------------------------------------------------------------------------
# CAR-T % peak day: CD19 7 (7, 7), CD22 14 (7, 14). Among vectors with these quartiles, this pair
# gives the published P = 0.022: R wilcox.test(cd19, cd22, correct = FALSE)$p.value = 0.02177
# (asymptotic, tie-corrected, no continuity correction = SPSS "Asymp. Sig."; with the continuity
# correction 0.02349).
PEAK_DAY = {
    ("car_t_pct_cd3", 1): [4, 4] + [7] * 9 + [14, 14],
    ("car_t_pct_cd3", 2): [7] * 6 + [14] * 6 + [21],
    # CAR DNA peak day: CD19 7 (7, 7), CD22 14 (14, 14); P = 0.001 with and without continuity
    # correction (R wilcox.test(cd19, cd22, correct = FALSE / TRUE)$p.value = 0.000546 / 0.000605).
    ("car_dna", 1): [4, 4] + [7] * 9 + [14, 14],
    ("car_dna", 2): [4] + [14] * 10 + [21, 21],
    # cytokine peak days: the integer-day vectors closest to the printed mean +/- SD (sample days
    # 4, 7, 14, 21). Printed vs attained (mean, SD):
    #   CD19 IL-6 6.61 +/- 2.53 -> 6.615 +/- 2.631 (86/13; 6.61 * 13 = 85.9 is not an integer sum)
    #   CD19 IL-2R 6.61 +/- 2.53 -> 6.615 +/- 2.631
    #   CD19 IL-8 5.15 +/- 1.46 -> 5.154 +/- 1.519 (only {4 x 8, 7 x 5} gives 5.15)
    #   CD19 TNF-a 6.85 +/- 2.41 -> 6.846 +/- 2.512 (only {4 x 3, 7 x 9, 14} gives 6.85)
    #   CD22 IL-6 11.08 +/- 3.93, IL-2R 11.85 +/- 3.36, IL-8 12.38 +/- 3.07, TNF-a 11.31 +/- 3.54: exact.
    ("il6", 1): [4] * 4 + [7] * 8 + [14],
    ("il2r", 1): [4] * 4 + [7] * 8 + [14],
    ("il8", 1): [4] * 8 + [7] * 5,
    ("tnfa", 1): [4] * 3 + [7] * 9 + [14],
    ("il6", 2): [4] + [7] * 4 + [14] * 8,
    ("il2r", 2): [7] * 4 + [14] * 9,
    ("il8", 2): [7] * 3 + [14] * 10,
    ("tnfa", 2): [7] * 5 + [14] * 8,
}
# Peak values. Sorted order statistics fixed by the printed median (IQR); the other values are
# synthetic (free within their neighbours) and tuned so that the exact Mann-Whitney P (no ties,
# SPSS "Exact Sig. [2*(1-tailed Sig.)]") equals the paper's: CAR-T % 0.920 (U = 82), CAR DNA
# 0.880 (U = 81).
PEAK_SORTED = {
    ("car_t_pct_cd3", 1): [1.12, 1.58, 2.03, 2.09, 2.18, 2.27, 2.36, 3.05, 3.88, 4.71, 5.77, 8.94, 14.6],
    ("car_t_pct_cd3", 2): [0.96, 1.47, 2.01, 2.07, 2.12, 2.19, 2.24, 3.6, 5.3, 8.12, 10.44, 13.8, 21.5],
    ("car_dna", 1): [410, 655, 880, 920, 1010, 1150, 1290, 1530, 1980, 2440, 2832, 4120, 7350],
    ("car_dna", 2): [380, 590, 940, 980, 1080, 1170, 1240, 1510, 1890, 2380, 2780, 3960, 6480],
}
FIXED_RANKS = {2, 3, 6, 9, 10}  # 0-based x3, x4, x7, x10, x11
TARGET_U = {"car_t_pct_cd3": 82, "car_dna": 81, "il6": 45, "il2r": 30, "il8": 48, "tnfa": 39}
# cytokine peak levels (synthetic log-normal; CD19 higher) tuned to the paper's exact Mann-Whitney
# P: IL-6 0.044 (U = 45), IL-2R 0.004 (U = 30), IL-8 0.064 (U = 48), TNF-a 0.019 (U = 39).
CYTOKINE = {  # code: (CD19 median, baseline, decimals)
    "il6": (160.0, 6.0, 1), "il2r": (3200.0, 650.0, 0), "il8": (95.0, 18.0, 1), "tnfa": (38.0, 8.0, 1),
}  # fmt: skip


def min_u(x: np.ndarray, y: np.ndarray) -> float:
    u = float((np.asarray(x)[:, None] > np.asarray(y)[None, :]).sum())
    u += 0.5 * float((np.asarray(x)[:, None] == np.asarray(y)[None, :]).sum())
    return min(u, len(x) * len(y) - u)


def tune_kinetic_peaks(code: str) -> tuple[list[float], list[float]]:
    """Move the free order statistics of the CD22 peaks (within their neighbours) until U hits."""
    x = np.array(PEAK_SORTED[(code, 1)], float)
    y = np.array(PEAK_SORTED[(code, 2)], float)
    decimals = 2 if code == "car_t_pct_cd3" else 0
    free = [i for i in range(13) if i not in FIXED_RANKS]
    rng = np.random.default_rng(7)
    while min_u(x, y) != TARGET_U[code] or np.unique(np.concatenate([x, y])).size < 26:  # no ties at all
        i = int(rng.choice(free))
        lo = y[i - 1] if i > 0 else y[0] * 0.5
        hi = y[i + 1] if i < 12 else y[12] * 1.3
        y[i] = round(float(rng.uniform(lo, hi)), decimals)
        y = np.sort(y)
    return x.tolist(), y.tolist()


def tune_cytokine_peaks(code: str) -> tuple[np.ndarray, np.ndarray]:
    med, _, dec = CYTOKINE[code]
    x = np.round(med * np.exp(np.sort(RNG.normal(0, 0.8, 13))), dec)
    assert np.unique(x).size == 13
    for _attempt in range(200):  # a fresh CD22 draw when the bisection jumps over the target U
        z2 = np.sort(RNG.normal(0, 0.8, 13))
        lo, hi = -5.0, 1.0  # log shift of CD22 relative to CD19; U (CD22 > CD19 pairs) grows with it
        for _ in range(60):
            mid = (lo + hi) / 2
            y = np.round(med * np.exp(z2 + mid), dec)
            u = float((y[:, None] > x[None, :]).sum())
            if u == TARGET_U[code] and np.unique(np.concatenate([x, y])).size == 26:  # no ties at all
                return x, y
            lo, hi = (mid, hi) if u < TARGET_U[code] else (lo, mid)
    raise RuntimeError(f"cannot tune {code}")


def curve(days: list[int], peak_day: int, peak: float, base: float, decimals: int, zero_day0: bool) -> list[float]:
    """A rise-peak-decay profile through the sample days with its unique maximum at peak_day."""
    out = []
    for d in days:
        if d == peak_day:
            v = peak
        elif d < peak_day:
            steps = sum(1 for s in days if d < s <= peak_day)
            v = base + (peak - base) * 0.42**steps
        else:
            v = base + (peak - base) * math.exp(-0.11 * (d - peak_day))
        if d == 0:
            v = 0.0 if zero_day0 else base
        v = round(v, decimals)
        unit = 10.0**-decimals
        if d != peak_day:
            v = min(v, round(peak - unit, decimals))
        out.append(max(v, 0.0))
    assert int(np.argmax(out)) == days.index(peak_day)
    return out


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------
def build_patients() -> pl.DataFrame:
    cols = ["patient_id", "age", "sex", "diagnosis", "subtype", "stage", "disease_status", "ipi",
            "marrow_blasts_pct", "prior_lines", "weight_kg"]  # fmt: skip
    rows = [dict(zip(cols, r, strict=True)) for r in TABLE1]
    return pl.DataFrame(rows, schema={c: t for c, t in zip(cols, [pl.String, pl.Int64, pl.String, pl.String,
        pl.String, pl.String, pl.String, pl.Int64, pl.Float64, pl.Int64, pl.Float64], strict=True)}, strict=False)  # fmt: skip  # fmt: skip


def build_infusions() -> pl.DataFrame:
    nums = product_numbers()
    rows = []
    for p in PATIENTS:
        for ep, (prod, tgt) in ((1, (CD19, "CD19")), (2, (CD22, "CD22"))):
            rows.append({"patient_id": p, "episode": ep, "product": prod, "target": tgt,
                         "infusion_date": infusion_date(p, ep), **nums[(p, ep)],
                         "lymphodepletion": LYMPHODEPLETION})  # fmt: skip
    return pl.DataFrame(rows)


def _count_series(analyte: str, pid: str, ep: int, grade: int, onset: int, resolution: int,
                  day14_floor: float | None) -> list[float]:  # fmt: skip
    """Counts on COUNT_DAYS for one worst CTCAE v4.03 grade.

    The AE period [onset, resolution) is the time below ``thr``: for grade >= 3 the grade-3 upper
    bound (Table 2's thresholds: ANC 1.0, Hb 80 g/L, PLT 50; WBC 2.0), for grade 1-2 the upper
    bound of that grade. The nadir (day 7) lies inside the worst grade's band; every other value
    is in a milder band, and values outside the period are >= thr (normal before day 4)."""
    lln = LLN[analyte][SEX[pid]] if analyte == "hemoglobin" else LLN[analyte]
    i = PATIENTS.index(pid) + 3 * ep  # per patient-episode spread of the baseline (synthetic)
    base = {"anc": 3.4, "wbc": 5.6, "platelets": 186.0}.get(analyte, lln / 0.9) * (0.9 + 0.035 * (i % 7))
    if grade == 0:
        lo_band = thr = lln
        nadir = lln * 1.08
    else:
        lo_band, hi_band = BANDS[analyte][grade]
        if analyte == "hemoglobin" and grade == 1:
            hi_band = lln
        thr = BANDS[analyte][3][1] if grade >= 3 else hi_band
        nadir = lo_band + (hi_band - lo_band) * (0.45 if lo_band > 0 else 0.55)
        if analyte == "hemoglobin" and grade == 3:
            nadir = 66.0  # transfusion threshold territory rather than the band's midpoint
    dec = 2 if analyte in ("anc", "wbc") else 0
    vals = []
    for d in COUNT_DAYS:
        if d == -5:
            v = base
        elif d == 0:
            v = base * 0.92
        elif d == 4:
            v = max(thr * 1.05, min(base * 0.97, max(thr * 1.25, base * 0.7)))
        elif grade > 0 and onset <= d < resolution:
            frac = {5: 0.6, 7: 0.0, 10: 0.35, 14: 0.75}[d]
            v = nadir + (thr - nadir) * frac
        elif d < 7:  # before onset
            v = max(thr * 1.04, min(base * 0.95, max(thr * 1.12, base * 0.62)))
        elif grade == 0 and d == 7:
            v = nadir
        else:  # recovered: rising towards (not above) the baseline
            rec = {7: 1.04, 10: 1.08, 14: 1.18, 16: 1.3, 21: 1.55, 28: 1.75}[d]
            v = max(min(thr * rec if grade > 0 else nadir * rec, base), thr * 1.02)
            if day14_floor is not None and d >= 14:  # CR on day 14 needs recovered counts
                v = max(v, day14_floor + (d - 14) * 0.02 * day14_floor)
        vals.append(round(v, dec))
    if grade > 0:  # the worst grade is attained on day 7 and nowhere worse; >= thr outside the period
        i7 = COUNT_DAYS.index(7)
        assert lo_band <= vals[i7] < hi_band, (analyte, pid, ep, vals)
        assert min(vals) >= lo_band
        outside = [v for d, v in zip(COUNT_DAYS, vals, strict=True) if not onset <= d < resolution]
        inside = [v for d, v in zip(COUNT_DAYS, vals, strict=True) if onset <= d < resolution]
        assert min(outside) >= thr and max(inside) < thr, (analyte, pid, ep, vals)
    return vals


def haem_pattern(pid: str, ep: int) -> tuple[int, int]:
    """Onset day 5 or 7 and resolution day 14 or 16 (Results: 'occurred from 5 to 7 days ... and
    recovered 14-16 days after'), alternating by patient so both occur."""
    k = PATIENTS.index(pid) + ep
    return (5 if k % 2 else 7), (16 if k % 3 == 0 else 14)


# day-14 recovery required by a CR on day 14 (ANC >= 1.0, platelets >= 100; docs/criteria.md, "Response: B-ALL")
CR_DAY14 = {(p, ep) for ep, d in BALL_RESPONSE.items() for p, r in d.items() if r == "CR"}
# CRi: P11 (both episodes) keeps ANC < 1.0 on day 14 (resolution day 16); P12 CD22 keeps
# platelets < 100 on day 14.
CRI_PATTERN = {("P11", 1): ("anc", 16), ("P11", 2): ("anc", 16), ("P12", 2): ("platelets", 14)}


def build_counts() -> tuple[list[dict], list[dict]]:
    """Blood-count measurements and the matching haematological AE rows."""
    meas, aes = [], []
    for ep in (1, 2):
        for p in PATIENTS:
            onset, res = haem_pattern(p, ep)
            series = {}
            for analyte in ("anc", "wbc", "platelets", "hemoglobin"):
                g = HAEM[analyte][ep][p]
                r = res
                floor = None
                if (p, ep) in CRI_PATTERN and CRI_PATTERN[(p, ep)][0] == analyte:
                    r = CRI_PATTERN[(p, ep)][1]
                if (p, ep) in CR_DAY14 and analyte in ("anc", "platelets"):
                    r, floor = 14, {"anc": 1.2, "platelets": 112.0}[analyte]
                if analyte == "wbc" and "anc" in series:
                    r = series["anc"][1]
                s = _count_series(analyte, p, ep, g, onset, r, floor)
                if analyte == "wbc":  # WBC >= ANC + 0.2 on every day
                    anc = series["anc"][0]
                    s = [max(w, round(a + 0.2, 2)) if not (g > 0 and onset <= d < r) else w
                         for w, a, d in zip(s, anc, COUNT_DAYS, strict=True)]  # fmt: skip
                    assert all(w > a for w, a in zip(s, anc, strict=True)), (p, ep, s, anc)
                series[analyte] = (s, r)
                unit = "g/L" if analyte == "hemoglobin" else "10^9/L"
                lln = LLN[analyte][SEX[p]] if analyte == "hemoglobin" else LLN[analyte]
                for d, v in zip(COUNT_DAYS, s, strict=True):
                    meas.append({"patient_id": p, "episode": ep, "day": d, "analyte": analyte, "value": v,
                                 "unit": unit, "lln": lln})  # fmt: skip
                if g > 0:
                    aes.append({"patient_id": p, "episode": ep, "term": HAEM_TERM[analyte], "grade": g,
                                "grading_system": "ctcae4.03", "onset_day": onset, "resolution_day": r})  # fmt: skip
    return meas, aes


def build_kinetics() -> list[dict]:
    rows = []
    for code in ("car_t_pct_cd3", "car_dna"):
        x, y = tune_kinetic_peaks(code)
        for ep, vals in ((1, x), (2, y)):
            days = PEAK_DAY[(code, ep)]
            # pair the peak values and peak days by a seeded shuffle of patients
            order = RNG.permutation(13)
            for k, i in enumerate(order):
                p = PATIENTS[i]
                dec = 2 if code == "car_t_pct_cd3" else 0
                base = 0.02 if code == "car_t_pct_cd3" else 5.0
                c = curve(KINETIC_DAYS, days[k], vals[k], base, dec, zero_day0=True)
                unit = "%" if code == "car_t_pct_cd3" else "copies/ug"
                rows += [{"patient_id": p, "episode": ep, "day": d, "analyte": code, "value": v, "unit": unit}
                         for d, v in zip(KINETIC_DAYS, c, strict=True)]  # fmt: skip
    for code, (_, base, dec) in CYTOKINE.items():
        x, y = tune_cytokine_peaks(code)
        for ep, vals in ((1, x), (2, y)):
            # higher CRS grade -> higher peak (ties: patient order)
            ranked = sorted(PATIENTS, key=lambda p, ep=ep: (CRS[ep].get(p, 0), -PATIENTS.index(p)))
            days = list(PEAK_DAY[(code, ep)])
            RNG.shuffle(days)
            for p, v, pd in zip(ranked, np.sort(vals), days, strict=True):
                b = round(min(base, float(v) * 0.3), dec)
                c = curve(KINETIC_DAYS, int(pd), float(v), b, dec, zero_day0=False)
                unit = "U/mL" if code == "il2r" else "pg/mL"
                rows += [{"patient_id": p, "episode": ep, "day": d, "analyte": code, "value": val, "unit": unit}
                         for d, val in zip(KINETIC_DAYS, c, strict=True)]  # fmt: skip
    return rows


def fever_days(pid: str, ep: int) -> list[int]:
    g = FEVER[ep].get(pid, 0)
    if not g:
        return []
    start = 1 + PATIENTS.index(pid) % 3
    return list(range(start, start + 1 + g + (1 if ep == 1 else 0)))


def build_temperature() -> tuple[list[dict], list[dict]]:
    rows, aes = [], []
    peak_t = {1: 38.6, 2: 39.6, 3: 40.3}  # inside the CTCAE v4.03 fever band of each grade
    for ep in (1, 2):
        for p in PATIENTS:
            fd = fever_days(p, ep)
            g = FEVER[ep].get(p, 0)
            for d in range(0, 15):
                if d in fd:
                    t = peak_t[g] if d == fd[len(fd) // 2] else 38.2 + 0.1 * (d % 3)
                else:
                    t = 36.6 + 0.1 * ((d + PATIENTS.index(p)) % 8)  # 36.6-37.3 C
                rows.append({"patient_id": p, "episode": ep, "day": d, "analyte": "temperature",
                             "value": round(t, 1), "unit": "C"})  # fmt: skip
            if g:
                aes.append({"patient_id": p, "episode": ep, "term": "fever", "grade": g,
                            "grading_system": "ctcae4.03", "onset_day": fd[0], "resolution_day": fd[-1] + 1})  # fmt: skip
    return rows, aes


def build_baseline_chemistry() -> list[dict]:
    rows = []
    for ep in (1, 2):
        for i, p in enumerate(PATIENTS):
            ball = DIAG[p] == "B-ALL"
            vals = {  # day -5 (before lymphodepletion); synthetic, typical R/R values
                "crp": (8.0 + 3.5 * (i % 5), "mg/L"),
                "ferritin": (420.0 + 95.0 * (i % 7) + (300.0 if ball else 0.0), "ng/mL"),
                "ldh": (230.0 + 40.0 * (i % 6) + (150.0 if ball else 60.0), "U/L"),
                "creatinine": (58.0 + 4.0 * (i % 6), "umol/L"),
            }
            rows += [{"patient_id": p, "episode": ep, "day": -5, "analyte": a, "value": v, "unit": u}
                     for a, (v, u) in vals.items()]  # fmt: skip
    return rows


# supportive-care days and the vital signs that go with hypoxia / hypotension (synthetic)
HYPOXIA_O2 = {("P4", 1): ("nasal_cannula", 2.0, [5, 6]), ("P9", 1): ("nasal_cannula", 4.0, [5, 6, 7]),
              ("P12", 1): ("facemask", 8.0, [4, 5, 6, 7])}  # fmt: skip
PRESSOR = {("P9", 1): (0.05, [5, 6]), ("P12", 1): (0.1, [5, 6, 7])}  # norepinephrine ug/kg/min


def build_vitals() -> list[dict]:
    rows = []
    for (p, ep), (_, _, days) in HYPOXIA_O2.items():
        rows += [{"patient_id": p, "episode": ep, "day": d, "analyte": "spo2", "value": 88.0 - (k % 2), "unit": "%"}
                 for k, d in enumerate(days)]  # fmt: skip
    for (p, ep), (_, days) in PRESSOR.items():
        rows += [{"patient_id": p, "episode": ep, "day": d, "analyte": "sbp", "value": 84.0 + 2 * k, "unit": "mmHg"}
                 for k, d in enumerate(days)]  # fmt: skip
    return rows


def crs_window(pid: str, ep: int) -> tuple[int, int]:
    g = CRS[ep].get(pid, 0)
    start = 1 + PATIENTS.index(pid) % 3
    return start, start + 2 + 2 * g


def build_support() -> list[dict]:
    rows = []

    def add(p, ep, d, kind, agent, dose=None, dose_unit=None, device=None, flow=None):
        rows.append({"patient_id": p, "episode": ep, "day": d, "kind": kind, "agent": agent, "dose": dose,
                     "dose_unit": dose_unit, "o2_device": device, "o2_flow_l_min": flow})  # fmt: skip

    for ep in (1, 2):
        for p in PATIENTS:
            for d in fever_days(p, ep):  # Results: antipyretic drugs
                add(p, ep, d, "antipyretic", "acetaminophen", 500.0, "mg")
            g = CRS[ep].get(p, 0)
            if g:  # Results: methylprednisolone; 1-2 mg/kg/day scaled with the CRS grade
                s, e = crs_window(p, ep)
                mg = {1: 40.0, 2: 40.0, 3: 80.0, 4: 120.0}[g]
                for d in range(s + 1, min(e, s + 1 + g)):
                    add(p, ep, d, "steroid", "methylprednisolone", mg, "mg")
            if p == "P12":  # Results: only patient 12 received tocilizumab, in both therapies
                s, _ = crs_window(p, ep)
                add(p, ep, s + 2, "tocilizumab", "tocilizumab", round(8.0 * WEIGHT[p]), "mg")
            if (p, ep) in HYPOXIA_O2:
                dev, flow, days = HYPOXIA_O2[(p, ep)]
                for d in days:
                    add(p, ep, d, "oxygen", "oxygen", device=dev, flow=flow)
            if (p, ep) in PRESSOR:
                dose, days = PRESSOR[(p, ep)]
                for d in days:
                    add(p, ep, d, "vasopressor", "norepinephrine", dose, "ug/kg/min")
    return rows


def build_neuro() -> list[dict]:
    rows = []
    special = {  # ASTCT 2019: ICE 7-9 (or awakens spontaneously) grade 1; ICE 3-6 or awakens to voice grade 2
        ("P9", 1): {5: (8, "awakens_spontaneously"), 6: (9, "normal")},
        ("P12", 1): {4: (8, "normal"), 5: (5, "awakens_to_voice"), 6: (6, "normal"), 8: (9, "normal")},
    }
    for ep in (1, 2):
        for p in PATIENTS:
            days = {1: (10, "normal"), 4: (10, "normal"), 7: (10, "normal"), 10: (10, "normal")}
            days.update(special.get((p, ep), {}))
            for d in sorted(days):
                ice, con = days[d]
                rows.append({"patient_id": p, "episode": ep, "day": d, "ice_score": ice, "consciousness": con,
                             "seizure": "none", "motor": "none", "raised_icp": "none"})  # fmt: skip
    return rows


def build_other_aes() -> list[dict]:
    rows = []
    for ep in (1, 2):
        for p, g in CRS[ep].items():
            s, e = crs_window(p, ep)
            rows.append({"patient_id": p, "episode": ep, "term": "cytokine release syndrome", "grade": g,
                         "grading_system": "ctcae4.03", "onset_day": s, "resolution_day": e})  # fmt: skip
        for p, g in ICANS[ep].items():
            rows.append({"patient_id": p, "episode": ep, "term": "icans", "grade": g,
                         "grading_system": "astct2019", "onset_day": 5, "resolution_day": 7 if g == 1 else 10})  # fmt: skip
        for term, by_ep in TERMS_BY_PATIENT.items():
            for k, p in enumerate(by_ep[ep]):
                g = FIXED_GRADE.get((term, ep, p), 2 if p in _SEVERE[ep] else 1)
                onset = 1 + (PATIENTS.index(p) + k) % 5  # "AEs ... in the first 2 weeks"
                rows.append({"patient_id": p, "episode": ep, "term": term, "grade": g,
                             "grading_system": "ctcae4.03", "onset_day": onset,
                             "resolution_day": min(onset + 3 + (k % 6), 16)})  # fmt: skip
    return rows


def build_assessments(counts: list[dict]) -> list[dict]:
    day14 = {(r["patient_id"], r["episode"], r["analyte"]): r["value"] for r in counts if r["day"] == 14}
    rows = []
    blank = {"response": None, "deauville": None, "uptake_vs_baseline": None, "new_lesions": None,
             "marrow_blasts_pct": None, "circulating_blasts": None, "extramedullary": None, "anc": None,
             "platelets": None, "cd19_pct": None, "cd22_pct": None}  # fmt: skip
    for ep in (1, 2):
        for i, p in enumerate(DLBCL):
            rows.append({**blank, "patient_id": p, "episode": ep, "day": -7, "method": "pet_ct", "deauville": 5})
            for d, resp in zip((30, 60), DLBCL_RESPONSE[ep][p], strict=True):
                dv, upt, new = PET[resp]
                if resp == "CR":
                    dv = 2 if (i + d) % 2 else 3
                if resp == "PD":
                    new = i % 2 == 0  # increased uptake in all; new lesions in some
                rows.append({**blank, "patient_id": p, "episode": ep, "day": d, "method": "pet_ct",
                             "response": resp, "deauville": dv, "uptake_vs_baseline": upt, "new_lesions": new})  # fmt: skip
        for i, p in enumerate(BALL):
            # before infusion (day -7): Figure 1 - high CD19 before CD19 CAR-T; normal/low CD19 and
            # high CD22 before CD22 CAR-T. Episode-1 blasts are Table 1's (published).
            blasts = TABLE1[PATIENTS.index(p)][8] if ep == 1 else 22.0 + 7.5 * i
            cd19 = 96.5 + 0.5 * i if ep == 1 else 18.0 + 6.0 * i
            cd22 = 72.0 + 3.0 * i if ep == 1 else 93.0 + 1.0 * i
            rows.append({**blank, "patient_id": p, "episode": ep, "day": -7, "method": "marrow",
                         "marrow_blasts_pct": blasts, "cd19_pct": cd19, "cd22_pct": cd22})  # fmt: skip
            resp = BALL_RESPONSE[ep][p]
            anc, plt = day14[(p, ep, "anc")], day14[(p, ep, "platelets")]
            if resp == "CR":
                assert anc >= 1.0 and plt >= 100, (p, ep, anc, plt)
            if resp == "CRi":
                assert anc < 1.0 or plt < 100, (p, ep, anc, plt)
            rows.append({**blank, "patient_id": p, "episode": ep, "day": 14, "method": "marrow", "response": resp,
                         "marrow_blasts_pct": 1.5 + 0.5 * i if resp != "NR" else 28.0 + 9.0 * i,
                         "circulating_blasts": resp == "NR", "extramedullary": False, "anc": anc, "platelets": plt})  # fmt: skip
            if ep == 1 and p in RELAPSE_DAY:  # relapse with CD19-dim blasts (Figure 1, Discussion)
                rows.append({**blank, "patient_id": p, "episode": 1, "day": RELAPSE_DAY[p], "method": "marrow",
                             "response": "relapse", "marrow_blasts_pct": 12.0 + 6.0 * i,
                             "circulating_blasts": True, "extramedullary": False,
                             "cd19_pct": 20.0 + 5.0 * i, "cd22_pct": 94.0})  # fmt: skip
    return rows


def build_events() -> list[dict]:
    ev = []

    def add(p, kind, ep, day, detail=None):
        ev.append({"patient_id": p, "kind": kind, "episode": ep, "day": day,
                   "date": infusion_date(p, ep) + dt.timedelta(days=day), "detail": detail})  # fmt: skip

    # after CD19 (synthetic days; published: who progressed / relapsed)
    for p, d in {"P1": 98, "P2": 120, "P3": 105, "P5": 134}.items():  # SD, later progression
        add(p, "progression", 1, d, "progression after SD")
    for p in ("P4", "P6", "P7"):
        add(p, "progression", 1, 30, "PD at first assessment")
    for p in ("P8", "P10", "P13"):
        add(p, "progression", 1, 14, "no remission (refractory) at day 14")
    for p, d in RELAPSE_DAY.items():
        add(p, "relapse", 1, d, "CD19-dim relapse")
    # after CD22 (derived: see the survival design at the top)
    for p, (prog, death) in {"P6": (60, 90), "P7": (90, 143), "P8": (14, 45), "P9": (21, 62),
                             "P10": (35, 81), "P13": (70, 110)}.items():  # fmt: skip
        add(p, "progression", 2, prog, "no remission at day 14" if DIAG[p] == "B-ALL" and prog == 14 else None)
        add(p, "death", 2, death, "disease progression")
    add("P2", "hsct", 2, 75, "allogeneic")
    add("P12", "hsct", 2, 60, "allogeneic")
    for p in ("P1", "P2", "P3", "P4", "P5", "P11", "P12"):
        add(p, "last_contact", 2, (CUTOFF - infusion_date(p, 2)).days)
    for e in ev:
        assert e["date"] <= CUTOFF, e
    return ev


STUDY_TOML = """\
[study]
id = "zhu2021-cd22-salvage"
title = "Anti-CD22 CAR-T as salvage after anti-CD19 CAR-T failure in R/R DLBCL and B-ALL"
reference = "Zhu H, Deng H, Mu J, Lyu C, Jiang Y, Deng Q. OncoTargets and Therapy 2021 (seed paper)"
data_cutoff = 2020-08-31
description = \"\"\"13 patients (7 R/R DLBCL, 6 R/R B-ALL) who failed anti-CD19 CAR-T and received anti-CD22 \
CAR-T as salvage (Tianjin First Central Hospital; ChiCTR-ONN-16009862 and ChiCTR1800019298). Table 1, \
Table 2 and the reported responses are the paper's; serial measurements, dates and event times are \
synthetic, chosen so that the paper's summaries come out (see PROVENANCE.md; regenerate with \
scripts/make_seed_study.py).\"\"\"

[plan]
products = ["CD19 CAR-T", "CD22 CAR-T"]
diseases = ["DLBCL", "B-ALL"]
# The paper's own conventions, stated here because new studies default to ASTCT 2019, CTCAE v5.0,
# R's quantiles (type 7) and R's continuity correction (docs/plan.md): its Methods grade CRS with
# CTCAE v4.03 and compute in SPSS 17.
crs_system = "ctcae4.03"
icans_system = "astct2019"
ctcae_version = "4.03"
alpha = 0.05
quantile_method = "spss"
kinetic_analytes = ["car_t_pct_cd3", "car_dna", "il6", "il2r", "il8", "tnfa"]
kinetics_window = [0, 28]
# SPSS (which the seed used) reports asymptotic Mann-Whitney/Wilcoxon P-values without R's
# continuity correction: the published peak-day P = 0.022 and 0.001 come out only without it.
rank_correction = false
# The paper's unpaired analysis is the primary one here, as published (every reproduced number stays);
# cartkit's recommended analysis (paired exact tests, effect sizes with CIs, Holm-adjusted P) is shown
# beside it (docs/plan.md "Two analyses").
analysis = "as_published"
# Table 2's rows in the paper's order, including terms nobody had (encephalopathy, aphasia).
ae_table_terms = [
    "fever", "chills", "fatigue", "headache", "muscle weakness",
    "neutrophil count decreased", "anemia", "platelet count decreased",
    "hypoxia", "dyspnea", "cough", "pleural effusion",
    "nausea", "vomiting", "anorexia",
    "aminotransferase increased", "blood bilirubin increased",
    "creatinine increased", "oliguria",
    "sinus tachycardia", "arrhythmia", "hypotension",
    "disseminated intravascular coagulation",
    "encephalopathy", "confusion", "dizziness", "aphasia", "somnolence",
]

# The published comparison: the same 13 patients' CD19 and CD22 episodes. "auto" runs the paired
# tests beside the paper's unpaired ones, because every patient received both products.
[[plan.comparison]]
by = "product"
groups = ["CD19 CAR-T", "CD22 CAR-T"]
paired = "auto"

[plan.response_days]
lymphoma = [30, 60]
all = [14]

[plan.survival]
from_product = "CD22 CAR-T"
endpoints = ["pfs", "os"]
group_by = "diagnosis"
censor_at_hsct = true
landmark_day = 180
time_unit = "months"
"""


def _with_dates(rows: list[dict]) -> pl.DataFrame:
    df = pl.DataFrame(rows, infer_schema_length=None)
    inf = pl.DataFrame(
        [{"patient_id": p, "episode": e, "_d0": infusion_date(p, e)} for p in PATIENTS for e in (1, 2)]
    )
    df = df.join(inf, on=["patient_id", "episode"], how="left")
    df = df.with_columns((pl.col("_d0") + pl.duration(days=pl.col("day"))).cast(pl.Date).alias("date")).drop("_d0")
    cols = df.columns
    cols.remove("date")
    cols.insert(cols.index("day") + 1, "date")
    return df.select(cols)


def main(out: Path = OUT) -> None:
    global RNG
    RNG = np.random.default_rng(SEED)
    out.mkdir(parents=True, exist_ok=True)
    counts, haem_aes = build_counts()
    temps, fever_aes = build_temperature()
    meas = build_kinetics() + counts + temps + build_baseline_chemistry() + build_vitals()
    measurements = _with_dates(meas).sort(["patient_id", "episode", "analyte", "day"], maintain_order=True)
    order = {p: i for i, p in enumerate(PATIENTS)}

    def psort(df: pl.DataFrame, *by: str) -> pl.DataFrame:
        return df.with_columns(pl.col("patient_id").replace_strict(order).alias("_o")).sort(["_o", *by]).drop("_o")

    tables = {
        "patients": build_patients(),
        "infusions": build_infusions(),
        "measurements": psort(measurements, "episode", "analyte", "day"),
        "support": psort(_with_dates(build_support()), "episode", "day", "kind"),
        "neuro": psort(_with_dates(build_neuro()), "episode", "day"),
        "assessments": psort(_with_dates(build_assessments(counts)), "episode", "day", "method"),
        "adverse_events": psort(pl.DataFrame(haem_aes + fever_aes + build_other_aes()), "episode", "term"),
        "events": psort(pl.DataFrame(build_events()), "date", "kind"),
    }
    from cartkit.study.schema import TABLES

    for name, df in tables.items():
        spec = TABLES[name].column_names
        unknown = set(df.columns) - set(spec)
        assert not unknown, (name, unknown)
        df = df.select([c for c in spec if c in df.columns])  # schema column order
        df.write_csv(out / f"{name}.csv", float_precision=None)
    (out / "study.toml").write_text(STUDY_TOML)
    print(f"wrote {len(tables)} tables to {out}")


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
