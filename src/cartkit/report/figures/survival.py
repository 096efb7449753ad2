"""Figure 2D: Kaplan-Meier PFS and OS by group, censoring marks, numbers at risk, log-rank P.

Numbers at risk come from the analysis stage's ``at_risk`` table (data, not recomputed
here) and are drawn in the curve's own axes at the same x values as its ticks (a blended
transform: x in data units, y in axes units below the axis), so they line up with the
ticks for any number of groups and any axis width.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from cartkit.analysis.formatting import format_p
from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.labels import panel_letter
from cartkit.report.style import SMALL_FONT_PT, group_colors, new_figure
from cartkit.study.plan_endpoint import HsctRule

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

ENDPOINT_LABEL = {"PFS": "Progression-free survival", "OS": "Overall survival"}


def draw_km_panel(ax: Axes, ax_risk: Axes, curves: pl.DataFrame, at_risk: pl.DataFrame, groups: list[str],
                  colors: dict[str, str], logrank: dict | None = None) -> dict:
    """Draw one endpoint's curves into ``ax`` and its numbers at risk into ``ax_risk``.

    ``ax_risk`` shares x with ``ax`` (same limits, same scale), and every at-risk number is
    placed at the x of one of the curve's ticks. Returns the tick positions, the x positions
    and texts of the at-risk numbers per group, and both axes' x limits, so a test can check
    that they line up.
    """
    from matplotlib.transforms import blended_transform_factory

    ticks = sorted(set(at_risk["time"].to_list()))
    label_x: dict[str, list[float]] = {}
    label_text: dict[str, list[str]] = {}
    xmax = max(ticks[-1] if ticks else 0.0, float(curves["time"].max() or 0.0))
    for g in groups:
        c = curves.filter(pl.col("group") == g).sort("time")
        if c.height == 0:
            continue
        ax.step(c["time"].to_numpy(), c["survival"].to_numpy(), where="post", color=colors[g], label=g,
                lw=1.3)
        cens = c.filter(pl.col("n_censor") > 0)
        ax.plot(cens["time"].to_numpy(), cens["survival"].to_numpy(), ls="none", marker="|",
                ms=6, mew=1.0, color=colors[g])
    ax.set_xticks(ticks)
    ax.set_xlim(-0.02 * xmax, xmax * 1.03 if xmax else 1.0)
    ax.set_ylim(-0.02, 1.05)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25", "50", "75", "100"])
    unit = curves["time_unit"][0] if "time_unit" in curves.columns and curves.height else "days"
    ax.set_xlabel(f"{unit.capitalize()} from infusion")
    if logrank is not None and logrank.get("pvalue") is not None:
        ax.text(0.97, 0.95, f"Log-rank P = {format_p(logrank['pvalue'])}".replace("= <", "< "),
                transform=ax.transAxes, ha="right", va="top")
    ax.legend(loc="lower left", handlelength=1.5, title=None)
    # numbers at risk: x in data units (the curve's ticks), y in rows of the at-risk axes
    ax_risk.set_axis_off()
    trans = blended_transform_factory(ax_risk.transData, ax_risk.transAxes)
    n_rows = len(groups) + 1
    ax_risk.text(0.0, 1 - 0.5 / n_rows, "No. at risk", transform=ax_risk.transAxes, ha="left",
                 va="center", fontsize=SMALL_FONT_PT, fontweight="bold")
    for i, g in enumerate(groups):
        y = 1 - (i + 1.5) / n_rows
        rows = at_risk.filter(pl.col("group") == g).sort("time")
        xs = [float(x) for x in rows["time"].to_list()]
        texts = [str(int(n)) for n in rows["n_risk"].to_list()]
        for x, txt in zip(xs, texts, strict=True):
            ax_risk.text(x, y, txt, transform=trans, ha="center", va="center", fontsize=SMALL_FONT_PT,
                         color=colors[g])
        ax_risk.text(-0.04, y, g, transform=ax_risk.transAxes, ha="right", va="center",
                     fontsize=SMALL_FONT_PT, color=colors[g])
        label_x[g] = xs
        label_text[g] = texts
    return {"ticks": [float(t) for t in ax.get_xticks()], "label_x": label_x, "label_text": label_text,
            "xlim_curve": tuple(ax.get_xlim()), "xlim_at_risk": tuple(ax_risk.get_xlim())}


def _order(values: list[str], preferred: list[str]) -> list[str]:
    return [v for v in preferred if v in values] + [v for v in values if v not in preferred]


def survival_figure(results: Results, return_layout: bool = False):
    """Fig 2D: one panel per endpoint (columns) and censoring rule (rows)."""
    curves = results.get("survival_curves")
    at_risk = results.get("at_risk")
    if curves is None or at_risk is None:
        raise NotApplicable("survival figure needs the survival_curves and at_risk tables")
    logrank = results.get("logrank")
    endpoints = _order(curves["endpoint"].unique(maintain_order=True).to_list(), ["PFS", "OS"])
    censorings = _order(curves["censoring"].unique(maintain_order=True).to_list(), [HsctRule.CENSOR.label])
    groups = _order(curves["group"].unique(maintain_order=True).to_list(), [])
    colors = group_colors(groups)
    nrow, ncol = len(censorings), len(endpoints)
    risk_h = 0.11 * (len(groups) + 1)
    fig, _ = new_figure("double" if ncol > 1 else "single", nrow * (2.3 + risk_h) + 0.1, axes=False)
    grid = fig.add_gridspec(nrow, ncol)
    layout: dict[tuple[str, str], dict] = {}
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for r, cens in enumerate(censorings):
        for c, endpoint in enumerate(endpoints):
            cell = grid[r, c].subgridspec(2, 1, height_ratios=[2.3, risk_h + 0.05])
            ax = fig.add_subplot(cell[0])
            ax_risk = fig.add_subplot(cell[1], sharex=ax)
            sel = (pl.col("endpoint") == endpoint) & (pl.col("censoring") == cens)
            lr = None
            if logrank is not None:
                lr_rows = logrank.filter(sel)
                lr = lr_rows.to_dicts()[0] if lr_rows.height else None
            layout[(endpoint, cens)] = draw_km_panel(ax, ax_risk, curves.filter(sel), at_risk.filter(sel),
                                                     groups, colors, lr)
            ax.set_ylabel(f"{ENDPOINT_LABEL.get(endpoint, endpoint)} (%)")
            panel_letter(ax, next(letters), f"{endpoint}, {cens}")
    if return_layout:
        return fig, layout
    return fig
