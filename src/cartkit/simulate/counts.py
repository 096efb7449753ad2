"""Simulated blood counts around lymphodepletion, baseline chemistry, and their CTCAE grades.

Counts start from a disease-specific baseline on day -5 (before fludarabine /
cyclophosphamide on days -4 to -2, seed Methods), fall to a nadir around day
7 and recover by day 14-28; a fraction of episodes (more in B-ALL and after
severe CRS or high baseline inflammation, the CAR-HEMATOTOX picture of
Rejeski 2021) keeps a prolonged late cytopenia. Haematological adverse-event
grades are computed from the very values written, with CTCAE v5.0
thresholds (docs/criteria.md, "CTCAE haematological grades"), so recorded grades and counts agree.
"""

from __future__ import annotations

import numpy as np

COUNT_DAYS = np.array([-5, 0, 3, 7, 10, 14, 21, 28])
BASELINE_DAY = -5

# analyte: (DLBCL baseline median, B-ALL baseline median, log-SD, nadir log-depth,
# nadir day, nadir width (days), decimals). Simulation assumptions in canonical units.
COUNTS = {
    "anc": (3.0, 2.2, 0.5, 2.0, 7.0, 4.5, 2),
    "alc": (0.9, 1.0, 0.5, 2.6, 2.0, 5.0, 2),
    "platelets": (190.0, 150.0, 0.45, 1.2, 8.0, 5.0, 0),
    "hemoglobin": (125.0, 108.0, 0.12, 0.3, 8.0, 6.0, 0),
}
MONOCYTES_MEDIAN = 0.4  # 10^9/L, part of WBC besides ANC and ALC
COUNT_RESIDUAL_SD_LOG = 0.08

# Baseline chemistry before lymphodepletion (CAR-HEMATOTOX / EASIX inputs, docs/criteria.md
# "CAR-HEMATOTOX and EASIX"): (DLBCL median, B-ALL median, log-SD, loading on inflammation, decimals).
CHEMISTRY = {
    "crp": (10.0, 15.0, 0.9, 0.9, 1),
    "ferritin": (600.0, 900.0, 0.7, 0.7, 0),
    "ldh": (280.0, 420.0, 0.35, 0.25, 0),
    "creatinine": (70.0, 65.0, 0.22, 0.05, 0),
}

# Lower limits of normal (typical adult reference ranges, simulation assumptions):
# ANC 1.8, WBC 4.0, ALC 1.0, platelets 150 (10^9/L); haemoglobin 130 g/L (men), 120 g/L (women).
LLN = {"anc": 1.8, "wbc": 4.0, "alc": 1.0, "platelets": 150.0}
LLN_HEMOGLOBIN = {"male": 130.0, "female": 120.0}

# CTCAE v5.0 (NCI, 27 Nov 2017), Investigations and Blood sections: lower bounds of
# grades 2, 3, 4 ("<" the value); grade 1 is "< LLN". Anemia grade 4 is clinical
# (life-threatening), so counts alone give at most grade 3.
CTCAE5_COUNT_GRADES = {
    "neutrophil count decreased": ("anc", (1.5, 1.0, 0.5)),
    "platelet count decreased": ("platelets", (75.0, 50.0, 25.0)),
    "white blood cell decreased": ("wbc", (3.0, 2.0, 1.0)),
    "lymphocyte count decreased": ("alc", (0.8, 0.5, 0.2)),
    "anemia": ("hemoglobin", (100.0, 80.0)),
}


