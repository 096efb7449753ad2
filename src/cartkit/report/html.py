"""The report page: sections in reading order, written as one HTML string (``page``).

The page is self-contained: styles from ``templates/report.css`` are inlined, figures
are inline SVG (text as text, system fonts), and nothing is loaded from the network.
Every section has an ``id`` (``baseline``, ``patient-course`` ...) that the table of contents
links to and that tests look for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cartkit.analysis.results import Results
from cartkit.report import tables as tb
from cartkit.report.comparison_tables import recommended_table

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class RenderedFigure:
    id: str
    title: str
    caption: str
    svg: str


@dataclass
class Block:
    kind: str  # "table", "figure", "omitted", "heading", "dl", "paragraphs", "list", "text"
    table: tb.Table | None = None
    figure: RenderedFigure | None = None
    text: str = ""
    id: str = ""
    items: list = field(default_factory=list)


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block]


_SVG_SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"')


def inline_svg(svg: str, scale: float = 1.3) -> str:
    """The SVG for the page: fluid width (fits narrow windows), at most ``scale`` x its print size."""
    return _SVG_SIZE.sub(lambda m: f'<svg{m.group(1)} width="100%" style="max-width: '
                         f'{float(m.group(2)) * scale:.0f}pt"', svg, count=1)


def omission(results: Results, *names: str) -> str:
    """The reason a table is missing, from ``results.omitted`` (first of the names given)."""
    for name in names:
        if results.omitted.get(name):
            return results.omitted[name]
    return f"no {names[0].replace('_', ' ')} in these results"


def _table_or_note(results: Results, name: str, build) -> Block:
    df = results.get(name)
    if df is None or df.height == 0:
        return Block("omitted", text=omission(results, name), id=f"{name.replace('_', '-')}-omitted")
    table = build(df)
    population = results.populations.get(name)
    if population:  # every table on a population says which, with its N
        table.footnotes.append(f"Population: {population['description']}.")
    return Block("table", table=table)


def _further_toxicities(results: Results) -> list[Block]:
    """The blocks of the toxicities beyond CRS and ICANS (report/toxicity_tables.py) the results hold."""
    from cartkit.report import toxicity_tables as tt

    blocks: list[Block] = []
    for heading, anchor, parts in tt.SECTION_PARTS:
        present = [(name, build) for name, build in parts if results.get(name) is not None]
        if not present:
            continue
        blocks.append(Block("heading", text=heading, id=anchor))
        blocks += [_table_or_note(results, name, build) for name, build in present]
    return blocks


def _figure_block(figures: dict[str, RenderedFigure | str], fig_id: str) -> Block:
    fig = figures.get(fig_id)
    if isinstance(fig, RenderedFigure):
        return Block("figure", figure=fig)
    from cartkit.report.figures import FIGURES

    title = next((spec.title for spec in FIGURES if spec.id == fig_id), fig_id)
    return Block("omitted", text=f"{title}: {fig or 'not drawn'}", id=f"{fig_id}-omitted")


def _study_items(results: Results) -> list[tuple[str, str]]:
    study = results.get("study")
    items: list[tuple[str, str]] = []
    if study is not None and study.height:
        row = study.to_dicts()[0]
        names = {"id": "Study", "reference": "Reference", "data_cutoff": "Data cut-off",
                 "n_patients": "Patients", "n_episodes": "CAR-T episodes", "products": "Products",
                 "diseases": "Diseases"}
        items += [(label, tb.text(row.get(key))) for key, label in names.items() if row.get(key) is not None]
    items += [(f"Software: {k}", v) for k, v in results.software.items()]
    return items


def _population_blocks(results: Results) -> list[Block]:
    """Which population is primary, each population's rule and N (by arm), who was never infused and why."""
    pops = results.get("populations")
    primary = pops.filter(pl.col("primary") & (pl.col("arm") == "All")).row(0, named=True)
    blocks = [Block("text", text=f"Primary population: {primary['population']} ({primary['rule']}; "
                                 f"N = {primary['n']}).")]
    blocks.append(Block("table", table=tb.populations_table(pops)))
    never = results.get("never_infused")
    if never is not None and never.height:
        blocks.append(Block("table", table=tb.plain_table(
            never, "never-infused-table", "Patients never infused, by arm and reason",
            {"arm": "Arm", "never_infused_reason": "Reason", "n": "Patients"}, csv="never_infused.csv")))
    v2v = results.get("vein_to_vein")
    if v2v is not None and v2v.height:
        days = v2v["vein_to_vein_days"]
        blocks.append(Block("text", text=f"Vein-to-vein time (leukapheresis to first infusion): median "
                                         f"{days.median():g} days (range {days.min()}-{days.max()}; "
                                         f"{v2v.height} patients)."))
    return blocks


