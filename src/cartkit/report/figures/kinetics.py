"""Figures 3 and 6 (curves over days 0-28) and 4 and 7 (peak and peak-day comparisons).

Curves: per product, every patient's values as thin grey lines, the median as a line
with markers and the interquartile range as a band (from ``kinetic_curves``). Analytes
spanning more than two orders of magnitude are drawn on a symmetric-log axis (values
of 0 at day 0 stay on the plot).

Comparisons: for each analyte, peak (cmax) and day of peak (tmax) by product as paired
dot plots: one dot per patient per product, a line joins the same patient's products,
a black bar marks the median; the P values of the comparisons table are written on top.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.figures.labels import (
    analyte_axis_label,
    analyte_name,
    comparison_for,
    p_note,
    panel_letter,
)
from cartkit.report.style import GREY, SMALL_FONT_PT, new_figure, product_colors

KINETIC_ANALYTES = ("car_t_pct_cd3", "car_dna")
CYTOKINE_ANALYTES = ("il6", "il2r", "il8", "tnfa", "ifng", "il10")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _scale(ax, values: np.ndarray) -> None:
    """Symmetric-log y when positive values span > 2 decades; linear otherwise."""
    pos = values[np.isfinite(values) & (values > 0)]
    if pos.size and pos.max() / pos.min() > 100:
        linthresh = float(10 ** np.floor(np.log10(np.quantile(pos, 0.1))))
        ax.set_yscale("symlog", linthresh=linthresh, linscale=0.5)
        ax.set_ylim(bottom=0)


def _present(table: pl.DataFrame | None, analytes: tuple[str, ...]) -> list[str]:
    if table is None or table.height == 0:
        return []
    have = set(table["analyte"].unique().to_list())
    return [a for a in analytes if a in have]


# Beyond this many patients, individual lines and dots are drawn for every k-th patient only
# (medians, IQR bands and statistics always use everyone): 100,000 lines would make an
# unreadable figure and a page-sized SVG. The panel then says how many are drawn.
MAX_DRAWN = 300


def _thin(ax, n: int) -> int:
    """Step k so that at most MAX_DRAWN of n patients are drawn; notes the thinning on the panel."""
    step = max(1, -(-n // MAX_DRAWN))
    if step > 1:
        ax.text(0.98, 0.02, f"{len(range(0, n, step))} of {n} patients drawn", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=SMALL_FONT_PT, color=GREY)
    return step


def _patient_lines(ax, values: pl.DataFrame) -> None:
    """Every patient-episode's course as one thin grey line (one LineCollection, any number of patients)."""
    from matplotlib.collections import LineCollection

    if values.height == 0:
        return
    wide = values.pivot(on="day", index=["patient_id", "episode"], values="value", aggregate_function="first",
                        sort_columns=True)
    days = np.array([float(c) for c in wide.columns[2:]])
    order = np.argsort(days)
    mat = wide.select(wide.columns[2:]).to_numpy().astype(float)[:, order]
    mat = mat[::_thin(ax, mat.shape[0])]
    days = days[order]
    # one polyline per row, as one (rows, days, 2) array; a missing day leaves a gap in that line
    segments = np.stack([np.broadcast_to(days, mat.shape), mat], axis=-1)
    ax.add_collection(LineCollection(segments, colors=GREY, linewidths=0.4, alpha=0.6, zorder=1))


def _curves_figure(results: Results, analytes: list[str], by: str):
    """Panels: rows by analyte ('analyte') or by product ('product')."""
    curves = results.get("kinetic_curves")
    values = results.get("kinetic_values")
    products = curves["product"].unique(maintain_order=True).to_list()
    pcol = product_colors(products)
    if by == "analyte":
        cells = [[(a, p) for p in products] for a in analytes]
    else:
        cells = [[(a, p) for a in analytes] for p in products]
    nrow, ncol = len(cells), len(cells[0])
    width = 7.0 if ncol > 1 else 3.5
    fig, axes = new_figure(width, 1.9 * nrow + 0.2, nrows=nrow, ncols=ncol)
    letters = iter(LETTERS)
    for r, row in enumerate(cells):
        for c, (analyte, product) in enumerate(row):
            ax = axes[r][c]
            cur = curves.filter((pl.col("analyte") == analyte) & (pl.col("product") == product)).sort("day")
            all_vals = curves.filter(pl.col("analyte") == analyte)["q3"].to_numpy()
            if values is not None:
                v = values.filter((pl.col("analyte") == analyte) & (pl.col("product") == product))
                _patient_lines(ax, v)
                all_vals = np.concatenate([all_vals, values.filter(pl.col("analyte") == analyte)["value"]
                                           .to_numpy()])
            d = cur["day"].to_numpy()
            ax.fill_between(d, cur["q1"].to_numpy(), cur["q3"].to_numpy(), color=pcol[product], alpha=0.25,
                            lw=0, label="IQR")
            ax.plot(d, cur["median"].to_numpy(), color=pcol[product], marker="o", ms=3, label="Median")
            _scale(ax, all_vals)
            finite = all_vals[np.isfinite(all_vals)]
            if ax.get_yscale() == "linear" and finite.size:
                ax.set_ylim(0, float(finite.max()) * 1.05 or 1.0)
            elif finite.size:
                ax.set_ylim(0, float(finite.max()) * 1.5)
            ax.set_xticks(sorted(set(d.tolist())))
            ax.set_xlabel("Days after infusion")
            ax.set_ylabel(analyte_axis_label(analyte))
            panel_letter(ax, next(letters), f"{analyte_name(analyte)}\n{product}")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [h for p in products for h in (
        Line2D([], [], color=pcol[p], marker="o", ms=3, label=f"{p}: median"),
        Patch(color=pcol[p], alpha=0.25, lw=0, label=f"{p}: IQR"))]
    handles.append(Line2D([], [], color=GREY, lw=0.6, label="Individual patients"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5))
    return fig


