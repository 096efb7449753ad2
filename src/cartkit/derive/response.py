"""Derive responses of every episode of a Study: per assessment, best overall, relapse.

* At each assessment: the investigator's recorded ``response`` when present, and the
  response derived from the inputs when they exist (PET-CT: Deauville + uptake + new
  lesions -> Lugano PET; CT: target lesions of the ``lesions`` table -> Lugano CT;
  marrow: blasts, circulating blasts, extramedullary disease, ANC, platelets -> B-ALL
  CR/CRi/NR; multiple myeloma patients (diagnosis family "myeloma"): the IMWG 2016 response from
  the M-protein and FLC measurements and the myeloma assessment columns, confirmed by the next
  assessment, :func:`imwg_from_study`); CLL patients (family "cll"): the iwCLL 2018 response from
  nodes, spleen, liver, marrow and the same day's blood counts (:func:`iwcll_from_study`). Both are kept; ``response`` is the recorded one when present (it is what
  the study reported), else the derived one, and ``source`` says which. Every
  disagreement is listed.
* Best overall response per episode (order CR > CRi > PR > SD > NR = PD, Lugano PET
  labels mapped CMR->CR, PMR->PR, NMR->SD, PMD->PD; ``cartkit/response/criteria``).
* Relapse/progression day after CR/CRi: the first later assessment with NR/PD/PMD/
  relapse, or the first relapse/progression event after the CR/CRi day, whichever is
  first (events without an episode are attached to the patient's latest infusion
  on or before the event date).

Everything is vectorised over whole tables with Polars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from cartkit.grading.censored import agreed, at_end, has_qualified
from cartkit.response.b_all import all_response_expr, mrd_negative_expr
from cartkit.response.best_response import bor_criteria, bor_label_expr, bor_rank_expr
from cartkit.response.imwg import INPUTS as IMWG_INPUTS
from cartkit.response.imwg import imwg_responses
from cartkit.response.iwcll import INPUTS as IWCLL_INPUTS
from cartkit.response.iwcll import iwcll_responses
from cartkit.response.lugano import lugano_criteria, lugano_pet_expr
from cartkit.study.qualified import BELOW
from cartkit.study.vocabulary import ANALYTES, DIAGNOSES

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.model import Study

KEYS = ["patient_id", "episode"]
ASSESSMENT_KEY = [*KEYS, "day", "method"]


@dataclass
class ResponseDerivation:
    """Result of :func:`derive_responses` (plain tables)."""

    assessments: (
        pl.DataFrame
    )  # patient_id, episode, day, method, recorded, derived, response, source, mrd_negative
    best: (
        pl.DataFrame
    )  # patient_id, episode, best_response, response_day, source, relapse_day, relapse_source, mrd_negative
    disagreements: pl.DataFrame  # patient_id, episode, item, recorded, derived, note
    source_note: str


def lugano_ct_from_lesions(lesions: pl.DataFrame, new_lesions: pl.DataFrame | None = None) -> pl.DataFrame:
    """Lugano CT response at each post-baseline lesion assessment, vectorised over all episodes.

    ``lesions``: patient_id, episode, day, lesion_id, ldi_mm, sdi_mm. Baseline = the
    latest lesion day <= 0 of the episode; assessments = later days. Per lesion the
    nadir is the smallest product (PPD) seen so far including baseline and the current
    day (earliest on ties), as :func:`cartkit.response.lugano_ct` does. ``new_lesions``
    (patient_id, episode, day, new_lesions) marks PD. Returns patient_id, episode, day,
    ct_response. Same rules and thresholds as the scalar function (one criteria file).
    """
    ct = lugano_criteria()["ct"]
    lk = [*KEYS, "lesion_id"]
    les = lesions.filter(pl.col("day").is_not_null()).with_columns(ppd=pl.col("ldi_mm") * pl.col("sdi_mm"))
    base_day = les.filter(pl.col("day") <= 0).group_by(KEYS).agg(pl.col("day").max().alias("baseline_day"))
    les = (
        les.join(base_day, on=KEYS, how="inner")
        .filter(pl.col("day") >= pl.col("baseline_day"))
        .sort([*lk, "day"])
    )
    prev_min = pl.col("ppd").cum_min().shift(1).over(lk)
    new_min = prev_min.is_null() | (pl.col("ppd") < prev_min)
    les = les.with_columns(
        nadir_ppd=pl.col("ppd").cum_min().over(lk),
        nadir_ldi=pl.when(new_min).then(pl.col("ldi_mm")).forward_fill().over(lk),
        nadir_sdi=pl.when(new_min).then(pl.col("sdi_mm")).forward_fill().over(lk),
    )
    step = (
        pl.when(pl.col("nadir_ldi" if ct["pd_size_reference"] == "nadir" else "ldi_mm")
                <= ct["pd_small_lesion_max_ldi_mm"])
        .then(ct["pd_min_diameter_increase_small_mm"])
        .otherwise(ct["pd_min_diameter_increase_large_mm"])
    )
    les = les.with_columns(
        lesion_pd=(pl.col("ldi_mm") > ct["pd_min_ldi_mm"])
        & (pl.col("ppd") >= (1 + ct["pd_min_ppd_increase"]) * pl.col("nadir_ppd"))
        & (pl.col("ppd") > pl.col("nadir_ppd"))
        & (
            (pl.col("ldi_mm") - pl.col("nadir_ldi") >= step)
            | (pl.col("sdi_mm") - pl.col("nadir_sdi") >= step)
        )
    )
    per_day = les.group_by([*KEYS, "day"]).agg(
        pl.col("baseline_day").first(),
        pl.col("lesion_pd").any().alias("any_pd"),
        (pl.col("ldi_mm") <= ct["cr_max_ldi_mm"]).all().alias("all_small"),
        pl.col("ppd").sum().alias("spd"),
    )
    base_spd = per_day.filter(pl.col("day") == pl.col("baseline_day")).select(
        *KEYS, pl.col("spd").alias("spd_base")
    )
    per_day = per_day.filter(pl.col("day") > pl.col("baseline_day")).join(base_spd, on=KEYS, how="left")
    if new_lesions is not None:
        per_day = per_day.join(new_lesions, on=[*KEYS, "day"], how="left")
    else:
        per_day = per_day.with_columns(new_lesions=pl.lit(None, dtype=pl.Boolean))
    return per_day.select(
        *KEYS,
        "day",
        pl.when(pl.col("new_lesions").fill_null(False) | pl.col("any_pd"))
        .then(pl.lit("PD"))
        .when(pl.col("all_small"))
        .then(pl.lit("CR"))
        .when(pl.col("spd_base") <= 0)
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("spd") <= (1 - ct["pr_min_spd_decrease"]) * pl.col("spd_base"))
        .then(pl.lit("PR"))
        .otherwise(pl.lit("SD"))
        .alias("ct_response"),
    ).sort([*KEYS, "day"])


def family_patients(study: Study, family: str) -> pl.DataFrame:
    """patient_id of the patients whose diagnosis belongs to ``family`` (vocabulary.DIAGNOSES)."""
    codes = [d for d, f in DIAGNOSES.items() if f == family]
    return study.tables["patients"].filter(pl.col("diagnosis").is_in(codes)).select("patient_id").unique()


def myeloma_patients(study: Study) -> pl.DataFrame:
    """patient_id of the patients whose diagnosis belongs to the "myeloma" family (IMWG 2016)."""
    return family_patients(study, "myeloma")


def _has_family(study: Study, family: str) -> bool:
    return bool(study.tables["patients"]["diagnosis"].is_in([d for d, f in DIAGNOSES.items() if f == family]).any())


def _assessment_inputs(study: Study, who: pl.DataFrame, inputs) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The dated assessment rows of ``who`` and, per patient/episode/day, the first non-empty value
    of each of ``inputs`` that the assessments table has."""
    a = study.tables["assessments"].join(who, on="patient_id", how="semi").filter(pl.col("day").is_not_null())
    cols = [c for c in inputs if c in a.columns]
    return a, a.group_by([*KEYS, "day"]).agg([pl.col(c).drop_nulls().first() for c in cols])


