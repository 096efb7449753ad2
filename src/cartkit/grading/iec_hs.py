"""IEC-HS: immune effector cell-associated HLH-like syndrome (ASTCT 2023; ``criteria/iec_hs_astct2023.toml``).

Hines MR et al., Transplant Cell Ther 2023;29:438.e1-438.e16; docs/criteria.md, "IEC-HS: ASTCT 2023".

* :func:`iec_hs_features` -- which of the common laboratory manifestations (Table 2) one set of
  values shows: ferritin above 2 x max(ULN, baseline), ALT or AST above 5 x max(ULN, baseline),
  fibrinogen below max(1.5 g/L, LLN), a cytopenia (cartkit's reading: a CTCAE v5.0 grade 3 count);
* :func:`iec_hs_present` -- the ferritin criterion and ``min_other_features`` of the others;
* :func:`iec_hs_grade` -- the grade (Table 3) from what was needed: none 1, IEC-HS-directed therapy 2,
  blood products 3, life-threatening support 4, death 5;
* :func:`iec_hs_frame` -- the same rules over a study's measurements, support and events: one row
  per episode with ferritin in the window (grade, onset_day and the features seen at onset).

    >>> f = iec_hs_features(ferritin=2100, ferritin_uln=300, ferritin_baseline=1000, fibrinogen=1.2,
    ...                     units={"fibrinogen": "g/L"})
    >>> f["ferritin"], f["fibrinogen"], f["transaminases"]
    (True, True, None)
    >>> iec_hs_present(f)
    True
    >>> iec_hs_grade(True, directed_therapy=True)
    2
    >>> iec_hs_features(ferritin=2000, ferritin_baseline=1000, units={})["ferritin"]  # not above 2x
    False
    >>> iec_hs_features(ferritin=">10000", ferritin_baseline=1000, units={})["ferritin"]  # above 2x whatever it is
    True
    >>> iec_hs_features(ferritin="<5000", ferritin_baseline=1000, units={})["ferritin"] is None  # 1999 or 2001?
    True

Qualified results (``<x``, ``<=x``, ``>x``, ``>=x``, ``BLQ``: cartkit.study.qualified; docs/criteria.md,
"Qualified results in grading") decide a feature when every value of their interval does: ferritin ``>10000``
is above 2 x a baseline of 1000, ``<1500`` is not above 2 x 1000, ``<5000`` is undetermined (None, as a value
without a reference); a qualified baseline is an interval of the reference too. The scalar takes them as text
(cartkit.grading.censored.interval_of), the frame from the measurement rows' qualifier and limits
(cartkit.grading.censored.at_end), at the same ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cartkit.grading import inputs
from cartkit.grading.censored import interval_of
from cartkit.grading.criteria_data import load_criteria

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

ASTCT2023 = "astct2023"
FEATURES = ("ferritin", "transaminases", "fibrinogen", "cytopenia")
_OTHER = FEATURES[1:]
_ABSOLUTE = ("fibrinogen", "anc", "platelets", "hemoglobin")  # analytes compared with fixed thresholds


def iec_hs_criteria(name: str = ASTCT2023) -> dict[str, Any]:
    return load_criteria("iec_hs", name)


Ends = tuple[float, float]  # the lowest and highest value a result can be (equal for a plain number)


def _reference(uln: float | None, baseline: Ends | None) -> Ends | None:
    """max(ULN, baseline) at both ends of the baseline: the baseline when it is above the ULN (Table 2),
    either when one is given."""
    if baseline is None:
        return None if uln is None else (uln, uln)
    return (baseline[0], baseline[1]) if uln is None else (max(uln, baseline[0]), max(uln, baseline[1]))


def _above(value: Ends | None, fold: float, reference: Ends | None) -> bool | None:
    """value > fold x reference for every value and reference their intervals allow (True), for none (False),
    else None; None without a value or a reference."""
    if value is None or reference is None:
        return None
    if value[0] > fold * reference[1]:
        return True
    if value[1] <= fold * reference[0]:
        return False
    return None


def _below(value: Ends | None, limit: float) -> bool | None:
    """value < limit for every value the interval allows (True), for none (False), else None."""
    if value is None:
        return None
    if value[1] < limit:
        return True
    if value[0] >= limit:
        return False
    return None


def _ends(name: str, value: Any, convert) -> Ends | None:
    """The interval of one input: a qualified text result's two ends (interval_of) or a number twice, each
    checked and converted by ``convert``; None when missing."""
    interval = interval_of(value)
    if interval is not None:
        return convert(interval[0]), convert(interval[1])
    v = convert(value)
    return None if v is None else (v, v)


def iec_hs_features(
    *,
    ferritin: Any = None,
    ferritin_uln: Any = None,
    ferritin_baseline: Any = None,
    alt: Any = None,
    alt_uln: Any = None,
    alt_baseline: Any = None,
    ast: Any = None,
    ast_uln: Any = None,
    ast_baseline: Any = None,
    fibrinogen: Any = None,
    fibrinogen_lln: Any = None,
    anc: Any = None,
    platelets: Any = None,
    hemoglobin: Any = None,
    units: Mapping[str, str] | None = None,
    name: str = ASTCT2023,
) -> dict[str, bool | None]:
    """feature -> True (shown), False (measured, not shown) or None (not measured / no reference).

    Ferritin, ALT and AST are compared with multiples of their ULN or baseline, in the value's own
    unit (give the three in one unit); fibrinogen and the counts with fixed thresholds, so their
    ``units`` are required (e.g. ``{"fibrinogen": "mg/dL", "anc": "10^9/L"}``).
    """
    spec = iec_hs_criteria(name)
    units = dict(units or {})

    def relative(k: str):
        return lambda x: inputs.number(k, x, minimum=0.0, missing_ok=True)

    v = {k: _ends(k, val, relative(k)) for k, val in (
        ("ferritin", ferritin), ("ferritin_baseline", ferritin_baseline), ("alt", alt), ("alt_baseline", alt_baseline),
        ("ast", ast), ("ast_baseline", ast_baseline))}
    uln = {k: inputs.number(k, val, minimum=0.0, missing_ok=True) for k, val in (
        ("ferritin_uln", ferritin_uln), ("alt_uln", alt_uln), ("ast_uln", ast_uln))}
    absolute = {}
    for analyte, value in zip(_ABSOLUTE, (fibrinogen, anc, platelets, hemoglobin), strict=True):
        unit = units.get(analyte)
        absolute[analyte] = (_ends(analyte, value, lambda x, a=analyte, u=unit: inputs.lab_value(
            a, x, a, u, unit_name=f"units[{a!r}]")) if not inputs.is_missing(value) else None)
    lln = (inputs.lab_value("fibrinogen_lln", fibrinogen_lln, "fibrinogen", units.get("fibrinogen"),
                            unit_name="units['fibrinogen']") if not inputs.is_missing(fibrinogen_lln) else None)
    ferritin_met = _above(v["ferritin"], spec["ferritin_fold"],
                          _reference(uln["ferritin_uln"], v["ferritin_baseline"]))
    fold = spec["transaminase_fold"]
    alt_met = _above(v["alt"], fold, _reference(uln["alt_uln"], v["alt_baseline"]))
    ast_met = _above(v["ast"], fold, _reference(uln["ast_uln"], v["ast_baseline"]))
    # either aminotransferase; False once one was measured against a reference and neither is above
    transaminases = True if True in (alt_met, ast_met) else (False if False in (alt_met, ast_met) else None)
    fibrinogen_met = _below(absolute["fibrinogen"], max(spec["fibrinogen_below"], lln or 0.0))
    counts = [_below(absolute[a], limit) for a, limit in spec["cytopenia_below"].items() if absolute[a] is not None]
    # as the frame: an undetermined count is like one not measured
    cytopenia = True if True in counts else (False if False in counts else None)
    return {"ferritin": ferritin_met, "transaminases": transaminases, "fibrinogen": fibrinogen_met,
            "cytopenia": cytopenia}


def iec_hs_present(features: Mapping[str, bool | None], name: str = ASTCT2023) -> bool | None:
    """Whether the features make IEC-HS: the ferritin criterion and ``min_other_features`` others.

    None when the records cannot decide (ferritin unknown, or too few of the others known)."""
    need = iec_hs_criteria(name)["min_other_features"]
    for key in FEATURES:
        inputs.flag(f"features[{key!r}]", features.get(key), missing_ok=True)
    if features.get("ferritin") is False:
        return False
    shown = sum(features.get(k) is True for k in _OTHER)
    unknown = sum(features.get(k) is None for k in _OTHER)
    if features.get("ferritin") is None:
        return None if shown + unknown >= need else False
    if shown >= need:
        return True
    return None if shown + unknown >= need else False


def iec_hs_grade(present: Any, *, directed_therapy: Any = False, blood_products: Any = False,
                 life_threatening: Any = False, fatal: Any = False) -> int | None:
    """Grade 0-5 (Table 3) from presence and what was needed after onset; None when presence is unknown."""
    present = inputs.flag("present", present, missing_ok=True)
    needed = [inputs.flag(n, x) for n, x in (("directed_therapy", directed_therapy), ("blood_products", blood_products),
                                            ("life_threatening", life_threatening), ("fatal", fatal))]
    if present is None:
        return None
    if not present:
        return 0
    return max([1] + [g for g, x in zip((2, 3, 4, 5), needed, strict=True) if x])


# ---------------------------------------------------------------------------------------------- frame


def _daily_features(measurements: pl.DataFrame, spec: dict[str, Any]) -> pl.DataFrame:
    """patient_id, episode, day, feature, met (null: no reference) for each measurement in the window."""
    import polars as pl

    from cartkit.grading.censored import at_end, has_qualified

    keys = ["patient_id", "episode"]
    analytes = ["ferritin", "alt", "ast", "fibrinogen", *spec["cytopenia_below"]]
    qualified = pl.col("qualifier").is_not_null() if "qualifier" in measurements.columns else pl.lit(False)
    m = measurements.filter(pl.col("analyte").is_in(analytes) & (pl.col("value").is_not_null() | qualified)
                            & pl.col("day").is_not_null())
    # each result's interval [_lo, _hi] (a plain value: value, value; a qualified one: censored.at_end's ends)
    if has_qualified(m):
        severe, mild = at_end(m, "severe")["value"], at_end(m, "mild")["value"]
        m = m.with_columns(_lo=pl.min_horizontal(severe, mild), _hi=pl.max_horizontal(severe, mild))
    else:  # the common case: no interval to compute
        m = m.with_columns(_lo=pl.col("value"), _hi=pl.col("value"))
    baseline = (
        m.filter(pl.col("day").is_between(spec["baseline_from"], 0)).sort([*keys, "analyte", "day"])
        .group_by([*keys, "analyte"]).agg(pl.col("_lo").last().alias("_b_lo"), pl.col("_hi").last().alias("_b_hi"))
    )
    lo, hi = spec["window"]
    w = m.filter(pl.col("day").is_between(lo, hi)).join(baseline, on=[*keys, "analyte"], how="left")
    # max(ULN, baseline) at both ends of the baseline; nulls ignored, null when both are
    ref_lo, ref_hi = pl.max_horizontal("uln", "_b_lo"), pl.max_horizontal("uln", "_b_hi")
    limits = spec["cytopenia_below"]

    def above(fold: float) -> pl.Expr:  # True for every value of both intervals, False for none, else null
        return (pl.when(pl.col("_lo") > fold * ref_hi).then(True)
                .when(pl.col("_hi") <= fold * ref_lo).then(False).otherwise(None))

    def below(limit: pl.Expr) -> pl.Expr:
        return pl.when(pl.col("_hi") < limit).then(True).when(pl.col("_lo") >= limit).then(False).otherwise(None)

    met = (
        pl.when(pl.col("analyte") == "ferritin").then(above(spec["ferritin_fold"]))
        .when(pl.col("analyte").is_in(["alt", "ast"])).then(above(spec["transaminase_fold"]))
        .when(pl.col("analyte") == "fibrinogen")
        .then(below(pl.max_horizontal(pl.lit(spec["fibrinogen_below"]), pl.col("lln"))))
        .otherwise(below(pl.col("analyte").replace_strict(limits, default=None, return_dtype=pl.Float64)))
    )
    feature = (pl.when(pl.col("analyte").is_in(["alt", "ast"])).then(pl.lit("transaminases"))
               .when(pl.col("analyte").is_in(list(limits))).then(pl.lit("cytopenia"))
               .otherwise(pl.col("analyte")))
    return w.select(*keys, "day", feature.alias("feature"), met.alias("met"))


def iec_hs_frame(measurements: pl.DataFrame, support: pl.DataFrame, deaths: pl.DataFrame,
                 name: str = ASTCT2023) -> pl.DataFrame:
    """IEC-HS per episode: patient_id, episode, grade (null: undetermined), onset_day, features
    (those shown at onset, "; "-joined), ferritin_ratio (peak ferritin / its reference).

    ``measurements``: patient_id, episode, day, analyte, value, uln, lln (canonical units);
    ``support``: patient_id, episode, day, kind, agent, o2_device; ``deaths``: patient_id, episode,
    day, detail (deaths counted from the episode's infusion). One row per episode with a ferritin
    value in the window; the rules are :func:`iec_hs_features`, :func:`iec_hs_present` and
    :func:`iec_hs_grade` (tests/test_grading_iec_hs.py checks they agree).
    """
    import polars as pl

    spec = iec_hs_criteria(name)
    keys = ["patient_id", "episode"]
    daily = _daily_features(measurements, spec)
    ferritin = daily.filter(pl.col("feature") == "ferritin").rename({"day": "fday", "met": "ferritin"})
    others = daily.filter(pl.col("feature") != "ferritin")
    k = spec["concurrent_days"]
    near = (
        ferritin.select(*keys, "fday").unique().join(others, on=keys, how="inner")
        .filter((pl.col("day") - pl.col("fday")).abs() <= k)
        .group_by([*keys, "fday", "feature"])
        .agg(pl.when(pl.col("met").any()).then(True).when(pl.col("met").is_not_null().any()).then(False)
             .otherwise(None).alias("met"))
    )
    wide = near.pivot(on="feature", index=[*keys, "fday"], values="met") if near.height else near.select(*keys, "fday")
    per_day = (ferritin.group_by([*keys, "fday"]).agg(pl.col("ferritin").any().alias("ferritin"),
                                                       pl.col("ferritin").is_null().all().alias("_no_ref"))
               .with_columns(pl.when(~pl.col("_no_ref")).then(pl.col("ferritin")).alias("ferritin"))
               .join(wide, on=[*keys, "fday"], how="left"))
    for feature in _OTHER:
        if feature not in per_day.columns:
            per_day = per_day.with_columns(pl.lit(None, dtype=pl.Boolean).alias(feature))
    need = spec["min_other_features"]
    shown = pl.sum_horizontal([pl.col(f).fill_null(False).cast(pl.Int32) for f in _OTHER])
    unknown = pl.sum_horizontal([pl.col(f).is_null().cast(pl.Int32) for f in _OTHER])
    present = (pl.when(pl.col("ferritin") == False).then(False)  # noqa: E712 - a Polars comparison
               .when(pl.col("ferritin").is_null()).then(pl.when(shown + unknown >= need).then(None).otherwise(False))
               .when(shown >= need).then(True)
               .when(shown + unknown >= need).then(None).otherwise(False))
    per_day = per_day.with_columns(present.alias("present"))
    labels = pl.concat_str([pl.when(pl.col(f)).then(pl.lit(f)) for f in FEATURES], separator="; ",
                           ignore_nulls=True)
    episodes = per_day.sort("fday").group_by(keys, maintain_order=True).agg(
        pl.col("fday").filter(pl.col("present")).first().alias("onset_day"),
        labels.filter(pl.col("present")).first().alias("features"),
        pl.col("present").any().alias("_any"),
        pl.col("present").is_null().any().alias("_unknown"),
    ).with_columns(pl.when(pl.col("_any")).then(True).when(pl.col("_unknown")).then(None).otherwise(False)
                   .alias("present"))
    g = spec["grades"]
    s = support.join(episodes.select(*keys, "onset_day"), on=keys, how="inner").filter(
        (pl.col("day") >= pl.col("onset_day")) & (pl.col("day") <= spec["window"][1]))
    agent = pl.col("agent").str.to_lowercase().str.strip_chars()
    flags = s.group_by(keys).agg(
        (pl.col("kind").is_in(g["directed_kinds"]) | agent.is_in(g["directed_agents"]).fill_null(False))
        .any().alias("directed_therapy"),
        pl.col("kind").is_in(g["blood_product_kinds"]).any().alias("blood_products"),
        (pl.col("kind").is_in(g["life_threatening_kinds"])
         | pl.col("o2_device").is_in(g["life_threatening_o2_devices"]).fill_null(False)).any()
        .alias("life_threatening"),
    )
    fatal = deaths.join(episodes.select(*keys, "onset_day"), on=keys, how="inner").filter(
        (pl.col("day") >= pl.col("onset_day")) & (pl.col("day") <= spec["window"][1])
        & pl.col("detail").str.contains(g["fatal_detail_pattern"]).fill_null(False)
    ).select(*keys).unique().with_columns(pl.lit(True).alias("fatal"))
    out = episodes.join(flags, on=keys, how="left").join(fatal, on=keys, how="left").with_columns(
        pl.col("directed_therapy", "blood_products", "life_threatening", "fatal").fill_null(False))
    grade = (pl.when(pl.col("present").is_null()).then(None).when(~pl.col("present")).then(0)
             .when(pl.col("fatal")).then(5).when(pl.col("life_threatening")).then(4)
             .when(pl.col("blood_products")).then(3).when(pl.col("directed_therapy")).then(2).otherwise(1))
    return out.select(*keys, grade.cast(pl.Int64).alias("grade"), pl.col("onset_day").cast(pl.Int64),
                      "features").sort(keys)
