"""The recommended analysis of each comparison, beside the analysis as published (issue 13).

The seed compares the CD19 and CD22 products in the same 13 patients as if the 26 episodes were
independent (Shapiro-Wilk, then Student's t or the rank-sum test; chi-square or Fisher for counts):
that is the analysis *as published*, kept exactly (``analysis/product_comparison.py``, the
``comparisons`` and ``grade_compare`` tables, the reproduction appendix). The *recommended*
analysis, cartkit's default for new studies (docs/statistics.md "Recommended analysis"), is the one
a statistician would defend in review:

* when the same patients are in both groups (``paired = "auto"`` with patients in both, or
  ``true``), paired tests are primary: measures by the exact Wilcoxon signed-rank test (exact
  conditional distribution with ties and zero differences, zeros dropped as R's ``wilcox.test``),
  toxicity grades by the exact sign test (only the direction of each patient's change: no
  assumption about the spacing of grades) with the exact signed-rank test beside it and the exact
  test of symmetry (``symmetry_exact``) as the sensitivity analysis, rates (response, adverse
  events) by the exact McNemar test. Without pairs: the exact (conditional) Mann-Whitney test,
  Fisher's exact test for rates;
* an effect size with its confidence interval beside every P: the Hodges-Lehmann shift (paired:
  pseudo-median of the differences), the geometric-mean ratio for cytokine peaks (roughly
  log-normal; the t test on the log scale, whose P is shown beside), for grades the share of
  patients whose grade changed that had the higher grade after the first group (the sign test's
  estimate, Clopper-Pearson CI), for rates the risk difference with Newcombe's interval (square-and-
  add for paired, hybrid score unpaired);
* P adjusted for multiplicity beside the raw P (``plan.p_adjust``, Holm by default, R's
  ``p.adjust``), over families of one table of one comparison (``plan.p_adjust_family = "table"``:
  measures, grades, responses, adverse events) or of the whole comparison (``"comparison"``). The
  as-published P are adjusted over the same families, so that the two can be read side by side.

Responses are compared per disease only: a pooled rate would mix response criteria (Lugano ORR
counts PR, B-ALL counts CR/CRi). The plan's ``analysis`` names the primary analysis; the report
shows the recommended one first and the as-published one beside it, with the reason where they
differ (``reason``).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from cartkit.analysis.formatting import fixed, fmt_median_iqr, format_p, n_pct

TABLES = ("measures", "grades", "responses", "adverse events")

SCHEMA: dict[str, pl.DataType] = {
    "table": pl.String, "family": pl.String, "measure": pl.String, "unit": pl.String, "key": pl.String,
    "group_a": pl.String, "group_b": pl.String, "n_a": pl.Int64, "n_b": pl.Int64, "n_pairs": pl.Int64,
    "paired": pl.Boolean, "summary_a": pl.String, "summary_b": pl.String, "method": pl.String,
    "statistic": pl.Float64, "pvalue": pl.Float64, "convention": pl.String, "effect": pl.String,
    "estimate": pl.Float64, "lower": pl.Float64, "upper": pl.Float64, "ci_method": pl.String,
    "level": pl.Float64, "also_method": pl.String, "also_pvalue": pl.Float64, "sensitivity_method": pl.String,
    "sensitivity_statistic": pl.Float64, "sensitivity_pvalue": pl.Float64, "p_adjusted": pl.Float64,
    "adjust_method": pl.String, "adjust_family": pl.String, "family_size": pl.Int64,
    "published_method": pl.String, "published_pvalue": pl.Float64, "published_p_adjusted": pl.Float64,
    "primary": pl.String, "differs": pl.Boolean, "reason": pl.String, "note": pl.String,
}

# analyte families whose peaks are compared as geometric-mean ratios (roughly log-normal)
LOG_NORMAL_FAMILIES = ("cytokine",)


def confidence_level(plan) -> float:
    """The level of the recommended analysis' intervals: the plan's (1 - alpha), as every CI of the report."""
    return float(plan.confidence_level)


def _blank(table: str, family: str, measure: str, unit: str, key: str, a: str, b: str) -> dict:
    row = dict.fromkeys(SCHEMA)
    row.update(table=table, family=family, measure=measure, unit=unit, key=key, group_a=a, group_b=b,
               n_a=0, n_b=0, n_pairs=0, paired=False, note="")
    return row


def _effect(row: dict, name: str, result, level: float, ci_method: str) -> None:
    lo, hi = result.ci if result.ci is not None else (math.nan, math.nan)
    row.update(effect=name, estimate=float(result.estimate), lower=float(lo), upper=float(hi), level=level,
               ci_method=ci_method)


def _test(row: dict, result, convention: str) -> None:
    row.update(method=result.method, statistic=None if result.statistic is None else float(result.statistic),
               pvalue=float(result.pvalue), convention=convention)


# ------------------------------------------------------------------------------------------ measures


_SIGNED_RANK = ("exact conditional distribution of the signed-rank statistic given the mid-ranks (ties), "
                "zero differences dropped before ranking (R wilcox.test's rule; coin::wilcoxsign_test "
                "zero.method = \"Wilcoxon\", distribution = \"exact\")")
_RANK_SUM = ("exact conditional distribution of the rank-sum statistic given the mid-ranks (ties), two-sided "
             "P(|W - E W| >= |w - E W|) (coin::wilcox_test, distribution = \"exact\")")


# Registry-sized groups (cartkit on 10^4-10^6 infusions, issue 16): the exact conditional rank tests
# cost about n^2 x the distinct values (benchmarks/bench_exact_ranks.py: 2.5 s at 200 per group), the
# Hodges-Lehmann estimates are medians of all m x n differences (n (n + 1) / 2 Walsh averages paired),
# and the exact symmetry test's state count grows with every discordant cell. Above these sizes the
# rank tests are the normal approximation with tie and continuity correction (R wilcox.test's own rule
# for n >= 50), the symmetry test is Bowker's chi-square, and the Hodges-Lehmann estimate is left out
# with the reason; at such n exact and asymptotic P agree to a few units in the third digit or better.
EXACT_MAX_OBSERVATIONS = 200     # rank sum: both groups together; signed rank: pairs
HODGES_LEHMANN_MAX_DIFFERENCES = 10_000_000

_ASYMPTOTIC = ("normal approximation with tie-corrected variance and continuity correction (R wilcox.test's "
               "rule): {n} observations are more than the {limit} up to which the exact conditional test is run")


def _rank_test(x: np.ndarray, y: np.ndarray, paired: bool):
    """The exact conditional rank test (signed rank when ``paired``), or the normal approximation for large n."""
    from cartkit.stats import mann_whitney, wilcoxon_signed_rank

    n = x.size if paired else x.size + y.size
    exact = n <= EXACT_MAX_OBSERVATIONS
    test = wilcoxon_signed_rank(x, y, exact=exact) if paired else mann_whitney(x, y, exact=exact)
    text = (_SIGNED_RANK if paired else _RANK_SUM) if exact else _ASYMPTOTIC.format(
        n=n, limit=EXACT_MAX_OBSERVATIONS)
    return test, text


def _too_many_differences(x: np.ndarray, y: np.ndarray, paired: bool) -> str:
    """Why no Hodges-Lehmann estimate is computed for samples this large ('' when it is)."""
    count = x.size * (x.size + 1) // 2 if paired else x.size * y.size
    if count <= HODGES_LEHMANN_MAX_DIFFERENCES:
        return ""
    return (f"no Hodges-Lehmann estimate: {count:,} pairwise differences are more than the "
            f"{HODGES_LEHMANN_MAX_DIFFERENCES:,} it is computed from")


def measure_row(xa: np.ndarray, xb: np.ndarray, pa: np.ndarray | None, pb: np.ndarray | None, log_scale: bool,
                level: float) -> dict:
    """The recommended test and effect of one measure: paired when ``pa``/``pb`` (the patients' first
    episode of each group) are given, else unpaired on every episode ``xa``/``xb``."""
    from cartkit.stats import geometric_mean_ratio, hodges_lehmann

    row: dict = {}
    paired = pa is not None
    x, y = (pa, pb) if paired else (xa, xb)
    if paired and x.size < 2:
        row["note"] = f"fewer than 2 complete pairs (n = {x.size}): no paired test"
        return row
    if not paired and (x.size < 2 or y.size < 2):
        row["note"] = f"fewer than 2 values per group (n = {x.size} and {y.size}): no test"
        return row
    if paired and np.all(x == y):
        row["note"] = f"all {x.size} paired differences zero: no test"
        return row
    if not paired and np.ptp(np.concatenate([x, y])) == 0:
        row["note"] = "all values identical: no test"
        return row
    test, text = _rank_test(x, y, paired)
    _test(row, test, text)
    notes = []
    if log_scale and np.all(x > 0) and np.all(y > 0):
        gmr = geometric_mean_ratio(x, y, paired=paired, level=level)
        kind = "of the within-patient ratios" if paired else "(Welch t test on the log scale)"
        _effect(row, "geometric mean ratio A / B", gmr, level,
                f"t interval on the log scale {kind}, back-transformed (R: exp(t.test(log(x), log(y)"
                f"{', paired = TRUE' if paired else ''})$conf.int))")
        row.update(also_method=gmr.method, also_pvalue=float(gmr.pvalue))
    else:
        if log_scale:
            notes.append("values not all positive: Hodges-Lehmann shift instead of a geometric-mean ratio")
        too_many = _too_many_differences(x, y, paired)
        try:
            hl = None if too_many else hodges_lehmann(x, y, paired=paired, level=level)
        except ValueError as exc:
            notes.append(f"no Hodges-Lehmann estimate: {exc}")
        else:
            if hl is None:
                notes.append(too_many)
            else:
                _hodges_lehmann_effect(row, hl, paired, level, notes)
    row["note"] = "; ".join(notes)
    return row


def _hodges_lehmann_effect(row: dict, hl, paired: bool, level: float, notes: list[str]) -> None:
    name = "Hodges-Lehmann pseudo-median of A - B" if paired else "Hodges-Lehmann shift A - B"
    kind = "exact" if "exact" in hl.method else "asymptotic, continuity-corrected (R with ties or zeros)"
    _effect(row, name, hl, level, f"{kind} interval of R's wilcox.test(conf.int = TRUE)")
    if "not achievable" in hl.note:  # R widens the interval to the level the ties allow
        achieved = hl.note.rsplit(": ", 1)[-1] if "achievable: " in hl.note else ""
        try:
            row["level"] = float(achieved)
            notes.append(f"with these ties the {100 * level:g}% level is not attainable: "
                         f"{100 * row['level']:g}% interval")
        except ValueError:
            row.update(lower=None, upper=None)
            notes.append(f"with these ties no interval at the {100 * level:g}% level is attainable")


def measure_rows(kinetics: pl.DataFrame, cg: pl.DataFrame, comparison, analytes, quantile_method: str,
                 level: float, paired: bool, published: pl.DataFrame | None) -> list[dict]:
    """Peak and peak day of each analyte, as the comparisons table (as published) lists them."""
    from cartkit.analysis.product_comparison import _ANALYTE_FAMILY, group_values
    from cartkit.study.vocabulary import ANALYTES

    a, b = comparison.pair
    by_analyte = kinetics.select("patient_id", "episode", "analyte", "cmax", "tmax").join(  # only what is compared
        cg, on=["patient_id", "episode"]).partition_by("analyte", as_dict=True)
    rows = []
    for analyte in analytes:
        frame = by_analyte.get((analyte,))
        if frame is None:
            continue
        info = ANALYTES.get(analyte)
        label, unit = (info.label, info.unit) if info else (analyte, "")
        family = _ANALYTE_FAMILY.get(analyte, "cytokine")
        for column, what, what_unit, key in (("cmax", "peak", unit, "peak"), ("tmax", "peak day", "day", "peak_day")):
            xa, xb, pa, pb = group_values(frame, column, a, b)
            use_pairs = paired and pa.size > 0
            row = _blank("measures", family, f"{label} {what}", what_unit, f"{analyte}.{key}", a, b)
            row.update(n_a=int(xa.size), n_b=int(xb.size), n_pairs=int(pa.size), paired=use_pairs,
                       summary_a=fmt_median_iqr(xa, quantile_method) if xa.size else "NA",
                       summary_b=fmt_median_iqr(xb, quantile_method) if xb.size else "NA")
            row.update(measure_row(xa, xb, pa if use_pairs else None, pb if use_pairs else None,
                                   family in LOG_NORMAL_FAMILIES and column == "cmax", level))
            if published is not None and published.height:
                hit = published.filter(pl.col("key") == row["key"])
                if hit.height:
                    row.update(published_method=hit["method"][0], published_pvalue=hit["pvalue"][0])
            rows.append(row)
    return rows


# -------------------------------------------------------------------------------------------- grades

def _grade_summary(grades: np.ndarray) -> str:
    if grades.size == 0:
        return "NA"
    return f"median {np.median(grades):g} (range {grades.min():g}-{grades.max():g})"


def grade_row(per_episode: pl.DataFrame, a: str, b: str, paired: bool, level: float) -> dict:
    """Grades of one toxicity: exact sign test (paired), signed-rank beside, exact symmetry as sensitivity."""
    from cartkit.analysis.product_comparison import group_values
    from cartkit.stats import hodges_lehmann, sign_test, symmetry_exact

    xa, xb, pa, pb = group_values(per_episode, "grade", a, b)  # every episode is graded (``episode_grades``)
    use_pairs = paired and pa.size > 0
    row = {"n_a": int(xa.size), "n_b": int(xb.size), "n_pairs": int(pa.size), "paired": use_pairs,
           "summary_a": _grade_summary(xa), "summary_b": _grade_summary(xb), "note": ""}
    if use_pairs:
        if pa.size < 2 or np.all(pa == pb):
            row["note"] = ("every patient has the same grade after both" if pa.size >= 2
                           else f"fewer than 2 complete pairs (n = {pa.size})") + ": no paired test"
            return row
        sign = sign_test(pa, pb, level=level)
        _test(row, sign, "exact binomial test on the signs of the non-zero grade differences (zeros dropped; "
                         "R binom.test)")
        _effect(row, "share with the higher grade after A (of the patients whose grade changed)", sign, level,
                "Clopper-Pearson exact interval")
        rank, _ = _rank_test(pa, pb, paired=True)
        row.update(also_method=rank.method, also_pvalue=float(rank.pvalue))
        levels = sorted(set(pa.tolist()) | set(pb.tolist()))
        index = {g: i for i, g in enumerate(levels)}
        square = np.zeros((len(levels), len(levels)), dtype=np.int64)
        np.add.at(square, ([index[g] for g in pa], [index[g] for g in pb]), 1)
        try:
            sym = symmetry_exact(square)
        except ValueError:  # too many discordant cells for the exact distribution: Bowker's chi-square
            from cartkit.stats import bowker

            sym = bowker(square)
        row.update(sensitivity_method=sym.method, sensitivity_statistic=sym.statistic,
                   sensitivity_pvalue=float(sym.pvalue))
        return row
    if xa.size < 2 or xb.size < 2 or np.ptp(np.concatenate([xa, xb])) == 0:
        row["note"] = "every episode has the same grade, or a group has fewer than 2: no test"
        return row
    test, text = _rank_test(xa, xb, paired=False)
    _test(row, test, text)
    too_many = _too_many_differences(xa, xb, paired=False)
    if too_many:
        row["note"] = too_many
        return row
    hl = hodges_lehmann(xa, xb, level=level)
    _effect(row, "Hodges-Lehmann shift of grades A - B", hl, level,
            "asymptotic interval of R's wilcox.test(conf.int = TRUE)" if "asymptotic" in hl.method
            else "exact interval of R's wilcox.test(conf.int = TRUE)")
    return row


def grade_rows(labelled, groups: pl.DataFrame, comparison, level: float, paired: bool,
               published: pl.DataFrame | None) -> list[dict]:
    """One row per toxicity of ``labelled`` (toxicity, grades, system, note) in its primary grading system."""
    from cartkit.analysis.adverse_events import episode_grades
    from cartkit.analysis.product_comparison import compared_groups

    a, b = comparison.pair
    cg = compared_groups(groups, comparison)
    rows = []
    for toxicity, frame, system, note in labelled:
        if note:  # alternative grading systems are shown by the grade comparison as published
            continue
        row = _blank("grades", "toxicity", toxicity, "grade", f"toxicity.{toxicity.lower()}.grades", a, b)
        row.update(grade_row(episode_grades(frame, cg), a, b, paired, level))
        row["unit"] = system
        if published is not None and published.height:
            hit = published.filter((pl.col("toxicity") == toxicity) & (pl.col("system") == system)
                                   & ~pl.col("note").fill_null("").str.contains("alternative"))
            if hit.height and hit["pvalue"][0] is not None:
                r = hit.row(0, named=True)
                row.update(published_method=str(r["method"]).replace(" (grade x product)", ""),
                           published_pvalue=float(r["pvalue"]))
                if r.get("paired_pvalue") is not None and "Bowker" in str(r.get("paired_method")):
                    stat = r.get("paired_statistic")
                    df = r.get("paired_df")
                    detail = (f"X\u00b2 = {fixed(stat, 2)}, df = {df:g}, " if stat is not None and df is not None else "")
                    row["note"] = (row["note"] + f" Bowker's chi-square ({detail}P = "
                                   f"{format_p(r['paired_pvalue'])}) ignores the order of the grades and its df "
                                   "depend on which cells are empty.").strip()
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------- rates

class Pairing:
    """The rows of an episode frame (patient_id, episode, product) in group A and B, and the rows that pair:
    each patient's first episode of A with their first of B. Built once, used for every rate."""

    def __init__(self, frame: pl.DataFrame, a: str, b: str):
        from cartkit.analysis.product_comparison import paired_rows

        self.in_a = (frame["product"] == a).fill_null(False).to_numpy()
        self.in_b = (frame["product"] == b).fill_null(False).to_numpy()
        self.rows_a, self.rows_b = paired_rows(frame, self.in_a, self.in_b)

    @property
    def n_pairs(self) -> int:
        return int(self.rows_a.size)


