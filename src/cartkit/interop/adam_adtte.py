"""ADTTE: one record per patient and time-to-event parameter (docs/adam.md#adtte).

With ``[[plan.endpoint]]`` the parameters are the plan's endpoints (``cartkit.survival.events.endpoint_times``,
the times the report analyses): PARAMCD the endpoint's name (upper case, 8 characters), STARTDT its time
origin (enrolment, randomisation, an infusion, the first response ...), one record per unit of analysis
(per infusion with origin "each infusion", APERIOD the episode), AVAL the days to the event or censoring,
CNSR 0 for an event and 1 otherwise; under ``hsct = "competing"`` an HSCT that ends follow-up is CNSR 1
with CMPEVFL "Y" (a competing event, not a censoring: the cumulative incidence counts it as such), and
HSCTRULE says the endpoint's rule. Patients the endpoint does not apply to (its ``diseases``, no time
origin) have no record.

Without ``[[plan.endpoint]]`` the times are those of ``cartkit.derive`` (``Derived.tte``, built by
``cartkit.survival.events`` from the plan's ``[plan.survival]``): time zero is the index infusion, AVAL the
days to the event or censoring, CNSR 0 for an event and 1 for a censoring. The plan's primary HSCT rule
gives the parameters named for the endpoint (PFS, OS, ...); the other rules cartkit reports are parameters
with a suffix: ``NC`` HSCT not censored, ``CH`` censored at HSCT, ``XH`` HSCT patients excluded.

Each end point is traced to its record: SRCDOM is the cartkit table (EVENTS, INFUSIONS) or ADSL
for the data cut-off, SRCVAR its date column, SRCSEQ the record's row in that table as loaded
(1 = the first data row), read from the end point's reason and date.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import polars as pl

from cartkit.interop.adam_write import (
    ASSIGNED,
    COLLECTED,
    DATE,
    DERIVED,
    FLOAT,
    INTEGER,
    TEXT,
    AdamDataset,
    Variable,
)
from cartkit.study.plan_endpoint import HsctRule

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.derive import Derived
    from cartkit.study.model import Study

RULE_SUFFIX = {HsctRule.IGNORE.label: "NC", HsctRule.CENSOR.label: "CH", HsctRule.EXCLUDE.label: "XH",
               HsctRule.COMPETING.label: "CE"}
ENDPOINT_NAMES = {"pfs": "Progression-Free Survival", "os": "Overall Survival", "efs": "Event-Free Survival",
                  "dor": "Duration of Response", "rfs": "Relapse-Free Survival"}
# the reason text of cartkit.survival.events: "<events|censored>: <what> <YYYY-MM-DD>[ (<detail>)]"
_REASON = re.compile(r"^(events|censored|competing event): (.+?) (\d{4}-\d{2}-\d{2})(?: \((.*)\))?$")
_KIND_OF = {"HSCT": "hsct", "last contact": "last_contact", "new therapy": "new_therapy"}


def endpoints_of(frame: pl.DataFrame, wanted: tuple[str, ...]) -> list[str]:
    """The plan's endpoints that the time-to-event frame holds (``<e>_days`` and ``<e>_event``)."""
    return [e for e in wanted if f"{e}_days" in frame.columns and f"{e}_event" in frame.columns]


def _trace(rows: pl.DataFrame, study: Study) -> pl.DataFrame:
    """SRCDOM, SRCVAR, SRCSEQ and EVNTDESC of each row from its reason and date (module docs)."""
    parsed = rows.with_columns(
        _what=pl.col("_reason").str.extract(_REASON.pattern, 2),
        _detail=pl.col("_reason").str.extract(_REASON.pattern, 4),
    ).with_columns(
        _kind=pl.col("_what").replace(_KIND_OF)
        .str.replace(r"^last record \((.*)\)$", "$1"),
        _next_ep=pl.col("_what").str.extract(r"^next infusion \(episode (\d+)\)$", 1).cast(pl.Int64),
    )
    events = study.events.with_row_index("_seq", offset=1).select(
        "patient_id", pl.col("kind").alias("_kind"), pl.col("date").alias("ADT"), "_seq")
    # one record per patient, kind and date is the events key
    events = events.unique(["patient_id", "_kind", "ADT"], keep="first")
    infusions = study.infusions.with_row_index("_iseq", offset=1).select(
        "patient_id", "episode", "infusion_date", "_iseq")
    out = (
        parsed.join(events, on=["patient_id", "_kind", "ADT"], how="left")
        .join(infusions.select("patient_id", pl.col("episode").alias("_next_ep"), pl.col("_iseq").alias("_nseq")),
              on=["patient_id", "_next_ep"], how="left")
        .join(infusions.select("patient_id", pl.col("infusion_date").alias("ADT"), pl.col("_iseq").alias("_lseq")),
              on=["patient_id", "ADT"], how="left")
        .unique([*rows.columns], keep="first", maintain_order=True)
    )
    is_next = pl.col("_nseq").is_not_null()
    is_cut = pl.col("_what") == "data cut-off"
    is_inf = (pl.col("_kind") == "infusion") & pl.col("_lseq").is_not_null()
    return out.with_columns(
        SRCDOM=pl.when(pl.col("_seq").is_not_null()).then(pl.lit("EVENTS"))
        .when(is_next | is_inf).then(pl.lit("INFUSIONS")).when(is_cut).then(pl.lit("ADSL")),
        SRCVAR=pl.when(pl.col("_seq").is_not_null()).then(pl.lit("date"))
        .when(is_next | is_inf).then(pl.lit("infusion_date")).when(is_cut).then(pl.lit("DCUTDT")),
        SRCSEQ=pl.coalesce(pl.col("_seq"), pl.col("_nseq"), pl.when(is_inf).then(pl.col("_lseq")))
        .cast(pl.Int64),
        EVNTDESC=pl.when(pl.col("_what").is_null()).then(pl.col("_reason"))
        .when(pl.col("_detail").is_not_null()).then(pl.format("{} ({})", pl.col("_what"), pl.col("_detail")))
        .otherwise(pl.col("_what")),
    )


