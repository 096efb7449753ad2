"""Operating characteristics of a two-stage (or single-stage) design over a grid of true response rates.

For each true rate p: P(declare promising | p) (the power curve; at p0 it is the attained type I
error), PET(p) = P(stop after stage 1 | p) and E[N | p] = n1 + (1 - PET(p)) (n - n1), from the
exact binomial sums in ``cartkit.design.simon.two_stage_probabilities``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cartkit.design.errors import DesignError
from cartkit.design.simon import two_stage_probabilities

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from matplotlib.figure import Figure

    from cartkit.design.simon import SimonDesign
    from cartkit.design.single_stage import SingleStageDesign


def _grid(p: object | None) -> np.ndarray:
    grid = np.linspace(0.0, 1.0, 41) if p is None else np.atleast_1d(np.asarray(p, dtype=float))
    if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any((grid < 0) | (grid > 1)):
        raise DesignError(f"true response rates must be between 0 and 1, got {np.asarray(p).tolist()}")
    return grid


def operating_characteristics(design: SimonDesign | SingleStageDesign, p: object | None = None) -> pl.DataFrame:
    """p, p_promising, pet, expected_n for each true response rate (default 0, 0.025, ..., 1).

    Examples
    --------
    >>> from cartkit.design import simon_two_stage
    >>> oc = operating_characteristics(simon_two_stage(0.2, 0.4), [0.2, 0.4])
    >>> [round(v, 4) for v in oc["p_promising"]], [round(v, 2) for v in oc["expected_n"]]
    ([0.0496, 0.8002], [20.58, 37.94])
    """
    import polars as pl

    grid = _grid(p)
    promising, pet, en = two_stage_probabilities(design.r1, design.n1, design.r, design.n, grid)
    return pl.DataFrame({"p": grid, "p_promising": promising, "pet": pet, "expected_n": en})


def operating_characteristics_figure(design: SimonDesign | SingleStageDesign, p: object | None = None) -> Figure:
    """The power curve and PET (left axis) and E[N] (right axis) against the true response rate."""
    from matplotlib.figure import Figure

    oc = operating_characteristics(design, np.linspace(0.0, 1.0, 201) if p is None else p)
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(oc["p"], oc["p_promising"], color="#1f77b4", label="P(declare promising)")
    if design.r1 >= 0:
        ax.plot(oc["p"], oc["pet"], color="#d62728", linestyle="--", label="P(stop after stage 1)")
    for rate, name in ((design.p0, "p0"), (design.p1, "p1")):
        ax.axvline(rate, color="grey", linewidth=0.8, linestyle=":")
        ax.annotate(f"{name} = {rate:g}", (rate, 1.02), xycoords=("data", "axes fraction"), ha="center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("true response rate")
    ax.set_ylabel("probability")
    right = ax.twinx()
    right.plot(oc["p"], oc["expected_n"], color="#2ca02c", linestyle="-.", label="expected N")
    right.set_ylim(0, design.n * 1.05)
    right.set_ylabel("expected number of patients")
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="center right", fontsize=8, frameon=False)
    stages = (f"stop if <= {design.r1}/{design.n1}, " if design.r1 >= 0 else "")
    ax.set_title(f"{design.criterion}: {stages}promising if > {design.r}/{design.n}", fontsize=10, pad=14)
    return fig
