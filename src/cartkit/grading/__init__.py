"""Toxicity grading: CRS, ICANS, CTCAE haematological grades, ICAHT, CAR-HEMATOTOX, EASIX.

Each rule set is a versioned TOML file in ``cartkit/grading/criteria/`` citing its
source; the scalar functions here and the vectorised Polars expressions
(``*_expr``, used by ``cartkit.derive``) read the same file. Every scalar grader
checks its arguments (``cartkit.grading.inputs``) and raises ValueError naming the
argument, the value and the rule; laboratory values are passed with their unit.
The criteria, their sources and the readings chosen are in docs/criteria.md.

    >>> from cartkit.grading import crs_grade, icans_grade, ctcae_grade
    >>> crs_grade(True, "fluids", "none")
    2
"""

from __future__ import annotations

from cartkit.grading.crs import HYPOTENSION, HYPOXIA, crs_grade, crs_grade_expr, crs_systems
from cartkit.grading.ctcae import ctcae_grade, ctcae_grade_expr, ctcae_term, ctcae_versions
from cartkit.grading.hematotox import (
    car_hematotox,
    car_hematotox_expr,
    days_at_or_below,
    easix,
    easix_expr,
    icaht_frame,
    icaht_grade,
    late_icaht_frame,
    late_icaht_grade,
    late_ticaht_frame,
    late_ticaht_grade,
    ticaht_frame,
    ticaht_grade,
)
from cartkit.grading.icans import icans_grade, icans_grade_expr, icans_systems
from cartkit.grading.vasopressor import high_dose_vasopressor, high_dose_vasopressor_frame

__all__ = [
    "HYPOTENSION",
    "HYPOXIA",
    "car_hematotox",
    "car_hematotox_expr",
    "crs_grade",
    "crs_grade_expr",
    "crs_systems",
    "ctcae_grade",
    "ctcae_grade_expr",
    "ctcae_term",
    "ctcae_versions",
    "days_at_or_below",
    "easix",
    "easix_expr",
    "high_dose_vasopressor",
    "high_dose_vasopressor_frame",
    "icaht_frame",
    "icaht_grade",
    "icans_grade",
    "icans_grade_expr",
    "icans_systems",
    "late_icaht_frame",
    "late_icaht_grade",
    "late_ticaht_frame",
    "late_ticaht_grade",
    "ticaht_frame",
    "ticaht_grade",
]
