"""Study designs the simulator writes besides the seed's sequential shape (``cohort.simulate_cohort``).

* ``single-arm``: a pivotal single-arm trial (JULIET, ZUMA-1, ELIANA): every patient enrolled and
  leukapheresed, one CD19 CAR-T product; ``NEVER_INFUSED_SINGLE_ARM`` of them never infused
  (JULIET: 167 enrolled, 111 infused; Schuster SJ et al., N Engl J Med 2019;380:45).
* ``randomised``: CAR-T against standard of care (SOC) in relapsed/refractory large B-cell lymphoma,
  randomised 1:1 (the shape of ZUMA-7: Locke FL et al., N Engl J Med 2022;386:640). The CAR-T arm is
  leukapheresed a few days after randomisation and infused after a vein-to-vein time of 3-6 weeks;
  ``NEVER_INFUSED_CAR_T`` of it (ZUMA-7: 10 of 180) is never infused, each with a reason; its responses
  (``CAR_T_ARM_LYMPHOMA_P``) give ZUMA-7's axi-cel ITT ORR 83% and CR 65%. The SOC arm is never infused
  with CAR-T; with ``crossover`` a share of SOC patients who fail get CAR-T after failure (an
  infusion, episode 1, after their SOC progression and new therapy). Each SOC patient's response to SOC
  is one PET-CT assessment of the randomised treatment (assessments episode 0, dated from randomisation),
  before any crossover: on ``SOC_ASSESSMENT_DAY``, or PD on the day of an earlier failure; the cured are
  CR, and the others' CR / PR / SD are drawn so that the expected ORR and CR rate of the arm are ZUMA-7's
  SOC rates (ORR 50%, CR 32%; Locke FL et al., N Engl J Med 2022;386:640, Table 2).

Patients who are infused get their CAR-T episode from ``cohort.draw_episodes`` (kinetics,
toxicity, responses, follow-up), so every table of an infused patient is as in the sequential
design. Outcomes of patients who are not infused (SOC, never infused) are drawn per patient:
rates are simulation assumptions in the range those trials report (SOC median EFS ~2 months),
not estimates. All arrays are per patient (``pat``) or per episode (``eps``), as ``cohort``'s.
"""

from __future__ import annotations

import numpy as np

from cartkit.simulate import cohort

NEVER = cohort.NEVER
ARMS = ("CAR-T", "standard of care")
# codes of study.vocabulary "never_infused_reason"
NEVER_INFUSED_REASONS = ("manufacturing failure", "death", "progression", "withdrawal")
NEVER_INFUSED_REASON_P = (0.35, 0.25, 0.25, 0.15)
# ZUMA-7 (Locke FL et al., N Engl J Med 2022;386:640): 170 of the 180 patients randomised to axi-cel were
# infused (94%); the others are never infused, and count as non-responders by intention to treat
NEVER_INFUSED_CAR_T = 10 / 180
# the CAR-T arm's best response, calibrated to ZUMA-7's axi-cel arm by intention to treat (Locke 2022: ORR 83%,
# CR 65% of the 180 randomised): among the infused (170/180) ORR 0.83 x 180/170 = 0.879 and CR 0.688. The
# day-30 draw (order of cohort.LYMPHOMA_P: PD, SD, PR, CR) is set so that what cartkit counts comes out there:
# cohort._draw_response deepens some PRs to CR at the day-90 PET (35% of those still assessed, about 23% of
# day-30 PRs) and early deaths leave about 1% of the infused without a response. Measured on 20,000 patients
# (seed 1; 9,958 in the CAR-T arm): ITT ORR 83.3%, CR 65.6% (before, with cohort.LYMPHOMA_P and 15% never
# infused: 46.9% / 38.0% on 2,000 patients, below the SOC arm's 50%). SD 5% and the PD remainder are
# assumptions, not ZUMA-7 numbers. Crossover patients' CAR-T episodes use the same draw. Tested on 4,000
# patients within 4 binomial SEs (tests/test_simulate_randomised_calibration.py).
CAR_T_ARM_LYMPHOMA_P = (0.064, 0.05, 0.25, 0.636)
ZUMA7_ITT_ORR, ZUMA7_ITT_CR = 0.83, 0.65
NEVER_INFUSED_SINGLE_ARM = 0.10
VEIN_TO_VEIN_DAYS = (21, 42)  # leukapheresis to infusion, uniform (whole days)
RANDOMISATION_TO_LEUKAPHERESIS = (2, 6)
ENROLMENT_TO_LEUKAPHERESIS = (3, 10)
# standard of care (salvage chemotherapy, autologous HSCT in responders): fraction cured; mean days from
# randomisation to failure (progression) of the others; mean days from failure to death
SOC_CURED = 0.20
SOC_MEAN_DAYS_TO_FAILURE = 60.0
MEAN_DAYS_FAILURE_TO_DEATH = cohort.MEAN_SURVIVAL_AFTER_PROGRESSION[False]  # as after CAR-T failure (DLBCL)
NEW_THERAPY_AFTER_FAILURE = (7, 21)
CROSSOVER_P = 0.55
CROSSOVER_DELAY = (28, 60)  # failure to CAR-T infusion
PER_PROTOCOL_P = 0.92
# SOC response (ZUMA-7 SOC arm, Locke 2022 Table 2: ORR 50%, CR 32%), assessed after salvage chemotherapy
SOC_ORR, SOC_CR = 0.50, 0.32
SOC_ASSESSMENT_DAY = 50  # days from randomisation
SOC_RESPONSES = ("CR", "PR", "SD", "PD")
_NONE = -1


