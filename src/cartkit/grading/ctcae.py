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
    >>> ctcae_grade("anemia", 6.2, "mmol/L", lln=7.5)   # on the printed cut-point "<6.2 - 4.9"
    1
    >>> ctcae_grade("neutrophil count decreased", "<0.1", "10^9/L")   # every value below 0.1 is grade 4
    4
    >>> ctcae_grade("neutrophil count decreased", "<0.6", "10^9/L") is None   # grade 3 or 4
    True

A qualified result written as text (``"<0.1"``, ``"<=0.5"``, ``">x"``, ``"BLQ"``) is graded at both ends of its
interval, as the derive stage grades a qualified measurement (cartkit.grading.censored; docs/criteria.md,
"Qualified results in grading"): the grade both ends agree on, else None.

Units: a value is graded in the unit a criterion is printed in when the criteria file
prints cut-points for that unit (CTCAE anaemia prints g/dL, mmol/L and g/L, and 6.2
mmol/L is 99.88 g/L, not 100: converting first would grade 6.2 mmol/L as 2). Other
units are converted to the canonical unit with the loader's tables. A missing unit,
or one not accepted for the analyte, raises ValueError.

``version`` defaults to the analysis plan's default (``cartkit.study.model.Plan.ctcae_version``,
v5.0), so a direct call grades as a new study's plan would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cartkit.grading import inputs
from cartkit.grading.censored import interval_of
from cartkit.grading.criteria_data import available, load_criteria
from cartkit.study.model import Plan
from cartkit.study.vocabulary import UNIT_CONVERSIONS, canonical_unit_expr

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
    # unit -> (grade, threshold) of the numeric cut-points as CTCAE prints them in
    # that unit, where the conversion of the canonical ones is not exact
    printed: tuple[tuple[str, tuple[tuple[int, float], ...]], ...] = ()

    @property
    def numeric(self) -> tuple[tuple[int, float], ...]:
        return tuple((g, float(t)) for g, t in self.below if t != LLN)

    def numeric_in(self, unit: str) -> tuple[tuple[int, float], ...] | None:
        """The printed cut-points in ``unit`` (canonical spelling), or None if not printed."""
        for u, cuts in self.printed:
            if u == unit:
                return cuts
        return None

    @property
    def lln_grade(self) -> int | None:
        for g, t in self.below:
            if t == LLN:
                return g
        return None


def ctcae_versions() -> tuple[str, ...]:
    return available("ctcae")


def ctcae_term(term: str, version: str = Plan.ctcae_version) -> CtcaeTerm:
    """Look up a term (case-insensitive, aliases accepted) in one CTCAE version."""
    data = load_criteria("ctcae", str(version))
    if not isinstance(term, str):
        raise inputs.fail("term", term, f"a CTCAE term is text; known terms: {sorted(data['terms'])}")
    key = term.strip().lower()
    for name, spec in data["terms"].items():
        if key == name or key in spec.get("aliases", ()):
            below = tuple(sorted((int(g), t) for g, t in spec["below"].items()))
            printed = tuple(
                (unit, tuple(sorted((int(g), float(t)) for g, t in cuts.items())))
                for unit, cuts in spec.get("printed", {}).items()
            )
            return CtcaeTerm(str(version), name, spec["analyte"], below, printed)
    known = sorted(data["terms"])
    raise ValueError(f"term {term!r} is not graded in CTCAE v{version} by cartkit; known terms: {known}")


def to_canonical(analyte: str, value: float, unit: str) -> float:
    """Convert ``value`` in ``unit`` to the analyte's canonical unit (ValueError if not accepted)."""
    return inputs.to_canonical(analyte, value, unit)


def ctcae_grade(
    term: str, value: float | None, unit: str, version: str = Plan.ctcae_version, lln: float | None = None
) -> int | None:
    """CTCAE grade (0-4) of one laboratory value, or None when it cannot be determined.

    ``unit`` applies to both ``value`` and ``lln``; SI and conventional units are
    accepted (10^9/L, 10^3/uL, cells/uL; g/L, g/dL, mmol/L). None is returned for a
    missing value (None, NaN) or when the grade depends on an LLN that was not given.
    A qualified result written as text (``"<0.1"``, ``"<=0.5"``, ``">2.0"``, ``"BLQ"``) is graded at both
    ends of its interval (cartkit.grading.censored.interval_of, the ends the derive stage grades a qualified
    measurement at): the grade both ends agree on, else None (``"<0.6"`` is grade 3 or 4).
    An unknown term, a missing or unknown unit, a value that is not a number (other text
    such as "7" included) or a negative value raises ValueError.
    """
    ends = interval_of(value)
    if ends is not None:
        low, high = (ctcae_grade(term, end, unit, version, lln) for end in ends)
        return low if low == high else None
    spec = ctcae_term(term, version)
    rule = f"CTCAE v{version} {spec.name}"
    spelled, _factor, _offset = inputs.unit_factor(spec.analyte, unit)
    v = inputs.number("value", value, rule=rule, minimum=0.0, missing_ok=True)
    lln_v = inputs.number("lln", lln, rule="lower limit of normal, same unit as value", minimum=0.0,
                          missing_ok=True)
    if v is None:
        return None
    printed = spec.numeric_in(spelled)
    if printed is not None:  # grade in the unit the criterion is printed in
        cuts, x, lln_x = printed, v, lln_v
    else:
        cuts = spec.numeric
        x = to_canonical(spec.analyte, v, unit)
        lln_x = None if lln_v is None else to_canonical(spec.analyte, lln_v, unit)
    for grade, threshold in reversed(cuts):
        if x < threshold:
            return grade
    lln_grade = spec.lln_grade
    if lln_grade is None:
        return 0
    if lln_x is None:
        return None
    return lln_grade if x < lln_x else 0


def ctcae_grade_expr(
    term: str,
    value: pl.Expr,
    version: str = Plan.ctcae_version,
    lln: pl.Expr | None = None,
    unit_original: pl.Expr | None = None,
) -> pl.Expr:
    """The same rule as :func:`ctcae_grade` as a Polars expression (Int64, null when undetermined).

    ``value`` and ``lln`` must already be in the analyte's canonical unit (what a
    loaded ``Study`` holds). ``unit_original``: the unit the value was recorded in
    (``measurements.unit_original``); where the criterion prints cut-points in that
    unit, the value is compared with the printed cut-point converted by the same
    factor the loader applied to the value (so 6.2 mmol/L stays on the "<6.2" cut-point).
    """
    import polars as pl

    spec = ctcae_term(term, version)
    if unit_original is not None and spec.printed:
        unit_canon = canonical_unit_expr(unit_original)
        conversions = UNIT_CONVERSIONS[spec.analyte]
        branch = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.Int64))
        for printed_unit, cuts in spec.printed:
            factor, offset = conversions[printed_unit]
            converted = tuple((g, t * factor + offset) for g, t in cuts)
            branch = branch.when(unit_canon == printed_unit).then(
                _graded_expr(spec, value, lln, converted)
            )
        return branch.otherwise(_graded_expr(spec, value, lln, spec.numeric)).cast(pl.Int64)
    return _graded_expr(spec, value, lln, spec.numeric)


def _graded_expr(
    spec: CtcaeTerm, value: pl.Expr, lln: pl.Expr | None, cuts: tuple[tuple[int, float], ...]
) -> pl.Expr:
    import polars as pl

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
    for grade, threshold in reversed(cuts):
        expr = expr.when(value < threshold).then(pl.lit(grade, dtype=pl.Int64))
    return expr.otherwise(otherwise).cast(pl.Int64)
