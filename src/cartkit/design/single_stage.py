"""Single-stage exact binomial designs for a single-arm phase II trial (A'Hern 2001).

A'Hern RP. Sample size tables for exact single-stage phase II designs. Statistics in Medicine
2001;20:859-866. Treat ``n`` patients; call the drug promising if more than ``r`` respond
(A'Hern tabulates the number of responses needed, ``r + 1``). The design is the smallest ``n``
for which some ``r`` gives

    P(X > r | p0) <= alpha   and   P(X > r | p1) >= 1 - beta,      X ~ Bin(n, p)

(exact binomial, non-strict as A'Hern and clinfun's ``ph2single``); at that ``n`` the smallest such
``r`` (the most powerful). Feasibility is not monotone in ``n`` (a larger n can fail where a
smaller one works, the binomial saw-tooth), which is why every n is checked from 1 up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cartkit.design.binomial import binomial_tables
from cartkit.design.checks import check_alpha, check_beta, check_nmax, check_rates
from cartkit.design.errors import NoDesignFound


@dataclass(frozen=True)
class SingleStageDesign:
    """Promising if more than ``r`` of ``n`` respond; ``alpha`` and ``power`` as attained."""

    p0: float
    p1: float
    n: int
    r: int
    alpha: float
    power: float
    criterion: str = "single-stage"

    @property
    def responses_needed(self) -> int:
        """A'Hern's r: the number of responses that declares the drug promising."""
        return self.r + 1

    # the two-stage view of the same design, for operating characteristics: never stops early
    @property
    def r1(self) -> int:
        return -1

    @property
    def n1(self) -> int:
        return self.n

    def as_dict(self) -> dict:
        return asdict(self)


def single_stage(p0: float, p1: float, alpha: float = 0.05, beta: float = 0.20, nmax: int = 1000
                 ) -> SingleStageDesign:
    """The smallest exact single-stage design (A'Hern 2001).

    Examples
    --------
    >>> d = single_stage(0.2, 0.4)
    >>> d.n, d.r, d.responses_needed, round(d.alpha, 4), round(d.power, 4)
    (35, 11, 12, 0.0344, 0.8048)
    """
    from cartkit.stats.distributions import ndtri

    p0, p1 = check_rates(p0, p1)
    alpha, beta = check_alpha(alpha), check_beta(beta)
    nmax = check_nmax(nmax, low=1, high=5000)
    z_a, z_b = float(ndtri(1 - alpha)), float(ndtri(1 - beta))
    approx = ((z_a * np.sqrt(p0 * (1 - p0)) + z_b * np.sqrt(p1 * (1 - p1))) / (p1 - p0)) ** 2
    hi = int(min(nmax, 2 * np.ceil(approx) + 20))
    while True:
        found = _first_feasible(p0, p1, alpha, beta, hi)
        if found is not None:
            n, r, size, power = found
            return SingleStageDesign(p0=p0, p1=p1, n=n, r=r, alpha=size, power=power)
        if hi >= nmax:
            raise NoDesignFound(
                f"no single-stage design with alpha <= {alpha:g} and power >= {1 - beta:g} for p0={p0:g}, "
                f"p1={p1:g} with n <= {nmax}; increase nmax")
        hi = min(nmax, 2 * hi)


def _first_feasible(p0: float, p1: float, alpha: float, beta: float, hi: int) -> tuple | None:
    _, upper0, off = binomial_tables(p0, hi)
    _, upper1, _ = binomial_tables(p1, hi)
    # size[n, r] = P(X_n > r | p0) and power[n, r] = P(X_n > r | p1) for r = 0 .. hi - 1
    size = upper0[:, off + 1: off + 1 + hi]
    power = upper1[:, off + 1: off + 1 + hi]
    n = np.arange(hi + 1)[:, None]
    r = np.arange(hi)[None, :]
    ok = (r < n) & (size <= alpha) & (power >= 1 - beta)
    rows = np.flatnonzero(ok.any(axis=1))
    if rows.size == 0:
        return None
    n_best = int(rows[0])
    r_best = int(np.argmax(ok[n_best]))
    return n_best, r_best, float(size[n_best, r_best]), float(power[n_best, r_best])
