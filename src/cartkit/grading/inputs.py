"""Checking what a caller passes to a scalar grader (one rule set for every grader).

Every public scalar grader in ``cartkit.grading`` checks its arguments here and raises
``ValueError`` naming the argument, the value and the rule broken -- never a
``TypeError``/``AttributeError`` from deep inside, never a silent truncation or a
silent 0. The rules:

* numbers are real numbers (``bool`` and text such as ``"7"`` are rejected: a grader
  does not guess what a string meant); NaN and None are "missing", accepted only where
  the grader defines what missing means;
* integer inputs (ICE and CAPD scores, study days) must be whole numbers: ``5.0`` is
  5, ``5.5`` is rejected (it is not silently truncated to 5);
* flags are ``True``/``False`` (None only where "unknown" has a meaning);
* laboratory values carry their unit: converted with the same tables the loader
  uses for measurement files (``cartkit.study.vocabulary.canonical_unit`` and
  ``UNIT_CONVERSIONS``, applied to whole columns by ``cartkit.study.units``); a unit
  not accepted for the analyte, or no unit, is rejected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from cartkit.study.vocabulary import ANALYTES, UNIT_CONVERSIONS, canonical_unit


def _shown(value: Any) -> str:
    return repr(value)


def fail(name: str, value: Any, rule: str) -> ValueError:
    """The one error shape: ``<name>=<value>: <rule>``."""
    return ValueError(f"{name}={_shown(value)}: {rule}")


def is_missing(value: Any) -> bool:
    """None or a float NaN (numpy floats included)."""
    if value is None:
        return True
    try:
        return isinstance(value, numbers.Real) and math.isnan(float(value))
    except (TypeError, ValueError):  # pragma: no cover - exotic number types
        return False


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"


def number(
    name: str,
    value: Any,
    *,
    rule: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    missing_ok: bool = False,
) -> float | None:
    """``value`` as a float, or None when missing and ``missing_ok``.

    ``minimum``/``maximum`` are inclusive bounds, ``above`` an exclusive lower bound.
    """
    suffix = f" ({rule})" if rule else ""
    if is_missing(value):
        if missing_ok:
            return None
        raise fail(name, value, f"a number is required, not a missing value{suffix}")
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise fail(name, value, f"must be a number, not {type(value).__name__}{suffix}")
    v = float(value)
    if math.isinf(v):
        raise fail(name, value, f"must be a finite number{suffix}")
    if minimum is not None and v < minimum:
        raise fail(name, value, f"must be >= {minimum:g}{suffix}")
    if maximum is not None and v > maximum:
        raise fail(name, value, f"must be <= {maximum:g}{suffix}")
    if above is not None and v <= above:
        raise fail(name, value, f"must be > {above:g}{suffix}")
    return v


def integer(
    name: str,
    value: Any,
    *,
    rule: str = "",
    minimum: int | None = None,
    maximum: int | None = None,
    missing_ok: bool = False,
) -> int | None:
    """``value`` as an int (a whole-number float such as 5.0 is accepted), or None when missing."""
    v = number(name, value, rule=rule, minimum=minimum, maximum=maximum, missing_ok=missing_ok)
    if v is None:
        return None
    if not v.is_integer():
        suffix = f" ({rule})" if rule else ""
        raise fail(name, value, f"must be a whole number; it is not truncated{suffix}")
    return int(v)


def flag(name: str, value: Any, *, rule: str = "", missing_ok: bool = False) -> bool | None:
    """``value`` as a bool (True/False, numpy bools); None only when ``missing_ok``."""
    suffix = f" ({rule})" if rule else ""
    if value is None and missing_ok:
        return None
    if not _is_bool(value):
        allowed = "True, False or None" if missing_ok else "True or False"
        raise fail(name, value, f"must be {allowed}{suffix}")
    return bool(value)


def choice(name: str, value: Any, allowed: Sequence[str], *, rule: str = "") -> str:
    """``value`` when it is one of ``allowed`` (exact spelling)."""
    if not isinstance(value, str) or value not in allowed:
        suffix = f" ({rule})" if rule else ""
        raise fail(name, value, f"must be one of {tuple(allowed)}{suffix}")
    return value


def unit_factor(analyte: str, unit: Any, *, name: str = "unit") -> tuple[str, float, float]:
    """(canonical spelling, factor, offset) converting ``unit`` to the analyte's canonical unit.

    The loader's rule (``cartkit.study.units``): the spelling is made canonical, then it
    must be one of the units accepted for the analyte. No unit is rejected: a count of
    300 means 0.3 x 10^9/L in cells/uL and 300 x 10^9/L in 10^9/L.
    """
    conversions = UNIT_CONVERSIONS[analyte]
    canonical = ANALYTES[analyte].unit
    accepted = ", ".join(conversions)
    if unit is None:
        raise fail(
            name, unit, f"a unit is required for {analyte} (canonical {canonical}; accepted: {accepted})"
        )
    if not isinstance(unit, str):
        raise fail(name, unit, f"a unit is text, e.g. {canonical!r} (accepted for {analyte}: {accepted})")
    spelled = canonical_unit(unit)
    if spelled is None or spelled not in conversions:
        raise fail(name, unit, f"unit not accepted for {analyte}; accepted: {accepted}")
    factor, offset = conversions[spelled]
    return spelled, factor, offset


def to_canonical(analyte: str, value: float, unit: Any, *, name: str = "unit") -> float:
    """``value`` in ``unit`` converted to the analyte's canonical unit (ValueError for a bad unit)."""
    _spelled, factor, offset = unit_factor(analyte, unit, name=name)
    return value * factor + offset


