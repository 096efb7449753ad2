"""cartkit's own figure writer: panels of data drawn as SVG, laid out from text extents.

A :class:`Figure` of a journal width holds a grid of :class:`Axes`; each axes collects marks in
data coordinates (lines, step curves, bands, rectangles, markers, texts), its limits, scale, ticks,
labels, title, legend and rows of numbers below it (numbers at risk). :meth:`Figure.marks` lays the
figure out once -- margins from the widths of the tick labels, axis labels and titles, estimated
from DejaVu Sans advance widths (``font_metrics``), no solver -- and returns every mark in points
(y down); :meth:`Figure.svg` writes them as SVG text and ``png.png_bytes`` rasterises the same marks
with matplotlib, so the two files show one layout.

Ids are the figure's own prefix and a number in document order (deterministic); all text is
XML-escaped (no markup or script from the data can reach the page); the SVG carries a <title> and a
<desc> for screen readers. Everything is plain Python on the drawn points: a figure of the seed
study costs milliseconds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cartkit.report.svg import font_metrics as fm
from cartkit.report.svg.scales import Scale

PT_PER_IN = 72.0
FONT_FAMILY = "DejaVu Sans, Arial, Helvetica, Liberation Sans, sans-serif"
FONT_PT = 7.5
SMALL_PT = 7.0
TITLE_PT = 8.5
LINE_PITCH = 1.2  # line spacing in font sizes
TICK_LEN = 3.0
MINOR_LEN = 1.5
TICK_PAD = 2.0
AXIS_WIDTH = 0.6
PAD = 4.0  # around the figure and between a panel's parts


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in points of one line of ``text`` at ``size`` points, from DejaVu Sans advance widths."""
    table = fm.BOLD if bold else fm.BOOK
    fb = fm.FALLBACK
    return sum(table.get(ord(c), fb) for c in text) * size / fm.UNITS_PER_EM


def block_size(text: str, size: float, bold: bool = False) -> tuple[float, float]:
    """(width, height) of a possibly multi-line text: the widest line, cap height to the last descent."""
    lines = text.split("\n")
    w = max(text_width(line, size, bold) for line in lines)
    h = (fm.CAP_HEIGHT + fm.DESCENT) / fm.UNITS_PER_EM * size + (len(lines) - 1) * LINE_PITCH * size
    return w, h


_CAP = fm.CAP_HEIGHT / fm.UNITS_PER_EM
_DESC = fm.DESCENT / fm.UNITS_PER_EM


_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f]")  # the control characters XML 1.0 forbids (all but tab, newline)


def _escape(text: str) -> str:
    text = _FORBIDDEN.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _f(v: float) -> str:
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


# ---------------------------------------------------------------- marks (laid out, in points, y down)

@dataclass
class Poly:
    """A polyline (``closed``: a polygon) in points; ``fill`` None for a line."""

    points: list[tuple[float, float]]
    stroke: str | None = "#000000"
    width: float = 1.0
    dash: str | None = None
    opacity: float = 1.0
    fill: str | None = None
    closed: bool = False
    clip: int | None = None
    cls: str = ""


@dataclass
class Marker:
    shape: str  # "o" circle, "v" "^" ">" triangles, "*" star, "D" diamond, "x" X, "+" plus, "|" censor tick, "_" bar
    points: list[tuple[float, float]]
    size: float = 4.0  # diameter in points
    fill: str = "#000000"
    stroke: str | None = None
    width: float = 0.5
    clip: int | None = None
    cls: str = ""
    gid: str = ""  # the markers are written in a group with this id (prefixed), so a kind can be found


@dataclass
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float = FONT_PT
    bold: bool = False
    color: str = "#000000"
    anchor: str = "start"  # start | middle | end
    rotate: float = 0.0  # degrees, -90 = reading upwards
    cls: str = ""


@dataclass
class Group:
    """Start of a panel's group: id, class and data attributes (the writer closes it at ``end``)."""

    id: str
    cls: str
    attrs: dict[str, str]
    clip_rect: tuple[float, float, float, float] | None = None  # x, y, w, h of the plot area
    clip: int | None = None
    end: bool = False


