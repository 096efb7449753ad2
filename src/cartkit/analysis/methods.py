"""Methods and warnings written from what actually ran, not from what was planned."""

from __future__ import annotations

import platform

import polars as pl

from cartkit.analysis.formatting import confidence_label
from cartkit.analysis.recommended_comparison import methods_text as recommended_methods_text
from cartkit.analysis.survival_analysis import survival_methods_text
from cartkit.grading.systems import system_citation, system_label
from cartkit.study.plan_endpoint import HsctRule

# Quartile definitions (cartkit.stats.describe; Hyndman & Fan 1996, Am Stat 50:361)
_QUANTILE_NAMES = {
    "spss": "SPSS weighted average, Hyndman-Fan type 6",
    "r7": "R type 7",
}


def quantile_method_name(method: str) -> str:
    """The plan's ``quantile_method`` in words.

    >>> quantile_method_name("r7")
    'R type 7'
    """
    return _QUANTILE_NAMES.get(method, method)


def software_versions() -> dict[str, str]:
    """The software that computed the analysis, for Methods' "Software" line: Python, cartkit, Polars and
    NumPy. cartkit's statistics and figures are its own (stats/distributions.py, report/svg): SciPy is not
    imported by an analysis and matplotlib only rasterises PNGs (``--png``), so neither is named."""
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    for pkg in ("cartkit", "polars", "numpy"):
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


def _haematological_text(systems: dict[str, str], default: str) -> str:
    """Each haematological toxicity analysed with the system(s) of its grades, grouped by system."""
    by_system: dict[str, list[str]] = {}
    for tox, text in systems.items():
        if tox not in ("CRS", "ICANS"):
            by_system.setdefault(text, []).append(tox.lower())
    if not by_system:
        return f"haematological toxicity with {_systems_text(None, default)}"
    return "; ".join(f"{', '.join(toxes)} with {_systems_text(text, default)}" for text, toxes in by_system.items())


def test_description(method: str) -> str:
    """A test's name as the results table gives it, with the conventions the name implies.

    >>> test_description("Wilcoxon rank sum test")
    'Wilcoxon rank sum test (normal approximation, tie-corrected variance, no continuity correction)'
    >>> test_description("Wilcoxon signed rank exact test")
    'Wilcoxon signed rank exact test (exact distribution)'
    """
    name = method.replace(" (grade x product)", "").replace(" (paired grades)", "").strip()
    if "Wilcoxon" in name:
        if "exact" in name:
            return f"{name} (exact distribution)"
        cc = "continuity correction 0.5" if "continuity correction" in name else "no continuity correction"
        base = name.replace(" with continuity correction", "")
        return f"{base} (normal approximation, tie-corrected variance, {cc})"
    if name.startswith("Fisher"):
        return "Fisher's exact test (Fisher-Freeman-Halton beyond 2 x 2)"
    return name


def _tests_text(methods: list[str | None]) -> str:
    """'A (3), B (1)': each test that ran and how many comparisons it ran for, most used first."""
    counts: dict[str, int] = {}
    for m in methods:
        if m:
            key = test_description(m)
            counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{name} ({n})" for name, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def _not_run(results, *names: str) -> str:
    omitted = getattr(results, "omitted", {}) or {}
    why = next((omitted[n] for n in names if omitted.get(n)), "")
    return f"Not run{': ' + why if why else ''}."


def _table(results, name: str) -> pl.DataFrame | None:
    if results is None:
        return None
    table = results.tables.get(name) if hasattr(results, "tables") else results.get(name)
    return table if table is not None and table.height else None


def _level(plan) -> str:
    """The plan's confidence level as printed ("95%"): every CI of the analysis is at 1 - alpha."""
    return confidence_label(plan.confidence_level)


