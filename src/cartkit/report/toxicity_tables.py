"""Report tables of the toxicities beyond CRS and ICANS: IEC-HS, infections, hypogammaglobulinaemia and
late effects (docs/criteria.md; analysis/iec_hs.py, analysis/infections.py, analysis/late_effects.py)."""

from __future__ import annotations

import polars as pl

from cartkit.analysis.formatting import median_range, n_pct
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


# (heading, anchor id, [(result table, builder)]) in report order; a part shows when one of its tables exists
SECTION_PARTS = (
    ("IEC-HS (ASTCT 2023)", "iec-hs", [("iec_hs_summary", iec_hs_summary_table), ("iec_hs", iec_hs_listing_table)]),
)