def in_unit(analyte: str, value: float, unit: Any, target: str, *, name: str = "unit") -> float:
    """``value`` in ``unit`` expressed in ``target`` (another accepted unit of the analyte).

    A value already in ``target`` is returned as given (no round trip through the
    canonical unit, so a value on a cut-point stays exactly on it).
    """
    spelled, _f, _o = unit_factor(analyte, unit, name=name)
    if spelled == target:
        return value
    canonical = to_canonical(analyte, value, unit, name=name)
    factor, offset = UNIT_CONVERSIONS[analyte][target]
    return (canonical - offset) / factor


def lab_value(
    name: str,
    value: Any,
    analyte: str,
    unit: Any,
    *,
    target: str | None = None,
    rule: str = "",
    unit_name: str = "unit",
    missing_ok: bool = True,
    above: float | None = None,
) -> float | None:
    """A laboratory value checked (a number >= 0), converted to ``target`` (default canonical)."""
    unit_factor(analyte, unit, name=unit_name)  # a bad unit is rejected even when the value is missing
    v = number(name, value, rule=rule, minimum=0.0, missing_ok=missing_ok)
    if v is None:
        return None
    out = in_unit(analyte, v, unit, target or ANALYTES[analyte].unit, name=unit_name)
    if above is not None and out <= above:
        suffix = f" ({rule})" if rule else ""
        raise fail(name, value, f"must be > {above:g} {target or ANALYTES[analyte].unit}{suffix}")
    return out


def units_for(name: str, units: Any, example: Mapping[str, str]) -> dict[str, str]:
    """Check a ``units`` mapping gives a unit for every item of ``example`` (item -> a unit)."""
    items = list(example)
    if not isinstance(units, Mapping):
        raise fail(name, units, f"give the unit of every value as a mapping, e.g. {dict(example)}")
    missing = [i for i in items if units.get(i) is None]
    if missing:
        raise fail(name, dict(units), f"no unit given for {', '.join(missing)}")
    return {i: units[i] for i in items}


def series(
    days_name: str,
    days: Any,
    values_name: str,
    values: Any,
    *,
    rule: str = "",
) -> tuple[list[int], list[Any]]:
    """Parallel day and value sequences: same length, whole-number days (values checked by the caller)."""
    for n, s in ((days_name, days), (values_name, values)):
        if isinstance(s, (str, bytes)) or not hasattr(s, "__len__") or not hasattr(s, "__iter__"):
            raise fail(n, s, "must be a sequence (list, tuple, array)")
    if len(days) != len(values):
        raise ValueError(
            f"{days_name} ({len(days)}) and {values_name} ({len(values)}) differ in length "
            f"(one value per day)"
        )
    out_days = [integer(f"{days_name}[{i}]", d, rule=rule or "a study day") for i, d in enumerate(days)]
    return out_days, list(values)
