"""Simulated multiple myeloma after a BCMA CAR-T product: M-protein and free light chains over time,
immunofixation, marrow, plasmacytomas and MRD, responses by IMWG 2016.

Shapes (simulation assumptions in the range of the pivotal BCMA CAR-T trials: KarMMa, Munshi NC et
al., N Engl J Med 2021;384:705, ORR 73%, CR/sCR 33%; CARTITUDE-1, Berdeja JG et al., Lancet
2021;398:314, ORR 97%, sCR 67%, MRD-negative at 10^-5 in most evaluable CRs):

* measurable disease: ~65% serum M-protein (IgG/IgA; ~25% of them also urine >= 200 mg/24 h),
  ~35% light-chain only (involved FLC >= 100 mg/L, serum M-protein < 1 g/dL); kappa ~60%;
* the M-protein falls towards its nadir with a half-life of about three weeks (IgG), the FLC within
  days; depth by the best response drawn from an expansion-linked latent scale (higher Cmax, better);
* CR/sCR: immunofixation negative from day 56-84, marrow plasma cells < 5%, a normal FLC ratio and
  no clonal plasma cells for sCR; MRD (NGS, 10^-5 or 10^-6) on days 28, 168 and 365, negative from day 28
  or, in about a third, from day 168;
* CAR kinetics of a BCMA product (simulate/kinetics.py ``BCMA_TYPICAL``, sampled to day 90);
* progression at an assessment (earlier for shallower responses, later for the MRD-negative): the M-protein (or the FLC
  difference) rises well beyond the IMWG thresholds from its nadir, confirmed at the next
  assessment, after which assessments stop (next therapy).

The recorded response of each assessment is the IMWG 2016 response cartkit derives from the very
values written (simulate/tables.py calls ``cartkit.response.imwg``), except a few recorded one
category better, as investigators sometimes do, so that the disagreement listing has content.
"""

from __future__ import annotations

import numpy as np

from cartkit.simulate.disease_outcomes import disease_outcomes

NEVER = np.iinfo(np.int64).max // 4
DAYS = np.array([-7, 28, 56, 84, 112, 140, 168, 196, 224, 252, 280, 308, 336, 365, 455, 545, 635, 730])
MARROW_DAYS = (-7, 28, 168, 365)
MRD_DAYS = (28, 168, 365)
IMAGING_DAYS = (-7, 84, 168, 365)
CATEGORIES = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")
BEST_P = (0.33, 0.12, 0.25, 0.16, 0.05, 0.04, 0.05)
# remaining fraction of the baseline M-protein (or FLC difference) at the nadir, by best response
NADIR_FRACTION = {"sCR": (0.0, 0.0), "CR": (0.0, 0.0), "VGPR": (0.01, 0.08), "PR": (0.12, 0.45),
                  "MR": (0.53, 0.72), "SD": (0.82, 1.05), "PD": (1.5, 2.0)}
# mean days from the infusion to progression, and the share who do not progress during follow-up
MEAN_PROGRESSION_DAYS = {"sCR": 700.0, "CR": 550.0, "VGPR": 380.0, "PR": 260.0, "MR": 170.0, "SD": 110.0,
                         "PD": 28.0}
DURABLE_P = {"sCR": 0.35, "CR": 0.25, "VGPR": 0.12, "PR": 0.05, "MR": 0.0, "SD": 0.0, "PD": 0.0}
MEAN_SURVIVAL_AFTER_PROGRESSION = 420.0
INFECTION_DEATH_P = 0.04            # BCMA CAR-T: infections are the main non-relapse deaths
SUBTYPES = ("IgG", "IgA", "light chain")
RECORDED_BETTER_P = 0.03
# share of the MRD-negative patients first MRD-negative at day 168, not 28 (simulation assumption: responses
# deepen after CAR-T, and CARTITUDE-1 reported MRD negativity reached over the first months)
LATE_MRD_NEGATIVE_P = 0.35
# MRD negativity predicts longer PFS beyond the response category: a meta-analysis of myeloma studies found a
# PFS hazard ratio of about 0.4 for MRD-negative against MRD-positive patients (Munshi NC et al., JAMA Oncol
# 2017;3:28-35); the mean time to progression of an MRD-negative patient is that of their category / 0.4
MRD_NEGATIVE_PROGRESSION_FACTOR = 2.5


