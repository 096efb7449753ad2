"""The loaded study: typed Polars tables, study metadata and the analysis plan.

A ``Study`` is what ``cartkit.load_study`` returns and what every later stage
reads. Its tables follow ``cartkit.study.schema``; after loading:

* every table of the schema is present (optional tables that were not given
  are empty frames with the schema's columns);
* identifiers are ``pl.String``, ``episode``/``day``/integer columns
  ``pl.Int64``, numbers ``pl.Float64``, flags ``pl.Boolean``, dates ``pl.Date``;
* vocabulary columns hold the canonical spelling;
* tables with days carry both ``day`` and ``date``; ``events`` carries
  ``date`` always and ``episode``/``day`` when given;
* ``measurements.value`` and ``measurements.unit`` are in the analyte's
  canonical unit (the original unit is kept in ``unit_original``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cartkit.study.plan_follow_up import FollowUpPlan
from cartkit.study.plan_kinetics import KineticsPlan

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import polars as pl

    from cartkit.study.plan_endpoint import EndpointPlan
    from cartkit.study.plan_mrd import MrdLandmarkPlan
    from cartkit.study.plan_population import PopulationPlan


@dataclass(frozen=True)
class SurvivalPlan:
    """How time-to-event endpoints are built (seed: from the CD22 infusion, DLBCL vs B-ALL)."""

    from_product: str | None = None  # product whose infusion is time zero; None = each episode
    endpoints: tuple[str, ...] = ("pfs", "os")
    group_by: str = "diagnosis"
    # censor at allogeneic HSCT: the seed reports survival "in patients who did not
    # receive allo-HSCT"; cartkit runs the analysis both ways and names the primary one.
    censor_at_hsct: bool = True
    landmark_day: int = 180
    time_unit: str = "days"  # "days" or "months" (30.4375 days) for reporting


@dataclass(frozen=True)
class NextStudyPlan:
    """``[plan.next_study]``: the report's "Next study" section (docs/design.md); absent = no section."""

    p0: float | None = None  # uninteresting response rate; None = p1 - delta
    delta: float = 0.20
    alpha: float = 0.05
    beta: float = 0.20
    criterion: str = "optimal"  # "optimal" or "minimax" (Simon 1989)


