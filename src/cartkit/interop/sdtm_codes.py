"""The SDTM terms cartkit writes (``sdtm export``) and reads (``sdtm import``): one table, both ways.

Where CDISC controlled terminology has a term, it is used (LBTESTCD, VSTESTCD, MHCAT
"PRIMARY DIAGNOSIS", DSDECOD "DEATH" / "RANDOMIZED", DDTESTCD "PRCDTH", TRTESTCD "LDIAM" /
"LPERP", TUTESTCD "TUMIDENT", RSTESTCD "OVRLRESP"). Where it has none (CAR transgene copies, the
ICE and CAPD totals, the ICANS domains, the grading system of an AE, the response inputs of an
assessment), the code is cartkit's own, listed here and in docs/sdtm.md, and a sponsor's SDTM using
other codes needs them mapped. Codes are <= 8 characters and start with a letter (SDTMIG 3.3,
section 2.5 and the SAS transport v5 limit).
"""

from __future__ import annotations

# patients.diagnosis -> MH.MHDECOD of the MHCAT "PRIMARY DIAGNOSIS" record (WHO 2016 names)
DIAGNOSIS_TERMS: dict[str, str] = {
    "DLBCL": "DIFFUSE LARGE B-CELL LYMPHOMA",
    "PMBCL": "PRIMARY MEDIASTINAL LARGE B-CELL LYMPHOMA",
    "HGBCL": "HIGH-GRADE B-CELL LYMPHOMA",
    "tFL": "TRANSFORMED FOLLICULAR LYMPHOMA",
    "FL": "FOLLICULAR LYMPHOMA",
    "MCL": "MANTLE CELL LYMPHOMA",
    "MZL": "MARGINAL ZONE LYMPHOMA",
    "B-ALL": "B-CELL ACUTE LYMPHOBLASTIC LEUKEMIA",
    "MM": "PLASMA CELL MYELOMA",
}
PRIMARY_DIAGNOSIS = "PRIMARY DIAGNOSIS"

# Supplemental qualifiers: (domain, QNAM) -> (QLABEL, cartkit table.column)
SUPP: dict[tuple[str, str], tuple[str, str]] = {
    ("DM", "IPI"): ("International Prognostic Index", "patients.ipi"),
    ("DM", "NPRIORTX"): ("Number of Prior Therapy Lines", "patients.prior_lines"),
    ("DM", "BMBLAST"): ("Baseline Bone Marrow Blasts (%)", "patients.marrow_blasts_pct"),
    ("DM", "NINFRSN"): ("Reason Never Infused", "patients.never_infused_reason"),
    ("DM", "PPROTFL"): ("Per-Protocol Set Flag", "patients.per_protocol"),
    ("MH", "MHSUBTYP"): ("Disease Subtype", "patients.subtype"),
    ("MH", "MHSTAGE"): ("Ann Arbor Stage", "patients.stage"),
    ("MH", "MHDISST"): ("Disease Status", "patients.disease_status"),
    ("EX", "CARTGT"): ("CAR Target Antigen", "infusions.target"),
    ("EX", "TRANSPCT"): ("CAR Transduction Efficiency (%)", "infusions.transduction_pct"),
    ("EX", "HARVEST"): ("CAR-T Cells Harvested (10^6/kg)", "infusions.harvest_1e6_per_kg"),
    ("EX", "LDREGIM"): ("Lymphodepletion Regimen", "infusions.lymphodepletion"),
    ("EX", "BRIDGTX"): ("Bridging Therapy", "infusions.bridging_therapy"),
    ("EX", "DOSELVL"): ("Dose Level", "infusions.dose_level"),
    ("AE", "AETOXGRS"): ("Toxicity Grading System", "adverse_events.grading_system"),
    ("AE", "INFORGCL"): ("Infection Organism Class", "infections.organism_class"),
    ("AE", "INFORG"): ("Infection Organism", "infections.organism"),
    ("AE", "INFSITE"): ("Infection Site", "infections.site"),
    ("PR", "PRFIO2"): ("Fraction of Inspired Oxygen (%)", "support.fio2_pct"),
}

