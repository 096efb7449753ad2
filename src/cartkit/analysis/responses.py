"""Response tables: per patient and product, ORR / CR rates with exact CIs, and the categories of
the myeloma (IMWG 2016) and CLL (iwCLL 2018) responses.

ORR and CR rate follow each disease's criteria (``response/criteria/best_response.toml`` [orr]):
lymphoma CR + PR, B-ALL CR + CRi, myeloma PR or better (sCR + CR + VGPR + PR; CR rate sCR + CR), CLL
CR + CRi + nPR + PR (CR rate CR + CRi); the pooled "All" row counts each patient by their own disease.
Confidence intervals are Clopper-Pearson (exact, as R's ``binom.test``) at the plan's
confidence level, 1 - alpha.
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.patient_order import patient_number
from cartkit.response.best_response import FAMILY_NAMES, orr_definitions, orr_membership, orr_text
from cartkit.study.vocabulary import DIAGNOSES


def response_listing(best: pl.DataFrame, groups: pl.DataFrame, hsct: pl.DataFrame) -> pl.DataFrame:
    """patient_id, diagnosis, episode, product, best_response, response_day, source, relapse_day, hsct."""
    out = groups.join(best, on=["patient_id", "episode"], how="left")
    for col, dtype in (("response_day", pl.Int64), ("source", pl.String), ("relapse_day", pl.Int64)):
        if col not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=dtype).alias(col))
    out = out.join(hsct.select("patient_id", "episode", pl.lit(True).alias("hsct")),
                   on=["patient_id", "episode"], how="left").with_columns(pl.col("hsct").fill_null(False))
    return out.select(
        "patient_id", "diagnosis", "episode", "product", "best_response", "response_day", "source",
        "relapse_day", "hsct",
    ).sort(patient_number(), "patient_id", "episode")


def with_response_flags(listing: pl.DataFrame) -> pl.DataFrame:
    """The listing with ``responder`` and ``complete`` by the ORR / CR-rate definition of each
    patient's disease (false without a best response)."""
    flags = orr_membership()
    return (
        listing.with_columns(family=pl.col("diagnosis").replace_strict(DIAGNOSES, default=None))
        .join(flags, on=["family", "best_response"], how="left")
        .with_columns(pl.col("responder").fill_null(False), pl.col("complete").fill_null(False))
    )


def response_rates(listing: pl.DataFrame, products, diseases, level: float = 0.95) -> pl.DataFrame:
    """ORR and CR rate per product x disease (and "All") with exact CIs at ``level`` (the plan's 1 - alpha),
    each patient counted by the ORR / CR-rate definition of their own disease."""
    from cartkit.stats import binomial_ci

    flagged = with_response_flags(listing)
    rows = []
    for product in products:
        for disease in [*diseases, "All"]:
            frame = flagged.filter(pl.col("product") == product)
            if disease != "All":
                frame = frame.filter(pl.col("diagnosis") == disease)
            n = frame.height
            if n == 0:
                continue
            orr_n = int(frame["responder"].sum())
            cr_n = int(frame["complete"].sum())
            orr_lo, orr_hi = binomial_ci(orr_n, n, level=level)
            cr_lo, cr_hi = binomial_ci(cr_n, n, level=level)
            rows.append((product, disease, n, orr_n, orr_n / n, orr_lo, orr_hi, cr_n, cr_n / n, cr_lo, cr_hi))
    return pl.DataFrame(
        rows,
        schema={"product": pl.String, "diagnosis": pl.String, "n": pl.Int64, "orr_n": pl.Int64,
                "orr": pl.Float64, "orr_lower": pl.Float64, "orr_upper": pl.Float64, "cr_n": pl.Int64,
                "cr": pl.Float64, "cr_lower": pl.Float64, "cr_upper": pl.Float64},
        orient="row",
    )


# categories of the disease-specific response tables, best first, and the MRD row each adds
DISEASE_CATEGORIES = {
    "myeloma": (("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"), "MRD-negative CR (10^-5)"),
    "cll": (("CR", "CRi", "nPR", "PR", "PR-L", "SD", "PD"), "CR/CRi with undetectable MRD (10^-4)"),
}


