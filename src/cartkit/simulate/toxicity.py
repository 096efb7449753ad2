"""Simulated CRS and ICANS courses and the records that document them.

Each episode gets a latent worst CRS grade and ICANS grade (driven by the
CAR-T expansion, the disease and the product). The daily records are then
written so that the ASTCT 2019 consensus (Lee DW et al., Biol Blood Marrow
Transplant 2019;25:625-638; docs/criteria.md, "CRS: ASTCT 2019" and "ICANS: ASTCT 2019") gives back exactly
that grade:

* CRS: temperature >= 38.0 C on every CRS day (fever present throughout, so a
  grader needs no masking rule); grade 2 = hypotension treated with fluids
  only and/or low-flow nasal cannula <= 6 L/min or blow-by; grade 3 = one
  vasopressor (with or without vasopressin) and/or high-flow nasal cannula
  > 6 L/min, facemask, non-rebreather or Venturi; grade 4 = two vasopressors
  and/or CPAP, BiPAP or mechanical ventilation; grade 5 = death from CRS.
* ICANS: ICE 7-9 grade 1, 3-6 grade 2, 0-2 grade 3, unarousable grade 4;
  depressed consciousness, seizures, motor findings and cerebral oedema at
  the levels of the ASTCT table.

Everything happens on days 0-14, where temperature, blood pressure and
neurological assessments are recorded daily.
"""

from __future__ import annotations

import numpy as np

VITAL_DAYS = np.arange(0, 15)

# Latent severity -> worst CRS grade. Simulation assumptions tuned so that a CD19
# product gives CRS in ~75% of episodes and grade >= 3 in ~12% (ELIANA/JULIET-like).
CRS_CUTS = np.array([-0.85, 0.45, 1.35, 2.0])  # grade = number of cuts below the latent score
CRS_GRADE5_FRACTION_OF_GRADE4 = 0.08
ICANS_CUTS = np.array([0.75, 1.25, 1.75, 2.35])

# CRS fever duration (days) by grade 1..5: (min, max) inclusive.
FEVER_DAYS = {1: (1, 4), 2: (3, 6), 3: (4, 8), 4: (5, 10), 5: (5, 10)}
ICANS_DAYS = {1: (1, 3), 2: (2, 5), 3: (3, 6), 4: (4, 7)}


def draw_crs_icans(
    rng: np.random.Generator,
    cmax_z: np.ndarray,
    tmax: np.ndarray,
    is_all: np.ndarray,
    cd22: np.ndarray,
    inflammation: np.ndarray,
) -> dict[str, np.ndarray]:
    """Worst grades and timing (days from infusion) of CRS and ICANS per episode."""
    n = cmax_z.shape[0]
    score = 0.6 * cmax_z + 0.5 * is_all - 0.6 * cd22 + 0.3 * inflammation + 0.75 * rng.standard_normal(n)
    grade = np.searchsorted(CRS_CUTS, score).astype(np.int64)
    grade5 = (grade == 4) & (rng.random(n) < CRS_GRADE5_FRACTION_OF_GRADE4)
    grade = np.where(grade5, 5, grade)
    onset = np.clip(np.round(tmax * rng.uniform(0.2, 0.7, n)), 1, 9).astype(np.int64)
    lo = np.array([0, *(FEVER_DAYS[g][0] for g in range(1, 6))])
    hi = np.array([0, *(FEVER_DAYS[g][1] for g in range(1, 6))])
    length = lo[grade] + np.floor(rng.random(n) * (hi[grade] - lo[grade] + 1)).astype(np.int64)
    end = np.minimum(onset + length - 1, VITAL_DAYS[-1])
    # organ support window (grade >= 2): starts the day after onset, 1-4 days
    sev_start = np.minimum(onset + 1, end)
    sev_len = 1 + rng.poisson(1.0, n) + np.maximum(grade - 2, 0)
    sev_end = np.minimum(sev_start + sev_len - 1, end)
    # which organ drives the grade: 0 hypotension, 1 hypoxia, 2 both
    driver = rng.choice(3, size=n, p=[0.4, 0.3, 0.3])
    top = np.minimum(grade, 4)
    other = 2 + np.floor(rng.random(n) * (np.maximum(top - 1, 1))).astype(np.int64)  # 2..top
    other = np.minimum(other, top)
    hypo_level = np.where(driver == 0, top, np.where(driver == 2, other, 0))
    oxy_level = np.where(driver == 1, top, np.where(driver == 2, top, 0))
    hypo_level = np.where(grade >= 2, hypo_level, 0)
    oxy_level = np.where(grade >= 2, oxy_level, 0)

    # ICANS follows CRS (ASTCT 2019: typically after or with CRS).
    iscore = 0.6 * score + 0.4 * is_all + 0.7 * rng.standard_normal(n)
    iscore = np.where(grade == 0, iscore - 1.0, iscore)
    igrade = np.searchsorted(ICANS_CUTS, iscore).astype(np.int64)
    ionset = np.where(grade > 0, onset + rng.integers(1, 4, n), rng.integers(3, 10, n))
    ionset = np.minimum(ionset, 13)
    ilo = np.array([0, *(ICANS_DAYS[g][0] for g in range(1, 5))])
    ihi = np.array([0, *(ICANS_DAYS[g][1] for g in range(1, 5))])
    ilength = ilo[igrade] + np.floor(rng.random(n) * (ihi[igrade] - ilo[igrade] + 1)).astype(np.int64)
    iend = np.minimum(ionset + np.maximum(ilength, 1) - 1, VITAL_DAYS[-1])
    ipeak = ionset + (iend - ionset) // 2
    return {
        "crs_grade": grade,
        "crs_onset": onset,
        "crs_end": end,
        "crs_sev_start": sev_start,
        "crs_sev_end": sev_end,
        "hypo_level": hypo_level,
        "oxy_level": oxy_level,
        "icans_grade": igrade,
        "icans_onset": ionset,
        "icans_end": iend,
        "icans_peak": ipeak,
        # grade 5 CRS: death the day after the last CRS day
        "crs_death_day": np.where(grade == 5, end + 1, -1),
    }


