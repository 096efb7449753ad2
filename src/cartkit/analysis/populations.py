"""The plan's analysis populations (``[[plan.population]]``, study/plan_population.py) as patient and
episode sets, their sizes, why patients were never infused, and the vein-to-vein time.

    pops = resolve_populations(study)
    primary = primary_population(pops)
    primary.name, primary.n, primary.describe()      # ("ITT", 120, "ITT (all randomised; N = 120)")
    table = frame.join(primary.episodes, on=["patient_id", "episode"], how="semi")

Every table that is on a population says which, with its N (``Population.describe``). A patient is in
a population by its rule; an episode (infusion) is in it when its patient is, except for ``infused
with product``, which keeps only the episodes of that product. Patients who were never infused are in
``patients`` but have no ``episodes``.

Vein-to-vein time is the days from the patient's ``leukapheresis_date`` to their first infusion (the
interval CAR-T trials report beside manufacturing success, e.g. ZUMA-7, Locke FL et al., N Engl J Med
2022;386:640); one leukapheresis a patient, so later infusions have none (docs/plan.md "Populations").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from cartkit.study.plan_population import (
    ENROLLED,
    INFUSED,
    INFUSED_WITH_PRODUCT,
    LEUKAPHERESED,
    PER_PROTOCOL,
    RANDOMISED,
    PopulationPlan,
    flag_values,
)

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.model import Study

KEY = ["patient_id", "episode"]
_RULE_WORDS = {ENROLLED: "all enrolled", LEUKAPHERESED: "leukapheresed", RANDOMISED: "all randomised",
               INFUSED: "infused", PER_PROTOCOL: "per protocol"}


@dataclass(frozen=True)
class Population:
    """A resolved analysis population: its plan entry and its patients and episodes."""

    plan: PopulationPlan
    patients: pl.DataFrame  # patient_id (one row a patient)
    episodes: pl.DataFrame  # patient_id, episode, product (the infusions counted)

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def label(self) -> str:
        return self.plan.title

    @property
    def primary(self) -> bool:
        return self.plan.primary

    @property
    def n(self) -> int:
        return self.patients.height

    @property
    def n_episodes(self) -> int:
        return self.episodes.height

    def rule_text(self) -> str:
        if self.plan.rule == INFUSED_WITH_PRODUCT:
            return f"infused with {self.plan.product}"
        if self.plan.rule == PER_PROTOCOL:
            return f"per protocol (patients.{self.plan.flag})"
        return _RULE_WORDS[self.plan.rule]

    def describe(self) -> str:
        """``"ITT (all randomised; N = 120)"``: the words a table's caption uses."""
        return f"{self.name} ({self.rule_text()}; N = {self.n})"


def _patients_of(plan: PopulationPlan, patients: pl.DataFrame, infusions: pl.DataFrame) -> pl.DataFrame:
    ids = patients.select("patient_id")
    infused = infusions.select("patient_id").unique()
    rule = plan.rule
    if rule == ENROLLED:
        return ids
    if rule == LEUKAPHERESED:
        collected = patients.filter(pl.col("leukapheresis_date").is_not_null()).select("patient_id")
        return ids.join(pl.concat([collected, infused]).unique(), on="patient_id", how="semi")
    if rule == RANDOMISED:
        return patients.filter(pl.col("randomisation_date").is_not_null()).select("patient_id")
    if rule == INFUSED:
        return ids.join(infused, on="patient_id", how="semi")
    if rule == INFUSED_WITH_PRODUCT:
        given = infusions.filter(pl.col("product") == plan.product).select("patient_id").unique()
        return ids.join(given, on="patient_id", how="semi")
    if rule == PER_PROTOCOL:
        flag = flag_values(patients[plan.flag]) if plan.flag in patients.columns else pl.repeat(
            False, patients.height, eager=True)
        return ids.filter(flag.fill_null(False))
    raise ValueError(f"unknown population rule {rule!r}")  # pragma: no cover - the plan reader refuses it


