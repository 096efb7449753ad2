"""ADTTE: one record per patient and time-to-event parameter (docs/adam.md#adtte).

The times are those of ``cartkit.derive`` (``Derived.tte``, built by ``cartkit.survival.events``
from the plan's ``[plan.survival]``): time zero is the index infusion, AVAL the days to the event
or censoring, CNSR 0 for an event and 1 for a censoring. The plan's primary HSCT rule gives the
parameters named for the endpoint (PFS, OS, ...); the other rules cartkit reports are parameters
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
_REASON = re.compile(r"^(events|censored): (.+?) (\d{4}-\d{2}-\d{2})(?: \((.*)\))?$")
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


def build_adtte(study: Study, derived: Derived, adsl: pl.DataFrame) -> AdamDataset:
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
