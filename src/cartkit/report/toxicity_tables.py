"""Report tables of the toxicities beyond CRS and ICANS: IEC-HS, infections, hypogammaglobulinaemia and
late effects (docs/criteria.md; analysis/iec_hs.py, analysis/infections.py, analysis/late_effects.py)."""

from __future__ import annotations

import polars as pl

from cartkit.analysis.formatting import fixed, median_range, n_pct
from cartkit.report.tables import Cell, Row, Table, plain_table, system_name


def iec_hs_summary_table(df: pl.DataFrame) -> Table:
    """IEC-HS by product and disease: episodes with it / episodes graded, grade >= 3, onset."""
    header = [[Cell("Product"), Cell("Disease"), Cell("Episodes", cls="num"),
               Cell("IEC-HS, any grade", cls="num"), Cell("IEC-HS, grade \u2265 3", cls="num"),
               Cell("Onset, day, median (range)", cls="num"), Cell("Grades from")]]
    rows = [Row([Cell(r["product"]), Cell(r["diagnosis"]), Cell(str(r["episodes"]), cls="num"),
                 Cell(n_pct(r["n_any"], r["graded"]), cls="num"), Cell(n_pct(r["n_grade3"], r["graded"]), cls="num"),
                 Cell(median_range(r["onset_median"], r["onset_min"], r["onset_max"]), cls="num"),
                 Cell(r["sources"] or "\u2013")])
            for r in df.to_dicts()]
    notes = ["IEC-HS: immune effector cell-associated haemophagocytic lymphohistiocytosis-like syndrome, ASTCT "
             "consensus (Hines MR et al., Transplant Cell Ther 2023;29:438), graded 1-5. Counted among the "
             "episodes that could be graded: recorded (adverse event iec-hs), or derived from ferritin above "
             "twice the upper limit of normal or baseline with a concurrent transaminase rise, low fibrinogen "
             "or cytopenia, the grade from the treatment and support given after onset (docs/criteria.md)."]
    return Table("iec-hs-table", "IEC-HS by product and disease", header, rows, notes)


def iec_hs_listing_table(df: pl.DataFrame) -> Table:
    names = {code: system_name(code) for code in df["system"].drop_nulls().unique().to_list()}
    shown = df.with_columns(pl.col("system").replace(names))
    return plain_table(shown, "iec-hs-listing-table", "Episodes with IEC-HS", labels={
        "patient_id": "Patient", "episode": "Episode", "product": "Product", "diagnosis": "Disease",
        "grade": "Grade", "onset_day": "Onset day", "features": "Features at onset", "system": "System",
        "source": "Source"}, csv="iec_hs.csv")



def infection_density_table(df: pl.DataFrame) -> Table:
    header = [[Cell("Product"), Cell("Disease"), Cell("Window, days"), Cell("Episodes", cls="num"),
               Cell("Patient-days at risk", cls="num"), Cell("Infections", cls="num"),
               Cell("Episodes with an infection", cls="num"), Cell("Infections per 100 patient-days", cls="num")]]
    rows = [Row([Cell(r["product"]), Cell(r["diagnosis"]), Cell(f"{r['window']} ({r['first_day']}-{r['last_day']})"),
                 Cell(str(r["episodes"]), cls="num"), Cell(str(r["patient_days"]), cls="num"),
                 Cell(str(r["infections"]), cls="num"),
                 Cell(n_pct(r["episodes_with_infection"], r["episodes"]), cls="num"),
                 Cell("\u2013" if r["density"] is None else fixed(r["density"], 2), cls="num")])
            for r in df.to_dicts()]
    notes = ["Infection density (Hill JA et al., Blood 2018;131:121): infections per 100 patient-days at risk. An "
             "episode is at risk from the window's first day until the window's end, death, the last follow-up, a "
             "subsequent therapy (new therapy, HSCT or the next CAR-T infusion) or the data cut-off, whichever "
             "comes first (docs/criteria.md)."]
    return Table("infection-density-table", "Infection density by product, disease and window", header, rows, notes)


def infections_by_type_table(df: pl.DataFrame) -> Table:
    return plain_table(df, "infections-by-type-table", "Infections by organism class and site", labels={
        "product": "Product", "diagnosis": "Disease", "organism_class": "Organism class", "site": "Site",
        "infections": "Infections", "episodes": "Episodes", "grade3": "Grade \u2265 3"}, csv="infections_by_type.csv")


