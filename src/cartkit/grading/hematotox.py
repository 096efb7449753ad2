"""Haematotoxicity after CAR-T: early ICAHT grade, CAR-HEMATOTOX score and EASIX.

* :func:`icaht_grade` -- EHA/EBMT 2023 early ICAHT (days 0-30) from serial ANC
  (``criteria/icaht_eha_ebmt2023.toml``: thresholds, day counts, bridging rule,
  censoring events); :func:`late_icaht_grade` -- late ICAHT after day +30
  (``criteria/late_icaht_eha_ebmt2023.toml``); :func:`ticaht_grade` and
  :func:`late_ticaht_grade` -- early (days 0-30) and late (days 31-100) T-ICAHT from
  platelets (``criteria/ticaht_eha_ebmt2024.toml``, ``late_ticaht_eha_ebmt2024.toml``).
  ``*_frame`` versions vectorise them over long tables and follow the same rules: a
  missing count (None or NaN) is not a measurement, and no measurement in the window
  means undetermined (None; no row in the frame), not grade 0.
* :func:`car_hematotox` -- CAR-HEMATOTOX (Rejeski 2021; ``criteria/car_hematotox_2021.toml``),
  high risk at >= 2.
* :func:`easix` -- EASIX = LDH (U/L) x creatinine (mg/dL) / platelets (10^9/L)
  (Luft T et al., Lancet Haematol 2017; used after CAR-T by Pennisi M et al., Blood Adv 2021).

    >>> icaht_grade([0, 7, 14], [0.3, 0.3, 2.0], unit="10^9/L")   # ANC <= 0.5 on days 0-13: 14 days
    3
    >>> icaht_grade([0, 7, 14], [300, 300, 2000], unit="cells/uL")
    3
    >>> icaht_grade([0, 7, 14], [0.3, float("nan"), 2.0], unit="10^9/L")   # missing is not recovery
    3
    >>> units = {"platelets": "10^9/L", "anc": "10^9/L", "hemoglobin": "g/dL", "crp": "mg/dL",
    ...          "ferritin": "ng/mL"}
    >>> car_hematotox(platelets=150, anc=2.0, hemoglobin=10.0, crp=1.0, ferritin=700, units=units)
    2
    >>> round(easix(ldh=250, creatinine=1.0, platelets=125,
    ...             units={"ldh": "U/L", "creatinine": "mg/dL", "platelets": "10^9/L"}), 6)
    2.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cartkit.grading import inputs
from cartkit.grading.criteria_data import load_criteria

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

ICAHT = "eha_ebmt2023"
TICAHT = "eha_ebmt2024"
LATE_ICAHT = "eha_ebmt2023"
LATE_TICAHT = "eha_ebmt2024"
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


def late_ticaht_criteria(name: str = LATE_TICAHT) -> dict[str, Any]:
    return load_criteria("late_ticaht", name)


def _coverage(days: Sequence[int], window: tuple[int, int]) -> list[int]:
    """Days each sample stands for: until the next sample; the last sample its own day."""
    end = window[1] + 1
    out = []
    for i, d in enumerate(days):
        nxt = days[i + 1] if i + 1 < len(days) else d + 1
        out.append(min(nxt, end) - d)
    return out


def _daily_worst(
    days: Sequence[int], values: Sequence[float | None], window: tuple[float, float],
    forced: Sequence[bool] | None = None,
) -> dict[int, tuple[float, bool]]:
    """Per day in ``window``: the lowest non-missing value and whether any row of it is ``forced``.

    Missing values (None, NaN) are dropped: missing is not a measurement, so it neither
    ends nor starts a stretch below a threshold -- the previous value holds until the
    next real one.
    """
    flags = [False] * len(days) if forced is None else list(forced)
    by_day: dict[int, tuple[float, bool]] = {}
    for d, v, f in zip(days, values, flags, strict=True):
        if v is None or math.isnan(float(v)) or not (window[0] <= int(d) <= window[1]):
            continue
        old_v, old_f = by_day.get(int(d), (math.inf, False))
        by_day[int(d)] = (min(float(v), old_v), old_f or bool(f))
    return by_day


def days_at_or_below(
    days: Sequence[int],
    values: Sequence[float | None],
    threshold: float,
    *,
    window=(0, 30),
    bridge_days: int = 3,
    strict: bool = False,
    below_anyway: Sequence[bool] | None = None,
) -> int:
    """Cumulative days in ``window`` with value <= threshold (< with ``strict``), counting non-stable recovery.

    Each value holds from its day until the next non-missing sample (the last one for
    its own day); missing values (None, NaN) are skipped. A stretch above the threshold
    shorter than ``bridge_days`` between two stretches at or below it counts toward the
    total (EHA/EBMT ICAHT rule). ``below_anyway``: per value, True when it counts as
    below whatever it is (a transfusion-supported platelet count, T-ICAHT).
    """
    by_day = _daily_worst(days, values, window, below_anyway)
    if not by_day:
        return 0
    ds = sorted(by_day)
    cover = _coverage(ds, window)
    runs: list[list] = []  # [below, length]
    for d, c in zip(ds, cover, strict=True):
        v, forced = by_day[d]
        below = forced or (v < threshold if strict else v <= threshold)
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


def _checked_counts(
    spec: dict[str, Any], days: Any, values: Any, unit: Any, values_name: str, bridge_days: Any, censor_day: Any
) -> tuple[list[int], list[float | None], int | None, int | None]:
    """Validate a grader's series and options; values converted to 10^9/L (missing kept as None)."""
    analyte = {"anc": "anc", "plt": "platelets"}[spec["analyte"]]
    rule = f"{analyte} count, {spec['source']}"
    ds, vs = inputs.series("days", days, values_name, values, rule="a day relative to infusion")
    inputs.unit_factor(analyte, unit)
    counts = [
        inputs.lab_value(f"{values_name}[{i}]", v, analyte, unit, rule=rule) for i, v in enumerate(vs)
    ]
    bridge = inputs.integer("bridge_days", bridge_days, rule="days of non-stable recovery", minimum=0,
                            missing_ok=True)
    censor = inputs.integer("censor_day", censor_day, rule="a day relative to infusion", missing_ok=True)
    return ds, counts, bridge, censor


