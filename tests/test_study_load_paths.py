"""The fast paths of the loader (issue 16, target 2) give what the plain paths give.

Large columns are cleaned by their distinct values, typed integer columns skip the float round trip,
infusions are found in a direct (patient, episode) table, a child table's patient ids are tried
against the patients' ids first and day/date columns given in full are only compared; each is
checked here against a reference (row by row in Python, or the plain path), on columns long enough
to take the fast path.
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest

from cartkit.study.coerce import MISSING_TOKENS, cast_column, coerce_table
from cartkit.study.episodes import EpisodeIndex, patient_enum
from cartkit.study.readers import ROW, RawTable
from cartkit.study.schema import TABLES


def _clean_reference(v: str | None) -> str | None:
    if v is None:
        return None
    t = v.strip()
    return None if t.lower() in MISSING_TOKENS else t


def test_text_cleaned_by_distinct_values_equals_row_by_row():
    rng = random.Random(16)
    spellings = ["CD19 CAR-T", " CD19 CAR-T", "CD22 CAR-T ", "NA", "n/a", "#N/A", "", "  ", None, "x", "NaN"]
    values = [rng.choice(spellings) for _ in range(20_000)]  # few distinct values: the distinct path
    typed, given = cast_column(pl.Series("product", values, dtype=pl.String), "str")
    expected = [_clean_reference(v) for v in values]
    assert typed.to_list() == expected
    assert given.to_list() == [e is not None for e in expected]


def test_clean_text_column_is_returned_unchanged_and_dirty_one_cleaned():
    clean = pl.Series("analyte", ["il6", "crp", "ferritin"] * 2000)
    assert cast_column(clean, "str")[0].to_list() == clean.to_list()
    dirty = pl.Series("analyte", ["il6", "crp ", "NULL"] * 2000)
    assert cast_column(dirty, "str")[0].to_list() == ["il6", "crp", None] * 2000


def test_many_distinct_values_take_the_row_path_with_the_same_result():
    values = [f" P{i} " if i % 7 else "na" for i in range(5000)]  # all distinct: no distinct path
    typed, _ = cast_column(pl.Series("patient_id", values), "str")
    assert typed.to_list() == [_clean_reference(v) for v in values]


def test_typed_integers_keep_their_values_and_reject_inexact_ones():
    big = 2**53
    s = pl.Series("day", [0, -3, 28, None, big, -big, big - 1], dtype=pl.Int64)
    typed, given = cast_column(s, "int")
    assert typed.to_list() == [0, -3, 28, None, None, None, big - 1]
    assert given.to_list() == [True, True, True, False, True, True, True]
    # the same as the float path of a text column
    text, _ = cast_column(s.cast(pl.String), "int")
    assert text.to_list() == typed.to_list()
    unsigned, _ = cast_column(pl.Series("day", [1, 2**63 + 5], dtype=pl.UInt64), "int")
    assert unsigned.to_list() == [1, None]


@pytest.mark.parametrize("n_patients", [100, 300])
def test_direct_episode_table_equals_the_binary_search(n_patients):
    # 100 patients: the ids' Enum codes are UInt8 (300: UInt16), so a slot code * width + episode
    # computed in the codes' own type would wrap past 255 and find another patient's infusion
    rng = random.Random(3)
    ids = [f"P{i}" for i in range(n_patients)]
    rows = []
    for pid in ids:
        for episode in range(1, rng.randint(0, 4) + 1):
            date = None if rng.random() < 0.05 else dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 900))
            rows.append((pid, episode, date))
    rows.append(("P1", 1, dt.date(2030, 1, 1)))  # a repeated key: the first row wins in both
    infusions = pl.DataFrame(rows, schema={"patient_id": pl.String, "episode": pl.Int64,
                                           "infusion_date": pl.Date}, orient="row")
    patients = pl.DataFrame({"patient_id": ids})
    dense = EpisodeIndex(patients, infusions)
    assert dense._dense is not None
    search = EpisodeIndex(patients, infusions)
    search._dense = None
    query_ids = pl.Series([rng.choice(ids + ["unknown", None]) for _ in range(5000)], dtype=pl.String)
    query_episodes = pl.Series([rng.choice([None, -1, 0, 1, 2, 3, 4, 5, 2**40]) for _ in range(5000)],
                               dtype=pl.Int64)
    found_d, dates_d = dense.infusion(query_ids, query_episodes)
    found_s, dates_s = search.infusion(query_ids, query_episodes)
    assert found_d.to_list() == found_s.to_list()
    assert dates_d.to_list() == dates_s.to_list()
    assert found_d.any() and not found_d.all()


def _child_rows(ids: list[str | None]) -> RawTable:
    n = len(ids)
    frame = pl.DataFrame({ROW: pl.int_range(1, n + 1, eager=True), "patient_id": ids, "episode": [1] * n,
                          "day": list(range(n)), "analyte": ["crp"] * n, "value": [1.0] * n, "unit": ["mg/L"] * n})
    return RawTable("measurements", "measurements.csv", frame)


def test_child_patient_ids_tried_against_the_patients_equal_the_cleaning_path():
    ids = [f"P{i}" for i in range(60)]
    patients = pl.DataFrame({"patient_id": ids})
    enum = patient_enum(patients)
    rng = random.Random(5)
    known = _child_rows([rng.choice(ids) for _ in range(3000)] + [None])
    fast, fast_problems, _ = coerce_table(known, TABLES["measurements"], patients=enum)
    plain, plain_problems, _ = coerce_table(known, TABLES["measurements"])
    assert fast.frame.equals(plain.frame) and fast_problems == plain_problems
    index = EpisodeIndex(patients, pl.DataFrame({"patient_id": ids, "episode": [1] * 60,
                                                 "infusion_date": [dt.date(2021, 1, 1)] * 60}))
    assert fast.enums["patient_id"].to_physical().cast(pl.Int64).equals(index.patient_code(plain.frame["patient_id"]))
    assert index.table_codes(fast).equals(index.table_codes(plain))
    # ids to clean (" P1 ", "NA") or not a patient's: the column takes the cleaning path, with its problems
    dirty = _child_rows([rng.choice(ids + [" P1 ", "NA", "P999"]) for _ in range(3000)])
    fast, fast_problems, _ = coerce_table(dirty, TABLES["measurements"], patients=enum)
    plain, plain_problems, _ = coerce_table(dirty, TABLES["measurements"])
    assert fast.frame.equals(plain.frame) and fast_problems == plain_problems
    assert "patient_id" not in fast.enums and " P1 " not in fast.frame["patient_id"].to_list()


def test_day_and_date_given_on_every_row_are_still_compared(tmp_path):
    from cartkit.simulate import simulate_study
    from cartkit.study.validate import validate_study

    folder = simulate_study(tmp_path / "study", patients=6, seed=4, format="parquet")
    m = pl.read_parquet(folder / "measurements.parquet")
    assert m["day"].null_count() == 0 and m["date"].null_count() == 0  # the full-columns path
    m = m.with_columns(date=pl.when(pl.int_range(pl.len()) == 10).then(pl.col("date") + dt.timedelta(days=1))
                       .otherwise(pl.col("date")))
    m.write_parquet(folder / "measurements.parquet")
    found = [p for p in validate_study(folder) if p.file == "measurements.parquet"]
    assert [(p.row, p.column, p.kind) for p in found] == [(11, "date", "day and date disagree")]


def test_packed_duplicate_keys_equal_the_hashed_ones(monkeypatch):
    import cartkit.study.integrity as integrity

    ids = [f"P{i}" for i in range(40)]
    rng = random.Random(9)
    raw = _child_rows([rng.choice(ids) for _ in range(3000)])
    raw.frame = raw.frame.with_columns(day=pl.Series([rng.randint(0, 30) for _ in range(3000)]),
                                       analyte=pl.Series([rng.choice(["crp", "il6", "ferritin"]) for _ in range(3000)]))
    tt, _, _ = coerce_table(raw, TABLES["measurements"], patients=patient_enum(pl.DataFrame({"patient_id": ids})))
    # the text key columns have codes: the packed path (unit, canonical here, has its codes too)
    assert set(tt.enums) == {"patient_id", "analyte", "unit"}
    assert integrity._packed_key(tt, list(tt.table.key)) is not None
    packed = integrity.duplicate_keys(tt)
    monkeypatch.setattr(integrity, "_packed_key", lambda tt, keys, rows=None: None)
    hashed = integrity.duplicate_keys(tt)
    assert packed == hashed and len(packed) > 100
    assert {p.kind for p in packed} == {"duplicate key (patient_id, episode, analyte, day, time)"}


@pytest.mark.parametrize("narrow", [2**32, 0], ids=["32-bit", "64-bit"])
def test_packed_duplicate_keys_with_empty_cells_equal_the_hashed_ones_and_a_hand_count(monkeypatch, narrow):
    """A row without its day is left out (reported already). The packed keys (sorted in place, in 32 or 64
    bits) name the same rows as the hashed ones and as a count by hand: each row whose complete key was seen
    before, after its first row."""
    import cartkit.study.integrity as integrity

    ids = [f"P{i}" for i in range(30)]
    rng = random.Random(11)
    n = 4000
    raw = _child_rows([rng.choice(ids) for _ in range(n)])
    days = [rng.randint(-3, 20) if rng.random() > 0.05 else None for _ in range(n)]
    times = [None] * n  # a text key column without codes would be hashed: empty, as in a registry
    analytes = [rng.choice(["crp", "il6"]) for _ in range(n)]
    raw.frame = raw.frame.with_columns(day=pl.Series(days, dtype=pl.Int64), time=pl.Series(times),
                                       analyte=pl.Series(analytes))
    tt, _, _ = coerce_table(raw, TABLES["measurements"], patients=patient_enum(pl.DataFrame({"patient_id": ids})))
    monkeypatch.setattr(integrity, "_NARROW_KEYS", narrow)
    assert integrity._packed_key(tt, list(tt.table.key)).dtype == ("uint32" if narrow else "int64")
    packed = integrity.duplicate_keys(tt)
    monkeypatch.setattr(integrity, "_packed_key", lambda tt, keys, rows=None: None)
    hashed = integrity.duplicate_keys(tt)
    seen, by_hand = {}, []
    for row, key in enumerate(zip(raw.frame["patient_id"], days, analytes, times, strict=True), start=1):
        if key[1] is None:
            continue
        if key in seen:
            by_hand.append((row, seen[key]))
        else:
            seen[key] = row
    assert len(by_hand) > 100
    assert packed == hashed
    assert sorted((p.row, int(p.rule.rsplit(" ", 1)[1])) for p in packed) == sorted(by_hand)


def test_units_written_canonically_are_converted_from_their_codes_as_from_the_text():
    """A registry written in the canonical unit spellings keeps its unit column's Enum codes from
    coercion (Column.spellings), and convert_units reads the pairs from them: the same frame, problems
    and notes as from the text, for a unit valid for another analyte, a unit to convert and a value
    outside the analyte's bounds."""
    from cartkit.study.units import convert_units

    raw = _child_rows(["P1"] * 6)
    raw.frame = raw.frame.with_columns(
        analyte=pl.Series(["crp", "crp", "hemoglobin", "hemoglobin", "anc", "crp"]),
        value=pl.Series([1.0, 5.0, 12.0, 130.0, 5000.0, 2.0]),
        unit=pl.Series(["mg/L", "mg/dL", "g/dL", "g/L", "10^9/L", "%"]))
    coded, coerced, _ = coerce_table(raw, TABLES["measurements"])
    assert "unit" in coded.enums and coerced == []
    text, _, _ = coerce_table(raw, TABLES["measurements"])
    text.enums.pop("unit")
    found = [convert_units(tt) for tt in (coded, text)]
    assert coded.frame.equals(text.frame) and found[0] == found[1]
    problems, notes = found[0]
    assert {p.rule.split(" (")[0] for p in problems} == {
        "unit '%' is not valid for analyte crp", "impossible value for anc: must be between 0 and 1000 10^9/L"}
    assert coded.frame["value"].to_list()[:4] == [1.0, 50.0, 120.0, 130.0]  # mg/dL -> mg/L, g/dL -> g/L
    assert notes and "converted 2 value(s)" in notes[0]


def test_kept_spellings_are_left_as_they_are_by_the_vocabulary_check():
    from cartkit.study.coerce import _canonical, kept_spellings
    from cartkit.study.schema import STR, Column
    from cartkit.study.vocabulary import VOCABULARIES

    for name in VOCABULARIES:
        kept = kept_spellings(name, ("Extra term",))
        assert kept, name
        column = Column("x", STR, vocabulary=name)
        values, unknown = _canonical(cast_column(pl.Series("x", kept), STR)[0], column, ("Extra term",))
        assert values.to_list() == kept and not unknown.any(), name