# Qualified results of the response analytes ("<x", ">x", BLQ / not detected; cartkit.study.qualified) are read
# as intervals (grading/censored.py, interval_of / at_end): the response is computed at the ends of the
# intervals and stands where every run gives it, else it is not known (null). A result therefore decides a
# threshold only when its whole interval lies on one side. The runs take the baseline results (day <= 0) and the
# later ones at their ends independently (a baseline '>100' and a later '>100' compared: either may be the
# larger), and the kappa and lambda chains at opposite ends too (the FLC difference and ratio subtract and
# divide them). Sources, per analyte:
# * IMWG 2016 (Kumar S et al., Lancet Oncol 2016;17:e328, Table 2): serum and urine M-protein, kappa and lambda
#   FLC: '>x' above a PD or measurability threshold decides it, '<x' below the VGPR / PR / CR-ratio limits
#   decides them. VGPR is "serum and urine M-protein detectable by immunofixation but not on electrophoresis",
#   so an M-protein not detected without a stated limit is 0 (no M-protein on electrophoresis).
#   docs/criteria.md, "Response: multiple myeloma".
# * iwCLL 2018 (Hallek M et al., Blood 2018;131:2745, Table 4): lymphocytes (CR < 4 x 10^9/L, PR >= 50% down,
#   PD >= 50% up to >= 5), platelets, haemoglobin, neutrophils: a lymphocyte count '>100' fails CR and PR, an
#   ANC '<0.1' fails CR.
BELOW_LIMIT_M_PROTEIN = ("serum_m_protein", "urine_m_protein")
_OPPOSITE_CHAIN = ("flc_lambda",)  # taken at the end opposite to flc_kappa's in half of the runs


