"""Words and small marks on figures: analyte names with units, panel letters, P-value notes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import polars as pl

from cartkit.analysis.formatting import format_p
from cartkit.study.vocabulary import ANALYTES

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

# Short axis names; units come from the vocabulary (the analyte's canonical unit).
_SHORT: dict[str, str] = {
    "car_t_pct_cd3": "CAR-T cells",
    "car_dna": "CAR DNA",
    "il6": "IL-6",
    "il2r": "sIL-2R",
    "il8": "IL-8",
    "tnfa": "TNF-\u03b1",
    "ifng": "IFN-\u03b3",
    "il10": "IL-10",
}
# How an analyte is written in a comparison's ``measure`` text (lower case).
_MEASURE_NAMES: dict[str, tuple[str, ...]] = {
    "car_t_pct_cd3": ("car-t %", "car-t%", "car_t_pct_cd3", "car-t cell", "car t %"),
    "car_dna": ("car dna", "car_dna", "car-dna", "car transgene"),
    "il6": ("il-6", "il6"),
    "il2r": ("il-2r", "il2r", "sil-2r"),
    "il8": ("il-8", "il8"),
    "tnfa": ("tnf-alpha", "tnf-a", "tnfa", "tnf-\u03b1", "tnf"),
    "ifng": ("ifn-gamma", "ifng", "ifn-g"),
    "il10": ("il-10", "il10"),
}


def unit_text(unit: str) -> str:
    return unit.replace("ug", "\u00b5g").replace("10^9", "10\u2079").replace("10^6", "10\u2076")


def analyte_name(code: str) -> str:
    if code in _SHORT:
        return _SHORT[code]
    return ANALYTES[code].label if code in ANALYTES else code


def analyte_axis_label(code: str) -> str:
    """'CAR-T cells (% of CD3+)', 'IL-6 (pg/mL)': name with the canonical unit."""
    if code == "car_t_pct_cd3":
        return "CAR-T cells (% of CD3\u207a)"
    unit = ANALYTES[code].unit if code in ANALYTES else ""
    return f"{analyte_name(code)} ({unit_text(unit)})" if unit else analyte_name(code)


def panel_title(letter: str, title: str = "") -> str:
    """'A   CAR-T cells': the panel letter and its title, as every figure writes them."""
    return f"{letter}   {title}" if title else letter


def panel_letter(ax: Axes, letter: str, title: str = "") -> None:
    ax.set_title(panel_title(letter, title), loc="left")


def _measure_parts(measure: str) -> tuple[str | None, str]:
    text = measure.lower()
    parameter = "tmax" if re.search(r"\bday\b|\btime\b|tmax", text) else "cmax"
    for code, names in _MEASURE_NAMES.items():
        if any(n in text for n in names):
            return code, parameter
    return None, parameter


def comparison_for(comparisons: pl.DataFrame | None, analyte: str, parameter: str) -> dict | None:
    """The comparison row for an analyte's peak ('cmax') or peak day ('tmax'), if any.

    Uses the ``key`` column when present ('il6.peak', 'il6.peak_day'), else the optional
    ``analyte``/``parameter`` columns, else reads the ``measure`` text ('CAR-T % peak',
    'IL-6 peak day').
    """
    if comparisons is None or comparisons.height == 0:
        return None
    if "key" in comparisons.columns:
        wanted = f"{analyte}.{'peak' if parameter == 'cmax' else 'peak_day'}"
        hit = comparisons.filter(pl.col("key") == wanted)
        if hit.height:
            return hit.to_dicts()[0]
    for row in comparisons.to_dicts():
        if row.get("analyte") is not None and row.get("parameter") is not None:
            if row["analyte"] == analyte and row["parameter"] == parameter:
                return row
            continue
        code, param = _measure_parts(str(row.get("measure", "")))
        if code == analyte and param == parameter:
            return row
    return None


def p_note(row: dict | None) -> str:
    """'P = 0.022 (Wilcoxon rank-sum)\\npaired P = 0.018' for a comparison row."""
    if row is None:
        return ""
    text = f"P = {format_p(row.get('pvalue'))}".replace("= <", "< ")
    if row.get("paired_pvalue") is not None:
        text += f"; paired P = {format_p(row['paired_pvalue'])}".replace("= <", "< ")
    return text
