"""The report's clinical details (issue 9 item 16): antigens before each product (Figure 1), the
products as infused, tocilizumab and corticosteroid use, CRS/ICANS onset and duration, status at the
end of follow-up. Expected values are the seed paper's or counted by hand in the test."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from cartkit.analysis.antigen_expression import antigen_expression
from cartkit.analysis.follow_up import follow_up_listing, follow_up_summary
from cartkit.analysis.infusion_products import infusion_products
from cartkit.analysis.syndrome_course import syndrome_course_listing, syndrome_course_summary
from cartkit.analysis.toxicity_treatment import toxicity_treatment

SEED = Path(__file__).resolve().parent.parent / "examples" / "seed-study"
CD19, CD22 = "CD19 CAR-T", "CD22 CAR-T"


def _seed(name: str) -> pl.DataFrame:
    return pl.read_csv(SEED / f"{name}.csv", infer_schema_length=None, try_parse_dates=True)


def _seed_groups() -> pl.DataFrame:
    return _seed("infusions").select("patient_id", "episode", "product").join(
        _seed("patients").select("patient_id", "diagnosis"), on="patient_id")


def test_antigens_before_each_product_from_the_seed_marrow_assessments():
    table = antigen_expression(_seed("assessments"), _seed_groups())
    got = {(r["patient_id"], r["product"], r["antigen"]): (r["day"], r["pct"]) for r in table.to_dicts()}
    assert len(got) == 6 * 2 * 2  # the six B-ALL patients, both products, both antigens
    # P8 (examples/seed-study/assessments.csv): CD19 96.5% before CD19 CAR-T, 18.0% before CD22 CAR-T
    assert got[("P8", CD19, "CD19")] == (-7, 96.5) and got[("P8", CD22, "CD19")] == (-7, 18.0)
    assert got[("P8", CD22, "CD22")] == (-7, 93.0)
    # P9's relapse marrow on day 105 (CD19 25%) is after the CD19 infusion: not "before"
    assert got[("P9", CD19, "CD19")] == (-7, 97.0)


def test_antigens_take_the_last_assessment_up_to_the_infusion_day():
    a = pl.DataFrame({"patient_id": ["X"] * 4, "episode": [1] * 4, "day": [-20, -3, 0, 5],
                      "cd19_pct": [90.0, 80.0, None, 10.0], "cd22_pct": [None, 50.0, 60.0, 70.0]})
    g = pl.DataFrame({"patient_id": ["X"], "episode": [1], "product": ["A"], "diagnosis": ["B-ALL"]})
    got = {r["antigen"]: (r["day"], r["pct"]) for r in antigen_expression(a, g).to_dicts()}
    assert got == {"CD19": (-3, 80.0), "CD22": (0, 60.0)}
    assert antigen_expression(a.drop("cd19_pct", "cd22_pct"), g).height == 0


def test_infused_products_agree_with_the_seed_results_text():
    table = infusion_products(_seed("infusions"), _seed_groups(), (CD19, CD22), ("DLBCL", "B-ALL"), "spss")
    got = {(r["product"], r["diagnosis"], r["characteristic"]): r for r in table.to_dicts()}
    # seed Results, "Transduction Efficiency, Amplification and Infusion": mean +/- SD
    published = {
        (CD19, "All", "transduction_pct"): (47.18, 17.43), (CD19, "All", "harvest_1e6_per_kg"): (5.89, 3.93),
        (CD19, "DLBCL", "dose_1e6_per_kg"): (2.09, 0.17), (CD19, "B-ALL", "dose_1e6_per_kg"): (2.05, 0.29),
        (CD22, "All", "transduction_pct"): (42.07, 19.23), (CD22, "All", "harvest_1e6_per_kg"): (4.03, 2.37),
        (CD22, "DLBCL", "dose_1e6_per_kg"): (2.11, 0.24), (CD22, "B-ALL", "dose_1e6_per_kg"): (2.07, 0.42),
    }
    for key, (mean, sd) in published.items():
        assert round(got[key]["mean"], 2) == mean, key
        assert round(got[key]["sd"], 2) == sd, key
        assert got[key]["missing"] == 0


def test_infused_products_count_missing_values():
    inf = pl.DataFrame({"patient_id": ["A", "B", "C"], "episode": [1, 1, 1], "dose_1e6_per_kg": [1.0, None, 3.0],
                        "transduction_pct": [None, None, None]})
    g = pl.DataFrame({"patient_id": ["A", "B", "C"], "episode": [1, 1, 1], "product": ["P"] * 3,
                      "diagnosis": ["DLBCL"] * 3})
    table = infusion_products(inf, g, ("P",), ("DLBCL",), "r7")
    assert table["characteristic"].unique().to_list() == ["dose_1e6_per_kg"]  # nobody's transduction
    row = table.filter(pl.col("diagnosis") == "All").row(0, named=True)
    assert (row["episodes"], row["n"], row["missing"], row["mean"], row["min"], row["max"]) == (3, 2, 1, 2.0, 1.0, 3.0)


def _groups(rows: list[tuple[str, int, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["patient_id", "episode", "product"], orient="row").with_columns(
        diagnosis=pl.lit("DLBCL"))


def test_tocilizumab_and_steroids_counted_by_hand():
    groups = _groups([("A", 1, "P"), ("B", 1, "P"), ("C", 1, "P"), ("A", 2, "Q"), ("D", 1, "Q")])
    support = pl.DataFrame([
        ("A", 1, 2, "tocilizumab", "tocilizumab", 560.0, "mg"),
        ("A", 1, 3, "tocilizumab", "tocilizumab", 560.0, "mg"),
        ("A", 1, 3, "steroid", "Dexamethasone", 10.0, "mg"),
        ("B", 1, 4, "tocilizumab", "tocilizumab", 480.0, "mg"),
        ("B", 1, 5, "steroid", "methylprednisolone", 1.0, "g"),
        ("B", 1, 6, "steroid", "methylprednisolone", 500.0, "mg"),   # another unit: no total for B
        ("C", 1, 1, "antipyretic", "acetaminophen", 500.0, "mg"),    # not a CRS/ICANS treatment
        ("A", 2, 7, "steroid", "dexamethasone", None, None),          # dose not recorded
    ], schema=["patient_id", "episode", "day", "kind", "agent", "dose", "dose_unit"], orient="row")
    table = toxicity_treatment(support, groups, ("P", "Q"))
    got = {(r["product"], r["agent"]): r for r in table.to_dicts()}
    assert list(got) == [("P", "tocilizumab"), ("P", "dexamethasone"), ("P", "methylprednisolone"),
                         ("Q", "dexamethasone")]
    toci = got[("P", "tocilizumab")]
    assert (toci["episodes_treated"], toci["episodes"], toci["patients_treated"], toci["administrations"]) == (2, 3, 2, 3)
    # A: 560 + 560 = 1120 mg from day 2; B: 480 mg on day 4
    assert (toci["total_dose_median"], toci["total_dose_min"], toci["total_dose_max"]) == (800.0, 480.0, 1120.0)
    assert (toci["first_day_median"], toci["first_day_min"], toci["first_day_max"]) == (3.0, 2, 4)
    assert (toci["days_given_min"], toci["days_given_max"]) == (1, 2)
    assert got[("P", "dexamethasone")]["treatment"] == "Corticosteroid"
    mp = got[("P", "methylprednisolone")]
    assert mp["total_dose_median"] is None and mp["dose_unit"] == "mixed units"
    q = got[("Q", "dexamethasone")]
    assert (q["episodes_treated"], q["episodes"], q["first_day_min"], q["total_dose_median"]) == (1, 2, 7, None)
    assert toxicity_treatment(support.filter(pl.col("kind") == "antipyretic"), groups, ("P",)).height == 0


def test_crs_icans_onset_and_duration_summarised_over_the_episodes_with_the_syndrome():
    course = pl.DataFrame([
        ("A", 1, "CRS", 2, 1, 4, "astct2019", "derived"),
        ("B", 1, "CRS", 1, 3, 2, "astct2019", "derived"),
        ("C", 1, "CRS", 0, None, 0, "astct2019", "derived"),
        ("D", 1, "CRS", 3, 6, 9, "ctcae4.03", "recorded"),
        ("E", 1, "CRS", None, None, None, None, None),      # cannot be graded
        ("A", 1, "ICANS", 0, None, 0, "astct2019", "derived"),
    ], schema=["patient_id", "episode", "toxicity", "grade", "onset_day", "duration_days", "system", "source"],
        orient="row")
    groups = _groups([(p, 1, "P") for p in "ABCDE"])
    listing = syndrome_course_listing(course, groups)
    assert listing.height == 6 and set(listing["product"]) == {"P"}
    got = {r["toxicity"]: r for r in syndrome_course_summary(listing, ("P",)).to_dicts()}
    crs = got["CRS"]
    assert (crs["episodes"], crs["graded"], crs["with_event"]) == (5, 4, 3)
    assert (crs["onset_median"], crs["onset_min"], crs["onset_max"]) == (3.0, 1, 6)  # days 1, 3, 6
    assert (crs["duration_median"], crs["duration_min"], crs["duration_max"]) == (4.0, 2, 9)  # 4, 2, 9 days
    assert crs["systems"] == "astct2019, ctcae4.03" and crs["sources"] == "derived, recorded"
    assert got["ICANS"]["with_event"] == 0 and got["ICANS"]["onset_median"] is None
    assert syndrome_course_listing(None, groups) is None


def test_follow_up_status_cause_of_death_and_lost_to_follow_up():
    cutoff = dt.date(2020, 8, 31)
    inf = pl.DataFrame({"patient_id": ["A", "A", "B", "C", "D", "E"], "episode": [1, 2, 1, 1, 1, 1],
                        "infusion_date": [dt.date(2019, 1, 1), dt.date(2019, 6, 1), dt.date(2019, 2, 1),
                                          dt.date(2019, 3, 1), dt.date(2019, 4, 1), dt.date(2019, 5, 1)]})
    patients = pl.DataFrame({"patient_id": list("ABCDE"), "diagnosis": ["DLBCL", "DLBCL", "B-ALL", "B-ALL", "B-ALL"]})
    events = pl.DataFrame([
        ("A", "death", dt.date(2019, 12, 1), "  "),          # cause not recorded
        ("A", "progression", dt.date(2019, 10, 1), None),
        ("B", "last_contact", dt.date(2020, 8, 31), None),   # followed to the cut-off
        ("C", "progression", dt.date(2020, 1, 10), None),
        ("C", "last_contact", dt.date(2020, 3, 4), None),    # 180 days before the cut-off
        ("E", "death", dt.date(2019, 9, 1), "CRS grade 5"),
    ], schema=["patient_id", "kind", "date", "detail"], orient="row")
    listing = follow_up_listing(events, inf, patients, cutoff)
    got = {r["patient_id"]: r for r in listing.to_dicts()}
    assert got["A"]["status"] == "died" and got["A"]["cause_of_death"] == "not recorded"
    assert got["A"]["days_from_first_infusion"] == 334  # 2019-01-01 to 2019-12-01
    assert got["B"]["status"] == "alive at cut-off" and got["B"]["days_before_cutoff"] is None
    assert got["C"]["status"] == "lost to follow-up" and got["C"]["days_before_cutoff"] == 180
    assert got["D"]["status"] == "no follow-up recorded"
    assert got["E"]["status"] == "died" and got["E"]["cause_of_death"] == "CRS grade 5"
    no_cutoff = {r["patient_id"]: r["status"] for r in follow_up_listing(events, inf, patients, None).to_dicts()}
    assert no_cutoff["B"] == no_cutoff["C"] == "alive at last contact"
    summary = follow_up_summary(listing, ("DLBCL", "B-ALL"))
    counts = {(r["diagnosis"], r["status"], r["cause_of_death"]): (r["n"], r["N"]) for r in summary.to_dicts()}
    assert counts[("All", "died", "CRS grade 5")] == (1, 5)
    assert counts[("All", "died", "not recorded")] == (1, 5)
    assert counts[("B-ALL", "lost to follow-up", None)] == (1, 3)
    assert counts[("DLBCL", "alive at cut-off", None)] == (1, 2)


@pytest.mark.slow
def test_seed_study_with_dollar_signs_in_patient_ids_writes_every_figure_and_the_new_tables(tmp_path, copy_seed):
    """End to end: patient ids "$x^2$" and "$\\frac{$" (mathtext) draw every figure (issue 9 item 6), and
    the report carries Figure 1 and the clinical-detail tables (item 16)."""
    import json

    from cartkit.pipeline import run_study
    from cartkit.report.figures import FIGURES

    study = tmp_path / "seed"
    copy_seed(study)
    rename = {"P1": "$x^2$", "P8": "$\\frac{$"}
    for csv in study.glob("*.csv"):
        df = pl.read_csv(csv, infer_schema_length=0)
        if "patient_id" in df.columns:
            df.with_columns(pl.col("patient_id").replace(rename)).write_csv(csv)
    # MRD by flow at the day-14 marrow of the B-ALL episodes (< 0.01% in the CRs, the seed records none) gives
    # PFS by MRD status at a day-28 landmark, whose figure is one of FIGURES
    marrow = pl.read_csv(study / "assessments.csv", infer_schema_length=0)
    marrow.with_columns(mrd_pct=pl.when((pl.col("method") == "marrow") & (pl.col("day") == "14")).then(
        pl.when(pl.col("response") == "CR").then(pl.lit("0.001")).otherwise(pl.lit("1.5")))).write_csv(
        study / "assessments.csv")
    with (study / "study.toml").open("a", encoding="utf-8") as f:
        f.write("\n[plan.mrd_landmark]\nday = 28\n")
    out = tmp_path / "out"
    run_study(study, out)
    for spec in FIGURES:
        assert (out / "figures" / f"{spec.id}.svg").exists(), spec.id
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for name in ("antigen_expression", "infusion_products", "toxicity_treatment", "syndrome_course",
                 "syndrome_course_summary", "follow_up", "follow_up_summary"):
        assert doc["tables"][name], name
        assert (out / "tables" / f"{name}.csv").exists(), name
    assert {r["patient_id"] for r in doc["tables"]["antigen_expression"]} >= {"$\\frac{$"}
    toci = [r for r in doc["tables"]["toxicity_treatment"] if r["agent"] == "tocilizumab"]
    assert [(r["product"], r["episodes_treated"]) for r in toci] == [(CD19, 1), (CD22, 1)]  # P12 both times
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "$x^2$" in html
