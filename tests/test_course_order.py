"""The swimmer lanes of the patient course come in patient and episode order in every run (the myeloma
example's came in another order each run: Polars' joins do not keep the left frame's order by default)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cartkit.analysis.course import patient_course
from cartkit.study.load import load_study

MYELOMA = Path(__file__).resolve().parents[1] / "examples" / "myeloma-study"


def test_swimmer_lanes_are_in_patient_and_episode_order():
    study = load_study(MYELOMA)
    listing = pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "best_response": pl.String,
                                   "response_day": pl.Int64})
    for _ in range(5):
        swimmer, marks = patient_course(study.infusions, study.patients, study.events, listing,
                                        study.meta.data_cutoff)
        keys = swimmer.select("patient_id", "episode").rows()
        assert keys == sorted(keys) and len(keys) == study.infusions.height
        assert marks.select("patient_id", "day").rows() == sorted(marks.select("patient_id", "day").rows())
