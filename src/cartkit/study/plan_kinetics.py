"""``[plan.kinetics]``: how the NCA (Cmax, Tmax, AUC0-28, half-life) takes results below the limit of quantification.

    [plan.kinetics]
    below_limit = "zero"    # "zero" (default), "half_limit" or "missing"

* ``zero``: a below-limit sample before Tmax counts as 0, one after Tmax is missing: the usual NCA
  convention (Phoenix WinNonlin's default; PKNCA's ``conc.blq`` first = 0, Denney W et al., J Pharmacokinet
  Pharmacodyn 2015;42:S65), close to Beal's M7 (Beal SL. Ways to fit a PK model with some data below the
  quantification limit. J Pharmacokinet Pharmacodyn 2001;28:481-504). Before the expansion a CAR transgene
  below the qPCR's limit is essentially absent; after the peak, 0 would cut the AUC and the terminal phase.
* ``half_limit``: every below-limit sample is half its limit (``lloq`` of the row, or ``[plan.lloq]``),
  Beal's M5; a sample whose limit is unknown is missing.
* ``missing``: every below-limit sample is left out (Beal's M1).

The FDA's bioanalytical and bioequivalence guidance asks the plan to state the rule (FDA, Bioanalytical
Method Validation, 2018; EMA, Guideline on the investigation of bioequivalence, 2010, 4.1.5: concentrations
below the LLOQ before Cmax set to zero is the accepted NCA handling). Results above the upper limit
(``>x``) are left out of the NCA and counted in its note. The default keeps the NCA as it was.
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
