"""Simon's two-stage designs for a single-arm phase II trial with a binary endpoint (response).

Simon R. Optimal two-stage designs for phase II clinical trials. Controlled Clinical Trials
1989;10:1-10. Jung SH, Lee T, Kim K, George SL. Admissible two-stage designs for phase II cancer
clinical trials. Statistics in Medicine 2004;23:561-569.

A design ``(r1, n1, r, n)``: treat ``n1`` patients; stop (drug not promising) if ``r1`` or fewer
respond; otherwise treat ``n - n1`` more and call the drug promising if more than ``r`` of all ``n``
respond. With ``X1 ~ Bin(n1, p)`` and ``X2 ~ Bin(n - n1, p)`` independent,

    P(promising | p) = sum_{x1 = r1+1}^{n1} P(X1 = x1) P(X2 > r - x1)
    PET(p)  = P(X1 <= r1)                       (probability of early termination)
    EN(p)   = n1 + (1 - PET(p)) (n - n1)        (expected sample size)

A design is feasible when ``P(promising | p0) < alpha`` and ``1 - P(promising | p1) < beta``
(strict, as clinfun's ``ph2simon``; Simon writes <=, which differs only on exact ties).

* ``"minimax"``: the smallest ``n`` with a feasible design; among those the smallest ``EN(p0)``.
* ``"optimal"``: the smallest ``EN(p0)`` over all ``n <= nmax``.
* ``"admissible"`` (Jung et al. 2004): the designs that minimise the expected loss
  ``q n + (1 - q) EN(p0)`` for some weight ``q`` in [0, 1], from the minimax (q = 1) to the
  optimal design (q = 0); each comes with the range ``[q_low, q_high]`` of weights where it wins.

The search is exact and exhaustive, as clinfun's ``ph2simon`` (R package clinfun 1.1.6, Fortran
``f2bdry``) and gives the same designs, including its choices where several boundaries tie:
for each ``n``, the smallest ``EN(p0)``, then the smallest ``n1``; for each ``(n1, r1)`` the largest
feasible ``r``. It is vectorised per stage-1 size over every stage-2 size and boundary, and prunes
with two bounds that cannot drop an optimal, minimax or admissible design: ``r1`` cannot exceed the
largest value with ``P(X1 > r1 | p1) > 1 - beta`` (power is at most the chance of continuing), and
once a feasible design with ``EN(p0) = E`` is known, a total ``n`` whose every split has
``n1 + (1 - PET_max) (n - n1) >= E`` is dominated (it needs more patients for no smaller EN).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cartkit.design.binomial import binomial_tables, pmf, upper_tail
from cartkit.design.checks import check_alpha, check_beta, check_nmax, check_rates
from cartkit.design.errors import DesignError, NoDesignFound

CRITERIA = ("optimal", "minimax", "admissible")
DEFAULT_NMAX = 150
_TOL = 1e-12  # slack on the pruning bounds only (never on the feasibility test itself)


@dataclass(frozen=True)
class SimonDesign:
    """One two-stage design and what it attains.

    Stop after stage 1 if responses <= ``r1`` of ``n1``; promising if total responses > ``r`` of ``n``.
    ``alpha`` and ``power`` are the attained P(promising) under ``p0`` and ``p1``; ``q_low`` and
    ``q_high`` the weights on ``n`` for which the design minimises ``q n + (1 - q) EN(p0)`` (Jung 2004).
    """

    criterion: str
    p0: float
    p1: float
    r1: int
    n1: int
    r: int
    n: int
    en_p0: float
    pet_p0: float
    alpha: float
    power: float
    q_low: float
    q_high: float

    @property
    def n2(self) -> int:
        return self.n - self.n1

    def as_dict(self) -> dict:
        return asdict(self)


def two_stage_probabilities(r1: int, n1: int, r: int, n: int, p: np.ndarray | float
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(promising), PET, EN) of design (r1, n1, r, n) at each true response rate in ``p`` (0 <= p <= 1).

    A single-stage design is ``n1 = n`` with ``r1 = -1`` (never stops early).
    """
    p = np.atleast_1d(np.asarray(p, dtype=float))
    n2 = n - n1
    x1 = np.arange(n1 + 1)[None, :]
    inner = np.clip(p, 1e-300, 1 - 1e-16)[:, None]  # p = 0 and p = 1 are patched below
    f = pmf(x1, n1, inner)
    tail = upper_tail(r + 1 - x1, n2, inner)
    promising = np.sum(np.where(x1 > r1, f * tail, 0.0), axis=1)
    pet = np.sum(np.where(x1 <= r1, f, 0.0), axis=1)
    # degenerate rates: nobody responds (p = 0) or everybody does (p = 1)
    promising = np.where(p <= 0, 0.0, np.where(p >= 1, float(n1 > r1 and n > r), promising))
    pet = np.where(p <= 0, float(r1 >= 0), np.where(p >= 1, float(n1 <= r1), pet))
    en = n1 + (1.0 - pet) * n2
    return promising, pet, en