def _counts_test(table: list[list[int]]) -> tuple[str, float]:
    """The seed's plan rule for counts (chi-square when Cochran's rule holds, else Fisher), P only."""
    from cartkit.stats import chi_square
    from cartkit.stats.choice import cochran_ok
    from cartkit.stats.fisher import fisher_exact_pvalue

    if cochran_ok(table)[0]:
        r = chi_square(table, correction=True)
        return r.method, float(r.pvalue)
    return "Fisher's Exact Test for Count Data", float(fisher_exact_pvalue(table))


def rate_row(events: np.ndarray, pairing: Pairing, paired: bool, level: float) -> dict:
    """``events``: one bool per row of the pairing's frame. Risk difference A - B with its CI and P."""
    from cartkit.stats import mcnemar_exact, paired_risk_difference, risk_difference
    from cartkit.stats.fisher import fisher_exact_pvalue

    ea_all, eb_all = events[pairing.in_a], events[pairing.in_b]
    x1, n1, x2, n2 = int(ea_all.sum()), int(ea_all.size), int(eb_all.sum()), int(eb_all.size)
    use_pairs = paired and pairing.n_pairs > 0
    row = {"n_a": n1, "n_b": n2, "n_pairs": pairing.n_pairs, "paired": use_pairs, "note": "",
           "summary_a": n_pct(x1, n1) if n1 else "NA",
           "summary_b": n_pct(x2, n2) if n2 else "NA"}
    if n1 == 0 or n2 == 0:
        row["note"] = "a group has no episodes: no comparison"
        return row
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    if 0 < x1 + x2 < n1 + n2:  # as the seed's plan tests counts: as published
        row["published_method"], row["published_pvalue"] = _counts_test(table)
    if use_pairs:
        ea, eb = events[pairing.rows_a], events[pairing.rows_b]
        square = [[int(np.sum(ea & eb)), int(np.sum(ea & ~eb))], [int(np.sum(~ea & eb)), int(np.sum(~ea & ~eb))]]
        _effect(row, "paired risk difference A - B", paired_risk_difference(square, level), level,
                "Newcombe square-and-add interval for paired proportions (method 10)")
        mc = mcnemar_exact(square)
        if math.isnan(mc.pvalue):
            row["note"] = "no discordant pairs: the exact McNemar test is undefined"
        else:
            _test(row, mc, "exact binomial test on the discordant pairs (R binom.test(b, b + c))")
        return row
    _effect(row, "risk difference A - B", risk_difference(x1, n1, x2, n2, level), level,
            "Newcombe hybrid score interval (method 10)")
    row.update(method="Fisher's Exact Test for Count Data", pvalue=float(fisher_exact_pvalue(table)),
               convention="Fisher's exact test (R fisher.test)")
    return row


