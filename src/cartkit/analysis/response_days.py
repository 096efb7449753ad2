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
  response's rates do): death, progression or relapse, a new therapy or the next CAR-T infusion
  before the window closed, loss to follow-up;
* except when its follow-up has not reached the day: no assessment in the window, the patient's last
  record (capped at the data cut-off) before the window's last day (``d + response_window``) and no
  death, progression, relapse, new therapy or next infusion by then. Such an episode is not evaluable
  at that day: left out of the day's denominator and counted (``follow_up_reached`` false in the
  listing, ``not_reached`` in the rates);
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
                  "planned_day": pl.Int64, "assessment_day": pl.Int64, "response": pl.String,
                  "follow_up_reached": pl.Boolean}
# what ends an episode's chance of a response at a later planned day (a failure: not responding, evaluable)
FAILURE_KINDS = ("death", "progression", "relapse", "new_therapy")


def episode_follow_up(infusions: pl.DataFrame, events: pl.DataFrame, cutoff) -> pl.DataFrame:
    """patient_id, episode, followed_to (days from the infusion to the patient's last record: an event or an
    infusion, capped at the data cut-off ``cutoff``), failure_day (days to the first death on or after the
    infusion, progression, relapse or new therapy after it, or the next infusion; null if none by the cut-off)."""
    inf = infusions.select(*KEYS, "infusion_date").sort(KEYS).with_columns(
        next_date=pl.col("infusion_date").shift(-1).over("patient_id"))
    ev = events.select("patient_id", "kind", "date").drop_nulls("date")
    if cutoff is not None:
        ev = ev.filter(pl.col("date") <= cutoff)
    records = pl.concat([events.select("patient_id", "date").drop_nulls("date"),
                         infusions.select("patient_id", pl.col("infusion_date").alias("date"))])
    last = records.group_by("patient_id").agg(last=pl.col("date").max())
    if cutoff is not None:
        last = last.with_columns(pl.min_horizontal("last", pl.lit(cutoff, dtype=pl.Date)).alias("last"))
    fails = inf.join(ev.filter(pl.col("kind").is_in(FAILURE_KINDS)), on="patient_id", how="inner").filter(
        pl.when(pl.col("kind") == "death").then(pl.col("date") >= pl.col("infusion_date"))
        .otherwise(pl.col("date") > pl.col("infusion_date"))).group_by(KEYS).agg(fail=pl.col("date").min())
    out = inf.join(last, on="patient_id", how="left").join(fails, on=KEYS, how="left")
    if cutoff is not None:
        out = out.with_columns(next_date=pl.when(pl.col("next_date") <= cutoff).then(pl.col("next_date")))
    return out.select(
        *KEYS, followed_to=(pl.col("last") - pl.col("infusion_date")).dt.total_days().cast(pl.Int64),
        failure_day=(pl.min_horizontal("fail", "next_date") - pl.col("infusion_date")).dt.total_days().cast(pl.Int64))


def _planned(groups: pl.DataFrame, response_days: dict[str, tuple[int, ...]]) -> pl.DataFrame:
    """One row per analysed episode and planned day of its disease family."""
    days = pl.DataFrame([(f, d) for f, ds in response_days.items() for d in sorted(set(ds))],
                        schema={"family": pl.String, "planned_day": pl.Int64}, orient="row")
    return groups.select(*KEYS, "product", "diagnosis").with_columns(
        family=pl.col("diagnosis").replace_strict(DIAGNOSES, default=None, return_dtype=pl.String)
    ).join(days, on="family", how="inner")


def response_at_days(assessments: pl.DataFrame, groups: pl.DataFrame, response_days: dict[str, tuple[int, ...]],
                     window: int, follow_up: pl.DataFrame | None = None) -> tuple[pl.DataFrame, list[str]]:
    """The per-episode listing (patient_id, diagnosis, episode, product, planned_day, assessment_day,
    response; null when not assessed; follow_up_reached, false when not assessed and the follow-up had not
    reached the day, module docs) and the warnings on assessments off the planned days. ``follow_up``
    (``episode_follow_up``) gives each episode's follow-up; without it every day counts as reached."""
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
    if follow_up is not None:
        listing = listing.join(follow_up.select(*KEYS, "followed_to", "failure_day"), on=KEYS, how="left")
        open_window = (pl.col("followed_to").is_not_null() & (pl.col("followed_to") < pl.col("planned_day") + window)
                       & pl.col("failure_day").is_null())
        listing = listing.with_columns(follow_up_reached=~(pl.col("response").is_null() & open_window))
    else:
        listing = listing.with_columns(follow_up_reached=pl.lit(True))
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
    """Per product x diagnosis x planned day: n evaluable episodes, assessed, ORR and CR rate (not assessed
    counts as not responding; an episode whose follow-up had not reached the day is left out of n and
    counted in not_reached) with exact Clopper-Pearson CIs at ``level`` (the plan's 1 - alpha); in the
    order of ``products`` and ``diseases`` (the plan's), then of the listing."""
    from cartkit.stats import binomial_ci

    order = {"product": {p: i for i, p in enumerate(products)}, "diagnosis": {d: i for i, d in enumerate(diseases)}}
    listing = listing.sort([pl.col(c).replace_strict(o, default=len(o), return_dtype=pl.Int64)
                            for c, o in order.items()], maintain_order=True)
    # responder / complete by the ORR and CR-rate rule of each episode's own disease ([orr] of best_response.toml)
    flagged = with_response_flags(listing.rename({"response": "best_response"}))
    if "follow_up_reached" not in flagged.columns:
        flagged = flagged.with_columns(follow_up_reached=pl.lit(True))
    reached = pl.col("follow_up_reached").fill_null(True)
    counts = flagged.group_by("product", "diagnosis", "planned_day", maintain_order=True).agg(
        n=reached.sum().cast(pl.Int64), assessed=pl.col("best_response").is_not_null().sum().cast(pl.Int64),
        orr_n=pl.col("responder").sum().cast(pl.Int64), cr_n=pl.col("complete").sum().cast(pl.Int64),
        not_reached=(~reached).sum().cast(pl.Int64))
    rows = []
    for r in counts.filter(pl.col("n") > 0).iter_rows(named=True):
        n = r["n"]
        orr_lo, orr_hi = binomial_ci(r["orr_n"], n, level=level)
        cr_lo, cr_hi = binomial_ci(r["cr_n"], n, level=level)
        rows.append({**r, "n": int(n), "orr": r["orr_n"] / n, "orr_lower": orr_lo, "orr_upper": orr_hi,
                     "cr": r["cr_n"] / n, "cr_lower": cr_lo, "cr_upper": cr_hi})
    schema = {"product": pl.String, "diagnosis": pl.String, "planned_day": pl.Int64, "n": pl.Int64,
              "assessed": pl.Int64, "orr_n": pl.Int64, "orr": pl.Float64, "orr_lower": pl.Float64,
              "orr_upper": pl.Float64, "cr_n": pl.Int64, "cr": pl.Float64, "cr_lower": pl.Float64,
              "cr_upper": pl.Float64, "not_reached": pl.Int64}
    return pl.DataFrame(rows, schema=schema).select(list(schema))
