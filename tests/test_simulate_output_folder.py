"""`cartkit simulate` deletes or replaces only what it wrote itself (issue 9 item 1, docs/output.md).

A simulated study carries a manifest, ``.cartkit-simulate.json``, of the files simulate wrote;
``--overwrite`` replaces only such a folder, unchanged; any other non-empty folder is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cartkit
from cartkit.cli import app
from cartkit.report.output_folder import SIMULATE_MANIFEST, SIMULATED_STUDY, OutputFolderError, read_manifest
from cartkit.simulate import simulate_study
from cartkit.study.validate import validate_study

runner = CliRunner()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _simulate(out: Path, *args: str):
    return runner.invoke(app, ["simulate", "--patients", "5", *args, str(out)])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])  # csv: the seed study's own table names
def test_overwrite_of_a_real_study_is_refused_and_leaves_every_file_byte_identical(tmp_path, fmt, copy_seed):
    study = tmp_path / "seed-study"
    copy_seed(study)
    before = _snapshot(study)
    result = _simulate(study, "--overwrite", "--seed", "1", "--format", fmt)
    assert result.exit_code == 1
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    message = " ".join(result.output.split())
    assert "is not a study simulated by cartkit" in message and SIMULATE_MANIFEST in message
    assert _snapshot(study) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed-study"]  # no partial folder left
    # without --overwrite the refusal is the same (it does not suggest --overwrite, which would not help)
    result = _simulate(study, "--seed", "1")
    assert result.exit_code == 1 and "--overwrite" not in result.output
    # the Python API refuses too, before simulating anything
    with pytest.raises(OutputFolderError, match="not a study simulated by cartkit"):
        simulate_study(study, patients=5, seed=1, format=fmt)
    assert _snapshot(study) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed-study"]


def test_a_report_folder_is_not_a_simulated_study(tmp_path):
    report = tmp_path / "report"
    report.mkdir()
    (report / ".cartkit-report.json").write_text(json.dumps({"cartkit_report": 1, "files": {}}))
    before = _snapshot(report)
    result = _simulate(report, "--overwrite")
    assert result.exit_code == 1 and _snapshot(report) == before


def test_overwriting_an_earlier_simulate_output_replaces_it_whole(tmp_path):
    out = tmp_path / "sim"
    assert _simulate(out, "--seed", "1", "--format", "csv").exit_code == 0
    manifest = read_manifest(out, SIMULATED_STUDY)
    assert manifest is not None
    assert set(manifest.files) == set(_snapshot(out)) - {SIMULATE_MANIFEST}
    assert "study.toml" in manifest.files and "patients.csv" in manifest.files
    # without --overwrite: refused, naming the option
    result = _simulate(out, "--seed", "2")
    assert result.exit_code == 1 and "--overwrite" in result.output
    # with it: replaced, also in the other format (no stale csv tables beside the parquet ones)
    result = _simulate(out, "--overwrite", "--seed", "2", "--format", "parquet")
    assert result.exit_code == 0, result.output
    fresh = simulate_study(tmp_path / "fresh", patients=5, seed=2, format="parquet")
    assert _snapshot(out) == _snapshot(fresh)
    assert not list(out.glob("*.csv"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "sim"]  # no partial or old folder left
    # the Python API replaces an earlier simulated study as well
    simulate_study(out, patients=5, seed=3, format="csv")
    assert _snapshot(out) == _snapshot(simulate_study(tmp_path / "fresh3", patients=5, seed=3, format="csv"))


def test_a_user_file_added_to_a_simulated_folder_blocks_the_overwrite_and_survives(tmp_path):
    out = tmp_path / "sim"
    simulate_study(out, patients=5, seed=1, format="csv")
    (out / "my-notes.csv").write_text("patient_id,note\nSIM-0001,keep me\n")
    before = _snapshot(out)
    result = _simulate(out, "--overwrite", "--seed", "2", "--format", "csv")
    assert result.exit_code == 1 and "my-notes.csv" in result.output
    assert _snapshot(out) == before
    (out / "my-notes.csv").unlink()
    # an edited table is no longer cartkit's either
    with (out / "patients.csv").open("a") as f:
        f.write("\n")
    before = _snapshot(out)
    result = _simulate(out, "--overwrite", "--seed", "2", "--format", "csv")
    assert result.exit_code == 1 and "patients.csv" in result.output and "changed since" in result.output
    assert _snapshot(out) == before
    with pytest.raises(OutputFolderError, match="patients.csv"):
        simulate_study(out, patients=5, seed=2, format="csv")
    assert _snapshot(out) == before


def test_an_interrupted_overwrite_leaves_the_earlier_study_as_it_was(tmp_path):
    out = tmp_path / "sim"
    simulate_study(out, patients=5, seed=1, format="csv")
    before = _snapshot(out)

    def stop(table: str, done: int, total: int) -> None:
        if table == "support":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate_study(out, patients=5, seed=2, format="csv", progress=stop)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_simulated_folder_loads_and_validates_clean_with_its_manifest(tmp_path, fmt):
    out = simulate_study(tmp_path / "sim", patients=12, seed=4, format=fmt)
    assert (out / SIMULATE_MANIFEST).is_file()
    assert validate_study(out) == []
    study = cartkit.load_study(out)
    assert not [n for n in study.notes if SIMULATE_MANIFEST in n]
    assert SIMULATE_MANIFEST not in {f.file for f in study.inputs}
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 0 and "no problems found" in " ".join(result.output.split())
