"""CRS grade: ASTCT 2019, CTCAE v4.03 (vital-sign mapping) and Lee 2014, table-driven.

Expected grades are read off the ASTCT consensus table (Lee 2019; docs/criteria.md "CRS: ASTCT 2019"), the
CTCAE v4.03 text and Lee 2014 Table 2 (docs/criteria.md "CRS: CTCAE v4.03", "CRS: Lee 2014") with cartkit's documented mapping.
"""

import itertools

import polars as pl
import pytest

from cartkit.grading import HYPOTENSION, HYPOXIA, crs_grade, crs_grade_expr

ASTCT = [
    # fever, hypotension, hypoxia, expected
    (False, "none", "none", 0),
    (True, "none", "none", 1),
    (True, "fluids", "none", 2),
    (True, "none", "low_flow", 2),
    (True, "fluids", "low_flow", 2),
    (True, "vasopressor", "none", 3),  # one vasopressor (vasopressin + one other stays here)
    (True, "none", "high_flow", 3),
    (True, "fluids", "high_flow", 3),
    (True, "vasopressors", "none", 4),  # several vasopressors excluding vasopressin
    (True, "none", "positive_pressure", 4),
    (True, "vasopressor", "low_flow", 3),
    (True, "vasopressor", "positive_pressure", 4),
    (True, "vasopressors", "high_flow", 4),
    # no fever and not treated: not CRS under ASTCT whatever the vitals
    (False, "vasopressors", "positive_pressure", 0),
    (False, "fluids", "none", 0),
]


@pytest.mark.parametrize(("fever", "hypotension", "hypoxia", "expected"), ASTCT)
def test_astct2019_table(fever, hypotension, hypoxia, expected):
    assert crs_grade(fever, hypotension, hypoxia) == expected


@pytest.mark.parametrize(
    ("hypotension", "hypoxia", "expected"),
    [
        ("none", "none", 0),  # nothing left to grade: grade 1 needs the fever itself
        ("fluids", "none", 2),
        ("none", "low_flow", 2),
        ("vasopressor", "none", 3),
        ("none", "high_flow", 3),
        ("vasopressors", "none", 4),
        ("none", "positive_pressure", 4),
    ],
)
def test_astct_fever_masked_by_antipyretics_or_tocilizumab(hypotension, hypoxia, expected):
    # ASTCT 2019: once treated, fever is no longer required; hypotension and hypoxia drive the grade
    assert crs_grade(False, hypotension, hypoxia, treated=True) == expected
    assert crs_grade(True, hypotension, hypoxia, treated=True) == max(expected, 1)


CTCAE403 = [
    (False, "vasopressor", "none", 0),
    (True, "none", "none", 1),
    (True, "fluids", "none", 2),
    (True, "none", "low_flow", 2),
    (True, "none", "high_flow", 3),
    (True, "vasopressor", "none", 4),  # "pressor support indicated"
    (True, "vasopressors", "none", 4),
    (True, "none", "positive_pressure", 4),  # "ventilatory support indicated"
]


@pytest.mark.parametrize(("fever", "hypotension", "hypoxia", "expected"), CTCAE403)
def test_ctcae403_mapping(fever, hypotension, hypoxia, expected):
    assert crs_grade(fever, hypotension, hypoxia, system="ctcae4.03") == expected


@pytest.mark.parametrize(
    ("hypotension", "hypoxia", "kwargs", "expected"),
    [
        ("none", "none", {}, 1),
        ("fluids", "none", {}, 2),
        ("vasopressor", "none", {"high_dose_vasopressor": False}, 2),
        ("vasopressor", "none", {"high_dose_vasopressor": True}, 3),
        ("vasopressor", "none", {}, None),  # dose needed
        ("vasopressor", "high_flow", {"fio2_pct": 40.0}, 3),  # >= 40% decides 3 whatever the dose
        ("vasopressors", "none", {}, 3),
        ("none", "low_flow", {}, 2),
        ("none", "low_flow", {"fio2_pct": 39.9}, 2),
        ("none", "low_flow", {"fio2_pct": 40.0}, 3),
        ("none", "high_flow", {"fio2_pct": 39.9}, 2),
        ("none", "high_flow", {"fio2_pct": 40.0}, 3),
        ("none", "high_flow", {"fio2_pct": 40.1}, 3),
        ("none", "high_flow", {}, None),  # FiO2 needed
        ("vasopressor", "positive_pressure", {}, 4),  # ventilator decides whatever the dose
    ],
)
def test_lee2014(hypotension, hypoxia, kwargs, expected):
    assert crs_grade(True, hypotension, hypoxia, system="lee2014", **kwargs) == expected


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="hypotension"):
        crs_grade(True, "pressors", "none")
    with pytest.raises(ValueError, match="hypoxia"):
        crs_grade(True, "none", "nasal")
    with pytest.raises(ValueError, match="unknown crs system"):
        crs_grade(True, "none", "none", system="penn")
    # vectorised: a category outside the vocabulary gives null (never a silent grade)
    df = pl.DataFrame({"f": [True, True], "h": ["pressors", "none"], "x": ["none", "nasal"]})
    assert df.select(crs_grade_expr(pl.col("f"), pl.col("h"), pl.col("x"))).to_series().to_list() == [None, None]


@pytest.mark.parametrize("system", ["astct2019", "ctcae4.03", "lee2014"])
def test_vectorised_agrees_with_scalar_on_a_grid(system):
    rows = list(
        itertools.product([True, False], HYPOTENSION, HYPOXIA, [True, False], [None, True, False], [None, 30.0, 40.0])
    )
    df = pl.DataFrame(rows, schema=["fever", "hypot", "hypox", "treated", "high", "fio2"], orient="row")
    got = df.select(
        crs_grade_expr(
            pl.col("fever"),
            pl.col("hypot"),
            pl.col("hypox"),
            system,
            treated=pl.col("treated"),
            high_dose_vasopressor=pl.col("high"),
            fio2_pct=pl.col("fio2"),
        )
    ).to_series()
    want = [
        crs_grade(f, h, x, system, treated=t, high_dose_vasopressor=hd, fio2_pct=fi) for f, h, x, t, hd, fi in rows
    ]
    assert got.to_list() == want