def response_rows(responses: pl.DataFrame, cg: pl.DataFrame, comparison, diseases, level: float,
                  paired: bool) -> list[dict]:
    """ORR and CR rate of each disease by its own criteria (``with_response_flags``; never pooled: the
    criteria differ between diseases)."""
    from cartkit.analysis.responses import with_response_flags

    a, b = comparison.pair
    listing = with_response_flags(responses.drop("product").join(cg, on=["patient_id", "episode"]).filter(
        pl.col("best_response").is_not_null()))
    rows = []
    for disease in diseases:
        frame = listing.filter(pl.col("diagnosis") == disease)
        if frame.height == 0:
            continue
        pairing = Pairing(frame, a, b)
        for what, column in (("ORR", "responder"), ("CR rate", "complete")):
            row = _blank("responses", "response", f"{what}, {disease}", "", f"response.{disease}.{what}", a, b)
            row.update(rate_row(frame[column].to_numpy(), pairing, paired, level))
            rows.append(row)
    return rows


def adverse_event_rows(adverse_events: pl.DataFrame, incidence: pl.DataFrame | None, cg: pl.DataFrame,
                       comparison, level: float, paired: bool) -> list[dict]:
    """Incidence of each adverse-event term of the adverse-event table that some episode had (counted as
    that table counts it: haematological terms at grade >= 3, others at any grade)."""
    from cartkit.analysis.adverse_events import TERM_ROWS

    if incidence is None or incidence.height == 0 or cg.height == 0:
        return []
    a, b = comparison.pair
    terms = (incidence.filter(~pl.col("term").str.starts_with("grade ") & (pl.col("n") > 0))
             .select("term", "label").unique("term", maintain_order=True))
    if terms.height == 0:
        return []
    minimum = pl.DataFrame([(t, TERM_ROWS.get(t, ("", "", 1))[2]) for t in terms["term"].to_list()],
                           schema={"term": pl.String, "min_grade": pl.Int64}, orient="row")
    had = (adverse_events.join(minimum, on="term").filter(pl.col("grade") >= pl.col("min_grade"))
           .select("patient_id", "episode", "term").unique())
    # one column of flags per term over the compared episodes, in cg's row order
    index = {key: i for i, key in enumerate(cg.select("patient_id", "episode").iter_rows())}
    flags = {t: np.zeros(cg.height, dtype=bool) for t in terms["term"].to_list()}
    for patient, episode, term in had.iter_rows():
        if (patient, episode) in index:
            flags[term][index[(patient, episode)]] = True
    pairing = Pairing(cg, a, b)
    rows = []
    for term, label in terms.iter_rows():
        events = flags[term]
        row = _blank("adverse events", "adverse event", label, "", f"ae.{term}", a, b)
        row.update(rate_row(events, pairing, paired, level))
        if row.get("pvalue") is not None or row.get("estimate") is not None:
            rows.append(row)
    return rows


