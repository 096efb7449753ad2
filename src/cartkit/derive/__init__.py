"""The derive stage: per-episode grades, responses, kinetic parameters and event times.

    derived = derive(study)

Every derivation is a function of one patient's rows, so the stage gives the
same answer however patients are split into shards. Where the study holds the
investigator's recorded grade or response, the recorded value is what the
plan's primary analysis uses (it is what the study reported); the derived
value is computed beside it where the inputs exist, and every disagreement is
listed in ``disagreements``.

CRS and ICANS are derived under the plan's system (``plan.crs_system``,
``plan.icans_system``) when cartkit has its criteria, and also under ASTCT 2019,
the consensus every study can be compared on (``REFERENCE_SYSTEM``); every
derived grade carries the system it was derived under. ``Derived.grade_provenance``
says, per toxicity, which grades are analysed, from where and in what system
(docs/criteria.md, "Which grade is analysed").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from cartkit.derive.grade_provenance import GradeProvenance, provenance_of

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.model import Study

__all__ = ["derive", "Derived", "GradeProvenance", "REFERENCE_SYSTEM"]

# the system CRS and ICANS are always derived under beside the plan's: the ASTCT consensus
# (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-638), docs/criteria.md
REFERENCE_SYSTEM = "astct2019"

# recorded AE terms that carry a syndrome grade
CRS_TERM = "cytokine release syndrome"
ICANS_TERM = "icans"
# haematological toxicity label -> CTCAE term recorded in adverse_events (seed Table 2, Figure 5C-E)
HEMATOLOGIC_TERMS = {
    "Neutropenia": "neutrophil count decreased",
    "Anemia": "anemia",
    "Thrombocytopenia": "platelet count decreased",
    "Leukopenia": "white blood cell decreased",
}

_GRADE_SCHEMA = {"patient_id": pl.String, "episode": pl.Int64, "grade": pl.Int64, "system": pl.String,
                 "source": pl.String}


@dataclass
class Derived:
    crs: pl.DataFrame  # patient_id, episode, grade, system (as recorded, or derived under), source
    icans: pl.DataFrame
    toxicity_systems: pl.DataFrame  # patient_id, episode, toxicity, system, grade, source (long)
    hematologic: pl.DataFrame  # patient_id, episode, toxicity, grade, nadir, nadir_day, system, source
    best_response: pl.DataFrame  # patient_id, episode, best_response, response_day, source, relapse_day
    assessments: pl.DataFrame  # response at each assessment (recorded and derived)
    kinetics: pl.DataFrame  # NCA per episode x analyte
    tte: dict[str, pl.DataFrame]  # HSCT rule -> time-to-event, one row per patient (index infusion)
    hsct: pl.DataFrame  # patient_id, episode: index infusions followed by allogeneic HSCT
    disagreements: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    # every CRS/ICANS grade cartkit derived, under each system it derived: patient_id, episode,
    # toxicity, system, grade (null: the records cannot grade the episode under that system)
    derived_grades: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_DERIVED_SCHEMA))
    # per episode and syndrome (CRS, ICANS): max grade, onset day and duration (days graded >= 1) from
    # the daily grades of derive.toxicity under the analysed grades' system (or the recorded AE's onset
    # and resolution where none derive)
    syndrome_course: pl.DataFrame | None = None
    # IEC-HS per episode (derive/iec_hs.py): patient_id, episode, grade, onset_day, features, system,
    # source -- recorded where the study records it, else derived (ASTCT 2023)
    iec_hs: pl.DataFrame | None = None

    def hematologic_grades(self) -> dict[str, pl.DataFrame]:
        """Toxicity label -> patient_id, episode, grade."""
        return {
            tox: self.hematologic.filter(pl.col("toxicity") == tox).select("patient_id", "episode", "grade")
            for tox in self.hematologic["toxicity"].unique(maintain_order=True).to_list()
        }

    def analysed_grades(self) -> dict[str, pl.DataFrame]:
        """Toxicity label -> the grades analysed (patient_id, episode, grade, system, source)."""
        frames = {"CRS": self.crs, "ICANS": self.icans}
        for tox in self.hematologic["toxicity"].unique(maintain_order=True).to_list():
            frames[tox] = self.hematologic.filter(pl.col("toxicity") == tox)
        return {tox: f for tox, f in frames.items() if {"grade", "system", "source"} <= set(f.columns)}

    def grade_provenance(self) -> dict[str, GradeProvenance]:
        """Toxicity label -> which grades are analysed: their system(s), source and counts.

        The one place that says whether a toxicity's grades are the recorded or the derived ones
        (per patient-episode, counted), what system they are in, and which other systems cartkit
        graded them under beside (``alternatives``); the analysis labels and Methods read it.
        """
        return {tox: provenance_of(tox, frame, tuple(s for t, s, _ in self.alternative_grades() if t == tox))
                for tox, frame in self.analysed_grades().items()}

    def grade_systems(self) -> dict[str, str]:
        """Toxicity label -> the grading system(s) of the grades analysed ("; "-joined when several)."""
        return {tox: p.system for tox, p in self.grade_provenance().items() if p.systems}

    def alternative_grades(self) -> list[tuple[str, str, pl.DataFrame]]:
        """(toxicity, system, grades) derived under ASTCT 2019 beside analysed grades in another system.

        Analysed grades already in ASTCT 2019 (recorded or derived) have no alternative: the
        recorded ones are compared with the derived ones in ``disagreements``.
        """
        out = []
        for tox, frame in (("CRS", self.crs), ("ICANS", self.icans)):
            if REFERENCE_SYSTEM in set(frame.filter(pl.col("grade").is_not_null())["system"]):
                continue
            alt = self.derived_grades.filter((pl.col("toxicity") == tox) & (pl.col("system") == REFERENCE_SYSTEM))
            if alt["grade"].is_not_null().any():
                out.append((tox, REFERENCE_SYSTEM, alt.select(list(_GRADE_SCHEMA))))
        return out


_DERIVED_SCHEMA = {"patient_id": pl.String, "episode": pl.Int64, "toxicity": pl.String, "system": pl.String,
                   "grade": pl.Int64, "source": pl.String}


def recorded_system(recorded: pl.DataFrame, plan_system: str) -> str:
    """The one system a term's recorded grades (``_recorded_grades``) are in, else the plan's."""
    systems = recorded["system"].unique().to_list()
    return systems[0] if len(systems) == 1 else plan_system


def _recorded_grades(study: Study, term: str, system: str) -> pl.DataFrame:
    """Recorded grades of ``term`` labelled with the system their row names (``system`` where none)."""
    ae = study.adverse_events.filter(pl.col("term") == term)
    return ae.select(
        "patient_id", "episode", pl.col("grade").cast(pl.Int64),
        pl.coalesce(pl.col("grading_system"), pl.lit(system)).alias("system"),
        pl.lit("recorded").alias("source"),
    )


def derive(study: Study) -> Derived:
    from cartkit.derive.kinetics import derive_kinetics
    from cartkit.derive.response import derive_responses
    from cartkit.derive.toxicity import compare_recorded, derive_crs, derive_hematologic, derive_icans
    from cartkit.study.plan_endpoint import HsctRule
    from cartkit.survival.events import time_to_event

    plan = study.plan
    notes: list[str] = []
    facts: dict[str, str] = {}

    # --- CRS and ICANS: recorded grades are primary; derived ones computed beside them, under the plan's
    # system (when cartkit has its criteria) and under ASTCT 2019, and under each system a recorded row
    # names (to compare like with like)
    from cartkit.grading.crs import crs_systems
    from cartkit.grading.icans import icans_systems
    from cartkit.grading.systems import system_label

    crs_recorded = _recorded_grades(study, CRS_TERM, plan.crs_system)
    icans_recorded = _recorded_grades(study, ICANS_TERM, plan.icans_system)
    crs_sys = _systems_to_derive(plan.crs_system, crs_recorded, crs_systems())
    icans_sys = _systems_to_derive(plan.icans_system, icans_recorded, icans_systems())
    # the note on days without a temperature is given once, for the analysed system
    derived_crs = {system: derive_crs(study, system=system, notes=notes if system == crs_sys[0] else None)
                   for system in crs_sys}
    derived_icans = {system: derive_icans(study, system=system) for system in icans_sys}
    crs_d = {system: _derived_grades(frame, "crs_max", system) for system, frame in derived_crs.items()}
    icans_d = {system: _derived_grades(frame, "icans_max", system) for system, frame in derived_icans.items()}
    crs_main, icans_main = crs_sys[0], icans_sys[0]  # the plan's system, else ASTCT 2019
    for label, planned, main, frames in (("CRS", plan.crs_system, crs_main, crs_d),
                                         ("ICANS", plan.icans_system, icans_main, icans_d)):
        if planned != main and frames[main].height:
            notes.append(f"{label} grades cannot be derived under {system_label(planned)} (cartkit has no "
                         f"criteria for it): the {label} grades derived from the records are "
                         f"{system_label(main)}.")
    # an episode without the recorded AE (grade 0) is in the system the recorded rows are in
    crs = _primary(crs_recorded, crs_d[crs_main], recorded_system(crs_recorded, plan.crs_system), study,
                   "CRS", notes)
    icans = _primary(icans_recorded, icans_d[icans_main], recorded_system(icans_recorded, plan.icans_system),
                     study, "ICANS", notes)

    # --- haematological toxicity
    version = plan.ctcae_version
    hem = derive_hematologic(study, version=version, lln=plan.lln)
    hematologic = _hematologic_primary(study, hem, version, notes)

    # --- grades side by side: the analysed ones and the ASTCT 2019 ones derived beside them
    # a study that records CRS (ICANS) records its absence too: an episode without the AE row is grade 0
    systems = []
    for tox, primary, recorded, main, frames in (("CRS", crs, crs_recorded, crs_main, crs_d),
                                                 ("ICANS", icans, icans_recorded, icans_main, icans_d)):
        shown = [primary] if recorded.height or frames[main].height else []
        if REFERENCE_SYSTEM in frames and (recorded.height or main != REFERENCE_SYSTEM):
            shown.append(frames[REFERENCE_SYSTEM])
        systems += [f.with_columns(pl.lit(tox).alias("toxicity")).select(list(_DERIVED_SCHEMA))
                    for f in shown if f.height]
    toxicity_systems = (
        pl.concat(systems).sort("patient_id", "episode", "toxicity", "system", maintain_order=True) if systems else
        pl.DataFrame(schema=_DERIVED_SCHEMA)
    )
    derived_grades = pl.concat(
        [f.with_columns(pl.lit(tox).alias("toxicity")).select(list(_DERIVED_SCHEMA))
         for tox, frames in (("CRS", crs_d), ("ICANS", icans_d)) for f in frames.values()]
        + [pl.DataFrame(schema=_DERIVED_SCHEMA)])
    disagreements = compare_recorded(
        {"crs": _as_recorded(derived_crs, crs_recorded, crs_main),
         "icans": _as_recorded(derived_icans, icans_recorded, icans_main),
         "hematologic": _hematologic_as_recorded(study, hem, version, plan.lln)}, study
    )

    # --- IEC-HS (ASTCT 2023, Hines 2023): derived beside recorded, disagreements listed with the others
    from cartkit.derive.iec_hs import derive_iec_hs

    iec_hs, _iec_hs_derived, iec_hs_disagreements = derive_iec_hs(study)
    if iec_hs_disagreements.height:
        disagreements = pl.concat([disagreements, iec_hs_disagreements], how="vertical_relaxed")

    # --- responses
    responses = derive_responses(study)
    best = responses.best
    facts["response_source"] = responses.source_note
    # recorded vs derived responses (Lugano, B-ALL, IMWG, iwCLL) are listed with the grade disagreements
    if responses.disagreements.height:
        disagreements = pl.concat([disagreements, responses.disagreements.select(disagreements.columns)])

    # --- kinetics
    kinetics = derive_kinetics(study, analytes=plan.kinetic_analytes, window=plan.kinetics_window)

    # --- time to event
    survival = plan.survival
    tte = {}
    hsct = pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64})
    if study.events.height:
        base_kwargs = dict(from_product=survival.from_product, cutoff=study.meta.data_cutoff)
        hsct = _hsct_after(study, study.infusions)  # per episode, for the response listing
        group_col = survival.group_by
        attach = study.patients.select("patient_id", group_col) if group_col != "product" else None

        def with_group(frame: pl.DataFrame) -> pl.DataFrame:
            return frame.join(attach, on="patient_id", how="left") if attach is not None else frame

        # the three readings of the seed's HSCT wording (one enum: study/plan_endpoint.HsctRule); "exclude"
        # leaves out everyone transplanted after the index infusion, also after a later infusion; ``hsct``
        # (HSCT before the next infusion) is what the response listing shows for an episode
        tte = {rule.label: with_group(time_to_event(study, hsct=rule, **base_kwargs))
               for rule in (HsctRule.EXCLUDE, HsctRule.CENSOR, HsctRule.IGNORE)}
        primary = (HsctRule.CENSOR if survival.censor_at_hsct else HsctRule.IGNORE).label
        tte = {primary: tte[primary], **{k: v for k, v in tte.items() if k != primary}}

    return Derived(
        crs=crs, icans=icans, toxicity_systems=toxicity_systems, hematologic=hematologic,
        best_response=best, assessments=responses.assessments, kinetics=kinetics, tte=tte, hsct=hsct,
        disagreements=disagreements, notes=notes, facts=facts, derived_grades=derived_grades,
        syndrome_course=_syndrome_course(derived_crs[crs_main], derived_icans[icans_main]), iec_hs=iec_hs,
    )


def _systems_to_derive(plan_system: str, recorded: pl.DataFrame, available: tuple[str, ...]) -> tuple[str, ...]:
    """The systems to derive a syndrome under: the plan's first (when cartkit has its criteria file),
    then ASTCT 2019, then each other derivable system a recorded row names."""
    wanted = [plan_system, REFERENCE_SYSTEM, *recorded["system"].unique().sort().to_list()]
    return tuple(dict.fromkeys(s for s in wanted if s in available))


def _as_recorded(derived: dict[str, pl.DataFrame], recorded: pl.DataFrame, main: str) -> pl.DataFrame:
    """Per episode, the derived grade to set beside the recorded one: under the system the recorded
    grade is in when cartkit derives it, else under ``main`` (a derive_crs/derive_icans table)."""
    keys = ["patient_id", "episode"]
    wanted = recorded.select(*keys, pl.col("system").alias("_wanted")).unique(keys, keep="first").with_columns(
        pl.when(pl.col("_wanted").is_in(list(derived))).then(pl.col("_wanted")).otherwise(pl.lit(main))
        .alias("_wanted"))
    frames = pl.concat([f.with_columns(pl.lit(system).alias("_derived_under")) for system, f in derived.items()])
    return (frames.join(wanted, on=keys, how="left")
            .filter(pl.col("_derived_under") == pl.coalesce(pl.col("_wanted"), pl.lit(main)))
            .drop("_wanted", "_derived_under"))


def _syndrome_course(crs: pl.DataFrame, icans: pl.DataFrame) -> pl.DataFrame:
    """patient_id, episode, toxicity, grade, onset_day, duration_days, system, source (long)."""
    return pl.concat([
        frame.select("patient_id", "episode", pl.lit(tox).alias("toxicity"),
                     pl.col(f"{prefix}_max").cast(pl.Int64).alias("grade"),
                     pl.col(f"{prefix}_onset_day").cast(pl.Int64).alias("onset_day"),
                     pl.col(f"{prefix}_duration_days").cast(pl.Int64).alias("duration_days"),
                     pl.col("system").cast(pl.String), pl.col("source").cast(pl.String))
        for tox, prefix, frame in (("CRS", "crs", crs), ("ICANS", "icans", icans))
    ])


def _derived_grades(frame: pl.DataFrame, column: str, system: str) -> pl.DataFrame:
    """Grades derived from the records, one row per episode; null where the records cannot grade it.

    ``derive_crs``/``derive_icans`` fall back to a recorded grade where they derive none (their
    ``source`` says which): that is not a derived grade, so it is null here, and the recorded grade
    is not shown twice beside itself.
    """
    out = frame.select(
        "patient_id", "episode",
        pl.when(pl.col("source") == "derived").then(pl.col(column)).cast(pl.Int64).alias("grade"),
        pl.lit(system).alias("system"), pl.lit("derived").alias("source"))
    return out if out["grade"].is_not_null().any() else out.clear()


def _primary(recorded: pl.DataFrame, derived: pl.DataFrame, system: str, study: Study, label: str,
             notes: list[str]) -> pl.DataFrame:
    """Recorded grades when the study records them, else derived ones; all episodes, 0 = no event."""
    episodes = study.infusions.select("patient_id", "episode")
    if recorded.height:
        chosen = recorded
    elif derived.height:
        chosen = derived
        notes.append(f"No recorded {label} grades: the {label} grades analysed are derived from the records.")
    else:
        chosen = recorded
    out = episodes.join(chosen, on=["patient_id", "episode"], how="left")
    if recorded.height or not derived.height:
        # recorded: an episode without the AE had none (grade 0)
        out = out.with_columns(pl.col("grade").fill_null(0), pl.col("system").fill_null(system),
                               pl.col("source").fill_null("recorded"))
    else:
        # derived: an episode the records cannot grade stays null and is left out of the grade tables
        out = out.with_columns(pl.col("system").fill_null(derived["system"][0]),
                               pl.col("source").fill_null("derived"))
    return out.select(list(_GRADE_SCHEMA))


def _hematologic_primary(study: Study, hem: pl.DataFrame, version: str, notes: list[str]) -> pl.DataFrame:
    """Worst haematological grade per episode and lineage.

    The investigator's recorded AE grade when the study records that term (an episode without the
    AE had grade 0), as for CRS and ICANS; otherwise the CTCAE grade of the blood counts, where an
    episode without counts, or whose grade needs a lower limit of normal that is not given, stays
    null (undetermined) and is left out of the grade tables. The nadir from the counts is kept
    beside either.
    """
    episodes = study.infusions.select("patient_id", "episode")
    frames = []
    lineage_of = {"Neutropenia": "anc", "Anemia": "hemoglobin", "Thrombocytopenia": "platelets",
                  "Leukopenia": "wbc"}
    for tox, term in HEMATOLOGIC_TERMS.items():
        from_counts = (hem.filter(pl.col("analyte") == lineage_of[tox]) if "analyte" in hem.columns
                       else hem.head(0))
        counts = from_counts.select(
            "patient_id", "episode", pl.col("worst_grade").cast(pl.Int64).alias("count_grade"),
            pl.col("nadir").cast(pl.Float64), pl.col("nadir_day").cast(pl.Int64)) if from_counts.height else None
        recorded = _recorded_grades(study, term, f"ctcae{version}")
        if recorded.height:
            # labelled with the system the recorded row names; an episode without the AE (grade 0) with
            # the recorded rows' system
            frame = (
                episodes.join(recorded.select("patient_id", "episode", "grade", "system"),
                              on=["patient_id", "episode"], how="left")
                .with_columns(pl.col("grade").fill_null(0),
                              pl.col("system").fill_null(recorded_system(recorded, f"ctcae{version}")),
                              pl.lit("recorded").alias("source"))
            )
        elif counts is not None:
            frame = episodes.join(counts.select("patient_id", "episode", pl.col("count_grade").alias("grade")),
                                  on=["patient_id", "episode"], how="left").with_columns(
                pl.lit(f"ctcae{version}").alias("system"), pl.lit("derived").alias("source"))
        else:
            continue
        if counts is not None:
            frame = frame.join(counts.select("patient_id", "episode", "nadir", "nadir_day"),
                               on=["patient_id", "episode"], how="left")
        frames.append(frame.with_columns(pl.lit(tox).alias("toxicity")))
    if not frames:
        return pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "toxicity": pl.String,
                                    "grade": pl.Int64})
    return pl.concat(frames, how="diagonal_relaxed")


def _hematologic_as_recorded(study: Study, hem: pl.DataFrame, version: str, lln: dict[str, float]
                             ) -> pl.DataFrame:
    """The count grades to set beside the recorded ones: under the CTCAE version each recorded grade names.

    A recorded CTCAE v5.0 grade is compared with the counts graded under v5.0, not under the plan's
    version (versions differ: v6.0 moves the neutrophil cut-points); rows naming no version, and
    episodes without a recorded grade, keep the plan's ``version``.
    """
    from cartkit.derive.toxicity import LINEAGES, hematologic_grades_long
    from cartkit.grading.ctcae import ctcae_versions

    analyte_of = {term: analyte for analyte, term in LINEAGES.items()}
    named = (
        study.adverse_events.filter(pl.col("term").is_in(list(analyte_of)) & pl.col("grading_system").is_not_null())
        .select("patient_id", "episode", pl.col("term").replace_strict(analyte_of).alias("analyte"),
                pl.col("grading_system").str.strip_prefix("ctcae").alias("version"))
        .filter(pl.col("version").is_in([v for v in ctcae_versions() if v != version]))
        .unique(["patient_id", "episode", "analyte"], keep="first")
    )
    if not named.height or not hem.height:
        return hem
    keys = ["patient_id", "episode", "analyte"]
    regraded = pl.concat([
        hematologic_grades_long(study, v, lln=lln).join(named.filter(pl.col("version") == v), on=keys,
                                                        how="semi")
        for v in named["version"].unique().sort().to_list()
    ], how="diagonal_relaxed")
    return pl.concat([hem.join(regraded.select(keys), on=keys, how="anti"), regraded], how="diagonal_relaxed")


def _hsct_after(study: Study, tte: pl.DataFrame, before_next_infusion: bool = True) -> pl.DataFrame:
    """Index episodes after which the patient received an HSCT (by default before the next infusion)."""
    h = study.events.filter(pl.col("kind") == "hsct").select("patient_id", pl.col("date").alias("hsct_date"))
    inf = study.infusions.sort("patient_id", "episode").with_columns(
        pl.col("infusion_date").shift(-1).over("patient_id").alias("next_date"))
    return (
        inf.join(h, on="patient_id")
        .filter((pl.col("hsct_date") >= pl.col("infusion_date"))
                & (pl.lit(not before_next_infusion) | pl.col("next_date").is_null()
                   | (pl.col("hsct_date") < pl.col("next_date"))))
        .select("patient_id", "episode").unique()
        .join(tte.select("patient_id", "episode"), on=["patient_id", "episode"], how="semi")
    )
