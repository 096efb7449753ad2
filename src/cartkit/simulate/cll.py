"""Simulated chronic lymphocytic leukaemia after a CD19 CAR-T product: lymph nodes, spleen, liver,
lymphocyte count, blood counts, marrow and MRD over time, responses by iwCLL 2018.

Shapes (simulation assumptions in the range of TRANSCEND CLL 004, Siddiqi T et al., Lancet
2023;402:641: ORR 47%, CR/CRi 18%, undetectable MRD in blood in most responders; and Porter DL et
al., Sci Transl Med 2015;7:303ra139):

* baseline (day -7): bulky nodes (largest 20-60 mm, SPD of up to six nodes), splenomegaly in most,
  an enlarged liver in some, lymphocytosis (5-150 x 10^9/L), cytopenias and a heavily infiltrated
  marrow; constitutional symptoms in ~30%;
* the best response (CR, CRi, PR, SD, PD) from an expansion-linked latent scale; nodes, organs and
  lymphocytes shrink towards it by day 90; CR patients clear the marrow and most reach undetectable
  MRD (flow, 10^-4);
* progression at an assessment: nodes grow >= 50% from their nadir with the lymphocytes; assessments
  stop after it (next therapy).

Lymphocytes, platelets, haemoglobin and neutrophils are written as measurements on the assessment
days beyond the count grid (simulate/counts.py: days -5 to 28; its day -5 and day 0 lymphocytes are
the CLL counts). The recorded response of each assessment is the iwCLL 2018 response cartkit derives
from the values written (simulate/tables.py), except a few recorded one category better.
"""

from __future__ import annotations

import numpy as np

from cartkit.simulate.disease_outcomes import disease_outcomes

NEVER = np.iinfo(np.int64).max // 4
DAYS = np.array([-7, 30, 90, 180, 270, 365, 545, 730])
MARROW_DAYS = (-7, 90, 365)
CATEGORIES = ("CR", "CRi", "PR", "SD", "PD")
BEST_P = (0.15, 0.05, 0.27, 0.33, 0.20)
MEAN_PROGRESSION_DAYS = {"CR": 900.0, "CRi": 700.0, "PR": 300.0, "SD": 150.0, "PD": 30.0}
DURABLE_P = {"CR": 0.6, "CRi": 0.45, "PR": 0.1, "SD": 0.0, "PD": 0.0}
MEAN_SURVIVAL_AFTER_PROGRESSION = 600.0
INFECTION_DEATH_P = 0.03
SUBTYPES = ("IGHV unmutated", "IGHV mutated")
RECORDED_BETTER_P = 0.03


