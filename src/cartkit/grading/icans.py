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
    >>> icans_grade(None, "awakens_to_voice", capd_score=5)   # child < 12 y
    2
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cartkit.grading import inputs
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


def _capd_grade(spec: dict[str, Any], capd_score: int) -> int:
    for lo, hi, grade in spec["capd_bands"]:
        if lo <= capd_score <= hi:
            return int(grade)
    raise ValueError(f"capd_score {capd_score!r} is outside 0-32 (CAPD, ASTCT 2019 children < 12 y)")


def icans_grade(
    ice_score: int | None,
    consciousness: str,
    seizure: str = "none",
    motor: str = "none",
    raised_icp: str = "none",
    system: str = "astct2019",
    *,
    capd_score: int | None = None,
) -> int:
    """ICANS grade (0-4) of one assessment.

    Scores are whole numbers (5.5 and the text "7" raise ValueError; 5.0 is 5).
    Adults and children >= 12 y: ``ice_score``. Children < 12 y: ``capd_score``
    (CAPD 0-32) instead, with ``ice_score=None``: CAPD 1-8 -> 1 (2 when the child
    awakens only to voice, via ``consciousness``), >= 9 -> 3; an unarousable child
    (unable to perform the CAPD) is 4 through ``consciousness``. Giving both scores
    raises ValueError.
    """
    spec = icans_criteria(system)
    ice_score = inputs.integer(
        "ice_score", ice_score, rule="ICE score 0-10, ASTCT 2019; None when not assessable",
        minimum=0, maximum=10, missing_ok=True,
    )
    capd_score = inputs.integer(
        "capd_score", capd_score, rule="CAPD 0-32, ASTCT 2019 children < 12 y; None when not assessed",
        minimum=0, maximum=32, missing_ok=True,
    )
    if ice_score is not None and capd_score is not None:
        raise ValueError(
            f"give ice_score (age >= 12) or capd_score (age < 12), not both "
            f"(got ice_score={ice_score!r}, capd_score={capd_score!r}; ASTCT 2019)"
        )
    grades = [0 if ice_score is None else _ice_grade(spec, int(ice_score))]
    if capd_score is not None:
        grades.append(_capd_grade(spec, int(capd_score)))
    for domain, value in zip(DOMAINS, (consciousness, seizure, motor, raised_icp), strict=True):
        table = spec[domain]
        inputs.choice(domain, value, tuple(table), rule=f"ICANS {domain} domain, {spec['source']}")
        grades.append(int(table[value]))
    return max(grades)


def icans_grade_expr(
    ice_score: pl.Expr,
    consciousness: pl.Expr,
    seizure: pl.Expr,
    motor: pl.Expr,
    raised_icp: pl.Expr,
    system: str = "astct2019",
    *,
    capd_score: pl.Expr | None = None,
) -> pl.Expr:
    """:func:`icans_grade` over whole columns (Int64).

    A null in a domain column means "not recorded" and contributes nothing, like
    ``ice_score=None``; a row with every domain null gives null. ``capd_score``
    (children < 12 y) is one more domain; the caller nulls the score that does not
    apply to the patient's age (as ``cartkit.derive.toxicity.icans_daily`` does).
    A score outside its range gives null for that domain.
    """
    import polars as pl

    spec = icans_criteria(system)
    ice = pl.when(pl.lit(False)).then(pl.lit(0, dtype=pl.Int64))
    for lo, hi, grade in spec["ice_bands"]:
        ice = ice.when((ice_score >= lo) & (ice_score <= hi)).then(pl.lit(int(grade), dtype=pl.Int64))
    parts = [ice.otherwise(None)]
    if capd_score is not None:
        capd = pl.when(pl.lit(False)).then(pl.lit(0, dtype=pl.Int64))
        for lo, hi, grade in spec["capd_bands"]:
            capd = capd.when((capd_score >= lo) & (capd_score <= hi)).then(pl.lit(int(grade), dtype=pl.Int64))
        parts.append(capd.otherwise(None))
    for domain, column in zip(DOMAINS, (consciousness, seizure, motor, raised_icp), strict=True):
        mapping = {k: int(v) for k, v in spec[domain].items()}
        parts.append(column.replace_strict(mapping, default=None, return_dtype=pl.Int64))
    return pl.max_horizontal(*parts)
