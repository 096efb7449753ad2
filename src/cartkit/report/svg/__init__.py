"""cartkit's own SVG figure writer (issue 16, target 1): the report's figures without matplotlib.

``canvas`` holds the figure model and its fixed layout (margins from text extents, estimated from
DejaVu Sans advance widths in ``font_metrics``), ``scales`` the linear and log scales with their
ticks, ``write_svg`` the SVG text, and ``png`` the PNG of the same marks (matplotlib, only for
``--png``). matplotlib is imported by ``png`` alone.
"""

from cartkit.report.svg.canvas import Axes, Entry, Figure, Legend, text_width

__all__ = ["Axes", "Entry", "Figure", "Legend", "text_width"]
