"""The recommended analysis beside the analysis as published: one table, recommended columns first.

Built from the ``recommended_comparisons`` result table (``cartkit.analysis.recommended_comparison``):
one block per comparison and table (measures, grades, responses, adverse events), each row the
group summaries, the recommended test with its effect size and CI, P and adjusted P, the tests
beside it, then the test as published with its P (and its adjusted P), and the reason where the
two analyses reach different conclusions. The primary analysis (``plan.analysis``) is named in the
header.
"""

from __future__ import annotations

import math

import polars as pl

from cartkit.analysis.formatting import confidence_label, format_p
from cartkit.analysis.formatting import estimate as estimate_text
from cartkit.report.tables import Cell, Row, Table, abbreviations

_EFFECT_SHORT = {
    "Hodges-Lehmann pseudo-median of A - B": "HL",
    "Hodges-Lehmann shift A - B": "HL",
    "Hodges-Lehmann shift of grades A - B": "HL",
    "geometric mean ratio A / B": "GMR",
    "share with the higher grade after A (of the patients whose grade changed)": "share A higher",
    "paired risk difference A - B": "RD",
    "risk difference A - B": "RD",
}
_TEST_SHORT = {
    "Wilcoxon signed rank exact test": "exact signed-rank",
    "Wilcoxon rank sum exact test": "exact rank-sum",
    "Exact sign test": "exact sign",
    "Exact McNemar test": "exact McNemar",
    "Fisher's Exact Test for Count Data": "Fisher exact",
    "Exact test of symmetry": "exact symmetry",
    "Geometric mean ratio": "log-scale t",
}


def _short_test(method: object) -> str:
    if not method:
        return "\u2013"
    name = str(method)
    for long, short in _TEST_SHORT.items():
        if name.startswith(long):
            return short
    return name.replace(" (grade x product)", "")


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _effect_text(r: dict, nominal: float) -> str:
    if _missing(r.get("estimate")):
        return "\u2013"
    short = _EFFECT_SHORT.get(str(r.get("effect")), str(r.get("effect")))
    pct = r.get("table") in ("responses", "adverse events") or short == "share A higher"
    scale = 100.0 if pct else 1.0
    unit = " pp" if r.get("table") in ("responses", "adverse events") else ("%" if pct else "")

    def fmt(v: object) -> str:
        return "\u2013" if _missing(v) else estimate_text(float(v) * scale)

    level = r.get("level")
    level_text = ("" if _missing(level) or abs(float(level) - nominal) < 1e-9
                  else f", {confidence_label(float(level))} CI")
    ci = "" if _missing(r.get("lower")) else f" ({fmt(r['lower'])} to {fmt(r['upper'])}{level_text})"
    return f"{short} {fmt(r['estimate'])}{unit}{ci}"


def _also_text(r: dict) -> str:
    parts = []
    for method, p in ((r.get("also_method"), r.get("also_pvalue")),
                      (r.get("sensitivity_method"), r.get("sensitivity_pvalue"))):
        if method and not _missing(p):
            parts.append(f"{_short_test(method).removeprefix('exact ')} {format_p(p)}")
    return "; ".join(parts) or "\u2013"


def _differs_text(r: dict, alpha_text: str) -> str:
    """Short: which analysis alone has P below alpha, and what made the difference (the CSV has the sentence)."""
    if not r.get("differs"):
        return ""
    pub, raw, adj = r.get("published_pvalue"), r.get("pvalue"), r.get("p_adjusted")
    only = "as published only" if (pub is not None and pub < (r.get("_alpha") or 0)) else "recommended only"
    why = []
    if r.get("paired") and (raw < r["_alpha"]) != (pub < r["_alpha"]):
        why.append("pairing")
    if adj is not None and (raw < r["_alpha"]) != (adj < r["_alpha"]):
        why.append(str(r.get("adjust_method") or "").capitalize() or "adjustment")
    return f"P < {alpha_text} {only}" + (f" ({', '.join(why)})" if why else "")