def disease_responses(listing: pl.DataFrame, best: pl.DataFrame,
                      extra_categories: tuple[str, ...] = ()) -> pl.DataFrame | None:
    """Best overall response categories of the myeloma and CLL patients by product: criteria, product,
    diagnosis, category, n, N (infused episodes of that product and disease), one row per category of
    the disease's criteria (IMWG 2016: sCR ... PD; iwCLL 2018: CR ... PD), "not evaluable" for episodes
    without a response, and the MRD-negative CR row. None when the study has neither disease.
    ``extra_categories``: labels of ``best_response`` that are no response category, each with a row of its
    own after "not evaluable" (the ITT table's "never infused", ``population_disease_responses``)."""
    fam = listing.with_columns(family=pl.col("diagnosis").replace_strict(DIAGNOSES, default=None)).filter(
        pl.col("family").is_in(list(DISEASE_CATEGORIES)))
    if fam.height == 0:
        return None
    mrd = best.select("patient_id", "episode", "mrd_negative_cr") if "mrd_negative_cr" in best.columns else None
    if mrd is not None:
        fam = fam.join(mrd, on=["patient_id", "episode"], how="left")
    else:
        fam = fam.with_columns(mrd_negative_cr=pl.lit(None, dtype=pl.Boolean))
    defs = orr_definitions()
    rows = []
    for (family, product, diagnosis), g in fam.group_by(["family", "product", "diagnosis"], maintain_order=True):
        categories, mrd_label = DISEASE_CATEGORIES[family]
        n_total = g.height
        counts = dict(g.group_by("best_response").len().iter_rows())
        for cat in categories:
            if cat in ("nPR", "PR-L") and not counts.get(cat):
                continue  # nPR and PR-L only where a study has them
            rows.append((defs[family]["criteria"], product, diagnosis, cat, counts.get(cat, 0), n_total))
        rows.append((defs[family]["criteria"], product, diagnosis, "not evaluable", counts.get(None, 0), n_total))
        rows += [(defs[family]["criteria"], product, diagnosis, extra, counts.get(extra, 0), n_total)
                 for extra in extra_categories]
        rows.append((defs[family]["criteria"], product, diagnosis, mrd_label,
                     int(g["mrd_negative_cr"].fill_null(False).sum()), n_total))
    return pl.DataFrame(rows, schema={"criteria": pl.String, "product": pl.String, "diagnosis": pl.String,
                                      "category": pl.String, "n": pl.Int64, "N": pl.Int64}, orient="row")


def iwcll_duration_text() -> str:
    """'a derived response counts when it lasts at least 2 months (confirmed at an assessment N days or
    more later); ' from the iwCLL criteria file's [duration], '' when it is not required."""
    from cartkit.response.iwcll import iwcll_criteria

    duration = iwcll_criteria()["duration"]
    if not duration["require"]:
        return ""
    return (f"a derived response counts when it lasts at least 2 months (confirmed at an assessment "
            f"{duration['min_days']} days or more later); ")


def response_methods(families, with_rates: bool) -> tuple[list[str], str]:
    """The Methods' sentences on the myeloma and CLL criteria (one per family present, in
    ``families``), and the ORR / CR-rate definition of every family present ('' without rates)."""
    parts = []
    if "myeloma" in families:
        parts.append(
            "Multiple myeloma: IMWG 2016 (Kumar S et al., Lancet Oncol 2016;17:e328-e346, Table 2): sCR, CR, "
            "VGPR, PR, MR, SD and PD from serum and urine M-protein, free light chains, immunofixation, marrow "
            "plasma cells and plasmacytomas; measurable disease at baseline, PD measured from the nadir, each "
            "category confirmed by two consecutive assessments; MRD-negative CR = CR or sCR with MRD negative at "
            "10^-5 or deeper.")
    if "cll" in families:
        parts.append(
            "CLL: iwCLL 2018 (Hallek M et al., Blood 2018;131:2745-2760, Table 4): CR, CRi, nPR, PR, SD and PD "
            "from lymph nodes, liver and spleen, lymphocyte count (group A) and platelets, haemoglobin, "
            "neutrophils and marrow (group B); PR needs two improved group A parameters and one group B "
            "parameter, PD any one criterion or a Richter transformation; " + iwcll_duration_text()
            + "undetectable MRD below 10^-4.")
    if not with_rates:
        return parts, ""
    orr, cr = orr_text([f for f in FAMILY_NAMES if f in families])
    return parts, f"{orr}; {cr}"


