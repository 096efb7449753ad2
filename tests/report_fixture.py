"""Hand-made ``Results`` shaped like the seed study, for the report tests.

The numbers are not computed by cartkit: they are typed in (seed Table 1 and Table 2
counts, the seed's responses and p-values) or generated from a fixed seed so that the
report has realistic shapes to draw (13 patients P1-P13, DLBCL 7 / B-ALL 6, products
"CD19 CAR-T" then "CD22 CAR-T", kinetics on days 0, 4, 7, 14, 21, 28).
"""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import polars as pl

from cartkit.analysis.results import Results

PRODUCTS = ("CD19 CAR-T", "CD22 CAR-T")
DISEASES = ("DLBCL", "B-ALL")
DAYS = (0, 4, 7, 14, 21, 28)
PATIENTS = [f"P{i}" for i in range(1, 14)]
DIAGNOSIS = {p: ("DLBCL" if i < 7 else "B-ALL") for i, p in enumerate(PATIENTS)}

# seed Results text: CD19 -> DLBCL P1-3,5 SD, P4,6,7 PD; B-ALL P9,11,12 CR/CRi, P8,10,13 NR
BEST_CD19 = dict(zip(PATIENTS, ["SD", "SD", "SD", "PD", "SD", "PD", "PD",
                                "NR", "CR", "NR", "CRi", "CR", "NR"], strict=True))
# CD22 -> DLBCL P1-4 CR, P5,7 PR, P6 SD; B-ALL P11,12 CRi, others NR
BEST_CD22 = dict(zip(PATIENTS, ["CR", "CR", "CR", "CR", "PR", "SD", "PR",
                                "NR", "NR", "NR", "CRi", "CRi", "NR"], strict=True))
# days from the first (CD19) infusion to the CD22 infusion
CD22_DAY = dict(zip(PATIENTS, [96, 120, 84, 70, 150, 66, 75, 60, 118, 55, 210, 58, 49], strict=True))
# CD22 -> last follow-up (days after CD22 infusion) and whether the patient died / progressed
OS_DAYS = dict(zip(PATIENTS, [720, 690, 655, 240, 610, 150, 560, 95, 130, 70, 400, 560, 88], strict=True))
DIED = dict(zip(PATIENTS, [0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1], strict=True))
PFS_DAYS = dict(zip(PATIENTS, [720, 690, 655, 180, 420, 60, 560, 40, 45, 30, 230, 560, 35], strict=True))
PROGRESSED = dict(zip(PATIENTS, [0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1], strict=True))
HSCT_DAY = {"P2": 95, "P12": 80}  # after CD22 infusion (seed: Pt 2 and Pt 12 had allo-HSCT)
AT_RISK_TICKS = (0, 180, 360, 540, 720)


def _km(times: np.ndarray, events: np.ndarray) -> list[dict]:
    """Product-limit estimate with Greenwood log CI (only to give the fixture a real shape)."""
    rows = [{"time": 0.0, "n_risk": len(times), "n_event": 0, "n_censor": 0,
             "survival": 1.0, "lower": 1.0, "upper": 1.0}]
    s, gw = 1.0, 0.0
    for t in np.unique(times):
        n = int((times >= t).sum())
        d = int(((times == t) & (events == 1)).sum())
        c = int(((times == t) & (events == 0)).sum())
        if d:
            s *= 1 - d / n
            gw += d / (n * (n - d)) if n > d else 0.0
        se = np.sqrt(gw)
        lo, hi = (s * np.exp(-1.96 * se), min(1.0, s * np.exp(1.96 * se))) if s > 0 else (None, None)
        rows.append({"time": float(t), "n_risk": n, "n_event": d, "n_censor": c,
                     "survival": s, "lower": lo, "upper": hi})
    return rows


def _survival_tables() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    curves, at_risk, logrank = [], [], []
    pvals = {("PFS", "censor at HSCT"): (3.60, 0.0577), ("OS", "censor at HSCT"): (3.59, 0.0581),
             ("PFS", "HSCT not censored"): (4.02, 0.0449), ("OS", "HSCT not censored"): (3.91, 0.0480)}
    for endpoint, days, flag in (("PFS", PFS_DAYS, PROGRESSED), ("OS", OS_DAYS, DIED)):
        for censoring in ("censor at HSCT", "HSCT not censored"):
            landmark = {}
            for g in DISEASES:
                pts = [p for p in PATIENTS if DIAGNOSIS[p] == g]
                t = np.array([min(days[p], HSCT_DAY[p]) if censoring == "censor at HSCT" and p in HSCT_DAY
                              else days[p] for p in pts], dtype=float)
                e = np.array([0 if censoring == "censor at HSCT" and p in HSCT_DAY and HSCT_DAY[p] < days[p]
                              else flag[p] for p in pts])
                for row in _km(t, e):
                    curves.append({"endpoint": endpoint, "censoring": censoring, "group": g, **row})
                for tick in AT_RISK_TICKS:
                    at_risk.append({"endpoint": endpoint, "censoring": censoring, "group": g,
                                    "time": float(tick), "n_risk": int((t >= tick).sum())})
                km = [r for r in _km(t, e) if r["time"] <= 180]
                landmark[f"landmark_{g}"] = km[-1]["survival"]
            stat, p = pvals[(endpoint, censoring)]
            logrank.append({"endpoint": endpoint, "censoring": censoring, "statistic": stat, "df": 1,
                            "pvalue": p, "landmark_day": 180, **landmark})
    return pl.DataFrame(curves), pl.DataFrame(at_risk), pl.DataFrame(logrank)