def _response_text(plan, results, facts: dict[str, str]) -> str:
    from cartkit.study.vocabulary import DIAGNOSES

    listing = _table(results, "responses")
    if listing is None:
        return _not_run(results, "responses", "response_rates")
    families = {DIAGNOSES.get(d) for d in listing["diagnosis"].drop_nulls().unique().to_list()}
    parts = []
    if "lymphoma" in families:
        parts.append("Lymphoma: Lugano 2014 (Cheson BD et al., J Clin Oncol 2014;32:3059-3068).")
    if "all" in families:
        parts.append("B-ALL: CR (marrow blasts < 5%, no circulating blasts or extramedullary disease, ANC >= "
                     "1.0 x 10^9/L and platelets >= 100 x 10^9/L), CRi (the same with incomplete count recovery) "
                     "or NR.")
    from cartkit.analysis.responses import response_methods

    disease_parts, rates_text = response_methods(families, _table(results, "response_rates") is not None)
    parts += disease_parts
    parts.append("Best overall response per infusion")
    if rates_text:
        parts[-1] += f"; {rates_text}; with exact Clopper-Pearson {_level(plan)} confidence intervals"
    parts[-1] += "."
    planned = _table(results, "planned_response_rates")
    if planned is not None:
        from cartkit.response.best_response import FAMILY_NAMES

        days = "; ".join(f"{FAMILY_NAMES.get(family, family)} day {', '.join(str(d) for d in sorted(set(ds)))}"
                         for family, ds in plan.response_days.items() if ds)
        parts.append(f"Response at the planned assessment days ({days}; [plan.response_days]): the assessment "
                     f"nearest each day within +/- {plan.response_window} days; an episode not assessed in the "
                     "window counts as not responding" + _not_reached_text(planned) + ". The best response is taken "
                     "over every assessment.")
    sources = listing["source"].drop_nulls().unique().sort().to_list() if "source" in listing.columns else []
    if sources:
        parts.append(f"{listing.height} infusion(s) assessed; response source: {', '.join(sources)}.")
    if facts.get("response_source"):
        parts.append(facts["response_source"])
    return " ".join(parts)


def _not_reached_text(planned) -> str:
    """The planned days' episodes whose follow-up had not reached the day (analysis/response_days.py), if any."""
    short = int(planned["not_reached"].sum()) if "not_reached" in planned.columns else 0
    return (f", except {short} episode-day(s) whose follow-up had not reached the day at the data cut-off (not "
            "evaluable: left out of that day's n)" if short else "")


def _kinetics_text(plan, results) -> str:
    params = _table(results, "kinetic_params")
    if params is None:
        return _not_run(results, "kinetics", "kinetic_params")
    present = set(params["analyte"].unique().to_list())
    analytes = [a for a in plan.kinetic_analytes if a in present] + sorted(present - set(plan.kinetic_analytes))
    text = (f"Peak (Cmax) and day of peak (Tmax, first occurrence) of {', '.join(analytes)} over days "
            f"{plan.kinetics_window[0]}-{plan.kinetics_window[1]} of each infusion "
            f"({params.height} analyte-episodes); AUC by linear-up/log-down trapezoids (PKNCA conventions).")
    ck = _table(results, "ck_model")
    if ck is not None and "converged" in ck.columns:
        text += (f" Stein 2019 cellular-kinetic model fitted to each episode's CAR-T curve: "
                 f"{int(ck['converged'].sum())} of {ck.height} fits converged.")
    return text


def _comparisons_text(plan, results) -> str:
    comp = _table(results, "comparisons")
    grades = _table(results, "grade_compare")
    if comp is None and grades is None:
        return _not_run(results, "comparisons", "grade_compare")
    parts = []
    groups = _table(results, "comparison_groups")
    if groups is not None:
        described = []
        for r in groups.iter_rows(named=True):
            text = (f"{r.get('comparison') or str(r.get('group_a')) + ' vs ' + str(r.get('group_b'))} "
                    f"(by {r.get('by', 'product')}): {r.get('patients_a')} patients ({r.get('episodes_a')} "
                    f"episodes) vs {r.get('patients_b')} ({r.get('episodes_b')})")
            if r.get("paired"):
                text += f"; paired tests: {r['paired']}"
            described.append(text)
        parts.append(f"Groups compared: {'; '.join(described)}.")
    if comp is not None:
        for by_response, frame in ((False, comp.filter(~pl.col("family").str.starts_with("by response"))),
                                   (True, comp.filter(pl.col("family").str.starts_with("by response")))):
            if frame.height == 0:
                continue
            if "comparison" in frame.columns and frame["comparison"].is_not_null().all():
                pairs = "; ".join(dict.fromkeys(frame["comparison"].to_list()))
            else:
                pairs = "; ".join(dict.fromkeys(f"{a} vs {b}" for a, b in
                                                frame.select("group_a", "group_b").rows()))
            what = ("Expansion of responders vs non-responders within each product" if by_response
                    else f"Measures, {pairs}")
            text = (f"{what} ({frame.height} comparison(s)): Shapiro-Wilk normality in each group "
                    f"(alpha {plan.normality_alpha:g}), "
                    "then Student's t test if both are normal, else the Wilcoxon rank-sum (Mann-Whitney) test, "
                    "exact when both groups have fewer than 50 values and no ties. Tests run: "
                    f"{_tests_text(frame['method'].to_list())}.")
            paired = [m for m in frame["paired_method"].to_list() if m] if "paired_method" in frame.columns else []
            if paired:
                text += (" The same patients' paired comparison (paired t test or Wilcoxon signed-rank test on "
                         f"the differences) beside it: {_tests_text(paired)}.")
            parts.append(text)
    if grades is not None:
        by_test: dict[str, list[str]] = {}
        for tox, system, method in grades.select("toxicity", "system", "method").rows():
            if method:
                label = f"{tox} ({system_label(system)})"
                by_test.setdefault(test_description(method), []).append(label)
        listed = "; ".join(f"{test}: {', '.join(toxes)}" for test, toxes in by_test.items())
        text = ("Grades, grade x product tables: Pearson chi-square when Cochran's rule holds (2 x 2: every "
                "expected count >= 5; larger: at most 20% below 5 and none below 1), else Fisher's exact test. "
                f"Tests run: {listed}.")
        paired = [m for m in grades["paired_method"].to_list() if m] if "paired_method" in grades.columns else []
        if paired:
            text += f" Paired grades: {_tests_text(paired)}."
        parts.append(text)
    return " ".join(parts)


