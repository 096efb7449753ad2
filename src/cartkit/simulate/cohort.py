"""A simulated cohort: patients, their CAR-T episodes, responses and follow-up.

All draws are vectorised over patients (or episodes) with one
``numpy.random.Generator``; the order of draws is fixed, so a seed and a
cohort size fix every value. Dates are integer days since 1970-01-01.

The shape follows the seed study (Zhu et al. 2021; examples/seed-study, its PROVENANCE.md and published.toml):
DLBCL (~55%) and B-ALL (~45%) patients get a CD19 CAR-T product; those who do
not respond or who progress/relapse may get a CD22 CAR-T product after
bridging. Response probabilities are simulation assumptions in the range of
the pivotal trials (JULIET/ZUMA-1 for DLBCL: ORR 52-82%, CR 40-54%;
ELIANA for B-ALL: remission 81%; Fry et al., Nat Med 2018 for CD22 CAR-T in
B-ALL after CD19: remission 73%).
"""

from __future__ import annotations

import numpy as np

from cartkit.simulate import counts, kinetics, toxicity

ALL_FRACTION = 0.45
PRODUCTS = ("CD19 CAR-T", "CD22 CAR-T", "BCMA CAR-T")  # BCMA: the myeloma cohort (simulate/myeloma.py)
TARGETS = ("CD19", "CD22", "BCMA")
LYMPHODEPLETION = "Flu 30 mg/m2 + Cy 400 mg/m2, d-4 to d-2"  # seed Methods

# Response categories. Lymphoma (Lugano 2014): CR PR SD PD; B-ALL: CR CRi NR.
LYMPHOMA_RESPONSES = ("CR", "PR", "SD", "PD")
ALL_RESPONSES = ("CR", "CRi", "NR")
# Best-response probabilities (PD, SD, PR, CR order of the latent scale) by product.
LYMPHOMA_P = {0: (0.30, 0.15, 0.15, 0.40), 1: (0.25, 0.20, 0.20, 0.35)}
ALL_REMISSION_P = {0: 0.80, 1: 0.60}
# Fraction of responders whose response is durable (never progress), by best response.
DURABLE = {"CR": 0.65, "PR": 0.25, "SD": 0.05, "ALL": {0: 0.45, 1: 0.30}}
MEAN_DAYS_TO_PROGRESSION = {"CR": 250.0, "PR": 150.0, "SD": 60.0, "ALL": 150.0}
MEAN_SURVIVAL_AFTER_PROGRESSION = {False: 200.0, True: 120.0}  # DLBCL, B-ALL
MEAN_NON_RELAPSE_SURVIVAL = 6000.0
SECOND_EPISODE_P = 0.6
HSCT_P = {"ALL": 0.4, "lymphoma": 0.05}
TRM_P = 0.15  # transplant-related mortality
INFECTION_DEATH_P = 0.01
LOST_TO_FOLLOW_UP_P = 0.03
ENROLMENT_YEARS = 8
ACUTE_WINDOW = 30  # days after an infusion always followed (cut-off and loss to follow-up come later)
MIN_NON_RELAPSE_DEATH_DAY = 100

DEATH_CAUSES = (
    "disease progression",
    "cytokine release syndrome",
    "infection",
    "transplant-related",
    "other",
)
PROGRESSION_DETAILS = (
    "progressive disease (Lugano 2014)",
    "refractory: no remission at day 28",
    "CD19-negative relapse",
    "CD19-positive relapse",
    "relapse",
    "progressive disease (IMWG 2016)",
    "progressive disease (iwCLL 2018)",
)
NEVER = np.iinfo(np.int64).max // 4


def _logistic(x: np.ndarray) -> np.ndarray:
    # logistic approximation of the normal CDF (Bowling et al. 2009: 1.702)
    return 1.0 / (1.0 + np.exp(-1.702 * x))


