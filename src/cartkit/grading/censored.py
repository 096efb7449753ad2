"""Grading with qualified laboratory results (``<0.1``, ``>100000``, ``BLQ``): graded at both ends.

A qualified result is an interval, not a number (cartkit.study.qualified): ``<x`` is [0, x), ``<=x`` is
[0, x], ``>x`` is (x, inf), ``>=x`` is [x, inf), a below-limit result without a limit (``ND``) is [0, inf).
CTCAE v5.0 defines each grade of a laboratory term by a range of the value (NCI, Common Terminology
Criteria for Adverse Events v5.0, 27 Nov 2017: neutrophil count decreased grade 4 "<0.5 x 10e9 /L"), and the
EHA/EBMT ICAHT, T-ICAHT, CAR-HEMATOTOX and EASIX are likewise monotone in each count. So a grade computed
with every qualified result at the *severe* end of its interval (a count at its lowest, a ferritin or LDH at
its highest) and again at its *mild* end brackets every grade the true values could have: when the two agree
the grade is known (ANC ``<0.1`` is grade 4: every value below 0.1 is below 0.5), and when they differ it is
not evaluable (null), never the grade of the limit taken as the value (``<0.6`` is grade 3 or 4: null). In
threshold terms: ``<x`` satisfies "below t" for every t >= x, ``>x`` satisfies "above t" for every t <= x,
and neither says anything about a threshold inside its interval. pharmaverse admiral grades from ``AVAL`` only,
so its ADLB leaves a "<x" result (LBSTRESN null) ungraded (``derive_var_atoxgr_dir``); cartkit grades what
the interval decides. A study without qualified results is graded once, exactly as before.

IEC-HS is not graded this way (its ferritin and transaminase criteria are relative to the patient's own
baseline, so the grade is not monotone in one value): each feature is compared at both ends of its value's and
its baseline's intervals instead (cartkit.grading.iec_hs). Scalar graders read a qualified result written as
text (``"<0.1"``, ``">=5000"``, ``"BLQ"``) with :func:`interval_of`, at the same ends as :func:`at_end`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import polars as pl

# analytes whose low values are the toxicity (cytopenias, hypofibrinogenaemia, hypotension); every other
# analyte graded is worse when high (CRP, ferritin, LDH, creatinine, temperature)
LOWER_IS_WORSE = frozenset({"anc", "alc", "wbc", "platelets", "hemoglobin", "fibrinogen", "sbp", "igg"})
# the open end of ``<x`` / ``>x``: just inside x (also derive/response.py's below-limit M-protein), so that "<0.5" is below the threshold 0.5
INSIDE = 1e-9
# the unbounded end of ``>x`` and of a below-limit result without a limit: above any threshold
_UNBOUNDED = 1e12
ENDS = ("severe", "mild")


def interval_of(value: Any) -> tuple[float, float] | None:
    """The lowest and highest value a qualified result written as text stands for, or None when ``value`` is
    not qualified text (a number, None, other text: the caller reads those as before).

    ``"<x"`` and ``"<=x"`` (also ``=<``, ``≤``) run from 0 to just inside x (to x itself for ``<=``), ``">x"``
    and ``">=x"`` from just above x (x itself for ``>=``) to unbounded, and a below-limit word without a
    number (``BLQ``, ``ND``, ``not detected``: cartkit.study.qualified.BELOW_WORDS) from 0 to unbounded: the
    same ends as :func:`at_end` gives a measurement row, so a scalar grader and the frame path agree.

        >>> interval_of("<=0.5"), interval_of(">=100"), interval_of("ND")
        ((0.0, 0.5), (100.0, 1000000000000.0), (0.0, 1000000000000.0))
        >>> interval_of(0.4) is None and interval_of("7") is None
        True
    """
    from cartkit.study.qualified import BELOW_WORDS, NUMBER_PATTERN, SIGN_PATTERN, SIGNS

    if not isinstance(value, str):
        return None
    text = value.strip()
    if " ".join(text.lower().split()) in BELOW_WORDS:
        return 0.0, _UNBOUNDED
    m = re.match(rf"^{SIGN_PATTERN}\s*{NUMBER_PATTERN}$", text)  # the spellings the loader reads
    if m is None:
        return None
    sign, x = SIGNS[m.group(1)], float(m.group(2))
    if sign == "<":
        return 0.0, x * (1 - INSIDE)
    if sign == "<=":
        return 0.0, x
    if sign == ">":
        return x * (1 + INSIDE) + INSIDE, _UNBOUNDED
    return x, _UNBOUNDED


def has_qualified(measurements: pl.DataFrame, analytes: Sequence[str] | None = None) -> bool:
    """Whether any row (of ``analytes``, when given) is a qualified result (a qualifier, or blq with no value)."""
    if "qualifier" in measurements.columns:
        flagged = pl.col("qualifier").is_not_null()
    elif "blq" in measurements.columns:
        flagged = pl.col("blq").fill_null(False) & pl.col("value").is_null()
    else:
        return False
    if analytes is not None:
        flagged = flagged & pl.col("analyte").is_in(list(analytes))
    return bool(measurements.select(flagged.any()).item())


def at_end(measurements: pl.DataFrame, end: str) -> pl.DataFrame:
    """``measurements`` with each qualified result's ``value`` at the ``end`` ("severe" or "mild") of its
    interval; plain values as they are."""
    if end not in ENDS:
        raise ValueError(f"end={end!r}: must be one of {ENDS}")
    q = pl.col("qualifier") if "qualifier" in measurements.columns else pl.lit(None, dtype=pl.String)
    lloq = pl.col("lloq") if "lloq" in measurements.columns else pl.lit(None, dtype=pl.Float64)
    uloq = pl.col("uloq") if "uloq" in measurements.columns else pl.lit(None, dtype=pl.Float64)
    below = q.is_in(["<", "<=", "ND"]).fill_null(False) | (
        pl.col("blq").fill_null(False) & pl.col("value").is_null() if "blq" in measurements.columns else False)
    # the interval [low, high] of each qualified result (plain values: value, value)
    high_of_below = (pl.when(lloq.is_null()).then(pl.lit(_UNBOUNDED))
                     .when(q == "<=").then(lloq).otherwise(lloq * (1 - INSIDE)))
    low_of_above = pl.when(q == ">").then(uloq * (1 + INSIDE) + INSIDE).otherwise(uloq)
    low = pl.when(below).then(pl.lit(0.0)).when(q.is_in([">", ">="])).then(low_of_above).otherwise(pl.col("value"))
    high = pl.when(below).then(high_of_below).when(q.is_in([">", ">="])).then(pl.lit(_UNBOUNDED)).otherwise(
        pl.col("value"))
    lower_worse = pl.col("analyte").is_in(list(LOWER_IS_WORSE))
    severe = (end == "severe")
    out = measurements.with_columns(value=pl.when(lower_worse == severe).then(low).otherwise(high))
    # the rows are numbers now (one end of their interval): no longer qualified
    if "qualifier" in out.columns:
        out = out.with_columns(qualifier=pl.lit(None, dtype=pl.String))
    return out.with_columns(blq=pl.lit(False)) if "blq" in out.columns else out


def agreed(severe: pl.DataFrame, mild: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """``severe`` where both ends give the same value, null where they differ (column by column; the rows of
    both frames are the same groups, as the graders make one row per group whatever the values)."""
    if severe.height != mild.height or severe.columns != mild.columns:  # pragma: no cover - grader contract
        raise ValueError("the two ends of a grading differ in their rows or columns")
    mild = severe.select(keys).join(mild, on=list(keys), how="left", nulls_equal=True)
    return severe.with_columns(
        pl.when(pl.col(c).eq_missing(mild[c])).then(pl.col(c)).otherwise(None).alias(c)
        for c in severe.columns if c not in keys)


def graded_at_both_ends(study: Any, grade: Callable[..., pl.DataFrame], keys: Sequence[str], *args: Any,
                        **kwargs: Any) -> pl.DataFrame:
    """``grade(study, *args, **kwargs)`` run with the study's qualified measurements at their severe end and
    at their mild end, agreed (``agreed``). Call it only when ``has_qualified``: the two runs see no
    qualified result, so a grader that starts with this test calls itself once per end."""
    def run(end: str) -> pl.DataFrame:
        tables = {**study.tables, "measurements": at_end(study.tables["measurements"], end)}
        return grade(replace(study, tables=tables), *args, **kwargs)

    return agreed(run("severe"), run("mild"), keys)
