"""Per-patient fits of the Stein 2019 cellular-kinetic model to CAR DNA (qPCR copies/ug).

Stein AM et al., CPT Pharmacometrics Syst Pharmacol 2019;8:285-295. With samples
only to day 28 the persistence phase (beta, FB) cannot be identified, so they are
fixed at the paper's typical values and said so (with the study's last sampling day:
a study sampled to day 90 is told the parameters are fixed, not that it cannot identify them); expansion (FOLDX, Tmax), Cmax and
the fast contraction (alpha) are estimated per episode with their 95% CIs. A
profile the data cannot support is listed with its reason, never dropped.
Each fit is many optimiser runs, so very large studies fit a fixed,
reproducible sample of episodes (``max_episodes``).
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.patient_order import patient_number
from cartkit.kinetics.model import SteinParameters

FIXED = {"beta": SteinParameters.beta, "fb": SteinParameters.fb}


# A fit's problems (``SteinFit.problems`` codes) in the report's words: what the data lack, and that no
# plan option changes it (the persistence parameters are already fixed; only more samples help).
_FOR_THE_REPORT = {
    "too_few_points": "fewer than {min_points} measurable samples (n={n})",
    "too_few_for_parameters": "only {n} measurable samples: too few to estimate the model's {n_free} parameters "
                              "for this episode (more sampling days are needed; no plan option changes this)",
    "too_few_days": "fewer than {min_points} distinct sampling days",
    "no_decline": "no decline after the peak: the contraction phase cannot be estimated",
    "no_rise": "no measurable sample before the peak: the expansion (FOLDX) cannot be estimated from these "
               "samples (no plan option changes this)",
    "no_convergence": "the model fit did not converge",
    "not_identifiable": "the samples cannot tell the model's parameters apart",
    "at_bound": "an estimate reached the edge of its allowed range: {at_bound}",
}


def clinical_reason(problems: list[str], n_points: int, at_bound: list[str]) -> str:
    """A fit's reason in the report's words (no programming advice); a fit that did not converge says only so."""
    from cartkit.kinetics.stein_fit import MIN_QUANTIFIABLE_POINTS, PARAMETERS

    if "no_convergence" in problems:
        problems = ["no_convergence"]
    fields = {"n": n_points, "n_free": len(PARAMETERS) - len(FIXED), "min_points": MIN_QUANTIFIABLE_POINTS,
              "at_bound": ", ".join(at_bound)}
    return "; ".join(_FOR_THE_REPORT[code].format(**fields) for code in problems)


# A converged fit whose 95% CI of a parameter spans more than this ratio (upper / lower) is flagged
# "poorly identified" (the report's table note says the same number). cartkit's reading rule, not a
# published cut-off.
POORLY_IDENTIFIED_RATIO = 100.0

# 4 optimiser starts reach the same optimum as 12 on every seed episode (largest relative
# difference in Cmax and alpha 1.5e-9) at a third of the time.
N_STARTS = 4


def ck_model_fits(measurements: pl.DataFrame, groups: pl.DataFrame, analyte: str = "car_dna",
                  max_episodes: int = 100, level: float = 0.95) -> tuple[pl.DataFrame | None, str]:
    from cartkit.analysis.formatting import confidence_label
    from cartkit.kinetics.stein_fit import fit_stein_table

    data = measurements.filter((pl.col("analyte") == analyte) & (pl.col("day") >= 0)).join(
        groups.select("patient_id", "episode"), on=["patient_id", "episode"], how="semi")
    episodes = data.select("patient_id", "episode").unique().sort("patient_id", "episode")
    if episodes.height == 0:
        return None, f"no {analyte} measurements after infusion"
    last_day = int(data.get_column("day").max())
    why = (f"sampling to day {last_day} cannot identify the persistence phase" if last_day <= 28 else
           f"the samples reach day {last_day}, but the persistence phase is not estimated per episode, "
           "so that every episode is fitted with the same model")
    note = f"beta and FB fixed at Stein 2019 typical values ({FIXED['beta']}/day, {FIXED['fb']}): {why}"
    if episodes.height > max_episodes:
        episodes = episodes.sample(n=max_episodes, seed=2019).sort("patient_id", "episode")
        data = data.join(episodes, on=["patient_id", "episode"], how="semi")
        note += f"; fitted in a reproducible sample of {max_episodes} episodes"
    blq = "blq" if "blq" in data.columns else None
    fits = fit_stein_table(data, by=("patient_id", "episode"), blq=blq, fixed=FIXED, n_starts=N_STARTS, level=level)
    fits = fits.join(groups.select("patient_id", "episode", "product", "diagnosis"), on=["patient_id", "episode"],
                     how="left")
    keep = ["patient_id", "episode", "product", "diagnosis", "converged", "reason", "n_points"]
    for p in ("cmax", "tmax", "foldx", "alpha"):
        keep += [c for c in (p, f"{p}_lower", f"{p}_upper") if c in fits.columns]
    reasons = [clinical_reason(*row) for row in fits.select("problems", "n_points", "at_bound").iter_rows()]
    fits = fits.select([c for c in keep if c in fits.columns]).with_columns(
        pl.lit(analyte).alias("analyte"), pl.Series("reason", reasons, dtype=pl.String))
    # a fit can converge with a parameter the data barely constrain: a 95% CI spanning more than
    # 100-fold (or unbounded) is flagged beside the estimate, not hidden behind "converged"
    wide = [
        pl.when(~(pl.col(f"{p}_upper") / pl.col(f"{p}_lower") <= POORLY_IDENTIFIED_RATIO)).then(pl.lit(p))
        for p in ("cmax", "tmax", "foldx", "alpha") if f"{p}_lower" in fits.columns
    ]
    if wide:
        flagged = pl.concat_list([w.otherwise(None) for w in wide]).list.drop_nulls().list.join(", ")
        fits = fits.with_columns(
            pl.when(pl.col("converged") & (flagged != ""))
            .then(pl.format(f"poorly identified ({confidence_label(level)} CI > {POORLY_IDENTIFIED_RATIO:g}-fold): {{}}",
                            flagged))
            .otherwise(pl.col("reason")).alias("reason")
        )
    # patients in their natural order (P2 before P10)
    fits = fits.sort(patient_number(), "patient_id",
                     "episode")
    return fits, note
