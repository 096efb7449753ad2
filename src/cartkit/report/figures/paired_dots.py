"""Paired dot plots (figures 1, 4 and 7): one dot per patient per product, a grey line joining the same
patient's products, a black bar at each product's median (of everyone, drawn or not)."""

from __future__ import annotations

import numpy as np
import polars as pl

from cartkit.report.style import GREY, SMALL_FONT_PT
from cartkit.report.svg import Axes

# Beyond this many patients, individual lines and dots are drawn for every k-th patient only
# (medians, IQR bands and statistics always use everyone): 100,000 lines would make an
# unreadable figure and a page-sized SVG. The panel then says how many are drawn.
MAX_DRAWN = 300


def thin(ax: Axes, n: int) -> int:
    """Step k so that at most MAX_DRAWN of n patients are drawn; notes the thinning on the panel."""
    step = max(1, -(-n // MAX_DRAWN))
    if step > 1:
        ax.text(0.98, 0.02, f"{len(range(0, n, step))} of {n} patients drawn", ha="right", va="bottom",
                size=SMALL_FONT_PT, color=GREY, xcoord="axes", ycoord="axes", cls="thinned")
    return step


def product_ticks(products: list[str]) -> list[str]:
    """Product names as category labels, the first word on its own line ('CD19\\nCAR-T')."""
    return [p.replace(" ", "\n", 1) for p in products]


def draw_paired(ax: Axes, params: pl.DataFrame, products: list[str], column: str, colors: dict[str, str]) -> None:
    wide = params.pivot(on="product", index="patient_id", values=column, aggregate_function="first")
    present = [p for p in products if p in wide.columns]
    full = wide.select(present).to_numpy().astype(float)
    mat = full[::thin(ax, full.shape[0])]
    n = mat.shape[0]
    jitter = ((np.arange(n) % 5) - 2) * 0.05  # deterministic spread so equal values (days) stay visible
    xs = np.arange(len(present))[None, :] + jitter[:, None]
    both = np.isfinite(mat).all(axis=1)
    if len(present) > 1:
        for row_x, row_y in zip(xs[both], mat[both], strict=True):
            ax.line(row_x, row_y, GREY, width=0.5, opacity=0.7, z=1, cls="same-patient")
    for j, p in enumerate(present):
        ax.markers(xs[:, j], mat[:, j], "o", colors[p], size=3.5, edge="#ffffff", width=0.3, z=2, cls="dot")
        col = full[:, j][np.isfinite(full[:, j])]
        if col.size:
            med = float(np.median(col))
            ax.line([j - 0.25, j + 0.25], [med, med], "#000000", width=1.4, z=3, cls="median")
    ax.set_xticks(range(len(present)), product_ticks(present))
    ax.xlim = (-0.5, len(present) - 0.5)
