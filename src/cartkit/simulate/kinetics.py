"""Simulated CAR-T expansion/contraction and the cytokines that follow it.

CAR transgene (qPCR, copies/ug) follows the Stein 2019 cellular-kinetic model
(``cartkit.kinetics.model.stein_curve``) with log-normal between-subject
variability and a log-normal residual error; CAR-T % of CD3+ (flow cytometry)
is a saturating function of the same latent curve; IL-6, sIL-2R, IL-8 and
TNF-a rise with the expansion, more steeply in episodes with severe CRS.
Every function takes whole arrays (one entry per episode) and draws from the
``numpy.random.Generator`` it is given, in a fixed order, so a seed fixes the
output.
"""

from __future__ import annotations

import numpy as np

from cartkit.kinetics.model import SteinParameters, stein_curve

# Sampling days of the seed study (Methods: FCM and qPCR on days 0, 4, 7, 14, 21, 28).
KINETIC_DAYS = np.array([0, 4, 7, 14, 21, 28])

# Stein 2019 (CPT Pharmacometrics Syst Pharmacol 8:285, Table 2) between-subject
# variances on the log scale, as listed in docs/criteria.md, "Cellular-kinetic model (Stein 2019)"; residual error
# 0.56 on the log scale (used as the SD of the log residual).
STEIN_BSV_VARIANCE = {"foldx": 2.4, "tmax": 0.38, "cmax": 0.65, "alpha": 0.91, "fb": 0.8, "beta": 0.86}
STEIN_RESIDUAL_SD_LOG = 0.56

# Simulation assumptions (not from a source): the CD22 product peaks later
# (seed Results: CD22 peak day 14 (7-14) vs CD19 day 7 (7-7)); Tmax is kept in
# the sampled 0-28 day window; FB stays a fraction.
CD22_TMAX_FACTOR = 1.5
TMAX_RANGE = (2.0, 28.0)

# BCMA products (the myeloma cohort, simulate/myeloma.py) have their own typical values; the CD19 values of
# Stein 2019 (tisagenlecleucel) peak earlier and lower and contract faster than BCMA CAR-T:
# * Cmax: ciltacabtagene autoleucel, CARTITUDE-1 (Berdeja JG et al., Lancet 2021;398:314; transgene PK of
#   the phase 1b/2 cohort, N = 97, in the product's pharmacology summary): mean 48,692 (SD 27,174) copies/ug
#   genomic DNA, i.e. a CV of 56% and a geometric mean of about 42,500 (mean / sqrt(1 + CV^2)), the typical
#   value here;
# * Tmax: median 12.71 days (range 8.73-329.77) for cilta-cel; a median of 11 days for idecabtagene
#   vicleucel in KarMMa (Munshi NC et al., N Engl J Med 2021;384:705): typical 12 days;
# * contraction: alpha 0.1/day (Stein's CD19 value 0.16) is calibrated, not published: with it a simulated
#   BCMA cohort (120 patients, seed 11) has an observed peak a median of 14 days after the infusion at a
#   median 47,000 copies/ug (cilta-cel: Tmax median 12.7 days, Cmax mean 48,692) and a day 28-90 half-life
#   of median 15 days (cilta-cel's transgene half-life: mean 23.5, SD 24.2 days, a skewed spread); alpha =
#   ln 2 / 23.5 put the observed peak at day 21, later than either product's;
# * approximated: FOLDX, the persistence phase (beta, FB) and every between-subject variance are Stein 2019's
#   (no BCMA estimates were at hand; beta and FB are also what the report's model fit fixes), so the shape
#   is tisagenlecleucel's with BCMA's peak, timing and decline.
BCMA_TYPICAL = {"cmax": 42_500.0, "tmax": 12.0, "alpha": 0.1}
# BCMA trials sample transgene densely in the first month and then monthly (KarMMa, CARTITUDE-1 schedules,
# approximated): days 0, 4, 7, 11, 14, 21, 28, 56 and 90. The CD19 cohorts keep the seed's days.
BCMA_KINETIC_DAYS = np.array([0, 4, 7, 11, 14, 21, 28, 56, 90])
BCMA_TMAX_RANGE = (2.0, 60.0)
FOLDX_RANGE = (10.0, 1e7)
FB_MAX = 0.5
DOSE_EXPONENT = 0.3  # Cmax ~ (dose / 2e6 per kg) ** 0.3
TYPICAL_DOSE_1E6_PER_KG = 2.0

# qPCR lower limit of quantification, 50 copies/ug genomic DNA (Mueller KT et al.,
# Blood 2017;130:2317-2325, tisagenlecleucel cellular kinetics). Flow cytometry
# LLOQ 0.01 % of CD3+ is a simulation assumption.
CAR_DNA_LLOQ = 50.0
CAR_T_PCT_LLOQ = 0.01
# CAR-T % of CD3+ = 100 * C / (C + K): K sets the typical peak (24,000 copies/ug -> ~4.6 %).
CAR_T_PCT_HALF_SATURATION = 5e5
CAR_T_PCT_RESIDUAL_SD_LOG = 0.35

