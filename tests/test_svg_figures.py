"""cartkit's own SVG figure writer (report/svg) and the figures drawn with it, read back from the SVG.

Each ported figure kind is drawn for the seed study and for a simulated study, parsed with
xml.etree (well-formed), and checked to carry its data: the number of dots, bars, steps and marks
against the tables, drawn positions mapped back through the panel's axis to the table's values,
tick labels where their values are, legend entries. The writer's own parts (nice ticks, log
decades, text widths against matplotlib's font rendering, escaping) are checked directly.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
import pytest
from svg_figure import legend_labels, panels, parse, points, tick_pairs

import cartkit
from cartkit.report.figures import FIGURES, NotApplicable
from cartkit.report.svg import Figure, text_width
from cartkit.report.svg.scales import Scale, nice_step

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
SPECS = {spec.id: spec for spec in FIGURES}


def _results(folder):
    from cartkit.analysis import analyse
    from cartkit.derive import derive

    study = cartkit.load_study(folder)
    return analyse(study, derive(study))


@pytest.fixture(scope="module")
def seed():
    return _results(SEED)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from cartkit.simulate import simulate_study

    folder = simulate_study(tmp_path_factory.mktemp("sim") / "study", patients=80, seed=5, format="parquet")
    return _results(folder)


@pytest.fixture(params=["seed", "simulated"])
def results(request):
    return request.getfixturevalue(request.param)


def _svg(results, fid: str):
    spec = SPECS[fid]
    assert spec.engine == "svg", fid
    fig = spec.draw(results)
    assert isinstance(fig, Figure)
    text = fig.svg(fid, spec.title, spec.caption_for(results))
    return text, parse(text)


SUPERSCRIPTS = "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"


def _is_decade(label: str) -> bool:
    """'0.1', '1', '1000' or '10' with a superscript exponent ('10\u2075')."""
    if label.startswith("10") and label[2:] and set(label[2:]) <= set(SUPERSCRIPTS):
        return True
    v = float(label)
    return v > 0 and abs(math.log10(v) - round(math.log10(v))) < 1e-9


def _tick_value(label: str) -> float:
    if label.startswith("10") and label[2:] and set(label[2:]) <= set(SUPERSCRIPTS):
        exp = label[2:].translate(str.maketrans(SUPERSCRIPTS, "-0123456789"))
        return 10.0 ** int(exp)
    return float(label.replace("\u2212", "-"))


def _close(a: float, b: float, tol: float = 0.02) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))


# ------------------------------------------------------------------------------------------ the writer

def test_nice_linear_ticks():
    assert Scale(0, 105).ticks()[:2] == ([0.0, 25.0, 50.0, 75.0, 100.0], ["0", "25", "50", "75", "100"])
    assert Scale(-0.02, 1.05).ticks()[1] == ["0", "0.25", "0.50", "0.75", "1.00"]  # 1.07 / 5 > 0.2
    assert Scale(0, 1.0).ticks()[1] == ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    assert Scale(0, 7.25).ticks(integer=True)[1] == ["0", "2", "4", "6"]
    assert Scale(0, 3.5).ticks(integer=True)[1] == ["0", "1", "2", "3"]
    assert nice_step(1.0) == 0.2 and nice_step(10) == 2 and nice_step(1.2) == 0.25 and nice_step(70) == 20


def test_log_ticks_are_decades_with_minor_ticks():
    major, labels, minor = Scale(0.05, 2000, log=True).ticks()
    assert major == [0.1, 1.0, 10.0, 100.0, 1000.0]
    assert labels == ["0.1", "1", "10", "100", "1000"]
    assert 0.2 in minor and 2000.0 in minor and 0.05 in minor and 0.1 not in minor
    # symmetric log: 0 is a labelled tick, decades from the linear threshold up
    major, labels, _ = Scale(0, 5e5, log=True, linthresh=10.0).ticks()
    assert labels == ["0", "10", "100", "1000", "10000", "10\u2075"]
    s = Scale(0, 1000, log=True, linthresh=10.0)
    assert s.fraction(0) == 0 and s.fraction(1000) == 1
    assert math.isclose(s.fraction(10), 0.5 / 2.5) and math.isclose(s.fraction(100), 1.5 / 2.5)


def test_text_widths_match_matplotlibs_rendering_of_dejavu_sans():
    """The advance-width table gives the width matplotlib's Agg renderer measures for the same text."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(dpi=72)
    renderer = FigureCanvasAgg(fig).get_renderer()
    for text, bold in (("CAR-T cells (% of CD3\u207a)", False), ("A   Progression-free survival", True),
                       ("Days after infusion", False), ("0.001", False)):
        t = fig.text(0, 0, text, fontsize=10, family="DejaVu Sans", fontweight="bold" if bold else "normal")
        measured = t.get_window_extent(renderer).width  # points at 72 dpi
        # the ink box leaves out the side bearings of the first and last glyph (up to 0.2 em)
        assert abs(text_width(text, 10, bold) - measured) <= 0.02 * measured + 2.0, (text, measured)