def _kinetics() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(20201231)
    # analyte -> (median peak, CD19 peak day, CD22 peak day, baseline)
    shape = {"car_t_pct_cd3": (2.3, 7, 14, 0.0), "car_dna": (1290.0, 7, 14, 0.0),
             "il6": (60.0, 7, 14, 4.0), "il2r": (1800.0, 7, 14, 500.0),
             "il8": (45.0, 4, 14, 8.0), "tnfa": (25.0, 7, 14, 6.0)}
    days = np.array(DAYS, dtype=float)
    rows = []
    for pi, p in enumerate(PATIENTS):
        for ep, product in enumerate(PRODUCTS, start=1):
            for analyte, (peak, d19, d22, base) in shape.items():
                pday = d19 if ep == 1 else d22
                pday = DAYS[min(max(DAYS.index(pday) + int(rng.integers(-1, 2)) * (pi % 3 == 0), 1), 5)]
                height = peak * rng.lognormal(0.0, 0.8) * (0.6 if ep == 2 and analyte not in
                                                           ("car_t_pct_cd3", "car_dna") else 1.0)
                curve = base + height * np.exp(-((days - pday) ** 2) / (2 * 4.0**2))
                curve[0] = base
                for d, v in zip(DAYS, curve, strict=True):
                    rows.append({"patient_id": p, "episode": ep, "product": product,
                                 "diagnosis": DIAGNOSIS[p], "analyte": analyte, "day": d,
                                 "value": float(round(v, 3))})
    values = pl.DataFrame(rows)
    curves = (
        values.group_by("product", "analyte", "day")
        .agg(n=pl.len(), median=pl.col("value").median(), q1=pl.col("value").quantile(0.25, "linear"),
             q3=pl.col("value").quantile(0.75, "linear"), mean=pl.col("value").mean(),
             sd=pl.col("value").std())
        .sort("product", "analyte", "day")
    )
    params = (
        values.sort("day")
        .group_by("patient_id", "episode", "product", "diagnosis", "analyte")
        .agg(cmax=pl.col("value").max(), tmax=pl.col("day").get(pl.col("value").arg_max()).cast(pl.Float64),
             auc_partial=pl.col("value").sum() * 5.0)
        .with_columns(half_life=pl.lit(None, dtype=pl.Float64))
        .sort("patient_id", "episode", "analyte")
    )
    return curves, values, params


def _comparisons() -> pl.DataFrame:
    # measure, unit, family, pvalue, paired p, published p (seed Results)
    spec = [
        ("kinetics", "CAR-T % peak", "%", 0.903, 0.917, 0.920),
        ("kinetics", "CAR-T % peak day", "day", 0.021, 0.018, 0.022),
        ("kinetics", "CAR DNA peak", "copies/ug", 0.871, 0.893, 0.880),
        ("kinetics", "CAR DNA peak day", "day", 0.0012, 0.0009, 0.001),
        ("cytokine", "IL-6 peak", "pg/mL", 0.047, 0.040, 0.044),
        ("cytokine", "IL-6 peak day", "day", 0.0049, 0.0031, 0.005),
        ("cytokine", "IL-2R peak", "U/mL", 0.0041, 0.0022, 0.004),
        ("cytokine", "IL-2R peak day", "day", 0.00031, 0.0002, 0.000),
        ("cytokine", "IL-8 peak", "pg/mL", 0.066, 0.071, 0.064),
        ("cytokine", "IL-8 peak day", "day", 0.241, 0.250, 0.239),
        ("cytokine", "TNF-alpha peak", "pg/mL", 0.019, 0.013, 0.019),
        ("cytokine", "TNF-alpha peak day", "day", 0.0043, 0.0030, 0.004),
        ("toxicity", "CRS grade", "grade", 0.343, 0.290, 0.341),
    ]
    rows = []
    for family, measure, unit, p, pp, pub in spec:
        is_day = unit == "day"
        rows.append({
            "family": family, "measure": measure, "unit": unit,
            "summary_a": "7 (7, 7)" if is_day else "2.36 (2.06, 5.24)",
            "summary_b": "14 (7, 14)" if is_day else "2.24 (2.04, 9.28)",
            "group_a": PRODUCTS[0], "group_b": PRODUCTS[1], "n_a": 13, "n_b": 13,
            "method": "Wilcoxon rank-sum (exact)", "statistic": 60.5, "pvalue": p,
            "why": "Shapiro-Wilk P < 0.05 in at least one product: rank test (seed Methods)",
            "paired_method": "Wilcoxon signed-rank (exact)", "paired_pvalue": pp, "published_p": pub,
        })
    return pl.DataFrame(rows)


