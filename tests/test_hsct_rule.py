"""HSCT handling is one enum (study/plan_endpoint.HsctRule): its labels are written in one place only."""

from __future__ import annotations

from pathlib import Path

from cartkit.study.plan_endpoint import HsctRule

SRC = Path(__file__).resolve().parents[1] / "src" / "cartkit"


def test_hsct_rule_labels_are_defined_once():
    homes = {}
    for rule in HsctRule:
        homes[rule.label] = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                                   if f'"{rule.label}"' in p.read_text(encoding="utf-8"))
    assert homes == {rule.label: ["study/plan_endpoint.py"] for rule in HsctRule}


def test_derived_time_to_event_is_keyed_by_the_rules():
    import cartkit
    from cartkit.derive import derive

    study = cartkit.load_study(Path(__file__).resolve().parents[1] / "examples" / "seed-study")
    tte = derive(study).tte
    assert list(tte) == [HsctRule.CENSOR.label, HsctRule.EXCLUDE.label, HsctRule.IGNORE.label]
    # the seed's Results: 6 DLBCL and 5 B-ALL patients did not receive allo-HSCT
    excluded = tte[HsctRule.EXCLUDE.label].group_by("diagnosis").len().sort("diagnosis").rows()
    assert excluded == [("B-ALL", 5), ("DLBCL", 6)]