def apply(rng: np.random.Generator, ep: dict) -> None:
    """Replace the episode's generic response by a myeloma course (arrays episodes x ``DAYS``)."""
    n = ep["pidx"].shape[0]
    u = 1.0 / (1.0 + np.exp(-1.702 * (0.5 * ep["car_cmax_z"] + np.sqrt(0.75) * rng.standard_normal(n))))
    best = np.searchsorted(np.cumsum(BEST_P[::-1])[:-1], u)  # 0 = PD ... 6 = sCR
    best = len(CATEGORIES) - 1 - best
    labels = np.array(CATEGORIES)[best]
    light_chain = rng.random(n) < 0.35
    kappa = rng.random(n) < 0.6
    urine = ~light_chain & (rng.random(n) < 0.25)
    m0 = np.where(light_chain, np.round(rng.uniform(0.0, 0.6, n), 2), np.round(np.exp(rng.normal(np.log(3.0), 0.5, n)), 2))
    m0 = np.where(light_chain, m0, np.maximum(m0, 1.0))
    u0 = np.where(urine, np.round(np.exp(rng.normal(np.log(900.0), 0.6, n))), np.round(rng.uniform(0, 80, n)))
    u0 = np.where(urine, np.maximum(u0, 250.0), u0)
    inv0 = np.where(light_chain, np.exp(rng.normal(np.log(900.0), 0.7, n)), np.exp(rng.normal(np.log(150.0), 0.8, n)))
    inv0 = np.round(np.where(light_chain, np.maximum(inv0, 150.0), inv0), 1)
    uninv0 = np.round(np.exp(rng.normal(np.log(6.0), 0.4, n)), 1)
    marrow0 = np.round(rng.uniform(20.0, 85.0, n), 0)
    plasm0 = np.where(rng.random(n) < 0.15, np.round(rng.uniform(500.0, 3000.0, n)), 0.0)

    lo = np.array([NADIR_FRACTION[c][0] for c in CATEGORIES])[best]
    hi = np.array([NADIR_FRACTION[c][1] for c in CATEGORIES])[best]
    f = lo + (hi - lo) * rng.random(n)
    # progression: at the first assessment on or after a drawn day (PD: the first assessment)
    complete = (labels == "sCR") | (labels == "CR")
    mrd_neg = np.where(complete, rng.random(n) < 0.85, np.where(labels == "VGPR", rng.random(n) < 0.3, False))
    # MRD-negative patients progress later than others of the same response (module docs, Munshi 2017)
    mean = np.array([MEAN_PROGRESSION_DAYS[c] for c in CATEGORIES])[best] * np.where(
        mrd_neg, MRD_NEGATIVE_PROGRESSION_FACTOR, 1.0)
    durable = rng.random(n) < np.array([DURABLE_P[c] for c in CATEGORIES])[best]
    drawn = np.where(labels == "PD", 28, 56 + np.floor(rng.exponential(1.0, n) * mean)).astype(np.int64)
    k_prog = np.searchsorted(DAYS, drawn)  # index into DAYS (len(DAYS): beyond the schedule)
    k_prog = np.where(durable | (k_prog >= DAYS.size), DAYS.size, k_prog)
    prog = np.where(k_prog < DAYS.size, DAYS[np.minimum(k_prog, DAYS.size - 1)], NEVER)

    t = np.maximum(DAYS[None, :], 0).astype(float)
    decay = np.exp(-t / rng.uniform(18.0, 30.0, n)[:, None])          # M-protein (IgG half-life ~ 3 weeks)
    fast = np.exp(-t / rng.uniform(3.0, 6.0, n)[:, None])             # free light chains (hours to days)
    frac = f[:, None] + (1 - f[:, None]) * decay
    frac_flc = f[:, None] + (1 - f[:, None]) * fast
    after = np.arange(DAYS.size)[None, :] >= k_prog[:, None]
    steps = np.maximum(np.arange(DAYS.size)[None, :] - k_prog[:, None] + 1, 0)
    serum = m0[:, None] * frac
    nadir_s = np.minimum.accumulate(np.where(after, np.inf, serum), axis=1)
    serum = np.where(after, np.minimum(nadir_s, serum) * 1.6 + 0.7 * steps, serum)
    urine_v = u0[:, None] * np.where(urine[:, None], frac, 1.0)
    nadir_u = np.minimum.accumulate(np.where(after, np.inf, urine_v), axis=1)
    urine_v = np.where(after & urine[:, None], nadir_u * 1.6 + 250.0 * steps, urine_v)
    d0 = np.maximum(inv0 - uninv0, 0.0)
    dflc = d0[:, None] * np.where(light_chain[:, None], frac_flc, frac)
    nadir_d = np.minimum.accumulate(np.where(after, np.inf, dflc), axis=1)
    dflc = np.where(after, nadir_d * 1.6 + 250.0 * steps, dflc)
    # uninvolved chain recovers from suppression; at CR/sCR the ratio normalises (sCR) or nearly (CR)
    uninv = uninv0[:, None] * (1.0 + 1.2 * (1 - decay))
    ratio_cr = np.where(labels == "sCR", rng.uniform(0.6, 1.4, n), rng.uniform(1.8, 2.6, n))
    involved = uninv + dflc
    involved = np.where(complete[:, None] & ~after & (DAYS[None, :] >= 56), uninv * ratio_cr[:, None], involved)
    kap = np.round(np.where(kappa[:, None], involved, uninv), 1)
    lam = np.round(np.where(kappa[:, None], uninv, involved), 1)
    serum = np.round(np.where(complete[:, None] & ~after & (DAYS[None, :] >= 56), 0.0, serum), 2)
    urine_v = np.round(np.where(complete[:, None] & ~after & (DAYS[None, :] >= 56), 0.0, urine_v))
    ife_negative = complete[:, None] & ~after & (DAYS[None, :] >= np.where(rng.random(n) < 0.5, 56, 84)[:, None])

    marrow_best = np.select([complete, labels == "VGPR", labels == "PR"],
                            [rng.uniform(0.0, 4.0, n), rng.uniform(2.0, 12.0, n), rng.uniform(6.0, 25.0, n)],
                            marrow0 * rng.uniform(0.6, 1.1, n))
    marrow = np.where(DAYS[None, :] <= 0, marrow0[:, None], np.where(after, marrow0[:, None], marrow_best[:, None]))
    marrow = np.where(np.isin(DAYS, MARROW_DAYS)[None, :], np.round(marrow), np.nan)
    clonal = np.where(labels == "sCR", 0, 1)[:, None] * np.ones(DAYS.size, dtype=np.int64)
    plasm = np.where(plasm0[:, None] > 0,
                     np.where(after, plasm0[:, None] * 1.8, plasm0[:, None] * np.where(complete[:, None], 0.0, frac)),
                     0.0)
    plasm = np.where(np.isin(DAYS, IMAGING_DAYS)[None, :] | after, np.round(plasm), np.nan)
    new_lesions = after & (rng.random(n) < 0.3)[:, None]
    mrd_days = np.isin(DAYS, MRD_DAYS)[None, :] & ~after & (np.isin(labels, ("sCR", "CR", "VGPR"))[:, None])
    mrd_sens = np.where(rng.random(n) < 0.5, 1e-5, 1e-6)
    # assessments stop after the confirming one (the next therapy starts)
    stop = np.where(k_prog < DAYS.size, np.minimum(k_prog + 1, DAYS.size - 1), DAYS.size - 1)
    scheduled = np.arange(DAYS.size)[None, :] <= stop[:, None]

    ep["myeloma"] = {
        "scheduled": scheduled, "serum": serum, "urine": urine_v,
        "urine_followed": urine, "kappa": kap, "lambda": lam, "ife_negative": ife_negative,
        "marrow": marrow, "clonal": clonal, "plasmacytoma": plasm, "has_plasmacytoma": plasm0 > 0,
        "new_lesions": new_lesions, "mrd_days": mrd_days, "mrd_negative": mrd_neg[:, None] & mrd_days,
        "mrd_sensitivity": mrd_sens, "recorded_better": rng.random((n, DAYS.size)) < RECORDED_BETTER_P,
    }
    ep["subtype_code"] = np.where(light_chain, 2, np.where(rng.random(n) < 0.7, 0, 1))
    disease_outcomes(rng, ep, labels, prog, other_death_mean=6000.0,
                     survival_after_progression=MEAN_SURVIVAL_AFTER_PROGRESSION,
                     infection_death_p=INFECTION_DEATH_P, progression_detail=5)
    # MRD negativity deepens: LATE_MRD_NEGATIVE_P of the MRD-negative are still positive at day 28 and negative
    # from day 168 (drawn after the outcomes, so that these keep their draws)
    late = rng.random(n) < LATE_MRD_NEGATIVE_P
    mm = ep["myeloma"]
    mm["mrd_negative"] = mm["mrd_negative"] & ~(late[:, None] & (DAYS[None, :] < 168))

