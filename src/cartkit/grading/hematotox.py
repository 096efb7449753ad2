"""Haematotoxicity after CAR-T: early ICAHT grade, CAR-HEMATOTOX score and EASIX.

* :func:`icaht_grade` -- EHA/EBMT 2023 early ICAHT (days 0-30) from serial ANC
  (``criteria/icaht_eha_ebmt2023.toml``: thresholds, day counts, bridging rule,
  censoring events); :func:`late_icaht_grade` -- late ICAHT after day +30
  (``criteria/late_icaht_eha_ebmt2023.toml``); :func:`ticaht_grade` -- early T-ICAHT
  from platelets (``criteria/ticaht_eha_ebmt2024.toml``). ``*_frame`` versions
  vectorise them over long tables.
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
TICAHT = "eha_ebmt2024"
LATE_ICAHT = "eha_ebmt2023"
HEMATOTOX = "2021"


def icaht_criteria(name: str = ICAHT) -> dict[str, Any]:
    return load_criteria("icaht", name)


def hematotox_criteria(name: str = HEMATOTOX) -> dict[str, Any]:
    return load_criteria("car_hematotox", name)


# ---------------------------------------------------------------- early ICAHT / T-ICAHT


def ticaht_criteria(name: str = TICAHT) -> dict[str, Any]:
    return load_criteria("ticaht", name)


def late_icaht_criteria(name: str = LATE_ICAHT) -> dict[str, Any]:
    return load_criteria("late_icaht", name)


def _coverage(days: Sequence[int], window: tuple[int, int]) -> list[int]:
    """Days each sample stands for: until the next sample; the last sample its own day."""
    end = window[1] + 1
    out = []
    for i, d in enumerate(days):
        nxt = days[i + 1] if i + 1 < len(days) else d + 1
        out.append(min(nxt, end) - d)
    return out


def days_at_or_below(
    days: Sequence[int],
    values: Sequence[float],
    threshold: float,
    *,
    window=(0, 30),
    bridge_days: int = 3,
    strict: bool = False,
) -> int:
    """Cumulative days in ``window`` with value <= threshold (< with ``strict``), counting non-stable recovery.

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
        below = by_day[d] < threshold if strict else by_day[d] <= threshold
        if runs and runs[-1][0] == below:
            runs[-1][1] += c
        else:
            runs.append([below, c])
    total = 0
    for i, (below, length) in enumerate(runs):
        if below or (0 < i < len(runs) - 1 and length < bridge_days):
            total += length
    return total


def _censored_window(spec: dict[str, Any], censor_day: int | None) -> tuple[int, int]:
    w0, w1 = spec["window"]
    if censor_day is not None:
        w1 = min(w1, int(censor_day) - 1)  # only days strictly before the censoring event
    return int(w0), int(w1)


def _cumulative_grade(
    spec: dict[str, Any], days: Sequence[int], values: Sequence[float], bridge_days: int | None,
    censor_day: int | None,
) -> int:
    if len(days) != len(values):
        raise ValueError(f"days ({len(days)}) and values ({len(values)}) differ in length")
    window = _censored_window(spec, censor_day)
    bridge = spec["bridge_days"] if bridge_days is None else bridge_days
    strict = spec.get("comparison", "le") == "lt"
    grade = 0
    totals: dict[float, int] = {}
    for threshold, min_days, g in spec["rules"]:
        if threshold not in totals:
            totals[threshold] = days_at_or_below(
                days, values, threshold, window=window, bridge_days=bridge, strict=strict
            )
        if totals[threshold] >= min_days:
            grade = max(grade, int(g))
    return grade


def icaht_grade(
    days: Sequence[int],
    anc: Sequence[float],
    *,
    bridge_days: int | None = None,
    criteria: str = ICAHT,
    censor_day: int | None = None,
) -> int:
    """Early ICAHT grade (0-4) from ANC (10^9/L) on days relative to infusion (window 0-30).

    ``censor_day``: day of progression, subsequent therapy, death or next infusion;
    only the days before it count (the window ends the day before).
    """
    return _cumulative_grade(icaht_criteria(criteria), days, anc, bridge_days, censor_day)


def ticaht_grade(
    days: Sequence[int],
    platelets: Sequence[float],
    *,
    bridge_days: int | None = None,
    criteria: str = TICAHT,
    censor_day: int | None = None,
) -> int:
    """Early T-ICAHT grade (0-4) from platelets (10^9/L), days 0-30, same logic as :func:`icaht_grade`."""
    return _cumulative_grade(ticaht_criteria(criteria), days, platelets, bridge_days, censor_day)


def late_icaht_grade(
    days: Sequence[int],
    anc: Sequence[float],
    *,
    criteria: str = LATE_ICAHT,
    censor_day: int | None = None,
) -> int | None:
    """Late ICAHT grade (0-4) from ANC (10^9/L) after day +30; None with < 2 measurements.

    A grade needs at least ``min_measurements`` (2) days with ANC at or below its
    threshold (non-transient neutropenia); days from ``censor_day`` on are ignored.
    """
    spec = late_icaht_criteria(criteria)
    if len(days) != len(anc):
        raise ValueError(f"days ({len(days)}) and anc ({len(anc)}) differ in length")
    by_day: dict[int, float] = {}
    for d, v in zip(days, anc, strict=True):
        if v is None or math.isnan(float(v)) or int(d) <= spec["after_day"]:
            continue
        if censor_day is not None and int(d) >= int(censor_day):
            continue
        by_day[int(d)] = min(float(v), by_day.get(int(d), math.inf))
    need = int(spec["min_measurements"])
    if len(by_day) < need:
        return None
    strict = spec.get("comparison", "le") == "lt"
    grade = 0
    for threshold, g in spec["rules"]:
        n = sum((v < threshold) if strict else (v <= threshold) for v in by_day.values())
        if n >= need:
            grade = max(grade, int(g))
    return grade


