"""The one figure style of the report: palette, fonts, sizes, and figure export.

The report's figures are drawn by cartkit's own SVG writer (``cartkit.report.svg``) with the
palette and response order below; :func:`figure_style`, :func:`new_figure` and the matplotlib
branches of :func:`svg_text` / :func:`png_bytes` serve a figure kind registered with
``engine="matplotlib"`` (none of the report's today) and the PNGs (``--png``).

* Palette: Okabe & Ito (2008), "Color Universal Design" -- the eight colours stay
  distinguishable under the common colour-vision deficiencies.
* Sizes: journal column widths (single 3.5 in, double 7.0 in) with 7-8.5 pt text,
  legible when printed at 100 %.

matplotlib is imported inside functions only (``import cartkit`` stays light), and
always with the non-interactive Agg backend.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

# Okabe-Ito palette (hex), in their published order.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
GREY = "#8C8C8C"
LIGHT_GREY = "#D9D9D9"

# Products (reference product first) and groups (diseases) get distinct cycles.
PRODUCT_CYCLE: tuple[str, ...] = ("blue", "vermillion", "bluish_green", "reddish_purple", "orange", "sky_blue")
GROUP_CYCLE: tuple[str, ...] = ("bluish_green", "reddish_purple", "orange", "sky_blue", "blue", "vermillion")

# Ordered toxicity grades 0-5: light to dark so the order reads without colour.
GRADE_COLORS: dict[int, str] = {
    0: LIGHT_GREY,
    1: OKABE_ITO["yellow"],
    2: OKABE_ITO["orange"],
    3: OKABE_ITO["vermillion"],
    4: OKABE_ITO["reddish_purple"],
    5: OKABE_ITO["black"],
}

# Responses: good (greens/blues) to bad (vermillion); unknown labels fall back to grey.
RESPONSE_ORDER: tuple[str, ...] = ("CR", "CMR", "CRi", "PR", "PMR", "SD", "NMR", "NR", "PD", "PMD")
RESPONSE_COLORS: dict[str, str] = {
    "CR": OKABE_ITO["bluish_green"],
    "CMR": OKABE_ITO["bluish_green"],
    "CRi": OKABE_ITO["sky_blue"],
    "PR": OKABE_ITO["blue"],
    "PMR": OKABE_ITO["blue"],
    "SD": OKABE_ITO["yellow"],
    "NMR": OKABE_ITO["yellow"],
    "NR": OKABE_ITO["orange"],
    "PD": OKABE_ITO["vermillion"],
    "PMD": OKABE_ITO["vermillion"],
    # IMWG 2016 and iwCLL 2018 categories: between the neighbouring categories' colours, so that
    # sCR > CR > VGPR > PR > MR > SD > PD reads as an order (sCR a darker shade of CR's bluish green,
    # VGPR between CR and PR, MR between PR's blue and SD's yellow; PR-L a lighter PR blue)
    "sCR": "#00654A",
    "VGPR": "#7FCDBB",
    "nPR": "#7FCDBB",
    "MR": OKABE_ITO["reddish_purple"],
    "PR-L": "#6BAED6",
}

SINGLE_COLUMN_IN = 3.5
DOUBLE_COLUMN_IN = 7.0
FONT_PT = 7.5
SMALL_FONT_PT = 7.0
TITLE_FONT_PT = 8.5
PNG_DPI = 200

_RC: dict[str, object] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans"],
    "font.size": FONT_PT,
    "axes.titlesize": TITLE_FONT_PT,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": FONT_PT,
    "xtick.labelsize": FONT_PT,
    "ytick.labelsize": FONT_PT,
    "legend.fontsize": SMALL_FONT_PT,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 3,
    "ytick.major.size": 3,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "patch.linewidth": 0.4,
    "axes.prop_cycle": None,  # filled in figure_style (needs cycler)
    "figure.dpi": 100,
    "savefig.dpi": PNG_DPI,
    "savefig.bbox": None,  # constrained layout already fits; "tight" would draw every figure twice
    "savefig.pad_inches": 0.05,
    # text stays text in SVG: no glyph <defs> to collide between inline figures,
    # selectable and searchable in the browser; no font files are embedded or fetched.
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    # every text is drawn as plain text: a patient id or label with "$...$" in it is data, not
    # mathtext (which would fail on "$\\frac{$"); set again while saving, since tick labels are
    # created only when the figure is drawn
    "text.parse_math": False,
}
_PLAIN_TEXT = {"text.parse_math": False}


def color_cycle(names: Sequence[str], cycle: Sequence[str]) -> dict[str, str]:
    """Stable colour per category, in the given order, from an Okabe-Ito cycle."""
    return {name: OKABE_ITO[cycle[i % len(cycle)]] for i, name in enumerate(names)}


def product_colors(products: Sequence[str]) -> dict[str, str]:
    return color_cycle(products, PRODUCT_CYCLE)


def group_colors(groups: Sequence[str]) -> dict[str, str]:
    return color_cycle(groups, GROUP_CYCLE)


def response_color(label: str | None) -> str:
    return RESPONSE_COLORS.get(label or "", GREY)


def response_order(labels, unknown: bool = True) -> list[str]:
    """The labels, best first: the best-response ranks of the criteria file (best_response.toml: sCR, CR,
    VGPR, PR, MR, SD, PD ...), then the palette's order; labels neither knows (NE) last, sorted
    (left out with ``unknown=False``)."""
    from cartkit.response.best_response import bor_criteria

    rank = bor_criteria()["rank"]
    palette = {r: i for i, r in enumerate(RESPONSE_ORDER)}
    alias = {"CMR": "CR", "PMR": "PR", "NMR": "SD", "PMD": "PD"}
    known = [r for r in labels if r in rank or r in palette]
    rest = sorted(r for r in set(labels) if r not in rank and r not in palette) if unknown else []
    return sorted(set(known), key=lambda r: (rank.get(r, rank.get(alias.get(r, ""), 99)), palette.get(r, 99), r)) \
        + rest


def _matplotlib():
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg", force=True)
    return matplotlib


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """Draw inside this context: the report's rcParams, Agg backend, Okabe-Ito cycle."""
    mpl = _matplotlib()
    from cycler import cycler

    rc = dict(_RC)
    rc["axes.prop_cycle"] = cycler(color=[OKABE_ITO[c] for c in PRODUCT_CYCLE])
    with mpl.rc_context(rc):
        yield