def _table1() -> pl.DataFrame:
    rows = []

    def add(char, level, stat, values):
        for group, (value, n) in values.items():
            rows.append({"characteristic": char, "level": level, "group": group, "value": value,
                         "n": n, "stat": stat})

    add("Age, years", None, "median_iqr", {"DLBCL": ("56 (28, 69)", 7), "B-ALL": ("39.5 (29.5, 55.75)", 6),
                                           "All": ("55 (29.5, 58.5)", 13)})
    add("Sex", "Male", "n_pct", {"DLBCL": ("5 (71.4)", 5), "B-ALL": ("3 (50.0)", 3), "All": ("8 (61.5)", 8)})
    add("Sex", "Female", "n_pct", {"DLBCL": ("2 (28.6)", 2), "B-ALL": ("3 (50.0)", 3), "All": ("5 (38.5)", 5)})
    add("Disease status", "Refractory", "n_pct", {"DLBCL": ("7 (100.0)", 7), "B-ALL": ("2 (33.3)", 2),
                                                  "All": ("9 (69.2)", 9)})
    add("Disease status", "Relapsed", "n_pct", {"DLBCL": ("0 (0.0)", 0), "B-ALL": ("4 (66.7)", 4),
                                                "All": ("4 (30.8)", 4)})
    add("Prior therapies", None, "median_iqr", {"DLBCL": ("8 (7, 12)", 7), "B-ALL": ("7 (3.75, 8.5)", 6),
                                                "All": ("8 (6, 11)", 13)})
    add("IPI", None, "median_iqr", {"DLBCL": ("3 (3, 3)", 7)})
    add("Marrow blasts, %", None, "mean_sd", {"B-ALL": ("56.4 \u00b1 16.6", 6)})
    return pl.DataFrame(rows, schema_overrides={"level": pl.String})


# seed Table 2: label -> section, term, counts (CD19 DLBCL, CD19 ALL, CD22 DLBCL, CD22 ALL)
TABLE2_SEED = [
    ("General condition", "fever", "Temperature >= 38 C (fever)", (7, 6, 1, 4)),
    ("General condition", "chills", "Chills", (2, 4, 0, 1)),
    ("General condition", "fatigue", "Fatigue", (4, 5, 3, 4)),
    ("Hematological", "neutrophil count decreased", "Neutropenia (grade 3/4)", (3, 6, 1, 2)),
    ("Hematological", "anemia", "Anemia (grade 3/4)", (2, 5, 1, 3)),
    ("Hematological", "platelet count decreased", "Thrombocytopenia (grade 3/4)", (2, 6, 1, 5)),
    ("Respiratory", "hypoxia", "Hypoxia (SaO2 < 90%)", (1, 2, 0, 0)),
    ("CRS", "grade 0", "Grade 0 CRS", (5, 0, 4, 0)),
    ("CRS", "grade 1", "Grade 1 CRS", (1, 0, 2, 3)),
    ("CRS", "grade 2", "Grade 2 CRS", (1, 2, 1, 2)),
    ("CRS", "grade 3", "Grade 3 CRS", (0, 2, 0, 1)),
    ("CRS", "grade 4", "Grade 4 CRS", (0, 2, 0, 0)),
    ("ICANS", "grade 1", "Grade 1 ICANS", (0, 1, 0, 0)),
    ("ICANS", "grade 2", "Grade 2 ICANS", (0, 1, 0, 0)),
]


def _table2() -> pl.DataFrame:
    rows = []
    cols = [(PRODUCTS[0], "DLBCL", 7), (PRODUCTS[0], "B-ALL", 6), (PRODUCTS[1], "DLBCL", 7),
            (PRODUCTS[1], "B-ALL", 6)]
    for section, term, label, counts in TABLE2_SEED:
        for (product, dx, big_n), n in zip(cols, counts, strict=True):
            rows.append({"section": section, "term": term, "label": label, "product": product,
                         "diagnosis": dx, "n": n, "N": big_n, "pct": 100.0 * n / big_n})
    return pl.DataFrame(rows)


