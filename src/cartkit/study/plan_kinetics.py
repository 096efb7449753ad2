"""``[plan.kinetics]``: how the NCA (Cmax, Tmax, AUC0-28, half-life) takes results below the limit of quantification.

    [plan.kinetics]
    below_limit = "zero"    # "zero" (default), "half_limit" or "missing"

* ``zero``: a below-limit sample before Tmax counts as 0, one after Tmax is missing: cartkit's NCA as it
  always was (``cartkit.kinetics.nca``: PKNCA's convention of a BLQ before the first quantifiable sample as 0,
  Denney W et al., J Pharmacokinet Pharmacodyn 2015;42:S65). Before the expansion a CAR transgene below
  the qPCR's limit is essentially absent; after the peak, a 0 would pull the AUC and the terminal phase down.
* ``half_limit``: every below-limit sample is half its limit (``lloq`` of the row, or ``[plan.lloq]``),
  Beal's M5 (Beal SL. Ways to fit a PK model with some data below the quantification limit. J Pharmacokinet
  Pharmacodyn 2001;28:481-504); a sample whose limit is unknown is missing.
* ``missing``: every below-limit sample is left out (Beal's M1).

Results above the upper limit (``>x``) are left out of the NCA and counted in its note. The default keeps
the NCA as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BELOW_LIMIT = ("zero", "half_limit", "missing")


@dataclass(frozen=True)
class KineticsPlan:
    below_limit: str = "zero"


def read_kinetics(plan: Any, problems: list) -> KineticsPlan:
    """Parse ``[plan.kinetics]`` from the ``[plan]`` reader; each wrong key is a located Problem."""
    from cartkit.study.plan import _Reader

    reader = _Reader(plan.table("kinetics"), "plan.kinetics", problems)
    rule = reader.get("below_limit", "str", KineticsPlan.below_limit, choices=BELOW_LIMIT)
    reader.finish()
    return KineticsPlan(below_limit=rule)
