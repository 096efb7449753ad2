"""ICANS grade, ASTCT 2019 (Lee 2019 ICANS table; docs/criteria.md "ICANS: ASTCT 2019"), table-driven."""

import itertools

import polars as pl
import pytest

from cartkit.grading import icans_grade, icans_grade_expr
from cartkit.grading.icans import icans_criteria


@pytest.mark.parametrize(
    ("ice", "expected"),
    [(10, 0), (9, 1), (7, 1), (6, 2), (3, 2), (2, 3), (0, 3), (None, 0)],
)
def test_ice_score_bands(ice, expected):
    # boundaries 10|9, 7|6, 3|2: ICE 7-9 grade 1, 3-6 grade 2, 0-2 grade 3
    assert icans_grade(ice, "normal") == expected


@pytest.mark.parametrize(
    ("consciousness", "expected"),
    [("normal", 0), ("awakens_spontaneously", 1), ("awakens_to_voice", 2), ("awakens_to_touch", 3), ("unarousable", 4)],
)
def test_consciousness(consciousness, expected):
    assert icans_grade(10, consciousness) == expected


def test_ice_zero_because_unarousable_is_grade_4_but_awake_aphasic_is_3():
    assert icans_grade(0, "unarousable") == 4
    assert icans_grade(None, "unarousable") == 4  # cannot perform ICE
    assert icans_grade(0, "normal") == 3


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"seizure": "resolving"}, 3),
        ({"seizure": "prolonged"}, 4),
        ({"motor": "deep_focal_weakness"}, 4),
        ({"raised_icp": "focal_edema"}, 3),
        ({"raised_icp": "diffuse_edema"}, 4),
    ],
)
def test_other_domains(kwargs, expected):
    assert icans_grade(10, "normal", **kwargs) == expected
    assert icans_grade(8, "awakens_to_voice", **kwargs) == expected  # the most severe domain wins


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="consciousness"):
        icans_grade(10, "asleep")
    with pytest.raises(ValueError, match="ice_score"):
        icans_grade(11, "normal")
    with pytest.raises(ValueError, match="seizure"):
        icans_grade(10, "normal", seizure="yes")


def test_vectorised_agrees_with_scalar_on_every_combination():
    s = icans_criteria("astct2019")
    rows = list(itertools.product([None, *range(11)], s["consciousness"], s["seizure"], s["motor"], s["raised_icp"]))
    df = pl.DataFrame(rows, schema=["ice", "c", "s", "m", "r"], orient="row")
    got = df.select(icans_grade_expr(*(pl.col(c) for c in ["ice", "c", "s", "m", "r"]))).to_series().to_list()
    assert got == [icans_grade(*r) for r in rows]


def test_vectorised_null_domains_contribute_nothing():
    df = pl.DataFrame(
        {"ice": [None, 5, None], "c": [None, None, "awakens_to_voice"], "s": [None] * 3, "m": [None] * 3, "r": [None] * 3},
        schema={"ice": pl.Int64, "c": pl.String, "s": pl.String, "m": pl.String, "r": pl.String},
    )
    got = df.select(icans_grade_expr(*(pl.col(c) for c in ["ice", "c", "s", "m", "r"]))).to_series().to_list()
    assert got == [None, 2, 2]