def test_text_is_escaped_and_the_document_is_well_formed():
    fig = Figure("single", 2.0)
    ax = fig.axes[0][0]
    ax.line([0, 1], [0, 1], "#000000")
    ax.title = 'A   <script>alert("x")</script> & "q"\x07'
    ax.xlabel = "]]> <!-- x -->"
    text = fig.svg("t-1", title="T <b>", desc="D & E")
    root = parse(text)
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert "<script>" not in text and "&lt;script&gt;" in text
    (p,) = panels(root)
    assert p.title() == 'A   <script>alert("x")</script> & "q"'
    assert root.find("{http://www.w3.org/2000/svg}title").text == "T <b>"
    assert root.get("aria-labelledby") == "t-1-title t-1-desc"
    # every id is the figure's prefix and a number or name; references resolve
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert ids and all(i.startswith("t-1-") for i in ids) and len(ids) == len(set(ids))
    refs = [e.get("clip-path")[5:-1] for e in root.iter() if e.get("clip-path")]
    assert refs and set(refs) <= set(ids)


def test_same_figure_same_bytes(seed):
    a = _svg(seed, "antigen-expression")[0]
    b = _svg(seed, "antigen-expression")[0]
    assert a == b


def test_png_of_an_svg_figure_is_a_200_dpi_raster_of_its_size(seed):
    from cartkit.report.svg.png import png_bytes

    fig = SPECS["antigen-expression"].draw(seed)
    data = png_bytes(fig)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (w, h) == (round(fig.width_in * 200), round(fig.height_in * 200))


# ----------------------------------------------------------------------------------- figure kinds

def test_antigen_dots_are_the_recorded_percentages(results):
    data = results.get("antigen_expression")
    if data is None or data.height == 0:
        with pytest.raises(NotApplicable):
            SPECS["antigen-expression"].draw(results)
        return
    _, root = _svg(results, "antigen-expression")
    antigens = data["antigen"].unique(maintain_order=True).to_list()
    ps = panels(root)
    assert len(ps) == len(antigens)
    for p, antigen in zip(ps, antigens, strict=True):
        sel = data.filter(pl.col("antigen") == antigen)
        assert p.title().endswith(f"{antigen} (n = {sel['patient_id'].n_unique()} patients)")
        dots = p.find("dot")
        assert len(dots) == sel.height
        got = sorted(round(p.y_data(points(d)[0][1]), 1) for d in dots)
        assert got == sorted(round(v, 1) for v in sel["pct"].to_list())
        # patients with both products are joined by one line each
        both = sel.group_by("patient_id").len().filter(pl.col("len") == 2).height
        assert len(p.find("same-patient")) == both
        assert [t for _, t in tick_pairs(p, "y")] == ["0", "25", "50", "75", "100"]
        for pos, label in tick_pairs(p, "y"):
            assert _close(p.y_data(pos), float(label), 1e-3)
        ticks = [t for _, t in tick_pairs(p, "x")]
        assert ticks == [q.replace(" ", "\n", 1) for q in sel["product"].unique(maintain_order=True).to_list()] \
            or sorted(ticks) == sorted(q.replace(" ", "\n", 1) for q in sel["product"].unique().to_list())
    assert legend_labels(root) == []


