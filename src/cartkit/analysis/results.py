"""What the analysis stage hands to the report: named tidy tables and scalars.

This is the contract between ``cartkit.analysis`` (which fills it from a
derived study) and ``cartkit.report`` (which draws and writes it). Every
table is a Polars DataFrame; a section that does not apply to a study (one
product, no survival data ...) is ``None`` with a reason in ``omitted``. Each
table's columns and dtypes are ``SCHEMAS`` below, checked when the analysis
stores the table (``Results.store``).

Tables and their columns (all optional columns may be null):

study            one row: id, title, reference, data_cutoff (str), n_patients, n_episodes,
                 products (str, '; '-joined), diseases (str)
comparison_groups  one row per comparison the plan names ([[plan.comparison]]): by, group_a, group_b,
                 patients_a/_b, episodes_a/_b, n_pairs (patients in both), paired ("yes (...)" | "no (...)"),
                 comparison (its label, "CD19 CAR-T vs CD22 CAR-T")
table1           characteristic, level, group, value (formatted text), n, stat ("median_iqr",
                 "mean_sd", "n_pct"); group is a disease or "All"
responses        patient_id, diagnosis, episode, product, best_response, response_day,
                 source ("recorded" | "derived"), relapse_day, hsct (bool)
response_rates   product, diagnosis, n, orr_n, orr, orr_lower, orr_upper, cr_n, cr, cr_lower, cr_upper
                 (rates as proportions 0-1; Clopper-Pearson CI at Results.confidence_level)
planned_responses  (only with [plan.response_days]) patient_id, diagnosis, episode, product, planned_day,
                 assessment_day, response (the assessment nearest the planned day within +/- response_window;
                 null: not assessed), follow_up_reached (false: not assessed, follow-up had not reached the day)
planned_response_rates  product, diagnosis, planned_day, n, assessed, orr_n, orr, orr_lower, orr_upper, cr_n,
                 cr, cr_lower, cr_upper, not_reached (not assessed counts as not responding; follow-up not
                 reached at the day: left out of n, counted in not_reached; Clopper-Pearson CIs)
population_response_rates  (populations with patients never infused: ITT) population, group_by ("arm" |
                 "product" | "all"), group, diagnosis, planned_day (null: best overall response), n,
                 n_infused, n_never_infused (non-responders), not_reached, orr_n, orr, orr_lower, orr_upper,
                 cr_n, cr, cr_lower, cr_upper, note (a control arm: how it is counted, or why no rate)
population_response_tests  (a control arm with responses to its own treatment) population, diagnosis, measure
                 ("ORR" | "CR rate"), comparison ("A vs control"), reference, n_a, x_a, n_b, x_b, difference
                 (A - control), difference_lower, difference_upper (Newcombe), interval, method, pvalue
                 (plan.analysis: Fisher exact; as_published: the seed's counts rule)
population_disease_responses  (ITT populations with myeloma or CLL patients) population, criteria, group (arm),
                 diagnosis, category (as disease_responses, and "never infused"), n, N (the arm's patients)
disease_responses  (myeloma and CLL patients only) criteria ("IMWG 2016" | "iwCLL 2018"), product, diagnosis,
                 category (sCR ... PD, "not evaluable", the MRD-negative CR row), n, N (episodes)
next_study       (only with [plan.next_study]) group, responders, n, orr, orr_lower, orr_upper, p1_at,
                 p0, p1, design, r1, n1, r, n_total, en_p0, alpha, power, single_stage_r,
                 single_stage_n, note, message  (Simon designs planned from the observed ORR)
table2           section, term, label, product, diagnosis, n, N, pct  (pct 0-100); CRS/ICANS
                 grade rows have section "CRS"/"ICANS" and term "grade 0".."grade 5". MedDRA-coded
                 (adverse_event_incidence): section is the SOC, level "soc" (the SOC's own row) or "pt",
                 soc_code, pt_code, n_grade3, pct_grade3 (grade >= 3) besides n, pct (any grade)
comparisons      family (e.g. "kinetics", "cytokine", "toxicity"), measure (e.g. "CAR-T % peak"),
                 unit, summary_a, summary_b (formatted), group_a, group_b, n_a, n_b,
                 method, statistic, pvalue, why (text: why this test), paired_method,
                 paired_pvalue, n_pairs, key, comparison (the plan's comparison, or "responders vs
                 non-responders, <product>")
kinetic_curves   product, analyte, day, n, median, q1, q3, mean, sd
kinetic_values   patient_id, episode, product, diagnosis, analyte, day, value  (per patient lines)
kinetic_params   patient_id, episode, product, diagnosis, analyte, cmax, tmax, auc_partial,
                 half_life, ...
ck_model         patient_id, episode, product, diagnosis, analyte, converged, reason, n_points, and
                 cmax, tmax, foldx, alpha each with _lower/_upper (Stein 2019 model fits)
survival_curves  endpoint ("PFS"|"OS"), censoring (an HsctRule label, study/plan_endpoint.py),
                 group, time (days), n_risk, n_event, n_censor, survival, lower, upper
                 (one row at time 0 with survival 1 per group first)
at_risk          endpoint, censoring, group, time (tick, days), n_risk
logrank          endpoint, censoring, statistic, df, pvalue, landmark_day, and per group
                 landmark survival in columns "landmark_<group>", the Kaplan-Meier median and its 95% CI
                 ("km_median_<group>", "km_median_lower_<group>", "km_median_upper_<group>"); with two
                 groups the Cox hazard ratio hr, hr_lower, hr_upper, hr_pvalue, hr_comparison, hr_warning
swimmer          patient_id, diagnosis, episode, product, start_day, end_day  (days from the
                 patient's first infusion), best_response
swimmer_events   patient_id, kind (response label, "relapse", "progression", "hsct", "death",
                 "last_contact", "infusion"), day (from first infusion), label
iec_hs_summary   product, diagnosis, episodes, graded, n_any (IEC-HS grade >= 1), n_grade3, onset_median,
                 onset_min, onset_max, sources (ASTCT 2023; recorded, else derived)
iec_hs           patient_id, episode, product, diagnosis, grade, onset_day, features (at onset), system, source
infection_density  product, diagnosis, window ("early" | "late"), first_day, last_day, episodes, patient_days
                 (at risk), infections, episodes_with_infection, density (per 100 patient-days; Hill 2018)
infections_by_type product, diagnosis, organism_class, site, infections, episodes, grade3
hypogammaglobulinaemia product, diagnosis, episodes, igg_measured, n_low (IgG nadir < threshold),
                 n_replacement (immunoglobulin given), nadir_median/_min/_max (mg/dL), threshold_mg_dl
neurotoxicities  product, diagnosis, event (MNT, cranial nerve palsy), n, N, n_grade3, onset_median/_min/_max
second_malignancies  patient_id, diagnosis, kind (second_malignancy | t_cell_malignancy), day (from first
                 infusion), detail, products
second_malignancy_summary  diagnosis, kind, n (patients), N (infused), day_median/_min/_max
grade_counts     toxicity ("CRS", "ICANS", "Neutropenia", "Anemia", "Thrombocytopenia",
                 "Leukopenia"), product, grade (int), n
grade_compare    toxicity, system, group_a, group_b, n_a, n_b (graded episodes), n_pairs, method, pvalue,
                 why, fisher_pvalue, chisq_pvalue, paired_method, paired_pvalue, paired_statistic, paired_df
                 (Bowker's X^2 and its df), note, comparison
recommended_comparisons  one row per measure, toxicity, response rate (per disease) and adverse event of
                 each comparison: table ("measures" | "grades" | "responses" | "adverse events"), family,
                 measure, unit, key, group_a/_b, n_a/_b, n_pairs, paired, summary_a/_b, method, statistic,
                 pvalue, convention, effect, estimate, lower, upper, ci_method, level, also_method/_pvalue,
                 sensitivity_method/_statistic/_pvalue, p_adjusted, adjust_method, adjust_family,
                 family_size, published_method, published_pvalue, published_p_adjusted, primary
                 ("recommended" | "as published": plan.analysis), differs (the conclusions at alpha
                 differ), reason, note, comparison  (analysis/recommended_comparison.py)
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
cross_reference  id (a report section or figure id), label (the publication's number for it: "Table 1");
                 from published.toml [cross_reference]
methods          item, text     (Methods written from what actually ran)
warnings         text
populations      population, label, rule, primary, arm ("All" first, then each arm), n, n_infused,
                 n_never_infused, n_episodes  ([[plan.population]]; one population is primary)
never_infused    arm, never_infused_reason ("not given" when empty), n
vein_to_vein     patient_id, episode, product, leukapheresis_date, infusion_date, vein_to_vein_days
endpoint_times   population, endpoint, patient_id, episode, group, origin_date, date, days, event,
                 status (0 censored, 1 event, 2 competing HSCT), reason  ([[plan.endpoint]])
endpoint_curves  population, endpoint, censoring, group, time, n_risk, n_event, n_censor, survival,
                 lower, upper, time_unit  (a row at time 0 first per group)
endpoint_summary population, population_n, primary, endpoint, label, origin, censoring, group, n,
                 events, median, median_lower, median_upper (NaN: not reached), time_unit, conf_type
endpoint_tests   population, population_n, primary, endpoint, origin, censoring, group_by, n, events,
                 logrank_statistic, logrank_df, logrank_pvalue, comparison ("<group> vs <reference>"),
                 reference, hr, hr_lower, hr_upper, hr_pvalue (Cox, Efron ties, Wald), warning (under 10
                 events per covariate), note
mrd_landmark_status  ([plan.mrd_landmark], analysis/mrd_landmark.py) patient_id, episode, product, diagnosis,
                 landmark_day, mrd_status (MRD-negative | MRD-positive | not evaluable), group (as analysed),
                 first_negative_day, included, reason (why left out), time (from the landmark), event, time_unit
mrd_landmark     diagnosis, landmark_day, endpoint, group, n_at_landmark, n, events, median, median_lower,
                 median_upper, time_unit, conf_type, mrd_rule, logrank_statistic, logrank_df, logrank_pvalue, note
mrd_landmark_curves  diagnosis, group, time (from the landmark), n_risk, n_event, n_censor, survival, lower,
                 upper, time_unit;  mrd_landmark_at_risk  diagnosis, group, time, n_risk, time_unit
endpoint_cif     (endpoints with hsct = "competing") population, population_n, primary, endpoint, cause,
                 competing, group, day, time, time_unit, n, events, competing_events, estimate, variance,
                 lower, upper  (Aalen-Johansen cumulative incidence at the endpoint's timepoints)
endpoint_cif_tests  population, population_n, primary, endpoint, cause, competing, n, events, statistic,
                 df, pvalue, note  (Gray's test between groups)
endpoint_cif_curves  population, endpoint, curve (the cause or a competing event), cause (bool), group,
                 time, estimate, lower, upper, time_unit  (a row at time 0 first per group)
endpoint_hsct_cox   population, population_n, primary, endpoint, n, events, n_hsct, events_after_hsct,
                 left_out, hr, hr_lower, hr_upper, hr_pvalue, score_statistic, score_pvalue (Mantel-Byar),
                 warning, note  (HSCT as a time-dependent covariate)
endpoint_simon_makuch  population, endpoint, state ("no HSCT" | "HSCT"), time, n_risk, n_event, n_censor,
                 survival, lower, upper, time_unit, conf_type
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

# One schema per result table: column -> dtype ("str", "int", "float", "bool", "date"). A table is
# checked against it when it is stored (``Results.store``): every column listed must be there with
# its dtype, and no other column, except the optional ones (``?name``) and the per-group columns
# of a pattern (``landmark_*``). A column with no values at all (dtype Null) passes any dtype.
_COMPARISON = "comparison:str"
SCHEMAS: dict[str, str] = {
    "study": "id:str title:str reference:str data_cutoff:str n_patients:int n_episodes:int products:str "
             "diseases:str",
    "comparison_groups": "by:str group_a:str group_b:str patients_a:int patients_b:int episodes_a:int "
                         f"episodes_b:int n_pairs:int paired:str {_COMPARISON}",
    "baseline": "characteristic:str level:str group:str value:str n:int stat:str",
    "responses": "patient_id:str diagnosis:str episode:int product:str best_response:str response_day:int "
                 "source:str relapse_day:int hsct:bool",
    "response_rates": "product:str diagnosis:str n:int orr_n:int orr:float orr_lower:float orr_upper:float "
                      "cr_n:int cr:float cr_lower:float cr_upper:float",
    "planned_responses": "patient_id:str diagnosis:str episode:int product:str planned_day:int assessment_day:int "
                         "response:str ?follow_up_reached:bool",
    "planned_response_rates": "product:str diagnosis:str planned_day:int n:int assessed:int orr_n:int orr:float "
                              "orr_lower:float orr_upper:float cr_n:int cr:float cr_lower:float cr_upper:float "
                              "?not_reached:int",
    # response rates on a population with patients never infused (ITT; analysis/responses.py)
    "population_response_rates": "population:str group_by:str group:str diagnosis:str planned_day:int n:int "
                                 "n_infused:int n_never_infused:int not_reached:int orr_n:int orr:float "
                                 "orr_lower:float orr_upper:float cr_n:int cr:float cr_lower:float cr_upper:float "
                                 "note:str",
    "population_response_tests": "population:str diagnosis:str measure:str comparison:str reference:str n_a:int "
                                 "x_a:int n_b:int x_b:int difference:float difference_lower:float "
                                 "difference_upper:float interval:str method:str pvalue:float",
    "disease_responses": "criteria:str product:str diagnosis:str category:str n:int N:int",
    "population_disease_responses": "population:str criteria:str group:str diagnosis:str category:str n:int N:int",
    "next_study": "group:str responders:int n:int orr:float orr_lower:float orr_upper:float p1_at:str p0:float "
                  "p1:float design:str r1:int n1:int r:int n_total:int en_p0:float alpha:float power:float "
                  "single_stage_r:int single_stage_n:int note:str message:str",
    "adverse_event_incidence": "section:str term:str label:str product:str diagnosis:str n:int N:int pct:float "
                               "?level:str ?soc_code:str ?pt_code:str ?n_grade3:int ?pct_grade3:float",
    "grade_counts": "toxicity:str product:str grade:int n:int",
    # IEC-HS (analysis/iec_hs.py, derive/iec_hs.py)
    "iec_hs_summary": "product:str diagnosis:str episodes:int graded:int n_any:int n_grade3:int onset_median:float "
                      "onset_min:int onset_max:int sources:str",
    "iec_hs": "patient_id:str episode:int product:str diagnosis:str grade:int onset_day:int features:str system:str "
              "source:str",
    # infections, hypogammaglobulinaemia, late effects (analysis/infections.py, hypogammaglobulinaemia.py,
    # late_effects.py)
    "infection_density": "product:str diagnosis:str window:str first_day:int last_day:int episodes:int "
                         "patient_days:int infections:int episodes_with_infection:int density:float",
    "infections_by_type": "product:str diagnosis:str organism_class:str site:str infections:int episodes:int "
                          "grade3:int",
    "hypogammaglobulinaemia": "product:str diagnosis:str episodes:int igg_measured:int n_low:int n_replacement:int "
                              "nadir_median:float nadir_min:float nadir_max:float threshold_mg_dl:float",
    "neurotoxicities": "product:str diagnosis:str event:str n:int N:int n_grade3:int onset_median:float "
                       "onset_min:int onset_max:int",
    "second_malignancies": "patient_id:str diagnosis:str kind:str day:int detail:str products:str",
    "second_malignancy_summary": "diagnosis:str kind:str n:int N:int day_median:float day_min:int day_max:int",
    "grade_compare": "toxicity:str system:str group_a:str group_b:str n_a:int n_b:int n_pairs:int method:str "
                     "pvalue:float why:str fisher_pvalue:float chisq_pvalue:float paired_method:str "
                     f"paired_pvalue:float ?paired_statistic:float ?paired_df:float note:str {_COMPARISON}",
    "grading_systems": "patient_id:str episode:int product:str toxicity:str system:str grade:int source:str",
    "disagreements": "patient_id:str episode:int item:str recorded:str derived:str note:str",
    "kinetic_values": "patient_id:str episode:int product:str diagnosis:str analyte:str day:int value:float",
    "kinetic_curves": "product:str analyte:str day:int n:int median:float q1:float q3:float mean:float sd:float",
    "kinetic_params": "patient_id:str episode:int analyte:str cmax:float tmax:float clast:float tlast:float "
                      "auc_last:float auc_partial:float lambda_z:float half_life:float r2_adj:float n_points:int "
                      "note:str product:str diagnosis:str",
    "ck_model": "patient_id:str episode:int product:str diagnosis:str converged:bool reason:str n_points:int "
                "cmax:float cmax_lower:float cmax_upper:float tmax:float tmax_lower:float tmax_upper:float "
                "foldx:float foldx_lower:float foldx_upper:float alpha:float alpha_lower:float alpha_upper:float "
                "analyte:str",
    "comparisons": "family:str measure:str unit:str summary_a:str summary_b:str group_a:str group_b:str "
                   "n_a:int n_b:int method:str statistic:float pvalue:float why:str paired_method:str "
                   f"paired_pvalue:float n_pairs:int key:str {_COMPARISON}",
    # the recommended analysis beside the one as published (analysis/recommended_comparison.py)
    "recommended_comparisons": "table:str family:str measure:str unit:str key:str group_a:str group_b:str "
                               "n_a:int n_b:int n_pairs:int paired:bool summary_a:str summary_b:str method:str "
                               "statistic:float pvalue:float convention:str effect:str estimate:float "
                               "lower:float upper:float ci_method:str level:float also_method:str "
                               "also_pvalue:float sensitivity_method:str sensitivity_statistic:float "
                               "sensitivity_pvalue:float p_adjusted:float adjust_method:str adjust_family:str "
                               "family_size:int published_method:str published_pvalue:float "
                               f"published_p_adjusted:float primary:str differs:bool reason:str note:str {_COMPARISON}",
    "survival_curves": "endpoint:str censoring:str group:str time:float n_risk:int n_event:int n_censor:int "
                       "survival:float lower:float upper:float time_unit:str",
    "at_risk": "endpoint:str censoring:str group:str time:float n_risk:int time_unit:str",
    "logrank": "endpoint:str censoring:str statistic:float df:int pvalue:float landmark_day:int n:int events:int "
               "?hr:float ?hr_lower:float ?hr_upper:float ?hr_pvalue:float ?hr_comparison:str ?hr_warning:str "
               "median_followup_*:float landmark_ci_*:str landmark_*:float km_median_*:float",
    # [[plan.population]] (analysis/populations.py) and [[plan.endpoint]] (analysis/survival_analysis.py)
    "populations": "population:str label:str rule:str primary:bool arm:str n:int n_infused:int n_never_infused:int "
                   "n_episodes:int",
    "never_infused": "arm:str never_infused_reason:str n:int",
    "vein_to_vein": "patient_id:str episode:int product:str leukapheresis_date:date infusion_date:date "
                    "vein_to_vein_days:int",
    "endpoint_times": "population:str endpoint:str patient_id:str episode:int group:str origin_date:date date:date "
                      "days:int event:bool status:int reason:str",
    "endpoint_curves": "population:str endpoint:str censoring:str group:str time:float n_risk:int n_event:int "
                       "n_censor:int survival:float lower:float upper:float time_unit:str",
    "mrd_landmark_status": "patient_id:str episode:int product:str diagnosis:str landmark_day:int mrd_status:str "
                           "group:str first_negative_day:int included:bool reason:str time:float event:bool "
                           "time_unit:str",
    "mrd_landmark": "diagnosis:str landmark_day:int endpoint:str group:str n_at_landmark:int n:int events:int "
                    "median:float median_lower:float median_upper:float time_unit:str conf_type:str mrd_rule:str "
                    "logrank_statistic:float logrank_df:int logrank_pvalue:float note:str",
    "mrd_landmark_curves": "diagnosis:str group:str time:float n_risk:int n_event:int n_censor:int survival:float "
                           "lower:float upper:float time_unit:str",
    "mrd_landmark_at_risk": "diagnosis:str group:str time:float n_risk:int time_unit:str",
    "endpoint_summary": "population:str population_n:int primary:bool endpoint:str label:str origin:str "
                        "censoring:str group:str n:int events:int median:float median_lower:float "
                        "median_upper:float time_unit:str conf_type:str",
    "endpoint_tests": "population:str population_n:int primary:bool endpoint:str origin:str censoring:str "
                      "group_by:str n:int events:int logrank_statistic:float logrank_df:int logrank_pvalue:float "
                      "comparison:str reference:str hr:float hr_lower:float hr_upper:float hr_pvalue:float warning:str "
                      "note:str",
    # HSCT as a competing event and as a time-dependent covariate (analysis/hsct_survival.py)
    "endpoint_cif": "population:str population_n:int primary:bool endpoint:str cause:str competing:str group:str "
                    "day:int time:float time_unit:str n:int events:int competing_events:int estimate:float "
                    "variance:float lower:float upper:float",
    "endpoint_cif_tests": "population:str population_n:int primary:bool endpoint:str cause:str competing:str n:int "
                          "events:int statistic:float df:int pvalue:float note:str",
    "endpoint_cif_curves": "population:str endpoint:str curve:str cause:bool group:str time:float estimate:float "
                           "lower:float upper:float time_unit:str",
    "endpoint_hsct_cox": "population:str population_n:int primary:bool endpoint:str n:int events:int n_hsct:int "
                         "events_after_hsct:int left_out:int hr:float hr_lower:float hr_upper:float hr_pvalue:float "
                         "score_statistic:float score_pvalue:float warning:str note:str",
    "endpoint_simon_makuch": "population:str endpoint:str state:str time:float n_risk:int n_event:int n_censor:int "
                             "survival:float lower:float upper:float time_unit:str conf_type:str",
    "swimmer": "patient_id:str diagnosis:str episode:int product:str start_day:int end_day:int best_response:str",
    "swimmer_events": "patient_id:str kind:str day:int label:str",
    "antigen_expression": "patient_id:str diagnosis:str episode:int product:str antigen:str day:int pct:float",
    "infusion_products": "product:str diagnosis:str characteristic:str label:str unit:str episodes:int n:int "
                         "missing:int mean:float sd:float median:float q1:float q3:float min:float max:float",
    "toxicity_treatment": "product:str treatment:str agent:str episodes:int episodes_treated:int patients:int "
                          "patients_treated:int administrations:int days_given_median:float days_given_min:int "
                          "days_given_max:int dose_unit:str total_dose_median:float total_dose_min:float "
                          "total_dose_max:float first_day_median:float first_day_min:int first_day_max:int",
    "syndrome_course": "patient_id:str episode:int product:str diagnosis:str toxicity:str grade:int onset_day:int "
                       "duration_days:int system:str source:str",
    "syndrome_course_summary": "product:str toxicity:str episodes:int graded:int with_event:int onset_n:int "
                               "onset_median:float onset_min:int onset_max:int duration_n:int "
                               "duration_median:float duration_min:int duration_max:int systems:str sources:str",
    "follow_up": "patient_id:str diagnosis:str status:str cause_of_death:str last_known_date:date "
                 "days_from_first_infusion:int days_before_cutoff:int",
    "follow_up_summary": "diagnosis:str status:str cause_of_death:str n:int N:int",
    "methods": "item:str text:str",
    "warnings": "text:str",
    "cross_reference": "id:str label:str",
    "reproduction": "key:str section:str description:str published:str computed:str status:str reason:str",
}


class ResultSchemaError(ValueError):
    """A result table that does not follow its schema (a bug in cartkit, not in the study)."""


def _dtype_ok(kind: str, dtype) -> bool:
    import polars as pl

    if dtype == pl.Null:
        return True
    return {"str": dtype == pl.String, "int": dtype.is_integer(), "float": dtype.is_float(),
            "bool": dtype == pl.Boolean, "date": dtype == pl.Date}[kind]


def parse_schema(spec: str) -> tuple[dict[str, str], set[str], list[tuple[str, str]]]:
    """(column -> kind, optional columns, [(prefix, kind)] of per-group patterns) of a schema text."""
    columns: dict[str, str] = {}
    optional: set[str] = set()
    patterns: list[tuple[str, str]] = []
    for item in spec.split():
        name, kind = item.rsplit(":", 1)
        if name.endswith("*"):
            patterns.append((name[:-1], kind))
            continue
        if name.startswith("?"):
            name = name[1:]
            optional.add(name)
        columns[name] = kind
    return columns, optional, patterns


def check_table(name: str, table) -> None:
    """Raise ``ResultSchemaError`` naming the table and column where ``table`` leaves its schema.

    >>> import polars as pl
    >>> check_table("warnings", pl.DataFrame({"text": ["few events"]}))
    >>> check_table("warnings", pl.DataFrame({"text": [1]}))
    Traceback (most recent call last):
    ...
    cartkit.analysis.results.ResultSchemaError: result table 'warnings', column 'text': Int64, expected str
    """
    if name not in SCHEMAS:
        raise ResultSchemaError(f"result table '{name}' has no schema (cartkit.analysis.results.SCHEMAS)")
    columns, optional, patterns = parse_schema(SCHEMAS[name])
    for column, dtype in table.schema.items():
        kind = columns.get(column) or next((k for prefix, k in patterns if column.startswith(prefix)), None)
        if kind is None:
            raise ResultSchemaError(f"result table '{name}', column '{column}': not in its schema")
        if not _dtype_ok(kind, dtype):
            raise ResultSchemaError(f"result table '{name}', column '{column}': {dtype}, expected {kind}")
    missing = [c for c in columns if c not in table.columns and c not in optional]
    if missing:
        raise ResultSchemaError(f"result table '{name}', column '{missing[0]}': missing")


# a result table of more rows than this is held on disk, not in memory (``ResultTables``): at registry size
# (10^6 infusions) the per-episode listings (kinetic parameters, grading systems, the swimmer's events, the
# endpoint times ...) were about 2 GiB held until the report was written (docs/scale.md)
SPILL_ROWS = 50_000


class _OnDisk:
    """Where a spilled table is: an Arrow IPC file of ``ResultTables``' folder, and its number of rows."""

    __slots__ = ("path", "height")

    def __init__(self, path: Path, height: int) -> None:
        self.path, self.height = path, height