def hypogammaglobulinaemia_table(df: pl.DataFrame) -> Table:
    header = [[Cell("Product"), Cell("Disease"), Cell("IgG measured after infusion", cls="num"),
               Cell("IgG below threshold", cls="num"), Cell("IgG nadir, mg/dL, median (range)", cls="num"),
               Cell("Immunoglobulin replacement", cls="num")]]
    rows = [Row([Cell(r["product"]), Cell(r["diagnosis"]), Cell(n_pct(r["igg_measured"], r["episodes"]), cls="num"),
                 Cell(n_pct(r["n_low"], r["igg_measured"]), cls="num"),
                 Cell(median_range(r["nadir_median"], r["nadir_min"], r["nadir_max"]), cls="num"),
                 Cell(n_pct(r["n_replacement"], r["episodes"]), cls="num")]) for r in df.to_dicts()]
    threshold = df["threshold_mg_dl"][0] if df.height else None
    notes = [f"Hypogammaglobulinaemia: IgG nadir after infusion below {threshold:g} mg/dL (the plan's igg_below_mg_dl; "
             "400 mg/dL by default, the EBMT/EHA best-practice threshold, Hayden PJ et al., Ann Oncol 2022;33:259). "
             "Replacement: intravenous or subcutaneous immunoglobulin (support kind immunoglobulin) from day 0."]
    return Table("hypogammaglobulinaemia-table", "IgG and immunoglobulin replacement by product and disease",
                 header, rows, notes)


def neurotoxicities_table(df: pl.DataFrame) -> Table:
    header = [[Cell("Event"), Cell("Product"), Cell("Disease"), Cell("Episodes with the event", cls="num"),
               Cell("Grade \u2265 3", cls="num"), Cell("Onset, day, median (range)", cls="num")]]
    rows = [Row([Cell(r["event"][:1].upper() + r["event"][1:]), Cell(r["product"]), Cell(r["diagnosis"]),
                 Cell(n_pct(r["n"], r["N"]), cls="num"), Cell(n_pct(r["n_grade3"], r["N"]), cls="num"),
                 Cell(median_range(r["onset_median"], r["onset_min"], r["onset_max"]), cls="num")])
            for r in df.to_dicts()]
    notes = ["Movement and neurocognitive toxicity (MNT, parkinsonism) and cranial nerve palsy, recorded as adverse "
             "events apart from ICANS, with the day of onset after the infusion."]
    return Table("neurotoxicities-table", "Movement and neurocognitive toxicity and cranial nerve palsy", header,
                 rows, notes)


_KIND = {"second_malignancy": "Second primary malignancy", "t_cell_malignancy": "T-cell malignancy"}


def second_malignancy_summary_table(df: pl.DataFrame) -> Table:
    header = [[Cell("Disease"), Cell("Event"), Cell("Patients", cls="num"),
               Cell("Day from first infusion, median (range)", cls="num")]]
    rows = [Row([Cell(r["diagnosis"]), Cell(_KIND.get(r["kind"], r["kind"])), Cell(n_pct(r["n"], r["N"]), cls="num"),
                 Cell(median_range(r["day_median"], r["day_min"], r["day_max"]), cls="num")]) for r in df.to_dicts()]
    notes = ["Second primary malignancies recorded as follow-up events; T-cell malignancies apart (FDA boxed warning "
             "on T-cell malignancies after BCMA- and CD19-directed CAR-T, 2024)."]
    return Table("second-malignancies-table", "Second primary malignancies", header, rows, notes)


def second_malignancies_listing_table(df: pl.DataFrame) -> Table:
    shown = df.with_columns(pl.col("kind").replace(_KIND))
    return plain_table(shown, "second-malignancies-listing-table", "Second primary malignancies, by patient", labels={
        "patient_id": "Patient", "diagnosis": "Disease", "kind": "Event", "day": "Day from first infusion",
        "detail": "Type", "products": "Products received before"}, csv="second_malignancies.csv")


# (heading, anchor id, [(result table, builder)]) in report order; a part shows when one of its tables exists
SECTION_PARTS = (
    ("IEC-HS (ASTCT 2023)", "iec-hs", [("iec_hs_summary", iec_hs_summary_table), ("iec_hs", iec_hs_listing_table)]),
    ("Infections", "infections", [("infection_density", infection_density_table),
                                  ("infections_by_type", infections_by_type_table)]),
    ("Hypogammaglobulinaemia", "hypogammaglobulinaemia", [("hypogammaglobulinaemia", hypogammaglobulinaemia_table)]),
    ("Movement and neurocognitive toxicity, cranial nerve palsy", "neurotoxicities",
     [("neurotoxicities", neurotoxicities_table)]),
    ("Second primary malignancies", "second-malignancies",
     [("second_malignancy_summary", second_malignancy_summary_table),
      ("second_malignancies", second_malignancies_listing_table)]),
)
