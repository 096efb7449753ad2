"""Figures: at-risk numbers line up with the curve ticks, paired lines join the same patient,
one style (fonts legible at print size), inline SVG ids unique per figure."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import polars as pl
import pytest
from report_fixture import PRODUCTS, restricted_results, seed_like_results

from cartkit.analysis.results import Results
from cartkit.report.figures import FIGURES, NotApplicable
from cartkit.report.figures.labels import comparison_for, p_note
from cartkit.report.figures.survival import survival_figure
from cartkit.report.style import figure_style, svg_text

SVG = "{http://www.w3.org/2000/svg}"


def test_at_risk_numbers_sit_on_the_curve_ticks():
    results = seed_like_results()
    at_risk = results.tables["at_risk"]
    with figure_style():
        fig, layout = survival_figure(results, return_layout=True)
    assert set(layout) == {(e, c) for e in ("PFS", "OS") for c in ("censor at HSCT", "HSCT not censored")}
    for (endpoint, cens), lay in layout.items():
        assert lay["ticks"] == [0.0, 180.0, 360.0, 540.0, 720.0]
        assert lay["xlim_curve"] == lay["xlim_at_risk"]
        for group in ("DLBCL", "B-ALL"):
            assert lay["label_x"][group] == lay["ticks"]
            expected = at_risk.filter((pl.col("endpoint") == endpoint) & (pl.col("censoring") == cens)
                                      & (pl.col("group") == group)).sort("time")["n_risk"].to_list()
            assert lay["label_text"][group] == [str(n) for n in expected]
    # seed-like fixture, PFS censored at HSCT, DLBCL: 7 at day 0, 5 still at risk at day 180
    assert layout[("PFS", "censor at HSCT")]["label_text"]["DLBCL"][:2] == ["7", "5"]


def test_at_risk_alignment_holds_for_three_groups_and_uneven_ticks():
    rows, risk = [], []
    for g, (times, surv) in {"A": ([0, 30, 90], [1, 0.8, 0.6]), "B": ([0, 45, 400], [1, 0.5, 0.25]),
                             "C": ([0, 10, 250], [1, 0.9, 0.9])}.items():
        for t, s in zip(times, surv, strict=True):
            rows.append({"endpoint": "OS", "censoring": "none", "group": g, "time": float(t), "n_risk": 5,
                         "n_event": 1, "n_censor": int(t == 250), "survival": s, "lower": None, "upper": None})
        for tick, n in zip((0.0, 100.0, 250.0, 400.0), (5, 3, 2, 1), strict=True):
            risk.append({"endpoint": "OS", "censoring": "none", "group": g, "time": tick, "n_risk": n})
    results = Results(tables={"survival_curves": pl.DataFrame(rows), "at_risk": pl.DataFrame(risk)})
    with figure_style():
        fig, layout = survival_figure(results, return_layout=True)
    lay = layout[("OS", "none")]
    assert lay["ticks"] == [0.0, 100.0, 250.0, 400.0]
    assert lay["xlim_curve"] == lay["xlim_at_risk"]
    for g in "ABC":
        assert lay["label_x"][g] == lay["ticks"]
    # the drawn texts are where the layout says: at the x of the curve's own ticks, in the SVG
    from svg_figure import panels, parse, tick_pairs

    (panel,) = panels(parse(fig.svg("t")))
    ticks = dict((label, pos) for pos, label in tick_pairs(panel, "x"))
    assert sorted(ticks) == ["0", "100", "250", "400"]
    cells = [(float(e.get("x")), e.text) for e in panel.find("rows-cell")]
    assert len(cells) == 12
    assert sorted(x for x, txt in cells if txt == "1") == [ticks["400"]] * 3
    assert sorted(round(panel.x_data(x), 1) for x, txt in cells if txt == "5") == [0.0] * 3


def test_paired_lines_join_the_same_patient():
    from svg_figure import panels, parse

    from cartkit.report.figures.kinetics import draw_paired, product_colors
    from cartkit.report.svg import Figure

    params = pl.DataFrame({"patient_id": ["P1", "P2", "P1", "P2", "P3"],
                           "product": [PRODUCTS[0], PRODUCTS[0], PRODUCTS[1], PRODUCTS[1], PRODUCTS[1]],
                           "cmax": [1.0, 5.0, 3.0, 2.0, 9.0]})
    fig = Figure("single", 2.0)
    draw_paired(fig.axes[0][0], params, list(PRODUCTS), "cmax", product_colors(list(PRODUCTS)))
    (panel,) = panels(parse(fig.svg("t")))
    lines = panel.find("same-patient")
    segs = sorted(tuple(round(y, 2) for _, y in panel.data(e)) for e in lines)
    assert segs == [(1.0, 3.0), (5.0, 2.0)]  # P3 has one product only: a dot, no line
    assert len(panel.find("dot")) == 5


def test_comparison_lookup_reads_measure_text_and_optional_columns():
    comps = seed_like_results().tables["comparisons"]
    assert comparison_for(comps, "il2r", "tmax")["measure"] == "IL-2R peak day"
    assert comparison_for(comps, "il6", "cmax")["measure"] == "IL-6 peak"
    assert comparison_for(comps, "car_dna", "cmax")["measure"] == "CAR DNA peak"
    assert comparison_for(comps, "tnfa", "tmax")["pvalue"] == 0.0043
    assert comparison_for(comps, "ifng", "cmax") is None
    tagged = comps.with_columns(analyte=pl.lit("il8"), parameter=pl.lit("cmax")).head(1)  # explicit columns win
    assert comparison_for(tagged, "il8", "cmax")["measure"] == "CAR-T % peak"
    assert p_note(comparison_for(comps, "car_dna", "tmax")) == "P = 0.001; paired P < 0.001"


@pytest.fixture(scope="module")
def drawn():
    results = seed_like_results()
    out = {}
    with figure_style():
        for spec in FIGURES:
            try:
                out[spec.id] = spec.draw(results)
            except NotApplicable:  # pfs-by-mrd: the seed-like results have no [plan.mrd_landmark] tables
                assert spec.id == "pfs-by-mrd", spec.id
    return out


def test_every_figure_uses_print_legible_fonts_and_journal_widths(drawn):
    for fid, fig in drawn.items():
        width = fig.get_size_inches()[0]
        assert width in (3.5, 7.0), (fid, width)
        if hasattr(fig, "marks"):  # cartkit's own writer: every text's size in the SVG
            root = ET.fromstring(svg_text(fig, fid))
            base = float(root.find(f"{SVG}g").get("font-size"))
            for text in root.iter(f"{SVG}text"):
                assert 7.0 <= float(text.get("font-size", base)) <= 8.5, (fid, text.text)
            continue
        for text in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text")):
            if text.get_text().strip() and text.get_visible():
                assert 7.0 <= text.get_fontsize() <= 8.5, (fid, text.get_text(), text.get_fontsize())


def test_axes_have_labels_with_units(drawn):
    from svg_figure import panels, parse

    def labels(fid: str, cls: str) -> set[str]:
        return {"\n".join(p.texts(cls)) for p in panels(parse(svg_text(drawn[fid], fid)))}

    ylabels = labels("car-t-kinetics", "ylabel")
    assert "CAR-T cells (% of CD3\u207a)" in ylabels
    assert "CAR DNA (copies/\u00b5g)" in ylabels
    assert labels("car-t-kinetics", "xlabel") == {"Days after infusion"}
    assert "Peak IL-6 (pg/mL)" in labels("cytokine-peaks", "ylabel")
    assert "Day of peak (days after infusion)" in labels("cytokine-peaks", "ylabel")


def test_inline_svg_ids_are_prefixed_and_disjoint(drawn):
    a = svg_text(drawn["car-t-kinetics"], "car-t-kinetics")
    b = svg_text(drawn["cytokine-kinetics"], "cytokine-kinetics")
    assert a.startswith("<svg") and b.startswith("<svg")
    ids_a = set(re.findall(r'\bid="([^"]+)"', a))
    ids_b = set(re.findall(r'\bid="([^"]+)"', b))
    assert ids_a and ids_b and not ids_a & ids_b
    assert all(i.startswith("car-t-kinetics-") for i in ids_a)
    assert set(re.findall(r"url\(#([^)]+)\)", a)) <= ids_a
    assert "<text" in a  # text stays text (svg.fonttype none): no glyph defs to collide


def test_svg_is_byte_identical_from_draw_to_draw():
    """Clip-path and marker ids come from a fixed salt (the figure id), not a random one: the same
    figure drawn again gives the same bytes, so reports can be compared and diffed (issue 16).
    Checked on two figures of cartkit's own writer (ids numbered in document order)."""
    results = seed_like_results()
    for fid, clip in (("patient-course", r"patient-course-clip\d+"), ("car-t-kinetics", r"car-t-kinetics-clip\d+")):
        spec = next(s for s in FIGURES if s.id == fid)
        svgs = []
        for _ in range(2):
            with figure_style():
                svgs.append(svg_text(spec.draw(results), spec.id))
        assert re.search(rf'clip-path="url\(#{clip}\)"', svgs[0]), fid
        assert svgs[0] == svgs[1], fid


