"""Simon-Makuch curves: survival by current HSCT state (HSCT as a time-dependent covariate).

One panel per endpoint: the "no HSCT" curve from the origin, the "HSCT" curve from the first transplant;
a patient moves from one to the other on the day of HSCT (Simon & Makuch 1984; the extended Kaplan-Meier
estimator). Read as the survival of a patient who stays in that state; the hazard ratio and the
Mantel-Byar P come from the time-dependent Cox model (``endpoint_hsct_cox``). docs/survival.md.
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.formatting import format_p
from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.labels import panel_letter
from cartkit.report.style import group_colors, new_figure

STATES = ("no HSCT", "HSCT")


def simon_makuch_figure(results: Results):
    curves = results.get("endpoint_simon_makuch")
    if curves is None or curves.height == 0:
        raise NotApplicable("Simon-Makuch figure needs the endpoint_simon_makuch table")
    cox = results.get("endpoint_hsct_cox")
    panels = curves.select("population", "endpoint").unique(maintain_order=True).rows()
    colors = group_colors(list(STATES))
    ncol = min(len(panels), 2)
    nrow = -(-len(panels) // ncol)
    fig, axes = new_figure("double" if ncol > 1 else "single", 2.5 * nrow + 0.2, nrows=nrow, ncols=ncol)
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for i, (population, endpoint) in enumerate(panels):
        ax = axes[i // ncol][i % ncol]
        panel = curves.filter((pl.col("population") == population) & (pl.col("endpoint") == endpoint))
        for state in STATES:
            c = panel.filter(pl.col("state") == state).sort("time", maintain_order=True)
            if c.height == 0:
                continue
            ax.step(c["time"].to_numpy(), 100 * c["survival"].to_numpy(), where="post", color=colors[state],
                    lw=1.3, label=state)
            cens = c.filter(pl.col("n_censor") > 0)
            ax.plot(cens["time"].to_numpy(), 100 * cens["survival"].to_numpy(), ls="none", marker="|", ms=6,
                    mew=1.0, color=colors[state])
        ax.set_xlabel(f"{panel['time_unit'][0].capitalize()} from the time origin")
        ax.set_ylabel(f"{endpoint} (%)")
        ax.set_ylim(-2, 105)
        ax.set_xlim(left=0)
        title = f"{endpoint}, {population}"
        if cox is not None:
            row = cox.filter((pl.col("population") == population) & (pl.col("endpoint") == endpoint))
            if row.height and row["score_pvalue"][0] is not None:
                title += f" (Mantel-Byar P = {format_p(row['score_pvalue'][0])})".replace("= <", "< ")
        ax.legend(loc="lower left", handlelength=1.5)
        panel_letter(ax, next(letters), title)
    for j in range(len(panels), nrow * ncol):
        axes[j // ncol][j % ncol].set_axis_off()
    return fig
