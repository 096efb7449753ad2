"""CAR-T cellular kinetics and cytokine profiles.

* ``nca`` / ``nca_table``: non-compartmental analysis of one profile / of a
  long table of profiles (PKNCA conventions, docs/criteria.md).
* ``fit_stein`` / ``fit_stein_table``: per-patient fit of the Stein 2019
  cellular-kinetic model (``model.stein_curve``; docs/criteria.md, "Cellular-kinetic model (Stein 2019)").
"""

from __future__ import annotations

from cartkit.kinetics.model import SteinParameters, stein_curve
from cartkit.kinetics.nca import NCAResult, nca, nca_table
from cartkit.kinetics.stein_fit import SteinFit, fit_stein, fit_stein_table

__all__ = [
    "NCAResult", "nca", "nca_table", "SteinFit", "fit_stein", "fit_stein_table", "SteinParameters",
    "stein_curve",
]
