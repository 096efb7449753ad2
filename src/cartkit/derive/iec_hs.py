"""IEC-HS per episode: the grade derived from the records beside the recorded one (docs/criteria.md,
"IEC-HS: ASTCT 2023").

``derive_iec_hs(study)`` derives the grade with :func:`cartkit.grading.iec_hs.iec_hs_frame` from the
episode's ferritin, transaminases, fibrinogen and blood counts (measurements, with their ``uln``/``lln``),
the support given after onset and a death whose cause names IEC-HS. The recorded grade is the
``adverse_events`` row with term "iec-hs". The grade analysed is the recorded one where the study
records IEC-HS (an episode without the row had none), else the derived one; ``iec_hs_disagreements``
lists every episode where the two differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.model import Study

IEC_HS_TERM = "iec-hs"
SYSTEM = "astct2023"
KEYS = ["patient_id", "episode"]
SCHEMA = {"patient_id": pl.String, "episode": pl.Int64, "grade": pl.Int64, "onset_day": pl.Int64,
          "features": pl.String, "system": pl.String, "source": pl.String}


def _deaths_by_episode(study: Study) -> pl.DataFrame:
    """patient_id, episode, day, detail: each death counted from each of the patient's infusions."""
    deaths = study.events.filter(pl.col("kind") == "death").select("patient_id", "date", "detail")
    return deaths.join(study.infusions.select(*KEYS, "infusion_date"), on="patient_id", how="inner").select(
        *KEYS, (pl.col("date") - pl.col("infusion_date")).dt.total_days().cast(pl.Int64).alias("day"), "detail")


def derived_iec_hs(study: Study) -> pl.DataFrame:
    """The derived grade of every episode with ferritin in the window (``SCHEMA``; source "derived")."""
    from cartkit.grading.iec_hs import iec_hs_frame

    support = study.tables.get("support")
    if support is None or not support.height:
        support = pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "day": pl.Int64,
                                       "kind": pl.String, "agent": pl.String, "o2_device": pl.String})
    frame = iec_hs_frame(study.measurements, support, _deaths_by_episode(study))
    return frame.with_columns(pl.lit(SYSTEM).alias("system"), pl.lit("derived").alias("source")).select(list(SCHEMA))


def recorded_iec_hs(study: Study) -> pl.DataFrame:
    ae = study.adverse_events.filter(pl.col("term") == IEC_HS_TERM)
    return ae.select(*KEYS, pl.col("grade").cast(pl.Int64), pl.col("onset_day").cast(pl.Int64),
                     pl.lit(None, pl.String).alias("features"),
                     pl.coalesce(pl.col("grading_system"), pl.lit(SYSTEM)).alias("system"),
                     pl.lit("recorded").alias("source"))


def derive_iec_hs(study: Study) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(analysed grades of every episode, derived grades, disagreements).

    Analysed: the recorded grades when the study records IEC-HS (an episode without the row is grade
    0), else the derived ones (an episode without ferritin in the window is undetermined, null).
    """
    episodes = study.infusions.select(KEYS)
    derived = derived_iec_hs(study)
    recorded = recorded_iec_hs(study)
    if recorded.height:
        analysed = episodes.join(recorded, on=KEYS, how="left").with_columns(
            pl.col("grade").fill_null(0), pl.col("system").fill_null(SYSTEM), pl.col("source").fill_null("recorded"))
    else:
        analysed = episodes.join(derived, on=KEYS, how="left").with_columns(
            pl.col("system").fill_null(SYSTEM), pl.col("source").fill_null("derived"))
    return analysed.select(list(SCHEMA)).sort(KEYS), derived, iec_hs_disagreements(recorded, derived)


def iec_hs_disagreements(recorded: pl.DataFrame, derived: pl.DataFrame) -> pl.DataFrame:
    """patient_id, episode, item ("iec-hs"), recorded, derived, note for every episode where they differ:
    both graded and different, derived >= 1 with nothing recorded (in a study that records IEC-HS), or
    recorded with the derived grade undetermined. A study that records no IEC-HS has none."""
    schema = {"patient_id": pl.String, "episode": pl.Int64, "item": pl.String, "recorded": pl.String,
              "derived": pl.String, "note": pl.String}
    if not recorded.height:
        return pl.DataFrame(schema=schema)
    both = recorded.select(*KEYS, pl.col("grade").alias("r")).join(
        derived.select(*KEYS, pl.col("grade").alias("d")), on=KEYS, how="full", coalesce=True)
    note = (pl.when(pl.col("r").is_null()).then(pl.lit("derived IEC-HS (ASTCT 2023) not recorded"))
            .when(pl.col("d").is_null()).then(pl.lit("derived grade undetermined (no ferritin with a reference)"))
            .otherwise(pl.lit("recorded and derived IEC-HS grades differ")))
    differ = (pl.col("r").is_null() & (pl.col("d") >= 1)) | pl.col("d").is_null() | (pl.col("r") != pl.col("d"))
    return both.filter(differ.fill_null(False)).select(
        *KEYS, pl.lit(IEC_HS_TERM).alias("item"), pl.col("r").cast(pl.String).alias("recorded"),
        pl.col("d").cast(pl.String).alias("derived"), note.alias("note")).sort(KEYS)