def _with_censor(values: pl.DataFrame, keys: list[str], censor: pl.DataFrame | None) -> pl.DataFrame:
    import polars as pl

    if censor is None:
        return values.with_columns(censor_day=pl.lit(None, dtype=pl.Int64))
    c = censor.select(*keys, pl.col("censor_day").cast(pl.Int64))
    return values.join(c, on=keys, how="left")


def _cumulative_frame(
    values: pl.DataFrame,
    keys: Sequence[str],
    spec: dict[str, Any],
    bridge_days: int | None,
    censor: pl.DataFrame | None,
    grade_name: str,
) -> pl.DataFrame:
    """Vectorised :func:`_cumulative_grade` over a long table (keys, day, value)."""
    import polars as pl

    w0, w1 = spec["window"]
    bridge = spec["bridge_days"] if bridge_days is None else bridge_days
    strict = spec.get("comparison", "le") == "lt"
    op = "lt" if strict else "le"
    keys = list(keys)
    end = pl.min_horizontal(pl.lit(w1), pl.col("censor_day") - 1)  # censor_day null -> w1
    daily = (
        _with_censor(values, keys, censor)
        .filter(pl.col("day").is_between(w0, w1) & pl.col("value").is_not_null())
        .filter(pl.col("censor_day").is_null() | (pl.col("day") < pl.col("censor_day")))
        .with_columns(_end=end)
        .group_by([*keys, "day"])
        .agg(pl.col("value").min(), pl.col("_end").first())
        .with_columns(
            cover=(
                pl.min_horizontal(
                    pl.col("day").shift(-1).over(keys, order_by="day").fill_null(pl.col("day") + 1),
                    pl.col("_end") + 1,
                )
                - pl.col("day")
            )
        )
    )
    result = daily.select(keys).unique()
    grade = pl.lit(0, dtype=pl.Int64)
    for threshold in sorted({r[0] for r in spec["rules"]}, reverse=True):
        col = f"days_{spec['analyte']}_{op}_{threshold:g}"
        below = pl.col("value") < threshold if strict else pl.col("value") <= threshold
        runs = (
            daily.with_columns(below=below)
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
    return result.with_columns(grade.cast(pl.Int64).alias(grade_name)).sort(keys)


def icaht_frame(
    anc: pl.DataFrame,
    keys: Sequence[str] = ("patient_id", "episode"),
    *,
    bridge_days: int | None = None,
    criteria: str = ICAHT,
    censor: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Early ICAHT over a long table (``keys``, ``day``, ``value`` = ANC in 10^9/L).

    Returns ``keys`` + ``days_anc_le_<threshold>`` for each threshold and
    ``icaht_grade``, for every key group that has at least one value in the window
    (before its censoring day). ``censor``: ``keys`` + ``censor_day`` (null = none).
    """
    return _cumulative_frame(anc, keys, icaht_criteria(criteria), bridge_days, censor, "icaht_grade")


def ticaht_frame(
    platelets: pl.DataFrame,
    keys: Sequence[str] = ("patient_id", "episode"),
    *,
    bridge_days: int | None = None,
    criteria: str = TICAHT,
    censor: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Early T-ICAHT like :func:`icaht_frame` (``value`` = platelets, 10^9/L).

    Returns ``keys`` + ``days_plt_lt_<threshold>`` and ``ticaht_grade``.
    """
    return _cumulative_frame(platelets, keys, ticaht_criteria(criteria), bridge_days, censor, "ticaht_grade")


def late_icaht_frame(
    anc: pl.DataFrame,
    keys: Sequence[str] = ("patient_id", "episode"),
    *,
    criteria: str = LATE_ICAHT,
    censor: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """:func:`late_icaht_grade` over a long table (``keys``, ``day``, ``value`` = ANC).

    Returns ``keys`` + ``late_anc_measurements`` (days with an ANC after day +30,
    before censoring) and ``late_icaht_grade`` (null with fewer than two), for every
    key group with at least one such value.
    """
    import polars as pl

    spec = late_icaht_criteria(criteria)
    keys = list(keys)
    need = int(spec["min_measurements"])
    strict = spec.get("comparison", "le") == "lt"
    daily = (
        _with_censor(anc, keys, censor)
        .filter((pl.col("day") > spec["after_day"]) & pl.col("value").is_not_null())
        .filter(pl.col("value").is_not_nan())
        .filter(pl.col("censor_day").is_null() | (pl.col("day") < pl.col("censor_day")))
        .group_by([*keys, "day"])
        .agg(pl.col("value").min())
    )
    aggs = [pl.len().cast(pl.Int64).alias("late_anc_measurements")]
    for i, (threshold, _g) in enumerate(spec["rules"]):
        below = pl.col("value") < threshold if strict else pl.col("value") <= threshold
        aggs.append(below.sum().alias(f"_n{i}"))
    counts = daily.group_by(keys).agg(*aggs)
    grade = pl.lit(0, dtype=pl.Int64)
    for i, (_threshold, g) in enumerate(spec["rules"]):
        grade = pl.when(pl.col(f"_n{i}") >= need).then(pl.max_horizontal(grade, pl.lit(int(g)))).otherwise(grade)
    return (
        counts.with_columns(
            late_icaht_grade=pl.when(pl.col("late_anc_measurements") >= need).then(grade).otherwise(None)
        )
        .select(*keys, "late_anc_measurements", pl.col("late_icaht_grade").cast(pl.Int64))
        .sort(keys)
    )


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
