"""PFS by MRD status from the landmark ([plan.mrd_landmark], analysis/mrd_landmark.py).

One panel per disease: Kaplan-Meier of the MRD-negative and the other patients, counted from the
landmark day, with censoring ticks, numbers at risk and the log-rank P, drawn by the survival figure's
panel code (``draw_km_panel``) from the ``mrd_landmark_curves`` and ``mrd_landmark_at_risk`` tables.
Drawn by cartkit's own SVG writer (report/svg).
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.mrd_landmark import NEGATIVE, POOLED, POSITIVE
from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.labels import panel_title
from cartkit.report.figures.survival import draw_km_panel
from cartkit.report.style import response_color
from cartkit.report.svg import Figure

# short labels that fit the at-risk rows of a single-column panel (the caption spells out NE)
SHORT = {NEGATIVE: "MRD-neg", POSITIVE: "MRD-pos", POOLED: "MRD-pos/NE"}


def pfs_by_mrd_figure(results: Results, return_layout: bool = False):
    curves, at_risk = results.get("mrd_landmark_curves"), results.get("mrd_landmark_at_risk")
    summary = results.get("mrd_landmark")
    if curves is None or at_risk is None or summary is None or not summary.height:
        raise NotApplicable("PFS by MRD figure needs the mrd_landmark tables ([plan.mrd_landmark])")
    diseases = summary["diagnosis"].unique(maintain_order=True).to_list()
    short = pl.col("group").replace(SHORT)
    curves, at_risk, summary = (t.with_columns(short) for t in (curves, at_risk, summary))
    groups = summary["group"].unique(maintain_order=True).to_list()
    # MRD-negative in the good colour of the response palette, the others in the PD one (report/style.py)
    colors = {g: response_color("CR") if g == SHORT[NEGATIVE] else response_color("PD") for g in groups}
    risk_h = 0.11 * (len(groups) + 1)
    fig = Figure("double" if len(diseases) > 1 else "single", 2.3 + risk_h + 0.2, ncols=len(diseases))
    layout = {}
    for c, disease in enumerate(diseases):
        ax = fig.axes[0][c]
        rows = summary.filter(pl.col("diagnosis") == disease)
        first = rows.row(0, named=True)
        present = [g for g in groups if g in rows["group"].to_list()]
        layout[disease] = draw_km_panel(ax, curves.filter(pl.col("diagnosis") == disease),
                                        at_risk.filter(pl.col("diagnosis") == disease), present, colors,
                                        {"pvalue": first["logrank_pvalue"]})
        ax.xlabel = f"{first['time_unit'].capitalize()} from the landmark (day {first['landmark_day']})"
        ax.ylabel = f"{first['endpoint']} (%)"
        ax.name = "ABCDEFGH"[c]
        ax.title = panel_title(ax.name, f"{disease} ({first['mrd_rule']})")
    if return_layout:
        return fig, layout
    return fig
