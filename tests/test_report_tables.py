"""Journal tables: formatting of counts, rates with exact CIs, P values, grouped headers, caps."""

from __future__ import annotations

import polars as pl
import pytest
from report_fixture import PRODUCTS, seed_like_results

from cartkit.report import tables as tb
from cartkit.report.style import format_p


def _cells(table: tb.Table) -> list[list[str]]:
    return [[c.text for c in r.cells] for r in table.rows]


@pytest.mark.parametrize(("p", "shown"), [(0.0004, "<0.001"), (0.001, "0.001"), (0.0577, "0.058"),
                                          (0.92, "0.920"), (1.0, "1.000"), (None, "\u2013"),
                                          (float("nan"), "\u2013")])
def test_p_values_print_three_decimals(p, shown):
    assert format_p(p) == shown


def test_table2_counts_as_n_over_N_with_percent_and_grouped_header():
    t = tb.table2(seed_like_results().tables["table2"])
    top, sub = t.header
    assert [(c.text, c.colspan) for c in top[1:]] == [(PRODUCTS[0], 2), (PRODUCTS[1], 2)]
    assert [c.text for c in sub] == ["DLBCL", "B-ALL", "DLBCL", "B-ALL"]
    rows = {r[0]: r[1:] for r in _cells(t)}
    # seed Table 2, fever: 7/7 (100%), 6/6 (100%), 1/7 (14.29%), 4/6 (66.67%)
    assert rows["Temperature >= 38 C (fever)"] == ["7/7 (100.0%)", "6/6 (100.0%)", "1/7 (14.3%)", "4/6 (66.7%)"]
    assert rows["Grade 0 CRS"] == ["5/7 (71.4%)", "0/6 (0.0%)", "4/7 (57.1%)", "0/6 (0.0%)"]
    sections = [r.cells[0].text for r in t.rows if r.cls == "section"]
    assert sections == ["General condition", "Hematological", "Respiratory", "CRS", "ICANS"]


def test_table2_optional_p_column_is_rendered_when_present():
    df = seed_like_results().tables["table2"].with_columns(
        pvalue=pl.when(pl.col("term") == "fever").then(pl.lit(0.0011)).otherwise(None))
    t = tb.table2(df)
    assert t.header[0][-1].text == "P"
    rows = {r[0]: r[-1] for r in _cells(t)}
    assert rows["Temperature >= 38 C (fever)"] == "0.001"
    assert rows["Chills"] == "\u2013"


def test_response_rates_with_exact_intervals():
    t = tb.response_rates_table(seed_like_results().tables["response_rates"])
    rows = {(r[0], r[1]): r[2:] for r in _cells(t)}
    # R: binom.test(6, 7)$conf.int 0.4212768 0.9963897; binom.test(4, 7)$conf.int 0.1840516 0.9010117
    assert rows[(PRODUCTS[1], "DLBCL")] == ["7", "6 (85.7%) [42.1\u201399.6]", "4 (57.1%) [18.4\u201390.1]"]
    # R: binom.test(0, 7)$conf.int 0 0.4096164
    assert rows[(PRODUCTS[0], "DLBCL")][1] == "0 (0.0%) [0.0\u201341.0]"


def test_table1_pivots_groups_with_their_n():
    results = seed_like_results()
    t = tb.table1(results.tables["table1"], {"DLBCL": 7, "B-ALL": 6, "All": 13})
    assert [c.text for c in t.header[0]] == ["Characteristic", "DLBCL (n = 7)", "B-ALL (n = 6)", "All (n = 13)"]
    rows = _cells(t)
    assert rows[0] == ["Age, years, median (IQR)", "56 (28, 69)", "39.5 (29.5, 55.75)", "55 (29.5, 58.5)"]
    assert ["Male", "5 (71.4)", "3 (50.0)", "8 (61.5)"] in rows
    assert ["IPI, median (IQR)", "3 (3, 3)", "\u2013", "\u2013"] in rows
    assert any("mean \u00b1 SD" in n for n in t.footnotes)


def test_response_table_per_patient_marks_derived_and_hsct():
    t = tb.response_table(seed_like_results().tables["responses"])
    rows = {r[0]: r[1:] for r in _cells(t)}
    assert [r[0] for r in _cells(t)][:3] == ["P1", "P2", "P3"] and _cells(t)[-1][0] == "P13"  # natural order
    assert rows["P12"] == ["B-ALL", "CR", "CRi\u1d48", "30", "yes"]
    assert rows["P1"][-1] == "no"


