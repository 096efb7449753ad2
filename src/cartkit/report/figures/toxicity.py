"""Figure 5: CRS, ICANS and haematological toxicity grades by product (stacked bars).

One panel per toxicity; each bar is one product's episodes stacked by grade 0 (bottom)
to 5, coloured light to dark so the order reads in greyscale too. The P value(s) of
``grade_compare`` are written above (one line per grading system when several).
Drawn by cartkit's own SVG writer (report/svg).
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.formatting import format_p
from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.labels import panel_title
from cartkit.report.figures.paired_dots import product_ticks
from cartkit.report.style import GRADE_COLORS, SMALL_FONT_PT
from cartkit.report.svg import Entry, Figure, Legend
from cartkit.report.tables import system_name

BAR_WIDTH = 0.6

TOXICITY_ORDER = ("CRS", "ICANS", "Neutropenia", "Anemia", "Thrombocytopenia", "Leukopenia")


def toxicity_figure(results: Results) -> Figure:
    counts = results.get("grade_counts")
    if counts is None or counts.height == 0:
        raise NotApplicable("figure 5 needs the grade_counts table")
    compare = results.get("grade_compare")
    if "system" in counts.columns:  # optional: counts under several systems -> the first (primary) one each
        primary = counts.group_by("toxicity", maintain_order=True).agg(pl.col("system").first().alias("_primary"))
        counts = counts.join(primary, on="toxicity").filter(pl.col("system") == pl.col("_primary"))
    present = counts["toxicity"].unique(maintain_order=True).to_list()
    toxicities = [t for t in TOXICITY_ORDER if t in present] + [t for t in present if t not in TOXICITY_ORDER]
    products = counts["product"].unique(maintain_order=True).to_list()
    grades = sorted(int(g) for g in counts["grade"].unique().to_list())
    ncol = min(len(toxicities), 3)
    nrow = -(-len(toxicities) // ncol)
    fig = Figure("double", 2.3 * nrow + 0.2, nrows=nrow, ncols=ncol)
    axes = fig.axes
    n_of = {(t, p, int(g)): int(n) for t, p, g, n in
            counts.group_by("toxicity", "product", "grade").agg(pl.col("n").sum()).iter_rows()}
    totals = counts.group_by("toxicity", "product").agg(pl.col("n").sum())
    ymax = int(totals["n"].max())
    for k, tox in enumerate(toxicities):
        ax = axes[k // ncol][k % ncol]
        rows = [] if compare is None else compare.filter(pl.col("toxicity") == tox).to_dicts()
        top = ymax * (1.2 + 0.1 * max(len(rows), 1))
        bottom = [0] * len(products)
        for g in grades:
            n = [n_of.get((tox, p, g), 0) for p in products]
            for x, (b, h) in enumerate(zip(bottom, n, strict=True)):
                if h:
                    ax.rect(x - BAR_WIDTH / 2, b, x + BAR_WIDTH / 2, b + h, GRADE_COLORS.get(g, "#555555"),
                            cls=f"bar grade-{g}")
                    if h >= 0.05 * top:  # written inside its segment only where it fits (counts: tables/)
                        ax.text(x, b + h / 2, str(h), size=SMALL_FONT_PT, color="#ffffff" if g >= 4 else "#000000",
                                cls="count")
            bottom = [b + h for b, h in zip(bottom, n, strict=True)]
        ax.set_xticks(range(len(products)), product_ticks(products))
        ax.xlim = (-0.5, len(products) - 0.5)
        ax.ylim = (0, top)
        ax.yinteger = True
        ax.ylabel = "Episodes (n)"
        if rows:
            lines = []
            for r in rows:
                line = (f"{system_name(r['system'])}: " if len(rows) > 1 else "") + f"P = {format_p(r['pvalue'])}"
                if r.get("paired_pvalue") is not None:
                    line += f"; paired P = {format_p(r['paired_pvalue'])}"
                lines.append(line.replace("= <", "< "))
            ax.text(0.02, 0.99, "\n".join(lines), ha="left", va="top", size=SMALL_FONT_PT, xcoord="axes",
                    ycoord="axes", cls="pvalue", fit=True)
        ax.name = "ABCDEFGHIJKL"[k]
        ax.title = panel_title(ax.name, tox)
    for k in range(len(toxicities), nrow * ncol):
        axes[k // ncol][k % ncol].off = True
    fig.set_legend(Legend([Entry(f"Grade {g}", "patch", GRADE_COLORS.get(g, "#555555"), edge="#000000")
                           for g in grades], title="Grade", loc="upper left"), loc="right")
    return fig
