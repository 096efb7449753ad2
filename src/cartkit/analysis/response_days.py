"""The response at the protocol's planned assessment days (``[plan.response_days]``, docs/plan.md).

CAR-T studies report, beside the best overall response, the response at fixed assessments: the
day-28/30 and month-3 (day-90) response of the lymphoma trials (JULIET's primary endpoint was the
best ORR, its month-3 response the one that predicts durable remission: Schuster SJ et al., N Engl J
Med 2019;380:45; ZUMA-1 assessed at day 28 and months 3, 6: Neelapu SS et al., N Engl J Med
2017;377:2531), the day-28 CR/CRi of B-ALL (ELIANA: Maude SL et al., N Engl J Med 2018;378:439).

Rules (one place; docs/plan.md "Responses at the planned days"):

* each planned day ``d`` of an episode's disease family takes the response of the assessment
  nearest to ``d`` within ``d +/- response_window`` days (an earlier one on a tie); an assessment
  near two planned days counts for the nearer (the earlier on a tie), so windows never share one;
* an episode with no assessment in a window is "not assessed" at that day and counts in the
  denominator as not responding (intention to treat over the analysed episodes, as the best
  response's rates do), whatever the reason: death, a new therapy, follow-up not yet that long;
* responders and complete responses by the ORR / CR-rate rule of the episode's own disease
  (``response/criteria/best_response.toml`` [orr]: a B-ALL PR is not a response; Lugano PET labels
  as their radiological ones: CMR counts as CR);
* a post-infusion assessment with a response that is in no window is listed in a warning (patient,
  episode, day): it still counts in the best response, which is taken over every assessment.
"""

from __future__ import annotations

import polars as pl

from cartkit.analysis.patient_order import patient_number
from cartkit.analysis.responses import with_response_flags
from cartkit.response.best_response import bor_criteria, bor_label_expr
from cartkit.study.vocabulary import DIAGNOSES

KEYS = ["patient_id", "episode"]
_SHOWN = 10  # located off-day assessments listed per family in the warning, then "... and N more"

LISTING_SCHEMA = {"patient_id": pl.String, "diagnosis": pl.String, "episode": pl.Int64, "product": pl.String,
                  "planned_day": pl.Int64, "assessment_day": pl.Int64, "response": pl.String}


def _planned(groups: pl.DataFrame, response_days: dict[str, tuple[int, ...]]) -> pl.DataFrame:
    """One row per analysed episode and planned day of its disease family."""
    days = pl.DataFrame([(f, d) for f, ds in response_days.items() for d in sorted(set(ds))],
                        schema={"family": pl.String, "planned_day": pl.Int64}, orient="row")
    return groups.select(*KEYS, "product", "diagnosis").with_columns(
        family=pl.col("diagnosis").replace_strict(DIAGNOSES, default=None, return_dtype=pl.String)
    ).join(days, on="family", how="inner")


def response_at_days(assessments: pl.DataFrame, groups: pl.DataFrame, response_days: dict[str, tuple[int, ...]],
                     window: int) -> tuple[pl.DataFrame, list[str]]:
    """The per-episode listing (patient_id, diagnosis, episode, product, planned_day, assessment_day,
    response; null when not assessed) and the warnings on assessments off the planned days."""
    planned = _planned(groups, response_days)
    if planned.height == 0:
        return pl.DataFrame(schema=LISTING_SCHEMA), []
    seen = assessments.filter((pl.col("day") >= 1) & pl.col("response").is_not_null()).select(
        *KEYS, "day", bor_label_expr(pl.col("response")).alias("label")).filter(pl.col("label").is_not_null())
    seen = seen.join(planned.select(*KEYS, "family", "diagnosis").unique(KEYS), on=KEYS, how="inner")
    candidates = seen.join(planned.select(*KEYS, "planned_day"), on=KEYS, how="inner").with_columns(
        distance=(pl.col("day") - pl.col("planned_day")).abs())
    # each assessment counts for its nearest planned day (the earlier on a tie), if within the window
    nearest = candidates.sort("distance", "planned_day").unique([*KEYS, "day"], keep="first")
    in_window = nearest.filter(pl.col("distance") <= window)
    # each planned day takes its nearest assessment (the earlier on a tie); the best of a day's several rows
    rank = bor_criteria()["rank"]
    chosen = in_window.with_columns(pl.col("label").replace_strict(rank, default=99, return_dtype=pl.Int64)
                                    .alias("_rank")).sort("distance", "day", "_rank").unique(
        [*KEYS, "planned_day"], keep="first")
    listing = planned.join(chosen.select(*KEYS, "planned_day", pl.col("day").alias("assessment_day"),
                                         pl.col("label").alias("response")),
                           on=[*KEYS, "planned_day"], how="left")
    listing = listing.select(list(LISTING_SCHEMA)).sort(patient_number(), "patient_id", "episode", "planned_day")
    off = nearest.filter(pl.col("distance") > window).unique([*KEYS, "day"]).sort(
        "family", patient_number(), "patient_id", "episode", "day")
    return listing, _off_day_warnings(off, response_days, window)


