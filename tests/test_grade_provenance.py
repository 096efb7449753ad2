"""Which grades are analysed, under which system, and how the analysis and Methods say so.

The issue-10 wrong-output case: a copy of the seed with its recorded CRS grades removed and
``crs_system = "lee2014"`` must grade CRS under Lee 2014 (not ASTCT 2019), label the grades
lee2014 in the grade comparison, and say in Methods that they were derived under Lee 2014.
"""

from __future__ import annotations

import polars as pl
import pytest
from study_edits import SEED, seed_copy

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import GradeProvenance, derive
from cartkit.report.tables import grade_compare_table

CRS = "cytokine release syndrome"


def _grade(frame: pl.DataFrame, patient: str, episode: int):
    return frame.filter((pl.col("patient_id") == patient) & (pl.col("episode") == episode))["grade"].item()


@pytest.fixture(scope="module")
def lee(tmp_path_factory):
    folder = seed_copy(tmp_path_factory.mktemp("lee"), drop_terms=(CRS,), plan={"crs_system": '"lee2014"'})
    study = cartkit.load_study(folder)
    derived = derive(study)
    return study, derived, analyse(study, derived)


def test_lee2014_copy_grades_crs_under_lee2014(lee):
    study, derived, _ = lee
    assert study.plan.crs_system == "lee2014"
    assert set(derived.crs["system"]) == {"lee2014"} and set(derived.crs["source"]) == {"derived"}
    astct = derived.derived_grades.filter((pl.col("toxicity") == "CRS") & (pl.col("system") == "astct2019"))
    # By hand from examples/seed-study, against Lee 2014 Table 2 (Blood 2014;124:188-195):
    # P9 episode 1: days 5-6 norepinephrine 0.05 ug/kg/min x 82 kg (patients.csv) = 4.1 ug/min, below the
    # 20 ug/min high-dose threshold: hypotension on low-dose single vasopressor -> 2; nasal cannula 4 L/min
    # with no FiO2 recorded: low flow taken as FiO2 < 40% -> 2. Lee 2014 grade 2 (ASTCT 2019: one
    # vasopressor -> 3).
    assert _grade(derived.crs, "P9", 1) == 2
    assert _grade(astct, "P9", 1) == 3
    # P12 episode 1: facemask 8 L/min (high flow) with no FiO2: Lee 2014 grade 2 (FiO2 < 40%) or 3
    # (>= 40%); norepinephrine 0.1 x 52 kg = 5.2 ug/min is low dose (2): the grade is 2 or 3, undetermined,
    # and left out (ASTCT 2019: high-flow oxygen and one vasopressor -> 3).
    assert _grade(derived.crs, "P12", 1) is None
    assert _grade(astct, "P12", 1) == 3
    # P12 episode 2: fever (38.2-38.9 C) without hypotension or oxygen: grade 1 in both
    assert _grade(derived.crs, "P12", 2) == 1


def test_lee2014_copy_provenance(lee):
    _, derived, _ = lee
    crs = derived.grade_provenance()["CRS"]
    assert crs == GradeProvenance("CRS", ("lee2014",), "derived", 0, 25, 1, ("astct2019",))
    icans = derived.grade_provenance()["ICANS"]
    assert (icans.system, icans.source, icans.alternatives) == ("astct2019", "recorded", ())
    assert derived.grade_systems()["CRS"] == "lee2014"


