"""Methods and warnings written from what actually ran, not from what was planned."""

from __future__ import annotations

import platform

import polars as pl

_SYSTEM_NAMES = {
    "ctcae4.03": "NCI CTCAE v4.03",
    "ctcae5.0": "NCI CTCAE v5.0",
    "ctcae6.0": "NCI CTCAE v6.0",
    "astct2019": "ASTCT consensus 2019 (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-638)",
    "lee2014": "Lee 2014 (Lee DW et al., Blood 2014;124:188-195)",
}


def system_name(system: str) -> str:
    return _SYSTEM_NAMES.get(system, system)


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
    return " and ".join(system_name(s) for s in (systems or default).split("; "))


def methods_table(plan, facts: dict[str, str], software: dict[str, str],
                  systems: dict[str, str] | None = None, provenance=None) -> pl.DataFrame:
    """``systems``: toxicity -> the system(s) of the grades analysed (``Derived.grade_systems``); a
    recorded grade is in the system its data name, whatever the plan's default. ``provenance``
    (``cartkit.study.provenance.Provenance``) adds the input files and the plan as run."""
    survival = plan.survival
    systems = systems or {}
    haem = "; ".join(dict.fromkeys(s for tox, text in systems.items() if tox not in ("CRS", "ICANS")
                                   for s in text.split("; ")))
    items = [
        ("Toxicity grading",
         f"CRS graded with {_systems_text(systems.get('CRS'), plan.crs_system)}; ICANS with "
         f"{_systems_text(systems.get('ICANS'), plan.icans_system)}; haematological toxicity with "
         f"{_systems_text(haem, 'ctcae' + plan.ctcae_version)} "
         f"(neutrophils, haemoglobin, platelets, white cells, lymphocytes). {facts.get('grading_source', '')}"),
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