def new_figure(width: str | float = "double", height: float = 3.0, nrows: int = 1, ncols: int = 1,
               axes: bool = True, **subplots_kw) -> tuple[Figure, object]:
    """A figure of a journal width ('single' 3.5 in, 'double' 7 in, or inches) and its axes.

    With ``axes=False`` only the figure is made (for custom grids); axes is then None.
    """
    _matplotlib()
    from matplotlib.figure import Figure

    w = {"single": SINGLE_COLUMN_IN, "double": DOUBLE_COLUMN_IN}.get(width, width)  # type: ignore[arg-type]
    fig = Figure(figsize=(float(w), height), layout="constrained")
    ax = fig.subplots(nrows=nrows, ncols=ncols, squeeze=False, **subplots_kw) if axes else None
    return fig, ax


_ID_ATTR = re.compile(r'\bid="([^"]+)"')
_ID_OR_REF = re.compile(r'(\bid="|url\(#|href="#)([^"()]+)("|\))')
# matplotlib's own ids of clip paths, markers and hatches: a type letter and 10 hex digits of a
# hash of the object (backend_svg._make_id)
_HASHED_ID = re.compile(r"([a-z])[0-9a-f]{10}")


def svg_text(fig: Figure, prefix: str) -> str:
    """The figure as inline-ready SVG: no XML header/doctype, every id prefixed.

    matplotlib's SVG ids (clip paths, markers, hatches) repeat across figures; in one
    HTML page duplicate ids make a later figure reuse an earlier figure's clip path.
    Every ``id`` and every reference to it (``url(#..)``, ``href="#.."``) is prefixed
    with the figure's id, so many inline SVGs can share one document.

    matplotlib names a clip path by a hash of its rectangle's exact coordinates, and the
    constrained layout of a figure with nested grids (the survival figure) moves axes by a
    last-bit amount from run to run (it visits the grids in a set, ordered by memory address),
    so those names changed between runs of the same report. They are numbered instead, in the
    order they first appear (``survival-curves-p3``): the same figure is the same bytes.
    """
    if hasattr(fig, "marks"):  # a figure of cartkit's own writer (report/svg): its ids are prefixed already
        return fig.svg(prefix)
    _matplotlib()
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": prefix, "svg.fonttype": "none", **_PLAIN_TEXT}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    # the layout is now fixed (figure fractions do not depend on dpi): later exports of the
    # same figure (PNG) skip the constrained-layout solve
    fig.set_layout_engine("none")
    svg = buf.getvalue()
    start = svg.find("<svg")
    svg = svg[start:]
    ids: dict[str, str] = {}
    for name in _ID_ATTR.findall(svg):  # document order: defs are written in drawing order
        hashed = _HASHED_ID.fullmatch(name)
        ids.setdefault(name, f"{hashed.group(1)}{len(ids) + 1}" if hashed else name)
    if ids:
        # one pass over the text; a match is rewritten only when it names an id of this SVG
        # (a regex alternation of every id was a tenth of the report's SVG time)
        def prefixed(m: re.Match) -> str:
            head, name, tail = m.group(1, 2, 3)
            new = ids.get(name)
            return m.group(0) if new is None else f"{head}{prefix}-{new}{tail}"

        svg = _ID_OR_REF.sub(prefixed, svg)
    return svg


def png_bytes(fig: Figure) -> bytes:
    if hasattr(fig, "marks"):  # cartkit's own writer: the same marks as its SVG, rasterised
        from cartkit.report.svg.png import png_bytes as svg_png

        return svg_png(fig)
    import matplotlib

    _matplotlib()
    buf = io.BytesIO()
    with matplotlib.rc_context(_PLAIN_TEXT):
        fig.savefig(buf, format="png", dpi=PNG_DPI)
    return buf.getvalue()
