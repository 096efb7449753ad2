"""Cellular-kinetic model of CAR-T expansion and contraction.

Stein AM, Grupp SA, Levine JE, et al. Tisagenlecleucel model-based cellular
kinetic analysis of chimeric antigen receptor-T cells. CPT Pharmacometrics
Syst Pharmacol 2019;8:285-295 (ELIANA and ENSIGN, qPCR copies/ug).

Piecewise: for t < Tmax, C(t) = (Cmax / FOLDX) * exp(rho * t) with
rho = ln(FOLDX) / Tmax; for t >= Tmax,
C(t) = Cmax * [(1 - FB) * exp(-alpha (t - Tmax)) + FB * exp(-beta (t - Tmax))].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SteinParameters:
    """Typical values from Stein 2019 (Table 2, tisagenlecleucel, qPCR copies/ug)."""

    cmax: float = 24_000.0
    tmax: float = 9.3  # days
    foldx: float = 3900.0
    alpha: float = 0.16  # /day, fast contraction
    beta: float = 0.0032  # /day, persistence
    fb: float = 0.0079  # fraction in the persisting memory compartment


def stein_curve(t, cmax, tmax, foldx, alpha, beta, fb) -> np.ndarray:
    """Model concentration at days ``t``; every argument broadcasts with numpy."""
    t = np.asarray(t, dtype=float)
    cmax, tmax, foldx, alpha, beta, fb = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (cmax, tmax, foldx, alpha, beta, fb))
    )
    rho = np.log(foldx) / tmax
    rising = (cmax / foldx) * np.exp(rho * np.minimum(t, tmax))
    dt = np.maximum(t - tmax, 0.0)
    falling = cmax * ((1.0 - fb) * np.exp(-alpha * dt) + fb * np.exp(-beta * dt))
    return np.where(t < tmax, rising, falling)