# EXCAT of a CAR-T administration in EX (sponsor-defined; cartkit writes it, and its import takes an EX row
# of this category as a CAR-T infusion whatever its EXTRT is named)
CAR_T_EXCAT = "CAR-T CELL THERAPY"

# AE records beside the adverse_events rows, told apart by AECAT (SDTMIG 3.3 AE: "--CAT ... a category
# of related records"): each row of the infections table (Hill JA et al., Blood 2018;131:121) with its
# organism class, organism and site in SUPPAE (INFORGCL, INFORG, INFSITE: cartkit's QNAMs), and each
# second primary malignancy of the events table (an untoward medical occurrence after treatment, so an
# adverse event, ICH E2A; not CE, which SDTMIG 3.3 keeps for events "that would not be classified as
# adverse events"). The adverse_events rows carry no AECAT.
INFECTION_CAT = "INFECTION"
INFECTION_DECOD = "Infection"  # AEDECOD of an infection record: the short-list term (no MedDRA coding)
SPM_CAT = "SECOND PRIMARY MALIGNANCY"
# events.kind -> AEDECOD of its AE record (the short-list wording; a T-cell malignancy apart, as the
# FDA's 2024 class-wide boxed warning on T-cell malignancies after CAR-T asks)
SPM_EVENTS: dict[str, str] = {"second_malignancy": "Second primary malignancy",
                              "t_cell_malignancy": "T-cell malignancy"}

# AETERM / AEDECOD of an uncoded adverse_events row: the short-list term with its first letter upper case
# ("Cytokine release syndrome"), the abbreviations upper case; sdtm import lower-cases them back
AE_ABBREVIATIONS: dict[str, str] = {"icans": "ICANS", "iec-hs": "IEC-HS", "hlh": "HLH"}

# adverse_events.grading_system <-> SUPPAE.QVAL of AETOXGRS
GRADING_SYSTEMS: dict[str, str] = {
    "ctcae4.03": "CTCAE V4.03", "ctcae5.0": "CTCAE V5.0", "ctcae6.0": "CTCAE V6.0",
    "astct2019": "ASTCT 2019", "lee2014": "LEE 2014", "astct2023": "ASTCT 2023",
}