def _tables(p0: float, p1: float, nmax: int, beta: float):
    f0, s0, off = binomial_tables(p0, nmax)
    f1, s1, _ = binomial_tables(p1, nmax)
    # rhi[n]: the largest r with P(X_n > r | p1) > 1 - beta; a two-stage design can do no better
    rhi = (s1[:, off + 1: off + 1 + nmax] > 1 - beta - _TOL).sum(axis=1) - 1
    from numpy.lib.stride_tricks import sliding_window_view

    w1 = sliding_window_view(s1, nmax, axis=1)  # w1[n2, s, t] = s1[n2, s + t] (a view, no copy)
    return f0, s0, f1, s1, off, rhi, w1


def _search_block(tables, alpha: float, beta: float, n_lo: int, n_hi: int, en_cap: float = np.inf) -> np.ndarray:
    """For every total n in (n_lo, n_hi] and every n1: the feasible design with the largest r1.

    Returns rows (r1, n1, r, n, EN, PET, alpha, power). For fixed (n1, n2), EN(p0) falls as r1
    rises, so the largest feasible r1 is that split's best; for each r1 the largest r with power
    above 1 - beta is the one clinfun reports (its loop over r runs downwards).
    """
    f0, s0, f1, s1, off, rhi, w1 = tables
    rows = []
    for n1 in range(1, n_hi):
        # r1 = 0 .. J - 1: the stage-1 boundaries that still let power exceed 1 - beta
        J = int(np.sum(s1[n1, off + 1: off + 1 + n1] > 1 - beta - _TOL))
        if J == 0:
            continue
        pet = np.cumsum(f0[n1, :J])  # PET(p0) for r1 = 0 .. J - 1
        a, b = max(1, n_lo + 1 - n1), n_hi - n1
        if np.isfinite(en_cap):
            # EN >= n1 + (1 - PET_max) n2: splits that cannot beat a design already found
            b = min(b, int(np.ceil((en_cap - n1) / max(1.0 - pet[-1], 1e-300))))
        if b < a:
            continue
        n2 = np.arange(a, b + 1)
        nn = n1 + n2
        width = int(rhi[nn].max()) + 1
        if width <= 0:
            continue
        x1 = np.arange(J)
        # power(r1, r) = P(X > r | p1) - sum_{x1 <= r1} P(X1 = x1) P(X2 > r - x1): the complement
        # keeps the stage-1 sum over x1 <= r1 < J only
        stage2 = w1[a:b + 1, off + 2 - J: off + 2, :width][:, ::-1, :]  # [n2, x1, r] = P(X2 >= r + 1 - x1)
        below = np.cumsum(stage2 * f1[n1, :J][None, :, None], axis=1)
        power_t = s1[a + n1: b + n1 + 1, off + 1: off + 1 + width][:, None, :] - below
        r_power = (power_t > 1 - beta).sum(axis=2) - 1  # power falls with r: the largest r that keeps it
        r_best = np.minimum(r_power, x1[None, :] + n2[:, None])  # clinfun's range: r1 <= r <= r1 + n2
        rs = np.maximum(r_best, 0)
        power = np.take_along_axis(power_t, rs[..., None], axis=2)[..., 0]
        stage2_0 = s0[n2[:, None, None], off + 1 + rs[:, :, None] - x1[None, None, :]]
        lower = np.tril(np.ones((J, J))) * f0[n1, :J][None, :]
        size = s0[nn[:, None], off + 1 + rs] - np.einsum("abk,bk->ab", stage2_0, lower)
        feasible = (r_best >= x1[None, :]) & (size < alpha) & (1 - power < beta)
        any_feasible = feasible.any(axis=1)
        if not any_feasible.any():
            continue
        best_r1 = J - 1 - np.argmax(feasible[:, ::-1], axis=1)
        sel = np.nonzero(any_feasible)[0]
        j = best_r1[sel]
        en = n1 + (1 - pet[j]) * n2[sel]
        rows.append(np.column_stack([j, np.full(sel.size, n1), r_best[sel, j], nn[sel], en, pet[j],
                                     size[sel, j], power[sel, j]]))
    return np.vstack(rows) if rows else np.empty((0, 8))


def _best_by_n(p0: float, p1: float, alpha: float, beta: float, nmax: int) -> np.ndarray:
    """The smallest-EN design for each total n that can matter (clinfun's ``ph2simon()$out`` rows)."""
    from cartkit.stats.distributions import ndtri

    tables = _tables(p0, p1, nmax, beta)
    z_a, z_b = float(ndtri(1 - alpha)), float(ndtri(1 - beta))
    n_single = ((z_a * np.sqrt(p0 * (1 - p0)) + z_b * np.sqrt(p1 * (1 - p1))) / (p1 - p0)) ** 2
    lo, hi = 0, int(min(nmax, np.ceil(1.2 * n_single) + 5))  # normal-approximation start, then widen
    parts = []
    while True:
        part = _search_block(tables, alpha, beta, lo, hi)
        parts.append(part)
        if part.shape[0] or hi >= nmax:
            break
        lo, hi = hi, min(nmax, hi + 20)
    rows = np.vstack(parts)
    if rows.shape[0] and hi < nmax:
        rows = np.vstack([rows, _search_block(tables, alpha, beta, hi, nmax, en_cap=rows[:, 4].min() + 1e-9)])
    if not rows.shape[0]:
        raise NoDesignFound(
            f"no two-stage design with alpha < {alpha:g} and power > {1 - beta:g} for p0={p0:g}, p1={p1:g} "
            f"with n <= {nmax}; increase nmax (or widen p1 - p0, or relax alpha or beta)")
    order = np.lexsort((rows[:, 1], rows[:, 4], rows[:, 3]))  # by n, then EN, then n1
    rows = rows[order]
    first = np.r_[True, rows[1:, 3] != rows[:-1, 3]]
    return rows[first]


