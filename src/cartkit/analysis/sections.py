"""The analysis stage as a registry of sections, in report order (like ``report/figures.FIGURES``).

Each ``AnalysisSection`` names the result tables it fills and runs once for the study, or once per
comparison the plan names (``per = "comparison"``: ``[[plan.comparison]]``,
``cartkit.study.plan_comparison``). A section returns its tables, or ``Omit(reason)`` for a table it
cannot build; a per-comparison section's rows of every comparison are stacked into one table with
a ``comparison`` column. A table that no run of its sections filled is ``None`` in the results,
with the reasons in ``Results.omitted``. ``analyse`` (``cartkit.analysis``) runs ``SECTIONS``;
there is no branch on the number of products anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.analysis.populations import Population
    from cartkit.analysis.results import Results
    from cartkit.derive import Derived
    from cartkit.study.model import Study
    from cartkit.study.plan_comparison import Comparison


@dataclass(frozen=True)
class Omit:
    """A table a section could not build, and why (shown in the report's "Left out" list)."""

    reason: str


@dataclass
class Context:
    """What every section reads: the study, its derivations, the plan's groups and comparisons."""

    study: Study
    derived: Derived
    results: Results
    products: tuple[str, ...]
    diseases: tuple[str, ...]
    groups: pl.DataFrame  # patient_id, episode, product, diagnosis of the analysed episodes
    comparable: pl.DataFrame  # groups with arm and dose_level when the study records them
    comparisons: tuple[Comparison, ...]
    population: Population | None = None  # the population the sections run on (the plan's primary)
    populations: tuple[Population, ...] = ()
    warnings: list[str] = field(default_factory=list)  # validation's and derivation's, then the sections'
    pair_notes: list[str] = field(default_factory=list)  # one per comparison of the same patients
    # table -> the set it is on, when a section says so itself (``counts = "own"``)
    table_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    # what several sections ask of the same study in this run (``once``): built the first time, then shared
    memo: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` the first time ``key`` is asked for in this analysis, then the same object."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    @property
    def plan(self):
        return self.study.plan

    @property
    def tables(self) -> dict[str, pl.DataFrame | None]:
        return self.results.tables

    def population_patients(self) -> pl.DataFrame:
        """The patients table, restricted to the analysis population (all patients without one)."""
        patients = self.study.patients
        if self.population is None:
            return patients
        return patients.join(self.population.patients.select("patient_id"), on="patient_id", how="semi")

    def counted(self, counts: str) -> dict[str, Any]:
        """The set a table is on, with its N (``Results.populations``), from what it counted
        (``AnalysisSection.counts``): the primary population's patients, or its analysed infusions (``groups``),
        named as the plan population with those patients or as the infused patients of the primary
        (analysis/populations.py ``counted_set``); "safety": a toxicity table, on the safety set."""
        from cartkit.analysis.populations import counted_set

        def count() -> dict[str, Any]:  # once per kind: every table of that kind is on the same set
            ids = self.population_patients()["patient_id"] if counts == "patients" else self.groups["patient_id"]
            return counted_set(ids, list(self.populations) or [self.population], self.population,
                               safety=counts == "safety")

        return dict(self.once(f"counted {counts}", count))

    def grade_provenance(self) -> dict[str, Any]:
        """``Derived.grade_provenance``, once per analysis (the grade labels and the Methods read it)."""
        return dict(self.once("grade_provenance", self.derived.grade_provenance))

    def grade_frames(self) -> dict[str, pl.DataFrame]:
        """toxicity -> per-episode grades: CRS, ICANS, then each haematological toxicity."""
        def build() -> dict[str, pl.DataFrame]:
            frames = {"CRS": self.derived.crs, "ICANS": self.derived.icans}
            frames.update(self.derived.hematologic_grades())
            return frames

        return dict(self.once("grade_frames", build))


Output = dict[str, "pl.DataFrame | Omit | None"]


@dataclass(frozen=True)
class AnalysisSection:
    name: str
    tables: tuple[str, ...]  # the result tables this section fills (several sections may fill one)
    run: Callable[..., Output]  # (ctx) or, per comparison, (ctx, comparison)
    per: str = "study"  # "study" | "comparison"
    # the tables are on the analysis population (the plan's primary, ``Context.population``) and say which set
    # of it, with its N (``Results.populations``); False: about the study or the run as a whole, or on their
    # own populations (survival endpoints)
    on_population: bool = True
    # what the tables count (``Context.counted``): "infused" (the primary population's analysed infusions,
    # ``Context.groups``), "safety" (the same, as the safety set of a toxicity table), "patients" (the primary
    # population's patients); a table the section describes itself (``Context.table_sets``) keeps that
    counts: str = "infused"


NO_COMPARISON = ("the plan names no comparison ([[plan.comparison]]): single-arm analysis, nothing is "
                 "compared between groups")


def run_sections(ctx: Context, sections: tuple[AnalysisSection, ...]) -> None:
    """Run each section in order and store its tables (``Results.store`` checks each against its
    schema); a table that no section filled is ``None``, with the reasons in ``Results.omitted``."""
    results = ctx.results
    reasons: dict[str, list[str]] = {}
    filled: set[str] = set()
    for section in sections:
        if section.per == "comparison":
            runs = [(c, section.run(ctx, c)) for c in ctx.comparisons]
            if not runs:
                for name in section.tables:
                    reasons.setdefault(name, []).append(NO_COMPARISON)
        else:
            runs = [(None, section.run(ctx))]
        for name in section.tables:
            frames = []
            for comparison, out in runs:
                value = out.get(name)
                if isinstance(value, Omit) or value is None:
                    why = value.reason if isinstance(value, Omit) else f"{section.name}: nothing to report"
                    reasons.setdefault(name, []).append(f"{comparison.label}: {why}" if comparison else why)
                    continue
                if comparison is not None:
                    value = value.with_columns(pl.lit(comparison.label).alias("comparison"))
                frames.append(value)
            if frames:
                earlier = [results.tables[name]] if name in filled else []
                results.store(name, pl.concat(earlier + frames, how="vertical_relaxed"))
                filled.add(name)
                if name in ctx.table_sets:
                    results.populations[name] = ctx.table_sets.pop(name)
                elif section.on_population and ctx.population is not None:
                    results.populations[name] = ctx.counted(section.counts)
    for name, why in reasons.items():
        if name not in filled:
            results.tables[name] = None
            results.omitted[name] = "; ".join(dict.fromkeys(why))


# ---------------------------------------------------------------------------------------- sections


def _study(ctx: Context) -> Output:
    study = ctx.study
    cutoff = study.meta.data_cutoff
    return {"study": pl.DataFrame({
        "id": [study.meta.id], "title": [study.meta.title], "reference": [study.meta.reference],
        "data_cutoff": [str(cutoff) if cutoff else ""], "n_patients": [study.patients.height],
        "n_episodes": [study.infusions.height], "products": ["; ".join(ctx.products)],
        "diseases": ["; ".join(ctx.diseases)],
    })}


def _comparison_groups(ctx: Context, comparison: Comparison) -> Output:
    from cartkit.analysis.product_comparison import comparison_groups

    row = comparison_groups(ctx.comparable, comparison)
    if row.height and row["n_pairs"][0] and comparison.paired is not False:
        a, b, n = comparison.a, comparison.b, row["n_pairs"][0]
        ctx.pair_notes.append(
            f"{comparison.label}: {n} patient{'s' if n != 1 else ''} received both {a} and {b}: the unpaired "
            "tests (as published) treat the same patients as independent groups. The paired tests are the "
            "appropriate analysis: " + ("they are the primary one (plan: analysis = \"recommended\"), the "
                                        "unpaired tests are shown beside them." if ctx.plan.analysis == "recommended"
                                        else "the plan keeps the analysis as published primary (analysis = "
                                        "\"as_published\"); the recommended paired analysis is shown first, "
                                        "beside it."))
    return {"comparison_groups": row}


def _baseline(ctx: Context) -> Output:
    from cartkit.analysis.baseline import baseline_table

    return {"baseline": baseline_table(ctx.population_patients(), ctx.diseases, ctx.plan.quantile_method)}


def _responses(ctx: Context) -> Output:
    from cartkit.analysis.responses import disease_responses, response_listing, response_rates

    listing = response_listing(ctx.derived.best_response, ctx.groups, ctx.derived.hsct)
    by_disease = disease_responses(listing, ctx.derived.best_response)
    return {"responses": listing, "response_rates": response_rates(listing, ctx.products, ctx.diseases,
                                                                       ctx.plan.confidence_level),
            "disease_responses": by_disease if by_disease is not None else Omit(
                "the study has no multiple myeloma (IMWG 2016) or CLL (iwCLL 2018) patients")}


def _planned_responses(ctx: Context) -> Output:
    """The response at each planned assessment day ([plan.response_days], analysis/response_days.py)."""
    from cartkit.analysis.response_days import episode_follow_up, response_at_days, response_day_rates

    names = ("planned_responses", "planned_response_rates")
    plan = ctx.plan
    if not plan.response_days:
        return dict.fromkeys(names, Omit("the plan states no response assessment days ([plan.response_days])"))
    study = ctx.study
    follow_up = episode_follow_up(study.infusions, study.events, study.meta.data_cutoff)
    listing, notes = response_at_days(ctx.derived.assessments, ctx.groups, plan.response_days, plan.response_window,
                                      follow_up)
    ctx.warnings.extend(f"Responses at the planned days: {n}" for n in notes)
    if not listing.height:
        why = "no analysed episode is of a disease family [plan.response_days] names"
        return dict.fromkeys(names, Omit(why))
    rates = response_day_rates(listing, plan.confidence_level, ctx.products, ctx.diseases)
    short = listing.filter(~pl.col("follow_up_reached")).group_by("diagnosis", "planned_day", maintain_order=True).len()
    if short.height:
        ctx.warnings.append("Responses at the planned days: follow-up had not reached the day at the data cut-off "
                            "(not assessed, no death, progression, relapse, new therapy or next infusion; left out of "
                            "the day's denominator, not counted as not responding): " + "; ".join(
                                f"{d} day {day}: {n} episode{'s' if n != 1 else ''}"
                                for d, day, n in short.sort("diagnosis", "planned_day").iter_rows()) + ".")
    return {"planned_responses": listing, "planned_response_rates": rates}


def _population_responses(ctx: Context) -> Output:
    """Response rates on each population with patients never infused (intention to treat): every patient of it
    in the denominator of their arm, the never infused as non-responders (analysis/responses.py)."""
    from cartkit.analysis.populations import control_arm, with_never_infused
    from cartkit.analysis.responses import (
        population_disease_responses,
        population_response_rates,
        population_response_tests,
        randomised_treatment_best,
    )

    name = "population_response_rates"
    infused_ids = ctx.groups.select("patient_id").unique()
    populations = with_never_infused(list(ctx.populations) or [ctx.population], infused_ids)
    tests, categories = "population_response_tests", "population_disease_responses"
    if not populations:
        why = Omit("every patient of the analysis populations has an analysed infusion: the response rates by "
                   "product are on them")
        return {name: why, tests: why, categories: why}
    listing = ctx.tables.get("responses")
    if listing is None:
        return dict.fromkeys((name, tests, categories), Omit("no responses table"))
    patients = ctx.study.patients
    arms = (patients["arm"].drop_nulls().cast(pl.String).unique().sort().to_list()
            if "arm" in patients.columns else [])
    control = control_arm(ctx.study, arms)
    own = randomised_treatment_best(ctx.derived.assessments)  # the control arm's responses (assessments episode 0)
    frames = [population_response_rates(p, patients, listing, ctx.tables.get("planned_responses"), ctx.products,
                                        ctx.diseases, control, ctx.plan.confidence_level, own) for p in populations]
    table = pl.concat(frames, how="vertical_relaxed")
    if not table.height:
        why = Omit("no patient of the intention-to-treat populations has a diagnosis the plan analyses")
        return {name: why, tests: why, categories: why}
    described = [f"{p.name} ({p.rule_text()}; N = {_counted_n(table, p.name)})" for p in populations]
    ctx.table_sets[name] = {"population": populations[0].name, "description": "; ".join(described),
                            "n": _counted_n(table, populations[0].name)}
    compared = population_response_tests(table, control, ctx.plan.analysis, ctx.plan.confidence_level)
    if compared.height:
        ctx.table_sets[tests] = ctx.table_sets[name]
    by_category = [t for p in populations if (t := population_disease_responses(
        p, patients, listing, ctx.derived.best_response, ctx.diseases, control, own)) is not None]
    if by_category:
        ctx.table_sets[categories] = ctx.table_sets[name]
    return {name: table, categories: pl.concat(by_category) if by_category else Omit(
        "no myeloma or CLL patient in the intention-to-treat populations"), tests: compared if compared.height else Omit(
        "no control arm with recorded responses to its own treatment (assessments episode 0): the arms' response "
        "rates are not compared")}


def _counted_n(table: pl.DataFrame, population: str) -> int:
    """The patients a population's response rates counted: n of its best-response rows over every diagnosis."""
    rows = table.filter((pl.col("population") == population) & pl.col("planned_day").is_null()
                        & (pl.col("diagnosis") == "All"))
    return int(rows["n"].sum())


def _next_study(ctx: Context) -> Output:
    if ctx.plan.next_study is None:
        return {"next_study": Omit("the plan asks for no next-study designs ([plan.next_study])")}
    from cartkit.analysis.next_study import next_study_table

    return {"next_study": next_study_table(ctx.tables["response_rates"], ctx.plan.next_study,
                                                 ctx.plan.confidence_level)}


def _adverse_events(ctx: Context) -> Output:
    from cartkit.analysis.adverse_events import ae_table, grade_distribution
    from cartkit.study.meddra import is_coded

    derived = ctx.derived
    incidence = ae_table(ctx.study.adverse_events, ctx.groups, derived.crs, derived.icans, ctx.products,
                         ctx.diseases, ctx.plan.ae_table_terms)
    if ctx.plan.ae_table_terms and is_coded(ctx.study.adverse_events):
        ctx.warnings.append("Adverse events: the study codes its adverse events in MedDRA, so the table is by "
                            "system organ class and preferred term; plan.ae_table_terms (the short list's rows) "
                            "is not used.")
    counts = pl.concat([grade_distribution(frame, ctx.groups, tox) for tox, frame in ctx.grade_frames().items()])
    return {"adverse_event_incidence": incidence, "grade_counts": counts}


def _iec_hs(ctx: Context) -> Output:
    """IEC-HS (ASTCT 2023; analysis/iec_hs.py): recorded, or derived from ferritin and the other features."""
    from cartkit.analysis.iec_hs import iec_hs_listing, iec_hs_summary

    grades = ctx.derived.iec_hs
    if grades is None or not grades["grade"].is_not_null().any():
        why = Omit("no IEC-HS recorded (adverse event iec-hs) and none derivable: no ferritin with a reference "
                   "(the measurement's uln, or a baseline on or before day 0) after infusion")
        return {"iec_hs_summary": why, "iec_hs": why}
    listing = iec_hs_listing(grades, ctx.groups)
    return {"iec_hs_summary": iec_hs_summary(grades, ctx.groups, ctx.products, ctx.diseases),
            "iec_hs": listing if listing.height else Omit("no episode with IEC-HS (grade >= 1)")}


def _infections(ctx: Context) -> Output:
    """Infections by organism class and site; density per 100 patient-days at risk (analysis/infections.py)."""
    from cartkit.analysis.infections import episode_windows, infection_density, infections_by_type

    study, plan = ctx.study, ctx.plan
    infections = study.tables.get("infections")
    if infections is None or not infections.height:
        why = Omit("no infections table in the study")
        return {"infection_density": why, "infections_by_type": why}
    infused = study.infusions.join(ctx.groups.select("patient_id", "episode"), on=["patient_id", "episode"],
                                   how="semi")
    windows = {"early": plan.infection_early, "late": plan.infection_late}
    at_risk = episode_windows(infused, study.events, study.meta.data_cutoff, windows)
    by_type = infections_by_type(infections, ctx.groups)
    return {"infection_density": infection_density(infections, at_risk, ctx.groups, ctx.products, ctx.diseases),
            "infections_by_type": by_type if by_type.height else Omit("no infection in the analysed episodes")}


def _hypogammaglobulinaemia(ctx: Context) -> Output:
    from cartkit.analysis.hypogammaglobulinaemia import igg_episodes, igg_summary

    study, threshold = ctx.study, ctx.plan.igg_below_mg_dl
    episodes = igg_episodes(study.measurements, study.tables.get("support"), threshold)
    if not episodes.height:
        return {"hypogammaglobulinaemia": Omit("no IgG measured (analyte igg) and no immunoglobulin replacement "
                                               "(support kind immunoglobulin) recorded")}
    return {"hypogammaglobulinaemia": igg_summary(episodes, ctx.groups, ctx.products, ctx.diseases, threshold)}


def _late_effects(ctx: Context) -> Output:
    from cartkit.analysis.late_effects import (
        malignancy_summary,
        named_neurotoxicities,
        neurotoxicity_summary,
        second_malignancies,
    )

    study = ctx.study
    listing = named_neurotoxicities(study.adverse_events, ctx.groups)
    out: Output = {"neurotoxicities": (neurotoxicity_summary(listing, ctx.groups, ctx.products, ctx.diseases)
                                       if listing.height else
                                       Omit("no movement and neurocognitive toxicity or cranial nerve palsy recorded"))}
    infused = study.infusions.join(ctx.groups.select("patient_id", "episode"), on=["patient_id", "episode"],
                                   how="semi")
    spm = second_malignancies(study.events, infused, study.patients)
    none = Omit("no second primary malignancy (events second_malignancy, t_cell_malignancy) recorded")
    out["second_malignancies"] = spm if spm.height else none
    out["second_malignancy_summary"] = (malignancy_summary(spm, infused, study.patients, ctx.diseases)
                                        if spm.height else none)
    return out


def _labelled_grades(ctx: Context) -> list[tuple[str, pl.DataFrame, str, str]]:
    """(toxicity, grades, system, note) of each toxicity, then of each alternative grading system."""
    def build() -> list[tuple[str, pl.DataFrame, str, str]]:
        plan = ctx.plan
        # each grade is labelled with the system the data record it in (or it was derived under)
        # Derived.grade_systems, from the provenance the Methods read too (built once)
        systems = {tox: p.system for tox, p in ctx.grade_provenance().items() if p.systems}
        fallback = {"CRS": plan.crs_system, "ICANS": plan.icans_system}
        labelled = [(tox, frame, systems.get(tox) or fallback.get(tox, f"ctcae{plan.ctcae_version}"), "")
                    for tox, frame in ctx.grade_frames().items()]
        labelled += [(tox, frame, system, "alternative grading system")
                     for tox, system, frame in ctx.derived.alternative_grades()]
        return labelled

    return list(ctx.once("labelled_grades", build))  # the grade comparison and the recommended analysis


def _grade_comparison(ctx: Context, comparison: Comparison) -> Output:
    from cartkit.analysis.product_comparison import grade_comparisons

    return {"grade_compare": grade_comparisons(_labelled_grades(ctx), ctx.comparable, comparison)}


def _recommended(ctx: Context, comparison: Comparison) -> Output:
    """The recommended analysis of the comparison beside the one as published (analysis/recommended_comparison.py)."""
    from cartkit.analysis import recommended_comparison as rc
    from cartkit.analysis.product_comparison import compared_groups

    plan = ctx.plan
    level = rc.confidence_level(plan)
    cg = compared_groups(ctx.comparable, comparison)
    a, b = comparison.pair
    both = cg.group_by("patient_id").agg(pl.col("product").n_unique().alias("k")).filter(pl.col("k") == 2).height
    paired = comparison.paired is not False and both > 0

    def published(name: str) -> pl.DataFrame | None:
        table = ctx.tables.get(name)
        return None if table is None else table.filter(pl.col("comparison") == comparison.label)

    rows = []
    if ctx.tables.get("kinetic_values") is not None:
        rows += rc.measure_rows(ctx.derived.kinetics, cg, comparison, plan.kinetic_analytes, plan.quantile_method,
                                level, paired, published("comparisons"))
    rows += rc.grade_rows(_labelled_grades(ctx), ctx.comparable, comparison, level, paired, published("grade_compare"))
    if ctx.tables.get("responses") is not None:
        rows += rc.response_rows(ctx.tables["responses"], cg, comparison, ctx.diseases, level, paired)
    rows += rc.adverse_event_rows(ctx.study.adverse_events, ctx.tables.get("adverse_event_incidence"), cg,
                                  comparison, level, paired)
    if not rows:
        return {"recommended_comparisons": Omit(f"nothing to compare between {a} and {b}")}
    return {"recommended_comparisons": rc.finish(rows, plan)}


def _grading_systems(ctx: Context) -> Output:
    systems = with_groups(ctx.derived.toxicity_systems, ctx.groups.select("patient_id", "episode", "product")
                          ).select("patient_id", "episode", "product", "toxicity", "system", "grade", "source")
    return {"grading_systems": systems, "disagreements": ctx.derived.disagreements}


def with_groups(frame: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """``frame`` inner-joined with ``groups`` (one row per patient_id and episode) on those keys, in ``frame``'s
    order. When every row has its group, ``frame``'s own columns are shared, not copied: a registry's kinetic
    parameters (7.5 x 10^6 rows at 10^6 patients) would otherwise be held twice (docs/scale.md)."""
    keys = ["patient_id", "episode"]
    found = frame.select(keys).join(groups.with_columns(_found=pl.lit(True)), on=keys, how="left",
                                    maintain_order="left")
    if found.height != frame.height or found["_found"].null_count():
        return frame.join(groups, on=keys, how="inner", maintain_order="left")
    return frame.hstack(found.drop(*keys, "_found"))


_NO_KINETICS = "no kinetic measurements (CAR-T %, CAR DNA or cytokines) in the study"


def _kinetics(ctx: Context) -> Output:
    from cartkit.analysis.cellular_kinetics import ck_model_fits
    from cartkit.analysis.kinetic_summary import kinetic_curves, kinetic_values

    plan, study = ctx.plan, ctx.study
    values = kinetic_values(study.measurements, ctx.groups, plan.kinetic_analytes, plan.kinetics_window)
    if not values.height:
        return dict.fromkeys(("kinetic_values", "kinetic_curves", "kinetic_params", "ck_model"), Omit(_NO_KINETICS))
    fits, note = ck_model_fits(study.measurements, ctx.groups, level=plan.confidence_level)
    if fits is not None:
        ctx.warnings.append(f"Cellular-kinetic model: {note}.")
    return {"kinetic_values": values, "kinetic_curves": kinetic_curves(values, plan.quantile_method),
            "kinetic_params": with_groups(ctx.derived.kinetics, ctx.groups),
            "ck_model": fits if fits is not None else Omit(note)}


def _kinetic_comparison(ctx: Context, comparison: Comparison) -> Output:
    from cartkit.analysis.product_comparison import kinetic_comparisons

    if ctx.tables.get("kinetic_values") is None:
        return {"comparisons": Omit(_NO_KINETICS)}
    plan = ctx.plan
    return {"comparisons": kinetic_comparisons(ctx.derived.kinetics, ctx.comparable, comparison, plan.kinetic_analytes,
                                               plan.quantile_method, plan.rank_correction,
                                               normality_alpha=plan.normality_alpha)}


def _responder_comparison(ctx: Context) -> Output:
    from cartkit.analysis.product_comparison import responder_comparisons

    if ctx.tables.get("kinetic_values") is None:
        return {"comparisons": Omit(_NO_KINETICS)}
    plan = ctx.plan
    by_response = responder_comparisons(ctx.derived.kinetics, ctx.groups, ctx.derived.best_response,
                                        ("car_t_pct_cd3", "car_dna"), plan.quantile_method, plan.rank_correction,
                                        normality_alpha=plan.normality_alpha)
    by_response = by_response.filter(pl.col("n_a") >= 2)
    if not by_response.height:
        return {"comparisons": Omit("fewer than 2 responders with CAR-T expansion measured in every product")}
    return {"comparisons": by_response.with_columns(
        pl.format("responders vs non-responders, {}", pl.col("family").str.strip_prefix("by response, "))
        .alias("comparison"))}


def _survival(ctx: Context) -> Output:
    from cartkit.analysis.survival_analysis import survival_analysis

    names = ("survival_curves", "at_risk", "logrank")
    if not ctx.derived.tte:
        return dict.fromkeys(names, Omit("no follow-up events in the study"))
    survival = ctx.plan.survival
    tables = survival_analysis(ctx.derived.tte, survival.group_by, tuple(survival.endpoints), survival.landmark_day,
                               survival.time_unit, level=ctx.plan.confidence_level)
    return dict(zip(names, tables, strict=True))


def _mrd_landmark(ctx: Context) -> Output:
    """PFS by MRD status at the plan's landmark ([plan.mrd_landmark], analysis/mrd_landmark.py)."""
    from cartkit.analysis.mrd_landmark import MRD_TABLES, mrd_landmark_section

    out = mrd_landmark_section(ctx.study, ctx.derived, ctx.groups, ctx.plan)
    return dict.fromkeys(MRD_TABLES, Omit(out)) if isinstance(out, str) else out


def _populations(ctx: Context) -> Output:
    """The plan's populations (analysis/populations.py): rule, primary, N by arm; who was never infused, why."""
    from cartkit.analysis.populations import population_tables, resolve_populations

    tables = population_tables(ctx.study, list(ctx.populations) or resolve_populations(ctx.study))
    return {"populations": tables["populations"],
            "never_infused": _nonempty(tables["never_infused"], "every patient was infused"),
            "vein_to_vein": _nonempty(tables["vein_to_vein"], "no leukapheresis_date in the patients table")}


_ENDPOINT_TABLES = ("endpoint_times", "endpoint_curves", "endpoint_summary", "endpoint_tests", "endpoint_cif",
                    "endpoint_cif_tests", "endpoint_cif_curves", "endpoint_hsct_cox", "endpoint_simon_makuch")
_NO_TABLE = {  # why an endpoint table can be empty when endpoints ran
    "endpoint_cif": "no endpoint has HSCT as a competing event (hsct = \"competing\")",
    "endpoint_cif_tests": "no endpoint has HSCT as a competing event (hsct = \"competing\")",
    "endpoint_cif_curves": "no endpoint has HSCT as a competing event (hsct = \"competing\")",
    "endpoint_hsct_cox": "no allogeneic HSCT after an endpoint's origin",
    "endpoint_simon_makuch": "no allogeneic HSCT after an endpoint's origin with a Cox model to draw",
}


def _endpoints(ctx: Context) -> Output:
    """Each endpoint on each population it names: KM medians, log-rank and Cox HR by arm; HSCT as a competing
    event and as a time-dependent covariate (analysis/survival_analysis.py, analysis/hsct_survival.py)."""
    from cartkit.analysis.populations import resolve_populations
    from cartkit.analysis.survival_analysis import analysed_endpoints, endpoint_analysis, survival_conventions

    conventions = survival_conventions(ctx.plan)
    endpoints = analysed_endpoints(ctx.plan, conventions)
    if not endpoints:
        return dict.fromkeys(_ENDPOINT_TABLES, Omit("the plan names no [[plan.endpoint]]: survival follows "
                                                    "[plan.survival]"))
    if ctx.study.events.height == 0:
        return dict.fromkeys(_ENDPOINT_TABLES, Omit("no follow-up events in the study"))
    populations = list(ctx.populations) or resolve_populations(ctx.study)
    tables, notes = endpoint_analysis(ctx.study, populations, ctx.derived.assessments, endpoints=endpoints,
                                      conf_type=conventions.conf_type, level=conventions.level,
                                      timepoints=(ctx.plan.survival.landmark_day,))
    ctx.warnings.extend(f"Endpoints: {n}" for n in notes)
    for name in ("endpoint_tests", "endpoint_hsct_cox"):
        if tables[name] is not None:
            for r in tables[name].filter(pl.col("warning").is_not_null()).to_dicts():
                what = "HSCT (time-dependent)" if name == "endpoint_hsct_cox" else r.get("comparison") or "groups"
                ctx.warnings.append(f"Endpoints: {r['endpoint']} on {r['population']}, hazard ratio of {what}: "
                                    f"{r['warning']}.")
    return {name: tables[name] if tables[name] is not None else
            Omit(_NO_TABLE.get(name, "no patient has an endpoint's time origin")) for name in _ENDPOINT_TABLES}


def _course(ctx: Context) -> Output:
    from cartkit.analysis.course import patient_course

    study = ctx.study
    infusions = study.infusions.join(ctx.groups.select("patient_id", "episode"), on=["patient_id", "episode"],
                                     how="semi")
    if not infusions.height:
        return dict.fromkeys(("swimmer", "swimmer_events"), Omit("no infused patients in the analysis population"))
    patients = study.patients.join(infusions.select("patient_id"), on="patient_id", how="semi")
    swimmer, marks = patient_course(infusions, patients, study.events, ctx.tables["responses"],
                                    study.meta.data_cutoff)
    return {"swimmer": swimmer, "swimmer_events": marks}


def _nonempty(df: pl.DataFrame | None, why: str) -> pl.DataFrame | Omit:
    return df if df is not None and df.height else Omit(why)


def _antigens(ctx: Context) -> Output:
    from cartkit.analysis.antigen_expression import antigen_expression

    return {"antigen_expression": _nonempty(
        antigen_expression(ctx.study.assessments, ctx.groups),
        "no CD19 or CD22 expression (assessments cd19_pct, cd22_pct) recorded on or before an infusion day")}


def _infusion_products(ctx: Context) -> Output:
    from cartkit.analysis.infusion_products import infusion_products

    return {"infusion_products": _nonempty(
        infusion_products(ctx.study.infusions, ctx.groups, ctx.products, ctx.diseases, ctx.plan.quantile_method),
        "no dose, transduction or harvest recorded in the infusions table")}


def _toxicity_treatment(ctx: Context) -> Output:
    from cartkit.analysis.toxicity_treatment import toxicity_treatment

    return {"toxicity_treatment": _nonempty(
        toxicity_treatment(ctx.study.tables.get("support"), ctx.groups, ctx.products),
        "no tocilizumab, corticosteroid, anakinra or siltuximab recorded in the support table")}


def _syndrome_course(ctx: Context) -> Output:
    from cartkit.analysis.syndrome_course import syndrome_course_listing, syndrome_course_summary

    course = _nonempty(syndrome_course_listing(ctx.derived.syndrome_course, ctx.groups),
                       "no CRS or ICANS course derived (no vital signs, neurological assessments or recorded "
                       "CRS/ICANS adverse events)")
    if isinstance(course, Omit):
        return {"syndrome_course": course, "syndrome_course_summary": course}
    return {"syndrome_course": course,
            "syndrome_course_summary": _nonempty(syndrome_course_summary(course, ctx.products), "")}


def _follow_up(ctx: Context) -> Output:
    from cartkit.analysis.follow_up import follow_up_listing, follow_up_summary

    study = ctx.study
    infused = study.infusions.join(ctx.groups.select("patient_id", "episode"), on=["patient_id", "episode"],
                                   how="semi")
    listing = _nonempty(follow_up_listing(study.events, infused, study.patients, study.meta.data_cutoff,
                                          ctx.plan.follow_up.lost_grace_days),
                        "no infused patients in the plan's products and diseases")
    if isinstance(listing, Omit):
        return {"follow_up": listing, "follow_up_summary": listing}
    return {"follow_up": listing, "follow_up_summary": _nonempty(follow_up_summary(listing, ctx.diseases), "")}


def _methods(ctx: Context) -> Output:
    from cartkit.analysis.methods import methods_table

    cutoff = ctx.study.meta.data_cutoff
    facts = {"cutoff": str(cutoff) if cutoff else "not given", **ctx.derived.facts}
    return {"methods": methods_table(ctx.plan, facts, ctx.results.software, ctx.grade_provenance(),
                                     provenance=ctx.results.provenance, results=ctx.results)}


def _warnings(ctx: Context) -> Output:
    from cartkit.analysis.methods import design_warnings

    # the pairs of each comparison are counted, and warned about, by the comparison_groups section
    return {"warnings": design_warnings(ctx.tables.get("logrank"), ctx.warnings + ctx.pair_notes)}


def _cross_reference(ctx: Context) -> Output:
    """published.toml ``[cross_reference]``: report section or figure id -> the publication's label."""
    import tomllib

    from cartkit.analysis.reproduction import read_cross_reference

    try:  # parsed once with the published numbers (reproduction.read_published)
        table = read_cross_reference(ctx.study.path)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        return {"cross_reference": Omit(f"published.toml could not be read: {exc}")}
    if not isinstance(table, dict) or not table:
        return {"cross_reference": Omit("no [cross_reference] of the publication's table and figure numbers "
                                        "(published.toml)")}
    rows = [(str(k), str(v)) for k, v in table.items() if isinstance(v, str)]
    return {"cross_reference": pl.DataFrame(rows, schema={"id": pl.String, "label": pl.String}, orient="row")}


def _reproduction(ctx: Context) -> Output:
    from cartkit.analysis.computed_numbers import computed_numbers
    from cartkit.analysis.reproduction import read_published, reproduction_table

    published = read_published(ctx.study.path)
    if not published:
        return {"reproduction": Omit("the study folder has no published.toml")}
    return {"reproduction": reproduction_table(published, computed_numbers(ctx.study, ctx.derived, ctx.results,
                                                                             published))}


SECTIONS: tuple[AnalysisSection, ...] = (
    AnalysisSection("study", ("study",), _study, on_population=False),
    AnalysisSection("compared groups", ("comparison_groups",), _comparison_groups, per="comparison"),
    AnalysisSection("baseline characteristics", ("baseline",), _baseline, counts="patients"),
    AnalysisSection("responses", ("responses", "response_rates", "disease_responses"), _responses),
    AnalysisSection("responses at the planned days", ("planned_responses", "planned_response_rates"),
                    _planned_responses),
    # on each population with patients never infused (ITT), which the section names with the N it counted
    AnalysisSection("responses by intention to treat", ("population_response_rates", "population_response_tests",
                                                        "population_disease_responses"), _population_responses),
    AnalysisSection("next study", ("next_study",), _next_study),
    AnalysisSection("adverse events", ("adverse_event_incidence", "grade_counts"), _adverse_events, counts="safety"),
    AnalysisSection("IEC-HS", ("iec_hs_summary", "iec_hs"), _iec_hs, counts="safety"),
    AnalysisSection("infections", ("infection_density", "infections_by_type"), _infections, counts="safety"),
    AnalysisSection("hypogammaglobulinaemia", ("hypogammaglobulinaemia",), _hypogammaglobulinaemia,
                    counts="safety"),
    AnalysisSection("late effects", ("neurotoxicities", "second_malignancies", "second_malignancy_summary"),
                    _late_effects, counts="safety"),
    AnalysisSection("toxicity grade comparison", ("grade_compare",), _grade_comparison, per="comparison",
                    counts="safety"),
    AnalysisSection("grading systems", ("grading_systems", "disagreements"), _grading_systems, counts="safety"),
    AnalysisSection("kinetics", ("kinetic_values", "kinetic_curves", "kinetic_params", "ck_model"), _kinetics),
    AnalysisSection("kinetic comparison", ("comparisons",), _kinetic_comparison, per="comparison"),
    AnalysisSection("expansion by response", ("comparisons",), _responder_comparison),
    AnalysisSection("recommended analysis", ("recommended_comparisons",), _recommended, per="comparison"),
    # survival is on the populations its endpoints name ([[plan.endpoint]], analysis/survival_analysis.py)
    AnalysisSection("survival", ("survival_curves", "at_risk", "logrank"), _survival, on_population=False),
    AnalysisSection("PFS by MRD status", ("mrd_landmark_status", "mrd_landmark", "mrd_landmark_curves",
                                         "mrd_landmark_at_risk"), _mrd_landmark),
    AnalysisSection("analysis populations", ("populations", "never_infused", "vein_to_vein"), _populations,
                    on_population=False),
    AnalysisSection("time-to-event endpoints", _ENDPOINT_TABLES, _endpoints, on_population=False),
    AnalysisSection("course of each patient", ("swimmer", "swimmer_events"), _course),
    AnalysisSection("target antigens", ("antigen_expression",), _antigens),
    AnalysisSection("products as infused", ("infusion_products",), _infusion_products),
    AnalysisSection("toxicity treatment", ("toxicity_treatment",), _toxicity_treatment, counts="safety"),
    AnalysisSection("CRS and ICANS course", ("syndrome_course", "syndrome_course_summary"), _syndrome_course,
                    counts="safety"),
    AnalysisSection("follow-up", ("follow_up", "follow_up_summary"), _follow_up),
    AnalysisSection("methods", ("methods",), _methods, on_population=False),
    AnalysisSection("warnings", ("warnings",), _warnings, on_population=False),
    AnalysisSection("reproduction", ("reproduction",), _reproduction, on_population=False),
    AnalysisSection("cross-reference", ("cross_reference",), _cross_reference, on_population=False),
)


def section_tables() -> tuple[str, ...]:
    """Every result table a section fills, in report order."""
    return tuple(dict.fromkeys(name for section in SECTIONS for name in section.tables))


def describe(sections: tuple[AnalysisSection, ...] = SECTIONS) -> list[dict[str, Any]]:
    """name, per, tables of each section (for docs and tests)."""
    return [{"name": s.name, "per": s.per, "tables": list(s.tables)} for s in sections]