def _has_qualified_of(study: Study, who: pl.DataFrame, analytes) -> bool:
    m = study.tables.get("measurements")
    return bool(m is not None and m.height and "qualifier" in m.columns and has_qualified(
        m.join(who, on="patient_id", how="semi"), list(analytes)))


def _interval_runs(study: Study, who: pl.DataFrame, analytes) -> list[tuple[str, str, bool]] | None:
    """The (baseline end, later end, kappa and lambda at opposite ends) of each run, or None (one plain run)
    when no result of ``analytes`` of ``who`` is qualified."""
    if not _has_qualified_of(study, who, analytes):
        return None
    flc = _has_qualified_of(study, who, ["flc_kappa", "flc_lambda"]) and "flc_kappa" in analytes
    return [(b, a, f) for b in ("low", "high") for a in ("low", "high") for f in ((False, True) if flc else (False,))]


def _at_interval_ends(m: pl.DataFrame, run: tuple[str, str, bool]) -> pl.DataFrame:
    """``m`` with each qualified result's value at the ``run``'s end of its interval (grading/censored.at_end):
    "low" or "high" for the baseline days (<= 0) and for the later ones, ``_OPPOSITE_CHAIN`` at the other end
    when the run's third item is true. A below-limit M-protein without a limit is 0 at both ends."""
    base_end, later_end, flip = run
    severe, mild = at_end(m, "severe")["value"], at_end(m, "mild")["value"]
    low, high = pl.min_horizontal(pl.lit(severe), pl.lit(mild)), pl.max_horizontal(pl.lit(severe), pl.lit(mild))

    def end(name: str) -> pl.Expr:
        return low if name == "low" else high

    other = {"low": "high", "high": "low"}
    baseline = pl.col("day") <= 0
    opposite = pl.col("analyte").is_in(list(_OPPOSITE_CHAIN)) & pl.lit(flip)
    value = (pl.when(baseline & ~opposite).then(end(base_end)).when(baseline).then(end(other[base_end]))
             .when(~opposite).then(end(later_end)).otherwise(end(other[later_end])))
    no_limit_m_protein = (pl.col("analyte").is_in(list(BELOW_LIMIT_M_PROTEIN)) & pl.col("qualifier").is_in(BELOW)
                          & pl.col("lloq").is_null()).fill_null(False)
    return m.with_columns(value=pl.when(no_limit_m_protein).then(pl.lit(0.0)).otherwise(value))