# -------------------------------------------------------------- legend entries

@dataclass(frozen=True)
class Entry:
    """One legend entry: a line (with an optional marker), a patch, or a marker alone."""

    label: str
    kind: str = "line"  # line | patch | marker
    color: str = "#000000"
    width: float = 1.2
    dash: str | None = None
    marker: str | None = None
    marker_fill: str | None = None
    marker_stroke: str | None = None
    marker_size: float = 4.0
    opacity: float = 1.0
    edge: str | None = None


@dataclass
class Legend:
    entries: list[Entry]
    title: str | None = None
    loc: str = "best"
    ncol: int = 1
    handle_len: float = 2.0  # in font sizes
    size: float = SMALL_PT

    def size_pt(self) -> tuple[float, float]:
        cols = _columns(self.entries, self.ncol)
        hl = self.handle_len * self.size
        widths = [max((text_width(e.label, self.size) for e in col), default=0) + hl + 0.8 * self.size
                  for col in cols]
        w = sum(widths) + (len(cols) - 1) * self.size
        if self.title:
            w = max(w, text_width(self.title, self.size, bold=True))
        rows = max((len(c) for c in cols), default=0) + (1 if self.title else 0)
        return w + 0.8 * self.size, rows * LINE_PITCH * 1.15 * self.size + 0.4 * self.size

    def marks(self, x: float, y: float) -> list:
        """The legend with its top left corner at (x, y)."""
        s = self.size
        pitch = LINE_PITCH * 1.15 * s
        out: list = []
        cy = y + 0.2 * s
        x0 = x + 0.4 * s
        if self.title:
            out.append(Text(x0, cy + 0.5 * pitch + 0.36 * s, self.title, s, bold=True, cls="legend-title"))
            cy += pitch
        hl = self.handle_len * s
        cx = x0
        for col in _columns(self.entries, self.ncol):
            ry = cy
            for e in col:
                mid = ry + 0.5 * pitch
                if e.kind == "patch":
                    out.append(Poly([(cx, mid - 0.35 * s), (cx + hl, mid - 0.35 * s), (cx + hl, mid + 0.35 * s),
                                     (cx, mid + 0.35 * s)], stroke=e.edge, width=0.4, fill=e.color,
                                    opacity=e.opacity, closed=True, cls="legend-handle"))
                elif e.kind == "line":
                    out.append(Poly([(cx, mid), (cx + hl, mid)], stroke=e.color, width=e.width, dash=e.dash,
                                    opacity=e.opacity, cls="legend-handle"))
                if e.marker:
                    out.append(Marker(e.marker, [(cx + hl / 2, mid)], e.marker_size, e.marker_fill or e.color,
                                      e.marker_stroke, 0.5, cls="legend-handle"))
                out.append(Text(cx + hl + 0.8 * s, mid + 0.36 * s, e.label, s, cls="legend-label"))
                ry += pitch
            cx += max(text_width(e.label, s) for e in col) + hl + 1.8 * s
        return out


