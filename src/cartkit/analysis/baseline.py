"""Table 1: baseline characteristics by disease (seed Table 1, summarised).

Continuous characteristics are shown as median (IQR) with the plan's quantile
definition (SPSS's weighted average by default, as the seed used SPSS) and as
mean +/- SD, since the seed reports a mean as its "median age"; categorical
ones as n (%).

Missing values are counted, not hidden: a characteristic with a value missing for some
patients gets a "missing" row with their number. A characteristic applies to the diseases
in which any patient has it recorded (IPI and stage to lymphoma, marrow blasts to B-ALL in
the seed), so patients of other diseases are not counted as missing.
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.formatting import fmt_mean_sd, fmt_median_iqr, n_pct

_CATEGORICAL = (
    ("sex", "Sex"),
    ("subtype", "Immune subtype"),
    ("stage", "Stage"),
    ("disease_status", "Disease status before CD19 CAR-T"),
)
_CONTINUOUS = (
    ("age", "Age, years"),
    ("ipi", "IPI (lymphoma)"),
    ("marrow_blasts_pct", "Marrow blasts, % (B-ALL)"),
    ("prior_lines", "Prior therapies, n"),
    ("weight_kg", "Weight, kg"),
)


def baseline_table(patients: pl.DataFrame, diseases: tuple[str, ...], quantile_method: str) -> pl.DataFrame:
    """Long Table 1: characteristic, level, group, value, n, stat ("missing" rows: stat "n_missing")."""
    groups: list[tuple[str, pl.DataFrame]] = [
        (d, patients.filter(pl.col("diagnosis") == d)) for d in diseases if d in set(patients["diagnosis"])
    ]
    groups.append(("All", patients))
    # diseases in which each characteristic is recorded for someone: it applies to their patients
    columns = [col for col, _ in (*_CONTINUOUS, *_CATEGORICAL) if col in patients.columns]
    recorded = patients.select(pl.col("diagnosis").filter(pl.col(col).is_not_null()).unique().implode().alias(col)
                               for col in columns).row(0, named=True) if columns else {}  # one query
    # (a null diagnosis is no disease: it never counts as one the characteristic applies to)
    applies = {col: {d for d in recorded[col] if d is not None} for col in columns}
    rows: list[dict] = []

    def add_missing(diagnoses: dict, col: str, label: str, group: str, stat_known: int) -> None:
        n_missing = sum(diagnoses.get(d, 0) for d in applies[col]) - stat_known
        if n_missing > 0:
            rows.append({"characteristic": label, "level": "missing", "group": group, "value": str(n_missing),
                         "n": n_missing, "stat": "n_missing"})

    for group, frame in groups:
        n_group = frame.height
        diagnoses = dict(frame["diagnosis"].value_counts().iter_rows())  # the group's patients per diagnosis
        rows.append(
            {"characteristic": "Patients", "level": "", "group": group, "value": str(n_group),
             "n": n_group, "stat": "n"}
        )
        for col, label in _CONTINUOUS:
            values = frame[col].drop_nulls().to_numpy() if col in frame.columns else []
            if len(values) == 0:
                continue
            rows.append(
                {"characteristic": label, "level": "median (IQR)", "group": group,
                 "value": fmt_median_iqr(values, quantile_method), "n": len(values), "stat": "median_iqr"}
            )
            rows.append(
                {"characteristic": label, "level": "mean \u00b1 SD", "group": group,
                 "value": fmt_mean_sd(values), "n": len(values), "stat": "mean_sd"}
            )
            rows.append(
                {"characteristic": label, "level": "range", "group": group,
                 "value": f"{values.min():g}\u2013{values.max():g}", "n": len(values), "stat": "range"}
            )
            add_missing(diagnoses, col, label, group, len(values))
        for col, label in _CATEGORICAL:
            if col not in frame.columns:
                continue
            counts = frame.lazy().filter(pl.col(col).is_not_null()).group_by(col).len().sort(col).collect()
            if counts.height == 0:
                continue
            known = int(counts["len"].sum())
            # the denominator is the patients the characteristic applies to (stage and IPI are lymphoma
            # characteristics: in the "All" column their percentages are of the lymphoma patients)
            for level, k in counts.iter_rows():
                rows.append(
                    {"characteristic": label, "level": str(level), "group": group,
                     "value": n_pct(k, known), "n": k, "stat": "n_pct"}
                )
            add_missing(diagnoses, col, label, group, known)
    return pl.DataFrame(
        rows,
        schema={"characteristic": pl.String, "level": pl.String, "group": pl.String, "value": pl.String,
                "n": pl.Int64, "stat": pl.String},
        orient="row",
    )