# measurements.analyte -> PCTESTCD (PC: CAR-T kinetics in whole blood; no CDISC term exists)
PC_ANALYTES: dict[str, tuple[str, str]] = {
    "car_dna": ("CARDNA", "CAR Transgene DNA Copies"),
    "car_t_pct_cd3": ("CARTPCT", "CAR-T Cells, % of CD3+ T Cells"),
}
# measurements.analyte -> (LBTESTCD, LBTEST, LBCAT) written; the import reads these and the
# other spellings of sdtm_import.LB_ANALYTES
LB_TESTS: dict[str, tuple[str, str, str]] = {
    "wbc": ("WBC", "Leukocytes", "HEMATOLOGY"),
    "anc": ("NEUT", "Neutrophils", "HEMATOLOGY"),
    "alc": ("LYM", "Lymphocytes", "HEMATOLOGY"),
    "platelets": ("PLAT", "Platelets", "HEMATOLOGY"),
    "hemoglobin": ("HGB", "Hemoglobin", "HEMATOLOGY"),
    "crp": ("CRP", "C Reactive Protein", "CHEMISTRY"),
    "ferritin": ("FERRITIN", "Ferritin", "CHEMISTRY"),
    "ldh": ("LDH", "Lactate Dehydrogenase", "CHEMISTRY"),
    "creatinine": ("CREAT", "Creatinine", "CHEMISTRY"),
    "bilirubin": ("BILI", "Bilirubin", "CHEMISTRY"),
    "alt": ("ALT", "Alanine Aminotransferase", "CHEMISTRY"),
    "ast": ("AST", "Aspartate Aminotransferase", "CHEMISTRY"),
    "fibrinogen": ("FIBRINO", "Fibrinogen", "COAGULATION"),
    "d_dimer": ("DDIMER", "D-Dimer", "COAGULATION"),
    "il6": ("IL6", "Interleukin 6", "CYTOKINES"),
    "il2r": ("IL2SR", "Interleukin 2 Soluble Receptor", "CYTOKINES"),
    "il8": ("IL8", "Interleukin 8", "CYTOKINES"),
    "tnfa": ("TNFA", "Tumor Necrosis Factor Alpha", "CYTOKINES"),
    "ifng": ("IFNG", "Interferon Gamma", "CYTOKINES"),
    "il10": ("IL10", "Interleukin 10", "CYTOKINES"),
    "flc_kappa": ("KAPLCF", "Kappa Light Chain, Free", "CHEMISTRY"),
    "flc_lambda": ("LAMLCF", "Lambda Light Chain, Free", "CHEMISTRY"),
    "igg": ("IGG", "Immunoglobulin G", "IMMUNOLOGY"),
    # myeloma M-protein by electrophoresis (IMWG 2016): one test code, the specimen tells serum from urine
    "serum_m_protein": ("MPROTEIN", "M-Protein", "CHEMISTRY"),
    "urine_m_protein": ("MPROTEIN", "M-Protein", "URINALYSIS"),
}
# LBSPEC of a measurement (CDISC SPECTYPE terms); the others are BLOOD. sdtm import reads MPROTEIN with
# LBSPEC URINE as urine_m_protein, any other specimen as serum_m_protein
LB_SPECIMENS: dict[str, str] = {"serum_m_protein": "SERUM", "urine_m_protein": "URINE"}
VS_TESTS: dict[str, tuple[str, str]] = {
    "temperature": ("TEMP", "Temperature"), "sbp": ("SYSBP", "Systolic Blood Pressure"),
    "dbp": ("DIABP", "Diastolic Blood Pressure"), "map": ("MAP", "Mean Arterial Pressure"),
    "heart_rate": ("HR", "Heart Rate"), "spo2": ("OXYSAT", "Oxygen Saturation"),
    "resp_rate": ("RESP", "Respiratory Rate"),
}
# canonical unit -> the CDISC UNIT spelling written (sdtm import reads both)
UNITS_OUT: dict[str, str] = {"bpm": "beats/min", "/min": "breaths/min"}

# support.kind -> (domain, --DECOD / --SCAT written). Drugs are CM (CMSCAT the kind), procedures PR.
SUPPORT_CM_CAT = "SUPPORTIVE CARE"
SUPPORT_PR: dict[str, str] = {"oxygen": "OXYGEN THERAPY", "platelet_transfusion": "PLATELET TRANSFUSION"}
# events.kind written to PR / CE / CM (death goes to DS and DD, last_contact to DM.RFPENDTC)
HSCT_DECOD = "HEMATOPOIETIC STEM CELL TRANSPLANTATION"
LEUKAPHERESIS_DECOD = "LEUKAPHERESIS"
CE_EVENTS: dict[str, str] = {"progression": "DISEASE PROGRESSION", "relapse": "DISEASE RELAPSE"}
CE_CAT = "DISEASE EVENT"
NEW_THERAPY_CAT = "SUBSEQUENT ANTICANCER THERAPY"

# neuro: totals in QS (QSCAT, QSTESTCD, QSTEST), ICANS domains in FA (FATESTCD, FATEST)
QS_SCORES: dict[str, tuple[str, str, str]] = {
    "ice_score": ("IMMUNE EFFECTOR CELL-ASSOCIATED ENCEPHALOPATHY", "ICETOT", "ICE Total Score"),
    "capd_score": ("CORNELL ASSESSMENT OF PEDIATRIC DELIRIUM", "CAPDTOT", "CAPD Total Score"),
}
FA_OBJECT = "IMMUNE EFFECTOR CELL-ASSOCIATED NEUROTOXICITY SYNDROME"
FA_DOMAINS: dict[str, tuple[str, str]] = {
    "consciousness": ("LOC", "Level of Consciousness"),
    "seizure": ("SEIZURE", "Seizure"),
    "motor": ("MOTORFND", "Motor Findings"),
    "raised_icp": ("ICP", "Elevated Intracranial Pressure"),
}