def recommended_table(df: pl.DataFrame, level: float = 0.95) -> Table:
    """The recommended analysis first, the one as published beside it, reasons where they differ; ``level``
    is the plan's confidence level (an interval at another level, as R widens one with ties, says so) and
    1 - level the alpha the conclusions are read at."""
    nominal = level
    alpha = round(1 - level, 10)
    primary = df["primary"][0] if "primary" in df.columns and df.height else "recommended"
    method = df["adjust_method"].drop_nulls()[0] if df["adjust_method"].drop_nulls().len() else "none"
    adjusted = "P, none" if method == "none" else f"{method.capitalize()} P"
    rec_head = "Recommended analysis" + (" (primary)" if primary == "recommended" else "")
    pub_head = "As published" + (" (primary)" if primary == "as published" else "")
    header = [
        [Cell("", colspan=4), Cell(rec_head, colspan=5), Cell(pub_head, colspan=3), Cell("")],
        [Cell("Measure"), Cell("A", cls="num"), Cell("B", cls="num"), Cell("Pairs", cls="num"), Cell("Test"),
         Cell(f"Estimate ({confidence_label(level)} CI)", cls="num"), Cell("P", cls="num"), Cell(adjusted, cls="num"),
         Cell("Beside it"), Cell("Test"), Cell("P", cls="num"), Cell(adjusted, cls="num"),
         Cell("Conclusions differ")],
    ]
    width = 13
    rows: list[Row] = []
    keys = ["comparison", "table"] if "comparison" in df.columns else ["table"]
    for block in df.select(keys).unique(maintain_order=True).to_dicts():
        part = df.filter(*(pl.col(k) == v for k, v in block.items()))
        first = part.row(0, named=True)
        title = str(block["table"])
        label = (f"{block['comparison']}: " if "comparison" in block else "") + title[:1].upper() + title[1:]
        label += f" (A = {first['group_a']}, B = {first['group_b']})"
        rows.append(Row([Cell(label, colspan=width)], cls="section"))
        for r in part.to_dicts():
            unit = r.get("unit") or ""
            measure = str(r["measure"]) + (f" ({unit})" if unit and r.get("table") == "measures" else "")
            r["_alpha"] = alpha
            note = _differs_text(r, f"{alpha:g}")
            if r.get("note") and _missing(r.get("pvalue")):
                note = (note + " " + str(r["note"])).strip()
            rows.append(Row([
                Cell(measure, cls="indent measure"), Cell(str(r.get("summary_a") or "\u2013"), cls="num"),
                Cell(str(r.get("summary_b") or "\u2013"), cls="num"),
                Cell(str(r["n_pairs"]) if r.get("paired") else "unpaired", cls="num"),
                Cell(_short_test(r.get("method")), cls="test"), Cell(_effect_text(r, nominal), cls="num"),
                Cell(format_p(r.get("pvalue")), cls="num"), Cell(format_p(r.get("p_adjusted")), cls="num"),
                Cell(_also_text(r), cls="test"), Cell(_short_test(r.get("published_method")), cls="test"),
                Cell(format_p(r.get("published_pvalue")), cls="num"),
                Cell(format_p(r.get("published_p_adjusted")), cls="num"), Cell(note, cls="why")],
                cls="differs" if r.get("differs") else ""))
    n_differ = int(df["differs"].fill_null(False).sum())
    pairs = df.filter(pl.col("paired"))
    notes = [
        f"Primary analysis: {primary} (the plan's analysis key). Recommended: paired tests on the patients who "
        "received both (each patient's first episode of each group), exact also with ties and zero differences; "
        "as published: the plan's unpaired rule (Shapiro-Wilk, then Student's t or the rank-sum test; "
        "chi-square when Cochran's rule holds, else Fisher) on every episode."
        if pairs.height else
        f"Primary analysis: {primary} (the plan's analysis key). No patient is in both groups: both analyses "
        "are unpaired; recommended: exact (conditional) tests with effect sizes; as published: the plan's rule.",
        f"Estimate ({confidence_label(level)} CI): HL, Hodges-Lehmann shift (paired: pseudo-median of the differences A \u2212 B); "
        "GMR, geometric mean ratio A / B (cytokine peaks, log-normal; its log-scale t test beside it); share A "
        "higher, % of the patients whose grade changed with the higher grade after A (sign test, "
        "Clopper-Pearson CI); RD, risk difference A \u2212 B in percentage points (Newcombe).",
        ("No adjustment for multiplicity." if method == "none" else
         f"{method.capitalize()} P: adjusted within each family ({df['adjust_family'][0].split(' (', 1)[-1].rstrip(')')}); "
         "the P as published are adjusted over the same family for comparison."),
        f"Rows in bold ({n_differ} of {df.height}): the two analyses reach different conclusions at the plan's "
        f"alpha ({alpha:g}; the recommended P after adjustment): P < {alpha:g} as published only or in the "
        "recommended analysis only, because of the pairing (the paired P alone already differs) or of the "
        "adjustment; the sentence is in tables/recommended_comparisons.csv (reason).",
        "Beside it: signed-rank and symmetry, the exact signed-rank test and, as sensitivity, the exact test of "
        "symmetry (Bowker's statistic with its exact conditional distribution) for grades; log-scale t, the t "
        "test of the geometric-mean ratio.",
        "Responses are compared per disease only: the response criteria differ between diseases (Lugano ORR "
        "counts PR, B-ALL CR/CRi).",
        abbreviations("CI", "IQR", "ORR", "CR", "CRi", "PR"),
    ]
    return Table("recommended-comparisons-table",
                 "Recommended analysis (paired exact tests, effect sizes with CIs, adjusted P) beside the analysis "
                 "as published", header, rows, notes)
