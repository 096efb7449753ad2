"""SDTM AE records of category INFECTION -> cartkit ``infections`` (docs/sdtm.md "Infections").

``sdtm export`` writes each row of the infections table (Hill JA et al., Blood 2018;131:121: organism
class, site, severity) as an AE record with AECAT ``INFECTION``, AETOXGR its grade and SUPPAE its
organism class (QNAM ``INFORGCL``), organism (``INFORG``) and site (``INFSITE``), cartkit's QNAMs. An AE
record of that category with both the class and the site is read back as an infections row; one without
them (a sponsor's AECAT INFECTION with no such qualifiers) stays an adverse event, and a note says how
many. One row per subject, episode, day, class, site and organism: a second keeps the first, with a
warning.
"""

from __future__ import annotations

import polars as pl

from cartkit.interop import sdtm_codes as C
from cartkit.interop.sdtm_read import RECORD, Domain
from cartkit.study.problems import WARNING
from cartkit.study.vocabulary import VOCABULARIES

INFECTION_QNAMS = ("INFORGCL", "INFORG", "INFSITE")
_KEY = ["USUBJID", "episode", "day", "organism_class", "site", "organism"]


def is_infection(frame: pl.DataFrame) -> pl.Expr:
    """Rows of AE (with ``__cat`` its AECAT, and the SUPPAE columns) that are infection records."""
    return ((pl.col("__cat") == C.INFECTION_CAT) & pl.col("INFORGCL").is_not_null()
            & pl.col("INFSITE").is_not_null()).fill_null(False)


def infection_rows(ae: Domain, rows: pl.DataFrame, infusions: pl.DataFrame, out) -> pl.DataFrame:
    """The infections rows of ``rows`` (AE infection records with ``__date``, ``__rft``, ``__grade`` and
    ``__system`` set by the AE reader), placed in their episode; rows that cannot be are warnings."""
    from cartkit.interop.sdtm_import import _empty, _out_of_range, _place

    if not rows.height:
        return _empty("infections")
    classes, sites = VOCABULARIES["organism_class"], VOCABULARIES["infection_site"]
    f = rows.with_columns(
        organism_class=pl.col("INFORGCL").str.to_lowercase().replace_strict(classes, default=None),
        site=pl.col("INFSITE").str.to_lowercase().str.replace_all(" ", "_").replace_strict(
            {**sites, **{k.replace(" ", "_"): v for k, v in sites.items()}}, default=None),
        organism=pl.col("INFORG"))
    for col, qnam, vocab in (("organism_class", "INFORGCL", classes), ("site", "INFSITE", sites)):
        bad = f.filter(pl.col(col).is_null())
        if bad.height:
            out.rows(ae, bad, qnam, qnam, f"infection {col.replace('_', ' ')} (SUPPAE {qnam}) cartkit does not "
                     f"know: one of {', '.join(sorted(set(vocab.values())))}; the infection is not imported", WARNING)
    f = f.filter(pl.col("organism_class").is_not_null() & pl.col("site").is_not_null())
    undated = f.filter(pl.col("__date").is_null())
    if undated.height:
        out.rows(ae, undated, "AESTDTC", "AESTDTC" if ae.has("AESTDTC") else None,
                 "infection with no complete start date (AESTDTC) nor study day: not imported", WARNING)
    f = f.filter(pl.col("__date").is_not_null())
    if not f.height:
        return _empty("infections")
    placed = _out_of_range(ae, _place(f, infusions), out, "infection", "AESTDTC").sort(RECORD)
    dup = placed.filter(~pl.struct(_KEY).is_first_distinct())
    if dup.height:
        out.rows(ae, dup, "AESTDTC", None, "a second infection of the same class, site and organism on the same "
                 "day: the first one is kept", WARNING)
    placed = placed.filter(pl.struct(_KEY).is_first_distinct())
    return placed.select(
        patient_id="USUBJID", episode=pl.col("episode").cast(pl.Int64), day=pl.col("day").cast(pl.Int64),
        date="__date", organism_class="organism_class", organism="organism", site="site",
        grade=pl.col("__grade").cast(pl.Int64), grading_system="__system").sort(
        "patient_id", "episode", "day", "organism_class", "site", "organism", nulls_last=True)
