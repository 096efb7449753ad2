"""``cartkit design``: tables out, one clear message and exit code 2 for bad input, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cartkit.cli import app

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
runner = CliRunner()


def _run(*args):
    return runner.invoke(app, ["design", *args], terminal_width=200, env={"COLUMNS": "200"})


def test_simon_prints_the_design():
    result = _run("simon", "--p0", "0.2", "--p1", "0.4")
    assert result.exit_code == 0, result.output
    assert "3/13" in result.output and "12/43" in result.output and "20.58" in result.output


def test_simon_admissible_with_operating_characteristics_and_figure(tmp_path):
    out = tmp_path / "oc.png"
    result = _run("simon", "--p0", "0.2", "--p1", "0.4", "--criterion", "admissible", "--oc", "--figure", str(out))
    assert result.exit_code == 0, result.output
    for text in ("4/18", "10/33", "3/14", "11/38", "0.168-1.000", "0.117-0.168", "P(promising)"):
        assert text in result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # an existing file is not overwritten without --overwrite
    again = _run("simon", "--p0", "0.2", "--p1", "0.4", "--figure", str(out))
    assert again.exit_code == 2 and "exists" in again.output


@pytest.mark.parametrize("args, message", [
    (["simon", "--p0", "0.4", "--p1", "0.2"], "p1 must be greater than p0"),
    (["simon", "--p0", "0.2", "--p1", "0.4", "--alpha", "0.6"], "alpha must be in (0, 0.5)"),
    (["simon", "--p0", "0.2", "--p1", "0.25", "--nmax", "50"], "no two-stage design"),
    (["simon", "--p0", "0.2", "--p1", "0.4", "--criterion", "best"], "criterion must be one of"),
    (["single-stage", "--p0", "0.3", "--p1", "0.3"], "p1 must be greater than p0"),
    (["logrank", "--hr", "1"], "must differ from 1"),
    (["logrank", "--hr", "0.6", "--n", "100"], "--n needs --median-control"),
    (["proportions", "--p1", "0.2", "--p2", "0.2"], "must differ"),
    (["proportions", "--p1", "0.2", "--p2", "0.4", "--method", "bayes"], "--method must be"),
    (["from-study", str(SEED), "--criterion", "admissible"], "--criterion must be optimal or minimax"),
])
def test_bad_input_is_one_message_exit_2(args, message):
    result = _run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.output.count("error:") == 1


def test_single_stage_logrank_proportions():
    single = _run("single-stage", "--p0", "0.2", "--p1", "0.4")
    assert single.exit_code == 0 and "35" in single.output and "0.8048" in single.output
    lr = _run("logrank", "--hr", "0.6", "--median-control", "12", "--accrual", "24", "--follow-up", "12",
              "--events", "100", "--n", "200")
    assert lr.exit_code == 0, lr.output
    assert "120.32" in lr.output and "187.76" in lr.output and "power with 100 events: 0.7238" in lr.output
    prop = _run("proportions", "--p1", "0.2", "--p2", "0.4")
    assert prop.exit_code == 0 and "82" in prop.output and "90" in prop.output


def test_from_study_on_the_seed():
    result = _run("from-study", str(SEED), "--diagnosis", "DLBCL")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "CD22 CAR-T, DLBCL" in out and "6/7" in out and "42.1% - 99.6%" in out
    assert "4/16" in out and "12/38" in out and "7/10" in out and "28/37" in out  # clinfun, tests/test_design.py
    assert "7 patients are consistent with any true rate in that range" in out
    assert "no responses" in out  # CD19 CAR-T in DLBCL, 0/7
    assert "give --p0" in out


def test_from_study_broken_study_lists_problems(tmp_path, copy_seed):
    study = tmp_path / "broken"
    copy_seed(study)
    lines = (study / "patients.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("sex")] = "robot"
    lines[1] = ",".join(row)
    (study / "patients.csv").write_text("\n".join(lines) + "\n")
    result = _run("from-study", str(study))
    assert result.exit_code == 1
    assert "robot" in result.output and "Traceback" not in result.output
