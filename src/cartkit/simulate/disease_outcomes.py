"""Progression and death of a simulated single-arm disease cohort (simulate/myeloma.py, simulate/cll.py).

Each cohort gives its own numbers: the mean days to a death from other causes, the mean survival after
progression, the chance of an infection death, and the code of its progression detail.
"""

from __future__ import annotations

import numpy as np

NEVER = np.iinfo(np.int64).max // 4


def disease_outcomes(rng: np.random.Generator, ep: dict, labels: np.ndarray, prog: np.ndarray, *,
                     other_death_mean: float, survival_after_progression: float, infection_death_p: float,
                     progression_detail: int) -> None:
    """Progression (an assessment day), death after it or from other causes; no HSCT. Fills ``ep``."""
    n = labels.shape[0]
    early = np.where(ep["crs_death_day"] > 0, ep["crs_death_day"], NEVER)
    infection = np.where(rng.random(n) < infection_death_p, rng.integers(20, 300, n), NEVER)
    other = 100 + np.floor(rng.exponential(other_death_mean, n)).astype(np.int64)
    after_prog = np.where(prog < NEVER, prog + 30 + np.floor(rng.exponential(survival_after_progression, n)),
                          NEVER).astype(np.int64)
    death = other.copy()
    cause = np.full(n, 4)
    for day, c in ((after_prog, 0), (infection, 2), (early, 1)):
        cause = np.where(day < death, c, cause)
        death = np.minimum(death, day)
    prog = np.where(prog < death, prog, NEVER)
    ep.update({
        "best": labels, "r30": labels, "r90": labels, "prog": prog, "prog_kind": np.zeros(n, dtype=np.int64),
        "prog_detail": np.full(n, progression_detail), "hsct": np.zeros(n, dtype=bool),
        "hsct_day": np.full(n, NEVER), "death": death, "death_cause": cause,
    })