def count_grids(
    rng: np.random.Generator,
    is_all: np.ndarray,
    second: np.ndarray,
    severity: np.ndarray,
) -> dict[str, np.ndarray]:
    """Counts (episodes x ``COUNT_DAYS``) in canonical units, rounded as reported.

    ``severity`` (standard-normal-ish) deepens and prolongs the nadir; ``second``
    episodes start from lower counts (prior CAR-T and bridging chemotherapy).
    """
    n = is_all.shape[0]
    t = COUNT_DAYS[None, :].astype(float)
    late_share = rng.random(n) < np.where(is_all, 0.12, 0.07) + 0.05 * np.maximum(severity, 0)
    late_depth = np.where(late_share, rng.uniform(0.5, 1.5, n), 0.0)
    depth_z = 0.5 * severity + 0.6 * is_all + 0.5 * rng.standard_normal(n)
    ramp = np.clip((t - 10.0) / 10.0, 0.0, 1.0)
    out = {}
    for code, (m_dlbcl, m_all, sd, depth, day, width, decimals) in COUNTS.items():
        base = np.log(np.where(is_all, m_all, m_dlbcl)) + sd * rng.standard_normal(n) - 0.15 * second
        d = depth * np.exp(0.35 * depth_z)
        bump = np.exp(-(((t - day) / width) ** 2)) * (t > BASELINE_DAY)
        scale = 1.0 if code != "hemoglobin" else 0.3
        log_v = base[:, None] - d[:, None] * bump - scale * late_depth[:, None] * ramp
        log_v = log_v + COUNT_RESIDUAL_SD_LOG * rng.standard_normal(log_v.shape)
        out[code] = np.round(np.exp(log_v), decimals)
    mono = (
        MONOCYTES_MEDIAN
        * np.exp(0.4 * rng.standard_normal(n))[:, None]
        * np.where(COUNT_DAYS[None, :] > BASELINE_DAY, 0.5, 1.0)
    )
    out["wbc"] = np.round(out["anc"] + out["alc"] + mono, 2)
    return out


def chemistry(
    rng: np.random.Generator, is_all: np.ndarray, inflammation: np.ndarray
) -> dict[str, np.ndarray]:
    """Baseline (day -5) CRP, ferritin, LDH and creatinine per episode."""
    n = is_all.shape[0]
    out = {}
    for code, (m_dlbcl, m_all, sd, loading, decimals) in CHEMISTRY.items():
        log_v = (
            np.log(np.where(is_all, m_all, m_dlbcl)) + loading * inflammation + sd * rng.standard_normal(n)
        )
        out[code] = np.maximum(np.round(np.exp(log_v), decimals), 10.0**-decimals)
    return out


def ctcae_count_grades(
    counts: dict[str, np.ndarray], observed: np.ndarray, male: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Worst CTCAE v5.0 grade after infusion (days >= 0 that were observed), with onset and resolution.

    Returns term -> (grade, onset_day, resolution_day); onset is the first day
    below the LLN, resolution the first later day back at or above it (-1 = none).
    """
    post = observed & (COUNT_DAYS[None, :] >= 0)
    out = {}
    for term, (code, cuts) in CTCAE5_COUNT_GRADES.items():
        v = counts[code]
        if code == "hemoglobin":
            lln = np.where(male, LLN_HEMOGLOBIN["male"], LLN_HEMOGLOBIN["female"])[:, None]
        else:
            lln = LLN[code]
        grade = (v < lln).astype(np.int64)
        for cut in cuts:
            grade = grade + (v < cut)
        grade = np.where(post, grade, 0)
        worst = grade.max(axis=1)
        below = grade >= 1
        first = np.where(below.any(axis=1), np.argmax(below, axis=1), -1)
        worst_at = np.argmax(grade == worst[:, None], axis=1)
        recovered = post & ~below & (np.arange(COUNT_DAYS.size)[None, :] > worst_at[:, None])
        rec = np.where(recovered.any(axis=1), np.argmax(recovered, axis=1), -1)
        onset = np.where(first >= 0, COUNT_DAYS[np.maximum(first, 0)], -1)
        resolution = np.where((rec >= 0) & (worst > 0), COUNT_DAYS[np.maximum(rec, 0)], -1)
        out[term] = (worst, onset, resolution)
    return out