def _transfusion_flags(spec: dict[str, Any], days: Sequence[int], transfused_days: Any) -> list[bool] | None:
    """Per platelet count: supported by a platelet transfusion within ``transfusion_free_days``.

    T-ICAHT (Rejeski, Blood Adv 2024, Table 1 footnote): platelet recovery is a count >=
    20 x 10^9/L "in the absence of a PLT transfusion for 7 consecutive days". A count
    on day d is taken as transfusion-supported when a platelet transfusion was given on
    any of the 7 days d-6 .. d (the day of the count included: its timing within the day
    is not recorded); such a count is not recovery and counts as below every threshold.
    """
    if transfused_days is None:
        return None
    free = int(spec["transfusion_free_days"])
    if isinstance(transfused_days, (str, bytes)) or not hasattr(transfused_days, "__iter__"):
        raise inputs.fail("transfused_days", transfused_days, "must be a sequence of days")
    tx = [
        inputs.integer(f"transfused_days[{i}]", t, rule="a day relative to infusion")
        for i, t in enumerate(transfused_days)
    ]
    return [any(d - free + 1 <= t <= d for t in tx) for d in days]


def _cumulative_grade(
    spec: dict[str, Any], days: Sequence[int], values: Sequence[float | None], bridge_days: int | None,
    censor_day: int | None, forced: Sequence[bool] | None = None,
) -> int | None:
    window = _censored_window(spec, censor_day)
    by_day = _daily_worst(days, values, window, forced)
    need = int(spec.get("min_measurements", 1))
    if len(by_day) < need or not by_day:
        return None  # no (or too few) measurements in the window: undetermined, not grade 0
    bridge = spec["bridge_days"] if bridge_days is None else bridge_days
    strict = spec.get("comparison", "le") == "lt"
    grade = 0
    totals: dict[float, tuple[int, int]] = {}
    recovery = float(spec.get("recovery_threshold", math.inf))
    for threshold, min_days, g in spec["rules"]:
        if threshold not in totals:
            # a transfusion-supported count is not recovery from < recovery_threshold, so it
            # is below every threshold at or above that one
            applies = forced is not None and threshold >= recovery
            n_below = sum(
                (f and applies) or (v < threshold if strict else v <= threshold) for v, f in by_day.values()
            )
            total = days_at_or_below(
                days, values, threshold, window=window, bridge_days=bridge, strict=strict,
                below_anyway=forced if applies else None,
            )
            totals[threshold] = (total, n_below)
        total, n_below = totals[threshold]
        if total >= min_days and n_below >= need:
            grade = max(grade, int(g))
    return grade


