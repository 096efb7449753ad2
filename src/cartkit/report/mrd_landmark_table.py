"""The report's "PFS by MRD status" table ([plan.mrd_landmark], analysis/mrd_landmark.py)."""

from __future__ import annotations

import polars as pl

from cartkit.analysis.formatting import confidence_label, fixed, format_p
from cartkit.report.tables import Cell, Row, Table, _median_ci, text


def mrd_landmark_table(df: pl.DataFrame, status: pl.DataFrame | None, level: float = 0.95) -> Table:
    """Per disease and MRD group: patients analysed from the landmark, events, median (CI at ``level``) from
    the landmark, and the disease's log-rank test; footnotes say who was left out and why."""
    ci = confidence_label(level)
    header = [[Cell("Disease"), Cell("MRD status at the landmark"), Cell("Patients", cls="num"),
               Cell("Events", cls="num"), Cell(f"Median from the landmark ({ci} CI)", cls="num"),
               Cell("Log-rank \u03c7\u00b2", cls="num"), Cell("P", cls="num")]]
    rows, notes = [], []
    for r in df.to_dicts():
        stat = r.get("logrank_statistic")
        rows.append(Row([Cell(text(r["diagnosis"])), Cell(text(r["group"])), Cell(text(r["n"]), cls="num"),
                         Cell(text(r["events"]), cls="num"),
                         Cell(f"{_median_ci(r['median'], r['median_lower'], r['median_upper'])} {r['time_unit']}",
                              cls="num"),
                         Cell("" if stat is None else fixed(stat, 2), cls="num"),
                         Cell("" if r.get("logrank_pvalue") is None else format_p(r["logrank_pvalue"]), cls="num")]))
    first = df.row(0, named=True)
    day, endpoint = first["landmark_day"], first["endpoint"]
    notes.append(f"Landmark analysis at day {day} after the infusion: MRD status from the MRD results on days 1-{day} "
                 f"(each disease's rule: {'; '.join(sorted(set(df['mrd_rule'].to_list())))}); {endpoint} counted "
                 "from the landmark in patients whose follow-up went beyond it (Anderson 1983; docs/survival.md).")
    if status is not None and status.height:
        for d in status["diagnosis"].unique(maintain_order=True).to_list():
            s = status.filter(pl.col("diagnosis") == d)
            out = s.filter(~pl.col("included"))
            by = s.group_by("mrd_status").len().sort("mrd_status")
            counts = ", ".join(f"{k} {n}" for k, n in by.iter_rows())
            why = out["reason"].fill_null("")
            parts = [f"{int(why.str.starts_with(k).sum())} {label}" for k, label in (
                ("event", f"with a {endpoint} event"), ("follow-up", "followed no further"),
                ("no MRD", "not evaluable, excluded by the plan")) if why.str.starts_with(k).any()]
            notes.append(f"{d}: {s.height} patients; MRD status by day {day}: {counts}. Left out: {out.height}"
                         + (f" ({', '.join(parts)} on or before the landmark)" if parts else "")
                         + "; every patient's status and reason: tables/mrd_landmark_status.csv.")
    for r in df.filter(pl.col("note").is_not_null()).unique("diagnosis").to_dicts():
        notes.append(f"{r['diagnosis']}: {r['note']}.")
    notes.append(f"Kaplan-Meier medians with {ci} CIs (log-log pointwise limits, R's quantile(survfit)); NR: not "
                 "reached; log-rank test (R's survdiff).")
    return Table("mrd-landmark-table", f"{endpoint} by MRD status at the day-{day} landmark", header, rows, notes)