def _grades() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    counts = {
        ("CRS", PRODUCTS[0]): {0: 5, 1: 1, 2: 3, 3: 2, 4: 2},
        ("CRS", PRODUCTS[1]): {0: 4, 1: 5, 2: 3, 3: 1},
        ("ICANS", PRODUCTS[0]): {0: 11, 1: 1, 2: 1},
        ("ICANS", PRODUCTS[1]): {0: 13},
        ("Neutropenia", PRODUCTS[0]): {2: 4, 3: 3, 4: 6},
        ("Neutropenia", PRODUCTS[1]): {1: 5, 2: 5, 3: 3},
        ("Anemia", PRODUCTS[0]): {2: 6, 3: 7},
        ("Anemia", PRODUCTS[1]): {1: 4, 2: 5, 3: 4},
        ("Thrombocytopenia", PRODUCTS[0]): {2: 5, 3: 4, 4: 4},
        ("Thrombocytopenia", PRODUCTS[1]): {1: 3, 2: 4, 3: 6},
    }
    gc = pl.DataFrame([{"toxicity": t, "product": p, "grade": g, "n": n}
                       for (t, p), d in counts.items() for g, n in d.items()])
    compare = pl.DataFrame([
        {"toxicity": "CRS", "system": "CTCAE v4.03 (recorded)", "method": "Wilcoxon signed-rank",
         "pvalue": 0.343, "published_p": 0.341, "note": None},
        {"toxicity": "CRS", "system": "ASTCT 2019 (derived)", "method": "Wilcoxon signed-rank",
         "pvalue": 0.0625, "published_p": None, "note": "fever >= 38 C is grade 1 under ASTCT 2019"},
        {"toxicity": "ICANS", "system": "ASTCT 2019", "method": "Wilcoxon signed-rank", "pvalue": 0.5,
         "published_p": 0.480, "note": None},
        {"toxicity": "Neutropenia", "system": "CTCAE v4.03", "method": "Wilcoxon signed-rank",
         "pvalue": 0.150, "published_p": 0.148, "note": None},
        {"toxicity": "Anemia", "system": "CTCAE v4.03", "method": "Wilcoxon signed-rank",
         "pvalue": 0.431, "published_p": 0.425, "note": None},
        {"toxicity": "Thrombocytopenia", "system": "CTCAE v4.03", "method": "Wilcoxon signed-rank",
         "pvalue": 0.808, "published_p": 0.813, "note": None},
    ])
    ctcae = [0, 0, 0, 1, 0, 0, 2, 2, 3, 4, 3, 4, 2] + [1, 0, 0, 1, 0, 2, 0, 1, 2, 1, 3, 1, 2]
    astct = [1, 1, 1, 1, 1, 1, 2, 2, 3, 4, 3, 4, 2] + [1, 0, 0, 1, 0, 2, 0, 1, 2, 1, 3, 1, 2]
    rows = []
    for i, (c, a) in enumerate(zip(ctcae, astct, strict=True)):
        p = PATIENTS[i % 13]
        ep = 1 + i // 13
        for system, g in (("CTCAE v4.03 (recorded)", c), ("ASTCT 2019 (derived)", a)):
            rows.append({"patient_id": p, "episode": ep, "product": PRODUCTS[ep - 1], "toxicity": "CRS",
                         "system": system, "grade": g})
    return gc, compare, pl.DataFrame(rows)


