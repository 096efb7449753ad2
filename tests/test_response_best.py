"""Best overall response, ORR / CR rate and relapse after CR/CRi (criteria/best_response.toml)."""

import pytest

from cartkit.response import best_overall_response, bor_label, relapse_day, response_rates


@pytest.mark.parametrize(
    ("responses", "expected"),
    [
        (["SD", "PR", "CR"], "CR"),
        (["CRi", "CR"], "CR"),
        (["NR", "CRi"], "CRi"),
        (["PMR", "NMR"], "PR"),  # Lugano PET labels mapped for BOR
        (["PMD", "CMR"], "CR"),
        (["NMR"], "SD"),
        (["PMD"], "PD"),
        (["PD", "NR"], "PD"),  # NR and PD rank equal; the first seen wins
        ([None, "SD"], "SD"),
        ([None], None),
        ([], None),
    ],
)
def test_best_overall_response(responses, expected):
    assert best_overall_response(responses) == expected


def test_unknown_response_raises():
    # (VGPR was the unknown label here before IMWG 2016 joined; CRu, of the 1999 lymphoma criteria, is not one)
    with pytest.raises(ValueError, match="not one of"):
        bor_label("CRu")


def test_imwg_labels_rank_in_table2_order():
    # Kumar 2016 Table 2: sCR > CR > VGPR > PR > MR > SD > PD; ORR counts PR or better, not MR
    assert best_overall_response(["MR", "VGPR", "PR"]) == "VGPR"
    assert best_overall_response(["CR", "sCR"]) == "sCR"
    assert best_overall_response(["SD", "MR"]) == "MR"
    assert response_rates(["sCR", "VGPR", "MR", "PD"], "myeloma").orr_n == 2


@pytest.mark.parametrize(
    ("days", "responses", "expected"),
    [
        ([14, 28, 90], ["CR", "CR", "NR"], 90),
        ([14, 28, 90], ["NR", "CR", "CR"], None),  # NR before CR is refractory, not relapse
        ([90, 14, 28], ["relapse", "CRi", "CRi"], 90),  # order by day
        ([30, 60], ["CMR", "PMD"], 60),
        ([30, 60], ["PMR", "PMD"], None),  # progression after PR is not a relapse after CR/CRi
        ([14, 28], ["CR", None], None),
    ],
)
def test_relapse_day(days, responses, expected):
    assert relapse_day(days, responses) == expected


def test_response_rates_hand_counted():
    best = ["CR", "CRi", "PR", "SD", "PD", None, "CMR", "PMR"]
    disease = ["B-ALL", "B-ALL", "DLBCL", "DLBCL", "B-ALL", "DLBCL", "DLBCL", "lymphoma"]
    r = response_rates(best, disease)
    # responders B-ALL CR, CRi; lymphoma PR, CMR, PMR = 5 of 8; complete CR, CRi (B-ALL), CMR = 3 of 8
    assert (r.n, r.orr_n, r.cr_n) == (8, 5, 3)
    assert r.orr == pytest.approx(5 / 8) and r.cr == pytest.approx(3 / 8)
    strict = response_rates(best, disease, cr_includes_cri=False)
    assert strict.cr_n == 2
    with pytest.raises(ValueError):
        response_rates([], "B-ALL")
    with pytest.raises(ValueError, match="diseases"):
        response_rates(["CR"], ["B-ALL", "DLBCL"])
    with pytest.raises(ValueError, match="neither a family"):
        response_rates(["CR"], "AML")


def test_response_rates_each_disease_by_its_own_rule():
    # best_response.toml [orr]: B-ALL (Maude 2018) CR + CRi, so a recorded B-ALL PR is no response;
    # myeloma (IMWG 2016, Kumar 2016 Table 2) PR or better, so VGPR is; CLL (iwCLL 2018) counts nPR;
    # lymphoma (Lugano 2014) CR + PR. CR rate: B-ALL CR + CRi, myeloma sCR + CR, lymphoma CR.
    assert response_rates(["PR"], "B-ALL").orr_n == 0
    assert response_rates(["PR"], "all").orr_n == 0
    assert response_rates(["VGPR"], "MM").orr_n == 1
    assert response_rates(["VGPR"], "MM").cr_n == 0
    assert response_rates(["nPR"], "CLL").orr_n == 1
    assert response_rates(["MR"], "myeloma").orr_n == 0
    r = response_rates(["PR", "VGPR", "PR", "sCR", "CRi"], ["B-ALL", "MM", "DLBCL", "MM", "B-ALL"])
    # responders: MM VGPR, DLBCL PR, MM sCR, B-ALL CRi = 4 of 5; complete: MM sCR, B-ALL CRi = 2
    assert (r.n, r.orr_n, r.cr_n) == (5, 4, 2)
