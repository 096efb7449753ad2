"""The analysis registry runs on the plan's primary population and says so on every table; the
report's headings say what they show, with the publication's numbers only as a cross-reference
from published.toml (issue 10 items 3 and 7)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.report.html import build_sections, render_html

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
CD22_SET = ('[[plan.population]]\nname = "CD22 set"\nrule = "infused with product"\nproduct = "CD22 CAR-T"\n'
            'primary = true\n\n')


@pytest.fixture(scope="module")
def seed_results():
    study = cartkit.load_study(SEED)
    return analyse(study, derive(study))


def test_every_table_on_a_population_names_it_with_its_n(seed_results):
    # no [[plan.population]] in the seed: the implicit primary population, every infused patient (13)
    assert seed_results.populations["baseline"] == {"population": "infused", "n": 13,
                                                    "description": "infused (infused; N = 13)"}
    on_population = set(seed_results.populations)
    assert {"baseline", "responses", "adverse_event_incidence", "grade_compare", "comparisons"} <= on_population
    assert not {"study", "methods", "warnings", "reproduction"} & on_population  # about the run as a whole
    html = render_html(seed_results, {})
    start = html.index('id="baseline"')
    assert "Population: infused (infused; N = 13)." in html[start:html.index("</section>", start)]


def test_the_sections_run_on_the_primary_population(tmp_path, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    toml = (folder / "study.toml").read_text()
    (folder / "study.toml").write_text(toml.replace("[plan.response_days]", CD22_SET + "[plan.response_days]"))
    study = cartkit.load_study(folder)
    results = analyse(study, derive(study))
    assert results.populations["responses"]["population"] == "CD22 set"
    # only the CD22 episodes are in the population: responses, AE incidence and the comparison follow it
    assert results.tables["responses"]["product"].unique().to_list() == ["CD22 CAR-T"]
    assert set(results.tables["adverse_event_incidence"].filter(pl.col("N") > 0)["product"]) == {"CD22 CAR-T"}
    groups = results.tables["comparison_groups"].row(0, named=True)
    assert (groups["episodes_a"], groups["episodes_b"]) == (0, 13)
    assert results.tables["baseline"].filter(pl.col("group") == "All").height > 0


def test_headings_say_what_they_show_and_cite_the_publication_only_from_published_toml(seed_results, tmp_path, copy_seed):
    titles = {s.id: s.title for s in build_sections(seed_results, {})}
    assert titles["baseline"] == "Baseline characteristics (Table 1 in the publication)"
    assert titles["adverse-events"] == "Adverse events by product and disease (Table 2 in the publication)"
    assert titles["toxicity-grades"] == "Toxicity grades (Figure 5 in the publication)"
    # a study without published.toml: the same headings, no numbers of anyone's paper
    folder = tmp_path / "study"
    copy_seed(folder)
    (folder / "published.toml").unlink()
    study = cartkit.load_study(folder)
    results = analyse(study, derive(study))
    assert "published.toml" in results.omitted["cross_reference"]
    plain = {s.id: s.title for s in build_sections(results, {})}
    assert plain["baseline"] == "Baseline characteristics"
    assert plain["adverse-events"] == "Adverse events by product and disease"
    assert not any("Table " in t or "Figure " in t for t in plain.values()), plain
    html = render_html(results, {})
    assert "Table 1." not in html and "Table 2." not in html and "in the publication" not in html