def _population_response_blocks(results: Results, level: float) -> list[Block]:
    """The response rates on each population with patients never infused (intention to treat), each table
    naming its population with the N it counted."""
    df = results.get("population_response_rates")
    if df is None or not df.height:
        return []
    pops = results.get("populations")
    rules = {} if pops is None else dict(pops.filter(pl.col("arm") == "All").select("population", "rule").iter_rows())
    tests = results.get("population_response_tests")
    compared = [Block("table", table=tb.population_response_tests_table(tests, level))] if tests is not None and \
        tests.height else []
    categories = results.get("population_disease_responses")
    if categories is not None and categories.height:
        compared += [Block("table", table=t) for t in tb.population_disease_response_tables(categories)]
    return [Block("heading", text="Response rates by intention to treat", id="population-response-rates"),
            *[Block("table", table=t) for t in tb.population_response_rates_tables(df, rules, level)], *compared]


def _endpoint_blocks(results: Results, figures: dict[str, RenderedFigure | str], level: float = 0.95) -> list[Block]:
    """Endpoints: medians, log-rank and HR between groups; HSCT as a competing event (cumulative incidence,
    Gray's test) and as a time-dependent covariate (Cox, Simon-Makuch), each when it ran."""
    blocks = []
    summary = results.get("endpoint_summary")
    if summary is not None and "conf_type" in summary.columns and "log-log" in summary["conf_type"].to_list():
        blocks.append(Block("text", text="Recommended analysis (docs/survival.md): Kaplan-Meier CIs on the log-log "
                                         "scale, hazard ratios with CIs, HSCT as a competing event and as a "
                                         "time-dependent covariate; the as-published tables keep the log-scale CIs."))
    blocks += [_table_or_note(results, "endpoint_summary", lambda df: tb.endpoint_summary_table(df, level)),
               Block("heading", text="Log-rank tests and Cox hazard ratios", id="endpoint-tests"),
               _table_or_note(results, "endpoint_tests", lambda df: tb.endpoint_tests_table(df, level))]
    if summary is None:  # no endpoint analysis: one note, and the figures' omission notes
        return [_table_or_note(results, "endpoint_summary", lambda df: tb.endpoint_summary_table(df, level)),
                _figure_block(figures, "cumulative-incidence"), _figure_block(figures, "simon-makuch")]
    tests = results.get("endpoint_cif_tests")
    blocks += [Block("heading", text="HSCT as a competing event", id="endpoint-cif"),
               _table_or_note(results, "endpoint_cif", lambda df: tb.endpoint_cif_table(df, tests, level)),
               _figure_block(figures, "cumulative-incidence"),
               Block("heading", text="HSCT as a time-dependent covariate", id="endpoint-hsct"),
               _table_or_note(results, "endpoint_hsct_cox", lambda df: tb.endpoint_hsct_cox_table(df, level)),
               _figure_block(figures, "simon-makuch")]
    return blocks


