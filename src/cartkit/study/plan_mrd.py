"""``[plan.mrd_landmark]``: progression-free survival by MRD status at a landmark (docs/survival.md).

A landmark analysis (Anderson JR, Cain KC, Gelber RD. J Clin Oncol 1983;1:710-719): MRD status is
fixed at the landmark day from the MRD tests done by then, patients with a PFS event or censored
before the landmark are left out, and PFS is counted from the landmark. Without the landmark, patients
who live longer have more chances to be tested MRD-negative (guarantee-time or immortal-time bias).

    [plan.mrd_landmark]
    day = 180                     # the landmark: days after the endpoint's infusion
    endpoint = "PFS"              # the [[plan.endpoint]] (or [plan.survival]'s PFS) analysed
    not_evaluable = "positive"    # no MRD test by the landmark: pooled with MRD-positive, or "exclude"

MRD negativity is each disease's own rule from its criteria file: IMWG 2016 (no clonal plasma cells at
a sensitivity of 10^-5 or better; Kumar S et al., Lancet Oncol 2016;17:e328), iwCLL 2018 (below 10^-4)
and B-ALL (below 0.01%). Absent = no landmark analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NOT_EVALUABLE = ("positive", "exclude")


@dataclass(frozen=True)
class MrdLandmarkPlan:
    day: int = 180
    endpoint: str = "PFS"
    not_evaluable: str = "positive"


def read_mrd_landmark(plan: Any, problems: list) -> MrdLandmarkPlan | None:
    """Parse ``[plan.mrd_landmark]`` from the ``[plan]`` reader; each wrong key is a located Problem."""
    from cartkit.study.plan import STUDY_TOML, _Reader
    from cartkit.study.problems import Problem

    if "mrd_landmark" not in plan.data:
        plan.used.add("mrd_landmark")
        return None
    reader = _Reader(plan.table("mrd_landmark"), "plan.mrd_landmark", problems)
    day = reader.get("day", "int", MrdLandmarkPlan.day)
    endpoint = reader.get("endpoint", "str", MrdLandmarkPlan.endpoint)
    not_evaluable = reader.get("not_evaluable", "str", MrdLandmarkPlan.not_evaluable, choices=NOT_EVALUABLE)
    reader.finish()
    if day < 1:
        problems.append(Problem(STUDY_TOML, None, "plan.mrd_landmark.day", day,
                                "the landmark is a day after the infusion: >= 1"))
        day = MrdLandmarkPlan.day
    return MrdLandmarkPlan(day=int(day), endpoint=endpoint, not_evaluable=not_evaluable)