def _off_day_warnings(off: pl.DataFrame, response_days: dict[str, tuple[int, ...]], window: int) -> list[str]:
    out = []
    for (family,), rows in off.group_by("family", maintain_order=True):
        where = [f"{p} episode {e} day {d}" for p, e, d in rows.select("patient_id", "episode", "day").iter_rows()]
        more = f" and {len(where) - _SHOWN} more" if len(where) > _SHOWN else ""
        days = ", ".join(str(d) for d in sorted(set(response_days[family])))
        diagnoses = ", ".join(rows["diagnosis"].unique(maintain_order=True).to_list())
        out.append(f"assessments table: {len(where)} {diagnoses} response assessment(s) off the planned days "
                   f"([plan.response_days] {family} = [{days}], +/- {window} days): {'; '.join(where[:_SHOWN])}"
                   f"{more}. They count in the best response, not in the response at the planned days.")
    return out


def response_day_rates(listing: pl.DataFrame, level: float = 0.95, products: tuple[str, ...] = (),
                       diseases: tuple[str, ...] = ()) -> pl.DataFrame:
    """Per product x diagnosis x planned day: n episodes, assessed, ORR and CR rate (not assessed counts as not
    responding) with exact Clopper-Pearson CIs at ``level`` (the plan's 1 - alpha); in the order of
    ``products`` and ``diseases`` (the plan's), then of the listing."""
    from cartkit.stats import binomial_ci

    order = {"product": {p: i for i, p in enumerate(products)}, "diagnosis": {d: i for i, d in enumerate(diseases)}}
    listing = listing.sort([pl.col(c).replace_strict(o, default=len(o), return_dtype=pl.Int64)
                            for c, o in order.items()], maintain_order=True)
    # responder / complete by the ORR and CR-rate rule of each episode's own disease ([orr] of best_response.toml)
    flagged = with_response_flags(listing.rename({"response": "best_response"}))
    counts = flagged.group_by("product", "diagnosis", "planned_day", maintain_order=True).agg(
        n=pl.len(), assessed=pl.col("best_response").is_not_null().sum().cast(pl.Int64),
        orr_n=pl.col("responder").sum().cast(pl.Int64), cr_n=pl.col("complete").sum().cast(pl.Int64))
    rows = []
    for r in counts.iter_rows(named=True):
        n = r["n"]
        orr_lo, orr_hi = binomial_ci(r["orr_n"], n, level=level)
        cr_lo, cr_hi = binomial_ci(r["cr_n"], n, level=level)
        rows.append({**r, "n": int(n), "orr": r["orr_n"] / n, "orr_lower": orr_lo, "orr_upper": orr_hi,
                     "cr": r["cr_n"] / n, "cr_lower": cr_lo, "cr_upper": cr_hi})
    schema = {"product": pl.String, "diagnosis": pl.String, "planned_day": pl.Int64, "n": pl.Int64,
              "assessed": pl.Int64, "orr_n": pl.Int64, "orr": pl.Float64, "orr_lower": pl.Float64,
              "orr_upper": pl.Float64, "cr_n": pl.Int64, "cr": pl.Float64, "cr_lower": pl.Float64,
              "cr_upper": pl.Float64}
    return pl.DataFrame(rows, schema=schema).select(list(schema))