# ----------------------------------------------------------------------------------- multiplicity

def adjust_rows(rows: list[dict], method: str, family: str) -> list[dict]:
    """Adjusted P beside the raw, recommended and as published, within each family (module docs); in place."""
    from cartkit.stats import adjust_pvalues

    label = {"table": "each table of the comparison", "comparison": "the whole comparison"}[family]
    families: dict[str, list[dict]] = {}
    for r in rows:
        families.setdefault(r["table"] if family == "table" else "all tables", []).append(r)
    for name, part in families.items():
        p = np.array([math.nan if r.get("pvalue") is None else r["pvalue"] for r in part], dtype=float)
        q = np.array([math.nan if r.get("published_pvalue") is None else r["published_pvalue"] for r in part],
                     dtype=float)
        adjusted, published = (p, q) if method == "none" else (adjust_pvalues(p, method), adjust_pvalues(q, method))
        size = int(np.sum(~np.isnan(p)))
        for r, x, y in zip(part, adjusted.tolist(), published.tolist(), strict=True):
            r.update(p_adjusted=None if math.isnan(x) else x, published_p_adjusted=None if math.isnan(y) else y,
                     adjust_method=method, adjust_family=f"{name} ({label})", family_size=size)
    return rows


def adjust(frame: pl.DataFrame, method: str, family: str) -> pl.DataFrame:
    """``adjust_rows`` on a frame of the result table's columns."""
    return pl.DataFrame(adjust_rows(frame.to_dicts(), method, family), schema=frame.schema)