def resolve_populations(study: Study) -> list[Population]:
    """The plan's populations (or the one implicit "infused" population), in plan order."""
    patients = study.patients
    infusions = study.infusions.select("patient_id", "episode", "product")
    out = []
    for plan in study.plan.analysis_populations():
        ids = _patients_of(plan, patients, infusions).unique(maintain_order=True)
        episodes = infusions.join(ids, on="patient_id", how="semi")
        if plan.rule == INFUSED_WITH_PRODUCT:
            episodes = episodes.filter(pl.col("product") == plan.product)
        out.append(Population(plan, ids, episodes.sort(KEY)))
    return out


def primary_population(populations: list[Population]) -> Population:
    """The one population marked primary (the plan reader makes sure there is exactly one)."""
    for p in populations:
        if p.primary:
            return p
    return populations[0]


def populations_table(study: Study, populations: list[Population]) -> pl.DataFrame:
    """One row per population and arm ("All" first): population, label, rule, primary, arm, n (patients),
    n_infused, n_never_infused, n_episodes."""
    arms = study.patients.select("patient_id", pl.col("arm").fill_null("All") if "arm" in study.patients.columns
                                 else pl.lit("All").alias("arm"))
    has_arms = arms["arm"].n_unique() > 1 or (arms.height and arms["arm"][0] != "All")
    infused = study.infusions.select("patient_id").unique()
    rows = []
    for pop in populations:
        members = pop.patients.join(arms, on="patient_id", how="left")
        groups = [("All", members)]
        if has_arms:
            groups += [(a, members.filter(pl.col("arm") == a))
                       for a in sorted(members["arm"].unique().to_list())]
        for arm, m in groups:
            n_inf = m.join(infused, on="patient_id", how="semi").height
            rows.append({
                "population": pop.name, "label": pop.label, "rule": pop.rule_text(), "primary": pop.primary,
                "arm": arm, "n": m.height, "n_infused": n_inf, "n_never_infused": m.height - n_inf,
                "n_episodes": pop.episodes.join(m.select("patient_id"), on="patient_id", how="semi").height,
            })
    return pl.DataFrame(rows, schema={
        "population": pl.String, "label": pl.String, "rule": pl.String, "primary": pl.Boolean, "arm": pl.String,
        "n": pl.Int64, "n_infused": pl.Int64, "n_never_infused": pl.Int64, "n_episodes": pl.Int64})


def never_infused_table(study: Study) -> pl.DataFrame:
    """Patients never infused, by arm and reason: arm, never_infused_reason ("not given" when empty), n."""
    p = study.patients.join(study.infusions.select("patient_id").unique(), on="patient_id", how="anti")
    return p.group_by(
        pl.col("arm").fill_null("All"), pl.col("never_infused_reason").fill_null("not given")
    ).agg(n=pl.len().cast(pl.Int64)).sort("arm", "never_infused_reason")


def vein_to_vein(study: Study) -> pl.DataFrame:
    """patient_id, episode, product, leukapheresis_date, infusion_date, vein_to_vein_days: the first infusion
    of each patient with a leukapheresis_date (module docs)."""
    first = study.infusions.sort("patient_id", "infusion_date", "episode").unique(
        "patient_id", keep="first", maintain_order=True)
    return first.join(study.patients.select("patient_id", "leukapheresis_date"), on="patient_id", how="inner").filter(
        pl.col("leukapheresis_date").is_not_null()
    ).select(
        "patient_id", "episode", "product", "leukapheresis_date", "infusion_date",
        vein_to_vein_days=(pl.col("infusion_date") - pl.col("leukapheresis_date")).dt.total_days().cast(pl.Int64),
    ).sort(KEY)


