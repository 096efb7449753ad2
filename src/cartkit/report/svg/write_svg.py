"""Serialise a laid-out :class:`~cartkit.report.svg.canvas.Figure` as SVG text (inline-ready, no XML header)."""

from __future__ import annotations

import math

from cartkit.report.svg.canvas import FONT_FAMILY, FONT_PT, Group, Marker, Poly, Text, _escape, _f

# matplotlib's dash patterns (in line widths), so '--' and ':' read as they did
DASHES = {"--": (3.7, 1.6), ":": (1.0, 1.65), "-.": (6.4, 1.6, 1.0, 1.6)}


def _text_content(text: str) -> str:
    # SVG collapses runs of spaces; keep them (panel letters are set apart by three spaces)
    while "  " in text:
        text = text.replace("  ", " \u00a0")
    return _escape(text)


def _dash(dash: str | None, width: float) -> str:
    if not dash:
        return ""
    pattern = DASHES.get(dash)
    if pattern is None:
        return f' stroke-dasharray="{_escape(dash)}"'
    return ' stroke-dasharray="' + ",".join(_f(p * max(width, 0.5)) for p in pattern) + '"'


def _points(points) -> str:
    return " ".join(f"{_f(x)},{_f(y)}" for x, y in points)


def _cls(cls: str) -> str:
    return f' class="{_escape(cls)}"' if cls else ""


def star_points(x: float, y: float, r: float) -> list[tuple[float, float]]:
    """A five-pointed star of outer radius r (inner 0.38 r), point up."""
    pts = []
    for i in range(10):
        rr = r if i % 2 == 0 else 0.38 * r
        a = math.pi / 2 + i * math.pi / 5
        pts.append((x + rr * math.cos(a), y - rr * math.sin(a)))
    return pts


def marker_shape(shape: str, x: float, y: float, r: float) -> tuple[str, list[tuple[float, float]] | str]:
    """('polygon', points) for filled shapes, ('path', d) for stroked ones, ('circle', '') for circles."""
    if shape == "o":
        return "circle", ""
    if shape == "v":
        return "polygon", [(x - r, y - 0.8 * r), (x + r, y - 0.8 * r), (x, y + r)]
    if shape == "^":
        return "polygon", [(x - r, y + 0.8 * r), (x + r, y + 0.8 * r), (x, y - r)]
    if shape == ">":
        return "polygon", [(x - 0.8 * r, y - r), (x - 0.8 * r, y + r), (x + r, y)]
    if shape == "*":
        return "polygon", star_points(x, y, r)
    if shape == "D":
        return "polygon", [(x, y - r), (x + 0.8 * r, y), (x, y + r), (x - 0.8 * r, y)]
    if shape == "x":
        q = 0.8 * r
        return "path", f"M{_f(x - q)},{_f(y - q)}L{_f(x + q)},{_f(y + q)}M{_f(x - q)},{_f(y + q)}L{_f(x + q)},{_f(y - q)}"
    if shape == "+":
        return "path", f"M{_f(x - r)},{_f(y)}L{_f(x + r)},{_f(y)}M{_f(x)},{_f(y - r)}L{_f(x)},{_f(y + r)}"
    if shape == "|":
        return "path", f"M{_f(x)},{_f(y - r)}L{_f(x)},{_f(y + r)}"
    if shape == "_":
        return "path", f"M{_f(x - r)},{_f(y)}L{_f(x + r)},{_f(y)}"
    raise ValueError(f"unknown marker shape {shape!r}")


STROKED_WIDTH = {"x": 0.3, "+": 0.2}  # stroke width of X and + as a fraction of the marker size


def _marker(mk: Marker) -> list[str]:
    r = mk.size / 2
    out = []
    cls = _cls(mk.cls)
    edge = f' stroke="{mk.stroke}" stroke-width="{_f(mk.width)}"' if mk.stroke else ""
    for x, y in mk.points:
        kind, geom = marker_shape(mk.shape, x, y, r)
        if kind == "circle":
            out.append(f'<circle{cls} cx="{_f(x)}" cy="{_f(y)}" r="{_f(r)}" fill="{mk.fill}"{edge}/>')
        elif kind == "polygon":
            out.append(f'<polygon{cls} points="{_points(geom)}" fill="{mk.fill}"{edge}/>')
        else:
            width = mk.size * STROKED_WIDTH[mk.shape] if mk.shape in STROKED_WIDTH else mk.width
            out.append(f'<path{cls} d="{geom}" fill="none" stroke="{mk.fill}" stroke-width="{_f(width)}"/>')
    return out