def test_long_per_patient_tables_are_capped_with_a_note():
    n = tb.MAX_ROWS + 50
    df = pl.DataFrame({"patient_id": [f"P{i}" for i in range(n)], "diagnosis": ["DLBCL"] * n,
                       "episode": [1] * n, "product": ["CD19 CAR-T"] * n, "best_response": ["CR"] * n,
                       "response_day": [28] * n, "source": ["recorded"] * n, "relapse_day": [None] * n,
                       "hsct": [False] * n}, schema_overrides={"relapse_day": pl.Int64})
    t = tb.response_table(df)
    assert len(t.rows) == tb.MAX_ROWS
    assert t.footnotes[0] == f"First {tb.MAX_ROWS} of {n} patients shown; all are in tables/responses.csv."


def test_grading_systems_side_by_side_flags_disagreements():
    t = tb.grading_systems_table(seed_like_results().tables["grading_systems"])
    assert [c.text for c in t.header[0]][3:] == ["CTCAE v4.03 (recorded)", "ASTCT 2019 (derived)"]
    differing = [r.cells[0].text for r in t.rows if r.cls == "differs"]
    # fixture: CD19 CRS grade 0 by CTCAE and 1 by ASTCT in P1, P2, P3, P5, P6
    assert differing == ["P1", "P2", "P3", "P5", "P6"]
    assert "(5 of 26)" in t.footnotes[0]


def test_comparisons_table_moves_a_common_reason_to_a_footnote():
    t = tb.comparisons_table(seed_like_results().tables["comparisons"])
    assert "Why this test" not in [c.text for c in t.header[0]]
    assert t.footnotes[0].startswith("Choice of test (all rows): Shapiro-Wilk")
    rows = {r[0]: r for r in _cells(t)}
    assert "CAR-T % peak day" in rows  # unit 'day' not repeated after 'peak day'
    assert rows["CAR-T % peak (%)"][4:] == ["0.903", "Wilcoxon signed-rank (exact)", "0.917", "0.920"]
    assert rows["IL-2R peak day"][6] == "<0.001"


def test_logrank_table_landmark_percentages():
    df = pl.DataFrame({"endpoint": ["PFS"], "censoring": ["censor at HSCT"], "statistic": [3.6], "df": [1],
                       "pvalue": [0.0577], "landmark_day": [180], "landmark_DLBCL": [0.6857143],
                       "landmark_B-ALL": [1 / 3]})
    t = tb.logrank_table(df)
    assert [c.text for c in t.header[0]][-2:] == ["DLBCL, day 180", "B-ALL, day 180"]
    assert _cells(t)[0] == ["PFS", "censor at HSCT", "3.60", "1", "0.058", "68.6%", "33.3%"]


def test_reproduction_badges_and_summary():
    t = tb.reproduction_table(seed_like_results().tables["reproduction"])
    badges = [r.cells[4].cls for r in t.rows]
    assert badges == ["badge differs", "badge agrees", "badge differs", "badge agrees", "badge not-computed"]
    assert t.footnotes[0] == "5 published numbers: 2 agrees, 2 differs, 1 not computed."


def test_table1_empty_level_is_a_single_row():
    df = pl.DataFrame({"characteristic": ["Patients", "Patients"], "level": ["", ""], "group": ["DLBCL", "All"],
                       "value": ["7", "13"], "n": [7, 13], "stat": ["n", "n"]})
    t = tb.table1(df)
    assert _cells(t) == [["Patients, n", "7", "13"]]


def test_grading_system_codes_are_printed_by_name():
    df = pl.DataFrame({"patient_id": ["P1", "P1"], "episode": [1, 1], "product": ["CD19 CAR-T"] * 2,
                       "toxicity": ["CRS", "CRS"], "system": ["ctcae4.03", "astct2019"], "grade": [0, 1]})
    t = tb.grading_systems_table(df)
    assert [c.text for c in t.header[0]][3:] == ["CTCAE v4.03", "ASTCT 2019"]
    assert t.rows[0].cls == "differs"


def test_comparisons_without_published_p_drop_that_column():
    df = seed_like_results().tables["comparisons"].drop("published_p")
    t = tb.comparisons_table(df)
    assert "Published P" not in [c.text for c in t.header[0]]
    assert all(len(r.cells) == len(t.header[0]) for r in t.rows if r.cls != "section")
