"""Journal tables: formatting of counts, rates with exact CIs, P values, grouped headers, caps."""

from __future__ import annotations

import re

import polars as pl
import pytest
from report_fixture import PRODUCTS, seed_like_results

from cartkit.analysis.formatting import format_p
from cartkit.report import tables as tb


def _cells(table: tb.Table) -> list[list[str]]:
    return [[c.text for c in r.cells] for r in table.rows]


@pytest.mark.parametrize(("p", "shown"), [(0.0004, "<0.001"), (0.001, "0.001"), (0.0577, "0.058"),
                                          (0.92, "0.920"), (1.0, "1.000"), (None, "\u2013"),
                                          (float("nan"), "\u2013"),
                                          # exact halves away from zero (SPSS), not to even:
                                          # 812.5 -> 813, 62.5 -> 63, 187.5 -> 188; the decimal
                                          # 0.0225 (binary 0.02249999...) -> 0.023
                                          (0.8125, "0.813"), (0.0625, "0.063"), (0.1875, "0.188"),
                                          (0.0225, "0.023"), (0.00125, "0.001"), (0.9995, "1.000")])
def test_p_values_print_three_decimals(p, shown):
    assert format_p(p) == shown


def test_table2_counts_as_n_over_N_with_percent_and_grouped_header():
    t = tb.adverse_events_table(seed_like_results().tables["adverse_event_incidence"])
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
    df = seed_like_results().tables["adverse_event_incidence"].with_columns(
        pvalue=pl.when(pl.col("term") == "fever").then(pl.lit(0.0011)).otherwise(None))
    t = tb.adverse_events_table(df)
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
    patients = pl.DataFrame({"characteristic": "Patients", "level": "", "group": ["DLBCL", "B-ALL", "All"],
                             "value": ["7", "6", "13"], "n": [7, 6, 13], "stat": "n"})
    t = tb.baseline_table(pl.concat([patients, results.tables["baseline"]], how="vertical_relaxed"))
    assert [c.text for c in t.header[0]] == ["Characteristic", "DLBCL (n = 7)", "B-ALL (n = 6)", "All (n = 13)"]
    rows = _cells(t)
    assert rows[0] == ["Patients, n", "7", "6", "13"]
    assert rows[1] == ["Age, years, median (IQR)", "56 (28, 69)", "39.5 (29.5, 55.75)", "55 (29.5, 58.5)"]
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
    t = tb.baseline_table(df)
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


# A CAR DNA profile (copies/ug, days 0-28) whose Stein 2019 fit converges but is poorly identified:
# its 95% limits reach about 1e-220 and 1e220, which printed as a 220-digit integer before.
POORLY_IDENTIFIED = [1.77, 2735.1, 133.44, 133.25, 412.85, 63.96]


def _ck_fits(profiles: dict[str, list]) -> pl.DataFrame:
    from cartkit.analysis.cellular_kinetics import ck_model_fits

    days = [0, 4, 7, 14, 21, 28]
    m = pl.DataFrame([{"patient_id": p, "episode": 1, "day": d, "analyte": "car_dna", "value": v}
                      for p, vals in profiles.items() for d, v in zip(days, vals, strict=False) if v is not None])
    groups = pl.DataFrame({"patient_id": list(profiles), "episode": [1] * len(profiles),
                           "product": ["CD19 CAR-T"] * len(profiles), "diagnosis": ["DLBCL"] * len(profiles)})
    fits, _ = ck_model_fits(m, groups)
    return fits


@pytest.mark.parametrize(("value", "shown"), [
    (5684.2, "5684"), (11.14, "11.1"), (0.1123, "0.112"), (0.0286, "0.0286"), (7.0, "7"), (0.0, "0"),
    (2.28e4, "22800"), (1.0e5, "1.00\u00d710\u2075"), (6.9411e218, "6.94\u00d710\u00b2\u00b9\u2078"),
    (5.4657e-211, "5.47\u00d710\u207b\u00b2\u00b9\u00b9"), (1.2e-5, "1.20\u00d710\u207b\u2075"),
    (float("inf"), "\u221e"), (None, "\u2013"), (float("nan"), "\u2013")])
def test_model_estimates_print_three_significant_digits(value, shown):
    assert tb.estimate_text(value) == shown


