"""CTCAE grades of haematological laboratory values (v4.03, v5.0, v6.0).

Criteria: ``criteria/ctcae_<version>.toml`` (thresholds and sources there). A value
gets grade g when it is below the grade-g threshold; the highest such g wins. Grade 1
starts at the lab's lower limit of normal (LLN) for most terms: when the LLN is not
given, a value at or above the grade-2 threshold cannot be graded and the result is
None (as pharmaverse admiral does), never 0.

    >>> ctcae_grade("neutrophil count decreased", 0.4, "10^9/L")
    4
    >>> ctcae_grade("Platelet count decreased", 80, "10^3/uL") is None   # needs the LLN
    True
    >>> ctcae_grade("anemia", 9.5, "g/dL", lln=12.0)
    2
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cartkit.grading.criteria_data import available, load_criteria
from cartkit.study.vocabulary import UNIT_CONVERSIONS, canonical_unit

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

LLN = "LLN"


@dataclass(frozen=True)
class CtcaeTerm:
    """One term of one CTCAE version: canonical name, analyte and grade thresholds."""

    version: str
    name: str
    analyte: str
    # (grade, threshold) sorted by grade; threshold is a float in the analyte's
    # canonical unit or "LLN".
    below: tuple[tuple[int, float | str], ...]

    @property
    def numeric(self) -> tuple[tuple[int, float], ...]:
        return tuple((g, float(t)) for g, t in self.below if t != LLN)

    @property
    def lln_grade(self) -> int | None:
        for g, t in self.below:
            if t == LLN:
                return g
        return None


def ctcae_versions() -> tuple[str, ...]:
    return available("ctcae")


def ctcae_term(term: str, version: str = "4.03") -> CtcaeTerm:
    """Look up a term (case-insensitive, aliases accepted) in one CTCAE version."""
    data = load_criteria("ctcae", str(version))
    key = term.strip().lower()
    for name, spec in data["terms"].items():
        if key == name or key in spec.get("aliases", ()):
            below = tuple(sorted((int(g), t) for g, t in spec["below"].items()))
            return CtcaeTerm(str(version), name, spec["analyte"], below)
    known = sorted(data["terms"])
    raise ValueError(f"term {term!r} is not graded in CTCAE v{version} by cartkit; known terms: {known}")


def to_canonical(analyte: str, value: float, unit: str) -> float:
    """Convert ``value`` in ``unit`` to the analyte's canonical unit (ValueError if not accepted)."""
    spelled = canonical_unit(unit)
    conversions = UNIT_CONVERSIONS[analyte]
    if spelled is None or spelled not in conversions:
        raise ValueError(f"unit {unit!r} is not accepted for {analyte}; accepted: {sorted(conversions)}")
    factor, offset = conversions[spelled]
    return value * factor + offset


def ctcae_grade(
    term: str, value: float | None, unit: str, version: str = "4.03", lln: float | None = None
) -> int | None:
    """CTCAE grade (0-4) of one laboratory value, or None when it cannot be determined.

    ``unit`` applies to both ``value`` and ``lln``; SI and conventional units are
    accepted (10^9/L, 10^3/uL, cells/uL; g/L, g/dL). None is returned for a missing
    value or when the grade depends on an LLN that was not given. An unknown term
    or unit raises ValueError.
    """
    spec = ctcae_term(term, version)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        to_canonical(spec.analyte, 0.0, unit)  # still reject a bad unit
        return None
    v = to_canonical(spec.analyte, float(value), unit)
    lln_c = None if lln is None else to_canonical(spec.analyte, float(lln), unit)
    for grade, threshold in reversed(spec.numeric):
        if v < threshold:
            return grade
    lln_grade = spec.lln_grade
    if lln_grade is None:
        return 0
    if lln_c is None:
        return None
    return lln_grade if v < lln_c else 0


def ctcae_grade_expr(term: str, value: pl.Expr, version: str = "4.03", lln: pl.Expr | None = None) -> pl.Expr:
    """The same rule as :func:`ctcae_grade` as a Polars expression (Int64, null when undetermined).

    ``value`` and ``lln`` must already be in the analyte's canonical unit (what a
    loaded ``Study`` holds).
    """
    import polars as pl

    spec = ctcae_term(term, version)
    lln_grade = spec.lln_grade
    if lln_grade is None:
        otherwise = pl.lit(0, dtype=pl.Int64)
    elif lln is None:
        otherwise = pl.lit(None, dtype=pl.Int64)
    else:
        otherwise = (
            pl.when(lln.is_null()).then(None).when(value < lln).then(lln_grade).otherwise(0).cast(pl.Int64)
        )
    expr = pl.when(value.is_null() | value.is_nan()).then(pl.lit(None, dtype=pl.Int64))
    for grade, threshold in reversed(spec.numeric):
        expr = expr.when(value < threshold).then(pl.lit(grade, dtype=pl.Int64))
    return expr.otherwise(otherwise).cast(pl.Int64)
