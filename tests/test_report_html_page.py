"""The report page (``report.html.page``) is written by hand, not by a template engine (issue 16, target 1).

The expected page below is what jinja2 3.1 (autoescape on, trim_blocks off) rendered from the report template
that ``page`` replaced (templates/report.html.j2 at 28aaf31) for the same sections: every block kind, header cells
with colspan and rowspan, a badge cell, footnotes, and text that must be escaped (``& < > ' "``).
"""

from __future__ import annotations

from cartkit.report import tables as tb
from cartkit.report.html import Block, RenderedFigure, Section, escape, page

EXPECTED = (
    '<!DOCTYPE html>' "\n"
    '<html lang="en">' "\n"
    '<head>' "\n"
    '<meta charset="utf-8">' "\n"
    '<meta name="viewport" content="width=device-width, initial-scale=1">' "\n"
    '<meta name="generator" content="cartkit 1.2.3">' "\n"
    '<title>Study &lt;X&gt; &amp; &#39;Y&#39;</title>' "\n"
    '<style>' "\n"
    'body{a:b}' "\n"
    '</style>' "\n"
    '</head>' "\n"
    '<body>' "\n"
    '<main>' "\n"
    '<header>' "\n"
    '<h1>Study &lt;X&gt; &amp; &#39;Y&#39;</h1>' "\n"
    '<p>Ref &#34;2020&#34;</p>' "\n"
    '<p>Data cut-off 2021-01-01</p>' "\n"
    '</header>' "\n"
    '<nav id="toc" aria-label="Contents">' "\n"
    '<strong>Contents</strong>' "\n"
    '<ol>' "\n"
    '<li><a href="#s1">First &amp; &lt;one&gt;</a></li>' "\n"
    '<li><a href="#s2">Second</a></li>' "\n"
    '</ol>' "\n"
    '</nav>' "\n"
    '<section id="s1">' "\n"
    '<h2>First &amp; &lt;one&gt;</h2>' "\n"
    '<div class="table-wrap">' "\n"
    '<table id="t1">' "\n"
    '<caption>Rates &lt;95% CI&gt; &amp; &#39;N&#39;</caption>' "\n"
    '<thead>' "\n"
    '<tr><th rowspan="2" scope="col">Group</th><th colspan="2" class="num" scope="col">Response</th></tr>' "\n"
    '<tr><th scope="col">n</th><th class="num" scope="col">&#34;%&#34;</th></tr>' "\n"
    '</thead>' "\n"
    '<tbody>' "\n"
    '<tr class="section"><td class="indent">CD19 &amp; more</td><td colspan="2" class="num">3</td></tr>' "\n"
    '<tr><td>&lt;script&gt;</td><td class="badge agrees"><span>agrees</span></td><td>0.5</td></tr>' "\n"
    '</tbody>' "\n"
    '</table>' "\n"
    '</div>' "\n"
    '<div class="footnotes"><p>P &lt; 0.05.</p><p>Population: all infused.</p></div>' "\n"
    '<h3 id="h3">H &lt;3&gt;</h3>' "\n"
    '<figure id="f1">' "\n"
    '<svg><g/></svg>' "\n"
    '<figcaption><b>Fig &#39;one&#39;</b> caption &amp; more</figcaption>' "\n"
    '</figure>' "\n"
    '<p class="omitted" id="x-omitted"><strong>Not shown:</strong> no data &lt;here&gt;</p>' "\n"
    '<p class="omitted"><strong>Not shown:</strong> no id</p>' "\n"
    '</section>' "\n"
    '<section id="s2">' "\n"
    '<h2>Second</h2>' "\n"
    '<dl class="summary">' "\n"
    '<dt>Study</dt><dd>S &amp; T</dd>' "\n"
    '<dt>N</dt><dd>13</dd>' "\n"
    '</dl>' "\n"
    '<div class="methods">' "\n"
    '<p><strong>Plan.</strong> alpha &lt; 0.05</p>' "\n"
    '<p>no key</p>' "\n"
    '</div>' "\n"
    '<ul class="warnings">' "\n"
    '<li>warn &lt;1&gt;</li>' "\n"
    '<li>warn 2</li>' "\n"
    '</ul>' "\n"
    '<p>plain &#39;text&#39;</p>' "\n"
    '<div class="table-wrap">' "\n"
    '<table id="t2">' "\n"
    '<caption>empty</caption>' "\n"
    '<thead>' "\n"
    '</thead>' "\n"
    '<tbody>' "\n"
    '</tbody>' "\n"
    '</table>' "\n"
    '</div>' "\n"
    '</section>' "\n"
    '<footer class="footnotes"><p>Written by cartkit 1.2.3. Every number on this page is also in results.json; every table is in tables/ as CSV; every figure in figures/ as PNG and SVG.</p></footer>' "\n"
    '</main>' "\n"
    '</body>' "\n"
    '</html>'
)


def _sections() -> list[Section]:
    t = tb.Table(id="t1", caption="Rates <95% CI> & 'N'",
                 header=[[tb.Cell("Group", rowspan=2), tb.Cell("Response", colspan=2, cls="num")],
                         [tb.Cell("n"), tb.Cell('"%"', cls="num")]],
                 rows=[tb.Row([tb.Cell("CD19 & more", cls="indent"), tb.Cell("3", colspan=2, cls="num")],
                              cls="section"),
                       tb.Row([tb.Cell("<script>"), tb.Cell("agrees", cls="badge agrees"), tb.Cell(0.5)])],
                 footnotes=["P < 0.05.", "Population: all infused."])
    return [Section("s1", "First & <one>", [
                Block("table", table=t), Block("heading", text="H <3>", id="h3"),
                Block("figure", figure=RenderedFigure("f1", "Fig 'one'", " caption & more", "<svg><g/></svg>")),
                Block("omitted", text="no data <here>", id="x-omitted"), Block("omitted", text="no id")]),
            Section("s2", "Second", [
                Block("dl", items=[("Study", "S & T"), ("N", 13)]),
                Block("paragraphs", items=[("Plan", "alpha < 0.05"), ("", "no key")]),
                Block("list", items=["warn <1>", "warn 2"]), Block("text", text="plain 'text'"),
                Block("table", table=tb.Table(id="t2", caption="empty", header=[], rows=[]))])]


def test_the_page_is_what_the_template_rendered():
    got = page("Study <X> & 'Y'", ['Ref "2020"', "Data cut-off 2021-01-01"], _sections(), "body{a:b}", "1.2.3")
    assert got == EXPECTED


def test_escape_is_markupsafe_escape():
    assert escape("""<a href='x'>"b" & c</a>""") == "&lt;a href=&#39;x&#39;&gt;&#34;b&#34; &amp; c&lt;/a&gt;"
    assert escape(None) == "None" and escape(0.5) == "0.5"
