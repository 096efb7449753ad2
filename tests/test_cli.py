"""The command line: exit codes, readable errors, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cartkit.cli import app

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
runner = CliRunner()


def test_validate_seed_is_clean():
    result = runner.invoke(app, ["validate", str(SEED)])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_validate_broken_copy_lists_every_problem(tmp_path, copy_seed):
    study = tmp_path / "broken"
    copy_seed(study)
    lines = (study / "patients.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("sex")] = "robot"
    row[header.index("age")] = "-4"
    lines[1] = ",".join(row)
    (study / "patients.csv").write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["validate", str(study)], terminal_width=200)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "patients.csv" in result.output
    assert "robot" in result.output and "-4" in result.output


def test_validate_missing_folder_is_one_readable_message(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output


def test_run_seed_writes_report(tmp_path):
    out = tmp_path / "report"
    result = runner.invoke(app, ["run", str(SEED), "--out", str(out), "--png"])
    assert result.exit_code == 0, result.output
    assert (out / "index.html").exists()
    assert (out / "results.json").exists()
    # --png writes a PNG beside every SVG (without it only the SVGs: tests/test_report_write.py)
    svgs = sorted(p.stem for p in (out / "figures").glob("*.svg"))
    assert "survival-curves" in svgs
    assert sorted(p.stem for p in (out / "figures").glob("*.png")) == svgs


def test_run_broken_study_exits_1_without_traceback(tmp_path, copy_seed):
    study = tmp_path / "broken"
    copy_seed(study)
    (study / "infusions.csv").unlink()
    result = runner.invoke(app, ["run", str(study), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "index.html").exists()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_simulate_then_validate(tmp_path, fmt):
    out = tmp_path / f"sim-{fmt}"
    result = runner.invoke(app, ["simulate", "--patients", "20", "--seed", "3", "--format", fmt, str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 0, result.output


def test_simulate_refuses_to_overwrite_a_study_unless_asked(tmp_path):
    out = tmp_path / "sim"
    assert runner.invoke(app, ["simulate", "--patients", "5", str(out)]).exit_code == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    result = runner.invoke(app, ["simulate", "--patients", "3", str(out)])
    assert result.exit_code == 1 and "--overwrite" in result.output
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert runner.invoke(app, ["simulate", "--patients", "3", "--overwrite", str(out)]).exit_code == 0