def build_sections(results: Results, figures: dict[str, RenderedFigure | str]) -> list[Section]:
    """All sections of the page, in reading order; missing parts become omission notes."""
    sections: list[Section] = []
    level = results.confidence_level  # every CI at the plan's 1 - alpha
    ci = tb.confidence_label(level)
    study_items = _study_items(results)
    sections.append(Section("summary", "Study summary", [Block("dl", items=study_items)] if study_items else
                            [Block("omitted", text=omission(results, "study"))]))

    methods = results.get("methods")  # item, text: the analysis as run
    if methods is not None and methods.height:
        plan_blocks = [Block("dl", items=[(str(r["item"]), str(r["text"])) for r in methods.to_dicts()])]
    else:
        plan_blocks = [Block("omitted", text=omission(results, "methods"))]
    sections.append(Section("plan", "Analysis plan as run", plan_blocks))
    if results.get("populations") is not None:  # every analysed study has them; a hand-built Results may not
        sections.append(Section("populations", "Analysis populations", _population_blocks(results)))

    sections.append(Section("baseline", "Baseline characteristics",
                            [_table_or_note(results, "baseline", tb.baseline_table)]))
    sections.append(Section("antigens", "Target antigens before each product",
                            [_figure_block(figures, "antigen-expression")]))
    sections.append(Section("infusions", "CAR-T products as infused",
                            [_table_or_note(results, "infusion_products", tb.infusion_products_table)]))
    response_blocks = [
        _table_or_note(results, "responses", tb.response_table),
        *_population_response_blocks(results, level),  # only on a population with patients never infused (ITT)
        Block("heading", text=f"Response rates with exact {ci} confidence intervals", id="response-rates"),
        _table_or_note(results, "response_rates", lambda df: tb.response_rates_table(df, level)),
        *([Block("heading", text="Response at the planned assessment days", id="planned-responses"),
           _table_or_note(results, "planned_response_rates", lambda df: tb.planned_response_rates_table(df, level))]
          if results.get("planned_response_rates") is not None else []),  # only with [plan.response_days]
    ]
    by_disease = results.get("disease_responses")  # myeloma (IMWG 2016) and CLL (iwCLL 2018) only
    if by_disease is not None and by_disease.height:
        population = results.populations.get("disease_responses")
        for table in tb.disease_response_tables(by_disease):
            if population:
                table.footnotes.append(f"Population: {population['description']}.")
            response_blocks.append(Block("table", table=table))
    sections.append(Section("responses", "Responses", response_blocks))
    next_study = results.get("next_study")
    if next_study is not None:  # only when the plan asks: [plan.next_study]
        sections.append(Section("next-study", "Next study: designs from the observed response rates", [
            Block("table", table=tb.plain_table(next_study.drop("message"), "next-study-table",
                                                "Simon two-stage designs (stop if <= r1 of n1, promising if > r "
                                                f"of n) planned at the lower exact {ci} CI limit and at the observed "
                                                "ORR (docs/design.md)", csv="next_study.csv")),
            Block("paragraphs", items=[(g, m) for g, m in next_study.select("group", "message").unique(
                maintain_order=True).iter_rows()])]))
    sections.append(Section("course-response-survival", "Clinical course, responses and survival", [
        _figure_block(figures, "patient-course"), _figure_block(figures, "best-response"), _figure_block(figures, "survival-curves"),
        Block("heading", text="Log-rank tests", id="logrank"),
        _table_or_note(results, "logrank", lambda df: tb.logrank_table(df, level)),
    ]))
    # the recommended survival analysis ([[plan.endpoint]] or [plan.survival] translated); else why not
    sections.append(Section("endpoints", "Time-to-event endpoints by population", _endpoint_blocks(results, figures,
                                                                                                   level)))
    # [plan.mrd_landmark] (analysis/mrd_landmark.py); without it, the section says why not
    from cartkit.report.mrd_landmark_table import mrd_landmark_table

    sections.append(Section("pfs-by-mrd-status", "PFS by MRD status (landmark analysis)", [
        _table_or_note(results, "mrd_landmark",
                       lambda df: mrd_landmark_table(df, results.get("mrd_landmark_status"), level)),
        _figure_block(figures, "pfs-by-mrd")]))
    grace_days = ((results.provenance.plan.get("follow_up") or {}).get("lost_grace_days", 0)
                  if results.provenance is not None else 0)
    sections.append(Section("follow-up", "Status at the end of follow-up", [
        _table_or_note(results, "follow_up_summary", lambda df: tb.follow_up_summary_table(df, grace_days)),
        _table_or_note(results, "follow_up", tb.follow_up_listing_table),
    ]))
    sections.append(Section("adverse-events", "Adverse events by product and disease", [
        _table_or_note(results, "adverse_event_incidence", tb.adverse_events_table),
        Block("heading", text="Toxicity grade comparisons", id="grade-compare"),
        _table_or_note(results, "grade_compare", tb.grade_compare_table),
    ]))
    further = _further_toxicities(results)
    if further:  # IEC-HS, infections, hypogammaglobulinaemia, late effects: only when the study has them
        sections.append(Section("further-toxicities", "IEC-HS, infections and late effects", further))
    sections.append(Section("toxicity-grades", "Toxicity grades", [_figure_block(figures, "toxicity-grade-bars")]))
    sections.append(Section("toxicity-course", "CRS and ICANS: onset, duration and treatment", [
        _table_or_note(results, "syndrome_course_summary", tb.syndrome_course_table),
        Block("heading", text="Tocilizumab and corticosteroids", id="toxicity-treatment"),
        _table_or_note(results, "toxicity_treatment", tb.toxicity_treatment_table),
    ]))
    sections.append(Section("kinetics", "CAR-T expansion", [
        _figure_block(figures, "car-t-kinetics"), _figure_block(figures, "expansion-peaks")]))
    sections.append(Section("ck-model", "Cellular-kinetic model (Stein 2019) fits", [
        _table_or_note(results, "ck_model", lambda df: tb.ck_model_table(df, level))]))
    sections.append(Section("cytokines", "Serum cytokines", [
        _figure_block(figures, "cytokine-kinetics"), _figure_block(figures, "cytokine-peaks")]))
    # the recommended analysis first, the one as published beside it (report/comparison_tables.py); a
    # hand-built Results without it (neither table nor reason) shows the as-published table only
    recommended = ([Block("heading", text="Two analyses: recommended first, as published beside it",
                          id="recommended-comparisons"),
                    _table_or_note(results, "recommended_comparisons", lambda df: recommended_table(df, level)),
                    Block("heading", text="As published: expansion and cytokines by the plan's rule",
                          id="as-published")]
                   if results.get("recommended_comparisons") is not None
                   or "recommended_comparisons" in results.omitted else [])
    sections.append(Section("comparisons", "Comparisons between groups", [
        _table_or_note(results, "comparison_groups", lambda df: tb.plain_table(
            df.select("comparison", pl.exclude("comparison")), "comparison-groups-table", "The comparisons the plan names: groups, patients and episodes in "
            "each, and patients in both", {"comparison": "Comparison", "by": "By", "group_a": "Group A",
                                           "group_b": "Group B", "patients_a": "Patients A",
                                           "patients_b": "Patients B", "episodes_a": "Episodes A",
                                           "episodes_b": "Episodes B", "n_pairs": "Patients in both",
                                           "paired": "Paired analysis"}, csv="comparison_groups.csv")),
        *recommended,
        _table_or_note(results, "comparisons", tb.comparisons_table)]))
    sections.append(Section("grading-systems", "Grading systems side by side",
                            [_table_or_note(results, "grading_systems", tb.grading_systems_table)]))
    sections.append(Section("disagreements", "Recorded vs derived: disagreements", [
        _table_or_note(results, "disagreements", lambda df: tb.plain_table(
            df, "disagreements-table", "Where the recorded value and cartkit's derivation differ",
            {"patient_id": "Patient", "episode": "Episode", "item": "Item", "recorded": "Recorded",
             "derived": "Derived", "note": "Note"}, csv="disagreements.csv"))]))
    sections.append(Section("reproduction", "Reproduction appendix",
                            [_table_or_note(results, "reproduction", tb.reproduction_table)]))
    if methods is not None and methods.height:
        method_blocks = [Block("paragraphs", items=[(str(r["item"]), str(r["text"])) for r in methods.to_dicts()])]
    else:
        method_blocks = [Block("omitted", text=omission(results, "methods"))]
    has_software = methods is not None and "item" in methods.columns and "Software" in methods["item"].to_list()
    if results.software and not has_software:  # once: the Methods table usually says it already
        method_blocks.append(Block("text", text="Software: " + ", ".join(
            f"{k} {v}" for k, v in results.software.items()) + "."))
    sections.append(Section("methods", "Methods", method_blocks))
    warnings = results.get("warnings")
    if warnings is not None and warnings.height:
        warn_blocks = [Block("list", items=warnings["text"].to_list())]
    else:
        warn_blocks = [Block("text", text="No warnings.")]
    notes = [f"{name.replace('_', ' ')}: {why}" for name, why in results.omitted.items()]
    if notes:
        warn_blocks += [Block("heading", text="Left out of this report", id="omitted"), Block("list", items=notes)]
    sections.append(Section("warnings", "Warnings", warn_blocks))
    return _cross_referenced(results, sections)


