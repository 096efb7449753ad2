"""Look up a row's patient and infusion episode over whole columns, without joining the big tables.

Patients get integer codes (an ``Enum`` of the ``patients.patient_id`` values:
an unknown id becomes null); a ``(patient, episode)`` pair becomes one Int64
key; the infusions' keys are sorted once, and tens of millions of measurement
rows find their infusion by ``search_sorted``. When ``infusions`` repeats a
``(patient_id, episode)`` (reported as a duplicate key), the first row wins.
"""

from __future__ import annotations

import polars as pl

_EPISODE_SPAN = 2**31  # episodes 1 .. 2**31 - 1 fit in the key beside a 32-bit patient code


class EpisodeIndex:
    def __init__(self, patients: pl.DataFrame, infusions: pl.DataFrame):
        ids = patients["patient_id"].drop_nulls().unique(maintain_order=True)
        self.patients = pl.Enum(ids.to_list())
        self.n_patients = len(ids)
        inf = infusions.select("patient_id", "episode", "infusion_date")
        keyed = inf.with_columns(__key=self.episode_key(inf["patient_id"], inf["episode"]))
        keyed = keyed.drop_nulls("__key").unique("__key", keep="first", maintain_order=True).sort("__key")
        self._keys = keyed["__key"]
        self._dates = keyed["infusion_date"]

    def patient_code(self, patient_id: pl.Series) -> pl.Series:
        """Integer code of each id; null for an id not in ``patients``."""
        return patient_id.cast(pl.String).cast(self.patients, strict=False).to_physical().cast(pl.Int64)

    def patient_known(self, patient_id: pl.Series) -> pl.Series:
        return self.patient_code(patient_id).is_not_null()

    def episode_key(self, patient_id: pl.Series, episode: pl.Series) -> pl.Series:
        code = self.patient_code(patient_id)
        frame = pl.DataFrame({"c": code, "e": episode.cast(pl.Int64)})
        return frame.select(
            pl.when(pl.col("e").is_between(1, _EPISODE_SPAN - 1))
            .then(pl.col("c") * _EPISODE_SPAN + pl.col("e"))
            .alias("key")
        ).to_series()

    def infusion(self, patient_id: pl.Series, episode: pl.Series) -> tuple[pl.Series, pl.Series]:
        """(found, infusion_date) of each row's (patient_id, episode)."""
        query = self.episode_key(patient_id, episode)
        if self._keys.is_empty():
            return pl.repeat(False, len(query), eager=True), pl.repeat(None, len(query), dtype=pl.Date, eager=True)
        position = self._keys.search_sorted(query.fill_null(-1)).clip(0, len(self._keys) - 1)
        found = (self._keys.gather(position) == query).fill_null(False)
        dates = self._dates.gather(position).set(~found, None)
        return found, dates

    def per_patient(self, patient_id: pl.Series, values: pl.DataFrame) -> pl.Series:
        """For each row, ``values["value"]`` of its patient (``values`` has one row per ``patient_id``)."""
        codes = self.patient_code(values["patient_id"])
        keep = codes.is_not_null()
        slots = pl.repeat(None, self.n_patients, dtype=values["value"].dtype, eager=True)
        if keep.any():
            slots = slots.scatter(codes.filter(keep), values["value"].filter(keep))
        return slots.gather(self.patient_code(patient_id))
