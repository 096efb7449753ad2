"""Lugano 2014 PET and CT response (Cheson 2014 Table 3; docs/criteria.md "Response: Lugano 2014")."""

import itertools

import polars as pl
import pytest

from cartkit.response import lugano_ct, lugano_pet, lugano_pet_expr


@pytest.mark.parametrize(
    ("deauville", "uptake", "new", "expected"),
    [
        (1, "decreased", False, "CMR"),
        (2, "unchanged", False, "CMR"),
        (3, "increased", False, "CMR"),  # 1-3 is CMR whatever the uptake
        (4, "decreased", False, "PMR"),
        (4, "unchanged", False, "NMR"),
        (4, "increased", False, "PMD"),
        (5, "decreased", False, "PMR"),
        (5, "unchanged", False, "NMR"),
        (5, "increased", False, "PMD"),
        (2, "decreased", True, "PMD"),  # new FDG-avid lesion
    ],
)
def test_lugano_pet(deauville, uptake, new, expected):
    assert lugano_pet(deauville, uptake, new) == expected


def test_lugano_pet_bad_inputs():
    with pytest.raises(ValueError, match="deauville"):
        lugano_pet(6)
    with pytest.raises(ValueError, match="uptake"):
        lugano_pet(4, "lower")


def test_lugano_pet_vectorised_agrees():
    rows = list(itertools.product([1, 2, 3, 4, 5], ["decreased", "unchanged", "increased"], [True, False]))
    df = pl.DataFrame(rows, schema=["d", "u", "n"], orient="row")
    got = df.select(lugano_pet_expr(pl.col("d"), pl.col("u"), pl.col("n"))).to_series().to_list()
    assert got == [lugano_pet(*r) for r in rows]


BASE = [(40.0, 30.0), (30.0, 20.0)]  # SPD 1200 + 600 = 1800


@pytest.mark.parametrize(
    ("current", "nadir", "expected"),
    [
        ([(15.0, 10.0), (15.0, 15.0)], None, "CR"),  # every LDi <= 15 mm
        ([(15.1, 10.0), (10.0, 10.0)], None, "PR"),  # one LDi > 15: SPD 251 <= 900
        ([(30.0, 20.0), (30.0, 10.0)], None, "PR"),  # SPD 900 = exactly 50% decrease
        ([(30.0, 20.0), (30.0, 10.1)], None, "SD"),  # SPD 903: 49.8% decrease
        ([(40.0, 30.0), (30.0, 20.0)], None, "SD"),
    ],
)
def test_lugano_ct_cr_pr_sd(current, nadir, expected):
    assert lugano_ct(BASE, current, nadir) == expected


@pytest.mark.parametrize(
    ("current", "nadir", "expected"),
    [
        # single-node PD: lesion 2 regrew from nadir 10x10 (PPD 100) to 16x10 (PPD 160 >= 150),
        # LDi 16 > 15, LDi up 6 >= 5 mm (lesion <= 20 mm): PD although lesion 1 shrank
        ([(10.0, 10.0), (16.0, 10.0)], [(10.0, 10.0), (10.0, 10.0)], "PD"),
        # LDi 15.9 > 15 and PPD 110 -> 236.9 (>= +50%) but LDi and SDi up only 4.9 mm: not PD
        ([(10.0, 10.0), (15.9, 14.9)], [(10.0, 10.0), (11.0, 10.0)], "PR"),
        # the same with SDi up 5.0 mm: PD
        ([(10.0, 10.0), (15.9, 15.0)], [(10.0, 10.0), (11.0, 10.0)], "PD"),
        # LDi exactly 15: not > 15, not PD
        ([(10.0, 10.0), (15.0, 15.0)], [(10.0, 10.0), (10.0, 10.0)], "CR"),
        # PPD up 49%: not PD (16 x 9.3125 = 149)
        ([(10.0, 10.0), (16.0, 9.3125)], [(10.0, 10.0), (10.0, 10.0)], "PR"),
        # lesion > 20 mm (at its nadir) needs +10 mm: 31x20 from nadir 22x16 (PPD 352 -> 620,
        # +9 / +4 mm): not PD, SPD 720 <= 900: PR
        ([(10.0, 10.0), (31.0, 20.0)], [(10.0, 10.0), (22.0, 16.0)], "PR"),
        # +10 mm on the long axis: PD
        ([(10.0, 10.0), (32.0, 20.0)], [(10.0, 10.0), (22.0, 16.0)], "PD"),
    ],
)
def test_lugano_ct_pd_by_one_node(current, nadir, expected):
    assert lugano_ct(BASE, current, nadir) == expected


def test_lugano_ct_small_lesion_read_at_nadir_or_now():
    # nadir 16x16 (<= 20 mm) grows to 25x20: PPD 256 -> 500 (+95%), LDi +9 mm. Read at the nadir
    # (cartkit's default) the lesion is small and +5 mm suffices: PD; read at its current 25 mm it
    # needs +10 mm: not PD, and SPD 600 <= 900 is PR.
    current, nadir = [(10.0, 10.0), (25.0, 20.0)], [(10.0, 10.0), (16.0, 16.0)]
    assert lugano_ct(BASE, current, nadir) == "PD"
    assert lugano_ct(BASE, current, nadir, size_reference="nadir") == "PD"
    assert lugano_ct(BASE, current, nadir, size_reference="current") == "PR"
    with pytest.raises(ValueError, match="size_reference"):
        lugano_ct(BASE, current, nadir, size_reference="baseline")


def test_lugano_ct_new_lesion_and_default_nadir():
    assert lugano_ct(BASE, [(10.0, 10.0), (10.0, 10.0)], new_lesions=True) == "PD"
    # default nadir = smaller of baseline and current per lesion: growth from baseline
    assert lugano_ct([(16.0, 10.0)], [(26.0, 16.0)]) == "PD"


def test_lugano_ct_bad_inputs():
    with pytest.raises(ValueError, match="same lesions"):
        lugano_ct(BASE, [(10.0, 10.0)])
    with pytest.raises(ValueError, match="1 to 6"):
        lugano_ct([(20.0, 20.0)] * 7, [(20.0, 20.0)] * 7)
    with pytest.raises(ValueError, match=">= 0"):
        lugano_ct([(20.0, -1.0)], [(20.0, 20.0)])
    with pytest.raises(ValueError, match="SPD is 0"):
        lugano_ct([(0.0, 0.0)], [(16.0, 16.0)], nadir=[(16.0, 16.0)])