def test_poorly_identified_stein_fit_prints_short_limits():
    fits = _ck_fits({"P1": POORLY_IDENTIFIED})
    assert fits["converged"].to_list() == [True]
    assert fits["cmax_upper"][0] > 1e200  # the fit really is this poorly identified
    table = tb.ck_model_table(fits)
    assert any(n.startswith("Poorly identified: the samples fit a very wide range") for n in table.footnotes)
    cells = _cells(table)[0]
    assert cells[3].startswith("yes; poorly identified")
    for cell in cells[4:]:
        assert len(cell) <= 40, cell
        assert not re.search(r"\d{7,}", cell), cell  # no long runs of digits
    sup = "[\u2070\u00b9\u00b2\u00b3\u2074-\u2079]"
    assert re.fullmatch(rf"19478 \(\d\.\d\d\u00d710\u207b{sup}{{3}}\u2013\d\.\d\d\u00d710{sup}{{3}}\)", cells[4]), cells[4]


def test_failed_fits_give_the_clinician_a_reason_not_python_advice():
    fits = _ck_fits({"P2": [2.0, 50.0, 300.0, 120.0, None, None],        # 4 samples for 4 parameters
                     "P3": [900.0, 500.0, 300.0, 120.0, 60.0, 30.0]})    # the first sample is the peak
    reasons = dict(zip(fits["patient_id"], fits["reason"], strict=True))
    assert reasons["P2"].startswith("only 4 measurable samples: too few to estimate the model's 4 parameters")
    assert reasons["P3"].startswith("no measurable sample before the peak")
    for text in reasons.values():
        assert "no plan option changes this" in text
        assert "fixed=" not in text and "{" not in text and "fix foldx" not in text


def test_table1_counts_missing_values_per_row():
    """Weight on 4 of 5 DLBCL patients shows 'Missing, n: 1', not a median under 'n = 5' alone; IPI
    (recorded for lymphoma only) does not count the B-ALL patients as missing."""
    from cartkit.analysis.baseline import baseline_table

    pts = pl.DataFrame({
        "patient_id": [f"P{i}" for i in range(1, 9)], "diagnosis": ["DLBCL"] * 5 + ["B-ALL"] * 3,
        "age": [50, 60, 70, 40, 30, 20, 25, 35],
        "sex": ["male", "female", None, "male", "male", "female", "male", "male"],
        "ipi": [1, 2, None, 3, 2, None, None, None],
        "weight_kg": [70.0, None, 80.0, 60.0, 65.0, 50.0, 55.0, 60.0]})
    t = tb.baseline_table(baseline_table(pts, ("DLBCL", "B-ALL"), "spss"))
    assert [c.text for c in t.header[0]] == ["Characteristic", "DLBCL (n = 5)", "B-ALL (n = 3)", "All (n = 8)"]
    cells = _cells(t)
    blocks: dict[str, dict[str, list[str]]] = {}
    for row in cells:
        if row[1:] == ["", "", ""]:
            current = blocks.setdefault(row[0], {})
        elif row[0] != "Patients, n":
            current[row[0]] = row[1:]
    assert blocks["Weight, kg"]["Missing, n"] == ["1", "0", "1"]
    assert blocks["Weight, kg"]["range"] == ["60\u201380", "50\u201360", "50\u201380"]  # the 4 with a value
    assert blocks["IPI (lymphoma)"]["Missing, n"] == ["1", "\u2013", "1"]
    assert blocks["Sex, n (%)"]["Missing, n"] == ["1", "0", "1"]
    # one rule for every table (analysis/formatting.py): percentages to one decimal
    assert blocks["Sex, n (%)"]["male"] == ["3/4 (75.0%)", "2/3 (66.7%)", "5/7 (71.4%)"]
    assert "Missing, n" not in blocks["Age, years"]
    assert any(n.startswith("Missing: patients with no value") for n in t.footnotes)


@pytest.mark.parametrize(("days", "says"), [
    ([0, 4, 7, 14, 21, 28], "sampling to day 28 cannot identify the persistence phase"),
    ([0, 4, 7, 14, 28, 90], "the samples reach day 90, but the persistence phase is not estimated per episode"),
])
def test_stein_fit_note_names_the_last_sampling_day(days, says):
    # a BCMA study sampled to day 90 is not told that its sampling cannot identify persistence
    from cartkit.analysis.cellular_kinetics import ck_model_fits

    m = pl.DataFrame([{"patient_id": "P1", "episode": 1, "day": d, "analyte": "car_dna", "value": v}
                      for d, v in zip(days, [1.0, 900.0, 5000.0, 2000.0, 400.0, 60.0], strict=True)])
    groups = pl.DataFrame({"patient_id": ["P1"], "episode": [1], "product": ["BCMA CAR-T"],
                           "diagnosis": ["multiple myeloma"]})
    _, note = ck_model_fits(m, groups)
    assert note.startswith("beta and FB fixed at Stein 2019 typical values")
    assert says in note
