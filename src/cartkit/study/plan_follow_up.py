"""``[plan.follow_up]``: when a patient whose last news is before the data cut-off counts as lost to follow-up.

    [plan.follow_up]
    lost_grace_days = 0     # last news within this many days before the cut-off: "alive at cut-off"

The default 0 is cartkit's strict rule (docs/report-contents.md "Status at the end of follow-up"): a patient
without a death whose last news is a day before the cut-off is lost to follow-up. A study followed on a
visit schedule says how far before the cut-off a last visit may lie and still count as follow-up to the
cut-off: the protocol's visit interval plus its window. There is no single standard. The CIBMTR collects
cellular-therapy follow-up at day 100, 6 months and then yearly (Forms 4100/2100), the one-year contact
window running to day 425 (CIBMTR Forms Instruction Manual, Form 4100 Q2, contact-date table, 2023),
so a patient on yearly visits may rightly not have been seen for a year; a trial with visits every 3 months
would set about 90 + its window. Counting losses hides how much follow-up time was lost (Clark TG, Altman
DG, De Stavola BL. Quantification of the completeness of follow-up. Lancet 2002;359:1309-10); the listing
keeps the days before the cut-off of every surviving patient last seen before it.

The grace period changes only the status label of the follow-up tables: survival is censored at the last
news of the patient whatever the label (docs/survival.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FollowUpPlan:
    lost_grace_days: int = 0


def read_follow_up(plan: Any, problems: list) -> FollowUpPlan:
    """Parse ``[plan.follow_up]`` from the ``[plan]`` reader; each wrong key is a located Problem."""
    from cartkit.study.plan import STUDY_TOML, _Reader
    from cartkit.study.problems import Problem

    reader = _Reader(plan.table("follow_up"), "plan.follow_up", problems)
    grace = reader.get("lost_grace_days", "int", FollowUpPlan.lost_grace_days)
    reader.finish()
    if grace < 0:
        problems.append(Problem(STUDY_TOML, None, "plan.follow_up.lost_grace_days", grace,
                                "days before the data cut-off: >= 0"))
        grace = FollowUpPlan.lost_grace_days
    return FollowUpPlan(lost_grace_days=int(grace))
