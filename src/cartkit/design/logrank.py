"""Two-arm time-to-event designs: events and patients for a log-rank comparison.

Arms: "treatment" (hazard lambda_t) and "control" (lambda_c); ``hr = lambda_t / lambda_c``;
``allocation = n_treatment / n_control`` (rpact's ``allocationRatioPlanned``), so the treatment
fraction is ``pi = allocation / (1 + allocation)``. ``z_a = z(1 - alpha / sided)``, ``z_b = z(1 - beta)``.

* Schoenfeld DA. Sample-size formula for the proportional-hazards regression model. Biometrics
  1983;39:499-503:  ``D = (z_a + z_b)^2 / (pi (1 - pi) log(hr)^2)`` (``4 (z_a + z_b)^2 / log(hr)^2``
  for 1:1).
* Freedman LS. Tables of the number of patients required in clinical trials using the logrank
  test. Statistics in Medicine 1982;1:121-129:  ``D = (z_a + z_b)^2 (1 + k hr)^2 / (k (1 - hr)^2)``
  with ``k = allocation`` (``(z_a + z_b)^2 (1 + hr)^2 / (1 - hr)^2`` for 1:1).
* Patients from events, exponential survival, uniform accrual over ``accrual`` and a further
  ``follow_up`` after the last patient enters (no losses): a patient's chance of an observed event
  is ``P(lambda) = 1 - (exp(-lambda F) - exp(-lambda (A + F))) / (lambda A)`` (``1 - exp(-lambda F)``
  when A = 0), and ``N = D / (pi P(lambda_t) + (1 - pi) P(lambda_c))`` (as rpact's
  ``getSampleSizeSurvival``).
* Lachin JM, Foulkes MA. Evaluation of sample size and power for analyses of survival with
  allowance for nonuniform patient entry, losses to follow-up, noncompliance, and stratification.
  Biometrics 1986;42:507-519, eq. (3.3) for uniform entry and no losses (the test of equal
  exponential hazards):
  ``sqrt(N) |lambda_t - lambda_c| = z_a sqrt(phi(lbar) (1/Q_t + 1/Q_c)) + z_b sqrt(phi(lambda_t)/Q_t + phi(lambda_c)/Q_c)``
  with ``phi(lambda) = lambda^2 / P(lambda)``, ``Q`` the allocation fractions and
  ``lbar = Q_t lambda_t + Q_c lambda_c``.

Medians convert to hazards as ``lambda = log(2) / median`` (exponential survival).
Power for given numbers inverts the same formulas (two-sided: both rejection tails).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from cartkit.design.checks import check_alpha, check_beta, check_positive
from cartkit.design.errors import DesignError

METHODS = ("schoenfeld", "freedman", "lachin-foulkes")


@dataclass(frozen=True)
class LogrankDesign:
    """Events and patients for a log-rank comparison; ``n`` is None when no accrual model is given."""

    method: str
    hr: float
    alpha: float
    power: float
    allocation: float
    sided: int
    events: float
    n: float | None
    n_treatment: float | None
    n_control: float | None
    p_event: float | None
    median_control: float | None
    accrual: float | None
    follow_up: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def _z(q: float) -> float:
    from cartkit.stats.distributions import ndtri

    return float(ndtri(q))


def _phi(x: float) -> float:
    from cartkit.stats.distributions import ndtr

    return float(ndtr(x))


def _check_common(alpha: float, allocation: float, sided: int) -> tuple[float, float, int]:
    alpha = check_alpha(alpha)
    allocation = check_positive("allocation", allocation)
    if sided not in (1, 2):
        raise DesignError(f"sided must be 1 or 2, got {sided!r}")
    return alpha, allocation, sided


def _check_hr(hr: float) -> float:
    hr = check_positive("hazard ratio", hr)
    if hr == 1:
        raise DesignError("hazard ratio must differ from 1 (no difference to detect)")
    return hr


def event_probability(hazard: float, accrual: float, follow_up: float) -> float:
    """P(an event is observed) under exponential survival, uniform accrual over ``accrual``, then ``follow_up``."""
    hazard = check_positive("hazard", hazard)
    accrual = check_positive("accrual", accrual, allow_zero=True)
    follow_up = check_positive("follow-up", follow_up, allow_zero=accrual > 0)
    if accrual == 0:
        return -math.expm1(-hazard * follow_up)
    return 1.0 - (math.exp(-hazard * follow_up) - math.exp(-hazard * (accrual + follow_up))) / (hazard * accrual)


def _hazards(hr: float | None, median_control: float | None, median_treatment: float | None
             ) -> tuple[float, float | None, float | None]:
    """(hr, lambda_treatment, lambda_control) from a hazard ratio and/or medians (exponential)."""
    if median_control is not None:
        median_control = check_positive("control median", median_control)
    if median_treatment is not None:
        median_treatment = check_positive("treatment median", median_treatment)
        if median_control is None:
            raise DesignError("a treatment median needs the control median too")
        from_medians = median_control / median_treatment
        if hr is not None and not math.isclose(hr, from_medians, rel_tol=1e-9):
            raise DesignError(f"hazard ratio {hr} disagrees with the medians (control {median_control} / "
                              f"treatment {median_treatment} = {from_medians:.6g}); give one or the other")
        hr = from_medians
    if hr is None:
        raise DesignError("give a hazard ratio, or the control and treatment median survival")
    hr = _check_hr(hr)
    if median_control is None:
        return hr, None, None
    lam_c = math.log(2) / median_control
    return hr, hr * lam_c, lam_c


def _events_factor(method: str, hr: float, allocation: float) -> float:
    """Events per (z_a + z_b)^2."""
    pi = allocation / (1 + allocation)
    if method == "schoenfeld":
        return 1.0 / (pi * (1 - pi) * math.log(hr) ** 2)
    return (1 + allocation * hr) ** 2 / (allocation * (1 - hr) ** 2)


def logrank_events(hr: float, alpha: float = 0.05, power: float = 0.80, allocation: float = 1.0,
                   method: str = "schoenfeld", sided: int = 2) -> float:
    """Number of events for a log-rank test (Schoenfeld 1983 or Freedman 1982); not rounded.

    Examples
    --------
    >>> round(logrank_events(0.6), 2)   # 4 (1.96 + 0.8416)^2 / log(0.6)^2
    120.32
    """
    if method not in ("schoenfeld", "freedman"):
        raise DesignError(f"events: method must be schoenfeld or freedman, got {method!r}")
    alpha, allocation, sided = _check_common(alpha, allocation, sided)
    beta = check_beta(1 - power)
    hr = _check_hr(hr)
    return (_z(1 - alpha / sided) + _z(1 - beta)) ** 2 * _events_factor(method, hr, allocation)


def _two_sided_power(shift: float, z_a: float, sided: int) -> float:
    if sided == 1:
        return _phi(shift - z_a)
    return _phi(shift - z_a) + _phi(-shift - z_a)


def logrank_power(events: float, hr: float, alpha: float = 0.05, allocation: float = 1.0,
                  method: str = "schoenfeld", sided: int = 2) -> float:
    """Power of the log-rank test with ``events`` events (Schoenfeld or Freedman approximation)."""
    if method not in ("schoenfeld", "freedman"):
        raise DesignError(f"power from events: method must be schoenfeld or freedman, got {method!r}")
    alpha, allocation, sided = _check_common(alpha, allocation, sided)
    events = check_positive("events", events)
    hr = _check_hr(hr)
    shift = math.sqrt(events / _events_factor(method, hr, allocation))
    return _two_sided_power(shift, _z(1 - alpha / sided), sided)


def _lachin_foulkes_terms(lam_t: float, lam_c: float, allocation: float, accrual: float, follow_up: float
                          ) -> tuple[float, float, float]:
    q_t = allocation / (1 + allocation)
    q_c = 1 - q_t
    lbar = q_t * lam_t + q_c * lam_c

    def phi(lam: float) -> float:
        return lam * lam / event_probability(lam, accrual, follow_up)

    null = math.sqrt(phi(lbar) * (1 / q_t + 1 / q_c))
    alt = math.sqrt(phi(lam_t) / q_t + phi(lam_c) / q_c)
    return null, alt, abs(lam_t - lam_c)


def logrank_sample_size(hr: float | None = None, alpha: float = 0.05, power: float = 0.80, allocation: float = 1.0,
                        method: str = "schoenfeld", median_control: float | None = None,
                        median_treatment: float | None = None, accrual: float | None = None,
                        follow_up: float | None = None, sided: int = 2) -> LogrankDesign:
    """Events and, given the control median and the accrual and follow-up times, patients.

    ``method`` is ``"schoenfeld"``, ``"freedman"`` (events, then patients from the event
    probability) or ``"lachin-foulkes"`` (patients directly; needs medians, accrual and follow-up).
    Times are in any one unit (months, say) used for medians, accrual and follow-up alike.
    """
    if method not in METHODS:
        raise DesignError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    alpha, allocation, sided = _check_common(alpha, allocation, sided)
    beta = check_beta(1 - power)
    hr, lam_t, lam_c = _hazards(hr, median_control, median_treatment)
    timed = lam_c is not None and follow_up is not None
    if timed:
        accrual = check_positive("accrual", accrual if accrual is not None else 0.0, allow_zero=True)
        follow_up = check_positive("follow-up", follow_up, allow_zero=accrual > 0)
    elif method == "lachin-foulkes":
        raise DesignError("lachin-foulkes needs the control median (and hazard ratio or treatment median), "
                          "the accrual time and the follow-up time")
    elif follow_up is not None or accrual is not None:
        raise DesignError("patients from events need the control median survival as well as accrual and follow-up")
    pi = allocation / (1 + allocation)
    z_a, z_b = _z(1 - alpha / sided), _z(1 - beta)
    p_event = n = None
    if timed:
        p_event = pi * event_probability(lam_t, accrual, follow_up) + (1 - pi) * event_probability(
            lam_c, accrual, follow_up)
    if method == "lachin-foulkes":
        null, alt, diff = _lachin_foulkes_terms(lam_t, lam_c, allocation, accrual, follow_up)
        n = ((z_a * null + z_b * alt) / diff) ** 2
        events = n * p_event
    else:
        events = (z_a + z_b) ** 2 * _events_factor(method, hr, allocation)
        if timed:
            n = events / p_event
    return LogrankDesign(method=method, hr=hr, alpha=alpha, power=power, allocation=allocation, sided=sided,
                         events=events, n=n, n_treatment=None if n is None else n * pi,
                         n_control=None if n is None else n * (1 - pi), p_event=p_event,
                         median_control=median_control, accrual=accrual if timed else None,
                         follow_up=follow_up if timed else None)


def logrank_power_for_n(n: float, median_control: float, accrual: float, follow_up: float, hr: float | None = None,
                        median_treatment: float | None = None, alpha: float = 0.05, allocation: float = 1.0,
                        method: str = "schoenfeld", sided: int = 2) -> float:
    """Power with ``n`` patients in all (expected events from the accrual model, or Lachin-Foulkes)."""
    if method not in METHODS:
        raise DesignError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    alpha, allocation, sided = _check_common(alpha, allocation, sided)
    n = check_positive("number of patients", n)
    hr, lam_t, lam_c = _hazards(hr, median_control, median_treatment)
    accrual = check_positive("accrual", accrual, allow_zero=True)
    follow_up = check_positive("follow-up", follow_up, allow_zero=accrual > 0)
    z_a = _z(1 - alpha / sided)
    if method == "lachin-foulkes":
        null, alt, diff = _lachin_foulkes_terms(lam_t, lam_c, allocation, accrual, follow_up)
        return _phi((math.sqrt(n) * diff - z_a * null) / alt)
    pi = allocation / (1 + allocation)
    p_event = pi * event_probability(lam_t, accrual, follow_up) + (1 - pi) * event_probability(
        lam_c, accrual, follow_up)
    return logrank_power(n * p_event, hr, alpha=alpha, allocation=allocation, method=method, sided=sided)
