"""Derive stage: kinetic parameters per episode x analyte for a whole study.

``derive_kinetics(study)`` runs the NCA of ``cartkit.kinetics.nca_table``
(PKNCA conventions, docs/criteria.md) over ``study.measurements`` for
the plan's kinetic analytes (seed: CAR-T % of CD3+, CAR DNA, IL-6, IL-2R,
IL-8, TNF-a), using only the samples inside the plan's kinetics window
(seed: days 0-28, Methods "on day 0, 4, 7, 14, 21 and 28"), so Cmax/Tmax are
the expansion peak and peak day of seed Figures 4 and 7, and the partial
AUC is AUC over the window (AUC0-28d of the approved CAR-T labels).

``summarise_kinetics`` gives per product (or any grouping) and analyte the
n, median, quartiles, mean, SD, min and max of each parameter, as the seed
reports them ("median and interquartile range", SPSS 17).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from cartkit.stats.describe import describe
from cartkit.study.model import Plan

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.model import Study

__all__ = ["KINETICS_COLUMNS", "derive_kinetics", "kinetics_from_measurements", "summarise_kinetics"]

KINETICS_COLUMNS: dict[str, pl.DataType] = {
    "patient_id": pl.String, "episode": pl.Int64, "analyte": pl.String, "cmax": pl.Float64,
    "tmax": pl.Float64, "clast": pl.Float64, "tlast": pl.Float64, "auc_last": pl.Float64,
    "auc_partial": pl.Float64, "lambda_z": pl.Float64, "half_life": pl.Float64, "r2_adj": pl.Float64,
    "n_points": pl.Int64, "note": pl.String,
}


def kinetics_from_measurements(
    measurements: pl.DataFrame,
    *,
    analytes: Sequence[str] | None,
    window: tuple[float, float] = Plan.kinetics_window,
    auc: str = "linear-up-log-down",
    blq_before_tmax: str = "zero",
    blq_after_tmax: str = "drop",
    duplicates: str = "mean",
    below_limit: str | None = None,
) -> pl.DataFrame:
    """NCA per patient_id x episode x analyte of a measurements table (schema.MEASUREMENTS columns).

    Only samples with ``window[0] <= day <= window[1]`` are used; the partial
    AUC is over the window. ``analytes=None`` uses every analyte in the table.
    BLQ rows are those with ``blq`` true or value 0. Columns: ``KINETICS_COLUMNS``.
    ``below_limit`` (the plan's ``[plan.kinetics] below_limit``, study/plan_kinetics.py), when given,
    sets the BLQ rule instead of ``blq_before_tmax``/``blq_after_tmax``: "zero" (0 before Tmax, missing
    after), "half_limit" (lloq / 2; missing where the limit is unknown) or "missing". Samples above the
    upper limit (qualifier > or >=) are left out and counted in ``note``.
    """
    from cartkit.kinetics.nca import nca_table

    lo, hi = (float(w) for w in window)
    if not lo <= hi:
        raise ValueError(f"window={window!r}: the kinetics window needs start <= end")
    needed = {"patient_id", "episode", "day", "analyte", "value"}
    missing = sorted(needed - set(measurements.columns))
    if missing:
        raise ValueError(f"measurements columns {missing}: needed for kinetics")
    rows = measurements.filter(pl.col("day").is_between(lo, hi))
    if analytes is not None:
        rows = rows.filter(pl.col("analyte").is_in(list(analytes)))
    if rows.height == 0:
        return pl.DataFrame(schema=KINETICS_COLUMNS)
    if below_limit is not None:
        rows, blq_before_tmax, blq_after_tmax = _below_limit_rule(rows, below_limit)
    above = (rows.filter(pl.col("qualifier").is_in([">", ">="])).group_by("patient_id", "episode", "analyte").len()
             if "qualifier" in rows.columns else None)
    has_blq = "blq" in rows.columns
    table = nca_table(
        rows, by=["patient_id", "episode", "analyte"], day="day", value="value",
        blq="blq" if has_blq else None, auc=auc, partial=(lo, hi), blq_before_tmax=blq_before_tmax,
        blq_after_tmax=blq_after_tmax, duplicates=duplicates,
    )
    if above is not None and above.height:
        table = table.join(above, on=["patient_id", "episode", "analyte"], how="left").with_columns(
            note=pl.when(pl.col("len").is_not_null()).then(pl.concat_str([
                pl.col("note"), pl.when(pl.col("note").fill_null("") != "").then(pl.lit("; ")).otherwise(pl.lit("")),
                pl.format("{} sample(s) above the upper limit of quantification left out: Cmax may be higher",
                          pl.col("len"))])).otherwise(pl.col("note")))
    return table.select(
        [pl.col(name).cast(dtype) for name, dtype in KINETICS_COLUMNS.items()]
    ).sort("patient_id", "episode", "analyte")


def _below_limit_rule(rows: pl.DataFrame, rule: str) -> tuple[pl.DataFrame, str, str]:
    """(rows, blq_before_tmax, blq_after_tmax) of the plan's below-limit rule (study/plan_kinetics.py)."""
    from cartkit.study.plan_kinetics import BELOW_LIMIT

    if rule not in BELOW_LIMIT:
        raise ValueError(f"below_limit={rule!r}: must be one of {BELOW_LIMIT}")
    if rule == "zero":
        return rows, "zero", "drop"
    if rule == "half_limit" and {"blq", "lloq"} <= set(rows.columns):
        half = pl.col("blq").fill_null(False) & pl.col("lloq").is_not_null() & (pl.col("lloq") > 0)
        rows = rows.with_columns(value=pl.when(half).then(pl.col("lloq") / 2).otherwise(pl.col("value")),
                                 blq=pl.when(half).then(False).otherwise(pl.col("blq")))
    return rows, "drop", "drop"


def derive_kinetics(
    study: Study,
    *,
    analytes: Sequence[str] | None = None,
    window: tuple[float, float] | None = None,
    auc: str = "linear-up-log-down",
    below_limit: str | None = None,
) -> pl.DataFrame:
    """Kinetic parameters (NCA) per episode x analyte of a study.

    ``analytes`` defaults to ``study.plan.kinetic_analytes``, ``window``
    to ``study.plan.kinetics_window`` and ``below_limit`` to the plan's
    ``[plan.kinetics] below_limit``. One row per patient_id x episode x
    analyte with any measurement in the window; columns ``KINETICS_COLUMNS``
    (NaN results are null and ``note`` says why).
    """
    plan = study.plan
    return kinetics_from_measurements(
        study.measurements,
        analytes=plan.kinetic_analytes if analytes is None else analytes,
        window=plan.kinetics_window if window is None else window,
        auc=auc, below_limit=plan.kinetics.below_limit if below_limit is None else below_limit,
    )


_SUMMARY_MEASURES = ("cmax", "tmax")


def summarise_kinetics(
    params: pl.DataFrame,
    groups: pl.DataFrame,
    *,
    by: Sequence[str] = ("product",),
    measures: Sequence[str] = _SUMMARY_MEASURES,
    quantile_method: str = Plan.quantile_method,
) -> pl.DataFrame:
    """n, median, q1, q3, mean, sd, min, max of each kinetic parameter per group and analyte.

    ``params`` is ``derive_kinetics`` output; ``groups`` maps patient_id,
    episode to the ``by`` columns (e.g. ``study.infusions`` for product).
    Missing values (e.g. no half-life) are left out of n. ``quantile_method``
    defaults to the plan's default (``Plan.quantile_method``: R type 7). The number of
    groups is small (products x analytes x measures), so the loop below is
    over groups, never over measurements.
    """
    by = list(by)
    missing = [c for c in [*by, "patient_id", "episode"] if c not in groups.columns]
    if missing:
        raise ValueError(f"groups columns {missing}: needed to summarise kinetics by {by}")
    bad = [m for m in measures if m not in params.columns]
    if bad:
        raise ValueError(f"measures {bad}: not kinetic parameter columns ({params.columns})")
    schema = {**{b: groups.schema[b] for b in by}, "analyte": pl.String, "measure": pl.String,
              "n": pl.Int64, "median": pl.Float64, "q1": pl.Float64, "q3": pl.Float64, "mean": pl.Float64,
              "sd": pl.Float64, "min": pl.Float64, "max": pl.Float64}
    long = (
        params.join(groups.select("patient_id", "episode", *by).unique(), on=["patient_id", "episode"],
                    how="inner")
        .unpivot(index=[*by, "analyte"], on=list(measures), variable_name="measure", value_name="value")
        .with_columns(pl.col("value").cast(pl.Float64).fill_nan(None))
        .drop_nulls("value")
    )
    rows = []
    for keys, frame in long.group_by([*by, "analyte", "measure"], maintain_order=True):
        d = describe(frame["value"].to_numpy(), quantile_method)
        rows.append((*keys, d.n, d.median, d.q1, d.q3, d.mean, d.sd, d.min, d.max))
    order = {m: i for i, m in enumerate(measures)}
    out = pl.DataFrame(rows, schema=schema, orient="row")
    return out.with_columns(pl.col("measure").replace_strict(order, return_dtype=pl.Int64).alias("__o")).sort(
        [*by, "analyte", "__o"]).drop("__o")
