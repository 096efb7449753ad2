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
