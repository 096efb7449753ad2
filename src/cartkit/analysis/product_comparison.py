"""The plan's comparisons: expansion and cytokine peaks and peak days, toxicity grades.

Each comparison of ``[[plan.comparison]]`` (``cartkit.study.plan_comparison.Comparison``) sets two
groups of episodes apart by product, arm, disease or dose level. The seed compares the CD19 and
CD22 products in the same 13 patients as if they were independent groups (rank-sum, chi-square).
cartkit runs that unpaired analysis, as published, and, when the comparison is paired (``paired =
"auto"`` and some patients are in both groups, or ``true``), the paired one (each patient is their
own control: signed-rank / paired t for measures, Bowker's symmetry test for grades), and warns
that the paired analysis is the appropriate one.

The functions below take the compared groups' labels in the column ``product`` of their
``groups`` frame (``compared_groups`` puts the arm, disease or dose level there).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from cartkit.analysis.formatting import fmt_median_iqr

_SCHEMA = {
    "family": pl.String, "measure": pl.String, "unit": pl.String, "summary_a": pl.String,
    "summary_b": pl.String, "group_a": pl.String, "group_b": pl.String, "n_a": pl.Int64,
    "n_b": pl.Int64, "method": pl.String, "statistic": pl.Float64, "pvalue": pl.Float64, "why": pl.String,
    "paired_method": pl.String, "paired_pvalue": pl.Float64, "n_pairs": pl.Int64, "key": pl.String,
}

_ANALYTE_FAMILY = {"car_t_pct_cd3": "kinetics", "car_dna": "kinetics"}


def _record_fields(choice) -> tuple[str, float | None, float | None, str]:
    """method, statistic, pvalue, why of a ``cartkit.stats.compare`` choice (None where no test ran)."""
    from cartkit.stats.choice import UNDEFINED

    if choice.test == UNDEFINED:
        return choice.method, None, None, choice.why
    statistic = choice.statistic
    return choice.method, float(statistic) if statistic is not None else math.nan, float(choice.pvalue), choice.why


def comparison_frame(study, groups: pl.DataFrame) -> pl.DataFrame:
    """The analysed episode groups with each patient's arm and each episode's dose level, when the
    study records them (what a comparison by arm or dose level sets apart)."""
    patients, infusions = study.patients, study.infusions
    out = groups
    if "arm" in patients.columns and "arm" not in out.columns:
        out = out.join(patients.select("patient_id", "arm"), on="patient_id", how="left")
    if "dose_level" in infusions.columns and "dose_level" not in out.columns:
        out = out.join(infusions.select("patient_id", "episode", "dose_level"), on=["patient_id", "episode"],
                       how="left")
    return out


def compared_groups(groups: pl.DataFrame, comparison) -> pl.DataFrame:
    """patient_id, episode, product (= the compared group's label) of the comparison's two groups."""
    column = comparison.column
    if column not in groups.columns:
        return pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "product": pl.String})
    return (groups.filter(pl.col(column).cast(pl.String).is_in(list(comparison.pair)))
            .select("patient_id", "episode", pl.col(column).cast(pl.String).alias("product")))


def _paired(comparison) -> bool | None:
    """True, False, or None for "auto" (paired when some patients are in both groups)."""
    return None if comparison.paired == "auto" else bool(comparison.paired)


_GROUPS_SCHEMA = {"by": pl.String, "group_a": pl.String, "group_b": pl.String, "patients_a": pl.Int64,
                  "patients_b": pl.Int64, "episodes_a": pl.Int64, "episodes_b": pl.Int64, "n_pairs": pl.Int64,
                  "paired": pl.String}


def comparison_groups(groups: pl.DataFrame, comparison) -> pl.DataFrame:
    """One row: the comparison's groups with their patients and episodes, the patients in both
    (``n_pairs``) and whether the comparison is analysed paired ("yes", "no", and why)."""
    cg = compared_groups(groups, comparison)
    a, b = comparison.pair
    pa, pb = (cg.filter(pl.col("product") == g) for g in (a, b))
    n_pairs = pa.select("patient_id").unique().join(pb.select("patient_id").unique(), on="patient_id").height
    wanted = _paired(comparison)
    if wanted is False:
        paired = "no (paired = false)"
    elif n_pairs:
        paired = f"yes ({n_pairs} patients in both groups)" if wanted is None else "yes (paired = true)"
    else:
        paired = "no (no patient in both groups)"
    return pl.DataFrame([{"by": comparison.by, "group_a": a, "group_b": b,
                          "patients_a": pa["patient_id"].n_unique(), "patients_b": pb["patient_id"].n_unique(),
                          "episodes_a": pa.height, "episodes_b": pb.height, "n_pairs": n_pairs, "paired": paired}],
                        schema=_GROUPS_SCHEMA)


def paired_rows(frame: pl.DataFrame, in_a: np.ndarray, in_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows that pair (``frame``: patient_id, and episode when there are several per patient): each
    patient's first episode among the rows ``in_a`` beside their first among ``in_b``, the patients in the
    order of their first episode of A. Vectorised over numpy columns (as many rows as a registry has)."""
    # integer codes of the patient ids, not an object array of their strings (10^6 Python strings at registry
    # size): the same grouping and matching, so the same rows
    patients = frame["patient_id"].cast(pl.String).cast(pl.Categorical).to_physical().to_numpy()
    episodes = frame["episode"].to_numpy() if "episode" in frame.columns else None

    def first(mask: np.ndarray) -> np.ndarray:  # the row of each patient's first episode, in episode order
        rows = np.flatnonzero(mask)
        if episodes is not None:
            rows = rows[np.argsort(episodes[rows], kind="stable")]
        _, at = np.unique(patients[rows], return_index=True)
        return rows[np.sort(at)]

    ra, rb = first(in_a), first(in_b)
    order = np.argsort(patients[rb], kind="stable")
    keys = patients[rb][order]
    at = np.searchsorted(keys, patients[ra]) if keys.size else np.zeros(ra.size, dtype=np.int64)
    hit = at < keys.size
    hit[hit] = keys[at[hit]] == patients[ra][hit]
    return ra[hit], rb[order[at[hit]]]


def group_values(values: pl.DataFrame, column: str, a: str, b: str) -> tuple[np.ndarray, ...]:
    """xa, xb, pa, pb of one measure (``values``: patient_id, episode, product, ``column``): the non-null values
    of group A and of group B in row order, and the values of the rows that pair (``paired_rows``).

    One pass over numpy columns instead of a filter, sort, unique and join per group: the comparisons ask
    this of every measure and grade of every comparison."""
    x = values[column]
    present = x.is_not_null().to_numpy()
    x = x.cast(pl.Float64).to_numpy()
    group = values["product"]
    in_a = present & (group == a).fill_null(False).to_numpy()
    in_b = present & (group == b).fill_null(False).to_numpy()
    ra, rb = paired_rows(values, in_a, in_b)
    return x[in_a], x[in_b], x[ra], x[rb]


def compare_measure(
    values: pl.DataFrame, value_col: str, products: tuple[str, str], quantile_method: str, correct: bool = True,
    paired: bool | None = None, normality_alpha: float = 0.05,
) -> dict:
    """Unpaired and paired comparison of one per-episode measure between two products.

    ``values``: patient_id, product, <value_col>. ``paired``: False skips the paired test, None or
    True run it on the patients with both (none: no paired test). ``normality_alpha``: the level of the
    Shapiro-Wilk pre-test (the plan's ``normality_alpha``).
    """
    from cartkit.stats import compare

    a_name, b_name = products
    if "episode" in values.columns:  # a patient pairs with themself once: their first episode of each product
        xa, xb, pa, pb = group_values(values, value_col, a_name, b_name)
    else:  # every pair of the patient's values (responders vs non-responders within a product)
        a = values.filter(pl.col("product") == a_name).drop_nulls(value_col)
        b = values.filter(pl.col("product") == b_name).drop_nulls(value_col)
        xa, xb = a[value_col].to_numpy().astype(float), b[value_col].to_numpy().astype(float)
        pairs = a.select("patient_id", pl.col(value_col).alias("a")).join(
            b.select("patient_id", pl.col(value_col).alias("b")), on="patient_id", how="inner")
        pa, pb = pairs["a"].to_numpy().astype(float), pairs["b"].to_numpy().astype(float)
    row = {
        "summary_a": fmt_median_iqr(xa, quantile_method) if xa.size else "NA",
        "summary_b": fmt_median_iqr(xb, quantile_method) if xb.size else "NA",
        "group_a": a_name, "group_b": b_name, "n_a": int(xa.size), "n_b": int(xb.size),
        "method": None, "statistic": None, "pvalue": None, "why": None,
        "paired_method": None, "paired_pvalue": None, "n_pairs": 0,
    }
    # a comparison the data cannot support is a row saying why ("all values identical" ...), not an error
    method, statistic, pvalue, why = _record_fields(compare(xa, xb, paired=False, alpha=normality_alpha, correct=correct))
    row.update(method=method, statistic=statistic, pvalue=pvalue, why=why)
    row["n_pairs"] = int(pa.size)
    if pa.size and paired is not False:
        choice = compare(pa, pb, paired=True, alpha=normality_alpha, correct=correct)
        method, _, pvalue, why = _record_fields(choice)
        row.update(paired_method=method if pvalue is not None else f"{method}: {why}", paired_pvalue=pvalue)
    return row


def kinetic_comparisons(
    kinetics: pl.DataFrame, groups: pl.DataFrame, comparison, analytes, quantile_method: str,
    correct: bool = True, normality_alpha: float = 0.05,
) -> pl.DataFrame:
    """Peak (Cmax) and peak day (Tmax) of each analyte, group A vs B of the comparison."""
    from cartkit.study.vocabulary import ANALYTES

    products, paired = comparison.pair, _paired(comparison)
    # only the columns compared: at registry size the kinetics table has a row per episode and analyte and
    # some twenty parameters, and the join and the partition copy what they are given
    by_analyte = kinetics.select("patient_id", "episode", "analyte", "cmax", "tmax").join(
        compared_groups(groups, comparison), on=["patient_id", "episode"]).partition_by("analyte", as_dict=True)
    rows = []
    for analyte in analytes:
        frame = by_analyte.get((analyte,))
        if frame is None:
            continue
        info = ANALYTES.get(analyte)
        label = info.label if info else analyte
        unit = info.unit if info else ""
        family = _ANALYTE_FAMILY.get(analyte, "cytokine")
        for value_col, what, what_unit in (("cmax", "peak", unit), ("tmax", "peak day", "day")):
            row = compare_measure(frame, value_col, products, quantile_method, correct, paired, normality_alpha)
            row.update(family=family, measure=f"{label} {what}", unit=what_unit,
                       key=f"{analyte}.{'peak' if value_col == 'cmax' else 'peak_day'}")
            rows.append(row)
    return pl.DataFrame(rows, schema=_SCHEMA) if rows else pl.DataFrame(schema=_SCHEMA)


_GRADE_SCHEMA = {
    "toxicity": pl.String, "system": pl.String, "group_a": pl.String, "group_b": pl.String, "n_a": pl.Int64,
    "n_b": pl.Int64, "n_pairs": pl.Int64, "method": pl.String, "pvalue": pl.Float64, "why": pl.String,
    "fisher_pvalue": pl.Float64, "chisq_pvalue": pl.Float64, "paired_method": pl.String,
    "paired_statistic": pl.Float64, "paired_df": pl.Float64, "paired_pvalue": pl.Float64, "note": pl.String}


def grade_comparisons(labelled, groups: pl.DataFrame, comparison) -> pl.DataFrame:
    """One row per (toxicity, grades, system, note) of ``labelled``: the grades of the comparison's groups."""
    cg = compared_groups(groups, comparison)
    rows = []
    for toxicity, frame, system, note in labelled:
        row = grade_comparison(frame, cg, comparison.pair, toxicity, system, _paired(comparison))
        if note:
            row["note"] = (row["note"] + " " + note).strip()
        rows.append(row)
    return pl.DataFrame(rows, schema=_GRADE_SCHEMA)


def grade_comparison(grades: pl.DataFrame, groups: pl.DataFrame, products: tuple[str, str], toxicity: str,
                     system: str, paired: bool | None = None) -> dict:
    """Grade x product: exact Fisher-Freeman-Halton (unpaired, as the seed) and Bowker (paired, unless
    ``paired`` is False)."""
    from cartkit.analysis.adverse_events import episode_grades, grade_contingency, grade_counts
    from cartkit.stats import bowker, chi_square, compare_counts
    from cartkit.stats.choice import UNDEFINED
    from cartkit.stats.fisher import fisher_exact_pvalue

    per_episode = episode_grades(grades, groups)
    table = grade_contingency(grade_counts(per_episode, toxicity), products)
    xa, xb, pa, pb = group_values(per_episode, "grade", *products)  # every episode is graded
    out = {"toxicity": toxicity, "system": system, "group_a": products[0], "group_b": products[1],
           "n_a": int(xa.size), "n_b": int(xb.size), "n_pairs": 0,
           "method": None, "pvalue": None, "why": None,
           "fisher_pvalue": None, "chisq_pvalue": None, "paired_method": None, "paired_pvalue": None, "paired_statistic": None,
           "paired_df": None, "note": ""}
    graded = [p for p, row in zip(products, table, strict=True) if sum(row)]
    if table and len(table[0]) >= 2 and len(graded) < 2:
        # e.g. no blood counts after one product: its grades are all undetermined
        out["note"] = f"only {', '.join(graded) or 'no product'} has graded episodes: nothing to compare"
    elif table and len(table[0]) >= 2 and (choice := compare_counts(table)).test == UNDEFINED:
        out["note"] = choice.why  # e.g. every graded episode of the two in one grade: no P value
    elif table and len(table[0]) >= 2:
        exact_chosen = "fisher" in choice.test.lower()
        total = sum(map(sum, table))
        out.update(method=f"{choice.method} (grade x product)", pvalue=float(choice.pvalue), why=choice.why,
                   # both tests side by side (the seed printed both); the exact one only where it is
                   # cheap or chosen: with thousands of episodes chi-square is what any plan uses; only its
                   # P is shown (fisher_exact would also solve a 2 x 2 table's conditional odds ratio and CI)
                   fisher_pvalue=float(choice.pvalue) if exact_chosen else
                   (float(fisher_exact_pvalue(table)) if total <= 1000 else None),
                   chisq_pvalue=float(chi_square(table, correction=False).pvalue))
    else:
        out["note"] = "every episode has the same grade: nothing to compare"
    out["n_pairs"] = int(pa.size)  # each patient's first episode of each group
    if paired is False:
        return out
    levels, codes = np.unique(np.concatenate([pa, pb]), return_inverse=True)  # the grades either has
    if levels.size >= 2 and pa.size >= 2:
        square = np.zeros((levels.size, levels.size), dtype=np.int64)
        np.add.at(square, (codes[:pa.size], codes[pa.size:]), 1)
        square = square.tolist()
        try:
            res = bowker(square)
        except ValueError as exc:
            out["note"] = (out["note"] + f" paired test not computable: {exc}").strip()
        else:
            if math.isnan(res.pvalue):  # no discordant pairs: R's mcnemar.test gives NaN too
                out["note"] = (out["note"] + " paired test not computable: " + (res.note or
                               "every patient has the same grade with both products")).strip()
            else:
                out.update(paired_method="Bowker symmetry test (paired grades)", paired_pvalue=float(res.pvalue),
                           paired_statistic=float(res.statistic), paired_df=float(res.df))
    return out


def responder_comparisons(
    kinetics: pl.DataFrame, groups: pl.DataFrame, best_response: pl.DataFrame, analytes, quantile_method: str,
    correct: bool = True, normality_alpha: float = 0.05,
) -> pl.DataFrame:
    """Expansion (Cmax, AUC0-28d) of responders vs non-responders, within each product; a responder by the
    ORR rule of the patient's own disease (``best_response.toml`` [orr]: lymphoma CR + PR, B-ALL CR + CRi,
    myeloma PR or better, CLL CR + CRi + nPR + PR), so a recorded B-ALL PR is a non-responder.

    Approved CAR-T labels report expansion by response; with different patients in the two groups
    the comparison is unpaired only.
    """
    from cartkit.analysis.responses import with_response_flags
    from cartkit.study.vocabulary import ANALYTES

    keys = ["patient_id", "episode"]
    flagged = with_response_flags(
        groups.select(*keys, "product", "diagnosis")
        .join(best_response.select(*keys, "best_response"), on=keys)
        .filter(pl.col("best_response").is_not_null())
    )
    labelled = kinetics.join(
        flagged.select(*keys, "product", pl.when(pl.col("responder")).then(pl.lit("responders"))
                       .otherwise(pl.lit("non-responders")).alias("group")),
        on=keys,
    )
    rows = []
    for product in labelled["product"].unique(maintain_order=True).to_list():
        for analyte in analytes:
            frame = labelled.filter((pl.col("product") == product) & (pl.col("analyte") == analyte))
            if frame.height == 0:
                continue
            info = ANALYTES.get(analyte)
            label, unit = (info.label, info.unit) if info else (analyte, "")
            for value_col, what, what_unit in (("cmax", "peak", unit), ("auc_partial", "AUC0-28d", f"{unit} x day")):
                if value_col not in frame.columns:
                    continue
                values = frame.select("patient_id", pl.col("group").alias("product"), value_col)
                row = compare_measure(values, value_col, ("responders", "non-responders"), quantile_method,
                                      correct, normality_alpha=normality_alpha)
                row.update(family=f"by response, {product}", measure=f"{label} {what}", unit=what_unit,
                           key=f"{analyte}.{value_col}.by_response.{product}")
                rows.append(row)
    return pl.DataFrame(rows, schema=_SCHEMA) if rows else pl.DataFrame(schema=_SCHEMA)