def draw_patients(rng: np.random.Generator, n: int, cutoff: int) -> dict[str, np.ndarray]:
    """Baseline characteristics (seed Table 1 columns) and first infusion date per patient."""
    is_all = rng.random(n) < ALL_FRACTION
    age = np.where(
        is_all,
        np.clip(np.round(rng.normal(32, 14, n)), 12, 75),  # >= 12: ICE score applies (ASTCT 2019)
        np.clip(np.round(rng.normal(57, 12, n)), 18, 85),
    )
    male = rng.random(n) < 0.6
    adult_weight = np.where(male, 76.0, 64.0) * np.exp(0.15 * rng.standard_normal(n))
    weight = np.round(np.where(age < 18, np.minimum(adult_weight, 25 + 2.5 * (age - 8)), adult_weight), 1)
    u = rng.random(n)
    subtype_lymphoma = np.where(u < 0.45, 0, 1)  # GCB, non-GCB
    subtype_all = np.where(u < 0.6, 2, np.where(u < 0.85, 3, 4))  # common B, common B (Ph+), pro-B
    stage = np.searchsorted(np.cumsum([0.05, 0.15, 0.30]), rng.random(n))  # I..IV
    ipi = np.clip(rng.binomial(5, 0.55, n), 0, 5)
    blasts = np.round(5 + 90 * rng.beta(2.0, 2.0, n), 1)  # relapsed/refractory: >= 5% blasts
    prior = np.where(is_all, 1 + rng.poisson(3.0, n), 2 + rng.poisson(3.0, n))
    refractory = rng.random(n) < 0.5
    span = ENROLMENT_YEARS * 365
    first_infusion = cutoff - ACUTE_WINDOW - np.floor(rng.random(n) * span).astype(np.int64)
    lost = rng.random(n) < LOST_TO_FOLLOW_UP_P
    lost_day = first_infusion + 60 + np.floor(rng.random(n) * 1500).astype(np.int64)
    inflammation = rng.standard_normal(n)
    return {
        "is_all": is_all,
        "age": age,
        "male": male,
        "weight": weight,
        "subtype": np.where(is_all, subtype_all, subtype_lymphoma),
        "stage": stage,
        "ipi": ipi,
        "blasts": blasts,
        "prior": prior,
        "refractory": refractory,
        "first_infusion": first_infusion,
        "lost": np.where(lost, lost_day, NEVER),
        "inflammation": inflammation,
    }


def draw_episodes(
    rng: np.random.Generator, pat: dict[str, np.ndarray], pidx: np.ndarray, number: int, infusion: np.ndarray,
    bcma: bool = False, lymphoma_p: tuple[float, float, float, float] | None = None,
) -> dict[str, np.ndarray]:
    """Everything that happens in one CAR-T episode for the patients ``pidx``; ``bcma``: a BCMA product, with
    its own expansion and sampling days (simulate/kinetics.py); the draws are the same in number and order.
    ``lymphoma_p``: the lymphoma best-response probabilities in ``LYMPHOMA_P``'s order (PD, SD, PR, CR) instead
    of ``LYMPHOMA_P``'s (a design's own product, simulate/designs.py); the same draws, only the cut points move."""
    n = pidx.shape[0]
    cd22 = np.full(n, number == 2)
    is_all = pat["is_all"][pidx]
    infl = pat["inflammation"][pidx] + 0.5 * rng.standard_normal(n)
    dose = np.round(np.clip(rng.normal(2.08, 0.25, n), 1.0, 5.0), 2)  # seed: 2.09 +/- 0.17 x 10^6/kg
    transduction = np.round(np.clip(rng.normal(47.0 if number == 1 else 42.0, 18.0, n), 5.0, 95.0), 1)
    harvest = np.round(np.maximum(dose * 1.05, dose * np.exp(rng.normal(0.9, 0.5, n))), 2)
    ep = {
        "pidx": pidx,
        "episode": np.full(n, number, dtype=np.int64),
        "cd22": cd22,
        "is_all": is_all,
        "infusion": infusion,
        "dose": dose,
        "transduction": transduction,
        "harvest": harvest,
        "inflammation": infl,
    }
    car = kinetics.draw_car_parameters(rng, dose, cd22, bcma=bcma)
    ep.update({f"car_{k}": v for k, v in car.items()})
    tox = toxicity.draw_crs_icans(rng, car["cmax_z"], car["tmax"], is_all, cd22, infl)
    ep.update(tox)
    curves = kinetics.car_curves(rng, car, kinetics.BCMA_KINETIC_DAYS if bcma else kinetics.KINETIC_DAYS)
    ep["kinetics"] = {"car_t_pct_cd3": curves["car_t_pct_cd3"], "car_dna": curves["car_dna"]}
    ep["cytokines"] = kinetics.cytokine_curves(rng, curves["relative"], tox["crs_grade"])
    course = toxicity.daily_course(tox)
    ep["course"] = course
    ep["vitals"] = toxicity.vital_signs(rng, tox["crs_grade"], course)
    ep["support"] = toxicity.draw_support_choices(rng, tox)
    ep["neuro"] = toxicity.neuro_grid(rng, tox, course)
    severity = 0.4 * tox["crs_grade"] - 0.6 + 0.4 * infl
    ep["counts"] = counts.count_grids(rng, is_all, cd22, severity)
    ep["chemistry"] = counts.chemistry(rng, is_all, infl)
    ep["symptoms"] = rng.random((n, 4))
    ep["infection"] = rng.random(n) < np.where(is_all, 0.15, 0.06)
    ep["infection_onset"] = rng.integers(5, 31, n)
    ep["infection_grade"] = rng.integers(2, 4, n)
    _draw_response(rng, ep, number, lymphoma_p)
    return ep