def cross_references(results: Results) -> dict[str, str]:
    """Report section or figure id -> the publication's label ("Table 1"), from published.toml."""
    table = results.get("cross_reference")
    return {} if table is None else dict(table.select("id", "label").iter_rows())


def _cross_referenced(results: Results, sections: list[Section]) -> list[Section]:
    """Each heading and figure title the publication numbers gets that number beside it."""
    labels = cross_references(results)
    for section in sections:
        if section.id in labels:
            section.title = f"{section.title} ({labels[section.id]} in the publication)"
        for block in section.blocks:
            if block.figure is not None and block.figure.id in labels:
                block.figure.title = f"{block.figure.title} ({labels[block.figure.id]} in the publication)"
    return sections


def render_html(results: Results, figures: dict[str, RenderedFigure | str]) -> str:
    """The whole page as one string."""
    import cartkit

    study = results.get("study")
    row = study.to_dicts()[0] if study is not None and study.height else {}
    title = str(row.get("title") or row.get("id") or "CAR-T study report")
    subtitle = [s for s in (row.get("reference"), f"Data cut-off {row['data_cutoff']}" if row.get("data_cutoff")
                            else None) if s]
    return page(title, subtitle, build_sections(results, figures),
                (TEMPLATES / "report.css").read_text(encoding="utf-8"), cartkit.__version__)