def _uniform_days(rng: np.random.Generator, bounds: tuple[int, int], n: int) -> np.ndarray:
    return rng.integers(bounds[0], bounds[1] + 1, n).astype(np.int64)


def _no_episode_outcomes(rng: np.random.Generator, n: int, start: np.ndarray) -> dict[str, np.ndarray]:
    """Failure (progression), new therapy and death of patients treated without CAR-T, from ``start``."""
    cured = rng.random(n) < SOC_CURED
    failure = start + 1 + np.floor(rng.exponential(SOC_MEAN_DAYS_TO_FAILURE, n)).astype(np.int64)
    failure = np.where(cured, NEVER, failure)
    new_therapy = np.where(cured, NEVER, failure + _uniform_days(rng, NEW_THERAPY_AFTER_FAILURE, n))
    after = failure + 1 + np.floor(rng.exponential(MEAN_DAYS_FAILURE_TO_DEATH, n)).astype(np.int64)
    other = start + cohort.MIN_NON_RELAPSE_DEATH_DAY + np.floor(
        rng.exponential(cohort.MEAN_NON_RELAPSE_SURVIVAL, n)).astype(np.int64)
    death = np.minimum(np.where(cured, NEVER, after), other)
    cause = np.where(death == other, 4, 0)  # other, disease progression
    return {"failure": failure, "new_therapy": new_therapy, "death": death, "cause": cause}


def _finish(pat: dict, eps: dict, cutoff: int, episode_death: np.ndarray, episode_cause: np.ndarray,
            infused: np.ndarray, own: dict) -> tuple[dict, dict]:
    """Patient-level death, observation end and pre-infusion events; episodes' end days."""
    death_abs = np.where(infused, episode_death, own["death"])
    cause = np.where(infused, episode_cause, own["cause"])
    death_abs = np.minimum(death_abs, NEVER)
    death_seen = (death_abs <= cutoff) & (death_abs <= pat["lost"])
    obs_end = np.minimum(np.minimum(death_abs, pat["lost"]), cutoff)
    # follow-up events of the patient outside a CAR-T episode (before a crossover infusion, or never infused)
    pre_end = np.where(infused, pat["infusion_planned"] - 1, obs_end)
    pat.update({
        "death_abs": death_abs, "death_seen": death_seen, "death_cause": cause, "obs_end": obs_end,
        "last_episode": np.where(infused, 1, 0), "last_infusion": np.where(infused, pat["infusion_planned"], NEVER),
        "pre_progression": np.where(own["failure"] <= pre_end, own["failure"], NEVER),
        "pre_new_therapy": np.where(own["new_therapy"] <= pre_end, own["new_therapy"], NEVER),
        "infused": infused,
    })
    eps["end_day"] = obs_end[eps["pidx"]] - eps["infusion"]
    return pat, eps


def _episodes(rng: np.random.Generator, pat: dict, idx: np.ndarray, infusion: np.ndarray, n: int,
              disease: str | None = None, lymphoma_p: tuple[float, float, float, float] | None = None):
    ep = cohort.draw_episodes(rng, pat, idx, 1, infusion[idx], bcma=disease == "myeloma", lymphoma_p=lymphoma_p)
    if disease is not None:  # the disease's own response course replaces the generic one
        _, product, subtype, _, _ = DISEASES[disease]
        disease_module(disease).apply(rng, ep)
        ep["product_code"] = np.full(idx.size, product)
        pat["subtype"] = np.full(n, subtype)
        pat["subtype"][idx] = subtype + ep["subtype_code"]
    death = np.full(n, NEVER)
    cause = np.full(n, 4)
    death[idx] = ep["infusion"] + ep["death"]
    cause[idx] = ep["death_cause"]
    return ep, death, cause