def test_svg_ids_do_not_depend_on_last_bit_layout_noise():
    """The survival figure's constrained layout moves axes by a last-bit amount from run to run;
    matplotlib named clip paths by a hash of the exact coordinates, so the report's bytes changed.
    The names are numbered in document order instead."""
    from matplotlib.figure import Figure

    def svg(left: float) -> str:
        with figure_style():
            fig = Figure(figsize=(3.5, 2.5))
            ax = fig.add_axes((left, 0.15, 0.8, 0.75))
            ax.plot([0, 1, 2], [1, 0.5, 0.25], marker="o")
            return svg_text(fig, "noise")

    a, b = svg(0.15), svg(0.15 + 2e-16)
    assert re.search(r'clip-path="url\(#noise-p[0-9a-f]+\)"', a)
    assert a == b


def test_peak_figures_need_two_products():
    results = restricted_results()
    from cartkit.report.figures.kinetics import kinetics_peaks_figure

    with figure_style(), pytest.raises(NotApplicable, match="two products"):
        kinetics_peaks_figure(results)


def test_swimmer_declines_a_registry_sized_study():
    from cartkit.report.figures.swimmer import MAX_PATIENTS, swimmer_figure

    n = MAX_PATIENTS + 1
    lanes = pl.DataFrame({"patient_id": [f"P{i}" for i in range(n)], "diagnosis": ["DLBCL"] * n,
                          "episode": [1] * n, "product": ["CD19 CAR-T"] * n, "start_day": [0] * n,
                          "end_day": [100] * n, "best_response": ["CR"] * n})
    with figure_style(), pytest.raises(NotApplicable, match=f"{n} patients"):
        swimmer_figure(Results(tables={"swimmer": lanes}))