# ------------------------------------------------------------------ response rates on a population (ITT)

POPULATION_RATES_SCHEMA = {
    "population": pl.String, "group_by": pl.String, "group": pl.String, "diagnosis": pl.String,
    "planned_day": pl.Int64, "n": pl.Int64, "n_infused": pl.Int64, "n_never_infused": pl.Int64,
    "not_reached": pl.Int64, "orr_n": pl.Int64, "orr": pl.Float64, "orr_lower": pl.Float64, "orr_upper": pl.Float64,
    "cr_n": pl.Int64, "cr": pl.Float64, "cr_lower": pl.Float64, "cr_upper": pl.Float64, "note": pl.String}


def randomised_treatment_best(assessments: pl.DataFrame | None) -> pl.DataFrame:
    """patient_id, best_response of each patient's randomised treatment before any CAR-T infusion (assessments
    episode 0, the standard-of-care arm's responses, dated from randomisation; docs/plan.md "Responses to
    standard of care"): the best of the assessments after randomisation (day >= 1), by the best-response order
    of best_response.toml, as a CAR-T episode's best overall response."""
    from cartkit.response.best_response import bor_label_expr, bor_rank_expr

    empty = pl.DataFrame(schema={"patient_id": pl.String, "best_response": pl.String})
    if assessments is None or not assessments.height:
        return empty
    ranked = assessments.filter((pl.col("episode") == 0) & (pl.col("day") >= 1) & pl.col("response").is_not_null()
                                ).with_columns(label=bor_label_expr(pl.col("response"))).with_columns(
        rank=bor_rank_expr(pl.col("label"))).filter(pl.col("rank").is_not_null())
    if not ranked.height:
        return empty
    return ranked.sort("patient_id", "rank", "day").unique("patient_id", keep="first", maintain_order=True).select(
        "patient_id", pl.col("label").alias("best_response"))


def randomised_treatment_note(arm: str, crossed: int) -> str:
    """How a control arm's rate counts its patients: the response to the arm's own treatment (episode 0)."""
    also = (f"; the {crossed} patient{'s' if crossed != 1 else ''} of the arm infused with CAR-T later (crossover) "
            "count by their response before crossover: a response after the CAR-T infusion belongs to the CAR-T "
            "episode, not to the arm's treatment" if crossed else "")
    return (f"{arm}: the response to the arm's own treatment (assessments episode 0, dated from randomisation); a "
            f"patient with none counts as a non-responder{also}")


def _meant_to_be_infused(units: pl.DataFrame, members: pl.DataFrame, arm: str) -> bool:
    """Whether ``arm`` is a CAR-T arm: every patient of it was infused, or one never infused has a
    ``never_infused_reason`` (why a patient meant for CAR-T was not infused; a standard-of-care patient has
    none, study/integrity.py ``never_infused``)."""
    never = units.filter((pl.col("group") == arm) & ~pl.col("infused")).select("patient_id")
    if not never.height:
        return True
    if "never_infused_reason" not in members.columns:
        return False
    return members.join(never, on="patient_id", how="semi")["never_infused_reason"].is_not_null().any()


def not_recorded_note(arm: str, crossed: int) -> str:
    """Why a control arm has no response rate: the data model records responses after a CAR-T infusion only."""
    also = (f"; the {crossed} patient{'s' if crossed != 1 else ''} of the arm infused with CAR-T later (crossover) "
            "are not counted: a response to CAR-T is not a response to the arm's treatment" if crossed else "")
    return (f"{arm}: responses to the arm's own treatment are not recorded (assessments of episode 0, dated from "
            f"randomisation), so its rates are not estimated{also}")


