"""Review 2026-12-02 (report/svg/canvas.py Figure.marks, bottom legend; report/figures/kinetics.py): a
figure-wide legend at the bottom is centred at (width - legend width) / 2 and is never wrapped, so a legend
wider than its figure starts left of x = 0 and runs past the right edge, and the page clips it. The kinetics
figures of a one-product study (every myeloma study: one column, 3.5 in = 252 pt wide) put 3 entries in one
row ("BCMA CAR-T: median", "BCMA CAR-T: IQR", "Individual patients"), about 265 pt: on
examples/myeloma-study the median's line handle is drawn at x = -10.8 .. 3.2 pt and "Individual patients"
ends past 252 pt, so the figure shows "Individual patie" (seen in chromium). A longer product name hides more.
Owner: svg helper (report/svg/, report/figures/) -- not fixed here."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import cartkit
from cartkit.report.svg import text_width
from cartkit.report.svg.canvas import Marker, Poly, Text

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"


def _extent(mark) -> tuple[float, float]:
    if isinstance(mark, Text):
        w = text_width(mark.text, mark.size, mark.bold)
        x0 = {"start": mark.x, "middle": mark.x - w / 2, "end": mark.x - w}[mark.anchor]
        return x0, x0 + w
    if isinstance(mark, Marker):
        return min(p[0] for p in mark.points) - mark.size / 2, max(p[0] for p in mark.points) + mark.size / 2
    return min(p[0] for p in mark.points), max(p[0] for p in mark.points)


def test_one_product_kinetics_legend_stays_inside_the_figure():
    from cartkit.analysis import analyse
    from cartkit.derive import derive
    from cartkit.report.figures.kinetics import kinetics_curves_figure

    study = cartkit.load_study(SEED)
    results = analyse(study, derive(study))
    for name in ("kinetic_curves", "kinetic_values"):  # a one-product study, as every myeloma study
        results.tables[name] = results.get(name).filter(pl.col("product") == "CD22 CAR-T")
    fig = kinetics_curves_figure(results)
    marks = fig.marks("car-t-kinetics")
    legend = [m for m in marks if isinstance(m, (Text, Poly, Marker)) and m.cls.startswith("legend")]
    assert {m.text for m in legend if isinstance(m, Text)} == {
        "CD22 CAR-T: median", "CD22 CAR-T: IQR", "Individual patients"}
    outside = [(getattr(m, "text", m.cls), _extent(m)) for m in legend
               if _extent(m)[0] < -0.5 or _extent(m)[1] > fig.width + 0.5]
    assert not outside, f"legend marks outside 0..{fig.width:.1f} pt: {outside}"