def apply(rng: np.random.Generator, ep: dict) -> None:
    """Replace the episode's generic response by a CLL course (arrays episodes x ``DAYS``)."""
    n = ep["pidx"].shape[0]
    u = 1.0 / (1.0 + np.exp(-1.702 * (0.5 * ep["car_cmax_z"] + np.sqrt(0.75) * rng.standard_normal(n))))
    k = np.searchsorted(np.cumsum(BEST_P[::-1])[:-1], u)
    labels = np.array(CATEGORIES)[len(CATEGORIES) - 1 - k]
    cr, cri, pr, sd = (labels == c for c in ("CR", "CRi", "PR", "SD"))
    complete = cr | cri

    ldi0 = np.round(rng.uniform(20.0, 60.0, n))
    spd0 = np.round(ldi0 ** 2 * rng.uniform(1.5, 3.5, n))
    spleen0 = np.round(np.where(rng.random(n) < 0.7, rng.uniform(14.0, 22.0, n), rng.uniform(10.0, 12.9, n)), 1)
    liver0 = np.where(rng.random(n) < 0.3, np.round(rng.uniform(2.0, 6.0, n), 1), 0.0)
    alc0 = np.round(np.exp(rng.normal(np.log(30.0), 0.9, n)), 1)
    alc0 = np.clip(alc0, 5.0, 300.0)
    marrow0 = np.round(rng.uniform(30.0, 90.0, n))
    symptoms0 = rng.random(n) < 0.3

    # remaining fraction at the best response (nodes SPD, spleen enlargement, liver, lymphocytes)
    f_nodes = np.select([complete, pr, sd], [rng.uniform(0.02, 0.08, n), rng.uniform(0.15, 0.45, n),
                                             rng.uniform(0.7, 1.2, n)], rng.uniform(1.6, 2.2, n))
    f_alc = np.select([complete, pr, sd], [rng.uniform(0.01, 0.05, n), rng.uniform(0.05, 0.4, n),
                                           rng.uniform(0.6, 1.3, n)], rng.uniform(1.6, 2.5, n))
    mean = np.array([MEAN_PROGRESSION_DAYS[c] for c in CATEGORIES])[len(CATEGORIES) - 1 - k]
    durable = rng.random(n) < np.array([DURABLE_P[c] for c in CATEGORIES])[len(CATEGORIES) - 1 - k]
    drawn = np.where(labels == "PD", 30, 90 + np.floor(rng.exponential(1.0, n) * mean)).astype(np.int64)
    k_prog = np.searchsorted(DAYS, drawn)
    k_prog = np.where(durable | (k_prog >= DAYS.size), DAYS.size, k_prog)
    prog = np.where(k_prog < DAYS.size, DAYS[np.minimum(k_prog, DAYS.size - 1)], NEVER)

    t = np.maximum(DAYS[None, :], 0).astype(float)
    reach = 1 - np.exp(-t / rng.uniform(15.0, 35.0, n)[:, None])     # fraction of the way to the best
    idx = np.arange(DAYS.size)[None, :]
    after = idx >= k_prog[:, None]
    steps = np.maximum(idx - k_prog[:, None] + 1, 0)
    frac_n = 1 + (f_nodes[:, None] - 1) * reach
    frac_a = 1 + (f_alc[:, None] - 1) * reach

    def regrow(v: np.ndarray, add: float) -> np.ndarray:
        nadir = np.minimum.accumulate(np.where(after, np.inf, v), axis=1)
        return np.where(after, nadir * 1.7 + add * steps, v)

    spd = regrow(spd0[:, None] * frac_n, 400.0)
    ldi = np.sqrt(spd / (spd0 / ldi0 ** 2)[:, None])
    # CR: every node < 1.5 cm (the SPD of up to six such nodes)
    cr_node = complete[:, None] & ~after & (DAYS[None, :] > 0)
    small = rng.uniform(6.0, 13.0, n)[:, None]
    spd = np.where(cr_node, np.minimum(spd, small ** 2 * rng.uniform(1.0, 3.0, n)[:, None]), spd)
    ldi = np.where(cr_node, small, ldi)
    ldi = np.where(after, np.maximum(ldi, 20.0), ldi)
    enl0 = np.maximum(spleen0 - 13.0, 0.0)
    enl = np.where(complete[:, None] & ~after, enl0[:, None] * (1 - reach), enl0[:, None] * frac_n)
    spleen = np.where(enl > 0, 13.0 + enl, np.minimum(spleen0[:, None], 12.5 - 0.5 * reach))
    spleen = np.where(complete[:, None] & ~after & (DAYS[None, :] > 0), np.minimum(spleen, 12.0), spleen)
    liver = np.where(complete[:, None] & ~after & (DAYS[None, :] > 0), 0.0, liver0[:, None] * np.minimum(frac_n, 1.4))
    alc = regrow(alc0[:, None] * frac_a, 5.0)
    alc = np.where(complete[:, None] & ~after & (DAYS[None, :] > 0), np.minimum(alc, 3.5), alc)
    # blood counts recover with the response (CRi: platelets stay low)
    plt0 = np.round(np.exp(rng.normal(np.log(110.0), 0.45, n)))
    hb0 = np.round(np.exp(rng.normal(np.log(112.0), 0.12, n)))
    anc0 = np.round(np.exp(rng.normal(np.log(2.5), 0.5, n)), 2)
    good = (complete | pr)[:, None] & ~after & (DAYS[None, :] > 0)
    plt = np.where(good, np.maximum(plt0[:, None] * (1 + reach), 120.0), plt0[:, None] * rng.uniform(0.8, 1.1, (n, DAYS.size)))
    plt = np.where(cri[:, None] & good, np.maximum(rng.uniform(55.0, 95.0, n), 0.6 * plt0)[:, None], plt)
    hb = np.where(good, np.maximum(hb0[:, None], 115.0 + 10 * reach), hb0[:, None] * rng.uniform(0.93, 1.05, (n, DAYS.size)))
    anc = np.where(good, np.maximum(anc0[:, None], 1.8), anc0[:, None] * rng.uniform(0.8, 1.2, (n, DAYS.size)))
    marrow = np.where(DAYS[None, :] <= 0, marrow0[:, None],
                      np.where(complete[:, None] & ~after, 0.0,
                               np.where(after, np.minimum(marrow0[:, None] * 1.1, 95.0),
                                        marrow0[:, None] * np.minimum(f_alc[:, None] * 2, 1.0))))
    marrow = np.where(np.isin(DAYS, MARROW_DAYS)[None, :], np.round(marrow), np.nan)
    nodules = np.isfinite(marrow) & (marrow > 0)
    symptoms = np.where(DAYS[None, :] <= 0, symptoms0[:, None], symptoms0[:, None] & ~(complete | pr)[:, None])
    umrd = complete & (rng.random(n) < 0.8) | pr & (rng.random(n) < 0.3)
    mrd_pct = np.where(umrd[:, None] & ~after, np.round(0.0099 * rng.random((n, DAYS.size)), 4),
                       np.round(alc / np.maximum(alc0, 1)[:, None] * rng.uniform(1.0, 30.0, n)[:, None], 3))
    mrd_pct = np.where((DAYS[None, :] > 0) & (idx % 2 == 0), np.clip(mrd_pct, 0.0, 100.0), np.nan)
    stop = np.where(k_prog < DAYS.size, k_prog, DAYS.size - 1)
    scheduled = idx <= stop[:, None]

    ep["cll"] = {
        "scheduled": scheduled, "ldi": np.round(ldi), "spd": np.round(spd),
        "spleen": np.round(spleen, 1), "liver": np.round(liver, 1), "alc": np.round(alc, 2),
        "platelets": np.round(plt), "hemoglobin": np.round(hb), "anc": np.round(anc, 2),
        "marrow": marrow, "nodules": nodules, "symptoms": symptoms, "mrd_pct": mrd_pct,
        "new_lesions": after & (rng.random(n) < 0.3)[:, None],
        "recorded_better": rng.random((n, DAYS.size)) < RECORDED_BETTER_P,
    }
    # the count grid's pre-infusion lymphocytes (days -5 and 0) are the CLL lymphocytosis
    counts = ep["counts"]
    extra = np.stack([alc0, alc0], axis=1) - counts["alc"][:, :2]
    counts["alc"][:, :2] = np.round(counts["alc"][:, :2] + extra, 2)
    counts["wbc"][:, :2] = np.round(counts["wbc"][:, :2] + extra, 2)
    # and its platelets, haemoglobin and neutrophils are the CLL baseline (cytopenias of marrow infiltration)
    counts["platelets"][:, :2] = plt0[:, None]
    counts["hemoglobin"][:, :2] = hb0[:, None]
    extra = anc0[:, None] - counts["anc"][:, :2]
    counts["anc"][:, :2] = anc0[:, None]
    counts["wbc"][:, :2] = np.round(counts["wbc"][:, :2] + extra, 2)
    ep["subtype_code"] = (rng.random(n) < 0.4).astype(np.int64)
    ep["symptoms0"] = symptoms0
    disease_outcomes(rng, ep, labels, prog, other_death_mean=5000.0,
                     survival_after_progression=MEAN_SURVIVAL_AFTER_PROGRESSION,
                     infection_death_p=INFECTION_DEATH_P, progression_detail=6)

