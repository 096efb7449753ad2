"""Methods text for the toxicities beyond CRS and ICANS (IEC-HS, infections, hypogammaglobulinaemia,
late effects), written from the result tables that ran; nothing for a study without them (the seed).
Called once, from ``analysis.methods.methods_table``."""

from __future__ import annotations


def further_toxicity_methods(results) -> list[tuple[str, str]]:
    """(item, text) rows for the Methods table, one per toxicity the results hold."""
    if results is None:
        return []
    from cartkit.grading.iec_hs import iec_hs_criteria

    items: list[tuple[str, str]] = []
    summary = results.get("iec_hs_summary")
    if summary is not None:
        spec = iec_hs_criteria()
        sources = "; ".join(sorted({s for v in summary["sources"].drop_nulls().to_list() for s in v.split("; ") if s}))
        items.append(("IEC-HS", (
            f"Immune effector cell-associated HLH-like syndrome by the ASTCT consensus (Hines MR et al., "
            f"Transplant Cell Ther 2023;29:438), grades from: {sources or 'none'}. Derived where not recorded: "
            f"ferritin above {spec['ferritin_fold']:g} x the upper limit of normal or the baseline, whichever is "
            f"higher, with at least {spec['min_other_features']} of ALT/AST above {spec['transaminase_fold']:g} x "
            f"the upper limit of normal or baseline, fibrinogen below {spec['fibrinogen_below']:g} g/L or the lower "
            f"limit of normal, or a CTCAE grade 3 cytopenia within {spec['concurrent_days']} days, between days "
            f"{spec['window'][0]} and {spec['window'][1]}; graded 1 (no treatment), 2 (IEC-HS-directed therapy), 3 "
            "(blood products), 4 (mechanical ventilation or vasopressors) or 5 (death from IEC-HS) from the "
            "records after onset.")))
    return items