def _poly(p: Poly) -> str:
    cls = _cls(p.cls)
    if p.fill is None:
        op = f' stroke-opacity="{_f(p.opacity)}"' if p.opacity != 1 else ""
        return (f'<polyline{cls} points="{_points(p.points)}" fill="none" stroke="{p.stroke}" '
                f'stroke-width="{_f(p.width)}"{_dash(p.dash, p.width)}{op}/>')
    op = f' fill-opacity="{_f(p.opacity)}"' if p.opacity != 1 else ""
    edge = f' stroke="{p.stroke}" stroke-width="{_f(p.width)}"' if p.stroke else ""
    tag = "polygon" if p.closed else "polyline"
    return f'<{tag}{cls} points="{_points(p.points)}" fill="{p.fill}"{op}{edge}/>'


def _text(t: Text) -> str:
    attrs = [f'x="{_f(t.x)}" y="{_f(t.y)}"']
    if t.size != FONT_PT:
        attrs.append(f'font-size="{_f(t.size)}"')
    if t.bold:
        attrs.append('font-weight="bold"')
    if t.color != "#000000":
        attrs.append(f'fill="{t.color}"')
    if t.anchor != "start":
        attrs.append(f'text-anchor="{t.anchor}"')
    if t.rotate:
        attrs.append(f'transform="rotate({_f(t.rotate)} {_f(t.x)} {_f(t.y)})"')
    return f'<text{_cls(t.cls)} {" ".join(attrs)}>{_text_content(t.text)}</text>'


def svg_document(fig, prefix: str, title: str = "", desc: str = "") -> str:
    """The figure as one <svg> element: width/height in points, <title>/<desc>, ids prefixed."""
    marks = fig.marks(prefix)
    p = _escape(prefix)
    W, H = _f(fig.width), _f(fig.height)
    label = " ".join(x for x, present in ((f"{p}-title", title), (f"{p}-desc", desc)) if present)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}pt" height="{H}pt" viewBox="0 0 {W} {H}" '
            f'version="1.1" role="img"' + (f' aria-labelledby="{label}"' if label else "") + ">")
    out = [head]
    if title:
        out.append(f'<title id="{p}-title">{_escape(title)}</title>')
    if desc:
        out.append(f'<desc id="{p}-desc">{_escape(desc)}</desc>')
    clips = [g for g in marks if isinstance(g, Group) and g.clip_rect is not None]
    if clips:
        out.append("<defs>")
        for g in clips:
            x, y, w, h = g.clip_rect
            out.append(f'<clipPath id="{p}-clip{g.clip}"><rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" '
                       f'height="{_f(h)}"/></clipPath>')
        out.append("</defs>")
    out.append(f'<rect width="{W}" height="{H}" fill="#ffffff"/>')
    out.append(f'<g font-family="{FONT_FAMILY}" font-size="{_f(FONT_PT)}" stroke-linejoin="round" '
               'stroke-linecap="butt">')
    for mk in marks:
        if isinstance(mk, Poly):
            out.append(_poly(mk))
        elif isinstance(mk, Text):
            out.append(_text(mk))
        elif isinstance(mk, Marker):
            if mk.gid:
                out.append(f'<g id="{_escape(mk.gid)}">')
            out.extend(_marker(mk))
            if mk.gid:
                out.append("</g>")
        elif mk.end:
            out.append("</g>")
        else:
            attrs = (f' id="{_escape(mk.id)}"' if mk.id else "") + _cls(mk.cls)
            attrs += "".join(f' {k}="{_escape(v)}"' for k, v in mk.attrs.items())
            if mk.clip_rect is not None:
                attrs += f' clip-path="url(#{p}-clip{mk.clip})"'
            out.append(f"<g{attrs}>")
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