def _columns(entries: list[Entry], ncol: int) -> list[list[Entry]]:
    n = max(1, min(ncol, len(entries)))
    per = -(-len(entries) // n) if entries else 0
    return [entries[i * per:(i + 1) * per] for i in range(n) if entries[i * per:(i + 1) * per]]


# ------------------------------------------------------------------- axes

@dataclass
class _Item:
    kind: str  # poly | marker | text
    xs: list[float]
    ys: list[float]
    style: dict
    xcoord: str = "data"
    ycoord: str = "data"
    z: float = 2.0


@dataclass
class Axes:
    """One panel: marks in data coordinates, limits, scales, ticks, labels and a title."""

    items: list[_Item] = field(default_factory=list)
    xlim: tuple[float, float] | None = None
    ylim: tuple[float, float] | None = None
    xlog: bool = False
    ylog: bool = False
    ylinthresh: float | None = None
    xticks: tuple[list[float], list[str]] | None = None
    yticks: tuple[list[float], list[str]] | None = None
    xinteger: bool = False
    yinteger: bool = False
    xlabel: str = ""
    ylabel: str = ""
    ylabel_size: float = FONT_PT
    ytick_len: float = TICK_LEN  # 0: labels without tick marks (patient lanes)
    title: str = ""
    legend: Legend | None = None
    rows_below: tuple[str, list[tuple[str, str, list[tuple[float, str]]]]] | None = None
    off: bool = False
    name: str = ""

    # ---- marks
    def line(self, xs: Sequence[float], ys: Sequence[float], color: str, width: float = 1.2,
             dash: str | None = None, opacity: float = 1.0, z: float = 2.0, cls: str = "line") -> None:
        """A polyline through the points; a NaN y breaks it (a gap)."""
        self.items.append(_Item("poly", [float(x) for x in xs], [float(y) for y in ys],
                                {"stroke": color, "width": width, "dash": dash, "opacity": opacity, "cls": cls}, z=z))

    def step(self, xs: Sequence[float], ys: Sequence[float], color: str, width: float = 1.3,
             dash: str | None = None, z: float = 2.0, cls: str = "step") -> None:
        """A right-continuous step function: the value ys[i] from xs[i] to xs[i + 1] (``where="post"``)."""
        sx: list[float] = []
        sy: list[float] = []
        xs, ys = [float(x) for x in xs], [float(y) for y in ys]
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            if i:
                sx.append(x)
                sy.append(ys[i - 1])
            sx.append(x)
            sy.append(y)
        self.items.append(_Item("poly", sx, sy, {"stroke": color, "width": width, "dash": dash, "opacity": 1.0,
                                                 "cls": cls, "steps": len(xs)}, z=z))

    def band(self, xs: Sequence[float], lo: Sequence[float], hi: Sequence[float], color: str,
             opacity: float = 0.25, z: float = 1.5, cls: str = "band") -> None:
        """The area between two curves (an IQR or a confidence band); rows with a NaN are left out."""
        pts = [(float(x), float(a), float(b)) for x, a, b in zip(xs, lo, hi, strict=True)
               if a == a and b == b and x == x]
        if not pts:
            return
        px = [p[0] for p in pts] + [p[0] for p in reversed(pts)]
        py = [p[1] for p in pts] + [p[2] for p in reversed(pts)]
        self.items.append(_Item("poly", px, py, {"stroke": None, "fill": color, "opacity": opacity,
                                                 "closed": True, "cls": cls}, z=z))

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: str, edge: str | None = "#000000",
             width: float = 0.4, opacity: float = 1.0, z: float = 2.0, cls: str = "bar") -> None:
        self.items.append(_Item("poly", [x0, x1, x1, x0], [y0, y0, y1, y1],
                                {"stroke": edge, "width": width, "fill": fill, "opacity": opacity, "closed": True,
                                 "cls": cls}, z=z))

    def markers(self, xs: Sequence[float], ys: Sequence[float], shape: str, color: str, size: float = 4.0,
                edge: str | None = None, width: float = 0.5, z: float = 3.0, cls: str = "marker",
                gid: str = "") -> None:
        pts = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
        pts = [(x, y) for x, y in pts if x == x and y == y]
        if pts:
            self.items.append(_Item("marker", [p[0] for p in pts], [p[1] for p in pts],
                                    {"shape": shape, "fill": color, "size": size, "stroke": edge, "width": width,
                                     "cls": cls, "gid": gid}, z=z))

    def hline(self, y: float, color: str, width: float = 0.5, dash: str | None = None, z: float = 1.8,
              cls: str = "hline") -> None:
        """A horizontal line across the whole panel at data y."""
        self.items.append(_Item("poly", [0.0, 1.0], [float(y), float(y)],
                                {"stroke": color, "width": width, "dash": dash, "opacity": 1.0, "cls": cls},
                                xcoord="axes", z=z))

    def text(self, x: float, y: float, text: str, ha: str = "center", va: str = "center", size: float = FONT_PT,
             color: str = "#000000", bold: bool = False, xcoord: str = "data", ycoord: str = "data",
             z: float = 4.0, cls: str = "label", fit: bool = False, rotate: float = 0.0) -> None:
        """A text at (x, y); ``xcoord``/``ycoord`` 'axes' place it in fractions of the panel (0-1).

        ``fit``: a line wider than the panel is broken after its '; ' separators (P-value notes).
        """
        self.items.append(_Item("text", [float(x)], [float(y)],
                                {"text": str(text), "ha": ha, "va": va, "size": size, "color": color, "bold": bold,
                                 "cls": cls, "fit": fit, "rotate": rotate}, xcoord, ycoord, z=z))

    # ---- limits and layout inputs
    def data_bounds(self, axis: str) -> tuple[float, float] | None:
        vals = [v for it in self.items if (it.xcoord if axis == "x" else it.ycoord) == "data"
                for v in (it.xs if axis == "x" else it.ys) if v == v and math.isfinite(v)]
        if axis == "y" and self.ylog and self.ylinthresh is None:
            vals = [v for v in vals if v > 0]
        return (min(vals), max(vals)) if vals else None

    def scale(self, axis: str) -> Scale:
        lim = self.xlim if axis == "x" else self.ylim
        log = self.xlog if axis == "x" else self.ylog
        if lim is None:
            b = self.data_bounds(axis) or (0.0, 1.0)
            lo, hi = b
            if log and self.ylinthresh is None:
                f = (hi / lo) ** 0.05 if lo > 0 else 1.0
                lim = (lo / f, hi * f) if hi > lo else (lo / 2, hi * 2)
            else:
                m = (hi - lo) * 0.05 or (abs(hi) * 0.05 or 0.5)
                lim = (lo - m, hi + m)
        return Scale(lim[0], lim[1], log=log, linthresh=self.ylinthresh if axis == "y" else None)

    def tick_values(self, axis: str) -> tuple[list[float], list[str], list[float]]:
        given = self.xticks if axis == "x" else self.yticks
        if given is not None:
            return list(given[0]), list(given[1]), []
        sc = self.scale(axis)
        major, labels, minor = sc.ticks(integer=self.xinteger if axis == "x" else self.yinteger)
        return major, labels, minor

    def set_xticks(self, values: Sequence[float], labels: Sequence[str] | None = None) -> None:
        self.xticks = ([float(v) for v in values], list(labels) if labels is not None else _labels(values))

    def set_yticks(self, values: Sequence[float], labels: Sequence[str] | None = None) -> None:
        self.yticks = ([float(v) for v in values], list(labels) if labels is not None else _labels(values))