def icaht_grade(
    days: Sequence[int],
    anc: Sequence[float | None],
    *,
    unit: str,
    bridge_days: int | None = None,
    criteria: str = ICAHT,
    censor_day: int | None = None,
) -> int | None:
    """Early ICAHT grade (0-4) from ANC on days relative to infusion (window 0-30).

    ``unit``: the unit of ``anc`` (10^9/L, 10^3/uL or cells/uL; required -- 300 is
    neutropenia in cells/uL and not in 10^9/L). Missing values (None, NaN) are not
    measurements: the previous value holds until the next one. ``censor_day``: day of
    progression, subsequent therapy, death or next infusion; only the days before it
    count (the window ends the day before). None when no ANC is in the window (before
    censoring): undetermined, as the frame version has no row for it.
    """
    spec = icaht_criteria(criteria)
    ds, vs, bridge, censor = _checked_counts(spec, days, anc, unit, "anc", bridge_days, censor_day)
    return _cumulative_grade(spec, ds, vs, bridge, censor)


def ticaht_grade(
    days: Sequence[int],
    platelets: Sequence[float | None],
    *,
    unit: str,
    bridge_days: int | None = None,
    criteria: str = TICAHT,
    censor_day: int | None = None,
    transfused_days: Sequence[int] | None = None,
) -> int | None:
    """Early T-ICAHT grade (0-4) from platelets, days 0-30, same logic as :func:`icaht_grade`.

    ``transfused_days``: days of platelet transfusions; a count within 7 days of one is
    not recovery (counted as below every threshold; see :func:`_transfusion_flags`).
    """
    spec = ticaht_criteria(criteria)
    ds, vs, bridge, censor = _checked_counts(spec, days, platelets, unit, "platelets", bridge_days, censor_day)
    return _cumulative_grade(spec, ds, vs, bridge, censor, _transfusion_flags(spec, ds, transfused_days))


def late_ticaht_grade(
    days: Sequence[int],
    platelets: Sequence[float | None],
    *,
    unit: str,
    bridge_days: int | None = None,
    criteria: str = LATE_TICAHT,
    censor_day: int | None = None,
    transfused_days: Sequence[int] | None = None,
) -> int | None:
    """Late T-ICAHT grade (0-4) from platelets on days 31-100 (``criteria/late_ticaht_<name>.toml``).

    PLT < 100 -> 1, < 50 -> 2, < 20 for 1-13 days -> 3, >= 14 days -> 4; each grade needs
    two or more measurements below its threshold (non-transient); days counted as in
    early T-ICAHT. None with fewer than two measurements in the window.
    """
    spec = late_ticaht_criteria(criteria)
    ds, vs, bridge, censor = _checked_counts(spec, days, platelets, unit, "platelets", bridge_days, censor_day)
    return _cumulative_grade(spec, ds, vs, bridge, censor, _transfusion_flags(spec, ds, transfused_days))


