"""The study data model: which tables a study holds, their columns, keys and rules.

This module is the contract between the files a user writes and every later
stage. It is declarative on purpose: the loader and the validator read these
specs; nothing else hard-codes a column name list.

Conventions (see ../../../README.md and ARCHITECTURE.md):

* Long, tidy tables, one fact per row.
* Day 0 is the day of the CAR-T infusion of that episode (CAR-T convention;
  CDISC study days have no day 0 and are converted at the boundary only).
  Every table with a ``day`` column may give ``date`` instead (or both); the
  loader derives the missing one from ``infusions.infusion_date`` once.
* Units: each analyte has one canonical unit (see ``vocabulary.ANALYTES``);
  other accepted units are converted at load, unknown units are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Column types understood by the loader.
STR = "str"
INT = "int"
FLOAT = "float"
BOOL = "bool"
DATE = "date"


@dataclass(frozen=True)
class Column:
    """One column of a study table.

    ``vocabulary`` names a controlled vocabulary in ``cartkit.study.vocabulary``
    (values are matched case-insensitively and stored in canonical spelling).
    ``min``/``max`` are inclusive bounds for numbers (the "impossible values"
    rule). ``required`` columns must be present and non-empty on every row.
    """

    name: str
    dtype: str
    required: bool = False
    vocabulary: str | None = None
    min: float | None = None
    max: float | None = None
    description: str = ""
    # the vocabulary is not enforced on a row where one of these columns is given: the row is coded
    # in a dictionary of its own (adverse_events.term on a MedDRA-coded row, docs/criteria.md "MedDRA")
    open_if: tuple[str, ...] = ()
    # the spellings that need no cleaning, for a text column that is not a vocabulary but whose values
    # usually come from a known list ("units": the canonical unit spellings): when every value is one
    # of them the column is kept as it is with its Enum codes (cartkit.study.coerce), else cleaned
    spellings: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = True
    # Tables whose rows sit on a day relative to an infusion: they may give
    # ``day`` or ``date`` (at least one); both are present after loading.
    day_or_date: bool = False
    # At least one of these columns must be non-empty on each row.
    one_of: tuple[str, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


_EPISODE_KEY = (
    Column("patient_id", STR, required=True, description="patient identifier, as in patients"),
    Column("episode", INT, required=True, min=1, description="1 for the first CAR-T infusion, 2 for the next"),
)
_DAY = (
    Column("day", INT, min=-60, max=3650, description="days from this episode's infusion (day 0)"),
    Column("date", DATE, description="calendar date; alternative to day"),
)

PATIENTS = Table(
    "patients",
    "Baseline characteristics, one row per patient (seed Table 1).",
    (
        Column("patient_id", STR, required=True),
        Column("age", FLOAT, required=True, min=0, max=120, description="years at first infusion"),
        Column("sex", STR, required=True, vocabulary="sex"),
        Column("diagnosis", STR, required=True, vocabulary="diagnosis"),
        Column("subtype", STR, description="immune subtype: GCB, non-GCB, common B, Ph+, pro-B ..."),
        Column("stage", STR, vocabulary="stage", description="Ann Arbor stage I-IV (lymphoma)"),
        Column("disease_status", STR, vocabulary="disease_status"),
        Column("ipi", INT, min=0, max=5, description="International Prognostic Index (lymphoma)"),
        Column("marrow_blasts_pct", FLOAT, min=0, max=100, description="marrow blasts % (B-ALL)"),
        Column("prior_lines", INT, min=0, max=50, description="number of prior therapies"),
        Column("weight_kg", FLOAT, min=0.5, max=400),
        # Trial milestones before the first infusion (docs/plan.md "Populations"): the time origins of
        # intention-to-treat endpoints. A patient with no infusions row was never infused: say why in
        # never_infused_reason (or give the arm they were randomised to; study/integrity.py).
        Column("enrolment_date", DATE, description="date of enrolment (consent / registration)"),
        Column("leukapheresis_date", DATE, description="date of leukapheresis (cell collection)"),
        Column("arm", STR, description="randomised or assigned arm, e.g. 'CAR-T' or 'standard of care'"),
        Column("randomisation_date", DATE, description="date of randomisation (randomised trials)"),
        Column("never_infused_reason", STR, vocabulary="never_infused_reason",
               description="why a patient with no CAR-T infusion was never infused"),
        Column("per_protocol", BOOL, description="in the per-protocol set (as the protocol defines it)"),
    ),
    key=("patient_id",),
)

INFUSIONS = Table(
    "infusions",
    "One CAR-T infusion (episode) per row.",
    (
        *_EPISODE_KEY,
        Column("product", STR, required=True, description="product label used by the plan, e.g. 'CD19 CAR-T'"),
        Column("target", STR, required=True, vocabulary="target"),
        Column("infusion_date", DATE, required=True, description="day 0 of the episode"),
        Column("dose_1e6_per_kg", FLOAT, min=0, max=1000, description="CAR+ cells infused, 10^6/kg"),
        Column("transduction_pct", FLOAT, min=0, max=100, description="CAR transduction efficiency of the product, %"),
        Column("harvest_1e6_per_kg", FLOAT, min=0, max=10000, description="CAR-T cells harvested, 10^6/kg"),
        Column("lymphodepletion", STR, description="e.g. 'Flu 30 mg/m2 + Cy 400 mg/m2, d-4 to d-2'"),
        Column("bridging_therapy", STR, description="therapy between leukapheresis and lymphodepletion, "
               "e.g. 'R-GemOx' or 'none'"),
        Column("dose_level", STR, description="dose level or cohort label, e.g. 'DL2' (dose escalation)"),
    ),
    key=("patient_id", "episode"),
)

MEASUREMENTS = Table(
    "measurements",
    "Serial laboratory values, vital signs and CAR-T kinetics: one value of one analyte on one day.",
    (
        *_EPISODE_KEY,
        *_DAY,
        Column("time", STR, description="optional clock time HH:MM when an analyte is measured more than once a day"),
        Column("analyte", STR, required=True, vocabulary="analyte"),
        Column("value", FLOAT, description="empty only when blq is true or the result is qualified (>x)"),
        Column("unit", STR, required=True, spellings="units",
               description="converted to the analyte's canonical unit at load"),
        Column("blq", BOOL, description="below the limit of quantification"),
        Column("lloq", FLOAT, min=0, description="lower limit of quantification, in the row's unit"),
        Column("uloq", FLOAT, min=0, description="upper limit of quantification, in the row's unit (a "
               "result written >x: uloq = x, value empty)"),
        Column("qualifier", STR, description="how a result outside the assay's range was written: <, <=, "
               ">, >=, or ND (below an unstated limit); set from value at load (cartkit.study.qualified), "
               "or given beside a number (< and 0.5)"),
        Column("value_text", STR, description="a qualified result as written (<0.5, BLQ, >100000); set at "
               "load, exported as the SDTM --ORRES"),
        Column("lln", FLOAT, min=0, description="the laboratory's lower limit of normal, in the row's unit "
               "(CTCAE grade 1 of blood counts starts below it)"),
        Column("uln", FLOAT, min=0, description="the laboratory's upper limit of normal, in the row's unit "
               "(IEC-HS ferritin and transaminase thresholds are multiples of it)"),
    ),
    key=("patient_id", "episode", "analyte", "day", "time"),
    day_or_date=True,
)

SUPPORT = Table(
    "support",
    "Supportive care given on a day: vasopressors, oxygen, tocilizumab, steroids, antipyretics, "
    "platelet transfusions (kind platelet_transfusion; dose = units given, optional).",
    (
        *_EPISODE_KEY,
        *_DAY,
        Column("kind", STR, required=True, vocabulary="support_kind"),
        Column("agent", STR, description="drug name, e.g. norepinephrine, dexamethasone"),
        Column("dose", FLOAT, min=0),
        Column("dose_unit", STR),
        Column("o2_device", STR, vocabulary="o2_device"),
        Column("o2_flow_l_min", FLOAT, min=0, max=80),
        Column("fio2_pct", FLOAT, min=21, max=100),
    ),
    key=("patient_id", "episode", "day", "kind", "agent"),
    required=False,
    day_or_date=True,
)

NEURO = Table(
    "neuro",
    "Neurological assessments for ICANS (ASTCT 2019 domains).",
    (
        *_EPISODE_KEY,
        *_DAY,
        Column("ice_score", INT, min=0, max=10, description="empty when the patient cannot be assessed"),
        Column("consciousness", STR, vocabulary="consciousness"),
        Column("seizure", STR, vocabulary="seizure"),
        Column("motor", STR, vocabulary="motor"),
        Column("raised_icp", STR, vocabulary="raised_icp"),
        Column("capd_score", INT, min=0, max=32, description="Cornell Assessment of Pediatric Delirium, "
               "children < 12 y (ASTCT 2019, used instead of ICE); empty when not assessed"),
    ),
    key=("patient_id", "episode", "day"),
    required=False,
    day_or_date=True,
)

ASSESSMENTS = Table(
    "assessments",
    "Response assessments: inputs to Lugano / B-ALL criteria and/or the recorded response. Episode 0 is the "
    "patient's randomised treatment before any CAR-T infusion (the standard-of-care arm of a randomised trial), "
    "its day 0 the patients.randomisation_date (docs/plan.md \"Responses to standard of care\").",
    (
        _EPISODE_KEY[0],
        Column("episode", INT, required=True, min=0,
               description="1 for the first CAR-T infusion, 2 for the next; 0 for the randomised treatment "
               "before any CAR-T infusion (standard of care), dated from randomisation"),
        Column("day", INT, min=-60, max=3650, description="days from this episode's infusion (day 0); episode 0: "
               "days from randomisation"),
        _DAY[1],
        Column("method", STR, required=True, vocabulary="assessment_method"),
        Column("response", STR, vocabulary="response", description="investigator-recorded response"),
        Column("deauville", INT, min=1, max=5),
        Column("uptake_vs_baseline", STR, vocabulary="uptake"),
        Column("spd_mm2", FLOAT, min=0, description="sum of products of perpendicular diameters"),
        Column("new_lesions", BOOL),
        Column("marrow_blasts_pct", FLOAT, min=0, max=100),
        Column("circulating_blasts", BOOL),
        Column("extramedullary", BOOL),
        Column("anc", FLOAT, min=0, max=500, description="10^9/L"),
        Column("platelets", FLOAT, min=0, max=5000, description="10^9/L"),
        Column("mrd_pct", FLOAT, min=0, max=100, description="minimal residual disease, % of nucleated cells"),
        Column("cd19_pct", FLOAT, min=0, max=100, description="CD19+ % of malignant cells by flow (seed Fig 1)"),
        Column("cd22_pct", FLOAT, min=0, max=100, description="CD22+ % of malignant cells by flow (seed Fig 1)"),
        # multiple myeloma, IMWG 2016 (Kumar 2016 Table 2; M-protein and FLC are measurements analytes)
        Column("serum_ife", STR, vocabulary="ife", description="serum immunofixation (myeloma)"),
        Column("urine_ife", STR, vocabulary="ife", description="urine immunofixation (myeloma)"),
        Column("marrow_pc_pct", FLOAT, min=0, max=100, description="marrow plasma cells, % (myeloma)"),
        Column("clonal_pc", BOOL, description="clonal plasma cells in marrow by IHC or flow (myeloma sCR)"),
        Column("plasmacytoma_spd_mm2", FLOAT, min=0,
               description="soft-tissue plasmacytomas, sum of products of diameters; 0 = none (myeloma)"),
        Column("mrd_result", STR, vocabulary="mrd_result", description="myeloma MRD by NGS or NGF"),
        Column("mrd_sensitivity", FLOAT, min=1e-8, max=1e-2, description="MRD assay sensitivity, e.g. 1e-5"),
        # CLL, iwCLL 2018 (Hallek 2018 Table 4; lymphocytes, haemoglobin, platelets and neutrophils are
        # measurements analytes of the same day, or the anc/platelets columns above; nodes' SPD is spd_mm2)
        Column("node_max_ldi_mm", FLOAT, min=0, max=500,
               description="longest diameter of the largest lymph node, mm (CLL)"),
        Column("spleen_cm", FLOAT, min=0, max=50, description="spleen craniocaudal length, cm (CLL; normal < 13)"),
        Column("liver_cm", FLOAT, min=0, max=40, description="liver below the costal margin, cm; 0 = normal (CLL)"),
        Column("b_symptoms", BOOL, description="disease-related constitutional (B) symptoms: weight loss, fever, night sweats, fatigue (CLL)"),
        Column("marrow_cll_pct", FLOAT, min=0, max=100, description="marrow CLL cells, % of nucleated cells (CLL)"),
        Column("marrow_nodules", BOOL, description="B-lymphoid nodules in the marrow biopsy (CLL)"),
        Column("richter_transformation", BOOL,
               description="Richter transformation documented by histology at this assessment (CLL; PD)"),
    ),
    key=("patient_id", "episode", "day", "method"),
    day_or_date=True,
)

LESIONS = Table(
    "lesions",
    "Target lesion diameters for Lugano CT response (up to 6 per assessment).",
    (
        *_EPISODE_KEY,
        *_DAY,
        Column("lesion_id", STR, required=True),
        Column("ldi_mm", FLOAT, required=True, min=0, max=500, description="longest diameter"),
        Column("sdi_mm", FLOAT, required=True, min=0, max=500, description="shortest perpendicular diameter"),
    ),
    key=("patient_id", "episode", "day", "lesion_id"),
    required=False,
    day_or_date=True,
)

INFECTIONS = Table(
    "infections",
    "Infections after CAR-T, one per row: onset day, organism class and site, severity (Hill JA et al., Blood "
    "2018;131:121; docs/criteria.md \"Infections\").",
    (
        *_EPISODE_KEY,
        *_DAY,
        Column("organism_class", STR, required=True, vocabulary="organism_class",
               description="bacterial, viral, fungal or other (other: parasitic, or no organism identified)"),
        Column("organism", STR, description="the organism as reported, e.g. 'Escherichia coli', 'CMV'"),
        Column("site", STR, required=True, vocabulary="infection_site"),
        Column("grade", INT, min=1, max=5, description="severity: CTCAE grade of the infection, 1-5"),
        Column("grading_system", STR, vocabulary="grading_system", description="system of the grade"),
    ),
    key=("patient_id", "episode", "day", "organism_class", "site", "organism"),
    required=False,
    day_or_date=True,
)

ADVERSE_EVENTS = Table(
    "adverse_events",
    "One adverse event term per episode with its worst grade (seed Table 2). The term is from cartkit's "
    "short list (or the plan's extra_ae_terms), or any term on a row coded in MedDRA.",
    (
        *_EPISODE_KEY,
        Column("term", STR, required=True, vocabulary="ae_term", open_if=("meddra_pt", "meddra_pt_code"),
               description="adverse event term; any term (the verbatim or reported term) on a MedDRA-coded row"),
        Column("grade", INT, required=True, min=0, max=5),
        Column("grading_system", STR, vocabulary="grading_system", description="system of the recorded grade"),
        Column("onset_day", INT, min=-60, max=3650),
        Column("resolution_day", INT, min=-60, max=3650),
        # MedDRA coding as the user's data give it (MedDRA is licensed: no dictionary ships; the coding
        # is checked for consistency, study/meddra.py, docs/criteria.md "Adverse events in MedDRA")
        Column("meddra_pt", STR, description="MedDRA preferred term (name)"),
        Column("meddra_pt_code", STR, description="MedDRA preferred term code (8 digits)"),
        Column("meddra_soc", STR, description="MedDRA primary system organ class (name)"),
        Column("meddra_soc_code", STR, description="MedDRA primary system organ class code (8 digits)"),
    ),
    key=("patient_id", "episode", "term"),
)

EVENTS = Table(
    "events",
    "Follow-up events: progression, relapse, HSCT, death, last contact, second primary malignancies. Give date, "
    "or episode and day.",
    (
        Column("patient_id", STR, required=True),
        Column("kind", STR, required=True, vocabulary="event_kind"),
        Column("episode", INT, min=1, description="episode the day is counted from"),
        Column("day", INT, min=-60, max=36500),
        Column("date", DATE),
        Column("detail", STR, description="free text: cause of death, HSCT type, CD19-negative relapse, the type "
               "of a second primary malignancy ..."),
    ),
    key=("patient_id", "kind", "date"),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (PATIENTS, INFUSIONS, MEASUREMENTS, SUPPORT, NEURO, ASSESSMENTS, LESIONS, ADVERSE_EVENTS, INFECTIONS,
              EVENTS)
}
