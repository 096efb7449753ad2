"""Figures 2B-C: best response by product, one panel per disease (stacked counts).

Each bar is one product's patients of that disease stacked by best response (best at
the bottom, in the ranks of best_response.toml, each category in its own colour of report/style.py); the ORR with its exact 95 % CI from ``response_rates`` is written on top.
Drawn by cartkit's own SVG writer (report/svg).
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.formatting import percent
from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.labels import panel_title
from cartkit.report.figures.paired_dots import product_ticks
from cartkit.report.style import SMALL_FONT_PT, response_color, response_order
from cartkit.report.svg import Entry, Figure, Legend

BAR_WIDTH = 0.6


def response_figure(results: Results) -> Figure:
    resp = results.get("responses")
    if resp is None or resp.height == 0:
        raise NotApplicable("response figure needs the responses table")
    rates = results.get("response_rates")
    diseases = resp["diagnosis"].unique(maintain_order=True).to_list()
    products = resp["product"].unique(maintain_order=True).to_list()
    labels = resp["best_response"].fill_null("NE").unique().to_list()
    order = response_order(labels)  # best first (the criteria's ranks: IMWG sCR > CR > VGPR ...), NE last
    counts = resp.with_columns(pl.col("best_response").fill_null("NE")).group_by(
        "diagnosis", "product", "best_response").len()
    n_of = {(d, p, r): int(n) for d, p, r, n in counts.iter_rows()}
    fig = Figure("single" if len(diseases) == 1 else "double", 2.6, nrows=1, ncols=len(diseases))
    ymax = int(resp.group_by("diagnosis", "product").len()["len"].max())
    top = ymax * 1.35 + 0.5
    # a count is written inside its segment only where it fits (about a twentieth of the axis); the
    # counts are all in tables/responses.csv, and every segment's height shows its count on the axis
    min_label = 0.05 * top
    for k, (d, ax) in enumerate(zip(diseases, fig.axes[0], strict=True)):
        bottom = [0] * len(products)
        for r in order:
            n = [n_of.get((d, p, r), 0) for p in products]
            for x, (b, h) in enumerate(zip(bottom, n, strict=True)):
                if h:
                    ax.rect(x - BAR_WIDTH / 2, b, x + BAR_WIDTH / 2, b + h, response_color(r), cls=f"bar response-{r}")
                    if h >= min_label:
                        ax.text(x, b + h / 2, str(h), size=SMALL_FONT_PT, cls="count")
            bottom = [b + h for b, h in zip(bottom, n, strict=True)]
        if rates is not None:
            for x, p in enumerate(products):
                row = rates.filter((pl.col("diagnosis") == d) & (pl.col("product") == p))
                if row.height:
                    rr = row.to_dicts()[0]
                    ax.text(x, bottom[x] + 0.15,
                            f"ORR {percent(rr['orr'], 0)}%\n({percent(rr['orr_lower'], 0)}\u2013"
                            f"{percent(rr['orr_upper'], 0)})", va="bottom", size=SMALL_FONT_PT, cls="orr")
        ax.set_xticks(range(len(products)), product_ticks(products))
        ax.xlim = (-0.5, len(products) - 0.5)
        ax.ylim = (0, top)
        ax.yinteger = True
        if k == 0:
            ax.ylabel = "Patients (n)"
        ax.name = "BCDEFGHIJ"[k]
        ax.title = panel_title("BCDEFGHIJ"[k], d)
    fig.set_legend(Legend([Entry(r, "patch", response_color(r), edge="#000000") for r in order],
                          title="Best response", loc="upper left"), loc="right")
    return fig