_HSCT_RULES = {
    HsctRule.EXCLUDE.label: "patients transplanted after the index infusion excluded",
    HsctRule.CENSOR.label: "censored at HSCT",
    HsctRule.IGNORE.label: HsctRule.IGNORE.label,
    HsctRule.COMPETING.label: "HSCT a competing event",
}


def _survival_text(plan, results, facts: dict[str, str]) -> str:
    survival = plan.survival
    tests = _table(results, "logrank")
    if results is not None and tests is None:
        return _not_run(results, "survival", "logrank")
    origin = (f"each patient's first infusion of {survival.from_product}" if survival.from_product
              else "each patient's first CAR-T infusion")
    text = (f"Time zero: {origin}; each patient counts once per endpoint, a later infusion ends PFS follow-up "
            "(censored) unless progression came first. PFS events: progression, relapse or death; OS events: "
            f"death; censored at last contact or the data cut-off ({facts.get('cutoff', 'not given')}).")
    if tests is None:  # no results given: the plan only
        return text
    endpoints = ", ".join(dict.fromkeys(tests["endpoint"].to_list()))
    rules = list(dict.fromkeys(tests["censoring"].to_list()))
    primary = (HsctRule.CENSOR if survival.censor_at_hsct else HsctRule.IGNORE).label
    hsct = "; ".join(_HSCT_RULES.get(r, r) + (" (primary)" if r == primary else "") for r in rules)
    text += (f" Endpoints {endpoints}. Allogeneic HSCT handled {len(rules)} way(s): {hsct}. Kaplan-Meier "
             f"estimates with log-transformed {_level(plan)} CIs (R's survfit default)")
    if tests["pvalue"].is_not_null().any():
        text += f", log-rank test between {survival.group_by} groups"
    landmarks = tests["landmark_day"].drop_nulls().unique().to_list() if "landmark_day" in tests.columns else []
    if landmarks:
        text += f", survival at day {', '.join(str(d) for d in sorted(landmarks))}"
    unit = survival.time_unit if survival.time_unit == "days" else f"months of {30.4375} days"
    return text + f"; times in {unit}."


# what each table on the primary population is, in the Methods' words (in report order)
_POPULATION_TABLES = {"baseline": "baseline characteristics", "responses": "responses",
                      "population_response_rates": "response rates by intention to treat (the never infused as "
                                                   "non-responders)",
                      "population_disease_responses": "response categories by intention to treat (IMWG 2016, iwCLL 2018)",
                      "population_response_tests": "the comparison of the arms' response rates by intention to "
                                                   "treat",
                      "adverse_event_incidence": "adverse events", "kinetic_values": "kinetics",
                      "comparisons": "comparisons between groups", "swimmer": "each patient's course",
                      "follow_up": "follow-up"}