def _paramcd(name: str, taken: set[str]) -> str:
    """The endpoint's name as a PARAMCD: letters and digits, upper case, at most 8, unique."""
    base = re.sub(r"[^A-Z0-9]", "", name.upper())[:8] or "TTE"
    code, i = base, 1
    while code in taken:
        i += 1
        code = f"{base[: 8 - len(str(i))]}{i}"
    taken.add(code)
    return code


def _endpoint_adtte(study: Study, derived: Derived, adsl: pl.DataFrame) -> AdamDataset:
    """ADTTE from the plan's [[plan.endpoint]] (module docs)."""
    from cartkit.analysis.survival_analysis import _group_column, response_dates
    from cartkit.survival.events import endpoint_times

    responses = response_dates(study, derived.assessments)
    parts, taken = [], set()
    for ep in study.plan.endpoints:
        rows = endpoint_times(study, ep, responses)
        if ep.diseases:
            rows = rows.join(study.patients.filter(pl.col("diagnosis").is_in(list(ep.diseases))).select("patient_id"),
                             on="patient_id", how="semi")
        group = _group_column(study, ep)
        if group is None:
            rows = rows.with_columns(AGRPVAR=pl.lit(None, dtype=pl.String), AGRPVAL=pl.lit(None, dtype=pl.String))
        elif group == "product":
            rows = rows.with_columns(AGRPVAR=pl.lit(group), AGRPVAL=pl.col("product"))
        else:
            rows = rows.join(study.patients.select("patient_id", pl.col(group).cast(pl.String).alias("AGRPVAL")),
                             on="patient_id", how="left").with_columns(AGRPVAR=pl.lit(group))
        label = ENDPOINT_NAMES.get(ep.name.lower(), ep.title)
        parts.append(rows.select(
            "patient_id", "episode", "product", pl.col("origin_date").alias("infusion_date"),
            pl.lit(_paramcd(ep.name, taken)).alias("PARAMCD"), pl.lit(f"{label} (days)").alias("PARAM"),
            pl.lit(ep.hsct.label).alias("HSCTRULE"), pl.col("days").cast(pl.Float64).alias("AVAL"),
            pl.when(pl.col("event")).then(0).otherwise(1).cast(pl.Int64).alias("CNSR"),
            pl.when(pl.col("status") == 2).then(pl.lit("Y")).otherwise(pl.lit(None, dtype=pl.String)).alias("CMPEVFL"),
            pl.col("date").alias("ADT"), pl.col("reason").cast(pl.String).alias("_reason"),
            pl.lit(ep.origin if not ep.product else f"infusion of {ep.product}").alias("STARTREF"),
            "AGRPVAR", "AGRPVAL"))
    rows = _trace(pl.concat(parts), study)
    frame = rows.sort("PARAMCD", "patient_id", "episode", nulls_last=True).select(
        pl.lit(study.meta.id).alias("STUDYID"), pl.col("patient_id").alias("USUBJID"),
        "PARAMCD", "PARAM", "HSCTRULE", pl.col("episode").alias("APERIOD"), pl.col("product").alias("TRTA"),
        pl.col("infusion_date").alias("STARTDT"), "STARTREF", "ADT", "AVAL", pl.lit("DAYS").alias("AVALU"), "CNSR",
        "CMPEVFL", "EVNTDESC", "SRCDOM", "SRCVAR", "SRCSEQ", "AGRPVAR", "AGRPVAL",
    ).join(adsl.select("USUBJID", "SAFFL", "ITTFL"), on="USUBJID", how="left")
    src = "cartkit.survival.events.endpoint_times ([[plan.endpoint]])"
    variables = [
        Variable("STUDYID", "Study Identifier", TEXT, ASSIGNED, "study.toml [study] id"),
        Variable("USUBJID", "Unique Subject Identifier", TEXT, COLLECTED, "patients.patient_id"),
        Variable("PARAMCD", "Parameter Code", TEXT, ASSIGNED, "[[plan.endpoint]] name"),
        Variable("PARAM", "Parameter", TEXT, ASSIGNED, "[[plan.endpoint]] label"),
        Variable("HSCTRULE", "Handling of Allogeneic HSCT", TEXT, ASSIGNED, "[[plan.endpoint]] hsct"),
        Variable("APERIOD", "Period of the Origin Infusion", INTEGER, COLLECTED, "infusions.episode (null for a "
                 "milestone origin)"),
        Variable("TRTA", "Actual Treatment (Origin Infusion)", TEXT, COLLECTED, "infusions.product"),
        Variable("STARTDT", "Time-to-Event Origin Date", DATE, DERIVED, f"[[plan.endpoint]] origin; {src}"),
        Variable("STARTREF", "Time-to-Event Origin", TEXT, ASSIGNED, "[[plan.endpoint]] origin"),
        Variable("ADT", "Analysis Date (Event or Censoring)", DATE, DERIVED, src),
        Variable("AVAL", "Analysis Value (Days)", FLOAT, DERIVED, f"ADT - STARTDT in days; {src}"),
        Variable("AVALU", "Analysis Value Unit", TEXT, ASSIGNED, "DAYS"),
        Variable("CNSR", "Censor (0 = Event, 1 = Censored)", INTEGER, DERIVED, src),
        Variable("CMPEVFL", "Competing Event Flag", TEXT, DERIVED, "Y: follow-up ended by HSCT as a competing "
                 "event (hsct = \"competing\"; CNSR 1)"),
        Variable("EVNTDESC", "Event or Censoring Description", TEXT, DERIVED, "the end point's record"),
        Variable("SRCDOM", "Source Data", TEXT, DERIVED, "cartkit table of the end point's record, or ADSL"),
        Variable("SRCVAR", "Source Variable", TEXT, DERIVED, "date column of that record"),
        Variable("SRCSEQ", "Source Sequence Number", INTEGER, DERIVED,
                 "row of the record in that table as loaded (1 = first data row)"),
        Variable("AGRPVAR", "Comparison Grouping Variable", TEXT, ASSIGNED, "[[plan.endpoint]] group_by (or arm)"),
        Variable("AGRPVAL", "Comparison Group", TEXT, COLLECTED, "patients.<group_by> (or the origin's product)"),
        Variable("SAFFL", "Safety Population Flag", TEXT, DERIVED, "ADSL.SAFFL"),
        Variable("ITTFL", "Intent-To-Treat Population Flag", TEXT, DERIVED, "ADSL.ITTFL"),
    ]
    notes = [f"Parameters: the plan's {len(study.plan.endpoints)} [[plan.endpoint]] endpoint(s)."]
    return AdamDataset("ADTTE", "Time-to-Event Analysis Dataset", "one record per subject per parameter (per "
                       "infusion for an 'each infusion' origin)", frame, variables,
                       keys=("STUDYID", "USUBJID", "PARAMCD", "APERIOD"), notes=notes)


