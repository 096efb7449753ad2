"""Cytokine release syndrome (CRS) grade from fever, hypotension and hypoxia.

Systems (one criteria file each, ``criteria/crs_<system>.toml``, sources there):

* ``"astct2019"`` -- ASTCT consensus (Lee 2019). Needs fever, hypotension and hypoxia
  categories; ``treated=True`` when the patient with CRS has had antipyretics or
  anti-cytokine therapy (fever is then no longer required).
* ``"ctcae4.03"`` -- CTCAE v4.03 "Cytokine release syndrome" (what the seed used),
  mapped from the same inputs: vasopressor(s) or positive pressure -> 4, fluids or
  low-flow O2 -> 2, high-flow O2 -> 3, fever alone -> 1. Grade 3 by a "prolonged"
  course or renal sequelae cannot be seen in vitals (see the criteria file).
* ``"lee2014"`` -- Lee 2014; one vasopressor needs ``high_dose_vasopressor`` and
  high-flow oxygen needs ``fio2_pct``, else the grade is undetermined (None).

    >>> crs_grade(True, "none", "low_flow")
    2
    >>> crs_grade(False, "vasopressor", "none", treated=True)   # fever masked by tocilizumab
    3
    >>> crs_grade(True, "vasopressor", "none", system="ctcae4.03")
    4
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cartkit.grading import inputs
from cartkit.grading.censored import interval_of
from cartkit.grading.criteria_data import available, load_criteria

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

HYPOTENSION = ("none", "fluids", "vasopressor", "vasopressors")
HYPOXIA = ("none", "low_flow", "high_flow", "positive_pressure")


def crs_systems() -> tuple[str, ...]:
    return available("crs")


def crs_criteria(system: str) -> dict[str, Any]:
    return load_criteria("crs", system)


def _hypotension_range(spec: dict[str, Any], category: str, high_dose: bool | None) -> tuple[int, int]:
    entry = spec["hypotension"][category]
    if entry == "dose":
        low, high = spec["hypotension_dose"]["low"], spec["hypotension_dose"]["high"]
        if high_dose is None:
            return low, high
        return (high, high) if high_dose else (low, low)
    return int(entry), int(entry)


def _hypoxia_range(spec: dict[str, Any], category: str, fio2_pct: float | None) -> tuple[int, int]:
    entry = spec["hypoxia"][category]
    if entry in ("fio2", "fio2_or_low"):
        rule = spec["hypoxia_fio2"]
        if fio2_pct is None:
            if entry == "fio2_or_low":
                return rule["below"], rule["below"]
            return rule["below"], rule["at_or_above"]
        g = rule["at_or_above"] if fio2_pct >= rule["threshold_pct"] else rule["below"]
        return g, g
    return int(entry), int(entry)


def _grade_given_fever(
    spec: dict[str, Any], fever: bool, hypotension: str, hypoxia: str, treated: bool,
    high_dose: bool | None, fio2_pct: float | None,
) -> int | None:
    effective_fever = fever or (treated and spec["treatment_waives_fever"])
    if spec["fever_required"] and not effective_fever:
        return 0
    lo1, hi1 = _hypotension_range(spec, hypotension, high_dose)
    lo2, hi2 = _hypoxia_range(spec, hypoxia, fio2_pct)
    base = int(spec["fever_grade"]) if fever else int(spec["masked_fever_grade"])
    lo, hi = max(base, lo1, lo2), max(base, hi1, hi2)
    return lo if lo == hi else None


def crs_grade(
    fever: bool | None,
    hypotension: str,
    hypoxia: str,
    system: str = "astct2019",
    *,
    treated: bool = False,
    high_dose_vasopressor: bool | None = None,
    fio2_pct: float | None = None,
) -> int | None:
    """CRS grade (0-4) of one day.

    fever: temperature >= 38.0 C not attributable to another cause; None = not known
    (no temperature recorded): the grade is then the one both answers give, else
    undetermined (None) -- e.g. ASTCT with neither hypotension nor hypoxia is 0 afebrile
    and 1 febrile, so None; with hypotension needing a vasopressor it is 3 either way
    once treated, 0 or 3 untreated (None).
    hypotension: "none", "fluids", "vasopressor" (one, with or without vasopressin),
    "vasopressors" (several, excluding vasopressin).
    hypoxia: "none", "low_flow" (<= 6 L/min or blow-by), "high_flow" (> 6 L/min,
    facemask, non-rebreather, Venturi), "positive_pressure" (CPAP, BiPAP, ventilation).
    treated: antipyretics, tocilizumab or steroids already given for CRS (fever no
    longer required: hypotension and hypoxia then drive the grade, so an afebrile
    treated day without either is 0). Lee 2014 has no fever requirement at all.
    fio2_pct: FiO2 in percent (21-100), lee2014 only. Returns None only when an input
    that was not given (fever, lee2014 vasopressor dose, FiO2) would change the grade.
    Inputs outside these vocabularies and ranges raise ValueError naming them.
    """
    spec = crs_criteria(system)
    rule = spec["source"]
    fever_v = inputs.flag("fever", fever, rule="temperature >= 38.0 C; None when not known", missing_ok=True)
    inputs.choice("hypotension", hypotension, HYPOTENSION, rule=rule)
    inputs.choice("hypoxia", hypoxia, HYPOXIA, rule=rule)
    treated_v = inputs.flag("treated", treated, rule="antipyretic or anti-cytokine therapy given for CRS")
    high_dose = inputs.flag(
        "high_dose_vasopressor", high_dose_vasopressor, rule="Lee 2014 Table 2; None when not known",
        missing_ok=True,
    )
    fio2 = inputs.number("fio2_pct", fio2_pct, rule="FiO2 in percent", minimum=21.0, maximum=100.0,
                         missing_ok=True)
    args = (hypotension, hypoxia, bool(treated_v), high_dose, fio2)
    if fever_v is not None:
        return _grade_given_fever(spec, fever_v, *args)
    with_fever = _grade_given_fever(spec, True, *args)
    without = _grade_given_fever(spec, False, *args)
    return with_fever if with_fever == without else None


def fever_from_temperature(temperature: Any, fever_c: float = 38.0) -> bool | None:
    """Whether a temperature in degrees C is a fever (>= ``fever_c``, ASTCT 2019: 38.0 C): None when not known.

    A qualified result written as text (``">39.5"``, ``"<37"``: cartkit.study.qualified) is a fever when every
    value of its interval is (``>=38``, ``>39``), none when no value is (``<38``, ``<=37.9``), and
    undetermined (None) otherwise (``<39``, ``>37.9``: 37.95 is no fever, 38.5 is one): the interval ends of cartkit.grading.censored.interval_of,
    as :func:`fever_expr` reads a day's temperatures.

        >>> fever_from_temperature(38.0), fever_from_temperature("<38"), fever_from_temperature(">40")
        (True, False, True)
        >>> fever_from_temperature("<39") is None
        True
    """
    interval = interval_of(temperature)
    if interval is None:
        t = inputs.number("temperature", temperature, rule="degrees C", minimum=0.0, missing_ok=True)
        if t is None:
            return None
        interval = (t, t)
    return True if interval[0] >= fever_c else (False if interval[1] < fever_c else None)


def fever_expr(low: pl.Expr, high: pl.Expr, fever_c: float = 38.0) -> pl.Expr:
    """:func:`fever_from_temperature` over columns: ``low`` / ``high`` the lowest and highest value the day's
    highest temperature can be (equal without a qualified result; null without a temperature)."""
    import polars as pl

    return pl.when(low >= fever_c).then(True).when(high < fever_c).then(False).otherwise(None)


def _category_range_expr(
    spec: dict[str, Any], domain: str, category: pl.Expr, modifier: pl.Expr | None
) -> tuple[pl.Expr, pl.Expr]:
    """Lowest and highest grade a category can mean, as expressions (equal when determined)."""
    import polars as pl

    lo = pl.when(pl.lit(False)).then(pl.lit(0, dtype=pl.Int64))
    hi = pl.when(pl.lit(False)).then(pl.lit(0, dtype=pl.Int64))
    for name, entry in spec[domain].items():
        is_cat = category == name
        if entry == "dose":
            low, high = spec["hypotension_dose"]["low"], spec["hypotension_dose"]["high"]
            if modifier is None:
                lo_e, hi_e = pl.lit(low), pl.lit(high)
            else:
                chosen = pl.when(modifier).then(high).otherwise(low)
                lo_e = pl.when(modifier.is_null()).then(low).otherwise(chosen)
                hi_e = pl.when(modifier.is_null()).then(high).otherwise(chosen)
        elif entry in ("fio2", "fio2_or_low"):
            rule = spec["hypoxia_fio2"]
            unknown_hi = rule["below"] if entry == "fio2_or_low" else rule["at_or_above"]
            if modifier is None:
                lo_e, hi_e = pl.lit(rule["below"]), pl.lit(unknown_hi)
            else:
                chosen = (
                    pl.when(modifier >= rule["threshold_pct"])
                    .then(rule["at_or_above"])
                    .otherwise(rule["below"])
                )
                lo_e = pl.when(modifier.is_null()).then(rule["below"]).otherwise(chosen)
                hi_e = pl.when(modifier.is_null()).then(unknown_hi).otherwise(chosen)
        else:
            lo_e = hi_e = pl.lit(int(entry))
        lo = lo.when(is_cat).then(lo_e.cast(pl.Int64))
        hi = hi.when(is_cat).then(hi_e.cast(pl.Int64))
    return lo.otherwise(None), hi.otherwise(None)


def crs_grade_expr(
    fever: pl.Expr,
    hypotension: pl.Expr,
    hypoxia: pl.Expr,
    system: str = "astct2019",
    *,
    treated: pl.Expr | None = None,
    high_dose_vasopressor: pl.Expr | None = None,
    fio2_pct: pl.Expr | None = None,
) -> pl.Expr:
    """:func:`crs_grade` as a Polars expression over whole columns (Int64; null = undetermined).

    ``hypotension``/``hypoxia`` are string columns in the same vocabularies; a value
    outside them gives null (the derive stage builds them, so it never happens there).
    """
    ranges = crs_category_ranges(hypotension, hypoxia, system, high_dose_vasopressor=high_dose_vasopressor,
                                 fio2_pct=fio2_pct)
    return crs_grade_from_ranges(fever, *ranges, system, treated=treated)


def crs_category_ranges(
    hypotension: pl.Expr, hypoxia: pl.Expr, system: str = "astct2019", *,
    high_dose_vasopressor: pl.Expr | None = None, fio2_pct: pl.Expr | None = None,
) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """The lowest and highest grade the hypotension and the hypoxia category can mean (hypotension low,
    high, hypoxia low, high; equal when determined, null outside the vocabularies): the first step of
    :func:`crs_grade_expr`, which :func:`crs_grade_from_ranges` completes. The derive stage keeps them
    as columns and grades a day with and without fever from those (one small query, not the whole
    expression twice)."""
    spec = crs_criteria(system)
    return (*_category_range_expr(spec, "hypotension", hypotension, high_dose_vasopressor),
            *_category_range_expr(spec, "hypoxia", hypoxia, fio2_pct))


def crs_grade_from_ranges(
    fever: pl.Expr, lo1: pl.Expr, hi1: pl.Expr, lo2: pl.Expr, hi2: pl.Expr, system: str = "astct2019", *,
    treated: pl.Expr | None = None,
) -> pl.Expr:
    """:func:`crs_grade_expr` from the category ranges of :func:`crs_category_ranges`."""
    import polars as pl

    spec = crs_criteria(system)
    treated = pl.lit(False) if treated is None else treated.fill_null(False)
    unknown = lo1.is_null() | lo2.is_null()  # a category outside the vocabularies

    def given(fever_value: bool) -> pl.Expr:
        base = pl.lit(int(spec["fever_grade"] if fever_value else spec["masked_fever_grade"]), dtype=pl.Int64)
        lo = pl.max_horizontal(base, lo1, lo2)
        hi = pl.max_horizontal(base, hi1, hi2)
        graded = pl.when(lo == hi).then(lo).otherwise(None).cast(pl.Int64)
        if spec["fever_required"]:
            effective = pl.lit(fever_value)
            if spec["treatment_waives_fever"]:
                effective = effective | treated
            graded = pl.when(~effective).then(pl.lit(0, dtype=pl.Int64)).otherwise(graded)
        return graded.cast(pl.Int64)

    out = crs_grade_by_fever(fever, given(True), given(False))
    return pl.when(unknown).then(None).otherwise(out).cast(pl.Int64)


def crs_grade_by_fever(fever: pl.Expr, febrile: pl.Expr, afebrile: pl.Expr) -> pl.Expr:
    """The grade of a day from the grades it has with and without fever (:func:`crs_grade_expr`): a
    null ``fever`` is not known, and gives the grade both answers agree on, else undetermined (null).

    The derive stage grades the two answers once, as columns, and combines them here (a smaller query
    than grading the day's fever again)."""
    import polars as pl

    either = pl.when(febrile == afebrile).then(febrile).otherwise(None)
    return pl.when(fever.is_null()).then(either).when(fever).then(febrile).otherwise(afebrile)
