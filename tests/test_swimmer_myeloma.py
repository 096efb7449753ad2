"""The swimmer plot of a myeloma study (report/figures/swimmer.py), checked in its SVG: every IMWG 2016
best response (sCR, CR, VGPR, PR, MR, SD, PD) in its own colour and in rank order in the legend, the
first MRD-negative result, progression, death, and the "alive at last contact" arrow only for patients
who are alive."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import polars as pl
import pytest

from cartkit.analysis.results import Results
from cartkit.report.figures.swimmer import swimmer_figure
from cartkit.report.style import svg_text

NS = {"svg": "http://www.w3.org/2000/svg"}
IMWG = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"]


def _results() -> Results:
    # one patient per IMWG category (P1 sCR ... P7 PD); P1-P3 MRD-negative (P3 first on day 168), P5-P7
    # progress, P6 and P7 die; every patient has a last-contact record (the dead on their day of death)
    ids = [f"P{i}" for i in range(1, 8)]
    lanes = pl.DataFrame({"patient_id": ids, "diagnosis": ["MM"] * 7, "episode": [1] * 7,
                          "product": ["BCMA CAR-T"] * 7, "start_day": [0] * 7,
                          "end_day": [900, 800, 700, 600, 300, 200, 100], "best_response": IMWG})
    rows = [(p, "infusion", 0, "BCMA CAR-T") for p in ids]
    rows += [(p, r, 28 + 28 * i, r) for i, (p, r) in enumerate(zip(ids, IMWG, strict=True))]
    rows += [("P5", "progression", 250, "PD"), ("P6", "progression", 120, "PD"), ("P7", "progression", 28, "PD"),
             ("P6", "death", 200, "disease progression"), ("P7", "death", 100, "disease progression")]
    rows += [(p, "last_contact", end, "last_contact") for p, end in zip(ids, lanes["end_day"].to_list(), strict=True)]
    events = pl.DataFrame(rows, schema=["patient_id", "kind", "day", "label"], orient="row").sort("patient_id", "day")
    mrd = pl.DataFrame({"patient_id": ids, "episode": [1] * 7,
                        "first_negative_day": [28, 56, 168, None, None, None, None]},
                       schema_overrides={"first_negative_day": pl.Int64})
    return Results(tables={"swimmer": lanes, "swimmer_events": events, "mrd_landmark_status": mrd})


def _svg() -> ET.Element:
    text = svg_text(swimmer_figure(_results()), "patient-course")
    return ET.fromstring(text)


def _group(root: ET.Element, name: str) -> ET.Element | None:
    return root.find(f".//svg:g[@id='patient-course-{name}']", NS)


def _marks(root: ET.Element, name: str) -> list[tuple[float, float, str]]:
    """(x, y, colour) of each marker of the group ``name`` (cartkit's own SVG writer, report/svg: one
    <circle>, <polygon> or stroked <path> per marker; the colour is its fill, or a stroked shape's stroke)."""
    from svg_figure import center

    g = _group(root, name)
    assert g is not None, name
    out = []
    for mark in g:
        x, y = center(mark)
        colour = mark.get("fill") if mark.get("fill") not in (None, "none") else mark.get("stroke")
        out.append((round(x, 2), round(y, 2), colour.lower()))
    return out


def test_each_imwg_response_has_its_own_colour_and_legend_rank():
    root = _svg()
    fills = {}
    for r in IMWG:
        marks = _marks(root, f"swimmer-response-{r}")
        assert len(marks) == 1, r
        fills[r] = marks[0][2]
    assert len(set(fills.values())) == len(IMWG), fills  # seven categories, seven colours
    legend = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text in IMWG]
    assert legend[-len(IMWG):] == IMWG  # legend entries best first (after the y tick labels, none of them IMWG)


def test_mrd_negative_progression_death_and_alive_marks():
    root = _svg()
    mrd = _marks(root, "swimmer-mrd-negative")
    assert len(mrd) == 3
    # P3's mark is at day 168: to the right of P1's at day 28
    assert sorted(m[0] for m in mrd)[0] < sorted(m[0] for m in mrd)[-1]
    assert len(_marks(root, "swimmer-progression")) == 3
    assert len(_marks(root, "swimmer-death")) == 2
    alive = _marks(root, "swimmer-last-contact")
    assert len(alive) == 5  # P6 and P7 died: no "alive" arrow for them
    death_y = {m[1] for m in _marks(root, "swimmer-death")}
    assert not death_y & {m[1] for m in alive}


def test_without_the_mrd_analysis_no_mrd_mark():
    results = _results()
    del results.tables["mrd_landmark_status"]
    root = ET.fromstring(svg_text(swimmer_figure(results), "patient-course"))
    assert _group(root, "swimmer-mrd-negative") is None
    assert _group(root, "swimmer-response-VGPR") is not None


def test_mrd_diamond_and_response_circle_on_the_same_day_are_both_visible():
    """P1 is sCR and MRD-negative on day 28, P2 CR and MRD-negative on day 56: the white diamond is drawn above
    the lane (report/figures/swimmer.py MRD_RISE), clear of the response circle (their extents do not meet),
    nearer its own lane than the next one, and inside the plot area (the first lane's diamond too)."""
    from svg_figure import panels, points

    root = _svg()
    circles = {}
    for r in ("sCR", "CR"):
        (c,) = list(_group(root, f"swimmer-response-{r}"))
        circles[r] = (float(c.get("cx")), float(c.get("cy")), float(c.get("r")))
    diamonds = sorted((points(d) for d in _group(root, "swimmer-mrd-negative")),
                      key=lambda pts: min(p[1] for p in pts))[:2]
    pitch = circles["CR"][1] - circles["sCR"][1]  # one lane, in SVG units (P1 above P2)
    assert pitch > 0
    plot = panels(root)[0].plot
    top = min(plot[1], plot[3])
    for pts, r in zip(diamonds, ("sCR", "CR"), strict=True):
        cx, cy, cr = circles[r]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        assert (min(xs) + max(xs)) / 2 == pytest.approx(cx, abs=0.01)  # the same day
        assert max(ys) < cy - cr  # the diamond's bottom is above the circle's top: neither hides the other
        assert cy - (min(ys) + max(ys)) / 2 < pitch / 2  # still in its own lane
        assert min(ys) >= top
