"""B-ALL response after CAR-T: CR, CRi or NR, and MRD negativity.

Criteria: ``criteria/b_all.toml`` (NCCN ALL; Maude 2014/2018).

    >>> all_response(2.0, False, False, anc=1.5, platelets=120)
    'CR'
    >>> all_response(2.0, False, False, anc=0.8, platelets=120)
    'CRi'
    >>> mrd_negative(0.005)
    True
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cartkit.grading.criteria_data import read_criteria_file

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

CRITERIA = Path(__file__).with_name("criteria") / "b_all.toml"


def b_all_criteria() -> dict[str, Any]:
    return read_criteria_file(CRITERIA)


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def all_response(
    marrow_blasts_pct: float,
    circulating_blasts: bool,
    extramedullary: bool,
    anc: float | None,
    platelets: float | None,
) -> str | None:
    """B-ALL response "CR", "CRi" or "NR" (ANC and platelets in 10^9/L).

    Marrow in remission but a count missing: "CR" cannot be told from "CRi" and the
    answer is None (unless a known count already makes it CRi).
    """
    spec = b_all_criteria()
    if _missing(marrow_blasts_pct):
        raise ValueError("all_response needs marrow_blasts_pct (B-ALL response)")
    if not 0 <= marrow_blasts_pct <= 100:
        raise ValueError(f"marrow_blasts_pct {marrow_blasts_pct!r} is outside 0-100")
    if marrow_blasts_pct >= spec["max_marrow_blasts_pct"] or circulating_blasts or extramedullary:
        return "NR"
    low = [
        (not _missing(anc) and anc < spec["min_anc"]),
        (not _missing(platelets) and platelets < spec["min_platelets"]),
    ]
    if any(low):
        return "CRi"
    if _missing(anc) or _missing(platelets):
        return None
    return "CR"


def all_response_expr(
    marrow_blasts_pct: pl.Expr,
    circulating_blasts: pl.Expr,
    extramedullary: pl.Expr,
    anc: pl.Expr,
    platelets: pl.Expr,
) -> pl.Expr:
    """:func:`all_response` over whole columns; null where blasts are missing or CR/CRi is undetermined.

    Missing circulating-blast / extramedullary flags are taken as absent.
    """
    import polars as pl

    spec = b_all_criteria()
    fails = (
        (marrow_blasts_pct >= spec["max_marrow_blasts_pct"])
        | circulating_blasts.fill_null(False)
        | extramedullary.fill_null(False)
    )
    low = (anc < spec["min_anc"]).fill_null(False) | (platelets < spec["min_platelets"]).fill_null(False)
    return (
        pl.when(marrow_blasts_pct.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(fails)
        .then(pl.lit("NR"))
        .when(low)
        .then(pl.lit("CRi"))
        .when(anc.is_null() | platelets.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.lit("CR"))
    )


def mrd_negative(mrd_pct: float | None, cutoff_pct: float | None = None) -> bool | None:
    """True when MRD (% of nucleated cells) is below the cut-off (default 0.01% = 10^-4); None if missing."""
    if _missing(mrd_pct):
        return None
    cutoff = b_all_criteria()["mrd_negative_below_pct"] if cutoff_pct is None else cutoff_pct
    if mrd_pct < 0:
        raise ValueError(f"mrd_pct {mrd_pct!r} is negative")
    return mrd_pct < cutoff


def mrd_negative_expr(mrd_pct: pl.Expr, cutoff_pct: float | None = None) -> pl.Expr:
    cutoff = b_all_criteria()["mrd_negative_below_pct"] if cutoff_pct is None else cutoff_pct
    return mrd_pct < cutoff