class ResultTables(MutableMapping):
    """name -> result table (or None), in the order stored, as a dict; a table of more than ``SPILL_ROWS``
    rows is written to an Arrow IPC file (uncompressed, Polars' own string storage) in a temporary folder
    when it is stored and read back, memory-mapped and with the same values and dtypes, each time it is asked
    for, so that the analysis and the report hold one large table at a time rather than all of them, and of
    that table only the columns they read. The folder
    goes when the tables do (or when the process ends). A small study's tables never leave memory."""

    def __init__(self, tables=None) -> None:
        self._items: dict[str, Any] = {}
        self._folder: Path | None = None
        self._written = 0
        if tables:
            self.update(tables)

    def __getitem__(self, name: str) -> pl.DataFrame | None:
        value = self._items[name]
        if isinstance(value, _OnDisk):
            import polars as pl
            import pyarrow as pa

            # memory-mapped, without copying (chunks kept): only the columns a reader touches are read in
            # (a table's height or one column of a 10^6-infusion listing costs nothing or that column)
            return pl.from_arrow(pa.ipc.open_file(pa.memory_map(str(value.path))).read_all(), rechunk=False)
        return value

    def __setitem__(self, name: str, table: pl.DataFrame | None) -> None:
        value: Any = table
        if table is not None and table.height > SPILL_ROWS:
            import polars as pl

            path = self._spill_folder() / f"{self._written:04d}.arrow"  # a new file: an earlier read may still hold
            self._written += 1                                        # buffers of the one it replaces
            table.write_ipc(path, compat_level=pl.CompatLevel.newest())
            value = _OnDisk(path, table.height)
        self._forget(name)
        self._items[name] = value  # an existing name keeps its place

    def __delitem__(self, name: str) -> None:
        self._forget(name)
        del self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def on_disk(self, name: str) -> bool:
        """Whether table ``name`` is held on disk (more than ``SPILL_ROWS`` rows)."""
        return isinstance(self._items.get(name), _OnDisk)

    def _forget(self, name: str) -> None:
        value = self._items.get(name)
        if isinstance(value, _OnDisk):
            value.path.unlink(missing_ok=True)

    def _spill_folder(self) -> Path:
        if self._folder is None:
            import shutil
            import tempfile
            import weakref

            self._folder = Path(tempfile.mkdtemp(prefix="cartkit-results-"))
            weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
        return self._folder


