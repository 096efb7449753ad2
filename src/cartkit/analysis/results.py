"""What the analysis stage hands to the report: named tidy tables and scalars.

This is the contract between ``cartkit.analysis`` (which fills it from a
derived study) and ``cartkit.report`` (which draws and writes it). Every
table is a Polars DataFrame; a section that does not apply to a study (one
product, no survival data ...) is ``None`` with a reason in ``omitted``.

Tables and their columns (all optional columns may be null):

study            one row: id, title, reference, data_cutoff (str), n_patients, n_episodes,
                 products (str, '; '-joined), diseases (str)
table1           characteristic, level, group, value (formatted text), n, stat ("median_iqr",
                 "mean_sd", "n_pct"); group is a disease or "All"
responses        patient_id, diagnosis, episode, product, best_response, response_day,
                 source ("recorded" | "derived"), relapse_day, hsct (bool)
response_rates   product, diagnosis, n, orr_n, orr, orr_lower, orr_upper, cr_n, cr, cr_lower, cr_upper
                 (rates as proportions 0-1; Clopper-Pearson 95% CI)
next_study       (only with [plan.next_study]) group, responders, n, orr, orr_lower, orr_upper, p1_at,
                 p0, p1, design, r1, n1, r, n_total, en_p0, alpha, power, single_stage_r,
                 single_stage_n, note, message  (Simon designs planned from the observed ORR)
table2           section, term, label, product, diagnosis, n, N, pct  (pct 0-100); CRS/ICANS
                 grade rows have section "CRS"/"ICANS" and term "grade 0".."grade 5"
comparisons      family (e.g. "kinetics", "cytokine", "toxicity"), measure (e.g. "CAR-T % peak"),
                 unit, summary_a, summary_b (formatted), product_a, product_b, n_a, n_b,
                 method, statistic, pvalue, why (text: why this test), paired_method,
                 paired_pvalue, published_p (float or null)
kinetic_curves   product, analyte, day, n, median, q1, q3, mean, sd
kinetic_values   patient_id, episode, product, diagnosis, analyte, day, value  (per patient lines)
kinetic_params   patient_id, episode, product, diagnosis, analyte, cmax, tmax, auc_partial,
                 half_life, ...
ck_model         patient_id, episode, product, diagnosis, analyte, converged, reason, n_points, and
                 cmax, tmax, foldx, alpha each with _lower/_upper (Stein 2019 model fits)
survival_curves  endpoint ("PFS"|"OS"), censoring ("censor at HSCT"|"HSCT not censored"),
                 group, time (days), n_risk, n_event, n_censor, survival, lower, upper
                 (one row at time 0 with survival 1 per group first)
at_risk          endpoint, censoring, group, time (tick, days), n_risk
logrank          endpoint, censoring, statistic, df, pvalue, landmark_day, and per group
                 landmark survival in columns "landmark_<group>"
swimmer          patient_id, diagnosis, episode, product, start_day, end_day  (days from the
                 patient's first infusion), best_response
swimmer_events   patient_id, kind (response label, "relapse", "progression", "hsct", "death",
                 "last_contact", "infusion"), day (from first infusion), label
grade_counts     toxicity ("CRS", "ICANS", "Neutropenia", "Anemia", "Thrombocytopenia",
                 "Leukopenia"), product, grade (int), n
grade_compare    toxicity, system, method, pvalue, published_p, note
grading_systems  patient_id, episode, product, toxicity, system, grade  (same event, several
                 systems side by side: CTCAE v4.03 recorded vs ASTCT 2019 derived ...)
disagreements    patient_id, episode, item, recorded, derived, note
antigen_expression  patient_id, diagnosis, episode, product, antigen ("CD19" | "CD22"), day, pct
                 (last assessment on or before the infusion day; seed Figure 1)
infusion_products   product, diagnosis (or "All"), characteristic, label, unit, episodes, n, missing,
                 mean, sd, median, q1, q3, min, max  (dose, transduction, harvest)
toxicity_treatment  product, treatment, agent, episodes, episodes_treated, patients, patients_treated,
                 administrations, days_given_*, dose_unit, total_dose_*, first_day_* (median, min, max)
syndrome_course  patient_id, episode, product, diagnosis, toxicity ("CRS" | "ICANS"), grade, onset_day,
                 duration_days, system, source
syndrome_course_summary  product, toxicity, episodes, graded, with_event, onset_*, duration_* (n, median,
                 min, max), systems, sources
follow_up        patient_id, diagnosis, status ("died", "alive at cut-off", "lost to follow-up", ...),
                 cause_of_death, last_known_date, days_from_first_infusion, days_before_cutoff
follow_up_summary  diagnosis (or "All"), status, cause_of_death, n, N
reproduction     key, section, description, published (text), computed (text), status
                 ("agrees" | "differs" | "not computed"), reason
methods          item, text     (Methods written from what actually ran)
warnings         text
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

TABLE_NAMES: tuple[str, ...] = (
    "study",
    "baseline",
    "responses",
    "response_rates",
    "adverse_event_incidence",
    "comparisons",
    "kinetic_curves",
    "kinetic_values",
    "kinetic_params",
    "ck_model",
    "survival_curves",
    "at_risk",
    "logrank",
    "swimmer",
    "swimmer_events",
    "grade_counts",
    "grade_compare",
    "grading_systems",
    "disagreements",
    "antigen_expression",
    "infusion_products",
    "toxicity_treatment",
    "syndrome_course",
    "syndrome_course_summary",
    "follow_up",
    "follow_up_summary",
    "reproduction",
    "methods",
    "warnings",
)


@dataclass
class Results:
    tables: dict[str, pl.DataFrame | None] = field(default_factory=dict)
    # section name -> reason it was left out ("one product only: no product comparison")
    omitted: dict[str, str] = field(default_factory=dict)
    # software versions and run facts for the Methods section
    software: dict[str, str] = field(default_factory=dict)
    # input files (size, SHA-256), cartkit version and plan as run (cartkit.study.provenance.Provenance)
    provenance: Any = None

    def get(self, name: str) -> pl.DataFrame | None:
        return self.tables.get(name)
