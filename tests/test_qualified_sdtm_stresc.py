"""An SDTM --STRESC qualified result reads as the study loader reads a qualified cell (interop/sdtm_import.py
_stresc_qualifier uses cartkit.study.qualified's SIGN_PATTERN, NUMBER_PATTERN and SIGNS). CDISC SDTMIG v3.4,
section 6.3.5 (LB): --STRESC carries "<0.5" and --STRESN is null for a result that is not a plain number.
Before, the import had its own pattern (<, <=, >, >= and a number with leading digits only): '=<2', '≥5' and
'<.5', which a CSV cell reads as qualified, were not qualified in an import (the record was dropped)."""

from __future__ import annotations

import polars as pl
import pytest

from cartkit.grading.censored import interval_of
from cartkit.interop.sdtm_import import _stresc_qualifier

CASES = [  # --STRESC -> qualifier, limit (hand-read: the sign and the number as written)
    ("<3.42", "<", 3.42), (">=100", ">=", 100.0), (" < 0.5 ", "<", 0.5), (">1e3", ">", 1000.0),
    ("=<2", "<=", 2.0), ("≤2", "<=", 2.0), ("=>5", ">=", 5.0), ("≥5", ">=", 5.0), ("<.5", "<", 0.5),
    ("BLQ", "ND", None), ("not detected", "ND", None),
    ("3.1", None, None), ("<abc", None, None), ("<", None, None), ("POSITIVE", None, None),
]


@pytest.mark.parametrize("text, qualifier, limit", CASES)
def test_stresc_qualifier(text, qualifier, limit):
    got = pl.select(_stresc_qualifier(pl.lit(text, dtype=pl.String)).alias("r")).unnest("r").row(0)
    assert got == (qualifier, limit)


@pytest.mark.parametrize("text, qualifier, limit", [c for c in CASES if c[1] not in (None, "ND")])
def test_stresc_limit_is_the_loaders_interval_end(text, qualifier, limit):
    low, high = interval_of(text)
    assert (high == limit) if qualifier == "<=" else (low == limit) if qualifier == ">=" else True
    assert (low == 0.0) if qualifier.startswith("<") else (high > 1e11)