# ------------------------------------------------------------------------------------------ the page
# Written by hand, not by a template engine: jinja2's import and the template's compilation were about
# 0.07 s CPU of every run (issue 16, target 1). Every text from the records or the results is escaped
# as jinja2's autoescape (markupsafe) did, to the byte; the SVGs and the style sheet go in as they are.

def escape(value: object) -> str:
    """HTML-escaped text of ``value`` (``&``, ``<``, ``>``, ``'``, ``"``), as markupsafe.escape writes it.

    >>> escape("<b>P < 0.05 & 'x'</b>")
    '&lt;b&gt;P &lt; 0.05 &amp; &#39;x&#39;&lt;/b&gt;'
    """
    return (str(value).replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace("'", "&#39;")
            .replace('"', "&#34;"))


def _table_html(t: tb.Table, out: list[str]) -> None:
    out.append(f'\n<div class="table-wrap">\n<table id="{escape(t.id)}">\n<caption>{escape(t.caption)}</caption>'
               "\n<thead>")
    for hrow in t.header:
        out.append("\n<tr>")
        for c in hrow:
            span = (f' colspan="{escape(c.colspan)}"' if c.colspan > 1 else "") + (
                f' rowspan="{escape(c.rowspan)}"' if c.rowspan > 1 else "")
            cls = f' class="{escape(c.cls)}"' if c.cls else ""
            out.append(f'<th{span}{cls} scope="col">{escape(c.text)}</th>')
        out.append("</tr>")
    out.append("\n</thead>\n<tbody>")
    for row in t.rows:
        out.append(f'\n<tr class="{escape(row.cls)}">' if row.cls else "\n<tr>")
        for c in row.cells:
            span = f' colspan="{escape(c.colspan)}"' if c.colspan > 1 else ""
            cls = f' class="{escape(c.cls)}"' if c.cls else ""
            text = f"<span>{escape(c.text)}</span>" if c.cls.startswith("badge") else escape(c.text)
            out.append(f"<td{span}{cls}>{text}</td>")
        out.append("</tr>")
    out.append("\n</tbody>\n</table>\n</div>")
    if t.footnotes:
        out.append('\n<div class="footnotes">' + "".join(f"<p>{escape(n)}</p>" for n in t.footnotes) + "</div>")