def kinetics_curves_figure(results: Results):
    """Fig 3: CAR-T % and CAR DNA over days by product (rows: analyte, columns: product)."""
    analytes = _present(results.get("kinetic_curves"), KINETIC_ANALYTES)
    if not analytes:
        raise NotApplicable("figure 3 needs kinetic_curves for car_t_pct_cd3 or car_dna")
    return _curves_figure(results, analytes, by="analyte")


def cytokine_curves_figure(results: Results):
    """Fig 6: cytokines over days (rows: product, columns: cytokine)."""
    analytes = _present(results.get("kinetic_curves"), CYTOKINE_ANALYTES)
    if not analytes:
        raise NotApplicable("figure 6 needs kinetic_curves for at least one cytokine")
    return _curves_figure(results, analytes, by="product")


def draw_paired(ax, params: pl.DataFrame, products: list[str], column: str, colors: dict[str, str]) -> None:
    """Dots per patient per product, lines joining the same patient, median bars."""
    wide = params.pivot(on="product", index="patient_id", values=column, aggregate_function="first")
    present = [p for p in products if p in wide.columns]
    full = wide.select(present).to_numpy().astype(float)
    mat = full[::_thin(ax, full.shape[0])]
    n = mat.shape[0]
    # deterministic spread so equal values (days) stay visible
    jitter = ((np.arange(n) % 5) - 2) * 0.05
    xs = np.arange(len(present))[None, :] + jitter[:, None]
    both = np.isfinite(mat).all(axis=1)
    if len(present) > 1 and both.any():
        from matplotlib.collections import LineCollection

        segments = np.stack([xs[both], mat[both]], axis=-1)  # (patients, products, 2)
        ax.add_collection(LineCollection(segments, colors=GREY, linewidths=0.5, alpha=0.7, zorder=1,
                                         label="same patient"))
    for j, p in enumerate(present):
        ax.scatter(xs[:, j], mat[:, j], s=12, color=colors[p], edgecolor="white", lw=0.3, zorder=2)
        col = full[:, j][np.isfinite(full[:, j])]  # median of everyone, drawn or not
        if col.size:
            ax.hlines(np.median(col), j - 0.25, j + 0.25, color="black", lw=1.4, zorder=3)
    ax.set_xticks(range(len(present)), [p.replace(" ", "\n", 1) for p in present])
    ax.set_xlim(-0.5, len(present) - 0.5)


def _peaks_figure(results: Results, analytes: list[str], two_rows: bool):
    params = results.get("kinetic_params")
    comparisons = results.get("comparisons")
    products = params["product"].unique(maintain_order=True).to_list()
    if len(products) < 2:
        raise NotApplicable("peak comparisons need two products")
    pcol = product_colors(products)
    curves = results.get("kinetic_curves")
    schedule = [] if curves is None else curves["day"].unique().to_list()
    cells = ([("cmax", a) for a in analytes], [("tmax", a) for a in analytes]) if two_rows else \
        ([x for a in analytes for x in (("cmax", a), ("tmax", a))],)
    nrow, ncol = len(cells), len(cells[0])
    fig, axes = new_figure(7.0, 2.3 * nrow + 0.2, nrows=nrow, ncols=ncol)
    letters = iter(LETTERS)
    for r, row in enumerate(cells):
        for c, (param, analyte) in enumerate(row):
            ax = axes[r][c]
            sel = params.filter(pl.col("analyte") == analyte)
            draw_paired(ax, sel, products, param, pcol)
            if param == "cmax":
                _scale(ax, sel["cmax"].to_numpy().astype(float))
                ax.set_ylabel(f"Peak {analyte_axis_label(analyte)}")
                title = f"{analyte_name(analyte)}\npeak"
            else:
                ax.set_ylabel("Day of peak (days after infusion)")
                title = f"{analyte_name(analyte)}\nday of peak"
                ax.set_yticks(sorted(set(schedule) | set(sel["tmax"].drop_nulls().to_list())))
            if ax.get_yscale() == "linear":
                ax.set_ylim(bottom=0)
            ymin, ymax = ax.get_ylim()
            ax.set_ylim(ymin, ymax + (ymax - ymin) * 0.25 if ax.get_yscale() == "linear" else ymax * 4)
            note = p_note(comparison_for(comparisons, analyte, param))
            if note:
                ax.text(0.5, 0.98, note.replace("; ", "\n"), transform=ax.transAxes, ha="center", va="top",
                        fontsize=SMALL_FONT_PT)
            ax.yaxis.label.set_size(SMALL_FONT_PT)
            panel_letter(ax, next(letters), title)
    return fig


def kinetics_peaks_figure(results: Results):
    """Fig 4: CAR-T % and CAR DNA peak and peak day, CD19 vs CD22 (paired dots)."""
    analytes = _present(results.get("kinetic_params"), KINETIC_ANALYTES)
    if not analytes:
        raise NotApplicable("figure 4 needs kinetic_params for car_t_pct_cd3 or car_dna")
    return _peaks_figure(results, analytes, two_rows=False)


def cytokine_peaks_figure(results: Results):
    """Fig 7: cytokine peaks (top row) and peak days (bottom row) by product."""
    analytes = _present(results.get("kinetic_params"), CYTOKINE_ANALYTES)
    if not analytes:
        raise NotApplicable("figure 7 needs kinetic_params for at least one cytokine")
    return _peaks_figure(results, analytes, two_rows=True)