def population_tables(study: Study, populations: list[Population]) -> dict[str, pl.DataFrame | None]:
    """The tables of this module for ``Results``: ``populations`` (each population, its rule, primary
    flag and N by arm), ``never_infused`` (patients never infused by arm and reason; None when every
    patient was infused) and ``vein_to_vein`` (None without leukapheresis dates)."""
    never = never_infused_table(study)
    v2v = vein_to_vein(study)
    return {"populations": populations_table(study, populations),
            "never_infused": never if never.height else None,
            "vein_to_vein": v2v if v2v.height else None}


# ------------------------------------------------------------------ the set each table is on, with its N

SAFETY = "safety set"


def counted_set(patient_ids: pl.Series, populations: list[Population], primary: Population,
                safety: bool = False) -> dict[str, object]:
    """The population entry (``Results.populations``: population, description, n) of a table that counted
    the patients ``patient_ids``: N is theirs, not the plan's label. A plan population with exactly these
    patients names them (the primary first: ``"infused (infused; N = 13)"``); otherwise they are the infused
    patients of the primary population (``"infused patients of ITT (N = 21)"``; "... with the plan's products
    and diseases" when some of its infused patients are not analysed). ``safety``: the table is a
    toxicity table, on the safety set (the infused patients); said so when that is not the primary population
    itself (``"safety set = infused (infused; N = 21)"``)."""
    ids = set(patient_ids.drop_nulls().unique().to_list())
    match = next((p for p in [primary, *[q for q in populations if q is not primary]]
                  if set(p.patients["patient_id"].to_list()) == ids), None)
    if match is not None:
        name, description = match.name, match.describe()
    else:
        infused = set(primary.episodes["patient_id"].to_list())
        some = "" if ids == infused else " with the plan's products and diseases"
        name, description = f"infused ({primary.name})", f"infused patients of {primary.name}{some} (N = {len(ids)})"
    if safety and match is not primary:
        name, description = SAFETY, f"{SAFETY} = {description}"
    return {"population": name, "description": description, "n": len(ids)}


def with_never_infused(populations: list[Population], infused_ids: pl.DataFrame) -> list[Population]:
    """The populations with patients who were never infused (intention to treat: all randomised, enrolled,
    leukapheresed), primary first; ``infused_ids`` (patient_id) are the infused patients."""
    out = [p for p in populations if p.patients.join(infused_ids, on="patient_id", how="anti").height]
    return sorted(out, key=lambda p: not p.primary)


def control_arm(study: Study, arms: list[str], asked: str | None = None) -> str | None:
    """The control arm among ``arms`` (two or more), the one rule for every table by arm (the ITT response
    rates, the endpoints' hazard ratios, analysis/survival_analysis.py): ``asked`` (an endpoint's own
    ``reference``) when it is one of them; else the ``reference`` an endpoint of the plan names
    ([[plan.endpoint]]); else the arm with the smallest share of infused patients (the never-infused
    standard-of-care arm of a CAR-T vs standard-of-care trial). None with one arm or when the two arms
    with the smallest shares have the same share (no arm is the control by the data)."""
    return control_arm_of(study.patients, study.infusions, study.plan.endpoints, arms, asked)


def control_arm_of(patients: pl.DataFrame, infusions: pl.DataFrame, endpoints, arms: list[str],
                   asked: str | None = None) -> str | None:
    """``control_arm`` from the frames themselves (patients with ``arm``, infusions with ``patient_id``, the
    plan's endpoints), for validation, which checks episode-0 rows before a Study exists."""
    if asked is not None and asked in arms:
        return asked
    if len(arms) < 2:
        return None
    named = [e.reference for e in endpoints if e.reference in arms]
    if named:
        return named[0]
    infused = infusions.select("patient_id").unique().with_columns(__inf=pl.lit(1.0))
    share = patients.select("patient_id", pl.col("arm").cast(pl.String)).filter(pl.col("arm").is_in(arms)).join(
        infused, on="patient_id", how="left").group_by("arm").agg(pl.col("__inf").fill_null(0.0).mean()).sort(
        "__inf", "arm")
    if share.height < 2 or share["__inf"][0] == share["__inf"][1]:
        return None
    return share["arm"][0]