def late_icaht_grade(
    days: Sequence[int],
    anc: Sequence[float | None],
    *,
    unit: str,
    criteria: str = LATE_ICAHT,
    censor_day: int | None = None,
) -> int | None:
    """Late ICAHT grade (0-4) from ANC after day +30; None with < 2 measurements.

    A grade needs at least ``min_measurements`` (2) days with ANC at or below its
    threshold (non-transient neutropenia); days from ``censor_day`` on are ignored.
    ``unit`` and missing values as in :func:`icaht_grade`.
    """
    spec = late_icaht_criteria(criteria)
    ds, vs, _bridge, censor = _checked_counts(spec, days, anc, unit, "anc", None, censor_day)
    last = math.inf if censor is None else censor - 1  # only days strictly before the censoring event
    by_day = _daily_worst(ds, vs, (int(spec["after_day"]) + 1, last))
    need = int(spec["min_measurements"])
    if len(by_day) < need:
        return None
    strict = spec.get("comparison", "le") == "lt"
    grade = 0
    for threshold, g in spec["rules"]:
        n = sum((v < threshold) if strict else (v <= threshold) for v, _forced in by_day.values())
        if n >= need:
            grade = max(grade, int(g))
    return grade


def _with_censor(values: pl.DataFrame, keys: list[str], censor: pl.DataFrame | None) -> pl.DataFrame:
    import polars as pl

    if censor is None:
        return values.with_columns(censor_day=pl.lit(None, dtype=pl.Int64))
    c = censor.select(*keys, pl.col("censor_day").cast(pl.Int64))
    return values.join(c, on=keys, how="left")


def _supported_expr(
    values: pl.DataFrame, keys: list[str], transfusions: pl.DataFrame | None, free_days: int
) -> pl.DataFrame:
    """Add ``_supported``: a platelet transfusion on one of the ``free_days`` days up to the count's day."""
    import polars as pl

    if transfusions is None:
        return values.with_columns(_supported=pl.lit(False))
    tx = transfusions.select(*keys, pl.col("day").cast(pl.Int64).alias("_tx_day")).drop_nulls().unique()
    values = values.with_columns(pl.col("day").cast(pl.Int64))
    # a few transfusions per episode: pair each count with its episode's transfusions
    supported = (
        values.select(*keys, "day")
        .unique()
        .join(tx, on=keys, how="inner")
        .filter((pl.col("day") - pl.col("_tx_day")).is_between(0, free_days - 1))
        .select(*keys, "day")
        .unique()
        .with_columns(_supported=pl.lit(True))
    )
    return values.join(supported, on=[*keys, "day"], how="left").with_columns(
        pl.col("_supported").fill_null(False)
    )