def _and_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _populations_text(plan, results) -> str | None:
    """The analysis populations (``[[plan.population]]``) from the results: which is primary, each rule and N
    (by arm), who was never infused, and what is on which population. None without a populations table."""
    pops = _table(results, "populations")
    if pops is None:
        return None
    described = []
    for row in pops.filter(pl.col("arm") == "All").iter_rows(named=True):
        arms = pops.filter((pl.col("population") == row["population"]) & (pl.col("arm") != "All"))
        by_arm = ", ".join(f"{a} {n}" for a, n in arms.select("arm", "n").iter_rows())
        text = f"{row['population']} ({row['rule']}; N = {row['n']}{': ' + by_arm if by_arm else ''}"
        text += (f"; {row['n_infused']} infused, {row['n_never_infused']} never infused)"
                 if row["n_never_infused"] else f"; all {row['n_infused']} infused)")
        described.append((row["primary"], text))
    primary = [t for p, t in described if p]
    others = [t for p, t in described if not p]
    parts = [f"Primary population: {primary[0] if primary else 'none'}."]
    if others:
        parts.append(f"Other population{'s' if len(others) > 1 else ''}: {'; '.join(others)}.")
    on = [(words, results.populations[name]) for name, words in _POPULATION_TABLES.items()
          if name in (results.populations or {})]
    if on:
        survival = ("each time-to-event endpoint on the populations it names ([[plan.endpoint]])" if plan.endpoints
                    else "survival ([plan.survival]) on every patient with its time origin")
        names = pops.filter(pl.col("primary"))["population"].to_list()
        if all(entry["population"] in names for _, entry in on):
            parts.append(f"{_and_list([w for w, _ in on]).capitalize()} are on the primary population (its infusions "
                         f"for what is about an infusion); {survival}.")
        else:  # each table on the set it counted (analysis/populations.py counted_set)
            by_set: dict[str, list[str]] = {}
            for words, entry in on:
                by_set.setdefault(entry["description"], []).append(words)
            sets = "; ".join(f"{_and_list(words)} on {where}" for where, words in by_set.items())
            parts.append(f"{sets[0].upper()}{sets[1:]}; {survival}.")
    return " ".join(parts)


_ORIGIN_WORDS = {"enrolment": "enrolment (patients.enrolment_date)",
                 "leukapheresis": "leukapheresis (patients.leukapheresis_date)",
                 "randomisation": "randomisation (patients.randomisation_date)",
                 "first infusion": "each patient's first CAR-T infusion",
                 "each infusion": "each CAR-T infusion (one row per infusion)",
                 "first response": "the first response (by the ORR rule of the patient's own disease)",
                 "first complete response": "the first complete response (by the CR-rate rule of the patient's own "
                                            "disease)"}
_HSCT_WORDS = {HsctRule.CENSOR: "censored on the day of the transplant",
               HsctRule.IGNORE: "not censored (follow-up goes on)",
               HsctRule.EXCLUDE: "patients transplanted after the origin are left out",
               HsctRule.COMPETING: "a competing event (the Kaplan-Meier, log-rank and Cox estimates are "
                                   "cause-specific)"}


def _or_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _endpoints_text(plan, results, facts: dict[str, str]) -> str | None:
    """Each ``[[plan.endpoint]]``: origin, events, end dates, HSCT rule, populations and tests (from the results).
    None when the plan names no endpoint (``[plan.survival]`` is then the Survival item)."""
    if not plan.endpoints:
        return None
    summary = _table(results, "endpoint_summary")
    tests = _table(results, "endpoint_tests")
    parts = []
    for e in plan.endpoints:
        origin = (f"the patient's first infusion of {e.product}" if e.origin == "infusion of product"
                  else _ORIGIN_WORDS.get(e.origin, e.origin))
        text = f"{e.name}{f' ({e.label})' if e.label and e.label != e.name else ''}: from {origin} to the first "
        text += _or_list([k.replace("_", " ") for k in e.events])
        if e.no_response_by_day is not None:
            when = "on day 0" if e.no_response_event_at == "origin" else f"on day {e.no_response_by_day}"
            text += (f"; no response (by the ORR rule of the patient's own disease) within {e.no_response_by_day} days of the origin is an event, "
                     f"dated {when}")
        ends = [k.replace("_", " ") for k in e.censor_at] + (["the next CAR-T infusion"] if e.end_at_next_infusion
                                                              else [])
        if ends:
            text += f"; censored at {_or_list(ends)} if earlier"
        text += (f"; otherwise censored at the last record, capped at the data cut-off "
                 f"({facts.get('cutoff', 'not given')}); allogeneic HSCT after the origin: {_HSCT_WORDS[e.hsct]}")
        rows = summary.filter(pl.col("endpoint") == e.name) if summary is not None else None
        if rows is None or rows.height == 0:
            parts.append(text + ". Not analysed: no patient of its populations has the time origin.")
            continue
        on = rows.select("population", "population_n").unique(maintain_order=True)
        text += f". On {', '.join(f'{p} (N = {n})' for p, n in on.iter_rows())}"
        compared = tests.filter((pl.col("endpoint") == e.name) & pl.col("hr").is_not_null()) if tests is not None \
            else None
        if compared is not None and compared.height:
            r = compared.row(0, named=True)
            text += (f", by {r['group_by']}: Kaplan-Meier medians, the log-rank test and the Cox hazard ratio "
                     f"(Efron ties, Wald {_level(plan)} CI) of each group against {r['reference']}")
        else:
            text += ": Kaplan-Meier medians"
        unit = e.time_unit if e.time_unit == "days" else f"months of {30.4375} days"
        parts.append(text + f"; times in {unit}.")
    return " ".join(parts)


