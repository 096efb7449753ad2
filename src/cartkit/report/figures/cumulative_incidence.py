"""Cumulative incidence with competing events (HSCT, death without relapse): one panel per endpoint.

Solid lines: the cumulative incidence of the endpoint's cause (relapse or progression ...) per group;
dashed: HSCT; dotted: death without the cause (non-relapse mortality). Curves are the Aalen-Johansen
estimates of ``endpoint_cif_curves`` (analysis/hsct_survival.py), drawn as right-continuous steps; Gray's
test P from ``endpoint_cif_tests`` in the corner. docs/survival.md. Drawn by cartkit's own SVG writer
(report/svg).
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.formatting import format_p
from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.labels import panel_title
from cartkit.report.style import group_colors
from cartkit.report.svg import Entry, Figure, Legend

_STYLES = (None, "--", ":", "-.")


def cumulative_incidence_figure(results: Results) -> Figure:
    curves = results.get("endpoint_cif_curves")
    if curves is None or curves.height == 0:
        raise NotApplicable("cumulative-incidence figure needs the endpoint_cif_curves table")
    tests = results.get("endpoint_cif_tests")
    panels = curves.select("population", "endpoint").unique(maintain_order=True).rows()
    groups = curves["group"].unique(maintain_order=True).to_list()
    colors = group_colors(groups)
    ncol = min(len(panels), 2)
    nrow = -(-len(panels) // ncol)
    fig = Figure("double" if ncol > 1 else "single", 2.6 * nrow + 0.2, nrows=nrow, ncols=ncol)
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for i, (population, endpoint) in enumerate(panels):
        ax = fig.axes[i // ncol][i % ncol]
        panel = curves.filter((pl.col("population") == population) & (pl.col("endpoint") == endpoint))
        kinds = panel.sort("cause", descending=True, maintain_order=True)["curve"].unique(maintain_order=True).to_list()
        entries = []
        for k, kind in enumerate(kinds):
            for g in groups:
                c = panel.filter((pl.col("curve") == kind) & (pl.col("group") == g)).sort("time", maintain_order=True)
                if c.height == 0:
                    continue
                label = f"{kind}, {g}" if len(groups) > 1 else kind
                dash, width = _STYLES[k % len(_STYLES)], 1.3 if k == 0 else 1.0
                ax.step(c["time"].to_list(), (100 * c["estimate"]).to_list(), colors[g], width=width, dash=dash,
                        cls="cif-curve")
                entries.append(Entry(label, "line", colors[g], width=width, dash=dash))
        unit = panel["time_unit"][0]
        ax.xlabel = f"{unit.capitalize()} from the time origin"
        ax.ylabel = "Cumulative incidence (%)"
        ax.ylim = (-2, 102)
        tmax = float(panel["time"].max() or 0.0)
        ax.xlim = (0, tmax * 1.05 or 1.0)
        title = f"{endpoint}, {population}"
        if tests is not None:
            row = tests.filter((pl.col("population") == population) & (pl.col("endpoint") == endpoint))
            if row.height and row["pvalue"][0] is not None:
                title += f" (Gray's test P = {format_p(row['pvalue'][0])})".replace("= <", "< ")
        ax.legend = Legend(entries, loc="best", handle_len=2.2)
        ax.name = next(letters)
        ax.title = panel_title(ax.name, title)
    for j in range(len(panels), nrow * ncol):
        fig.axes[j // ncol][j % ncol].off = True
    return fig