def test_curve_figure_draws_medians_from_the_table(drawn):
    from svg_figure import panels, parse

    curves = seed_like_results().tables["kinetic_curves"]
    panel = panels(parse(svg_text(drawn["car-t-kinetics"], "car-t-kinetics")))[0]  # A: CAR-T %, first product
    (median,) = panel.find("median")
    got = panel.data(median)
    expected = curves.filter((pl.col("analyte") == "car_t_pct_cd3") & (pl.col("product") == PRODUCTS[0])
                             ).sort("day")
    assert np.allclose([x for x, _ in got], expected["day"].to_numpy(), atol=0.01)
    assert np.allclose([y for _, y in got], expected["median"].to_numpy(), rtol=2e-3, atol=1e-3)


def test_large_studies_draw_a_thinned_sample_but_medians_of_everyone():
    from svg_figure import panels, parse

    from cartkit.report.figures.kinetics import MAX_DRAWN, draw_paired, product_colors
    from cartkit.report.svg import Figure

    n = 3 * MAX_DRAWN + 1
    ids = [f"P{i}" for i in range(n)]
    a = np.arange(n, dtype=float)
    params = pl.DataFrame({"patient_id": ids * 2, "product": [PRODUCTS[0]] * n + [PRODUCTS[1]] * n,
                           "cmax": np.concatenate([a, a + 1.0])})
    fig = Figure("single", 2.0)
    draw_paired(fig.axes[0][0], params, list(PRODUCTS), "cmax", product_colors(list(PRODUCTS)))
    (panel,) = panels(parse(fig.svg("t")))
    step = -(-n // MAX_DRAWN)  # ceil(901 / 300) = 4 -> patients 0, 4, ..., 900: 226 drawn
    assert len(panel.find("same-patient")) == len(range(0, n, step)) <= MAX_DRAWN
    assert len(panel.find("dot")) == 2 * len(range(0, n, step))
    assert panel.texts("thinned") == [f"{len(range(0, n, step))} of {n} patients drawn"]
    medians = sorted(round(panel.data(e)[0][1], 0) for e in panel.find("median"))
    assert medians == [np.median(a), np.median(a) + 1.0]  # 450 and 451: everyone, not the sample


def test_labels_with_dollar_signs_are_drawn_as_plain_text():
    """A patient id or product name with "$...$" is data, not mathtext: every figure draws (issue 9,
    item 6; "$\\frac{$" made matplotlib's mathtext parser raise)."""
    from cartkit.report.style import png_bytes

    results = seed_like_results()
    ids = {"P1": "$x^2$", "P2": "$\\frac{$"}
    products = {PRODUCTS[1]: "CD22 $\\frac{$ CAR-T"}
    for name, df in results.tables.items():
        if df is None:
            continue
        df = df.with_columns(pl.col("patient_id").replace(ids)) if "patient_id" in df.columns else df
        results.tables[name] = df.with_columns(pl.col(c).replace(products) for c in
                                               ("product", "group_b") if c in df.columns)
    for spec in FIGURES:
        with figure_style():
            try:
                fig = spec.draw(results)
            except NotApplicable:
                continue
            svg = svg_text(fig, spec.id)
            if spec.id == "patient-course":  # PNG text goes through the same parser: once is enough
                assert png_bytes(fig)[:8] == b"\x89PNG\r\n\x1a\n"
        if spec.id == "patient-course":  # the swimmer plot names every patient
            assert "$x^2$" in svg and "$\\frac{$" in svg
        if spec.id == "expansion-peaks":  # product names label the x axis (split over lines)
            assert "$\\frac{$" in svg
