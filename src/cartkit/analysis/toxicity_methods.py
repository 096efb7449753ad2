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
    density = results.get("infection_density")
    if density is not None:
        windows = ", ".join(f"{w} days {a}-{b}" for w, a, b in
                            density.select("window", "first_day", "last_day").unique(maintain_order=True).iter_rows())
        items.append(("Infections", (
            "Infections by organism class (bacterial, viral, fungal, other) and site, with their grade; infection "
            f"density (Hill JA et al., Blood 2018;131:121) as infections per 100 patient-days at risk ({windows}), "
            "each episode at risk until death, the last follow-up, a subsequent therapy (new therapy, HSCT or the "
            "next CAR-T infusion) or the data cut-off.")))
    igg = results.get("hypogammaglobulinaemia")
    if igg is not None:
        items.append(("Hypogammaglobulinaemia", (
            f"IgG nadir after infusion below {igg['threshold_mg_dl'][0]:g} mg/dL (EBMT/EHA best practice, Hayden PJ "
            "et al., Ann Oncol 2022;33:259, as default); immunoglobulin replacement as recorded in supportive care.")))
    if results.get("neurotoxicities") is not None or results.get("second_malignancies") is not None:
        items.append(("Late effects", (
            "Movement and neurocognitive toxicity and cranial nerve palsy as recorded adverse events with their "
            "onset day; second primary malignancies, T-cell malignancies apart, as recorded follow-up events, "
            "timed from the first infusion.")))
    return items