def _admissible_rows(best: np.ndarray) -> tuple[list[int], list[float], list[float]]:
    """Indices of the admissible rows (minimax first, optimal last) and their q ranges.

    The lower convex hull of (n, EN) from the minimax to the optimal design, walked as clinfun's
    ``twostage.admissible``: from each admissible design, the next is the one of smallest slope
    (the first, i.e. smallest n, on ties). Breakpoint between consecutive designs a, b:
    q = (EN_a - EN_b) / ((EN_a - EN_b) + (n_b - n_a)) (clinfun prints it rounded to 3 digits).
    """
    en, n = best[:, 4], best[:, 3]
    n_opt = int(np.flatnonzero(en == en.min())[0])
    chain = [0]
    while chain[-1] < n_opt:
        i = chain[-1]
        slopes = (en[i + 1: n_opt + 1] - en[i]) / (n[i + 1: n_opt + 1] - n[i])
        chain.append(i + 1 + int(np.argmin(slopes)))
    if len(chain) == 1:
        return chain, [0.0], [1.0]
    d_en = -np.diff(en[chain])
    d_n = np.diff(n[chain])
    q = d_en / (d_en + d_n)
    return chain, [*q.tolist(), 0.0], [1.0, *q.tolist()]


def simon_two_stage(p0: float, p1: float, alpha: float = 0.05, beta: float = 0.20, criterion: str = "optimal",
                    nmax: int = DEFAULT_NMAX) -> SimonDesign | tuple[SimonDesign, ...]:
    """Simon's optimal or minimax two-stage design, or the admissible designs of Jung et al. (2004).

    Parameters
    ----------
    p0, p1 : the response rate not worth pursuing and the rate worth detecting (0 < p0 < p1 < 1).
    alpha : bound on P(promising | p0), in (0, 0.5).
    beta : bound on 1 - P(promising | p1), in (0, 0.5).
    criterion : ``"optimal"`` (smallest EN under p0), ``"minimax"`` (smallest n) or ``"admissible"``.
    nmax : largest total sample size searched (clinfun's ``nmax``; at most 1000).

    Returns
    -------
    SimonDesign, or for ``"admissible"`` a tuple of them from minimax to optimal (one design when
    the minimax design is also optimal).

    Examples
    --------
    >>> d = simon_two_stage(0.2, 0.4)
    >>> (d.r1, d.n1, d.r, d.n), round(d.en_p0, 2), round(d.pet_p0, 4)
    ((3, 13, 12, 43), 20.58, 0.7473)
    >>> [(d.r1, d.n1, d.r, d.n) for d in simon_two_stage(0.2, 0.4, criterion="admissible")]
    [(4, 18, 10, 33), (3, 14, 11, 38), (3, 13, 12, 43)]
    """
    p0, p1 = check_rates(p0, p1)
    alpha, beta = check_alpha(alpha), check_beta(beta)
    nmax = check_nmax(nmax, low=2, high=1000)
    if criterion not in CRITERIA:
        raise DesignError(f"criterion must be one of {', '.join(CRITERIA)}; got {criterion!r}")
    best = _best_by_n(p0, p1, alpha, beta, nmax)
    chain, q_low, q_high = _admissible_rows(best)
    labels = ["minimax", *(["admissible"] * (len(chain) - 2)), "optimal"] if len(chain) > 1 else ["minimax"]

    def design(k: int, label: str) -> SimonDesign:
        r1, n1, r, n, en, pet, size, power = best[chain[k]]
        return SimonDesign(criterion=label, p0=p0, p1=p1, r1=int(r1), n1=int(n1), r=int(r), n=int(n),
                           en_p0=float(en), pet_p0=float(pet), alpha=float(size), power=float(power),
                           q_low=float(q_low[k]), q_high=float(q_high[k]))

    if criterion == "admissible":
        if len(chain) == 1:
            return (design(0, "minimax and optimal"),)
        return tuple(design(k, labels[k]) for k in range(len(chain)))
    if criterion == "minimax":
        return design(0, "minimax" if len(chain) > 1 else "minimax and optimal")
    return design(len(chain) - 1, "optimal" if len(chain) > 1 else "minimax and optimal")
