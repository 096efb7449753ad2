"""The PNG of a cartkit figure: the SVG's own laid-out marks rasterised by matplotlib (Agg), 200 dpi.

Only for ``cartkit run --png``: the marks are the ones the SVG is written from
(:meth:`~cartkit.report.svg.canvas.Figure.marks`), drawn one by one into a figure-sized canvas in
points, so the PNG shows the same layout, text, colours and data as the SVG. matplotlib is imported
here only.
"""

from __future__ import annotations

import io

from cartkit.report.svg.canvas import FONT_FAMILY, Group, Marker, Poly, Text
from cartkit.report.svg.write_svg import DASHES, STROKED_WIDTH, marker_shape

PNG_DPI = 200


def png_bytes(fig, dpi: int = PNG_DPI) -> bytes:
    from cartkit.report.style import _matplotlib

    _matplotlib()
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, Polygon, Rectangle
    from matplotlib.path import Path

    marks = fig.marks("png")
    W, H = fig.width, fig.height
    out = Figure(figsize=(W / 72, H / 72), dpi=dpi, facecolor="white")
    ax = out.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, W)
    ax.set_ylim(H, 0)
    ax.set_axis_off()
    families = FONT_FAMILY.split(",")[0]  # DejaVu Sans, bundled with matplotlib
    clips: list = []
    clip = None
    for mk in marks:
        if isinstance(mk, Group):
            if mk.end:
                if clips:
                    clips.pop()
                clip = clips[-1] if clips else None
                continue
            if mk.clip_rect is not None:
                x, y, w, h = mk.clip_rect
                clip = Rectangle((x, y), w, h, transform=ax.transData, visible=False)
                ax.add_patch(clip)
            clips.append(clip)
            continue
        if isinstance(mk, Poly):
            dash = None
            if mk.dash in DASHES:
                dash = (0, tuple(p * max(mk.width, 0.5) for p in DASHES[mk.dash]))
            if mk.fill is None:
                art = LineCollection([mk.points], colors=mk.stroke, linewidths=mk.width,
                                     alpha=mk.opacity, linestyles=dash or "solid")
                ax.add_collection(art)
            else:
                art = Polygon(mk.points, closed=True, facecolor=mk.fill, alpha=mk.opacity if mk.stroke is None
                              else None, edgecolor=mk.stroke or "none", linewidth=mk.width if mk.stroke else 0)
                if mk.stroke is not None and mk.opacity != 1:
                    art.set_facecolor((*_rgb(mk.fill), mk.opacity))
                ax.add_patch(art)
        elif isinstance(mk, Marker):
            r = mk.size / 2
            for x, y in mk.points:
                kind, geom = marker_shape(mk.shape, x, y, r)
                if kind == "circle":
                    art = Circle((x, y), r, facecolor=mk.fill, edgecolor=mk.stroke or "none",
                                 linewidth=mk.width if mk.stroke else 0)
                elif kind == "polygon":
                    art = Polygon(geom, closed=True, facecolor=mk.fill, edgecolor=mk.stroke or "none",
                                  linewidth=mk.width if mk.stroke else 0)
                else:
                    width = mk.size * STROKED_WIDTH[mk.shape] if mk.shape in STROKED_WIDTH else mk.width
                    from matplotlib.patches import PathPatch

                    art = PathPatch(Path(*_path(geom)), facecolor="none", edgecolor=mk.fill, linewidth=width)
                ax.add_patch(art)
        else:
            continue
        if clip is not None and mk.clip is not None:
            art.set_clip_path(clip)
    for mk in marks:
        if isinstance(mk, Text):
            ax.text(mk.x, mk.y, mk.text, fontsize=mk.size, fontweight="bold" if mk.bold else "normal",
                    color=mk.color, ha={"start": "left", "middle": "center", "end": "right"}[mk.anchor],
                    va="baseline", rotation=-mk.rotate, rotation_mode="anchor", family=families,
                    parse_math=False)
    buf = io.BytesIO()
    out.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def _rgb(color: str) -> tuple[float, float, float]:
    c = color.lstrip("#")
    return tuple(int(c[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _path(d: str):
    """Vertices and codes of the M/L paths ``marker_shape`` writes."""
    from matplotlib.path import Path

    verts, codes = [], []
    for part in d.replace("M", "|M").replace("L", "|L").split("|"):
        if not part:
            continue
        x, y = part[1:].split(",")
        verts.append((float(x), float(y)))
        codes.append(Path.MOVETO if part[0] == "M" else Path.LINETO)
    return verts, codes
