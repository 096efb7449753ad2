"""Designs for the next single-arm study from an observed response rate and its exact CI.

A small study pins the response rate down poorly: 6 responses in 7 patients (the seed's CD22
CAR-T in DLBCL) has an exact 95 % CI of 42 % to 99.6 %. So the proposal plans the next study two
ways and shows both: at the lower confidence limit (the cautious p1 the data still support) and at
the observed rate (the optimistic one, which a 7-patient estimate usually overstates). The
uninteresting rate p0 cannot come from the study itself: give it (the historical response rate of
the standard treatment); without it p0 = p1 - delta, the difference the design is powered for.
"""

from __future__ import annotations

from dataclasses import dataclass

from cartkit.design.checks import check_alpha, check_beta
from cartkit.design.errors import DesignError
from cartkit.design.simon import DEFAULT_NMAX, SimonDesign, simon_two_stage
from cartkit.design.single_stage import SingleStageDesign, single_stage


@dataclass(frozen=True)
class Scenario:
    """One planning value of p1 and the designs for it (None, with the reason in ``note``, if none)."""

    label: str
    p0: float
    p1: float
    two_stage: SimonDesign | None
    one_stage: SingleStageDesign | None
    note: str


@dataclass(frozen=True)
class Proposal:
    label: str
    responders: int
    n: int
    rate: float
    lower: float
    upper: float
    level: float
    scenarios: tuple[Scenario, ...]
    message: str


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if 0.995 > x > 0.005 or x in (0.0, 1.0) else f"{100 * x:.1f}%"


def propose_next_study(label: str, responders: int, n: int, lower: float | None = None, upper: float | None = None,
                       p0: float | None = None, delta: float = 0.20, alpha: float = 0.05, beta: float = 0.20,
                       criterion: str = "optimal", level: float = 0.95, nmax: int = DEFAULT_NMAX) -> Proposal:
    """Simon two-stage (``criterion``) and single-stage designs planned at the lower CI limit and at k/n.

    ``lower`` and ``upper`` are the exact (Clopper-Pearson) limits at ``level``; computed here when
    not given (the study's analysis already has them: ``response_rates``).
    """
    from cartkit.stats import binomial_ci

    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or not isinstance(responders, int) or not 0 <= responders <= n:
        raise DesignError(f"{label}: need 0 <= responders <= n and n >= 1, got {responders}/{n}")
    alpha, beta = check_alpha(alpha), check_beta(beta)
    if not 0 < delta < 1:
        raise DesignError(f"delta must be between 0 and 1, got {delta}")
    if lower is None or upper is None:
        lower, upper = binomial_ci(responders, n, level=level)
    rate = responders / n
    scenarios = []
    for name, p1 in ((f"lower {level:.0%} CI limit", lower), ("observed rate", rate)):
        planned_p0 = p0 if p0 is not None else p1 - delta
        note = ""
        if p1 <= 0:
            note = "no responses: there is no promising rate to plan for"
        elif p1 >= 1:
            note = "every patient responded: a planning rate of 100% cannot be tested against"
        elif planned_p0 <= 0:
            note = f"p0 = p1 - {delta:g} is not above 0; give p0"
        elif p1 <= planned_p0:
            note = f"p1 = {p1:.3f} is not above p0 = {planned_p0:g}: the data do not support a design against this p0"
        two = one = None
        if not note:
            try:
                two = simon_two_stage(planned_p0, p1, alpha, beta, criterion="optimal" if criterion == "admissible"
                                      else criterion, nmax=nmax)
                one = single_stage(planned_p0, p1, alpha, beta)
            except DesignError as exc:
                note = str(exc)
        scenarios.append(Scenario(label=name, p0=planned_p0, p1=p1, two_stage=two, one_stage=one, note=note))
    message = _message(label, responders, n, rate, lower, upper, level, scenarios)
    return Proposal(label=label, responders=responders, n=n, rate=rate, lower=lower, upper=upper, level=level,
                    scenarios=tuple(scenarios), message=message)


def _message(label, responders, n, rate, lower, upper, level, scenarios) -> str:
    width = upper - lower
    text = (f"{label}: {responders}/{n} responded ({_pct(rate)}). The exact {level:.0%} CI, {_pct(lower)} to "
            f"{_pct(upper)}, is {100 * width:.0f} percentage points wide: {n} patients are consistent with any true "
            f"rate in that range, so they do not tell you p1.")
    planned = [s for s in scenarios if s.two_stage is not None]
    if len(planned) == 2:
        lo, hi = planned
        text += (f" Planned at the lower limit (p1 = {lo.p1:.2f} vs p0 = {lo.p0:.2f}) the {lo.two_stage.criterion} "
                 f"two-stage design needs up to {lo.two_stage.n} patients; planned at the observed rate (p1 = "
                 f"{hi.p1:.2f} vs p0 = {hi.p0:.2f}) up to {hi.two_stage.n}.")
    text += (" Choose p1 as the rate that would change practice and p0 as the historical rate of the standard "
             "treatment, not from this study's estimate.")
    return text
