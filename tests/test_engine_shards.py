"""A sharded study (issue 16, target 3): simulate writes it, run streams it shard by shard, and the
derived tables are those of the unsharded study, table by table."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

import cartkit
from cartkit.derive import derive
from cartkit.engine import derive_study
from cartkit.engine.shards import (
    ANALYSIS_COLUMNS,
    analysis_rows,
    compact,
    derived_frames,
    is_sharded,
    kinetic_rows,
    run_shards,
    shard_folders,
)
from cartkit.simulate import simulate_study
from cartkit.study.problems import StudyError


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """A gathered frame in the default engine's storage (a shard hands over compacted frames)."""
    return frame.with_columns(pl.col(pl.Categorical).cast(pl.String), pl.col(pl.Int32).cast(pl.Int64))


def assert_same_derived(expected, actual) -> None:
    """Every derived table equal, rows in any order (shards are gathered in shard order), in the same
    dtypes up to the storage a shard compacts them to (cartkit.engine.shards.compact)."""
    want, got = derived_frames(expected), derived_frames(actual)
    assert set(want) == set(got)
    for name, frame in want.items():
        other = got[name]
        assert frame.columns == other.columns, name
        assert _plain(frame).schema == _plain(other).schema, name
        keys = frame.columns
        assert _plain(frame).sort(keys, nulls_last=True).equals(_plain(other).sort(keys, nulls_last=True)), name


def without_registry_notes(derived):
    """``derived`` without the notes of how a sharded study was read (shards, kinetic sample), which a
    derive of the same patients in one folder does not write."""
    import dataclasses

    kept = [n for n in derived.notes if not n.startswith(("Read in ", "The kinetic curves and model fits use"))]
    assert len(kept) < len(derived.notes)
    return dataclasses.replace(derived, notes=kept)


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    base = tmp_path_factory.mktemp("shards")
    whole = simulate_study(base / "whole", patients=600, seed=3)
    sharded = simulate_study(base / "sharded", patients=600, seed=3, shards=3)
    return whole, sharded


def test_simulate_writes_three_shards_of_the_same_rows(studies):
    whole, sharded = studies
    assert not is_sharded(whole) and is_sharded(sharded)
    shards = shard_folders(sharded)
    assert [s.name for s in shards] == ["00000", "00001", "00002"]
    for table in ("patients", "measurements", "adverse_events"):
        parts = [pl.read_parquet(s / f"{table}.parquet") for s in shards]
        assert [p.height > 0 for p in parts] == [True] * 3
        ids = [set(p["patient_id"]) for p in parts]
        assert not (ids[0] & ids[1]) and not (ids[1] & ids[2])
        assert pl.concat(parts).equals(pl.read_parquet(whole / f"{table}.parquet"))
    assert (sharded / ".cartkit-simulate.json").is_file()  # written through the output-folder manifest


def test_sharded_derive_equals_unsharded_derive_table_by_table(studies):
    whole, sharded = studies
    study = cartkit.load_study(whole)
    expected = derive(study)
    gathered, derived = run_shards(sharded)
    assert_same_derived(expected, without_registry_notes(derived))
    for name in ("patients", "infusions", "events", "assessments", "adverse_events", "support", "infections"):
        columns = list(ANALYSIS_COLUMNS.get(name, study.tables[name].columns))
        if name == "adverse_events":  # not coded in MedDRA: its MedDRA columns are not handed over
            columns = [c for c in columns if not c.startswith("meddra_")]
        assert gathered.tables[name].columns == columns, name
        assert _plain(gathered.tables[name]).equals(study.tables[name].select(columns)), name
        assert gathered.tables[name].equals(compact(study.tables[name].select(columns), f"table.{name}")), name
    # the analysis reads the kinetic analytes and IgG only (every episode here: fewer than the sample size)
    kept = gathered.tables["measurements"]
    columns = list(ANALYSIS_COLUMNS["measurements"])
    assert _plain(kept).equals(analysis_rows(study.tables["measurements"], study.plan).select(columns))
    assert set(kept["analyte"].unique()) == {*study.plan.kinetic_analytes, "car_dna", "igg"}
    assert _plain(kept.filter(pl.col("analyte") != "igg")).equals(
        kinetic_rows(study.tables["measurements"], study.plan).select(columns))
    assert gathered.tables["neuro"].height == 0
    assert any("3 patient shards" in n for n in gathered.notes)
    assert [f.file for f in gathered.inputs][:1] == ["study.toml"]
    assert "shards/00002/measurements.parquet" in {f.file for f in gathered.inputs}


def test_derive_study_runs_a_sharded_folder_by_shards(studies):
    _, sharded = studies
    study, derived = derive_study(sharded)
    assert study.tables["patients"].height == 600


