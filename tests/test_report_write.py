"""write_report on a hand-made seed-like Results: sections, files, results.json, omissions."""

from __future__ import annotations

import json
import math
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from report_fixture import (
    PRODUCTS,
    PageIds,
    parse_page,
    restricted_results,
    seed_like_results,
    written_seed_report,
)

from cartkit.analysis.results import Results
from cartkit.report import write_report
from cartkit.report.figures import FIGURES

SECTION_IDS = ("toc", "summary", "plan", "baseline", "antigens", "infusions", "responses", "response-rates",
               "course-response-survival", "follow-up", "adverse-events", "grade-compare", "toxicity-grades",
               "toxicity-course",
               "toxicity-treatment", "kinetics", "cytokines", "comparisons", "grading-systems", "disagreements",
               "reproduction", "methods", "warnings")
FIGURE_IDS = ("antigen-expression", "patient-course", "best-response", "survival-curves", "pfs-by-mrd",
              "cumulative-incidence",
              "simon-makuch", "car-t-kinetics",
              "expansion-peaks", "toxicity-grade-bars", "cytokine-kinetics", "cytokine-peaks")


def _parse(path: Path) -> PageIds:
    return parse_page(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def full_report(tmp_path_factory) -> tuple[Path, list[str]]:
    return written_seed_report(tmp_path_factory)


def test_full_report_has_every_section_and_figure(full_report):
    out, _ = full_report
    page = _parse(out / "index.html")
    for sid in SECTION_IDS:
        assert sid in page.ids, sid
    for fid in FIGURE_IDS:
        assert page.tag_of.get(fid) == "figure", fid
        assert fid in page.figures_with_svg, fid
    html = (out / "index.html").read_text(encoding="utf-8")
    assert 'class="omitted"' not in html  # the full fixture has everything
    # table of contents links every section
    for sid in SECTION_IDS[1:]:
        if sid not in ("response-rates", "grade-compare", "toxicity-treatment"):
            assert f'href="#{sid}"' in html, sid


def test_page_is_self_contained(full_report):
    html = (full_report[0] / "index.html").read_text(encoding="utf-8")
    assert "<script" not in html
    assert "<link" not in html
    assert "@import" not in html and "@font-face" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert not re.search(r"url\((['\"])?https?:", html)
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html


def test_svg_ids_unique_and_references_resolve(full_report):
    html = (full_report[0] / "index.html").read_text(encoding="utf-8")
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), [i for i in set(ids) if ids.count(i) > 1][:5]
    refs = set(re.findall(r"url\(#([^)]+)\)", html)) | set(re.findall(r'href="#([^"]+)"', html))
    assert refs <= set(ids), sorted(refs - set(ids))[:5]
    # matplotlib ids are prefixed with their own figure's id
    from cartkit.report.figures import FIGURES

    figure_ids = tuple(f"{spec.id}-" for spec in FIGURES)
    for ref in re.findall(r"url\(#([^)]+)\)", html):
        assert ref.startswith(figure_ids), ref


def _png_dpi(path: Path) -> float:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    i = data.index(b"pHYs")
    ppm_x, _, unit = struct.unpack(">IIB", data[i + 4:i + 13])
    assert unit == 1  # metres
    return ppm_x * 0.0254