def _block_html(b: Block, out: list[str]) -> None:
    if b.kind == "table":
        _table_html(b.table, out)
    elif b.kind == "heading":
        out.append(f'\n<h3 id="{escape(b.id)}">{escape(b.text)}</h3>')
    elif b.kind == "figure":
        f = b.figure
        out.append(f'\n<figure id="{escape(f.id)}">\n{f.svg}\n<figcaption><b>{escape(f.title)}</b>'
                   f"{escape(f.caption)}</figcaption>\n</figure>")
    elif b.kind == "omitted":
        anchor = f' id="{escape(b.id)}"' if b.id else ""
        out.append(f'\n<p class="omitted"{anchor}><strong>Not shown:</strong> {escape(b.text)}</p>')
    elif b.kind == "dl":
        out.append('\n<dl class="summary">' + "".join(f"\n<dt>{escape(k)}</dt><dd>{escape(v)}</dd>"
                                                      for k, v in b.items) + "\n</dl>")
    elif b.kind == "paragraphs":
        out.append('\n<div class="methods">' + "".join(
            f"\n<p>{f'<strong>{escape(k)}.</strong> ' if k else ''}{escape(v)}</p>" for k, v in b.items) + "\n</div>")
    elif b.kind == "list":
        out.append('\n<ul class="warnings">' + "".join(f"\n<li>{escape(v)}</li>" for v in b.items) + "\n</ul>")
    elif b.kind == "text":
        out.append(f"\n<p>{escape(b.text)}</p>")


def page(title: str, subtitle: list[str], sections: list[Section], css: str, version: str) -> str:
    """The page: head with the inlined style sheet, header, contents, the sections, footer."""
    out = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
           '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
           f'<meta name="generator" content="cartkit {escape(version)}">\n<title>{escape(title)}</title>\n'
           f"<style>\n{css}\n</style>\n</head>\n<body>\n<main>\n<header>\n<h1>{escape(title)}</h1>"]
    out += [f"\n<p>{escape(line)}</p>" for line in subtitle]
    out.append('\n</header>\n<nav id="toc" aria-label="Contents">\n<strong>Contents</strong>\n<ol>')
    out += [f'\n<li><a href="#{escape(s.id)}">{escape(s.title)}</a></li>' for s in sections]
    out.append("\n</ol>\n</nav>")
    for s in sections:
        out.append(f'\n<section id="{escape(s.id)}">\n<h2>{escape(s.title)}</h2>')
        for b in s.blocks:
            _block_html(b, out)
        out.append("\n</section>")
    out.append(f'\n<footer class="footnotes"><p>Written by cartkit {escape(version)}. Every number on this page is '
               "also in results.json; every table is in tables/ as CSV; every figure in figures/ as PNG and SVG."
               "</p></footer>\n</main>\n</body>\n</html>")
    return "".join(out)
