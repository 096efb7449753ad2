"""Axis scales of cartkit's figure writer: linear and symmetric-log, with tick positions and labels.

* Linear ticks are "nice numbers": the step is 1, 2, 2.5 or 5 times a power of ten, chosen as the
  smallest such step that gives at most ``nbins`` intervals over the limits (the rule of
  matplotlib's ``MaxNLocator`` and of Heckbert's "Nice numbers for graph labels", Graphics Gems 1990);
  labels carry as many decimals as the step needs ("0", "0.25", "0.5").
* Log ticks: a labelled major tick at every decade, minor ticks at 2-9 times it. The symmetric-log
  scale (``linthresh``) is linear from 0 to ``linthresh`` over ``linscale`` decades' length and
  logarithmic above, so the zeros of a day-0 measurement stay on a log-like axis (as matplotlib's
  ``symlog``); a plain log scale is ``linthresh = None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")
MINUS = "\u2212"


def nice_step(span: float, nbins: int = 5, integer: bool = False) -> float:
    """The smallest 1-2-2.5-5 x 10^k step giving at most ``nbins`` intervals over ``span``."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / nbins
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = m * mag
        if integer and (step < 1 or step != math.floor(step)):
            continue
        if step >= raw * (1 - 1e-9):
            return step
    return 10.0 * mag if not integer else max(1.0, math.ceil(raw))


def decimals_for(step: float) -> int:
    """Decimals needed to write multiples of ``step`` exactly (0.25 -> 2, 5 -> 0)."""
    for d in range(0, 10):
        if abs(step * 10**d - round(step * 10**d)) < 1e-6 * max(1.0, step * 10**d):
            return d
    return 10


def format_number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    if float(text) == 0:
        return "0"
    return text.replace("-", MINUS)


def decade_label(k: int) -> str:
    """10^k as a tick label: plain for 0.01 ... 10,000, else 10 with a superscript exponent."""
    if -2 <= k <= 4:
        return f"{10.0**k:.{max(0, -k)}f}"
    return "10" + str(k).translate(SUPERSCRIPT)


@dataclass
class Scale:
    """Maps data values in [lo, hi] to fractions of the axis length (0 at lo, 1 at hi)."""

    lo: float
    hi: float
    log: bool = False
    linthresh: float | None = None  # symmetric log: linear below this (with log=True)
    linscale: float = 0.5

    def _t(self, v: float) -> float:
        if not self.log:
            return v
        if self.linthresh is None:
            return math.log10(v) if v > 0 else -math.inf
        a = abs(v)
        if a <= self.linthresh:
            t = a / self.linthresh * self.linscale
        else:
            t = self.linscale + math.log10(a / self.linthresh)
        return math.copysign(t, v)

    def fraction(self, v: float) -> float:
        t0, t1 = self._t(self.lo), self._t(self.hi)
        return (self._t(v) - t0) / (t1 - t0) if t1 != t0 else 0.5

    def fractions(self, values) -> list[float]:
        """Many values at once (NaN stays NaN)."""
        t0, t1 = self._t(self.lo), self._t(self.hi)
        span = (t1 - t0) or 1.0
        if not self.log:
            return [(v - t0) / span for v in values]
        return [(self._t(v) - t0) / span if v == v else math.nan for v in values]

    def ticks(self, nbins: int = 5, integer: bool = False) -> tuple[list[float], list[str], list[float]]:
        """(major tick values, their labels, minor tick values) inside the limits."""
        lo, hi = min(self.lo, self.hi), max(self.lo, self.hi)
        if not self.log:
            step = nice_step(hi - lo, nbins, integer)
            k0, k1 = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
            values = [k * step for k in range(k0, k1 + 1)]
            d = decimals_for(step)
            return values, [format_number(v, d) for v in values], []
        major: list[float] = []
        labels: list[str] = []
        minor: list[float] = []
        start = self.linthresh if self.linthresh is not None else lo
        if self.linthresh is not None and lo <= 0 <= hi:
            major.append(0.0)
            labels.append("0")
        if start <= 0 or hi <= 0:
            return major, labels, minor
        k0 = math.floor(math.log10(max(start, lo if lo > 0 else start)) + 1e-9)
        k1 = math.floor(math.log10(hi) + 1e-9)
        every = max(1, math.ceil((k1 - k0 + 1) / 8))  # at most about 8 labelled decades
        for k in range(k0, k1 + 1):
            v = 10.0**k
            if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9) and (self.linthresh is None or v >= self.linthresh):
                if (k - k0) % every == 0:
                    major.append(v)
                    labels.append(decade_label(k))
                else:
                    minor.append(v)
            for m in range(2, 10):
                w = m * v
                if lo <= w <= hi and (self.linthresh is None or w > self.linthresh):
                    minor.append(w)
        return major, labels, minor