def _draw_response(rng: np.random.Generator, ep: dict, number: int, lymphoma_p=None) -> None:
    """Best response, progression/relapse day, HSCT and death candidates (days from infusion)."""
    n = ep["pidx"].shape[0]
    is_all = ep["is_all"]
    # Expansion-linked latent response: higher Cmax, better response.
    u = _logistic(0.5 * ep["car_cmax_z"] + np.sqrt(0.75) * rng.standard_normal(n))
    lym = np.searchsorted(np.cumsum(LYMPHOMA_P[number - 1] if lymphoma_p is None else lymphoma_p)[:-1],
                          u)  # 0 PD, 1 SD, 2 PR, 3 CR
    lym_best = np.array(["PD", "SD", "PR", "CR"])[lym]
    remission = u > 1.0 - ALL_REMISSION_P[number - 1]
    # CR vs CRi from the day-28 counts (NCCN: ANC >= 1.0 and platelets >= 100 x 10^9/L)
    anc28 = ep["counts"]["anc"][:, -1]
    plt28 = ep["counts"]["platelets"][:, -1]
    full = (anc28 >= 1.0) & (plt28 >= 100.0)
    all_best = np.where(remission, np.where(full, "CR", "CRi"), "NR")
    best = np.where(is_all, all_best, lym_best)

    durable_p = np.select(
        [best == "CR", best == "PR", best == "SD"], [DURABLE["CR"], DURABLE["PR"], DURABLE["SD"]], 0.0
    )
    durable_p = np.where(is_all & remission, DURABLE["ALL"][number - 1], durable_p)
    durable = rng.random(n) < durable_p
    mean_ttp = np.select(
        [best == "CR", best == "PR", best == "SD"],
        [MEAN_DAYS_TO_PROGRESSION["CR"], MEAN_DAYS_TO_PROGRESSION["PR"], MEAN_DAYS_TO_PROGRESSION["SD"]],
        MEAN_DAYS_TO_PROGRESSION["ALL"],
    )
    ttp = 1 + np.floor(rng.exponential(1.0, n) * mean_ttp).astype(np.int64)
    # lymphoma: progression is found at the day-90 PET when it happens before it
    lym_prog = np.where(lym_best == "PD", 30, np.maximum(30 + ttp, 90))
    all_prog = np.where(remission, 28 + ttp, 28)
    prog = np.where(is_all, all_prog, lym_prog)
    prog = np.where(durable, NEVER, prog)
    # day-90 PET: a PR may deepen to CR
    r90 = np.where((lym_best == "PR") & (rng.random(n) < 0.35), "CR", lym_best)

    # allogeneic HSCT in remission
    hsct_p = np.where(
        is_all & remission, HSCT_P["ALL"], np.where(~is_all & (best == "CR"), HSCT_P["lymphoma"], 0)
    )
    hsct_day = np.where(is_all, 28 + 30, 90 + 10) + rng.integers(0, 61, n)
    hsct = (rng.random(n) < hsct_p) & (hsct_day < prog)
    # HSCT consolidates: relapse, if any, comes later
    prog = np.where(hsct & (prog < NEVER), hsct_day + 3 * (prog - hsct_day), prog)

    # death candidates
    early = np.where(ep["crs_death_day"] > 0, ep["crs_death_day"], NEVER)
    infection_death = rng.random(n) < INFECTION_DEATH_P
    inf_day = rng.integers(15, 61, n)
    cause = np.full(n, 4)  # other
    death = MIN_NON_RELAPSE_DEATH_DAY + np.floor(rng.exponential(MEAN_NON_RELAPSE_SURVIVAL, n)).astype(
        np.int64
    )
    after_prog = (
        prog
        + 1
        + np.floor(
            rng.exponential(1.0, n)
            * np.where(is_all, MEAN_SURVIVAL_AFTER_PROGRESSION[True], MEAN_SURVIVAL_AFTER_PROGRESSION[False])
        ).astype(np.int64)
    )
    after_prog = np.where(prog < NEVER, after_prog, NEVER)
    trm = np.where(hsct & (rng.random(n) < TRM_P), hsct_day + rng.integers(30, 201, n), NEVER)
    for day, c in ((after_prog, 0), (trm, 3), (np.where(infection_death, inf_day, NEVER), 2), (early, 1)):
        cause = np.where(day < death, c, cause)
        death = np.minimum(death, day)
    # nothing is observed after death: an early death precludes progression and HSCT
    prog = np.where(prog < death, prog, NEVER)
    hsct = hsct & (hsct_day < death)

    relapse_detail = np.where(
        ep["cd22"], 4, np.where(rng.random(n) < 0.5, 2, 3)
    )  # ep1 B-ALL relapses: half CD19-negative (seed Fig 1)
    ep.update(
        {
            "best": best,
            "r30": lym_best,
            "r90": r90,
            "prog": prog,
            "prog_kind": np.where(is_all & remission, 1, 0),  # 1 relapse, 0 progression
            "prog_detail": np.where(is_all, np.where(remission, relapse_detail, 1), 0),
            "hsct": hsct,
            "hsct_day": np.where(hsct, hsct_day, NEVER),
            "death": death,
            "death_cause": cause,
            "assess": rng.random((n, 8)),
        }
    )