def test_response_bars_stack_the_patients_by_best_response(results):
    resp = results.get("responses").with_columns(pl.col("best_response").fill_null("NE"))
    rates = results.get("response_rates")
    _, root = _svg(results, "best-response")
    diseases = resp["diagnosis"].unique(maintain_order=True).to_list()
    products = resp["product"].unique(maintain_order=True).to_list()
    ps = panels(root)
    assert [p.title().split("   ", 1)[1] for p in ps] == diseases
    counts = resp.group_by("diagnosis", "product", "best_response").len()
    for p, d in zip(ps, diseases, strict=True):
        want = counts.filter(pl.col("diagnosis") == d)
        bars = p.find("bar")
        assert len(bars) == want.height
        got = []
        for bar in bars:
            ys = [y for _, y in p.data(bar)]
            xs = [x for x, _ in p.data(bar)]
            product = products[round(sum(xs) / len(xs))]
            label = next(c[len("response-"):] for c in bar.get("class").split() if c.startswith("response-"))
            got.append((product, label, round(max(ys) - min(ys), 2)))  # points are written to 0.01 pt
        assert sorted(got) == sorted((r["product"], r["best_response"], float(r["len"])) for r in want.to_dicts())
        # a count is written where its segment is at least a twentieth of the axis
        labelled = [n for n in want["len"].to_list() if n >= 0.05 * p.ylim[1]]
        assert sorted(int(t) for t in p.texts("count")) == sorted(labelled)
        if rates is not None:
            orr = [t for t in p.texts("orr") if t.startswith("ORR")]
            # a half away from zero on the decimal (docs/report-contents.md): 5/8 = 62.5% is "63%"
            expect = [f"ORR {(100 * Decimal(repr(r['orr']))).quantize(Decimal(1), ROUND_HALF_UP)}%"
                      for r in rates.filter(pl.col("diagnosis") == d).to_dicts() if r["product"] in products]
            assert sorted(orr) == sorted(expect)
        for pos, label in tick_pairs(p, "y"):
            assert _close(p.y_data(pos), float(label), 1e-3) and float(label) == int(label)
    present = set(resp["best_response"].to_list())
    assert set(legend_labels(root)) == present


def _step_points(panel, el) -> list[tuple[float, float]]:
    """(time, value) of a step curve's vertices where it lands on each value (every other vertex)."""
    pts = panel.data(el)
    return pts[0::2]


def test_km_curves_are_the_computed_survival_with_censor_marks_and_numbers_at_risk(results):
    from cartkit.report.style import group_colors

    curves, at_risk, logrank = results.get("survival_curves"), results.get("at_risk"), results.get("logrank")
    _, root = _svg(results, "survival-curves")
    groups = curves["group"].unique(maintain_order=True).to_list()
    colors = group_colors(groups)
    ps = panels(root)
    assert len(ps) == curves.select("endpoint", "censoring").unique().height
    for p in ps:
        endpoint, cens = p.title().split("   ", 1)[1].split(", ", 1)
        sel = (pl.col("endpoint") == endpoint) & (pl.col("censoring") == cens)
        panel_curves = curves.filter(sel)
        steps = p.find("km-curve")
        assert len(steps) == panel_curves["group"].n_unique()
        for g in groups:
            c = panel_curves.filter(pl.col("group") == g).sort("time")
            if c.height == 0:
                continue
            (el,) = [e for e in steps if e.get("stroke") == colors[g]]
            got = _step_points(p, el)
            assert len(points(el)) == 2 * c.height - 1  # one riser and one tread per row
            for (t, s), row in zip(got, c.iter_rows(named=True), strict=True):
                assert abs(t - row["time"]) <= 0.01 * (p.xlim[1] - p.xlim[0]) / 100
                assert abs(s - row["survival"]) < 1e-3  # 0.01 pt in a panel ~100 pt high
            marks = [e for e in p.find("censor") if e.get("stroke") == colors[g]]
            assert len(marks) == c.filter(pl.col("n_censor") > 0).height
            risk = at_risk.filter(sel & (pl.col("group") == g)).sort("time")
            cells = [e for e in p.find("rows-cell") if e.get("fill") == colors[g]]
            assert [e.text for e in cells] == [str(n) for n in risk["n_risk"].to_list()]
            ticks = {round(pos, 2) for pos, _ in tick_pairs(p, "x")}
            assert {round(float(e.get("x")), 2) for e in cells} <= ticks
        assert [t for _, t in tick_pairs(p, "y")] == ["0", "25", "50", "75", "100"]
        assert sorted(p.texts("rows-label")) == sorted(panel_curves["group"].unique().to_list()) or \
            sorted(p.texts("rows-label")) == sorted(groups)
        if logrank is not None:
            lr = logrank.filter(sel)
            if lr.height and lr["pvalue"][0] is not None:
                assert p.texts("pvalue")[0].startswith("Log-rank P")
        assert set(p.texts("legend-label")) == set(panel_curves["group"].unique().to_list())