def test_kinetic_sample_is_reproducible_and_independent_of_sharding(studies):
    whole, sharded = studies
    study = cartkit.load_study(whole)
    sample = kinetic_rows(study.tables["measurements"], study.plan, fraction=0.25)
    episodes = sample.select("patient_id", "episode").unique()
    assert 0.15 * 745 < episodes.height < 0.35 * 745
    parts = [kinetic_rows(cartkit.load_study(whole).tables["measurements"].filter(
        pl.col("patient_id").is_in(list(ids))), study.plan, fraction=0.25)
        for ids in (study.tables["patients"]["patient_id"][:250], study.tables["patients"]["patient_id"][250:])]
    assert pl.concat(parts).sort(sample.columns).equals(sample.sort(sample.columns))


def test_problems_of_every_shard_are_located_in_their_shard_files(studies, tmp_path):
    _, sharded = studies
    bad = tmp_path / "bad"
    shutil.copytree(sharded, bad)
    # shard 1: an impossible value; shard 2: a measurement of a patient who is not in its patients
    m = pl.read_parquet(bad / "shards/00001/measurements.parquet")
    m = m.with_columns(pl.when(pl.int_range(pl.len()) == 4).then(-5.0).otherwise(pl.col("value")).alias("value"))
    m.write_parquet(bad / "shards/00001/measurements.parquet")
    m2 = pl.read_parquet(bad / "shards/00002/measurements.parquet")
    m2.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("NOBODY")).otherwise(pl.col("patient_id"))
                    .alias("patient_id")).write_parquet(bad / "shards/00002/measurements.parquet")
    with pytest.raises(StudyError) as err:
        run_shards(bad)
    problems = [p for p in err.value.problems if p.is_error]
    assert any(p.file == "shards/00001/measurements.parquet" and p.row == 5 and p.column == "value"
               for p in problems)
    assert any(p.file == "shards/00002/measurements.parquet" and p.row == 1 and p.column == "patient_id"
               and p.value == "NOBODY" for p in problems)
    assert not any(p.file.startswith("shards/00000") for p in problems)


def test_patient_in_two_shards_is_an_error(studies, tmp_path):
    _, sharded = studies
    bad = tmp_path / "twice"
    shutil.copytree(sharded, bad)
    for table in ("patients", "infusions"):
        first = pl.read_parquet(bad / f"shards/00000/{table}.parquet")
        one = first.filter(pl.col("patient_id") == first["patient_id"][0])
        other = pl.read_parquet(bad / f"shards/00002/{table}.parquet")
        pl.concat([other, one]).write_parquet(bad / f"shards/00002/{table}.parquet")
    with pytest.raises(StudyError) as err:
        run_shards(bad)
    twice = [p for p in err.value.problems if p.kind == "patient in more than one shard"]
    assert len(twice) == 1
    assert twice[0].file == "shards/00002/patients" and "shard shards/00000" in twice[0].rule


def test_simulate_refuses_more_shards_than_patients(tmp_path):
    with pytest.raises(ValueError, match="shards"):
        simulate_study(tmp_path / "x", patients=3, shards=4)


def test_cli_simulates_shards_and_runs_them(tmp_path):
    from typer.testing import CliRunner

    from cartkit.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["simulate", str(tmp_path / "reg"), "-n", "40", "--shards", "2"])
    assert result.exit_code == 0, result.output
    assert [s.name for s in shard_folders(tmp_path / "reg")] == ["00000", "00001"]
    bad = runner.invoke(app, ["run", str(tmp_path / "reg"), "--out", str(tmp_path / "o"), "--engine", "nope"])
    assert bad.exit_code != 0 and "--engine nope" in bad.output
    bad = runner.invoke(app, ["run", str(tmp_path / "reg"), "--out", str(tmp_path / "o"), "--master", "local[2]"])
    assert bad.exit_code != 0 and "--master applies to --engine spark only" in bad.output
    too_many = runner.invoke(app, ["simulate", str(tmp_path / "few"), "-n", "2", "--shards", "3"])
    assert too_many.exit_code != 0 and "at most one shard per patient" in too_many.output


@pytest.mark.slow
def test_run_writes_the_report_of_a_sharded_study(tmp_path):
    from cartkit.pipeline import run_study

    folder = simulate_study(tmp_path / "reg", patients=60, seed=5, shards=3)
    index = run_study(folder, tmp_path / "report")
    html = index.read_text(encoding="utf-8")
    assert "Read in 3 patient shards (60 patients" in html  # in the report's notes
    assert (tmp_path / "report" / "tables" / "responses.csv").is_file()


