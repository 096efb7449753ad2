"""Review 2026-12-02 (report/figures/response.py:29, :41, :60 with report/style.py RESPONSE_ORDER /
RESPONSE_COLORS): the best-response figure colours and stacks only the base palette's categories. IMWG 2016
(sCR, VGPR, MR) and iwCLL 2018 (nPR, PR-L) categories all get the fallback grey #8C8C8C and are stacked
after PD, in the order they were met. On examples/myeloma-study (seed 2016) the single bar reads, bottom up,
CR 8, PR 4, SD 3, PD 1, then MR 1, VGPR 9, sCR 10 in three identical grey blocks, and the legend shows three
grey patches labelled MR, VGPR, sCR: a reader cannot tell the 10 sCR from the 9 VGPR, and the module's own
rule ("best at the bottom") is broken. The swimmer (report/figures/swimmer.py EXTRA_RESPONSE_COLORS,
_response_order: best_response.toml ranks) already colours and orders them. Owner: svg helper -- not fixed
here."""

from __future__ import annotations

import polars as pl

from cartkit.analysis.results import Results
from cartkit.report.figures.response import response_figure
from cartkit.report.svg.canvas import Poly


def _myeloma_like() -> Results:
    counts = {"sCR": 10, "CR": 8, "VGPR": 9, "PR": 4, "MR": 1, "SD": 3, "PD": 1}  # the myeloma example's
    rows = [{"patient_id": f"p{k}-{i}", "diagnosis": "MM", "episode": 1, "product": "BCMA CAR-T",
             "best_response": r} for k, (r, n) in enumerate(counts.items()) for i in range(n)]
    return Results(tables={"responses": pl.DataFrame(rows)})


def test_imwg_best_responses_have_their_own_colours_best_at_the_bottom():
    marks = response_figure(_myeloma_like()).marks("best-response")
    bars = [m for m in marks if isinstance(m, Poly) and m.cls.startswith("bar response-")]
    label = {m.cls.removeprefix("bar response-"): m for m in bars}
    heights = {r: max(p[1] for p in m.points) - min(p[1] for p in m.points) for r, m in label.items()}
    unit = heights["CR"] / 8
    assert {r: round(h / unit) for r, h in heights.items()} == {
        "sCR": 10, "CR": 8, "VGPR": 9, "PR": 4, "MR": 1, "SD": 3, "PD": 1}  # the counts are right
    fills = [m.fill for m in bars]
    assert len(set(fills)) == len(fills), f"categories share a colour: {[(m.cls, m.fill) for m in bars]}"
    bottom_up = [r for r, _ in sorted(label.items(), key=lambda kv: -max(p[1] for p in kv[1].points))]
    assert bottom_up == ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"]