def _last_lab_of_day(study: Study, who: pl.DataFrame, analytes: list[str], *, prefix: str = "",
                     run: tuple[str, str, bool] | None = None) -> pl.DataFrame | None:
    """Per patient/episode/day of ``who``, the last value (by time) of each analyte, named
    ``prefix + analyte``; None without measurements. ``run`` (:func:`_interval_runs`): the qualified results
    at those ends of their intervals (:func:`_at_interval_ends`) instead of missing."""
    m = study.tables.get("measurements")
    if m is None or not m.height:
        return None
    m = m.join(who, on="patient_id", how="semi").filter(pl.col("analyte").is_in(analytes)
                                                        & pl.col("day").is_not_null())
    if run is not None and "qualifier" in m.columns:
        m = _at_interval_ends(m, run)
    return (
        m.filter(pl.col("value").is_not_null())
        .sort([*KEYS, "day", "time"], nulls_last=False)
        .group_by([*KEYS, "day"], maintain_order=True)
        .agg([pl.col("value").filter(pl.col("analyte") == code).last().alias(f"{prefix}{code}") for code in analytes])
    )


def _agreed_runs(runs: list[tuple[str, str, bool]] | None, respond) -> pl.DataFrame:
    """``respond(run)`` once (``runs`` None) or at every run, agreed (grading/censored.agreed: a value where
    every run gives it, else null)."""
    if runs is None:
        return respond(None)
    out = respond(runs[0])
    for run in runs[1:]:
        out = agreed(out, respond(run), [*KEYS, "day"])
    return out


def _on_assessment_days(a: pl.DataFrame, per_day: pl.DataFrame) -> pl.DataFrame:
    """Baseline days (<= 0) kept whole; after day 0 only the days that have an assessment row."""
    days = a.select(*KEYS, "day").unique()
    return per_day.filter(pl.col("day") <= 0).vstack(
        per_day.join(days, on=[*KEYS, "day"], how="semi").filter(pl.col("day") > 0).select(per_day.columns)
    )


def iwcll_from_study(study: Study) -> pl.DataFrame:
    """iwCLL 2018 response at the assessment days of every CLL patient (:func:`iwcll_responses`).

    Inputs per day: the assessment columns (nodes, spleen, liver, symptoms, marrow, MRD, anc and
    platelets; the first non-empty value of a day over its assessment rows) and the blood counts of
    the measurements (alc, platelets, anc, hemoglobin in their canonical units; the last value of
    the day); an assessment's own anc/platelets win over the measurements. Baseline values may come
    from any row on or before day 0; responses are given on the days of assessment rows.
    """
    who = family_patients(study, "cll")
    counts = ["alc", "platelets", "anc", "hemoglobin"]
    a, per_day = _assessment_inputs(study, who, IWCLL_INPUTS)

    def responses(run: tuple[str, str, bool] | None) -> pl.DataFrame:
        days = per_day
        labs = _last_lab_of_day(study, who, counts, prefix="_lab_", run=run)
        if labs is not None:
            days = days.join(labs, on=[*KEYS, "day"], how="full", coalesce=True).with_columns(
                [
                    (pl.coalesce(code, f"_lab_{code}") if code in days.columns else pl.col(f"_lab_{code}")).alias(code)
                    for code in counts
                ]
            ).drop([f"_lab_{code}" for code in counts])
        return iwcll_responses(_on_assessment_days(a, days))

    # a qualified count (ALC '>100', ANC '<0.1'; iwCLL 2018, Table 4): at the ends of its interval, agreed
    return _agreed_runs(_interval_runs(study, who, counts), responses)


def imwg_from_study(study: Study, *, confirm: bool | None = None) -> pl.DataFrame:
    """IMWG 2016 response at the assessment days of every myeloma patient (:func:`imwg_responses`).

    Inputs per day: the myeloma measurements analytes (serum/urine M-protein, kappa/lambda FLC, in
    their canonical units; the last value of a day when measured more than once) and the
    assessment columns (immunofixation, marrow plasma cells, clonality, plasmacytoma SPD, new
    lesions, MRD; the first non-empty value of a day over its assessment rows). Baseline values may
    come from any row on or before day 0; responses are given on the days of assessment rows.
    """
    who = myeloma_patients(study)
    a, per_day = _assessment_inputs(study, who, IMWG_INPUTS)
    codes = [code for code, an in ANALYTES.items() if an.group == "myeloma"]

    def responses(run: tuple[str, str, bool] | None) -> pl.DataFrame:
        labs = _last_lab_of_day(study, who, codes, run=run)
        days = per_day if labs is None else per_day.join(labs, on=[*KEYS, "day"], how="full", coalesce=True)
        return imwg_responses(_on_assessment_days(a, days), confirm=confirm)

    # qualified M-protein or FLC (IMWG 2016, Table 2): the response at the ends of the intervals, agreed
    return _agreed_runs(_interval_runs(study, who, codes), responses)