def test_lee2014_copy_grade_comparison_and_methods(lee):
    _, _, results = lee
    compare = results.get("grade_compare").filter(pl.col("toxicity") == "CRS")
    assert compare["system"].to_list() == ["lee2014", "astct2019"]
    assert "alternative grading system" in compare["note"][1] and not compare["note"][0]
    shown = [[c.text for c in row.cells][:2] for row in grade_compare_table(results.get("grade_compare")).rows]
    assert ["CRS", "Lee 2014"] in shown and ["CRS", "ASTCT 2019"] in shown
    text = dict(results.get("methods").rows())["Toxicity grading"]
    assert text.startswith("CRS graded with Lee 2014 (Lee DW et al., Blood 2014;124:188-195)")
    assert ("The CRS grades analysed are derived by cartkit from vital signs and supportive care under "
            "Lee 2014") in text
    assert "1 of 26 episodes cannot be graded from the records" in text
    assert "The ICANS, neutropenia, anemia, thrombocytopenia and leukopenia grades analysed are the " \
           "investigators' recorded grades" in text
    assert "CRS grades are also derived under ASTCT 2019" in text


def test_seed_crs_is_compared_with_grades_derived_in_its_own_system():
    # the seed records CTCAE v4.03 CRS grades: they are set beside the CTCAE v4.03 grades of the vital
    # signs, not the ASTCT 2019 ones. P9 episode 1 (recorded 4): norepinephrine days 5-6 -> CTCAE v4.03
    # "pressor support indicated" 4, agrees; ASTCT 2019 would give 3 (one vasopressor).
    study = cartkit.load_study(SEED)
    derived = derive(study)
    crs = derived.disagreements.filter(pl.col("item") == CRS)
    assert ("P9", 1) not in set(zip(crs["patient_id"], crs["episode"], strict=True))
    assert not crs["note"].str.contains("derived under").any()
    prov = derived.grade_provenance()["CRS"]
    assert (prov.system, prov.source, prov.n_recorded, prov.alternatives) == ("ctcae4.03", "recorded", 26,
                                                                               ("astct2019",))
    # the grade comparison keeps its ASTCT 2019 alternative row, as published in the seed report
    assert [t for t, s, _ in derived.alternative_grades()] == ["CRS"]


def test_icans_under_a_system_cartkit_cannot_derive_is_labelled_astct2019(tmp_path):
    folder = seed_copy(tmp_path, drop_terms=("icans",), plan={"icans_system": '"ctcae5.0"'})
    derived = derive(cartkit.load_study(folder))
    assert set(derived.icans["system"]) == {"astct2019"} and set(derived.icans["source"]) == {"derived"}
    assert any("ICANS grades cannot be derived under CTCAE v5.0" in n for n in derived.notes)
    assert derived.grade_provenance()["ICANS"].alternatives == ()



def test_grade_compare_table_names_every_system_also_when_mixed():
    # a toxicity whose recorded rows name two systems is labelled "ctcae4.03; ctcae5.0" in the results
    df = pl.DataFrame({"toxicity": ["Neutropenia", "CRS", "CRS"], "system": ["ctcae4.03; ctcae5.0", "lee2014", None],
                       "method": ["Fisher"] * 3, "pvalue": [0.5, 0.1, None], "note": ["", "", ""]})
    shown = [[c.text for c in row.cells][:2] for row in grade_compare_table(df).rows]
    assert shown[0] == ["Neutropenia", "CTCAE v4.03; CTCAE v5.0"] and shown[1] == ["CRS", "Lee 2014"]
    assert "ctcae" not in " ".join(str(x) for row in shown for x in row)


def test_adae_has_one_syndrome_row_per_episode_when_derived_under_two_systems(lee):
    # the Lee 2014 copy derives CRS under Lee 2014 (analysed) and ASTCT 2019 (beside): ADAE keeps one row
    # per episode, the derived grade in the analysed grade's system and the ASTCT 2019 one beside
    from cartkit.interop.adam_adae import _syndrome_grades

    study, derived, _ = lee
    syn = _syndrome_grades(derived).filter(pl.col("term") == CRS)
    assert syn.height == study.infusions.height
    p9 = syn.filter((pl.col("patient_id") == "P9") & (pl.col("episode") == 1)).row(0, named=True)
    assert (p9["_grade"], p9["_system"], p9["DTOXGRN"], p9["DGRSYS"], p9["ASTCTGRN"]) == (
        2, "lee2014", 2, "lee2014", 3)