def _labels(values: Iterable[float]) -> list[str]:
    out = []
    for v in values:
        v = float(v)
        out.append(str(int(v)) if v == int(v) else f"{v:g}")
    return out


@dataclass
class _Margins:
    left: float
    right: float
    top: float
    bottom: float


def _margins(ax: Axes) -> _Margins:
    if ax.off:
        return _Margins(PAD, PAD, PAD, PAD)
    ymaj, ylab, _ = ax.tick_values("y")
    xmaj, xlab, _ = ax.tick_values("x")
    ytw = max((text_width(t, FONT_PT) for t in ylab), default=0.0)
    left = PAD + ax.ytick_len + TICK_PAD + ytw
    if ax.ylabel:
        left += block_size(ax.ylabel, ax.ylabel_size)[1] + TICK_PAD + 1
    xth = max((block_size(t, FONT_PT)[1] for t in xlab), default=0.0)
    bottom = TICK_LEN + TICK_PAD + xth + PAD / 2
    if ax.xlabel:
        bottom += block_size(ax.xlabel, FONT_PT)[1] + TICK_PAD
    if ax.rows_below is not None:
        header, rows = ax.rows_below
        bottom += (len(rows) + 1) * LINE_PITCH * SMALL_PT + PAD
        label_w = max([text_width(r[0], SMALL_PT) for r in rows] + [0.0]) + PAD + 2
        left = max(left, label_w + PAD)
    top = PAD + (block_size(ax.title, TITLE_PT, True)[1] + PAD if ax.title else 0.0)
    right = PAD + (text_width(xlab[-1].split("\n")[0], FONT_PT) / 2 if xlab else 0.0)
    for it in ax.items:  # texts placed right of the panel (axes x >= 1) need room there
        if it.kind == "text" and it.xcoord == "axes" and it.xs[0] >= 1:
            st = it.style
            w, h = block_size(st["text"], st["size"], st["bold"])
            right = max(right, PAD + (h if st.get("rotate") else w) + 2)
    return _Margins(left, right, top, bottom)


