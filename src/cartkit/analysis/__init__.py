"""The analysis stage: runs the study's plan over the derived tables and returns ``Results``.

    results = analyse(study, derive(study))

The stage is the registry ``cartkit.analysis.sections.SECTIONS``: each section runs once for the
study or once per comparison the plan names (``[[plan.comparison]]``), and a section that does not
apply leaves its tables out with the reason in ``Results.omitted``.
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
    from cartkit.analysis.adverse_events import plan_groups
    from cartkit.analysis.methods import software_versions
    from cartkit.analysis.populations import KEY, primary_population, resolve_populations
    from cartkit.analysis.product_comparison import comparison_frame
    from cartkit.analysis.sections import SECTIONS, Context, run_sections
    from cartkit.study.plan_comparison import COMPARE_BY, effective_comparisons, expand_comparisons
    from cartkit.study.problems import report_lines
    from cartkit.study.provenance import study_provenance

    populations = resolve_populations(study)
    primary = primary_population(populations)
    products, diseases, groups = plan_groups(study)
    groups = groups.join(primary.episodes.select(KEY), on=KEY, how="semi")  # the sections' default population
    comparable = comparison_frame(study, groups)
    available = {by: tuple(comparable[column].drop_nulls().cast(pl.String).unique(maintain_order=True).to_list())
                 if column in comparable.columns else () for by, (_, column) in COMPARE_BY.items()}
    available.update(product=products, disease=diseases)  # in the plan's order when it lists them
    comparisons = expand_comparisons(effective_comparisons(study.plan), available)
    results = Results(software=software_versions(), provenance=study_provenance(
        study, products=list(products), diseases=list(diseases),
        comparisons=[{"by": c.by, "groups": list(c.pair), "paired": c.paired} for c in comparisons]),
        confidence_level=study.plan.confidence_level)
    ctx = Context(study, derived, results, products, diseases, groups, comparable, comparisons,
                  population=primary, populations=tuple(populations), warnings=report_lines(study.warnings) + list(derived.notes))  # validation's warnings first
    run_sections(ctx, SECTIONS)
    return results
