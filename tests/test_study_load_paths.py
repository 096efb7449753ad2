"""The fast paths of the loader (issue 16, target 2) give what the plain paths give.

Large columns are cleaned by their distinct values, typed integer columns skip the float round trip
and infusions are found in a direct (patient, episode) table; each is checked here against a
reference computed row by row in Python, on columns long enough to take the fast path.
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl

from cartkit.study.coerce import MISSING_TOKENS, cast_column
from cartkit.study.episodes import EpisodeIndex


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


def test_direct_episode_table_equals_the_binary_search():
    rng = random.Random(3)
    ids = [f"P{i}" for i in range(300)]
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