# assessments.method <-> RS.RSMETHOD
METHODS: dict[str, str] = {
    "pet_ct": "PET-CT", "ct": "CT SCAN", "marrow": "BONE MARROW EXAMINATION",
    "clinical": "CLINICAL EVALUATION", "imwg": "IMWG RESPONSE ASSESSMENT", "iwcll": "IWCLL RESPONSE ASSESSMENT",
}
# diagnosis family -> RS.RSCAT of its responses (docs/criteria.md names the criteria)
RS_CATEGORIES: dict[str, str] = {
    "lymphoma": "LUGANO CLASSIFICATION 2014",
    "all": "B-ALL RESPONSE CRITERIA",
    "myeloma": "IMWG 2016",
    "cll": "IWCLL 2018",
}
# assessments column -> (RSTESTCD, RSTEST, kind): the inputs of an assessment, RS records beside
# OVRLRESP with the same RSDTC and RSMETHOD. kind: "int" / "float" in RSSTRESN, "flag" Y/N and
# "text" in RSSTRESC. spd_mm2 is TR (TRTESTCD SPD), lesions TU/TR.
RS_INPUTS: dict[str, tuple[str, str, str]] = {
    "deauville": ("DEAUVILL", "Deauville 5-Point Scale Score", "int"),
    "uptake_vs_baseline": ("FDGUPTK", "FDG Uptake Compared to Baseline", "text"),
    "new_lesions": ("NEWLIND", "New Lesion Indicator", "flag"),
    "marrow_blasts_pct": ("BMBLAST", "Bone Marrow Blasts (%)", "float"),
    "circulating_blasts": ("PBBLAST", "Circulating Blasts Present", "flag"),
    "extramedullary": ("EMDIND", "Extramedullary Disease Present", "flag"),
    "anc": ("NEUT", "Neutrophils at Assessment (10^9/L)", "float"),
    "platelets": ("PLAT", "Platelets at Assessment (10^9/L)", "float"),
    "mrd_pct": ("MRDPCT", "Minimal Residual Disease (%)", "float"),
    "cd19_pct": ("CD19PCT", "CD19+ Malignant Cells (%)", "float"),
    "cd22_pct": ("CD22PCT", "CD22+ Malignant Cells (%)", "float"),
    "serum_ife": ("SIFE", "Serum Immunofixation", "text"),
    "urine_ife": ("UIFE", "Urine Immunofixation", "text"),
    "marrow_pc_pct": ("BMPC", "Bone Marrow Plasma Cells (%)", "float"),
    "clonal_pc": ("CLONPC", "Clonal Plasma Cells Present", "flag"),
    "plasmacytoma_spd_mm2": ("PLSPD", "Plasmacytoma SPD (mm2)", "float"),
    "mrd_result": ("MRDRES", "MRD Result", "text"),
    "mrd_sensitivity": ("MRDSENS", "MRD Assay Sensitivity", "float"),
    # CLL, iwCLL 2018 (Hallek M et al., Blood 2018;131:2745, Table 4 groups A and B)
    "node_max_ldi_mm": ("NODELDI", "Largest Lymph Node Longest Diameter (mm)", "float"),
    "spleen_cm": ("SPLEENCM", "Spleen Craniocaudal Length (cm)", "float"),
    "liver_cm": ("LIVERCM", "Liver Below Costal Margin (cm)", "float"),
    "b_symptoms": ("BSYMPT", "Constitutional (B) Symptoms Present", "flag"),
    "marrow_cll_pct": ("BMCLL", "Bone Marrow CLL Cells (%)", "float"),
    "marrow_nodules": ("BMNODUL", "Bone Marrow B-Lymphoid Nodules Present", "flag"),
    "richter_transformation": ("RICHTER", "Richter Transformation Documented", "flag"),
}
SPD_TESTCD = "SPD"
LESION_TESTS = {"ldi_mm": ("LDIAM", "Longest Diameter"), "sdi_mm": ("LPERP", "Longest Perpendicular")}