def _family_rule(out: pl.DataFrame, study: Study, family: str, rule: pl.DataFrame) -> pl.DataFrame:
    """The disease family's own response and MRD rule on its patients' rows of ``out``.

    ``rule``: KEYS, day, the family's response, its MRD negativity (in that order). On the rows of
    the family's patients ``derived`` and ``_imwg_mrd`` become the rule's and ``_own_mrd`` is set
    (the generic MRD cutoff is not applied to them); other rows keep theirs.
    """
    response, mrd = rule.columns[-2:]
    rule = rule.rename({response: "_family_response", mrd: "_family_mrd"})
    flag = family_patients(study, family).with_columns(_in_family=pl.lit(True))
    inside = pl.col("_in_family").fill_null(False)
    return (
        out.join(flag, on="patient_id", how="left")
        .join(rule, on=[*KEYS, "day"], how="left")
        .with_columns(
            derived=pl.when(inside).then(pl.col("_family_response")).otherwise(pl.col("derived")),
            _imwg_mrd=pl.when(inside).then(pl.col("_family_mrd")).otherwise(pl.col("_imwg_mrd")),
            _own_mrd=pl.col("_own_mrd") | inside,
        )
        .drop("_in_family", "_family_response", "_family_mrd")
    )


def assessment_responses(study: Study, *, mrd_cutoff_pct: float | None = None) -> pl.DataFrame:
    """Recorded and derived response at every assessment row.

    Columns: patient_id, episode, day, method, recorded, derived, response, source
    ("recorded" | "derived" | null), mrd_negative (null without an MRD value).
    """
    a = study.tables["assessments"]
    lesions = study.tables.get("lesions")
    derived = (
        pl.when(pl.col("method") == "pet_ct")
        .then(lugano_pet_expr(pl.col("deauville"), pl.col("uptake_vs_baseline"), pl.col("new_lesions")))
        .when(pl.col("method") == "marrow")
        .then(
            all_response_expr(
                pl.col("marrow_blasts_pct"),
                pl.col("circulating_blasts"),
                pl.col("extramedullary"),
                pl.col("anc"),
                pl.col("platelets"),
            )
        )
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    out = a.with_columns(derived=derived, _imwg_mrd=pl.lit(None, dtype=pl.Boolean), _own_mrd=pl.lit(False))
    if _has_family(study, "myeloma"):
        imwg = imwg_from_study(study).select(*KEYS, "day", "imwg_response", "mrd_negative")
        out = _family_rule(out, study, "myeloma", imwg)
    if _has_family(study, "cll"):
        out = _family_rule(out, study, "cll", iwcll_from_study(study).select(*KEYS, "day", "iwcll_response", "umrd"))
    if lesions is not None and lesions.height:
        new = a.filter(pl.col("method") == "ct").select(*KEYS, "day", "new_lesions")
        ct = lugano_ct_from_lesions(lesions, new).with_columns(method=pl.lit("ct"))
        out = out.join(ct, on=ASSESSMENT_KEY, how="left").with_columns(
            derived=pl.coalesce(pl.col("derived"), pl.col("ct_response"))
        )
    return out.select(
        *ASSESSMENT_KEY,
        pl.col("response").alias("recorded"),
        "derived",
        pl.coalesce(pl.col("response"), pl.col("derived")).alias("response"),
        pl.when(pl.col("response").is_not_null())
        .then(pl.lit("recorded"))
        .when(pl.col("derived").is_not_null())
        .then(pl.lit("derived"))
        .otherwise(None)
        .alias("source"),
        # myeloma (IMWG 2016: no clonal plasma cells at 10^-5 or better) and CLL (iwCLL 2018 uMRD4) keep their own
        # rule; the B-ALL cutoff (mrd_pct < 0.01%) is for the others. It must not be applied to a myeloma mrd_pct:
        # 0.005% is 5 x 10^-5, MRD-positive at IMWG's 10^-5 (tests/test_mrd_rule_by_disease.py)
        pl.when(pl.col("_own_mrd"))
        .then(pl.col("_imwg_mrd"))
        .otherwise(pl.coalesce(mrd_negative_expr(pl.col("mrd_pct"), mrd_cutoff_pct), pl.col("_imwg_mrd")))
        .alias("mrd_negative"),
    ).sort(ASSESSMENT_KEY)


def _events_on_episodes(study: Study, kinds: tuple[str, ...]) -> pl.DataFrame:
    """patient_id, episode, event_day for events of ``kinds``; episode/day from the date when not given."""
    ev = study.tables["events"].filter(pl.col("kind").is_in(list(kinds)))
    inf = (
        study.tables["infusions"]
        .select(*KEYS, "infusion_date")
        .drop_nulls("infusion_date")
        .sort("infusion_date")
    )
    given = ev.filter(pl.col("episode").is_not_null() & pl.col("day").is_not_null()).select(
        *KEYS, pl.col("day").alias("event_day")
    )
    dated = ev.filter((pl.col("episode").is_null() | pl.col("day").is_null()) & pl.col("date").is_not_null())
    if dated.height and inf.height:
        matched = (
            dated.select("patient_id", "date")
            .sort("date")
            .join_asof(
                inf,
                left_on="date",
                right_on="infusion_date",
                by="patient_id",
                strategy="backward",
                check_sortedness=False,
            )
            .drop_nulls("episode")
            .select(
                *KEYS,
                (pl.col("date") - pl.col("infusion_date")).dt.total_days().cast(pl.Int64).alias("event_day"),
            )
        )
        given = pl.concat([given, matched])
    return given


def _criteria_named(study: Study) -> str:
    """'Lugano 2014, B-ALL CR/CRi criteria' (the seed's families), or the criteria of the families present."""
    present = [f for f in ("lymphoma", "all", "myeloma", "cll") if _has_family(study, f)]
    if set(present) <= {"lymphoma", "all"}:
        return "Lugano 2014, B-ALL CR/CRi criteria"
    names = {"lymphoma": "Lugano 2014", "all": "B-ALL CR/CRi", "myeloma": "IMWG 2016", "cll": "iwCLL 2018"}
    return ", ".join(names[f] for f in present) + " criteria"


def _agreement_class(response: pl.Expr) -> pl.Expr:
    """What two responses must share to agree: the BOR label, all failures (NR, PD, PMD,
    relapse) being one class -- a recorded "relapse" and a derived "NR" after CR agree."""
    label = bor_label_expr(response)
    return pl.when(label.is_in(bor_criteria()["failures"])).then(pl.lit("failure")).otherwise(label)


def derive_responses(
    study: Study, *, mrd_cutoff_pct: float | None = None, first_response_day: int = 1
) -> ResponseDerivation:
    """Response at each assessment, best overall response and relapse per episode.

    Only assessments on or after ``first_response_day`` (default day 1: after the
    infusion) count as responses; baseline assessments keep their derived status in
    ``assessments`` but do not enter the best response or relapse.

    ``best`` has one row per infusion episode: patient_id, episode, best_response
    (null when no assessment has a response), response_day (first day the best
    response was reached), source (of that assessment), relapse_day (first failure
    after CR/CRi, from assessments or relapse/progression events), relapse_source
    ("assessment" | "event"), mrd_negative (any MRD-negative assessment on or after
    ``first_response_day``; null when no MRD was measured then), mrd_negative_cr (a complete response, sCR/CR/CRi, with MRD negative
    at the same assessment; null when no MRD was measured).
    """
    spec = bor_criteria()
    assessed = assessment_responses(study, mrd_cutoff_pct=mrd_cutoff_pct)
    ranked = assessed.with_columns(label=bor_label_expr(pl.col("response"))).with_columns(
        rank=bor_rank_expr(pl.col("label"))
    )
    # baseline assessments (day <= 0, before the infusion) describe the disease, not a response
    with_resp = ranked.filter(pl.col("rank").is_not_null() & (pl.col("day") >= first_response_day))
    best = (
        with_resp.sort([*KEYS, "rank", "day"])
        .group_by(KEYS, maintain_order=True)
        .first()
        .select(*KEYS, pl.col("label").alias("best_response"), pl.col("day").alias("response_day"), "source")
    )
    first_cr = (
        with_resp.filter(pl.col("label").is_in(spec["complete"]))
        .group_by(KEYS)
        .agg(pl.col("day").min().alias("cr_day"))
    )
    failed = with_resp.filter(pl.col("label").is_in(spec["failures"])).select(*KEYS, "day")
    relapse_assess = (
        failed.join(first_cr, on=KEYS)
        .filter(pl.col("day") > pl.col("cr_day"))
        .group_by(KEYS)
        .agg(pl.col("day").min().alias("relapse_assessment_day"))
    )
    relapse_event = (
        _events_on_episodes(study, ("relapse", "progression"))
        .join(first_cr, on=KEYS)
        .filter(pl.col("event_day") > pl.col("cr_day"))
        .group_by(KEYS)
        .agg(pl.col("event_day").min().alias("relapse_event_day"))
    )
    # after the infusion, as the best response (a baseline MRD is the disease's, not the response's)
    mrd = assessed.filter(pl.col("day") >= first_response_day).group_by(KEYS).agg(
        pl.when(pl.col("mrd_negative").is_not_null().any())
        .then(pl.col("mrd_negative").any())
        .alias("mrd_negative")
    )
    # MRD-negative CR: an assessment after the infusion whose response is complete (sCR, CR, CRi) with MRD
    # negative at it (myeloma: IMWG's 10^-5, the latest test carried; CLL: uMRD at 10^-4; B-ALL: < 0.01%)
    mrd_cr = with_resp.group_by(KEYS).agg(
        pl.when(pl.col("mrd_negative").is_not_null().any())
        .then((pl.col("label").is_in(spec["complete"]) & pl.col("mrd_negative").fill_null(False)).any())
        .alias("mrd_negative_cr")
    )
    episodes = study.tables["infusions"].select(KEYS).unique(maintain_order=True)
    out = (
        episodes.join(best, on=KEYS, how="left")
        .join(relapse_assess, on=KEYS, how="left")
        .join(relapse_event, on=KEYS, how="left")
        .join(mrd, on=KEYS, how="left")
        .join(mrd_cr, on=KEYS, how="left")
        .with_columns(relapse_day=pl.min_horizontal("relapse_assessment_day", "relapse_event_day"))
        .with_columns(
            relapse_source=pl.when(pl.col("relapse_day").is_null())
            .then(None)
            .when(pl.col("relapse_day") == pl.col("relapse_assessment_day"))
            .then(pl.lit("assessment"))
            .otherwise(pl.lit("event"))
        )
        .select(
            *KEYS, "best_response", "response_day", "source", "relapse_day", "relapse_source", "mrd_negative",
            "mrd_negative_cr",
        )
        .sort(KEYS)
    )
    disagreements = (
        assessed.filter(
            pl.col("recorded").is_not_null()
            & pl.col("derived").is_not_null()
            & (_agreement_class(pl.col("recorded")) != _agreement_class(pl.col("derived")))
        )
        .select(
            *KEYS,
            pl.format("response day {} ({})", "day", "method").alias("item"),
            "recorded",
            "derived",
            pl.lit("recorded response differs from the one derived from the assessment inputs").alias("note"),
        )
        .sort(KEYS)
    )
    # the note describes the assessments that count as responses (not the baseline ones)
    counts = assessed.filter(pl.col("day") >= first_response_day).group_by("source").len()
    n = {s: c for s, c in counts.iter_rows() if s is not None}
    if n.get("recorded") and not n.get("derived"):
        note = (
            "Responses are the investigators' recorded responses; where the assessment inputs are "
            "recorded, cartkit derives the response beside them and lists every disagreement."
        )
    elif n.get("derived") and not n.get("recorded"):
        note = f"Responses are derived from the assessment inputs ({_criteria_named(study)})."
    elif n:
        note = (
            f"Responses: {n.get('recorded', 0)} assessments use the recorded response, "
            f"{n.get('derived', 0)} the response derived from the inputs."
        )
    else:
        note = "No response assessments."
    return ResponseDerivation(assessed, out, disagreements, note)
