"""check_study runs the tables, their days and keys, and the checks across tables two at a time in
threads (cartkit.study.validate._two_at_a_time; issue 16). The study it returns and every problem and
note, in order, are those of the same pass one by one; an error inside a thread is the pass's one
internal-error problem, as it is one by one."""

from __future__ import annotations

import polars as pl
import pytest

import cartkit.study.validate as validate


@pytest.fixture(scope="module")
def broken_study(tmp_path_factory):
    """A simulated study with problems in several tables and of several rules."""
    from cartkit.simulate import simulate_study

    folder = simulate_study(tmp_path_factory.mktemp("threads") / "study", patients=40, seed=3, format="csv")
    row = pl.int_range(pl.len())
    m = pl.read_csv(folder / "measurements.csv", infer_schema=False)
    m = pl.concat([m, m.head(12)]).with_columns(  # duplicate keys, an unknown unit, a text value, days, clocks
        unit=pl.when(row == 7).then(pl.lit("furlongs")).otherwise(pl.col("unit")),
        value=pl.when(row == 9).then(pl.lit("abc")).otherwise(pl.col("value")),
        day=pl.when(row.is_in([20, 21])).then(pl.lit("999")).otherwise(pl.col("day")),
        time=pl.when(row.is_in([30, 31])).then(pl.lit("25:99")).otherwise(pl.col("time")))
    m.write_csv(folder / "measurements.csv")
    s = pl.read_csv(folder / "support.csv", infer_schema=False)
    s = s.with_columns(patient_id=pl.when(row < 3).then(pl.lit("NOPE")).otherwise(pl.col("patient_id")),
                       day=pl.when(row.is_in([5, 6])).then(pl.lit("998")).otherwise(pl.col("day")))
    pl.concat([s, s.slice(10, 4)]).write_csv(folder / "support.csv")
    ae = pl.read_csv(folder / "adverse_events.csv", infer_schema=False)
    ae.with_columns(grade=pl.when(row < 2).then(pl.lit("9")).otherwise(pl.col("grade"))).write_csv(
        folder / "adverse_events.csv")
    e = pl.read_csv(folder / "events.csv", infer_schema=False)
    pl.concat([e, e.filter(pl.col("kind") == "death").head(1)]).write_csv(folder / "events.csv")  # two deaths
    return folder


def test_threads_give_the_pass_one_by_one(broken_study, monkeypatch):
    threaded, found = validate.check_study(broken_study)
    kinds = {p.kind or p.rule for p in found}
    assert len(found) > 20 and {"not a number", "unknown patient: not in patients", "day and date disagree",
                                "more than one death for a patient"} <= kinds
    assert any(k.startswith("duplicate key") for k in kinds), kinds
    # in the pass's order: every table's days (measurements, then support), then every table's keys
    order = [(p.file, "days" if p.kind == "day and date disagree" else "keys") for p in found
             if p.kind == "day and date disagree" or (p.kind or "").startswith("duplicate key")]
    assert list(dict.fromkeys(order)) == [("measurements.csv", "days"), ("support.csv", "days"),
                                          ("measurements.csv", "keys"), ("support.csv", "keys"), ("events.csv", "keys")]
    calls = []
    monkeypatch.setattr(validate, "_two_at_a_time", lambda work, items: calls.append(1) or [work(i) for i in items])
    alone, found_alone = validate.check_study(broken_study)
    assert len(calls) == 3  # the tables, their days and keys, the checks across tables
    assert found == found_alone
    assert threaded.notes == alone.notes
    for name, frame in threaded.tables.items():
        assert frame.equals(alone.tables[name]) and frame.schema == alone.tables[name].schema, name


def test_an_error_inside_a_thread_is_one_problem(broken_study, monkeypatch):
    def broken(tt):
        if tt.table.name == "support":
            raise RuntimeError("boom")
        return []

    monkeypatch.setattr(validate, "duplicate_keys", broken)
    study, found = validate.check_study(broken_study)
    assert study is None
    assert [p.rule for p in found] == ["internal error while checking the study: RuntimeError: boom"]


def test_a_registry_shard_is_checked_one_by_one(broken_study, monkeypatch):
    """check_shard (the sharded engines) keeps to one thread: at registry scale memory is the bound."""
    from cartkit.study.plan import read_study_toml

    config, _ = read_study_toml(broken_study)
    first = validate.check_shard(broken_study, broken_study, config)

    def refused(work, items):
        raise AssertionError("a shard was checked in threads")

    monkeypatch.setattr(validate, "_two_at_a_time", refused)
    study, found = validate.check_shard(broken_study, broken_study, config)
    assert study is not None and found == first[1]