def _reason(r: dict, alpha: float) -> tuple[bool, str]:
    """Whether the two analyses reach a different conclusion at ``alpha``, and why (``reason``)."""
    rec, pub = r.get("p_adjusted"), r.get("published_pvalue")
    if r.get("pvalue") is None or pub is None:
        return False, ""
    raw = r["pvalue"]
    rec_p = rec if rec is not None else raw
    if (rec_p < alpha) == (pub < alpha):
        return False, ""
    why = []
    if r.get("paired") and (raw < alpha) != (pub < alpha):
        why.append(f"the {r['n_pairs']} patients in both groups are compared with themselves (as published, "
                   f"{r['n_a'] + r['n_b']} episodes as independent)")
    if rec is not None and r.get("adjust_method") not in (None, "none") and r.get("family_size", 0) > 1 \
            and (raw < alpha) != (rec < alpha):
        why.append(f"{r['adjust_method'].capitalize()} adjustment over the {r['family_size']} P values of its "
                   "family")
    adjusted = f", adjusted {format_p(rec)}" if rec is not None and r.get("adjust_method") != "none" else ""
    verdict = (f"P < {alpha:g} as published ({format_p(pub)}), not in the recommended analysis (P = "
               f"{format_p(raw)}{adjusted})" if pub < alpha else
               f"P < {alpha:g} in the recommended analysis only (P = {format_p(raw)}{adjusted}; as published "
               f"{format_p(pub)})")
    return True, verdict + (": " + "; ".join(why) if why else "")