def daily_course(t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Episode x day (0-14) grids: fever, hypotension and hypoxia levels, ICANS days."""
    d = VITAL_DAYS[None, :]
    g = t["crs_grade"][:, None]
    fever = (g >= 1) & (d >= t["crs_onset"][:, None]) & (d <= t["crs_end"][:, None])
    severe = (g >= 2) & (d >= t["crs_sev_start"][:, None]) & (d <= t["crs_sev_end"][:, None])
    ig = t["icans_grade"][:, None]
    icans = (ig >= 1) & (d >= t["icans_onset"][:, None]) & (d <= t["icans_end"][:, None])
    return {
        "fever": fever,
        "hypo": np.where(severe, t["hypo_level"][:, None], 0),
        "oxy": np.where(severe, t["oxy_level"][:, None], 0),
        "icans": icans,
        "icans_peak": icans & (d == t["icans_peak"][:, None]),
    }


def vital_signs(rng: np.random.Generator, grade: np.ndarray, course: dict) -> dict[str, np.ndarray]:
    """Daily maximum temperature (C, 1 decimal) and lowest systolic pressure (mmHg)."""
    shape = course["fever"].shape
    afebrile = 36.3 + np.floor(rng.random(shape) * 15) / 10.0  # 36.3-37.7
    peak = 38.1 + rng.exponential(0.4 + 0.2 * np.minimum(grade, 4), shape[0])[:, None]
    febrile = np.minimum(38.1 + (peak - 38.1) * rng.uniform(0.4, 1.0, shape), 41.3)
    temperature = np.round(np.where(course["fever"], febrile, afebrile), 1)
    normal_sbp = np.clip(np.round(118 + 12 * rng.standard_normal(shape)), 92, 175)
    low_sbp = 70 + np.floor(rng.random(shape) * 19)  # 70-88 mmHg
    sbp = np.where(course["hypo"] >= 2, low_sbp, normal_sbp)
    return {"temperature": temperature, "sbp": sbp}


def ctcae_fever_grade(temperature: np.ndarray) -> np.ndarray:
    """CTCAE v5.0 'Fever': 1 38.0-39.0 C; 2 >39.0-40.0; 3 >40.0 for <=24 h; 4 >40.0 for >24 h.

    Temperatures are daily maxima, so > 24 h above 40.0 C is two or more days.
    """
    peak = np.nanmax(temperature, axis=1)
    over40 = np.sum(temperature > 40.0, axis=1)
    grade = np.where(peak >= 38.0, 1, 0)
    grade = np.where(peak > 39.0, 2, grade)
    grade = np.where(over40 >= 1, 3, grade)
    return np.where(over40 >= 2, 4, grade)


# Oxygen devices by ASTCT hypoxia level (docs/criteria.md, "CRS: ASTCT 2019"):
# level 2 low-flow nasal cannula <= 6 L/min or blow-by; level 3 high-flow nasal
# cannula > 6 L/min, facemask, non-rebreather or Venturi; level 4 positive pressure.
OXYGEN_DEVICES = {
    2: (("nasal_cannula", 1.0, 6.0, None), ("blow_by", None, None, None)),
    3: (
        ("high_flow_nasal_cannula", 20.0, 60.0, (30.0, 60.0)),
        ("facemask", 8.0, 10.0, None),
        ("non_rebreather", 10.0, 15.0, None),
        ("venturi", 8.0, 12.0, (28.0, 50.0)),
    ),
    4: (
        ("cpap", None, None, (30.0, 60.0)),
        ("bipap", None, None, (30.0, 70.0)),
        ("mechanical_ventilation", None, None, (40.0, 100.0)),
    ),
}


def draw_support_choices(rng: np.random.Generator, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-episode choices for supportive care (device, tocilizumab, vasopressin ...)."""
    n = t["crs_grade"].shape[0]
    device = np.zeros(n, dtype=np.int64)
    flow = np.full(n, np.nan)
    fio2 = np.full(n, np.nan)
    u = rng.random(n)
    uf = rng.random(n)
    ufi = rng.random(n)
    for level, options in OXYGEN_DEVICES.items():
        sel = t["oxy_level"] == level
        k = np.minimum((u * len(options)).astype(np.int64), len(options) - 1)
        for i, (_name, lo, hi, fio2_range) in enumerate(options):
            m = sel & (k == i)
            device = np.where(m, _device_code(level, i), device)
            if lo is not None:
                flow = np.where(m, np.round(lo + uf * (hi - lo)), flow)
            if fio2_range is not None:
                fio2 = np.where(m, np.round(fio2_range[0] + ufi * (fio2_range[1] - fio2_range[0])), fio2)
    g = t["crs_grade"]
    return {
        "o2_device": device,
        "o2_flow": flow,
        "fio2": fio2,
        # tocilizumab: usual for grade >= 2, occasionally for grade 1 (ASTCT practice)
        "tocilizumab": np.where(g >= 2, rng.random(n) < 0.85, rng.random(n) < 0.1) & (g >= 1),
        "tocilizumab_repeat": (g >= 3) & (rng.random(n) < 0.5),
        "vasopressin": (t["hypo_level"] == 3) & (rng.random(n) < 0.25),
        "antipyretic_p": rng.random((n, VITAL_DAYS.size)) < 0.85,
    }


OXYGEN_DEVICE_NAMES = [name for level in (2, 3, 4) for (name, *_rest) in OXYGEN_DEVICES[level]]


def _device_code(level: int, i: int) -> int:
    """1-based index into ``OXYGEN_DEVICE_NAMES``."""
    offset = {2: 0, 3: len(OXYGEN_DEVICES[2]), 4: len(OXYGEN_DEVICES[2]) + len(OXYGEN_DEVICES[3])}[level]
    return offset + i + 1


# ICANS domains at the peak day, by grade (ASTCT 2019 ICANS table, docs/criteria.md "ICANS: ASTCT 2019").
# Each option: (ICE score range or None when unarousable, consciousness, seizure, motor, raised_icp).
ICANS_PEAK = {
    1: ((7, 9, "normal", "none", "none", "none"), (7, 9, "awakens_spontaneously", "none", "none", "none")),
    2: ((3, 6, "normal", "none", "none", "none"), (3, 6, "awakens_to_voice", "none", "none", "none")),
    3: (
        (0, 2, "normal", "none", "none", "none"),
        (0, 2, "awakens_to_touch", "none", "none", "none"),
        (3, 6, "awakens_to_voice", "resolving", "none", "none"),
        (3, 6, "normal", "none", "none", "focal_edema"),
    ),
    4: (
        (None, None, "unarousable", "none", "none", "none"),
        (0, 2, "awakens_to_touch", "prolonged", "none", "none"),
        (0, 2, "awakens_to_touch", "none", "deep_focal_weakness", "none"),
        (None, None, "unarousable", "none", "none", "diffuse_edema"),
    ),
}
CONSCIOUSNESS = ["normal", "awakens_spontaneously", "awakens_to_voice", "awakens_to_touch", "unarousable"]
SEIZURE = ["none", "resolving", "prolonged"]
MOTOR = ["none", "deep_focal_weakness"]
RAISED_ICP = ["none", "focal_edema", "diffuse_edema"]


def neuro_grid(rng: np.random.Generator, t: dict[str, np.ndarray], course: dict) -> dict[str, np.ndarray]:
    """Daily ICE score (float, NaN = not assessable) and domain codes (indices into the lists above).

    ICANS days before and after the peak are grade 1 (ICE 7-9, awake); the peak day
    carries the episode's worst grade.
    """
    shape = course["icans"].shape
    n = shape[0]
    ice = np.full(shape, 10.0)
    ice = np.where(course["icans"], 7 + np.floor(rng.random(shape) * 3), ice)
    cons = np.zeros(shape, dtype=np.int8)
    seiz = np.zeros(shape, dtype=np.int8)
    motor = np.zeros(shape, dtype=np.int8)
    icp = np.zeros(shape, dtype=np.int8)
    u = rng.random(n)
    ui = rng.random(n)
    for grade, options in ICANS_PEAK.items():
        k = np.minimum((u * len(options)).astype(np.int64), len(options) - 1)
        for i, (lo, hi, c, s, m, r) in enumerate(options):
            sel = ((t["icans_grade"] == grade) & (k == i))[:, None] & course["icans_peak"]
            if lo is None:
                value = np.nan
            else:
                value = (lo + np.floor(ui * (hi - lo + 1)))[:, None]
            ice = np.where(sel, value, ice)
            cons = np.where(sel, CONSCIOUSNESS.index(c), cons)
            seiz = np.where(sel, SEIZURE.index(s), seiz)
            motor = np.where(sel, MOTOR.index(m), motor)
            icp = np.where(sel, RAISED_ICP.index(r), icp)
    return {"ice": ice, "consciousness": cons, "seizure": seiz, "motor": motor, "raised_icp": icp}
