"""Derive stage for responses on hand-built Studies (expected values worked out by hand)."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from study_rows import make_study

from cartkit.derive.response import derive_responses, lugano_ct_from_lesions
from cartkit.response import lugano_ct
from cartkit.study.model import Study

D0 = dt.date(2020, 1, 1)



def inf(p: str, episode: int = 1, date: dt.date = D0) -> dict:
    return dict(patient_id=p, episode=episode, product="CD19 CAR-T", target="CD19", infusion_date=date)


def asm(p: str, day: int, method: str, episode: int = 1, **kw) -> dict:
    return dict(patient_id=p, episode=episode, day=day, method=method, **kw)


def lesion(p: str, day: int, lid: str, ldi: float, sdi: float) -> dict:
    return dict(patient_id=p, episode=1, day=day, lesion_id=lid, ldi_mm=ldi, sdi_mm=sdi)


@pytest.fixture(scope="module")
def study() -> Study:
    a = [
        # B-ALL: CRi on day 14 (ANC 0.5), CR by counts on day 28 but recorded CRi, relapse on day 90
        asm("ALL", 14, "marrow", marrow_blasts_pct=1.0, anc=0.5, platelets=150.0, mrd_pct=0.001),
        asm("ALL", 28, "marrow", marrow_blasts_pct=1.0, anc=1.5, platelets=150.0, response="CRi"),
        asm("ALL", 90, "marrow", marrow_blasts_pct=30.0, response="relapse"),  # agrees with derived NR
        # refractory B-ALL: the baseline marrow (day -7) is not a response
        asm("BASE", -7, "marrow", marrow_blasts_pct=80.0),
        asm("BASE", 14, "marrow", marrow_blasts_pct=46.0, circulating_blasts=True, response="NR"),
        # lymphoma PET: PMR then CMR (recorded PMR at day 60 disagrees with Deauville 2)
        asm("PET", 30, "pet_ct", deauville=4, uptake_vs_baseline="decreased"),
        asm("PET", 60, "pet_ct", deauville=2, response="PMR"),
        # lymphoma CT from lesions: PR day 30, PD day 60 (one node regrows)
        asm("CT", 30, "ct", new_lesions=False),
        asm("CT", 60, "ct"),
        # only recorded responses (the seed's case)
        asm("REC", 14, "clinical", response="CR"),
        # CR then progression event by date (no episode/day given): 2020-04-10 = day 100 of episode 1
        asm("EVT", 30, "pet_ct", deauville=1),
        # second episode of EVT: later infusion, no assessment
    ]
    les = [
        lesion("CT", -3, "a", 40, 30), lesion("CT", -3, "b", 20, 10),
        lesion("CT", 30, "a", 20, 15), lesion("CT", 30, "b", 10, 10),
        lesion("CT", 60, "a", 20, 15), lesion("CT", 60, "b", 17, 16),
    ]
    ev = [
        dict(patient_id="EVT", kind="progression", date=dt.date(2020, 4, 10)),
        dict(patient_id="EVT", kind="death", date=dt.date(2021, 1, 1)),
        dict(patient_id="ALL", kind="relapse", episode=1, day=120),
    ]
    infs = [inf("BASE"), inf("ALL"), inf("PET"), inf("CT"), inf("REC"), inf("EVT"), inf("EVT", 2, dt.date(2020, 6, 1)), inf("NONE")]
    return make_study(infusions=infs, assessments=a, lesions=les, events=ev)


def test_assessment_responses(study):
    r = derive_responses(study).assessments
    got = {(x["patient_id"], x["day"]): (x["recorded"], x["derived"], x["response"], x["source"])
           for x in r.iter_rows(named=True)}
    assert got[("ALL", 14)] == (None, "CRi", "CRi", "derived")
    assert got[("ALL", 28)] == ("CRi", "CR", "CRi", "recorded")  # recorded kept, derived beside it
    assert got[("ALL", 90)] == ("relapse", "NR", "relapse", "recorded")
    assert got[("BASE", -7)] == (None, "NR", "NR", "derived")
    assert got[("PET", 60)] == ("PMR", "CMR", "PMR", "recorded")
    assert got[("CT", 30)] == (None, "PR", "PR", "derived")  # SPD 1400 -> 400
    assert got[("CT", 60)] == (None, "PD", "PD", "derived")  # b: 10x10 -> 17x16, +7/+6 mm, PPD x2.72
    assert got[("REC", 14)] == ("CR", None, "CR", "recorded")
    assert r.filter(pl.col("patient_id") == "ALL")["mrd_negative"].to_list() == [True, None, None]


def test_best_response_and_relapse(study):
    res = derive_responses(study)
    best = {x["patient_id"] + str(x["episode"]): x for x in res.best.iter_rows(named=True)}
    assert res.best.height == 8  # every infusion episode
    assert (best["BASE1"]["best_response"], best["BASE1"]["response_day"]) == ("NR", 14)  # not day -7
    assert (best["ALL1"]["best_response"], best["ALL1"]["response_day"], best["ALL1"]["source"]) == (
        "CRi", 14, "derived"
    )
    # relapse: NR assessment on day 90 comes before the relapse event on day 120
    assert (best["ALL1"]["relapse_day"], best["ALL1"]["relapse_source"]) == (90, "assessment")
    assert best["ALL1"]["mrd_negative"] is True
    assert best["PET1"]["best_response"] == "PR"  # recorded PMR at day 60 is the response used
    assert best["CT1"]["best_response"] == "PR" and best["CT1"]["relapse_day"] is None  # PD after PR only
    assert (best["REC1"]["best_response"], best["REC1"]["source"]) == ("CR", "recorded")
    # CMR day 30 then progression dated 2020-04-10 = day 100 of episode 1
    assert (best["EVT1"]["best_response"], best["EVT1"]["relapse_day"], best["EVT1"]["relapse_source"]) == (
        "CR", 100, "event"
    )
    assert best["EVT2"]["best_response"] is None and best["NONE1"]["best_response"] is None
    assert best["NONE1"]["mrd_negative"] is None


def test_response_disagreements(study):
    d = derive_responses(study).disagreements
    assert d.columns == ["patient_id", "episode", "item", "recorded", "derived", "note"]
    got = {(x["patient_id"], x["item"]): (x["recorded"], x["derived"]) for x in d.iter_rows(named=True)}
    assert got == {
        ("ALL", "response day 28 (marrow)"): ("CRi", "CR"),
        ("PET", "response day 60 (pet_ct)"): ("PMR", "CMR"),
    }


def test_source_note_when_only_recorded():
    s = make_study(infusions=[inf("R")], assessments=[asm("R", 14, "marrow", response="CR")])
    res = derive_responses(s)
    assert "recorded" in res.source_note and res.best["source"].to_list() == ["recorded"]


def test_lugano_ct_vectorised_agrees_with_scalar():
    rng = np.random.default_rng(11)
    rows, expected = [], {}
    for e in range(300):
        n = int(rng.integers(1, 7))
        base = [(float(rng.integers(10, 60)), float(rng.integers(5, 40))) for _ in range(n)]
        cur = [(float(rng.choice([0, 5, 10, 15, 16, 20, 25, 30, 50])), float(rng.choice([0, 5, 10, 15, 20])))
               for _ in range(n)]
        p = f"P{e}"
        for i, ((bl, bs), (cl, cs)) in enumerate(zip(base, cur, strict=True)):
            rows.append(lesion(p, 0, str(i), bl, bs))
            rows.append(lesion(p, 30, str(i), cl, cs))
        expected[p] = lugano_ct(base, cur)
    frame = pl.DataFrame(rows)
    got = lugano_ct_from_lesions(frame)
    assert dict(zip(got["patient_id"].to_list(), got["ct_response"].to_list(), strict=True)) == expected
    assert set(expected.values()) == {"CR", "PR", "SD", "PD"}