def methods_table(plan, facts: dict[str, str], software: dict[str, str],
                  grades: dict | None = None, provenance=None, results=None) -> pl.DataFrame:
    """The Methods, written from what ran: ``results`` (the ``Results`` being filled, with the tables of
    the analysis) gives the tests each comparison used, the endpoints and HSCT rules, the analytes,
    the diseases; the plan gives the conventions they ran under. ``grades``: toxicity -> how the
    grades analysed were obtained (``Derived.grade_provenance``); a recorded grade is in the system its
    data name, a derived one in the system it was derived under, whatever the plan's default.
    ``provenance`` (``cartkit.study.provenance.Provenance``) adds the input files and the plan as run."""
    from cartkit.analysis.toxicity_methods import further_toxicity_methods

    grades = grades or {}
    systems = {tox: g.system for tox, g in grades.items() if g.systems}
    items = [
        ("Analysis populations", _populations_text(plan, results)),
        ("Toxicity grading",
         f"CRS graded with {_systems_text(systems.get('CRS'), plan.crs_system)}; ICANS with "
         f"{_systems_text(systems.get('ICANS'), plan.icans_system)}; "
         f"{_haematological_text(systems, 'ctcae' + plan.ctcae_version)}. {analysed_grades_text(grades)}"
         .strip()),
        *further_toxicity_methods(results),  # IEC-HS, infections, late effects (analysis/toxicity_methods.py)
        ("Response", _response_text(plan, results, facts)),
        ("Kinetics", _kinetics_text(plan, results)),
        ("Summaries",
         f"Median (IQR) with {quantile_method_name(plan.quantile_method)} quartiles; mean +/- SD (n-1)."),
        ("Comparisons between products", _comparisons_text(plan, results)),
        ("Recommended analysis", recommended_methods_text(plan, results)),
        ("Survival", _survival_text(plan, results, facts)),
        ("Time-to-event endpoints", _endpoints_text(plan, results, facts)),
        ("Survival conventions", survival_methods_text(plan, results)),  # analysis/survival_analysis.py
        ("Significance", f"Two-sided P < {plan.alpha:g}; every confidence interval at {_level(plan)} "
                         "(1 - alpha)."),
        ("Software", "; ".join(f"{k} {v}" for k, v in software.items())),
    ]
    items = [(item, text) for item, text in items if text is not None]  # None: not part of this analysis
    if provenance is not None:  # cartkit.study.provenance: the exact inputs and the plan as run
        from cartkit.study.provenance import methods_text

        items += zip(("Input data", "Plan as run"), methods_text(provenance), strict=True)
    return pl.DataFrame(items, schema={"item": pl.String, "text": pl.String}, orient="row")


def design_warnings(logrank: pl.DataFrame | None, extra: list[str]) -> pl.DataFrame:
    """The warnings table: ``extra`` (validation's, derivation's, the sections' and each comparison's pair
    note, counted per comparison by the comparison_groups section), then few events in a survival analysis."""
    texts = list(extra)
    if logrank is not None and "events" in logrank.columns:
        few = logrank.filter(pl.col("events") < 10)
        if few.height:
            texts.append(
                "Few events (< 10) in some survival analyses: Kaplan-Meier estimates and log-rank P-values "
                "are imprecise."
            )
    return pl.DataFrame({"text": texts}, schema={"text": pl.String})