@dataclass(frozen=True)
class Plan:
    """The analysis plan from ``study.toml`` ``[plan]`` (docs/plan.md).

    Defaults are current criteria and R's conventions: CRS and ICANS by ASTCT 2019 (Lee DW et al.,
    Biol Blood Marrow Transplant 2019;25:625), CTCAE v5.0, R's default quartiles (type 7) and
    R's ``wilcox.test`` continuity correction. A study that followed other conventions says so in
    its study.toml (the seed: CTCAE v4.03 CRS grades, SPSS quartiles and rank tests).
    """

    products: tuple[str, ...] = ()  # compared products, reference first
    diseases: tuple[str, ...] = ()
    # the grading system per toxicity (docs/plan.md "Grading systems"): CRS and ICANS are derived under
    # these (ICANS under ASTCT 2019 only), and a recorded grade whose adverse-events row names no
    # ``grading_system`` is labelled with them
    crs_system: str = "astct2019"
    icans_system: str = "astct2019"
    # haematological grades derived from the blood counts; also the default of cartkit.grading.ctcae
    ctcae_version: str = "5.0"
    # two-sided significance level; every confidence interval the analysis prints is at 1 - alpha
    # (``confidence_level``): binomial, Kaplan-Meier, Cox, kinetic-model and comparison CIs alike
    alpha: float = 0.05
    # level of the Shapiro-Wilk normality pre-test that chooses the t test or the rank test
    # (cartkit.stats.choice.compare); 0.05 as the seed and SPSS practice
    normality_alpha: float = 0.05
    # "r7" (R's default quantile type 7) or "spss" (weighted average, type 6); also the default of
    # cartkit.derive.kinetics.summarise_kinetics
    quantile_method: str = "r7"
    kinetic_analytes: tuple[str, ...] = ("car_t_pct_cd3", "car_dna", "il6", "il2r", "il8", "tnfa")
    kinetics_window: tuple[int, int] = (0, 28)
    # [plan.kinetics] (study/plan_kinetics.py): how the NCA takes below-limit samples ("zero": 0 before
    # Tmax, missing after; "half_limit"; "missing")
    kinetics: KineticsPlan = field(default_factory=KineticsPlan)
    # [plan.response_days]: disease family -> the protocol's response assessment days after infusion; each gets
    # the response nearest to it within +/- response_window days (cartkit.analysis.response_days)
    response_days: dict[str, tuple[int, ...]] = field(default_factory=dict)
    response_window: int = 7
    survival: SurvivalPlan = field(default_factory=SurvivalPlan)
    extra_ae_terms: tuple[str, ...] = ()
    # AE terms the adverse-event table reports, in this order, including terms no patient had
    # (the seed's Table 2 lists encephalopathy and aphasia at 0/7); empty = every recorded term.
    ae_table_terms: tuple[str, ...] = ()
    # Continuity correction in the normal approximation of rank tests: R's wilcox.test applies it,
    # SPSS's asymptotic Mann-Whitney / Wilcoxon P-values do not (the seed used SPSS).
    rank_correction: bool = True
    # Which of the two analyses of a comparison is primary (docs/plan.md "Two analyses"): "recommended"
    # (paired exact tests, effect sizes with CIs, adjusted P; analysis/recommended_comparison.py) or
    # "as_published" (the seed's unpaired plan rule); the report shows both, recommended first.
    analysis: str = "recommended"
    # R's p.adjust method over each family of the recommended P values ("none": no adjustment) and the
    # families: "table" (one per table of one comparison) or "comparison" (every table of a comparison)
    p_adjust: str = "holm"
    p_adjust_family: str = "table"
    # Lower limits of normal by analyte (canonical units) for CTCAE grade 1 where a measurement row
    # carries no ``lln`` of its own; without either, grade 0-1 cannot be told apart.
    lln: dict[str, float] = field(default_factory=dict)
    # [plan.lloq]: the assay's lower limit of quantification by analyte (canonical units), for results written
    # BLQ / ND / not detected without a limit of their own (cartkit.study.qualified; docs/validation.md)
    lloq: dict[str, float] = field(default_factory=dict)
    # infection density windows, days after infusion (Hill JA et al., Blood 2018;131:121 used 0-28 and
    # 29-90; docs/criteria.md "Infections") and the IgG below which a patient has hypogammaglobulinaemia,
    # mg/dL (400: Hayden PJ et al., Ann Oncol 2022;33:259, EBMT/EHA CAR-T best practice; docs/criteria.md)
    infection_early: tuple[int, int] = (0, 30)
    infection_late: tuple[int, int] = (31, 180)
    igg_below_mg_dl: float = 400.0
    next_study: NextStudyPlan | None = None  # [plan.next_study]: propose designs for the next study
    # [plan.mrd_landmark] (study/plan_mrd.py): PFS by MRD status at a landmark; absent = not analysed
    mrd_landmark: MrdLandmarkPlan | None = None
    # [[plan.population]] (study/plan_population.py) and [[plan.endpoint]] (study/plan_endpoint.py)
    populations: tuple[PopulationPlan, ...] = ()
    endpoints: tuple[EndpointPlan, ...] = ()
    # [plan.follow_up] (study/plan_follow_up.py): days before the cut-off a last visit still counts as
    # follow-up to the cut-off (0: the strict rule; analysis/follow_up.py)
    follow_up: FollowUpPlan = field(default_factory=FollowUpPlan)

    @property
    def confidence_level(self) -> float:
        """The level of every confidence interval the analysis prints: 1 - ``alpha`` (docs/plan.md).

        >>> Plan(alpha=0.10).confidence_level
        0.9
        """
        return 1.0 - self.alpha

    def analysis_populations(self) -> tuple[PopulationPlan, ...]:
        """The populations the analysis runs on: the plan's, or the one implicit "infused" population."""
        from cartkit.study.plan_population import DEFAULT_POPULATIONS

        return self.populations or DEFAULT_POPULATIONS

    def analysis_endpoints(self) -> tuple[EndpointPlan, ...]:
        """The endpoints: the plan's [[plan.endpoint]], or [plan.survival] translated (PFS, OS)."""
        from cartkit.study.plan_endpoint import survival_endpoints

        return self.endpoints or survival_endpoints(self.survival)
    # [[plan.comparison]] (cartkit.study.plan_comparison.ComparisonSpec): what is compared with what;
    # () = none (the single-arm analysis); None = not stated: a product list of two or more then
    # compares each product with the first (plan_comparison.effective_comparisons)
    comparisons: tuple | None = None


@dataclass(frozen=True)
class StudyMeta:
    id: str
    title: str = ""
    reference: str = ""
    data_cutoff: dt.date | None = None
    description: str = ""
    # the MedDRA version the adverse events are coded in (e.g. "26.0"); "" = not stated. Written to
    # define.xml's MedDRA ExternalCodeList (interop/adam_define.py); cartkit ships no dictionary
    meddra_version: str = ""


@dataclass
class Study:
    path: Path
    meta: StudyMeta
    plan: Plan
    tables: dict[str, pl.DataFrame]
    # non-fatal notes from loading (unit conversions done, encodings detected, ...)
    notes: list[str] = field(default_factory=list)
    # warnings of validation (``cartkit.study.problems.Problem`` with severity "warning"): the
    # study is analysed, with these caveats, which the report lists
    warnings: list = field(default_factory=list)
    # the files read, each with its size and SHA-256 (cartkit.study.provenance.InputFile)
    inputs: tuple = ()

    def __getattr__(self, name: str) -> pl.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def to_pandas(self, table: str) -> pd.DataFrame:
        """One table as a pandas DataFrame, for users who work in pandas."""
        return self.tables[table].to_pandas()