@pytest.mark.parametrize("fid", ["car-t-kinetics", "cytokine-kinetics"])
def test_kinetic_curves_carry_medians_bands_and_every_patient(results, fid):
    from cartkit.report.figures.kinetics import CYTOKINE_ANALYTES, KINETIC_ANALYTES
    from cartkit.report.figures.labels import analyte_name

    curves, values = results.get("kinetic_curves"), results.get("kinetic_values")
    wanted = KINETIC_ANALYTES if fid == "car-t-kinetics" else CYTOKINE_ANALYTES
    if curves is None or not set(wanted) & set(curves["analyte"].to_list()):
        with pytest.raises(NotApplicable):
            SPECS[fid].draw(results)
        return
    _, root = _svg(results, fid)
    names = {analyte_name(a): a for a in wanted}
    products = curves["product"].unique(maintain_order=True).to_list()
    ps = panels(root)
    assert len(ps) == len(products) * len(set(wanted) & set(curves["analyte"].to_list()))
    for p in ps:
        name, product = p.title().split("   ", 1)[1].split("\n")
        analyte = names[name]
        cur = curves.filter((pl.col("analyte") == analyte) & (pl.col("product") == product)).sort("day")
        (median,) = p.find("median")
        got = p.data(median)
        assert len(got) == cur.height == len(p.find("median-marker"))
        for (day, _), (_, py), row in zip(got, points(median), cur.iter_rows(named=True), strict=True):
            assert abs(day - row["day"]) < 0.01
            # drawn where the median is on this axis, to the 0.01 pt coordinates are written with
            assert abs(p.y_pixel(row["median"]) - py) <= 0.02, (row, py)  # plot box and point both rounded
        assert len(p.find("iqr")) == 1
        if values is not None:
            n = values.filter((pl.col("analyte") == analyte) & (pl.col("product") == product)) \
                .select("patient_id", "episode").unique().height
            # a patient line may be split by a missing day: count distinct first points instead of elements
            assert len(p.find("patient")) >= min(n, 300)
        # a log-like axis where the values span more than two decades, labelled at decades
        vals = curves.filter(pl.col("analyte") == analyte)["q3"].drop_nulls().to_list()
        if values is not None:
            vals += values.filter(pl.col("analyte") == analyte)["value"].drop_nulls().to_list()
        pos = [v for v in vals if v > 0]
        if pos and max(pos) / min(pos) > 100:
            assert p.yscale == "symlog"
            labels = [t for _, t in tick_pairs(p, "y")]
            assert labels[0] == "0" and all(_is_decade(t) for t in labels[1:]), labels
            assert p.find("ytick-minor")
        for y, label in tick_pairs(p, "y"):
            assert abs(p.y_pixel(_tick_value(label)) - y) <= 0.02, label
    labels = legend_labels(root)
    assert labels == [x for q in products for x in (f"{q}: median", f"{q}: IQR")] + ["Individual patients"]


