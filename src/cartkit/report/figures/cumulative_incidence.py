"""Cumulative incidence with competing events (HSCT, death without relapse): one panel per endpoint.

Solid lines: the cumulative incidence of the endpoint's cause (relapse or progression ...) per group;
dashed: HSCT; dotted: death without the cause (non-relapse mortality). Curves are the Aalen-Johansen
estimates of ``endpoint_cif_curves`` (analysis/hsct_survival.py), drawn as right-continuous steps; Gray's
test P from ``endpoint_cif_tests`` in the corner. docs/survival.md.
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.formatting import format_p
from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.labels import panel_letter
from cartkit.report.style import group_colors, new_figure

_STYLES = ("-", "--", ":", "-.")


def cumulative_incidence_figure(results: Results):
    curves = results.get("endpoint_cif_curves")
    if curves is None or curves.height == 0:
        raise NotApplicable("cumulative-incidence figure needs the endpoint_cif_curves table")
    tests = results.get("endpoint_cif_tests")
    panels = curves.select("population", "endpoint").unique(maintain_order=True).rows()
    groups = curves["group"].unique(maintain_order=True).to_list()
    colors = group_colors(groups)
    ncol = min(len(panels), 2)
    nrow = -(-len(panels) // ncol)
    fig, axes = new_figure("double" if ncol > 1 else "single", 2.6 * nrow + 0.2, nrows=nrow, ncols=ncol)
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for i, (population, endpoint) in enumerate(panels):
        ax = axes[i // ncol][i % ncol]
        panel = curves.filter((pl.col("population") == population) & (pl.col("endpoint") == endpoint))
        kinds = panel.sort("cause", descending=True, maintain_order=True)["curve"].unique(maintain_order=True).to_list()
        for k, kind in enumerate(kinds):
            for g in groups:
                c = panel.filter((pl.col("curve") == kind) & (pl.col("group") == g)).sort("time", maintain_order=True)
                if c.height == 0:
                    continue
                label = f"{kind}, {g}" if len(groups) > 1 else kind
                ax.step(c["time"].to_numpy(), 100 * c["estimate"].to_numpy(), where="post", color=colors[g],
                        ls=_STYLES[k % len(_STYLES)], lw=1.3 if k == 0 else 1.0, label=label)
        unit = panel["time_unit"][0]
        ax.set_xlabel(f"{unit.capitalize()} from the time origin")
        ax.set_ylabel("Cumulative incidence (%)")
        ax.set_ylim(-2, 102)
        ax.set_xlim(left=0)
        title = f"{endpoint}, {population}"
        if tests is not None:
            row = tests.filter((pl.col("population") == population) & (pl.col("endpoint") == endpoint))
            if row.height and row["pvalue"][0] is not None:
                title += f" (Gray's test P = {format_p(row['pvalue'][0])})".replace("= <", "< ")
        ax.legend(loc="best", handlelength=2.2)
        panel_letter(ax, next(letters), title)
    for j in range(len(panels), nrow * ncol):
        axes[j // ncol][j % ncol].set_axis_off()
    return fig