def _responses() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rel = {"P9": 90, "P11": 180, "P12": 30}
    resp_rows, swim_rows, ev_rows = [], [], []
    for p in PATIENTS:
        dx = DIAGNOSIS[p]
        rday = 28 if dx == "DLBCL" else 14
        c22 = CD22_DAY[p]
        for ep, product, best in ((1, PRODUCTS[0], BEST_CD19[p]), (2, PRODUCTS[1], BEST_CD22[p])):
            relapse = rel.get(p) if ep == 1 else None
            resp_rows.append({"patient_id": p, "diagnosis": dx, "episode": ep, "product": product,
                              "best_response": best, "response_day": rday,
                              "source": "recorded" if ep == 1 else "derived",
                              "relapse_day": relapse, "hsct": ep == 2 and p in HSCT_DAY})
            start = 0 if ep == 1 else c22
            end = c22 if ep == 1 else c22 + OS_DAYS[p]
            swim_rows.append({"patient_id": p, "diagnosis": dx, "episode": ep, "product": product,
                              "start_day": start, "end_day": end, "best_response": best})
            ev_rows.append({"patient_id": p, "kind": "infusion", "day": start, "label": product})
            ev_rows.append({"patient_id": p, "kind": best, "day": start + rday, "label": best})
        if p in rel:
            ev_rows.append({"patient_id": p, "kind": "relapse", "day": rel[p], "label": "relapse"})
        if PROGRESSED[p] and PFS_DAYS[p] < OS_DAYS[p]:
            ev_rows.append({"patient_id": p, "kind": "progression", "day": c22 + PFS_DAYS[p],
                            "label": "progression"})
        if p in HSCT_DAY:
            ev_rows.append({"patient_id": p, "kind": "hsct", "day": c22 + HSCT_DAY[p], "label": "allo-HSCT"})
        ev_rows.append({"patient_id": p, "kind": "death" if DIED[p] else "last_contact",
                        "day": c22 + OS_DAYS[p], "label": "death" if DIED[p] else "alive at cutoff"})
    responses = pl.DataFrame(resp_rows, schema_overrides={"relapse_day": pl.Int64})
    # ORR (CR/CRi/PR) and CR rate with Clopper-Pearson 95% CI; bounds typed from R binom.test:
    # binom.test(6, 7)$conf.int -> 0.4212768 0.9963897 ; binom.test(4, 7) -> 0.1840516 0.9010117
    # binom.test(2, 6) -> 0.04327187 0.77722190 ; binom.test(0, 7) -> 0 0.4096164
    # binom.test(3, 6) -> 0.1181185 0.8818815 ; binom.test(0, 6) -> 0 0.4592581
    rates = pl.DataFrame([
        {"product": PRODUCTS[0], "diagnosis": "DLBCL", "n": 7, "orr_n": 0, "orr": 0.0, "orr_lower": 0.0,
         "orr_upper": 0.4096164, "cr_n": 0, "cr": 0.0, "cr_lower": 0.0, "cr_upper": 0.4096164},
        {"product": PRODUCTS[0], "diagnosis": "B-ALL", "n": 6, "orr_n": 3, "orr": 0.5, "orr_lower": 0.1181185,
         "orr_upper": 0.8818815, "cr_n": 3, "cr": 0.5, "cr_lower": 0.1181185, "cr_upper": 0.8818815},
        {"product": PRODUCTS[1], "diagnosis": "DLBCL", "n": 7, "orr_n": 6, "orr": 6 / 7,
         "orr_lower": 0.4212768, "orr_upper": 0.9963897, "cr_n": 4, "cr": 4 / 7, "cr_lower": 0.1840516,
         "cr_upper": 0.9010117},
        {"product": PRODUCTS[1], "diagnosis": "B-ALL", "n": 6, "orr_n": 2, "orr": 2 / 6,
         "orr_lower": 0.04327187, "orr_upper": 0.7772219, "cr_n": 2, "cr": 2 / 6, "cr_lower": 0.04327187,
         "cr_upper": 0.7772219},
    ])
    return responses, rates, pl.DataFrame(swim_rows), pl.DataFrame(ev_rows)


def _ck_model() -> pl.DataFrame:
    """Stein 2019 fits for two episodes, one that the data could not support."""
    return pl.DataFrame({
        "patient_id": ["P1", "P2"], "episode": [1, 1], "product": [PRODUCTS[0]] * 2, "diagnosis": ["DLBCL"] * 2,
        "converged": [True, False], "reason": ["", "fewer than 4 quantifiable points"], "n_points": [6, 3],
        "cmax": [5684.2, None], "cmax_lower": [5100.0, None], "cmax_upper": [6300.0, None],
        "tmax": [11.1, None], "tmax_lower": [10.2, None], "tmax_upper": [12.0, None],
        "foldx": [24.6, None], "foldx_lower": [18.0, None], "foldx_upper": [33.0, None],
        "alpha": [0.112, None], "alpha_lower": [0.106, None], "alpha_upper": [0.119, None],
        "analyte": ["car_dna"] * 2,
    })


_ENDPOINTS: dict[str, pl.DataFrame] = {}


def _endpoint_tables() -> dict[str, pl.DataFrame]:
    """The recommended endpoint analysis (log-log KM, HR, cumulative incidence with HSCT competing, HSCT as a
    time-dependent covariate) of the hand-built study of tests/survival_report_data.py, computed once."""
    if not _ENDPOINTS:
        from survival_report_data import hand_rows, hand_study

        from cartkit.analysis.populations import resolve_populations
        from cartkit.analysis.survival_analysis import endpoint_analysis

        study, assessments = hand_study(hand_rows())
        tables, _ = endpoint_analysis(study, resolve_populations(study), assessments, conf_type="log-log")
        _ENDPOINTS.update(tables)
    return dict(_ENDPOINTS)


