"""Non-compartmental analysis (NCA) of CAR-T expansion, CAR DNA and cytokine profiles.

Conventions follow the R package PKNCA (Denney W, Duvvuri S, Buckeridge C.
"Simple, Automatic Noncompartmental Analysis: The PKNCA R Package."
J Pharmacokinet Pharmacodyn 2015;42:S65; docs/criteria.md, "Non-compartmental analysis"):

* Cmax is the largest quantifiable value, Tmax the first day it occurs.
* Clast/Tlast: the last quantifiable (> 0) value and its day.
* AUC by linear-up/log-down trapezoids: a segment is integrated
  logarithmically when the value falls and both ends are > 0, linearly
  otherwise (rising, flat, or either end 0). ``auc="linear"`` uses linear
  trapezoids everywhere. AUClast runs from the first used day to Tlast.
* Partial AUC over ``partial=(start, end)`` interpolates the value at a
  window edge that is not a sample: log-linearly inside a declining segment
  under linear-up/log-down, linearly otherwise. Nothing is extrapolated: the
  partial AUC is NaN when the window starts before the first used sample or
  ends after the last one.
* Terminal phase (``pk.calc.half.life``): only quantifiable points strictly
  after Tmax; every candidate made of the last k >= 3 of them is fitted by
  least squares of ln(value) on day; the candidates with lambda_z > 0 and an
  adjusted R^2 above (best adjusted R^2 over all candidates - 1e-4) qualify,
  and the one with the most points wins. half-life = ln 2 / lambda_z.

Data handling (the choices a pharmacologist needs to know):

* Pre-infusion baselines (day < 0) are excluded: Day 0 is the infusion.
* Missing visits (value NaN/null and not flagged BLQ) are dropped.
* BLQ: a value flagged in ``blq`` or equal to 0 (PKNCA codes BLQ as 0) is
  below the limit of quantification. By default a BLQ before Tmax counts as
  0 and a BLQ after Tmax is dropped (``blq_before_tmax="zero"``,
  ``blq_after_tmax="drop"``); each may be "zero" or "drop". This is PKNCA's
  Tmax-relative rule ``conc.blq = list(before.tmax = "keep", after.tmax =
  "drop")`` ("keep" keeps the BLQ as 0; ``clean.conc.blq``, PKNCA >= 0.11.0.9000),
  **not** PKNCA's default, which is positional: ``PKNCA.options("conc.blq")``
  is ``list(first = "keep", middle = "drop", last = "keep")``, i.e. a BLQ
  before the first quantifiable value is 0, one between the first and the last
  quantifiable value is dropped, and one after the last quantifiable value is
  0 (so a partial AUC can end on a trailing BLQ day, the last segment linear
  down to 0). The two differ on a BLQ between the first quantifiable value and
  Tmax (cartkit 0, PKNCA dropped) and on a trailing BLQ (cartkit dropped,
  PKNCA 0). ``blq_position=(first, middle, last)`` applies the positional rule
  instead, each "zero" or "drop"; ``PKNCA_DEFAULT_BLQ`` is PKNCA's default. A
  profile whose values are all BLQ counts them all as "first" (as PKNCA does).
  A profile with no quantifiable value has Cmax 0, AUC 0 and no
  Tmax/Tlast/half-life.
* Duplicate days (e.g. two samples on one day with different clock times):
  by default (``duplicates="mean"``) the day's value is the arithmetic mean
  of its quantifiable values, and the day is BLQ only when every sample on it
  is BLQ; ``duplicates="error"`` raises ValueError instead.

``nca`` works on one profile; ``nca_table`` computes the same over a long
table of many profiles with whole-column operations (no per-profile Python
loop) and agrees with ``nca`` profile by profile.

    >>> r = nca([0, 4, 7, 14, 21, 28], [0, 10.0, 40.0, 20.0, 10.0, 5.0])
    >>> r.cmax, r.tmax, round(r.half_life, 6)
    (40.0, 7.0, 7.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

AUC_METHODS = ("linear-up-log-down", "linear")
BLQ_RULES = ("zero", "drop")
# PKNCA.options("conc.blq") default: list(first = "keep", middle = "drop", last = "keep") (PKNCA.options.R;
# "keep" keeps the BLQ value, which PKNCA codes as 0): a ``blq_position`` for nca / nca_table
PKNCA_DEFAULT_BLQ = ("zero", "drop", "zero")
DUPLICATE_RULES = ("mean", "error")

# PKNCA defaults: min.hl.points = 3, adj.r.squared.factor = 1e-4 (PKNCA.options()).
MIN_LAMBDA_POINTS = 3
ADJ_R2_TOLERANCE = 1e-4

NOTE_NO_DATA = "no usable observations on or after day 0"
NOTE_NO_QUANTIFIABLE = "no quantifiable values"
NOTE_NO_TERMINAL_FIT = "no terminal regression with lambda_z > 0 within the adjusted R^2 tolerance of the best"
NOTE_PARTIAL_START = "partial AUC window starts before the first sample"
NOTE_PARTIAL_END = "partial AUC window ends after the last sample"


def _note_few_points(min_points: int) -> str:
    return f"fewer than {min_points} quantifiable points after Tmax"


@dataclass(frozen=True)
class NCAResult:
    """NCA parameters of one profile (days and the values' unit).

    ``days``/``values`` are the points used after the data handling rules
    (BLQ set to 0 or dropped, duplicates collapsed); ``lambda_z_points`` and
    ``lambda_z_start`` say which of them form the terminal phase. ``note``
    gives the reasons for any NaN ("" when there is none).
    """

    cmax: float
    tmax: float
    clast: float
    tlast: float
    auc_last: float
    auc_partial: float
    lambda_z: float
    half_life: float
    r2_adj: float
    r2: float
    n_points: int
    lambda_z_points: int
    lambda_z_start: float
    days: tuple[float, ...]
    values: tuple[float, ...]
    auc_method: str
    partial: tuple[float, float] | None
    note: str = ""


def _check_options(auc: str, blq_before_tmax: str, blq_after_tmax: str, duplicates: str,
                   partial, min_lambda_points: int, blq_position=None) -> tuple[float, float] | None:
    if auc not in AUC_METHODS:
        raise ValueError(f"auc={auc!r}: the AUC method must be one of {AUC_METHODS}")
    for name, rule in (("blq_before_tmax", blq_before_tmax), ("blq_after_tmax", blq_after_tmax)):
        if rule not in BLQ_RULES:
            raise ValueError(f"{name}={rule!r}: a BLQ rule must be one of {BLQ_RULES}")
    if blq_position is not None and (isinstance(blq_position, str) or len(tuple(blq_position)) != 3
                                     or any(r not in BLQ_RULES for r in blq_position)):
        raise ValueError(f"blq_position={blq_position!r}: (first, middle, last), each one of {BLQ_RULES}")
    if duplicates not in DUPLICATE_RULES:
        raise ValueError(f"duplicates={duplicates!r}: must be one of {DUPLICATE_RULES}")
    if int(min_lambda_points) < 3:
        raise ValueError(f"min_lambda_points={min_lambda_points!r}: the adjusted R^2 needs at least 3 points")
    if partial is None:
        return None
    try:
        start, end = (float(x) for x in partial)
    except (TypeError, ValueError):
        raise ValueError(f"partial={partial!r}: the partial AUC window must be (start, end) days") from None
    if not (math.isfinite(start) and math.isfinite(end)) or end < start:
        raise ValueError(f"partial={partial!r}: the partial AUC window needs finite start <= end")
    return start, end


def _log_down(c1, c2, auc: str):
    """True where a segment is integrated (and interpolated) logarithmically."""
    if auc == "linear":
        return np.zeros(np.shape(c1), dtype=bool)
    return (c2 < c1) & (c1 > 0) & (c2 > 0)


def _interpolate(t1, c1, t2, c2, x, logseg):
    """Value at day x inside segment (t1, c1)-(t2, c2); exact at the segment's ends."""
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = (x - t1) / (t2 - t1)
        lin = c1 + frac * (c2 - c1)
        logv = np.exp(np.log(c1) + frac * (np.log(c2) - np.log(c1)))
    inner = np.where(logseg, logv, lin)
    return np.where(x == t1, c1, np.where(x == t2, c2, inner))


def _segment_area(u, cu, v, cv, logseg):
    """Area of a (sub)segment from (u, cu) to (v, cv), log trapezoid where logseg and cu != cv."""
    dt = v - u
    use_log = logseg & (cu != cv) & (cu > 0) & (cv > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # (cu - cv) / ln(cu / cv), written with log1p so that nearly equal values do not cancel
        # (ln of a ratio 1 + 2e-16 loses every digit; cu - cv of close floats is exact)
        log_area = (cu - cv) / np.log1p((cu - cv) / cv) * dt
    return np.where(use_log, log_area, (cu + cv) / 2.0 * dt)


def _partial_areas(t1, c1, t2, c2, logseg, start: float, end: float):
    """Area of each segment inside [start, end] (0 for segments outside)."""
    u = np.maximum(t1, start)
    v = np.minimum(t2, end)
    inside = v > u
    u = np.where(inside, u, t1)
    v = np.where(inside, v, t2)
    cu = _interpolate(t1, c1, t2, c2, u, logseg)
    cv = _interpolate(t1, c1, t2, c2, v, logseg)
    return np.where(inside, _segment_area(u, cu, v, cv, logseg), 0.0)


def _fit_suffixes(n, sx, sy, sxx, sxy, syy):
    """Least squares of y on x for candidates given their sums (already shifted).

    Returns lambda_z (= -slope), r^2 and adjusted r^2 (1 - (1 - r^2)(n - 1)/(n - 2),
    as PKNCA's adj.r.squared). r^2 is NaN when every ln(value) is equal (0/0 in R).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        cxx = sxx - sx * sx / n
        cxy = sxy - sx * sy / n
        cyy = syy - sy * sy / n
        slope = cxy / cxx
        # a correlation below 1e-9 is a flat line: its sign is rounding noise (it flips with a change of
        # unit), and a "lambda_z" of 1e-17/day would give a half-life of 1e16 days
        slope = np.where(np.abs(cxy) <= 1e-9 * np.sqrt(np.abs(cxx * cyy)), 0.0, slope)
        ss_res = cyy - slope * cxy
        r2 = np.where(cyy == 0, np.nan, 1.0 - ss_res / cyy)
        adj = 1.0 - (1.0 - r2) * (n - 1) / (n - 2)
    return -slope, r2, adj


def _positional_use(is_blq: np.ndarray, first: np.ndarray, last: np.ndarray, rule) -> np.ndarray:
    """The samples kept under a positional BLQ rule (first, middle, last), BLQ ones as 0."""
    middle = is_blq & ~first & ~last
    return (~is_blq | (first & (rule[0] == "zero")) | (middle & (rule[1] == "zero"))
            | (last & (rule[2] == "zero")))


def profile_arrays(days, values, blq=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One concentration-time profile as float arrays (days, values) and a BLQ mask, checked.

    Raises ValueError naming the offending values: lengths differ, a day that is not
    finite, a concentration that is negative or infinite. Missing values (NaN) pass.
    """
    t = np.asarray(days, dtype=float).ravel()
    c = np.asarray(values, dtype=float).ravel()
    if t.shape != c.shape:
        raise ValueError(f"days ({t.size}) and values ({c.size}) must have the same length")
    flag = np.zeros(t.shape, dtype=bool) if blq is None else np.asarray(blq, dtype=bool).ravel()
    if flag.shape != t.shape:
        raise ValueError(f"blq ({flag.size}) must have the same length as days ({t.size})")
    if (~np.isfinite(t)).any():
        raise ValueError(f"days {t[~np.isfinite(t)].tolist()}: every sample needs a finite day")
    if np.isinf(c).any() or (c < 0).any():
        bad = c[np.isinf(c) | (c < 0)].tolist()
        raise ValueError(f"values {bad}: a concentration must be finite and >= 0")
    return t, c, flag


def nca(
    days,
    values,
    *,
    auc: str = "linear-up-log-down",
    partial: tuple[float, float] | None = (0, 28),
    blq=None,
    blq_before_tmax: str = "zero",
    blq_after_tmax: str = "drop",
    blq_position: tuple[str, str, str] | None = None,
    duplicates: str = "mean",
    min_lambda_points: int = MIN_LAMBDA_POINTS,
    adj_r2_tolerance: float = ADJ_R2_TOLERANCE,
) -> NCAResult:
    """NCA of one profile: ``days`` from infusion and ``values`` in the analyte's unit.

    ``blq`` is an optional boolean sequence flagging values below the limit of
    quantification (their value is ignored); a value of 0 is BLQ too. See the
    module docstring for every rule and its source.

        >>> round(nca([0, 1, 2, 4], [0, 8.0, 4.0, 1.0], partial=(0, 3)).auc_partial, 6)  # 4 + 6 / ln 2
        12.65617
        >>> r = nca([0, 7, 14, 28], [0, 40.0, 10.0, 0], blq_position=PKNCA_DEFAULT_BLQ)  # day 28 kept as 0
        >>> round(r.auc_partial, 6), r.tlast        # 140 + 30 * 7 / ln 4 + 70
        (361.482979, 14.0)
    """
    window = _check_options(auc, blq_before_tmax, blq_after_tmax, duplicates, partial, min_lambda_points,
                            blq_position)
    t, c, flag = profile_arrays(days, values, blq)

    # Pre-infusion baselines out; BLQ flagged or 0; missing visits out.
    is_blq = flag | (c == 0)
    keep = (t >= 0) & (~np.isnan(c) | is_blq)
    t, c, is_blq = t[keep], np.where(is_blq, np.nan, c)[keep], is_blq[keep]

    # Duplicate days: mean of the quantifiable values; BLQ only if all are BLQ.
    days_u, inverse, counts = np.unique(t, return_inverse=True, return_counts=True)
    if duplicates == "error" and (counts > 1).any():
        raise ValueError(f"days {days_u[counts > 1].tolist()}: more than one value on the same day "
                         "(duplicates='error')")
    n_q = np.bincount(inverse, weights=~is_blq, minlength=days_u.size)
    s_q = np.bincount(inverse, weights=np.where(is_blq, 0.0, c), minlength=days_u.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(n_q > 0, s_q / n_q, np.nan)
    t, is_blq = days_u, n_q == 0

    nan = float("nan")
    if t.size == 0:
        return NCAResult(nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, 0, 0, nan, (), (), auc,
                         window, NOTE_NO_DATA)

    notes: list[str] = []
    if is_blq.all():
        cmax, tmax = 0.0, nan
        notes.append(NOTE_NO_QUANTIFIABLE)
    else:
        cmax = float(np.max(c[~is_blq]))
        tmax = float(t[np.flatnonzero(~is_blq & (c == cmax))[0]])

    if blq_position is None:
        # BLQ rules relative to Tmax (all BLQ of an all-BLQ profile count as "before").
        after = is_blq & (t > tmax)
        before = is_blq & ~after
        use = ~is_blq | (before & (blq_before_tmax == "zero")) | (after & (blq_after_tmax == "zero"))
    else:
        # PKNCA's positional rule (all BLQ of an all-BLQ profile count as "first").
        quantified = t[~is_blq]
        first = is_blq & (t < (quantified[0] if quantified.size else np.inf))
        last = is_blq & ~first & (t > (quantified[-1] if quantified.size else -np.inf))
        use = _positional_use(is_blq, first, last, blq_position)
    t, c = t[use], np.where(is_blq, 0.0, c)[use]

    pos = np.flatnonzero(c > 0)
    clast, tlast = (float(c[pos[-1]]), float(t[pos[-1]])) if pos.size else (nan, nan)

    t1, c1, t2, c2 = t[:-1], c[:-1], t[1:], c[1:]
    logseg = _log_down(c1, c2, auc)
    areas = _segment_area(t1, c1, t2, c2, logseg)
    auc_last = 0.0
    for a, end_day in zip(areas.tolist(), t2.tolist(), strict=True):  # sequential sum, as nca_table
        if end_day <= tlast:
            auc_last += a

    auc_partial = nan
    if window is not None and t.size:
        start, end = window
        if start < t[0]:
            notes.append(NOTE_PARTIAL_START)
        if end > t[-1]:
            notes.append(NOTE_PARTIAL_END)
        if start >= t[0] and end <= t[-1]:
            auc_partial = 0.0
            for a in _partial_areas(t1, c1, t2, c2, logseg, start, end).tolist():
                auc_partial += a

    lambda_z = r2 = r2_adj = lz_start = nan
    lz_points = 0
    if not is_blq.all():
        term = (t > tmax) & (c > 0)
        tt, yy = t[term], np.log(c[term])
        if tt.size < min_lambda_points:
            notes.append(_note_few_points(min_lambda_points))
        else:
            # Shift by the last point so that a flat tail gives exact zeros (r^2 = 0/0 = NaN, as R).
            x, y = tt - tt[-1], yy - yy[-1]
            rev = slice(None, None, -1)
            sums = [np.cumsum(v[rev])[rev] for v in (x, y, x * x, x * y, y * y)]
            n = np.arange(tt.size, 0, -1, dtype=float)
            lam, r2s, adj = _fit_suffixes(n, *sums)
            cand = n >= min_lambda_points
            best = np.max(np.where(cand & ~np.isnan(adj), adj, -np.inf))
            ok = cand & (lam > 0) & (adj > best - adj_r2_tolerance)
            if ok.any():
                k = int(np.flatnonzero(ok)[0])  # earliest start = most points
                lambda_z, r2, r2_adj = float(lam[k]), float(r2s[k]), float(adj[k])
                lz_points, lz_start = int(n[k]), float(tt[k])
            else:
                notes.append(NOTE_NO_TERMINAL_FIT)
    half_life = math.log(2) / lambda_z if lambda_z == lambda_z else nan

    return NCAResult(
        cmax=cmax, tmax=tmax, clast=clast, tlast=tlast, auc_last=auc_last, auc_partial=auc_partial,
        lambda_z=lambda_z, half_life=half_life, r2_adj=r2_adj, r2=r2, n_points=int(t.size),
        lambda_z_points=lz_points, lambda_z_start=lz_start, days=tuple(t.tolist()),
        values=tuple(c.tolist()), auc_method=auc, partial=window, note="; ".join(notes),
    )


# ---------------------------------------------------------------------------------------------
# Whole-table NCA


def _segment_reduce(ufunc, values: np.ndarray, counts: np.ndarray, fill) -> np.ndarray:
    """ufunc.reduceat over consecutive segments of the given sizes; ``fill`` for empty ones."""
    out = np.full(counts.size, fill, dtype=np.result_type(values.dtype, np.asarray(fill).dtype))
    nonempty = counts > 0
    if values.size:
        starts = np.cumsum(counts) - counts
        out[nonempty] = ufunc.reduceat(values, starts[nonempty])
    return out


def _suffix_sums(values: np.ndarray, from_end: np.ndarray) -> np.ndarray:
    """Sum of each row's value and every later value of its profile, for stacked value rows.

    ``from_end`` is 0 for the last point of a profile, 1 for the one before ...
    Vectorised over profiles and looped over the position from the end (at most
    the longest profile's length), adding in the same order as a reversed
    ``np.cumsum`` of one profile, so the sums equal ``nca``'s bit for bit.
    """
    out = np.empty_like(values)
    order = np.argsort(from_end, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(from_end))])
    for k in range(bounds.size - 1):
        rows = order[bounds[k]:bounds[k + 1]]
        out[:, rows] = values[:, rows] if k == 0 else out[:, rows + 1] + values[:, rows]
    return out


def nca_table(
    df: pl.DataFrame,
    by: Sequence[str] = ("patient_id", "episode", "analyte"),
    day: str = "day",
    value: str = "value",
    *,
    blq: str | None = None,
    auc: str = "linear-up-log-down",
    partial: tuple[float, float] | None = (0, 28),
    blq_before_tmax: str = "zero",
    blq_after_tmax: str = "drop",
    blq_position: tuple[str, str, str] | None = None,
    duplicates: str = "mean",
    min_lambda_points: int = MIN_LAMBDA_POINTS,
    adj_r2_tolerance: float = ADJ_R2_TOLERANCE,
) -> pl.DataFrame:
    """NCA of every profile of a long table, one output row per ``by`` group.

    Same rules and results as ``nca`` (module docstring), computed with
    Polars and numpy segment operations over whole columns. ``blq`` names an
    optional boolean column flagging BLQ rows. Output columns: the ``by``
    columns, cmax, tmax, clast, tlast, auc_last, auc_partial, lambda_z,
    half_life, r2_adj, r2, n_points, lambda_z_points, lambda_z_start, note
    (NaN results are nulls; note is "" when there is nothing to say).
    Groups are sorted by ``by``.
    """
    import polars as pl

    window = _check_options(auc, blq_before_tmax, blq_after_tmax, duplicates, partial, min_lambda_points,
                            blq_position)
    by = list(by)
    needed = [*by, day, value] + ([blq] if blq else [])
    missing = [col for col in needed if col not in df.columns]
    if missing:
        raise ValueError(f"columns {missing}: not in the table (has {df.columns})")

    key = "__profile"
    frame = df.lazy().select(
        *[pl.col(b) for b in by],
        pl.col(day).cast(pl.Float64).alias("__t"),
        pl.col(value).cast(pl.Float64).alias("__c"),
        (pl.col(blq).cast(pl.Boolean).fill_null(False) if blq else pl.lit(False)).alias("__flag"),
    )
    if not by:
        frame = frame.with_columns(pl.lit(0).alias(key))
        by = [key]
    # One sort; input order is kept within a day so duplicates are averaged in the order nca sees them.
    frame = frame.sort([*by, "__t"], maintain_order=True, nulls_last=True).with_columns(
        pl.any_horizontal([pl.col(b).ne_missing(pl.col(b).shift(1)) for b in by]).fill_null(True)
        .alias("__new")
    ).collect()

    t = frame["__t"].to_numpy().astype(float)
    c = frame["__c"].fill_null(np.nan).to_numpy().astype(float)
    flag = frame["__flag"].to_numpy().astype(bool)
    if (~np.isfinite(t)).any():
        raise ValueError(f"column {day!r}: {int((~np.isfinite(t)).sum())} rows have no finite day; "
                         "every sample needs a day from infusion")
    bad = (c < 0) | np.isinf(c)
    if bad.any():
        raise ValueError(f"column {value!r}: values {c[bad][:5].tolist()} - a concentration must be finite "
                         "and >= 0")
    new_group = frame["__new"].to_numpy().astype(bool)
    if new_group.size:
        new_group[0] = True
    seg = np.cumsum(new_group) - 1
    n_seg = int(seg[-1]) + 1 if seg.size else 0
    result = frame.select(by).filter(pl.Series(new_group))

    # Pre-infusion baselines out; BLQ flagged or 0; missing visits out.
    is_blq = flag | (c == 0)
    keep = (t >= 0) & (~np.isnan(c) | is_blq)
    seg, t, c, is_blq = seg[keep], t[keep], np.where(is_blq, np.nan, c)[keep], is_blq[keep]
    no_data = np.bincount(seg, minlength=n_seg) == 0

    # Duplicate days: mean of the quantifiable values; BLQ only if all are BLQ.
    new_day = np.ones(t.size, dtype=bool)
    new_day[1:] = (seg[1:] != seg[:-1]) | (t[1:] != t[:-1])
    if not new_day.all():
        if duplicates == "error":
            dup_rows = np.flatnonzero(~new_day)[:5]
            where = [(*result.row(int(seg[i])), float(t[i])) for i in dup_rows]
            raise ValueError(f"{where}: more than one value on the same day (duplicates='error')")
        day_id = np.cumsum(new_day) - 1
        n_q = np.bincount(day_id, weights=~is_blq)
        s_q = np.bincount(day_id, weights=np.where(is_blq, 0.0, c))
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(n_q > 0, s_q / n_q, np.nan)
        seg, t, isblq = seg[new_day], t[new_day], n_q == 0
    else:
        isblq = is_blq
    counts = np.bincount(seg, minlength=n_seg)
    idx = np.arange(t.size)

    # Cmax and Tmax (first occurrence of the maximum).
    cq = np.where(isblq, -np.inf, c)
    cmax = _segment_reduce(np.maximum, cq, counts, -np.inf)
    all_blq = (cmax == -np.inf) & ~no_data
    first_max = _segment_reduce(np.minimum, np.where(~isblq & (cq == cmax[seg]), idx, t.size), counts, t.size)
    tmax = np.where(all_blq | no_data, np.nan, t[np.minimum(first_max, max(t.size - 1, 0))] if t.size else np.nan)
    cmax = np.where(all_blq, 0.0, cmax)

    if blq_position is None:
        # BLQ rules relative to Tmax.
        after = isblq & (t > tmax[seg])
        before = isblq & ~after
        use = ~isblq | (before & (blq_before_tmax == "zero")) | (after & (blq_after_tmax == "zero"))
    else:
        # PKNCA's positional rule: first / last quantified day of each profile (all-BLQ: all "first")
        first_q = _segment_reduce(np.minimum, np.where(isblq, np.inf, t), counts, np.inf)
        last_q = _segment_reduce(np.maximum, np.where(isblq, -np.inf, t), counts, -np.inf)
        first = isblq & (t < first_q[seg])
        use = _positional_use(isblq, first, isblq & ~first & (t > last_q[seg]), blq_position)
    seg, t, c = seg[use], t[use], np.where(isblq, 0.0, c)[use]
    counts = np.bincount(seg, minlength=n_seg)
    idx = np.arange(t.size)

    last_pos = _segment_reduce(np.maximum, np.where(c > 0, idx, -1), counts, -1)
    has_pos = last_pos >= 0
    clast = np.where(has_pos, c[np.maximum(last_pos, 0)] if t.size else np.nan, np.nan)
    tlast = np.where(has_pos, t[np.maximum(last_pos, 0)] if t.size else np.nan, np.nan)

    # Trapezoid segments within a profile.
    pair = seg[1:] == seg[:-1]
    pseg = seg[:-1][pair]
    t1, c1, t2, c2 = t[:-1][pair], c[:-1][pair], t[1:][pair], c[1:][pair]
    logseg = _log_down(c1, c2, auc)
    areas = _segment_area(t1, c1, t2, c2, logseg)
    auc_last = np.bincount(pseg, weights=np.where(t2 <= tlast[pseg], areas, 0.0), minlength=n_seg)

    t_first = _segment_reduce(np.minimum, t, counts, np.nan)
    t_last_obs = _segment_reduce(np.maximum, t, counts, np.nan)
    auc_partial = np.full(n_seg, np.nan)
    if window is not None:
        start, end = window
        pa = np.bincount(pseg, weights=_partial_areas(t1, c1, t2, c2, logseg, start, end), minlength=n_seg)
        ok = (counts > 0) & (start >= t_first) & (end <= t_last_obs)
        auc_partial = np.where(ok, pa, np.nan)
        starts_early = (counts > 0) & (start < t_first)
        ends_late = (counts > 0) & (end > t_last_obs)

    # Terminal phase: every suffix of the quantifiable points after Tmax, sums by group.
    term = (t > tmax[seg]) & (c > 0)
    tseg, tt, yy = seg[term], t[term], np.log(c[term])
    n_term = np.bincount(tseg, minlength=n_seg)
    lambda_z = np.full(n_seg, np.nan)
    r2 = np.full(n_seg, np.nan)
    r2_adj = np.full(n_seg, np.nan)
    lz_start = np.full(n_seg, np.nan)
    lz_points = np.zeros(n_seg, dtype=np.int64)
    if tt.size:
        ends = np.cumsum(n_term) - 1
        x = tt - tt[ends[tseg]]
        y = yy - yy[ends[tseg]]
        from_end = ends[tseg] - np.arange(tt.size)  # 0 for the last point of each profile
        n = (from_end + 1).astype(float)
        sums = _suffix_sums(np.stack([x, y, x * x, x * y, y * y]), from_end)
        lam, r2s, adj = _fit_suffixes(n, *sums)
        cand = n >= min_lambda_points
        best = _segment_reduce(np.maximum, np.where(cand & ~np.isnan(adj), adj, -np.inf), n_term, -np.inf)
        ok_fit = cand & (lam > 0) & (adj > best[tseg] - adj_r2_tolerance)
        tidx = np.arange(tt.size)
        chosen = _segment_reduce(np.minimum, np.where(ok_fit, tidx, tt.size), n_term, tt.size)
        got = chosen < tt.size
        k = chosen[got]
        lambda_z[got], r2[got], r2_adj[got] = lam[k], r2s[k], adj[k]
        lz_points[got] = n[k].astype(np.int64)
        lz_start[got] = tt[k]
    half_life = np.log(2) / lambda_z

    few = ~all_blq & ~no_data & (n_term < min_lambda_points)
    no_fit = ~all_blq & ~no_data & ~few & np.isnan(lambda_z)
    # Profiles with no usable observation at all (baseline only, all missing): NaN everywhere.
    cmax = np.where(no_data, np.nan, cmax)
    auc_last = np.where(no_data, np.nan, auc_last)
    # Same notes in the same order as ``nca``.
    note_parts = [
        pl.when(pl.lit(pl.Series(no_data))).then(pl.lit(NOTE_NO_DATA)),
        pl.when(pl.lit(pl.Series(all_blq))).then(pl.lit(NOTE_NO_QUANTIFIABLE)),
    ]
    if window is not None:
        note_parts += [
            pl.when(pl.lit(pl.Series(starts_early))).then(pl.lit(NOTE_PARTIAL_START)),
            pl.when(pl.lit(pl.Series(ends_late))).then(pl.lit(NOTE_PARTIAL_END)),
        ]
    note_parts += [
        pl.when(pl.lit(pl.Series(few))).then(pl.lit(_note_few_points(min_lambda_points))),
        pl.when(pl.lit(pl.Series(no_fit))).then(pl.lit(NOTE_NO_TERMINAL_FIT)),
    ]
    floats = {
        "cmax": cmax, "tmax": tmax, "clast": clast, "tlast": tlast, "auc_last": auc_last,
        "auc_partial": auc_partial, "lambda_z": lambda_z, "half_life": half_life, "r2_adj": r2_adj,
        "r2": r2,
    }
    result = result.with_columns(
        *[pl.Series(name, np.asarray(v, dtype=float)).fill_nan(None) for name, v in floats.items()],
        pl.Series("n_points", counts.astype(np.int64)),
        pl.Series("lambda_z_points", lz_points),
        pl.Series("lambda_z_start", lz_start).fill_nan(None),
    ).with_columns(pl.concat_str(note_parts, separator="; ", ignore_nulls=True).fill_null("").alias("note"))
    if by == [key]:
        result = result.drop(key)
    return result