def _text_marks(x: float, y: float, text: str, ha: str, va: str, size: float, color: str, bold: bool,
                cls: str, rotate: float = 0.0) -> list[Text]:
    """A text block anchored at (x, y) as one Text per line (baselines placed from the font metrics)."""
    lines = text.split("\n")
    pitch = LINE_PITCH * size
    total = _CAP * size + (len(lines) - 1) * pitch + _DESC * size
    if va == "top":
        first = _CAP * size
    elif va == "bottom":
        first = -total + _CAP * size
    elif va == "baseline":
        first = 0.0
    else:
        first = -total / 2 + _CAP * size
    anchor = {"left": "start", "center": "middle", "right": "end"}[ha]
    out = []
    rad = math.radians(rotate)
    # "down" in the text's own frame, in page coordinates (y down): rotate (0, 1) by the angle
    dx, dy = -math.sin(rad), math.cos(rad)
    for i, line in enumerate(lines):
        off = first + i * pitch
        out.append(Text(x + dx * off, y + dy * off, line, size, bold, color, anchor, rotate, cls))
    return out


class Figure:
    """A figure of ``width`` x ``height`` inches with a grid of axes (``nrows`` x ``ncols``)."""

    def __init__(self, width: str | float = "double", height: float = 3.0, nrows: int = 1, ncols: int = 1):
        self.width_in = float({"single": 3.5, "double": 7.0}.get(width, width))  # type: ignore[arg-type]
        self.height_in = float(height)
        self.nrows, self.ncols = nrows, ncols
        self.axes: list[list[Axes]] = [[Axes() for _ in range(ncols)] for _ in range(nrows)]
        self.legend: Legend | None = None
        self.legend_loc = "right"  # right | bottom

    @property
    def width(self) -> float:
        return self.width_in * PT_PER_IN

    @property
    def height(self) -> float:
        return self.height_in * PT_PER_IN

    def get_size_inches(self) -> tuple[float, float]:
        return self.width_in, self.height_in

    def all_axes(self) -> list[Axes]:
        return [ax for row in self.axes for ax in row]

    def set_legend(self, legend: Legend, loc: str = "right") -> None:
        """A figure-wide legend at the right or the bottom; a bottom legend wider than the figure
        gets fewer columns (more rows) until it fits."""
        if loc == "bottom":
            while legend.ncol > 1 and legend.size_pt()[0] > self.width - PAD:
                legend.ncol -= 1
        self.legend, self.legend_loc = legend, loc

    # ------------------------------------------------------------ layout
    def layout(self) -> dict[int, tuple[float, float, float, float]]:
        """Plot rectangle (x0, y0, x1, y1) in points of every axes (by position in ``all_axes``)."""
        W, H = self.width, self.height
        area = [PAD / 2, PAD / 2, W - PAD / 2, H - PAD / 2]
        if self.legend is not None:
            lw, lh = self.legend.size_pt()
            if self.legend_loc == "right":
                area[2] -= lw + PAD
            else:
                area[3] -= lh + PAD
        cw = (area[2] - area[0]) / self.ncols
        ch = (area[3] - area[1]) / self.nrows
        m = [[_margins(ax) for ax in row] for row in self.axes]
        on = [[not ax.off for ax in row] for row in self.axes]
        lefts = [max([m[r][c].left for r in range(self.nrows) if on[r][c]] or [PAD]) for c in range(self.ncols)]
        rights = [max([m[r][c].right for r in range(self.nrows) if on[r][c]] or [PAD]) for c in range(self.ncols)]
        tops = [max([m[r][c].top for c in range(self.ncols) if on[r][c]] or [PAD]) for r in range(self.nrows)]
        bottoms = [max([m[r][c].bottom for c in range(self.ncols) if on[r][c]] or [PAD])
                   for r in range(self.nrows)]
        rects = {}
        for r in range(self.nrows):
            for c in range(self.ncols):
                x0 = area[0] + c * cw + lefts[c]
                x1 = area[0] + (c + 1) * cw - rights[c]
                y0 = area[1] + r * ch + tops[r]
                y1 = area[1] + (r + 1) * ch - bottoms[r]
                if x1 - x0 < 10:
                    x1 = x0 + 10
                if y1 - y0 < 10:
                    y1 = y0 + 10
                rects[r * self.ncols + c] = (x0, y0, x1, y1)
        return rects

    # ------------------------------------------------------------ marks
    def marks(self, prefix: str = "fig") -> list:
        """Every mark of the figure in points (y down), in drawing order."""
        out: list = []
        rects = self.layout()
        clip_no = 0
        for k, ax in enumerate(self.all_axes()):
            if ax.off:
                continue
            clip_no += 1
            out.extend(self._axes_marks(ax, rects[k], clip_no, prefix, k))
        if self.legend is not None:
            lw, lh = self.legend.size_pt()
            if self.legend_loc == "right":
                top = min(r[1] for r in rects.values()) if rects else PAD
                pos = (self.width - PAD / 2 - lw, top)
            else:
                pos = ((self.width - lw) / 2, self.height - PAD / 2 - lh)
            out.append(Group(f"{prefix}-legend", "legend", {}))
            out.extend(self.legend.marks(*pos))
            out.append(Group("", "", {}, end=True))
        return out

    def _axes_marks(self, ax: Axes, rect, clip_no: int, prefix: str, k: int) -> list:
        x0, y0, x1, y1 = rect
        xs_, ys_ = ax.scale("x"), ax.scale("y")
        w, h = x1 - x0, y1 - y0

        def px(v: float) -> float:
            return x0 + xs_.fraction(v) * w

        def py(v: float) -> float:
            return y1 - ys_.fraction(v) * h

        name = ax.name or str(k + 1)
        attrs = {"data-plot": f"{_f(x0)} {_f(y0)} {_f(x1)} {_f(y1)}",
                 "data-xlim": f"{xs_.lo!r} {xs_.hi!r}", "data-ylim": f"{ys_.lo!r} {ys_.hi!r}",
                 "data-yscale": ("symlog" if ax.ylinthresh is not None else "log") if ax.ylog else "linear"}
        if ax.ylinthresh is not None:
            attrs["data-linthresh"] = repr(ax.ylinthresh)
        out: list = [Group(f"{prefix}-panel-{name}", "panel", attrs)]
        # data layer, clipped to the plot area (a little beyond it, so edge markers stay whole)
        out.append(Group("", "data", {}, clip_rect=(x0 - 3, y0 - 3, w + 6, h + 6), clip=clip_no))
        for it in sorted((i for i in ax.items if i.kind != "text"), key=lambda i: i.z):
            fx = [px(v) for v in it.xs] if it.xcoord == "data" else [x0 + v * w for v in it.xs]
            fy = [py(v) for v in it.ys] if it.ycoord == "data" else [y1 - v * h for v in it.ys]
            st = it.style
            if it.kind == "poly":
                for run in _runs(fx, fy):
                    out.append(Poly(run, st.get("stroke"), st.get("width", 1.0), st.get("dash"),
                                    st.get("opacity", 1.0), st.get("fill"), st.get("closed", False), clip_no,
                                    st.get("cls", "")))
            else:
                out.append(Marker(st["shape"], list(zip(fx, fy, strict=True)), st["size"], st["fill"],
                                  st.get("stroke"), st.get("width", 0.5), clip_no, st.get("cls", ""),
                                  f"{prefix}-{st['gid']}" if st.get("gid") else ""))
        out.append(Group("", "", {}, end=True))
        # axes: spines, ticks, labels
        out.append(Poly([(x0, y0), (x0, y1), (x1, y1)], "#000000", AXIS_WIDTH, cls="spine"))
        xmaj, xlab, xmin = ax.tick_values("x")
        xmaj_in = [(v, t) for v, t in zip(xmaj, xlab, strict=True) if _inside(xs_, v)]
        for v, t in xmaj_in:
            x = px(v)
            out.append(Poly([(x, y1), (x, y1 + TICK_LEN)], "#000000", AXIS_WIDTH, cls="xtick"))
            out.extend(_text_marks(x, y1 + TICK_LEN + TICK_PAD, t, "center", "top", FONT_PT, "#000000", False,
                                   "xticklabel"))
        for v in xmin:
            if _inside(xs_, v):
                out.append(Poly([(px(v), y1), (px(v), y1 + MINOR_LEN)], "#000000", 0.4, cls="xtick-minor"))
        ymaj, ylab, ymin = ax.tick_values("y")
        ytw = 0.0
        for v, t in zip(ymaj, ylab, strict=True):
            if not _inside(ys_, v):
                continue
            y = py(v)
            out.append(Poly([(x0, y), (x0 - ax.ytick_len, y)], "#000000", AXIS_WIDTH if ax.ytick_len else 0,
                            cls="ytick"))
            out.extend(_text_marks(x0 - ax.ytick_len - TICK_PAD, y, t, "right", "center", FONT_PT, "#000000",
                                   False, "yticklabel"))
            ytw = max(ytw, text_width(t, FONT_PT))
        for v in ymin:
            if _inside(ys_, v):
                out.append(Poly([(x0, py(v)), (x0 - MINOR_LEN, py(v))], "#000000", 0.4, cls="ytick-minor"))
        xth = max((block_size(t, FONT_PT)[1] for _, t in xmaj_in), default=0.0)
        below = y1 + TICK_LEN + TICK_PAD + xth + TICK_PAD
        if ax.xlabel:
            out.extend(_text_marks((x0 + x1) / 2, below, ax.xlabel, "center", "top", FONT_PT, "#000000", False,
                                   "xlabel"))
            below += block_size(ax.xlabel, FONT_PT)[1] + PAD
        if ax.ylabel:
            lx = x0 - ax.ytick_len - TICK_PAD - ytw - TICK_PAD - 1
            out.extend(_text_marks(lx, (y0 + y1) / 2, ax.ylabel, "center", "bottom", ax.ylabel_size, "#000000",
                                   False, "ylabel", rotate=-90))
        if ax.title:
            out.extend(_text_marks(x0, y0 - PAD, ax.title, "left", "bottom", TITLE_PT, "#000000", True, "title"))
        # texts (data or axes coordinates), above the data, not clipped
        for it in ax.items:
            if it.kind != "text":
                continue
            st = it.style
            x = px(it.xs[0]) if it.xcoord == "data" else x0 + it.xs[0] * w
            y = py(it.ys[0]) if it.ycoord == "data" else y1 - it.ys[0] * h
            text = st["text"]
            if st.get("fit"):
                room = {"left": x1 - x, "right": x - x0, "center": 2 * min(x - x0, x1 - x)}[st["ha"]]
                text = _fit(text, room, st["size"], st["bold"])
            out.extend(_text_marks(x, y, text, st["ha"], st["va"], st["size"], st["color"], st["bold"],
                                   st["cls"], st.get("rotate", 0.0)))
        if ax.rows_below is not None:
            header, rows = ax.rows_below
            pitch = LINE_PITCH * SMALL_PT
            out.append(Text(x0 - TICK_LEN, below + _CAP * SMALL_PT, header, SMALL_PT, True, cls="rows-header"))
            for i, (label, color, cells) in enumerate(rows):
                base = below + (i + 1) * pitch + _CAP * SMALL_PT
                out.append(Text(x0 - PAD, base, label, SMALL_PT, False, color, "end", cls="rows-label"))
                for xv, txt in cells:
                    out.append(Text(px(xv), base, txt, SMALL_PT, False, color, "middle", cls="rows-cell"))
        if ax.legend is not None:
            out.append(Group("", "legend", {}))
            out.extend(ax.legend.marks(*_legend_corner(ax.legend, rect, out)))
            out.append(Group("", "", {}, end=True))
        out.append(Group("", "", {}, end=True))
        return out

    # ------------------------------------------------------------ output
    def svg(self, prefix: str = "fig", title: str = "", desc: str = "") -> str:
        from cartkit.report.svg.write_svg import svg_document

        return svg_document(self, prefix, title, desc)