def _clinical_details() -> dict[str, pl.DataFrame]:
    """Figure 1 antigens, infused products, CRS/ICANS timing and treatment, follow-up status (typed in)."""
    ball = [p for p in PATIENTS if DIAGNOSIS[p] == "B-ALL"]
    # B-ALL: CD19 high before the CD19 product, low before CD22; CD22 high before CD22 (seed Figure 1)
    cd19 = dict(zip(ball, [(96.5, 18.0), (97.0, 24.0), (97.5, 30.0), (98.0, 36.0), (98.5, 42.0), (99.0, 48.0)],
                    strict=True))
    cd22 = dict(zip(ball, [(72.0, 93.0), (75.0, 94.0), (78.0, 95.0), (81.0, 96.0), (84.0, 97.0), (87.0, 98.0)],
                    strict=True))
    antigen = pl.DataFrame([
        {"patient_id": p, "diagnosis": "B-ALL", "episode": ep, "product": PRODUCTS[ep - 1], "antigen": name,
         "day": -7, "pct": values[p][ep - 1]}
        for name, values in (("CD19", cd19), ("CD22", cd22)) for ep in (1, 2) for p in ball])
    # seed Results: dose (10^6/kg) mean +/- SD per product and disease, transduction and harvest overall
    infused = pl.DataFrame([
        {"product": prod, "diagnosis": dx, "characteristic": ch, "label": label, "unit": unit, "episodes": n,
         "n": n, "missing": 0, "mean": mean, "sd": sd, "median": mean, "q1": mean - sd, "q3": mean + sd,
         "min": mean - 2 * sd, "max": mean + 2 * sd}
        for prod, dx, n, ch, label, unit, mean, sd in (
            (PRODUCTS[0], "DLBCL", 7, "dose_1e6_per_kg", "CAR-T cells infused", "10^6/kg", 2.09, 0.17),
            (PRODUCTS[0], "B-ALL", 6, "dose_1e6_per_kg", "CAR-T cells infused", "10^6/kg", 2.05, 0.29),
            (PRODUCTS[0], "All", 13, "transduction_pct", "Transduction efficiency", "%", 47.18, 17.43),
            (PRODUCTS[1], "DLBCL", 7, "dose_1e6_per_kg", "CAR-T cells infused", "10^6/kg", 2.11, 0.24),
            (PRODUCTS[1], "B-ALL", 6, "dose_1e6_per_kg", "CAR-T cells infused", "10^6/kg", 2.07, 0.42),
            (PRODUCTS[1], "All", 13, "transduction_pct", "Transduction efficiency", "%", 42.07, 19.23))])
    treatment = pl.DataFrame([
        {"product": PRODUCTS[0], "treatment": "Tocilizumab", "agent": "tocilizumab", "episodes": 13,
         "episodes_treated": 1, "patients": 13, "patients_treated": 1, "administrations": 1,
         "days_given_median": 1.0, "days_given_min": 1, "days_given_max": 1, "dose_unit": "mg",
         "total_dose_median": 416.0, "total_dose_min": 416.0, "total_dose_max": 416.0,
         "first_day_median": 5.0, "first_day_min": 5, "first_day_max": 5},
        {"product": PRODUCTS[0], "treatment": "Corticosteroid", "agent": "methylprednisolone", "episodes": 13,
         "episodes_treated": 8, "patients": 13, "patients_treated": 8, "administrations": 21,
         "days_given_median": 2.5, "days_given_min": 1, "days_given_max": 4, "dose_unit": "mg",
         "total_dose_median": 160.0, "total_dose_min": 40.0, "total_dose_max": 480.0,
         "first_day_median": 3.0, "first_day_min": 2, "first_day_max": 4}])
    course = pl.DataFrame([
        {"patient_id": p, "episode": ep, "product": PRODUCTS[ep - 1], "diagnosis": DIAGNOSIS[p], "toxicity": "CRS",
         "grade": g, "onset_day": (1 + i % 3) if g else None, "duration_days": (2 + i % 4) if g else 0,
         "system": "astct2019", "source": "derived"}
        for ep, grades in ((1, [1] * 13), (2, [1, 0, 0, 1, 0, 2, 0, 1, 2, 0, 0, 0, 0]))
        for i, (p, g) in enumerate(zip(PATIENTS, grades, strict=True))])
    course_summary = pl.DataFrame([
        {"product": PRODUCTS[0], "toxicity": "CRS", "episodes": 13, "graded": 13, "with_event": 13, "onset_n": 13,
         "onset_median": 2.0, "onset_min": 1, "onset_max": 3, "duration_n": 13, "duration_median": 3.0,
         "duration_min": 2, "duration_max": 5, "systems": "astct2019", "sources": "derived"},
        {"product": PRODUCTS[1], "toxicity": "CRS", "episodes": 13, "graded": 13, "with_event": 5, "onset_n": 5,
         "onset_median": 2.0, "onset_min": 1, "onset_max": 3, "duration_n": 5, "duration_median": 4.0,
         "duration_min": 2, "duration_max": 5, "systems": "astct2019", "sources": "derived"}])
    follow = pl.DataFrame([
        {"patient_id": p, "diagnosis": DIAGNOSIS[p], "status": "died" if DIED[p] else "alive at cut-off",
         "cause_of_death": "disease progression" if DIED[p] else None, "last_known_date": None,
         "days_from_first_infusion": CD22_DAY[p] + OS_DAYS[p], "days_before_cutoff": None}
        for p in PATIENTS], schema_overrides={"last_known_date": pl.Date, "days_before_cutoff": pl.Int64,
                                              "cause_of_death": pl.String})
    follow_summary = pl.DataFrame([
        {"diagnosis": dx, "status": status, "cause_of_death": cause, "n": n, "N": big_n}
        for dx, big_n, died in (("DLBCL", 7, 2), ("B-ALL", 6, 5), ("All", 13, 7))
        for status, cause, n in (("died", "disease progression", died), ("alive at cut-off", None, big_n - died))])
    return {"antigen_expression": antigen, "infusion_products": infused, "toxicity_treatment": treatment,
            "syndrome_course": course, "syndrome_course_summary": course_summary, "follow_up": follow,
            "follow_up_summary": follow_summary}