def _cumulative_frame(
    values: pl.DataFrame,
    keys: Sequence[str],
    spec: dict[str, Any],
    bridge_days: int | None,
    censor: pl.DataFrame | None,
    grade_name: str,
    *,
    transfusions: pl.DataFrame | None = None,
    prefix: str = "",
) -> pl.DataFrame:
    """Vectorised :func:`_cumulative_grade` over a long table (keys, day, value).

    Missing values (null or NaN) are dropped, as the scalar version does: they neither
    end nor start a stretch. A group with fewer than ``min_measurements`` days in the
    window has a null grade (early grades need one day: such a group has no row).
    """
    import polars as pl

    w0, w1 = spec["window"]
    bridge = spec["bridge_days"] if bridge_days is None else bridge_days
    strict = spec.get("comparison", "le") == "lt"
    need = int(spec.get("min_measurements", 1))
    op = "lt" if strict else "le"
    keys = list(keys)
    end = pl.min_horizontal(pl.lit(w1), pl.col("censor_day") - 1)  # censor_day null -> w1
    clean = values.with_columns(pl.col("value").cast(pl.Float64).fill_nan(None)).filter(
        pl.col("value").is_not_null() & pl.col("day").is_between(w0, w1)
    )
    if "transfusion_free_days" in spec:
        clean = _supported_expr(clean, keys, transfusions, int(spec["transfusion_free_days"]))
    else:
        clean = clean.with_columns(_supported=pl.lit(False))
    daily = (
        _with_censor(clean, keys, censor)
        .filter(pl.col("censor_day").is_null() | (pl.col("day") < pl.col("censor_day")))
        .with_columns(_end=end)
        .group_by([*keys, "day"])
        .agg(pl.col("value").min(), pl.col("_supported").any(), pl.col("_end").first())
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
    measurements = f"{prefix}{spec['analyte']}_measurements"
    result = daily.group_by(keys).agg(pl.len().cast(pl.Int64).alias(measurements))
    # the grade is the highest a rule reaches (0 when none): one term per rule, taken together at the end
    # (nesting each rule around the grade so far doubled the expression at every rule)
    reached = [pl.lit(0, dtype=pl.Int64)]
    for threshold in sorted({r[0] for r in spec["rules"]}, reverse=True):
        col = f"{prefix}days_{spec['analyte']}_{op}_{threshold:g}"
        n_col = f"_n_{threshold:g}"
        below = pl.col("value") < threshold if strict else pl.col("value") <= threshold
        if threshold >= float(spec.get("recovery_threshold", math.inf)):
            below = below | pl.col("_supported")  # a transfusion-supported count is not recovery
        runs = (
            daily.with_columns(below=below)
            .with_columns(run=pl.col("below").rle_id().over(keys, order_by="day"))
            .group_by([*keys, "run"])
            .agg(
                pl.col("below").first(),
                pl.col("cover").sum().alias("length"),
                pl.len().alias("n"),
            )
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
            .agg(
                pl.col("length").filter(pl.col("counted")).sum().cast(pl.Int64).alias(col),
                pl.col("n").filter(pl.col("below")).sum().cast(pl.Int64).alias(n_col),
            )
        )
        result = result.join(runs, on=keys, how="left")
        for t, min_days, g in spec["rules"]:
            if t == threshold:
                reached.append(pl.when((pl.col(col) >= min_days) & (pl.col(n_col) >= need)).then(pl.lit(int(g))))
    grade = pl.when(pl.col(measurements) >= need).then(pl.max_horizontal(reached)).otherwise(None)
    out = result.with_columns(grade.cast(pl.Int64).alias(grade_name))
    return out.drop([c for c in out.columns if c.startswith("_n_")]).sort(keys)


def icaht_frame(
    anc: pl.DataFrame,
    keys: Sequence[str] = ("patient_id", "episode"),
    *,
    bridge_days: int | None = None,
    criteria: str = ICAHT,
    censor: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Early ICAHT over a long table (``keys``, ``day``, ``value`` = ANC in 10^9/L).

    Returns ``keys`` + ``anc_measurements`` (days with an ANC in the window) +
    ``days_anc_le_<threshold>`` for each threshold and ``icaht_grade``, for every key
    group that has at least one non-missing value in the window (before its censoring
    day); a group without one has no row (the scalar :func:`icaht_grade` returns None).
    ``censor``: ``keys`` + ``censor_day`` (null = none). Values must be in 10^9/L (what a
    loaded ``Study`` holds).
    """
    return _cumulative_frame(anc, keys, icaht_criteria(criteria), bridge_days, censor, "icaht_grade")


def ticaht_frame(
    platelets: pl.DataFrame,
    keys: Sequence[str] = ("patient_id", "episode"),
    *,
    bridge_days: int | None = None,
    criteria: str = TICAHT,
    censor: pl.DataFrame | None = None,
    transfusions: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Early T-ICAHT like :func:`icaht_frame` (``value`` = platelets, 10^9/L).

    ``transfusions``: ``keys`` + ``day`` of each platelet transfusion (counts within 7
    days of one are not recovery). Returns ``keys`` + ``plt_measurements`` +
    ``days_plt_lt_<threshold>`` and ``ticaht_grade``.
    """
    return _cumulative_frame(
        platelets, keys, ticaht_criteria(criteria), bridge_days, censor, "ticaht_grade",
        transfusions=transfusions,
    )


def late_ticaht_frame(
    platelets: pl.DataFrame,
    keys: Sequence[str] = ("patient_id", "episode"),
    *,
    bridge_days: int | None = None,
    criteria: str = LATE_TICAHT,
    censor: pl.DataFrame | None = None,
    transfusions: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """:func:`late_ticaht_grade` over a long table (``value`` = platelets, 10^9/L).

    Returns ``keys`` + ``late_plt_measurements`` (days with a count in days 31-100
    before censoring), ``late_days_plt_lt_<threshold>`` and ``late_ticaht_grade`` (null
    with fewer than two measurements), for every key group with at least one such count.
    """
    return _cumulative_frame(
        platelets, keys, late_ticaht_criteria(criteria), bridge_days, censor, "late_ticaht_grade",
        transfusions=transfusions, prefix="late_",
    )


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
    # the highest grade a rule reaches (0 when none), one term per rule (not nested: see _cumulative_frame)
    grade = pl.max_horizontal(pl.lit(0, dtype=pl.Int64),
                              *(pl.when(pl.col(f"_n{i}") >= need).then(pl.lit(int(g)))
                                for i, (_threshold, g) in enumerate(spec["rules"])))
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


HEMATOTOX_ANALYTES = {
    "platelets": "platelets",
    "anc": "anc",
    "hemoglobin": "hemoglobin",
    "crp": "crp",
    "ferritin": "ferritin",
}


def car_hematotox(
    platelets: float | None,
    anc: float | None,
    hemoglobin: float | None,
    crp: float | None,
    ferritin: float | None,
    *,
    units: dict[str, str],
    criteria: str = HEMATOTOX,
) -> int | None:
    """CAR-HEMATOTOX score (0-7; high risk at >= 2), None when any item is missing.

    ``units``: the unit of each value, e.g. ``{"platelets": "10^9/L", "anc": "10^9/L",
    "hemoglobin": "g/dL", "crp": "mg/dL", "ferritin": "ng/mL"}`` (the paper's units;
    g/L, mmol/L, mg/L, cells/uL ... are converted as at load). Required: a haemoglobin
    of 95 is anaemia in g/L and not in g/dL.
    """
    spec = hematotox_criteria(criteria)
    values = {"platelets": platelets, "anc": anc, "hemoglobin": hemoglobin, "crp": crp, "ferritin": ferritin}
    given = inputs.units_for("units", units, {k: spec["items"][k]["unit"] for k in values})
    converted = {
        item: inputs.lab_value(
            item, value, HEMATOTOX_ANALYTES[item], given[item], target=spec["items"][item]["unit"],
            rule=spec["source"], unit_name=f"units[{item!r}]",
        )
        for item, value in values.items()
    }
    if any(v is None for v in converted.values()):
        return None
    return sum(_band_points(spec["items"][item]["bands"], v) for item, v in converted.items())


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


EASIX_UNITS = {"ldh": "U/L", "creatinine": "mg/dL", "platelets": "10^9/L"}


def easix(ldh: float, creatinine: float, platelets: float, *, units: dict[str, str]) -> float:
    """EASIX = LDH (U/L) x creatinine (mg/dL) / platelets (10^9/L); usually analysed as log2.

    ``units``: the unit of each value, e.g. ``{"ldh": "U/L", "creatinine": "mg/dL",
    "platelets": "10^9/L"}`` (umol/L creatinine, cells/uL platelets ... are converted).
    Every input is required (None or NaN raises: a score of missing labs is not a
    number), LDH and creatinine must be >= 0 and platelets > 0.
    """
    given = inputs.units_for("units", units, EASIX_UNITS)
    rule = "EASIX, Luft T et al. Lancet Haematol 2017"
    args = {"ldh": ldh, "creatinine": creatinine, "platelets": platelets}
    v = {
        k: inputs.lab_value(
            k, args[k], k, given[k], target=EASIX_UNITS[k], rule=rule, unit_name=f"units[{k!r}]",
            missing_ok=False, above=0.0 if k == "platelets" else None,
        )
        for k in EASIX_UNITS
    }
    return v["ldh"] * v["creatinine"] / v["platelets"]


def easix_expr(ldh: pl.Expr, creatinine_mg_dl: pl.Expr, platelets: pl.Expr) -> pl.Expr:
    """EASIX over whole columns (null when platelets <= 0, any input is null or NaN, or LDH or
    creatinine is negative -- the scalar :func:`easix` raises on these)."""
    import polars as pl

    ok = (platelets > 0) & (ldh >= 0) & (creatinine_mg_dl >= 0)
    ok = ok & ~(ldh.is_nan() | creatinine_mg_dl.is_nan() | platelets.is_nan())
    return pl.when(ok).then(ldh * creatinine_mg_dl / platelets).otherwise(None)
