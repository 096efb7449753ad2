"""Haematotoxicity after CAR-T: early ICAHT grade, CAR-HEMATOTOX score and EASIX.

* :func:`icaht_grade` -- EHA/EBMT 2023 early ICAHT (days 0-30) from serial ANC
  (``criteria/icaht_eha_ebmt2023.toml``: thresholds, day counts, bridging rule).
* :func:`car_hematotox` -- CAR-HEMATOTOX (Rejeski 2021; ``criteria/car_hematotox_2021.toml``),
  high risk at >= 2.
* :func:`easix` -- EASIX = LDH (U/L) x creatinine (mg/dL) / platelets (10^9/L)
  (Luft T et al., Lancet Haematol 2017; used after CAR-T by Pennisi M et al., Blood Adv 2021).

    >>> icaht_grade([0, 7, 14], [0.3, 0.3, 2.0])   # ANC <= 0.5 on days 0-13: 14 days
    3
    >>> car_hematotox(platelets=150, anc=2.0, hemoglobin=10.0, crp=1.0, ferritin=700)
    2
    >>> round(easix(ldh=250, creatinine=1.0, platelets=125), 6)
    2.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cartkit.grading.criteria_data import load_criteria

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

ICAHT = "eha_ebmt2023"
HEMATOTOX = "2021"


def icaht_criteria(name: str = ICAHT) -> dict[str, Any]:
    return load_criteria("icaht", name)


def hematotox_criteria(name: str = HEMATOTOX) -> dict[str, Any]:
    return load_criteria("car_hematotox", name)


# ---------------------------------------------------------------- early ICAHT


def _coverage(days: Sequence[int], window: tuple[int, int]) -> list[int]:
    """Days each sample stands for: until the next sample; the last sample its own day."""
    end = window[1] + 1
    out = []
    for i, d in enumerate(days):
        nxt = days[i + 1] if i + 1 < len(days) else d + 1
        out.append(min(nxt, end) - d)
    return out


def days_at_or_below(
    days: Sequence[int], values: Sequence[float], threshold: float, *, window=(0, 30), bridge_days: int = 3
) -> int:
    """Cumulative days in ``window`` with value <= threshold, counting non-stable recovery.

    Each value holds from its day until the next sample (the last one for its own
    day). A stretch above the threshold shorter than ``bridge_days`` between two
    stretches at or below it counts toward the total (EHA/EBMT ICAHT rule).
    """
    pairs = sorted(
        (int(d), float(v)) for d, v in zip(days, values, strict=True) if window[0] <= d <= window[1]
    )
    if not pairs:
        return 0
    # several values on one day: the worst (lowest) counts
    by_day: dict[int, float] = {}
    for d, v in pairs:
        by_day[d] = min(v, by_day.get(d, math.inf))
    ds = sorted(by_day)
    cover = _coverage(ds, window)
    runs: list[list] = []  # [below, length]
    for d, c in zip(ds, cover, strict=True):
        below = by_day[d] <= threshold
        if runs and runs[-1][0] == below:
            runs[-1][1] += c
        else:
            runs.append([below, c])
    total = 0
    for i, (below, length) in enumerate(runs):
        if below or (0 < i < len(runs) - 1 and length < bridge_days):
            total += length
    return total


def icaht_grade(
    days: Sequence[int], anc: Sequence[float], *, bridge_days: int | None = None, criteria: str = ICAHT
) -> int:
    """Early ICAHT grade (0-4) from ANC (10^9/L) on days relative to infusion (window 0-30)."""
    spec = icaht_criteria(criteria)
    window = tuple(spec["window"])
    bridge = spec["bridge_days"] if bridge_days is None else bridge_days
    if len(days) != len(anc):
        raise ValueError(f"days ({len(days)}) and anc ({len(anc)}) differ in length")
    grade = 0
    totals: dict[float, int] = {}
    for threshold, min_days, g in spec["rules"]:
        if threshold not in totals:
            totals[threshold] = days_at_or_below(days, anc, threshold, window=window, bridge_days=bridge)
        if totals[threshold] >= min_days:
            grade = max(grade, int(g))
    return grade


def icaht_frame(
    anc: pl.DataFrame,
    keys: Sequence[str] = ("patient_id", "episode"),
    *,
    bridge_days: int | None = None,
    criteria: str = ICAHT,
) -> pl.DataFrame:
    """Early ICAHT over a long table (``keys``, ``day``, ``value`` = ANC in 10^9/L).

    Returns ``keys`` + ``icaht_grade`` and ``days_anc_le_<threshold>`` for each
    threshold, for every key group that has at least one value in the window.
    """
    import polars as pl

    spec = icaht_criteria(criteria)
    w0, w1 = spec["window"]
    bridge = spec["bridge_days"] if bridge_days is None else bridge_days
    keys = list(keys)
    daily = (
        anc.filter(pl.col("day").is_between(w0, w1) & pl.col("value").is_not_null())
        .group_by([*keys, "day"])
        .agg(pl.col("value").min())
        .with_columns(
            cover=(
                pl.min_horizontal(
                    pl.col("day").shift(-1).over(keys, order_by="day").fill_null(pl.col("day") + 1),
                    pl.lit(w1 + 1),
                )
                - pl.col("day")
            )
        )
    )
    result = daily.select(keys).unique()
    grade = pl.lit(0, dtype=pl.Int64)
    for threshold in sorted({r[0] for r in spec["rules"]}, reverse=True):
        col = f"days_anc_le_{threshold:g}"
        runs = (
            daily.with_columns(below=pl.col("value") <= threshold)
            .with_columns(run=pl.col("below").rle_id().over(keys, order_by="day"))
            .group_by([*keys, "run"])
            .agg(pl.col("below").first(), pl.col("cover").sum().alias("length"))
            .with_columns(
                first=pl.col("run").min().over(keys),
                last=pl.col("run").max().over(keys),
            )
            .with_columns(
                counted=pl.col("below")
                | (
                    (pl.col("run") > pl.col("first"))
                    & (pl.col("run") < pl.col("last"))
                    & (pl.col("length") < bridge)
                )
            )
            .group_by(keys)
            .agg(pl.col("length").filter(pl.col("counted")).sum().cast(pl.Int64).alias(col))
        )
        result = result.join(runs, on=keys, how="left")
        for t, min_days, g in spec["rules"]:
            if t == threshold:
                grade = (
                    pl.when(pl.col(col) >= min_days)
                    .then(pl.max_horizontal(grade, pl.lit(int(g))))
                    .otherwise(grade)
                )
    return result.with_columns(icaht_grade=grade.cast(pl.Int64)).sort(keys)


# ---------------------------------------------------------------- CAR-HEMATOTOX


def _bound(x: Any) -> float:
    return float(x)  # numbers, or the strings "inf" / "-inf" of the criteria file


def _band_points(bands: list, value: float) -> int:
    for lower, upper, points, lower_inc, upper_inc in bands:
        lo, hi = _bound(lower), _bound(upper)
        above = value >= lo if lower_inc else value > lo
        below = value <= hi if upper_inc else value < hi
        if above and below:
            return int(points)
    raise ValueError(f"value {value!r} falls in no CAR-HEMATOTOX band {bands}")  # pragma: no cover


def car_hematotox(
    platelets: float | None,
    anc: float | None,
    hemoglobin: float | None,
    crp: float | None,
    ferritin: float | None,
    *,
    criteria: str = HEMATOTOX,
) -> int | None:
    """CAR-HEMATOTOX score (0-7; high risk at >= 2), None when any item is missing.

    Units as in the paper: platelets and ANC 10^9/L, haemoglobin g/dL, CRP mg/dL,
    ferritin ng/mL (a loaded Study holds Hb in g/L and CRP in mg/L: divide by 10).
    """
    spec = hematotox_criteria(criteria)
    values = {"platelets": platelets, "anc": anc, "hemoglobin": hemoglobin, "crp": crp, "ferritin": ferritin}
    total = 0
    for item, value in values.items():
        if value is None or math.isnan(float(value)):
            return None
        if float(value) < 0:
            raise ValueError(f"{item} {value!r} is negative (CAR-HEMATOTOX)")
        total += _band_points(spec["items"][item]["bands"], float(value))
    return total


def car_hematotox_expr(
    platelets: pl.Expr,
    anc: pl.Expr,
    hemoglobin: pl.Expr,
    crp: pl.Expr,
    ferritin: pl.Expr,
    *,
    criteria=HEMATOTOX,
) -> pl.Expr:
    """:func:`car_hematotox` over whole columns (same units; null when any item is null)."""
    import polars as pl

    spec = hematotox_criteria(criteria)
    parts = []
    for item, col in zip(
        ("platelets", "anc", "hemoglobin", "crp", "ferritin"),
        (platelets, anc, hemoglobin, crp, ferritin),
        strict=True,
    ):
        expr = pl.when(col.is_null() | col.is_nan()).then(pl.lit(None, dtype=pl.Int64))
        for lower, upper, points, lower_inc, upper_inc in spec["items"][item]["bands"]:
            lo, hi = _bound(lower), _bound(upper)
            above = col >= lo if lower_inc else col > lo
            below = col <= hi if upper_inc else col < hi
            expr = expr.when(above & below).then(pl.lit(int(points), dtype=pl.Int64))
        parts.append(expr.otherwise(None))
    total = parts[0]
    for p in parts[1:]:
        total = total + p  # null propagates: any missing item -> null score
    return total


# ---------------------------------------------------------------- EASIX


def easix(ldh: float, creatinine: float, platelets: float) -> float:
    """EASIX = LDH (U/L) x creatinine (mg/dL) / platelets (10^9/L); usually analysed as log2."""
    if platelets is None or ldh is None or creatinine is None:
        raise ValueError("easix needs ldh, creatinine and platelets (got a missing value)")
    if platelets <= 0:
        raise ValueError(f"platelets {platelets!r} must be > 0 for EASIX")
    return float(ldh) * float(creatinine) / float(platelets)


def easix_expr(ldh: pl.Expr, creatinine_mg_dl: pl.Expr, platelets: pl.Expr) -> pl.Expr:
    """EASIX over whole columns (null when platelets <= 0 or any input is null)."""
    import polars as pl

    return pl.when(platelets > 0).then(ldh * creatinine_mg_dl / platelets).otherwise(None)
