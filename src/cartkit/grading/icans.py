"""Immune effector cell-associated neurotoxicity syndrome (ICANS) grade, ASTCT 2019.

Criteria: ``criteria/icans_<system>.toml`` (domains, ICE bands, source). The grade is
the most severe domain; an unarousable patient is grade 4 whatever the ICE score;
``ice_score=None`` means the ICE could not be assessed and the other domains decide.

    >>> icans_grade(0, "unarousable")
    4
    >>> icans_grade(0, "normal")          # awake, global aphasia
    3
    >>> icans_grade(8, "normal")
    1
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cartkit.grading.criteria_data import available, load_criteria

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

DOMAINS = ("consciousness", "seizure", "motor", "raised_icp")


def icans_systems() -> tuple[str, ...]:
    return available("icans")


def icans_criteria(system: str) -> dict[str, Any]:
    return load_criteria("icans", system)


def _ice_grade(spec: dict[str, Any], ice_score: int) -> int:
    for lo, hi, grade in spec["ice_bands"]:
        if lo <= ice_score <= hi:
            return int(grade)
    raise ValueError(f"ice_score {ice_score!r} is outside 0-10 (ICE, ASTCT 2019)")


def icans_grade(
    ice_score: int | None,
    consciousness: str,
    seizure: str = "none",
    motor: str = "none",
    raised_icp: str = "none",
    system: str = "astct2019",
) -> int:
    """ICANS grade (0-4) of one assessment (adults and children >= 12 y: ICE score)."""
    spec = icans_criteria(system)
    grades = [0 if ice_score is None else _ice_grade(spec, int(ice_score))]
    for domain, value in zip(DOMAINS, (consciousness, seizure, motor, raised_icp), strict=True):
        table = spec[domain]
        if value not in table:
            raise ValueError(f"{domain} {value!r} is not one of {tuple(table)}")
        grades.append(int(table[value]))
    return max(grades)


def icans_grade_expr(
    ice_score: pl.Expr,
    consciousness: pl.Expr,
    seizure: pl.Expr,
    motor: pl.Expr,
    raised_icp: pl.Expr,
    system: str = "astct2019",
) -> pl.Expr:
    """:func:`icans_grade` over whole columns (Int64).

    A null in a domain column means "not recorded" and contributes nothing, like
    ``ice_score=None``; a row with every domain null gives null.
    """
    import polars as pl

    spec = icans_criteria(system)
    ice = pl.when(pl.lit(False)).then(pl.lit(0, dtype=pl.Int64))
    for lo, hi, grade in spec["ice_bands"]:
        ice = ice.when((ice_score >= lo) & (ice_score <= hi)).then(pl.lit(int(grade), dtype=pl.Int64))
    parts = [ice.otherwise(None)]
    for domain, column in zip(DOMAINS, (consciousness, seizure, motor, raised_icp), strict=True):
        mapping = {k: int(v) for k, v in spec[domain].items()}
        parts.append(column.replace_strict(mapping, default=None, return_dtype=pl.Int64))
    return pl.max_horizontal(*parts)