def population_response_rates(population, patients: pl.DataFrame, listing: pl.DataFrame,
                              planned: pl.DataFrame | None, products, diseases, control: str | None,
                              level: float = 0.95, control_best: pl.DataFrame | None = None) -> pl.DataFrame:
    """ORR and CR rate on a population with patients never infused (intention to treat), one patient one unit.

    Every patient of ``population`` (a ``populations.Population``) with a diagnosis of ``diseases`` is in the
    denominator of their group: their arm when the population's patients have one (``group_by`` "arm"), else
    the plan's one product ("product"), else all together ("all"). A patient's response is the best response
    of their first analysed infusion (``listing``: the ``responses`` table); a patient never infused (or with
    no analysed infusion) is a non-responder. ``control`` (an arm, ``populations.control_arm``) is counted by
    the response to its own treatment, ``control_best`` (``randomised_treatment_best``: assessments episode 0,
    before any crossover; a patient without one is a non-responder); when no patient of the arm has one, it
    gets N and no rate (``not_recorded_note``), and its planned days never have a rate (they count from a
    CAR-T infusion). A control arm without them that was meant to be infused (``_meant_to_be_infused``: a
    CAR-T dose arm) is counted as any other arm, by its first infusions. Responders and
    complete responses by the ORR / CR-rate rule of each patient's own disease (best_response.toml [orr]).

    ``planned`` (the ``planned_responses`` listing, with ``follow_up_reached``) adds one row per planned day
    of the disease's family (``planned_day``; null = the best overall response): the response at that day of
    the first infusion; never infused: a non-responder; follow-up not reached at the cut-off: left out of
    n, counted in ``not_reached``. Rows by group, diagnosis (then "All", pooled) and day, with exact
    Clopper-Pearson CIs at ``level``."""
    from cartkit.stats import binomial_ci

    members = patients.join(population.patients.select("patient_id"), on="patient_id", how="semi").filter(
        pl.col("diagnosis").is_in(list(diseases)))
    has_arm = "arm" in members.columns and members["arm"].is_not_null().any()
    if has_arm:
        group_by, group = "arm", pl.col("arm").cast(pl.String).fill_null("no arm")
    elif len(products) == 1:
        group_by, group = "product", pl.lit(products[0])
    else:
        group_by, group = "all", pl.lit("All")
    units = members.select("patient_id", "diagnosis", group.alias("group"))
    units, own = _first_infusions(units, listing, control, control_best)
    control_rated = own is not None and own.height > 0
    if control is not None and not control_rated and _meant_to_be_infused(units, members, control):
        control = None  # a CAR-T arm (e.g. a dose level): its responses are its infusions'
    if control_rated:  # the control arm by its own treatment's response, not by a later CAR-T infusion's
        units = units.join(own.rename({"best_response": "__own"}), on="patient_id", how="left").with_columns(
            best_response=pl.when(pl.col("group") == control).then(pl.col("__own")).otherwise("best_response")
        ).drop("__own")
    frames = [units.with_columns(planned_day=pl.lit(None, dtype=pl.Int64), reached=pl.lit(True))]
    if planned is not None and planned.height:
        days = planned.join(units.filter(pl.col("infused")).select("patient_id", "episode"),
                            on=["patient_id", "episode"], how="semi")
        per_day = days.select("diagnosis", "planned_day").unique()
        at_day = units.drop("best_response").join(per_day, on="diagnosis", how="inner").join(
            days.select("patient_id", "episode", "planned_day", pl.col("response").alias("best_response"),
                        pl.col("follow_up_reached").alias("reached")),
            on=["patient_id", "episode", "planned_day"], how="left").with_columns(pl.col("reached").fill_null(True))
        frames.append(at_day.select(frames[0].columns))
    flagged = with_response_flags(pl.concat(frames, how="vertical_relaxed"))
    rows = []
    group_order = list(dict.fromkeys(sorted(flagged["group"].unique().to_list(), key=lambda g: (g == control, g))))
    for g in group_order:
        for disease in [*[d for d in diseases if d in flagged["diagnosis"].to_list()], "All"]:
            frame = flagged.filter((pl.col("group") == g) & ((pl.col("diagnosis") == disease) | (disease == "All")))
            for (day,), at in frame.group_by("planned_day", maintain_order=True):
                counted = at.filter(pl.col("reached"))
                n = counted.height
                if n == 0 or (disease == "All" and day is not None):
                    continue
                n_inf = int(counted["infused"].sum())
                row = {"population": population.name, "group_by": group_by, "group": g, "diagnosis": disease,
                       "planned_day": day, "n": n, "n_infused": n_inf, "n_never_infused": n - n_inf,
                       "not_reached": at.height - n, "note": None}
                if g == control and (not control_rated or day is not None):
                    row["note"] = (not_recorded_note(g, n_inf) if not control_rated else
                                   f"{g}: the planned days count from a CAR-T infusion; the arm's own response is "
                                   "its best overall response")
                    rows.append(row)
                    continue
                if g == control:
                    row["note"] = randomised_treatment_note(g, n_inf)
                orr_n, cr_n = int(counted["responder"].sum()), int(counted["complete"].sum())
                (orr_lo, orr_hi), (cr_lo, cr_hi) = binomial_ci(orr_n, n, level=level), binomial_ci(cr_n, n, level=level)
                row.update(orr_n=orr_n, orr=orr_n / n, orr_lower=orr_lo, orr_upper=orr_hi, cr_n=cr_n, cr=cr_n / n,
                           cr_lower=cr_lo, cr_upper=cr_hi)
                rows.append(row)
    out = pl.DataFrame(rows, schema=POPULATION_RATES_SCHEMA) if rows else pl.DataFrame(schema=POPULATION_RATES_SCHEMA)
    return out.sort(pl.col("planned_day").is_not_null(), "planned_day", maintain_order=True)