def simulate_single_arm(rng: np.random.Generator, n: int, cutoff: int, disease: str | None = None
                        ) -> tuple[dict, dict]:
    """Single-arm trial (module docs): enrolment and leukapheresis for everyone, one product.

    ``disease`` "myeloma" (a BCMA CAR-T product, simulate/myeloma.py) or "CLL" (CD19 CAR-T,
    simulate/cll.py) gives a cohort of that disease; None the lymphoma/B-ALL mix."""
    pat = cohort.draw_patients(rng, n, cutoff)
    if disease is not None:
        _disease_patients(rng, pat, n, disease)
    v2v = _uniform_days(rng, VEIN_TO_VEIN_DAYS, n)
    leukapheresis = pat["first_infusion"] - v2v
    enrolment = leukapheresis - _uniform_days(rng, ENROLMENT_TO_LEUKAPHERESIS, n)
    never = rng.random(n) < NEVER_INFUSED_SINGLE_ARM
    reason = np.searchsorted(np.cumsum(NEVER_INFUSED_REASON_P)[:-1], rng.random(n))
    pat.update(_milestones(pat, enrolment, leukapheresis, None, None, never, reason, rng, n))
    own = _never_infused_outcomes(rng, pat, never, reason, leukapheresis, n)
    infused = ~never
    for k in ("failure", "new_therapy"):  # an infused patient's events come from their CAR-T episode
        own[k] = np.where(infused, NEVER, own[k])
    idx = np.flatnonzero(infused)
    eps, death, cause = _episodes(rng, pat, idx, pat["infusion_planned"], n, disease)
    return _finish(pat, eps, cutoff, death, cause, infused, own)


# disease cohorts: diagnosis code (simulate/tables.py DIAGNOSES), product code (cohort.PRODUCTS), first
# subtype code (tables.SUBTYPES), the module that draws the disease course; ages and prior lines are
# simulation assumptions in the range of KarMMa / CARTITUDE-1 (median 61-63 years, 5-6 prior lines) and
# TRANSCEND CLL 004 (median 65 years, 5 prior lines)
DISEASES = {"myeloma": (2, 2, 5, 61.0, 5.0), "CLL": (3, 0, 8, 65.0, 4.0)}


def disease_module(disease: str):
    from cartkit.simulate import cll, myeloma

    return myeloma if disease == "myeloma" else cll


def _disease_patients(rng: np.random.Generator, pat: dict, n: int, disease: str) -> None:
    dx, _, _, age, prior = DISEASES[disease]
    pat["is_all"] = np.zeros(n, dtype=bool)
    pat["dx"] = np.full(n, dx)
    pat["age"] = np.clip(np.round(rng.normal(age, 9, n)), 35, 85)
    pat["prior"] = 1 + rng.poisson(prior - 1, n)


def simulate_randomised(rng: np.random.Generator, n: int, cutoff: int, crossover: bool = False
                        ) -> tuple[dict, dict]:
    """CAR-T vs standard of care, 1:1 (module docs); large B-cell lymphoma only."""
    pat = cohort.draw_patients(rng, n, cutoff)
    _lymphoma_only(rng, pat, n)
    arm = (rng.random(n) < 0.5).astype(np.int64)  # 0 CAR-T, 1 standard of care
    v2v = _uniform_days(rng, VEIN_TO_VEIN_DAYS, n)
    to_leuka = _uniform_days(rng, RANDOMISATION_TO_LEUKAPHERESIS, n)
    randomisation = pat["first_infusion"] - v2v - to_leuka
    car_t = arm == 0
    leukapheresis = np.where(car_t, randomisation + to_leuka, NEVER)
    enrolment = randomisation - _uniform_days(rng, (0, 7), n)
    never = car_t & (rng.random(n) < NEVER_INFUSED_CAR_T)
    if n and not (car_t & ~never).any():  # a tiny study (all drawn to SOC): its first patient is an infused CAR-T
        arm[0], never[0] = 0, False  # patient, so that the study has an infusion (no draw changes: others as before)
        car_t = arm == 0
        leukapheresis = np.where(car_t, randomisation + to_leuka, NEVER)
    reason = np.searchsorted(np.cumsum(NEVER_INFUSED_REASON_P)[:-1], rng.random(n))
    pat.update(_milestones(pat, enrolment, leukapheresis, randomisation, arm, never, reason, rng, n))
    own = _never_infused_outcomes(rng, pat, never, reason, leukapheresis, n)
    soc = _no_episode_outcomes(rng, n, randomisation)
    for k in own:
        own[k] = np.where(car_t, own[k], soc[k])
    infused = car_t & ~never
    for k in ("failure", "new_therapy"):  # an infused patient's events come from their CAR-T episode
        own[k] = np.where(infused, NEVER, own[k])
    if crossover:  # SOC failures get CAR-T after their failure, when alive and followed long enough
        planned = soc["failure"] + _uniform_days(rng, CROSSOVER_DELAY, n)
        cross = (~car_t & (soc["failure"] < NEVER) & (planned < soc["death"]) & (planned <= cutoff - cohort.ACUTE_WINDOW)
                 & (planned < pat["lost"] - cohort.ACUTE_WINDOW) & (rng.random(n) < CROSSOVER_P))
        pat["infusion_planned"] = np.where(cross, planned, pat["infusion_planned"])
        infused = infused | cross
    _soc_responses(rng, pat, soc, ~car_t, infused & ~car_t, cutoff)
    idx = np.flatnonzero(infused)
    eps, death, cause = _episodes(rng, pat, idx, pat["infusion_planned"], n, lymphoma_p=CAR_T_ARM_LYMPHOMA_P)
    return _finish(pat, eps, cutoff, death, cause, infused, own)


