"""[plan.next_study]: the report's "Next study" section, planned from the study's own response rates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cartkit.study.problems import StudyError

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
REF = json.loads(Path(__file__).with_name("reference_design.json").read_text())


def _seed_with(tmp_path: Path, block: str) -> Path:
    study = tmp_path / "seed"
    shutil.copytree(SEED, study)
    text = (study / "study.toml").read_text()
    # the [plan.next_study] table goes right after the [plan] keys (before the next table header)
    head, sep, tail = text.partition("\n[plan.response_days]")
    (study / "study.toml").write_text(head + "\n" + block + "\n" + sep + tail)
    return study


def test_plan_reads_next_study_and_rejects_bad_values(tmp_path):
    from cartkit.study.load import load_study

    study = load_study(_seed_with(tmp_path, "[plan.next_study]\np0 = 0.25\ncriterion = \"minimax\""))
    assert study.plan.next_study.p0 == 0.25 and study.plan.next_study.criterion == "minimax"
    assert load_study(SEED).plan.next_study is None
    bad = _seed_with(tmp_path / "bad", "[plan.next_study]\np0 = 1.5\nalpha = 0.7\ncriterion = \"best\"\nwhatever = 1")
    with pytest.raises(StudyError) as err:
        load_study(bad)
    columns = {p.column for p in err.value.problems}
    assert {"plan.next_study.p0", "plan.next_study.alpha", "plan.next_study.criterion",
            "plan.next_study.whatever"} <= columns


@pytest.mark.slow
def test_next_study_section_for_the_seed(tmp_path):
    from cartkit.analysis import analyse
    from cartkit.derive import derive
    from cartkit.report.html import build_sections
    from cartkit.study.load import load_study

    study = load_study(_seed_with(tmp_path, "[plan.next_study]\ndelta = 0.2"))
    results = analyse(study, derive(study))
    table = results.tables["next_study"]
    dlbcl = table.filter(table["group"] == "CD22 CAR-T, DLBCL")
    assert dlbcl["responders"].to_list() == [6, 6] and dlbcl["n"].to_list() == [7, 7]
    for row, ref in zip(dlbcl.iter_rows(named=True), REF["seed_dlbcl"], strict=True):  # clinfun
        assert (row["r1"], row["n1"], row["r"], row["n_total"]) == (ref["r1"], ref["n1"], ref["r"], ref["n"])
        assert row["en_p0"] == pytest.approx(ref["en"], abs=1e-6)
    assert "7 patients are consistent" in dlbcl["message"][0]
    sections = {s.id: s for s in build_sections(results, {})}
    assert "next-study" in sections
    paragraphs = [b for b in sections["next-study"].blocks if b.kind == "paragraphs"][0]
    assert any("42% to 99.6%" in text for _, text in paragraphs.items)
    # without the plan table there is no section
    plain = analyse(load_study(SEED), derive(load_study(SEED)))
    assert plain.get("next_study") is None
    assert "next_study" in plain.omitted  # a section that does not apply says why (the analysis registry)
    assert "next-study" not in {s.id for s in build_sections(plain, {})}