@pytest.mark.parametrize("fid", ["expansion-peaks", "cytokine-peaks"])
def test_peak_dot_plots_have_a_dot_per_patient_and_product(results, fid):
    from cartkit.report.figures.kinetics import CYTOKINE_ANALYTES, KINETIC_ANALYTES
    from cartkit.report.figures.labels import analyte_name

    params = results.get("kinetic_params")
    wanted = KINETIC_ANALYTES if fid == "expansion-peaks" else CYTOKINE_ANALYTES
    if params is None or params["product"].n_unique() < 2 or not set(wanted) & set(params["analyte"].to_list()):
        with pytest.raises(NotApplicable):
            SPECS[fid].draw(results)
        return
    _, root = _svg(results, fid)
    names = {analyte_name(a): a for a in wanted}
    for p in panels(root):
        name, what = p.title().split("   ", 1)[1].split("\n")
        param = "cmax" if what == "peak" else "tmax"
        sel = params.filter(pl.col("analyte") == names[name])
        wide = sel.pivot(on="product", index="patient_id", values=param, aggregate_function="first")
        products = [q for q in params["product"].unique(maintain_order=True).to_list() if q in wide.columns]
        finite = [v for q in products for v in wide[q].to_list() if v is not None and v == v]
        dots = p.find("dot")
        assert len(dots) == len(finite)
        got = sorted(-points(d)[0][1] for d in dots)  # pixels grow downwards
        for a, b in zip(got, sorted(finite), strict=True):
            assert abs(-a - p.y_pixel(b)) <= 0.02, (a, b)
        both = wide.filter(pl.all_horizontal(pl.col(q).is_not_null() & pl.col(q).is_not_nan() for q in products))
        assert len(p.find("same-patient")) == both.height
        assert len(p.find("median")) == len(products)
        assert [t for _, t in tick_pairs(p, "x")] == [q.replace(" ", "\n", 1) for q in products]


def test_toxicity_bars_stack_the_episodes_by_grade(results):
    counts = results.get("grade_counts")
    if "system" in counts.columns:
        primary = counts.group_by("toxicity", maintain_order=True).agg(pl.col("system").first().alias("_p"))
        counts = counts.join(primary, on="toxicity").filter(pl.col("system") == pl.col("_p"))
    products = counts["product"].unique(maintain_order=True).to_list()
    _, root = _svg(results, "toxicity-grade-bars")
    ps = panels(root)
    assert len(ps) == counts["toxicity"].n_unique()
    for p in ps:
        tox = p.title().split("   ", 1)[1]
        want = counts.filter((pl.col("toxicity") == tox) & (pl.col("n") > 0)).group_by("product", "grade") \
            .agg(pl.col("n").sum())
        got = []
        for bar in p.find("bar"):
            xs, ys = zip(*p.data(bar), strict=True)
            grade = next(int(c[6:]) for c in bar.get("class").split() if c.startswith("grade-"))
            height = max(ys) - min(ys)
            assert abs(height - round(height)) < 0.05  # whole episodes, to the 0.01 pt of the coordinates
            got.append((products[round(sum(xs) / len(xs))], grade, round(height)))
        assert sorted(got) == sorted((r["product"], int(r["grade"]), int(r["n"])) for r in want.to_dicts())
        labelled = [n for n in want["n"].to_list() if n >= 0.05 * p.ylim[1]]
        assert sorted(int(t) for t in p.texts("count")) == sorted(labelled)
    grades = sorted(int(g) for g in counts["grade"].unique().to_list())
    assert legend_labels(root) == [f"Grade {g}" for g in grades]


def test_cumulative_incidence_steps_are_the_aalen_johansen_estimates(results):
    curves = results.get("endpoint_cif_curves")
    if curves is None or curves.height == 0:
        pytest.skip("no competing-risk curves in these results")
    from cartkit.report.style import group_colors

    groups = curves["group"].unique(maintain_order=True).to_list()
    colors = group_colors(groups)
    _, root = _svg(results, "cumulative-incidence")
    ps = panels(root)
    assert len(ps) == curves.select("population", "endpoint").unique().height
    for p in ps:
        endpoint, population = p.title().split("   ", 1)[1].split(" (Gray")[0].split(", ", 1)
        panel = curves.filter((pl.col("population") == population) & (pl.col("endpoint") == endpoint))
        steps = p.find("cif-curve")
        assert len(steps) == panel.select("curve", "group").unique().height
        drawn = {(e.get("stroke"), e.get("stroke-dasharray")): e for e in steps}
        kinds = panel.sort("cause", descending=True, maintain_order=True)["curve"].unique(maintain_order=True).to_list()
        for k, kind in enumerate(kinds):
            for g in groups:
                c = panel.filter((pl.col("curve") == kind) & (pl.col("group") == g)).sort("time", maintain_order=True)
                if c.height == 0:
                    continue
                el = next(e for (stroke, dash), e in drawn.items() if stroke == colors[g] and (dash is None) == (k == 0)
                          and len(points(e)) == 2 * c.height - 1)
                for (_, py), v in zip(points(el)[0::2], c["estimate"].to_list(), strict=True):
                    assert abs(p.y_pixel(100 * v) - py) <= 0.02
        assert len(p.texts("legend-label")) == len(steps)


