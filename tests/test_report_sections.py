"""Report sections added or fixed for issue 9 item 16: what the page shows and where."""

from __future__ import annotations

import re

import polars as pl
from report_fixture import seed_like_results

from cartkit.report.html import build_sections, render_html


def _section_text(html: str, sid: str) -> str:
    start = html.index(f'<section id="{sid}">')
    return re.sub(r"<[^>]+>", " ", html[start:html.index("</section>", start)])


def test_methods_name_the_software_once():
    results = seed_like_results()
    software = "; ".join(f"{k} {v}" for k, v in results.software.items())
    results.tables["methods"] = pl.concat([results.tables["methods"],
                                           pl.DataFrame({"item": ["Software"], "text": [software]})])
    methods = _section_text(render_html(results, {}), "methods")
    assert methods.count("Software") == 1
    assert methods.count(f"polars {pl.__version__}") == 1
    # a Methods table without a Software line still gets one
    results.tables["methods"] = results.tables["methods"].filter(pl.col("item") != "Software")
    methods = _section_text(render_html(results, {}), "methods")
    assert methods.count("Software") == 1


def test_sections_are_unique():
    ids = [s.id for s in build_sections(seed_like_results(), {})]
    assert len(ids) == len(set(ids))


def test_new_sections_show_their_tables():
    html = render_html(seed_like_results(), {})
    infusions = _section_text(html, "infusions")
    assert "CAR-T cells infused, 10\u2076/kg" in infusions
    assert "2.09 \u00b1 0.17" in infusions and "47.2 \u00b1 17.4" in infusions  # seed Results
    course = _section_text(html, "toxicity-course")
    assert "13/13 (100.0%)" in course and "2 (1\u20133)" in course
    assert "Corticosteroid: methylprednisolone" in course and "160 (40\u2013480) mg" in course
    assert "8/13 (61.5%)" in course
    follow = _section_text(html, "follow-up")
    assert "Died: disease progression" in follow and "5/6 (83.3%)" in follow


def test_new_sections_say_why_they_are_empty():
    results = seed_like_results()
    for name in ("antigen_expression", "infusion_products", "toxicity_treatment", "syndrome_course_summary",
                 "follow_up_summary", "follow_up"):
        results.tables[name] = None
    results.omitted["toxicity_treatment"] = "no tocilizumab or corticosteroid recorded"
    html = render_html(results, {"antigen-expression": "no CD19 or CD22 expression recorded before an infusion"})
    assert "no tocilizumab or corticosteroid recorded" in _section_text(html, "toxicity-course")
    assert "no CD19 or CD22 expression recorded" in _section_text(html, "antigens")
    assert 'id="infusion-products-omitted"' in html


def test_figure_1_is_drawn_only_when_antigen_data_exist():
    from cartkit.analysis.results import Results
    from cartkit.report.figures import FIGURES
    from cartkit.report.write import draw_figures

    full = seed_like_results()
    spec = next(s for s in FIGURES if s.id == "antigen-expression")
    assert spec.needs == ("antigen_expression",)
    only = Results(tables={"study": full.tables["study"], "antigen_expression": full.tables["antigen_expression"]})
    rendered, files = draw_figures(only)
    assert list(files) == ["antigen-expression"]
    assert "CD19" in files["antigen-expression"][1] and "CD22" in files["antigen-expression"][1]
    rendered, files = draw_figures(Results(tables={"study": full.tables["study"]},
                                           omitted={"antigen_expression": "no CD19 or CD22 recorded"}))
    assert files == {} and rendered["antigen-expression"] == "no CD19 or CD22 recorded"


def test_figure_1_dots_are_the_recorded_percentages():
    """Read back from the SVG of cartkit's own writer (tests/svg_figure.py): a dot per recorded value."""
    from svg_figure import panels, parse, points

    from cartkit.report.figures.antigen import antigen_figure

    results = seed_like_results()
    data = results.tables["antigen_expression"]
    root = parse(antigen_figure(results).svg("antigen-expression"))
    ps = panels(root)
    assert [p.title() for p in ps] == ["A   CD19 (n = 6 patients)", "B   CD22 (n = 6 patients)"]
    for p, antigen in zip(ps, ("CD19", "CD22"), strict=True):
        dots = p.find("dot")
        fills = sorted({d.get("fill") for d in dots})
        assert len(fills) == 2  # one colour per product
        for product, fill in zip(("CD19 CAR-T", "CD22 CAR-T"), ("#0072B2", "#D55E00"), strict=True):
            want = data.filter((pl.col("antigen") == antigen) & (pl.col("product") == product))
            got = [p.y_data(points(d)[0][1]) for d in dots if d.get("fill") == fill]
            assert sorted(round(v, 2) for v in got) == sorted(want["pct"].to_list())
