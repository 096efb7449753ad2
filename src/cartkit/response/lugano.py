"""Lugano 2014 response of lymphoma: PET-CT (Deauville) and CT (perpendicular diameters).

Criteria: ``criteria/lugano_2014.toml`` (Cheson 2014, Table 3).

    >>> lugano_pet(3)
    'CMR'
    >>> lugano_pet(4, "unchanged")
    'NMR'
    >>> lugano_ct([(40, 30)], [(18, 10)])       # SPD 1200 -> 180: >= 50% decrease
    'PR'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cartkit.grading.criteria_data import read_criteria_file

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

CRITERIA = Path(__file__).with_name("criteria") / "lugano_2014.toml"
UPTAKE = ("decreased", "unchanged", "increased")


def lugano_criteria() -> dict[str, Any]:
    return read_criteria_file(CRITERIA)


def lugano_pet(deauville: int, uptake_vs_baseline: str = "decreased", new_lesions: bool = False) -> str:
    """Metabolic response: "CMR", "PMR", "NMR" or "PMD" (Deauville 1-5)."""
    pet = lugano_criteria()["pet"]
    if deauville not in (1, 2, 3, 4, 5):
        raise ValueError(f"deauville {deauville!r} is not a Deauville score 1-5 (Lugano 2014)")
    if uptake_vs_baseline not in pet["uptake"]:
        raise ValueError(f"uptake_vs_baseline {uptake_vs_baseline!r} is not one of {tuple(pet['uptake'])}")
    if new_lesions:
        return pet["new_lesions"]
    if deauville <= pet["cmr_max_deauville"]:
        return "CMR"
    return pet["uptake"][uptake_vs_baseline]


def lugano_pet_expr(deauville: pl.Expr, uptake_vs_baseline: pl.Expr, new_lesions: pl.Expr) -> pl.Expr:
    """:func:`lugano_pet` over whole columns; null when the Deauville score is missing.

    A missing uptake with Deauville 4-5 gives null (PMR/NMR/PMD cannot be told apart);
    a missing new_lesions flag is taken as no new lesions.
    """
    import polars as pl

    pet = lugano_criteria()["pet"]
    uptake = uptake_vs_baseline.replace_strict(dict(pet["uptake"]), default=None, return_dtype=pl.String)
    return (
        pl.when(deauville.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(new_lesions.fill_null(False))
        .then(pl.lit(pet["new_lesions"]))
        .when(deauville <= pet["cmr_max_deauville"])
        .then(pl.lit("CMR"))
        .otherwise(uptake)
    )


def _lesions(name: str, lesions: Sequence[Sequence[float]], limit: int) -> list[tuple[float, float]]:
    out = []
    for item in lesions:
        if len(item) != 2:
            raise ValueError(f"{name}: each lesion is (longest, shortest) diameter in mm, got {item!r}")
        ldi, sdi = float(item[0]), float(item[1])
        if ldi < 0 or sdi < 0:
            raise ValueError(f"{name}: diameters must be >= 0 mm, got {item!r}")
        out.append((ldi, sdi))
    if not 1 <= len(out) <= limit:
        raise ValueError(f"{name}: Lugano uses 1 to {limit} target lesions, got {len(out)}")
    return out


def lugano_ct(
    baseline: Sequence[Sequence[float]],
    current: Sequence[Sequence[float]],
    nadir: Sequence[Sequence[float]] | None = None,
    new_lesions: bool = False,
    *,
    size_reference: str | None = None,
) -> str:
    """Radiological response "CR", "PR", "SD" or "PD" from target-lesion diameters (mm).

    ``baseline``, ``current`` and ``nadir`` list (longest, shortest) diameters of the
    same lesions in the same order; ``nadir`` defaults, per lesion, to whichever of
    baseline and current has the smaller product. PD by one lesion is enough.
    """
    ct = lugano_criteria()["ct"]
    limit = ct["max_target_lesions"]
    base = _lesions("baseline", baseline, limit)
    cur = _lesions("current", current, limit)
    if len(base) != len(cur):
        raise ValueError(
            f"baseline has {len(base)} lesions but current has {len(cur)}: give the same lesions"
        )
    if nadir is None:
        low = [min(b, c, key=lambda p: p[0] * p[1]) for b, c in zip(base, cur, strict=True)]
    else:
        low = _lesions("nadir", nadir, limit)
        if len(low) != len(cur):
            raise ValueError(
                f"nadir has {len(low)} lesions but current has {len(cur)}: give the same lesions"
            )
    if new_lesions:
        return "PD"
    reference = size_reference or ct["pd_size_reference"]
    if reference not in ("nadir", "current"):
        raise ValueError(f"size_reference={reference!r}: must be 'nadir' or 'current'")
    for (ldi, sdi), (n_ldi, n_sdi) in zip(cur, low, strict=True):
        size = n_ldi if reference == "nadir" else ldi
        step = (
            ct["pd_min_diameter_increase_small_mm"]
            if size <= ct["pd_small_lesion_max_ldi_mm"]
            else ct["pd_min_diameter_increase_large_mm"]
        )
        ppd, n_ppd = ldi * sdi, n_ldi * n_sdi
        if (
            ldi > ct["pd_min_ldi_mm"]
            and ppd >= (1 + ct["pd_min_ppd_increase"]) * n_ppd
            and ppd > n_ppd
            and (ldi - n_ldi >= step or sdi - n_sdi >= step)
        ):
            return "PD"
    if all(ldi <= ct["cr_max_ldi_mm"] for ldi, _ in cur):
        return "CR"
    spd_base = sum(a * b for a, b in base)
    spd_cur = sum(a * b for a, b in cur)
    if spd_base <= 0:
        raise ValueError("baseline SPD is 0: no measurable target lesion at baseline")
    if spd_cur <= (1 - ct["pr_min_spd_decrease"]) * spd_base:
        return "PR"
    return "SD"
