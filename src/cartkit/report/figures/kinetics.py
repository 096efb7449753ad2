"""Figures 3 and 6 (curves over days 0-28) and 4 and 7 (peak and peak-day comparisons).

Curves: per product, every patient's values as thin grey lines, the median as a line
with markers and the interquartile range as a band (from ``kinetic_curves``). Analytes
spanning more than two orders of magnitude are drawn on a symmetric-log axis (values
of 0 at day 0 stay on the plot: linear up to the decade below the 10th centile, log decades above,
with minor ticks).

Comparisons: for each analyte, peak (cmax) and day of peak (tmax) by product as paired
dot plots: one dot per patient per product, a line joins the same patient's products,
a black bar marks the median; the P values of the comparisons table are written on top.
Drawn by cartkit's own SVG writer (report/svg).
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
    panel_title,
)
from cartkit.report.figures.paired_dots import MAX_DRAWN, draw_paired, thin
from cartkit.report.style import GREY, SMALL_FONT_PT, product_colors
from cartkit.report.svg import Axes, Entry, Figure, Legend

__all__ = ["MAX_DRAWN", "draw_paired", "product_colors"]

KINETIC_ANALYTES = ("car_t_pct_cd3", "car_dna")
CYTOKINE_ANALYTES = ("il6", "il2r", "il8", "tnfa", "ifng", "il10")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _scale(ax: Axes, values: np.ndarray) -> bool:
    """Symmetric-log y when positive values span > 2 decades (True); linear otherwise (False)."""
    pos = values[np.isfinite(values) & (values > 0)]
    if pos.size and pos.max() / pos.min() > 100:
        ax.ylog = True
        ax.ylinthresh = float(10 ** np.floor(np.log10(np.quantile(pos, 0.1))))
        return True
    return False


def _present(table: pl.DataFrame | None, analytes: tuple[str, ...]) -> list[str]:
    if table is None or table.height == 0:
        return []
    have = set(table["analyte"].unique().to_list())
    return [a for a in analytes if a in have]


def _patient_lines(ax: Axes, values: pl.DataFrame) -> None:
    """Every patient-episode's course as one thin grey line; a missing day leaves a gap in that line."""
    if values.height == 0:
        return
    wide = values.pivot(on="day", index=["patient_id", "episode"], values="value", aggregate_function="first",
                        sort_columns=True)
    days = np.array([float(c) for c in wide.columns[2:]])
    order = np.argsort(days)
    mat = wide.select(wide.columns[2:]).to_numpy().astype(float)[:, order]
    mat = mat[::thin(ax, mat.shape[0])]
    days = days[order].tolist()
    for row in mat:
        ax.line(days, row, GREY, width=0.4, opacity=0.6, z=1, cls="patient")


def _curves_figure(results: Results, analytes: list[str], by: str) -> Figure:
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
    fig = Figure(width, 1.9 * nrow + 0.2, nrows=nrow, ncols=ncol)
    letters = iter(LETTERS)
    for r, row in enumerate(cells):
        for c, (analyte, product) in enumerate(row):
            ax = fig.axes[r][c]
            cur = curves.filter((pl.col("analyte") == analyte) & (pl.col("product") == product)).sort("day")
            all_vals = curves.filter(pl.col("analyte") == analyte)["q3"].to_numpy().astype(float)
            if values is not None:
                v = values.filter((pl.col("analyte") == analyte) & (pl.col("product") == product))
                _patient_lines(ax, v)
                all_vals = np.concatenate([all_vals, values.filter(pl.col("analyte") == analyte)["value"]
                                           .to_numpy().astype(float)])
            d = cur["day"].to_numpy().astype(float)
            ax.band(d, cur["q1"].to_numpy().astype(float), cur["q3"].to_numpy().astype(float), pcol[product],
                    opacity=0.25, cls="iqr")
            med = cur["median"].to_numpy().astype(float)
            ax.line(d, med, pcol[product], width=1.2, z=2, cls="median")
            ax.markers(d, med, "o", pcol[product], size=3, z=2.5, cls="median-marker")
            log = _scale(ax, all_vals)
            finite = all_vals[np.isfinite(all_vals)]
            if finite.size:
                top = float(finite.max()) * (1.5 if log else 1.05)
                ax.ylim = (0, top or 1.0)
            ax.set_xticks(sorted(set(d.tolist())))
            ax.xlabel = "Days after infusion"
            ax.ylabel = analyte_axis_label(analyte)
            ax.name = next(letters)
            ax.title = panel_title(ax.name, f"{analyte_name(analyte)}\n{product}")
    entries = [e for p in products for e in (
        Entry(f"{p}: median", "line", pcol[p], width=1.2, marker="o", marker_size=3),
        Entry(f"{p}: IQR", "patch", pcol[p], opacity=0.25))]
    entries.append(Entry("Individual patients", "line", GREY, width=0.6))
    fig.set_legend(Legend(entries, ncol=min(len(entries), 5)), loc="bottom")
    return fig


