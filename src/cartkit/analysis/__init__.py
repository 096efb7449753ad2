"""The analysis stage: runs the study's plan over the derived tables and returns ``Results``.

    results = analyse(study, derive(study))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from cartkit.analysis.results import Results

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.derive import Derived
    from cartkit.study.model import Study

__all__ = ["analyse", "Results"]


def analyse(study: Study, derived: Derived) -> Results:
    from cartkit.analysis.adverse_events import ae_table, grade_distribution, plan_groups
    from cartkit.analysis.baseline import baseline_table
    from cartkit.analysis.cellular_kinetics import ck_model_fits
    from cartkit.analysis.computed_numbers import computed_numbers
    from cartkit.analysis.course import patient_course
    from cartkit.analysis.kinetic_summary import kinetic_curves, kinetic_values
    from cartkit.analysis.methods import design_warnings, methods_table, software_versions
    from cartkit.analysis.product_comparison import (
        grade_comparison,
        kinetic_comparisons,
        responder_comparisons,
    )
    from cartkit.analysis.reproduction import read_published, reproduction_table
    from cartkit.analysis.responses import response_listing, response_rates
    from cartkit.analysis.survival_analysis import survival_analysis
    from cartkit.study.provenance import study_provenance

    plan = study.plan
    patients, infusions = study.patients, study.infusions
    products, diseases, groups = plan_groups(study)
    results = Results(software=software_versions(),
                      provenance=study_provenance(study, products=list(products), diseases=list(diseases)))
    tables = results.tables
    from cartkit.study.problems import report_lines

    warnings: list[str] = report_lines(study.warnings) + list(derived.notes)  # validation's warnings first

    cutoff = study.meta.data_cutoff
    tables["study"] = pl.DataFrame({
        "id": [study.meta.id], "title": [study.meta.title], "reference": [study.meta.reference],
        "data_cutoff": [str(cutoff) if cutoff else ""], "n_patients": [patients.height],
        "n_episodes": [infusions.height], "products": ["; ".join(products)], "diseases": ["; ".join(diseases)],
    })
    tables["baseline"] = baseline_table(patients, diseases, plan.quantile_method)

    # responses
    listing = response_listing(derived.best_response, groups, derived.hsct)
    tables["responses"] = listing
    tables["response_rates"] = response_rates(listing, products, diseases)
    if plan.next_study is not None:  # [plan.next_study]: designs for the next study (docs/design.md)
        from cartkit.analysis.next_study import next_study_table

        tables["next_study"] = next_study_table(tables["response_rates"], plan.next_study)

    # adverse events, CRS and ICANS
    tables["adverse_event_incidence"] = ae_table(study.adverse_events, groups, derived.crs, derived.icans, products, diseases,
                                plan.ae_table_terms)
    grade_frames = {"CRS": derived.crs, "ICANS": derived.icans}
    for tox, frame in derived.hematologic_grades().items():
        grade_frames[tox] = frame
    tables["grade_counts"] = pl.concat(
        [grade_distribution(frame, groups, tox) for tox, frame in grade_frames.items()]
    )
    two_products = len(products) >= 2
    if two_products:
        pair = (products[0], products[1])
        # each grade is labelled with the system the data record it in (or it was derived under)
        systems = derived.grade_systems()
        fallback = {"CRS": plan.crs_system, "ICANS": plan.icans_system}
        rows = [grade_comparison(frame, groups, pair, tox,
                                 systems.get(tox) or fallback.get(tox, f"ctcae{plan.ctcae_version}"))
                for tox, frame in grade_frames.items()]
        for tox, system, frame in derived.alternative_grades():
            row = grade_comparison(frame, groups, pair, tox, system)
            row["note"] = (row["note"] + " alternative grading system").strip()
            rows.append(row)
        tables["grade_compare"] = pl.DataFrame(rows, schema={
            "toxicity": pl.String, "system": pl.String, "method": pl.String, "pvalue": pl.Float64,
            "why": pl.String, "fisher_pvalue": pl.Float64, "chisq_pvalue": pl.Float64,
            "paired_method": pl.String, "paired_pvalue": pl.Float64, "note": pl.String})
    else:
        tables["grade_compare"] = None
        results.omitted["grade_compare"] = "one product only: no comparison between products"
    tables["grading_systems"] = derived.toxicity_systems.join(
        groups.select("patient_id", "episode", "product"), on=["patient_id", "episode"], how="inner"
    ).select("patient_id", "episode", "product", "toxicity", "system", "grade", "source")
    tables["disagreements"] = derived.disagreements

    # kinetics
    values = kinetic_values(study.measurements, groups, plan.kinetic_analytes, plan.kinetics_window)
    if values.height:
        tables["kinetic_values"] = values
        tables["kinetic_curves"] = kinetic_curves(values, plan.quantile_method)
        tables["kinetic_params"] = derived.kinetics.join(
            groups, on=["patient_id", "episode"], how="inner"
        )
        tables["ck_model"], note = ck_model_fits(study.measurements, groups)
        if tables["ck_model"] is None:
            results.omitted["ck_model"] = note
        else:
            warnings.append(f"Cellular-kinetic model: {note}.")
    else:
        for name in ("kinetic_values", "kinetic_curves", "kinetic_params", "ck_model"):
            tables[name] = None
        results.omitted["kinetics"] = "no kinetic measurements (CAR-T %, CAR DNA or cytokines) in the study"
    if two_products and values.height:
        tables["comparisons"] = kinetic_comparisons(derived.kinetics, groups, (products[0], products[1]),
                                                    plan.kinetic_analytes, plan.quantile_method,
                                                    plan.rank_correction)
    else:
        tables["comparisons"] = None
    if values.height:
        by_response = responder_comparisons(derived.kinetics, groups, derived.best_response,
                                            ("car_t_pct_cd3", "car_dna"), plan.quantile_method, plan.rank_correction)
        by_response = by_response.filter(pl.col("n_a") >= 2) if by_response.height else by_response
        if by_response.height:
            tables["comparisons"] = (by_response if tables["comparisons"] is None
                                     else pl.concat([tables["comparisons"], by_response]))
    if tables["comparisons"] is None:
        results.omitted["comparisons"] = "needs two products, or responders and non-responders, with kinetics"

    # survival
    survival = plan.survival
    if derived.tte:
        curves, at_risk, tests = survival_analysis(
            derived.tte, survival.group_by, tuple(survival.endpoints), survival.landmark_day, survival.time_unit
        )
        tables["survival_curves"], tables["at_risk"], tables["logrank"] = curves, at_risk, tests
    else:
        tables["survival_curves"] = tables["at_risk"] = tables["logrank"] = None
        results.omitted["survival"] = "no follow-up events in the study"
    # the plan's populations and its [[plan.endpoint]] endpoints on them (analysis/populations.py)
    _populations_and_endpoints(results, study, derived, warnings)

    # course of each patient
    swimmer, marks = patient_course(infusions, patients, study.events, listing, cutoff)
    tables["swimmer"], tables["swimmer_events"] = swimmer, marks

    # reported beside the tables: antigens before each product (seed Figure 1), the products as infused,
    # CRS/ICANS treatment and timing, each patient's status at the end of follow-up
    _clinical_details(results, study, derived, groups, products, diseases)

    # methods, warnings, reproduction
    paired = groups.group_by("patient_id").agg(pl.col("product").n_unique().alias("k")).filter(pl.col("k") >= 2)
    facts = {"cutoff": str(cutoff) if cutoff else "not given", **derived.facts}
    tables["methods"] = methods_table(plan, facts, results.software, derived.grade_provenance(),
                                      provenance=results.provenance)
    tables["warnings"] = design_warnings(paired.height if two_products else 0, tables["comparisons"],
                                         tables["logrank"], warnings)
    published = read_published(study.path)
    if published:
        tables["reproduction"] = reproduction_table(published, computed_numbers(study, derived, results))
    else:
        tables["reproduction"] = None
        results.omitted["reproduction"] = "the study folder has no published.toml"
    return results


def _clinical_details(results: Results, study: Study, derived: Derived, groups: pl.DataFrame,
                      products: tuple[str, ...], diseases: tuple[str, ...]) -> None:
    from cartkit.analysis.antigen_expression import antigen_expression
    from cartkit.analysis.follow_up import follow_up_listing, follow_up_summary
    from cartkit.analysis.infusion_products import infusion_products
    from cartkit.analysis.syndrome_course import syndrome_course_listing, syndrome_course_summary
    from cartkit.analysis.toxicity_treatment import toxicity_treatment

    tables, omitted = results.tables, results.omitted

    def keep(name: str, df: pl.DataFrame | None, why: str) -> None:
        tables[name] = df if df is not None and df.height else None
        if tables[name] is None:
            omitted[name] = why

    keep("antigen_expression", antigen_expression(study.assessments, groups),
         "no CD19 or CD22 expression (assessments cd19_pct, cd22_pct) recorded on or before an infusion day")
    keep("infusion_products", infusion_products(study.infusions, groups, products, diseases,
                                                study.plan.quantile_method),
         "no dose, transduction or harvest recorded in the infusions table")
    keep("toxicity_treatment", toxicity_treatment(study.tables.get("support"), groups, products),
         "no tocilizumab, corticosteroid, anakinra or siltuximab recorded in the support table")
    course = syndrome_course_listing(derived.syndrome_course, groups)
    keep("syndrome_course", course, "no CRS or ICANS course derived (no vital signs, neurological "
         "assessments or recorded CRS/ICANS adverse events)")
    if tables["syndrome_course"] is not None:
        keep("syndrome_course_summary", syndrome_course_summary(course, products), "")
    else:
        keep("syndrome_course_summary", None, omitted["syndrome_course"])
    listing = follow_up_listing(study.events, study.infusions.join(groups.select("patient_id", "episode"),
                                                                   on=["patient_id", "episode"], how="semi"),
                                study.patients, study.meta.data_cutoff)
    keep("follow_up", listing, "no infused patients in the plan's products and diseases")
    if tables["follow_up"] is not None:
        keep("follow_up_summary", follow_up_summary(listing, diseases), "")
    else:
        keep("follow_up_summary", None, omitted["follow_up"])


def _populations_and_endpoints(results: Results, study: Study, derived: Derived, warnings: list[str]) -> None:
    from cartkit.analysis.populations import population_tables, resolve_populations
    from cartkit.analysis.survival_analysis import endpoint_analysis

    populations = resolve_populations(study)
    results.tables.update(population_tables(study, populations))
    if results.tables["never_infused"] is None:
        results.omitted["never_infused"] = "every patient was infused"
    if results.tables["vein_to_vein"] is None:
        results.omitted["vein_to_vein"] = "no leukapheresis_date in the patients table"
    if not study.plan.endpoints:
        results.omitted["endpoints"] = "no [[plan.endpoint]] in study.toml (survival follows [plan.survival])"
        return
    if study.events.height == 0:
        results.omitted["endpoints"] = "no follow-up events in the study"
        return
    tables, notes = endpoint_analysis(study, populations, derived.assessments)
    results.tables.update(tables)
    warnings.extend(f"Endpoints: {n}" for n in notes)
