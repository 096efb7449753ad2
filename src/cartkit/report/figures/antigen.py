"""Figure 1: CD19 and CD22 on the malignant cells before each CAR-T product (seed Figure 1).

The seed shows flow cytometry plots per B-ALL patient; from the recorded percentages the report
draws one panel per antigen: the % of malignant cells expressing it before each product, one dot
per patient, a grey line joining the same patient's values, a black bar at the median.
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.kinetics import LETTERS, draw_paired
from cartkit.report.figures.labels import panel_letter
from cartkit.report.style import new_figure, product_colors


def antigen_figure(results: Results):
    data = results.get("antigen_expression")
    if data is None or data.height == 0:
        raise NotApplicable("no CD19 or CD22 expression recorded before an infusion")
    antigens = data["antigen"].unique(maintain_order=True).to_list()
    products = data["product"].unique(maintain_order=True).to_list()
    if results.get("study") is not None and "products" in results.get("study").columns:
        planned = str(results.get("study")["products"][0]).split("; ")
        products = [p for p in planned if p in products] + [p for p in products if p not in planned]
    colors = product_colors(products)
    fig, axes = new_figure("single" if len(antigens) == 1 else "double", 2.6, ncols=len(antigens))
    for i, antigen in enumerate(antigens):
        ax = axes[0][i]
        sel = data.filter(pl.col("antigen") == antigen)
        draw_paired(ax, sel, [p for p in products if p in set(sel["product"])], "pct", colors)
        ax.set_ylim(0, 105)
        ax.set_ylabel(f"{antigen}\u207a malignant cells (%)")
        ax.set_xlabel("Before")
        n = sel["patient_id"].n_unique()
        panel_letter(ax, LETTERS[i], f"{antigen} (n = {n} patients)")
    return fig
