"""docs/plan.md is the reference of study.toml: every key, its default and an example that reads.

The reference tables are checked against the code: every field of the study metadata and of the
plan has a row, each default stated as a literal is the dataclass default, and the examples,
put together into one study.toml, read without a problem.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from cartkit.study.model import NextStudyPlan, Plan, StudyMeta, SurvivalPlan
from cartkit.study.plan import read_study_toml
from cartkit.study.plan_follow_up import FollowUpPlan
from cartkit.study.plan_kinetics import KineticsPlan
from cartkit.study.plan_mrd import MrdLandmarkPlan

DOC = Path(__file__).resolve().parents[1] / "docs" / "plan.md"
SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
# documented in their own sections of docs/plan.md ([[plan.population]], [[plan.endpoint]], ...)
ARRAYS_OF_TABLES = {"populations", "endpoints", "comparisons"}
SUBTABLES = {"survival": "plan.survival", "next_study": "plan.next_study", "response_days": "plan.response_days",
             "lln": "plan.lln", "lloq": "plan.lloq", "mrd_landmark": "plan.mrd_landmark", "follow_up": "plan.follow_up",
             "kinetics": "plan.kinetics"}
CLASSES = {"study": StudyMeta, "plan": Plan, "plan.survival": SurvivalPlan, "plan.next_study": NextStudyPlan,
           "plan.mrd_landmark": MrdLandmarkPlan, "plan.follow_up": FollowUpPlan,
           "plan.kinetics": KineticsPlan}


def _reference() -> dict[str, list[dict[str, str]]]:
    """table name -> rows (key, type, default, allowed, example) of its reference table."""
    text = DOC.read_text(encoding="utf-8")
    out: dict[str, list[dict[str, str]]] = {}
    for match in re.finditer(r"^### `\[([a-z_.]+)\]`\n(.*?)(?=^##)", text, re.M | re.S):
        rows = []
        for line in match.group(2).splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if len(cells) == 5 and cells[0].startswith("`") and cells[0] != "key":
                rows.append(dict(zip(("key", "type", "default", "allowed", "example"), cells, strict=True)))
        out[match.group(1)] = rows
    return out


REFERENCE = _reference()


def test_every_table_and_key_has_a_reference_row():
    assert set(REFERENCE) >= {"study", "files", "plan", "plan.response_days", "plan.survival", "plan.lln",
                              "plan.next_study"}
    for table, cls in CLASSES.items():
        documented = {r["key"].strip("`") for r in REFERENCE[table]}
        fields = {f.name for f in dataclasses.fields(cls)} - ARRAYS_OF_TABLES - set(SUBTABLES)
        assert fields <= documented, (table, fields - documented)
    assert {r["key"] for r in REFERENCE["files"]} == {"`workbook`", "`<table>`"}


@pytest.mark.parametrize("table", sorted(CLASSES))
def test_stated_defaults_are_the_code_defaults(table):
    cls = CLASSES[table]
    checked = 0
    for row in REFERENCE[table]:
        literal = re.fullmatch(r"`([^`]+)`", row["default"])
        key = row["key"].strip("`")
        if literal is None or not hasattr(cls, "__dataclass_fields__") or key not in cls.__dataclass_fields__:
            continue
        stated = tomllib.loads(f"x = {literal.group(1)}")["x"]
        field = cls.__dataclass_fields__[key]
        default = field.default_factory() if field.default is dataclasses.MISSING else field.default
        default = list(default) if isinstance(default, tuple) else default
        assert stated == default, (table, key)
        checked += 1
    assert checked >= {"study": 0, "plan": 8, "plan.survival": 4, "plan.next_study": 4, "plan.mrd_landmark": 3,
                       "plan.follow_up": 1, "plan.kinetics": 1}[table]


def test_the_examples_read_without_a_problem(tmp_path):
    lines = []
    for table, rows in REFERENCE.items():
        lines.append(f"[{table}]")
        for row in rows:
            example = re.fullmatch(r"`(.+)`", row["example"])
            assert example, (table, row["key"])
            lines.append(example.group(1))
        lines.append("")
    (tmp_path / "study.toml").write_text("\n".join(lines))
    _, problems = read_study_toml(tmp_path)
    assert problems == []


def test_the_worked_example_covers_every_key_of_the_seed():
    seed = tomllib.loads((SEED / "study.toml").read_text())
    text = DOC.read_text(encoding="utf-8")
    worked = text[text.index("## Worked example"):]
    worked = worked[:worked.index("\n## ", 1)]
    keys = [k for k in seed["plan"] if not isinstance(seed["plan"][k], dict | list) or k in ("products", "diseases",
                                                                                                "kinetic_analytes",
                                                                                                "ae_table_terms")]
    keys += [f"[plan.{k}]" for k, v in seed["plan"].items() if isinstance(v, dict)]
    missing = [k for k in keys if f"`{k}" not in worked and k not in worked]
    assert missing == []
