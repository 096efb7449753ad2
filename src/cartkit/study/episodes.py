"""Look up a row's patient and infusion episode over whole columns, without joining the big tables.

Patients get integer codes (an ``Enum`` of the ``patients.patient_id`` values:
an unknown id becomes null); a ``(patient, episode)`` pair becomes one Int64
key; the infusions' keys are sorted once, and tens of millions of measurement
rows find their infusion by ``search_sorted``. When ``infusions`` repeats a
``(patient_id, episode)`` (reported as a duplicate key), the first row wins. Episode 0 (only ``assessments``
allow it: the randomised treatment before any CAR-T infusion) is found for a patient with a
``randomisation_date``, which is its day 0.

A table's codes and infusion lookup are computed once and kept on its ``TypedTable``
(``table_codes``, ``table_infusion``): the validation passes ask for them several times
per table, and on a registry each lookup is a pass over tens of millions of rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.coerce import TypedTable

_EPISODE_SPAN = 2**31  # episodes 0 .. 2**31 - 1 fit in the key beside a 32-bit patient code
_DENSE_SLOTS = 50_000_000  # at most this many (patient, episode) slots in the direct lookup table


def patient_enum(patients: pl.DataFrame) -> pl.Enum:
    """The patients' ids as an ``Enum`` (a patient's code is its position among them)."""
    return pl.Enum(patients["patient_id"].drop_nulls().unique(maintain_order=True))


class EpisodeIndex:
    def __init__(self, patients: pl.DataFrame, infusions: pl.DataFrame):
        self.patients = patient_enum(patients)
        self.n_patients = len(self.patients.categories)
        # the Enum as Polars' own dtype, converted once: a cast to a Python ``pl.Enum`` converts its
        # categories again on every call (~28 ms at 100,000 patients, even for a ten-row column)
        self._cast_to = self.patients.to_dtype_expr()
        inf = infusions.select("patient_id", "episode", "infusion_date")
        if "randomisation_date" in patients.columns:  # episode 0: the randomised treatment, from randomisation
            randomised = patients.filter(pl.col("randomisation_date").is_not_null()).select(
                "patient_id", episode=pl.lit(0, dtype=inf["episode"].dtype),
                infusion_date=pl.col("randomisation_date").cast(pl.Date))
            inf = pl.concat([inf, randomised], how="vertical_relaxed")
        keyed = inf.with_columns(__key=self.episode_key(inf["patient_id"], inf["episode"]))
        keyed = keyed.drop_nulls("__key").unique("__key", keep="first", maintain_order=True).sort("__key")
        self._keys = keyed["__key"]
        self._dates = keyed["infusion_date"]
        # with few episodes per patient (the usual case) a row finds its infusion by one gather from a
        # table with a slot per (patient, episode) instead of a binary search
        self._dense: tuple[int, pl.Series, pl.Series] | None = None
        width = int((keyed["__key"] % _EPISODE_SPAN).max() or 0) + 1
        if len(keyed) and self.n_patients * width <= _DENSE_SLOTS:
            slot = (keyed["__key"] // _EPISODE_SPAN) * width + (keyed["__key"] % _EPISODE_SPAN)
            size = self.n_patients * width
            known = pl.repeat(False, size, dtype=pl.Boolean, eager=True).scatter(slot, True)
            dates = pl.repeat(None, size, dtype=pl.Date, eager=True).scatter(slot, keyed["infusion_date"])
            self._dense = (width, known, dates)

    def patient_code(self, patient_id: pl.Series) -> pl.Series:
        """Integer code of each id; null for an id not in ``patients``."""
        return patient_id.to_frame("id").select(
            pl.col("id").cast(pl.String).cast(self._cast_to, strict=False).to_physical().cast(pl.Int64)
        ).to_series().alias(patient_id.name)

    def patient_known(self, patient_id: pl.Series) -> pl.Series:
        return self.patient_code(patient_id).is_not_null()

    def episode_key(self, patient_id: pl.Series, episode: pl.Series) -> pl.Series:
        return self._key(self.patient_code(patient_id), episode)

    def _key(self, code: pl.Series, episode: pl.Series) -> pl.Series:
        frame = pl.DataFrame({"c": code, "e": episode.cast(pl.Int64)})
        return frame.select(
            pl.when(pl.col("e").is_between(0, _EPISODE_SPAN - 1))
            .then(pl.col("c") * _EPISODE_SPAN + pl.col("e"))
            .alias("key")
        ).to_series()

    def infusion(self, patient_id: pl.Series, episode: pl.Series) -> tuple[pl.Series, pl.Series]:
        """(found, infusion_date) of each row's (patient_id, episode)."""
        return self._infusion(self.patient_code(patient_id), episode)

    def _infusion(self, code: pl.Series, episode: pl.Series) -> tuple[pl.Series, pl.Series]:
        if self._dense is not None:
            width, known, dates = self._dense
            # the slot computed once, then both lookups in one pass (codes and episodes as Int64: Polars
            # sizes Enum codes to the categories, and a UInt8 code * width would wrap)
            slot = pl.when(pl.col("e").is_between(0, width - 1)).then(pl.col("c") * width + pl.col("e"))
            found = pl.DataFrame({"c": code, "e": episode.cast(pl.Int64)}).lazy().with_columns(slot=slot).select(
                known=pl.lit(known).gather(pl.col("slot")).fill_null(False),
                dates=pl.lit(dates).gather(pl.col("slot"))).collect()
            return found["known"], found["dates"]
        query = self._key(code, episode)
        if self._keys.is_empty():
            return pl.repeat(False, len(query), eager=True), pl.repeat(None, len(query), dtype=pl.Date, eager=True)
        position = self._keys.search_sorted(query.fill_null(-1)).clip(0, len(self._keys) - 1)
        found = (self._keys.gather(position) == query).fill_null(False)
        dates = self._dates.gather(position).set(~found, None)
        return found, dates

    def per_patient(self, patient_id: pl.Series, values: pl.DataFrame) -> pl.Series:
        """For each row, ``values["value"]`` of its patient (``values`` has one row per ``patient_id``)."""
        return self._per_code(self.patient_code(patient_id), values)

    def patient_slots(self, values: pl.DataFrame) -> pl.Series:
        """``values["value"]`` at each patient's code (one slot per patient; null for a patient not in
        ``values``): for the lookup of the same values from several tables, casting their ids once."""
        codes = self.patient_code(values["patient_id"])
        keep = codes.is_not_null()
        slots = pl.repeat(None, self.n_patients, dtype=values["value"].dtype, eager=True)
        if keep.any():
            slots = slots.scatter(codes.filter(keep), values["value"].filter(keep))
        return slots

    def _per_code(self, code: pl.Series, values: pl.DataFrame | pl.Series) -> pl.Series:
        return (values if isinstance(values, pl.Series) else self.patient_slots(values)).gather(code)

    # ---- the same lookups for a whole table, computed once per table (kept in ``tt.lookups``)

    def table_codes(self, tt: TypedTable) -> pl.Series:
        """``patient_code`` of the table's ``patient_id`` column (from its cast to the patients' Enum when
        coercion kept one, ``TypedTable.enums``)."""
        if "codes" not in tt.lookups:
            cast = tt.enums.get("patient_id")
            if cast is not None and cast.dtype == self.patients:
                tt.lookups["codes"] = cast.to_physical().cast(pl.Int64)
            else:
                tt.lookups["codes"] = self.patient_code(tt.frame["patient_id"])
        return tt.lookups["codes"]

    def table_known(self, tt: TypedTable) -> pl.Series:
        return self.table_codes(tt).is_not_null()

    def table_infusion(self, tt: TypedTable) -> tuple[pl.Series, pl.Series]:
        """``infusion`` of the table's ``(patient_id, episode)`` columns."""
        if "infusion" not in tt.lookups:
            episode = tt.frame["episode"]
            found, dates = self._infusion(self.table_codes(tt), episode)
            lowest = tt.table.column("episode").min if "episode" in tt.table.column_names else None
            first = episode.min() if lowest is not None and lowest > 0 else None
            if first is not None and first <= 0:  # episode 0 is found in assessments only
                zero = (episode == 0).fill_null(False)
                found, dates = found & ~zero, dates.set(zero, None)
            tt.lookups["infusion"] = (found, dates)
        return tt.lookups["infusion"]

    def table_per_patient(self, tt: TypedTable, values: pl.DataFrame | pl.Series) -> pl.Series:
        """``per_patient`` for each row of the table (``values`` as a frame, or as ``patient_slots``)."""
        return self._per_code(self.table_codes(tt), values)
