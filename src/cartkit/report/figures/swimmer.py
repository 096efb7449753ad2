"""Figure 2A: swimmer plot -- every patient's course across the products.

One lane per patient (grouped by disease), one bar per episode coloured by product,
from that infusion to the next infusion or last follow-up. Markers: best response
(coloured by response, in the order of the criteria's ranks, best_response.toml: sCR, CR,
VGPR, PR, MR, SD, PD for myeloma, IMWG 2016), the first MRD-negative result (a white
diamond, when the PFS-by-MRD analysis ran: ``mrd_landmark_status``), relapse/progression,
allo-HSCT, death, and an arrow for a patient alive at last contact (never for a patient who
died). Days are counted from the patient's first infusion. Each marker kind is an SVG group
with its own id (``patient-course-swimmer-response-sCR`` ...), so the drawing can be checked. Drawn
by cartkit's own SVG writer (report/svg).
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.patient_order import patient_number
from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.style import (
    GREY,
    OKABE_ITO,
    SMALL_FONT_PT,
    product_colors,
    response_color,
    response_order,
)
from cartkit.report.svg import Entry, Figure, Legend

MRD_MARK = ("D", "white", "MRD-negative")
# The MRD-negative diamond sits above its lane's bar, MRD_RISE lanes up, so that a response circle (or an
# event mark) on the same day cannot hide it, nor it the circle: at the lane pitch of these figures (about
# 0.2 in = 14.4 pt a patient) 0.45 lanes is 6.5 pt, more than the circle's and the diamond's radii (2.5 +
# 2 pt, plus their strokes); the next lane's marks are 0.55 lanes (7.9 pt) away.
MRD_RISE = 0.45
MRD_SIZE = 4


def _response_color(label: str) -> str:
    return response_color(label)


def _response_order(labels: set[str]) -> list[str]:
    """The labels present, best first (report/style.py ``response_order``: the criteria's ranks)."""
    return response_order(labels, unknown=False)

# kind -> (marker, colour, legend label); response kinds are drawn as coloured circles
EVENT_MARKS: dict[str, tuple[str, str, str]] = {
    "relapse": ("v", OKABE_ITO["vermillion"], "Relapse"),
    "progression": ("v", OKABE_ITO["black"], "Progression"),
    "hsct": ("*", OKABE_ITO["blue"], "Allo-HSCT"),
    "death": ("x", OKABE_ITO["black"], "Death"),
    "last_contact": (">", "#8C8C8C", "Alive at last contact"),
}


MAX_PATIENTS = 120  # beyond this a lane per patient is no longer legible at print size
LANE = 0.55  # height of an episode's bar, in lanes


def swimmer_figure(results: Results) -> Figure:
    lanes = results.get("swimmer")
    if lanes is None or lanes.height == 0:
        raise NotApplicable("swimmer figure needs the swimmer table")
    # an episode with no follow-up after its infusion (a study exported right after it) has no end day: its
    # lane has no length, and its infusion mark still shows where it starts
    lanes = lanes.with_columns(pl.col("end_day").fill_null(pl.col("start_day")))
    n_patients = lanes["patient_id"].n_unique()
    if n_patients > MAX_PATIENTS:
        raise NotApplicable(f"{n_patients} patients: too many for one lane each (at most {MAX_PATIENTS}); "
                            "the courses are in tables/swimmer.csv and tables/swimmer_events.csv")
    events = results.get("swimmer_events")
    patients = lanes.select("patient_id", "diagnosis").unique(subset="patient_id", maintain_order=True)
    diseases = patients["diagnosis"].unique(maintain_order=True).to_list()
    # order: disease blocks in order of appearance; within, patient ids in natural order (P2 < P10)
    patients = patients.with_columns(
        _d=pl.col("diagnosis").replace_strict({d: i for i, d in enumerate(diseases)}, return_dtype=pl.Int64),
        _n=patient_number(),
    ).sort("_d", "_n", "patient_id")
    order = patients["patient_id"].to_list()
    ypos = {p: i for i, p in enumerate(order)}
    products = lanes["product"].unique(maintain_order=True).to_list()
    pcol = product_colors(products)

    fig = Figure("double", 0.9 + 0.2 * len(order))
    ax = fig.axes[0][0]
    lanes_y = lanes.with_columns(y=pl.col("patient_id").replace_strict(ypos, return_dtype=pl.Int64))
    for product in products:
        seg = lanes_y.filter(pl.col("product") == product)
        for y, a, b in zip(seg["y"].to_list(), seg["start_day"].to_list(), seg["end_day"].to_list(), strict=True):
            ax.rect(a, y - LANE / 2, b, y + LANE / 2, pcol[product], edge=None, opacity=0.45, z=1, cls="lane")
    entries = [Entry(p, "patch", pcol[p], opacity=0.45) for p in products]
    mrd_on_first_lane = False
    if events is not None and events.height:
        ev = events.filter(pl.col("patient_id").is_in(order)).with_columns(
            y=pl.col("patient_id").replace_strict(ypos, return_dtype=pl.Int64))
        best = set(lanes["best_response"].drop_nulls().to_list())
        responses = ev.filter(pl.col("kind").is_in(list(best)) & ~pl.col("kind").is_in(list(EVENT_MARKS)))
        for r in _response_order(set(responses["kind"].to_list())):
            sel = responses.filter(pl.col("kind") == r)
            ax.markers(sel["day"].to_list(), sel["y"].to_list(), "o", _response_color(r), size=5, edge="#000000",
                       width=0.5, z=3, cls="response", gid=f"swimmer-response-{r}")
            entries.append(Entry(r, "marker", marker="o", marker_fill=_response_color(r), marker_stroke="#000000",
                                 marker_size=5))
        mrd = _mrd_negative_marks(results, lanes, ypos)
        if mrd is not None and mrd.height:
            marker, fill, label = MRD_MARK
            ax.markers(mrd["day"].to_list(), [y - MRD_RISE for y in mrd["y"].to_list()], marker, fill, size=MRD_SIZE,
                       edge="#000000", width=0.6, z=5, cls="mrd-negative", gid="swimmer-mrd-negative")
            entries.append(Entry(f"{label} (above the lane)", "marker", marker=marker, marker_fill=fill,
                                 marker_stroke="#000000", marker_size=MRD_SIZE))
            mrd_on_first_lane = 0 in set(mrd["y"].to_list())
        dead = set(ev.filter(pl.col("kind") == "death")["patient_id"].to_list())
        for kind, (marker, color, label) in EVENT_MARKS.items():
            sel = ev.filter(pl.col("kind") == kind)
            if kind == "last_contact":  # the arrow says "alive": not for a patient who died
                sel = sel.filter(~pl.col("patient_id").is_in(list(dead)))
            if sel.height == 0:
                continue
            ms = 8 if marker == "*" else 5
            ax.markers(sel["day"].to_list(), sel["y"].to_list(), marker, color, size=ms, z=4,
                       cls=f"event {kind.replace('_', '-')}", gid=f"swimmer-{kind.replace('_', '-')}")
            entries.append(Entry(label, "marker", marker=marker, marker_fill=color, marker_size=ms))
    ax.set_yticks(range(len(order)), order)
    ax.ytick_len = 0
    # room above the first lane for its MRD diamond: its top is MRD_RISE + 2 pt (0.14 lane) above the lane,
    # 0.09 lane beyond the usual half lane; 0.15 keeps it inside the axes
    ax.ylim = (len(order) - 0.5, -0.65 if mrd_on_first_lane else -0.5)
    xmax = float(max(lanes["end_day"].max() or 0, (events["day"].max() or 0) if events is not None and events.height else 0))
    ax.xlim = (0, xmax * 1.05 or 1.0)
    ax.xlabel = "Days from first CAR-T infusion"
    ax.ylabel = "Patient"
    # disease blocks: a separating line and the disease name at the right of the block
    blocks = patients.group_by("diagnosis", maintain_order=True).agg(first=pl.col("_d").len())
    start = 0
    for d, n in zip(blocks["diagnosis"].to_list(), blocks["first"].to_list(), strict=True):
        if start:
            ax.hline(start - 0.5, GREY, width=0.5, dash=":", cls="block")
        ax.text(1.005, 1 - (start + n / 2) / len(order), d, ha="center", va="bottom", size=SMALL_FONT_PT, bold=True,
                xcoord="axes", ycoord="axes", rotate=90, cls="disease")
        start += n
    fig.set_legend(Legend(entries, loc="upper left"), loc="right")
    return fig


def _mrd_negative_marks(results: Results, lanes: pl.DataFrame, ypos: dict[str, int]) -> pl.DataFrame | None:
    """patient_id, day (from the first infusion), y of each episode's first MRD-negative result, from the
    PFS-by-MRD analysis's per-patient table (its diseases' own MRD rules); None when it did not run."""
    status = results.get("mrd_landmark_status")
    if status is None or "first_negative_day" not in status.columns:
        return None
    return status.filter(pl.col("first_negative_day").is_not_null() & pl.col("patient_id").is_in(list(ypos))).join(
        lanes.select("patient_id", "episode", "start_day"), on=["patient_id", "episode"], how="inner").select(
        "patient_id", (pl.col("start_day") + pl.col("first_negative_day")).alias("day"),
        pl.col("patient_id").replace_strict(ypos, return_dtype=pl.Int64).alias("y"))
