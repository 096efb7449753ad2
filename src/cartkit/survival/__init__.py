"""Survival analysis agreeing with R's ``survival`` package: Kaplan-Meier, log-rank, Cox, event times.

    >>> from cartkit.survival import kaplan_meier
    >>> kaplan_meier([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 1]).median   # S = 0.5 on [3, 5): midpoint, as R
    4.0

SciPy and Polars are imported inside the functions that need them; the Cox model is cartkit's own
(``cartkit.survival.cox``, checked against R's ``coxph``).
"""

from __future__ import annotations

from cartkit.survival.cox import CoxModel, cox
from cartkit.survival.cumulative_incidence import CumulativeIncidence, cumulative_incidence
from cartkit.survival.events import FollowUp, median_followup, time_to_event
from cartkit.survival.hazard_ratio import FewEventsWarning, HazardRatio, hazard_ratio
from cartkit.survival.kaplan_meier import KaplanMeier, kaplan_meier, median_survival
from cartkit.survival.landmark import landmark
from cartkit.survival.logrank import LogRank, logrank
from cartkit.survival.time_dependent import SimonMakuch, simon_makuch, split_at, time_dependent_cox

__all__ = [
    "CoxModel",
    "CumulativeIncidence",
    "FewEventsWarning",
    "FollowUp",
    "HazardRatio",
    "KaplanMeier",
    "LogRank",
    "SimonMakuch",
    "cox",
    "cumulative_incidence",
    "hazard_ratio",
    "kaplan_meier",
    "landmark",
    "logrank",
    "median_followup",
    "median_survival",
    "simon_makuch",
    "split_at",
    "time_dependent_cox",
    "time_to_event",
]
