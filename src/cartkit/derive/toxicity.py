"""Derive toxicity grades of every episode of a Study: CRS, ICANS, haematological toxicity.

All functions work on whole tables with Polars (joins, group_by, window expressions);
the rules come from ``cartkit.grading`` (criteria files shared with the scalar API).

* :func:`crs_daily` / :func:`derive_crs` -- daily and maximum CRS grade from vital signs
  (``measurements``: temperature, sbp) and supportive care (``support``).
* :func:`icans_daily` / :func:`derive_icans` -- daily and maximum ICANS grade (``neuro``).
* :func:`derive_hematologic` -- worst CTCAE grade per lineage in days 0-28, nadir,
  nadir day, days at grade >= 3, early ICAHT, CAR-HEMATOTOX and EASIX.
* :func:`compare_recorded` -- every disagreement between derived grades and the
  investigator's recorded ``adverse_events`` grades (a table, never an override).

Episodes whose inputs are missing get null, not 0; when only the investigator's
recorded grade exists it is used and ``source`` says "recorded".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import polars as pl

from cartkit.grading.censored import ENDS, at_end, graded_at_both_ends, has_qualified
from cartkit.grading.crs import (
    crs_category_ranges,
    crs_criteria,
    crs_grade_by_fever,
    crs_grade_from_ranges,
    fever_expr,
)
from cartkit.grading.ctcae import ctcae_grade_expr, ctcae_term
from cartkit.grading.hematotox import (
    car_hematotox_expr,
    easix_expr,
    hematotox_criteria,
    icaht_criteria,
    icaht_frame,
    late_icaht_frame,
    late_ticaht_frame,
    ticaht_criteria,
    ticaht_frame,
)
from cartkit.grading.icans import icans_criteria, icans_grade_expr
from cartkit.grading.vasopressor import high_dose_vasopressor_frame
from cartkit.study.model import Plan
from cartkit.study.vocabulary import UNIT_CONVERSIONS, VOCABULARIES

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.model import Study

KEYS = ["patient_id", "episode"]
# the labs of ICAHT, T-ICAHT (anc, platelets) and the baseline CAR-HEMATOTOX and EASIX
HEMATOTOX_LABS = ("platelets", "anc", "hemoglobin", "crp", "ferritin", "ldh", "creatinine")
_VALID_CENSOR_KINDS = tuple(VOCABULARIES["event_kind"])
CRS_TERM = "cytokine release syndrome"
ICANS_TERM = "icans"

# CRS inputs (ASTCT 2019 footnotes): fever is temperature >= 38.0 C; hypotension is
# taken as systolic blood pressure < 90 mmHg (the usual adult definition; ASTCT does
# not fix a number) -- both parameters of crs_daily.
FEVER_C = 38.0
SBP_HYPOTENSION_BELOW = 90.0
# support kinds that, once given to a patient with CRS, waive the fever requirement
# (ASTCT 2019: "antipyretic or anticytokine therapy")
FEVER_MASKING = ("tocilizumab", "steroid", "antipyretic", "anakinra", "siltuximab")

# lineage (analyte code) -> CTCAE v4.03/v5.0 term; v6.0 calls platelets "thrombocytopenia"
# (ctcae_term accepts both names).
LINEAGES: dict[str, str] = {
    "anc": "neutrophil count decreased",
    "hemoglobin": "anemia",
    "platelets": "platelet count decreased",
    "wbc": "white blood cell decreased",
    "alc": "lymphocyte count decreased",
}


def _table(study: Study, name: str) -> pl.DataFrame:
    return study.tables[name]


def _episodes(study: Study) -> pl.DataFrame:
    return _table(study, "infusions").select(KEYS).unique(maintain_order=True)


# ------------------------------------------------------------------------- CRS


def crs_daily(
    study: Study,
    system: str = "astct2019",
    *,
    fever_c: float = FEVER_C,
    sbp_below: float = SBP_HYPOTENSION_BELOW,
) -> pl.DataFrame:
    """One row per episode and day with any vital sign or support record, with the CRS grade.

    Rows are in no particular order (sort by patient_id, episode, day when needed).

    Columns: patient_id, episode, day, temperature_max, sbp_min, fever, treated,
    hypotension, hypoxia, fio2_pct, high_dose_vasopressor, ne_equivalent_ug_min,
    has_vitals, crs_grade, crs_grade_low, crs_grade_high.

    * fever: highest temperature of the day >= ``fever_c``; null (not assessed) on a day
      without a temperature -- a missing temperature is not an afebrile one -- and on a day
      whose qualified temperatures (``<39``) leave the highest on both sides of ``fever_c``
      (grading/crs.py ``fever_expr``; ``>39`` is a fever, ``<37.5`` is not).
      temperature_max is the highest plain value.
    * crs_grade: the grade the day's records decide (null when they do not: a day without
      a temperature whose grade would differ with fever, a lee2014 day without the
      vasopressor dose). crs_grade_low / crs_grade_high: the lowest and highest grade the
      day can have. A day without a temperature counts from what is recorded: afebrile
      at the least, febrile at the most -- except a day whose only records are
      fever-masking drugs (nothing that could show CRS was measured: an antipyretic
      premedication), which is its afebrile grade. Other undetermined days span 0-4.
    * hypotension: "vasopressors" when two or more distinct vasopressor agents (kind
      "vasopressor", vasopressin excluded) are given that day; "vasopressor" when one
      (with or without vasopressin) or vasopressin alone; "fluids" when the lowest
      systolic pressure is < ``sbp_below`` and no vasopressor is given; else "none". A qualified
      pressure counts by its interval (grading/censored.py): ``<85`` is below 90, ``>=90`` is not, and
      ``<95`` leaves hypotension undetermined (null; the day's grade is then the one "none" and
      "fluids" both give, else null, and its range spans both). sbp_min is the lowest plain value.
    * hypoxia: the most intensive oxygen support of the day (device table and the
      > 6 L/min nasal-cannula rule of the ASTCT criteria file); no oxygen row = "none".
    * treated (fever no longer required, ASTCT): antipyretic, tocilizumab, steroid (or
      anakinra/siltuximab) given on or before that day in the episode, on a day when a
      fever had already been seen in the episode (the waiver is for "patients who have
      CRS then receive" the therapy; prophylaxis before any fever does not waive it, even
      after a later fever). On a waived, afebrile day
      only hypotension and hypoxia grade (no fever, neither -> 0). A limitation: the
      waiver lasts to the end of the episode's records, so a late hypotension of
      another cause (sepsis) would be graded as CRS -- such days show up as a
      disagreement with the recorded grade.
    * high_dose_vasopressor, ne_equivalent_ug_min (systems whose criteria file names a
      ``vasopressor_dose`` rule, i.e. lee2014; else null): Lee 2014 Table 2 from the
      support rows' agent, dose and dose_unit (criteria/vasopressor_lee2014.toml; the
      day's highest dose per agent; ug/kg/min <-> ug/min with patients.weight_kg). A
      missing dose, unit or weight, or an unlisted agent, leaves it null, and a day
      on one vasopressor is then undetermined (null) unless another input decides.
    * fio2_pct: the highest FiO2 of the day's oxygen rows (lee2014: < 40% -> 2, >= 40% -> 3).
    """
    spec = crs_criteria(system)
    astct = crs_criteria("astct2019")
    oxygen = spec.get("oxygen", astct["oxygen"])
    m = _table(study, "measurements")
    m = m.filter(pl.col("analyte").is_in(["temperature", "sbp"]) & pl.col("day").is_not_null())
    temperature = pl.col("analyte") == "temperature"
    sbp = pl.col("analyte") == "sbp"
    if has_qualified(m):
        # a qualified temperature (">39.5") or systolic pressure ("<85"): each result is the interval between
        # its two ends (grading/censored.py), so the day's highest temperature lies between the highest low
        # end and the highest high end, and its lowest systolic pressure between the lowest low end and the
        # lowest high end: fever and hypotension are decided only when that range is on one side of the
        # threshold, else undetermined (ASTCT 2019, Lee DW et al., Biol Blood Marrow Transplant 2019;25:625)
        ends = {end: at_end(m, end)["value"] for end in ENDS}
        m = m.with_columns(_lo=pl.min_horizontal(*ends.values()), _hi=pl.max_horizontal(*ends.values()))
    else:
        m = m.with_columns(_lo=pl.col("value"), _hi=pl.col("value"))
    vitals = (
        m.group_by([*KEYS, "day"])
        .agg(
            pl.col("value").filter(temperature).max().alias("temperature_max"),
            pl.col("value").filter(sbp).min().alias("sbp_min"),
            pl.col("_lo").filter(temperature).max().alias("_t_lo"),
            pl.col("_hi").filter(temperature).max().alias("_t_hi"),
            pl.col("_lo").filter(sbp).min().alias("_sbp_lo"),
            pl.col("_hi").filter(sbp).min().alias("_sbp_hi"),
        )
    )
    s = _table(study, "support").filter(pl.col("day").is_not_null())
    is_vasopressin = (pl.col("kind") == "vasopressin") | (
        (pl.col("kind") == "vasopressor")
        & (pl.col("agent").str.to_lowercase().str.strip_chars() == "vasopressin")
    )
    pressor_agent = pl.col("agent").fill_null("unnamed vasopressor").str.to_lowercase().str.strip_chars()
    hypoxia_order = list(astct["hypoxia"])  # none < low_flow < high_flow < positive_pressure
    device_cat = pl.col("o2_device").replace_strict(
        dict(oxygen["device"]), default=None, return_dtype=pl.String
    )
    # a nasal cannula (or unnamed device) above the low-flow limit is high flow (> 6 L/min)
    row_cat = (
        pl.when(pl.col("kind") != "oxygen")
        .then(None)
        .when(
            pl.col("o2_device").is_in(["nasal_cannula"]).fill_null(True)
            & (pl.col("o2_flow_l_min") > oxygen["low_flow_max_l_min"])
        )
        .then(pl.lit("high_flow"))
        .when(pl.col("o2_device").is_null())
        .then(pl.when(pl.col("o2_flow_l_min") > 0).then(pl.lit("low_flow")).otherwise(None))
        .otherwise(device_cat)
    )
    support = (
        s.with_columns(
            _vasopressin=is_vasopressin,
            _pressor=pl.when((pl.col("kind") == "vasopressor") & ~is_vasopressin).then(pressor_agent),
            _hypoxia_rank=row_cat.replace_strict(
                {c: i for i, c in enumerate(hypoxia_order)}, default=None, return_dtype=pl.Int64
            ),
        )
        .group_by([*KEYS, "day"])
        .agg(
            pl.col("_pressor").drop_nulls().n_unique().alias("n_vasopressors"),
            pl.col("_vasopressin").any().alias("vasopressin"),
            pl.col("kind").is_in(list(FEVER_MASKING)).any().alias("masking_today"),
            pl.col("_hypoxia_rank").max().alias("hypoxia_rank"),
            pl.col("fio2_pct").filter(pl.col("kind") == "oxygen").max().alias("fio2_pct"),
        )
    )
    if spec.get("vasopressor_dose"):
        # Lee 2014: "high dose" from the day's agents, doses and units (weight for ug/kg/min)
        weights = _table(study, "patients").select("patient_id", pl.col("weight_kg").cast(pl.Float64))
        pressors = (
            s.filter(pl.col("kind").is_in(["vasopressor", "vasopressin"]))
            .with_columns(
                agent=pl.when(pl.col("kind") == "vasopressin")
                .then(pl.col("agent").fill_null("vasopressin"))
                .otherwise(pl.col("agent"))
            )
            .join(weights, on="patient_id", how="left")
        )
        dose = high_dose_vasopressor_frame(pressors, [*KEYS, "day"], criteria=spec["vasopressor_dose"])
        support = support.join(dose, on=[*KEYS, "day"], how="left")
    else:
        support = support.with_columns(
            high_dose_vasopressor=pl.lit(None, dtype=pl.Boolean),
            ne_equivalent_ug_min=pl.lit(None, dtype=pl.Float64),
        )
    # no global sort (costly on a registry): window expressions order by day themselves
    days = vitals.join(support, on=[*KEYS, "day"], how="full", coalesce=True)
    days = days.with_columns(
        pl.col("n_vasopressors").fill_null(0),
        pl.col("vasopressin").fill_null(False),
        pl.col("masking_today").fill_null(False),
        # null when no temperature was taken that day (not assessed, not afebrile) or when a qualified one
        # leaves the day's highest temperature on both sides of fever_c
        fever=fever_expr(pl.col("_t_lo"), pl.col("_t_hi"), fever_c),
        has_vitals=pl.col("_t_hi").is_not_null() | pl.col("_sbp_hi").is_not_null(),
    ).with_columns(
        # a masking drug given on or after the first fever (ASTCT: "patients who have CRS then receive"):
        # a premedication before any fever does not waive it (tests/test_derive_crs_premedication_waiver.py)
        treated=(
            pl.col("masking_today")
            & pl.col("fever").fill_null(False).cum_max().over(KEYS, order_by="day")
        ).cum_max().over(KEYS, order_by="day"),
        hypotension=pl.when(pl.col("n_vasopressors") >= 2)
        .then(pl.lit("vasopressors"))
        .when((pl.col("n_vasopressors") == 1) | pl.col("vasopressin"))
        .then(pl.lit("vasopressor"))
        .when(pl.col("_sbp_hi") < sbp_below)
        .then(pl.lit("fluids"))
        # a qualified pressure whose interval holds sbp_below ("<95" with 90): "fluids" or "none", undetermined
        .when(pl.col("_sbp_lo") < sbp_below)
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.lit("none")),
        hypoxia=pl.col("hypoxia_rank")
        .replace_strict(dict(enumerate(hypoxia_order)), default=None, return_dtype=pl.String)
        .fill_null("none"),
    )
    # a day without a temperature could still show CRS when a blood pressure was taken or
    # hypotension or hypoxia support was given; with fever-masking drugs alone it could not
    could_show = (pl.col("_sbp_hi").is_not_null() | (pl.col("hypotension") != "none").fill_null(True)
                  | (pl.col("hypoxia") != "none")
                  | pl.col("_t_hi").is_not_null())  # a temperature that leaves fever undetermined
    # an undetermined hypotension (null: a qualified pressure on both sides of sbp_below) is graded as "none"
    # and as "fluids"; the day's grade is the one both give, its range the span of both (a known one: itself)
    for fill in ("none", "fluids"):
        # the category ranges once, as columns; the day is graded from them with and without fever
        ranges = tuple(f"_{fill}{c}" for c in ("_hypotension_lo", "_hypotension_hi", "_hypoxia_lo", "_hypoxia_hi"))
        days = days.with_columns(
            e.alias(name) for name, e in zip(ranges, crs_category_ranges(
                pl.col("hypotension").fill_null(fill), pl.col("hypoxia"), system,
                high_dose_vasopressor=pl.col("high_dose_vasopressor"), fio2_pct=pl.col("fio2_pct")), strict=True)
        )

        def grade(fever: pl.Expr, ranges: tuple[str, ...] = ranges) -> pl.Expr:
            return crs_grade_from_ranges(fever, *(pl.col(c) for c in ranges), system, treated=pl.col("treated"))

        # the day's grade with and without fever, each graded once; the day's own grade is one of them
        days = days.with_columns(_afebrile=grade(pl.lit(False)), _febrile=grade(pl.lit(True)))
        afebrile, febrile = pl.col("_afebrile"), pl.col("_febrile")
        days = days.with_columns(
            crs_grade=crs_grade_by_fever(pl.col("fever"), febrile, afebrile).cast(pl.Int64)).with_columns(
            crs_grade_low=pl.coalesce(
                "crs_grade", pl.when(pl.col("fever").is_null()).then(afebrile), pl.lit(0, dtype=pl.Int64)
            ),
            crs_grade_high=pl.coalesce(
                "crs_grade",
                pl.when(pl.col("fever").is_null()).then(pl.when(could_show).then(febrile).otherwise(afebrile)),
                pl.lit(4, dtype=pl.Int64),
            ),
        ).rename({c: f"_{fill}_{c}" for c in ("crs_grade", "crs_grade_low", "crs_grade_high")})
    days = days.with_columns(
        crs_grade=pl.when(pl.col("_none_crs_grade") == pl.col("_fluids_crs_grade")).then(pl.col("_none_crs_grade")),
        crs_grade_low=pl.min_horizontal("_none_crs_grade_low", "_fluids_crs_grade_low"),
        crs_grade_high=pl.max_horizontal("_none_crs_grade_high", "_fluids_crs_grade_high"),
    )
    return days.select(
        *KEYS,
        "day",
        "temperature_max",
        "sbp_min",
        "fever",
        "treated",
        "hypotension",
        "hypoxia",
        "fio2_pct",
        "high_dose_vasopressor",
        "ne_equivalent_ug_min",
        "has_vitals",
        "crs_grade",
        "crs_grade_low",
        "crs_grade_high",
    )


def _episode_summary(daily: pl.DataFrame, grade: str, prefix: str, graded_if: pl.Expr) -> pl.DataFrame:
    """Max grade, onset day (first day >= 1) and duration (days >= 1) per episode."""
    return daily.group_by(KEYS).agg(
        pl.when(graded_if.any()).then(pl.col(grade).max()).otherwise(None).alias(f"{prefix}_max"),
        pl.col("day").filter(pl.col(grade) >= 1).min().alias(f"{prefix}_onset_day"),
        pl.when(graded_if.any())
        .then((pl.col(grade) >= 1).sum())
        .otherwise(None)
        .cast(pl.Int64)
        .alias(f"{prefix}_duration_days"),
        pl.col(grade).is_null().any().alias(f"{prefix}_undetermined_days"),
    )


def _recorded(study: Study, term: str) -> pl.DataFrame:
    ae = _table(study, "adverse_events").filter(pl.col("term") == term)
    return ae.select(
        *KEYS,
        pl.col("grade").cast(pl.Int64).alias("recorded_grade"),
        pl.col("grading_system").alias("recorded_system"),
        pl.col("onset_day").cast(pl.Int64).alias("recorded_onset_day"),
        (pl.col("resolution_day") - pl.col("onset_day") + 1).cast(pl.Int64).alias("recorded_duration_days"),
    ).unique(KEYS, keep="first")


def _with_recorded_fallback(
    derived: pl.DataFrame, study: Study, term: str, prefix: str, system: str
) -> pl.DataFrame:
    """All episodes; derived values where derivable, else the recorded AE grade (source says which)."""
    rec = _recorded(study, term)
    out = _episodes(study).join(derived, on=KEYS, how="left").join(rec, on=KEYS, how="left")
    use_rec = pl.col(f"{prefix}_max").is_null() & pl.col("recorded_grade").is_not_null()
    return out.select(
        *KEYS,
        pl.when(use_rec)
        .then(pl.col("recorded_grade"))
        .otherwise(pl.col(f"{prefix}_max"))
        .alias(f"{prefix}_max"),
        pl.when(use_rec)
        .then(pl.col("recorded_onset_day"))
        .otherwise(pl.col(f"{prefix}_onset_day"))
        .alias(f"{prefix}_onset_day"),
        pl.when(use_rec)
        .then(pl.col("recorded_duration_days"))
        .otherwise(pl.col(f"{prefix}_duration_days"))
        .alias(f"{prefix}_duration_days"),
        pl.when(use_rec)
        .then(pl.col("recorded_system"))
        .when(pl.col(f"{prefix}_max").is_not_null())
        .then(pl.lit(system))
        .otherwise(None)
        .alias("system"),
        pl.when(use_rec)
        .then(pl.lit("recorded"))
        .when(pl.col(f"{prefix}_max").is_not_null())
        .then(pl.lit("derived"))
        .otherwise(None)
        .alias("source"),
    ).sort(KEYS)


def derive_crs(
    study: Study, system: str = "astct2019", *, notes: list[str] | None = None, **kwargs
) -> pl.DataFrame:
    """Maximum CRS grade per episode with onset day and duration.

    Columns: patient_id, episode, crs_max, crs_onset_day, crs_duration_days, system,
    source. Every infusion episode has a row. The grade is derived (source "derived")
    when the episode has vital signs (temperature or systolic pressure): an episode
    with vitals and no CRS day is grade 0. Without vitals it is null -- unless the
    investigator recorded a "cytokine release syndrome" adverse event, which is then
    used as is (source "recorded", system = its recorded grading system). Duration
    counts the days graded >= 1 (days between records are not filled in). The max is the
    highest grade the days surely reach (``crs_grade_low``); it is null when an undetermined
    day could reach higher (``crs_grade_high``): a day without a temperature whose grade
    would be higher with fever, or a lee2014 day without the vasopressor dose.
    ``notes``: where given, a located note lists the days without a temperature that leave
    an episode's grade undetermined. Keyword arguments go to :func:`crs_daily`.
    """
    daily = crs_daily(study, system, **kwargs)
    summary = _episode_summary(daily, "crs_grade", "crs", pl.col("has_vitals"))
    bounds = daily.group_by(KEYS).agg(
        pl.col("crs_grade_low").max().alias("_low"), pl.col("crs_grade_high").max().alias("_high")
    )
    summary = summary.join(bounds, on=KEYS, how="left").with_columns(
        pl.when(pl.col("crs_max").is_null())
        .then(None)
        .when(pl.col("_high") > pl.col("_low"))
        .then(None)
        .otherwise(pl.col("_low"))
        .alias("crs_max")
    )
    if notes is not None:
        note = missing_temperature_note(daily, summary, system)
        if note:
            notes.append(note)
    return _with_recorded_fallback(summary.drop("crs_undetermined_days", "_low", "_high"), study, CRS_TERM, "crs",
                                   system)


def missing_temperature_note(daily: pl.DataFrame, summary: pl.DataFrame, system: str, *, shown: int = 10) -> str:
    """The located note on days without a temperature (fever not assessed) that decide an episode's
    CRS grade: patient, episode, day, the grade without and with fever. '' when there are none."""
    from cartkit.grading.systems import system_label

    lows = summary.select(*KEYS, pl.col("_low").alias("_episode_low"))
    deciding = (
        daily.filter(pl.col("fever").is_null())
        .join(lows, on=KEYS, how="inner")
        .filter(pl.col("crs_grade_high") > pl.col("_episode_low"))
        .sort([*KEYS, "day"])
    )
    if not deciding.height:
        return ""
    n_episodes = deciding.select(KEYS).unique().height
    located = [
        f"{r['patient_id']} episode {r['episode']} day {r['day']} (grade {r['crs_grade_low']} afebrile, "
        f"up to {r['crs_grade_high']} with fever)"
        for r in deciding.head(shown).iter_rows(named=True)
    ]
    more = f"; and {deciding.height - shown} more" if deciding.height > shown else ""
    return (
        f"CRS ({system_label(system)}): no temperature was recorded on {deciding.height} day(s) whose grade "
        f"depends on it (fever not assessed, not taken as absent), so the derived CRS grade of {n_episodes} "
        f"episode(s) is undetermined: " + "; ".join(located) + more + "."
    )


# ------------------------------------------------------------------------- ICANS


def age_at_episode(study: Study) -> pl.DataFrame:
    """Per episode, the patient's age in years at its infusion.

    ``patients.age`` is the age at first infusion; later episodes add the time since
    (days / 365.25). Columns: patient_id, episode, age_years.
    """
    inf = _table(study, "infusions").select(*KEYS, "infusion_date")
    ages = _table(study, "patients").select("patient_id", pl.col("age").cast(pl.Float64))
    return (
        inf.with_columns(_first=pl.col("infusion_date").min().over("patient_id"))
        .join(ages, on="patient_id", how="left")
        .select(
            *KEYS,
            (pl.col("age") + (pl.col("infusion_date") - pl.col("_first")).dt.total_days() / 365.25).alias(
                "age_years"
            ),
        )
    )


def icans_daily(study: Study, system: str = "astct2019") -> pl.DataFrame:
    """ICANS grade of every neuro assessment day (null domains contribute nothing).

    Children under the criteria file's ``capd_below_age_years`` (12, ASTCT 2019) at
    the episode's infusion are graded with ``capd_score`` (CAPD) and their ICE score
    is ignored (ICE is not valid under 12); older patients with the ICE score and
    their CAPD ignored. Unknown age: ICE. Several assessments on a day: the worst.
    """
    spec = icans_criteria(system)
    neuro = _table(study, "neuro").filter(pl.col("day").is_not_null())
    if "capd_score" not in neuro.columns:
        neuro = neuro.with_columns(capd_score=pl.lit(None, dtype=pl.Int64))
    child = (pl.col("age_years") < spec["capd_below_age_years"]).fill_null(False)
    graded = neuro.join(age_at_episode(study), on=KEYS, how="left").with_columns(
        icans_grade=icans_grade_expr(
            pl.when(child).then(None).otherwise(pl.col("ice_score")),
            pl.col("consciousness"),
            pl.col("seizure"),
            pl.col("motor"),
            pl.col("raised_icp"),
            system,
            capd_score=pl.when(child).then(pl.col("capd_score")).otherwise(None),
        )
    )
    # several assessments on one day: the worst counts for that day
    return graded.group_by([*KEYS, "day"]).agg(pl.col("icans_grade").max()).sort([*KEYS, "day"])


def derive_icans(study: Study, system: str = "astct2019") -> pl.DataFrame:
    """Maximum ICANS grade per episode with onset day and duration (days graded >= 1).

    Columns: patient_id, episode, icans_max, icans_onset_day, icans_duration_days,
    system, source. Episodes without a gradable neuro assessment are null, or the
    recorded "icans" adverse event when there is one (source "recorded").
    """
    daily = icans_daily(study, system)
    summary = _episode_summary(daily, "icans_grade", "icans", pl.col("icans_grade").is_not_null())
    return _with_recorded_fallback(
        summary.drop("icans_undetermined_days"), study, ICANS_TERM, "icans", system
    )


# ------------------------------------------------------------------------- haematology


def _coverage_expr(window_end: int) -> pl.Expr:
    """Days a value stands for: until the next sample of its series, the last one its own day."""
    return pl.min_horizontal(
        pl.col("day").shift(-1).over([*KEYS, "analyte"], order_by="day").fill_null(pl.col("day") + 1),
        pl.lit(window_end + 1),
    ) - pl.col("day")


def hematologic_grades_long(
    study: Study,
    version: str = Plan.ctcae_version,
    *,
    window: tuple[int, int] = (0, 28),
    lln: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """Worst CTCAE grade per episode and lineage in ``window`` (one row per episode x lineage).

    Columns: patient_id, episode, analyte, term, ctcae_version, worst_grade, nadir,
    nadir_day, days_grade_3plus, n_values.

    ``lln``: lower limits of normal by analyte code in canonical units, used where a
    measurement row has no ``lln`` of its own; without either, days whose grade would depend on it are undetermined and
    the worst grade is null unless another day reached grade >= 2. ``days_grade_3plus``
    counts the days covered by values at grade >= 3, each value holding until the next
    sample in the window (last sample: its own day) -- the same convention as ICAHT.
    Lineages whose term the CTCAE version does not encode (v6.0 lymphocytes) are left out.
    Qualified counts (ANC ``<0.1``) are graded at both ends of their interval (grading/censored.py): a
    grade both ends agree on, else null.
    """
    if has_qualified(_table(study, "measurements"), LINEAGES):
        return graded_at_both_ends(study, hematologic_grades_long, [*KEYS, "analyte"], version, window=window,
                                   lln=lln)
    lln = dict(lln or {})
    m = _table(study, "measurements").filter(
        pl.col("analyte").is_in(list(LINEAGES))
        & pl.col("day").is_between(*window)
        & pl.col("value").is_not_null()
    )
    # one value per analyte and day: the worst (lowest); the row's own LLN when the study gives one
    row_lln = pl.col("lln").min() if "lln" in m.columns else pl.lit(None, dtype=pl.Float64)
    # the unit the lowest value was recorded in: CTCAE prints some cut-points per unit
    # (anaemia in mmol/L), graded there rather than after conversion
    row_unit = (
        pl.col("unit_original").sort_by("value").first()
        if "unit_original" in m.columns
        else pl.lit(None, dtype=pl.String)
    )
    daily = m.group_by([*KEYS, "analyte", "day"]).agg(
        pl.col("value").min(), row_lln.alias("lln"), row_unit.alias("unit_original")
    )
    # one pass over the table: each lineage's rule applies to its own rows
    grade = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.Int64))
    names, lln_grades = {}, {}
    for analyte, term in LINEAGES.items():
        try:
            spec = ctcae_term(term, version)
        except ValueError:
            continue  # term not encoded for this version (documented in its criteria file)
        # the measurement's own LLN first, else the one given for the study (``lln``)
        lln_expr = pl.coalesce(pl.col("lln"), pl.lit(lln.get(analyte), dtype=pl.Float64))
        grade = grade.when(pl.col("analyte") == analyte).then(
            ctcae_grade_expr(term, pl.col("value"), version, lln=lln_expr, unit_original=pl.col("unit_original"))
        )
        names[analyte] = spec.name
        lln_grades[analyte] = spec.lln_grade or 0
    schema = {
        "patient_id": pl.String,
        "episode": pl.Int64,
        "analyte": pl.String,
        "term": pl.String,
        "ctcae_version": pl.String,
        "worst_grade": pl.Int64,
        "nadir": pl.Float64,
        "nadir_day": pl.Int64,
        "days_grade_3plus": pl.Int64,
        "n_values": pl.Int64,
    }
    if not names:
        return pl.DataFrame(schema=schema)
    graded = daily.filter(pl.col("analyte").is_in(list(names))).with_columns(
        grade=grade.otherwise(None).cast(pl.Int64),
        term=pl.col("analyte").replace_strict(names, return_dtype=pl.String),
        lln_grade=pl.col("analyte").replace_strict(lln_grades, return_dtype=pl.Int64),
        cover=_coverage_expr(window[1]),
    )
    out = graded.group_by([*KEYS, "analyte"]).agg(
        pl.col("term").first(),
        pl.col("grade").max().alias("_max"),
        pl.col("grade").is_null().any().alias("_undetermined"),
        pl.col("lln_grade").first(),
        pl.col("value").min().alias("nadir"),
        pl.col("day").sort_by("value", "day").first().alias("nadir_day"),
        pl.col("cover").filter(pl.col("grade") >= 3).sum().cast(pl.Int64).alias("days_grade_3plus"),
        pl.len().cast(pl.Int64).alias("n_values"),
    )
    # an undetermined day is 0 or the LLN grade: the worst is known only when a
    # determined day is at or above the LLN grade
    out = out.with_columns(
        worst_grade=pl.when(pl.col("_undetermined") & (pl.col("_max").fill_null(-1) < pl.col("lln_grade")))
        .then(None)
        .otherwise(pl.col("_max"))
        .cast(pl.Int64),
        ctcae_version=pl.lit(str(version)),
    )
    return out.select(list(schema)).sort([*KEYS, "analyte"])


def baseline_labs(
    study: Study, analytes: Sequence[str], *, target_day: int = -5, before_day: int = 0
) -> pl.DataFrame:
    """Per episode, the value of each analyte on the day < ``before_day`` nearest ``target_day``.

    Ties (equally near before and after the target) take the earlier day -- it is the
    one before lymphodepletion. Wide result: patient_id, episode, <analyte>, <analyte>_day.
    """
    m = _table(study, "measurements").filter(
        pl.col("analyte").is_in(list(analytes)) & (pl.col("day") < before_day) & pl.col("value").is_not_null()
    )
    nearest = (
        m.with_columns(_dist=(pl.col("day") - target_day).abs())
        .sort([*KEYS, "analyte", "_dist", "day"])
        .group_by([*KEYS, "analyte"], maintain_order=True)
        .first()
    )
    wide = _episodes(study)
    for a in analytes:
        part = nearest.filter(pl.col("analyte") == a).select(
            *KEYS, pl.col("value").alias(a), pl.col("day").alias(f"{a}_day")
        )
        wide = wide.join(part, on=KEYS, how="left")
    return wide


def _factor(analyte: str, unit: str) -> float:
    """Divide a canonical value by this to express it in ``unit`` (vocabulary's factors)."""
    factor, offset = UNIT_CONVERSIONS[analyte][unit]
    assert offset == 0.0
    return factor


def censor_days(study: Study, censor_at: Sequence[str]) -> pl.DataFrame:
    """Per episode, the first day after infusion of any event in ``censor_at``.

    ``censor_at`` holds ``events.kind`` values and/or ``"next_infusion"`` (the
    patient's next episode). Event days are taken relative to each episode's infusion
    date (from the event date; else its day when it names that episode); only events
    strictly after the infusion day count (the event that led to this infusion, or a
    new-therapy record of the infusion itself, does not censor it). Columns:
    patient_id, episode, censor_day (null when no such event), censor_reason.
    """
    censor_at = list(censor_at)
    inf = _table(study, "infusions").select(*KEYS, "infusion_date")
    frames = []
    kinds = [k for k in censor_at if k != "next_infusion"]
    unknown = set(kinds) - set(_VALID_CENSOR_KINDS)
    if unknown:
        raise ValueError(
            f"censor_at {sorted(unknown)} not event kinds {_VALID_CENSOR_KINDS} or 'next_infusion'"
        )
    if kinds:
        ev = _table(study, "events").filter(pl.col("kind").is_in(kinds))
        rel = (
            inf.join(
                ev.select("patient_id", "kind", pl.col("episode").alias("_ev_episode"), "day", "date"),
                on="patient_id",
                how="inner",
            )
            .with_columns(
                _day=pl.coalesce(
                    (pl.col("date") - pl.col("infusion_date")).dt.total_days().cast(pl.Int64),
                    pl.when(pl.col("_ev_episode") == pl.col("episode")).then(pl.col("day").cast(pl.Int64)),
                )
            )
            .filter(pl.col("_day") > 0)
            .select(*KEYS, pl.col("_day").alias("censor_day"), pl.col("kind").alias("censor_reason"))
        )
        frames.append(rel)
    if "next_infusion" in censor_at:
        nxt = (
            inf.with_columns(
                _next=pl.col("infusion_date").shift(-1).over("patient_id", order_by="infusion_date")
            )
            .filter(pl.col("_next").is_not_null())
            .select(
                *KEYS,
                (pl.col("_next") - pl.col("infusion_date")).dt.total_days().cast(pl.Int64).alias("censor_day"),
                pl.lit("next_infusion").alias("censor_reason"),
            )
            .filter(pl.col("censor_day") > 0)
        )
        frames.append(nxt)
    first = (
        pl.concat(frames)
        .sort([*KEYS, "censor_day", "censor_reason"])
        .group_by(KEYS, maintain_order=True)
        .first()
        if frames
        else pl.DataFrame(
            schema={"patient_id": pl.String, "episode": pl.Int64, "censor_day": pl.Int64, "censor_reason": pl.String}
        )
    )
    return _episodes(study).join(first, on=KEYS, how="left")


def derive_hematotox_scores(
    study: Study, *, icaht_bridge_days: int | None = None, icaht_censor_at: Sequence[str] | None = None
) -> pl.DataFrame:
    """Per episode: early/late ICAHT, early T-ICAHT, CAR-HEMATOTOX and EASIX from baseline labs.

    Columns: patient_id, episode, icaht_grade, days_anc_le_0.5, days_anc_le_0.1,
    car_hematotox, car_hematotox_high_risk, easix, baseline_day, then
    icaht_censor_day, icaht_censor_reason, late_icaht_grade, late_anc_measurements,
    ticaht_grade, days_plt_lt_50, days_plt_lt_20, late_ticaht_grade (days 31-100),
    late_plt_measurements, late_days_plt_lt_100, late_days_plt_lt_50, late_days_plt_lt_20.
    Platelet counts within 7 days of a platelet transfusion (support rows of kind
    "platelet_transfusion") are not recovery in early and late T-ICAHT.
    Baseline labs: the last pre-infusion values (day < 0) nearest to day -5 (before
    lymphodepletion), analyte by analyte; ``baseline_day`` is the platelet day. Units
    are converted to the paper's (Hb g/dL, CRP mg/dL, creatinine mg/dL) with the
    vocabulary's factors. ICAHT (early, late) and T-ICAHT (early, late) are censored at the
    first event in ``icaht_censor_at`` (default: each criteria file's ``censor_at`` --
    ``icaht_eha_ebmt2023.toml`` for ICAHT, ``ticaht_eha_ebmt2024.toml`` for T-ICAHT; both
    progression, relapse, new_therapy, death and the next infusion; see
    :func:`censor_days`): only days before it count. The ``icaht_censor_day`` and
    ``icaht_censor_reason`` columns are ICAHT's. Early grades are null for an
    episode without a count in days 0-30 before censoring; late ICAHT is null with
    fewer than two ANC days after day +30, late T-ICAHT with fewer than two platelet
    days in days 31-100. Qualified counts and labs (``<0.1``, ``>100000``) are scored at both ends of their
    interval (grading/censored.py): a grade or score both ends agree on, else null.
    """
    if has_qualified(_table(study, "measurements"), HEMATOTOX_LABS):
        return graded_at_both_ends(study, derive_hematotox_scores, KEYS, icaht_bridge_days=icaht_bridge_days,
                                   icaht_censor_at=icaht_censor_at)
    censor_at = icaht_criteria()["censor_at"] if icaht_censor_at is None else list(icaht_censor_at)
    censor = censor_days(study, censor_at)
    # T-ICAHT (early and late) by its own file's censor_at (Rejeski 2024 Table 1 footnote), unless
    # the caller names the events for every grade
    t_censor_at = ticaht_criteria()["censor_at"] if icaht_censor_at is None else list(icaht_censor_at)
    t_censor = censor if t_censor_at == censor_at else censor_days(study, t_censor_at)
    m = _table(study, "measurements")
    anc = m.filter(pl.col("analyte") == "anc").select(*KEYS, "day", "value")
    plt = m.filter(pl.col("analyte") == "platelets").select(*KEYS, "day", "value")
    # platelet transfusions (support kind "platelet_transfusion"): counts within 7 days of
    # one are not recovery (T-ICAHT, criteria/ticaht_eha_ebmt2024.toml)
    transfusions = (
        _table(study, "support")
        .filter((pl.col("kind") == "platelet_transfusion") & pl.col("day").is_not_null())
        .select(*KEYS, "day")
    )
    icaht = icaht_frame(anc, KEYS, bridge_days=icaht_bridge_days, censor=censor)
    late = late_icaht_frame(anc, KEYS, censor=censor)
    ticaht = ticaht_frame(plt, KEYS, bridge_days=icaht_bridge_days, censor=t_censor, transfusions=transfusions)
    late_t = late_ticaht_frame(
        plt, KEYS, bridge_days=icaht_bridge_days, censor=t_censor, transfusions=transfusions
    )
    base = baseline_labs(study, list(HEMATOTOX_LABS))
    high = hematotox_criteria()["high_risk_at"]
    scores = base.with_columns(
        car_hematotox=car_hematotox_expr(
            pl.col("platelets"),
            pl.col("anc"),
            pl.col("hemoglobin") / _factor("hemoglobin", "g/dL"),
            pl.col("crp") / _factor("crp", "mg/dL"),
            pl.col("ferritin"),
        ),
        easix=easix_expr(
            pl.col("ldh"), pl.col("creatinine") / _factor("creatinine", "mg/dL"), pl.col("platelets")
        ),
    ).with_columns(car_hematotox_high_risk=pl.col("car_hematotox") >= high)
    return (
        scores.select(
            *KEYS,
            "car_hematotox",
            "car_hematotox_high_risk",
            "easix",
            pl.col("platelets_day").alias("baseline_day"),
        )
        .join(icaht, on=KEYS, how="left")
        .join(censor, on=KEYS, how="left")
        .join(late, on=KEYS, how="left")
        .join(ticaht, on=KEYS, how="left")
        .join(late_t, on=KEYS, how="left")
        .select(
            *KEYS,
            "icaht_grade",
            *[c for c in icaht.columns if c.startswith("days_anc_le_")],
            "car_hematotox",
            "car_hematotox_high_risk",
            "easix",
            "baseline_day",
            pl.col("censor_day").alias("icaht_censor_day"),
            pl.col("censor_reason").alias("icaht_censor_reason"),
            "late_icaht_grade",
            "late_anc_measurements",
            "ticaht_grade",
            *[c for c in ticaht.columns if c.startswith("days_plt_lt_")],
            "late_ticaht_grade",
            "late_plt_measurements",
            *[c for c in late_t.columns if c.startswith("late_days_plt_lt_")],
        )
        .sort(KEYS)
    )


def derive_hematologic(
    study: Study,
    version: str = Plan.ctcae_version,
    *,
    window: tuple[int, int] = (0, 28),
    lln: Mapping[str, float] | None = None,
    icaht_bridge_days: int | None = None,
    icaht_censor_at: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Haematological toxicity per episode and lineage, with the episode's ICAHT/HEMATOTOX/EASIX.

    One row per episode x lineage that has counts in ``window`` (see
    :func:`hematologic_grades_long`: analyte, term, ctcae_version, worst_grade, nadir,
    nadir_day, days_grade_3plus, n_values) plus, repeated on each row of the episode,
    the per-episode scores of :func:`derive_hematotox_scores` (icaht_grade,
    days_anc_le_*, car_hematotox, car_hematotox_high_risk, easix, baseline_day,
    icaht_censor_day, icaht_censor_reason, late_icaht_grade, late_anc_measurements,
    ticaht_grade, days_plt_lt_*, late_ticaht_grade, late_plt_measurements,
    late_days_plt_lt_*), and
    source = "derived". Episodes without any count have no rows; the recorded AE
    grades are compared by :func:`compare_recorded`.
    """
    long = hematologic_grades_long(study, version, window=window, lln=lln)
    scores = derive_hematotox_scores(
        study, icaht_bridge_days=icaht_bridge_days, icaht_censor_at=icaht_censor_at
    )
    return (
        long.join(scores, on=KEYS, how="left").with_columns(source=pl.lit("derived")).sort([*KEYS, "analyte"])
    )


# ------------------------------------------------------------------------- recorded vs derived

_DISAGREEMENT_SCHEMA = {
    "patient_id": pl.String,
    "episode": pl.Int64,
    "item": pl.String,
    "recorded": pl.String,
    "derived": pl.String,
    "note": pl.String,
}


def _derived_items(derived: pl.DataFrame) -> pl.DataFrame:
    """patient_id, episode, item (AE term), derived grade, derived system from any derive_* table."""
    cols = derived.columns
    frames = []
    for prefix, term in (("crs", CRS_TERM), ("icans", ICANS_TERM)):
        if f"{prefix}_max" in cols:
            d = derived
            if "source" in cols:
                d = d.filter(pl.col("source") == "derived")
            frames.append(
                d.select(
                    *KEYS,
                    pl.lit(term).alias("item"),
                    pl.col(f"{prefix}_max").cast(pl.Int64).alias("derived"),
                    pl.col("system").cast(pl.String).alias("derived_system")
                    if "system" in cols
                    else pl.lit(None, pl.String).alias("derived_system"),
                )
            )
    if "worst_grade" in cols and "analyte" in cols:
        frames.append(
            derived.select(
                *KEYS,
                pl.col("analyte")
                .replace_strict(LINEAGES, default=None, return_dtype=pl.String)
                .alias("item"),
                pl.col("worst_grade").cast(pl.Int64).alias("derived"),
                ("ctcae" + pl.col("ctcae_version")).alias("derived_system"),
            ).unique([*KEYS, "item"])
        )
    if not frames:
        raise ValueError(f"compare_recorded: not a derived grade table (columns {cols})")
    return pl.concat(frames)


def compare_recorded(derived: pl.DataFrame | Mapping[str, pl.DataFrame], study: Study) -> pl.DataFrame:
    """Every disagreement between derived grades and the recorded ``adverse_events`` grades.

    ``derived`` is a table from :func:`derive_crs`, :func:`derive_icans` or
    :func:`derive_hematologic`, or a mapping of several. Items compared: "cytokine
    release syndrome", "icans" and the haematological terms. Listed:

    * both exist and differ (note says so, and names both systems when they differ --
      e.g. recorded CTCAE v4.03 vs derived ASTCT 2019 legitimately differ);
    * recorded but the derived grade is undetermined (null) although the episode was
      graded from data (note "derived grade undetermined");
    * derived grade >= 1 with no recorded adverse event (note "not recorded").

    Columns: patient_id, episode, item, recorded, derived, note (recorded/derived as
    text so the table can be stacked with response disagreements). Nothing is
    overwritten: the derived tables are returned untouched by this function.
    """
    tables = list(derived.values()) if isinstance(derived, Mapping) else [derived]
    items = (
        pl.concat([_derived_items(t) for t in tables if t.height]) if any(t.height for t in tables) else None
    )
    if items is None:
        return pl.DataFrame(schema=_DISAGREEMENT_SCHEMA)
    terms = items["item"].unique().to_list()
    rec = (
        _table(study, "adverse_events")
        .filter(pl.col("term").is_in(terms))
        .select(
            *KEYS,
            pl.col("term").alias("item"),
            pl.col("grade").cast(pl.Int64).alias("recorded"),
            pl.col("grading_system").alias("recorded_system"),
        )
        .unique([*KEYS, "item"], keep="first")
    )
    both = items.join(rec, on=[*KEYS, "item"], how="full", coalesce=True)
    systems = pl.when(
        pl.col("recorded_system").is_not_null()
        & pl.col("derived_system").is_not_null()
        & (pl.col("recorded_system") != pl.col("derived_system"))
    ).then(pl.format(" (recorded under {}, derived under {})", "recorded_system", "derived_system"))
    note = (
        pl.when(pl.col("recorded").is_not_null() & pl.col("derived").is_not_null())
        .then(pl.lit("grades differ") + systems.fill_null(""))
        .when(pl.col("recorded").is_not_null())
        .then(pl.lit("derived grade undetermined from the records"))
        .otherwise(pl.lit("derived grade >= 1 but no recorded adverse event"))
    )
    # rows from the derive tables (a derived row exists) or recorded-only rows of
    # episodes that the derive tables graded
    graded = items.select(*KEYS, "item").unique()
    return (
        both.join(graded, on=[*KEYS, "item"], how="semi")
        .filter(
            (
                pl.col("recorded").is_not_null()
                & pl.col("derived").is_not_null()
                & (pl.col("recorded") != pl.col("derived"))
            )
            | (pl.col("recorded").is_not_null() & pl.col("derived").is_null())
            | (pl.col("recorded").is_null() & (pl.col("derived") >= 1))
        )
        .with_columns(note=note)
        .select(
            *KEYS,
            "item",
            pl.col("recorded").cast(pl.String),
            pl.col("derived").cast(pl.String),
            "note",
        )
        .sort([*KEYS, "item"])
    )
