"""Infections after CAR-T: by organism class and site, and the infection density (docs/criteria.md "Infections").

Infection density (Hill JA et al., Blood 2018;131:121): infections per 100 patient-days at risk in a
window of days after the infusion (the plan's ``infection_early`` and ``infection_late``; Hill used days
0-28 and 29-90). An episode is at risk from the window's first day to the first of: the window's last
day, death, the last follow-up (last contact), a subsequent therapy (new therapy, HSCT or the patient's
next CAR-T infusion; at risk up to the day before it), or the data cut-off. With no follow-up recorded
at all the episode is taken to be followed to the window's end. Days are counted inclusively: an
episode followed from day 0 to day 30 contributes 31 days. An infection counts in a window when its
onset day is in the episode's days at risk there.
"""

from __future__ import annotations

import polars as pl

KEYS = ["patient_id", "episode"]
# a subsequent therapy ends the days at risk the day before it (the day itself is the next treatment's)
_SUBSEQUENT = ("new_therapy", "hsct")
_END_OF_FOLLOW_UP = ("death", "last_contact")


def at_risk_end(infusions: pl.DataFrame, events: pl.DataFrame, cutoff) -> pl.DataFrame:
    """patient_id, episode, end_day (last day at risk, null: no follow-up end recorded), end_reason."""
    inf = infusions.select(*KEYS, "infusion_date")
    ev = events.filter(pl.col("kind").is_in([*_SUBSEQUENT, *_END_OF_FOLLOW_UP]) & pl.col("date").is_not_null())
    days = ev.join(inf, on="patient_id", how="inner").with_columns(
        ((pl.col("date") - pl.col("infusion_date")).dt.total_days()
         - pl.col("kind").is_in(list(_SUBSEQUENT)).cast(pl.Int64)).alias("end_day"))
    nxt = inf.sort(*KEYS).with_columns(
        ((pl.col("infusion_date").shift(-1).over("patient_id") - pl.col("infusion_date")).dt.total_days() - 1)
        .alias("end_day")).filter(pl.col("end_day").is_not_null()).select(*KEYS, "end_day", kind=pl.lit("next_infusion"))
    candidates = [days.filter(pl.col("end_day") >= 0).select(*KEYS, "end_day", "kind"), nxt]
    if cutoff is not None:
        candidates.append(inf.select(*KEYS, ((pl.lit(cutoff) - pl.col("infusion_date")).dt.total_days())
                                     .alias("end_day"), kind=pl.lit("data_cutoff")))
    all_ends = pl.concat(candidates, how="vertical_relaxed")
    first = all_ends.sort("end_day").group_by(KEYS, maintain_order=True).agg(
        pl.col("end_day").first(), pl.col("kind").first().alias("end_reason"))
    return inf.select(KEYS).join(first, on=KEYS, how="left")


def episode_windows(infusions: pl.DataFrame, events: pl.DataFrame, cutoff, windows: dict[str, tuple[int, int]],
                    ) -> pl.DataFrame:
    """patient_id, episode, window, first_day, last_day, at_risk_last (null: not at risk), days_at_risk."""
    ends = at_risk_end(infusions, events, cutoff)
    spec = pl.DataFrame([(name, a, b) for name, (a, b) in windows.items()],
                        schema={"window": pl.String, "first_day": pl.Int64, "last_day": pl.Int64}, orient="row")
    last = pl.min_horizontal("last_day", pl.col("end_day").fill_null(pl.col("last_day")))
    return ends.join(spec, how="cross").with_columns(at_risk_last=pl.when(last >= pl.col("first_day")).then(last)) \
        .with_columns(days_at_risk=(pl.col("at_risk_last") - pl.col("first_day") + 1).fill_null(0).cast(pl.Int64)) \
        .select(*KEYS, "window", "first_day", "last_day", "at_risk_last", "days_at_risk")


def infection_density(infections: pl.DataFrame, at_risk: pl.DataFrame, groups: pl.DataFrame,
                      products, diseases) -> pl.DataFrame:
    """product, diagnosis, window, first_day, last_day, episodes, patient_days, infections,
    episodes_with_infection, density (infections per 100 patient-days at risk; null with no days)."""
    risk = at_risk.join(groups, on=KEYS, how="inner")
    counted = (
        infections.filter(pl.col("day").is_not_null()).join(risk, on=KEYS, how="inner")
        .filter((pl.col("day") >= pl.col("first_day")) & (pl.col("day") <= pl.col("at_risk_last")).fill_null(False))
        .group_by(*KEYS, "window").agg(pl.len().cast(pl.Int64).alias("_n"))
    )
    per = risk.join(counted, on=[*KEYS, "window"], how="left").with_columns(pl.col("_n").fill_null(0))
    out = per.group_by("product", "diagnosis", "window", "first_day", "last_day").agg(
        pl.len().cast(pl.Int64).alias("episodes"),
        pl.col("days_at_risk").sum().cast(pl.Int64).alias("patient_days"),
        pl.col("_n").sum().cast(pl.Int64).alias("infections"),
        (pl.col("_n") > 0).sum().cast(pl.Int64).alias("episodes_with_infection"),
    ).with_columns(
        pl.when(pl.col("patient_days") > 0).then(100.0 * pl.col("infections") / pl.col("patient_days"))
        .alias("density"))
    order = {p: i for i, p in enumerate(products)} | {}
    return out.with_columns(
        pl.col("product").replace_strict(order, default=len(order)).alias("_p"),
        pl.col("diagnosis").replace_strict({d: i for i, d in enumerate(diseases)}, default=len(diseases)).alias("_d"),
    ).sort("_p", "_d", "first_day").drop("_p", "_d")


def infections_by_type(infections: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """product, diagnosis, organism_class, site, infections, episodes (with one), grade3 (infections
    of grade >= 3), over every infection recorded after the infusion."""
    return (
        infections.join(groups, on=KEYS, how="inner")
        .group_by("product", "diagnosis", "organism_class", "site")
        .agg(pl.len().cast(pl.Int64).alias("infections"),
             pl.struct(KEYS).n_unique().cast(pl.Int64).alias("episodes"),
             (pl.col("grade") >= 3).sum().cast(pl.Int64).alias("grade3"))
        .sort("product", "diagnosis", "organism_class", "site")
    )