def kinetics_curves_figure(results: Results) -> Figure:
    """Fig 3: CAR-T % and CAR DNA over days by product (rows: analyte, columns: product)."""
    analytes = _present(results.get("kinetic_curves"), KINETIC_ANALYTES)
    if not analytes:
        raise NotApplicable("figure 3 needs kinetic_curves for car_t_pct_cd3 or car_dna")
    return _curves_figure(results, analytes, by="analyte")


def cytokine_curves_figure(results: Results) -> Figure:
    """Fig 6: cytokines over days (rows: product, columns: cytokine)."""
    analytes = _present(results.get("kinetic_curves"), CYTOKINE_ANALYTES)
    if not analytes:
        raise NotApplicable("figure 6 needs kinetic_curves for at least one cytokine")
    return _curves_figure(results, analytes, by="product")


def _peaks_figure(results: Results, analytes: list[str], two_rows: bool) -> Figure:
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
    fig = Figure(7.0, 2.3 * nrow + 0.2, nrows=nrow, ncols=ncol)
    letters = iter(LETTERS)
    for r, row in enumerate(cells):
        for c, (param, analyte) in enumerate(row):
            ax = fig.axes[r][c]
            sel = params.filter(pl.col("analyte") == analyte)
            draw_paired(ax, sel, products, param, pcol)
            vals = sel[param].to_numpy().astype(float)
            log = False
            if param == "cmax":
                log = _scale(ax, vals)
                ax.ylabel = f"Peak {analyte_axis_label(analyte)}"
                title = f"{analyte_name(analyte)}\npeak"
            else:
                ax.ylabel = "Day of peak (days after infusion)"
                title = f"{analyte_name(analyte)}\nday of peak"
                ticks = sorted(set(schedule) | set(sel["tmax"].drop_nulls().to_list()))
                ax.set_yticks(ticks)
                vals = np.concatenate([vals, np.asarray(ticks, dtype=float)])
            finite = vals[np.isfinite(vals)]
            top = float(finite.max()) if finite.size else 1.0
            # room above the dots for the P values: a quarter more on a linear axis, 4x on a log one
            ax.ylim = (0, (top * 4 if log else top * 1.05 * 1.25) or 1.0)
            note = p_note(comparison_for(comparisons, analyte, param))
            if note:
                ax.text(0.5, 0.98, note.replace("; ", "\n"), va="top", size=SMALL_FONT_PT, xcoord="axes",
                        ycoord="axes", cls="pvalue")
            ax.ylabel_size = SMALL_FONT_PT
            ax.name = next(letters)
            ax.title = panel_title(ax.name, title)
    return fig


def kinetics_peaks_figure(results: Results) -> Figure:
    """Fig 4: CAR-T % and CAR DNA peak and peak day, CD19 vs CD22 (paired dots)."""
    analytes = _present(results.get("kinetic_params"), KINETIC_ANALYTES)
    if not analytes:
        raise NotApplicable("figure 4 needs kinetic_params for car_t_pct_cd3 or car_dna")
    return _peaks_figure(results, analytes, two_rows=False)


def cytokine_peaks_figure(results: Results) -> Figure:
    """Fig 7: cytokine peaks (top row) and peak days (bottom row) by product."""
    analytes = _present(results.get("kinetic_params"), CYTOKINE_ANALYTES)
    if not analytes:
        raise NotApplicable("figure 7 needs kinetic_params for at least one cytokine")
    return _peaks_figure(results, analytes, two_rows=True)
