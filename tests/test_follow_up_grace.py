"""``[plan.follow_up] lost_grace_days``: last news within that many days before the data cut-off counts as
follow-up to the cut-off ("alive at cut-off"); the default 0 keeps the strict rule. Expected statuses and
day counts are counted by hand from the dates in each test."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from cartkit.analysis.follow_up import follow_up_listing
from cartkit.report.tables import follow_up_summary_table
from cartkit.study.plan import read_study_toml

SEED = Path(__file__).resolve().parent.parent / "examples" / "seed-study"
CUTOFF = dt.date(2020, 8, 31)


def _toml(folder: Path, plan_extra: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "study.toml").write_text(f'[study]\nid = "x"\n\n[plan]\n{plan_extra}\n', encoding="utf-8")
    return folder


def test_the_grace_period_is_read_checked_and_defaults_to_zero(tmp_path):
    config, problems = read_study_toml(_toml(tmp_path / "a", "[plan.follow_up]\nlost_grace_days = 90"))
    assert not problems and config.plan.follow_up.lost_grace_days == 90
    config, problems = read_study_toml(_toml(tmp_path / "b", ""))
    assert not problems and config.plan.follow_up.lost_grace_days == 0
    config, problems = read_study_toml(_toml(tmp_path / "c", "[plan.follow_up]\nlost_grace_days = -1"))
    assert [(p.column, p.value) for p in problems] == [("plan.follow_up.lost_grace_days", -1)]
    assert config.plan.follow_up.lost_grace_days == 0
    _, problems = read_study_toml(_toml(tmp_path / "d", "[plan.follow_up]\nlost_grace_day = 30"))
    assert [p.column for p in problems] == ["plan.follow_up.lost_grace_day"] and "unknown key" in problems[0].rule
    _, problems = read_study_toml(_toml(tmp_path / "e", "[plan.follow_up]\nlost_grace_days = \"30\""))
    assert problems and problems[0].rule == "expected an integer"


def _listing(grace: int) -> dict[str, dict]:
    inf = pl.DataFrame({"patient_id": ["B", "C", "F"], "episode": [1, 1, 1],
                        "infusion_date": [dt.date(2019, 2, 1), dt.date(2019, 3, 1), dt.date(2019, 3, 1)]})
    patients = pl.DataFrame({"patient_id": ["B", "C", "F"], "diagnosis": ["DLBCL", "B-ALL", "B-ALL"]})
    events = pl.DataFrame([
        ("B", "last_contact", dt.date(2020, 8, 31), None),   # on the cut-off
        ("C", "last_contact", dt.date(2020, 3, 4), None),    # 180 days before it
        ("F", "death", dt.date(2020, 8, 1), "infection"),    # died 30 days before it
    ], schema=["patient_id", "kind", "date", "detail"], orient="row")
    return {r["patient_id"]: r for r in follow_up_listing(events, inf, patients, CUTOFF, grace).to_dicts()}


@pytest.mark.parametrize("grace, status_c", [(0, "lost to follow-up"), (179, "lost to follow-up"),
                                             (180, "alive at cut-off"), (365, "alive at cut-off")])
def test_last_news_within_the_grace_period_is_alive_at_cut_off(grace, status_c):
    got = _listing(grace)
    assert got["C"]["status"] == status_c
    assert got["C"]["days_before_cutoff"] == 180       # still listed: the label changed, not the dates
    assert got["C"]["last_known_date"] == dt.date(2020, 3, 4)
    assert got["B"]["status"] == "alive at cut-off" and got["B"]["days_before_cutoff"] is None
    assert got["F"]["status"] == "died" and got["F"]["days_before_cutoff"] is None


def test_the_summary_note_states_the_grace_period_only_when_set():
    summary = pl.DataFrame({"diagnosis": ["All"], "status": ["alive at cut-off"], "cause_of_death": [None],
                            "n": [1], "N": [1]}, schema_overrides={"cause_of_death": pl.String})
    strict = follow_up_summary_table(summary).footnotes[0]
    assert "earlier than the data cut-off" in strict and "lost_grace_days" not in strict
    note = follow_up_summary_table(summary, 90).footnotes[0]
    assert "more than 90 days before the data cut-off" in note and "lost_grace_days = 90" in note
    assert "survival is censored at the last news either way" in note


def test_the_follow_up_section_reads_the_plan_option(tmp_path, copy_seed):
    """The seed with P1's last contact moved 100 days before the cut-off: lost with the default plan,
    alive at cut-off with lost_grace_days = 100; the section reads the option from the loaded plan."""
    from cartkit.analysis.sections import _follow_up
    from cartkit.study.load import load_study

    study_dir = tmp_path / "seed"
    copy_seed(study_dir)
    events = pl.read_csv(study_dir / "events.csv", infer_schema=False)
    events.with_columns(date=pl.when((pl.col("patient_id") == "P1") & (pl.col("kind") == "last_contact"))
                        .then(pl.lit("2020-05-23")).otherwise(pl.col("date")),
                        day=pl.when((pl.col("patient_id") == "P1") & (pl.col("kind") == "last_contact"))
                        .then(pl.lit(None)).otherwise(pl.col("day"))).write_csv(study_dir / "events.csv")
    statuses = {}
    for grace in (0, 100):
        toml = (SEED / "study.toml").read_text(encoding="utf-8")
        (study_dir / "study.toml").write_text(toml + f"\n[plan.follow_up]\nlost_grace_days = {grace}\n",
                                              encoding="utf-8")
        study = load_study(study_dir)
        assert study.plan.follow_up.lost_grace_days == grace
        groups = study.infusions.select("patient_id", "episode")
        ctx = SimpleNamespace(study=study, plan=study.plan, groups=groups, diseases=("DLBCL", "B-ALL"))
        listing = _follow_up(ctx)["follow_up"]
        p1 = listing.filter(pl.col("patient_id") == "P1").row(0, named=True)
        statuses[grace] = (p1["status"], p1["days_before_cutoff"])
    assert statuses == {0: ("lost to follow-up", 100), 100: ("alive at cut-off", 100)}
