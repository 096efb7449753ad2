"""Figures 2B-C: best response by product, one panel per disease (stacked counts).

Each bar is one product's patients of that disease stacked by best response (best at
the bottom); the ORR with its exact 95 % CI from ``response_rates`` is written on top.
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.labels import panel_letter
from cartkit.report.style import RESPONSE_ORDER, SMALL_FONT_PT, new_figure, response_color


def response_figure(results: Results):
    resp = results.get("responses")
    if resp is None or resp.height == 0:
        raise NotApplicable("response figure needs the responses table")
    rates = results.get("response_rates")
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    diseases = resp["diagnosis"].unique(maintain_order=True).to_list()
    products = resp["product"].unique(maintain_order=True).to_list()
    labels = resp["best_response"].fill_null("NE").unique().to_list()
    order = [r for r in RESPONSE_ORDER if r in labels] + sorted(r for r in labels if r not in RESPONSE_ORDER)
    counts = resp.with_columns(pl.col("best_response").fill_null("NE")).group_by(
        "diagnosis", "product", "best_response").len()
    width = "single" if len(diseases) == 1 else "double"
    fig, axes = new_figure(width, 2.6, nrows=1, ncols=len(diseases), sharey=True)
    ymax = int(resp.group_by("diagnosis", "product").len()["len"].max())
    for k, (d, ax) in enumerate(zip(diseases, axes[0], strict=True)):
        bottom = [0] * len(products)
        for r in order:
            n = [int(counts.filter((pl.col("diagnosis") == d) & (pl.col("product") == p)
                                   & (pl.col("best_response") == r))["len"].sum()) for p in products]
            ax.bar(range(len(products)), n, bottom=bottom, width=0.6, color=response_color(r),
                   edgecolor="black", lw=0.4)
            for x, (b, h) in enumerate(zip(bottom, n, strict=True)):
                if h:
                    ax.text(x, b + h / 2, str(h), ha="center", va="center", fontsize=SMALL_FONT_PT)
            bottom = [b + h for b, h in zip(bottom, n, strict=True)]
        if rates is not None:
            for x, p in enumerate(products):
                row = rates.filter((pl.col("diagnosis") == d) & (pl.col("product") == p))
                if row.height:
                    rr = row.to_dicts()[0]
                    ax.text(x, bottom[x] + 0.15,
                            f"ORR {100 * rr['orr']:.0f}%\n({100 * rr['orr_lower']:.0f}\u2013"
                            f"{100 * rr['orr_upper']:.0f})",
                            ha="center", va="bottom", fontsize=SMALL_FONT_PT)
        ax.set_xticks(range(len(products)), [p.replace(" ", "\n", 1) for p in products])
        ax.set_ylim(0, ymax * 1.35 + 0.5)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if k == 0:
            ax.set_ylabel("Patients (n)")
        panel_letter(ax, "BCDEFGHIJ"[k], d)
    handles = [Patch(facecolor=response_color(r), edgecolor="black", lw=0.4, label=r) for r in order]
    axes[0][-1].legend(handles=handles, title="Best response", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig
