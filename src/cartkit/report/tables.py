"""Journal-style tables from the Results tables: caption, grouped headers, footnotes.

Each builder returns a :class:`Table` (plain data: header rows of cells with column
spans, body rows, footnotes for abbreviations and tests); the HTML template draws it.
Numbers are written by ``cartkit.analysis.formatting``, the one rule of the report
(docs/report-contents.md): estimates to 3 significant digits, percentages to one decimal,
P values to three decimals (``<0.001`` below), rates with their exact CI. Every CI is at the plan's
confidence level, 1 - alpha (``Results.confidence_level``), which the builders take as ``level``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import polars as pl

from cartkit.analysis.cellular_kinetics import POORLY_IDENTIFIED_RATIO
from cartkit.analysis.formatting import confidence_label, fixed, format_p, number, percent
from cartkit.analysis.formatting import estimate as estimate_text
from cartkit.analysis.formatting import median_range as _median_range
from cartkit.analysis.formatting import n_pct as _n_of
from cartkit.analysis.patient_order import patient_number
from cartkit.analysis.responses import iwcll_duration_text
from cartkit.grading.systems import system_label
from cartkit.report.figures.labels import unit_text
from cartkit.response.best_response import orr_text

# key -> (abbreviation, meaning); keys differ where one abbreviation has two meanings (SD)
ABBREVIATIONS: dict[str, tuple[str, str]] = {
    "DLBCL": ("DLBCL", "diffuse large B-cell lymphoma"),
    "B-ALL": ("B-ALL", "B-cell acute lymphoblastic leukaemia"),
    "MM": ("MM", "multiple myeloma"),
    "CLL": ("CLL", "chronic lymphocytic leukaemia"),
    "IMWG": ("IMWG", "International Myeloma Working Group"),
    "iwCLL": ("iwCLL", "International Workshop on Chronic Lymphocytic Leukemia"),
    "sCR": ("sCR", "stringent complete response"),
    "VGPR": ("VGPR", "very good partial response"),
    "MR": ("MR", "minimal response"),
    "nPR": ("nPR", "nodular partial response"),
    "PR-L": ("PR-L", "partial response with lymphocytosis"),
    "MRD": ("MRD", "minimal residual disease"),
    "CR": ("CR", "complete response"),
    "CRi": ("CRi", "CR with incomplete count recovery"),
    "PR": ("PR", "partial response"),
    "SD": ("SD", "stable disease"),
    "PD": ("PD", "progressive disease"),
    "NR": ("NR", "no remission"),
    "ORR": ("ORR", "overall response rate"),
    "CI": ("CI", "confidence interval"),
    "IQR": ("IQR", "interquartile range"),
    "SD_stat": ("SD", "standard deviation"),
    "CRS": ("CRS", "cytokine release syndrome"),
    "ICANS": ("ICANS", "immune effector cell-associated neurotoxicity syndrome"),
    "HSCT": ("HSCT", "haematopoietic stem cell transplantation"),
    "CTCAE": ("CTCAE", "Common Terminology Criteria for Adverse Events"),
    "ASTCT": ("ASTCT", "American Society for Transplantation and Cellular Therapy"),
}


def system_name(code: object) -> str:
    """Grading-system code(s) (study.vocabulary "grading_system", "; "-joined when several) as printed."""
    return system_label(code) if code is not None else "\u2013"


# Per-patient tables longer than this show their first rows only (the CSV has all of them):
# a registry of thousands of patients would otherwise make a page no browser opens quickly.
MAX_ROWS = 200


def _capped(rows: list[Row], total: int, what: str, csv: str) -> tuple[list[Row], list[str]]:
    """Rows cut to MAX_ROWS and the footnote saying so (total: rows before any cut)."""
    if total <= MAX_ROWS:
        return rows, []
    return rows[:MAX_ROWS], [f"First {MAX_ROWS} of {total} {what} shown; all are in tables/{csv}."]


@dataclass
class Cell:
    text: str
    colspan: int = 1
    rowspan: int = 1
    cls: str = ""  # "num", "indent", "badge agrees", ...


@dataclass
class Row:
    cells: list[Cell]
    cls: str = ""  # "section" for a row naming a block of rows


@dataclass
class Table:
    id: str
    caption: str
    header: list[list[Cell]]
    rows: list[Row]
    footnotes: list[str] = field(default_factory=list)


def text(value: object, column: str = "") -> str:
    """One value as printed: null/NaN -> en dash; P values as P; floats to 3 significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if column in ("pvalue", "paired_pvalue", "published_p") or column.endswith("_p"):
            return format_p(value)
        return number(value)
    return str(value)


def abbreviations(*keys: str) -> str:
    """'Abbreviations: CR, complete response; ...' for the given ABBREVIATIONS keys."""
    return "Abbreviations: " + "; ".join("{}, {}".format(*ABBREVIATIONS[k]) for k in keys) + "."


def plain_table(df: pl.DataFrame, id: str, caption: str, labels: dict[str, str] | None = None,
                footnotes: list[str] | None = None, csv: str = "") -> Table:
    """A table that prints the frame's columns as they are (labels optional; long tables capped)."""
    labels = labels or {}
    total = df.height
    df = df.head(MAX_ROWS)
    cols = [c for c in df.columns if c in labels] if labels else list(df.columns)
    schema = df.schema  # built anew at every access: once, not per cell
    cls = {c: "num" if schema[c].is_numeric() else "" for c in cols}
    header = [[Cell(labels.get(c, c.replace("_", " ")), cls=cls[c]) for c in cols]]
    rows = [Row([Cell(text(r[c], c), cls=cls[c]) for c in cols]) for r in df.select(cols).to_dicts()]
    cap_note = [f"First {MAX_ROWS} of {total} rows shown; all are in tables/{csv}."] if total > MAX_ROWS else []
    return Table(id, caption, header, rows, cap_note + (footnotes or []))


def baseline_table(df: pl.DataFrame) -> Table:
    """Baseline characteristics, one column per disease then 'All'; each header's n is the table's own
    "Patients" row of that column (the patients of the population the table is on, infused or not)."""
    groups = df["group"].unique(maintain_order=True).to_list()
    groups = [g for g in groups if g != "All"] + (["All"] if "All" in groups else [])
    counted = df.filter((pl.col("characteristic") == "Patients") & (pl.col("stat") == "n"))
    group_n = dict(counted.select("group", "n").iter_rows())
    header = [[Cell("Characteristic")] + [
        Cell(f"{g} (n = {group_n[g]})" if g in group_n else g, cls="num") for g in groups]]
    rows: list[Row] = []
    stat_words = {"median_iqr": "median (IQR)", "mean_sd": "mean \u00b1 SD", "n_pct": "n (%)"}
    keyed = df.with_columns(pl.col("level").cast(pl.String).replace("", None))
    # the rows of each characteristic, in the table's order, read once (as filtering by each would give them:
    # a null characteristic or level matches no row)
    blocks: dict[object, list[dict]] = {}
    for r in keyed.select("characteristic", "level", "stat", "group", "value").to_dicts():
        blocks.setdefault(r["characteristic"], []).append(r)
    for ch, block in blocks.items():
        if ch is None:
            block = []
        levels = list(dict.fromkeys(r["level"] for r in block))
        stat = [s for s in dict.fromkeys(r["stat"] for r in block if r["stat"] is not None) if s != "n_missing"]
        label = f"{ch}, {stat_words.get(stat[0], stat[0])}" if len(stat) == 1 else ch
        if levels == [None]:
            vals = {r["group"]: r["value"] for r in block}
            rows.append(Row([Cell(label)] + [Cell(text(vals.get(g)), cls="num") for g in groups]))
            continue
        rows.append(Row([Cell(label)] + [Cell("") for _ in groups], cls="subhead"))
        for level in levels:
            vals = {r["group"]: r["value"] for r in block if level is not None and r["level"] == level}
            if level == "missing":  # none missing where the characteristic is recorded: 0, else a dash
                recorded = {r["group"] for r in block if r["stat"] is not None and r["stat"] != "n_missing"}
                vals = {g: vals.get(g, "0" if g in recorded else None) for g in groups}
            shown = "Missing, n" if level == "missing" else text(level)
            rows.append(Row([Cell(shown, cls="indent")] + [Cell(text(vals.get(g)), cls="num") for g in groups]))
    used = set(df["stat"].drop_nulls().to_list())
    notes = ["Values are " + ", ".join(stat_words[s] for s in ("median_iqr", "mean_sd", "n_pct") if s in used)
             + "; IQR as first and third quartile." if used else "",
             "Missing: patients with no value recorded, among the patients of the diseases the "
             "characteristic is recorded for; medians and percentages are of the patients with a value."
             if "n_missing" in used else "",
             abbreviations("DLBCL", "B-ALL", "IQR", "SD_stat")]
    return Table("baseline-table", "Baseline characteristics by disease", header, rows,
                 [n for n in notes if n])


def response_table(df: pl.DataFrame) -> Table:
    """Per patient: best response after each product, relapse day and HSCT."""
    products = df["product"].unique(maintain_order=True).to_list()
    header = [[Cell("Patient"), Cell("Disease")] + [Cell(p) for p in products]
              + [Cell("Relapse (day)", cls="num"), Cell("HSCT")]]
    labelled = df.with_columns(
        _label=pl.col("best_response").cast(pl.String).fill_null("\u2013")
        + pl.when(pl.col("source") == "derived").then(pl.lit("\u1d48")).otherwise(pl.lit("")))
    wide = labelled.pivot(on="product", index="patient_id", values="_label", aggregate_function="first")
    per_patient = labelled.group_by("patient_id", maintain_order=True).agg(
        diagnosis=pl.col("diagnosis").first(),
        relapse=pl.col("relapse_day").drop_nulls().cast(pl.String).str.join(", "),
        hsct=pl.col("hsct").fill_null(False).any(),
    ).join(wide, on="patient_id", how="left").with_columns(
        _prefix=pl.col("patient_id").str.replace(r"\d+$", ""),
        _num=patient_number(),
    ).sort("_prefix", "_num", "patient_id")
    total = per_patient.height
    rows = [Row([Cell(r["patient_id"]), Cell(text(r["diagnosis"]))]
                + [Cell(r.get(p) or "\u2013") for p in products]
                + [Cell(r["relapse"] or "\u2013", cls="num"), Cell("yes" if r["hsct"] else "no")])
            for r in per_patient.head(MAX_ROWS).to_dicts()]
    _, cap_note = _capped(rows, total, "patients", "responses.csv")
    notes = cap_note + ["\u1d48 Derived by cartkit from the response assessments; others as recorded.",
                        "Relapse day counted from that episode's infusion.",
                        abbreviations(*_response_abbreviations(df), "HSCT")]
    return Table("responses-table", "Best response per patient and product", header, rows, notes)


def _response_abbreviations(df: pl.DataFrame) -> list[str]:
    """CR, CRi, PR, SD, PD, NR, and the myeloma / CLL categories when such patients are listed."""
    keys = ["CR", "CRi", "PR", "SD", "PD", "NR"]
    families = _families(df["diagnosis"])
    if "myeloma" in families:
        keys[1:1] = ["sCR", "VGPR", "MR"]
    if "cll" in families:
        keys.append("nPR")
        if "PR-L" in df["best_response"].cast(pl.String).to_list():
            keys.append("PR-L")
    return keys


def _rate(n: int, p: float, lo: float, hi: float) -> str:
    return f"{n} ({percent(p)}%) [{percent(lo)}\u2013{percent(hi)}]"


def response_rates_table(df: pl.DataFrame, level: float = 0.95) -> Table:
    ci = confidence_label(level)
    header = [[Cell("Product"), Cell("Disease"), Cell("n", cls="num"),
               Cell(f"ORR, n (%) [{ci} CI]", cls="num"), Cell(f"CR, n (%) [{ci} CI]", cls="num")]]
    families = _families(df["diagnosis"])
    mixed = len(families) > 1 and "All" in df["diagnosis"].to_list()  # "All" pools different criteria
    rows = [Row([Cell(r["product"]), Cell("All (pooled, mixed criteria)\u2020" if mixed and r["diagnosis"] == "All"
                                          else r["diagnosis"]), Cell(str(r["n"]), cls="num"),
                 Cell(_rate(r["orr_n"], r["orr"], r["orr_lower"], r["orr_upper"]), cls="num"),
                 Cell(_rate(r["cr_n"], r["cr"], r["cr_lower"], r["cr_upper"]), cls="num")])
            for r in df.to_dicts()]
    orr, cr = orr_text(families)
    keys = dict.fromkeys(k for f in families for k in _ORR_ABBREVIATIONS[f])
    notes = [f"{orr}. {cr}. A pooled row counts each patient by the criteria of their own disease. {ci} CI: "
             "exact (Clopper-Pearson) binomial interval.", abbreviations("ORR", *keys, "CI")]
    if mixed:  # a pooled rate over diseases with different response criteria (issue 13 review)
        from cartkit.response.best_response import FAMILY_NAMES

        listed = ", ".join(FAMILY_NAMES[f] for f in families)
        example = " (Lugano ORR counts PR; B-ALL counts CR/CRi)" if {"lymphoma", "all"} <= set(families) else ""
        notes.insert(1, f"\u2020 All pools diseases whose responses follow different criteria ({listed}): an ORR or "
                        f"CR means something different in each{example}, so the pooled rate is descriptive only. "
                        "Read and compare the rates per disease.")
    return Table("response-rates-table", "Response rates by product and disease", header, rows, notes)


def planned_response_rates_table(df: pl.DataFrame, level: float = 0.95) -> Table:
    """ORR and CR rate at each planned assessment day ([plan.response_days]), with exact CIs at ``level``."""
    ci = confidence_label(level)
    header = [[Cell("Product"), Cell("Disease"), Cell("Day", cls="num"), Cell("n", cls="num"),
               Cell("Assessed", cls="num"), Cell(f"ORR, n (%) [{ci} CI]", cls="num"),
               Cell(f"CR, n (%) [{ci} CI]", cls="num")]]
    rows = [Row([Cell(r["product"]), Cell(r["diagnosis"]), Cell(str(r["planned_day"]), cls="num"),
                 Cell(str(r["n"]), cls="num"), Cell(str(r["assessed"]), cls="num"),
                 Cell(_rate(r["orr_n"], r["orr"], r["orr_lower"], r["orr_upper"]), cls="num"),
                 Cell(_rate(r["cr_n"], r["cr"], r["cr_lower"], r["cr_upper"]), cls="num")])
            for r in df.to_dicts()]
    notes = ["Response at each planned assessment day: the assessment nearest the day within the plan's window "
             "(docs/plan.md, [plan.response_days]); an episode not assessed in the window counts as not "
             f"responding. {ci} CI: exact (Clopper-Pearson) binomial interval.",
             abbreviations("ORR", "CR", "CI")]
    short = int(df["not_reached"].sum()) if "not_reached" in df.columns else 0
    if short:  # follow-up not reached at the cut-off: not evaluable, out of n (analysis/response_days.py)
        days = "; ".join(f"{r['diagnosis']} day {r['planned_day']}: {r['not_reached']}"
                         for r in df.filter(pl.col("not_reached") > 0).to_dicts())
        notes.insert(1, f"Not evaluable, left out of n: {short} episode-day(s) whose follow-up had not reached the "
                        f"day at the data cut-off, not assessed and with no failure before it ({days}).")
    return Table("planned-response-rates-table", "Response at the planned assessment days", header, rows, notes)


_GROUP_HEADS = {"arm": "Arm", "product": "Product", "all": "Patients"}


def population_response_rates_tables(df: pl.DataFrame, rules: dict[str, str], level: float = 0.95) -> list[Table]:
    """The response rates on each population with patients never infused (intention to treat), one table per
    population: best overall response and each planned day by group (arm) and disease, n with the never
    infused in it; a control arm's row says why it has no rate. ``rules``: population -> its rule's words."""
    ci = confidence_label(level)

    def unrated(r: dict) -> str:
        return "not recorded*" if "not recorded" in (r["note"] or "") else "not estimated*"

    out = []
    for (population,), g in df.group_by("population", maintain_order=True):
        head = _GROUP_HEADS.get(g["group_by"][0], "Group")
        header = [[Cell(head), Cell("Disease"), Cell("Response"), Cell("n", cls="num"),
                   Cell("Never infused", cls="num"), Cell(f"ORR, n (%) [{ci} CI]", cls="num"),
                   Cell(f"CR, n (%) [{ci} CI]", cls="num")]]
        families = _families(g["diagnosis"])
        rows = []
        for r in g.to_dicts():
            rated = r["orr_n"] is not None
            rows.append(Row([
                Cell(r["group"]), Cell(r["diagnosis"]),
                Cell("best overall" if r["planned_day"] is None else f"day {r['planned_day']}"),
                Cell(str(r["n"]), cls="num"), Cell(str(r["n_never_infused"]), cls="num"),
                Cell(_rate(r["orr_n"], r["orr"], r["orr_lower"], r["orr_upper"]) if rated else unrated(r),
                     cls="num"),
                Cell(_rate(r["cr_n"], r["cr"], r["cr_lower"], r["cr_upper"]) if rated else unrated(r),
                     cls="num")]))
        orr, cr = orr_text(families)
        never = g.filter(pl.col("planned_day").is_null() & (pl.col("diagnosis") == "All"))
        # of the groups rated by CAR-T responses (a control arm rated by its own treatment has a note)
        n_never = int(never.filter(pl.col("orr_n").is_not_null() & pl.col("note").is_null())["n_never_infused"].sum())
        control = " (a control arm's: the best response to its own treatment, *)" if g.filter(
            pl.col("orr_n").is_not_null() & pl.col("note").is_not_null()).height else ""
        notes = [f"Intention to treat: every patient of the population is in n of their {head.lower()}; a patient's "
                 f"response is the best response of their first CAR-T infusion{control} (at a planned day: the "
                 f"response at that day, docs/plan.md). {n_never} patient(s) never infused (manufacturing failure, death, "
                 "progression, withdrawal, or no analysed infusion) have no response and count as non-responders. "
                 f"{orr}. {cr}. {ci} CI: exact (Clopper-Pearson) binomial interval."]
        notes += [f"* {n}." for n in g["note"].drop_nulls().unique(maintain_order=True).to_list()]
        short = int(g["not_reached"].sum())
        if short:
            notes.append(f"Not evaluable, left out of n: {short} patient-day(s) whose follow-up had not reached the "
                         "planned day at the data cut-off.")
        by_group = ", ".join(f"{a} {n}" for a, n in never.select("group", "n").iter_rows())
        notes.append(abbreviations("ORR", *dict.fromkeys(k for f in families for k in _ORR_ABBREVIATIONS[f]), "CI"))
        notes.append(f"Population: {population} ({rules.get(population, population)}; N = {int(never['n'].sum())}"
                     f"{': ' + by_group if head != 'Patients' else ''}).")
        out.append(Table(f"population-response-rates-{_slug(population)}", f"Response rates on {population} "
                         "(intention to treat)", header, rows, notes))
    return out


def population_response_tests_table(df: pl.DataFrame, level: float = 0.95) -> Table:
    """ORR and CR rate of each arm against the control arm on the intention-to-treat populations: counts,
    the difference with its CI and P (analysis/responses.py ``population_response_tests``)."""
    ci = confidence_label(level)
    header = [[Cell("Population"), Cell("Disease"), Cell("Measure"), Cell("Comparison"), Cell("A, n/N", cls="num"),
               Cell("Control, n/N", cls="num"), Cell(f"Difference, % [{ci} CI]", cls="num"), Cell("P", cls="num")]]
    rows = [Row([Cell(r["population"]), Cell(r["diagnosis"]), Cell(r["measure"]), Cell(r["comparison"]),
                 Cell(f"{r['x_a']}/{r['n_a']}", cls="num"), Cell(f"{r['x_b']}/{r['n_b']}", cls="num"),
                 Cell(f"{percent(r['difference'])} [{percent(r['difference_lower'])}, "
                      f"{percent(r['difference_upper'])}]", cls="num"),
                 Cell(format_p(r["pvalue"]), cls="num")]) for r in df.to_dicts()]
    methods = ", ".join(df["method"].unique(maintain_order=True).to_list())
    notes = [f"Intention to treat, every randomised patient in the denominator of their arm (table above). Difference: "
             f"A - control, {ci} CI by Newcombe's hybrid score interval (method 10). P: {methods} (the plan's "
             "analysis, docs/plan.md). The control arm is counted by the response to its own treatment (assessments "
             "episode 0), never by a CAR-T infusion after crossover."]
    for (population,), g in df.filter(pl.col("diagnosis") == "All").group_by("population", maintain_order=True):
        r = g.row(0, named=True)
        notes.append(f"Population: {population} (N = {r['n_a'] + r['n_b']}: {r['comparison'].split(' vs ')[0]} "
                     f"{r['n_a']}, {r['reference']} {r['n_b']}).")
    return Table("population-response-tests", "Response rates by arm (intention to treat)", header, rows, notes)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "population"


_ORR_ABBREVIATIONS = {"lymphoma": ("CR", "PR"), "all": ("CR", "CRi"), "myeloma": ("sCR", "CR", "VGPR", "PR"),
                      "cll": ("CR", "CRi", "nPR", "PR")}


def _families(diagnoses: pl.Series) -> list[str]:
    """The diagnosis families of a column of diagnoses, in the report's order (lymphoma, B-ALL, MM, CLL)."""
    from cartkit.response.best_response import FAMILY_NAMES
    from cartkit.study.vocabulary import DIAGNOSES

    present = {DIAGNOSES.get(d) for d in diagnoses.drop_nulls().to_list()}
    return [f for f in FAMILY_NAMES if f in present]


def population_disease_response_tables(df: pl.DataFrame) -> list[Table]:
    """The myeloma and CLL response categories by intention to treat: per population and criteria, patients by
    arm, the never infused in their own row (analysis/responses.py ``population_disease_responses``)."""
    from dataclasses import replace

    out = []
    for (population, _), g in df.group_by("population", "criteria", maintain_order=True):
        n = g.select("group", "diagnosis", "N").unique(maintain_order=True).group_by("group", maintain_order=True).agg(
            pl.col("N").sum())
        for t in disease_response_tables(g.drop("population").rename({"group": "product"})):
            notes = [t.footnotes[0].replace("Episodes (%) by product.", "Patients (%) by arm.") + " Intention to treat: "
                     "every patient of the population in N of their arm, by the best response of their first CAR-T "
                     "infusion (a control arm: of its own treatment, assessments episode 0); never infused: no "
                     "response (a non-responder in the rates).", *t.footnotes[1:],
                     f"Population: {population} (N = {int(n['N'].sum())}: "
                     + ", ".join(f"{a} {k}" for a, k in n.iter_rows()) + ")."]
            out.append(replace(t, id=f"{t.id.removesuffix('-table')}-itt-{_slug(population)}",
                               caption=f"{t.caption} on {population} (intention to treat)", footnotes=notes))
    return out


def disease_response_tables(df: pl.DataFrame) -> list[Table]:
    """One table per criteria (IMWG 2016, iwCLL 2018): best overall response categories by product and
    disease as n/N (%), with the MRD-negative CR row."""
    out = []
    for criteria, g in df.group_by("criteria", maintain_order=True):
        cols = g.select("product", "diagnosis").unique(maintain_order=True).to_dicts()
        header = [[Cell("Best overall response")] + [Cell(f"{c['product']}, {c['diagnosis']}", cls="num")
                                                      for c in cols]]
        lookup = {(r["category"], r["product"], r["diagnosis"]): r for r in g.to_dicts()}
        rows = []
        for category in g["category"].unique(maintain_order=True).to_list():
            cells = [Cell(category, cls="indent" if category.startswith(("MRD", "CR/CRi with")) else "")]
            for c in cols:
                r = lookup.get((category, c["product"], c["diagnosis"]))
                cells.append(Cell(_n_of(r["n"], r["N"]) if r else "\u2013", cls="num"))
            rows.append(Row(cells))
        if criteria[0] == "IMWG 2016":
            ident, caption = "myeloma-responses-table", "Multiple myeloma: best overall response (IMWG 2016)"
            notes = ["Kumar S et al., Lancet Oncol 2016;17:e328, Table 2: each category confirmed by two "
                     "consecutive assessments; MRD-negative CR: CR or sCR with MRD negative at 10^-5 or deeper. "
                     "Episodes (%) by product.",
                     abbreviations("MM", "IMWG", "sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "MRD")]
        else:
            ident, caption = "cll-responses-table", "CLL: best overall response (iwCLL 2018)"
            pr_l = ("PR-L",) if "PR-L" in g["category"].to_list() else ()
            notes = ["Hallek M et al., Blood 2018;131:2745, Table 4; " + iwcll_duration_text()
                     + "undetectable MRD: fewer than 1 CLL cell in 10^4 leukocytes. Episodes (%) by product.",
                     abbreviations("CLL", "iwCLL", "CR", "CRi", "nPR", "PR", *pr_l, "SD", "PD", "MRD")]
        out.append(Table(ident, caption, header, rows, notes))
    return out


def adverse_events_table(df: pl.DataFrame) -> Table:
    """Adverse events by product x disease as n/N (%), CRS and ICANS grades."""
    if "level" in df.columns:  # coded in MedDRA
        return meddra_adverse_events_table(df)
    cols = df.select("product", "diagnosis").unique(maintain_order=True).to_dicts()
    products = list(dict.fromkeys(c["product"] for c in cols))
    has_p = "pvalue" in df.columns
    header = [[Cell("Event", rowspan=2)] + [
        Cell(p, colspan=sum(1 for c in cols if c["product"] == p)) for p in products]
        + ([Cell("P", rowspan=2, cls="num")] if has_p else []),
        [Cell(c["diagnosis"], cls="num") for c in cols]]
    rows: list[Row] = []
    lookup = {(r["section"], r["label"], r["product"], r["diagnosis"]): r for r in df.to_dicts()}
    width = len(cols) + 1 + int(has_p)
    for section in df["section"].unique(maintain_order=True).to_list():
        rows.append(Row([Cell(section, colspan=width)], cls="section"))
        labels = df.filter(pl.col("section") == section)["label"].unique(maintain_order=True).to_list()
        for label in labels:
            cells = [Cell(label, cls="indent")]
            p = None
            for c in cols:
                r = lookup.get((section, label, c["product"], c["diagnosis"]))
                if r is None:
                    cells.append(Cell("\u2013", cls="num"))
                    continue
                p = r.get("pvalue", p)
                cells.append(Cell(_n_of(r["n"], r["N"]), cls="num"))
            if has_p:
                cells.append(Cell(format_p(p), cls="num"))
            rows.append(Row(cells))
    notes = ["Patients with the event / patients treated (%), by product and disease. CRS and ICANS: "
             "maximum grade per episode.", abbreviations("DLBCL", "B-ALL", "CRS", "ICANS")]
    return Table("adverse-events-table", "Adverse events by product and disease", header, rows, notes)


def meddra_adverse_events_table(df: pl.DataFrame) -> Table:
    """A MedDRA-coded adverse-event table: each system organ class with the episodes that had any of its
    preferred terms, then its preferred terms, as n/N (%) at any grade and at grade >= 3 by product and
    disease; CRS and ICANS grades below as in :func:`adverse_events_table`."""
    coded = df.filter(pl.col("level").is_not_null())
    cols = df.select("product", "diagnosis").unique(maintain_order=True).to_dicts()
    products = list(dict.fromkeys(c["product"] for c in cols))
    header = [
        [Cell("System organ class / preferred term", rowspan=3)]
        + [Cell(p, colspan=2 * sum(1 for c in cols if c["product"] == p)) for p in products],
        [Cell(c["diagnosis"], colspan=2) for c in cols],
        [Cell(t, cls="num") for _ in cols for t in ("Any grade", "Grade \u2265 3")],
    ]
    lookup = {(r["level"], r["section"], r["term"], r["product"], r["diagnosis"]): r for r in coded.to_dicts()}
    rows: list[Row] = []
    for level, section, term in coded.select("level", "section", "term").unique(maintain_order=True).iter_rows():
        cells = [Cell(term, cls="indent" if level == "pt" else "")]
        for c in cols:
            r = lookup.get((level, section, term, c["product"], c["diagnosis"]))
            cells += ([Cell(_n_of(r["n"], r["N"]), cls="num"), Cell(_n_of(r["n_grade3"], r["N"]), cls="num")]
                      if r is not None else [Cell("\u2013", cls="num")] * 2)
        rows.append(Row(cells, cls="soc" if level == "soc" else ""))
    graded = df.filter(pl.col("level").is_null())
    for section in graded["section"].unique(maintain_order=True).to_list():
        rows.append(Row([Cell(section, colspan=1 + 2 * len(cols))], cls="section"))
        block = graded.filter(pl.col("section") == section)
        for label in block["label"].unique(maintain_order=True).to_list():
            cells = [Cell(label, cls="indent")]
            for c in cols:
                r = block.filter((pl.col("label") == label) & (pl.col("product") == c["product"])
                                 & (pl.col("diagnosis") == c["diagnosis"]))
                cells.append(Cell(_n_of(r["n"][0], r["N"][0]) if r.height else "\u2013", colspan=2, cls="num"))
            rows.append(Row(cells))
    notes = ["Episodes with the event / episodes treated (%), by product and disease, coded in MedDRA as the "
             "study's data give it (preferred term under its primary system organ class); an episode counts "
             "once per preferred term and once per system organ class. Grade \u2265 3: CTCAE grade 3-5. "
             "CRS and ICANS: maximum grade per episode.",
             abbreviations("CRS", "ICANS", "CTCAE")]
    return Table("adverse-events-table", "Adverse events by MedDRA system organ class and preferred term", header, rows,
                 notes)


def grade_compare_table(df: pl.DataFrame) -> Table:
    if "system" in df.columns:  # every code by its name, also several systems in one row ("a; b")
        names = {code: system_name(code) for code in df["system"].drop_nulls().unique().to_list()}
        df = df.with_columns(pl.col("system").replace_strict(names, default=None, return_dtype=pl.String))
    caption = "Toxicity grades compared between groups"
    if "comparison" in df.columns:  # several comparisons: a column first; one: named in the caption
        names = df["comparison"].unique(maintain_order=True).to_list()
        if len(names) > 1:
            df = df.select("comparison", pl.exclude("comparison"))
        else:
            df, caption = df.drop("comparison"), f"{caption}: {names[0]}"
    return plain_table(df, "grade-compare-table", caption,
                       {"comparison": "Comparison", "toxicity": "Toxicity", "system": "Grading system",
                        "n_a": "Episodes A", "n_b": "Episodes B", "n_pairs": "Patients in both", "method": "Test",
                        "pvalue": "P", "paired_method": "Paired test", "paired_statistic": "Paired \u03c7\u00b2",
                        "paired_df": "df", "paired_pvalue": "Paired P", "published_p": "Published P",
                        "note": "Note"},
                       ["Paired test: Bowker's chi-square test of symmetry of the patients' grades after both "
                        "products (\u03c7\u00b2 and its degrees of freedom, one per pair of grades with discordant "
                        "patients); the recommended analysis compares the paired grades by the exact sign and "
                        "signed-rank tests (recommended-comparisons table).",
                        abbreviations("CRS", "ICANS", "CTCAE", "ASTCT")])


def comparisons_table(df: pl.DataFrame) -> Table:
    """The comparisons: summaries per product, test and why, P, paired P, published P."""
    first = df.to_dicts()[0]
    a, b = first.get("group_a") or "A", first.get("group_b") or "B"
    whys = df["why"].unique().to_list() if "why" in df.columns else [None]
    one_why = len(whys) == 1
    n_a = df["n_a"].unique().to_list() if "n_a" in df.columns else [None]
    n_b = df["n_b"].unique().to_list() if "n_b" in df.columns else [None]
    const_n = len(n_a) == 1 and len(n_b) == 1
    has_published = "published_p" in df.columns and df["published_p"].drop_nulls().len() > 0

    def head(name: str, n: list) -> str:
        return f"{name} (n = {text(n[0])})" if const_n and n[0] is not None else name

    def summary(value: object, n: object) -> str:
        return text(value) if const_n else f"{text(value)} (n = {text(n)})"

    header = [[Cell("Measure", cls="measure"), Cell(head(a, n_a), cls="num"), Cell(head(b, n_b), cls="num"),
               Cell("Test")] + ([] if one_why else [Cell("Why this test", cls="why")])
              + [Cell("P", cls="num"), Cell("Paired test"), Cell("Paired P", cls="num")]
              + ([Cell("Published P", cls="num")] if has_published else [])]
    rows: list[Row] = []
    # one block per comparison and family; a block whose groups are not the header's names them
    keys = ["comparison", "family"] if "comparison" in df.columns else ["family"]
    for block in df.select(keys).unique(maintain_order=True).to_dicts():
        part = df.filter(*(pl.col(k) == v for k, v in block.items()))
        family = str(block["family"])
        pa, pb = part["group_a"][0], part["group_b"][0]
        label = family[:1].upper() + family[1:] + ("" if (pa, pb) == (a, b) else f" ({pa} vs {pb})")
        rows.append(Row([Cell(label, colspan=len(header[0]))], cls="section"))
        for r in part.to_dicts():
            unit = r.get("unit") or ""
            measure = str(r["measure"])
            shown_unit = f" ({unit})" if unit and not measure.lower().endswith(unit.lower()) else ""
            rows.append(Row([
                Cell(f"{measure}{shown_unit}", cls="indent measure"),
                Cell(summary(r.get("summary_a"), r.get("n_a")), cls="num"),
                Cell(summary(r.get("summary_b"), r.get("n_b")), cls="num"),
                Cell(text(r.get("method")), cls="test")]
                + ([] if one_why else [Cell(text(r.get("why")), cls="why")])
                + [Cell(format_p(r.get("pvalue")), cls="num"), Cell(text(r.get("paired_method")), cls="test"),
                   Cell(format_p(r.get("paired_pvalue")), cls="num")]
                + ([Cell(format_p(r.get("published_p")), cls="num")] if has_published else [])))
    notes = ([f"Choice of test (all rows): {whys[0]}."] if one_why and whys[0] else []) + [
             "Summaries: median (IQR) in every row, also where the t test ran.",
             "P: the unpaired test the plan chose (as in the seed's Methods); paired P: the within-patient "
             "test for the patients in both groups (treated with both products)."
             + (" Published P: the value printed in the source." if has_published else "")]
    return Table("comparisons-table", "Expansion and cytokines compared between groups", header, rows, notes)


def grading_systems_table(df: pl.DataFrame) -> Table:
    """Same events graded by several systems side by side, one column per system and source (a recorded
    and a derived grade in the same system are two columns); rows that differ are marked."""
    if "source" not in df.columns:
        df = df.with_columns(source=pl.lit(None, dtype=pl.String))
    keyed = df.with_columns(_column=pl.format("{} | {}", pl.col("system"), pl.col("source").fill_null("")))
    columns = keyed.select("_column", "system", "source").unique("_column", maintain_order=True).rows()
    order = {system: i for i, system in enumerate(dict.fromkeys(system for _, system, _ in columns))}
    columns.sort(key=lambda c: (order[c[1]], c[2] != "recorded"))  # each system together, recorded first
    names = [c for c, _, _ in columns]
    wide = keyed.pivot(on="_column", index=["patient_id", "episode", "product", "toxicity"], values="grade",
                       aggregate_function="first")
    wide = wide.with_columns(_k=patient_number()).sort(
        "toxicity", "episode", "_k", "patient_id")
    header = [[Cell("Patient"), Cell("Product"), Cell("Toxicity")]
              + [Cell(system_name(system) + (f" ({source})" if source else ""), cls="num")
                 for _, system, source in columns]]
    differ = (pl.concat_list(names).list.drop_nulls().list.n_unique() > 1) if names else pl.lit(False)
    wide = wide.with_columns(_differs=differ)
    total = wide.height
    n_differ = int(wide["_differs"].sum())
    if total > MAX_ROWS:  # long table: the episodes where the systems disagree first
        wide = wide.sort("_differs", descending=True, maintain_order=True).head(MAX_ROWS)
    rows = [Row([Cell(r["patient_id"]), Cell(r["product"]), Cell(r["toxicity"])]
                + [Cell(text(r.get(c)), cls="num") for c in names], cls="differs" if r["_differs"] else "")
            for r in wide.to_dicts()]
    _, cap_note = _capped(rows, total, "episodes (those where the systems differ first)", "grading_systems.csv")
    notes = cap_note + [f"Rows in bold ({n_differ} of {total}): the grading systems (or the recorded and the "
                        "derived grade) give different grades for the same episode.",
             abbreviations("CRS", "ICANS", "CTCAE", "ASTCT")]
    return Table("grading-systems-table", "Grading systems side by side", header, rows, notes)


def logrank_table(df: pl.DataFrame, level: float = 0.95) -> Table:
    """Log-rank tests per endpoint and censoring rule, with landmark survival per group."""
    groups = [c.removeprefix("landmark_") for c in df.columns
              if c.startswith("landmark_") and c != "landmark_day" and not c.startswith("landmark_ci_")]
    follow_cols = [c for c in df.columns if c.startswith("median_followup_")]
    days = df["landmark_day"].drop_nulls().unique().to_list() if "landmark_day" in df.columns else []
    day_txt = f"day {text(days[0])}" if len(days) == 1 else "landmark day"
    medians = [g for g in groups if f"km_median_{g}" in df.columns]
    unit = follow_cols[0].removeprefix("median_followup_") if follow_cols else ""
    has_hr = "hr_comparison" in df.columns
    header = [[Cell("Endpoint"), Cell("Censoring"), Cell("\u03c7\u00b2", cls="num"), Cell("df", cls="num"),
               Cell("P", cls="num")] + [Cell(f"{g}, {day_txt}", cls="num") for g in groups]
              + [Cell(f"Median ({confidence_label(level)} CI), {g}" + (f", {unit}" if unit else ""), cls="num")
                 for g in medians]
              + ([Cell(f"Hazard ratio ({confidence_label(level)} CI)", cls="num")] if has_hr else [])
              + [Cell(f"Median follow-up, {c.removeprefix('median_followup_')}", cls="num") for c in follow_cols]]
    rows, warned = [], []
    for r in df.to_dicts():
        land = [r.get(f"landmark_{g}") for g in groups]
        land_ci = [r.get(f"landmark_ci_{g}") for g in groups]
        follow = [Cell("\u2013" if r.get(c) is None else fixed(r[c], 1), cls="num") for c in follow_cols]
        med = [Cell(_median_ci(r.get(f"km_median_{g}"), r.get(f"km_median_lower_{g}"), r.get(f"km_median_upper_{g}")),
                    cls="num") for g in medians]
        hr = []
        if has_hr:
            shown = _estimate_ci(r.get("hr"), r.get("hr_lower"), r.get("hr_upper"))
            if r.get("hr_comparison") and shown != "\u2013":
                shown = f"{shown}, {r['hr_comparison']}"
            if r.get("hr_warning"):
                warned.append(r["hr_warning"])
                shown += "*"
            hr = [Cell(shown, cls="num")]
        rows.append(Row([Cell(text(r.get("endpoint"))), Cell(text(r.get("censoring"))),
                         Cell(fixed(r["statistic"], 2) if r.get("statistic") is not None else "\u2013", cls="num"),
                         Cell(text(r.get("df")), cls="num"), Cell(format_p(r.get("pvalue")), cls="num")]
                        + [Cell("\u2013" if v is None else f"{percent(v)}%" + (f" ({ci})" if ci else ""), cls="num")
                           for v, ci in zip(land, land_ci, strict=True)] + med + hr + follow))
    notes = ["Log-rank test between groups; landmark columns: Kaplan-Meier survival at the landmark day "
             f"({confidence_label(level)} CI, log scale as R's survfit); "
             "median follow-up by the reverse Kaplan-Meier method."
             + (f" Medians with {confidence_label(level)} CIs on the log scale (R's quantile(survfit)); NR: limit "
                "not reached." if medians else "")
             + (f" Hazard ratio: Cox model, Efron ties, Wald {confidence_label(level)} CI." if has_hr else ""),
             "PFS, progression-free survival; OS, overall survival; HSCT, haematopoietic stem cell transplantation."]
    notes += [f"* Few events: {w}." for w in dict.fromkeys(warned)]
    return Table("logrank-table", "Log-rank tests and landmark survival", header, rows, notes)


def reproduction_table(df: pl.DataFrame) -> Table:
    header = [[Cell("Item"), Cell("Section"), Cell("Published", cls="num"), Cell("Computed", cls="num"),
               Cell("Status"), Cell("Reason")]]
    rows = [Row([Cell(text(r.get("description")) if r.get("description") else text(r.get("key"))),
                 Cell(text(r.get("section"))), Cell(text(r.get("published")), cls="num"),
                 Cell(text(r.get("computed")), cls="num"),
                 Cell(text(r.get("status")), cls="badge " + str(r.get("status") or "").replace(" ", "-")),
                 Cell(text(r.get("reason")) if r.get("reason") else "")])
            for r in df.to_dicts()]
    counts = df.group_by("status").len().sort("status")
    summary = ", ".join(f"{r['len']} {r['status']}" for r in counts.to_dicts())
    notes = [f"{df.height} published numbers: {summary}.",
             "Agrees: cartkit's value equals the published one at the published precision."]
    return Table("reproduction-table", "Reproduction: published vs computed", header, rows, notes)


def ck_model_table(df: pl.DataFrame, level: float = 0.95) -> Table:
    """Stein 2019 model fits: each estimate with its CI (at ``level``) in one cell (3 significant digits)."""
    ci = confidence_label(level)

    def est(p: str) -> pl.Expr:
        cols = [c for c in (p, f"{p}_lower", f"{p}_upper") if c in df.columns]
        shown = [pl.col(c).map_elements(estimate_text, return_dtype=pl.String, skip_nulls=False) for c in cols]
        if len(shown) == 1:
            return shown[0].alias(p)
        return pl.when(pl.col(p).is_null() | pl.col(p).is_nan()).then(pl.lit("\u2013")).otherwise(
            pl.format("{} ({}\u2013{})", *shown)).alias(p)

    shown = df.select(
        "patient_id", "episode", "product",
        pl.when(pl.col("converged") & (pl.col("reason").fill_null("") == "")).then(pl.lit("yes"))
        .when(pl.col("converged")).then(pl.format("yes; {}", pl.col("reason")))
        .otherwise(pl.col("reason")).alias("fit"),
        *(est(p) for p in ("cmax", "tmax", "foldx", "alpha") if p in df.columns),
    )
    return plain_table(
        shown, "ck-model-table",
        f"Per-episode fits of the Stein 2019 cellular-kinetic model to CAR DNA (qPCR), estimate ({ci} CI): "
        "Cmax (copies/\u00b5g), Tmax (days), FOLDX (fold expansion from infusion to peak) and alpha (/day, "
        "fast contraction); beta and FB fixed at the model's typical values (days 0-28 cannot identify "
        "persistence).",
        {"patient_id": "Patient", "episode": "Episode", "product": "Product", "fit": "Fit", "cmax": "Cmax",
         "tmax": "Tmax", "foldx": "FOLDX", "alpha": "alpha"},
        [(f"Poorly identified: the samples fit a very wide range of values of that parameter ({ci} CI more "
          f"than {POORLY_IDENTIFIED_RATIO:g}-fold); read the estimate as not determined. \u221e: the samples set no upper limit. "
          "Limits are printed to 3 significant digits (1.20\u00d710\u2075 = 120,000). A fit that failed says "
          "what the samples lack (no plan option changes a fit; more sampling days can).")],
        csv="ck_model.csv",
    )


def infusion_products_table(df: pl.DataFrame) -> Table:
    """Dose, transduction and harvest by product and disease: mean \u00b1 SD, median (IQR), range, n."""
    cols = df.select("product", "diagnosis").unique(maintain_order=True).to_dicts()
    products = list(dict.fromkeys(c["product"] for c in cols))
    header = [[Cell("Characteristic", rowspan=2)]
              + [Cell(p, colspan=sum(1 for c in cols if c["product"] == p)) for p in products],
              [Cell(c["diagnosis"], cls="num") for c in cols]]
    lookup = {(r["characteristic"], r["product"], r["diagnosis"]): r for r in df.to_dicts()}
    rows: list[Row] = []
    shown = {
        "mean \u00b1 SD": lambda r: "\u2013" if r["mean"] is None else
        f"{estimate_text(r['mean'])} \u00b1 {estimate_text(r['sd'])}",
        "median (IQR)": lambda r: "\u2013" if r["median"] is None else
        f"{estimate_text(r['median'])} ({estimate_text(r['q1'])}, {estimate_text(r['q3'])})",
        "range": lambda r: "\u2013" if r["min"] is None else f"{estimate_text(r['min'])}\u2013{estimate_text(r['max'])}",
        "n (missing)": lambda r: f"{r['n']}" + (f" ({r['missing']} missing)" if r["missing"] else ""),
    }
    for char in df["characteristic"].unique(maintain_order=True).to_list():
        first = df.filter(pl.col("characteristic") == char).row(0, named=True)
        unit = unit_text(first["unit"])
        rows.append(Row([Cell(f"{first['label']}, {unit}", colspan=len(cols) + 1)], cls="section"))
        for stat, fmt in shown.items():
            cells = [Cell(stat, cls="indent")]
            for c in cols:
                r = lookup.get((char, c["product"], c["diagnosis"]))
                cells.append(Cell(fmt(r) if r is not None else "\u2013", cls="num"))
            rows.append(Row(cells))
    notes = ["Per infusion, from the infusions table: CAR-T cells infused and harvested (10\u2076/kg body "
             "weight) and the product's CAR transduction efficiency (% of T cells). SD with n \u2212 1; IQR "
             "with the plan's quartile definition.", abbreviations("DLBCL", "B-ALL", "IQR", "SD_stat")]
    return Table("infusion-products-table", "CAR-T products as infused, by product and disease", header, rows,
                 notes)


def toxicity_treatment_table(df: pl.DataFrame) -> Table:
    """Tocilizumab, corticosteroids and other anti-cytokine drugs by product."""
    header = [[Cell("Product"), Cell("Drug"), Cell("Episodes treated", cls="num"),
               Cell("Patients treated", cls="num"), Cell("Days given, median (range)", cls="num"),
               Cell("Total dose per episode, median (range)", cls="num"),
               Cell("Day of first dose, median (range)", cls="num")]]
    rows = []
    for r in df.to_dicts():
        drug = r["treatment"] if r["agent"].lower() == r["treatment"].lower() else f"{r['treatment']}: {r['agent']}"
        dose = _median_range(r["total_dose_median"], r["total_dose_min"], r["total_dose_max"])
        if dose != "\u2013" and r.get("dose_unit"):
            dose += f" {r['dose_unit']}"
        rows.append(Row([Cell(r["product"]), Cell(drug),
                         Cell(_n_of(r["episodes_treated"], r["episodes"]), cls="num"),
                         Cell(_n_of(r["patients_treated"], r["patients"]), cls="num"),
                         Cell(_median_range(r["days_given_median"], r["days_given_min"], r["days_given_max"]),
                              cls="num"),
                         Cell(dose, cls="num"),
                         Cell(_median_range(r["first_day_median"], r["first_day_min"], r["first_day_max"]),
                              cls="num")]))
    notes = ["From the support table. Episodes treated: of the product's infusions; days given, total dose and "
             "day of first dose (days from that infusion) over the treated episodes. A total dose is summed "
             "only where every dose of the episode is recorded in one unit; corticosteroids are listed per "
             "agent (doses of different agents are not added)."]
    return Table("toxicity-treatment-table", "Tocilizumab and corticosteroid use by product", header, rows, notes)


def syndrome_course_table(df: pl.DataFrame) -> Table:
    """CRS and ICANS onset day and duration by product (over the episodes with the syndrome)."""
    header = [[Cell("Syndrome"), Cell("Product"), Cell("Episodes with the syndrome", cls="num"),
               Cell("Onset, day after infusion, median (range)", cls="num"),
               Cell("Duration, days, median (range)", cls="num"), Cell("Grades from")]]
    rows = []
    for r in df.to_dicts():
        systems = ", ".join(system_name(s) for s in (r.get("systems") or "").split(", ") if s)
        source = r.get("sources") or ""
        rows.append(Row([Cell(r["toxicity"]), Cell(r["product"]),
                         Cell(_n_of(r["with_event"], r["graded"]), cls="num"),
                         Cell(_median_range(r["onset_median"], r["onset_min"], r["onset_max"]), cls="num"),
                         Cell(_median_range(r["duration_median"], r["duration_min"], r["duration_max"]),
                              cls="num"),
                         Cell(f"{systems} ({source})" if systems else "\u2013")]))
    notes = ["Onset: first day graded 1 or higher; duration: days graded 1 or higher (days between records "
             "are not filled in). Derived: daily grades from vital signs, supportive care and neurological "
             "assessments; recorded: the adverse event's onset and resolution days, used where no daily grade "
             "can be derived. Episodes with the syndrome are counted among the episodes that could be graded; "
             "these grades can differ from the recorded grades of the adverse-events table.", abbreviations("CRS", "ICANS", "ASTCT")]
    return Table("syndrome-course-table", "CRS and ICANS onset and duration by product", header, rows, notes)


def follow_up_summary_table(df: pl.DataFrame, grace_days: int = 0) -> Table:
    """Status at the end of follow-up (deaths by cause) by disease, as n/N (%); ``grace_days``: the plan's
    ``[plan.follow_up] lost_grace_days`` (analysis/follow_up.py), stated in the note when not 0."""
    groups = df["diagnosis"].unique(maintain_order=True).to_list()
    totals = {r["diagnosis"]: r["N"] for r in df.to_dicts()}
    header = [[Cell("Status")] + [Cell(f"{g} (n = {totals[g]})", cls="num") for g in groups]]
    keyed = df.with_columns(label=pl.when(pl.col("cause_of_death").is_not_null())
                            .then(pl.format("{}: {}", pl.col("status"), pl.col("cause_of_death")))
                            .otherwise(pl.col("status")))
    lookup = {(r["label"], r["diagnosis"]): r for r in keyed.to_dicts()}
    rows = []
    for label in keyed["label"].unique(maintain_order=True).to_list():
        cells = [Cell(label[:1].upper() + label[1:])]
        for g in groups:
            r = lookup.get((label, g))
            cells.append(Cell(_n_of(r["n"], r["N"]) if r else _n_of(0, totals[g]), cls="num"))
        rows.append(Row(cells))
    notes = ["From the events table. Died: cause as recorded in the death event's detail. Lost to follow-up: "
             "no death recorded and the last news of the patient is earlier than the data cut-off (days before "
             "the cut-off in tables/follow_up.csv). Alive at cut-off: followed up to the data cut-off."]
    if grace_days:
        notes = [notes[0].replace("earlier than the data cut-off", f"more than {grace_days} days before the data cut-off")
                 .replace("followed up to the data cut-off.",
                          f"followed up to the data cut-off or last seen at most {grace_days} days before it "
                          f"([plan.follow_up] lost_grace_days = {grace_days}; the label only: survival is censored "
                          "at the last news either way).")]
    return Table("follow-up-table", "Status at the end of follow-up", header, rows, notes)


def follow_up_listing_table(df: pl.DataFrame) -> Table:
    return plain_table(
        df, "follow-up-listing-table", "Status of each patient at the end of follow-up",
        {"patient_id": "Patient", "diagnosis": "Disease", "status": "Status", "cause_of_death": "Cause of death",
         "last_known_date": "Last known", "days_from_first_infusion": "Days from first infusion",
         "days_before_cutoff": "Days before cut-off"}, csv="follow_up.csv")


def populations_table(df: pl.DataFrame) -> Table:
    """The analysis populations: rule, primary, N (by arm), infused and never infused."""
    shown = df.with_columns(pl.when(pl.col("primary")).then(pl.lit("primary")).otherwise(pl.lit("")).alias("primary"))
    return plain_table(shown.drop("label"), "populations-table", "Analysis populations (docs/plan.md)",
                       {"population": "Population", "rule": "Rule", "primary": "", "arm": "Arm", "n": "N",
                        "n_infused": "Infused", "n_never_infused": "Never infused", "n_episodes": "Infusions"},
                       csv="populations.csv")


_CONF_WORDS = {"log": "log scale, R's survfit default", "log-log": "log-log scale", "plain": "plain scale"}


def _time(value: object) -> str:
    return "\u2013" if value is None or value != value else fixed(value, 1)


def _estimate_ci(est: object, lo: object, hi: object, scale: float = 1.0, digits: int = 2) -> str:
    """"0.22 (0.04-1.28)"; a dash for a missing estimate; NR for a limit not reached."""
    if est is None or est != est:
        return "\u2013"

    def one(v: object) -> str:
        return "NR" if v is None or v != v else fixed(v * scale, digits)

    return f"{fixed(est * scale, digits)} ({one(lo)}\u2013{one(hi)})"


def _median_ci(median: object, lo: object, hi: object) -> str:
    """"1.7 (0.7\u2013NR)"; "not reached (3.0\u2013NR)" when the median is not reached (NaN) but its lower limit is."""
    if median is not None and median == median:
        return _estimate_ci(median, lo, hi, digits=1)
    if lo is None or lo != lo:
        return "not reached"
    return f"not reached ({fixed(lo, 1)}\u2013{'NR' if hi is None or hi != hi else fixed(hi, 1)})"


def endpoint_summary_table(df: pl.DataFrame, level: float = 0.95) -> Table:
    """Per endpoint, population and group: N, events and median (CI at ``level``) in the endpoint's time unit."""
    ci = confidence_label(level)

    def median(m: float | None, lo: float | None, hi: float | None, unit: str) -> str | None:
        """As every median of the report (``_median_ci``: one decimal, a half away from zero; NaN is not
        reached), in the endpoint's time unit; a missing number leaves the cell empty."""
        if m is None or lo is None or (m == m and hi is None):
            return None
        shown = _median_ci(m, lo, hi)
        return shown if shown == "not reached" else f"{shown} {unit}"

    shown = df.select(
        pl.format("{} (N = {})", "population", "population_n").alias("population"), "endpoint", "label",
        "origin", "censoring", "group", "n", "events").with_columns(median=pl.Series(
            [median(*r) for r in df.select("median", "median_lower", "median_upper", "time_unit").iter_rows()],
            dtype=pl.String))
    conf = df["conf_type"].drop_nulls().unique().to_list() if "conf_type" in df.columns else []
    notes = [f"Kaplan-Meier median with its {ci} CI ({_CONF_WORDS.get(conf[0], conf[0])} pointwise limits, R's "
             "quantile(survfit)); NR: the limit is not reached."] if len(conf) == 1 else []
    return plain_table(shown, "endpoint-summary-table",
                       f"Kaplan-Meier median ({ci} CI) of each endpoint, on each population it is analysed on",
                       {"population": "Population", "endpoint": "Endpoint", "label": "", "origin": "Time origin",
                        "censoring": "HSCT", "group": "Group", "n": "N", "events": "Events",
                        "median": f"Median ({ci} CI)"}, notes, csv="endpoint_summary.csv")


def endpoint_tests_table(df: pl.DataFrame, level: float = 0.95) -> Table:
    """Log-rank test and Cox hazard ratio (CI at ``level``) of each group against the reference, few-events
    warnings."""
    ci = confidence_label(level)
    header = [[Cell("Population"), Cell("Endpoint"), Cell("HSCT"), Cell("N", cls="num"), Cell("Events", cls="num"),
               Cell("Log-rank \u03c7\u00b2", cls="num"), Cell("P", cls="num"), Cell("Hazard ratio of"),
               Cell(f"HR ({ci} CI)", cls="num"), Cell("P (Wald)", cls="num"), Cell("Note")]]
    rows, warned = [], []
    for r in df.to_dicts():
        note = r.get("note") or ""
        if r.get("warning"):
            warned.append(r["warning"])
            note = "few events (see below)" + (f"; {note}" if note else "")
        stat = r.get("logrank_statistic")
        rows.append(Row([Cell(f"{r['population']} (N = {r['population_n']})"), Cell(text(r["endpoint"])),
                         Cell(text(r.get("censoring"))), Cell(text(r["n"]), cls="num"),
                         Cell(text(r["events"]), cls="num"),
                         Cell("\u2013" if stat is None else fixed(stat, 2), cls="num"),
                         Cell(format_p(r.get("logrank_pvalue")), cls="num"), Cell(text(r.get("comparison"))),
                         Cell(_estimate_ci(r.get("hr"), r.get("hr_lower"), r.get("hr_upper")), cls="num"),
                         Cell(format_p(r.get("hr_pvalue")), cls="num"), Cell(note)]))
    notes = [f"Cox proportional hazards, Efron ties; Wald {ci} CI and P; the log-rank test between all groups."]
    notes += [f"Few events: {w}." for w in dict.fromkeys(warned)]
    return Table("endpoint-tests-table", f"Log-rank tests and Cox hazard ratios ({ci} CI) between groups", header, rows,
                 notes)


def endpoint_cif_table(df: pl.DataFrame, tests: pl.DataFrame | None = None, level: float = 0.95) -> Table:
    """Cumulative incidence (CI at ``level``) of the cause at each timepoint per group, Gray's test per endpoint."""
    ci = confidence_label(level)
    header = [[Cell("Population"), Cell("Endpoint"), Cell("Cumulative incidence of"), Cell("Group"),
               Cell("N", cls="num"), Cell("Events", cls="num"), Cell("Competing events", cls="num"),
               Cell("Day", cls="num"), Cell(f"Estimate, % ({ci} CI)", cls="num"), Cell("Gray's test P", cls="num")]]
    gray = {}
    if tests is not None:
        gray = {(r["population"], r["endpoint"]): r for r in tests.to_dicts()}
    rows, competing = [], []
    for r in df.to_dicts():
        g = gray.get((r["population"], r["endpoint"]), {})
        p = format_p(g.get("pvalue")) if g.get("pvalue") is not None else "\u2013"
        if g.get("statistic") is not None:
            p += f" (\u03c7\u00b2 {fixed(g['statistic'], 2)}, {g['df']} df)"
        competing.append(f"{r['endpoint']}: {r['competing']}")
        rows.append(Row([Cell(f"{r['population']} (N = {r['population_n']})"), Cell(r["endpoint"]), Cell(r["cause"]),
                         Cell(r["group"]), Cell(text(r["n"]), cls="num"), Cell(text(r["events"]), cls="num"),
                         Cell(text(r["competing_events"]), cls="num"), Cell(text(r["day"]), cls="num"),
                         Cell(_estimate_ci(r["estimate"], r["lower"], r["upper"], 100.0, 1), cls="num"),
                         Cell(p, cls="num")]))
    notes = ["Aalen-Johansen cumulative incidence with the other events competing (R cmprsk::cuminc and "
             "timepoints): variance as cuminc, CI on the log(-log) scale; Gray's test of the subdistribution "
             "hazards between groups (rho = 0)."]
    notes += [f"Competing events, {c}." for c in dict.fromkeys(competing)]
    return Table("endpoint-cif-table", "Cumulative incidence with HSCT and death as competing events", header,
                 rows, notes + [abbreviations("HSCT", "CI")])


def endpoint_hsct_cox_table(df: pl.DataFrame, level: float = 0.95) -> Table:
    """HSCT as a time-dependent covariate: Cox HR (CI), Wald P, Mantel-Byar (score) test."""
    header = [[Cell("Population"), Cell("Endpoint"), Cell("N", cls="num"), Cell("Events", cls="num"),
               Cell("Transplanted", cls="num"), Cell("Events after HSCT", cls="num"), Cell(f"HR of HSCT ({confidence_label(level)} CI)", cls="num"),
               Cell("P (Wald)", cls="num"), Cell("Mantel-Byar P", cls="num"), Cell("Note")]]
    rows, warned = [], []
    for r in df.to_dicts():
        note = r.get("note") or ""
        if r.get("warning"):
            warned.append(r["warning"])
            note = "few events (see below)" + (f"; {note}" if note else "")
        rows.append(Row([Cell(f"{r['population']} (N = {r['population_n']})"), Cell(r["endpoint"]),
                         Cell(text(r["n"]), cls="num"), Cell(text(r["events"]), cls="num"),
                         Cell(text(r["n_hsct"]), cls="num"), Cell(text(r["events_after_hsct"]), cls="num"),
                         Cell(_estimate_ci(r.get("hr"), r.get("hr_lower"), r.get("hr_upper")), cls="num"),
                         Cell(format_p(r.get("hr_pvalue")), cls="num"), Cell(format_p(r.get("score_pvalue")), cls="num"),
                         Cell(note)]))
    notes = ["Allogeneic HSCT as a covariate switching from 0 to 1 on the day of transplant (counting-process Cox "
             "model, R coxph(Surv(start, stop, event) ~ hsct), Efron ties, Wald CI); the endpoint is followed "
             "past the transplant. Mantel-Byar: the model's score test (the log-rank test with time-dependent "
             "membership). An event on the day of HSCT counts before it."]
    notes += [f"Few events: {w}." for w in dict.fromkeys(warned)]
    return Table("endpoint-hsct-cox-table", "HSCT as a time-dependent covariate", header, rows,
                 notes + [abbreviations("HSCT", "CI")])