@dataclass
class Results:
    tables: MutableMapping[str, pl.DataFrame | None] = field(default_factory=ResultTables)
    # section name -> reason it was left out ("one product only: no product comparison")
    omitted: dict[str, str] = field(default_factory=dict)
    # software versions and run facts for the Methods section
    software: dict[str, str] = field(default_factory=dict)
    # input files (size, SHA-256), cartkit version and plan as run (cartkit.study.provenance.Provenance)
    provenance: Any = None
    # table -> the population it is on: {"population": name, "description": "infused (infused; N = 13)",
    # "n": patients} (cartkit.analysis.populations); tables about the study as a whole have none
    populations: dict[str, dict] = field(default_factory=dict)
    # the level of every confidence interval in the tables: the plan's 1 - alpha (Plan.confidence_level)
    confidence_level: float = 0.95

    def __post_init__(self) -> None:
        if not isinstance(self.tables, ResultTables):
            self.tables = ResultTables(self.tables)

    def get(self, name: str) -> pl.DataFrame | None:
        return self.tables.get(name)

    def store(self, name: str, table: pl.DataFrame) -> None:
        """Keep ``table`` as result ``name`` after checking it against its schema (``SCHEMAS``).
        Text held as categories and integers held as Int32 (a sharded study's gathered tables,
        cartkit.engine.shards.compact) are stored as text and Int64, so a result has the same schema
        however the study was read."""
        import polars as pl

        categories = [c for c, t in table.schema.items() if isinstance(t, pl.Categorical | pl.Enum)]
        narrow = [c for c, t in table.schema.items() if t == pl.Int32]
        if categories or narrow:
            table = table.with_columns(pl.col(categories).cast(pl.String), pl.col(narrow).cast(pl.Int64))
        check_table(name, table)
        self.tables[name] = table

