"""Figure 2D: Kaplan-Meier PFS and OS by group, censoring marks, numbers at risk, log-rank P.

Numbers at risk come from the analysis stage's ``at_risk`` table (data, not recomputed
here) and are drawn in rows below each panel at the x of the curve's ticks (the same axis
scale), so they line up with the ticks for any number of groups and any axis width. Drawn by
cartkit's own SVG writer (report/svg).
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.formatting import format_p
from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.labels import panel_title
from cartkit.report.style import group_colors
from cartkit.report.svg import Axes, Entry, Figure, Legend
from cartkit.study.plan_endpoint import HsctRule

ENDPOINT_LABEL = {"PFS": "Progression-free survival", "OS": "Overall survival"}


def draw_km_panel(ax: Axes, curves: pl.DataFrame, at_risk: pl.DataFrame, groups: list[str],
                  colors: dict[str, str], logrank: dict | None = None) -> dict:
    """Draw one endpoint's curves, censoring ticks and numbers at risk into ``ax``.

    Every at-risk number is placed at the x of one of the curve's ticks. Returns the tick
    positions, the x positions and texts of the at-risk numbers per group, and the x limits
    (the at-risk rows use the curve's own axis), so a test can check that they line up.
    """
    ticks = sorted(set(at_risk["time"].to_list()))
    label_x: dict[str, list[float]] = {}
    label_text: dict[str, list[str]] = {}
    xmax = max(ticks[-1] if ticks else 0.0, float(curves["time"].max() or 0.0))
    drawn = []
    curve_rows = _rows_by_group(curves, "time", "survival", "n_censor")
    for g in groups:
        c = curve_rows.get(g, [])
        if not c:
            continue
        drawn.append(g)
        ax.step([t for t, _, _ in c], [s for _, s, _ in c], colors[g], width=1.3, cls="km-curve")
        cens = [(t, s) for t, s, n in c if n is not None and n > 0]
        ax.markers([t for t, _ in cens], [s for _, s in cens], "|", colors[g], size=6, width=1.0, cls="censor")
    ax.set_xticks(ticks)
    ax.xlim = (-0.02 * xmax, xmax * 1.03 if xmax else 1.0)
    ax.ylim = (-0.02, 1.05)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25", "50", "75", "100"])
    unit = curves["time_unit"][0] if "time_unit" in curves.columns and curves.height else "days"
    ax.xlabel = f"{unit.capitalize()} from infusion"
    if logrank is not None and logrank.get("pvalue") is not None:
        ax.text(0.97, 0.95, f"Log-rank P = {format_p(logrank['pvalue'])}".replace("= <", "< "), ha="right", va="top",
                xcoord="axes", ycoord="axes", cls="pvalue")
    ax.legend = Legend([Entry(g, "line", colors[g], width=1.3) for g in drawn], loc="lower left", handle_len=1.5)
    rows = []
    risk_rows = _rows_by_group(at_risk, "time", "n_risk")
    for g in groups:
        sel = risk_rows.get(g, [])
        xs = [float(x) for x, _ in sel]
        texts = [str(int(n)) for _, n in sel]
        rows.append((g, colors[g], list(zip(xs, texts, strict=True))))
        label_x[g] = xs
        label_text[g] = texts
    ax.rows_below = ("No. at risk", rows)
    return {"ticks": [float(t) for t in ticks], "label_x": label_x, "label_text": label_text,
            "xlim_curve": ax.xlim, "xlim_at_risk": ax.xlim}


def _rows_by_group(frame: pl.DataFrame, *columns: str) -> dict[str, list[tuple]]:
    """Group -> that group's rows (``columns``) ordered by time (the first of them; nulls first, as Polars
    sorts), read from the frame once rather than filtered and sorted for each group (a null group has none)."""
    out: dict[str, list[tuple]] = {}
    for g, *row in frame.select("group", *columns).iter_rows():
        if g is not None:
            out.setdefault(g, []).append(tuple(row))
    for rows in out.values():
        rows.sort(key=lambda r: (r[0] is not None, r[0] if r[0] is not None else 0))
    return out


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
    fig = Figure("double" if ncol > 1 else "single", nrow * (2.3 + risk_h) + 0.1, nrows=nrow, ncols=ncol)
    layout: dict[tuple[str, str], dict] = {}
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for r, cens in enumerate(censorings):
        for c, endpoint in enumerate(endpoints):
            ax = fig.axes[r][c]
            sel = (pl.col("endpoint") == endpoint) & (pl.col("censoring") == cens)
            lr = None
            if logrank is not None:
                lr_rows = logrank.filter(sel)
                lr = lr_rows.to_dicts()[0] if lr_rows.height else None
            layout[(endpoint, cens)] = draw_km_panel(ax, curves.filter(sel), at_risk.filter(sel), groups, colors, lr)
            ax.ylabel = f"{ENDPOINT_LABEL.get(endpoint, endpoint)} (%)"
            ax.name = next(letters)
            ax.title = panel_title(ax.name, f"{endpoint}, {cens}")
    if return_layout:
        return fig, layout
    return fig