def _soc_responses(rng: np.random.Generator, pat: dict, soc: dict, in_soc: np.ndarray, crossed: np.ndarray,
                   cutoff: int) -> None:
    """``pat["soc_response"]`` (code of SOC_RESPONSES, -1: none) on ``pat["soc_response_day"]`` (module docs):
    PD at a failure before SOC_ASSESSMENT_DAY, CR when cured, else CR / PR / SD with the probabilities that
    give the expected ORR SOC_ORR and CR rate SOC_CR; seen only when the patient is alive and followed then
    (and, ``crossed`` over to CAR-T, not yet infused)."""
    day = pat["randomisation"] + SOC_ASSESSMENT_DAY
    early = soc["failure"] <= day
    cured = soc["failure"] >= NEVER
    p_early = 1.0 - np.exp(-SOC_ASSESSMENT_DAY / SOC_MEAN_DAYS_TO_FAILURE)  # exponential failure time
    late = (1.0 - SOC_CURED) * (1.0 - p_early)  # expected share failing after the assessment
    p_cr = (SOC_CR - SOC_CURED) / late
    p_pr = (SOC_ORR - SOC_CR) / late
    # a child stream (``Generator.spawn`` does not advance ``rng``): every other draw of the design is as before
    u = rng.spawn(1)[0].random(pat["randomisation"].size)
    drawn = np.where(u < p_cr, 0, np.where(u < p_cr + p_pr, 1, 2))
    response = np.where(early, 3, np.where(cured, 0, drawn))
    day = np.where(early, soc["failure"], day)
    seen = in_soc & (day < soc["death"]) & (day <= cutoff) & (day < pat["lost"])
    seen &= ~crossed | (day < pat["infusion_planned"])  # before the crossover infusion
    pat["soc_response"] = np.where(seen, response, _NONE)
    pat["soc_response_day"] = np.where(seen, day, NEVER)


def _lymphoma_only(rng: np.random.Generator, pat: dict, n: int) -> None:
    was_all = pat["is_all"]
    pat["is_all"] = np.zeros(n, dtype=bool)
    pat["age"] = np.where(was_all, np.clip(np.round(rng.normal(57, 12, n)), 18, 85), pat["age"])
    pat["subtype"] = np.where(was_all, rng.integers(0, 2, n), pat["subtype"])
    pat["prior"] = np.where(was_all, 1, pat["prior"])


def _milestones(pat: dict, enrolment, leukapheresis, randomisation, arm, never, reason, rng, n) -> dict:
    return {
        "enrolment": enrolment,
        "leukapheresis": leukapheresis,
        "randomisation": randomisation if randomisation is not None else np.full(n, NEVER),
        "arm": arm if arm is not None else np.full(n, _NONE),
        "never_reason": np.where(never, reason, _NONE),
        "per_protocol": ~never & (rng.random(n) < PER_PROTOCOL_P),
        "infusion_planned": pat["first_infusion"].copy(),
    }


def _never_infused_outcomes(rng: np.random.Generator, pat: dict, never: np.ndarray, reason: np.ndarray,
                            leukapheresis: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Outcomes of patients leukapheresed and never infused, by the reason they were not."""
    base = _no_episode_outcomes(rng, n, np.minimum(leukapheresis, NEVER // 2))
    early = np.minimum(leukapheresis, NEVER // 2) + _uniform_days(rng, (3, 20), n)
    died = never & (reason == 1)
    progressed = never & (reason == 2)
    withdrew = never & (reason == 3)
    failure = np.where(progressed, early, base["failure"])
    new_therapy = np.where(progressed, early + _uniform_days(rng, NEW_THERAPY_AFTER_FAILURE, n), base["new_therapy"])
    death = np.where(died, early, np.where(progressed, early + 1 + np.floor(
        rng.exponential(MEAN_DAYS_FAILURE_TO_DEATH / 2, n)).astype(np.int64), base["death"]))
    pat["lost"] = np.where(withdrew, early, pat["lost"])  # withdrew consent: no follow-up after
    cause = np.where(died | progressed, 0, base["cause"])
    return {"failure": failure, "new_therapy": new_therapy, "death": death, "cause": cause}