def test_meddra_columns_are_dropped_only_from_a_shard_without_codes():
    from cartkit.engine.shards import analysis_columns

    ae = pl.DataFrame({"patient_id": ["P1", "P2"], "term": ["crs", "fever"], "meddra_pt": [None, None],
                       "meddra_pt_code": [None, None], "meddra_soc": [None, None], "meddra_soc_code": [None, None]},
                      schema_overrides={c: pl.String for c in ("meddra_pt", "meddra_pt_code", "meddra_soc",
                                                                  "meddra_soc_code")})
    assert analysis_columns(ae, "adverse_events").columns == ["patient_id", "term"]
    coded = ae.with_columns(pl.Series("meddra_pt", [None, "Pyrexia"]))
    assert analysis_columns(coded, "adverse_events").equals(coded)
    # gathered with a coded shard, the uncoded shard's rows are uncoded there, as in one folder
    gathered = pl.concat([analysis_columns(ae, "adverse_events"), coded.slice(1)], how="diagonal_relaxed")
    assert gathered["meddra_pt"].to_list() == [None, None, "Pyrexia"]


def test_compact_narrows_storage_and_keeps_every_value():
    frame = pl.DataFrame({"patient_id": ["P1", "P2", None], "episode": [1, 2, None], "big": [0, 2**31, 1],
                          "os_days": [10, 20, 30], "note": ["no terminal phase: too few points", None, "x"],
                          "value": [0.1, 1e-300, None]})
    small = compact(frame, "derived.kinetics")
    assert dict(small.schema) == {"patient_id": pl.String, "episode": pl.Int32, "big": pl.Int64,
                                  "os_days": pl.Int64, "note": pl.Categorical(), "value": pl.Float64}
    assert _plain(small).equals(frame)
    assert compact(frame, "table.support").schema["note"] == pl.String  # text elsewhere stays text
    empty = compact(frame.clear(), "derived.kinetics").schema  # no values: every id and count narrows
    assert (empty["episode"], empty["big"], empty["os_days"], empty["note"]) == (
        pl.Int32, pl.Int32, pl.Int64, pl.Categorical())


def test_gathered_tables_are_compacted(studies):
    whole, sharded = studies
    study = cartkit.load_study(whole)
    gathered, derived = run_shards(sharded)
    assert gathered.tables["adverse_events"].schema["grade"] == pl.Int32
    assert derived.kinetics.schema["note"] == pl.Categorical
    plain = sum(f.estimated_size() for f in derived_frames(derive(study)).values())
    small = sum(f.estimated_size() for f in derived_frames(derived).values())
    assert small < 0.8 * plain


@pytest.mark.slow
def test_sharded_analysis_equals_the_one_folder_analysis(studies):
    """Every result table of the sharded study equals the one-folder study's, row for row (up to the storage
    a shard compacts to), except where the report says how it was read: its input files and the shard note.
    The infections and the IgG summary need the infections table and the IgG measurements, which a shard
    once dropped (the report then omitted its infection tables)."""
    from cartkit.analysis import analyse

    whole, sharded = studies
    study = cartkit.load_study(whole)
    expected = analyse(study, derive(study))
    got = analyse(*run_shards(sharded))
    assert set(got.tables) == set(expected.tables) and got.omitted == expected.omitted
    assert got.tables["infection_density"] is not None and got.tables["hypogammaglobulinaemia"] is not None
    for name, frame in expected.tables.items():
        other = got.tables[name]
        if frame is None:
            assert other is None, name
        elif name == "methods":  # the input files are the shards' files
            drop = pl.col("item") != "Input data"
            assert _plain(frame.filter(drop)).equals(_plain(other.filter(drop))), name
        elif name == "warnings":
            note = pl.col("text").str.starts_with("Read in 3 patient shards")
            assert other.filter(note).height == 1 and frame.equals(other.filter(~note)), name
        else:
            assert _plain(frame).equals(_plain(other)), name


def test_with_groups_is_the_inner_join_in_the_frames_order():
    from cartkit.analysis.sections import with_groups

    frame = pl.DataFrame({"patient_id": ["P2", "P1", "P2", "P3"], "episode": [1, 1, 1, 2], "x": [1.0, 2.0, 3.0, 4.0]})
    groups = pl.DataFrame({"patient_id": ["P1", "P2", "P3"], "episode": [1, 1, 2], "product": ["A", "B", "A"]})
    every = with_groups(frame, groups)  # every row has its group: the frame's columns and the group's
    assert every.equals(frame.with_columns(product=pl.Series(["B", "A", "B", "A"])))
    assert every.equals(frame.join(groups, on=["patient_id", "episode"], how="inner", maintain_order="left"))
    some = with_groups(frame, groups.head(2))  # P3 episode 2 has no group: left out, as by the join
    assert some.equals(every.head(3))
