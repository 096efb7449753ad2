"""Simon-Makuch curves: survival by current HSCT state (HSCT as a time-dependent covariate).

One panel per endpoint: the "no HSCT" curve from the origin, the "HSCT" curve from the first transplant;
a patient moves from one to the other on the day of HSCT (Simon & Makuch 1984; the extended Kaplan-Meier
estimator). Read as the survival of a patient who stays in that state; the hazard ratio and the
Mantel-Byar P come from the time-dependent Cox model (``endpoint_hsct_cox``). docs/survival.md. Drawn by
cartkit's own SVG writer (report/svg).
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.formatting import format_p
from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.labels import panel_title
from cartkit.report.style import group_colors
from cartkit.report.svg import Entry, Figure, Legend

STATES = ("no HSCT", "HSCT")


def simon_makuch_figure(results: Results) -> Figure:
    curves = results.get("endpoint_simon_makuch")
    if curves is None or curves.height == 0:
        raise NotApplicable("Simon-Makuch figure needs the endpoint_simon_makuch table")
    cox = results.get("endpoint_hsct_cox")
    panels = curves.select("population", "endpoint").unique(maintain_order=True).rows()
    colors = group_colors(list(STATES))
    ncol = min(len(panels), 2)
    nrow = -(-len(panels) // ncol)
    fig = Figure("double" if ncol > 1 else "single", 2.5 * nrow + 0.2, nrows=nrow, ncols=ncol)
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for i, (population, endpoint) in enumerate(panels):
        ax = fig.axes[i // ncol][i % ncol]
        panel = curves.filter((pl.col("population") == population) & (pl.col("endpoint") == endpoint))
        entries = []
        for state in STATES:
            c = panel.filter(pl.col("state") == state).sort("time", maintain_order=True)
            if c.height == 0:
                continue
            ax.step(c["time"].to_list(), (100 * c["survival"]).to_list(), colors[state], width=1.3, cls="sm-curve")
            cens = c.filter(pl.col("n_censor") > 0)
            ax.markers(cens["time"].to_list(), (100 * cens["survival"]).to_list(), "|", colors[state], size=6,
                       width=1.0, cls="censor")
            entries.append(Entry(state, "line", colors[state], width=1.3))
        ax.xlabel = f"{panel['time_unit'][0].capitalize()} from the time origin"
        ax.ylabel = f"{endpoint} (%)"
        ax.ylim = (-2, 105)
        tmax = float(panel["time"].max() or 0.0)
        ax.xlim = (0, tmax * 1.05 or 1.0)
        title = f"{endpoint}, {population}"
        if cox is not None:
            row = cox.filter((pl.col("population") == population) & (pl.col("endpoint") == endpoint))
            if row.height and row["score_pvalue"][0] is not None:
                title += f" (Mantel-Byar P = {format_p(row['score_pvalue'][0])})".replace("= <", "< ")
        ax.legend = Legend(entries, loc="lower left", handle_len=1.5)
        ax.name = next(letters)
        ax.title = panel_title(ax.name, title)
    for j in range(len(panels), nrow * ncol):
        fig.axes[j // ncol][j % ncol].off = True
    return fig
