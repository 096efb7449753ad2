"""Input checks shared by every design: one message naming the argument, its value and the rule."""

from __future__ import annotations

import math

from cartkit.design.errors import DesignError


def check_rate(name: str, value: float) -> float:
    """A response rate strictly between 0 and 1."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise DesignError(f"{name} must be a number between 0 and 1, got {value!r}")
    if not 0 < value < 1:
        raise DesignError(f"{name} must be strictly between 0 and 1, got {value}")
    return float(value)


def check_rates(p0: float, p1: float) -> tuple[float, float]:
    """p0 (uninteresting rate) and p1 (promising rate) with p1 > p0, as a one-sided test of p > p0 needs."""
    p0, p1 = check_rate("p0", p0), check_rate("p1", p1)
    if p1 <= p0:
        raise DesignError(f"p1 must be greater than p0 (the design tests p > p0), got p0={p0}, p1={p1}")
    return p0, p1


def _error_rate(name: str, value: float, meaning: str = "") -> float:
    """A test's error rate in (0, 0.5); ``meaning`` is added to the out-of-range message."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise DesignError(f"{name} must be a number in (0, 0.5), got {value!r}")
    if not 0 < value < 0.5:
        raise DesignError(f"{name} must be in (0, 0.5){meaning}, got {value}")
    return float(value)


def check_alpha(alpha: float) -> float:
    """A type I error rate in (0, 0.5): beyond 0.5 a test rejects more often than not under H0."""
    return _error_rate("alpha", alpha)


def check_beta(beta: float) -> float:
    """A type II error rate in (0, 0.5), i.e. power above 50 %."""
    return _error_rate("beta", beta, " (power above 50 %)")


def check_nmax(nmax: int, low: int = 2, high: int = 1000) -> int:
    if isinstance(nmax, bool) or not isinstance(nmax, int | float) or nmax != int(nmax):
        raise DesignError(f"nmax must be a whole number, got {nmax!r}")
    if not low <= nmax <= high:
        raise DesignError(f"nmax must be between {low} and {high}, got {int(nmax)}")
    return int(nmax)


def check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise DesignError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise DesignError(f"{name} must be {'non-negative' if allow_zero else 'positive'}, got {value}")
    return float(value)
