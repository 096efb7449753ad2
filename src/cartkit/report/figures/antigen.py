"""Figure 1: CD19 and CD22 on the malignant cells before each CAR-T product (seed Figure 1).

The seed shows flow cytometry plots per B-ALL patient; from the recorded percentages the report
draws one panel per antigen: the % of malignant cells expressing it before each product, one dot
per patient, a grey line joining the same patient's values, a black bar at the median. Drawn by
cartkit's own SVG writer (report/svg).
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.labels import panel_title
from cartkit.report.figures.paired_dots import draw_paired
from cartkit.report.style import product_colors
from cartkit.report.svg import Figure

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def antigen_figure(results: Results) -> Figure:
    data = results.get("antigen_expression")
    if data is None or data.height == 0:
        raise NotApplicable("no CD19 or CD22 expression recorded before an infusion")
    antigens = data["antigen"].unique(maintain_order=True).to_list()
    products = data["product"].unique(maintain_order=True).to_list()
    if results.get("study") is not None and "products" in results.get("study").columns:
        planned = str(results.get("study")["products"][0]).split("; ")
        products = [p for p in planned if p in products] + [p for p in products if p not in planned]
    colors = product_colors(products)
    fig = Figure("single" if len(antigens) == 1 else "double", 2.6, ncols=len(antigens))
    for i, antigen in enumerate(antigens):
        ax = fig.axes[0][i]
        sel = data.filter(pl.col("antigen") == antigen)
        draw_paired(ax, sel, [p for p in products if p in set(sel["product"])], "pct", colors)
        ax.ylim = (0, 105)
        ax.ylabel = f"{antigen}\u207a malignant cells (%)"
        ax.xlabel = "Before"
        n = sel["patient_id"].n_unique()
        ax.name = LETTERS[i]
        ax.title = panel_title(LETTERS[i], f"{antigen} (n = {n} patients)")
    return fig