def finish(rows: list[dict], plan) -> pl.DataFrame:
    """The rows as the result table: adjusted within the plan's families, primary named, reasons given."""
    if not rows:
        return pl.DataFrame(schema=SCHEMA)
    records = adjust_rows([{**dict.fromkeys(SCHEMA), **r} for r in rows], plan.p_adjust, plan.p_adjust_family)
    primary = "recommended" if plan.analysis == "recommended" else "as published"
    for r in records:
        r["primary"] = primary
        r["differs"], r["reason"] = _reason(r, plan.alpha)
    return pl.DataFrame(records, schema=SCHEMA)


# ---------------------------------------------------------------------------------------- methods

def _count_text(values) -> str:
    counts: dict[str, int] = {}
    for v in values:
        if v:
            counts[v] = counts.get(v, 0) + 1
    return ", ".join(f"{k} ({n})" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def methods_text(plan, results) -> str:
    """The Methods paragraph of the recommended analysis, written from its result table (``results``): each
    table's tests and their conventions, effect sizes and interval types, the adjustment and its families,
    which analysis is primary."""
    if results is None:  # the plan only
        adjust_text = ("no multiplicity adjustment" if plan.p_adjust == "none" else
                       f"P adjusted by {plan.p_adjust} per {plan.p_adjust_family}")
        return f"Primary analysis: {plan.analysis.replace('_', ' ')}; {adjust_text}."
    tables = results.tables if hasattr(results, "tables") else results
    table = tables.get("recommended_comparisons")
    if table is None or table.height == 0:
        why = (getattr(results, "omitted", None) or {}).get("recommended_comparisons", "")
        return f"Not run{': ' + why if why else ''}."
    if "comparison" not in table.columns:
        table = table.with_columns(pl.lit("").alias("comparison"))
    primary = table["primary"][0]
    parts = [f"Primary analysis: {primary} (plan: analysis = \"{plan.analysis}\"); the "
             f"{'analysis as published' if primary == 'recommended' else 'recommended analysis'} is shown beside "
             "it, the recommended one first."]
    for name in TABLES:
        part = table.filter(pl.col("table") == name)
        if part.height == 0:
            continue
        tested = part.filter(pl.col("pvalue").is_not_null())
        text = f"{name[:1].upper() + name[1:]} ({part.height} comparison(s)"
        paired = int(part["paired"].sum())
        text += f", {paired} paired on the patients in both groups)" if paired else ", unpaired)"
        if tested.height:
            by_convention: dict[str, list[str]] = {}
            for method, convention in tested.select("method", "convention").iter_rows():
                by_convention.setdefault(convention, []).append(method.split(" (")[0])
            text += ": " + "; ".join(f"{_count_text(methods)}, {convention}"
                                     for convention, methods in by_convention.items())
        effects = part.filter(pl.col("effect").is_not_null())
        if effects.height:
            kinds: dict[tuple[str, str], int] = {}
            for pair in effects.select("effect", "ci_method").iter_rows():
                kinds[pair] = kinds.get(pair, 0) + 1
            text += ". Effect sizes with CI: " + "; ".join(f"{e} ({n}), {ci}" for (e, ci), n in kinds.items())
            levels = _count_text(f"{100 * v:g}%" for v in effects["level"].to_list())
            text += f"; confidence level {levels}"
            if effects["level"].n_unique() > 1:
                text += " (with ties R's rank interval widens to the level the data allow)"
        also = _count_text(part["also_method"].to_list())
        if also:
            text += f". Beside it: {also}"
        sens = _count_text(part["sensitivity_method"].to_list())
        if sens:
            text += f". Sensitivity analysis: {sens}"
        parts.append(text + ".")
    method = table["adjust_method"][0]
    if method == "none":
        parts.append("P values are not adjusted for multiplicity (plan: p_adjust = \"none\").")
    else:
        families = table.filter(pl.col("pvalue").is_not_null()).select("comparison", "adjust_family", "family_size") \
            .unique(maintain_order=True)
        listed = "; ".join(f"{fam}{'' if table['comparison'].n_unique() == 1 else ', ' + str(c)}: {n} P values"
                           for c, fam, n in families.iter_rows())
        parts.append(f"Adjusted P: {method.capitalize()} (R p.adjust(method = \"{method}\")) within each family "
                     f"(plan: p_adjust_family = \"{plan.p_adjust_family}\"): {listed}; the P values as published "
                     "are adjusted over the same families beside them.")
    parts.append(f"A conclusion differs where one analysis has P < {plan.alpha:g} (the recommended one after "
                 "adjustment) and the other not.")
    return " ".join(parts)
