"""Methods and warnings written from what actually ran, not from what was planned."""

from __future__ import annotations

import platform

import polars as pl

from cartkit.grading.systems import system_citation, system_label


def software_versions() -> dict[str, str]:
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    for pkg in ("cartkit", "polars", "numpy", "scipy", "statsmodels", "matplotlib"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = "not installed"
    return versions


def _systems_text(systems: str | None, default: str) -> str:
    """'ASTCT 2019' or 'CTCAE v4.03 and CTCAE v5.0' from '; '-joined system codes."""
    return system_citation(systems or default, sep=" and ")


# what cartkit derives each toxicity's grades from (cartkit.derive.toxicity)
_DERIVED_FROM = {"CRS": "vital signs and supportive care", "ICANS": "neurological assessments"}


def _toxicity_list(names: list[str]) -> str:
    names = [n if n.isupper() else n.lower() for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def analysed_grades_text(grades: dict) -> str:
    """What the grades analysed are, from ``Derived.grade_provenance`` (toxicity -> GradeProvenance).

    >>> from cartkit.derive import GradeProvenance
    >>> analysed_grades_text({"CRS": GradeProvenance("CRS", ("lee2014",), "derived", 0, 25, 1, ("astct2019",))})
    'The CRS grades analysed are derived by cartkit from vital signs and supportive care under Lee 2014 (Lee DW et al., Blood 2014;124:188-195); 1 of 26 episodes cannot be graded from the records and is left out. CRS grades are also derived under ASTCT 2019 and compared beside them as an alternative grading.'
    """
    recorded = [tox for tox, g in grades.items() if g.source == "recorded"]
    parts = []
    if recorded:
        parts.append(f"The {_toxicity_list(recorded)} grades analysed are the investigators' recorded grades "
                     "(an episode without the adverse event counts as grade 0).")
    for tox, g in grades.items():
        systems = _systems_text(g.system, g.system)
        source = _DERIVED_FROM.get(tox, "the blood counts")
        if g.source == "derived":
            text = f"The {_toxicity_list([tox])} grades analysed are derived by cartkit from {source} under {systems}"
        elif g.source == "mixed":
            text = (f"The {_toxicity_list([tox])} grades analysed are the investigators' recorded grades for "
                    f"{g.n_recorded} episodes and derived by cartkit from {source} for {g.n_derived} ({systems})")
        else:
            continue
        if g.n_undetermined:
            total = g.n_recorded + g.n_derived + g.n_undetermined
            text += (f"; {g.n_undetermined} of {total} episodes cannot be graded from the records and "
                     f"{'is' if g.n_undetermined == 1 else 'are'} left out")
        parts.append(text + ".")
    for tox, g in grades.items():
        if g.alternatives:
            parts.append(f"{_toxicity_list([tox])} grades are also derived under "
                         f"{' and '.join(system_label(a) for a in g.alternatives)} and compared beside "
                         "them as an alternative grading.")
    if recorded:
        parts.append("The recorded grades are set beside grades derived from the records where these allow it "
                     "(in the recorded grades' system where cartkit has its criteria), and every disagreement "
                     "is listed.")
    return " ".join(p[:1].upper() + p[1:] for p in parts)


def methods_table(plan, facts: dict[str, str], software: dict[str, str],
                  grades: dict | None = None, provenance=None) -> pl.DataFrame:
    """``grades``: toxicity -> how the grades analysed were obtained (``Derived.grade_provenance``); a
    recorded grade is in the system its data name, a derived one in the system it was derived under,
    whatever the plan's default. ``provenance`` (``cartkit.study.provenance.Provenance``) adds the
    input files and the plan as run."""
    survival = plan.survival
    grades = grades or {}
    systems = {tox: g.system for tox, g in grades.items() if g.systems}
    haem = "; ".join(dict.fromkeys(s for tox, text in systems.items() if tox not in ("CRS", "ICANS")
                                   for s in text.split("; ")))
    items = [
        ("Toxicity grading",
         f"CRS graded with {_systems_text(systems.get('CRS'), plan.crs_system)}; ICANS with "
         f"{_systems_text(systems.get('ICANS'), plan.icans_system)}; haematological toxicity with "
         f"{_systems_text(haem, 'ctcae' + plan.ctcae_version)} "
         f"(neutrophils, haemoglobin, platelets, white cells, lymphocytes). {analysed_grades_text(grades)}"),
        ("Response",
         "Lymphoma: Lugano 2014 (Cheson BD et al., J Clin Oncol 2014;32:3059-3068). B-ALL: CR (marrow blasts "
         "< 5%, no circulating blasts or extramedullary disease, ANC >= 1.0 x 10^9/L and platelets >= 100 x "
         "10^9/L), CRi (the same with incomplete count recovery) or NR. Best overall response per infusion; "
         "ORR = CR + CRi + PR, CR rate = CR + CRi, with exact Clopper-Pearson 95% confidence intervals. "
         f"{facts.get('response_source', '')}"),
        ("Kinetics",
         f"Peak (Cmax) and day of peak (Tmax, first occurrence) of each analyte over days "
         f"{plan.kinetics_window[0]}-{plan.kinetics_window[1]}; AUC by linear-up/log-down trapezoids "
         "(PKNCA conventions)."),
        ("Summaries",
         f"Median (IQR) with {'SPSS weighted-average (Hyndman-Fan type 6)' if plan.quantile_method == 'spss' else 'R type 7'} "
         "quartiles; mean +/- SD (n-1)."),
        ("Comparisons between products",
         "Measures: Shapiro-Wilk normality in each group (alpha 0.05), then Student's t test if both are "
         "normal, else the Wilcoxon rank-sum (Mann-Whitney) test, as the seed's plan prescribes; the same "
         "patients' paired comparison (paired t or Wilcoxon signed-rank on the differences) is reported beside "
         "it. Grades: exact Fisher-Freeman-Halton test on the grade x product table (the published "
         "P-values for CRS and ICANS come only from the exact test), and Bowker's symmetry test for the paired "
         "grades."),
        ("Survival",
         "Time zero: "
         + (f"each patient's first infusion of {survival.from_product}" if survival.from_product
            else "each patient's first CAR-T infusion")
         + "; each patient counts once per endpoint, a later infusion ends PFS follow-up (censored) unless "
         "progression came first. PFS events: progression, "
         "relapse or death; OS events: death; censored at last contact or the data cut-off "
         f"({facts.get('cutoff', 'not given')}). Allogeneic HSCT handled three ways (patients excluded, "
         "censored at HSCT, not censored); Kaplan-Meier estimates with log-transformed 95% CIs (R's default), "
         f"log-rank test between {survival.group_by} groups, survival at day {survival.landmark_day}."),
        ("Significance", f"Two-sided P < {plan.alpha}."),
        ("Software", "; ".join(f"{k} {v}" for k, v in software.items())),
    ]
    if provenance is not None:  # cartkit.study.provenance: the exact inputs and the plan as run
        from cartkit.study.provenance import methods_text

        items += zip(("Input data", "Plan as run"), methods_text(provenance), strict=True)
    return pl.DataFrame(items, schema={"item": pl.String, "text": pl.String}, orient="row")


def design_warnings(n_patients_paired: int, comparisons: pl.DataFrame | None, logrank: pl.DataFrame | None,
                    extra: list[str]) -> pl.DataFrame:
    texts = list(extra)
    if n_patients_paired > 0:
        texts.append(
            f"{n_patients_paired} patients received both products: the unpaired tests (as published) treat "
            "the same patients as independent groups. The paired tests are the appropriate analysis and are "
            "shown beside them."
        )
    if logrank is not None and "events" in logrank.columns:
        few = logrank.filter(pl.col("events") < 10)
        if few.height:
            texts.append(
                "Few events (< 10) in some survival analyses: Kaplan-Meier estimates and log-rank P-values "
                "are imprecise."
            )
    return pl.DataFrame({"text": texts}, schema={"text": pl.String})
