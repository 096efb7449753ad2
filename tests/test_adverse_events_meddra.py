"""Adverse events coded in MedDRA: any term on a coded row, consistency checks, the SOC/PT table.

The seed study's patients and episodes (P1-P7 DLBCL, P8-P13 B-ALL; episode 1 CD19 CAR-T, episode 2
CD22 CAR-T) with a hand-written MedDRA-coded adverse-events table; the expected counts are counted by
hand from the rows below. The codes are those of MedDRA's public SOC and PT listings (e.g. the FDA
FAERS public dashboard); no dictionary is used by the code under test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.study.problems import StudyError

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
GEN, GEN_C = "General disorders and administration site conditions", "10018065"
BLOOD, BLOOD_C = "Blood and lymphatic system disorders", "10005329"
IMMUNE, IMMUNE_C = "Immune system disorders", "10021428"
HEADER = "patient_id,episode,term,grade,grading_system,onset_day,resolution_day,meddra_pt,meddra_pt_code," \
         "meddra_soc,meddra_soc_code"
ROWS = [
    f"P1,1,Pyrexia,1,ctcae5.0,1,3,Pyrexia,10037660,{GEN},{GEN_C}",
    f"P1,1,Tiredness,3,ctcae5.0,1,6,Fatigue,10016256,{GEN},{GEN_C}",
    f"P2,1,fever,3,ctcae5.0,2,4,Pyrexia,10037660,{GEN},{GEN_C}",
    f"P8,1,Febrile neutropenia,4,ctcae5.0,6,9,Febrile neutropenia,10016288,{BLOOD},{BLOOD_C}",
    f"P8,2,Neutrophils low,3,ctcae5.0,5,20,Neutropenia,10029354,{BLOOD},{BLOOD_C}",
    f"P9,2,Anaemia,2,ctcae5.0,3,10,Anaemia,10002272,{BLOOD},{BLOOD_C}",
    f"P3,2,CRS,2,astct2019,1,4,Cytokine release syndrome,10052015,{IMMUNE},{IMMUNE_C}",
    "P4,1,headache,1,ctcae5.0,2,2,,,,",
]


def _study(tmp_path: Path, rows: list[str]) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(SEED, folder)
    (folder / "published.toml").unlink()
    (folder / "adverse_events.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def incidence(tmp_path_factory) -> pl.DataFrame:
    study = cartkit.load_study(_study(tmp_path_factory.mktemp("meddra"), ROWS))
    return analyse(study, derive(study)).tables["adverse_event_incidence"]


def _cell(df: pl.DataFrame, level: str, term: str, product: str, diagnosis: str) -> tuple[int, int, int]:
    row = df.filter((pl.col("level") == level) & (pl.col("term") == term) & (pl.col("product") == product)
                    & (pl.col("diagnosis") == diagnosis))
    assert row.height == 1, (level, term, product, diagnosis)
    return row["n"][0], row["n_grade3"][0], row["N"][0]


def test_coded_rows_keep_any_term_and_known_terms_stay_canonical(tmp_path):
    study = cartkit.load_study(_study(tmp_path, ROWS))
    terms = set(study.adverse_events["term"].to_list())
    assert {"Tiredness", "Neutrophils low", "Pyrexia"} <= terms  # not in the short list: kept as given
    assert {"fever", "cytokine release syndrome", "headache"} <= terms  # known terms mapped as before


def test_uncoded_unknown_term_is_still_an_error(tmp_path):
    with pytest.raises(StudyError) as err:
        cartkit.load_study(_study(tmp_path, [*ROWS, "P5,1,Tiredness,1,ctcae5.0,1,2,,,,"]))
    rules = [(p.column, p.value, p.rule) for p in err.value.problems]
    assert any(c == "term" and v == "Tiredness" and "code the row in MedDRA" in r for c, v, r in rules)


def test_soc_rows_count_each_episode_once_per_product_and_disease(incidence):
    # General disorders, CD19 DLBCL: P1 (pyrexia 1, fatigue 3) and P2 (pyrexia 3): 2 episodes, both >= 3
    assert _cell(incidence, "soc", GEN, "CD19 CAR-T", "DLBCL") == (2, 2, 7)
    assert _cell(incidence, "pt", "Pyrexia", "CD19 CAR-T", "DLBCL") == (2, 1, 7)
    assert _cell(incidence, "pt", "Fatigue", "CD19 CAR-T", "DLBCL") == (1, 1, 7)
    assert _cell(incidence, "soc", GEN, "CD22 CAR-T", "DLBCL") == (0, 0, 7)
    # Blood: CD19 B-ALL P8 (febrile neutropenia 4); CD22 B-ALL P8 (neutropenia 3) and P9 (anaemia 2)
    assert _cell(incidence, "soc", BLOOD, "CD19 CAR-T", "B-ALL") == (1, 1, 6)
    assert _cell(incidence, "soc", BLOOD, "CD22 CAR-T", "B-ALL") == (2, 1, 6)
    assert _cell(incidence, "pt", "Anaemia", "CD22 CAR-T", "B-ALL") == (1, 0, 6)
    assert _cell(incidence, "pt", "Neutropenia", "CD22 CAR-T", "B-ALL") == (1, 1, 6)
    # the uncoded headache row: under "Not coded in MedDRA", by the short list's label
    assert _cell(incidence, "pt", "Headache", "CD19 CAR-T", "DLBCL") == (1, 0, 7)
    row = incidence.filter((pl.col("term") == "Pyrexia") & (pl.col("product") == "CD19 CAR-T")
                           & (pl.col("diagnosis") == "DLBCL"))
    assert row["pct"][0] == pytest.approx(100 * 2 / 7, abs=1e-9)
    assert row["pct_grade3"][0] == pytest.approx(100 * 1 / 7, abs=1e-9)
    assert row["pt_code"][0] == "10037660" and row["soc_code"][0] == GEN_C


def test_socs_and_pts_in_order_of_frequency_then_name_and_crs_left_to_its_grades(incidence):
    order = incidence.filter(pl.col("level").is_not_null()).select("level", "term").unique(maintain_order=True)
    assert order.rows() == [
        ("soc", BLOOD), ("pt", "Anaemia"), ("pt", "Febrile neutropenia"), ("pt", "Neutropenia"),
        ("soc", GEN), ("pt", "Pyrexia"), ("pt", "Fatigue"),
        ("soc", "Not coded in MedDRA"), ("pt", "Headache"),
    ]
    assert IMMUNE not in incidence["section"].to_list()  # CRS is in its grade rows
    assert "Cytokine release syndrome (CRS)" in incidence.filter(pl.col("term") == "grade 2")["section"].to_list()


@pytest.mark.parametrize(("row", "column", "rule"), [
    (f"P5,1,Rash,1,ctcae5.0,1,2,Rash,1004,{GEN},{GEN_C}", "meddra_pt_code", "MedDRA codes are 8 digits"),
    ("P5,1,Rash,1,ctcae5.0,1,2,Rash,10037844,,", "meddra_soc", "gives its system organ class too"),
    (f"P5,1,Fever again,1,ctcae5.0,1,2,Pyrexia,10037660,{BLOOD},{BLOOD_C}", "meddra_soc_code",
     "one primary SOC"),
    (f"P5,1,Hot,1,ctcae5.0,1,2,Fever,10037660,{GEN},{GEN_C}", "meddra_pt", "a code has one name"),
    (f"P5,1,Hot,1,ctcae5.0,1,2,Pyrexia,10037661,{GEN},{GEN_C}", "meddra_pt_code", "a term has one code"),
])
def test_inconsistent_coding_is_a_located_problem(tmp_path, row, column, rule):
    with pytest.raises(StudyError) as err:
        cartkit.load_study(_study(tmp_path, [*ROWS, row]))
    found = [p for p in err.value.problems if p.column == column and rule in p.rule]
    assert found, [p.rule for p in err.value.problems]
    assert found[0].row == len(ROWS) + 2 and found[0].file.endswith("adverse_events.csv")  # header is row 1


def test_report_table_shows_each_soc_then_its_pts_at_any_grade_and_grade_3(incidence):
    from cartkit.report.tables import adverse_events_table

    table = adverse_events_table(incidence)
    texts = [[c.text for c in r.cells] for r in table.rows]
    assert table.caption.startswith("Adverse events by MedDRA system organ class")
    assert table.id == "adverse-events-table"  # the id the short-list table has (one of them is shown)
    first = texts[0]
    assert first[0] == BLOOD
    # columns: CD19 DLBCL, CD19 B-ALL, CD22 DLBCL, CD22 B-ALL, each any grade then grade >= 3
    assert first[1:] == ["0/7 (0.0%)", "0/7 (0.0%)", "1/6 (16.7%)", "1/6 (16.7%)",
                         "0/7 (0.0%)", "0/7 (0.0%)", "2/6 (33.3%)", "1/6 (16.7%)"]
    assert table.rows[0].cls == "soc" and table.rows[1].cells[0].cls == "indent"


def test_ae_table_terms_of_the_plan_are_said_to_be_unused_with_meddra(tmp_path):
    # the seed's plan lists ae_table_terms (its Table 2 rows): with MedDRA coding they do not apply
    study = cartkit.load_study(_study(tmp_path, ROWS))
    assert study.plan.ae_table_terms
    warnings = analyse(study, derive(study)).tables["warnings"]["text"].to_list()
    assert any("plan.ae_table_terms" in w and "MedDRA" in w for w in warnings)
