"""[plan.response_days] is used: the response at each planned assessment day, and a located warning for
assessments off those days (cartkit.analysis.response_days, docs/plan.md "Responses at the planned days")."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.analysis.response_days import response_at_days, response_day_rates
from cartkit.derive import derive
from cartkit.study.plan import read_study_toml

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"

# R: binom.test(k, n)$conf.int (95%)
R_BINOM_95 = {(0, 7): (0.0, 0.409616397225), (3, 6): (0.118117248757, 0.881882751243),
              (6, 7): (0.421276802957, 0.996389703138), (4, 7): (0.184051567640, 0.901011721557),
              (2, 6): (0.043271868293, 0.777221904496), (1, 3): (0.008403758660, 0.905700675950)}


def _assessments(rows):
    return pl.DataFrame(rows, schema={"patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64,
                                      "response": pl.String}, orient="row")


GROUPS = pl.DataFrame({"patient_id": ["A", "B", "C"], "episode": [1, 1, 1], "product": ["X"] * 3,
                       "diagnosis": ["DLBCL", "DLBCL", "B-ALL"]})


def test_each_planned_day_takes_the_nearest_assessment_in_its_window():
    a = _assessments([
        ("A", 1, -7, None),     # baseline: never a response
        ("A", 1, 26, "PMR"),    # 4 days before day 30
        ("A", 1, 34, "CMR"),    # 4 days after: a tie, the earlier (26) wins
        ("A", 1, 60, "CMR"),    # between 30 and 90 but 30 days from both: the earlier planned day, out of window
        ("A", 1, 95, "PD"),     # day 90
        ("B", 1, 37, "CR"),     # 7 days after day 30: in the window (inclusive)
        ("B", 1, 37, "PD"),     # the same day twice: the best of the day
        ("C", 1, 28, "CR"),     # B-ALL: day 28
    ])
    listing, warnings = response_at_days(a, GROUPS, {"lymphoma": (30, 90), "all": (28,)}, window=7)
    got = {(r["patient_id"], r["planned_day"]): (r["assessment_day"], r["response"]) for r in listing.to_dicts()}
    assert got == {("A", 30): (26, "PR"), ("A", 90): (95, "PD"), ("B", 30): (37, "CR"), ("B", 90): (None, None),
                   ("C", 28): (28, "CR")}
    assert warnings == [
        "assessments table: 1 DLBCL response assessment(s) off the planned days ([plan.response_days] lymphoma = "
        "[30, 90], +/- 7 days): A episode 1 day 60. They count in the best response, not in the response at the "
        "planned days."]  # day 34 is in day 30's window (not chosen, not off the planned days)


def test_not_assessed_counts_in_the_denominator_and_the_cis_are_exact():
    a = _assessments([("A", 1, 30, "CR"), ("B", 1, 30, "SD")])
    groups = pl.concat([GROUPS.head(2), pl.DataFrame({"patient_id": ["D"], "episode": [1], "product": ["X"],
                                                       "diagnosis": ["DLBCL"]})])
    listing, _ = response_at_days(a, groups, {"lymphoma": (30,)}, window=3)
    rates = response_day_rates(listing).row(0, named=True)
    assert (rates["n"], rates["assessed"], rates["orr_n"], rates["cr_n"]) == (3, 2, 1, 1)
    assert (rates["orr_lower"], rates["orr_upper"]) == pytest.approx(R_BINOM_95[(1, 3)], abs=1e-9)


def test_a_family_without_planned_days_has_no_rows():
    a = _assessments([("C", 1, 14, "CR")])
    listing, warnings = response_at_days(a, GROUPS, {"lymphoma": (30,)}, window=7)
    assert set(listing["patient_id"]) == {"A", "B"} and listing["response"].is_null().all()
    assert warnings == []  # C's family (B-ALL) has no planned days: its assessments are not "off" them


def test_many_off_day_assessments_are_grouped_and_capped():
    a = _assessments([("A", 1, d, "SD") for d in range(100, 112)])
    _, warnings = response_at_days(a, GROUPS, {"lymphoma": (30,)}, window=7)
    assert len(warnings) == 1 and "12 DLBCL response assessment(s)" in warnings[0]
    assert "A episode 1 day 109 and 2 more." in warnings[0]


@pytest.fixture(scope="module")
def seed():
    study = cartkit.load_study(SEED)
    return analyse(study, derive(study))


def test_the_seed_reports_its_day_30_60_and_14_responses(seed):
    rates = seed.get("planned_response_rates")
    got = {(r["product"], r["diagnosis"], r["planned_day"]): r for r in rates.to_dicts()}
    assert list(got) == [("CD19 CAR-T", "DLBCL", 30), ("CD19 CAR-T", "DLBCL", 60), ("CD19 CAR-T", "B-ALL", 14),
                         ("CD22 CAR-T", "DLBCL", 30), ("CD22 CAR-T", "DLBCL", 60), ("CD22 CAR-T", "B-ALL", 14)]
    # the seed's responses (published: CD22 in DLBCL 6/7 responders, 4 CR; B-ALL 2/6 CR/CRi at day 14)
    expected = {("CD19 CAR-T", "DLBCL", 30): (7, 0, 0), ("CD19 CAR-T", "B-ALL", 14): (6, 3, 3),
                ("CD22 CAR-T", "DLBCL", 30): (7, 6, 4), ("CD22 CAR-T", "DLBCL", 60): (7, 6, 4),
                ("CD22 CAR-T", "B-ALL", 14): (6, 2, 2)}
    for key, (n, orr_n, cr_n) in expected.items():
        r = got[key]
        assert (r["n"], r["assessed"], r["orr_n"], r["cr_n"]) == (n, n, orr_n, cr_n), key
        assert (r["orr_lower"], r["orr_upper"]) == pytest.approx(R_BINOM_95[(orr_n, n)], abs=1e-9)
        assert (r["cr_lower"], r["cr_upper"]) == pytest.approx(R_BINOM_95[(cr_n, n)], abs=1e-9)
    assert seed.populations["planned_response_rates"]["population"] == "infused"


def test_the_seed_warns_of_its_later_marrows_and_methods_say_the_rule(seed):
    warnings = seed.get("warnings")["text"].to_list()
    off = [w for w in warnings if "off the planned days" in w]
    assert off == ["Responses at the planned days: assessments table: 3 B-ALL response assessment(s) off the "
                   "planned days ([plan.response_days] all = [14], +/- 7 days): P9 episode 1 day 105; P11 episode "
                   "1 day 197; P12 episode 1 day 44. They count in the best response, not in the response at the "
                   "planned days."]
    text = dict(seed.get("methods").rows())["Response"]
    assert "Response at the planned assessment days (lymphoma day 30, 60; B-ALL day 14" in text
    assert "within +/- 7 days" in text


def test_without_response_days_the_section_is_left_out(tmp_path, copy_seed):
    folder = tmp_path / "study"
    copy_seed(folder)
    toml = (folder / "study.toml").read_text()
    block = "[plan.response_days]\nlymphoma = [30, 60]\nall = [14]\n"
    assert block in toml
    (folder / "study.toml").write_text(toml.replace(block, ""))
    study = cartkit.load_study(folder)
    results = analyse(study, derive(study))
    assert results.get("planned_response_rates") is None
    assert results.omitted["planned_response_rates"] == ("the plan states no response assessment days "
                                                         "([plan.response_days])")


def test_response_window_is_validated(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "study.toml").write_text('[study]\nid = "x"\n[plan]\nresponse_window = -1\n')
    config, problems = read_study_toml(folder)
    assert [(p.column, p.value, p.rule) for p in problems] == [("plan.response_window", -1, "must be >= 0")]
    assert config.plan.response_window == 7
    (folder / "study.toml").write_text('[study]\nid = "x"\n[plan]\nresponse_window = 14\n')
    config, problems = read_study_toml(folder)
    assert problems == [] and config.plan.response_window == 14