def simulate_cohort(rng: np.random.Generator, n: int, cutoff: int) -> tuple[dict, dict]:
    """Patients and all their episodes (sorted by patient, then episode), with observation ends."""
    pat = draw_patients(rng, n, cutoff)
    pidx = np.arange(n)
    ep1 = draw_episodes(rng, pat, pidx, 1, pat["first_infusion"])

    gap = 21 + np.ceil(rng.gamma(2.0, 15.0, n)).astype(np.int64)
    second_date = ep1["infusion"] + np.minimum(ep1["prog"], NEVER // 2) + gap
    eligible = (
        (ep1["prog"] < NEVER)
        & ~ep1["hsct"]
        & (second_date < ep1["infusion"] + ep1["death"])
        # the acute window (days 0-30) of a second episode is always observed
        & (second_date <= cutoff - ACUTE_WINDOW)
        & (second_date < pat["lost"] - ACUTE_WINDOW)
        & (rng.random(n) < SECOND_EPISODE_P)
    )
    idx2 = np.flatnonzero(eligible)
    ep2 = draw_episodes(rng, pat, idx2, 2, second_date[idx2])

    # patient-level death: from the last episode
    death_abs = ep1["infusion"] + ep1["death"]
    cause = ep1["death_cause"].copy()
    death_abs[idx2] = ep2["infusion"] + ep2["death"]
    cause[idx2] = ep2["death_cause"]
    death_abs = np.minimum(death_abs, NEVER)
    death_seen = (death_abs <= cutoff) & (death_abs <= pat["lost"])
    obs_end = np.minimum(np.minimum(death_abs, pat["lost"]), cutoff)
    pat.update(
        {
            "death_abs": death_abs,
            "death_seen": death_seen,
            "death_cause": cause,
            "obs_end": obs_end,
            "last_episode": np.where(eligible, 2, 1),
            "last_infusion": np.where(eligible, second_date, ep1["infusion"]),
        }
    )
    episodes = _interleave(ep1, ep2)
    episodes["end_day"] = obs_end[episodes["pidx"]] - episodes["infusion"]
    return pat, episodes


def _interleave(a: dict, b: dict) -> dict:
    """Concatenate two episode dicts and sort by (patient, episode)."""
    order = np.lexsort((np.concatenate([a["episode"], b["episode"]]), np.concatenate([a["pidx"], b["pidx"]])))
    return _merge(a, b, order)


def _merge(a, b, order):
    if isinstance(a, dict):
        return {k: _merge(a[k], b[k], order) for k in a}
    return np.concatenate([a, b])[order]