POPULATION_TESTS_SCHEMA = {
    "population": pl.String, "diagnosis": pl.String, "measure": pl.String, "comparison": pl.String,
    "reference": pl.String, "n_a": pl.Int64, "x_a": pl.Int64, "n_b": pl.Int64, "x_b": pl.Int64,
    "difference": pl.Float64, "difference_lower": pl.Float64, "difference_upper": pl.Float64,
    "interval": pl.String, "method": pl.String, "pvalue": pl.Float64}


def population_response_tests(rates: pl.DataFrame, control: str | None, analysis: str = "recommended",
                              level: float = 0.95) -> pl.DataFrame:
    """ORR and CR rate of each arm against the control arm on each intention-to-treat population, from the
    best-overall rows of ``population_response_rates`` (``rates``; by arm, each disease and "All"): the
    difference A - control with Newcombe's hybrid score interval (method 10) at ``level``, and P by the plan's
    test (``analysis``, docs/plan.md): "recommended" Fisher's exact test (R ``fisher.test``); "as_published"
    the seed's rule for counts (Yates chi-square when Cochran's rule holds, else Fisher). Empty without a rated
    control arm."""
    from cartkit.analysis.recommended_comparison import _counts_test
    from cartkit.stats import risk_difference
    from cartkit.stats.fisher import fisher_exact_pvalue

    rows = []
    best = rates.filter(pl.col("planned_day").is_null() & (pl.col("group_by") == "arm") & pl.col("orr_n").is_not_null())
    for (population, diagnosis), g in best.group_by("population", "diagnosis", maintain_order=True):
        if control is None:  # no control arm (populations.control_arm): nothing to compare against
            break
        ref = g.filter(pl.col("group") == control)
        if not ref.height:
            continue
        r = ref.row(0, named=True)
        for a in g.filter(pl.col("group") != control).to_dicts():
            for measure, col in (("ORR", "orr_n"), ("CR rate", "cr_n")):
                x1, n1, x2, n2 = a[col], a["n"], r[col], r["n"]
                table = [[x1, n1 - x1], [x2, n2 - x2]]
                if analysis == "as_published" and 0 < x1 + x2 < n1 + n2:
                    method, p = _counts_test(table)
                else:
                    method, p = "Fisher's Exact Test for Count Data", float(fisher_exact_pvalue(table))
                rd = risk_difference(x1, n1, x2, n2, level)
                rows.append({"population": population, "diagnosis": diagnosis, "measure": measure,
                             "comparison": f"{a['group']} vs {control}", "reference": control, "n_a": n1, "x_a": x1,
                             "n_b": n2, "x_b": x2, "difference": float(rd.estimate),
                             "difference_lower": float(rd.ci[0]), "difference_upper": float(rd.ci[1]),
                             "interval": "Newcombe hybrid score (method 10)", "method": method, "pvalue": p})
    return pl.DataFrame(rows, schema=POPULATION_TESTS_SCHEMA) if rows else pl.DataFrame(schema=POPULATION_TESTS_SCHEMA)