def test_every_table_csv_and_figure_svg_written_png_only_when_asked(full_report):
    out, _ = full_report
    results = seed_like_results()
    for name, df in results.tables.items():
        csv = out / "tables" / f"{name}.csv"
        assert csv.exists(), name
        back = pl.read_csv(csv)
        assert back.shape == df.shape, name
        assert back.columns == df.columns
    for fid in FIGURE_IDS:  # every figure but pfs-by-mrd (the seed-like results have no MRD landmark)
        root = ET.parse(out / "figures" / f"{fid}.svg").getroot()
        assert root.tag.endswith("svg")
    # PNGs are opt-in (write_report(png=True), cartkit run --png): the page uses the SVGs
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(f"{fid}.svg" for fid in FIGURE_IDS)
    # nothing else beside the report's own files
    assert sorted(p.name for p in out.iterdir()) == [".cartkit-report.json", "figures", "index.html",
                                                     "results.json", "tables"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_results_json_has_the_numbers(full_report):
    out, _ = full_report
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    rates = {(r["product"], r["diagnosis"]): r for r in doc["tables"]["response_rates"]}
    # R: binom.test(6, 7)$conf.int -> 0.4212768 0.9963897
    assert rates[(PRODUCTS[1], "DLBCL")]["orr_lower"] == pytest.approx(0.4212768, abs=1e-7)
    assert rates[(PRODUCTS[1], "DLBCL")]["orr_upper"] == pytest.approx(0.9963897, abs=1e-7)
    t2 = {(r["label"], r["product"], r["diagnosis"]): r for r in doc["tables"]["adverse_event_incidence"]}
    fever = t2[("Temperature >= 38 C (fever)", PRODUCTS[1], "B-ALL")]
    assert (fever["n"], fever["N"]) == (4, 6)  # seed Table 2: 4/6 (66.67%)
    assert fever["pct"] == pytest.approx(66.6667, abs=1e-4)
    assert len(doc["tables"]["reproduction"]) == 5
    assert doc["tables"]["kinetic_params"][0]["half_life"] is None  # null column stays null
    assert {fid for fid, f in doc["figures"].items() if "files" in f} == set(FIGURE_IDS)
    assert set(doc["figures"]) == {spec.id for spec in FIGURES}  # the others with the reason they were left out
    assert doc["figures"]["survival-curves"]["files"] == ["figures/survival-curves.svg"]


def test_png_written_beside_the_svg_when_asked(tmp_path):
    out = write_report(restricted_results(), tmp_path / "with-png", png=True)
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    drawn = [fid for fid, f in doc["figures"].items() if "files" in f]
    assert "patient-course" in drawn
    for fid in drawn:
        assert doc["figures"][fid]["files"] == [f"figures/{fid}.png", f"figures/{fid}.svg"]
        assert round(_png_dpi(out / "figures" / f"{fid}.png")) == 200, fid
        assert ET.parse(out / "figures" / f"{fid}.svg").getroot().tag.endswith("svg")
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(
        f"{fid}.{ext}" for fid in drawn for ext in ("png", "svg"))
    manifest = json.loads((out / ".cartkit-report.json").read_text(encoding="utf-8"))
    assert f"figures/{drawn[0]}.png" in json.dumps(manifest)


def test_results_json_nan_and_dates():
    import datetime as dt

    from cartkit.report.write import results_json

    results = restricted_results(survival=True)
    results.tables["comparisons"] = seed_like_results().tables["comparisons"].with_columns(
        pvalue=pl.when(pl.col("measure") == "CAR-T % peak").then(float("nan")).otherwise(pl.col("pvalue")))
    results.tables["study"] = results.tables["study"].with_columns(data_cutoff=pl.lit(dt.date(2020, 8, 31)))
    text = results_json(results, {"survival-curves": "not drawn here"})
    doc = json.loads(text)
    row = next(r for r in doc["tables"]["comparisons"] if r["measure"] == "CAR-T % peak")
    assert row["pvalue"] is None
    assert doc["tables"]["study"][0]["data_cutoff"] == "2020-08-31"
    assert "NaN" not in text
    assert not any(isinstance(v, float) and math.isnan(v) for r in doc["tables"]["comparisons"] for v in r.values())


def test_progress_reports_each_step(full_report):
    _, steps = full_report
    assert steps == [f"figure {f}" for f in FIGURE_IDS] + ["tables", "results.json", "index.html"]


def test_one_product_one_disease_no_survival(tmp_path):
    results = restricted_results()
    out = write_report(results, tmp_path / "small")
    page = _parse(out / "index.html")
    html = (out / "index.html").read_text(encoding="utf-8")
    for sid in SECTION_IDS:
        assert sid in page.ids, sid
    # drawn: what one product / one disease still has
    for fid in ("patient-course", "best-response", "car-t-kinetics", "toxicity-grade-bars", "cytokine-kinetics"):
        assert fid in page.figures_with_svg, fid
    # left out, with the analysis stage's reason
    for fid in ("survival-curves", "expansion-peaks", "cytokine-peaks"):
        assert fid not in page.ids and f"{fid}-omitted" in page.ids, fid
    assert "no survival data: the study has no follow-up events" in html
    assert "one product only: no product comparison" in html
    assert not (out / "figures" / "survival-curves.svg").exists()
    assert not (out / "tables" / "comparisons.csv").exists()
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["tables"]["survival_curves"] is None
    assert doc["omitted"]["survival_curves"].startswith("no survival data")
    assert doc["figures"]["survival-curves"] == {"omitted": "no survival data: the study has no follow-up events"}


def test_one_group_survival_without_logrank(tmp_path):
    out = write_report(restricted_results(survival=True), tmp_path / "one-group")
    page = _parse(out / "index.html")
    assert "survival-curves" in page.figures_with_svg
    assert "logrank-omitted" in page.ids
    assert "one group only: no log-rank test" in (out / "index.html").read_text(encoding="utf-8")


def _tiny() -> Results:
    """Only the study row: every other section must be left out with a note, without crashing."""
    study = seed_like_results().tables["study"]
    return Results(tables={"study": study}, omitted={"baseline": "no baseline table in this test"})


def test_results_with_almost_nothing_still_render(tmp_path):
    out = write_report(_tiny(), tmp_path / "tiny")
    page = _parse(out / "index.html")
    for sid in SECTION_IDS:
        assert sid in page.ids, sid
    for fid in FIGURE_IDS:
        assert f"{fid}-omitted" in page.ids, fid
    assert "no baseline table in this test" in (out / "index.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in (out / "tables").iterdir()) == ["study.csv"]
    assert list((out / "figures").iterdir()) == []


def test_failure_leaves_no_partial_report_and_keeps_the_old_one(tmp_path, monkeypatch):
    out = write_report(_tiny(), tmp_path / "keep")
    before = (out / "index.html").read_text(encoding="utf-8")

    import cartkit.report.figures as figures_pkg

    def broken(results):
        raise RuntimeError("drawing failed")

    bad = tuple(f if f.id != "best-response" else type(f)(f.id, f.title, f.caption, f.needs, broken)
                for f in figures_pkg.FIGURES)
    monkeypatch.setattr(figures_pkg, "FIGURES", bad)
    with pytest.raises(RuntimeError, match="drawing failed"):
        write_report(restricted_results(), tmp_path / "keep")
    with pytest.raises(RuntimeError, match="drawing failed"):
        write_report(restricted_results(), tmp_path / "new")
    assert (out / "index.html").read_text(encoding="utf-8") == before
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]


def test_refuses_to_replace_a_folder_that_is_not_a_report(tmp_path):
    target = tmp_path / "mydata"
    target.mkdir()
    (target / "patients.csv").write_text("patient_id\nP1\n")
    with pytest.raises(ValueError, match="not empty"):
        write_report(restricted_results(), target)
    assert (target / "patients.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mydata"]


def test_creates_missing_parents(tmp_path):
    out = write_report(_tiny(), tmp_path / "a" / "b" / "report")
    assert (out / "index.html").exists()


def test_importing_the_report_does_not_import_matplotlib():
    import subprocess
    import sys

    code = ("import sys, cartkit.report, cartkit.report.write, cartkit.report.figures, cartkit.report.tables; "
            "print('matplotlib' in sys.modules, 'jinja2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_the_plan_as_run_is_the_methods_table():
    from cartkit.report.html import render_html

    results = _tiny()
    results.tables["methods"] = pl.DataFrame({"item": ["Toxicity grading", "Significance"],
                                              "text": ["CRS graded with NCI CTCAE v4.03", "Two-sided P < 0.05."]})
    html = render_html(results, {})
    plan = html[html.index('<section id="plan">'):html.index("</section>", html.index('<section id="plan">'))]
    assert "<dt>Toxicity grading</dt><dd>CRS graded with NCI CTCAE v4.03</dd>" in plan
    assert "<dt>Significance</dt><dd>Two-sided P &lt; 0.05.</dd>" in plan


def test_text_from_the_records_is_escaped():
    from cartkit.report.html import render_html

    results = _tiny()
    results.tables["warnings"] = pl.DataFrame({"text": ["<script>alert(1)</script> & more"]})
    html = render_html(results, {})
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html


def test_rewriting_replaces_an_earlier_report_cleanly(tmp_path):
    out = write_report(restricted_results(), tmp_path / "r")
    again = write_report(_tiny(), tmp_path / "r")
    assert again == out
    assert not (out / "tables" / "baseline.csv").exists()  # written by the first run, not by this one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    # a file the user put there is not cartkit's: the folder is no longer replaced (test_report_output_folder)
    (out / "tables" / "stale.csv").write_text("x\n1\n")
    with pytest.raises(ValueError, match="stale.csv"):
        write_report(_tiny(), tmp_path / "r")
    assert (out / "tables" / "stale.csv").exists()