def _fit(text: str, room: float, size: float, bold: bool) -> str:
    """Lines wider than ``room`` points broken after '; ' (as many parts per line as fit)."""
    out = []
    for line in text.split("\n"):
        if text_width(line, size, bold) <= room or "; " not in line:
            out.append(line)
            continue
        cur = ""
        for part in line.split("; "):
            trial = f"{cur}; {part}" if cur else part
            if cur and text_width(trial, size, bold) > room:
                out.append(cur + ";")
                cur = part
            else:
                cur = trial
        out.append(cur)
    return "\n".join(out)


def _inside(sc: Scale, v: float) -> bool:
    lo, hi = min(sc.lo, sc.hi), max(sc.lo, sc.hi)
    eps = (hi - lo) * 1e-9
    return lo - eps <= v <= hi + eps


def _runs(xs: list[float], ys: list[float]) -> list[list[tuple[float, float]]]:
    """Split a polyline at non-finite points (a missing value leaves a gap)."""
    runs: list[list[tuple[float, float]]] = []
    cur: list[tuple[float, float]] = []
    for x, y in zip(xs, ys, strict=True):
        if math.isfinite(x) and math.isfinite(y):
            cur.append((x, y))
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return runs


_CORNERS = ("upper right", "upper left", "lower left", "lower right", "center right", "upper center",
            "lower center")