def _mrd_landmark() -> dict[str, pl.DataFrame]:
    """PFS by MRD status at day 28 for the B-ALL patients (analysis/mrd_landmark.py on 8 hand-made rows)."""
    from cartkit.analysis.mrd_landmark import mrd_landmark_tables
    from cartkit.study.plan_mrd import MrdLandmarkPlan

    ids = [f"P{i}" for i in range(7, 15)]
    times = pl.DataFrame({"patient_id": ids, "episode": [1] * 8, "days": [20, 60, 90, 150, 200, 300, 365, 400],
                          "status": [1, 1, 0, 1, 1, 0, 1, 0]})
    mrd = pl.DataFrame({"patient_id": ids, "episode": [1] * 8, "day": [14] * 8,
                        "mrd_negative": [False, False, True, False, True, True, False, True]})
    groups = times.select("patient_id", "episode", pl.lit(PRODUCTS[0]).alias("product"),
                          pl.lit("B-ALL").alias("diagnosis"))
    return mrd_landmark_tables(times, mrd, groups, MrdLandmarkPlan(day=28))


def seed_like_results() -> Results:
    """A full Results: two products, two diseases, survival, every table present."""
    responses, rates, swimmer, events = _responses()
    curves, values, params = _kinetics()
    surv, at_risk, logrank = _survival_tables()
    grade_counts, grade_compare, grading = _grades()
    tables = {
        "study": pl.DataFrame([{"id": "zhu2021", "title": "Anti-CD22 CAR-T salvage after anti-CD19 CAR-T",
                                "reference": "Zhu H et al. 2021", "data_cutoff": "2020-08-31",
                                "n_patients": 13, "n_episodes": 26, "products": "; ".join(PRODUCTS),
                                "diseases": "; ".join(DISEASES)}]),
        "baseline": _table1(),
        "responses": responses,
        "response_rates": rates,
        "adverse_event_incidence": _table2(),
        "comparisons": _comparisons(),
        "comparison_groups": pl.DataFrame([{
            "by": "product", "group_a": PRODUCTS[0], "group_b": PRODUCTS[1], "patients_a": 13, "patients_b": 13,
            "episodes_a": 13, "episodes_b": 13, "n_pairs": 13, "paired": "yes (13 patients in both groups)",
            "comparison": f"{PRODUCTS[0]} vs {PRODUCTS[1]}"}]),
        "kinetic_curves": curves,
        "kinetic_values": values,
        "kinetic_params": params,
        "ck_model": _ck_model(),
        "survival_curves": surv,
        "at_risk": at_risk,
        "logrank": logrank,
        "swimmer": swimmer,
        "swimmer_events": events,
        "grade_counts": grade_counts,
        "grade_compare": grade_compare,
        "grading_systems": grading,
        "disagreements": pl.DataFrame([
            {"patient_id": "P1", "episode": 1, "item": "CRS grade", "recorded": "0 (CTCAE v4.03)",
             "derived": "1 (ASTCT 2019)", "note": "fever >= 38 C without hypotension or hypoxia"},
            {"patient_id": "P12", "episode": 1, "item": "ICANS grade", "recorded": "1", "derived": "2",
             "note": "ICE score 5 on day 6"},
        ]),
        "reproduction": pl.DataFrame([
            {"key": "age_median", "section": "Results", "description": "Median age, years",
             "published": "46.31", "computed": "55", "status": "differs",
             "reason": "46.31 is the mean age; the median of Table 1 ages is 55"},
            {"key": "cart_peak_p", "section": "Results", "description": "CAR-T % peak, CD19 vs CD22 (P)",
             "published": "0.920", "computed": "0.903", "status": "agrees", "reason": None},
            {"key": "dlbcl_cd22_cr", "section": "Discussion", "description": "DLBCL CR after CD22",
             "published": "6/7", "computed": "4/7", "status": "differs",
             "reason": "Results report 4 CR and 2 PR; the Discussion says six CR"},
            {"key": "crs_p", "section": "Results", "description": "CRS grades CD19 vs CD22 (P)",
             "published": "0.341", "computed": "0.343", "status": "agrees", "reason": None},
            {"key": "os_months", "section": "Abstract", "description": "DLBCL OS after CD22, months",
             "published": "6.142 \u00b1 3.395", "computed": None, "status": "not computed",
             "reason": "mean \u00b1 SD of OS is not a survival estimate"},
        ]),
        "methods": pl.DataFrame([
            {"item": "Plan", "text": "Products compared: CD19 CAR-T (reference) vs CD22 CAR-T; diseases "
                                     "DLBCL and B-ALL; alpha 0.05."},
            {"item": "Tests", "text": "Continuous measures: Shapiro-Wilk decides t test or Wilcoxon; "
                                      "counts: Fisher's exact test (exact r x c)."},
            {"item": "Criteria", "text": "CRS: CTCAE v4.03 as recorded and ASTCT 2019 derived; "
                                         "response: Lugano 2014 (DLBCL), CR/CRi/NR (B-ALL)."},
            {"item": "Survival", "text": "Kaplan-Meier from the CD22 infusion; censored at allo-HSCT "
                                         "(primary) and not censored (sensitivity); log-rank test."},
        ]),
        **_clinical_details(),
        **_endpoint_tables(),
        **_mrd_landmark(),
        "warnings": pl.DataFrame({"text": [
            "CD19 and CD22 episodes are in the same patients: paired tests are shown beside the "
            "unpaired tests the seed used.",
            "Few events (<10 per group): log-rank P values are unstable.",
        ]}),
    }
    return Results(tables=tables, omitted={},
                   software={"cartkit": "0.1.0", "python": "3.11.7", "polars": pl.__version__})


