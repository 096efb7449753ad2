"""Figure 2A: swimmer plot -- every patient's course across the products.

One lane per patient (grouped by disease), one bar per episode coloured by product,
from that infusion to the next infusion or last follow-up. Markers: best response
(coloured by response, in the order of the criteria's ranks, best_response.toml: sCR, CR,
VGPR, PR, MR, SD, PD for myeloma, IMWG 2016), the first MRD-negative result (a white
diamond, when the PFS-by-MRD analysis ran: ``mrd_landmark_status``), relapse/progression,
allo-HSCT, death, and an arrow for a patient alive at last contact (never for a patient who
died). Days are counted from the patient's first infusion. Each marker kind is an SVG group
with its own id (``patient-course-swimmer-response-sCR`` ...), so the drawing can be checked.
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.patient_order import patient_number
from cartkit.analysis.results import Results
from cartkit.report.figures import NotApplicable
from cartkit.report.style import (
    OKABE_ITO,
    RESPONSE_ORDER,
    SMALL_FONT_PT,
    new_figure,
    product_colors,
    response_color,
)

# IMWG 2016 and iwCLL 2018 categories the shared palette (report/style.py) does not colour: between the
# neighbouring categories' colours, so that sCR > CR > VGPR > PR > MR > SD > PD reads as an order
# (sCR a darker shade of CR's bluish green, VGPR between CR and PR, MR between PR's blue and SD's yellow)
EXTRA_RESPONSE_COLORS: dict[str, str] = {
    "sCR": "#00654A",
    "VGPR": "#7FCDBB",
    "nPR": "#7FCDBB",
    "MR": "#CC79A7",
}
MRD_MARK = ("D", "white", "MRD-negative")


def _response_color(label: str) -> str:
    return EXTRA_RESPONSE_COLORS.get(label) or response_color(label)


def _response_order(labels: set[str]) -> list[str]:
    """The labels present, best first: the best-response ranks of the criteria file, then the palette's order."""
    from cartkit.response.best_response import bor_criteria

    rank = bor_criteria()["rank"]
    palette = {r: i for i, r in enumerate(RESPONSE_ORDER)}
    known = [r for r in labels if r in rank or r in palette]
    return sorted(known, key=lambda r: (rank.get(r, rank.get({"CMR": "CR", "PMR": "PR", "NMR": "SD",
                                                               "PMD": "PD"}.get(r, ""), 99)), palette.get(r, 99), r))

# kind -> (marker, colour, legend label); response kinds are drawn as coloured circles
EVENT_MARKS: dict[str, tuple[str, str, str]] = {
    "relapse": ("v", OKABE_ITO["vermillion"], "Relapse"),
    "progression": ("v", OKABE_ITO["black"], "Progression"),
    "hsct": ("*", OKABE_ITO["blue"], "Allo-HSCT"),
    "death": ("X", OKABE_ITO["black"], "Death"),
    "last_contact": (">", "#8C8C8C", "Alive at last contact"),
}


MAX_PATIENTS = 120  # beyond this a lane per patient is no longer legible at print size


def swimmer_figure(results: Results):
    lanes = results.get("swimmer")
    if lanes is None or lanes.height == 0:
        raise NotApplicable("swimmer figure needs the swimmer table")
    n_patients = lanes["patient_id"].n_unique()
    if n_patients > MAX_PATIENTS:
        raise NotApplicable(f"{n_patients} patients: too many for one lane each (at most {MAX_PATIENTS}); "
                            "the courses are in tables/swimmer.csv and tables/swimmer_events.csv")
    events = results.get("swimmer_events")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

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

    fig, axes = new_figure("double", 0.9 + 0.2 * len(order))
    ax = axes[0][0]
    lanes_y = lanes.with_columns(y=pl.col("patient_id").replace_strict(ypos, return_dtype=pl.Int64))
    for product in products:
        seg = lanes_y.filter(pl.col("product") == product)
        ax.barh(seg["y"].to_numpy(), (seg["end_day"] - seg["start_day"]).to_numpy(),
                left=seg["start_day"].to_numpy(), height=0.55, color=pcol[product], alpha=0.45,
                label=product, lw=0)
    handles = [Patch(color=pcol[p], alpha=0.45, label=p) for p in products]
    if events is not None and events.height:
        ev = events.filter(pl.col("patient_id").is_in(order)).with_columns(
            y=pl.col("patient_id").replace_strict(ypos, return_dtype=pl.Int64))
        best = set(lanes["best_response"].drop_nulls().to_list())
        responses = ev.filter(pl.col("kind").is_in(list(best)) & ~pl.col("kind").is_in(list(EVENT_MARKS)))
        for r in _response_order(set(responses["kind"].to_list())):
            sel = responses.filter(pl.col("kind") == r)
            ax.plot(sel["day"].to_numpy(), sel["y"].to_numpy(), ls="none", marker="o", ms=5,
                    mfc=_response_color(r), mec="black", mew=0.5, zorder=3, gid=f"swimmer-response-{r}")
            handles.append(Line2D([], [], ls="none", marker="o", ms=5, mfc=_response_color(r), mec="black",
                                  mew=0.5, label=r))
        mrd = _mrd_negative_marks(results, lanes, ypos)
        if mrd is not None and mrd.height:
            marker, fill, label = MRD_MARK
            ax.plot(mrd["day"].to_numpy(), mrd["y"].to_numpy(), ls="none", marker=marker, ms=4, mfc=fill,
                    mec="black", mew=0.6, zorder=5, gid="swimmer-mrd-negative")
            handles.append(Line2D([], [], ls="none", marker=marker, ms=4, mfc=fill, mec="black", mew=0.6,
                                  label=label))
        dead = set(ev.filter(pl.col("kind") == "death")["patient_id"].to_list())
        for kind, (marker, color, label) in EVENT_MARKS.items():
            sel = ev.filter(pl.col("kind") == kind)
            if kind == "last_contact":  # the arrow says "alive": not for a patient who died
                sel = sel.filter(~pl.col("patient_id").is_in(list(dead)))
            if sel.height == 0:
                continue
            ms = 8 if marker == "*" else 5
            ax.plot(sel["day"].to_numpy(), sel["y"].to_numpy(), ls="none", marker=marker, ms=ms,
                    color=color, mec="white" if marker == "X" else color, mew=0.3, zorder=4,
                    gid=f"swimmer-{kind.replace('_', '-')}")
            handles.append(Line2D([], [], ls="none", marker=marker, ms=ms, color=color, label=label))
    ax.set_yticks(range(len(order)), order)
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set_xlim(left=0)
    ax.set_xlabel("Days from first CAR-T infusion")
    ax.set_ylabel("Patient")
    ax.tick_params(axis="y", length=0)
    # disease blocks: a separating line and the disease name at the right of the block
    blocks = patients.group_by("diagnosis", maintain_order=True).agg(first=pl.col("_d").len())
    start = 0
    for d, n in zip(blocks["diagnosis"].to_list(), blocks["first"].to_list(), strict=True):
        if start:
            ax.axhline(start - 0.5, color="#8C8C8C", lw=0.5, ls=":")
        ax.text(1.005, 1 - (start + n / 2) / len(order), d, transform=ax.transAxes, rotation=-90,
                va="center", ha="left", fontsize=SMALL_FONT_PT, fontweight="bold")
        start += n
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.03, 1.0), fontsize=SMALL_FONT_PT)
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