def build_adtte(study: Study, derived: Derived, adsl: pl.DataFrame) -> AdamDataset:
    if study.plan.endpoints and study.events.height:
        return _endpoint_adtte(study, derived, adsl)
    survival = study.plan.survival
    parts = []
    rules = list(derived.tte)
    for i, rule in enumerate(rules):
        frame = derived.tte[rule]
        suffix = "" if i == 0 else RULE_SUFFIX.get(rule, f"R{i}")
        for endpoint in endpoints_of(frame, survival.endpoints):
            code = endpoint.upper()[: 8 - len(suffix)] + suffix
            name = ENDPOINT_NAMES.get(endpoint, endpoint.upper())
            param = f"{name} (days)" if i == 0 else f"{name} (days), {rule}"
            parts.append(frame.select(
                "patient_id", "episode", "product", "infusion_date",
                pl.lit(code).alias("PARAMCD"), pl.lit(param).alias("PARAM"),
                pl.lit(rule).alias("HSCTRULE"),
                pl.col(f"{endpoint}_days").cast(pl.Float64).alias("AVAL"),
                pl.when(pl.col(f"{endpoint}_event")).then(0).otherwise(1).cast(pl.Int64).alias("CNSR"),
                pl.col(f"{endpoint}_date").alias("ADT"),
                pl.col(f"{endpoint}_reason").cast(pl.String).alias("_reason"),
            ))
    schema_cols = ["patient_id", "episode", "product", "infusion_date", "PARAMCD", "PARAM", "HSCTRULE", "AVAL",
                   "CNSR", "ADT", "_reason"]
    rows = pl.concat(parts) if parts else pl.DataFrame(schema={
        "patient_id": pl.String, "episode": pl.Int64, "product": pl.String, "infusion_date": pl.Date,
        "PARAMCD": pl.String, "PARAM": pl.String, "HSCTRULE": pl.String, "AVAL": pl.Float64, "CNSR": pl.Int64,
        "ADT": pl.Date, "_reason": pl.String})
    rows = _trace(rows.select(schema_cols), study)
    group = survival.group_by
    groups = study.patients.select("patient_id", pl.col(group).cast(pl.String).alias("AGRPVAL")) \
        if group in study.patients.columns else None
    if groups is not None:
        rows = rows.join(groups, on="patient_id", how="left")
    else:  # grouped by the product of the index infusion
        rows = rows.with_columns(AGRPVAL=pl.col("product"))
    frame = rows.sort("PARAMCD", "patient_id").select(
        pl.lit(study.meta.id).alias("STUDYID"), pl.col("patient_id").alias("USUBJID"),
        "PARAMCD", "PARAM", "HSCTRULE", pl.col("episode").alias("APERIOD"), pl.col("product").alias("TRTA"),
        pl.col("infusion_date").alias("STARTDT"), "ADT", "AVAL", pl.lit("DAYS").alias("AVALU"), "CNSR",
        "EVNTDESC", "SRCDOM", "SRCVAR", "SRCSEQ",
        pl.lit(group).alias("AGRPVAR"), "AGRPVAL",
    ).join(adsl.select("USUBJID", "SAFFL", "ITTFL"), on="USUBJID", how="left")
    events_src = "cartkit.survival.events.time_to_event via cartkit.derive (Derived.tte)"
    variables = [
        Variable("STUDYID", "Study Identifier", TEXT, ASSIGNED, "study.toml [study] id"),
        Variable("USUBJID", "Unique Subject Identifier", TEXT, COLLECTED, "patients.patient_id"),
        Variable("PARAMCD", "Parameter Code", TEXT, ASSIGNED, "endpoint of [plan.survival] endpoints + HSCT rule"),
        Variable("PARAM", "Parameter", TEXT, ASSIGNED, "endpoint name and HSCT rule"),
        Variable("HSCTRULE", "Handling of Allogeneic HSCT", TEXT, ASSIGNED,
                 "censor at HSCT / HSCT not censored / exclude HSCT patients (first: the plan's primary)"),
        Variable("APERIOD", "Period of the Index Infusion", INTEGER, COLLECTED, "infusions.episode"),
        Variable("TRTA", "Actual Treatment (Index Infusion)", TEXT, COLLECTED, "infusions.product"),
        Variable("STARTDT", "Time-to-Event Origin Date", DATE, DERIVED,
                 f"index infusion date ([plan.survival] from_product = {survival.from_product!r})"),
        Variable("ADT", "Analysis Date (Event or Censoring)", DATE, DERIVED, events_src),
        Variable("AVAL", "Analysis Value (Days)", FLOAT, DERIVED, f"ADT - STARTDT in days; {events_src}"),
        Variable("AVALU", "Analysis Value Unit", TEXT, ASSIGNED, "DAYS"),
        Variable("CNSR", "Censor (0 = Event, 1 = Censored)", INTEGER, DERIVED, events_src),
        Variable("EVNTDESC", "Event or Censoring Description", TEXT, DERIVED, "the end point's record"),
        Variable("SRCDOM", "Source Data", TEXT, DERIVED, "cartkit table of the end point's record, or ADSL"),
        Variable("SRCVAR", "Source Variable", TEXT, DERIVED, "date column of that record"),
        Variable("SRCSEQ", "Source Sequence Number", INTEGER, DERIVED,
                 "row of the record in that table as loaded (1 = first data row)"),
        Variable("AGRPVAR", "Comparison Grouping Variable", TEXT, ASSIGNED, "[plan.survival] group_by"),
        Variable("AGRPVAL", "Comparison Group", TEXT, COLLECTED, f"patients.{group} (or the index product)"),
        Variable("SAFFL", "Safety Population Flag", TEXT, DERIVED, "ADSL.SAFFL"),
        Variable("ITTFL", "Intent-To-Treat Population Flag", TEXT, DERIVED, "ADSL.ITTFL"),
    ]
    notes = [f"Primary HSCT rule: {rules[0]}." if rules else "No follow-up events: ADTTE is empty."]
    return AdamDataset("ADTTE", "Time-to-Event Analysis Dataset", "one record per subject per parameter",
                       frame, variables, keys=("STUDYID", "USUBJID", "PARAMCD"), notes=notes)