def restricted_results(product: str = PRODUCTS[0], disease: str = "DLBCL", survival: bool = False) -> Results:
    """One product, one disease, optionally no survival: the sections that need more are omitted."""
    full = seed_like_results()
    tables: dict[str, pl.DataFrame | None] = {}
    for name, df in full.tables.items():
        if df is None:
            tables[name] = None
            continue
        if "product" in df.columns:
            df = df.filter(pl.col("product") == product)
        if "diagnosis" in df.columns:
            df = df.filter(pl.col("diagnosis") == disease)
        if name == "baseline":
            df = df.filter(pl.col("group").is_in([disease, "All"]))
        if name in ("survival_curves", "at_risk") or name == "logrank":
            df = df.filter(pl.col("group") == disease) if "group" in df.columns else df
        tables[name] = df
    pts = tables["responses"]["patient_id"].unique().to_list()
    lane_end = tables["swimmer"].group_by("patient_id").agg(pl.col("end_day").max())
    tables["swimmer_events"] = (full.tables["swimmer_events"].join(lane_end, on="patient_id")
                                .filter(pl.col("day") <= pl.col("end_day")).drop("end_day"))
    tables["comparisons"] = None
    tables["grade_compare"] = None
    tables["comparison_groups"] = None
    tables["study"] = full.tables["study"].with_columns(products=pl.lit(product), diseases=pl.lit(disease),
                                                       n_patients=pl.lit(len(pts)))
    omitted = {"comparisons": "one product only: no product comparison",
               "grade_compare": "one product only: no product comparison",
               "comparison_groups": "one product only: no product comparison"}
    if not survival:
        for name in ("survival_curves", "at_risk", "logrank"):
            tables[name] = None
        omitted["survival_curves"] = "no survival data: the study has no follow-up events"
        omitted["at_risk"] = omitted["logrank"] = omitted["survival_curves"]
    else:
        tables["logrank"] = None
        omitted["logrank"] = "one group only: no log-rank test"
    return Results(tables=tables, omitted=omitted, software=dict(full.software))


_WRITTEN: dict[str, tuple] = {}


def written_seed_report(tmp_path_factory) -> tuple:
    """The seed-like report written once per test session (read-only for the tests that share it).

    Returns (report folder, progress steps seen while writing).
    """
    from cartkit.report import write_report

    key = str(tmp_path_factory.getbasetemp())
    if key not in _WRITTEN:
        steps: list[str] = []
        out = write_report(seed_like_results(), tmp_path_factory.mktemp("seed-report") / "out",
                           progress=steps.append)
        _WRITTEN[key] = (out, steps)
    return _WRITTEN[key]


class PageIds(HTMLParser):
    """Collects element ids, which element carries them, and ids of figures holding an <svg>."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.tag_of: dict[str, str] = {}
        self.figures_with_svg: set[str] = set()
        self._figure: str | None = None
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
            self.tag_of[a["id"]] = tag
        if tag == "figure":
            self._figure = a.get("id")
        if tag == "svg" and self._figure:
            self.figures_with_svg.add(self._figure)

    def handle_endtag(self, tag):
        if tag == "figure":
            self._figure = None

    def handle_data(self, data):
        self.texts.append(data)


def parse_page(html: str) -> PageIds:
    """Element ids, their tags and the figures holding an <svg>, of a report page (file or browser DOM)."""
    p = PageIds()
    p.feed(html)
    return p