def test_simon_makuch_steps_and_censor_marks(results):
    curves = results.get("endpoint_simon_makuch")
    if curves is None or curves.height == 0:
        pytest.skip("no Simon-Makuch curves in these results")
    from cartkit.report.figures.simon_makuch import STATES
    from cartkit.report.style import group_colors

    colors = group_colors(list(STATES))
    _, root = _svg(results, "simon-makuch")
    for p in panels(root):
        endpoint, population = p.title().split("   ", 1)[1].split(" (Mantel")[0].split(", ", 1)
        panel = curves.filter((pl.col("population") == population) & (pl.col("endpoint") == endpoint))
        for state in STATES:
            c = panel.filter(pl.col("state") == state).sort("time", maintain_order=True)
            els = [e for e in p.find("sm-curve") if e.get("stroke") == colors[state]]
            assert len(els) == (1 if c.height else 0)
            if not c.height:
                continue
            for (_, py), v in zip(points(els[0])[0::2], c["survival"].to_list(), strict=True):
                assert abs(p.y_pixel(100 * v) - py) <= 0.02
            marks = [e for e in p.find("censor") if e.get("stroke") == colors[state]]
            assert len(marks) == c.filter(pl.col("n_censor") > 0).height
        assert set(p.texts("legend-label")) == set(panel["state"].unique().to_list())


def test_swimmer_lanes_and_marks_are_every_episode_and_event(results):
    from svg_figure import NS

    from cartkit.report.figures.swimmer import EVENT_MARKS, MAX_PATIENTS

    lanes, events = results.get("swimmer"), results.get("swimmer_events")
    if lanes["patient_id"].n_unique() > MAX_PATIENTS:
        with pytest.raises(NotApplicable):
            SPECS["patient-course"].draw(results)
        return
    _, root = _svg(results, "patient-course")
    (p,) = panels(root)
    patients = [t for _, t in tick_pairs(p, "y")]
    assert sorted(patients) == sorted(lanes["patient_id"].unique().to_list())
    ypos = {label: pos for pos, label in tick_pairs(p, "y")}
    bars = p.find("lane")
    assert len(bars) == lanes.height
    got = sorted((round(min(x for x, _ in p.data(b))), round(max(x for x, _ in p.data(b)))) for b in bars)
    assert got == sorted(zip(lanes["start_day"].to_list(), lanes["end_day"].to_list(), strict=True))
    for b in bars:  # each lane on its patient's row
        cy = sum(y for _, y in points(b)) / 4
        assert min(abs(cy - y) for y in ypos.values()) < 0.05
    dead = set(events.filter(pl.col("kind") == "death")["patient_id"].to_list())
    for kind in EVENT_MARKS:
        sel = events.filter((pl.col("kind") == kind) & pl.col("patient_id").is_in(patients))
        if kind == "last_contact":
            sel = sel.filter(~pl.col("patient_id").is_in(list(dead)))
        g = root.find(f".//{NS}g[@id='patient-course-swimmer-{kind.replace('_', '-')}']")
        assert (g is None) == (sel.height == 0), kind
        if g is not None:
            assert len(list(g)) == sel.height, kind
    best = set(lanes["best_response"].drop_nulls().to_list())
    responses = events.filter(pl.col("kind").is_in(list(best)) & ~pl.col("kind").is_in(list(EVENT_MARKS)))
    assert len(p.find("response")) == responses.height
    labels = legend_labels(root)
    assert labels[:lanes["product"].n_unique()] == lanes["product"].unique(maintain_order=True).to_list()
    assert set(responses["kind"].to_list()) <= set(labels)
    assert set(lanes["diagnosis"].to_list()) == set(p.texts("disease"))