def _legend_corner(legend: Legend, rect, drawn: list) -> tuple[float, float]:
    """Top left corner of an in-panel legend; 'best' picks the corner covering the fewest data points."""
    x0, y0, x1, y1 = rect
    lw, lh = legend.size_pt()
    m = PAD / 2

    def corner(loc: str) -> tuple[float, float]:
        vert, _, horiz = loc.partition(" ")
        x = {"left": x0 + m, "right": x1 - m - lw, "center": (x0 + x1 - lw) / 2}[horiz or "center"]
        y = {"upper": y0 + m, "lower": y1 - m - lh, "center": (y0 + y1 - lh) / 2}[vert]
        return x, y

    if legend.loc != "best":
        return corner(legend.loc)
    pts = [p for mk in drawn if isinstance(mk, (Poly, Marker)) and mk.clip is not None for p in _dense(mk)]
    best, best_n = corner(_CORNERS[0]), None
    for loc in _CORNERS:
        cx, cy = corner(loc)
        n = sum(1 for x, y in pts if cx <= x <= cx + lw and cy <= y <= cy + lh)
        if best_n is None or n < best_n:
            best, best_n = (cx, cy), n
    return best


def _dense(mk) -> list[tuple[float, float]]:
    """The points of a mark, with long segments sampled every few points (a line crossing a box counts)."""
    pts = mk.points
    if isinstance(mk, Marker) or len(pts) < 2:
        return pts
    out = []
    for (ax_, ay), (bx, by) in zip(pts, pts[1:], strict=False):
        n = max(1, int(math.hypot(bx - ax_, by - ay) / 4))
        out.extend((ax_ + (bx - ax_) * i / n, ay + (by - ay) * i / n) for i in range(n))
    out.append(pts[-1])
    return out
