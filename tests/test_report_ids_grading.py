"""Report clean-ups: the grading-systems table keeps a recorded and a derived grade of the same system, the
page's ids are clean and stable, and the warnings table has no dead argument."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.analysis.methods import design_warnings
from cartkit.derive import derive
from cartkit.report import tables as tb
from cartkit.report.html import render_html

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"


def test_recorded_and_derived_grades_in_one_system_are_two_columns():
    df = pl.DataFrame({"patient_id": ["P1", "P1", "P2", "P2"], "episode": [1, 1, 1, 1],
                       "product": ["CD19 CAR-T"] * 4, "toxicity": ["ICANS"] * 4,
                       "system": ["astct2019"] * 4, "grade": [2, 1, 0, 0],
                       "source": ["recorded", "derived", "recorded", "derived"]})
    t = tb.grading_systems_table(df)
    assert [c.text for c in t.header[0]][3:] == ["ASTCT 2019 (recorded)", "ASTCT 2019 (derived)"]
    assert [[c.text for c in r.cells] for r in t.rows] == [["P1", "CD19 CAR-T", "ICANS", "2", "1"],
                                                          ["P2", "CD19 CAR-T", "ICANS", "0", "0"]]
    assert [r.cls for r in t.rows] == ["differs", ""]
    assert "(1 of 2)" in t.footnotes[0]


@pytest.fixture(scope="module")
def seed_results():
    study = cartkit.load_study(SEED)
    return analyse(study, derive(study))


def test_the_seed_icans_recorded_and_derived_both_shown(seed_results):
    t = tb.grading_systems_table(seed_results.get("grading_systems"))
    header = [c.text for c in t.header[0]][3:]
    assert header == ["ASTCT 2019 (recorded)", "ASTCT 2019 (derived)", "CTCAE v4.03 (recorded)"]
    icans = [r for r in t.rows if r.cells[2].text == "ICANS"]  # recorded and derived ASTCT grades, both kept
    assert len(icans) == 26 and all(r.cells[3].text != "\u2013" and r.cells[4].text != "\u2013" for r in icans)


def _ids(page: str) -> list[str]:
    return re.findall(r'\bid="([^"]+)"', page)


def test_page_ids_are_clean_unique_and_stable(seed_results, tmp_path, copy_seed):
    page = render_html(seed_results, {})
    ids = _ids(page)
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", i) for i in ids), ids
    tables = re.findall(r'<table id="([^"]+)"', page)
    assert "baseline-table" in tables and "adverse-events-table" in tables
    # no publication numbers (the seed's "Table 1"), no doubled words
    assert not [i for i in ids if re.search(r"table-\d|-table-table|(\b\w+)-\1\b", i)]
    # stable: the ids do not depend on the numbers (the seed at alpha = 0.10 has the same page ids)
    folder = tmp_path / "study"
    copy_seed(folder)
    (folder / "study.toml").write_text((folder / "study.toml").read_text().replace("alpha = 0.05", "alpha = 0.10"))
    study = cartkit.load_study(folder)
    assert _ids(render_html(analyse(study, derive(study)), {})) == ids


def test_design_warnings_takes_the_survival_tests_and_the_notes():
    few = pl.DataFrame({"events": [3]})
    assert design_warnings(few, ["a note"])["text"].to_list() == [
        "a note", "Few events (< 10) in some survival analyses: Kaplan-Meier estimates and log-rank P-values "
        "are imprecise."]
    assert design_warnings(None, [])["text"].to_list() == []