# Cytokines: baseline median (canonical unit), baseline log-SD, log-fold rise at the
# expansion peak with no CRS, extra log-fold per CRS grade, decimals written.
# Simulation assumptions shaped on the seed's Figure 6 (peaks with CAR-T expansion,
# higher in episodes with more CRS).
CYTOKINES = {
    "il6": (5.0, 0.6, 1.0, 0.9, 1),
    "il2r": (900.0, 0.5, 0.8, 0.35, 0),
    "il8": (15.0, 0.6, 0.6, 0.4, 1),
    "tnfa": (8.0, 0.5, 0.4, 0.25, 1),
}
CYTOKINE_RESIDUAL_SD_LOG = 0.25


def draw_car_parameters(
    rng: np.random.Generator, dose: np.ndarray, cd22: np.ndarray, bcma: bool = False
) -> dict[str, np.ndarray]:
    """Individual Stein 2019 parameters: typical value * exp(eta), eta ~ N(0, omega^2).

    ``bcma``: the episodes are of a BCMA product, with ``BCMA_TYPICAL`` values; the draws are the same
    (same number, same order), so a CD19 cohort's values do not depend on this option."""
    n = dose.shape[0]
    typical = SteinParameters()
    if bcma:
        typical = SteinParameters(**{**typical.__dict__, **BCMA_TYPICAL})
    eta = {name: rng.standard_normal(n) * np.sqrt(var) for name, var in STEIN_BSV_VARIANCE.items()}
    cmax = typical.cmax * np.exp(eta["cmax"]) * (dose / TYPICAL_DOSE_1E6_PER_KG) ** DOSE_EXPONENT
    tmax = typical.tmax * np.exp(eta["tmax"]) * np.where(cd22, CD22_TMAX_FACTOR, 1.0)
    return {
        "cmax": cmax,
        "tmax": np.clip(tmax, *(BCMA_TMAX_RANGE if bcma else TMAX_RANGE)),
        "foldx": np.clip(typical.foldx * np.exp(eta["foldx"]), *FOLDX_RANGE),
        "alpha": typical.alpha * np.exp(eta["alpha"]),
        "beta": typical.beta * np.exp(eta["beta"]),
        "fb": np.minimum(typical.fb * np.exp(eta["fb"]), FB_MAX),
        # standardised expansion, used to link CRS and response to expansion
        "cmax_z": eta["cmax"] / np.sqrt(STEIN_BSV_VARIANCE["cmax"]),
    }


def kinetic_days(values: np.ndarray) -> np.ndarray:
    """The sampling days of an episodes x days array of ``car_curves`` or ``cytokine_curves``: the BCMA
    schedule or the CD19 one, told apart by their number of days."""
    return BCMA_KINETIC_DAYS if values.shape[1] == BCMA_KINETIC_DAYS.size else KINETIC_DAYS


def car_curves(rng: np.random.Generator, p: dict[str, np.ndarray], days: np.ndarray = KINETIC_DAYS
               ) -> dict[str, np.ndarray]:
    """True and observed CAR DNA and CAR-T % on ``days`` (``KINETIC_DAYS``, or ``BCMA_KINETIC_DAYS``;
    arrays episodes x days).

    Observed values below the LLOQ are NaN (written as blq); values are rounded
    as a laboratory reports them.
    """
    t = days[None, :]
    true = stein_curve(
        t,
        p["cmax"][:, None],
        p["tmax"][:, None],
        p["foldx"][:, None],
        p["alpha"][:, None],
        p["beta"][:, None],
        p["fb"][:, None],
    )
    dna = np.round(true * np.exp(rng.standard_normal(true.shape) * STEIN_RESIDUAL_SD_LOG))
    pct_true = 100.0 * true / (true + CAR_T_PCT_HALF_SATURATION)
    pct = pct_true * np.exp(rng.standard_normal(true.shape) * CAR_T_PCT_RESIDUAL_SD_LOG)
    pct = np.round(np.minimum(pct, 99.0), 3)
    return {
        "relative": true / p["cmax"][:, None],
        "car_dna": np.where(dna < CAR_DNA_LLOQ, np.nan, dna),
        "car_t_pct_cd3": np.where(pct < CAR_T_PCT_LLOQ, np.nan, pct),
    }


def cytokine_curves(
    rng: np.random.Generator, relative: np.ndarray, crs_grade: np.ndarray
) -> dict[str, np.ndarray]:
    """Cytokines on the days of ``relative`` (its CAR curve's): log level = log baseline + gain * C(t)/Cmax + noise."""
    out = {}
    n = relative.shape[0]
    for code, (median, sd, gain0, gain_per_grade, decimals) in CYTOKINES.items():
        base = np.log(median) + rng.standard_normal(n) * sd
        gain = np.maximum(
            gain0 + gain_per_grade * np.minimum(crs_grade, 4) + 0.3 * rng.standard_normal(n), 0.0
        )
        log_level = base[:, None] + gain[:, None] * relative
        log_level = log_level + rng.standard_normal(relative.shape) * CYTOKINE_RESIDUAL_SD_LOG
        out[code] = np.round(np.exp(log_level), decimals)
    return out
