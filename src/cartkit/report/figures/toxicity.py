"""Figure 5: CRS, ICANS and haematological toxicity grades by product (stacked bars).

One panel per toxicity; each bar is one product's episodes stacked by grade 0 (bottom)
to 5, coloured light to dark so the order reads in greyscale too. The P value(s) of
``grade_compare`` are written above (one line per grading system when several).
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.formatting import format_p
from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.labels import panel_letter
from cartkit.report.style import GRADE_COLORS, SMALL_FONT_PT, new_figure
from cartkit.report.tables import system_name

TOXICITY_ORDER = ("CRS", "ICANS", "Neutropenia", "Anemia", "Thrombocytopenia", "Leukopenia")


def toxicity_figure(results: Results):
    counts = results.get("grade_counts")
    if counts is None or counts.height == 0:
        raise NotApplicable("figure 5 needs the grade_counts table")
    compare = results.get("grade_compare")
    if "system" in counts.columns:  # optional: counts under several systems -> the first (primary) one each
        primary = counts.group_by("toxicity", maintain_order=True).agg(pl.col("system").first().alias("_primary"))
        counts = counts.join(primary, on="toxicity").filter(pl.col("system") == pl.col("_primary"))
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    present = counts["toxicity"].unique(maintain_order=True).to_list()
    toxicities = [t for t in TOXICITY_ORDER if t in present] + [t for t in present if t not in TOXICITY_ORDER]
    products = counts["product"].unique(maintain_order=True).to_list()
    grades = sorted(int(g) for g in counts["grade"].unique().to_list())
    ncol = min(len(toxicities), 3)
    nrow = -(-len(toxicities) // ncol)
    fig, axes = new_figure("double", 2.3 * nrow + 0.2, nrows=nrow, ncols=ncol)
    totals = counts.group_by("toxicity", "product").agg(pl.col("n").sum())
    ymax = int(totals["n"].max())
    for k, tox in enumerate(toxicities):
        ax = axes[k // ncol][k % ncol]
        sub = counts.filter(pl.col("toxicity") == tox)
        bottom = [0] * len(products)
        for g in grades:
            n = [int(sub.filter((pl.col("product") == p) & (pl.col("grade") == g))["n"].sum()) for p in products]
            ax.bar(range(len(products)), n, bottom=bottom, width=0.6, color=GRADE_COLORS.get(g, "#555555"),
                   edgecolor="black", lw=0.4)
            for x, (b, h) in enumerate(zip(bottom, n, strict=True)):
                if h:
                    ax.text(x, b + h / 2, str(h), ha="center", va="center", fontsize=SMALL_FONT_PT,
                            color="white" if g >= 4 else "black")
            bottom = [b + h for b, h in zip(bottom, n, strict=True)]
        ax.set_xticks(range(len(products)), [p.replace(" ", "\n", 1) for p in products])
        rows = [] if compare is None else compare.filter(pl.col("toxicity") == tox).to_dicts()
        ax.set_ylim(0, ymax * (1.2 + 0.1 * max(len(rows), 1)))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("Episodes (n)")
        if rows:
            lines = []
            for r in rows:
                line = (f"{system_name(r['system'])}: " if len(rows) > 1 else "") + f"P = {format_p(r['pvalue'])}"
                if r.get("paired_pvalue") is not None:
                    line += f"; paired P = {format_p(r['paired_pvalue'])}"
                lines.append(line.replace("= <", "< "))
            ax.text(0.02, 0.99, "\n".join(lines), transform=ax.transAxes, ha="left", va="top",
                    fontsize=SMALL_FONT_PT)
        panel_letter(ax, "ABCDEFGHIJKL"[k], tox)
    for k in range(len(toxicities), nrow * ncol):
        axes[k // ncol][k % ncol].set_axis_off()
    handles = [Patch(facecolor=GRADE_COLORS.get(g, "#555555"), edgecolor="black", lw=0.4, label=f"Grade {g}")
               for g in grades]
    fig.legend(handles=handles, loc="outside right upper", title="Grade")
    return fig
