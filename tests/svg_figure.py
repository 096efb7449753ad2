"""Reading figures back from the SVG text cartkit writes (report/svg), for the figure tests.

Parses with xml.etree (so the document must be well-formed), finds each panel (``<g class="panel">``)
with its plot rectangle and limits (``data-plot``, ``data-xlim``, ``data-ylim``, ``data-yscale``),
and maps drawn points back to data values with the inverse of the axis scale, written here
independently of the writer's own Scale.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def classes(el: ET.Element) -> set[str]:
    return set((el.get("class") or "").split())


def points(el: ET.Element) -> list[tuple[float, float]]:
    """The points of a polyline/polygon, the centre of a circle, or the vertices of an M/L path."""
    if el.get("points") is not None:
        return [tuple(map(float, p.split(","))) for p in el.get("points").split()]  # type: ignore[misc]
    if el.tag == f"{NS}circle":
        return [(float(el.get("cx")), float(el.get("cy")))]
    d = el.get("d", "").replace("M", " ").replace("L", " ")
    return [tuple(map(float, p.split(","))) for p in d.split()]  # type: ignore[misc]


def center(el: ET.Element) -> tuple[float, float]:
    pts = points(el)
    if el.tag == f"{NS}circle":
        return pts[0]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2


def text_of(el: ET.Element) -> str:
    return (el.text or "").replace("\u00a0", " ")


@dataclass
class Panel:
    el: ET.Element
    plot: tuple[float, float, float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    yscale: str
    linthresh: float | None

    @property
    def id(self) -> str:
        return self.el.get("id")

    def find(self, cls: str) -> list[ET.Element]:
        return [e for e in self.el.iter() if cls in classes(e)]

    def texts(self, cls: str) -> list[str]:
        return [text_of(e) for e in self.find(cls)]

    def title(self) -> str:
        return "\n".join(self.texts("title"))

    def _t(self, v: float) -> float:
        if self.yscale == "linear":
            return v
        if self.yscale == "log":
            return math.log10(v)
        a, lt = abs(v), self.linthresh
        t = a / lt * 0.5 if a <= lt else 0.5 + math.log10(a / lt)
        return math.copysign(t, v)

    def _t_inv(self, t: float) -> float:
        if self.yscale == "linear":
            return t
        if self.yscale == "log":
            return 10**t
        lt = self.linthresh
        a = abs(t)
        v = a / 0.5 * lt if a <= 0.5 else lt * 10 ** (a - 0.5)
        return math.copysign(v, t)

    def x_data(self, px: float) -> float:
        x0, _, x1, _ = self.plot
        return self.xlim[0] + (px - x0) / (x1 - x0) * (self.xlim[1] - self.xlim[0])

    def y_data(self, py: float) -> float:
        _, y0, _, y1 = self.plot
        t0, t1 = self._t(self.ylim[0]), self._t(self.ylim[1])
        return self._t_inv(t0 + (y1 - py) / (y1 - y0) * (t1 - t0))

    def y_pixel(self, v: float) -> float:
        _, y0, _, y1 = self.plot
        t0, t1 = self._t(self.ylim[0]), self._t(self.ylim[1])
        return y1 - (self._t(v) - t0) / (t1 - t0) * (y1 - y0)

    def data(self, el: ET.Element) -> list[tuple[float, float]]:
        return [(self.x_data(x), self.y_data(y)) for x, y in points(el)]


def panels(root: ET.Element) -> list[Panel]:
    out = []
    for g in root.iter(f"{NS}g"):
        if "panel" not in classes(g):
            continue
        plot = tuple(map(float, g.get("data-plot").split()))
        xlim = tuple(map(float, g.get("data-xlim").split()))
        ylim = tuple(map(float, g.get("data-ylim").split()))
        lt = g.get("data-linthresh")
        out.append(Panel(g, plot, xlim, ylim, g.get("data-yscale"), float(lt) if lt else None))  # type: ignore[arg-type]
    return out


def legend_labels(root: ET.Element) -> list[str]:
    return [text_of(e) for e in root.iter() if "legend-label" in classes(e)]


def tick_pairs(panel: Panel, axis: str = "y") -> list[tuple[float, str]]:
    """(tick line position in points, label text) of a panel's major ticks, in drawing order."""
    lines = panel.find(f"{axis}tick")
    labels = panel.find(f"{axis}ticklabel")
    # a multi-line x tick label is several <text>s at the same x: join them per tick
    pos = [points(e)[0][1 if axis == "y" else 0] for e in lines]
    if axis == "y":
        return list(zip(pos, [text_of(e) for e in labels], strict=True))
    grouped: dict[float, list[str]] = {}
    for e in labels:
        grouped.setdefault(round(float(e.get("x")), 2), []).append(text_of(e))
    return [(p, "\n".join(grouped[round(p, 2)])) for p in pos]
