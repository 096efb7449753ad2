"""Controlled vocabularies and analyte units.

Values are matched case-insensitively after trimming; the canonical spelling
(the dict value / the first listed form) is what later stages see.

Units: every analyte has one canonical unit. ``UNIT_CONVERSIONS`` gives, per
analyte, the accepted alternative spellings and how to convert them. A unit
not listed for its analyte is rejected at load ("unknown or mismatched unit").
Conversion factors: counts 1 x 10^9/L = 1 x 10^3/uL = 1000 cells/uL;
haemoglobin 1 g/dL = 10 g/L, 1 mmol/L (Hb monomer) = 16.11 g/L; CRP 1 mg/dL =
10 mg/L; creatinine 1 mg/dL = 88.42 umol/L; bilirubin 1 mg/dL = 17.1 umol/L;
temperature F -> C = (F - 32) * 5/9; myeloma (IMWG 2016, docs/criteria.md): serum
M-protein 1 g/dL = 10 g/L, urine M-protein 1 g/24 h = 1000 mg/24 h, free light chains
1 mg/dL = 10 mg/L; IgG 1 g/L = 100 mg/dL.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Analyte:
    code: str
    label: str
    unit: str
    group: str  # "kinetics", "cytokine", "haematology", "chemistry", "vital", "myeloma"
    min: float = 0.0
    max: float | None = None


ANALYTES: dict[str, Analyte] = {
    a.code: a
    for a in (
        # CAR-T kinetics (seed Methods: FCM CAR-T % of CD3+, qPCR CAR DNA)
        Analyte("car_t_pct_cd3", "CAR-T cells, % of CD3+ (flow cytometry)", "%", "kinetics", 0, 100),
        Analyte("car_dna", "CAR transgene (qPCR)", "copies/ug", "kinetics", 0, None),
        # cytokines (seed Methods: ELISA)
        Analyte("il6", "IL-6", "pg/mL", "cytokine"),
        Analyte("il2r", "soluble IL-2R", "U/mL", "cytokine"),
        Analyte("il8", "IL-8", "pg/mL", "cytokine"),
        Analyte("tnfa", "TNF-alpha", "pg/mL", "cytokine"),
        Analyte("ifng", "IFN-gamma", "pg/mL", "cytokine"),
        Analyte("il10", "IL-10", "pg/mL", "cytokine"),
        # blood counts
        Analyte("wbc", "White blood cells", "10^9/L", "haematology", 0, 1000),
        Analyte("anc", "Absolute neutrophil count", "10^9/L", "haematology", 0, 1000),
        Analyte("alc", "Absolute lymphocyte count", "10^9/L", "haematology", 0, 1000),
        Analyte("platelets", "Platelets", "10^9/L", "haematology", 0, 5000),
        Analyte("hemoglobin", "Haemoglobin", "g/L", "haematology", 0, 300),
        # chemistry
        Analyte("crp", "C-reactive protein", "mg/L", "chemistry"),
        Analyte("ferritin", "Ferritin", "ng/mL", "chemistry"),
        Analyte("ldh", "Lactate dehydrogenase", "U/L", "chemistry"),
        Analyte("creatinine", "Creatinine", "umol/L", "chemistry"),
        Analyte("bilirubin", "Total bilirubin", "umol/L", "chemistry"),
        Analyte("alt", "Alanine aminotransferase", "U/L", "chemistry"),
        Analyte("ast", "Aspartate aminotransferase", "U/L", "chemistry"),
        Analyte("fibrinogen", "Fibrinogen", "g/L", "chemistry"),
        Analyte("d_dimer", "D-dimer", "mg/L", "chemistry"),
        # vital signs (drive CRS grading)
        Analyte("temperature", "Body temperature", "C", "vital", 25, 45),
        Analyte("sbp", "Systolic blood pressure", "mmHg", "vital", 0, 300),
        Analyte("dbp", "Diastolic blood pressure", "mmHg", "vital", 0, 250),
        Analyte("map", "Mean arterial pressure", "mmHg", "vital", 0, 250),
        Analyte("heart_rate", "Heart rate", "bpm", "vital", 0, 300),
        Analyte("spo2", "Oxygen saturation", "%", "vital", 0, 100),
        Analyte("resp_rate", "Respiratory rate", "/min", "vital", 0, 100),
        # multiple myeloma response (IMWG 2016, Kumar 2016 Table 2): M-protein by serum and 24-h urine
        # electrophoresis, serum free light chains (kappa and lambda; the involved one is read from the
        # baseline ratio, cartkit.response.imwg)
        Analyte("serum_m_protein", "Serum M-protein (SPEP)", "g/dL", "myeloma", 0, 20),
        Analyte("urine_m_protein", "Urine M-protein (24-h UPEP)", "mg/24h", "myeloma", 0, 100000),
        Analyte("flc_kappa", "Serum free light chain kappa", "mg/L", "myeloma", 0, 100000),
        Analyte("flc_lambda", "Serum free light chain lambda", "mg/L", "myeloma", 0, 100000),
        # serum IgG (hypogammaglobulinaemia after CD19/BCMA CAR-T; docs/criteria.md "Hypogammaglobulinaemia");
        # new analytes go last: REDCap choice codes are their positions
        Analyte("igg", "Immunoglobulin G", "mg/dL", "chemistry", 0, 10000),
    )
}

# Analyte aliases users write in files -> canonical code.
ANALYTE_ALIASES: dict[str, str] = {
    "car-t %": "car_t_pct_cd3",
    "car_t_pct": "car_t_pct_cd3",
    "car dna": "car_dna",
    "il-6": "il6",
    "il-2r": "il2r",
    "sil-2r": "il2r",
    "il-8": "il8",
    "tnf-a": "tnfa",
    "tnf-alpha": "tnfa",
    "ifn-g": "ifng",
    "il-10": "il10",
    "neutrophils": "anc",
    "lymphocytes": "alc",
    "absolute lymphocyte count": "alc",
    "lymphocyte count": "alc",
    "plt": "platelets",
    "hb": "hemoglobin",
    "haemoglobin": "hemoglobin",
    "temp": "temperature",
    "m-protein": "serum_m_protein",
    "m protein": "serum_m_protein",
    "serum m-protein": "serum_m_protein",
    "spep m-protein": "serum_m_protein",
    "urine m-protein": "urine_m_protein",
    "upep m-protein": "urine_m_protein",
    "kappa flc": "flc_kappa",
    "free kappa": "flc_kappa",
    "lambda flc": "flc_lambda",
    "free lambda": "flc_lambda",
    "hr": "heart_rate",
    "immunoglobulin g": "igg",
    "serum igg": "igg",
}

# unit spelling (lower-case, spaces removed) -> canonical unit spelling.
UNIT_SPELLINGS: dict[str, str] = {
    "%": "%",
    "percent": "%",
    "copies/ug": "copies/ug",
    "copies/µg": "copies/ug",
    "copies/μg": "copies/ug",
    "copies/ugdna": "copies/ug",
    "copies/uggdna": "copies/ug",
    "pg/ml": "pg/mL",
    "ng/ml": "ng/mL",
    "ng/l": "ng/L",
    "u/ml": "U/mL",
    "iu/ml": "U/mL",
    "10^9/l": "10^9/L",
    "10*9/l": "10^9/L",
    "x10^9/l": "10^9/L",
    "g/l": "g/L",
    "gi/l": "10^9/L",  # CDISC UNIT codelist: giga per litre
    "10^3/ul": "10^3/uL",
    "thou/ul": "10^3/uL",  # CDISC UNIT codelist: thousand per microlitre
    "10^3/µl": "10^3/uL",
    "10*3/ul": "10^3/uL",
    "k/ul": "10^3/uL",
    "cells/ul": "cells/uL",
    "cells/µl": "cells/uL",
    "/ul": "cells/uL",
    "/mm3": "cells/uL",
    "cells/mm3": "cells/uL",
    "g/dl": "g/dL",
    "mmol/l": "mmol/L",
    "mg/l": "mg/L",
    "mg/dl": "mg/dL",
    "ug/l": "ug/L",
    "µg/l": "ug/L",
    "u/l": "U/L",
    "iu/l": "U/L",
    "umol/l": "umol/L",
    "µmol/l": "umol/L",
    "c": "C",
    "°c": "C",
    "degc": "C",
    "f": "F",
    "°f": "F",
    "degf": "F",
    "mmhg": "mmHg",
    "bpm": "bpm",
    "/min": "/min",
    "breaths/min": "/min",
    "beats/min": "bpm",
    "mg/24h": "mg/24h",
    "mg/day": "mg/24h",
    "mg/d": "mg/24h",
    "g/24h": "g/24h",
    "g/day": "g/24h",
    "g/d": "g/24h",
}

# (analyte group or code) -> {alternative unit: (factor, offset)}: canonical = value * factor + offset
_COUNT_UNITS = {"10^9/L": (1.0, 0.0), "10^3/uL": (1.0, 0.0), "cells/uL": (0.001, 0.0)}
UNIT_CONVERSIONS: dict[str, dict[str, tuple[float, float]]] = {
    "car_t_pct_cd3": {"%": (1.0, 0.0)},
    "car_dna": {"copies/ug": (1.0, 0.0)},
    "il6": {"pg/mL": (1.0, 0.0), "ng/L": (1.0, 0.0)},
    "il2r": {"U/mL": (1.0, 0.0)},
    "il8": {"pg/mL": (1.0, 0.0), "ng/L": (1.0, 0.0)},
    "tnfa": {"pg/mL": (1.0, 0.0), "ng/L": (1.0, 0.0)},
    "ifng": {"pg/mL": (1.0, 0.0), "ng/L": (1.0, 0.0)},
    "il10": {"pg/mL": (1.0, 0.0), "ng/L": (1.0, 0.0)},
    "wbc": _COUNT_UNITS,
    "anc": _COUNT_UNITS,
    "alc": _COUNT_UNITS,
    "platelets": _COUNT_UNITS,
    "hemoglobin": {"g/L": (1.0, 0.0), "g/dL": (10.0, 0.0), "mmol/L": (16.11, 0.0)},
    "crp": {"mg/L": (1.0, 0.0), "mg/dL": (10.0, 0.0)},
    "ferritin": {"ng/mL": (1.0, 0.0), "ug/L": (1.0, 0.0)},
    "ldh": {"U/L": (1.0, 0.0)},
    "creatinine": {"umol/L": (1.0, 0.0), "mg/dL": (88.42, 0.0)},
    "bilirubin": {"umol/L": (1.0, 0.0), "mg/dL": (17.1, 0.0)},
    "alt": {"U/L": (1.0, 0.0)},
    "ast": {"U/L": (1.0, 0.0)},
    "fibrinogen": {"g/L": (1.0, 0.0), "mg/dL": (0.01, 0.0)},
    "d_dimer": {"mg/L": (1.0, 0.0), "ug/L": (0.001, 0.0)},
    "igg": {"mg/dL": (1.0, 0.0), "g/L": (100.0, 0.0)},
    "temperature": {"C": (1.0, 0.0), "F": (5.0 / 9.0, -32.0 * 5.0 / 9.0)},
    "sbp": {"mmHg": (1.0, 0.0)},
    "dbp": {"mmHg": (1.0, 0.0)},
    "map": {"mmHg": (1.0, 0.0)},
    "heart_rate": {"bpm": (1.0, 0.0)},
    "spo2": {"%": (1.0, 0.0)},
    "resp_rate": {"/min": (1.0, 0.0)},
    "serum_m_protein": {"g/dL": (1.0, 0.0), "g/L": (0.1, 0.0)},
    "urine_m_protein": {"mg/24h": (1.0, 0.0), "g/24h": (1000.0, 0.0)},
    "flc_kappa": {"mg/L": (1.0, 0.0), "mg/dL": (10.0, 0.0)},
    "flc_lambda": {"mg/L": (1.0, 0.0), "mg/dL": (10.0, 0.0)},
}

# Response frameworks by diagnosis: Lugano 2014 for lymphoma, CR/CRi/NR for B-ALL, IMWG 2016 for
# multiple myeloma (family "myeloma").
DIAGNOSES: dict[str, str] = {
    "DLBCL": "lymphoma",
    "PMBCL": "lymphoma",
    "HGBCL": "lymphoma",
    "tFL": "lymphoma",
    "FL": "lymphoma",
    "MCL": "lymphoma",
    "MZL": "lymphoma",
    "B-ALL": "all",
    "MM": "myeloma",
    # chronic lymphocytic leukaemia: iwCLL 2018 (Hallek 2018, family "cll", cartkit.response.iwcll)
    "CLL": "cll",
}

# name -> canonical values. Matching is case-insensitive; aliases map to canonical.
VOCABULARIES: dict[str, dict[str, str]] = {
    "sex": {"male": "male", "m": "male", "female": "female", "f": "female"},
    "diagnosis": {**{d.lower(): d for d in DIAGNOSES}, "all": "B-ALL", "b all": "B-ALL",
                  "multiple myeloma": "MM", "myeloma": "MM",
                  "chronic lymphocytic leukemia": "CLL", "chronic lymphocytic leukaemia": "CLL"},
    "stage": {s.lower(): s for s in ("I", "II", "III", "IV", "IE", "IIE", "IIIE", "IVE")},
    "disease_status": {"refractory": "refractory", "relapse": "relapsed", "relapsed": "relapsed"},
    "target": {t.lower(): t for t in ("CD19", "CD22", "CD19/CD22", "CD20", "CD19/CD20", "BCMA", "CD7")},
    "analyte": {**{k: k for k in ANALYTES}, **ANALYTE_ALIASES},
    "support_kind": {
        k: k
        for k in (
            "vasopressor",
            "vasopressin",
            "oxygen",
            "tocilizumab",
            "steroid",
            "antipyretic",
            "anakinra",
            "fluids",
            "siltuximab",
            # a platelet transfusion (T-ICAHT: a count within 7 days of one is not recovery)
            "platelet_transfusion",
            # blood products for a coagulopathy (IEC-HS grade 3, docs/criteria.md "IEC-HS: ASTCT 2023")
            "cryoprecipitate",
            "fibrinogen_concentrate",
            "plasma",
            # immunoglobulin replacement (IVIG or SCIG; docs/criteria.md "Hypogammaglobulinaemia")
            "immunoglobulin",
        )
    },
    "o2_device": {
        k: k
        for k in (
            "room_air",
            "nasal_cannula",
            "blow_by",
            "high_flow_nasal_cannula",
            "facemask",
            "non_rebreather",
            "venturi",
            "cpap",
            "bipap",
            "mechanical_ventilation",
        )
    },
    "consciousness": {
        k: k
        for k in ("normal", "awakens_spontaneously", "awakens_to_voice", "awakens_to_touch", "unarousable")
    },
    "seizure": {k: k for k in ("none", "resolving", "prolonged")},
    "motor": {k: k for k in ("none", "deep_focal_weakness")},
    "raised_icp": {k: k for k in ("none", "focal_edema", "diffuse_edema")},
    # imwg: a multiple myeloma response assessment (M-protein, FLC, immunofixation, marrow, imaging);
    # iwcll: a CLL response assessment (nodes, spleen, liver, blood counts, marrow; iwCLL 2018)
    "assessment_method": {k: k for k in ("pet_ct", "ct", "marrow", "clinical", "imwg", "iwcll")},
    "uptake": {k: k for k in ("decreased", "unchanged", "increased")},
    "response": {
        **{r.lower(): r for r in ("CR", "CRi", "PR", "SD", "PD", "NR", "CMR", "PMR", "NMR", "PMD", "relapse")},
        "cri": "CRi",
        # IMWG 2016 (Kumar 2016 Table 2); NE = not evaluable (SDTM RSSTRESC)
        **{r.lower(): r for r in ("sCR", "VGPR", "MR", "NE")},
        # CLL (iwCLL 2018, cartkit.response.iwcll): nodular PR (the 2008 nPR) and PR with lymphocytosis
        # (PR-L, B-cell receptor inhibitors)
        "npr": "nPR",
        "pr-l": "PR-L", "prl": "PR-L", "pr_l": "PR-L",
    },
    "ife": {"negative": "negative", "neg": "negative", "positive": "positive", "pos": "positive"},
    "mrd_result": {"negative": "negative", "neg": "negative", "positive": "positive", "pos": "positive"},
    "grading_system": {
        k.lower(): k for k in ("ctcae4.03", "ctcae5.0", "ctcae6.0", "astct2019", "lee2014", "astct2023")
    },
    "event_kind": {
        **{k: k for k in ("progression", "relapse", "hsct", "death", "last_contact", "new_therapy",
                          # second primary malignancies after CAR-T, T-cell malignancies apart (FDA class-wide
                          # boxed warning on T-cell malignancies after BCMA/CD19 CAR-T, 2024; docs/criteria.md)
                          "second_malignancy", "t_cell_malignancy")},
        "second primary malignancy": "second_malignancy",
        "spm": "second_malignancy",
        "t-cell malignancy": "t_cell_malignancy",
    },
    # infections (Hill JA et al., Blood 2018;131:121: bacterial, viral, fungal; other: parasitic, or no
    # organism identified)
    "organism_class": {
        **{k: k for k in ("bacterial", "viral", "fungal", "other")},
        "bacteria": "bacterial", "virus": "viral", "fungus": "fungal", "parasitic": "other",
        "unknown": "other", "not identified": "other",
    },
    "infection_site": {
        **{k: k for k in ("bloodstream", "respiratory", "gastrointestinal", "urinary", "skin_soft_tissue",
                          "central_nervous_system", "disseminated", "other")},
        "blood": "bloodstream", "bacteraemia": "bloodstream", "bacteremia": "bloodstream",
        "lung": "respiratory", "pneumonia": "respiratory", "gi": "gastrointestinal", "urine": "urinary",
        "uti": "urinary", "skin": "skin_soft_tissue", "cns": "central_nervous_system",
    },
    # why an enrolled (leukapheresed, randomised) patient was never infused: the reasons CAR-T trials
    # report in their CONSORT diagrams (e.g. ZUMA-7, Locke FL et al., N Engl J Med 2022;386:640;
    # JULIET, Schuster SJ et al., N Engl J Med 2019;380:45)
    "never_infused_reason": {
        **{k: k for k in ("manufacturing failure", "death", "progression", "withdrawal", "other")},
        "manufacturing_failure": "manufacturing failure",
        "withdrew": "withdrawal",
        "disease progression": "progression",
    },
}

# Adverse-event terms (CTCAE-style wording of the seed's Table 2 and common CAR-T terms).
# Studies may add terms with ``extra_ae_terms`` in study.toml.
AE_TERMS: tuple[str, ...] = (
    "fever",
    "chills",
    "fatigue",
    "headache",
    "muscle weakness",
    "neutrophil count decreased",
    "anemia",
    "platelet count decreased",
    "white blood cell decreased",
    "lymphocyte count decreased",
    "febrile neutropenia",
    "hypoxia",
    "dyspnea",
    "cough",
    "pleural effusion",
    "nausea",
    "vomiting",
    "anorexia",
    "diarrhea",
    "aminotransferase increased",
    "blood bilirubin increased",
    "creatinine increased",
    "oliguria",
    "sinus tachycardia",
    "arrhythmia",
    "hypotension",
    "disseminated intravascular coagulation",
    "encephalopathy",
    "confusion",
    "dizziness",
    "aphasia",
    "somnolence",
    "seizure",
    "tremor",
    "edema",
    "infection",
    "sepsis",
    "invasive fungal infection",
    "hlh",
    "cytokine release syndrome",
    "icans",
    # new terms go last (REDCap choice codes are their positions):
    # immune effector cell-associated HLH-like syndrome (Hines MR et al., Transplant Cell Ther 2023)
    "iec-hs",
    # after BCMA CAR-T (cilta-cel: Cohen AD et al., Blood Cancer J 2022;12:32): movement and neurocognitive
    # toxicity (parkinsonism) and cranial nerve palsy, named events with their onset day
    "movement and neurocognitive toxicity",
    "cranial nerve palsy",
)
AE_TERM_ALIASES: dict[str, str] = {
    "temperature >= 38c": "fever",
    "muscular weakness": "muscle weakness",
    "neutropenia": "neutrophil count decreased",
    "anaemia": "anemia",
    "thrombocytopenia": "platelet count decreased",
    "dyspnoea": "dyspnea",
    "decreased appetite": "anorexia",
    "increased serum alt, ast": "aminotransferase increased",
    "alt increased": "aminotransferase increased",
    "ast increased": "aminotransferase increased",
    "increased serum bilirubin levels": "blood bilirubin increased",
    "increased serum creatinine levels": "creatinine increased",
    "tachycardia": "sinus tachycardia",
    "confused state": "confusion",
    "dic": "disseminated intravascular coagulation",
    "crs": "cytokine release syndrome",
    "immune effector cell-associated neurotoxicity syndrome": "icans",
    "oedema": "edema",
    "immune effector cell-associated hlh-like syndrome": "iec-hs",
    "mnt": "movement and neurocognitive toxicity",
    "parkinsonism": "movement and neurocognitive toxicity",
    "facial nerve palsy": "cranial nerve palsy",
    "facial paralysis": "cranial nerve palsy",
    "cranial neuropathy": "cranial nerve palsy",
    "iechs": "iec-hs",
}
VOCABULARIES["ae_term"] = {**{t: t for t in AE_TERMS}, **AE_TERM_ALIASES}


def canonical_unit(spelling: str) -> str | None:
    """Canonical spelling of a unit, or None when the unit is unknown (case and spaces ignored)."""
    key = spelling.strip().lower().replace(" ", "")
    return UNIT_SPELLINGS.get(key)


def canonical_unit_expr(spelling):
    """:func:`canonical_unit` over a whole column (a Polars expression; null when unknown).

    The same rule, kept beside the scalar one so that the two cannot drift apart
    (tests/test_grading_ctcae.py checks they agree on every spelling).
    """
    import polars as pl

    return (spelling.cast(pl.String).str.strip_chars().str.to_lowercase().str.replace_all(" ", "", literal=True)
            .replace_strict(UNIT_SPELLINGS, default=None, return_dtype=pl.String))
