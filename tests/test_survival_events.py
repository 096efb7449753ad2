"""PFS/OS derivation from a hand-built Study; expected days are counted by hand from the dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from cartkit.study.model import Plan, Study, StudyMeta
from cartkit.survival import kaplan_meier, time_to_event

D = dt.date


def _study(cutoff: dt.date | None = D(2020, 6, 30)) -> Study:
    infusions = pl.DataFrame(
        {
            "patient_id": ["P1", "P1", "P2", "P3", "P5", "P5", "P6", "P7"],
            "episode": [1, 2, 1, 1, 1, 2, 1, 1],
            "product": ["CD19", "CD22", "CD22", "CD22", "CD19", "CD22", "CD22", "CD22"],
            "infusion_date": [D(2019, 1, 10), D(2019, 4, 1), D(2019, 2, 1), D(2019, 3, 1), D(2019, 1, 5),
                              D(2019, 3, 5), D(2019, 5, 1), D(2019, 6, 1)],
        }
    )
    rows = [
        ("P1", "relapse", D(2019, 3, 1), None),  # before the 2nd infusion: episode 1's PFS event
        ("P1", "progression", D(2019, 8, 1), None),  # episode 2's PFS event
        ("P1", "death", D(2019, 10, 1), "disease"),
        ("P1", "last_contact", D(2019, 9, 15), None),  # before death: death still counts
        ("P2", "hsct", D(2019, 5, 1), "allogeneic"),
        ("P2", "relapse", D(2019, 9, 1), None),  # after HSCT
        ("P2", "last_contact", D(2020, 3, 1), None),
        ("P3", "last_contact", D(2021, 1, 1), None),  # after the cut-off
        ("P3", "death", D(2021, 2, 1), None),  # after the cut-off: ignored
        ("P5", "last_contact", D(2019, 12, 1), None),  # no progression before the 2nd infusion
        ("P6", "new_therapy", D(2019, 11, 20), "R-GemOx"),  # no last_contact: latest record used
        ("P7", "hsct", D(2019, 9, 1), None),
        ("P7", "death", D(2019, 9, 1), "GVHD"),  # same day as HSCT: the event counts
    ]
    events = pl.DataFrame(rows, schema=["patient_id", "kind", "date", "detail"], orient="row")
    meta = StudyMeta(id="hand-built", data_cutoff=cutoff)
    return Study(path=Path("."), meta=meta, plan=Plan(), tables={"infusions": infusions, "events": events})


def _row(frame: pl.DataFrame, patient: str, episode: int) -> dict:
    rows = frame.filter((pl.col("patient_id") == patient) & (pl.col("episode") == episode)).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_time_to_event_each_rule():
    out = time_to_event(_study())
    # one row per patient, from their first infusion (P1 and P5 had two)
    assert out.select("patient_id", "episode").rows() == [("P1", 1), ("P2", 1), ("P3", 1), ("P5", 1), ("P6", 1),
                                                           ("P7", 1)]
    r = _row(out, "P1", 1)  # 2019-01-10 -> 2019-03-01 = 21 + 28 + 1 = 50 days
    assert (r["pfs_days"], r["pfs_event"], r["pfs_reason"]) == (50, True, "events: relapse 2019-03-01")
    # 2019-01-10 -> 2019-10-01: 21 + 28 + 31 + 30 + 31 + 30 + 31 + 31 + 30 + 1 = 264
    assert (r["os_days"], r["os_event"], r["os_reason"]) == (264, True, "events: death 2019-10-01 (disease)")
    r = _row(out, "P2", 1)  # censored at HSCT: 2019-02-01 -> 2019-05-01 = 28 + 31 + 30 = 89
    assert (r["pfs_days"], r["pfs_event"]) == (89, False)
    assert r["pfs_reason"] == r["os_reason"] == "censored: HSCT 2019-05-01 (allogeneic)"
    r = _row(out, "P3", 1)  # follow-up beyond the cut-off: 2019-03-01 -> 2020-06-30 = 306 + 181 = 487
    assert (r["os_days"], r["os_event"], r["os_reason"]) == (487, False, "censored: data cut-off 2020-06-30")
    r = _row(out, "P5", 1)  # no progression before the next infusion: 2019-01-05 -> 2019-03-05 = 59
    assert (r["pfs_days"], r["pfs_event"]) == (59, False)
    assert r["pfs_reason"] == "censored: next infusion (episode 2) 2019-03-05"
    # OS is not censored at the next infusion: last contact 2019-12-01 = 330 days
    assert (r["os_days"], r["os_event"], r["os_reason"]) == (330, False, "censored: last contact 2019-12-01")
    r = _row(out, "P6", 1)  # the latest record is the new-therapy event: 2019-05-01 -> 2019-11-20 = 203
    assert (r["pfs_days"], r["pfs_reason"]) == (203, "censored: last record (new_therapy) 2019-11-20")
    r = _row(out, "P7", 1)  # death on the HSCT day counts: 2019-06-01 -> 2019-09-01 = 92
    assert (r["os_days"], r["os_event"], r["pfs_event"]) == (92, True, True)


def test_without_hsct_censoring_and_from_product():
    out = time_to_event(_study(), from_product="CD22", censor_at_hsct=False)
    assert out["product"].unique().to_list() == ["CD22"]
    assert out.select("patient_id", "episode").rows() == [("P1", 2), ("P2", 1), ("P3", 1), ("P5", 2), ("P6", 1),
                                                           ("P7", 1)]
    r = _row(out, "P1", 2)  # 2019-04-01 -> 2019-08-01 = 30 + 31 + 30 + 31 = 122
    assert (r["pfs_days"], r["pfs_event"], r["pfs_reason"]) == (122, True, "events: progression 2019-08-01")
    r = _row(out, "P2", 1)  # relapse after HSCT now counts: 2019-02-01 -> 2019-09-01 = 212
    assert (r["pfs_days"], r["pfs_event"], r["pfs_reason"]) == (212, True, "events: relapse 2019-09-01")
    assert (r["os_days"], r["os_reason"]) == (394, "censored: last contact 2020-03-01")


def test_no_cutoff_keeps_late_records():
    out = time_to_event(_study(cutoff=None))
    r = _row(out, "P3", 1)  # death 2021-02-01: 2019-03-01 -> 2021-02-01 = 306 + 366 + 31 = 703
    assert (r["os_days"], r["os_event"]) == (703, True)


def test_output_feeds_kaplan_meier():
    out = time_to_event(_study())
    km = kaplan_meier(out["os_days"], out["os_event"])
    assert km.n == 6 and km.n_events == out["os_event"].sum() == 2  # P1's death once, P7's


def test_a_patient_counts_once_from_their_first_infusion_of_the_product():
    study = _study()
    # P5 is given CD22 CAR-T a second time: still one row, from the first CD22 infusion
    extra = pl.DataFrame({"patient_id": ["P5"], "episode": [3], "product": ["CD22"],
                          "infusion_date": [D(2019, 6, 5)]})
    study.tables["infusions"] = pl.concat([study.infusions, extra])
    out = time_to_event(study, from_product="CD22")
    assert out.filter(pl.col("patient_id") == "P5").select("episode").to_series().to_list() == [2]
    r = _row(out, "P5", 2)  # PFS censored at the next (third) infusion: 2019-03-05 -> 2019-06-05 = 92
    assert (r["pfs_days"], r["pfs_event"], r["pfs_reason"]) == (
        92, False, "censored: next infusion (episode 3) 2019-06-05")
    assert out["patient_id"].is_unique().all()


def test_time_to_event_errors():
    with pytest.raises(ValueError, match="not a product"):
        time_to_event(_study(), from_product="CD20")
    with pytest.raises(ValueError, match="after the data cut-off"):
        time_to_event(_study(cutoff=D(2019, 5, 15)))