NEVER_INFUSED = "never infused"



def _first_infusions(units: pl.DataFrame, listing: pl.DataFrame, control: str | None,
                     control_best: pl.DataFrame | None) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Each patient of ``units`` (patient_id, diagnosis, group) with the episode and best response of their
    first analysed infusion (``infused`` false when none), and the control arm's own responses to the
    randomised treatment (``control_best`` of the control group's patients; None without them)."""
    first = listing.join(units.select("patient_id"), on="patient_id", how="semi").sort("patient_id", "episode").unique(
        "patient_id", keep="first", maintain_order=True)
    units = units.join(first.select("patient_id", "episode", "best_response"), on="patient_id", how="left").with_columns(
        infused=pl.col("episode").is_not_null())
    own = (control_best.join(units.filter(pl.col("group") == control).select("patient_id"), on="patient_id",
                             how="semi") if control_best is not None and control is not None else None)
    return units, own

def population_disease_responses(population, patients: pl.DataFrame, listing: pl.DataFrame, best: pl.DataFrame,
                                 diseases, control: str | None,
                                 control_best: pl.DataFrame | None = None) -> pl.DataFrame | None:
    """The myeloma (IMWG 2016) and CLL (iwCLL 2018) best-response categories on a population with patients never
    infused (intention to treat), as ``disease_responses`` but one patient one unit, by arm (group "All"
    without arms): N = the arm's patients of the disease; a patient's category is the best response of their
    first analysed infusion, a patient never infused is "never infused" (a non-responder in the rates), a
    control arm with responses of its own is counted by them (``randomised_treatment_best``; none: "not
    evaluable"), and a control arm without them that was not meant to be infused (a standard-of-care arm) is
    left out, as its rates are (``population_response_rates``). Columns: population, criteria, group,
    diagnosis, category, n, N. None without myeloma or CLL patients."""
    members = patients.join(population.patients.select("patient_id"), on="patient_id", how="semi").filter(
        pl.col("diagnosis").is_in(list(diseases))
        & pl.col("diagnosis").replace_strict(DIAGNOSES, default=None).is_in(list(DISEASE_CATEGORIES)))
    if not members.height:
        return None
    has_arm = "arm" in members.columns and members["arm"].is_not_null().any()
    group = pl.col("arm").cast(pl.String).fill_null("no arm") if has_arm else pl.lit("All")
    units = members.select("patient_id", "diagnosis", group.alias("group"))
    units, own = _first_infusions(units, listing, control, control_best)
    if own is not None and own.height:
        units = units.join(own.rename({"best_response": "__own"}), on="patient_id", how="left").with_columns(
            best_response=pl.when(pl.col("group") == control).then(pl.col("__own")).otherwise("best_response"),
            episode=pl.when(pl.col("group") == control).then(pl.lit(0)).otherwise("episode"),
            infused=pl.when(pl.col("group") == control).then(pl.lit(True)).otherwise("infused")).drop("__own")
    elif control is not None and not _meant_to_be_infused(units, members, control):
        units = units.filter(pl.col("group") != control)
    units = units.with_columns(best_response=pl.when(pl.col("infused")).then(pl.col("best_response")).otherwise(
        pl.lit(NEVER_INFUSED)))
    table = disease_responses(units.select("patient_id", "episode", "diagnosis", pl.col("group").alias("product"),
                                           "best_response"), best, extra_categories=(NEVER_INFUSED,))
    if table is None:
        return None
    return table.select(pl.lit(population.name).alias("population"), "criteria", pl.col("product").alias("group"),
                        "diagnosis", "category", "n", "N")
